/*
 * test_s3.c - the S3 driver (storage/s3.c, objstore.c) and the HTTP layer
 * it shares with azure (storage/http.c):
 *   - ListObjectsV2 parsing (entries, common prefixes, entities, paging);
 *   - against a scripted local server: uploads carry Content-Length and are
 *     never chunked, retries on 503 / dropped connections / stalls, no
 *     retry on 403, clear errors that name the bucket and hold no secret;
 *   - the storage conformance suite against a real S3 server when
 *     WALDEN_TEST_S3_ENDPOINT is set (tests/integration/test_s3.sh starts
 *     OpenStack Swift with s3api and sets it), with a 5 MiB part size so
 *     that multipart uploads are exercised too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "conformance.h"
#include "objstore_test.h"
#include "storage/http.h"
#include "testutil.h"

/* ---- ListObjectsV2 ---- */

struct seen {
    int n;
    char keys[8][64];
    bool prefix[8];
    uint64_t size[8];
    int64_t mtime[8];
};

static int seen_cb(const char *key, bool is_prefix, uint64_t size, int64_t mtime_ms, void *ctx)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->keys[s->n], 64, "%s", key);
        s->prefix[s->n] = is_prefix;
        s->size[s->n] = size;
        s->mtime[s->n] = mtime_ms;
    }
    s->n++;
    return 0;
}

static void test_parse_list(void **state)
{
    (void)state;
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><Prefix>r/main/wal/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>"
        "<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</"
        "NextContinuationToken>"
        "<Contents><Key>r/main/wal/a&amp;b</Key><LastModified>2024-01-01T00:00:00.000Z</"
        "LastModified>"
        "<ETag>&quot;x&quot;</ETag><Size>12345678901</Size><StorageClass>STANDARD</StorageClass>"
        "</Contents>"
        "<CommonPrefixes><Prefix>r/main/wal/0000000100000000/</Prefix></CommonPrefixes>"
        "<Contents><Key>r/main/wal/&#233;t&#xE9;</Key><Size>0</Size></Contents>"
        "</ListBucketResult>";
    struct seen s = {0};
    char *next;
    assert_ok(wd_xml_parse_s3_list(xml, strlen(xml), seen_cb, &s, &next));
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "r/main/wal/a&b");
    assert_false(s.prefix[0]);
    assert_true(s.size[0] == 12345678901ull);
    assert_true(s.mtime[0] == 1704067200000ll); /* 2024-01-01T00:00:00.000Z */
    assert_true(s.mtime[2] == 0);               /* no LastModified */
    assert_string_equal(s.keys[1], "r/main/wal/0000000100000000/");
    assert_true(s.prefix[1]);
    assert_string_equal(s.keys[2], "r/main/wal/\xc3\xa9t\xc3\xa9");
    assert_string_equal(next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    wd_free(next);

    /* the last page, and an empty one with <Prefix/> */
    const char *last = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                       "<Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>";
    memset(&s, 0, sizeof(s));
    assert_ok(wd_xml_parse_s3_list(last, strlen(last), seen_cb, &s, &next));
    assert_int_equal(s.n, 1);
    assert_null(next);
    const char *empty = "<ListBucketResult><Prefix/><KeyCount>0</KeyCount>"
                        "<IsTruncated>false</IsTruncated></ListBucketResult>";
    memset(&s, 0, sizeof(s));
    assert_ok(wd_xml_parse_s3_list(empty, strlen(empty), seen_cb, &s, &next));
    assert_int_equal(s.n, 0);

    /* malformed: no size, a bad entity, truncated without a token, not a listing */
    const char *bad[] = {
        "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<Error><Code>AccessDenied</Code></Error>",
        "<ListBucketResult><Contents><Key>unterminated",
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++) {
        memset(&s, 0, sizeof(s));
        int rc = wd_xml_parse_s3_list(bad[i], strlen(bad[i]), seen_cb, &s, &next);
        if (i == WD_ARRAY_LEN(bad) - 1) /* an unterminated entry is no entry */
            assert_true(rc == 0 && s.n == 0);
        else if (rc != WALDEN_ECORRUPT)
            fail_msg("bad listing %zu was accepted", i);
    }
    char *code = wd_xml_value(bad[4], strlen(bad[4]), "Code");
    assert_string_equal(code, "AccessDenied");
    wd_free(code);
}

