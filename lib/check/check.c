/*
 * check.c - walden check: is this set-up able to back up and restore?
 *
 * Each check reports once, ok or a problem with one line saying what to
 * fix. The last one is the proof that archiving works end to end: a
 * transaction, pg_switch_wal(), and the segment it closed must arrive in
 * this repository within archive-timeout. Checks that need an earlier one
 * (the server for archiving, the repository for the segment) are skipped
 * when it failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "common/common.h"
#include "pg/pg.h"
#include "repo/lock.h"
#include "repo/repo.h"

typedef struct checker {
    walden_check_cb cb;
    void *ctx;
    int problems;
} checker;

static int say(checker *k, const char *name, bool ok, const char *fmt, ...) WD_PRINTF(4, 5);
static int say(checker *k, const char *name, bool ok, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    k->problems += !ok;
    walden_check_item it = {name, ok, msg};
    return k->cb ? wd_callback_rc(k->cb(&it, k->ctx)) : 0;
}

/* A small object written, read back and removed: the store takes writes. */
static int check_writable(checker *k, walden_repo *repo)
{
    char name[96];
    snprintf(name, sizeof(name), "check/%ld-%ld", (long)getpid(), (long)time(NULL));
    char *path = wd_repo_path(repo, name);
    if (!path)
        return WALDEN_ENOMEM;
    static const char probe[] = "walden check\n";
    char *back = NULL;
    size_t len = 0;
    int rc = wd_storage_write_all(repo->storage, path, probe, sizeof(probe) - 1);
    if (!rc)
        rc = wd_storage_read_all(repo->storage, path, 1024, &back, &len);
    if (!rc && (len != sizeof(probe) - 1 || memcmp(back, probe, len) != 0))
        rc = wd_error_set(WALDEN_ECORRUPT, "what was written came back different");
    int rm = wd_storage_remove(repo->storage, path);
    wd_free(back);
    wd_free(path);
    if (rc || rm)
        return say(k, "repository-writable", false, "cannot write to repository '%s': %s",
                   repo->location, walden_error_last()->message);
    return say(k, "repository-writable", true, "repository '%s' takes writes", repo->location);
}

typedef struct tl_check {
    wd_buf msg;
    int problems;
} tl_check;

static int timeline_problem(bool notice, const char *object, const char *message, void *ctx)
{
    tl_check *c = ctx;
    (void)object;
    if (notice)
        return 0;
    wd_buf_printf(&c->msg, "%s%s", c->problems++ ? "; " : "", message);
    return 0;
}

/* The archive's timelines: one a restore can follow, each with its history
 * file, none stray (timelines.c). */
static int check_timelines(checker *k, walden_repo *repo)
{
    walden_wal_summary *sum = NULL;
    walden_timelines *t = NULL;
    tl_check c = {{0}, 0};
    int rc = walden_wal_summary_get(repo, &sum);
    if (!rc)
        rc = walden_timelines_get(repo, sum, &t);
    if (rc == WALDEN_ENOMEM)
        goto done;
    if (rc) {
        rc = say(k, "timelines", false, "%s", walden_error_last()->message);
        goto done;
    }
    wd_timeline_problems(t, timeline_problem, &c);
    if (c.msg.failed)
        rc = WALDEN_ENOMEM;
    else if (c.problems)
        rc = say(k, "timelines", false, "%s", c.msg.s);
    else if (t->history_unread)
        rc = say(k, "timelines", true, "%zu timeline%s (history files not read without the key)",
                 t->n, t->n == 1 ? "" : "s");
    else if (t->n)
        rc = say(k, "timelines", true, "%zu timeline%s; restore follows timeline %u: %s", t->n,
                 t->n == 1 ? "" : "s", t->follow, t->follow_reason);
    else
        rc = say(k, "timelines", true, "no timeline in the archive yet");
done:
    wd_free(c.msg.s);
    walden_timelines_free(t);
    walden_wal_summary_free(sum);
    return rc;
}

