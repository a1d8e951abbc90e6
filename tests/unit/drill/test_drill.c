/*
 * test_drill.c - drill/drill.c: the record, the JSON report and the
 * Prometheus metrics of a drill, and the recovered point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "drill/drill.h"
#include "testutil.h"

static const walden_drill_check checks[] = {
    {"connect", "app", "pass", "accepts connections", 0.01},
    {"sql", "postgres", "fail", "statement 2 failed: ERROR:  \"x\"\tdoes not exist", 0.5},
};

static walden_drill_result sample(void)
{
    walden_drill_result r = {0};
    r.id = "20261129T045002Z";
    r.cluster = "ma\"in\\";
    r.kind = "backup";
    r.backup_id = "20261129T040000Z";
    r.status = WALDEN_DRILL_FAILED;
    r.error = "check sql in 'postgres' failed: statement 2 failed";
    r.started_at_ms = 1795356187123;
    r.finished_at_ms = 1795356200456;
    r.restore_seconds = 1.5;
    r.replay_seconds = 2.25;
    r.startup_seconds = 0.125;
    r.checks_seconds = 0.5;
    r.rto_seconds = 4.375;
    r.rpo_seconds = 61.5;
    r.recovered_to_ms = 1795356125623;
    r.last_xact_ms = 1795356125623;
    r.rto_target_seconds = 3600;
    r.rpo_target_seconds = 900;
    r.rto_met = 1;
    r.rpo_met = 1;
    r.checks = checks;
    r.n_checks = 2;
    r.checks_passed = 1;
    r.checks_failed = 1;
    r.scratch_dir = "";
    r.last_archived_wal = "";
    r.source_lsn = 0x1A000028;
    r.replayed_lsn = 0x100000000ull + 0x1B000000;
    return r;
}

static void test_record_roundtrip(void **state)
{
    (void)state;
    walden_drill_result r = sample();
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
    assert_null(back->checks);
    walden_drill_result_free(back);
    wd_free(text);

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

static void test_report_json(void **state)
{
    (void)state;
    walden_drill_result r = sample();
    char *json = wd_drill_report_json(&r);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"status\": \"failed\""));
    assert_non_null(strstr(json, "\"cluster\": \"ma\\\"in\\\\\""));
    assert_non_null(strstr(json, "\"started_at\": \"2026-11-22T14:03:07.123Z\""));
    assert_non_null(strstr(json, "\"rpo_seconds\": 61.500"));
    assert_non_null(strstr(json, "\"phases\": {\"restore\": 1.500, \"replay\": 2.250, "
                                 "\"startup\": 0.125, \"checks\": 0.500}"));
    assert_non_null(strstr(json, "ERROR:  \\\"x\\\"\\tdoes not exist"));
    assert_non_null(strstr(json, "\"scratch_dir\": null"));
    assert_non_null(strstr(json, "\"archiver\": null"));
    assert_non_null(
        strstr(json, "\"source_lsn\": \"0/1A000028\", \"replayed_lsn\": \"1/1B000000\""));
    /* python3's json module is the judge of the syntax */
    char *dir = tu_mkdtemp(), path[4096];
    snprintf(path, sizeof(path), "%s/r.json", dir);
    tu_write_file(path, json, strlen(json));
    assert_int_equal(
        tu_system("python3 -c 'import json,sys; json.load(open(sys.argv[1]))' %s", path), 0);
    tu_rmdir_r(dir);
    free(dir);
    wd_free(json);

    r.rpo_seconds = -1;
    r.error = "";
    r.source_lsn = r.replayed_lsn = 0;
    json = wd_drill_report_json(&r);
    assert_non_null(strstr(json, "\"rpo_seconds\": null"));
    assert_non_null(strstr(json, "\"source_lsn\": null, \"replayed_lsn\": null"));
    assert_non_null(strstr(json, "\"error\": null"));
    wd_free(json);
}

static void test_metrics(void **state)
{
    (void)state;
    walden_drill_result r = sample();
    char *text = wd_drill_metrics_text(&r);
    assert_non_null(text);
    assert_non_null(strstr(text, "# TYPE walden_drill_success gauge\n"
                                 "walden_drill_success{cluster=\"ma\\\"in\\\\\"} 0.000\n"));
    assert_non_null(strstr(text, "walden_drill_failed{cluster=\"ma\\\"in\\\\\"} 1.000\n"));
    assert_non_null(strstr(text, ",phase=\"replay\"} 2.250\n"));
    assert_non_null(strstr(text, "walden_drill_rpo_seconds{"));
    /* every sample's metric has HELP and TYPE lines before it */
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        if (*line == '#')
            continue;
        char name[128], help[160], type[160];
        size_t n = strcspn(line, "{ ");
        assert_true(n < sizeof(name));
        memcpy(name, line, n);
        name[n] = '\0';
        snprintf(help, sizeof(help), "# HELP %s ", name);
        snprintf(type, sizeof(type), "# TYPE %s gauge\n", name);
        char *h = strstr(text, help), *t = strstr(text, type);
        assert_true(h && t && h < line && t < line);
    }
    wd_free(text);
    r.rpo_seconds = -1;
    text = wd_drill_metrics_text(&r);
    assert_null(strstr(text, "walden_drill_rpo_seconds"));
    wd_free(text);
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
        cmocka_unit_test(test_report_json),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_recovered_to),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
