/*
 * s3.c - the S3 storage driver: the requests behind wd_objstore_ops,
 * signed with AWS Signature Version 4 (sign.c) by walden itself, so the
 * signed headers, the payload hash and the query encoding are under our
 * control and covered by AWS's published test vectors.
 *
 * Every payload is signed with its real SHA-256 (no UNSIGNED-PAYLOAD): S3
 * then refuses a body damaged on the way. Requests: PutObject,
 * CreateMultipartUpload / UploadPart / CompleteMultipartUpload /
 * AbortMultipartUpload, GetObject with Range and If-Match, HeadObject,
 * DeleteObject, CopyObject, ListObjectsV2, HeadBucket and CreateBucket.
 *
 * Errors: 401/403 are WALDEN_EPERM naming the bucket, 404 NoSuchKey is
 * WALDEN_ENOTFOUND; S3's error code and message are quoted (they never
 * hold a secret). CopyObject and CompleteMultipartUpload can fail with
 * "200 OK" and an <Error> body: that is retried like a 500.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/common.h"
#include "storage/objstore.h"
#include "storage/sign.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct s3_storage {
    wd_objstore os;
    char *bucket;
    char *scheme; /* "http" or "https" */
    char *host;   /* the endpoint's host[:port] */
    bool path_style;
    char *key_id, *secret, *token, *region;
} s3_storage;

/* ---- requests ---- */

typedef struct s3_call {
    s3_storage *s;
    const char *method;
    char *uri;   /* canonical URI (encoded path) */
    char *query; /* canonical query or "" */
    char *host;
    const char *payload_hash;
    wd_sigv4_header extra[4];
    size_t nextra;
} s3_call;

static int s3_prepare(void *ctx, const wd_http_req *req, wd_http_headers *out)
{
    (void)req;
    s3_call *c = ctx;
    s3_storage *s = c->s;
    char date[17];
    wd_http_date_amz(date);
    wd_sigv4_header h[WD_HTTP_MAX_HEADERS];
    size_t n = 0;
    h[n++] = (wd_sigv4_header){"host", c->host};
    h[n++] = (wd_sigv4_header){"x-amz-content-sha256", c->payload_hash};
    h[n++] = (wd_sigv4_header){"x-amz-date", date};
    if (s->token)
        h[n++] = (wd_sigv4_header){"x-amz-security-token", s->token};
    for (size_t i = 0; i < c->nextra; i++)
        h[n++] = c->extra[i];
    wd_sigv4_key key = {s->key_id, s->secret, s->region, "s3"};
    char *auth = NULL;
    int rc = wd_sigv4_authorization(&auth, &key, c->method, c->uri, c->query, h, n, c->payload_hash,
                                    date, NULL);
    for (size_t i = 0; !rc && i < n; i++)
        rc = wd_http_header_add(out, "%s: %s", h[i].name, h[i].value);
    if (!rc)
        rc = wd_http_header_add(out, "Authorization: %s", auth);
    wd_free(auth);
    return rc;
}

/* A 200 answer with an <Error> body (CopyObject, CompleteMultipartUpload). */
static bool error_in_200(const wd_http_resp *resp)
{
    return resp->body && strstr(resp->body, "<Error>") != NULL;
}

typedef struct s3_io {
    const uint8_t *body;
    size_t body_len;
    uint8_t *out;
    size_t out_cap;
    size_t body_max;
    bool check_200;
    /* instead of check_200: which 2xx answers are failures to retry */
    bool (*transient)(const wd_http_resp *resp);
    wd_objstore_stream *stream; /* a streaming GET */
} s3_io;

/* Runs one request on `key` (NULL: the bucket) with query parameters and
 * extra signed headers (lowercase names). */
