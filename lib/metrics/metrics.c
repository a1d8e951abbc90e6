/*
 * metrics.c - walden metrics: the state of a cluster's backups, dumps, WAL
 * archive and drills in Prometheus' text format (for node_exporter's
 * textfile collector), every metric with its HELP and TYPE lines and a
 * `cluster` label. Names and meanings: docs/commands/metrics.md.
 *
 * Everything comes from the repository (no passphrase needed); the
 * archiver's counters come from the server when it answers, and
 * walden_archiver_up says whether it did.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "common/common.h"
#include "common/prom.h"
#include "repo/lock.h"
#include "repo/repo.h"

static double secs(int64_t ms)
{
    return (double)ms / 1000.0;
}

/* Seconds from `then` to `now`, never negative: a store whose clock runs
 * ahead of this host's (or that rounds its times up to the second, as
 * Swift does) would otherwise report an age below zero. */
static double age(int64_t now, int64_t then)
{
    return now > then ? secs(now - then) : 0.0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The newest dump of each database (ok or not), by stop time. */
static void dump_metrics(wd_prom *m, wd_dump_meta **d, size_t n, int64_t now)
{
    static const struct {
        const char *name, *help;
    } heads[] = {
        {"dump_last_timestamp_seconds", "When the newest dump of the database ended (Unix time)."},
        {"dump_last_age_seconds", "Seconds since the newest dump of the database ended."},
        {"dump_last_ok", "1 when the newest dump of the database is usable, 0 when it failed."},
        {"dump_last_size_bytes", "Bytes pg_dump wrote for the newest dump of the database."},
        {"dump_last_stored_bytes",
         "Bytes the newest dump of the database takes in the repository."},
        {"dump_last_duration_seconds", "How long the newest dump of the database took."},
    };
    for (size_t h = 0; h < WD_ARRAY_LEN(heads); h++) {
        wd_prom_head(m, heads[h].name, heads[h].help);
        for (size_t i = 0; i < n; i++) {
            const walden_dump_info *x = &d[i]->pub;
            const char *db = strcmp(x->kind, "globals") == 0 ? "(globals)" : x->database;
            bool newest = true; /* no later dump of the same database */
            for (size_t j = i + 1; j < n && newest; j++) {
                const walden_dump_info *y = &d[j]->pub;
                newest = strcmp(y->kind, x->kind) != 0 || strcmp(y->database, x->database) != 0;
            }
            if (!newest)
                continue;
            double v = h == 0   ? secs(x->stop_time_ms)
                       : h == 1 ? age(now, x->stop_time_ms)
                       : h == 2 ? (strcmp(x->status, "ok") == 0)
                       : h == 3 ? (double)x->size
                       : h == 4 ? (double)x->stored_size
                                : secs(x->stop_time_ms - x->start_time_ms);
            const char *labels[] = {"database", db, NULL};
            wd_prom_sample(m, heads[h].name, labels, v);
        }
    }
}

/* Per type (full, diff, incr): how many, and the newest one's end, age and
 * stored bytes; then the chains: how many backups cannot be restored
 * because theirs does not reach a full, and the newest backup's length. */
static void type_metrics(wd_prom *m, wd_backup_meta **b, size_t n, int64_t now)
{
    static const char *const types[] = {"full", "diff", "incr"};
    long newest[3] = {-1, -1, -1};
    double count[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < 3; t++)
            if (strcmp(b[i]->type, types[t]) == 0) {
                count[t]++;
                newest[t] = (long)i; /* listed oldest first */
            }
    wd_prom_head(m, "backups_by_type", "Complete backups of the type (full, diff, incr).");
    for (size_t t = 0; t < 3; t++)
        wd_prom_sample(m, "backups_by_type", (const char *[]){"type", types[t], NULL}, count[t]);
    static const struct {
        const char *name, *help;
    } heads[] = {
        {"backup_type_last_timestamp_seconds", "When the newest backup of the type ended (Unix "
                                               "time)."},
        {"backup_type_last_age_seconds", "Seconds since the newest backup of the type ended."},
        {"backup_type_last_stored_bytes",
         "Bytes the newest backup of the type takes in the repository (its own objects)."},
    };
    for (size_t h = 0; h < WD_ARRAY_LEN(heads); h++) {
        wd_prom_head(m, heads[h].name, heads[h].help);
        for (size_t t = 0; t < 3; t++) {
            if (newest[t] < 0)
                continue;
            const walden_backup_info *x = &b[newest[t]]->pub;
            double v = h == 0   ? secs(x->stop_time_ms)
                       : h == 1 ? age(now, x->stop_time_ms)
                                : (double)x->stored_size;
            wd_prom_sample(m, heads[h].name, (const char *[]){"type", types[t], NULL}, v);
        }
    }
    size_t broken = 0, length = 0;
    for (size_t i = 0; i < n; i++) {
        char why[256];
        if (wd_backup_chain(b, n, i, NULL, NULL, i + 1 == n ? &length : NULL, why, sizeof(why)))
            broken++;
    }
    wd_prom_gauge(m, "backups_chain_broken",
                  "Backups that cannot be restored: their chain of references does not reach a "
                  "full backup (one is missing or damaged).",
                  (double)broken);
    wd_prom_gauge(m, "backup_last_chain_length",
                  "Backups a restore of the newest one reads: 1 for a full, more for a diff or "
                  "incr and the backups it refers to.",
                  (double)length);
}

typedef struct drill_last {
    int found;
    walden_drill_result r;
} drill_last;

static int keep_last(const walden_drill_result *r, void *ctx)
{
    drill_last *d = ctx;
    d->found = 1;
    d->r = *r; /* numbers only are used: the strings die with the callback */
    return 0;
}

int walden_metrics(walden_repo *repo, const walden_config *cfg, char **out)
{
    walden_error_clear();
    wd_prom m = {.prefix = "walden_", .cluster = repo->cluster, .decimals = -1};
    wd_backup_meta **backups = NULL;
    wd_dump_meta **dumps = NULL;
    size_t nb = 0, nd = 0;
    walden_wal_summary *wal = NULL;
    int64_t from_ms = 0, to_ms = 0, now = now_ms();
    drill_last dl = {0};
    int rc;
    /* a damaged entry fails the metrics, naming it (catalog.h) */
    wd_catalog_damage damage = {0};
    if ((rc = wd_backup_list_meta(repo, &backups, &nb, &damage)) ||
        (rc = wd_dump_list_meta(repo, &dumps, &nd, &damage)) ||
        (rc = wd_catalog_refuse(&damage, NULL)) || (rc = walden_wal_summary_get(repo, &wal)) ||
        (rc = walden_recovery_window(repo, wal, &from_ms, &to_ms)) ||
        (rc = walden_drill_history(repo, keep_last, &dl)))
        goto done;

    wd_prom_gauge(&m, "up", "1: walden read the repository (this file is current).", 1);
    wd_prom_gauge(&m, "metrics_timestamp_seconds", "When these metrics were taken (Unix time).",
                  secs(now));

    /* backups: the newest (listed oldest first) */
    uint64_t stored = wal->stored_size;
    for (size_t i = 0; i < nb; i++)
        stored += backups[i]->pub.stored_size;
    for (size_t i = 0; i < nd; i++)
        stored += dumps[i]->pub.stored_size;
    wd_prom_gauge(&m, "backups", "Complete backups in the repository.", (double)nb);
    if (nb) {
        const walden_backup_info *b = &backups[nb - 1]->pub;
        wd_prom_gauge(&m, "backup_last_timestamp_seconds",
                      "When the newest backup ended (Unix time).", secs(b->stop_time_ms));
        wd_prom_gauge(&m, "backup_last_age_seconds", "Seconds since the newest backup ended.",
                      age(now, b->stop_time_ms));
        wd_prom_gauge(&m, "backup_last_size_bytes", "Bytes of the newest backup's files.",
                      (double)b->size);
        wd_prom_gauge(&m, "backup_last_stored_bytes",
                      "Bytes the newest backup takes in the repository.", (double)b->stored_size);
        wd_prom_gauge(&m, "backup_last_duration_seconds", "How long the newest backup took.",
                      secs(b->stop_time_ms - b->start_time_ms));
        wd_prom_gauge(&m, "backup_last_page_errors",
                      "Data pages of the newest backup that failed their checksum.",
                      (double)b->page_errors);
        type_metrics(&m, backups, nb, now);
    }
    wd_prom_gauge(&m, "dumps", "Recorded dumps, failed ones included.", (double)nd);
    if (nd)
        dump_metrics(&m, dumps, nd, now);

    wd_prom_gauge(&m, "wal_segments", "WAL segments in the archive.", (double)wal->segments);
    wd_prom_gauge(&m, "wal_gaps", "Runs of segments missing between two runs of a timeline.",
                  (double)wal->n_gaps);
    if (wal->max_time_ms) {
        wd_prom_gauge(&m, "wal_newest_timestamp_seconds",
                      "When the newest WAL segment was stored (Unix time).",
                      secs(wal->max_time_ms));
        wd_prom_gauge(&m, "wal_newest_age_seconds",
                      "Seconds since the newest WAL segment was stored (grows on an idle cluster "
                      "too: walden_wal_exposure_seconds says what is at risk).",
                      age(now, wal->max_time_ms));
    }
    int64_t retention = walden_config_seconds(cfg, "retention", -1);
    if (retention >= 0)
        wd_prom_gauge(&m, "retention_seconds",
                      "The configured retention: how far back every point in time should stay "
                      "restorable.",
                      (double)retention);
    walden_error_clear();
    wd_prom_gauge(&m, "repository_stored_bytes",
                  "Bytes of backups, dumps and WAL in the repository.", (double)stored);
    if (from_ms) {
        wd_prom_gauge(&m, "recovery_window_start_timestamp_seconds",
                      "The earliest time a restore can reach (Unix time).", secs(from_ms));
        wd_prom_gauge(&m, "recovery_window_end_timestamp_seconds",
                      "The latest time a restore can reach, approximately (Unix time).",
                      secs(to_ms));
    }

    /* the server's archiver, when it answers and is this cluster */
    walden_archiver_state as = WALDEN_ARCHIVER_STATE_INIT;
    int up = walden_archiver_state_get(cfg, &as) == 0;
    if (!up)
        wd_log_info("metrics: no archiver counters: %s", walden_error_last()->message);
    else if (as.system_id != repo->info.system_id) {
        wd_log_warn("metrics: the server is cluster %" PRIu64 ", not the repository's %" PRIu64
                    ": its archiver is left out",
                    as.system_id, repo->info.system_id);
        up = 0;
    }
    walden_error_clear();
    wd_prom_gauge(&m, "archiver_up", "1 when the cluster's server answered for pg_stat_archiver.",
                  up);
    if (up) {
        wd_prom_gauge(&m, "archiver_archived", "WAL files the server archived (pg_stat_archiver).",
                      (double)as.archived_count);
        wd_prom_gauge(&m, "archiver_failed",
                      "Failed archive attempts the server counted (pg_stat_archiver).",
                      (double)as.failed_count);
        if (as.last_failed_ms)
            wd_prom_gauge(&m, "archiver_last_failed_timestamp_seconds",
                          "When archiving last failed (Unix time).", secs(as.last_failed_ms));
    }
    /* WAL the server flushed that the archive lacks: on an idle server
     * whose last segment was archived there is none, however old that
     * segment is (a standby has no flushed WAL of its own: left out) */
    if (up && as.timeline) {
        uint64_t end = wd_wal_archived_end(wal, as.timeline);
        uint64_t lag = as.data_lsn > end ? as.data_lsn - end : 0;
        wd_prom_gauge(
            &m, "wal_unarchived_bytes",
            "Bytes of WAL with data the server flushed beyond the newest archived segment "
            "of its timeline.",
            (double)lag);
        if (lag == 0 || (end && wal->max_time_ms && as.timeline == wd_wal_newest_timeline(wal)))
            wd_prom_gauge(
                &m, "wal_exposure_seconds",
                "0 when the archive holds all the WAL the server flushed, else the seconds "
                "since the newest segment was stored: the writes a restore would lose now.",
                lag == 0 ? 0.0 : age(now, wal->max_time_ms));
    }

    /* walden's own record of why archive-push last failed */
    walden_push_failure pf = WALDEN_PUSH_FAILURE_INIT;
    wd_lock_place at;
    wd_repo_lock_place(repo, &at);
    if (wd_push_failure_read(&at, &pf) == 0) {
        wd_prom_head(&m, "archive_push_last_failure_timestamp_seconds",
                     "When walden archive-push last failed (Unix time), with the segment and "
                     "the reason; absent after a success.");
        /* a time_t below 10^15 prints as the integer it is */
        const char *labels[] = {"segment", pf.segment, "reason", pf.reason, NULL};
        wd_prom_sample(&m, "archive_push_last_failure_timestamp_seconds", labels, (double)pf.time);
    }
    walden_error_clear();

    if (dl.found) {
        wd_prom_gauge(&m, "drill_last_status",
                      "The newest drill: 0 passed, 1 failed, 2 targets missed.",
                      (double)dl.r.status);
        wd_prom_gauge(&m, "drill_last_timestamp_seconds",
                      "When the newest drill ended (Unix time).", secs(dl.r.finished_at_ms));
        wd_prom_gauge(&m, "drill_last_rto_seconds", "The newest drill's achieved recovery time.",
                      dl.r.rto_seconds);
        if (dl.r.rpo_seconds >= 0)
            wd_prom_gauge(&m, "drill_last_rpo_seconds",
                          "The newest drill's achieved recovery point.", dl.r.rpo_seconds);
    }
    if (!(*out = wd_buf_take(&m.b)))
        rc = WALDEN_ENOMEM;
done:
    wd_catalog_damage_free(&damage);
    wd_free(m.b.s);
    wd_backup_list_free(backups, nb);
    wd_dump_list_free(dumps, nd);
    walden_wal_summary_free(wal);
    return rc;
}

int walden_metrics_write(const char *path, const char *text)
{
    return wd_file_write_atomic(path, text, WD_MODE_METRICS_FILE);
}

void walden_free(void *p)
{
    wd_free(p);
}
