/*
 * azure.c - the Azure Blob Storage driver: the requests behind
 * wd_objstore_ops for block blobs, authorized with SharedKey (HMAC-SHA256
 * of the canonical request with the account key, signed here) or a SAS
 * token (appended to every URL; never logged, since URLs never are).
 *
 * Requests: Put Blob (small objects), Put Block + Put Block List (large
 * ones: the blob appears whole at Put Block List), Get Blob with x-ms-range
 * and If-Match, Get Blob Properties, Delete Blob, Copy Blob (commit_as after
 * a block list), List Blobs with marker, Create Container. Every upload
 * carries Content-MD5, which Azure checks. Uncommitted blocks of an
 * aborted upload cannot be deleted by a request: Azure discards them
 * after a week (docs/internals/object-storage.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/common.h"
#include "storage/objstore.h"
#include "storage/sign.h"

#define AZ_VERSION "2021-12-02"

typedef struct az_storage {
    wd_objstore os;
    char *account;
    char *container;
    char *scheme, *host, *path; /* the endpoint: path "" or "/devstoreaccount1" */
    uint8_t *key;               /* the decoded account key, or NULL with a SAS */
    size_t key_len;
    char *sas; /* without '?' */
} az_storage;

static az_storage *AZ(wd_objstore *os)
{
    return (az_storage *)os;
}

typedef wd_azure_header az_header;

typedef struct az_call {
    az_storage *a;
    const char *method;
    const char *resource_path; /* encoded URL path */
    const wd_query_param *q;
    size_t nq;
    size_t body_len;
    const char *content_md5;  /* base64 or NULL */
    const char *content_type; /* or NULL */
    const char *if_match;     /* or NULL */
    az_header xms[6];         /* x-ms-* headers besides date and version */
    size_t nxms;
} az_call;

static int az_prepare(void *ctx, const wd_http_req *req, wd_http_headers *out)
{
    (void)req;
    az_call *c = ctx;
    az_storage *a = c->a;
    char date[32];
    wd_http_date_rfc1123(date);
    az_header h[8];
    size_t n = 0;
    h[n++] = (az_header){"x-ms-date", date};
    h[n++] = (az_header){"x-ms-version", AZ_VERSION};
    for (size_t i = 0; i < c->nxms; i++)
        h[n++] = c->xms[i];
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = wd_http_header_add(out, "%s: %s", h[i].name, h[i].value);
    if (!rc && c->content_md5)
        rc = wd_http_header_add(out, "Content-MD5: %s", c->content_md5);
    if (!rc && c->content_type)
        rc = wd_http_header_add(out, "Content-Type: %s", c->content_type);
    if (!rc && c->if_match)
        rc = wd_http_header_add(out, "If-Match: %s", c->if_match);
    if (rc || !a->key)
        return rc;
    char *sts =
        wd_azure_string_to_sign(c->method, a->account, c->resource_path, c->q, c->nq, c->body_len,
                                c->content_md5, c->content_type, c->if_match, h, n);
    char *sig = NULL;
    if (!sts || wd_azure_sign(&sig, a->key, a->key_len, sts))
        rc = wd_error_set(WALDEN_ENOMEM, "out of memory");
    else
        rc = wd_http_header_add(out, "Authorization: SharedKey %s:%s", a->account, sig);
    wd_free(sts);
    wd_free(sig);
    return rc;
}

typedef struct az_io {
    const uint8_t *body;
    size_t body_len;
    uint8_t *out;
    size_t out_cap;
    size_t body_max;
    const char *content_type;
    const char *if_match;
    bool md5;
    wd_objstore_stream *stream; /* a streaming GET */
} az_io;

/* The URL path of a blob (key) or of the container (key NULL), encoded. */
static char *az_path(az_storage *a, const char *key)
{
    char *ek = key ? wd_uri_encode(key, true) : NULL;
    if (key && !ek)
        return NULL;
    char *p = key ? wd_asprintf("%s/%s/%s", a->path, a->container, ek)
                  : wd_asprintf("%s/%s", a->path, a->container);
    wd_free(ek);
    return p;
}