static int s3_run(s3_storage *s, const char *method, const char *key, const wd_query_param *q,
                  size_t nq, const wd_sigv4_header *extra, size_t nextra, const s3_io *io,
                  wd_http_resp *resp)
{
    s3_call c = {.s = s, .method = method, .nextra = nextra};
    if (extra)
        memcpy(c.extra, extra, nextra * sizeof(*extra));
    char hash[65];
    if (io && io->body) {
        wd_sha256_hex(io->body, io->body_len, hash);
        c.payload_hash = hash;
    } else {
        c.payload_hash = EMPTY_SHA256;
    }
    char *ekey = wd_uri_encode(key ? key : "", true);
    char *url = NULL, *what = NULL;
    int rc = WALDEN_ENOMEM;
    if (!ekey || !(c.query = wd_query_canonical(q, nq)))
        goto done;
    if (s->path_style) {
        c.host = wd_strdup(s->host);
        c.uri = key ? wd_asprintf("/%s/%s", s->bucket, ekey) : wd_asprintf("/%s", s->bucket);
    } else {
        c.host = wd_asprintf("%s.%s", s->bucket, s->host);
        c.uri = wd_asprintf("/%s", ekey);
    }
    if (!c.host || !c.uri)
        goto done;
    url = wd_asprintf("%s://%s%s%s%s", s->scheme, c.host, c.uri, *c.query ? "?" : "", c.query);
    what = key ? wd_asprintf("s3://%s/%s", s->bucket, key) : wd_asprintf("s3://%s", s->bucket);
    if (!url || !what)
        goto done;
    wd_http_req req = {
        .method = method,
        .url = url,
        .prepare = s3_prepare,
        .ctx = &c,
        .body = io ? io->body : NULL,
        .body_len = io ? io->body_len : 0,
        .out = io ? io->out : NULL,
        .out_cap = io ? io->out_cap : 0,
        .body_max = io && io->body_max ? io->body_max : 64 * 1024,
        .on_data = io && io->stream ? io->stream->on_data : NULL,
        .data_ctx = io && io->stream ? io->stream->ctx : NULL,
        .cancel = io && io->stream ? io->stream->cancel : NULL,
        .transient = io && io->transient   ? io->transient
                     : io && io->check_200 ? error_in_200
                                           : NULL,
        .what = what,
    };
    rc = wd_http_do(s->os.http, &req, resp);
done:
    if (rc == WALDEN_ENOMEM)
        wd_error_set(rc, "out of memory");
    wd_free(ekey);
    wd_free(c.query);
    wd_free(c.host);
    wd_free(c.uri);
    wd_free(url);
    wd_free(what);
    return rc;
}

/* The error of a failed response: sets the last error, returns the code. */
static int s3_error(s3_storage *s, const wd_http_resp *resp, const char *action, const char *key)
{
    char *code = wd_xml_value(resp->body, resp->len, "Code");
    char *msg = wd_xml_value(resp->body, resp->len, "Message");
    const char *cs = code ? code : "", *ms = msg ? msg : "";
    int rc;
    long st = resp->status;
    if (st == 401 || st == 403)
        rc = wd_error_set(WALDEN_EPERM,
                          "access to S3 bucket '%s' denied (HTTP %ld %s%s%s): check s3-key, "
                          "s3-key-secret and s3-region",
                          s->bucket, st, cs, *ms ? ": " : "", ms);
    else if (st == 404 && strcmp(cs, "NoSuchBucket") == 0)
        rc = wd_error_set(WALDEN_ENOTFOUND, "S3 bucket '%s' does not exist", s->bucket);
    else if (st == 404)
        rc = wd_error_set(WALDEN_ENOTFOUND, "'s3://%s/%s' does not exist", s->bucket,
                          key ? key : "");
    else
        rc = wd_error_set(st == 412 ? WALDEN_EMISMATCH : WALDEN_EIO,
                          "cannot %s 's3://%s/%s': HTTP %ld %s%s%s", action, s->bucket,
                          key ? key : "", st, cs, *ms ? ": " : "", ms);
    wd_free(code);
    wd_free(msg);
    return rc;
}

static s3_storage *S3(wd_objstore *os)
{
    return (s3_storage *)os;
}

