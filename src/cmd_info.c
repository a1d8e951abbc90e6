/*
 * cmd_info.c - walden info: what can be restored, for people (text, the
 * configured cluster) or programs (--output json, every cluster of the
 * repository; the contract is docs/json.md).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* ---- collecting one cluster ---- */

typedef struct cluster_view {
    walden_repo *repo;
    const walden_repo_info *info;
    walden_wal_summary *wal;
    walden_timelines *timelines;
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
        (rc = walden_timelines_get(v->repo, v->wal, &v->timelines)) ||
        (rc = walden_recovery_window(v->repo, v->wal, &v->from_ms, &v->to_ms)) ||
        (rc = walden_drill_history(v->repo, keep_drill, v)))
        return rc;
    return 0;
}

static void close_view(cluster_view *v)
{
    walden_wal_summary_free(v->wal);
    walden_timelines_free(v->timelines);
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

#define TEXT_WIDTH 100

/* A line of text items that wraps at TEXT_WIDTH columns: an item that
 * would cross it starts a new line, indented. */
typedef struct tline {
    int col, indent;
} tline;

static void tl_start(tline *t, int indent, const char *first)
{
    t->indent = indent;
    t->col = printf("%s", first);
}

static void tl_item(tline *t, const char *sep, const char *item)
{
    int len = (int)strlen(item), slen = (int)strlen(sep);
    if (t->col > t->indent && t->col + slen + len > TEXT_WIDTH) {
        t->col = printf("\n%*s", t->indent, "") - 1;
        slen = 0;
    } else {
        fputs(sep, stdout);
    }
    fputs(item, stdout);
    t->col += slen + len;
}

/* Words of a long text (an error), each an item. */
static void tl_words(tline *t, const char *sep, const char *text)
{
    char word[512];
    bool first = true;
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (!n)
            break;
        snprintf(word, sizeof(word), "%.*s", (int)n, p);
        tl_item(t, first ? sep : " ", word);
        first = false;
        p += n;
    }
}

static void tl_end(tline *t)
{
    putchar('\n');
    t->col = 0;
}

/* "1 segment", "2 segments" */
static const char *plural(uint64_t n, const char *word, char *out, size_t cap)
{
    snprintf(out, cap, "%" PRIu64 " %s%s", n, word, n == 1 ? "" : "s");
    return out;
}

static void duration(double secs, char *out, size_t cap)
{
    if (secs < 0)
        snprintf(out, cap, "unknown");
    else if (secs < 600)
        snprintf(out, cap, "%.1f s", secs);
    else if (secs < 36000)
        snprintf(out, cap, "%dm%02ds", (int)secs / 60, (int)secs % 60);
    else
        snprintf(out, cap, "%dh%02dm", (int)(secs / 3600), (int)secs % 3600 / 60);
}

static const char *const backup_head = "  %-16s  %-4s  %-6s  %-22s  %8s  %10s  %10s\n";

/* One backup, with its chain as walden_backup_list judged it (the walk
 * restore refuses a broken chain by); `ctx` counts the backups. */
