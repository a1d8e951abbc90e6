/*
 * http.c - the HTTP transport of the object-store drivers (see http.h):
 * requests over libcurl with retries, timeouts, TLS and cancellation.
 * What a request says is the drivers' business (s3.c, azure.c), how it is
 * signed sign.c's, what its answer means xml.c's and the drivers'.
 *
 * libcurl is opened with dlopen on the first object-store request and
 * called through a table, as lib/pg/libpq.c does with libpq. A client keeps
 * idle easy handles in a small pool guarded by a mutex: a handle keeps its
 * connections across curl_easy_reset, so consecutive requests reuse them,
 * and requests from several threads each take their own handle.
 *
 * Retries: an attempt that fails with a connection error, a timeout (the
 * connect timeout, or the stall timeout: less than 1 byte/s for
 * stall_timeout seconds), 5xx, 408 or 429 is retried after a delay that
 * doubles from 100 ms up to 5 s, with jitter (half fixed, half random), as
 * long as the total retry time is not spent. Requests are re-prepared
 * (re-signed) for every attempt. Every request walden makes is idempotent
 * or safe to repeat (see docs/internals/object-storage.md).
 */
#include <assert.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "common/common.h"
#include "storage/http.h"

/* ---- libcurl, loaded on first use ---- */

typedef struct wd_libcurl {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_perform) *easy_perform;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_easy_reset) *easy_reset;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
} wd_libcurl;

static wd_libcurl cu;
static int cu_loaded;
static char cu_error[256];
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(cu_error, sizeof(cu_error), "%s", dlerror());
        return;
    }
    struct {
        void **slot;
        const char *name;
    } syms[] = {
        {(void **)&cu.global_init, "curl_global_init"},
        {(void **)&cu.easy_init, "curl_easy_init"},
        {(void **)&cu.easy_setopt, "curl_easy_setopt"},
        {(void **)&cu.easy_perform, "curl_easy_perform"},
        {(void **)&cu.easy_getinfo, "curl_easy_getinfo"},
        {(void **)&cu.easy_cleanup, "curl_easy_cleanup"},
        {(void **)&cu.easy_reset, "curl_easy_reset"},
        {(void **)&cu.easy_strerror, "curl_easy_strerror"},
        {(void **)&cu.slist_append, "curl_slist_append"},
        {(void **)&cu.slist_free_all, "curl_slist_free_all"},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(syms); i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(cu_error, sizeof(cu_error), "libcurl.so.4 has no %s", syms[i].name);
            return;
        }
    }
    if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(cu_error, sizeof(cu_error), "curl_global_init failed");
        return;
    }
    cu_loaded = 1;
}

/* ---- the client ---- */

#define POOL_MAX 8
#define ERROR_BODY_MAX (64 * 1024)

struct wd_http {
    wd_http_opts opts;
    char *ca_file;
    pthread_mutex_t lock;
    CURL *idle[POOL_MAX];
    int nidle;
};

int wd_http_new(wd_http **out, const wd_http_opts *opts)
{
    pthread_once(&cu_once, load);
    if (!cu_loaded)
        return wd_error_set(WALDEN_ERROR, "cannot load libcurl: %s", cu_error);
    wd_http *h = wd_calloc(1, sizeof(*h));
    if (!h)
        return WALDEN_ENOMEM;
    h->opts = *opts;
    if (opts->ca_file && !(h->ca_file = wd_strdup(opts->ca_file))) {
        wd_free(h);
        return WALDEN_ENOMEM;
    }
    h->opts.ca_file = h->ca_file;
    if (h->opts.connect_timeout <= 0)
        h->opts.connect_timeout = 30;
    if (h->opts.stall_timeout <= 0)
        h->opts.stall_timeout = 60;
    pthread_mutex_init(&h->lock, NULL);
    *out = h;
    return 0;
}

void wd_http_free(wd_http *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->nidle; i++)
        cu.easy_cleanup(h->idle[i]);
    pthread_mutex_destroy(&h->lock);
    wd_free(h->ca_file);
    wd_free(h);
}