static int s3_put(wd_objstore *os, const char *key, const uint8_t *data, size_t len)
{
    s3_storage *s = S3(os);
    wd_http_resp r;
    s3_io io = {.body = data, .body_len = len};
    int rc = s3_run(s, "PUT", key, NULL, 0, NULL, 0, &io, &r);
    if (!rc && r.status != 200)
        rc = s3_error(s, &r, "write", key);
    wd_http_resp_clear(&r);
    return rc;
}

static int s3_mp_begin(wd_objstore *os, const char *key, char **upload)
{
    s3_storage *s = S3(os);
    wd_http_resp r;
    wd_query_param q[] = {{"uploads", ""}};
    s3_io io = {.body = (const uint8_t *)"", .body_len = 0};
    int rc = s3_run(s, "POST", key, q, 1, NULL, 0, &io, &r);
    if (!rc && r.status != 200)
        rc = s3_error(s, &r, "start a multipart upload of", key);
    if (!rc && !(*upload = wd_xml_value(r.body, r.len, "UploadId")))
        rc = wd_error_set(WALDEN_EIO, "no UploadId in the answer for 's3://%s/%s'", s->bucket, key);
    wd_http_resp_clear(&r);
    return rc;
}

static int s3_mp_part(wd_objstore *os, const char *key, const char *upload, int number,
                      const uint8_t *data, size_t len, char **etag)
{
    s3_storage *s = S3(os);
    char num[16];
    snprintf(num, sizeof(num), "%d", number);
    wd_query_param q[] = {{"partNumber", num}, {"uploadId", upload}};
    wd_http_resp r;
    s3_io io = {.body = data, .body_len = len};
    int rc = s3_run(s, "PUT", key, q, 2, NULL, 0, &io, &r);
    if (!rc && r.status != 200)
        rc = s3_error(s, &r, "upload a part of", key);
    if (!rc && !(*etag = wd_http_resp_header(&r, "ETag")))
        rc =
            wd_error_set(WALDEN_EIO, "no ETag for part %d of 's3://%s/%s'", number, s->bucket, key);
    wd_http_resp_clear(&r);
    return rc;
}

/* The ETag S3 gives a completed multipart upload: the MD5 of the parts'
 * binary MD5s, "-" and the number of parts. */
static void multipart_etag(char **etags, int n, char out[64])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL)) {
        EVP_MD_CTX_free(ctx);
        snprintf(out, 64, "?");
        return;
    }
    for (int i = 0; i < n; i++) {
        char hex[33];
        const char *e = etags[i] + (etags[i][0] == '"');
        snprintf(hex, sizeof(hex), "%s", e);
        uint8_t d[16];
        if (wd_hex_decode(hex, d, 16) == 0)
            EVP_DigestUpdate(ctx, d, 16);
    }
    uint8_t d[16];
    EVP_DigestFinal_ex(ctx, d, NULL);
    EVP_MD_CTX_free(ctx);
    char hex[33];
    wd_hex_encode(d, 16, hex);
    snprintf(out, 64, "\"%s-%d\"", hex, n);
}