/* The full URL of a path with a query (SAS appended). */
static char *az_url(az_storage *a, const char *path, const char *query)
{
    const char *sep1 = *query || a->sas ? "?" : "";
    const char *sep2 = *query && a->sas ? "&" : "";
    return wd_asprintf("%s://%s%s%s%s%s%s", a->scheme, a->host, path, sep1, query, sep2,
                       a->sas ? a->sas : "");
}

static int az_run(az_storage *a, const char *method, const char *key, const wd_query_param *q,
                  size_t nq, const az_header *xms, size_t nxms, const az_io *io, wd_http_resp *resp)
{
    az_call c = {.a = a, .method = method, .q = q, .nq = nq, .nxms = nxms};
    if (xms)
        memcpy(c.xms, xms, nxms * sizeof(*xms));
    char md5b64[32] = "";
    if (io) {
        c.body_len = io->body_len;
        c.content_type = io->content_type;
        c.if_match = io->if_match;
        if (io->md5 && io->body) {
            uint8_t d[16];
            EVP_Digest(io->body, io->body_len, d, NULL, EVP_md5(), NULL);
            char *b = wd_base64_encode(d, 16);
            if (!b)
                return WALDEN_ENOMEM;
            snprintf(md5b64, sizeof(md5b64), "%s", b);
            wd_free(b);
            c.content_md5 = md5b64;
        }
    }
    char *path = az_path(a, key), *query = wd_query_canonical(q, nq), *url = NULL, *what = NULL;
    int rc = WALDEN_ENOMEM;
    if (!path || !query)
        goto done;
    c.resource_path = path;
    url = az_url(a, path, query);
    what = key ? wd_asprintf("azure://%s/%s", a->container, key)
               : wd_asprintf("azure://%s", a->container);
    if (!url || !what)
        goto done;
    wd_http_req req = {
        .method = method,
        .url = url,
        .prepare = az_prepare,
        .ctx = &c,
        .body = io ? io->body : NULL,
        .body_len = io ? io->body_len : 0,
        .out = io ? io->out : NULL,
        .out_cap = io ? io->out_cap : 0,
        .body_max = io && io->body_max ? io->body_max : 64 * 1024,
        .on_data = io && io->stream ? io->stream->on_data : NULL,
        .data_ctx = io && io->stream ? io->stream->ctx : NULL,
        .cancel = io && io->stream ? io->stream->cancel : NULL,
        .what = what,
    };
    rc = wd_http_do(a->os.http, &req, resp);
done:
    if (rc == WALDEN_ENOMEM)
        wd_error_set(rc, "out of memory");
    wd_free(path);
    wd_free(query);
    if (url)
        wd_free_secret(url, strlen(url)); /* may hold the SAS */
    wd_free(what);
    return rc;
}

static int az_error(az_storage *a, const wd_http_resp *resp, const char *action, const char *key)
{
    char *code = wd_xml_value(resp->body, resp->len, "Code");
    if (!code)
        code = wd_http_resp_header(resp, "x-ms-error-code");
    char *msg = wd_xml_value(resp->body, resp->len, "Message");
    if (msg)
        msg[strcspn(msg, "\r\n")] = '\0'; /* Azure appends RequestId and Time lines */
    const char *cs = code ? code : "", *ms = msg ? msg : "";
    long st = resp->status;
    int rc;
    if (st == 401 || st == 403)
        rc = wd_error_set(WALDEN_EPERM,
                          "access to Azure container '%s' denied (HTTP %ld %s%s%s): check "
                          "azure-account, azure-key or azure-sas",
                          a->container, st, cs, *ms ? ": " : "", ms);
    else if (st == 404 && strcmp(cs, "ContainerNotFound") == 0)
        rc = wd_error_set(WALDEN_ENOTFOUND, "Azure container '%s' does not exist", a->container);
    else if (st == 404)
        rc = wd_error_set(WALDEN_ENOTFOUND, "'azure://%s/%s' does not exist", a->container,
                          key ? key : "");
    else
        rc = wd_error_set(WALDEN_EIO, "cannot %s 'azure://%s/%s': HTTP %ld %s%s%s", action,
                          a->container, key ? key : "", st, cs, *ms ? ": " : "", ms);
    wd_free(code);
    wd_free(msg);
    return rc;
}

