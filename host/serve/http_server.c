/* The HTTP side of `mnistcl serve` on libmicrohttpd (http_server.h). */
#include "serve/http_server.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/conn_watch.h"
#include "serve/serve_page.h"

struct http_server {
    struct MHD_Daemon *daemon;
    conn_watch *watch;
    serve_app *app;
    char host[256]; /* as given (--host) */
    char url[320];
    int loopback;
    int fd; /* the listening socket until the daemon takes it, then -1 */
};

typedef enum { R_PAGE, R_INFO, R_TEST, R_MISTAKES, R_CLASSIFY } route;

/* The routes: path, the methods allowed (the Allow header's text). */
static const struct {
    const char *path;
    route id;
    const char *allow;
} routes[] = {
    {"/", R_PAGE, "GET, HEAD"},
    {"/api/info", R_INFO, "GET, HEAD"},
    {"/api/test", R_TEST, "GET, HEAD"},
    {"/api/mistakes", R_MISTAKES, "GET, HEAD"},
    {"/api/classify", R_CLASSIFY, "POST"},
};

/* One request's state (libmicrohttpd's req_cls): its route and the body so far. */
typedef struct {
    route id;
    char *body;
    size_t len, cap;
} request;

static const char page_csp[] =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

/*
 * Adds the headers every response has, and those of its kind (the page, or JSON);
 * MHD_NO if one cannot be added.
 */
static enum MHD_Result add_headers(struct MHD_Response *resp, int page, const char *allow)
{
    const char *h[][2] = {
        {MHD_HTTP_HEADER_CONTENT_TYPE, page ? "text/html; charset=utf-8" : "application/json"},
        {MHD_HTTP_HEADER_CACHE_CONTROL, page ? "no-cache" : "no-store"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {MHD_HTTP_HEADER_CONNECTION, "close"}, /* one request per connection: conn_watch.h */
        {page ? "Content-Security-Policy" : NULL, page_csp},
        {page ? "X-Frame-Options" : NULL, "DENY"},
        {allow ? MHD_HTTP_HEADER_ALLOW : NULL, allow},
    };
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (h[i][0] && MHD_add_response_header(resp, h[i][0], h[i][1]) != MHD_YES)
            return MHD_NO;
    return MHD_YES;
}

/* Queues r (JSON) on c, taking what it owns; MHD_NO (connection closed) on failure. */
static enum MHD_Result send_reply(struct MHD_Connection *c, serve_reply *r, const char *allow)
{
    struct MHD_Response *resp;
    if (r->owned) {
        resp = MHD_create_response_from_buffer(r->body_len, r->owned, MHD_RESPMEM_MUST_FREE);
        if (resp)
            r->owned = NULL; /* the response frees it */
    } else {
        resp = MHD_create_response_from_buffer(r->body_len, (void *)r->body,
                                               MHD_RESPMEM_PERSISTENT);
    }
    serve_reply_free(r);
    if (!resp)
        return MHD_NO;
    enum MHD_Result ok = add_headers(resp, 0, allow);
    if (ok == MHD_YES)
        ok = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* Queues an error reply {"error": message}. */
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *message,
                                  const char *allow)
{
    serve_reply r;
    serve_error(&r, status, message);
    return send_reply(c, &r, allow);
}

/* Queues the page. */
static enum MHD_Result send_page(struct MHD_Connection *c)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        serve_page_html_len, (void *)serve_page_html, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    enum MHD_Result ok = add_headers(resp, 1, NULL);
    if (ok == MHD_YES)
        ok = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ok;
}

/*
 * Whether the request's Host header names this server (or there is none: HTTP/1.0).
 * On a loopback address only loopback names are taken, so a web page whose name an
 * attacker points at 127.0.0.1 (DNS rebinding) cannot read the replies.
 */
static int host_allowed(const http_server *s, const char *host)
{
    if (!s->loopback || !host)
        return 1;
    char name[256];
    size_t n = 0;
    if (host[0] == '[') { /* [v6]:port */
        const char *end = strchr(host, ']');
        if (!end || (size_t)(end - host - 1) >= sizeof name)
            return 0;
        n = (size_t)(end - host - 1);
        memcpy(name, host + 1, n);
    } else {
        while (host[n] && host[n] != ':' && n + 1 < sizeof name)
            n++;
        memcpy(name, host, n);
    }
    name[n] = '\0';
    if (strcasecmp(name, "localhost") == 0 || strcmp(name, "::1") == 0 ||
        strcasecmp(name, s->host) == 0)
        return 1;
    if (strncmp(name, "127.", 4) != 0)
        return 0;
    for (const char *p = name; *p; p++)
        if ((*p < '0' || *p > '9') && *p != '.')
            return 0;
    return 1;
}