/* ---- the HTTP layer, against the scripted server ---- */

static wd_http *client(long stall, long retry_ms)
{
    wd_http_opts o = {NULL, true, 5, stall, retry_ms};
    wd_http *h;
    assert_ok(wd_http_new(&h, &o));
    return h;
}

static int add_secret_header(void *ctx, const wd_http_req *req, wd_http_headers *out)
{
    (void)ctx;
    (void)req;
    return wd_http_header_add(out, "Authorization: very-secret-value");
}

static void test_upload_has_content_length(void **state)
{
    (void)state;
    int port = fake_start(NULL, 0);
    wd_http *h = client(10, 1000);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/b/key", port);
    size_t len = 3 * 1024 * 1024 + 5;
    uint8_t *body = malloc(len);
    tu_fill(body, len, 1, 0);
    const char *methods[] = {"PUT", "POST", "PUT"};
    size_t lens[] = {len, 77, 0};
    for (int i = 0; i < 3; i++) {
        wd_http_req req = {.method = methods[i],
                           .url = url,
                           .body = body,
                           .body_len = lens[i],
                           .what = "s3://b/key"};
        wd_http_resp r;
        assert_ok(wd_http_do(h, &req, &r));
        assert_int_equal(r.status, 200);
        wd_http_resp_clear(&r);
    }
    fake_stop();
    char want[64];
    snprintf(want, sizeof(want), "PUT /b/key HTTP/1.1\r\n");
    assert_non_null(strstr(fake_log, want));
    snprintf(want, sizeof(want), "Content-Length: %zu\r\n", len);
    assert_non_null(strstr(fake_log, want));
    assert_non_null(strstr(fake_log, "Content-Length: 77\r\n"));
    assert_non_null(strstr(fake_log, "Content-Length: 0\r\n"));
    assert_null(strcasestr(fake_log, "Transfer-Encoding"));
    assert_null(strcasestr(fake_log, "Expect:"));
    free(body);
    wd_http_free(h);
}

static void test_retries_transient(void **state)
{
    (void)state;
    const fake_step steps[] = {
        {FAKE_RESPOND, 503, "<Error><Code>SlowDown</Code></Error>", NULL},
        {FAKE_CLOSE, 0, NULL, NULL},
        {FAKE_RESPOND, 500, NULL, NULL},
        {FAKE_TRUNCATE, 200, "0123456789abcdef", NULL},
        {FAKE_STALL, 200, NULL, NULL},
        {FAKE_RESPOND, 429, NULL, NULL},
        {FAKE_RESPOND, 200, "done", NULL},
    };
    int port = fake_start(steps, WD_ARRAY_LEN(steps));
    wd_http *h = client(1, 20000);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/b/k", port);
    wd_http_req req = {.method = "GET", .url = url, .body_max = 100, .what = "s3://b/k"};
    wd_http_resp r;
    assert_ok(wd_http_do(h, &req, &r));
    assert_int_equal(r.status, 200);
    /* curl itself resends once on a reused connection closed unanswered */
    assert_int_equal(fake_requests, 7);
    assert_true(r.attempts >= 6 && r.attempts <= 7);
    assert_string_equal(r.body, "done");
    wd_http_resp_clear(&r);
    fake_stop();
    wd_http_free(h);
}

static void test_no_retry_on_403(void **state)
{
    (void)state;
    const fake_step steps[] = {
        {FAKE_RESPOND, 403, "<Error><Code>AccessDenied</Code></Error>", NULL}};
    int port = fake_start(steps, 1);
    wd_http *h = client(5, 5000);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/b/k", port);
    wd_http_req req = {.method = "GET", .url = url, .what = "s3://b/k"};
    wd_http_resp r;
    assert_ok(wd_http_do(h, &req, &r));
    assert_int_equal(r.status, 403);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.body, "AccessDenied"));
    wd_http_resp_clear(&r);
    fake_stop();
    assert_int_equal(fake_requests, 1);
    wd_http_free(h);
}