static int check_key(checker *k, walden_repo *repo, const walden_config *cfg)
{
    if (!repo->info.encrypted)
        return say(k, "encryption", true, "repository not encrypted");
    const char *p = walden_config_get(cfg, "encrypt-passphrase");
    const char *f = walden_config_get(cfg, "encrypt-passphrase-file");
    if ((!p || !*p) && (!f || !*f))
        return say(k, "encryption", false,
                   "no passphrase configured: archive-get and restore cannot read the "
                   "repository; set encrypt-passphrase-file");
    if (wd_repo_unlock(repo))
        return say(k, "encryption", false, "%s", walden_error_last()->message);
    return say(k, "encryption", true, "the passphrase opens the repository key");
}

/* archive_mode and archive_command as walden needs them. */
static int check_settings(checker *k, wd_pg_conn *c, bool *archiving)
{
    wd_pg_result *res;
    *archiving = false;
    int rc = wd_pg_query(c, &res,
                         "SELECT current_setting('archive_mode'), "
                         "current_setting('archive_command'), "
                         "coalesce(current_setting('archive_library', true), ''), "
                         "pg_is_in_recovery()",
                         0, NULL);
    if (rc)
        return say(k, "archive-command", false, "%s", walden_error_last()->message);
    const char *mode = wd_pg_value(res, 0, 0), *cmd = wd_pg_value(res, 0, 1),
               *lib = wd_pg_value(res, 0, 2), *standby = wd_pg_value(res, 0, 3);
    if (standby && strcmp(standby, "t") == 0)
        rc = say(k, "archive-command", false,
                 "the server is a standby: run walden check against the primary");
    else if (!mode || strcmp(mode, "off") == 0)
        rc = say(k, "archive-command", false,
                 "archive_mode is off: set archive_mode = on (needs a restart) and "
                 "archive_command = 'walden archive-push %%p'");
    else if (lib && *lib)
        rc = say(k, "archive-command", false,
                 "archive_library = '%s' is set: walden is an archive_command; set "
                 "archive_library = '' and archive_command = 'walden archive-push %%p'",
                 lib);
    else if (!cmd || !*cmd || strcmp(cmd, "(disabled)") == 0)
        rc = say(k, "archive-command", false,
                 "archive_command is not set: set archive_command = 'walden archive-push %%p'");
    else if (!strstr(cmd, "walden") || !strstr(cmd, "archive-push") || !strstr(cmd, "%p"))
        rc = say(k, "archive-command", false,
                 "archive_command = '%s' does not run walden archive-push %%p", cmd);
    else {
        *archiving = true;
        rc = say(k, "archive-command", true, "archive_command = '%s'", cmd);
    }
    wd_pg_result_free(res);
    return rc;
}

