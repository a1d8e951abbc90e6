/*
 * test_queue.c - common/queue.c: a bounded queue between threads.
 */
#include <pthread.h>
#include <string.h>

#include "common/common.h"
#include "common/queue.h"
#include "testutil.h"

#define ITEMS 20000

typedef struct consumer {
    wd_queue *q;
    uint64_t sum, count;
} consumer;

static void *consume(void *arg)
{
    consumer *c = arg;
    uint64_t v;
    while (wd_queue_pop(c->q, &v)) {
        c->sum += v;
        c->count++;
    }
    return NULL;
}

/* Every item pushed is popped exactly once, by one of the consumers. */
static void test_all_items_once(void **state)
{
    (void)state;
    wd_queue *q;
    assert_ok(wd_queue_new(&q, sizeof(uint64_t), 4));
    consumer cs[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        cs[i] = (consumer){q, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, consume, &cs[i]), 0);
    }
    uint64_t want = 0;
    for (uint64_t v = 1; v <= ITEMS; v++) {
        assert_true(wd_queue_push(q, &v));
        want += v;
    }
    wd_queue_close(q);
    uint64_t sum = 0, count = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        sum += cs[i].sum;
        count += cs[i].count;
    }
    assert_int_equal(count, ITEMS);
    assert_int_equal(sum, want);
    wd_queue_free(q);
}

static void *push_forever(void *arg)
{
    wd_queue *q = arg;
    uint64_t v = 1;
    while (wd_queue_push(q, &v))
        v++;
    return (void *)(uintptr_t)v;
}

/* cancel wakes a producer blocked on a full queue; pops fail afterwards. */
static void test_cancel(void **state)
{
    (void)state;
    wd_queue *q;
    assert_ok(wd_queue_new(&q, sizeof(uint64_t), 2));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, push_forever, q), 0);
    uint64_t v;
    assert_true(wd_queue_pop(q, &v));
    assert_int_equal(v, 1);
    wd_queue_cancel(q);
    void *ret;
    pthread_join(t, &ret);
    /* the producer stopped after at most capacity + 2 pushes */
    assert_true((uintptr_t)ret <= 5);
    assert_true(wd_queue_cancelled(q));
    assert_false(wd_queue_pop(q, &v));
    assert_false(wd_queue_push(q, &v));
    wd_queue_free(q);
}

/* close lets consumers drain what is queued, then stop. */
static void test_close_drains(void **state)
{
    (void)state;
    wd_queue *q;
    assert_ok(wd_queue_new(&q, sizeof(uint64_t), 8));
    for (uint64_t v = 10; v < 15; v++)
        assert_true(wd_queue_push(q, &v));
    wd_queue_close(q);
    uint64_t v, want = 10;
    while (wd_queue_pop(q, &v))
        assert_int_equal(v, want++);
    assert_int_equal(want, 15);
    wd_queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_items_once),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_close_drains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
