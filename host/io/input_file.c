/* Opening input files: regular files only, never blocking (input_file.h). */
#include "io/input_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mc_status input_open(const char *path, int *fd, long long *size, mc_error *err)
{
    *fd = -1;
    /* O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever */
    int f = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f < 0)
        return mc_fail(err, MC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(f, &sb) != 0) {
        int e = errno;
        close(f);
        return mc_fail(err, MC_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(f);
        return mc_fail(err, MC_ERR_IO, "%s: is a directory, not a file", path);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(f);
        return mc_fail(err, MC_ERR_IO,
                       "%s: is not a regular file (a FIFO, socket or device); give a file", path);
    }
    int flags = fcntl(f, F_GETFL);
    if (flags < 0 || fcntl(f, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(f);
        return mc_fail(err, MC_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    *fd = f;
    if (size)
        *size = (long long)sb.st_size;
    return MC_OK;
}

mc_status input_fopen(const char *path, FILE **out, long long *size, mc_error *err)
{
    *out = NULL;
    int fd;
    mc_status st = input_open(path, &fd, size, err);
    if (st)
        return st;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return mc_fail(err, MC_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    *out = f;
    return MC_OK;
}

mc_status input_gzopen(const char *path, gzFile *out, mc_error *err)
{
    int fd;
    mc_status st = input_open(path, &fd, NULL, err);
    if (st)
        return st;
    *out = gzdopen(fd, "rb");
    if (!*out) {
        close(fd);
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory opening the file", path);
    }
    return MC_OK;
}