static int az_put(wd_objstore *os, const char *key, const uint8_t *data, size_t len)
{
    az_storage *a = AZ(os);
    az_header h[] = {{"x-ms-blob-type", "BlockBlob"}};
    az_io io = {.body = data, .body_len = len, .md5 = true};
    wd_http_resp r;
    int rc = az_run(a, "PUT", key, NULL, 0, h, 1, &io, &r);
    if (!rc && r.status != 201)
        rc = az_error(a, &r, "write", key);
    wd_http_resp_clear(&r);
    return rc;
}

/* Block ids: the upload's random tag and the part number, base64 of a
 * fixed length (Azure wants every id of a blob the same length). */
static char *block_id(const char *upload, int number)
{
    char raw[32];
    snprintf(raw, sizeof(raw), "%s-%06d", upload, number);
    return wd_base64_encode((const uint8_t *)raw, strlen(raw));
}

static int az_mp_begin(wd_objstore *os, const char *key, char **upload)
{
    (void)os;
    (void)key;
    uint8_t rnd[6];
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
        uint64_t t = (uint64_t)time(NULL);
        memcpy(rnd, &t, sizeof(rnd));
    }
    char hex[13];
    wd_hex_encode(rnd, sizeof(rnd), hex);
    *upload = wd_strdup(hex);
    return *upload ? 0 : WALDEN_ENOMEM;
}

static int az_mp_part(wd_objstore *os, const char *key, const char *upload, int number,
                      const uint8_t *data, size_t len, char **etag)
{
    az_storage *a = AZ(os);
    char *id = block_id(upload, number);
    if (!id)
        return WALDEN_ENOMEM;
    wd_query_param q[] = {{"comp", "block"}, {"blockid", id}};
    az_io io = {.body = data, .body_len = len, .md5 = true};
    wd_http_resp r;
    int rc = az_run(a, "PUT", key, q, 2, NULL, 0, &io, &r);
    if (!rc && r.status != 201)
        rc = az_error(a, &r, "upload a block of", key);
    wd_http_resp_clear(&r);
    if (rc)
        wd_free(id);
    else
        *etag = id;
    return rc;
}

