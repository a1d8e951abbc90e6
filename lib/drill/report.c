/*
 * report.c - what a drill tells beyond its result: the JSON report
 * (docs/json.md), the Prometheus textfile (docs/commands/drill.md, through
 * the writer walden metrics uses too) and the record in the repository,
 * each written whole or not at all.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "common/prom.h"
#include "drill/drill.h"
#include "repo/repo.h"

/* An LSN as a JSON string ("0/5000028"), or null when 0 (unknown). */
static void buf_lsn(wd_buf *b, uint64_t lsn)
{
    if (lsn)
        wd_buf_printf(b, "\"%X/%X\"", (unsigned)(lsn >> 32), (unsigned)lsn);
    else
        wd_buf_printf(b, "null");
}

char *wd_drill_report_json(const walden_drill_result *r)
{
    wd_buf b = {0};
    wd_buf_printf(&b, "{\"id\": ");
    wd_buf_json_str(&b, r->id);
    wd_buf_printf(&b, ", \"cluster\": ");
    wd_buf_json_str(&b, r->cluster);
    wd_buf_printf(&b, ", \"kind\": ");
    wd_buf_json_str(&b, r->kind);
    wd_buf_printf(&b, ", \"status\": ");
    wd_buf_json_str(&b, wd_drill_status_name(r->status));
    wd_buf_printf(&b, ", \"error\": ");
    wd_buf_json_str(&b, *r->error ? r->error : NULL);
    wd_buf_printf(&b, ",\n \"backup_id\": ");
    wd_buf_json_str(&b, *r->backup_id ? r->backup_id : NULL);
    wd_buf_printf(&b, ", \"backup_type\": ");
    wd_buf_json_str(&b, r->backup_type && *r->backup_type ? r->backup_type : NULL);
    wd_buf_printf(&b, ", \"backup_reference\": ");
    wd_buf_json_str(&b, r->backup_reference && *r->backup_reference ? r->backup_reference : NULL);
    if (r->timeline)
        wd_buf_printf(&b, ", \"timeline\": %" PRIu32 ", \"timeline_reason\": ", r->timeline);
    else
        wd_buf_printf(&b, ", \"timeline\": null, \"timeline_reason\": ");
    wd_buf_json_str(&b, r->timeline_reason && *r->timeline_reason ? r->timeline_reason : NULL);
    wd_buf_printf(&b, ", \"started_at\": ");
    wd_buf_json_time(&b, r->started_at_ms);
    wd_buf_printf(&b, ", \"finished_at\": ");
    wd_buf_json_time(&b, r->finished_at_ms);
    wd_buf_printf(&b,
                  ",\n \"rto_seconds\": %.3f, \"rto_target_seconds\": %" PRId64 ", \"rto_met\": %s",
                  r->rto_seconds, r->rto_target_seconds, r->rto_met ? "true" : "false");
    if (r->rpo_seconds >= 0)
        wd_buf_printf(&b, ",\n \"rpo_seconds\": %.3f", r->rpo_seconds);
    else
        wd_buf_printf(&b, ",\n \"rpo_seconds\": null");
    wd_buf_printf(&b, ", \"rpo_target_seconds\": %" PRId64 ", \"rpo_met\": %s",
                  r->rpo_target_seconds, r->rpo_met ? "true" : "false");
    wd_buf_printf(&b, ", \"source_lsn\": ");
    buf_lsn(&b, r->source_lsn);
    wd_buf_printf(&b, ", \"replayed_lsn\": ");
    buf_lsn(&b, r->replayed_lsn);
    wd_buf_printf(&b, ",\n \"recovered_to\": ");
    wd_buf_json_time(&b, r->recovered_to_ms);
    wd_buf_printf(&b, ", \"last_transaction\": ");
    wd_buf_json_time(&b, r->last_xact_ms);
    wd_buf_printf(&b,
                  ",\n \"phases\": {\"restore\": %.3f, \"replay\": %.3f, \"startup\": %.3f, "
                  "\"checks\": %.3f}",
                  r->restore_seconds, r->replay_seconds, r->startup_seconds, r->checks_seconds);
    wd_buf_printf(&b,
                  ",\n \"checks_passed\": %" PRIu64 ", \"checks_failed\": %" PRIu64
                  ", \"checks_skipped\": %" PRIu64 ",\n \"checks\": [",
                  r->checks_passed, r->checks_failed, r->checks_skipped);
    for (size_t i = 0; i < r->n_checks; i++) {
        const walden_drill_check *c = &r->checks[i];
        wd_buf_printf(&b, "%s\n  {\"name\": ", i ? "," : "");
        wd_buf_json_str(&b, c->name);
        wd_buf_printf(&b, ", \"database\": ");
        wd_buf_json_str(&b, c->database);
        wd_buf_printf(&b, ", \"result\": ");
        wd_buf_json_str(&b, c->result);
        wd_buf_printf(&b, ", \"detail\": ");
        wd_buf_json_str(&b, c->detail);
        wd_buf_printf(&b, ", \"seconds\": %.3f}", c->seconds);
    }
    wd_buf_printf(&b, "%s],\n \"scratch_dir\": ", r->n_checks ? "\n " : "");
    wd_buf_json_str(&b, *r->scratch_dir ? r->scratch_dir : NULL);
    wd_buf_printf(&b, ",\n \"archiver\": ");
    if (r->archiver_known) {
        wd_buf_printf(&b, "{\"last_archived_wal\": ");
        wd_buf_json_str(&b, *r->last_archived_wal ? r->last_archived_wal : NULL);
        wd_buf_printf(&b, ", \"last_archived_time\": ");
        wd_buf_json_time(&b, r->last_archived_ms);
        wd_buf_printf(&b, ", \"failed_count\": %" PRIu64 "}", r->archive_failed_count);
    } else {
        wd_buf_printf(&b, "null");
    }
    wd_buf_printf(&b, "}\n");
    return wd_buf_take(&b);
}

