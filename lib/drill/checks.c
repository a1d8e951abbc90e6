/*
 * checks.c - what a drill checks on the server it restored, through pg/:
 * a role to connect as and the point recovered to (first), then in every
 * database that accepts connections: a connection, a read of every table
 * (and TOAST table, and populated materialized view), amcheck's
 * bt_index_check on every btree index where the extension is there or can
 * be made; then the statements of `check-sql`. Each check becomes a line
 * of the result, with its time; a check that fails does not stop the
 * others. Also the source server's archiver (pg_stat_archiver), read for
 * the report when the configured connection answers.
 *
 * Messages quoted in a check's detail are the server's, on one line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "common/common.h"
#include "drill/drill.h"
#include "pg/pg.h"
#include "repo/repo.h"

static bool cancelled(const wd_drill *d)
{
    return wd_drill_cancelled(d->cancel);
}

static int add_check(wd_drill *d, const char *name, const char *db, const char *result,
                     const char *detail, double seconds)
{
    wd_drill_res *r = d->res;
    walden_drill_check *grown =
        wd_array_grow(r->checks, &r->cap, r->pub.n_checks, sizeof(*grown), 16);
    if (!grown)
        return WALDEN_ENOMEM;
    r->checks = grown;
    r->pub.checks = grown;
    walden_drill_check *c = &r->checks[r->pub.n_checks];
    c->name = name;
    c->result = result;
    c->seconds = seconds;
    c->database = wd_strdup(db);
    c->detail = wd_strdup(detail);
    if (!c->database || !c->detail) {
        wd_free((void *)c->database);
        wd_free((void *)c->detail);
        return WALDEN_ENOMEM;
    }
    r->pub.n_checks++;
    if (strcmp(result, "pass") == 0)
        r->pub.checks_passed++;
    else if (strcmp(result, "fail") == 0)
        r->pub.checks_failed++;
    else
        r->pub.checks_skipped++;
    if (strcmp(result, "fail") == 0 && !*r->pub.error) {
        char *text = wd_asprintf("check %s in '%s' failed: %s", name, db, detail);
        if (text) {
            wd_free((void *)r->pub.error);
            r->pub.error = text;
        }
    }
    return 0;
}

/* The last error's message, on one line, into err. */
static void last_message(char *err, size_t cap)
{
    snprintf(err, cap, "%s", walden_error_last()->message);
    wd_drill_one_line(err);
}

/* A connection to the scratch server; on failure the message goes to err. */
static int db_connect(wd_drill *d, const char *user, const char *db, wd_pg_conn **c, char *err,
                      size_t cap)
{
    const char *keys[] = {"host", "port", "user", "dbname", "application_name", NULL};
    const char *vals[] = {d->srv.sock, WD_DRILL_PORT, user, db, "walden-drill", NULL};
    *c = NULL;
    int rc = wd_pg_connect_params(c, keys, vals);
    if (rc)
        last_message(err, cap);
    return rc;
}

/* Runs sql with text parameters; on failure the message goes to err. */
static wd_pg_result *db_query(wd_pg_conn *c, const char *sql, int n, const char *const *params,
                              char *err, size_t cap)
{
    wd_pg_result *r = NULL;
    if (wd_pg_query_bare(c, &r, sql, n, params)) {
        last_message(err, cap);
        return NULL;
    }
    return r;
}

/* A value that is never NULL ("" for SQL NULL). */
static const char *val(const wd_pg_result *r, int row, int col)
{
    const char *v = wd_pg_value(r, row, col);
    return v ? v : "";
}

/* Reads every table, TOAST table and populated materialized view. */
static int check_read(wd_drill *d, wd_pg_conn *c, const char *db)
{
    double t0 = wd_drill_mono();
    char err[1024], detail[1400];
    wd_pg_result *list = db_query(c,
                                  "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
                                  "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                  "WHERE c.relkind IN ('r', 't', 'm') AND c.relpersistence <> 't' "
                                  "AND (c.relkind <> 'm' OR c.relispopulated) ORDER BY 1",
                                  0, NULL, err, sizeof(err));
    if (!list)
        return add_check(d, "read", db, "fail", err, wd_drill_mono() - t0);
    /* every heap page, not an index-only scan of a table's index */
    wd_pg_result *set = db_query(c,
                                 "SELECT set_config('enable_indexonlyscan', 'off', false), "
                                 "set_config('enable_indexscan', 'off', false), "
                                 "set_config('enable_bitmapscan', 'off', false)",
                                 0, NULL, err, sizeof(err));
    if (!set) {
        wd_pg_result_free(list);
        return add_check(d, "read", db, "fail", err, wd_drill_mono() - t0);
    }
    wd_pg_result_free(set);
    int n = wd_pg_rows(list), bad = 0;
    uint64_t rows = 0;
    char first[1200] = "";
    for (int i = 0; i < n && !cancelled(d); i++) {
        const char *rel = val(list, i, 0);
        char *sql = wd_asprintf("SELECT count(*) FROM ONLY %s", rel);
        if (!sql) {
            wd_pg_result_free(list);
            return WALDEN_ENOMEM;
        }
        wd_pg_result *r = db_query(c, sql, 0, NULL, err, sizeof(err));
        wd_free(sql);
        if (!r) {
            if (!bad++)
                snprintf(first, sizeof(first), "%s: %s", rel, err);
            continue;
        }
        rows += strtoull(val(r, 0, 0), NULL, 10);
        wd_pg_result_free(r);
    }
    wd_pg_result_free(list);
    if (bad)
        snprintf(detail, sizeof(detail), "%d of %d tables cannot be read, first %s", bad, n, first);
    else
        snprintf(detail, sizeof(detail), "%d tables read, %" PRIu64 " rows", n, rows);
    return add_check(d, "read", db, bad ? "fail" : "pass", detail, wd_drill_mono() - t0);
}

