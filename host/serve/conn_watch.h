/*
 * The whole-request deadline of `mnistcl serve`: every connection is shut down (both
 * directions, shutdown(2)) once it is older than the deadline, whatever it is doing,
 * so a client that sends a byte a second holds nothing for long. libmicrohttpd's own
 * timeout counts only idle time. The server answers one request per connection
 * ("Connection: close"), so a connection's age is its request's.
 */
#ifndef MNISTCL_SERVE_CONN_WATCH_H
#define MNISTCL_SERVE_CONN_WATCH_H

typedef struct conn_watch conn_watch;
typedef struct conn_slot conn_slot;

/**
 * Starts the watching thread for up to capacity connections at a time, each cut
 * deadline_s seconds after conn_watch_add. Returns NULL when memory or the thread cannot
 * be had (errno set).
 */
conn_watch *conn_watch_start(int capacity, double deadline_s);

/**
 * Watches the connection on socket fd from now; returns its slot for conn_watch_remove.
 * When every slot is taken the socket is shut down at once and NULL returned.
 */
conn_slot *conn_watch_add(conn_watch *w, int fd);

/** Stops watching (call it before the socket is closed, so fd is never reused). NULL: no-op. */
void conn_watch_remove(conn_watch *w, conn_slot *slot);

/** Connections cut by the deadline so far (and refused for want of a slot). */
long conn_watch_cut(conn_watch *w);

/** Stops the thread and frees w; NULL is fine. */
void conn_watch_stop(conn_watch *w);

#endif
