/*
 * test_output.c - src/output.c: progress as log lines (no terminal). At the
 * default progress-interval one line per 10% step of the bytes; with
 * progress-interval 0s a line at every report, steps or not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

/* Feeds `n` reports to cli_progress_log with the given interval, the bytes
 * going from 0 to `total` by `step`; returns how many "progress: copy:"
 * lines were logged (stderr is captured in a temporary file). */
static int log_lines(int64_t interval, uint64_t total, uint64_t step)
{
    char path[] = "/tmp/walden-test-output.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) == 2);

    walden_log_set_level(WALDEN_LOG_INFO);
    cli_progress s;
    cli_progress_start(&s);
    s.interval = interval;
    s.tenth = -1;
    for (uint64_t done = 0; done <= total; done += step) {
        walden_progress p = {"copy", done, total, done / 1000, 0};
        cli_progress_log(&p, &s);
    }
    walden_log_set_level(WALDEN_LOG_WARN);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fdopen(fd, "r");
    assert_non_null(f);
    rewind(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, " info: progress: copy: "))
            n++;
    fclose(f);
    unlink(path);
    return n;
}

static void test_default_interval_logs_each_tenth(void **state)
{
    (void)state;
    /* 101 reports of 1% each: 0%, 10%, ... 100%: 11 lines */
    assert_int_equal(log_lines(30, 100000, 1000), 11);
    /* 11 reports of 10% each: the same 11 lines */
    assert_int_equal(log_lines(30, 100000, 10000), 11);
}

static void test_interval_zero_logs_every_report(void **state)
{
    (void)state;
    /* progress-interval 0s: all 101 reports */
    assert_int_equal(log_lines(0, 100000, 1000), 101);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_interval_logs_each_tenth),
        cmocka_unit_test(test_interval_zero_logs_every_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
