/*
 * session.c - a connection to the server and the queries walden runs on it,
 * the backup API among them. Version differences sit in one place each:
 * PG 15 renamed pg_start_backup/pg_stop_backup to pg_backup_start/stop.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "pg/libpq.h"
#include "pg/pg.h"

struct wd_pg_conn {
    const wd_libpq *pq;
    PGconn *conn;
    int server_version;
};

struct wd_pg_result {
    const wd_libpq *pq;
    PGresult *res;
};

/* libpq's messages end with a newline; ours are one line. */
static const char *one_line(const char *msg, char *buf, size_t cap)
{
    size_t n = 0;
    for (; msg && msg[n] && n + 1 < cap; n++)
        buf[n] = msg[n] == '\n' ? ' ' : msg[n];
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    return buf;
}

/* Connects; on failure the message is `prefix` and libpq's, one line. */
static int connect_kv(wd_pg_conn **out, const char *const *keys, const char *const *vals,
                      const char *prefix)
{
    const wd_libpq *pq = wd_libpq_get();
    if (!pq)
        return WALDEN_EPG;
    PGconn *conn = pq->connectdbParams(keys, vals, 0);
    if (!conn || pq->status(conn) != CONNECTION_OK) {
        char buf[1024];
        int rc = wd_error_set(WALDEN_EPG, "%s%s", prefix,
                              conn ? one_line(pq->errorMessage(conn), buf, sizeof(buf))
                                   : "out of memory");
        pq->finish(conn);
        return rc;
    }
    wd_pg_conn *c = wd_calloc(1, sizeof(*c));
    if (!c) {
        pq->finish(conn);
        return WALDEN_ENOMEM;
    }
    c->pq = pq;
    c->conn = conn;
    c->server_version = pq->serverVersion(conn);
    *out = c;
    return 0;
}

/* The configured connection's keywords (wd_pg_where_get), then
 * application_name and, when `timeout` is set, connect_timeout. */
static void where_kv(const walden_config *cfg, wd_pg_where *w, const char *app, const char *timeout,
                     const char *keys[8], const char *vals[8])
{
    int n = 0;
    wd_pg_where_get(cfg, w);
    const char *const opts[][2] = {
        {"host", w->host}, {"port", w->port}, {"user", w->user}, {"dbname", w->dbname}};
    for (size_t i = 0; i < WD_ARRAY_LEN(opts); i++) {
        if (opts[i][1]) {
            keys[n] = opts[i][0];
            vals[n++] = opts[i][1];
        }
    }
    keys[n] = "application_name";
    vals[n++] = app;
    if (timeout) {
        keys[n] = "connect_timeout";
        vals[n++] = timeout;
    }
    keys[n] = NULL;
    vals[n] = NULL;
}

int wd_pg_connect(wd_pg_conn **out, const walden_config *cfg)
{
    const char *keys[8], *vals[8];
    wd_pg_where w;
    /* an unreachable host must not hang a timer's job (libpq waits for
     * ever by default); PGCONNECT_TIMEOUT still wins */
    const char *env_timeout = getenv("PGCONNECT_TIMEOUT");
    where_kv(cfg, &w, "walden", env_timeout && *env_timeout ? NULL : "30", keys, vals);
    return connect_kv(out, keys, vals, "cannot connect to PostgreSQL: ");
}

int wd_pg_connect_timeout(wd_pg_conn **out, const walden_config *cfg, const char *app,
                          const char *timeout)
{
    const char *keys[8], *vals[8];
    wd_pg_where w;
    where_kv(cfg, &w, app, timeout, keys, vals);
    return connect_kv(out, keys, vals, "");
}

int wd_pg_connect_params(wd_pg_conn **out, const char *const *keys, const char *const *vals)
{
    return connect_kv(out, keys, vals, "");
}

bool wd_pg_ping(const char *const *keys, const char *const *vals)
{
    const wd_libpq *pq = wd_libpq_get();
    return pq && pq->pingParams(keys, vals, 0) == PQPING_OK;
}

void wd_pg_close(wd_pg_conn *c)
{
    if (!c)
        return;
    c->pq->finish(c->conn);
    wd_free(c);
}

int wd_pg_server_version(const wd_pg_conn *c)
{
    return c->server_version;
}

static int wrap(wd_pg_conn *c, PGresult *res, wd_pg_result **out)
{
    wd_pg_result *r = wd_calloc(1, sizeof(*r));
    if (!r) {
        c->pq->clear(res);
        return WALDEN_ENOMEM;
    }
    r->pq = c->pq;
    r->res = res;
    *out = r;
    return 0;
}

