/*
 * test_s3.c - the S3 driver (storage/s3.c, objstore.c):
 *   - against a scripted local server: retries of a long transfer cut
 *     short, clear errors that name the bucket and hold no secret, batched
 *     deletes, streaming reads, part sizes, a multipart upload
 *     whose completion answer was lost, credentials and region from the
 *     AWS_* environment variables when the configuration has none;
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
#include "storage/objstore.h"
#include "storage/sign.h"
#include "storage/storage.h"
#include "testutil.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

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
        /* a key refused for the server's load: the request is sent again */
        {FAKE_RESPOND, 200,
         "<DeleteResult><Error><Key>pre/x/k0</Key><Code>SlowDown</Code><Message>Please reduce "
         "your request rate.</Message></Error></DeleteResult>",
         NULL},
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
    assert_ok(wd_storage_remove_many(st, (const char *const *)paths, 2));
    assert_int_equal(fake_requests, 5); /* SlowDown for one key: sent again */
    snprintf(paths[1], 32, "x/k&1");
    assert_rc(wd_storage_remove_many(st, (const char *const *)paths, 2), WALDEN_EIO);
    const char *m = walden_error_last()->message;
    assert_non_null(strstr(m, "s3://bucket/pre/x/k&1"));
    assert_non_null(strstr(m, "AccessDenied"));
    assert_non_null(strstr(m, "1 of 2 keys failed"));
    assert_rc(wd_storage_remove_many(st, (const char *const *)paths, 2), WALDEN_EPERM);
    assert_non_null(strstr(walden_error_last()->message, "'bucket'"));
    assert_int_equal(fake_requests, 7);
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

/* CompleteMultipartUpload whose answer is lost: S3 completed the upload
 * but the connection dropped before the answer, and the retry finds no
 * upload any more (404 NoSuchUpload). The driver then looks at the object
 * (HEAD): the commit succeeds when its ETag is the one S3 gives an upload
 * of these parts (the MD5 of the parts' binary MD5s, "-" and the number
 * of parts), and fails when the object is another one or is missing. */
static void test_complete_lost(void **state)
{
    (void)state;
    const size_t mib = 1 << 20;
    /* MD5(0x0123456789abcdef0123456789abcdef twice, as 32 bytes) */
    const char *head_etags[] = {
        "ETag: \"5775d833b6f80e83231f82899ce76c00-2\"\r\n", /* ours: committed */
        "ETag: \"5775d833b6f80e83231f82899ce76c00-3\"\r\n", /* another upload's */
        NULL,                                               /* no object */
    };
    size_t len = 6 * mib; /* parts of 5 and 1 MiB */
    uint8_t *data = malloc(len);
    tu_fill(data, len, 5, 0);
    for (int round = 0; round < 3; round++) {
        const fake_step steps[] = {
            {FAKE_RESPOND, 200,
             "<InitiateMultipartUploadResult><UploadId>u1</UploadId>"
             "</InitiateMultipartUploadResult>",
             NULL},
            {FAKE_RESPOND, 200, NULL, "ETag: \"0123456789abcdef0123456789abcdef\"\r\n"},
            {FAKE_RESPOND, 200, NULL, "ETag: \"0123456789abcdef0123456789abcdef\"\r\n"},
            {FAKE_CLOSE, 0, NULL, NULL}, /* the complete POST: no answer */
            {FAKE_RESPOND, 404,
             "<Error><Code>NoSuchUpload</Code><Message>The specified upload does not "
             "exist.</Message></Error>",
             NULL},
            round < 2 ? (fake_step){FAKE_RESPOND, 200, NULL, head_etags[round]}
                      : (fake_step){FAKE_RESPOND, 404, NULL, NULL},                /* HEAD */
            {FAKE_RESPOND, 404, "<Error><Code>NoSuchUpload</Code></Error>", NULL}, /* abort */
        };
        wd_storage *st = fake_s3_parts(fake_start(steps, WD_ARRAY_LEN(steps)), "secret", 5 * mib);
        wd_sink *sink;
        assert_ok(wd_storage_open_write(st, "big", &sink));
        int rc = 0;
        for (size_t off = 0; !rc && off < len; off += mib)
            rc = sink->write(sink, data + off, mib);
        assert_ok(rc);
        rc = sink->commit(sink);
        wd_storage_free(st);
        fake_stop();
        const char *post = strstr(fake_log, "POST /bucket/pre/big?uploadId=u1 HTTP/1.1\r\n");
        assert_non_null(post);
        assert_non_null(strstr(post + 1, "POST /bucket/pre/big?uploadId=u1 HTTP/1.1\r\n"));
        assert_non_null(strstr(fake_log, "HEAD /bucket/pre/big HTTP/1.1\r\n"));
        if (round == 0) {
            assert_ok(rc);
            assert_int_equal(fake_requests, 6);
            assert_null(strstr(fake_log, "DELETE "));
        } else {
            assert_int_equal(rc, WALDEN_EIO);
            assert_non_null(
                strstr(walden_error_last()->message,
                       "cannot complete the multipart upload of 's3://bucket/pre/big'"));
            assert_non_null(strstr(fake_log, "DELETE /bucket/pre/big?uploadId=u1 HTTP/1.1\r\n"));
        }
    }
    free(data);
}

