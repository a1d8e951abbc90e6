/*
 * drill.c - walden drill: restore a backup into a scratch directory, start
 * a throwaway PostgreSQL on it, check it, time it, remove it.
 *
 * The drill runs in steps: choose the backup, restore it (wd_restore_run,
 * tablespaces mapped into the scratch directory), configure the server,
 * start it with pg_ctl, wait until it accepts connections (hot_standby is
 * off, so that happens only once recovery has ended and the server has
 * promoted), check, stop, clean up, report. The server is server.c's, the
 * checks checks.c's, the report and record report.c's and record.c's;
 * this file holds the order of the steps, the verdict and cancellation.
 *
 * Cancellation is per drill: the caller's walden_drill_canceller (an
 * atomic flag, and the postmaster's pid once known) is looked at between
 * steps, by the restore's workers before each file, and every 100 ms while
 * the server starts; walden_drill_cancel sends the server SIGQUIT at once.
 * Nothing here is process-wide, so drills may run in several threads.
 *
 * Phases are measured on the monotonic clock, except the end of WAL
 * replay, which only the server knows: its log line "redo done at" carries
 * the time (log_line_prefix '%m', UTC), mapped onto the monotonic clock.
 *
 * RPO: what a restore to the end of the archive would lose had the source
 * died when the drill started. As the drill starts it reads the source
 * server's flushed WAL position (when it is reachable, a primary of this
 * cluster on the archive's newest timeline); once the restored server has
 * promoted, where its replay ended (pg_last_wal_replay_lsn(), on the
 * timeline its new history file names). When the replay reached the
 * source's position on its timeline, every write made before the drill
 * started was restored: RPO 0, however long ago the last commit was (an
 * idle cluster, whose last segment archive_timeout had switched and
 * archived). Otherwise the bound in time: pg_last_xact_replay_timestamp()
 * keeps, after promotion, the commit time of the last transaction
 * replayed; the recovered point is the newer of that and the backup's stop
 * time, and RPO = drill start - recovered point, an upper bound of the
 * loss. A drill to a --target-time is measured that way only.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "common/common.h"
#include "common/lock.h"
#include "drill/drill.h"
#include "repo/lock.h"
#include "repo/repo.h"
#include "restore/recovery.h"

/* walden_drill_cancel runs in signal handlers: its atomics must not lock */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the drill's canceller needs lock-free atomic ints");

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- cancellation (async-signal-safe) ---- */

int walden_drill_canceller_new(walden_drill_canceller **out)
{
    walden_drill_canceller *c = wd_calloc(1, sizeof(*c));
    if (!c)
        return WALDEN_ENOMEM;
    atomic_init(&c->cancelled, 0);
    atomic_init(&c->server_pid, 0);
    *out = c;
    return 0;
}

void walden_drill_canceller_free(walden_drill_canceller *c)
{
    wd_free(c);
}

void walden_drill_cancel(walden_drill_canceller *c)
{
    if (!c)
        return;
    atomic_store(&c->cancelled, 1);
    pid_t p = (pid_t)atomic_load(&c->server_pid);
    int saved = errno; /* a signal handler's caller keeps its errno */
    if (p > 0)
        kill(p, SIGQUIT); /* immediate shutdown: a running check fails at once */
    errno = saved;
}

static bool cancelled(const wd_drill *d)
{
    return wd_drill_cancelled(d->cancel);
}

/* The restore's question between files (wd_restore_run). */
static bool restore_cancelled(void *ctx)
{
    return cancelled(ctx);
}

/* Records the first failure of the drill (its message from the last
 * error, with a prefix saying which step). */