static int text_backup(const walden_backup_info *b, void *ctx)
{
    size_t *count = ctx;
    char stop[40], size[32], stored[32], took[32], from[32], to[32], item[160];
    cli_time(b->stop_time_ms, stop, sizeof(stop));
    cli_human(b->size, size, sizeof(size));
    cli_human(b->stored_size, stored, sizeof(stored));
    duration(b->start_time_ms > 0 && b->stop_time_ms >= b->start_time_ms
                 ? (double)(b->stop_time_ms - b->start_time_ms) / 1000.0
                 : -1,
             took, sizeof(took));
    if ((*count)++ == 0) {
        printf("backups:\n");
        printf(backup_head, "backup", "type", "status", "stopped", "duration", "size", "stored");
    }
    printf(backup_head, b->id, b->type, b->status, stop, took, size, stored);
    tline t;
    tl_start(&t, 4, "    ");
    if (*b->reference) {
        snprintf(item, sizeof(item), "reference %s,", b->reference);
        tl_item(&t, "", item);
        tl_item(&t, " ", "chain");
        for (size_t k = 0; k < b->chain_len; k++) {
            snprintf(item, sizeof(item), "%s%s", b->chain[k], k + 1 < b->chain_len ? " >" : "");
            tl_item(&t, " ", item);
        }
        tl_end(&t);
        tl_start(&t, 4, "    ");
    }
    if (b->chain_error && *b->chain_error) {
        tl_words(&t, "", "CHAIN BROKEN: cannot be restored:");
        tl_words(&t, " ", b->chain_error);
        tl_end(&t);
        tl_start(&t, 4, "    ");
    }
    snprintf(item, sizeof(item), "timeline %u", b->timeline);
    tl_item(&t, "", item);
    cli_lsn(b->start_lsn, from, sizeof(from));
    cli_lsn(b->stop_lsn, to, sizeof(to));
    snprintf(item, sizeof(item), "LSN %s .. %s", from, to);
    tl_item(&t, "  ", item);
    snprintf(item, sizeof(item), "WAL %s .. %s", b->start_wal, b->stop_wal);
    tl_item(&t, "  ", item);
    if (b->page_errors) {
        snprintf(item, sizeof(item), "%" PRIu64 " page checksum failures", b->page_errors);
        tl_item(&t, "  ", item);
    }
    tl_end(&t);
    return 0;
}

/* Dumps are printed after they are all read, so that the id column fits
 * the longest id. */
typedef struct dump_row {
    char id[160], db[80], status[16], start[40], took[32], size[32], stored[32], error[512];
    bool named; /* the id ends with the database's name ("globals" for globals) */
} dump_row;

typedef struct dump_rows {
    dump_row *v;
    size_t n, cap;
} dump_rows;

static int collect_dump(const walden_dump_info *d, void *ctx)
{
    dump_rows *r = ctx;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        dump_row *v = realloc(r->v, cap * sizeof(*v));
        if (!v)
            return WALDEN_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    dump_row *x = &r->v[r->n++];
    snprintf(x->id, sizeof(x->id), "%s", d->id);
    snprintf(x->db, sizeof(x->db), "%s",
             strcmp(d->kind, "globals") == 0 ? "(globals)" : d->database);
    snprintf(x->status, sizeof(x->status), "%s", d->status);
    /* ids are "<time>-<name>", the name made safe for a path and numbered
     * when two dumps of a run would share it: then the database is said */
    const char *dash = strchr(d->id, '-');
    x->named =
        dash && strcmp(dash + 1, strcmp(d->kind, "globals") == 0 ? "globals" : d->database) == 0;
    cli_time(d->start_time_ms, x->start, sizeof(x->start));
    duration(d->start_time_ms > 0 && d->stop_time_ms >= d->start_time_ms
                 ? (double)(d->stop_time_ms - d->start_time_ms) / 1000.0
                 : -1,
             x->took, sizeof(x->took));
    cli_human(d->size, x->size, sizeof(x->size));
    cli_human(d->stored_size, x->stored, sizeof(x->stored));
    snprintf(x->error, sizeof(x->error), "%s", d->error ? d->error : "");
    return 0;
}