/* The first call for a request (headers in): checks, routes, answers what it can now. */
static enum MHD_Result begin(http_server *s, struct MHD_Connection *c, const char *url,
                             const char *method, request *rq)
{
    char why[200];
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host_allowed(s, host)) {
        snprintf(why, sizeof why,
                 "Host '%.60s' is not a loopback name: this server answers only its own "
                 "address, localhost and 127.0.0.1",
                 host);
        return send_error(c, MHD_HTTP_FORBIDDEN, why, NULL);
    }
    int k = -1;
    for (int i = 0; i < (int)(sizeof routes / sizeof routes[0]) && k < 0; i++)
        if (strcmp(url, routes[i].path) == 0)
            k = i;
    if (k < 0) {
        snprintf(why, sizeof why, "no such path: %.80s", url);
        return send_error(c, MHD_HTTP_NOT_FOUND, why, NULL);
    }
    rq->id = routes[k].id;
    int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    int get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (rq->id == R_CLASSIFY ? !post : !get) {
        snprintf(why, sizeof why, "%s takes %s, not %.20s", routes[k].path, routes[k].allow,
                 method);
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, why, routes[k].allow);
    }
    serve_reply r = {0};
    switch (rq->id) {
    case R_PAGE:
        return send_page(c);
    case R_INFO:
        serve_info(s->app, &r);
        return send_reply(c, &r, NULL);
    case R_MISTAKES:
        serve_mistakes(s->app, &r);
        return send_reply(c, &r, NULL);
    case R_TEST:
        serve_test_image(s->app, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "index"),
                         &r);
        return send_reply(c, &r, NULL);
    case R_CLASSIFY:
        break;
    }
    /* a body too large is refused before any of it is read (the connection then closes) */
    const char *length =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long declared = length ? strtoull(length, NULL, 10) : 0;
    if (declared > HTTP_MAX_BODY) {
        snprintf(why, sizeof why, "the body is %llu bytes; at most %d are taken", declared,
                 HTTP_MAX_BODY);
        return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, why, NULL);
    }
    if (declared) {
        rq->body = malloc(declared);
        if (!rq->body)
            return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory", NULL);
        rq->cap = declared;
    }
    return MHD_YES;
}

/* Appends n bytes of body; 0, or -1 past HTTP_MAX_BODY (a chunked body: no declared
 * length to refuse it by) or when memory runs out. */
static int append_body(request *rq, const char *data, size_t n)
{
    if (n > HTTP_MAX_BODY - rq->len)
        return -1;
    if (rq->len + n > rq->cap) {
        size_t cap = rq->cap ? rq->cap : 4096;
        while (cap < rq->len + n)
            cap *= 2;
        if (cap > HTTP_MAX_BODY)
            cap = HTTP_MAX_BODY;
        char *b = realloc(rq->body, cap);
        if (!b)
            return -1;
        rq->body = b;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    return 0;
}

/* libmicrohttpd's access handler: called with the headers, with each piece of the body,
 * then once more with none. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    http_server *s = cls;
    request *rq = *req_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *req_cls = rq;
        return begin(s, c, url, method, rq);
    }
    if (*upload_data_size) {
        if (append_body(rq, upload_data, *upload_data_size))
            return MHD_NO; /* closes the connection: no reply can be queued mid-body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    serve_reply r = {0};
    serve_classify(s->app, rq->body ? rq->body : "", rq->len, &r);
    return send_reply(c, &r, NULL);
}

/* Frees a request's state when it ends, however it ends. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    request *rq = *req_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *req_cls = NULL;
    }
}

/* Starts and stops watching each connection's deadline (before its socket closes). */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    http_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = info ? conn_watch_add(s->watch, info->connect_fd) : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_watch_remove(s->watch, *socket_context);
        *socket_context = NULL;
    }
}