/* amcheck's bt_index_check on every btree index, when the extension can
 * be created; it is dropped again when the drill created it. */
static int check_amcheck(wd_drill *d, wd_pg_conn *c, const char *db)
{
    double t0 = wd_drill_mono();
    char err[1024], detail[1400];
    wd_pg_result *r = db_query(c,
                               "SELECT quote_ident(n.nspname) FROM pg_extension e "
                               "JOIN pg_namespace n ON n.oid = e.extnamespace "
                               "WHERE e.extname = 'amcheck'",
                               0, NULL, err, sizeof(err));
    if (!r)
        return add_check(d, "amcheck", db, "fail", err, wd_drill_mono() - t0);
    bool had = wd_pg_rows(r) > 0;
    char schema[256] = "";
    if (had)
        snprintf(schema, sizeof(schema), "%s", val(r, 0, 0));
    wd_pg_result_free(r);
    if (!had) {
        r = db_query(c, "CREATE EXTENSION amcheck SCHEMA pg_catalog", 0, NULL, err, sizeof(err));
        if (!r) {
            snprintf(detail, sizeof(detail), "amcheck is not available: %s", err);
            return add_check(d, "amcheck", db, "skip", detail, wd_drill_mono() - t0);
        }
        wd_pg_result_free(r);
        snprintf(schema, sizeof(schema), "pg_catalog");
    }
    wd_pg_result *list = db_query(c,
                                  "SELECT c.oid::text, c.oid::regclass::text FROM pg_index i "
                                  "JOIN pg_class c ON c.oid = i.indexrelid "
                                  "JOIN pg_am a ON a.oid = c.relam "
                                  "WHERE a.amname = 'btree' AND c.relpersistence <> 't' "
                                  "AND i.indisvalid AND i.indisready ORDER BY 2",
                                  0, NULL, err, sizeof(err));
    int n = 0, bad = 0, rc = 0;
    char first[1200] = "";
    if (!list) {
        bad = 1;
        snprintf(first, sizeof(first), "cannot list the indexes: %s", err);
    } else {
        n = wd_pg_rows(list);
        char *sql = wd_asprintf("SELECT %s.bt_index_check($1::oid::regclass)", schema);
        if (!sql)
            rc = WALDEN_ENOMEM;
        for (int i = 0; sql && i < n && !cancelled(d); i++) {
            const char *params[1] = {val(list, i, 0)};
            wd_pg_result *q = db_query(c, sql, 1, params, err, sizeof(err));
            if (q)
                wd_pg_result_free(q);
            else if (!bad++)
                snprintf(first, sizeof(first), "%s: %s", val(list, i, 1), err);
        }
        wd_free(sql);
        wd_pg_result_free(list);
    }
    if (!had && (r = db_query(c, "DROP EXTENSION amcheck", 0, NULL, err, sizeof(err))))
        wd_pg_result_free(r);
    if (rc)
        return rc;
    if (bad)
        snprintf(detail, sizeof(detail), "%d of %d btree indexes failed, first %s", bad, n, first);
    else
        snprintf(detail, sizeof(detail), "%d btree indexes checked", n);
    return add_check(d, "amcheck", db, bad ? "fail" : "pass", detail, wd_drill_mono() - t0);
}

/* The check-sql file, sent as one simple query: the server answers each
 * statement with a result of its own, and stops at the first error. */