static int az_mp_complete(wd_objstore *os, const char *key, const char *upload, char **ids, int n)
{
    (void)upload;
    az_storage *a = AZ(os);
    size_t cap = 128 + (size_t)n * 64, len = 0;
    char *xml = wd_malloc(cap);
    if (!xml)
        return WALDEN_ENOMEM;
    len += (size_t)snprintf(xml, cap, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(xml + len, cap - len, "<Latest>%s</Latest>", ids[i]);
    len += (size_t)snprintf(xml + len, cap - len, "</BlockList>");
    wd_query_param q[] = {{"comp", "blocklist"}};
    az_io io = {.body = (const uint8_t *)xml,
                .body_len = len,
                .md5 = true,
                .content_type = "application/xml"};
    wd_http_resp r;
    int rc = az_run(a, "PUT", key, q, 1, NULL, 0, &io, &r);
    if (!rc && r.status != 201)
        rc = az_error(a, &r, "commit the block list of", key);
    wd_http_resp_clear(&r);
    wd_free(xml);
    return rc;
}

static void az_mp_abort(wd_objstore *os, const char *key, const char *upload)
{
    (void)os;
    (void)upload;
    wd_log_debug("'%s': uncommitted blocks are left for Azure to discard", key);
}

static int az_get(wd_objstore *os, const char *key, uint64_t offset, uint8_t *buf, size_t cap,
                  size_t *n, uint64_t *total, char etag[128])
{
    az_storage *a = AZ(os);
    char range[64];
    snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)offset,
             (unsigned long long)(offset + cap - 1));
    az_header h[] = {{"x-ms-range", range}};
    az_io io = {.out = buf, .out_cap = cap, .if_match = etag[0] ? etag : NULL};
    wd_http_resp r;
    int rc = az_run(a, "GET", key, NULL, 0, h, 1, &io, &r);
    if (rc)
        goto done;
    if (r.status == 416) {
        /* at or past the end; the size when Content-Range tells it */
        char *cr = wd_http_resp_header(&r, "Content-Range");
        const char *slash = cr ? strrchr(cr, '/') : NULL;
        *n = 0;
        if (!slash || wd_parse_uint64(slash + 1, total) || *total > offset)
            *total = offset;
        wd_free(cr);
    } else if (r.status == 206) {
        char *cr = wd_http_resp_header(&r, "Content-Range");
        const char *slash = cr ? strrchr(cr, '/') : NULL;
        if (!slash || wd_parse_uint64(slash + 1, total))
            rc = wd_error_set(WALDEN_EIO, "bad Content-Range for 'azure://%s/%s'", a->container,
                              key);
        wd_free(cr);
        *n = r.out_len;
    } else if (r.status == 200 && offset == 0) {
        *n = r.out_len;
        *total = r.out_len;
    } else if (r.status == 412) {
        rc =
            wd_error_set(WALDEN_EIO, "'azure://%s/%s' changed while being read", a->container, key);
    } else {
        rc = az_error(a, &r, "read", key);
    }
    if (!rc && !etag[0]) {
        char *e = wd_http_resp_header(&r, "ETag");
        if (e)
            snprintf(etag, 128, "%s", e);
        wd_free(e);
    }
done:
    wd_http_resp_clear(&r);
    return rc;
}

static int az_get_stream(wd_objstore *os, const char *key, uint64_t offset, uint64_t end,
                         wd_objstore_stream *st, char etag[128])
{
    az_storage *a = AZ(os);
    char range[64];
    if (end == UINT64_MAX)
        snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)offset);
    else
        snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)offset,
                 (unsigned long long)(end - 1));
    az_header h[] = {{"x-ms-range", range}};
    size_t nh = offset > 0 || end != UINT64_MAX ? 1 : 0;
    az_io io = {.if_match = etag[0] ? etag : NULL, .stream = st};
    wd_http_resp r;
    st->got = 0;
    st->partial = false;
    int rc = az_run(a, "GET", key, NULL, 0, h, nh, &io, &r);
    if (rc)
        goto done;
    st->got = r.out_len;
    st->partial = r.partial;
    char *cr = wd_http_resp_header(&r, "Content-Range");
    const char *slash = cr ? strrchr(cr, '/') : NULL;
    if (r.status == 416) {
        if (!slash || wd_parse_uint64(slash + 1, &st->total) || st->total > offset)
            st->total = offset;
    } else if (r.status == 206) {
        if (!slash || wd_parse_uint64(slash + 1, &st->total))
            rc = wd_error_set(WALDEN_EIO, "bad Content-Range for 'azure://%s/%s'", a->container,
                              key);
    } else if (r.status == 200 && offset == 0) {
        char *cl = wd_http_resp_header(&r, "Content-Length");
        if (!cl || wd_parse_uint64(cl, &st->total))
            st->total = r.partial ? UINT64_MAX : r.out_len;
        wd_free(cl);
    } else if (r.status == 412) {
        rc =
            wd_error_set(WALDEN_EIO, "'azure://%s/%s' changed while being read", a->container, key);
    } else {
        rc = az_error(a, &r, "read", key);
    }
    wd_free(cr);
    if (!rc && !etag[0]) {
        char *e = wd_http_resp_header(&r, "ETag");
        if (e)
            snprintf(etag, 128, "%s", e);
        wd_free(e);
    }
done:
    wd_http_resp_clear(&r);
    return rc;
}

