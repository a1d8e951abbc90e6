/*
 * test_record.c - drill/record.c: the repository record of a drill (its
 * text and parse: damaged values refused, a newer walden's names skipped),
 * the status names and the recovered point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "drill/drill.h"
#include "sample.h"
#include "testutil.h"

static void test_record_roundtrip(void **state)
{
    (void)state;
    walden_drill_result r = sample();
    r.backup_type = "incr";
    r.backup_reference = "20261206T101500Z";
    char *text = wd_drill_record_text(&r);
    assert_non_null(text);
    walden_drill_result *back = NULL;
    assert_ok(wd_drill_record_parse(text, strlen(text), "record", &back));
    assert_string_equal(back->id, r.id);
    assert_string_equal(back->backup_id, r.backup_id);
    assert_string_equal(back->kind, "backup");
    assert_string_equal(back->error, r.error);
    assert_int_equal(back->status, WALDEN_DRILL_FAILED);
    assert_int_equal(back->started_at_ms, r.started_at_ms);
    assert_int_equal(back->finished_at_ms, r.finished_at_ms);
    assert_true(back->rto_seconds == 4.375 && back->rpo_seconds == 61.5);
    assert_true(back->replay_seconds == 2.25 && back->startup_seconds == 0.125);
    assert_int_equal(back->rto_target_seconds, 3600);
    assert_int_equal(back->rpo_target_seconds, 900);
    assert_int_equal(back->rto_met, 1);
    assert_int_equal(back->checks_failed, 1);
    assert_true(back->source_lsn == 0x1A000028);
    assert_true(back->replayed_lsn == 0x100000000ull + 0x1B000000);
    assert_string_equal(back->backup_type, "incr");
    assert_string_equal(back->backup_reference, "20261206T101500Z");
    assert_null(back->checks);
    walden_drill_result_free(back);
    wd_free(text);
    /* a record of an older walden has no type nor reference: empty */
    const char *older = "id = x\nstatus = passed\nbackup-id = 20261206T101500Z\n";
    assert_ok(wd_drill_record_parse(older, strlen(older), "older", &back));
    assert_string_equal(back->backup_type, "");
    assert_string_equal(back->backup_reference, "");
    walden_drill_result_free(back);
    /* a type this walden does not know (a newer one's) is kept as it is */
    const char *new_type = "id = x\nbackup-type = partial\n";
    assert_ok(wd_drill_record_parse(new_type, strlen(new_type), "newer", &back));
    assert_string_equal(back->backup_type, "partial");
    walden_drill_result_free(back);

    /* a damaged value is refused, an unknown name (a newer walden's) is not */
    const char *bad = "id = x\nrto-seconds = fast\n";
    assert_rc(wd_drill_record_parse(bad, strlen(bad), "bad", &back), WALDEN_ECORRUPT);
    /* so are numbers that are not finite: the JSON of drill --history and
     * the report would carry "nan" or "inf", which no JSON reader takes */
    const char *not_finite[] = {"rto-seconds = nan\n", "rpo-seconds = -inf\n",
                                "replay-seconds = INFINITY\n", "checks-seconds = 1e999\n"};
    for (size_t i = 0; i < WD_ARRAY_LEN(not_finite); i++)
        assert_rc(wd_drill_record_parse(not_finite[i], strlen(not_finite[i]), "bad", &back),
                  WALDEN_ECORRUPT);
    const char *newer = "id = x\nstatus = targets-missed\nfuture-key = 1\n";
    assert_ok(wd_drill_record_parse(newer, strlen(newer), "newer", &back));
    assert_int_equal(back->status, WALDEN_DRILL_MISSED);
    walden_drill_result_free(back);
}

static void test_recovered_to(void **state)
{
    (void)state;
    /* the newer of the last replayed commit and the backup's stop */
    assert_int_equal(wd_drill_recovered_to(2000, 1000), 2000);
    assert_int_equal(wd_drill_recovered_to(500, 1000), 1000);
    assert_int_equal(wd_drill_recovered_to(0, 1000), 1000);
    assert_int_equal(wd_drill_recovered_to(0, 0), 0);
    assert_string_equal(wd_drill_status_name(WALDEN_DRILL_PASSED), "passed");
    assert_string_equal(wd_drill_status_name(WALDEN_DRILL_MISSED), "targets-missed");
    assert_string_equal(wd_drill_status_name(WALDEN_DRILL_FAILED), "failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_roundtrip),
        cmocka_unit_test(test_recovered_to),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