static int check_sql(wd_drill *d, const char *db)
{
    double t0 = wd_drill_mono();
    char err[1024], detail[1400];
    wd_pg_conn *c = NULL;
    if (db_connect(d, d->superuser, db, &c, err, sizeof(err)))
        return add_check(d, "sql", db, "fail", err, wd_drill_mono() - t0);
    int rc = 0, n = 0;
    bool failed = false;
    if (wd_pg_send(c, d->check_sql)) {
        last_message(err, sizeof(err));
        wd_pg_close(c);
        return add_check(d, "sql", db, "fail", err, wd_drill_mono() - t0);
    }
    wd_pg_result *r;
    double ts = wd_drill_mono();
    while (!(rc = wd_pg_next(c, &r)) && r) {
        wd_pg_status st = wd_pg_result_status(r);
        if (st == WD_PG_EMPTY) {
            wd_pg_result_free(r);
            continue;
        }
        n++;
        const char *result = "pass";
        if (st == WD_PG_ROWS && wd_pg_cols(r) == 1 && wd_pg_rows(r) == 1 &&
            wd_pg_col_is_bool(r, 0)) {
            const char *v = wd_pg_value(r, 0, 0) ? wd_pg_value(r, 0, 0) : "null";
            bool ok = strcmp(v, "t") == 0;
            snprintf(detail, sizeof(detail), "statement %d returned %s", n,
                     ok ? "true" : (strcmp(v, "f") == 0 ? "false" : v));
            result = ok ? "pass" : "fail";
        } else if (st == WD_PG_ROWS || st == WD_PG_DONE) {
            snprintf(detail, sizeof(detail), "statement %d succeeded", n);
        } else if (st == WD_PG_COPY) {
            snprintf(detail, sizeof(detail), "statement %d: COPY is not supported", n);
            result = "fail";
        } else {
            wd_pg_result_message(r, err, sizeof(err));
            wd_drill_one_line(err);
            snprintf(detail, sizeof(detail), "statement %d failed: %s", n, err);
            result = "fail";
        }
        wd_pg_result_free(r);
        double now = wd_drill_mono();
        if ((rc = add_check(d, "sql", db, result, detail, now - ts)))
            break;
        ts = now;
        if (strcmp(result, "fail") == 0) {
            failed = true;
            if (st == WD_PG_COPY)
                break; /* the connection is closed below */
        }
    }
    wd_pg_close(c);
    if (!rc && n == 0 && !failed)
        rc = add_check(d, "sql", db, "skip", "the file has no statement", wd_drill_mono() - t0);
    return rc;
}

/* Where the restored server's replay ended: pg_last_wal_replay_lsn(), on
 * the timeline its promotion branched from, which the new timeline's
 * history file in its pg_wal names on its last line ("parent switchpoint
 * reason"). Left unknown (0) when anything does not parse. */
static void replayed_point(wd_drill *d, const char *replay_lsn, const char *walfile)
{
    wd_wal_name now;
    uint64_t lsn;
    char name[32], *path = NULL, *text = NULL;
    size_t len;
    if (!*replay_lsn || wd_lsn_parse(replay_lsn, &lsn) || wd_wal_name_parse(walfile, &now) ||
        now.tli < 2) {
        walden_error_clear();
        return;
    }
    snprintf(name, sizeof(name), "pg_wal/%08X.history", now.tli);
    if (!(path = wd_path_join(d->srv.pgdata, name)) ||
        wd_file_read_all(path, 1u << 20, &text, &len)) {
        wd_log_info("drill: cannot read the history of timeline %u", now.tli);
        walden_error_clear();
        wd_free(path);
        return;
    }
    walden_timeline tl = {.timeline = now.tli};
    if (wd_timeline_history_parse(&tl, name, text, len) == 0 && tl.parent > 0) {
        d->replayed_tli = tl.parent;
        d->res->pub.replayed_lsn = lsn;
    } else {
        walden_error_clear();
    }
    wd_free(tl.history);
    wd_free(text);
    wd_free(path);
}