static int az_head(wd_objstore *os, const char *key, bool *exists)
{
    az_storage *a = AZ(os);
    wd_http_resp r;
    int rc = az_run(a, "HEAD", key, NULL, 0, NULL, 0, NULL, &r);
    if (!rc) {
        if (r.status == 200)
            *exists = true;
        else if (r.status == 404)
            *exists = false;
        else
            rc = az_error(a, &r, "look up", key);
    }
    wd_http_resp_clear(&r);
    return rc;
}

static int az_del(wd_objstore *os, const char *key)
{
    az_storage *a = AZ(os);
    wd_http_resp r;
    int rc = az_run(a, "DELETE", key, NULL, 0, NULL, 0, NULL, &r);
    if (!rc && r.status != 202 && r.status != 200 && r.status != 404)
        rc = az_error(a, &r, "remove", key);
    wd_http_resp_clear(&r);
    return rc;
}

/* Blob Batch: at most 256 sub-requests per batch. */
#define AZ_BATCH_MAX 256

/* One Blob Batch of Delete Blob sub-requests (SharedKey only: each
 * sub-request is signed on its own). Keys whose sub-request did not answer
 * 202 or 404 are removed again one by one with az_del, which retries and
 * reports errors as usual. */
static int az_del_batch(az_storage *a, const char *const *keys, size_t n)
{
    char date[32];
    wd_http_date_rfc1123(date);
    uint8_t rnd[12];
    if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd));
    char hex[25], boundary[40];
    wd_hex_encode(rnd, sizeof(rnd), hex);
    snprintf(boundary, sizeof(boundary), "batch_%s", hex);
    wd_buf b = {0};
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        char *path = az_path(a, keys[i]);
        az_header h[] = {{"x-ms-date", date}};
        char *sts = path ? wd_azure_string_to_sign("DELETE", a->account, path, NULL, 0, 0, NULL,
                                                   NULL, NULL, h, 1)
                         : NULL;
        char *sig = NULL;
        if (!sts || wd_azure_sign(&sig, a->key, a->key_len, sts))
            rc = wd_error_set(WALDEN_ENOMEM, "out of memory");
        else
            wd_buf_printf(&b,
                          "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: "
                          "binary\r\nContent-ID: %zu\r\n\r\nDELETE %s HTTP/1.1\r\nx-ms-date: "
                          "%s\r\nAuthorization: SharedKey %s:%s\r\nContent-Length: 0\r\n\r\n",
                          boundary, i, path, date, a->account, sig);
        wd_free(sig);
        wd_free(sts);
        wd_free(path);
    }
    wd_buf_printf(&b, "--%s--\r\n", boundary);
    if (!rc && b.failed)
        rc = wd_error_set(WALDEN_ENOMEM, "out of memory");
    char ctype[96];
    snprintf(ctype, sizeof(ctype), "multipart/mixed; boundary=%s", boundary);
    wd_http_resp r = {0};
    bool *done = rc ? NULL : wd_calloc(n, sizeof(*done));
    if (!rc && !done)
        rc = WALDEN_ENOMEM;
    if (!rc) {
        wd_query_param q[] = {{"restype", "container"}, {"comp", "batch"}};
        az_io io = {.body = (const uint8_t *)b.s,
                    .body_len = b.len,
                    .body_max = 16 << 20,
                    .content_type = ctype};
        rc = az_run(a, "POST", NULL, q, 2, NULL, 0, &io, &r);
        if (!rc && r.status != 202)
            rc = az_error(a, &r, "remove objects under", keys[0]);
    }
    if (!rc && r.body) {
        /* each part: "Content-ID: N", then the sub-response's status line */
        for (const char *p = strstr(r.body, "Content-ID:"); p; p = strstr(p + 1, "Content-ID:")) {
            char *end;
            unsigned long id = strtoul(p + 11, &end, 10);
            const char *st = strstr(end, "HTTP/1.1 ");
            if (id < n && st) {
                long code = strtol(st + 9, NULL, 10);
                done[id] = code == 202 || code == 404;
            }
        }
    }
    size_t again = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (!done[i]) {
            again++;
            rc = az_del(&a->os, keys[i]);
        }
    }
    if (again)
        wd_log_debug("azure batch delete: %zu of %zu removed one by one", again, n);
    wd_http_resp_clear(&r);
    wd_free(done);
    if (b.s)
        wd_free_secret(b.s, b.len); /* the signatures */
    return rc;
}

