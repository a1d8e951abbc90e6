/*
 * test_pool.c - common/pool.c: workers behind a bounded queue.
 */
#include <pthread.h>
#include <string.h>

#include "common/common.h"
#include "common/pool.h"
#include "testutil.h"

typedef struct counts {
    pthread_mutex_t mu;
    uint64_t sum, count;
    uint64_t fail_on; /* 0: never */
} counts;

static int add(void *item, void *scratch, void *ctx)
{
    counts *c = ctx;
    uint64_t v;
    memcpy(&v, item, sizeof(v));
    memset(scratch, 0xab, 64); /* each worker's own buffer */
    if (v == c->fail_on)
        return wd_error_set(WALDEN_ECORRUPT, "item %llu is bad", (unsigned long long)v);
    pthread_mutex_lock(&c->mu);
    c->sum += v;
    c->count++;
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int ticks;
static void tick(void *ctx)
{
    (void)ctx;
    ticks++;
}

static void test_every_item_once(void **state)
{
    (void)state;
    counts c = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    wd_pool *p;
    assert_ok(wd_pool_start(&p, 3, sizeof(uint64_t), 4, 64, add, &c));
    uint64_t want = 0;
    for (uint64_t v = 1; v <= 5000; v++) {
        assert_true(wd_pool_push(p, &v));
        want += v;
    }
    assert_ok(wd_pool_finish(p, false, tick, NULL));
    assert_int_equal(c.count, 5000);
    assert_int_equal(c.sum, want);
    wd_pool_free(p);
}

/* The first failure stops the producer and reaches the caller with its
 * own message. */
static void test_first_failure(void **state)
{
    (void)state;
    counts c = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 77};
    wd_pool *p;
    assert_ok(wd_pool_start(&p, 2, sizeof(uint64_t), 4, 64, add, &c));
    uint64_t v = 1;
    while (v <= 100000 && wd_pool_push(p, &v))
        v++;
    assert_true(v < 100000); /* pushing stopped soon after item 77 */
    walden_error_clear();
    assert_rc(wd_pool_finish(p, false, NULL, NULL), WALDEN_ECORRUPT);
    assert_string_equal(walden_error_last()->message, "item 77 is bad");
    wd_pool_free(p);
}

/* Freeing an unfinished pool cancels and joins its workers. */
static void test_free_unfinished(void **state)
{
    (void)state;
    counts c = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
    wd_pool *p;
    assert_ok(wd_pool_start(&p, 2, sizeof(uint64_t), 8, 64, add, &c));
    for (uint64_t v = 1; v <= 8; v++)
        assert_true(wd_pool_push(p, &v));
    wd_pool_free(p);
    assert_true(c.count <= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_item_once),
        cmocka_unit_test(test_first_failure),
        cmocka_unit_test(test_free_unfinished),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