static int drill_fail(wd_drill *d, int rc, const char *step)
{
    if (!*d->res->pub.error) {
        const char *msg = walden_error_last()->message;
        char *text = wd_asprintf("%s: %s", step, *msg ? msg : walden_error_name(rc));
        if (text) {
            for (char *p = text; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            wd_free((void *)d->res->pub.error);
            d->res->pub.error = text;
        }
    }
    d->res->pub.status = WALDEN_DRILL_FAILED;
    return rc;
}

/* Tells the caller's progress which step runs (it limits its own rate). */
static void phase(wd_drill *d, const char *name)
{
    walden_progress p = {name, 0, 0, 0, 0};
    if (d->params->progress)
        d->params->progress(&p, d->params->progress_ctx);
}

/* ---- preparing ---- */

static int make_scratch(wd_drill *d)
{
    int rc = wd_drill_server_scratch(&d->srv, walden_config_get(d->cfg, "scratch-dir"),
                                     d->repo->cluster);
    return rc ? rc : wd_drill_set_str(&d->res->pub.scratch_dir, d->srv.scratch);
}

static int choose_backup(wd_drill *d, const wd_target *t)
{
    wd_backup_meta **metas;
    size_t n;
    int rc = wd_backup_list_usable(d->repo, d->params->set, &metas, &n);
    if (rc)
        return rc;
    /* the timeline first: a drill follows the one a restore would */
    walden_timelines *tls = NULL;
    uint32_t follow = 0;
    char why[1100];
    if ((rc = wd_timeline_for_restore(d->repo, t->timeline, &tls, &follow, why, sizeof(why)))) {
        wd_backup_list_free(metas, n);
        return rc;
    }
    const char *set = d->params->set;
    wd_backup_meta *pick = NULL;
    for (size_t i = n; i-- > 0 && !pick && !rc;) {
        wd_backup_meta *m = metas[i];
        if (set && *set)
            pick = strcmp(m->id, set) == 0 ? m : NULL;
        else if (t->kind == WD_TARGET_TIME)
            pick = m->pub.stop_time_ms <= t->time_ms ? m : NULL;
        else if (t->kind == WD_TARGET_LSN)
            pick = m->pub.stop_lsn <= t->lsn ? m : NULL;
        else
            pick = m;
        int skip = pick ? wd_timeline_skip(tls, m->id, m->pub.timeline, m->pub.stop_lsn, follow,
                                           set && *set)
                        : 0;
        if (skip < 0)
            rc = skip;
        if (skip)
            pick = NULL;
    }
    if (rc) {
        /* the message is set */
    } else if (!pick) {
        if (set && *set)
            rc = wd_error_set(WALDEN_ENOTFOUND, "backup '%s' does not exist in cluster '%s'", set,
                              d->repo->cluster);
        else if (n == 0)
            rc = wd_error_set(WALDEN_ENOTFOUND, "cluster '%s' has no backup", d->repo->cluster);
        else
            rc = wd_error_set(WALDEN_ENOTFOUND, "no backup ends before the target '%s'", t->value);
    } else {
        memcpy(&d->meta, pick, sizeof(d->meta));
        d->meta.pgdata = pick->pgdata ? wd_strdup(pick->pgdata) : NULL;
        d->meta.owner = pick->owner ? wd_strdup(pick->owner) : NULL;
        wd_backup_meta_link(&d->meta);
        d->have_meta = true;
        d->srv.pg_version = d->meta.pub.pg_version;
        rc = wd_drill_set_str(&d->res->pub.backup_id, d->meta.id);
        if (!rc && !(rc = wd_drill_set_str(&d->res->pub.backup_type, d->meta.type)))
            rc = wd_drill_set_str(&d->res->pub.backup_reference, d->meta.reference);
        if (!rc && *d->meta.reference)
            wd_log_info("drill: backup %s is %s %s of %s: its chain is restored with it",
                        d->meta.id, strcmp(d->meta.type, "incr") == 0 ? "an" : "a", d->meta.type,
                        d->meta.reference);
        wd_log_info("drill follows timeline %u: %s", follow ? follow : pick->pub.timeline, why);
    }
    wd_backup_list_free(metas, n);
    walden_timelines_free(tls);
    return rc;
}

typedef struct ts_ctx {
    wd_drill *d;
    wd_buf map;
} ts_ctx;

static int ts_entry(const wd_manifest_entry *e, void *ctx)
{
    ts_ctx *t = ctx;
    if (e->type != 'l' || !wd_str_starts_with(e->path, "pg_tblspc/"))
        return 0;
    const char *oid = e->path + 10;
    if (!*oid || strspn(oid, "0123456789") != strlen(oid))
        return 0;
    wd_buf_printf(&t->map, "%s%s=%s/tablespaces/%s", t->map.len ? "\n" : "", oid, t->d->srv.scratch,
                  oid);
    return 0;
}

/* Every tablespace goes into the scratch directory: never where the
 * backed-up cluster keeps it (that may be this very machine). */
static int tablespace_map(wd_drill *d)
{
    ts_ctx t = {d, {0}};
    wd_backup_meta m = {0};
    int rc = wd_backup_read_manifest(d->repo, d->meta.id, &m, ts_entry, &t);
    wd_backup_meta_clear(&m);
    if (!rc && t.map.failed)
        rc = WALDEN_ENOMEM;
    if (rc) {
        wd_free(t.map.s);
        return rc;
    }
    d->ts_map = t.map.s;
    if (d->ts_map) {
        char *dir = wd_path_join(d->srv.scratch, "tablespaces");
        if (!dir)
            return WALDEN_ENOMEM;
        if (mkdir(dir, 0700) != 0 || (d->srv.as_user && chown(dir, d->srv.uid, d->srv.gid) != 0))
            rc = wd_error_set_errno(errno, "cannot create '%s'", dir);
        wd_free(dir);
    }
    return rc;
}

/* The restore's configuration: the caller's, with the scratch data
 * directory, the chosen backup, the tablespaces mapped into the scratch
 * directory, and promotion at the target. */
/* A copy of every option set in `cfg`, with its source. */
static int config_copy(const walden_config *cfg, walden_config **out)
{
    walden_config *copy;
    int rc = walden_config_new(&copy);
    if (rc)
        return rc;
    for (const walden_option_info *o = walden_option_list(); !rc && o->name; o++) {
        walden_config_source src = walden_config_source_of(cfg, o->name);
        const char *v = walden_config_get(cfg, o->name);
        if (src != WALDEN_SOURCE_DEFAULT && v && *v)
            rc = walden_config_set(copy, o->name, v, src);
    }
    if (rc) {
        walden_config_free(copy);
        return rc;
    }
    *out = copy;
    return 0;
}

static int restore_config(wd_drill *d, const wd_target *t, walden_config **out)
{
    walden_config *rc_cfg;
    int rc = config_copy(d->cfg, &rc_cfg);
    if (rc)
        return rc;
    if (!rc)
        rc = walden_config_set(rc_cfg, "pgdata", d->srv.pgdata, WALDEN_SOURCE_FLAG);
    if (!rc)
        rc = walden_config_set(rc_cfg, "set", d->meta.id, WALDEN_SOURCE_FLAG);
    if (!rc && d->ts_map)
        rc = walden_config_set(rc_cfg, "tablespace-map", d->ts_map, WALDEN_SOURCE_FLAG);
    if (!rc && t->kind != WD_TARGET_END)
        rc = walden_config_set(rc_cfg, "target-action", "promote", WALDEN_SOURCE_FLAG);
    /* a drill recovers and ends recovery, never as a standby */
    if (!rc)
        rc = walden_config_set(rc_cfg, "type", "default", WALDEN_SOURCE_FLAG);
    if (rc) {
        walden_config_free(rc_cfg);
        return rc;
    }
    *out = rc_cfg;
    return 0;
}

/* ---- the drill ---- */

static int drill_id(char out[32], int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return strftime(out, 32, "%Y%m%dT%H%M%SZ", &tm) ? 0 : WALDEN_ERROR;
}

/* Everything up to the checks; a failure is recorded in the result. */
static int drill_run(wd_drill *d, const wd_target *t)
{
    walden_drill_result *p = &d->res->pub;
    int rc;
    if ((rc = choose_backup(d, t)))
        return drill_fail(d, rc, "no backup to restore");
    if ((rc = wd_drill_server_user(&d->srv, d->meta.owner)))
        return drill_fail(d, rc, "cannot run the server");
    if ((rc = make_scratch(d)))
        return drill_fail(d, rc, "cannot prepare the scratch directory");
    if (d->repo->info.encrypted && (rc = wd_repo_unlock(d->repo)))
        return drill_fail(d, rc, "restore failed");
    if ((rc = tablespace_map(d)))
        return drill_fail(d, rc, "restore failed");
    walden_config *rcfg;
    if ((rc = restore_config(d, t, &rcfg)))
        return drill_fail(d, rc, "restore failed");
    wd_log_info("drill %s: restoring backup %s into '%s'", p->id, d->meta.id, d->srv.pgdata);
    walden_restore_result rr = WALDEN_RESTORE_RESULT_INIT;
    rc = wd_restore_run(d->repo, rcfg, d->params->restore_command, d->params->progress,
                        d->params->progress_ctx, &rr, restore_cancelled, d);
    walden_config_free(rcfg);
    if (rc)
        return drill_fail(d, rc, "restore failed");
    p->timeline = rr.timeline;
    if ((rc = wd_drill_set_str(&d->res->pub.timeline_reason, rr.timeline_reason)))
        return drill_fail(d, rc, "restore failed");
    if (cancelled(d))
        return wd_error_set(WALDEN_ERROR, "the drill was interrupted");
    if ((rc = wd_drill_server_own(&d->srv)))
        return drill_fail(d, rc, "restore failed");
    double t_restored = wd_drill_mono();
    int64_t w_restored = wall_ms();
    p->restore_seconds = t_restored - d->t_begin;

    if ((rc = wd_drill_server_configure(&d->srv)))
        return drill_fail(d, rc, "cannot configure the server");
    wd_log_info("drill %s: starting PostgreSQL on '%s' as '%s'", p->id, d->srv.pgdata, d->srv.user);
    if ((rc = wd_drill_server_start(&d->srv)))
        return drill_fail(d, rc, "the server did not start");
    rc = wd_drill_server_wait(&d->srv);
    double t_ready = wd_drill_mono();
    int64_t redo = wd_drill_server_redo_done_ms(&d->srv);
    double t_redo = redo ? t_restored + (double)(redo - w_restored) / 1000.0 : t_ready;
    if (t_redo < t_restored)
        t_redo = t_restored;
    if (t_redo > t_ready)
        t_redo = t_ready;
    p->replay_seconds = t_redo - t_restored;
    p->startup_seconds = t_ready - t_redo;
    if (rc)
        return cancelled(d) ? rc : drill_fail(d, rc, "recovery failed");
    if ((rc = wd_drill_first_connection(d)))
        return cancelled(d) ? rc : drill_fail(d, rc, "recovery failed");
    wd_log_info("drill %s: recovered to %" PRId64 ", running the checks", p->id,
                p->recovered_to_ms);
    phase(d, "checks");
    rc = wd_drill_run_checks(d);
    p->checks_seconds = wd_drill_mono() - t_ready;
    if (rc && cancelled(d))
        return rc;
    if (rc)
        return drill_fail(d, rc, "the checks could not run");
    return 0;
}

/* ---- the dump drill ---- */

typedef struct dump_pick {
    const char *set;
    const char *const *dbnames; /* none: any database */
    size_t n_dbnames;
    char id[128], database[256];
    int64_t start_ms;
    int pg_version;
    bool found, usable;
} dump_pick;

static bool named(const dump_pick *p, const char *database)
{
    for (size_t i = 0; i < p->n_dbnames; i++)
        if (strcmp(database, p->dbnames[i]) == 0)
            return true;
    return p->n_dbnames == 0;
}

static int dump_cb(const walden_dump_info *di, void *ctx)
{
    dump_pick *p = ctx;
    bool match = p->set && *p->set ? strcmp(di->id, p->set) == 0
                                   : strcmp(di->kind, "database") == 0 &&
                                         strcmp(di->status, "ok") == 0 && named(p, di->database);
    if (!match)
        return 0; /* the list is oldest first: the last match is the newest */
    /* without a name, the postgres database (often empty) is drilled only
     * when its run dumped no other database */
    if (!(p->set && *p->set) && p->n_dbnames == 0 && p->found &&
        strcmp(di->database, "postgres") == 0 && strcmp(p->database, "postgres") != 0 &&
        strncmp(di->id, p->id, 16) == 0)
        return 0;
    p->found = true;
    p->usable = strcmp(di->kind, "database") == 0 && strcmp(di->status, "ok") == 0;
    snprintf(p->id, sizeof(p->id), "%s", di->id);
    snprintf(p->database, sizeof(p->database), "%s", di->database);
    p->start_ms = di->start_time_ms;
    p->pg_version = di->pg_version;
    return 0;
}

/* The configuration of walden_dump_restore into the scratch server. */
static int dump_config(wd_drill *d, const char *id, bool globals, const char *database,
                       walden_config **out)
{
    walden_config *c;
    int rc = config_copy(d->cfg, &c);
    const char *const kv[][2] = {{"pghost", d->srv.sock},
                                 {"pgport", WD_DRILL_PORT},
                                 {"pguser", d->superuser},
                                 {"pgdatabase", "postgres"},
                                 {"set", id},
                                 {"globals", globals ? "y" : "n"},
                                 /* initdb made these two, empty */
                                 {"create", database && (strcmp(database, "postgres") == 0 ||
                                                         strcmp(database, "template1") == 0)
                                                ? "n"
                                                : "y"},
                                 {"jobs", "1"}};
    for (size_t i = 0; !rc && i < WD_ARRAY_LEN(kv); i++)
        rc = walden_config_set(c, kv[i][0], kv[i][1], WALDEN_SOURCE_FLAG);
    if (!rc && database)
        rc = walden_config_set(c, "target-dbname", database, WALDEN_SOURCE_FLAG);
    if (rc) {
        walden_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* A logical dump: a new cluster (initdb), started, then the globals of the
 * dump's run and the dump itself restored into it. Phases: startup is
 * initdb and the start, restore the dump's restore, replay nothing. */
static int drill_run_dump(wd_drill *d)
{
    walden_drill_result *p = &d->res->pub;
    dump_pick pick = {
        .set = d->params->set, .dbnames = d->params->dbnames, .n_dbnames = d->params->n_dbnames};
    int rc = wd_dump_each_usable(d->repo, pick.set, dump_cb, &pick);
    if (!rc && !pick.found)
        rc = pick.set && *pick.set
                 ? wd_error_set(WALDEN_ENOTFOUND, "dump '%s' does not exist in cluster '%s'",
                                pick.set, d->repo->cluster)
                 : wd_error_set(WALDEN_ENOTFOUND, "cluster '%s' has no usable database dump",
                                d->repo->cluster);
    if (!rc && !pick.usable)
        rc = wd_error_set(WALDEN_EINVAL, "dump '%s' is not a usable database dump", pick.id);
    if (rc || (rc = wd_drill_set_str(&p->backup_id, pick.id)))
        return drill_fail(d, rc, "no dump to restore");
    d->meta.pub.pg_version = pick.pg_version;
    d->srv.pg_version = pick.pg_version;
    snprintf(d->superuser, sizeof(d->superuser), "postgres");
    if ((rc = wd_drill_server_user(&d->srv, d->meta.owner)))
        return drill_fail(d, rc, "cannot run the server");
    if ((rc = make_scratch(d)))
        return drill_fail(d, rc, "cannot prepare the scratch directory");
    char *initdb = wd_drill_server_program(&d->srv, "initdb");
    if (!initdb) {
        rc = walden_error_last()->code ? walden_error_last()->code : WALDEN_ENOMEM;
    } else {
        const char *argv[] = {initdb,       "-D", d->srv.pgdata, "-A",         "trust",     "-U",
                              d->superuser, "-E", "UTF8",        "--locale=C", "--no-sync", NULL};
        rc = wd_drill_server_run(&d->srv, argv, "initdb");
    }
    wd_free(initdb);
    if (rc)
        return drill_fail(d, rc, "cannot create the scratch cluster");
    if ((rc = wd_drill_server_configure(&d->srv)))
        return drill_fail(d, rc, "cannot configure the server");
    if ((rc = wd_drill_server_start(&d->srv)))
        return drill_fail(d, rc, "the server did not start");
    rc = wd_drill_server_wait(&d->srv);
    double t_ready = wd_drill_mono();
    p->startup_seconds = t_ready - d->t_begin;
    if (rc)
        return cancelled(d) ? rc : drill_fail(d, rc, "the server did not start");

    walden_config *c;
    wd_log_info("drill %s: restoring the globals of dump %s", p->id, pick.id);
    if ((rc = dump_config(d, pick.id, true, NULL, &c)))
        return drill_fail(d, rc, "restore failed");
    phase(d, "restore-dump");
    rc = walden_dump_restore(d->repo, c, NULL, NULL);
    walden_config_free(c);
    if (rc == WALDEN_ENOTFOUND)
        wd_log_warn("drill %s: %s: restoring the dump without its roles", p->id,
                    walden_error_last()->message);
    else if (rc)
        return drill_fail(d, rc, "restore of the globals failed");
    if (cancelled(d))
        return wd_error_set(WALDEN_ERROR, "the drill was interrupted");
    wd_log_info("drill %s: restoring dump %s into database '%s'", p->id, pick.id, pick.database);
    if ((rc = dump_config(d, pick.id, false, pick.database, &c)))
        return drill_fail(d, rc, "restore failed");
    rc = walden_dump_restore(d->repo, c, NULL, NULL);
    walden_config_free(c);
    double t_restored = wd_drill_mono();
    p->restore_seconds = t_restored - t_ready;
    if (rc)
        return cancelled(d) ? rc : drill_fail(d, rc, "restore failed");
    if ((rc = wd_drill_first_connection(d)))
        return cancelled(d) ? rc : drill_fail(d, rc, "the restored server cannot be used");
    /* pg_dump's snapshot is taken at its start: that is the point restored */
    p->recovered_to_ms = pick.start_ms;
    p->last_xact_ms = 0;
    p->replayed_lsn = 0;
    p->rpo_seconds = pick.start_ms > 0 ? (double)(p->started_at_ms - pick.start_ms) / 1000.0 : -1;
    phase(d, "checks");
    rc = wd_drill_run_checks(d);
    p->checks_seconds = wd_drill_mono() - t_restored;
    if (rc)
        return cancelled(d) ? rc : drill_fail(d, rc, "the checks could not run");
    return 0;
}

/* The source server's flushed WAL as the drill starts: what a restore must
 * reach for nothing to be lost. Known only from a primary of this cluster
 * whose timeline is the newest of the archive (the one a restore to the
 * end follows). */
static void source_point(wd_drill *d)
{
    walden_archiver_state as = WALDEN_ARCHIVER_STATE_INIT;
    walden_wal_summary *wal = NULL;
    if (walden_archiver_state_get(d->cfg, &as)) {
        wd_log_info("drill: the source server's WAL position is unknown: %s",
                    walden_error_last()->message);
    } else if (as.system_id == d->repo->info.system_id && as.timeline &&
               walden_wal_summary_get(d->repo, &wal) == 0 &&
               wd_wal_newest_timeline(wal) == as.timeline) {
        d->source_tli = as.timeline;
        d->res->pub.source_lsn = as.data_lsn;
    }
    walden_wal_summary_free(wal);
    walden_error_clear();
}

static int drill_locked(walden_repo *repo, const walden_config *cfg,
                        const walden_drill_params *params, walden_drill_result **out)
{
    *out = NULL;
    int64_t rto_target = walden_config_seconds(cfg, "rto-target", 3600);
    int64_t rpo_target = walden_config_seconds(cfg, "rpo-target", 900);
    wd_target t;
    int rc;
    if ((rc = wd_target_from_config(cfg, &t)))
        return rc;
    bool dump = params->kind == WALDEN_DRILL_DUMP;
    if (dump && t.kind != WD_TARGET_END)
        return wd_error_set(WALDEN_EINVAL, "a dump drill takes no recovery target");
    if (t.kind != WD_TARGET_END && t.kind != WD_TARGET_TIME)
        return wd_error_set(WALDEN_EINVAL, "a drill recovers to the end of the archive or to "
                                           "--target-time, not to another kind of target");
    wd_drill d = {.repo = repo, .cfg = cfg, .params = params, .cancel = params->cancel};
    d.srv = (wd_drill_server){.cfg = cfg,
                              .cancel = params->cancel,
                              .progress = params->progress,
                              .progress_ctx = params->progress_ctx};
    const char *sql_file = walden_config_get(cfg, "check-sql");
    if (sql_file && *sql_file) {
        size_t len;
        if ((rc = wd_file_read_all(sql_file, 16u << 20, &d.check_sql, &len)))
            return wd_error_wrap(rc, "cannot read the check-sql file");
    }
    if (params->cancel)
        atomic_store(&params->cancel->server_pid, 0);
    if (!(d.res = wd_drill_res_new())) {
        wd_free(d.check_sql);
        return WALDEN_ENOMEM;
    }
    walden_drill_result *p = &d.res->pub;
    d.t_begin = wd_drill_mono();
    p->started_at_ms = wall_ms();
    p->rto_target_seconds = rto_target;
    p->rpo_target_seconds = rpo_target;
    char id[32];
    if ((rc = drill_id(id, p->started_at_ms)) || (rc = wd_drill_set_str(&p->id, id)) ||
        (rc = wd_drill_set_str(&p->cluster, repo->cluster)))
        goto done;

    if ((rc = wd_drill_set_str(&p->kind, dump ? "dump" : "backup")))
        goto done;
    if (!dump && t.kind == WD_TARGET_END)
        source_point(&d);
    int run_rc = dump ? drill_run_dump(&d) : drill_run(&d, &t);
    double t_end = wd_drill_mono();
    p->rto_seconds =
        p->restore_seconds + p->replay_seconds + p->startup_seconds + p->checks_seconds;
    if (run_rc || p->checks_failed)
        p->rto_seconds = t_end - d.t_begin; /* no recovery was proven: the time spent */

    /* cleanup: always */
    wd_drill_server_stop(&d.srv);
    bool keep = walden_config_bool(cfg, "keep") && !cancelled(&d);
    /* the drill's own failure is in p->error already */
    wd_drill_server_remove(&d.srv, keep);
    if (d.srv.scratch && !keep)
        (void)wd_drill_set_str(&p->scratch_dir, "");
    if (cancelled(&d)) {
        rc = wd_error_set(WALDEN_ERROR, "the drill was interrupted: its server was stopped%s",
                          keep ? "" : " and its scratch directory removed");
        goto done;
    }
    if (run_rc && p->status != WALDEN_DRILL_FAILED) {
        rc = run_rc; /* not a verdict (out of memory) */
        goto done;
    }

    wd_drill_archiver_state(&d);
    p->finished_at_ms = wall_ms();
    if (p->checks_failed)
        p->status = WALDEN_DRILL_FAILED;
    /* the replay reached all the WAL the source had flushed when the drill
     * started, on its timeline: nothing written before then would be lost,
     * however long ago the last commit was (an idle cluster) */
    if (p->status != WALDEN_DRILL_FAILED && p->source_lsn && d.source_tli &&
        d.replayed_tli == d.source_tli && p->replayed_lsn >= p->source_lsn)
        p->rpo_seconds = 0;
    p->rto_met = p->status != WALDEN_DRILL_FAILED && p->rto_seconds <= (double)rto_target;
    p->rpo_met = p->status != WALDEN_DRILL_FAILED && p->rpo_seconds >= 0 &&
                 p->rpo_seconds <= (double)rpo_target;
    if (p->status != WALDEN_DRILL_FAILED && (!p->rto_met || !p->rpo_met))
        p->status = WALDEN_DRILL_MISSED;
    wd_log_info("drill %s: %s", p->id, wd_drill_status_name(p->status));
    *out = p;
    d.res = NULL;
    rc = wd_drill_write_reports(repo, cfg, p);
done:
    if (d.res)
        walden_drill_result_free(&d.res->pub);
    if (d.have_meta)
        wd_backup_meta_clear(&d.meta);
    wd_drill_server_clear(&d.srv);
    wd_free(d.ts_map);
    wd_free(d.check_sql);
    return rc;
}

int walden_drill(walden_repo *repo, const walden_config *cfg, const walden_drill_params *params,
                 walden_drill_result **out)
{
    /* expire must not remove the backup or dump being restored */
    *out = NULL;
    if (!params || params->version != WALDEN_DRILL_PARAMS_VERSION)
        return wd_error_set(WALDEN_EINVAL, "walden_drill: params of version %u, not %u",
                            params ? params->version : 0u, WALDEN_DRILL_PARAMS_VERSION);
    if (params->kind != WALDEN_DRILL_BACKUP && params->kind != WALDEN_DRILL_DUMP)
        return wd_error_set(WALDEN_EINVAL, "walden_drill: unknown kind %d", (int)params->kind);
    int lock = -1;
    int rc = wd_repo_lock(repo, WD_LOCK_READ, true, &lock);
    if (!rc)
        rc = drill_locked(repo, cfg, params, out);
    wd_lock_release(lock);
    return rc;
}
