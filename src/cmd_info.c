/*
 * cmd_info.c - walden info: what can be restored, for people (text, the
 * configured cluster) or programs (--output json, every cluster of the
 * repository; the contract is docs/json.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* ---- collecting one cluster ---- */

typedef struct cluster_view {
    walden_repo *repo;
    const walden_repo_info *info;
    walden_wal_summary *wal;
    int64_t from_ms, to_ms;
    walden_drill_result last_drill; /* strings copied below */
    int has_drill;
    char drill_id[64], drill_backup[160], drill_error[512];
} cluster_view;

static const char *const drill_status[] = {"passed", "failed", "targets-missed"};

/* Keeps the newest drill: the history is oldest first. */
static int keep_drill(const walden_drill_result *d, void *ctx)
{
    cluster_view *v = ctx;
    v->last_drill = *d;
    snprintf(v->drill_id, sizeof(v->drill_id), "%s", d->id);
    snprintf(v->drill_backup, sizeof(v->drill_backup), "%s", d->backup_id);
    snprintf(v->drill_error, sizeof(v->drill_error), "%s", d->error);
    v->last_drill.id = v->drill_id;
    v->last_drill.backup_id = v->drill_backup;
    v->last_drill.error = v->drill_error;
    v->last_drill.checks = NULL;
    v->last_drill.cluster = v->last_drill.kind = v->last_drill.scratch_dir = NULL;
    v->last_drill.last_archived_wal = NULL;
    v->has_drill = 1;
    return 0;
}

static int open_view(walden_config *cfg, cluster_view *v)
{
    memset(v, 0, sizeof(*v));
    int rc = walden_repo_open(&v->repo, cfg);
    if (rc)
        return rc;
    v->info = walden_repo_get_info(v->repo);
    if ((rc = walden_wal_summary_get(v->repo, &v->wal)) ||
        (rc = walden_recovery_window(v->repo, v->wal, &v->from_ms, &v->to_ms)) ||
        (rc = walden_drill_history(v->repo, keep_drill, v)))
        return rc;
    return 0;
}

