/*
 * test_bundle.c - repo/bundle.c: members read from a bundle through the
 * readers' cache (each bundle fetched once, a bounded number kept, shared
 * by threads) and without it (a range read); a member beyond its bundle's
 * end or a missing bundle is an error, never bytes of something else.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "repo/bundle.h"
#include "testutil.h"

#define SYSID 7312345678901234567ull
#define BUNDLE_LEN 300000

typedef struct fixture {
    tu_area a;
    walden_repo *repo;
    uint8_t data[5][BUNDLE_LEN];
    char *object[5];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_area_setup(&f->a, SYSID);
    assert_ok(walden_repo_open(&f->repo, f->a.cfg));
    for (int i = 0; i < 5; i++) {
        tu_fill(f->data[i], BUNDLE_LEN, (uint32_t)i + 1, 0);
        f->object[i] = wd_bundle_object("main/backup/B", (uint64_t)i, WD_COMPRESS_NONE);
        wd_sink *sink = NULL;
        assert_ok(wd_storage_open_write(f->repo->storage, f->object[i], &sink));
        assert_ok(sink->write(sink, f->data[i], BUNDLE_LEN));
        assert_ok(sink->commit(sink));
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 5; i++)
        wd_free(f->object[i]);
    walden_repo_close(f->repo);
    tu_area_teardown(&f->a);
    free(f);
    return 0;
}

/* Member [off, off + len) of bundle i, compared with what was written. */
static void check_member(fixture *f, int i, uint64_t off, uint64_t len)
{
    wd_source *src = NULL;
    assert_ok(wd_bundle_member_open(f->repo, f->object[i], off, len, &src));
    uint8_t *buf = malloc(len + 1);
    uint64_t got = 0;
    for (;;) {
        size_t n = 0;
        assert_ok(wd_source_read(src, buf + got, (size_t)(len + 1 - got), &n));
        if (n == 0)
            break;
        got += n;
    }
    wd_source_close(src);
    assert_int_equal(got, len);
    assert_memory_equal(buf, f->data[i] + off, len);
    free(buf);
}

static void test_name(void **state)
{
    (void)state;
    char *o = wd_bundle_object("c/backup/X", 42, WD_COMPRESS_ZSTD);
    assert_string_equal(o, "c/backup/X/bundle/42.zst");
    wd_free(o);
}

static void test_range_reads(void **state)
{
    fixture *f = *state;
    check_member(f, 0, 0, 100);
    check_member(f, 1, 12345, 70000);
    check_member(f, 4, BUNDLE_LEN - 10, 10);
    assert_int_equal(wd_repo_bundles_fetched(f->repo), 0);
}

static void test_cache_fetches_once(void **state)
{
    fixture *f = *state;
    assert_ok(wd_repo_bundles_begin(f->repo, 1)); /* 3 slots */
    for (uint64_t off = 0; off + 1000 <= BUNDLE_LEN; off += 29000)
        check_member(f, 2, off, 1000);
    check_member(f, 3, 5, 50);
    check_member(f, 2, 0, BUNDLE_LEN);
    assert_int_equal(wd_repo_bundles_fetched(f->repo), 2);
    /* five bundles in turn through three slots: the least recently used goes */
    for (int i = 0; i < 5; i++)
        check_member(f, i, 7, 7);
    /* 0 new; 1 new, 3 out; 2 kept; 3 again, 0 out; 4 new, 1 out */
    assert_int_equal(wd_repo_bundles_fetched(f->repo), 6);
    check_member(f, 4, 1, 1);
    check_member(f, 3, 1, 1);
    check_member(f, 2, 1, 1);
    assert_int_equal(wd_repo_bundles_fetched(f->repo), 6);
    check_member(f, 0, 1, 1); /* evicted meanwhile */
    assert_int_equal(wd_repo_bundles_fetched(f->repo), 7);
    wd_repo_bundles_end(f->repo);
    assert_null(f->repo->bundles);
}

static void test_errors(void **state)
{
    fixture *f = *state;
    for (int cached = 0; cached < 2; cached++) {
        if (cached)
            assert_ok(wd_repo_bundles_begin(f->repo, 2));
        wd_source *src = NULL;
        if (cached) {
            /* the cache knows the bundle's length: a member past it is refused */
            assert_int_equal(wd_bundle_member_open(f->repo, f->object[0], BUNDLE_LEN - 5, 6, &src),
                             WALDEN_ECORRUPT);
            assert_non_null(strstr(walden_error_last()->message, "bundle"));
        }
        char *missing = wd_bundle_object("main/backup/B", 9, WD_COMPRESS_NONE);
        int rc = wd_bundle_member_open(f->repo, missing, 0, 10, &src);
        if (!cached && rc == 0) { /* a range read may only fail on its first read */
            size_t n = 0;
            uint8_t b[10];
            rc = wd_source_read(src, b, sizeof(b), &n);
            wd_source_close(src);
        }
        assert_int_equal(rc, WALDEN_ENOTFOUND);
        wd_free(missing);
        assert_int_equal(wd_bundle_member_open(f->repo, f->object[0], WD_BUNDLE_MAX, 1, &src),
                         WALDEN_ECORRUPT);
        if (cached)
            wd_repo_bundles_end(f->repo);
    }
    walden_error_clear();
}

typedef struct reader {
    fixture *f;
    int seed;
} reader;

static void *read_many(void *arg)
{
    reader *r = arg;
    for (int k = 0; k < 60; k++) {
        int i = (r->seed + k) % 3;
        check_member(r->f, i, (uint64_t)((k * 4099 + r->seed * 17) % (BUNDLE_LEN - 3000)), 3000);
    }
    return NULL;
}

static void test_cache_threads(void **state)
{
    fixture *f = *state;
    assert_ok(wd_repo_bundles_begin(f->repo, 4)); /* 6 slots: 3 bundles stay */
    pthread_t t[4];
    reader r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (reader){f, i};
        assert_int_equal(pthread_create(&t[i], NULL, read_many, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(wd_repo_bundles_fetched(f->repo), 3);
    wd_repo_bundles_end(f->repo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name),
        cmocka_unit_test_setup_teardown(test_range_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_fetches_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