/* The proof: a new segment, forced out, arrives in this repository. */
static int check_arrival(checker *k, walden_repo *repo, wd_pg_conn *c, int64_t timeout_s)
{
    char *seg = NULL;
    /* a transaction writes WAL, so the switch closes a segment */
    int rc = wd_pg_query_one(c, "SELECT txid_current()::text", &seg);
    wd_free(seg);
    seg = NULL;
    if (!rc)
        rc = wd_pg_query_one(c, "SELECT pg_walfile_name(pg_switch_wal())", &seg);
    if (rc) {
        rc =
            say(k, "archive-arrival", false, "cannot switch WAL: %s", walden_error_last()->message);
        wd_free(seg);
        return rc;
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool present = false;
    rc = wd_wal_wait(repo, seg, &t0, timeout_s, NULL, NULL, &present);
    clock_gettime(CLOCK_MONOTONIC, &now);
    double secs = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
    if (rc)
        rc = say(k, "archive-arrival", false, "cannot look for %s in the repository: %s", seg,
                 walden_error_last()->message);
    else if (present)
        rc = say(k, "archive-arrival", true, "segment %s reached the repository in %.1f s", seg,
                 secs);
    else {
        char why[1800];
        wd_wal_why_missing(repo, c, why, sizeof(why));
        rc = say(k, "archive-arrival", false,
                 "segment %s did not reach repository '%s' (cluster '%s') within %" PRId64
                 " s: %s; does archive_command use this repository (its config file, repo "
                 "and cluster)?",
                 seg, repo->location, repo->cluster, timeout_s, why);
    }
    wd_free(seg);
    return rc;
}

int walden_check(const walden_config *cfg, walden_check_cb cb, void *ctx, int *problems)
{
    walden_error_clear();
    checker k = {cb, ctx, 0};
    walden_repo *repo = NULL;
    wd_pg_conn *c = NULL;
    int64_t timeout_s = walden_config_seconds(cfg, "archive-timeout", 60);
    int rc = 0;

    /* the repository */
    if (walden_repo_open(&repo, cfg)) {
        rc = say(&k, "repository", false, "%s", walden_error_last()->message);
        repo = NULL;
    } else {
        rc =
            say(&k, "repository", true, "repository '%s', cluster '%s', system identifier %" PRIu64,
                repo->location, repo->cluster, repo->info.system_id);
        if (!rc)
            rc = check_writable(&k, repo);
        if (!rc)
            rc = check_key(&k, repo, cfg);
    }

    /* the server */
    if (!rc) {
        if (wd_pg_connect(&c, cfg)) {
            rc = say(&k, "postgresql", false, "%s; check pghost, pgport, pguser",
                     walden_error_last()->message);
            c = NULL;
        } else {
            char *text = NULL;
            uint64_t sysid = 0;
            if (wd_pg_query_one(c, "SELECT system_identifier::text FROM pg_control_system()",
                                &text) ||
                wd_parse_uint64(text, &sysid))
                rc = say(&k, "postgresql", false, "cannot read the system identifier: %s",
                         walden_error_last()->message);
            else if (repo && sysid != repo->info.system_id)
                rc = say(&k, "postgresql", false,
                         "the server is cluster %" PRIu64 ", but the repository's cluster '%s' "
                         "is %" PRIu64 ": wrong server, or wrong cluster option",
                         sysid, repo->cluster, repo->info.system_id);
            else
                rc = say(&k, "postgresql", true, "PostgreSQL %d.%d, system identifier %" PRIu64,
                         wd_pg_server_version(c) / 10000, wd_pg_server_version(c) % 10000, sysid);
            wd_free(text);
        }
    }
    bool archiving = false;
    if (!rc && c)
        rc = check_settings(&k, c, &archiving);
    if (!rc && c && archiving && repo && k.problems == 0)
        rc = check_arrival(&k, repo, c, timeout_s);
    else if (!rc && c && archiving) {
        /* what archive-push met may be the problem above (segments of
         * another cluster, say) seen from the other side */
        char pushed[700];
        wd_lock_place at;
        if (repo)
            wd_repo_lock_place(repo, &at);
        else
            wd_lock_place_of_config(cfg, &at);
        wd_push_failure_describe(&at, pushed, sizeof(pushed));
        rc = say(&k, "archive-arrival", false, "not tried: fix the problems above first%s", pushed);
    }
    if (!rc && repo)
        rc = check_timelines(&k, repo);
    wd_pg_close(c);
    walden_repo_close(repo);
    if (problems)
        *problems = k.problems;
    return rc;
}

/* Sets out->data_lsn: the flushed position, or the start of its segment
 * when the segment holds so far only records without data (an idle
 * server's snapshots, which archive_timeout never switches out). Reading
 * the segment needs pg_read_server_files (or a superuser); without it the
 * flushed position stands. */
static void data_position(wd_pg_conn *c, const char *file, walden_archiver_state *out)
{
    out->data_lsn = out->flush_lsn;
    char *text = NULL;
    uint64_t seg_size = 0;
    if (wd_pg_query_one(c, "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'",
                        &text) ||
        wd_parse_uint64(text, &seg_size) || seg_size == 0) {
        walden_error_clear();
        wd_free(text);
        return;
    }
    wd_free(text);
    uint64_t start = out->flush_lsn - out->flush_lsn % seg_size, len = out->flush_lsn - start;
    if (len == 0 || len > 8192)
        return;
    char n[32];
    snprintf(n, sizeof(n), "%" PRIu64, len);
    const char *params[] = {file, n};
    wd_pg_result *res = NULL;
    if (wd_pg_query(c, &res,
                    "SELECT encode(pg_read_binary_file('pg_wal/' || $1, 0, $2::int8), 'hex')", 2,
                    params)) {
        wd_log_info("cannot read the server's current WAL segment: %s",
                    walden_error_last()->message);
        walden_error_clear();
        return;
    }
    const char *hex = wd_pg_value(res, 0, 0);
    uint8_t buf[8192]; /* len <= 8192, above */
    if (hex && wd_hex_decode(hex, buf, len) == 0 && wd_wal_tail_is_quiet(buf, len))
        out->data_lsn = start;
    walden_error_clear(); /* a short or odd answer: the flushed position stands */
    wd_pg_result_free(res);
}

int walden_archiver_state_get(const walden_config *cfg, walden_archiver_state *out)
{
    int rc = WD_RESULT_START(out, WALDEN_ARCHIVER_STATE_VERSION, "walden_archiver_state");
    if (rc)
        return rc;
    wd_pg_conn *c = NULL;
    wd_pg_result *res = NULL;
    rc = wd_pg_connect(&c, cfg);
    /* on a standby there is no flushed WAL of its own to compare: '' */
    if (!rc)
        rc = wd_pg_query(c, &res,
                         "SELECT archived_count, failed_count, coalesce(last_archived_wal, ''), "
                         "coalesce(last_failed_wal, ''), "
                         "coalesce((extract(epoch from last_archived_time) * 1000)::bigint, 0), "
                         "coalesce((extract(epoch from last_failed_time) * 1000)::bigint, 0), "
                         "(SELECT system_identifier::text FROM pg_control_system()), "
                         "CASE WHEN pg_is_in_recovery() THEN '' "
                         "ELSE pg_current_wal_flush_lsn()::text END, "
                         "CASE WHEN pg_is_in_recovery() THEN '' "
                         "ELSE pg_walfile_name(pg_current_wal_flush_lsn()) END "
                         "FROM pg_stat_archiver",
                         0, NULL);
    if (!rc) {
        int64_t a = 0, f = 0;
        const char *lsn = wd_pg_value(res, 0, 7), *file = wd_pg_value(res, 0, 8);
        wd_wal_name wn = {0};
        if (wd_parse_uint64(wd_pg_value(res, 0, 0), &out->archived_count) ||
            wd_parse_uint64(wd_pg_value(res, 0, 1), &out->failed_count) ||
            wd_parse_int64(wd_pg_value(res, 0, 4), 0, INT64_MAX, &a) ||
            wd_parse_int64(wd_pg_value(res, 0, 5), 0, INT64_MAX, &f) ||
            wd_parse_uint64(wd_pg_value(res, 0, 6), &out->system_id) ||
            (*lsn && (wd_lsn_parse(lsn, &out->flush_lsn) || wd_wal_name_parse(file, &wn))))
            rc = wd_error_set(WALDEN_EPG, "unexpected answer from pg_stat_archiver");
        else if (*lsn) {
            out->timeline = wn.tli;
            data_position(c, file, out);
        }
        snprintf(out->last_archived_wal, sizeof(out->last_archived_wal), "%s",
                 wd_pg_value(res, 0, 2));
        snprintf(out->last_failed_wal, sizeof(out->last_failed_wal), "%s", wd_pg_value(res, 0, 3));
        out->last_archived_ms = a;
        out->last_failed_ms = f;
    }
    wd_pg_result_free(res);
    wd_pg_close(c);
    return rc;
}
