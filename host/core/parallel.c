/* Work split over threads for the host's own loops (see parallel.h). */
#include "core/parallel.h"

#include <pthread.h>
#include <unistd.h>

int parallel_threads(int cap)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cap > PARALLEL_MAX_THREADS)
        cap = PARALLEL_MAX_THREADS;
    return cpus < 1 ? 1 : cpus > cap ? cap : (int)cpus;
}

void parallel_run(void *(*fn)(void *), void *items, size_t item_size, int count)
{
    pthread_t tid[PARALLEL_MAX_THREADS];
    int started[PARALLEL_MAX_THREADS] = {0};
    char *base = items;
    if (count > PARALLEL_MAX_THREADS)
        count = PARALLEL_MAX_THREADS;
    for (int k = 1; k < count; k++)
        started[k] = pthread_create(&tid[k], NULL, fn, base + (size_t)k * item_size) == 0;
    if (count > 0)
        fn(base);
    for (int k = 1; k < count; k++) {
        if (started[k])
            pthread_join(tid[k], NULL);
        else
            fn(base + (size_t)k * item_size);
    }
}
