/*
 * test_report.c - drill/report.c: the JSON report of a drill and its
 * Prometheus metrics file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "drill/drill.h"
#include "sample.h"
#include "testutil.h"

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
    assert_non_null(strstr(json, "\"timeline\": null, \"timeline_reason\": null"));
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

    r.timeline = 2;
    r.timeline_reason = "the newest: \"latest\"";
    json = wd_drill_report_json(&r);
    assert_non_null(
        strstr(json, "\"timeline\": 2, \"timeline_reason\": \"the newest: \\\"latest\\\"\""));
    wd_free(json);

    /* a full (and a result without the fields: the history's) names no
     * reference; an incremental names the backup it refers to */
    json = wd_drill_report_json(&r);
    assert_non_null(strstr(json, "\"backup_type\": null, \"backup_reference\": null"));
    wd_free(json);
    r.backup_type = "incr";
    r.backup_reference = "20261128T040000Z";
    json = wd_drill_report_json(&r);
    assert_non_null(strstr(json, "\"backup_id\": \"20261129T040000Z\", \"backup_type\": "
                                 "\"incr\", \"backup_reference\": \"20261128T040000Z\""));
    wd_free(json);
    r.backup_type = "full";
    r.backup_reference = "";
    json = wd_drill_report_json(&r);
    assert_non_null(strstr(json, "\"backup_type\": \"full\", \"backup_reference\": null"));
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

/* The file's bytes, whole: what node_exporter and test_monitoring read. */
static void test_metrics_bytes(void **state)
{
    (void)state;
    walden_drill_result r = sample();
    r.cluster = "main";
    r.recovered_to_ms = 0;
    char *text = wd_drill_metrics_text(&r);
    assert_non_null(text);
    const char *want =
        "# HELP walden_drill_success 1 when the last drill passed: restored, recovered, "
        "checked, within both targets\n"
        "# TYPE walden_drill_success gauge\n"
        "walden_drill_success{cluster=\"main\"} 0.000\n"
        "# HELP walden_drill_failed 1 when the last drill failed: restore, server start, "
        "recovery or a check\n"
        "# TYPE walden_drill_failed gauge\n"
        "walden_drill_failed{cluster=\"main\"} 1.000\n"
        "# HELP walden_drill_rto_seconds achieved recovery time of the last drill (restore to "
        "checked)\n"
        "# TYPE walden_drill_rto_seconds gauge\n"
        "walden_drill_rto_seconds{cluster=\"main\"} 4.375\n";
    assert_memory_equal(text, want, strlen(want));
    assert_non_null(strstr(text, "# HELP walden_drill_phase_seconds duration of each phase of "
                                 "the last drill\n"
                                 "# TYPE walden_drill_phase_seconds gauge\n"
                                 "walden_drill_phase_seconds{cluster=\"main\",phase=\"restore\"} "
                                 "1.500\n"));
    assert_non_null(strstr(text, "walden_drill_checks{cluster=\"main\",result=\"skip\"} 0.000\n"
                                 "# HELP walden_drill_last_run_timestamp_seconds when the last "
                                 "drill finished, Unix time\n"));
    assert_null(strstr(text, "recovered_to"));
    assert_true(text[strlen(text) - 1] == '\n');
    wd_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_json),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_metrics_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
