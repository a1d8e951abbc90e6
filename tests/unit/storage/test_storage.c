/*
 * test_storage.c - the front of the storage interface (storage/storage.c):
 *   - every path is checked there, before a driver is called: a stub
 *     driver that counts its calls is never reached with a path that is
 *     empty, absolute, or has an empty, "." or ".." element, and every
 *     function refuses such a path with WALDEN_EINVAL naming it;
 *   - list and abandoned take "" for the root, the others do not;
 *   - a batch removal with one bad path removes nothing;
 *   - good paths reach the driver unchanged.
 * The conformance suite (conformance.c) checks the same refusals through
 * each real driver.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "storage/storage.h"
#include "testutil.h"

/* ---- a stub driver that counts its calls ---- */

static int calls;
static char last_path[256];

static int seen(const char *path)
{
    calls++;
    snprintf(last_path, sizeof(last_path), "%s", path);
    return 0;
}

static int stub_open_read(wd_storage *st, const char *path, wd_source **out)
{
    (void)st;
    *out = NULL;
    return seen(path);
}

static int stub_open_write(wd_storage *st, const char *path, unsigned flags, wd_sink **out)
{
    (void)st, (void)flags;
    *out = NULL;
    return seen(path);
}

static int stub_list(wd_storage *st, const char *dir, wd_storage_list_cb cb, void *ctx)
{
    (void)st, (void)cb, (void)ctx;
    return seen(dir);
}

static int stub_remove(wd_storage *st, const char *path)
{
    (void)st;
    return seen(path);
}

static int stub_exists(wd_storage *st, const char *path, bool *exists)
{
    (void)st;
    *exists = false;
    return seen(path);
}

static int stub_sync(wd_storage *st)
{
    (void)st;
    return 0;
}

static void stub_free(wd_storage *st)
{
    (void)st;
}

static int stub_remove_many(wd_storage *st, const char *const *paths, size_t n)
{
    (void)st;
    for (size_t i = 0; i < n; i++)
        seen(paths[i]);
    return 0;
}

static int stub_open_read_range(wd_storage *st, const char *path, uint64_t offset, uint64_t len,
                                wd_source **out)
{
    (void)st, (void)offset, (void)len;
    *out = NULL;
    return seen(path);
}

static int stub_abandoned(wd_storage *st, const char *dir, bool recursive, bool remove,
                          uint64_t *count, uint64_t *bytes)
{
    (void)st, (void)recursive, (void)remove, (void)count, (void)bytes;
    return seen(dir);
}

static const wd_storage_driver stub_driver = {
    .name = "stub",
    .open_read = stub_open_read,
    .open_write = stub_open_write,
    .list = stub_list,
    .remove = stub_remove,
    .exists = stub_exists,
    .sync = stub_sync,
    .free = stub_free,
    .remove_many = stub_remove_many,
    .open_read_range = stub_open_read_range,
    .abandoned = stub_abandoned,
};

/* the same driver without the optional functions */
static const wd_storage_driver plain_driver = {
    .name = "plain",
    .open_read = stub_open_read,
    .open_write = stub_open_write,
    .list = stub_list,
    .remove = stub_remove,
    .exists = stub_exists,
    .sync = stub_sync,
    .free = stub_free,
};

static const char *const bad_paths[] = {"",     "/abs", "../up", "a/../../up", "a//b", "a/./b",
                                        "a/..", ".",    "..",    "/",          "./a",  "a/."};

/* Every path-taking function with `path`; the number of them that refused
 * it with WALDEN_EINVAL and a message naming it. */
static int refusals(wd_storage *st, const char *path)
{
    wd_source *src;
    wd_sink *sink;
    bool exists;
    uint64_t count, bytes;
    const char *one[] = {path};
    int rcs[] = {
        wd_storage_open_read(st, path, &src),
        wd_storage_open_write(st, path, &sink),
        wd_storage_open_write_ex(st, path, WD_WRITE_DEFER_SYNC, &sink),
        wd_storage_remove(st, path),
        wd_storage_exists(st, path, &exists),
        wd_storage_open_read_range(st, path, 0, 10, &src),
        wd_storage_remove_many(st, one, 1),
        *path ? wd_storage_list(st, path, NULL, NULL) : WALDEN_EINVAL,
        *path ? wd_storage_abandoned(st, path, true, false, &count, &bytes) : WALDEN_EINVAL,
    };
    int n = 0;
    for (size_t i = 0; i < WD_ARRAY_LEN(rcs); i++)
        n += rcs[i] == WALDEN_EINVAL;
    return n;
}