static int query(wd_pg_conn *c, wd_pg_result **out, const char *sql, int nparams,
                 const char *const *params, const char *prefix)
{
    PGresult *res = c->pq->execParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = c->pq->resultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        char buf[1024];
        int rc = wd_error_set(WALDEN_EPG, "%s%s", prefix,
                              one_line(c->pq->errorMessage(c->conn), buf, sizeof(buf)));
        c->pq->clear(res);
        return rc;
    }
    return wrap(c, res, out);
}

int wd_pg_query(wd_pg_conn *c, wd_pg_result **out, const char *sql, int nparams,
                const char *const *params)
{
    return query(c, out, sql, nparams, params, "query failed: ");
}

int wd_pg_query_bare(wd_pg_conn *c, wd_pg_result **out, const char *sql, int nparams,
                     const char *const *params)
{
    return query(c, out, sql, nparams, params, "");
}

int wd_pg_send(wd_pg_conn *c, const char *sql)
{
    char buf[1024];
    if (!c->pq->sendQuery(c->conn, sql))
        return wd_error_set(WALDEN_EPG, "%s",
                            one_line(c->pq->errorMessage(c->conn), buf, sizeof(buf)));
    return 0;
}

int wd_pg_next(wd_pg_conn *c, wd_pg_result **out)
{
    *out = NULL;
    PGresult *res = c->pq->getResult(c->conn);
    return res ? wrap(c, res, out) : 0;
}

wd_pg_status wd_pg_result_status(const wd_pg_result *r)
{
    switch (r->pq->resultStatus(r->res)) {
    case PGRES_EMPTY_QUERY:
        return WD_PG_EMPTY;
    case PGRES_TUPLES_OK:
        return WD_PG_ROWS;
    case PGRES_COMMAND_OK:
        return WD_PG_DONE;
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
        return WD_PG_COPY;
    default:
        return WD_PG_FAILED;
    }
}

int wd_pg_cols(const wd_pg_result *r)
{
    return r->pq->nfields(r->res);
}

bool wd_pg_col_is_bool(const wd_pg_result *r, int col)
{
    return r->pq->ftype(r->res, col) == 16; /* BOOLOID */
}

const char *wd_pg_result_message(const wd_pg_result *r, char *buf, size_t cap)
{
    return one_line(r->pq->resultErrorMessage(r->res), buf, cap);
}

int wd_pg_rows(const wd_pg_result *r)
{
    return r->pq->ntuples(r->res);
}

const char *wd_pg_value(const wd_pg_result *r, int row, int col)
{
    if (row >= r->pq->ntuples(r->res) || col >= r->pq->nfields(r->res) ||
        r->pq->getisnull(r->res, row, col))
        return NULL;
    return r->pq->getvalue(r->res, row, col);
}

void wd_pg_result_free(wd_pg_result *r)
{
    if (!r)
        return;
    r->pq->clear(r->res);
    wd_free(r);
}

int wd_pg_query_one(wd_pg_conn *c, const char *sql, char **value)
{
    wd_pg_result *r;
    int rc = wd_pg_query(c, &r, sql, 0, NULL);
    if (rc)
        return rc;
    const char *v = wd_pg_value(r, 0, 0);
    *value = wd_strdup(v ? v : "");
    wd_pg_result_free(r);
    return *value ? 0 : WALDEN_ENOMEM;
}

/* One half of an LSN: 1 to 8 hex digits, nothing else (no sign, blank
 * or 0x, which sscanf would take). */
static const char *lsn_half(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    int n = 0;
    for (; n < 9 && *p; n++, p++) {
        int d = *p >= '0' && *p <= '9'   ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                         : -1;
        if (d < 0)
            break;
        v = v << 4 | (uint32_t)d;
    }
    if (n == 0 || n > 8)
        return NULL;
    *out = v;
    return p;
}

int wd_lsn_parse(const char *text, uint64_t *lsn)
{
    uint32_t hi, lo;
    const char *p = text ? lsn_half(text, &hi) : NULL;
    if (!p || *p != '/' || !(p = lsn_half(p + 1, &lo)) || *p != '\0')
        return wd_error_set(WALDEN_EINVAL, "invalid LSN '%s'", text ? text : "");
    *lsn = ((uint64_t)hi << 32) | lo;
    return 0;
}

