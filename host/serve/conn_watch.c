/* The whole-request deadline (conn_watch.h): a table of sockets and a thread that cuts
 * the old ones, 10 times a second. */
#include "serve/conn_watch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define TICK_NS 100000000L /* how often the thread looks: 0.1 s */

struct conn_slot {
    int fd;         /* -1: free */
    int cut;        /* shut down already */
    double started; /* monotonic seconds */
};

struct conn_watch {
    pthread_mutex_t lock; /* guards the slots, stop, cut_count */
    pthread_cond_t wake;  /* signalled to stop */
    pthread_t thread;
    conn_slot *slots;
    int capacity, stop;
    double deadline;
    long cut_count;
};

/* Seconds on the monotonic clock. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The thread: every tick, shuts down the connections past the deadline. */
static void *watch(void *arg)
{
    conn_watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        double t = now();
        for (int i = 0; i < w->capacity; i++) {
            conn_slot *s = &w->slots[i];
            if (s->fd >= 0 && !s->cut && t - s->started > w->deadline) {
                /* libmicrohttpd then reads the end of the stream and closes it itself */
                shutdown(s->fd, SHUT_RDWR);
                s->cut = 1;
                w->cut_count++;
            }
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += TICK_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

conn_watch *conn_watch_start(int capacity, double deadline_s)
{
    conn_watch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->slots = malloc((size_t)capacity * sizeof *w->slots);
    pthread_condattr_t attr;
    int ok = w->slots != NULL && pthread_condattr_init(&attr) == 0;
    if (ok) {
        ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&w->wake, &attr) == 0;
        pthread_condattr_destroy(&attr);
    }
    if (!ok) {
        free(w->slots);
        free(w);
        errno = ENOMEM;
        return NULL;
    }
    for (int i = 0; i < capacity; i++)
        w->slots[i].fd = -1;
    w->capacity = capacity;
    w->deadline = deadline_s;
    pthread_mutex_init(&w->lock, NULL);
    int rc = pthread_create(&w->thread, NULL, watch, w);
    if (rc) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w->slots);
        free(w);
        errno = rc;
        return NULL;
    }
    return w;
}

conn_slot *conn_watch_add(conn_watch *w, int fd)
{
    conn_slot *found = NULL;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->capacity && !found; i++)
        if (w->slots[i].fd < 0)
            found = &w->slots[i];
    if (found) {
        found->fd = fd;
        found->cut = 0;
        found->started = now();
    } else {
        shutdown(fd, SHUT_RDWR);
        w->cut_count++;
    }
    pthread_mutex_unlock(&w->lock);
    return found;
}

void conn_watch_remove(conn_watch *w, conn_slot *slot)
{
    if (!slot)
        return;
    pthread_mutex_lock(&w->lock);
    slot->fd = -1;
    pthread_mutex_unlock(&w->lock);
}

long conn_watch_cut(conn_watch *w)
{
    pthread_mutex_lock(&w->lock);
    long n = w->cut_count;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void conn_watch_stop(conn_watch *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w->slots);
    free(w);
}