static void close_view(cluster_view *v)
{
    walden_wal_summary_free(v->wal);
    walden_repo_close(v->repo);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Seconds since `then_ms`, never negative (a store's clock may run ahead
 * of this host's, and Swift rounds its times up to the second). */
static double age_s(int64_t then_ms)
{
    int64_t now = now_ms();
    return now > then_ms ? (double)(now - then_ms) / 1000.0 : 0.0;
}

/* ---- text ---- */

static int text_backup(const walden_backup_info *b, void *ctx)
{
    int *count = ctx;
    char start[40], stop[40], size[32], stored[32];
    cli_time(b->start_time_ms, start, sizeof(start));
    cli_time(b->stop_time_ms, stop, sizeof(stop));
    cli_human(b->size, size, sizeof(size));
    cli_human(b->stored_size, stored, sizeof(stored));
    if ((*count)++ == 0)
        printf("backups:\n");
    printf("  %s  %s  %-6s  %s .. %s  timeline %u  WAL %s .. %s  %s (stored %s)\n", b->id, b->type,
           b->status, start, stop, b->timeline, b->start_wal, b->stop_wal, size, stored);
    return 0;
}

static int text_dump(const walden_dump_info *d, void *ctx)
{
    int *count = ctx;
    char start[40], size[32], stored[32];
    cli_time(d->start_time_ms, start, sizeof(start));
    cli_human(d->size, size, sizeof(size));
    cli_human(d->stored_size, stored, sizeof(stored));
    if ((*count)++ == 0)
        printf("dumps:\n");
    printf("  %s  %-8s  %-6s  %s  %.1f s  %s (stored %s)  %s\n", d->id, d->kind, d->status, start,
           (double)(d->stop_time_ms - d->start_time_ms) / 1000.0, size, stored,
           strcmp(d->kind, "globals") == 0 ? "" : d->database);
    return 0;
}

static void text_wal(const cluster_view *v)
{
    const walden_wal_summary *w = v->wal;
    char stored[32];
    cli_human(w->stored_size, stored, sizeof(stored));
    if (!w->segments) {
        printf("WAL archive: empty\n");
        return;
    }
    printf("WAL archive: %" PRIu64 " segments, %s stored, %s .. %s", w->segments, stored, w->min,
           w->max);
    if (w->max_time_ms) {
        char at[40];
        cli_time(w->max_time_ms, at, sizeof(at));
        printf(", newest stored %s (%.0f s ago)", at, age_s(w->max_time_ms));
    }
    printf("\n");
    for (size_t i = 0; i < w->n_ranges; i++)
        printf("  timeline %u: %s .. %s (%" PRIu64 " segments)\n", w->ranges[i].timeline,
               w->ranges[i].first, w->ranges[i].last, w->ranges[i].segments);
    for (size_t i = 0; i < w->n_gaps; i++)
        printf("  GAP on timeline %u: %s .. %s missing (%" PRIu64 " segments)\n",
               w->gaps[i].timeline, w->gaps[i].first, w->gaps[i].last, w->gaps[i].segments);
}

static int info_text(cli_ctx *ctx)
{
    cluster_view v;
    int rc = open_view(ctx->cfg, &v);
    if (rc) {
        close_view(&v);
        return cli_fail(rc);
    }
    const walden_repo_info *ri = v.info;
    printf("cluster %s: system identifier %" PRIu64 ", PostgreSQL %d, %s%s\n", ri->cluster,
           ri->system_id, ri->pg_version >= 100000 ? ri->pg_version / 10000 : ri->pg_version,
           ri->compress, ri->encrypted ? ", encrypted" : "");
    int backups = 0, dumps = 0;
    rc = walden_backup_list(v.repo, text_backup, &backups);
    if (!rc && backups == 0)
        printf("no backups\n");
    if (!rc)
        rc = walden_dump_list(v.repo, text_dump, &dumps);
    if (!rc && dumps == 0)
        printf("no dumps\n");
    if (!rc) {
        text_wal(&v);
        if (v.from_ms) {
            char from[40], to[40];
            cli_time(v.from_ms, from, sizeof(from));
            cli_time(v.to_ms, to, sizeof(to));
            printf("recoverable: %s .. %s\n", from, to);
        } else {
            printf("recoverable: nothing (no backup with all its WAL)\n");
        }
        if (v.has_drill) {
            const walden_drill_result *d = &v.last_drill;
            char at[40];
            cli_time(d->started_at_ms, at, sizeof(at));
            printf("last drill: %s %s, %s, backup %s, RTO %.1f s (target %" PRId64
                   " s), RPO %.1f s (target %" PRId64 " s)%s%s\n",
                   d->id, at, drill_status[d->status], d->backup_id, d->rto_seconds,
                   d->rto_target_seconds, d->rpo_seconds, d->rpo_target_seconds,
                   d->error[0] ? ": " : "", d->error);
        } else {
            printf("last drill: none\n");
        }
    }
    close_view(&v);
    if (rc)
        return cli_fail(rc);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}

/* ---- json ---- */

static void json_lsn(uint64_t lsn)
{
    printf("\"%X/%X\"", (unsigned)(lsn >> 32), (unsigned)lsn);
}

static int json_backup(const walden_backup_info *b, void *ctx)
{
    int *count = ctx;
    printf("%s\n      {\"id\": ", (*count)++ ? "," : "");
    cli_json_str(b->id);
    printf(", \"type\": ");
    cli_json_str(b->type);
    printf(", \"status\": ");
    cli_json_str(b->status);
    printf(", \"start_time\": ");
    cli_json_time(b->start_time_ms);
    printf(", \"stop_time\": ");
    cli_json_time(b->stop_time_ms);
    printf(", \"duration_seconds\": %.3f, \"start_lsn\": ",
           (double)(b->stop_time_ms - b->start_time_ms) / 1000.0);
    json_lsn(b->start_lsn);
    printf(", \"stop_lsn\": ");
    json_lsn(b->stop_lsn);
    printf(", \"timeline\": %u, \"start_wal\": ", b->timeline);
    cli_json_str(b->start_wal);
    printf(", \"stop_wal\": ");
    cli_json_str(b->stop_wal);
    printf(", \"size\": %" PRIu64 ", \"stored_size\": %" PRIu64 ", \"file_count\": %" PRIu64
           ", \"page_errors\": %" PRIu64 "}",
           b->size, b->stored_size, b->file_count, b->page_errors);
    return 0;
}

static int json_dump(const walden_dump_info *d, void *ctx)
{
    int *count = ctx;
    printf("%s\n      {\"id\": ", (*count)++ ? "," : "");
    cli_json_str(d->id);
    printf(", \"kind\": ");
    cli_json_str(d->kind);
    printf(", \"database\": ");
    cli_json_str(d->database);
    printf(", \"status\": ");
    cli_json_str(d->status);
    printf(", \"error\": ");
    cli_json_str(d->error);
    printf(", \"start_time\": ");
    cli_json_time(d->start_time_ms);
    printf(", \"stop_time\": ");
    cli_json_time(d->stop_time_ms);
    printf(", \"duration_seconds\": %.3f, \"size\": %" PRIu64 ", \"stored_size\": %" PRIu64
           ", \"pg_dump_version\": ",
           (double)(d->stop_time_ms - d->start_time_ms) / 1000.0, d->size, d->stored_size);
    cli_json_str(d->pg_dump_version);
    printf("}");
    return 0;
}

static void json_ranges(const walden_wal_range *r, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++) {
        printf("%s{\"timeline\": %u, \"from\": \"%s\", \"to\": \"%s\", \"segments\": %" PRIu64 "}",
               i ? ", " : "", r[i].timeline, r[i].first, r[i].last, r[i].segments);
    }
    printf("]");
}

typedef struct json_state {
    walden_config *cfg;
    int clusters;
    int rc;
} json_state;

static int json_cluster(const char *name, void *ctx)
{
    json_state *js = ctx;
    if (walden_config_set(js->cfg, "cluster", name, WALDEN_SOURCE_FLAG))
        return js->rc = -1;
    cluster_view v;
    int rc = open_view(js->cfg, &v);
    if (rc) {
        close_view(&v);
        return js->rc = rc;
    }
    const walden_repo_info *ri = v.info;
    printf("%s\n    {\"name\": ", js->clusters++ ? "," : "");
    cli_json_str(name);
    printf(", \"system_id\": \"%" PRIu64 "\", \"pg_version\": %d, \"compress\": ", ri->system_id,
           ri->pg_version);
    cli_json_str(ri->compress);
    printf(", \"encrypted\": %s,\n     \"backups\": [", ri->encrypted ? "true" : "false");
    int n = 0;
    rc = walden_backup_list(v.repo, json_backup, &n);
    printf("%s],\n     \"dumps\": [", n ? "\n     " : "");
    n = 0;
    if (!rc)
        rc = walden_dump_list(v.repo, json_dump, &n);
    printf("%s],\n     \"wal\": {", n ? "\n     " : "");
    const walden_wal_summary *w = v.wal;
    if (w->segments)
        printf("\"min\": \"%s\", \"max\": \"%s\", \"max_stored_time\": ", w->min, w->max);
    else
        printf("\"min\": null, \"max\": null, \"max_stored_time\": ");
    cli_json_time(w->max_time_ms);
    printf(", \"max_age_seconds\": ");
    if (w->max_time_ms)
        printf("%.3f", age_s(w->max_time_ms));
    else
        printf("null");
    printf(", \"segments\": %" PRIu64 ", \"history_files\": %" PRIu64 ", \"stored_size\": %" PRIu64
           ", \"segment_size\": %" PRIu64 ",\n             \"ranges\": ",
           w->segments, w->history_files, w->stored_size, w->segment_size);
    json_ranges(w->ranges, w->n_ranges);
    printf(",\n             \"gaps\": ");
    json_ranges(w->gaps, w->n_gaps);
    printf("},\n     \"recovery_window\": {\"from\": ");
    cli_json_time(v.from_ms);
    printf(", \"to\": ");
    cli_json_time(v.to_ms);
    printf("},\n     \"last_drill\": ");
    if (v.has_drill) {
        const walden_drill_result *d = &v.last_drill;
        printf("{\"id\": ");
        cli_json_str(d->id);
        printf(", \"status\": \"%s\", \"backup_id\": ", drill_status[d->status]);
        cli_json_str(d->backup_id);
        printf(", \"started_at\": ");
        cli_json_time(d->started_at_ms);
        printf(", \"finished_at\": ");
        cli_json_time(d->finished_at_ms);
        printf(", \"rto_seconds\": %.3f, \"rpo_seconds\": %.3f, \"rto_target_seconds\": %" PRId64
               ", \"rpo_target_seconds\": %" PRId64 ", \"error\": ",
               d->rto_seconds, d->rpo_seconds, d->rto_target_seconds, d->rpo_target_seconds);
        cli_json_str(d->error[0] ? d->error : NULL);
        printf("}");
    } else {
        printf("null");
    }
    printf("}");
    close_view(&v);
    return js->rc = rc;
}

static int info_json(cli_ctx *ctx)
{
    json_state js = {ctx->cfg, 0, 0};
    printf("{\"clusters\": [");
    int rc = walden_repo_list_clusters(ctx->cfg, json_cluster, &js);
    if (rc || js.rc) {
        /* the document is incomplete: say so on stdout too, so that a
         * reader fails to parse rather than trusts half of it */
        fputs("\n", stdout);
        fflush(stdout);
        return cli_fail(rc ? rc : js.rc);
    }
    printf("\n]}\n");
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}

int cmd_info(cli_ctx *ctx)
{
    return walden_config_is(ctx->cfg, "output", "json") ? info_json(ctx) : info_text(ctx);
}