static void text_dumps(const dump_rows *r)
{
    int idw = 4; /* "dump" */
    for (size_t i = 0; i < r->n; i++)
        if ((int)strlen(r->v[i].id) > idw)
            idw = (int)strlen(r->v[i].id);
    /* the columns after the id: 2+6+2+22+2+8+2+10+2+10 */
    bool split = 2 + idw + 64 > TEXT_WIDTH;
    printf("dumps:\n");
    for (size_t i = 0; i <= r->n; i++) {
        const dump_row *x = i ? &r->v[i - 1] : NULL;
        if (split) {
            printf("  %s\n", x ? x->id : "dump");
            printf("    %-6s  %-22s  %8s  %10s  %10s\n", x ? x->status : "status",
                   x ? x->start : "started", x ? x->took : "duration", x ? x->size : "size",
                   x ? x->stored : "stored");
        } else {
            printf("  %-*s  %-6s  %-22s  %8s  %10s  %10s\n", idw, x ? x->id : "dump",
                   x ? x->status : "status", x ? x->start : "started", x ? x->took : "duration",
                   x ? x->size : "size", x ? x->stored : "stored");
        }
        if (x && !x->named) {
            tline t;
            tl_start(&t, 6, "    database:");
            tl_item(&t, " ", x->db);
            tl_end(&t);
        }
        if (x && *x->error) {
            tline t;
            tl_start(&t, 6, "    error:");
            tl_words(&t, " ", x->error);
            tl_end(&t);
        }
    }
}

static void text_wal(const cluster_view *v)
{
    const walden_wal_summary *w = v->wal;
    char stored[32], n[48], item[160];
    cli_human(w->stored_size, stored, sizeof(stored));
    if (!w->segments) {
        printf("WAL archive: empty\n");
        return;
    }
    tline t;
    tl_start(&t, 2, "WAL archive:");
    snprintf(item, sizeof(item), "%s, %s stored,", plural(w->segments, "segment", n, sizeof(n)),
             stored);
    tl_item(&t, " ", item);
    snprintf(item, sizeof(item), "%s .. %s", w->min, w->max);
    tl_item(&t, " ", item);
    tl_end(&t);
    if (w->max_time_ms) {
        char at[40], ago[32];
        cli_time(w->max_time_ms, at, sizeof(at));
        duration(age_s(w->max_time_ms), ago, sizeof(ago));
        printf("  newest stored %s (%s ago)\n", at, ago);
    }
    for (size_t i = 0; i < w->n_ranges; i++)
        printf("  timeline %u: %s .. %s (%s)\n", w->ranges[i].timeline, w->ranges[i].first,
               w->ranges[i].last, plural(w->ranges[i].segments, "segment", n, sizeof(n)));
    for (size_t i = 0; i < w->n_gaps; i++)
        printf("  GAP on timeline %u: %s .. %s missing (%s)\n", w->gaps[i].timeline,
               w->gaps[i].first, w->gaps[i].last,
               plural(w->gaps[i].segments, "segment", n, sizeof(n)));
}

static const char stray_text[] =
    "STRAY: branched off after the newest backup started and has no backup of its own (a "
    "restored copy archiving here, or a new production awaiting its first backup)";

static void text_timelines(const cluster_view *v)
{
    const walden_timelines *t = v->timelines;
    if (!t->n)
        return;
    printf("timelines:\n");
    char item[160];
    for (size_t i = 0; i < t->n; i++) {
        const walden_timeline *tl = &t->v[i];
        tline w;
        snprintf(item, sizeof(item), "  timeline %u:", tl->timeline);
        tl_start(&w, 4, item);
        if (tl->parent)
            snprintf(item, sizeof(item), "branched off timeline %u at %X/%X,", tl->parent,
                     (unsigned)(tl->branch_lsn >> 32), (unsigned)tl->branch_lsn);
        else if (tl->history_missing)
            snprintf(item, sizeof(item), "history file %08X.history MISSING,", tl->timeline);
        else if (t->history_unread && tl->has_history)
            snprintf(item, sizeof(item), "parent unknown (history files not read: no key),");
        else
            snprintf(item, sizeof(item), "the archive's first,");
        tl_words(&w, " ", item);
        snprintf(item, sizeof(item), "newest segment %s,",
                 tl->newest_wal[0] ? tl->newest_wal : "none");
        tl_item(&w, " ", item);
        snprintf(item, sizeof(item), "newest backup %s",
                 tl->newest_backup[0] ? tl->newest_backup : "none");
        tl_item(&w, " ", item);
        if (tl->parent_grows) {
            snprintf(item, sizeof(item), ", timeline %u goes on after the branch", tl->parent);
            tl_words(&w, "", item);
        }
        if (tl->stray)
            tl_words(&w, "; ", stray_text);
        tl_end(&w);
    }
    tline w;
    if (t->follow) {
        snprintf(item, sizeof(item), "restore follows timeline %u:", t->follow);
        tl_start(&w, 4, item);
    } else {
        tl_start(&w, 4, "restore refuses to choose a timeline:");
    }
    tl_words(&w, " ", t->follow_reason);
    tl_end(&w);
}