/* Removes keys in Blob Batches of up to 256 with SharedKey; with a SAS
 * (whose sub-requests Azure authorizes differently) one Delete Blob per
 * key. */
static int az_del_many(wd_objstore *os, const char *const *keys, size_t n)
{
    az_storage *a = AZ(os);
    int rc = 0;
    for (size_t done = 0; !rc && done < n;) {
        size_t k = n - done < AZ_BATCH_MAX ? n - done : AZ_BATCH_MAX;
        if (a->key) {
            rc = az_del_batch(a, keys + done, k);
        } else {
            for (size_t i = 0; !rc && i < k; i++)
                rc = az_del(os, keys[done + i]);
        }
        done += k;
    }
    return rc;
}

static int az_copy(wd_objstore *os, const char *src, const char *dst)
{
    az_storage *a = AZ(os);
    char *path = az_path(a, src);
    char *source = path ? az_url(a, path, "") : NULL;
    wd_free(path);
    if (!source)
        return WALDEN_ENOMEM;
    az_header h[] = {{"x-ms-copy-source", source}};
    az_io io = {.body = (const uint8_t *)"", .body_len = 0};
    wd_http_resp r;
    int rc = az_run(a, "PUT", dst, NULL, 0, h, 1, &io, &r);
    wd_free_secret(source, strlen(source));
    if (!rc && r.status != 202 && r.status != 201)
        rc = az_error(a, &r, "copy to", dst);
    char *status = rc ? NULL : wd_http_resp_header(&r, "x-ms-copy-status");
    wd_http_resp_clear(&r);
    /* a copy within one account is usually done at once; else poll */
    for (int i = 0; !rc && status && strcmp(status, "pending") == 0 && i < 600; i++) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        wd_free(status);
        status = NULL;
        rc = az_run(a, "HEAD", dst, NULL, 0, NULL, 0, NULL, &r);
        if (!rc && r.status != 200)
            rc = az_error(a, &r, "look up", dst);
        if (!rc)
            status = wd_http_resp_header(&r, "x-ms-copy-status");
        wd_http_resp_clear(&r);
    }
    if (!rc && (!status || strcmp(status, "success") != 0))
        rc = wd_error_set(WALDEN_EIO, "copy to 'azure://%s/%s' did not succeed (status %s)",
                          a->container, dst, status ? status : "unknown");
    wd_free(status);
    return rc;
}

static int az_list(wd_objstore *os, const char *prefix, wd_xml_list_cb cb, void *ctx)
{
    az_storage *a = AZ(os);
    char *marker = NULL;
    int rc = 0;
    do {
        wd_query_param q[5] = {
            {"restype", "container"}, {"comp", "list"}, {"prefix", prefix}, {"delimiter", "/"}};
        size_t nq = 4;
        if (marker)
            q[nq++] = (wd_query_param){"marker", marker};
        az_io io = {.body_max = 16 << 20};
        wd_http_resp r;
        rc = az_run(a, "GET", NULL, q, nq, NULL, 0, &io, &r);
        wd_free(marker);
        marker = NULL;
        if (!rc && r.status != 200)
            rc = az_error(a, &r, "list", prefix);
        if (!rc)
            rc = wd_xml_parse_azure_list(r.body, r.len, cb, ctx, &marker);
        wd_http_resp_clear(&r);
    } while (!rc && marker);
    wd_free(marker);
    return rc;
}

static int az_create(wd_objstore *os)
{
    az_storage *a = AZ(os);
    wd_query_param q[] = {{"restype", "container"}};
    az_io io = {.body = (const uint8_t *)"", .body_len = 0};
    wd_http_resp r;
    int rc = az_run(a, "PUT", NULL, q, 1, NULL, 0, &io, &r);
    if (!rc && r.status == 201)
        wd_log_info("created Azure container '%s'", a->container);
    else if (!rc && r.status != 409) /* 409: it exists */
        rc = az_error(a, &r, "create container", NULL);
    wd_http_resp_clear(&r);
    return rc;
}