static void test_bad_paths_never_reach_the_driver(void **state)
{
    (void)state;
    wd_storage st = {&stub_driver, "stub"};
    for (size_t i = 0; i < WD_ARRAY_LEN(bad_paths); i++) {
        calls = 0;
        if (refusals(&st, bad_paths[i]) != 9 || calls != 0)
            fail_msg("path '%s' was not refused by every function (driver calls: %d)", bad_paths[i],
                     calls);
        wd_source *src;
        assert_rc(wd_storage_open_read(&st, bad_paths[i], &src), WALDEN_EINVAL);
        char want[64];
        snprintf(want, sizeof(want), "invalid repository path '%s'", bad_paths[i]);
        assert_string_equal(walden_error_last()->message, want);
    }
}

static void test_good_paths_reach_the_driver(void **state)
{
    (void)state;
    wd_storage st = {&stub_driver, "stub"};
    const char *good[] = {"a",       "a/b",   "wal/0000000100000000/000000010000000000000001",
                          ".hidden", "a/..b", "a.../b",
                          "a/"};
    for (size_t i = 0; i < WD_ARRAY_LEN(good); i++) {
        calls = 0;
        assert_int_equal(refusals(&st, good[i]), 0);
        assert_int_equal(calls, 9);
        assert_string_equal(last_path, good[i]);
    }
    /* the root: listed and swept, nothing else */
    uint64_t count, bytes;
    calls = 0;
    assert_ok(wd_storage_list(&st, "", NULL, NULL));
    assert_ok(wd_storage_abandoned(&st, "", false, false, &count, &bytes));
    assert_int_equal(calls, 2);
    assert_int_equal(refusals(&st, ""), 9);
    assert_int_equal(calls, 2);
}

static void test_batch_with_a_bad_path_removes_nothing(void **state)
{
    (void)state;
    const char *batch[] = {"a/1", "a/2", "../up", "a/3"};
    wd_storage st = {&stub_driver, "stub"};
    calls = 0;
    assert_rc(wd_storage_remove_many(&st, batch, 4), WALDEN_EINVAL);
    assert_int_equal(calls, 0);
    assert_non_null(strstr(walden_error_last()->message, "'../up'"));
    /* one by one (no remove_many): also nothing */
    wd_storage plain = {&plain_driver, "plain"};
    assert_rc(wd_storage_remove_many(&plain, batch, 4), WALDEN_EINVAL);
    assert_int_equal(calls, 0);
    assert_ok(wd_storage_remove_many(&plain, batch, 2));
    assert_int_equal(calls, 2);
    assert_ok(wd_storage_remove_many(&plain, batch, 0));
    assert_int_equal(calls, 2);
}

/* Without the optional functions: ranges are refused for what they are,
 * abandoned counts nothing; neither needs the path checked first. */
static void test_optional_functions_missing(void **state)
{
    (void)state;
    wd_storage st = {&plain_driver, "plain"};
    wd_source *src;
    assert_rc(wd_storage_open_read_range(&st, "a", 0, 1, &src), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "cannot read byte ranges"));
    uint64_t count = 7, bytes = 7;
    assert_ok(wd_storage_abandoned(&st, "a", true, true, &count, &bytes));
    assert_true(count == 0 && bytes == 0);
    calls = 0;
    assert_ok(wd_storage_abandoned(&st, "../up", true, true, &count, &bytes));
    assert_int_equal(calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_paths_never_reach_the_driver),
        cmocka_unit_test(test_good_paths_reach_the_driver),
        cmocka_unit_test(test_batch_with_a_bad_path_removes_nothing),
        cmocka_unit_test(test_optional_functions_missing),
    };
    return cmocka_run_group_tests_name("storage", tests, NULL, NULL);
}