static CURL *take_handle(wd_http *h)
{
    CURL *c = NULL;
    pthread_mutex_lock(&h->lock);
    if (h->nidle)
        c = h->idle[--h->nidle];
    pthread_mutex_unlock(&h->lock);
    if (!c)
        c = cu.easy_init();
    return c;
}

static void give_handle(wd_http *h, CURL *c)
{
    pthread_mutex_lock(&h->lock);
    if (h->nidle < POOL_MAX) {
        h->idle[h->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    if (c)
        cu.easy_cleanup(c);
}

/* ---- headers ---- */

int wd_http_header_add(wd_http_headers *h, const char *fmt, ...)
{
    assert(h->n < WD_HTTP_MAX_HEADERS);
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return wd_error_set(WALDEN_ENOMEM, "out of memory");
    /* vasprintf's memory comes from malloc: copy it into ours */
    char *v = wd_strdup(s);
    free(s);
    if (!v)
        return WALDEN_ENOMEM;
    h->v[h->n++] = v;
    return 0;
}

void wd_http_headers_clear(wd_http_headers *h)
{
    for (size_t i = 0; i < h->n; i++)
        wd_free_secret(h->v[i], strlen(h->v[i])); /* Authorization is one of them */
    h->n = 0;
}

void wd_http_resp_clear(wd_http_resp *resp)
{
    wd_free(resp->body);
    wd_free(resp->headers);
    memset(resp, 0, sizeof(*resp));
}

char *wd_http_resp_header(const wd_http_resp *resp, const char *name)
{
    if (!resp->headers)
        return NULL;
    size_t nl = strlen(name);
    const char *p = resp->headers, *end = resp->headers + resp->headers_len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            return wd_strndup(v, (size_t)(ve - v));
        }
        p = eol + 1;
    }
    return NULL;
}

/* ---- one attempt ---- */

typedef struct xfer {
    CURL *curl;
    const wd_http_req *req;
    wd_http_resp *resp;
    size_t body_cap;
    size_t sent;
    bool overflow;
    int cb_rc; /* what on_data returned when it stopped the transfer */
} xfer;

static bool cancelled(const wd_http_req *req)
{
    return req->cancel && __atomic_load_n(req->cancel, __ATOMIC_ACQUIRE);
}

static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
    (void)dlt, (void)dln, (void)ult, (void)uln;
    return cancelled(((xfer *)ud)->req) ? 1 : 0;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t cap = size * nitems, left = x->req->body_len - x->sent;
    size_t n = left < cap ? left : cap;
    if (n)
        memcpy(buf, x->req->body + x->sent, n);
    x->sent += n;
    return n;
}

static int on_seek(void *ud, curl_off_t offset, int origin)
{
    xfer *x = ud;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > x->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->sent = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t n = size * nitems;
    wd_http_resp *r = x->resp;
    /* a new status line (after 100 Continue, or a retry): start over */
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0)
        r->headers_len = 0;
    if (r->headers_len + n > 64 * 1024)
        return n; /* ignore absurd header blocks beyond 64 KiB */
    char *nh = wd_realloc(r->headers, r->headers_len + n + 1);
    if (!nh)
        return 0;
    memcpy(nh + r->headers_len, buf, n);
    r->headers = nh;
    r->headers_len += n;
    nh[r->headers_len] = '\0';
    return n;
}