static int s3_mp_complete(wd_objstore *os, const char *key, const char *upload, char **etags,
                          int nparts)
{
    s3_storage *s = S3(os);
    size_t cap = 128 + (size_t)nparts * 160, len = 0;
    char *xml = wd_malloc(cap);
    if (!xml)
        return WALDEN_ENOMEM;
    len += (size_t)snprintf(xml + len, cap - len, "<CompleteMultipartUpload>");
    for (int i = 0; i < nparts; i++)
        len += (size_t)snprintf(xml + len, cap - len,
                                "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i + 1,
                                etags[i]);
    len += (size_t)snprintf(xml + len, cap - len, "</CompleteMultipartUpload>");
    wd_query_param q[] = {{"uploadId", upload}};
    wd_sigv4_header ct[] = {{"content-type", "application/xml"}};
    wd_http_resp r;
    s3_io io = {
        .body = (const uint8_t *)xml, .body_len = len, .body_max = 1 << 20, .check_200 = true};
    int rc = s3_run(s, "POST", key, q, 1, ct, 1, &io, &r);
    bool completed = false;
    if (!rc && r.status == 404) {
        /* Any 404 (curl may resend on its own when a reused connection
         * closes unanswered, so even a first attempt can be a resend): an
         * earlier send may have completed the upload before its answer
         * was lost, so the object is accepted if its ETag is the one these
         * parts make. r keeps the 404's <Error> body, hence the flag. */
        char want[64];
        multipart_etag(etags, nparts, want);
        wd_http_resp h;
        int hrc = s3_run(s, "HEAD", key, NULL, 0, NULL, 0, NULL, &h);
        char *got = hrc ? NULL : wd_http_resp_header(&h, "ETag");
        completed = !hrc && h.status == 200 && got && strcmp(got, want) == 0;
        wd_free(got);
        wd_http_resp_clear(&h);
        if (hrc)
            rc = hrc; /* the HEAD's own error (network, permission) */
        else if (!completed)
            rc = wd_error_set(WALDEN_EIO,
                              "cannot complete the multipart upload of 's3://%s/%s': the store "
                              "answered 404 and the object there is not the one uploaded",
                              s->bucket, key);
    }
    if (!rc && !completed && (r.status != 200 || error_in_200(&r)))
        rc = s3_error(s, &r, "complete the multipart upload of", key);
    wd_http_resp_clear(&r);
    wd_free(xml);
    return rc;
}

static void s3_mp_abort(wd_objstore *os, const char *key, const char *upload)
{
    s3_storage *s = S3(os);
    wd_query_param q[] = {{"uploadId", upload}};
    wd_http_resp r;
    int rc = s3_run(s, "DELETE", key, q, 1, NULL, 0, NULL, &r);
    if (!rc && r.status != 204 && r.status != 200 && r.status != 404)
        rc = s3_error(s, &r, "abort the multipart upload of", key);
    if (rc)
        wd_log_warn("%s (the bucket's lifecycle rule for incomplete multipart uploads will "
                    "remove its parts)",
                    walden_error_last()->message);
    wd_http_resp_clear(&r);
}

/* "bytes 0-9/1234" -> 1234 */
static int content_range_total(const char *cr, uint64_t *total)
{
    const char *slash = cr ? strrchr(cr, '/') : NULL;
    if (!slash || wd_parse_uint64(slash + 1, total))
        return WALDEN_ECORRUPT;
    return 0;
}

