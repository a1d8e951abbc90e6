/*
 * test_log.c - common/log.c: the log callback, and logging configured and
 * used from several threads at once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "testutil.h"

typedef struct heard {
    int n;
    walden_log_level level;
    char last[256];
    bool log_inside; /* the callback logs itself */
    bool set_inside; /* the callback tries to change the log's set-up */
    int set_file_rc;
} heard;

static void hear(walden_log_level level, const char *message, void *ctx)
{
    heard *h = ctx;
    h->n++;
    h->level = level;
    snprintf(h->last, sizeof(h->last), "%s", message);
    if (h->log_inside)
        walden_log(WALDEN_LOG_ERROR, "from inside the callback");
    if (h->set_inside) {
        walden_log_set_callback(NULL, NULL);
        h->set_file_rc = walden_log_set_file(NULL);
    }
}

/* A callback that changes the log's set-up from inside does not deadlock:
 * the callback stays, walden_log_set_file refuses. */
static void test_callback_sets_up(void **state)
{
    (void)state;
    heard h = {.set_inside = true};
    walden_log_set_callback(hear, &h);
    walden_log(WALDEN_LOG_ERROR, "one");
    walden_log(WALDEN_LOG_ERROR, "two");
    assert_int_equal(h.n, 2);
    assert_string_equal(h.last, "two");
    assert_int_equal(h.set_file_rc, WALDEN_EINVAL);
}

static int restore_defaults(void **state)
{
    (void)state;
    walden_log_set_callback(NULL, NULL);
    walden_log_set_level(WALDEN_LOG_WARN);
    return walden_log_set_file(NULL);
}

/* Lines at or below the level reach the callback, as text alone; a log
 * file still gets them, with timestamp, pid and level. */
static void test_callback(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[600];
    snprintf(path, sizeof(path), "%s/walden.log", dir);
    heard h = {0};
    walden_log_set_level(WALDEN_LOG_INFO);
    walden_log_set_callback(hear, &h);
    assert_ok(walden_log_set_file(path));
    walden_log(WALDEN_LOG_INFO, "hello %d", 42);
    wd_log_debug("not at this level");
    assert_int_equal(h.n, 1);
    assert_int_equal(h.level, WALDEN_LOG_INFO);
    assert_string_equal(h.last, "hello 42");
    assert_ok(walden_log_set_file(NULL));
    size_t len;
    uint8_t *raw = tu_read_file(path, &len);
    char *text = strndup((const char *)raw, len);
    free(raw);
    assert_non_null(strstr(text, "] info: hello 42\n"));
    assert_null(strstr(text, "not at this level"));
    free(text);

    /* a line the callback logs itself is dropped, not a deadlock */
    h.log_inside = true;
    wd_log_warn("outer");
    assert_int_equal(h.n, 2);
    assert_string_equal(h.last, "outer");

    /* replaced: the old callback hears nothing more */
    heard other = {0};
    walden_log_set_callback(hear, &other);
    wd_log_warn("to the other");
    assert_int_equal(h.n, 2);
    assert_int_equal(other.n, 1);
    tu_rmdir_r(dir);
    free(dir);
}

typedef struct counter {
    atomic_int n;
    atomic_int inside; /* callers in the callback right now */
    atomic_int overlap;
} counter;

static void count(walden_log_level level, const char *message, void *ctx)
{
    (void)level;
    (void)message;
    counter *c = ctx;
    if (atomic_fetch_add(&c->inside, 1) != 0)
        atomic_store(&c->overlap, 1);
    atomic_fetch_add(&c->n, 1);
    atomic_fetch_sub(&c->inside, 1);
}

#define THREADS 4
#define LINES 500

static void *log_lines(void *arg)
{
    (void)arg;
    for (int i = 0; i < LINES; i++)
        wd_log_warn("line %d", i);
    return NULL;
}

/* Threads log while the main thread switches callbacks, the log file and
 * the level: every line reaches exactly one callback, never two threads
 * in a callback at once (ThreadSanitizer-free proof, with ASan on). */
static void test_threads(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[600];
    snprintf(path, sizeof(path), "%s/walden.log", dir);
    static counter a, b;
    walden_log_set_callback(count, &a);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, log_lines, NULL), 0);
    for (int i = 0; i < 200; i++) {
        walden_log_set_callback(count, i % 2 ? &a : &b);
        assert_ok(walden_log_set_file(i % 3 ? path : NULL));
        walden_log_set_level(i % 2 ? WALDEN_LOG_DEBUG : WALDEN_LOG_WARN);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&a.n) + atomic_load(&b.n), THREADS * LINES);
    assert_int_equal(atomic_load(&a.overlap) + atomic_load(&b.overlap), 0);
    assert_ok(walden_log_set_file(NULL));
    tu_rmdir_r(dir);
    free(dir);
}

static void *version_text(void *arg)
{
    *(const char **)arg = walden_version_text();
    return NULL;
}

/* walden_version_text is made once, whichever threads ask first. */
static void test_version_text(void **state)
{
    (void)state;
    const char *got[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, version_text, &got[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_ptr_equal(got[i], got[0]);
    }
    assert_true(wd_str_starts_with(got[0], "walden " WALDEN_VERSION "\nlibzstd "));
    assert_non_null(strstr(got[0], "\nzlib "));
    assert_non_null(strstr(got[0], "\nlibpq "));
    assert_true(wd_str_ends_with(got[0], "\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_callback, restore_defaults),
        cmocka_unit_test_teardown(test_threads, restore_defaults),
        cmocka_unit_test_teardown(test_callback_sets_up, restore_defaults),
        cmocka_unit_test(test_version_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