static size_t on_write(char *buf, size_t size, size_t nitems, void *ud)
{
    xfer *x = ud;
    size_t n = size * nitems;
    long status = 0;
    cu.easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
    wd_http_resp *r = x->resp;
    if (x->req->on_data && status >= 200 && status < 300) {
        int rc = x->req->on_data(x->req->data_ctx, status, (const uint8_t *)buf, n);
        if (rc) {
            x->cb_rc = rc;
            return 0;
        }
        r->out_len += n;
        return n;
    }
    if (x->req->out && status >= 200 && status < 300) {
        if (r->out_len + n > x->req->out_cap) {
            x->overflow = true;
            return 0;
        }
        memcpy(x->req->out + r->out_len, buf, n);
        r->out_len += n;
        return n;
    }
    size_t max = status >= 200 && status < 300 ? x->req->body_max : ERROR_BODY_MAX;
    if (r->len + n > max) {
        if (status >= 200 && status < 300) {
            x->overflow = true;
            return 0;
        }
        return n; /* an error body: the start is enough */
    }
    if (r->len + n + 1 > x->body_cap) {
        size_t cap = x->body_cap ? x->body_cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *nb = wd_realloc(r->body, cap);
        if (!nb)
            return 0;
        r->body = nb;
        x->body_cap = cap;
    }
    memcpy(r->body + r->len, buf, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* One attempt; 0 with resp->status set, or a curl error code (> 0). */
static int attempt(wd_http *h, CURL *c, const wd_http_req *req, wd_http_resp *resp,
                   struct curl_slist *hdrs, char *errbuf, bool *overflow, int *cb_rc)
{
    xfer x = {c, req, resp, 0, 0, false, 0};
    cu.easy_reset(c);
    errbuf[0] = '\0';
    cu.easy_setopt(c, CURLOPT_URL, req->url);
    cu.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    cu.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->opts.connect_timeout);
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    cu.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->opts.stall_timeout);
    cu.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->opts.verify_tls ? 1L : 0L);
    cu.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->opts.verify_tls ? 2L : 0L);
    if (h->opts.ca_file)
        cu.easy_setopt(c, CURLOPT_CAINFO, h->opts.ca_file);
    cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    cu.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    cu.easy_setopt(c, CURLOPT_HEADERDATA, &x);
    cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    cu.easy_setopt(c, CURLOPT_WRITEDATA, &x);
    cu.easy_setopt(c, CURLOPT_USERAGENT, "walden/" WALDEN_VERSION);
    if (req->cancel) {
        cu.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        cu.easy_setopt(c, CURLOPT_XFERINFODATA, &x);
        cu.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    const char *m = req->method;
    if (strcmp(m, "GET") == 0) {
        cu.easy_setopt(c, CURLOPT_HTTPGET, 1L);
        /* fewer, larger reads: with curl's 16 KiB default a 1 GiB
         * download from Azurite took 5.7-7.0 s instead of 3.8-4.5 s
         * (docs/benchmarks.md, "Object stores") */
        cu.easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
    } else if (strcmp(m, "HEAD") == 0) {
        cu.easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0) {
        /* Always a known length: UPLOAD with INFILESIZE (PUT) or POST with
         * POSTFIELDSIZE send Content-Length, never chunked encoding. */
        cu.easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        cu.easy_setopt(c, CURLOPT_READDATA, &x);
        cu.easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        cu.easy_setopt(c, CURLOPT_SEEKDATA, &x);
        cu.easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024); /* default 64 KiB */
        if (m[1] == 'U') {
            cu.easy_setopt(c, CURLOPT_UPLOAD, 1L);
            cu.easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        } else {
            cu.easy_setopt(c, CURLOPT_POST, 1L);
            cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
    } else {
        cu.easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    }
    CURLcode cc = cu.easy_perform(c);
    *overflow = x.overflow;
    *cb_rc = x.cb_rc;
    cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (cc != CURLE_OK)
        return (int)cc;
    return 0;
}