static int s3_get(wd_objstore *os, const char *key, uint64_t offset, uint8_t *buf, size_t cap,
                  size_t *n, uint64_t *total, char etag[128])
{
    s3_storage *s = S3(os);
    char range[64];
    snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)offset,
             (unsigned long long)(offset + cap - 1));
    wd_sigv4_header h[2] = {{"range", range}};
    size_t nh = 1;
    if (etag[0])
        h[nh++] = (wd_sigv4_header){"if-match", etag};
    wd_http_resp r;
    s3_io io = {.out = buf, .out_cap = cap};
    int rc = s3_run(s, "GET", key, NULL, 0, h, nh, &io, &r);
    if (rc)
        goto done;
    if (r.status == 416) {
        /* at or past the end (an empty object has no byte to range over):
         * "Content-Range: bytes *\/SIZE" when the server tells the size */
        char *cr = wd_http_resp_header(&r, "Content-Range");
        *n = 0;
        if (content_range_total(cr, total) || *total > offset)
            *total = offset;
        wd_free(cr);
    } else if (r.status == 206) {
        char *cr = wd_http_resp_header(&r, "Content-Range");
        if (content_range_total(cr, total))
            rc = wd_error_set(WALDEN_EIO, "bad Content-Range for 's3://%s/%s'", s->bucket, key);
        wd_free(cr);
        *n = r.out_len;
    } else if (r.status == 200 && offset == 0) {
        *n = r.out_len; /* the whole object: a server that ignores Range */
        *total = r.out_len;
    } else {
        rc = s3_error(s, &r, "read", key);
        if (r.status == 412)
            rc = wd_error_set(WALDEN_EIO, "'s3://%s/%s' changed while being read", s->bucket, key);
        goto done;
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

static int s3_get_stream(wd_objstore *os, const char *key, uint64_t offset, uint64_t end,
                         wd_objstore_stream *st, char etag[128])
{
    s3_storage *s = S3(os);
    char range[64];
    if (end == UINT64_MAX)
        snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)offset);
    else
        snprintf(range, sizeof(range), "bytes=%llu-%llu", (unsigned long long)offset,
                 (unsigned long long)(end - 1));
    wd_sigv4_header h[2];
    size_t nh = 0;
    if (offset > 0 || end != UINT64_MAX)
        h[nh++] = (wd_sigv4_header){"range", range};
    if (etag[0])
        h[nh++] = (wd_sigv4_header){"if-match", etag};
    wd_http_resp r;
    s3_io io = {.stream = st};
    st->got = 0;
    st->partial = false;
    int rc = s3_run(s, "GET", key, NULL, 0, h, nh, &io, &r);
    if (rc)
        goto done;
    st->got = r.out_len;
    st->partial = r.partial;
    char *cr = wd_http_resp_header(&r, "Content-Range");
    if (r.status == 416) {
        if (content_range_total(cr, &st->total) || st->total > offset)
            st->total = offset;
    } else if (r.status == 206) {
        if (content_range_total(cr, &st->total))
            rc = wd_error_set(WALDEN_EIO, "bad Content-Range for 's3://%s/%s'", s->bucket, key);
    } else if (r.status == 200 && offset == 0) {
        char *cl = wd_http_resp_header(&r, "Content-Length");
        if (!cl || wd_parse_uint64(cl, &st->total))
            st->total = r.partial ? UINT64_MAX : r.out_len;
        wd_free(cl);
    } else {
        rc = s3_error(s, &r, "read", key);
        if (r.status == 412)
            rc = wd_error_set(WALDEN_EIO, "'s3://%s/%s' changed while being read", s->bucket, key);
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

static int s3_head(wd_objstore *os, const char *key, bool *exists)
{
    s3_storage *s = S3(os);
    wd_http_resp r;
    int rc = s3_run(s, "HEAD", key, NULL, 0, NULL, 0, NULL, &r);
    if (!rc) {
        if (r.status == 200)
            *exists = true;
        else if (r.status == 404)
            *exists = false;
        else
            rc = s3_error(s, &r, "look up", key);
    }
    wd_http_resp_clear(&r);
    return rc;
}

static int s3_del(wd_objstore *os, const char *key)
{
    s3_storage *s = S3(os);
    wd_http_resp r;
    int rc = s3_run(s, "DELETE", key, NULL, 0, NULL, 0, NULL, &r);
    if (!rc && r.status != 204 && r.status != 200 && r.status != 404)
        rc = s3_error(s, &r, "remove", key);
    wd_http_resp_clear(&r);
    return rc;
}

/* DeleteObjects answers 200 with <Error> elements for the keys it could not
 * remove. An <Error> that is the whole answer is a transient failure, and so
 * is a result whose every key failed for the server's load or an internal
 * error (SlowDown, ServiceUnavailable, InternalError): the whole request is
 * sent again (removing a key that is gone already succeeds). Any other
 * key's error (AccessDenied...) is final. */
static bool delete_error_in_200(const wd_http_resp *resp)
{
    if (!error_in_200(resp))
        return false;
    if (!strstr(resp->body, "<DeleteResult"))
        return true;
    const char *end = resp->body + resp->len;
    for (const char *e = strstr(resp->body, "<Error>"); e; e = strstr(e + 1, "<Error>")) {
        const char *close = strstr(e, "</Error>");
        size_t n = close ? (size_t)(close - e) : (size_t)(end - e);
        char *code = wd_xml_value(e, n, "Code");
        bool transient =
            code && (strcmp(code, "SlowDown") == 0 || strcmp(code, "ServiceUnavailable") == 0 ||
                     strcmp(code, "InternalError") == 0);
        wd_free(code);
        if (!transient)
            return false;
    }
    return true;
}

/* Appends `in` with XML's five special characters escaped. */
static size_t xml_escape(char *out, const char *in)
{
    size_t n = 0;
    for (; *in; in++) {
        const char *e = *in == '&'    ? "&amp;"
                        : *in == '<'  ? "&lt;"
                        : *in == '>'  ? "&gt;"
                        : *in == '"'  ? "&quot;"
                        : *in == '\'' ? "&apos;"
                                      : NULL;
        if (e) {
            memcpy(out + n, e, strlen(e));
            n += strlen(e);
        } else {
            out[n++] = *in;
        }
    }
    return n;
}

/* DeleteObjects: up to 1000 keys in one request, quiet (only failures are
 * reported). S3 requires Content-MD5 on it. */
static int s3_del_many(wd_objstore *os, const char *const *keys, size_t nkeys)
{
    s3_storage *s = S3(os);
    static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                               "<Delete><Quiet>true</Quiet>",
                      tail[] = "</Delete>", obj1[] = "<Object><Key>", obj2[] = "</Key></Object>";
    size_t cap = sizeof(head) + sizeof(tail);
    for (size_t i = 0; i < nkeys; i++)
        cap += sizeof(obj1) + sizeof(obj2) + 6 * strlen(keys[i]);
    char *xml = wd_malloc(cap);
    if (!xml)
        return WALDEN_ENOMEM;
    size_t len = 0;
    memcpy(xml, head, sizeof(head) - 1);
    len += sizeof(head) - 1;
    for (size_t i = 0; i < nkeys; i++) {
        memcpy(xml + len, obj1, sizeof(obj1) - 1);
        len += sizeof(obj1) - 1;
        len += xml_escape(xml + len, keys[i]);
        memcpy(xml + len, obj2, sizeof(obj2) - 1);
        len += sizeof(obj2) - 1;
    }
    memcpy(xml + len, tail, sizeof(tail) - 1);
    len += sizeof(tail) - 1;

    uint8_t md5[16];
    char *md5b64 = NULL;
    int rc = 0;
    if (!EVP_Digest(xml, len, md5, NULL, EVP_md5(), NULL))
        rc = wd_error_set(WALDEN_ERROR, "MD5 is not available");
    else if (!(md5b64 = wd_base64_encode(md5, sizeof(md5))))
        rc = WALDEN_ENOMEM;
    wd_http_resp r = {0};
    if (!rc) {
        wd_query_param q[] = {{"delete", ""}};
        wd_sigv4_header h[] = {{"content-md5", md5b64}, {"content-type", "application/xml"}};
        s3_io io = {.body = (const uint8_t *)xml,
                    .body_len = len,
                    .body_max = 16 << 20,
                    .transient = delete_error_in_200};
        rc = s3_run(s, "POST", NULL, q, 1, h, 2, &io, &r);
        if (!rc && (r.status != 200 || error_in_200(&r))) {
            if (r.status == 200) {
                /* the first key that failed names the error; count them all */
                const char *e = strstr(r.body, "<Error>");
                size_t failed = 0;
                for (const char *p = e; p; p = strstr(p + 1, "<Error>"))
                    failed++;
                size_t rest = r.len - (size_t)(e - r.body);
                char *k = wd_xml_value(e, rest, "Key"), *c = wd_xml_value(e, rest, "Code"),
                     *m = wd_xml_value(e, rest, "Message");
                rc = wd_error_set(
                    WALDEN_EIO, "cannot remove 's3://%s/%s': %s%s%s (%zu of %zu keys failed)",
                    s->bucket, k ? k : "?", c ? c : "", m ? ": " : "", m ? m : "", failed, nkeys);
                wd_free(k);
                wd_free(c);
                wd_free(m);
            } else {
                rc = s3_error(s, &r, "remove objects under", keys[0]);
            }
        }
    }
    wd_http_resp_clear(&r);
    wd_free(md5b64);
    wd_free(xml);
    return rc;
}

static int s3_copy(wd_objstore *os, const char *src, const char *dst)
{
    s3_storage *s = S3(os);
    char *esrc = wd_uri_encode(src, true);
    char *source = esrc ? wd_asprintf("/%s/%s", s->bucket, esrc) : NULL;
    wd_free(esrc);
    if (!source)
        return WALDEN_ENOMEM;
    wd_sigv4_header h[] = {{"x-amz-copy-source", source}};
    wd_http_resp r;
    s3_io io = {.body = (const uint8_t *)"", .body_len = 0, .body_max = 1 << 20, .check_200 = true};
    int rc = s3_run(s, "PUT", dst, NULL, 0, h, 1, &io, &r);
    if (!rc && (r.status != 200 || error_in_200(&r)))
        rc = s3_error(s, &r, "copy to", dst);
    wd_http_resp_clear(&r);
    wd_free(source);
    return rc;
}

static int s3_list(wd_objstore *os, const char *prefix, wd_xml_list_cb cb, void *ctx)
{
    s3_storage *s = S3(os);
    char *token = NULL;
    int rc = 0;
    do {
        wd_query_param q[4] = {{"list-type", "2"}, {"prefix", prefix}, {"delimiter", "/"}};
        size_t nq = 3;
        if (token)
            q[nq++] = (wd_query_param){"continuation-token", token};
        wd_http_resp r;
        s3_io io = {.body_max = 16 << 20};
        rc = s3_run(s, "GET", NULL, q, nq, NULL, 0, &io, &r);
        wd_free(token);
        token = NULL;
        if (!rc && r.status != 200)
            rc = s3_error(s, &r, "list", prefix);
        if (!rc)
            rc = wd_xml_parse_s3_list(r.body, r.len, cb, ctx, &token);
        wd_http_resp_clear(&r);
    } while (!rc && token);
    wd_free(token);
    return rc;
}

static int s3_create(wd_objstore *os)
{
    s3_storage *s = S3(os);
    wd_http_resp r;
    int rc = s3_run(s, "HEAD", NULL, NULL, 0, NULL, 0, NULL, &r);
    if (rc || r.status == 200) {
        wd_http_resp_clear(&r);
        return rc;
    }
    if (r.status != 404) {
        rc = s3_error(s, &r, "look up", NULL);
        wd_http_resp_clear(&r);
        return rc;
    }
    wd_http_resp_clear(&r);
    char *body = strcmp(s->region, "us-east-1") == 0
                     ? wd_strdup("")
                     : wd_asprintf("<CreateBucketConfiguration><LocationConstraint>%s"
                                   "</LocationConstraint></CreateBucketConfiguration>",
                                   s->region);
    if (!body)
        return WALDEN_ENOMEM;
    s3_io io = {.body = (const uint8_t *)body, .body_len = strlen(body)};
    rc = s3_run(s, "PUT", NULL, NULL, 0, NULL, 0, &io, &r);
    if (!rc && r.status != 200 && r.status != 409)
        rc = s3_error(s, &r, "create bucket", NULL);
    else if (!rc)
        wd_log_info("created S3 bucket '%s'", s->bucket);
    wd_http_resp_clear(&r);
    wd_free(body);
    return rc;
}

static void s3_free(wd_objstore *os)
{
    s3_storage *s = S3(os);
    wd_objstore_free_base(os);
    wd_free(s->bucket);
    wd_free(s->scheme);
    wd_free(s->host);
    wd_free(s->key_id);
    if (s->secret)
        wd_free_secret(s->secret, strlen(s->secret));
    if (s->token)
        wd_free_secret(s->token, strlen(s->token));
    wd_free(s->region);
    wd_free(s);
}

static const wd_objstore_ops s3_ops = {
    .put = s3_put,
    .mp_begin = s3_mp_begin,
    .mp_part = s3_mp_part,
    .mp_complete = s3_mp_complete,
    .mp_abort = s3_mp_abort,
    .get = s3_get,
    .get_stream = s3_get_stream,
    .head = s3_head,
    .del = s3_del,
    .del_many = s3_del_many,
    .copy = s3_copy,
    .list = s3_list,
    .create = s3_create,
    .free = s3_free,
};

/* ---- construction ---- */

static const char *pick(const char *opt, const char *env)
{
    if (opt && *opt)
        return opt;
    const char *e = env ? getenv(env) : NULL;
    return e && *e ? e : NULL;
}

int wd_storage_s3_new(wd_storage **out, const wd_objstore_cfg *cfg, bool create)
{
    s3_storage *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    s->os.ops = &s3_ops;
    s->os.part_size = cfg->part_size;
    s->os.max_parts = cfg->max_parts > 0 ? cfg->max_parts : WD_S3_MAX_PARTS;
    s->os.max_part_size = WD_S3_MAX_PART_SIZE;
    s->os.max_object = WD_S3_MAX_OBJECT;
    int rc = 0;
    char *path = NULL;
    if (!(s->os.base.location = wd_strdup(cfg->location))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if ((rc = wd_objstore_parse_location(cfg->location, 5, &s->bucket, &s->os.prefix)))
        goto done;
    const char *region = pick(cfg->s3_region, "AWS_REGION");
    if (!region)
        region = pick(NULL, "AWS_DEFAULT_REGION");
    s->region = wd_strdup(region ? region : "us-east-1");
    const char *key = pick(cfg->s3_key, "AWS_ACCESS_KEY_ID");
    /* The secret and session token belong to their key: with s3-key set
     * they come from the configuration only (a static s3-key must not go
     * out with a secret or a stale role token left in AWS_*); without it,
     * from the configuration or else the environment. */
    bool key_in_cfg = cfg->s3_key && *cfg->s3_key;
    const char *secret = pick(cfg->s3_secret, key_in_cfg ? NULL : "AWS_SECRET_ACCESS_KEY");
    const char *token = pick(cfg->s3_token, key_in_cfg ? NULL : "AWS_SESSION_TOKEN");
    if (!key || !secret) {
        rc = wd_error_set(WALDEN_EINVAL,
                          "repository '%s' needs S3 credentials: set s3-key and s3-key-secret "
                          "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                          cfg->location);
        goto done;
    }
    s->key_id = wd_strdup(key);
    s->secret = wd_strdup(secret);
    s->token = token ? wd_strdup(token) : NULL;
    if (!s->region || !s->key_id || !s->secret || (token && !s->token)) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if (cfg->s3_endpoint && *cfg->s3_endpoint) {
        if ((rc = wd_objstore_parse_endpoint(cfg->s3_endpoint, "s3-endpoint", &s->scheme, &s->host,
                                             &path)))
            goto done;
        if (*path) {
            rc = wd_error_set(WALDEN_EINVAL,
                              "invalid value for option 's3-endpoint': '%s' (no path allowed)",
                              cfg->s3_endpoint);
            goto done;
        }
    } else {
        s->scheme = wd_strdup("https");
        s->host = wd_asprintf("s3.%s.amazonaws.com", s->region);
        if (!s->scheme || !s->host) {
            rc = WALDEN_ENOMEM;
            goto done;
        }
    }
    const char *style = cfg->s3_uri_style && *cfg->s3_uri_style ? cfg->s3_uri_style : "host";
    if (strcmp(style, "path") == 0) {
        s->path_style = true;
    } else if (strcmp(style, "host") != 0) {
        rc = wd_error_set(WALDEN_EINVAL,
                          "invalid value for option 's3-uri-style': '%s' (expected host or path)",
                          style);
        goto done;
    }
    if ((rc = wd_http_new(&s->os.http, &cfg->http)))
        goto done;
    wd_objstore_init(&s->os);
    if (create)
        rc = s3_create(&s->os);
done:
    wd_free(path);
    if (rc) {
        s3_free(&s->os);
        return rc;
    }
    *out = &s->os.base;
    return 0;
}
