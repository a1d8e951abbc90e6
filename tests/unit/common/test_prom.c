/*
 * test_prom.c - common/prom.c: the Prometheus text writer, byte for byte
 * (walden metrics and the drill's file promise these bytes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/prom.h"
#include "testutil.h"

static void test_gauge_and_labels(void **state)
{
    (void)state;
    wd_prom m = {.prefix = "walden_", .cluster = "ma\"in\\\n", .decimals = -1};
    wd_prom_gauge(&m, "up", "1: walden read the repository.", 1);
    wd_prom_head(&m, "dump_last_ok", "1 when usable.");
    const char *labels[] = {"database", "app", NULL};
    wd_prom_sample(&m, "dump_last_ok", labels, 0);
    const char *two[] = {"segment", "000000010000000000000003", "reason", "say \"no\"", NULL};
    wd_prom_sample(&m, "archive_push_last_failure_timestamp_seconds", two, 1795356187.0);
    wd_prom_sample(&m, "x", NULL, 0.1);
    char *text = wd_buf_take(&m.b);
    assert_string_equal(text,
                        "# HELP walden_up 1: walden read the repository.\n"
                        "# TYPE walden_up gauge\n"
                        "walden_up{cluster=\"ma\\\"in\\\\\\n\"} 1\n"
                        "# HELP walden_dump_last_ok 1 when usable.\n"
                        "# TYPE walden_dump_last_ok gauge\n"
                        "walden_dump_last_ok{cluster=\"ma\\\"in\\\\\\n\",database=\"app\"} 0\n"
                        "walden_archive_push_last_failure_timestamp_seconds{cluster=\"ma\\\"in\\\\"
                        "\\n\",segment=\"000000010000000000000003\",reason=\"say \\\"no\\\"\"} "
                        "1795356187\n"
                        "walden_x{cluster=\"ma\\\"in\\\\\\n\"} 0.1\n");
    wd_free(text);
}

static void test_decimals(void **state)
{
    (void)state;
    wd_prom m = {.prefix = "walden_drill_", .cluster = "main", .decimals = 3};
    const char *labels[] = {"phase", "replay", NULL};
    wd_prom_sample(&m, "phase_seconds", labels, 2.25);
    wd_prom_sample(&m, "success", NULL, 1);
    char *text = wd_buf_take(&m.b);
    assert_string_equal(text,
                        "walden_drill_phase_seconds{cluster=\"main\",phase=\"replay\"} 2.250\n"
                        "walden_drill_success{cluster=\"main\"} 1.000\n");
    wd_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gauge_and_labels),
        cmocka_unit_test(test_decimals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