static void az_free(wd_objstore *os)
{
    az_storage *a = AZ(os);
    wd_objstore_free_base(os);
    wd_free(a->account);
    wd_free(a->container);
    wd_free(a->scheme);
    wd_free(a->host);
    wd_free(a->path);
    if (a->key)
        wd_free_secret(a->key, a->key_len);
    if (a->sas)
        wd_free_secret(a->sas, strlen(a->sas));
    wd_free(a);
}

static const wd_objstore_ops az_ops = {
    .put = az_put,
    .mp_begin = az_mp_begin,
    .mp_part = az_mp_part,
    .mp_complete = az_mp_complete,
    .mp_abort = az_mp_abort,
    .get = az_get,
    .get_stream = az_get_stream,
    .head = az_head,
    .del = az_del,
    .del_many = az_del_many,
    .copy = az_copy,
    .list = az_list,
    .create = az_create,
    .free = az_free,
};

int wd_storage_azure_new(wd_storage **out, const wd_objstore_cfg *cfg, bool create)
{
    az_storage *a = wd_calloc(1, sizeof(*a));
    if (!a)
        return WALDEN_ENOMEM;
    a->os.ops = &az_ops;
    a->os.part_size = cfg->part_size;
    a->os.max_parts = cfg->max_parts > 0 ? cfg->max_parts : WD_AZURE_MAX_BLOCKS;
    a->os.max_part_size = WD_AZURE_MAX_BLOCK_SIZE;
    int rc = 0;
    if (!(a->os.base.location = wd_strdup(cfg->location))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if ((rc = wd_objstore_parse_location(cfg->location, 8, &a->container, &a->os.prefix)))
        goto done;
    const char *account =
        cfg->az_account && *cfg->az_account ? cfg->az_account : getenv("AZURE_STORAGE_ACCOUNT");
    const char *key = cfg->az_key && *cfg->az_key ? cfg->az_key : getenv("AZURE_STORAGE_KEY");
    const char *sas = cfg->az_sas && *cfg->az_sas ? cfg->az_sas : NULL;
    if (!account || !*account) {
        rc = wd_error_set(WALDEN_EINVAL,
                          "repository '%s' needs an Azure account: set azure-account (or "
                          "AZURE_STORAGE_ACCOUNT)",
                          cfg->location);
        goto done;
    }
    if (!(a->account = wd_strdup(account))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if (sas) {
        if (*sas == '?')
            sas++;
        if (!(a->sas = wd_strdup(sas))) {
            rc = WALDEN_ENOMEM;
            goto done;
        }
    } else if (key && *key) {
        if (wd_base64_decode(key, &a->key, &a->key_len)) {
            rc = wd_error_set(WALDEN_EINVAL, "option 'azure-key' is not valid base64");
            goto done;
        }
    } else {
        rc = wd_error_set(WALDEN_EINVAL,
                          "repository '%s' needs Azure credentials: set azure-key or azure-sas "
                          "(or AZURE_STORAGE_KEY)",
                          cfg->location);
        goto done;
    }
    if (cfg->az_endpoint && *cfg->az_endpoint) {
        if ((rc = wd_objstore_parse_endpoint(cfg->az_endpoint, "azure-endpoint", &a->scheme,
                                             &a->host, &a->path)))
            goto done;
    } else {
        a->scheme = wd_strdup("https");
        a->host = wd_asprintf("%s.blob.core.windows.net", a->account);
        a->path = wd_strdup("");
        if (!a->scheme || !a->host || !a->path) {
            rc = WALDEN_ENOMEM;
            goto done;
        }
    }
    if ((rc = wd_http_new(&a->os.http, &cfg->http)))
        goto done;
    wd_objstore_init(&a->os);
    if (create)
        rc = az_create(&a->os);
done:
    if (rc) {
        az_free(&a->os);
        return rc;
    }
    *out = &a->os.base;
    return 0;
}
