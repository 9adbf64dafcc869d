/*
 * The HTTP side of `mnistcl serve` (libmicrohttpd): listening on one address, the
 * limits that keep one client from holding the server, routing to the endpoints of
 * serve_api.h and the page, and the responses' headers. docs/SERVE.md describes it.
 */
#ifndef MNISTCL_SERVE_HTTP_SERVER_H
#define MNISTCL_SERVE_HTTP_SERVER_H

#include "mnistcl/status.h"
#include "serve/serve_api.h"

/* The limits (docs/SERVE.md; --help quotes them). */
#define HTTP_MAX_BODY (2 << 20)      /* bytes of a request body (413 beyond, never read) */
#define HTTP_DEADLINE_S 10           /* seconds a connection (= one request) may take */
#define HTTP_IDLE_TIMEOUT_S 5        /* seconds a connection may send nothing */
#define HTTP_MAX_CONNECTIONS 64      /* open connections in all */
#define HTTP_MAX_PER_IP 16           /* open connections from one address */
#define HTTP_HEADER_MEMORY (32 << 10) /* bytes of request line + headers + read buffer */
/*
 * One thread answers, event-driven (epoll): a slow client holds a socket, never the
 * thread, and the classifier takes one image at a time anyway. A pool of threads would
 * parse bodies side by side, but a thread busy with one request leaves the connections it
 * has closed counted against the limits above until it is done, so clients well under
 * them were refused; with one thread a closed connection is forgotten before the next
 * is accepted.
 */

typedef struct http_server http_server;

/**
 * Listens on host (a name or address) at port (0: any free one), so that an address in
 * use or not to be had is known before any other work; answers nothing yet (clients
 * wait in the backlog). MC_ERR_IO when the address cannot be had (in use, not this
 * machine's, not allowed), MC_ERR_USAGE when host does not resolve.
 */
mc_status http_server_open(http_server **out, const char *host, int port, mc_error *err);

/**
 * Starts answering with app's endpoints in threads of its own (they inherit the
 * caller's signal mask). MC_ERR_RUNTIME when libmicrohttpd refuses (its message is on
 * stderr); s is then still to be stopped.
 */
mc_status http_server_start(http_server *s, serve_app *app, mc_error *err);

/** The address it answers on: "http://127.0.0.1:8080/". */
const char *http_server_url(const http_server *s);

/** Whether it listens on a loopback address only (127.0.0.0/8 or ::1). */
int http_server_loopback(const http_server *s);

/** Connections the deadline has cut so far. */
long http_server_cut(const http_server *s);

/** Closes every connection and the listening socket, stops the threads, frees s; NULL is
 * fine. */
void http_server_stop(http_server *s);

#endif