static void test_persistent_failure(void **state)
{
    (void)state;
    fake_step steps[32];
    for (size_t i = 0; i < 32; i++)
        steps[i] = (fake_step){FAKE_RESPOND, 503, NULL, NULL};
    int port = fake_start(steps, 32);
    wd_http *h = client(5, 1000);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/b/k?sig=very-secret-value", port);
    wd_http_req req = {.method = "PUT",
                       .url = url,
                       .prepare = add_secret_header,
                       .body = (const uint8_t *)"x",
                       .body_len = 1,
                       .what = "s3://b/k"};
    wd_http_resp r;
    assert_rc(wd_http_do(h, &req, &r), WALDEN_ENET);
    const char *m = walden_error_last()->message;
    assert_non_null(strstr(m, "s3://b/k"));
    assert_non_null(strstr(m, "HTTP 503"));
    assert_null(strstr(m, "very-secret-value"));
    assert_true(fake_requests >= 3 && fake_requests < 32);
    wd_http_resp_clear(&r);
    fake_stop();
    /* nobody listening: connection refused is retried, then ENET */
    assert_rc(wd_http_do(h, &req, &r), WALDEN_ENET);
    wd_http_resp_clear(&r);
    wd_http_free(h);
}

/* ---- the driver against the scripted server ---- */

/* A driver for the scripted server on `port`; part_size and max_parts 0:
 * the defaults; retry_ms: net-retry-time. */
static wd_storage *fake_s3_ex(int port, const char *secret, size_t part_size, int max_parts,
                              long retry_ms)
{
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    wd_objstore_cfg c = {.location = "s3://bucket/pre",
                         .s3_endpoint = ep,
                         .s3_region = "us-east-1",
                         .s3_uri_style = "path",
                         .s3_key = "AKID",
                         .s3_secret = secret,
                         .s3_token = "session-token-secret",
                         .http = {NULL, true, 5, 5, retry_ms},
                         .part_size = part_size,
                         .max_parts = max_parts};
    wd_storage *st;
    assert_ok(wd_storage_s3_new(&st, &c, false));
    return st;
}

static wd_storage *fake_s3_parts(int port, const char *secret, size_t part_size)
{
    return fake_s3_ex(port, secret, part_size, 0, 2000);
}

static wd_storage *fake_s3(int port, const char *secret)
{
    return fake_s3_parts(port, secret, 0);
}

/* net-retry-time bounds the time lost to failures, not to transfers: a
 * request that moved 1 MiB or more before a 500 is retried even when that
 * attempt took longer than net-retry-time; a small one is not. */
static void test_retry_after_long_transfer(void **state)
{
    (void)state;
    const fake_step steps[] = {{FAKE_SLOW, 500, "<Error><Code>InternalError</Code></Error>", NULL},
                               {FAKE_RESPOND, 200, NULL, NULL}};
    const size_t sizes[] = {2u << 20, 100u << 10};
    for (int i = 0; i < 2; i++) {
        /* net-retry-time 0.3 s, shorter than the slow attempt */
        wd_storage *st = fake_s3_ex(fake_start(steps, 2), "secret", 0, 0, 300);
        uint8_t *data = calloc(1, sizes[i]);
        int rc = wd_storage_write_all(st, "obj", data, sizes[i]);
        wd_storage_free(st);
        fake_stop();
        free(data);
        if (i == 0) {
            assert_ok(rc);
            assert_int_equal(fake_requests, 2);
        } else {
            assert_int_equal(rc, WALDEN_ENET);
            assert_int_equal(fake_requests, 1);
        }
    }
}