static void text_drill(const cluster_view *v)
{
    if (!v->has_drill) {
        printf("last drill: none\n");
        return;
    }
    const walden_drill_result *d = &v->last_drill;
    char at[40], item[160], val[32];
    cli_time(d->started_at_ms, at, sizeof(at));
    tline t;
    tl_start(&t, 2, "last drill:");
    snprintf(item, sizeof(item), "%s %s, %s,", d->id, at, drill_status[d->status]);
    tl_item(&t, " ", item);
    snprintf(item, sizeof(item), "backup %s,", *d->backup_id ? d->backup_id : "(none)");
    tl_item(&t, " ", item);
    duration(d->rto_seconds, val, sizeof(val));
    snprintf(item, sizeof(item), "RTO %s (target %" PRId64 " s),", val, d->rto_target_seconds);
    tl_item(&t, " ", item);
    duration(d->rpo_seconds, val, sizeof(val)); /* < 0: unknown */
    snprintf(item, sizeof(item), "RPO %s (target %" PRId64 " s)", val, d->rpo_target_seconds);
    tl_item(&t, " ", item);
    if (d->error[0])
        tl_words(&t, ": ", d->error);
    tl_end(&t);
}

static int text_cluster(walden_config *cfg)
{
    cluster_view v;
    int rc = open_view(cfg, &v);
    if (rc) {
        close_view(&v);
        return rc;
    }
    const walden_repo_info *ri = v.info;
    char item[160];
    tline t;
    tl_start(&t, 2, "cluster ");
    snprintf(item, sizeof(item), "%s: PostgreSQL %d, system identifier %" PRIu64 ",", ri->cluster,
             ri->pg_version / 10000, ri->system_id);
    tl_item(&t, "", item);
    snprintf(item, sizeof(item), "%s%s", ri->compress, ri->encrypted ? ", encrypted" : "");
    tl_item(&t, " ", item);
    tl_end(&t);
    size_t n_backups = 0;
    dump_rows dumps = {0};
    rc = walden_backup_list(v.repo, text_backup, &n_backups);
    if (!rc && n_backups == 0)
        printf("no backups\n");
    if (!rc)
        rc = walden_dump_list(v.repo, collect_dump, &dumps);
    if (!rc && dumps.n == 0)
        printf("no dumps\n");
    else if (!rc)
        text_dumps(&dumps);
    free(dumps.v);
    if (!rc) {
        text_wal(&v);
        text_timelines(&v);
        if (v.from_ms) {
            char from[40], to[40];
            cli_time(v.from_ms, from, sizeof(from));
            cli_time(v.to_ms, to, sizeof(to));
            printf("recoverable: %s .. %s\n", from, to);
        } else {
            printf("recoverable: nothing (no backup with all its WAL)\n");
        }
        text_drill(&v);
    }
    close_view(&v);
    return rc;
}

/* ---- json ---- */

/* Seconds from start to stop; null when either is unknown. */
static void json_duration(int64_t start_ms, int64_t stop_ms)
{
    if (start_ms > 0 && stop_ms >= start_ms)
        printf("%.3f", (double)(stop_ms - start_ms) / 1000.0);
    else
        printf("null");
}

/* One backup, with its chain as walden_backup_list judged it; `ctx`
 * counts the backups. */
