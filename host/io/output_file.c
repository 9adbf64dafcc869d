/* Writing output files: checked up front, written through a temporary file (output_file.h). */
#include "io/output_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/signals.h"

/* Splits path into its folder (dir, "." when none) and the name after the last '/'. */
static void split_path(const char *path, char *dir, size_t dir_len, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, dir_len, ".");
        *base = path;
    } else if (slash == path) {
        snprintf(dir, dir_len, "/");
        *base = slash + 1;
    } else {
        snprintf(dir, dir_len, "%.*s", (int)(slash - path), path);
        *base = slash + 1;
    }
}

/*
 * Removes BASE.tmp.PID files in dir whose PID no longer runs: what a process killed
 * with SIGKILL (which no handler sees) leaves behind.
 */
static void remove_stale_temporaries(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t base_len = strlen(base);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strncmp(name, base, base_len) != 0 || strncmp(name + base_len, ".tmp.", 5) != 0)
            continue;
        char *end;
        long pid = strtol(name + base_len + 5, &end, 10);
        if (end == name + base_len + 5 || *end || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* still running (or not ours to ask): leave it */
        char stale[OUTPUT_PATH_MAX + 300];
        snprintf(stale, sizeof stale, "%s/%s", dir, name);
        unlink(stale);
    }
    closedir(d);
}

/* The checks of output_check; `who` prefixes messages ("--save m.st" or "m.st"). */
static mc_status check_path(const char *path, const char *who, mc_error *err)
{
    size_t len = strlen(path);
    if (len == 0)
        return mc_fail(err, MC_ERR_USAGE, "%s: empty file name", who);
    if (len > OUTPUT_PATH_MAX)
        return mc_fail(err, MC_ERR_USAGE, "%.60s...: the path is %zu bytes long; at most %d are "
                       "accepted", who, len, OUTPUT_PATH_MAX);
    if (path[len - 1] == '/')
        return mc_fail(err, MC_ERR_IO, "%s: names a folder; give a file name", who);
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return mc_fail(err, MC_ERR_IO, "%s: is a directory; give a file name", who);
        if (!S_ISREG(sb.st_mode))
            return mc_fail(err, MC_ERR_IO,
                           "%s: is not a regular file (a device, FIFO or socket); mnistcl "
                           "replaces only regular files",
                           who);
    } else if (errno != ENOENT) {
        return mc_fail(err, MC_ERR_IO, "%s: %s", who, strerror(errno));
    }
    char dir[OUTPUT_PATH_MAX + 1];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    if (stat(dir, &sb) != 0)
        return mc_fail(err, MC_ERR_IO, "%s: the folder %s: %s", who, dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return mc_fail(err, MC_ERR_IO, "%s: %s is not a folder", who, dir);
    return MC_OK;
}

/*
 * Creates the temporary file of path afresh (a leftover of that name, even a symlink, is
 * removed first and never followed); returns its descriptor or -1 with errno set.
 */
static int create_temporary(const char *path, char *tmp, size_t tmp_len)
{
    snprintf(tmp, tmp_len, "%s.tmp.%ld", path, (long)getpid());
    unlink(tmp);
    return open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
}

mc_status output_check(const char *path, const char *option, mc_error *err)
{
    char who[OUTPUT_PATH_MAX + 80];
    snprintf(who, sizeof who, "%s %s", option, path);
    mc_status st = check_path(path, who, err);
    if (st)
        return st;
    char dir[OUTPUT_PATH_MAX + 1];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    remove_stale_temporaries(dir, base);
    /* the folder's permissions alone do not tell (root, ACLs, read-only mounts): try */
    char tmp[OUTPUT_PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    signals_lock_files(1);
    int slot = signals_track(tmp);
    int fd = create_temporary(path, tmp, sizeof tmp);
    int e = errno;
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    signals_forget(slot);
    signals_lock_files(0);
    if (fd < 0)
        return mc_fail(err, MC_ERR_IO, "%s: cannot create a file in %s: %s", who, dir,
                       strerror(e));
    return MC_OK;
}

mc_status output_begin(output_file *f, const char *path, mc_error *err)
{
    memset(f, 0, sizeof *f);
    f->slot = -1;
    mc_status st = check_path(path, path, err);
    if (st)
        return st;
    snprintf(f->path, sizeof f->path, "%s", path);
    snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%ld", path, (long)getpid());
    signals_lock_files(1);
    f->slot = signals_track(f->tmp); /* before it exists: a signal never misses it */
    int fd = create_temporary(path, f->tmp, sizeof f->tmp);
    int e = errno;
    if (fd < 0)
        signals_forget(f->slot);
    signals_lock_files(0);
    if (fd < 0) {
        f->slot = -1;
        return mc_fail(err, MC_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    f->stream = fdopen(fd, "wb");
    if (!f->stream) {
        int e = errno;
        close(fd);
        unlink(f->tmp);
        signals_forget(f->slot);
        f->slot = -1;
        return mc_fail(err, MC_ERR_IO, "%s: cannot create: %s", path, strerror(e));
    }
    return MC_OK;
}

int output_write(output_file *f, const void *bytes, size_t n)
{
    if (f->write_errno)
        return 0;
    errno = 0;
    if (n && fwrite(bytes, 1, n, f->stream) != n) {
        f->write_errno = errno ? errno : EIO;
        return 0;
    }
    return 1;
}

int output_printf(output_file *f, const char *fmt, ...)
{
    if (f->write_errno)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    errno = 0;
    int r = vfprintf(f->stream, fmt, ap);
    va_end(ap);
    if (r < 0) {
        f->write_errno = errno ? errno : EIO;
        return 0;
    }
    return 1;
}

/* fsync of the folder that holds path, so that the rename itself is durable. */
static void sync_folder(const char *path)
{
    char dir[OUTPUT_PATH_MAX + 1];
    const char *base;
    split_path(path, dir, sizeof dir, &base);
    int dfd = open(dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

mc_status output_commit(output_file *f, mc_error *err)
{
    int ok = 1, e = 0;
    /* a failed write leaves the stream's error flag; errno still tells why (ENOSPC...) */
    if (f->write_errno || ferror(f->stream))
        ok = 0, e = f->write_errno ? f->write_errno : EIO;
    if (ok && fflush(f->stream) != 0)
        ok = 0, e = errno;
    if (ok && fsync(fileno(f->stream)) != 0)
        ok = 0, e = errno;
    if (fclose(f->stream) != 0 && ok)
        ok = 0, e = errno;
    f->stream = NULL;
    if (!ok) {
        signals_lock_files(1);
        unlink(f->tmp);
        signals_forget(f->slot);
        signals_lock_files(0);
        f->slot = -1;
        return mc_fail(err, MC_ERR_IO, "%s: cannot write: %s", f->path, strerror(e));
    }
    signals_lock_files(1);
    int renamed = rename(f->tmp, f->path) == 0;
    e = errno;
    signals_forget(f->slot); /* renamed, or kept on purpose below */
    signals_lock_files(0);
    f->slot = -1;
    if (!renamed) /* the file is whole and synced: keep it rather than lose the work */
        return mc_fail(err, MC_ERR_IO, "%s: cannot replace it: %s; the complete file is kept "
                       "as %s", f->path, strerror(e), f->tmp);
    sync_folder(f->path);
    return MC_OK;
}

void output_abort(output_file *f)
{
    signals_lock_files(1);
    if (f->stream) {
        fclose(f->stream);
        f->stream = NULL;
        unlink(f->tmp);
    }
    signals_forget(f->slot);
    signals_lock_files(0);
    f->slot = -1;
}