static bool transient_curl(int cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return true;
    default:
        return false;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds, in slices of 50 ms when the request can be
 * cancelled. */
static void sleep_ms(int64_t ms, const wd_http_req *req)
{
    while (ms > 0 && !cancelled(req)) {
        int64_t d = req->cancel && ms > 50 ? 50 : ms;
        struct timespec ts = {(time_t)(d / 1000), (long)(d % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        ms -= d;
    }
}

int wd_http_do(wd_http *h, const wd_http_req *req, wd_http_resp *resp)
{
    memset(resp, 0, sizeof(*resp));
    CURL *c = take_handle(h);
    if (!c)
        return wd_error_set(WALDEN_ENOMEM, "cannot create a curl handle");
    /* net-retry-time bounds the time lost to failures: an attempt that
     * moved at least WD_HTTP_PROGRESS bytes before it failed (a large part
     * cut short after a minute of uploading) extends the deadline by its
     * own duration, at most WD_HTTP_PROGRESS_RETRIES times */
    int64_t deadline = now_ms() + h->opts.retry_time_ms;
    int64_t delay = 100;
    int progress_retries = 0;
    char errbuf[CURL_ERROR_SIZE];
    char last[CURL_ERROR_SIZE + 64] = "";
    int rc = 0;
    for (;;) {
        resp->attempts++;
        wd_http_headers hv = {0};
        struct curl_slist *hdrs = NULL;
        rc = req->prepare ? req->prepare(req->ctx, req, &hv) : 0;
        /* curl adds "Expect: 100-continue" to large uploads and waits for
         * an answer servers may never send; an empty value removes it */
        if (!rc)
            rc = wd_http_header_add(&hv, "Expect:");
        for (size_t i = 0; !rc && i < hv.n; i++) {
            struct curl_slist *n = cu.slist_append(hdrs, hv.v[i]);
            if (!n)
                rc = wd_error_set(WALDEN_ENOMEM, "out of memory");
            else
                hdrs = n;
        }
        bool overflow = false;
        int cc = 0, cb_rc = 0;
        if (!rc && cancelled(req))
            rc = wd_error_set(WALDEN_ERROR, "%s '%s': cancelled", req->method, req->what);
        if (!rc) {
            wd_free(resp->body);
            resp->body = NULL;
            resp->len = resp->out_len = 0;
            resp->status = 0;
            int64_t started = now_ms();
            cc = attempt(h, c, req, resp, hdrs, errbuf, &overflow, &cb_rc);
            curl_off_t up = 0, down = 0;
            cu.easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
            cu.easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &down);
            if (up + down >= WD_HTTP_PROGRESS && progress_retries < WD_HTTP_PROGRESS_RETRIES &&
                (cc || resp->status >= 400)) {
                deadline += now_ms() - started;
                progress_retries++;
            }
        }
        cu.slist_free_all(hdrs);
        wd_http_headers_clear(&hv);
        if (rc)
            break;
        if (cb_rc) {
            rc = cb_rc; /* on_data stopped the transfer: its error is set */
            break;
        }
        if (cc && cancelled(req)) {
            rc = wd_error_set(WALDEN_ERROR, "%s '%s': cancelled", req->method, req->what);
            break;
        }
        bool retry;
        if (cc && req->on_data && resp->out_len > 0 && transient_curl(cc)) {
            /* bytes went to the caller already: it resumes from there */
            wd_log_debug("%s '%s': %s after %zu bytes, to resume (attempt %d)", req->method,
                         req->what, errbuf[0] ? errbuf : cu.easy_strerror(cc), resp->out_len,
                         resp->attempts);
            resp->partial = true;
            break;
        }
        if (cc) {
            if (overflow) {
                rc = wd_error_set(WALDEN_ECORRUPT, "'%s': the response is larger than expected",
                                  req->what);
                break;
            }
            retry = transient_curl(cc);
            snprintf(last, sizeof(last), "%s", errbuf[0] ? errbuf : cu.easy_strerror(cc));
            if (!retry) {
                rc = wd_error_set(WALDEN_ENET, "%s '%s' failed: %s", req->method, req->what, last);
                break;
            }
        } else {
            long s = resp->status;
            retry = s >= 500 || s == 408 || s == 429 ||
                    (s >= 200 && s < 300 && req->transient && req->transient(resp));
            if (!retry)
                break; /* a final answer: the caller interprets it */
            snprintf(last, sizeof(last), "HTTP %ld", s);
        }
        int64_t wait = delay / 2;
        uint32_t rnd = 0;
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
            rnd = (uint32_t)now_ms();
        wait += (int64_t)(rnd % (uint32_t)(delay / 2 + 1));
        if (now_ms() + wait > deadline) {
            rc = wd_error_set(WALDEN_ENET, "%s '%s' failed after %d attempts: %s", req->method,
                              req->what, resp->attempts, last);
            break;
        }
        wd_log_debug("%s '%s': %s, retrying in %lld ms (attempt %d)", req->method, req->what, last,
                     (long long)wait, resp->attempts);
        sleep_ms(wait, req);
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
    give_handle(h, c);
    if (rc)
        wd_free(resp->body), resp->body = NULL, resp->len = 0;
    else
        wd_log_debug("%s '%s': HTTP %ld (%d attempts)", req->method, req->what, resp->status,
                     resp->attempts);
    return rc;
}
