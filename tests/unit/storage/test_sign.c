/*
 * test_sign.c - request signing of the object-store drivers
 * (storage/sign.c): AWS Signature Version 4 against AWS's published test
 * vectors (the SigV4 test suite's get-vanilla, get-vanilla-query-order-key-
 * case and post-vanilla, and the GetObject example of the S3 API
 * reference), the encodings they rely on, and Azure's SharedKey string to
 * sign.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "storage/sign.h"
#include "testutil.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* the test suite's credentials, region and service */
static const wd_sigv4_key suite_key = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                       "us-east-1", "service"};

static void test_get_vanilla(void **state)
{
    (void)state;
    wd_sigv4_header h[] = {{"x-amz-date", "20150830T123600Z"}, {"host", "example.amazonaws.com"}};
    char *auth, *creq;
    assert_ok(wd_sigv4_authorization(&auth, &suite_key, "GET", "/", "", h, 2, EMPTY_SHA256,
                                     "20150830T123600Z", &creq));
    assert_string_equal(creq, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
                              "\nhost;x-amz-date\n" EMPTY_SHA256);
    assert_string_equal(auth,
                        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                        "aws4_request, SignedHeaders=host;x-amz-date, "
                        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763f"
                        "bf31");
    wd_free(auth);
    wd_free(creq);
}

static void test_get_vanilla_query_order_key_case(void **state)
{
    (void)state;
    /* the request's query is "Param2=value2&Param1=value1": sorted by name */
    wd_query_param q[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    char *query = wd_query_canonical(q, 2);
    assert_string_equal(query, "Param1=value1&Param2=value2");
    wd_sigv4_header h[] = {{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}};
    char *auth;
    assert_ok(wd_sigv4_authorization(&auth, &suite_key, "GET", "/", query, h, 2, EMPTY_SHA256,
                                     "20150830T123600Z", NULL));
    assert_non_null(
        strstr(auth, "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
    wd_free(auth);
    wd_free(query);
}

static void test_post_vanilla(void **state)
{
    (void)state;
    wd_sigv4_header h[] = {{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}};
    char *auth;
    assert_ok(wd_sigv4_authorization(&auth, &suite_key, "POST", "/", "", h, 2, EMPTY_SHA256,
                                     "20150830T123600Z", NULL));
    assert_non_null(
        strstr(auth, "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
    wd_free(auth);
}

/* S3 API reference, "Example: GET Object": the headers S3 requests carry
 * (x-amz-content-sha256, a Range) and service "s3". */
static void test_s3_get_object_example(void **state)
{
    (void)state;
    wd_sigv4_key key = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                        "us-east-1", "s3"};
    wd_sigv4_header h[] = {{"range", "bytes=0-9"},
                           {"host", "examplebucket.s3.amazonaws.com"},
                           {"x-amz-date", "20130524T000000Z"},
                           {"x-amz-content-sha256", EMPTY_SHA256}};
    char *auth, *creq;
    assert_ok(wd_sigv4_authorization(&auth, &key, "GET", "/test.txt", "", h, 4, EMPTY_SHA256,
                                     "20130524T000000Z", &creq));
    assert_string_equal(creq, "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
                              "range:bytes=0-9\nx-amz-content-sha256:" EMPTY_SHA256 "\n"
                              "x-amz-date:20130524T000000Z\n\n"
                              "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256);
    assert_string_equal(auth,
                        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
                        "s3/aws4_request, "
                        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036"
                        "bdb41");
    wd_free(auth);
    wd_free(creq);
}

static void test_header_values_trimmed(void **state)
{
    (void)state;
    wd_sigv4_header h[] = {{"host", "h"}, {"my-header", "  a   b  "}};
    char *auth, *creq;
    assert_ok(wd_sigv4_authorization(&auth, &suite_key, "PUT", "/a%20b", "", h, 2, EMPTY_SHA256,
                                     "20150830T123600Z", &creq));
    assert_string_equal(creq,
                        "PUT\n/a%20b\n\nhost:h\nmy-header:a b\n\nhost;my-header\n" EMPTY_SHA256);
    wd_free(auth);
    wd_free(creq);
}

static void test_encodings(void **state)
{
    (void)state;
    char *e = wd_uri_encode("a b/c+d=e~f_g.h-i%j\xc3\xa9", true);
    assert_string_equal(e, "a%20b/c%2Bd%3De~f_g.h-i%25j%C3%A9");
    wd_free(e);
    e = wd_uri_encode("x/y", false);
    assert_string_equal(e, "x%2Fy");
    wd_free(e);
    /* values without a value are "name=" (?uploads=), values encoded */
    wd_query_param q[] = {{"uploads", ""},
                          {"prefix", "main/wal/"},
                          {"list-type", "2"},
                          {"continuation-token", "a+b=="}};
    char *query = wd_query_canonical(q, 4);
    assert_string_equal(query,
                        "continuation-token=a%2Bb%3D%3D&list-type=2&prefix=main%2Fwal%2F&uploads=");
    wd_free(query);
    char *b = wd_base64_encode((const uint8_t *)"walden", 6);
    assert_string_equal(b, "d2FsZGVu");
    uint8_t *d;
    size_t n;
    assert_ok(wd_base64_decode("d2FsZGVuMQ==", &d, &n));
    assert_int_equal(n, 7);
    assert_memory_equal(d, "walden1", 7);
    wd_free(d);
    wd_free(b);
    assert_rc(wd_base64_decode("abc", &d, &n), WALDEN_EINVAL);
}

/* Azure SharedKey: the documented layout (12 standard headers, then the
 * x-ms-* headers sorted, then "/account/path" and the query parameters
 * sorted, one per line), with Content-Length empty when 0. */
static void test_azure_string_to_sign(void **state)
{
    (void)state;
    wd_azure_header h[] = {{"x-ms-version", "2021-12-02"},
                           {"x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT"},
                           {"x-ms-blob-type", "BlockBlob"}};
    wd_query_param q[] = {{"comp", "block"}, {"blockid", "YWJj"}};
    char *s = wd_azure_string_to_sign("PUT", "devstoreaccount1", "/devstoreaccount1/c/a/b", q, 2,
                                      11, "md5==", NULL, NULL, h, 3);
    assert_string_equal(s, "PUT\n\n\n11\nmd5==\n\n\n\n\n\n\n\n"
                           "x-ms-blob-type:BlockBlob\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n"
                           "x-ms-version:2021-12-02\n"
                           "/devstoreaccount1/devstoreaccount1/c/a/b\nblockid:YWJj\ncomp:block");
    wd_free(s);
    s = wd_azure_string_to_sign("GET", "acct", "/c/x", NULL, 0, 0, NULL, NULL, "\"0x1\"", h, 0);
    assert_string_equal(s, "GET\n\n\n\n\n\n\n\n\"0x1\"\n\n\n\n/acct/c/x");
    wd_free(s);
    /* the signature is HMAC-SHA256 with the decoded key, in base64
     * (RFC 4231 test case 2: key "Jefe") */
    char *sig;
    assert_ok(wd_azure_sign(&sig, (const uint8_t *)"Jefe", 4, "what do ya want for nothing?"));
    assert_string_equal(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
    wd_free(sig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_vanilla),
        cmocka_unit_test(test_get_vanilla_query_order_key_case),
        cmocka_unit_test(test_post_vanilla),
        cmocka_unit_test(test_s3_get_object_example),
        cmocka_unit_test(test_header_values_trimmed),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_azure_string_to_sign),
    };
    return cmocka_run_group_tests_name("sign", tests, NULL, NULL);
}
