/*
 * http.h - the HTTP transport of the object-store drivers (s3.c, azure.c):
 * requests over libcurl with retries, timeouts, TLS, cancellation and a
 * pool of connections shared by threads. Signing is sign.h's, reading the
 * answers xml.h's, the storage contract over the drivers objstore.h's.
 *
 * libcurl is loaded with dlopen on first use (like libpq, pg/libpq.h):
 * archive-push to a local repository runs once per WAL segment and must not
 * pay for loading libcurl and the libraries it pulls in.
 *
 * Secrets (keys, tokens, SAS query strings) never reach a message or a log
 * line: requests are named in messages by `what` (e.g. "s3://bucket/key"),
 * never by their URL or headers.
 */
#ifndef WD_STORAGE_HTTP_H
#define WD_STORAGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wd_http wd_http;

typedef struct wd_http_opts {
    const char *ca_file;  /* NULL: the system's CA store */
    bool verify_tls;      /* peer and host name */
    long connect_timeout; /* seconds */
    long stall_timeout;   /* seconds without a byte moving: the attempt fails */
    long retry_time_ms;   /* total time spent retrying one request */
} wd_http_opts;

/* Loads libcurl if needed (WALDEN_ERROR naming the library when it cannot
 * be loaded) and makes a client: a pool of connections that requests from
 * any thread share. */
int wd_http_new(wd_http **out, const wd_http_opts *opts);
void wd_http_free(wd_http *h);

#define WD_HTTP_MAX_HEADERS 24

/* Request headers, "Name: value" each, owned (freed by the layer). */
typedef struct wd_http_headers {
    char *v[WD_HTTP_MAX_HEADERS];
    size_t n;
} wd_http_headers;

/* Appends a formatted header; WALDEN_ENOMEM, or an assert when full. */
int wd_http_header_add(wd_http_headers *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void wd_http_headers_clear(wd_http_headers *h);

typedef struct wd_http_resp wd_http_resp;
typedef struct wd_http_req wd_http_req;

struct wd_http_req {
    const char *method; /* GET, HEAD, PUT, POST, DELETE */
    const char *url;    /* complete and encoded; may hold a SAS: never logged */
    /* Called before every attempt: fills `out` with every request header,
     * signed for this attempt (a retry gets a fresh date). */
    int (*prepare)(void *ctx, const wd_http_req *req, wd_http_headers *out);
    void *ctx;
    /* The request body (PUT, POST), sent with Content-Length: body_len,
     * never chunked (AWS refuses chunked uploads). */
    const uint8_t *body;
    size_t body_len;
    /* A 2xx response body goes into out[0..out_cap) when out is set (range
     * reads; more is an error), else it is kept in resp->body up to
     * body_max bytes. Error bodies always go to resp->body (up to 64 KiB). */
    uint8_t *out;
    size_t out_cap;
    size_t body_max;
    /* Streaming (instead of out / body_max): a 2xx body is handed to
     * on_data(data_ctx, ...) as it arrives; a non-zero return stops the
     * request and wd_http_do returns it. Once bytes were handed over, a
     * failed attempt is not retried here (the bytes cannot be taken back):
     * wd_http_do returns 0 with resp->partial set and resp->out_len the
     * bytes delivered, and the caller resumes with a Range from there. */
    int (*on_data)(void *ctx, long status, const uint8_t *data, size_t len);
    void *data_ctx;
    /* When not NULL: set to non-zero (by another thread), the request stops
     * as soon as it can (between attempts, during a transfer or a backoff
     * delay) and wd_http_do returns WALDEN_ERROR. */
    const int *cancel;
    /* Optional: a 2xx response that still failed and may be retried (S3
     * answers some errors with 200 and an <Error> body). */
    bool (*transient)(const wd_http_resp *resp);
    const char *what; /* names the request's object in messages */
};

struct wd_http_resp {
    long status;
    char *body; /* NUL-terminated, malloc'ed; NULL when empty */
    size_t len;
    size_t out_len; /* bytes written to req->out, or handed to req->on_data */
    bool partial;   /* on_data: the transfer broke after out_len bytes (resume) */
    char *headers;  /* the raw header block of the final response */
    size_t headers_len;
    int attempts;
};

/* Runs a request, retrying with exponential backoff and jitter on
 * connection errors, timeouts, 5xx, 408 and 429 within the client's retry
 * time. Returns 0 once a final response came (any status: the caller
 * interprets it; 401 and 403 are never retried), or WALDEN_ENET naming
 * `what` when the retries ran out. Free resp with wd_http_resp_clear. */
int wd_http_do(wd_http *h, const wd_http_req *req, wd_http_resp *resp);
void wd_http_resp_clear(wd_http_resp *resp);
/* A response header's value (trimmed, malloc'ed), or NULL when absent. */
char *wd_http_resp_header(const wd_http_resp *resp, const char *name);

/* Retries (see wd_http_do): an attempt that moved this many bytes before
 * it failed does not count against net-retry-time, up to
 * WD_HTTP_PROGRESS_RETRIES such attempts per request. */
#define WD_HTTP_PROGRESS (1u << 20)
#define WD_HTTP_PROGRESS_RETRIES 3

#endif