/* libmicrohttpd's messages, on stderr in mnistcl's form. */
static void on_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    fprintf(stderr, "mnistcl: serve: libmicrohttpd: %s\n", msg);
}

/* Whether a bound address is a loopback one. */
static int is_loopback(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)a)->sin_addr.s_addr) >> 24) ==
               127;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
                      &in6addr_loopback, sizeof in6addr_loopback) == 0;
    return 0;
}

/*
 * Binds and listens on host:port (the first address host resolves to that works), so
 * that a port in use is a clear error; fills s->url and s->loopback. The socket in *fd.
 */
static mc_status open_listener(http_server *s, const char *host, int port, int *fd,
                               mc_error *err)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {0}, *list = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, service, &hints, &list);
    if (rc)
        return mc_fail(err, MC_ERR_USAGE, "--host '%s': %s", host, gai_strerror(rc));
    int sock = -1, why = 0;
    for (struct addrinfo *a = list; a && sock < 0; a = a->ai_next) {
        sock = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (sock < 0) {
            why = errno;
            continue;
        }
        int one = 1;
        if (setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            bind(sock, a->ai_addr, a->ai_addrlen) != 0 || listen(sock, 64) != 0 ||
            fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK) != 0) {
            why = errno;
            close(sock);
            sock = -1;
        }
    }
    freeaddrinfo(list);
    if (sock < 0 && why == EADDRINUSE)
        return mc_fail(err, MC_ERR_IO,
                       "%s:%d: address already in use (another server on that port? --port "
                       "picks another, 0 any free one)",
                       host, port);
    if (sock < 0)
        return mc_fail(err, MC_ERR_IO, "cannot listen on %s:%d: %s", host, port, strerror(why));
    struct sockaddr_storage bound;
    socklen_t len = sizeof bound;
    char numeric[INET6_ADDRSTRLEN + 8], bound_port[16];
    if (getsockname(sock, (struct sockaddr *)&bound, &len) != 0 ||
        getnameinfo((struct sockaddr *)&bound, len, numeric, sizeof numeric, bound_port,
                    sizeof bound_port, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        close(sock);
        return mc_fail(err, MC_ERR_IO, "cannot read the address bound on %s:%d: %s", host, port,
                       strerror(errno));
    }
    s->loopback = is_loopback((struct sockaddr *)&bound);
    snprintf(s->url, sizeof s->url, bound.ss_family == AF_INET6 ? "http://[%s]:%s/"
                                                               : "http://%s:%s/",
             numeric, bound_port);
    *fd = sock;
    return MC_OK;
}

mc_status http_server_open(http_server **out, const char *host, int port, mc_error *err)
{
    *out = NULL;
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    s->fd = -1;
    snprintf(s->host, sizeof s->host, "%s", host);
    mc_status st = open_listener(s, host, port, &s->fd, err);
    if (st) {
        free(s);
        return st;
    }
    *out = s;
    return MC_OK;
}

mc_status http_server_start(http_server *s, serve_app *app, mc_error *err)
{
    s->app = app;
    /* (room for the connections libmicrohttpd may have while it closes others) */
    s->watch = conn_watch_start(2 * HTTP_MAX_CONNECTIONS, HTTP_DEADLINE_S);
    if (!s->watch)
        return mc_fail(err, MC_ERR_RUNTIME, "cannot start the deadline thread: %s",
                       strerror(errno));
    s->daemon = MHD_start_daemon(
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, on_log, s, /* (first, so it gets every message) */
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_MAX_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_HEADER_MEMORY,
        MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_END);
    /* the daemon owns the socket now; on failure it may have closed it already, so it is
       left to the process's end */
    s->fd = -1;
    if (!s->daemon)
        return mc_fail(err, MC_ERR_RUNTIME,
                       "libmicrohttpd could not start the server on %s (its message above "
                       "says why)",
                       s->url);
    return MC_OK;
}

const char *http_server_url(const http_server *s)
{
    return s->url;
}

int http_server_loopback(const http_server *s)
{
    return s->loopback;
}

long http_server_cut(const http_server *s)
{
    return s->watch ? conn_watch_cut(s->watch) : 0;
}

void http_server_stop(http_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon); /* closes the listening socket and every connection */
    if (s->fd >= 0)
        close(s->fd); /* (never started) */
    conn_watch_stop(s->watch);
    free(s);
}