static int json_backup(const walden_backup_info *b, void *ctx)
{
    size_t *count = ctx;
    printf("%s\n      {\"id\": ", (*count)++ ? "," : "");
    cli_json_str(b->id);
    printf(", \"type\": ");
    cli_json_str(b->type);
    printf(", \"reference\": ");
    cli_json_str(*b->reference ? b->reference : NULL);
    printf(", \"status\": ");
    cli_json_str(b->status);
    printf(", \"start_time\": ");
    cli_json_time(b->start_time_ms);
    printf(", \"stop_time\": ");
    cli_json_time(b->stop_time_ms);
    printf(", \"duration_seconds\": ");
    json_duration(b->start_time_ms, b->stop_time_ms);
    printf(", \"start_lsn\": ");
    cli_json_lsn(b->start_lsn);
    printf(", \"stop_lsn\": ");
    cli_json_lsn(b->stop_lsn);
    printf(", \"timeline\": %u, \"start_wal\": ", b->timeline);
    cli_json_str(b->start_wal);
    printf(", \"stop_wal\": ");
    cli_json_str(b->stop_wal);
    printf(", \"size\": %" PRIu64 ", \"stored_size\": %" PRIu64 ", \"file_count\": %" PRIu64
           ", \"page_errors\": %" PRIu64 ", \"chain\": [",
           b->size, b->stored_size, b->file_count, b->page_errors);
    for (size_t k = 0; k < b->chain_len; k++) {
        printf("%s", k ? ", " : "");
        cli_json_str(b->chain[k]);
    }
    printf("], \"chain_error\": ");
    cli_json_str(b->chain_error && *b->chain_error ? b->chain_error : NULL);
    printf("}");
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
    printf(", \"duration_seconds\": ");
    json_duration(d->start_time_ms, d->stop_time_ms);
    printf(", \"size\": %" PRIu64 ", \"stored_size\": %" PRIu64 ", \"pg_dump_version\": ", d->size,
           d->stored_size);
    cli_json_str(d->pg_dump_version);
    printf(", \"pg_version\": ");
    if (d->pg_version > 0)
        printf("%d", d->pg_version);
    else
        printf("null");
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
    char *own; /* the configured cluster: only its failure fails info */
} json_state;

/* Another area of the repository that cannot be read with this reader's
 * configuration (its own signing key or verify-key, another passphrase, or
 * a forgery) is named with the reason, on stderr too, and info goes on: it
 * shows nothing of it. The configured cluster's failure fails info. */
static bool other_area_failed(const json_state *js, const char *name)
{
    if (js->own && strcmp(name, js->own) == 0)
        return false;
    fprintf(stderr, "walden: warning: cluster '%s' not shown: %s\n", name,
            walden_error_last()->message);
    return true;
}