int wd_drill_first_connection(wd_drill *d)
{
    const char *user_opt = walden_config_get(d->cfg, "pguser");
    const char *users[] = {user_opt && *user_opt ? user_opt : d->srv.user, d->srv.user, "postgres"};
    const char *dbs[] = {"postgres", "template1"};
    char err[1024] = "";
    wd_pg_conn *c = NULL;
    for (size_t i = 0; i < WD_ARRAY_LEN(users) && !c; i++)
        for (size_t j = 0; j < WD_ARRAY_LEN(dbs) && !c; j++)
            db_connect(d, users[i], dbs[j], &c, err, sizeof(err));
    if (!c)
        return wd_error_set(WALDEN_EPG, "cannot connect to the restored server: %s", err);
    wd_pg_result *r = db_query(c,
                               "SELECT pg_is_in_recovery()::text, "
                               "coalesce((extract(epoch FROM pg_last_xact_replay_timestamp()) * "
                               "1000)::int8, 0)::text, (SELECT rolname FROM pg_roles WHERE oid = "
                               "10), coalesce(pg_last_wal_replay_lsn()::text, ''), "
                               "CASE WHEN pg_is_in_recovery() THEN '' "
                               "ELSE pg_walfile_name(pg_current_wal_lsn()) END",
                               0, NULL, err, sizeof(err));
    int rc = 0;
    if (!r) {
        rc = wd_error_set(WALDEN_EPG, "cannot query the restored server: %s", err);
    } else {
        int64_t last = 0;
        (void)wd_parse_int64(val(r, 0, 1), 0, INT64_MAX, &last);
        snprintf(d->superuser, sizeof(d->superuser), "%s", val(r, 0, 2));
        if (strcmp(val(r, 0, 0), "true") == 0)
            rc = wd_error_set(WALDEN_EPG, "the restored server is still in recovery");
        walden_drill_result *p = &d->res->pub;
        replayed_point(d, val(r, 0, 3), val(r, 0, 4));
        p->last_xact_ms = last;
        p->recovered_to_ms = wd_drill_recovered_to(last, d->meta.pub.stop_time_ms);
        if (p->recovered_to_ms > 0)
            p->rpo_seconds = (double)(p->started_at_ms - p->recovered_to_ms) / 1000.0;
        if (p->rpo_seconds < 0 && p->recovered_to_ms > 0)
            p->rpo_seconds = 0;
        wd_pg_result_free(r);
    }
    wd_pg_close(c);
    return rc;
}

int wd_drill_run_checks(wd_drill *d)
{
    char err[1024];
    wd_pg_conn *c = NULL;
    if (db_connect(d, d->superuser, "template1", &c, err, sizeof(err)) &&
        db_connect(d, d->superuser, "postgres", &c, err, sizeof(err)))
        return wd_error_set(WALDEN_EPG, "cannot connect to the restored server: %s", err);
    wd_pg_result *dbs = db_query(c, "SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1",
                                 0, NULL, err, sizeof(err));
    wd_pg_close(c);
    if (!dbs)
        return wd_error_set(WALDEN_EPG, "cannot list the databases: %s", err);
    int rc = 0;
    for (int i = 0; !rc && i < wd_pg_rows(dbs); i++) {
        if (cancelled(d))
            break;
        const char *db = val(dbs, i, 0);
        double t0 = wd_drill_mono();
        wd_pg_conn *dc = NULL;
        if (db_connect(d, d->superuser, db, &dc, err, sizeof(err))) {
            rc = add_check(d, "connect", db, "fail", err, wd_drill_mono() - t0);
            continue;
        }
        if (!(rc = add_check(d, "connect", db, "pass", "accepts connections",
                             wd_drill_mono() - t0)) &&
            !(rc = check_read(d, dc, db)) && !cancelled(d))
            rc = check_amcheck(d, dc, db);
        wd_pg_close(dc);
    }
    wd_pg_result_free(dbs);
    if (!rc && d->check_sql && !cancelled(d)) {
        const char *db = walden_config_get(d->cfg, "pgdatabase");
        rc = check_sql(d, db && *db ? db : "postgres");
    }
    if (!rc && cancelled(d))
        rc = wd_error_set(WALDEN_ERROR, "the drill was interrupted");
    return rc;
}

void wd_drill_archiver_state(wd_drill *d)
{
    wd_pg_where w;
    wd_pg_where_get(d->cfg, &w);
    if (!w.host && !w.port)
        return;
    /* the configured connection, as wd_pg_connect makes it, but with a
     * timeout: an unreachable source must not hold the drill's report */
    wd_pg_conn *c = NULL;
    char err[1024];
    if (wd_pg_connect_timeout(&c, d->cfg, "walden-drill", "10")) {
        last_message(err, sizeof(err));
        wd_log_info("the source server is not reachable: %s", err);
        return;
    }
    wd_pg_result *r = db_query(c,
                               "SELECT (SELECT system_identifier::text FROM pg_control_system()), "
                               "coalesce(last_archived_wal, ''), coalesce((extract(epoch FROM "
                               "last_archived_time) * 1000)::int8, 0)::text, failed_count::text "
                               "FROM pg_stat_archiver",
                               0, NULL, err, sizeof(err));
    if (r) {
        uint64_t sysid = 0, failed = 0;
        int64_t at = 0;
        if (wd_parse_uint64(val(r, 0, 0), &sysid) == 0 && sysid == d->repo->info.system_id &&
            wd_parse_int64(val(r, 0, 2), 0, INT64_MAX, &at) == 0 &&
            wd_parse_uint64(val(r, 0, 3), &failed) == 0 &&
            wd_drill_set_str(&d->res->pub.last_archived_wal, val(r, 0, 1)) == 0) {
            d->res->pub.archiver_known = 1;
            d->res->pub.last_archived_ms = at;
            d->res->pub.archive_failed_count = failed;
        }
        wd_pg_result_free(r);
    } else {
        wd_log_info("cannot read the source server's archiver: %s", err);
    }
    wd_pg_close(c);
}
