/*
 * test_endpoint.c - where an object store is (storage/endpoint.c): the
 * endpoint options split into scheme, host and path (http and https only,
 * no user info, the option named in errors), and repository locations into
 * bucket or container and a prefix that obeys the repository path rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "storage/objstore.h"
#include "testutil.h"

static void test_endpoints_and_locations(void **state)
{
    (void)state;
    char *scheme, *host, *path;
    assert_ok(wd_objstore_parse_endpoint("http://127.0.0.1:10000/devstoreaccount1/", "x", &scheme,
                                         &host, &path));
    assert_string_equal(scheme, "http");
    assert_string_equal(host, "127.0.0.1:10000");
    assert_string_equal(path, "/devstoreaccount1");
    wd_free(scheme), wd_free(host), wd_free(path);
    assert_rc(wd_objstore_parse_endpoint("ftp://x", "s3-endpoint", &scheme, &host, &path),
              WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "s3-endpoint"));
    char *c, *p;
    assert_ok(wd_objstore_parse_location("s3://bucket/a/b/", 5, &c, &p));
    assert_string_equal(c, "bucket");
    assert_string_equal(p, "a/b");
    wd_free(c), wd_free(p);
    assert_ok(wd_objstore_parse_location("azure://cont", 8, &c, &p));
    assert_string_equal(c, "cont");
    assert_string_equal(p, "");
    wd_free(c), wd_free(p);
    assert_rc(wd_objstore_parse_location("s3:///x", 5, &c, &p), WALDEN_EINVAL);
    c = p = NULL;
    assert_rc(wd_objstore_parse_location("s3://b/../x", 5, &c, &p), WALDEN_EINVAL);
    wd_free(c), wd_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints_and_locations),
    };
    return cmocka_run_group_tests_name("endpoint", tests, NULL, NULL);
}
