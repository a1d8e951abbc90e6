/*
 * test_drill.c - drill/drill.c: the canceller (per drill, nothing
 * process-wide) and the checks of walden_drill's parameters, made before
 * the drill touches the repository.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "drill/drill.h"
#include "testutil.h"

static void test_canceller(void **state)
{
    (void)state;
    walden_drill_canceller *a = NULL, *b = NULL;
    assert_ok(walden_drill_canceller_new(&a));
    assert_ok(walden_drill_canceller_new(&b));
    assert_false(wd_drill_cancelled(a));
    walden_drill_cancel(a);
    /* one drill's cancellation is not another's */
    assert_true(wd_drill_cancelled(a));
    assert_false(wd_drill_cancelled(b));
    assert_false(wd_drill_cancelled(NULL));
    walden_drill_cancel(NULL); /* does nothing */
    walden_drill_canceller_free(a);
    walden_drill_canceller_free(b);
    walden_drill_canceller_free(NULL);
}

/* The server's pid, once known, gets SIGQUIT from walden_drill_cancel. */
static void test_cancel_signals_the_server(void **state)
{
    (void)state;
    walden_drill_canceller *c = NULL;
    assert_ok(walden_drill_canceller_new(&c));
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    atomic_store(&c->server_pid, (int)child);
    walden_drill_cancel(c);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGQUIT);
    walden_drill_canceller_free(c);
}

static void test_params_checked(void **state)
{
    (void)state;
    walden_drill_result *out = (walden_drill_result *)1;
    assert_rc(walden_drill(NULL, NULL, NULL, &out), WALDEN_EINVAL);
    assert_null(out);
    walden_drill_params p = WALDEN_DRILL_PARAMS_INIT;
    assert_int_equal(p.version, WALDEN_DRILL_PARAMS_VERSION);
    assert_int_equal(p.kind, WALDEN_DRILL_BACKUP);
    assert_null(p.cancel);
    p.version = 99;
    assert_rc(walden_drill(NULL, NULL, &p, &out), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "version 99"));
    p.version = WALDEN_DRILL_PARAMS_VERSION;
    p.kind = (walden_drill_kind)7;
    assert_rc(walden_drill(NULL, NULL, &p, &out), WALDEN_EINVAL);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canceller),
        cmocka_unit_test(test_cancel_signals_the_server),
        cmocka_unit_test(test_params_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
