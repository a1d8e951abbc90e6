/*
 * test_park.c - common/park.c: at most one object of a kind per thread,
 * taken back by the same thread only, destroyed when replaced, drained, or
 * when its thread ends.
 */
#include <pthread.h>
#include <stdlib.h>

#include "common/common.h"
#include "common/park.h"
#include "testutil.h"

static int destroyed_a, destroyed_b;

static void destroy_a(void *obj)
{
    destroyed_a++;
    free(obj);
}

static void destroy_b(void *obj)
{
    destroyed_b++;
    free(obj);
}

static const wd_park_kind kind_a = {destroy_a}, kind_b = {destroy_b};
static const wd_park_kind more[4] = {{destroy_b}, {destroy_b}, {destroy_b}, {destroy_b}};

static void *obj(void)
{
    void *p = malloc(16);
    assert_non_null(p);
    return p;
}

static void test_take_what_was_put(void **state)
{
    (void)state;
    destroyed_a = destroyed_b = 0;
    assert_null(wd_park_take(&kind_a));
    void *a = obj(), *b = obj();
    wd_park_put(&kind_a, a);
    wd_park_put(&kind_b, b);
    wd_park_put(&kind_a, NULL); /* nothing: a stays parked */
    assert_ptr_equal(wd_park_take(&kind_a), a);
    assert_null(wd_park_take(&kind_a));
    assert_ptr_equal(wd_park_take(&kind_b), b);
    /* one per kind: the one parked before is destroyed */
    wd_park_put(&kind_a, a);
    void *a2 = obj();
    wd_park_put(&kind_a, a2);
    assert_int_equal(destroyed_a, 1);
    assert_ptr_equal(wd_park_take(&kind_a), a2);
    free(a2);
    free(b);
    assert_int_equal(destroyed_b, 0);
}

static void test_drain(void **state)
{
    (void)state;
    destroyed_a = destroyed_b = 0;
    wd_park_put(&kind_a, obj());
    wd_park_put(&kind_b, obj());
    wd_park_drain(&kind_b);
    assert_int_equal(destroyed_b, 1);
    assert_null(wd_park_take(&kind_b));
    wd_park_drain(NULL);
    assert_int_equal(destroyed_a, 1);
    assert_null(wd_park_take(&kind_a));
}

/* more kinds than a thread has slots: the ones that find none are
 * destroyed at once, never kept */
static void test_slots_full(void **state)
{
    (void)state;
    destroyed_a = destroyed_b = 0;
    wd_park_put(&kind_a, obj());
    for (size_t i = 0; i < WD_ARRAY_LEN(more); i++)
        wd_park_put(&more[i], obj());
    assert_int_equal(destroyed_b, 1);
    assert_null(wd_park_take(&more[3]));
    wd_park_drain(NULL);
    assert_int_equal(destroyed_a, 1);
    assert_int_equal(destroyed_b, 4);
}

static void *thread_main(void *arg)
{
    (void)arg;
    /* nothing of the other thread's */
    if (wd_park_take(&kind_a))
        return arg;
    wd_park_put(&kind_a, obj());
    wd_park_put(&kind_b, obj());
    return NULL;
}

/* a thread's objects are its own, and destroyed when it ends */
static void test_thread_end(void **state)
{
    (void)state;
    destroyed_a = destroyed_b = 0;
    void *mine = obj();
    wd_park_put(&kind_a, mine);
    pthread_t t;
    void *ret = &ret;
    assert_int_equal(pthread_create(&t, NULL, thread_main, &ret), 0);
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_null(ret);
    assert_int_equal(destroyed_a, 1);
    assert_int_equal(destroyed_b, 1);
    assert_ptr_equal(wd_park_take(&kind_a), mine);
    /* parked at exit: destroyed by the exit handler (the leak check would
     * report it otherwise) */
    wd_park_put(&kind_a, mine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_what_was_put),
        cmocka_unit_test(test_drain),
        cmocka_unit_test(test_slots_full),
        cmocka_unit_test(test_thread_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