/* ---- credentials and region from the environment ---- */

static const char *const aws_env[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                      "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"};
static int aws_env_save(void **state)
{
    (void)state;
    fake_env_clear(aws_env, WD_ARRAY_LEN(aws_env));
    return 0;
}

/* the group's teardown: runs even when a test failed */
static int aws_env_restore(void **state)
{
    (void)state;
    fake_env_restore();
    return 0;
}

/* Opens s3://bucket/pre as the CLI does (wd_storage_open and the
 * configuration, plus the settings in `opts`: name, value, ...), makes one
 * request (HEAD pre/x) to the scripted server and checks that it was
 * signed with key id `key`, secret `secret` and region `region`, and
 * carries `token` (NULL: no token). */
static void check_s3_signed(const char *const *opts, size_t nopts, const char *key,
                            const char *secret, const char *token, const char *region)
{
    int port = fake_start(NULL, 0);
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    const char *const flags[] = {"repo", "s3://bucket/pre", "s3-endpoint",
                                 ep,     "s3-uri-style",    "path"};
    fake_head_x(flags, WD_ARRAY_LEN(flags), opts, nopts);

    assert_int_equal(fake_requests, 1);
    const char *req = strstr(fake_log, "HEAD /bucket/pre/x HTTP/1.1\r\n");
    assert_non_null(req);
    char date[32], auth[512], host[64], got_token[128] = "";
    assert_true(fake_header(req, "x-amz-date", date, sizeof(date)));
    assert_true(fake_header(req, "Authorization", auth, sizeof(auth)));
    assert_true(fake_header(req, "Host", host, sizeof(host)));
    char want[256];
    snprintf(want, sizeof(want), "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/s3/aws4_request,", key,
             date, region);
    if (strncmp(auth, want, strlen(want)) != 0)
        fail_msg("Authorization '%s' does not start with '%s'", auth, want);
    if (token) {
        assert_true(fake_header(req, "x-amz-security-token", got_token, sizeof(got_token)));
        assert_string_equal(got_token, token);
    } else {
        assert_null(strcasestr(req, "x-amz-security-token"));
    }
    /* the signature is made with `secret`: the same request signed here */
    wd_sigv4_header h[] = {{"host", host},
                           {"x-amz-content-sha256", EMPTY_SHA256},
                           {"x-amz-date", date},
                           {"x-amz-security-token", got_token}};
    wd_sigv4_key k = {key, secret, region, "s3"};
    char *expect;
    assert_ok(wd_sigv4_authorization(&expect, &k, "HEAD", "/bucket/pre/x", "", h, token ? 4 : 3,
                                     EMPTY_SHA256, date, NULL));
    assert_string_equal(auth, expect);
    wd_free(expect);
}

/* Requests one after the other share one connection (the HTTP layer keeps
 * its curl handles, and curl its connections): a new TCP connection per
 * WAL segment or backup file would cost a handshake each (and a TLS one on
 * real stores). */
static void test_connection_reuse(void **state)
{
    (void)state;
    wd_storage *st = fake_s3(fake_start(NULL, 0), "secret");
    bool exists;
    assert_ok(wd_storage_write_all(st, "a", "one", 3));
    assert_ok(wd_storage_exists(st, "a", &exists));
    assert_ok(wd_storage_write_all(st, "b", "two", 3));
    wd_storage_free(st);
    fake_stop();
    assert_int_equal(fake_requests, 3);
    assert_int_equal(fake_connections, 1);
}

/* s3-uri-style = host: the bucket goes into the host name
 * (bucket.ENDPOINT), the key alone into the path, and the signature covers
 * that host. curl resolves *.localhost to the loopback address itself, so
 * the scripted server on 127.0.0.1 receives it. */
static void test_host_style(void **state)
{
    (void)state;
    int port = fake_start(NULL, 0);
    char ep[64], want_host[64];
    snprintf(ep, sizeof(ep), "http://localhost:%d", port);
    snprintf(want_host, sizeof(want_host), "bucket.localhost:%d", port);
    const char *const flags[] = {
        "repo", "s3://bucket/pre", "s3-endpoint", ep,          "s3-uri-style", "host", "s3-key",
        "AKID", "s3-key-secret",   "secret",      "s3-region", "eu-west-1"};
    fake_head_x(flags, WD_ARRAY_LEN(flags), NULL, 0);

    const char *req = strstr(fake_log, "HEAD /pre/x HTTP/1.1\r\n");
    assert_non_null(req);
    char host[64], date[32], auth[512];
    assert_true(fake_header(req, "Host", host, sizeof(host)));
    assert_string_equal(host, want_host);
    assert_true(fake_header(req, "x-amz-date", date, sizeof(date)));
    assert_true(fake_header(req, "Authorization", auth, sizeof(auth)));
    wd_sigv4_header h[] = {
        {"host", host}, {"x-amz-content-sha256", EMPTY_SHA256}, {"x-amz-date", date}};
    wd_sigv4_key k = {"AKID", "secret", "eu-west-1", "s3"};
    char *expect;
    assert_ok(
        wd_sigv4_authorization(&expect, &k, "HEAD", "/pre/x", "", h, 3, EMPTY_SHA256, date, NULL));
    assert_string_equal(auth, expect);
    wd_free(expect);
}