static char *read_source(wd_source *src, size_t *len)
{
    size_t cap = 1 << 16, n = 0, k;
    char *buf = malloc(cap);
    for (;;) {
        if (cap - n < 4096)
            buf = realloc(buf, cap *= 2);
        assert_ok(wd_source_read(src, (uint8_t *)buf + n, cap - n - 1, &k));
        if (!k)
            break;
        n += k;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* A whole-object read is one streaming GET; a transfer cut short (a
 * truncated answer, a dropped connection) resumes with a Range from the
 * byte reached and If-Match; an object that changed meanwhile is an error;
 * closing a source early stops its transfer. */
static void test_streaming_read(void **state)
{
    (void)state;
    const char *body = "0123456789abcdefghij"; /* 20 bytes: the truncation sends 10 */
    const fake_step steps[] = {
        {FAKE_TRUNCATE, 200, "0123456789abcdefghij", NULL},
        {FAKE_TRUNCATE, 206, "abcdefghij", "Content-Range: bytes 10-19/20\r\n"}, /* sends 5 */
        {FAKE_CLOSE, 0, NULL, NULL}, /* nothing delivered: retried by the HTTP layer */
        {FAKE_RESPOND, 206, "fghij", "Content-Range: bytes 15-19/20\r\n"},
        /* the second read: cut, then the object is larger (replaced) */
        {FAKE_TRUNCATE, 200, "0123456789abcdefghij", NULL},
        {FAKE_RESPOND, 206, "abcdefghij", "Content-Range: bytes 10-29/30\r\n"},
    };
    int port = fake_start(steps, WD_ARRAY_LEN(steps));
    wd_storage *st = fake_s3(port, "secret");
    wd_source *src;
    assert_ok(wd_storage_open_read(st, "obj", &src));
    size_t len;
    char *got = read_source(src, &len);
    assert_int_equal(len, 20);
    assert_string_equal(got, body);
    free(got);
    wd_source_close(src);
    assert_int_equal(fake_requests, 4);
    assert_non_null(strcasestr(fake_log, "range: bytes=10-\r\n"));
    assert_non_null(strcasestr(fake_log, "range: bytes=15-\r\n"));
    assert_non_null(strcasestr(fake_log, "if-match: \"e\"\r\n"));

    assert_ok(wd_storage_open_read(st, "obj", &src));
    uint8_t buf[64];
    size_t n, total = 0;
    int rc;
    while (!(rc = wd_source_read(src, buf, sizeof(buf), &n)) && n)
        total += n;
    assert_int_equal(rc, WALDEN_EIO);
    assert_non_null(strstr(walden_error_last()->message, "changed while being read"));
    assert_true(total <= 20);
    wd_source_close(src);
    wd_storage_free(st);
    fake_stop();

    /* closing a source early stops a large transfer at once */
    size_t big = 16u << 20;
    char *large = malloc(big + 1);
    memset(large, 'x', big);
    large[big] = '\0';
    const fake_step one[] = {{FAKE_RESPOND, 200, large, NULL}};
    port = fake_start(one, 1);
    st = fake_s3(port, "secret");
    assert_ok(wd_storage_open_read(st, "big", &src));
    assert_ok(wd_source_read(src, buf, sizeof(buf), &n));
    assert_true(n > 0 && buf[0] == 'x');
    wd_source_close(src);
    wd_storage_free(st);
    fake_stop();
    free(large);
}

/* Parts go out in parallel; when one fails, the upload is aborted and never
 * completed, so no object appears. */
static void test_multipart_failure_aborts(void **state)
{
    (void)state;
    fake_step steps[16];
    steps[0] = (fake_step){FAKE_RESPOND, 200,
                           "<InitiateMultipartUploadResult><UploadId>u1</UploadId>"
                           "</InitiateMultipartUploadResult>",
                           NULL};
    for (size_t i = 1; i < WD_ARRAY_LEN(steps); i++)
        steps[i] = (fake_step){FAKE_RESPOND, 403, "<Error><Code>AccessDenied</Code></Error>", NULL};
    int port = fake_start(steps, WD_ARRAY_LEN(steps));
    wd_storage *st = fake_s3_parts(port, "secret", 5u << 20);
    size_t len = 23u << 20;
    uint8_t *data = malloc(len);
    tu_fill(data, len, 9, 0);
    wd_sink *sink;
    assert_ok(wd_storage_open_write(st, "big", &sink));
    int rc = 0;
    for (size_t off = 0; !rc && off < len; off += 1 << 20)
        rc = sink->write(sink, data + off, 1 << 20);
    if (!rc)
        rc = sink->commit(sink);
    else
        sink->abort(sink);
    assert_int_equal(rc, WALDEN_EPERM);
    assert_non_null(strstr(walden_error_last()->message, "'bucket'"));
    wd_storage_free(st);
    fake_stop();
    free(data);
    assert_non_null(strstr(fake_log, "POST /bucket/pre/big?uploads= HTTP/1.1\r\n"));
    assert_non_null(strstr(fake_log, "PUT /bucket/pre/big?partNumber=1&uploadId=u1 HTTP/1.1\r\n"));
    assert_non_null(strstr(fake_log, "DELETE /bucket/pre/big?uploadId=u1 HTTP/1.1\r\n"));
    assert_null(strstr(fake_log, "POST /bucket/pre/big?uploadId=u1"));
    assert_null(strcasestr(fake_log, "Transfer-Encoding"));
}

/* Streams of unknown length: parts grow by tenths of the store's part
 * count, and the parts in flight shrink as they grow. */
static void test_part_sizes(void **state)
{
    (void)state;
    wd_storage *st = fake_s3_parts(1, "secret", 0);
    wd_objstore *os = (wd_objstore *)st;
    const uint64_t mib = 1 << 20, gib = mib << 10, tib = gib << 10;
    assert_int_equal(os->max_parts, 10000);
    assert_int_equal(wd_objstore_part_size(os, 0), 32 * mib);
    assert_int_equal(wd_objstore_part_size(os, 999), 32 * mib);
    assert_int_equal(wd_objstore_part_size(os, 1000), 64 * mib);
    assert_int_equal(wd_objstore_part_size(os, 6999), 2 * gib);
    assert_int_equal(wd_objstore_part_size(os, 7000), 4 * gib);
    assert_int_equal(wd_objstore_part_size(os, 9999), 4 * gib);
    uint64_t total = 0;
    int reached = -1;
    for (int i = 0; i < os->max_parts; i++) {
        total += wd_objstore_part_size(os, i);
        if (reached < 0 && total >= 5 * tib)
            reached = i + 1;
        assert_true(wd_objstore_part_size(os, i) <= WD_S3_MAX_PART_SIZE);
    }
    assert_int_equal(reached, 7288); /* S3's largest object, as documented */
    assert_int_equal(wd_objstore_parts_in_flight(os, 32 * mib), 4);
    assert_int_equal(wd_objstore_parts_in_flight(os, 64 * mib), 2);
    assert_int_equal(wd_objstore_parts_in_flight(os, 128 * mib), 1);
    assert_int_equal(wd_objstore_parts_in_flight(os, 4 * gib), 1);
    wd_storage_free(st);

    /* a store of 1000 parts: parts double every 100 */
    st = fake_s3_ex(1, "secret", 0, 1000, 2000);
    os = (wd_objstore *)st;
    assert_int_equal(wd_objstore_part_size(os, 99), 32 * mib);
    assert_int_equal(wd_objstore_part_size(os, 100), 64 * mib);
    total = 0;
    for (int i = 0; i < os->max_parts; i++)
        total += wd_objstore_part_size(os, i);
    assert_true(total >= 3 * tib / 2 && total < 2 * tib); /* "1.5 TiB" */
    wd_storage_free(st);
}

/* A multipart upload sends parts of the growing sizes, in order, and a
 * stream longer than the store's parts can hold fails and is aborted. */
static void test_multipart_parts_grow(void **state)
{
    (void)state;
    const size_t mib = 1 << 20;
    const fake_step steps[] = {{FAKE_RESPOND, 200,
                                "<InitiateMultipartUploadResult><UploadId>u1</UploadId>"
                                "</InitiateMultipartUploadResult>",
                                NULL}};
    size_t len = 76 * mib; /* parts of 5 + 10 + 20 + 40 MiB hold 75 MiB */
    uint8_t *data = malloc(len);
    tu_fill(data, len, 3, 0);
    for (int round = 0; round < 2; round++) {
        size_t want = round == 0 ? 38 * mib : len; /* 38: 5 + 10 + 20 + 3 */
        /* 5 MiB first parts, and fewer than 10 parts: each part doubles */
        wd_storage *st = fake_s3_ex(fake_start(steps, 1), "secret", 5 * mib, 4, 2000);
        wd_sink *sink;
        assert_ok(wd_storage_open_write(st, "big", &sink));
        int rc = 0;
        for (size_t off = 0; !rc && off < want; off += mib)
            rc = sink->write(sink, data + off, mib);
        if (!rc)
            rc = sink->commit(sink);
        else
            sink->abort(sink);
        wd_storage_free(st);
        fake_stop();
        /* each part has its size and carries the SHA-256 of its own slice
         * of the stream (a buffer mixed up on reuse would not) */
        const size_t part_len[] = {5 * mib, 10 * mib, 20 * mib, round == 0 ? 3 * mib : 40 * mib};
        size_t off = 0;
        for (int i = 0; i < 4; i++) {
            char line[128], sha[65];
            snprintf(line, sizeof(line), "PUT /bucket/pre/big?partNumber=%d&uploadId=u1 ", i + 1);
            const char *req = strstr(fake_log, line);
            assert_non_null(req);
            const char *cl = strcasestr(req, "Content-Length: ");
            assert_non_null(cl);
            assert_int_equal(strtoull(cl + 16, NULL, 10), part_len[i]);
            const char *h = strcasestr(req, "x-amz-content-sha256: ");
            assert_non_null(h);
            wd_sha256_hex(data + off, part_len[i], sha);
            assert_memory_equal(h + 22, sha, 64);
            off += part_len[i];
        }
        assert_null(strstr(fake_log, "partNumber=5&"));
        if (round == 0) {
            assert_ok(rc);
            assert_non_null(strstr(fake_log, "POST /bucket/pre/big?uploadId=u1 "));
            assert_null(strstr(fake_log, "DELETE /bucket/pre/big?uploadId=u1 "));
        } else {
            assert_int_equal(rc, WALDEN_EINVAL);
            assert_non_null(strstr(walden_error_last()->message, "too large for the store"));
            assert_null(strstr(fake_log, "POST /bucket/pre/big?uploadId=u1 "));
            assert_non_null(strstr(fake_log, "DELETE /bucket/pre/big?uploadId=u1 "));
        }
    }
    free(data);
}

static void test_driver_errors(void **state)
{
    (void)state;
    const char *secret = "wJalrXUtnFEMI-secret";
    const fake_step steps[] = {
        {FAKE_RESPOND, 403,
         "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we "
         "calculated does not match</Message></Error>",
         NULL},
        {FAKE_RESPOND, 404, "<Error><Code>NoSuchKey</Code></Error>", NULL},
        {FAKE_RESPOND, 404, "<Error><Code>NoSuchBucket</Code></Error>", NULL},
        {FAKE_RESPOND, 204, NULL, NULL}, /* DELETE */
        {FAKE_RESPOND, 404, NULL, NULL}, /* DELETE of a missing object: fine */
    };
    int port = fake_start(steps, WD_ARRAY_LEN(steps));
    wd_storage *st = fake_s3(port, secret);
    wd_source *src;
    assert_rc(wd_storage_open_read(st, "a/b", &src), WALDEN_EPERM);
    const char *m = walden_error_last()->message;
    assert_non_null(strstr(m, "'bucket'"));
    assert_non_null(strstr(m, "SignatureDoesNotMatch"));
    assert_null(strstr(m, secret));
    assert_rc(wd_storage_open_read(st, "a/b", &src), WALDEN_ENOTFOUND);
    assert_non_null(strstr(walden_error_last()->message, "s3://bucket/pre/a/b"));
    assert_rc(wd_storage_open_read(st, "a/b", &src), WALDEN_ENOTFOUND);
    assert_non_null(strstr(walden_error_last()->message, "bucket 'bucket' does not exist"));
    assert_ok(wd_storage_remove(st, "a/b"));
    assert_ok(wd_storage_remove(st, "a/b"));
    wd_storage_free(st);
    fake_stop();
    /* what was sent: path style, signed, the token, the key; no secret */
    assert_non_null(strstr(fake_log, "GET /bucket/pre/a/b HTTP/1.1\r\n"));
    assert_null(strcasestr(fake_log, "Range:")); /* a whole object: one plain GET */
    assert_non_null(strstr(fake_log, "x-amz-security-token: session-token-secret\r\n"));
    assert_non_null(strstr(fake_log, "Authorization: AWS4-HMAC-SHA256 Credential=AKID/"));
    assert_non_null(strstr(fake_log, "x-amz-content-sha256: e3b0c442"));
    assert_null(strstr(fake_log, secret));
}

/* DeleteObjects: batches of 1000 keys, Content-MD5, failed keys reported,
 * a 200 that is an <Error> as a whole retried. */
static void test_delete_many(void **state)
{
    (void)state;
    const char *ok = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteResult "
                     "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></DeleteResult>";
    const fake_step steps[] = {
        {FAKE_RESPOND, 200, ok, NULL},
        {FAKE_RESPOND, 200, "<Error><Code>InternalError</Code></Error>", NULL}, /* retried */
        {FAKE_RESPOND, 200, ok, NULL},
        {FAKE_RESPOND, 200,
         "<DeleteResult><Error><Key>pre/x/k&amp;1</Key><Code>AccessDenied</Code><Message>Access "
         "Denied</Message></Error></DeleteResult>",
         NULL},
        {FAKE_RESPOND, 403, "<Error><Code>AccessDenied</Code></Error>", NULL},
    };
    int port = fake_start(steps, WD_ARRAY_LEN(steps));
    wd_storage *st = fake_s3(port, "secret");
    assert_non_null(st->driver->remove_many);
    const size_t n = 1001;
    char **paths = malloc(n * sizeof(*paths));
    for (size_t i = 0; i < n; i++) {
        paths[i] = malloc(32);
        snprintf(paths[i], 32, "x/k%zu", i);
    }
    assert_ok(wd_storage_remove_many(st, (const char *const *)paths, n));
    assert_int_equal(fake_requests, 3); /* 1000 + 1 keys, one retry */
    snprintf(paths[1], 32, "x/k&1");
    assert_rc(wd_storage_remove_many(st, (const char *const *)paths, 2), WALDEN_EIO);
    const char *m = walden_error_last()->message;
    assert_non_null(strstr(m, "s3://bucket/pre/x/k&1"));
    assert_non_null(strstr(m, "AccessDenied"));
    assert_non_null(strstr(m, "1 of 2 keys failed"));
    assert_rc(wd_storage_remove_many(st, (const char *const *)paths, 2), WALDEN_EPERM);
    assert_non_null(strstr(walden_error_last()->message, "'bucket'"));
    assert_int_equal(fake_requests, 5);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    wd_storage_free(st);
    fake_stop();
    assert_non_null(strstr(fake_log, "POST /bucket?delete= HTTP/1.1\r\n"));
    assert_non_null(strstr(fake_log, "content-md5: "));
    assert_non_null(strstr(fake_log, "content-type: application/xml\r\n"));
    assert_null(strcasestr(fake_log, "Transfer-Encoding"));
}

/* ---- conformance against a real server ---- */

static int conf_n;

static wd_storage *make_s3(void)
{
    char loc[256];
    snprintf(loc, sizeof(loc), "s3://%s/conformance-%d-%d", getenv("WALDEN_TEST_S3_BUCKET"),
             (int)getpid(), conf_n++);
    wd_objstore_cfg c = {.location = loc,
                         .s3_endpoint = getenv("WALDEN_TEST_S3_ENDPOINT"),
                         .s3_region = getenv("WALDEN_TEST_S3_REGION"),
                         .s3_uri_style = "path",
                         .s3_key = getenv("WALDEN_TEST_S3_KEY"),
                         .s3_secret = getenv("WALDEN_TEST_S3_SECRET"),
                         .http = {NULL, true, 10, 30, 30000},
                         /* 5 MiB first parts, doubling every second part:
                          * the conformance suite's large object goes up as
                          * parts of 5, 5 (a buffer reused), 10 and 1 MiB */
                         .part_size = 5 * 1024 * 1024,
                         .max_parts = 20};
    wd_storage *st;
    int rc = wd_storage_s3_new(&st, &c, conf_n == 1);
    if (rc) {
        print_error("cannot open %s: %s\n", loc, walden_error_last()->message);
        return NULL;
    }
    return st;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_list),        cmocka_unit_test(test_upload_has_content_length),
        cmocka_unit_test(test_retries_transient), cmocka_unit_test(test_retry_after_long_transfer),
        cmocka_unit_test(test_no_retry_on_403),   cmocka_unit_test(test_persistent_failure),
        cmocka_unit_test(test_driver_errors),     cmocka_unit_test(test_delete_many),
        cmocka_unit_test(test_streaming_read),    cmocka_unit_test(test_multipart_failure_aborts),
        cmocka_unit_test(test_part_sizes),        cmocka_unit_test(test_multipart_parts_grow),
    };
    int failed = cmocka_run_group_tests_name("s3", tests, NULL, NULL);
    if (getenv("WALDEN_TEST_S3_ENDPOINT")) {
        printf("s3 conformance: against %s\n", getenv("WALDEN_TEST_S3_ENDPOINT"));
        failed += storage_conformance_run("s3 conformance", make_s3);
    } else {
        printf("s3 conformance: skipped (WALDEN_TEST_S3_ENDPOINT is not set; "
               "tests/integration/test_s3.sh runs it against a real server)\n");
    }
    return failed;
}
