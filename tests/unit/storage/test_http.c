/*
 * test_http.c - the HTTP transport of the object-store drivers
 * (storage/http.c), against a scripted local server (objstore_fake.c):
 *   - uploads carry Content-Length and are never chunked, no
 *     "Expect: 100-continue";
 *   - retries on 503 / 500 / 429 / 408 / dropped connections / truncated
 *     answers / stalls (of a GET's answer, of a PUT never answered), within
 *     net-retry-time; no retry on 403;
 *   - errors name the request's object and never hold a secret (URL query
 *     or header).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "objstore_test.h"
#include "storage/http.h"
#include "testutil.h"

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

/* A PUT of `body` to /b/k on the scripted server at `port`; `url` is the
 * buffer its URL is written into. */
static wd_http_req put_req(char url[64], int port, const char *body)
{
    snprintf(url, 64, "http://127.0.0.1:%d/b/k", port);
    return (wd_http_req){.method = "PUT",
                         .url = url,
                         .body = (const uint8_t *)body,
                         .body_len = strlen(body),
                         .what = "s3://b/k"};
}

/* 408 Request Timeout is retried like 5xx and 429: the server gave up
 * waiting for the request, which can be sent again whole. */
static void test_retry_on_408(void **state)
{
    (void)state;
    const fake_step steps[] = {
        {FAKE_RESPOND, 408, "<Error><Code>RequestTimeout</Code></Error>", NULL},
        {FAKE_RESPOND, 200, NULL, NULL},
    };
    int port = fake_start(steps, WD_ARRAY_LEN(steps));
    wd_http *h = client(5, 20000);
    char url[64];
    wd_http_req req = put_req(url, port, "hello");
    wd_http_resp r;
    assert_ok(wd_http_do(h, &req, &r));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 2);
    wd_http_resp_clear(&r);
    fake_stop();
    assert_int_equal(fake_requests, 2);
    /* the body went out whole both times */
    const char *second = strstr(fake_log, "PUT /b/k HTTP/1.1\r\n");
    assert_non_null(second);
    second = strstr(second + 1, "PUT /b/k HTTP/1.1\r\n");
    assert_non_null(second);
    assert_non_null(strstr(second, "Content-Length: 5\r\n"));
    wd_http_free(h);
}

/* A PUT that the server reads whole and never answers fails once the
 * stall timeout passes without a byte moving, and is retried like any
 * stall; when that lasts past net-retry-time, the request fails with
 * curl's timeout instead of hanging. */
static void test_stalled_put(void **state)
{
    (void)state;
    const fake_step steps[] = {{FAKE_HANG, 0, NULL, NULL}, {FAKE_RESPOND, 200, NULL, NULL}};
    int port = fake_start(steps, WD_ARRAY_LEN(steps));
    /* stall timeout 1 s; a 1-byte body, since curl averages the speed over
     * its last seconds: 10 bytes just sent would hold it above 1 byte/s
     * for about 5 s more */
    wd_http *h = client(1, 20000);
    char url[64];
    wd_http_req req = put_req(url, port, "x");
    wd_http_resp r;
    assert_ok(wd_http_do(h, &req, &r));
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 2);
    wd_http_resp_clear(&r);
    fake_stop();
    assert_int_equal(fake_requests, 2);
    wd_http_free(h);

    /* never answered: net-retry-time (0.3 s) is spent after the first stall */
    fake_step hang[4];
    for (size_t i = 0; i < WD_ARRAY_LEN(hang); i++)
        hang[i] = (fake_step){FAKE_HANG, 0, NULL, NULL};
    port = fake_start(hang, WD_ARRAY_LEN(hang));
    h = client(1, 300);
    req = put_req(url, port, "x");
    assert_rc(wd_http_do(h, &req, &r), WALDEN_ENET);
    const char *m = walden_error_last()->message;
    assert_non_null(strstr(m, "PUT 's3://b/k'"));
    assert_non_null(strstr(m, "too slow")); /* curl's stall timeout, not a dropped connection */
    wd_http_resp_clear(&r);
    fake_stop();
    assert_int_equal(fake_requests, 1);
    wd_http_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload_has_content_length),
        cmocka_unit_test(test_retries_transient),
        cmocka_unit_test(test_no_retry_on_403),
        cmocka_unit_test(test_persistent_failure),
        cmocka_unit_test(test_retry_on_408),
        cmocka_unit_test(test_stalled_put),
    };
    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