void wd_lsn_format(uint64_t lsn, char out[WD_LSN_TEXT])
{
    snprintf(out, WD_LSN_TEXT, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}

/* The server's clock, as Unix milliseconds. */
#define NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::int8::text"

int wd_pg_backup_start(wd_pg_conn *c, const char *label, bool fast, uint64_t *lsn, int64_t *time_ms)
{
    const char *params[2] = {label, fast ? "true" : "false"};
    const char *sql = c->server_version >= 150000
                          ? "SELECT pg_backup_start($1, $2)::text, " NOW_MS
                          : "SELECT pg_start_backup($1, $2, false)::text, " NOW_MS;
    wd_pg_result *r;
    int rc = wd_pg_query(c, &r, sql, 2, params);
    if (rc)
        return wd_error_wrap(rc, "cannot start the backup");
    int64_t t = 0;
    if ((rc = wd_lsn_parse(wd_pg_value(r, 0, 0), lsn)) ||
        (rc = wd_parse_int64(wd_pg_value(r, 0, 1), 0, INT64_MAX, &t)))
        rc = wd_error_wrap(WALDEN_EPG, "unexpected answer to the backup start");
    *time_ms = t;
    wd_pg_result_free(r);
    return rc;
}

int wd_pg_backup_stop(wd_pg_conn *c, wd_pg_backup_stop_info *out)
{
    memset(out, 0, sizeof(*out));
    /* taken before the stop, whose WAL record comes after every commit of a
     * transaction below this xmin */
    char *xmin = NULL;
    int rc = wd_pg_query_one(c,
                             c->server_version >= 130000
                                 ? "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"
                                 : "SELECT txid_snapshot_xmin(txid_current_snapshot())::text",
                             &xmin);
    if (!rc && wd_parse_uint64(xmin, &out->end_xmin))
        rc = wd_error_set(WALDEN_EPG, "unexpected snapshot xmin '%s'", xmin);
    wd_free(xmin);
    if (rc)
        return wd_error_wrap(rc, "cannot stop the backup");
    /* wait_for_archive is off: walden waits for the WAL itself, with a
     * timeout and a diagnosis, instead of hanging when archiving is broken */
    const char *sql = c->server_version >= 150000
                          ? "SELECT lsn::text, labelfile, spcmapfile, pg_walfile_name(lsn), " NOW_MS
                            " FROM pg_backup_stop(false)"
                          : "SELECT lsn::text, labelfile, spcmapfile, pg_walfile_name(lsn), " NOW_MS
                            " FROM pg_stop_backup(false, false)";
    wd_pg_result *r;
    if ((rc = wd_pg_query(c, &r, sql, 0, NULL)))
        return wd_error_wrap(rc, "cannot stop the backup");
    const char *label = wd_pg_value(r, 0, 1), *map = wd_pg_value(r, 0, 2),
               *wal = wd_pg_value(r, 0, 3);
    if ((rc = wd_lsn_parse(wd_pg_value(r, 0, 0), &out->lsn)) ||
        (rc = wd_parse_int64(wd_pg_value(r, 0, 4), 0, INT64_MAX, &out->time_ms)) || !label ||
        !wal || strlen(wal) != 24) {
        rc = wd_error_set(WALDEN_EPG, "unexpected answer to the backup stop");
        goto done;
    }
    memcpy(out->stop_wal, wal, 25);
    out->label = wd_strdup(label);
    out->tablespace_map = wd_strdup(map ? map : "");
    if (!out->label || !out->tablespace_map)
        rc = WALDEN_ENOMEM;
done:
    wd_pg_result_free(r);
    if (rc)
        wd_pg_backup_stop_info_clear(out);
    return rc;
}

void wd_pg_backup_stop_info_clear(wd_pg_backup_stop_info *info)
{
    wd_free(info->label);
    wd_free(info->tablespace_map);
    info->label = info->tablespace_map = NULL;
}

void wd_pg_archiver_state(wd_pg_conn *c, char *buf, size_t cap)
{
    wd_pg_result *res;
    buf[0] = '\0';
    if (wd_pg_query(c, &res,
                    "SELECT current_setting('archive_command'), archived_count, "
                    "coalesce(last_archived_wal, 'none'), failed_count, "
                    "coalesce(last_failed_wal, ''), coalesce(last_failed_time::text, '') "
                    "FROM pg_stat_archiver",
                    0, NULL))
        return;
    const char *failed = wd_pg_value(res, 0, 3);
    snprintf(buf, cap, "archive_command = '%s'; last archived: %s; failures: %s%s%s%s%s",
             wd_pg_value(res, 0, 0), wd_pg_value(res, 0, 2), failed,
             *wd_pg_value(res, 0, 4) ? ", last " : "", wd_pg_value(res, 0, 4),
             *wd_pg_value(res, 0, 5) ? " at " : "", wd_pg_value(res, 0, 5));
    wd_pg_result_free(res);
}