static int json_cluster(const char *name, void *ctx)
{
    json_state *js = ctx;
    if (walden_config_set(js->cfg, "cluster", name, WALDEN_SOURCE_FLAG))
        return js->rc = -1;
    cluster_view v;
    int rc = open_view(js->cfg, &v);
    if (rc) {
        close_view(&v);
        if (!other_area_failed(js, name))
            return js->rc = rc;
        printf("%s\n    {\"name\": ", js->clusters++ ? "," : "");
        cli_json_str(name);
        printf(", \"error\": ");
        cli_json_str(walden_error_last()->message);
        printf("}");
        walden_error_clear();
        return js->rc = 0;
    }
    const walden_repo_info *ri = v.info;
    printf("%s\n    {\"name\": ", js->clusters++ ? "," : "");
    cli_json_str(name);
    printf(", \"system_id\": \"%" PRIu64 "\", \"pg_version\": %d, \"pg_major\": %d, "
           "\"compress\": ",
           ri->system_id, ri->pg_version / 10000 * 10000, ri->pg_version / 10000);
    cli_json_str(ri->compress);
    printf(", \"encrypted\": %s,\n     \"backups\": [", ri->encrypted ? "true" : "false");
    size_t n_backups = 0;
    rc = walden_backup_list(v.repo, json_backup, &n_backups);
    printf("%s],\n     \"dumps\": [", n_backups ? "\n     " : "");
    int n = 0;
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
    printf("},\n     \"timelines\": [");
    const walden_timelines *t = v.timelines;
    for (size_t i = 0; i < t->n; i++) {
        const walden_timeline *tl = &t->v[i];
        printf("%s\n      {\"timeline\": %u, \"parent\": ", i ? "," : "", tl->timeline);
        if (tl->parent)
            printf("%u, \"branch_lsn\": ", tl->parent);
        else
            printf("null, \"branch_lsn\": ");
        if (tl->parent)
            cli_json_lsn(tl->branch_lsn);
        else
            printf("null");
        printf(", \"history_file\": %s, \"history_missing\": %s, \"segments\": %" PRIu64
               ", \"newest_wal\": ",
               tl->has_history ? "true" : "false", tl->history_missing ? "true" : "false",
               tl->segments);
        cli_json_str(tl->newest_wal[0] ? tl->newest_wal : NULL);
        printf(", \"newest_backup\": ");
        cli_json_str(tl->newest_backup[0] ? tl->newest_backup : NULL);
        printf(", \"parent_grows\": %s, \"grows\": %s, \"stray\": %s}",
               tl->parent_grows ? "true" : "false", tl->grows ? "true" : "false",
               tl->stray ? "true" : "false");
    }
    printf("%s],\n     \"timeline_follow\": ", t->n ? "\n     " : "");
    if (t->follow)
        printf("%u", t->follow);
    else
        printf("null");
    printf(", \"timeline_reason\": ");
    cli_json_str(t->follow_reason);
    printf(", \"timeline_history_unread\": %s", t->history_unread ? "true" : "false");
    printf(",\n     \"recovery_window\": {\"from\": ");
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
        printf(", \"rto_seconds\": %.3f, \"rpo_seconds\": ", d->rto_seconds);
        if (d->rpo_seconds >= 0)
            printf("%.3f", d->rpo_seconds);
        else
            printf("null"); /* unknown: the restored server never came up */
        printf(", \"rto_target_seconds\": %" PRId64 ", \"rpo_target_seconds\": %" PRId64
               ", \"rto_met\": %s, \"rpo_met\": %s, \"error\": ",
               d->rto_target_seconds, d->rpo_target_seconds, d->rto_met ? "true" : "false",
               d->rpo_met ? "true" : "false");
        cli_json_str(d->error[0] ? d->error : NULL);
        printf("}");
    } else {
        printf("null");
    }
    printf("}");
    close_view(&v);
    return js->rc = rc;
}

/* Text lists every cluster of the repository, as JSON does. */
static int text_one(const char *name, void *ctx)
{
    json_state *js = ctx;
    if (walden_config_set(js->cfg, "cluster", name, WALDEN_SOURCE_FLAG))
        return js->rc = -1;
    if (js->clusters++)
        putchar('\n');
    int rc = text_cluster(js->cfg);
    if (rc && other_area_failed(js, name)) {
        printf("cluster %s: not shown: %s\n", name, walden_error_last()->message);
        walden_error_clear();
        rc = 0;
    }
    return js->rc = rc;
}

static int info_text(cli_ctx *ctx)
{
    json_state js = {ctx->cfg, 0, 0, strdup(walden_config_get(ctx->cfg, "cluster"))};
    int rc = walden_repo_list_clusters(ctx->cfg, text_one, &js);
    free(js.own);
    if (rc || js.rc)
        return cli_fail(rc ? rc : js.rc);
    if (js.clusters == 0)
        printf("no cluster in the repository\n");
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}

static int info_json(cli_ctx *ctx)
{
    json_state js = {ctx->cfg, 0, 0, strdup(walden_config_get(ctx->cfg, "cluster"))};
    printf("{\"clusters\": [");
    int rc = walden_repo_list_clusters(ctx->cfg, json_cluster, &js);
    free(js.own);
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