/* With no s3-key, s3-key-secret, s3-token or s3-region in the
 * configuration, the S3 driver takes AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_REGION (else
 * AWS_DEFAULT_REGION, else us-east-1), as AWS's own tools do; a value in
 * the configuration beats the environment's. */
static void test_credentials_from_env(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "ENVKEYID", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    setenv("AWS_SESSION_TOKEN", "env-token", 1);
    setenv("AWS_REGION", "eu-west-3", 1);
    setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
    check_s3_signed(NULL, 0, "ENVKEYID", "env-secret", "env-token", "eu-west-3");

    /* AWS_DEFAULT_REGION when AWS_REGION is unset; no token */
    unsetenv("AWS_REGION");
    unsetenv("AWS_SESSION_TOKEN");
    check_s3_signed(NULL, 0, "ENVKEYID", "env-secret", NULL, "ap-south-1");
    unsetenv("AWS_DEFAULT_REGION");
    check_s3_signed(NULL, 0, "ENVKEYID", "env-secret", NULL, "us-east-1");

    /* the configuration beats the environment, each setting on its own */
    setenv("AWS_SESSION_TOKEN", "env-token", 1);
    setenv("AWS_REGION", "eu-west-3", 1);
    const char *const all[] = {"s3-key",   "CFGKEYID",  "s3-key-secret", "cfg-secret",
                               "s3-token", "cfg-token", "s3-region",     "us-west-2"};
    check_s3_signed(all, WD_ARRAY_LEN(all), "CFGKEYID", "cfg-secret", "cfg-token", "us-west-2");
    assert_null(strstr(fake_log, "ENVKEYID"));
    assert_null(strstr(fake_log, "env-token"));
    const char *const region[] = {"s3-region", "us-west-2"};
    check_s3_signed(region, 2, "ENVKEYID", "env-secret", "env-token", "us-west-2");

    /* a key in the configuration never goes out with the environment's
     * session token (it belongs to the environment's key) */
    const char *const keys[] = {"s3-key", "CFGKEYID", "s3-key-secret", "cfg-secret"};
    check_s3_signed(keys, WD_ARRAY_LEN(keys), "CFGKEYID", "cfg-secret", NULL, "eu-west-3");
    assert_null(strstr(fake_log, "env-token"));

    /* nor with the environment's secret: s3-key without s3-key-secret is
     * an error, whatever AWS_SECRET_ACCESS_KEY holds */
    walden_config *kc;
    wd_storage *kst;
    assert_ok(walden_config_new(&kc));
    assert_ok(walden_config_set(kc, "repo", "s3://bucket/pre", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(kc, "s3-key", "CFGKEYID", WALDEN_SOURCE_FLAG));
    assert_rc(wd_storage_open(&kst, kc, false), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "s3-key-secret"));
    walden_config_free(kc);

    /* no key anywhere: a clear error that names both ways */
    unsetenv("AWS_ACCESS_KEY_ID");
    walden_config *cfg;
    wd_storage *st;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "repo", "s3://bucket/pre", WALDEN_SOURCE_FLAG));
    assert_rc(wd_storage_open(&st, cfg, false), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "s3-key"));
    assert_non_null(strstr(walden_error_last()->message, "AWS_ACCESS_KEY_ID"));
    walden_config_free(cfg);
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
                         /* walden's defaults (net-timeout 60s, and more
                          * retry time than one stall): a loaded machine's
                          * server may be silent for half a minute */
                         .http = {NULL, true, 10, 60, 180000},
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
        cmocka_unit_test(test_retry_after_long_transfer),
        cmocka_unit_test(test_driver_errors),
        cmocka_unit_test(test_delete_many),
        cmocka_unit_test(test_streaming_read),
        cmocka_unit_test(test_multipart_failure_aborts),
        cmocka_unit_test(test_part_sizes),
        cmocka_unit_test(test_multipart_parts_grow),
        cmocka_unit_test(test_complete_lost),
        cmocka_unit_test(test_host_style),
        cmocka_unit_test(test_connection_reuse),
        cmocka_unit_test(test_credentials_from_env),
    };
    /* the AWS_* variables are unset for the group and restored after it */
    int failed = cmocka_run_group_tests_name("s3", tests, aws_env_save, aws_env_restore);
    if (getenv("WALDEN_TEST_S3_ENDPOINT")) {
        printf("s3 conformance: against %s\n", getenv("WALDEN_TEST_S3_ENDPOINT"));
        failed += storage_conformance_run("s3 conformance", make_s3);
    } else {
        printf("s3 conformance: skipped (WALDEN_TEST_S3_ENDPOINT is not set; "
               "tests/integration/test_s3.sh runs it against a real server)\n");
    }
    return failed;
}