/* walden_drill_<name>{cluster="..."[,<label>="<value>"]} <v>, with "%.3f" */
static void metric(wd_prom *m, const char *name, const char *label, const char *value, double v)
{
    const char *labels[] = {label, value, NULL};
    wd_prom_sample(m, name, label ? labels : NULL, v);
}

char *wd_drill_metrics_text(const walden_drill_result *r)
{
    wd_prom m = {.prefix = "walden_drill_", .cluster = r->cluster, .decimals = 3};
    wd_prom_gauge(&m, "success",
                  "1 when the last drill passed: restored, recovered, checked, within both "
                  "targets",
                  r->status == WALDEN_DRILL_PASSED);
    wd_prom_gauge(&m, "failed",
                  "1 when the last drill failed: restore, server start, recovery or a check",
                  r->status == WALDEN_DRILL_FAILED);
    wd_prom_gauge(&m, "rto_seconds",
                  "achieved recovery time of the last drill (restore to checked)", r->rto_seconds);
    wd_prom_gauge(&m, "rto_target_seconds", "the recovery time objective (rto-target)",
                  (double)r->rto_target_seconds);
    wd_prom_gauge(&m, "rto_met", "1 when the last drill's recovery time met rto-target",
                  r->rto_met);
    if (r->rpo_seconds >= 0)
        wd_prom_gauge(&m, "rpo_seconds",
                      "achieved recovery point of the last drill: 0 when it replayed all the WAL "
                      "the source had flushed at its start, else its start minus the point "
                      "recovered to",
                      r->rpo_seconds);
    wd_prom_gauge(&m, "rpo_target_seconds", "the recovery point objective (rpo-target)",
                  (double)r->rpo_target_seconds);
    wd_prom_gauge(&m, "rpo_met", "1 when the last drill's recovery point met rpo-target",
                  r->rpo_met);
    wd_prom_head(&m, "phase_seconds", "duration of each phase of the last drill");
    metric(&m, "phase_seconds", "phase", "restore", r->restore_seconds);
    metric(&m, "phase_seconds", "phase", "replay", r->replay_seconds);
    metric(&m, "phase_seconds", "phase", "startup", r->startup_seconds);
    metric(&m, "phase_seconds", "phase", "checks", r->checks_seconds);
    wd_prom_head(&m, "checks", "checks of the last drill by result");
    metric(&m, "checks", "result", "pass", (double)r->checks_passed);
    metric(&m, "checks", "result", "fail", (double)r->checks_failed);
    metric(&m, "checks", "result", "skip", (double)r->checks_skipped);
    wd_prom_gauge(&m, "last_run_timestamp_seconds", "when the last drill finished, Unix time",
                  (double)r->finished_at_ms / 1000.0);
    if (r->recovered_to_ms > 0)
        wd_prom_gauge(&m, "recovered_to_timestamp_seconds",
                      "the point in time the last drill recovered to, Unix time",
                      (double)r->recovered_to_ms / 1000.0);
    return wd_buf_take(&m.b);
}

int wd_drill_write_reports(walden_repo *repo, const walden_config *cfg,
                           const walden_drill_result *p)
{
    int rc = 0;
    char *record = wd_drill_record_text(p);
    char *rel = wd_asprintf("%s/%s.info", WD_DRILL_DIR, p->id);
    char *path = rel ? wd_repo_path(repo, rel) : NULL;
    if (!record || !path)
        rc = WALDEN_ENOMEM;
    else if ((rc = wd_repo_write_signed(repo, path, record, strlen(record))))
        wd_error_wrap(rc, "cannot record the drill in the repository");
    wd_free(record);
    wd_free(rel);
    wd_free(path);
    const char *report = walden_config_get(cfg, "report");
    if (report && *report) {
        char *json = wd_drill_report_json(p);
        int wrc = json ? wd_file_write_atomic(report, json, WD_MODE_REPORT_FILE) : WALDEN_ENOMEM;
        if (wrc && !rc)
            rc = wd_error_wrap(wrc, "cannot write the report");
        wd_free(json);
    }
    const char *metrics = walden_config_get(cfg, "metrics-file");
    if (metrics && *metrics) {
        char *text = wd_drill_metrics_text(p);
        int wrc = text ? wd_file_write_atomic(metrics, text, WD_MODE_METRICS_FILE) : WALDEN_ENOMEM;
        if (wrc && !rc)
            rc = wd_error_wrap(wrc, "cannot write the metrics file");
        wd_free(text);
    }
    return rc;
}
