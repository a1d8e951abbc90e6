/*
 * fake_pg.c - the scripted server of fake_pg.h: libpq's functions written
 * over a list of expected queries and their answers. PGconn and PGresult
 * are incomplete types in libpq-fe.h, so the fake gives them its own
 * structs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fake_pg.h"
#include "pg/libpq.h"

#define MAX_STEPS 64
#define MAX_SENT 64
#define MAX_PARAMS 8
#define MAX_KEYS 16

const char fake_pg_null[] = "(fake_pg NULL)";

struct pg_conn {
    char error[4096];
    bool ok;
    PGresult *pending; /* PQsendQuery's result, until PQgetResult */
};

struct pg_result {
    ExecStatusType status;
    int rows, cols;
    char **cells; /* rows * cols; NULL: SQL NULL */
    char error[4096];
};

typedef struct step {
    char *match;
    char *error; /* NULL: answered with the cells */
    int rows, cols;
    char **cells;
} step;

typedef struct sent {
    char *sql;
    int nparams;
    char *params[MAX_PARAMS];
} sent;

static struct {
    int server_version;
    char *refuse;
    step steps[MAX_STEPS];
    int n_steps, next_step;
    sent sent[MAX_SENT];
    int n_sent;
    char *keys[MAX_KEYS], *vals[MAX_KEYS];
    int n_keys, connections;
    int conns_open, results_open;
    char *unexpected; /* the first query that was not the next step's */
} fk;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void reset(void)
{
    free(fk.refuse);
    for (int i = 0; i < fk.n_steps; i++) {
        for (int c = 0; c < fk.steps[i].rows * fk.steps[i].cols; c++)
            free(fk.steps[i].cells[c]);
        free(fk.steps[i].cells);
        free(fk.steps[i].match);
        free(fk.steps[i].error);
    }
    for (int i = 0; i < fk.n_sent; i++) {
        free(fk.sent[i].sql);
        for (int j = 0; j < fk.sent[i].nparams && j < MAX_PARAMS; j++)
            free(fk.sent[i].params[j]);
    }
    for (int i = 0; i < fk.n_keys; i++) {
        free(fk.keys[i]);
        free(fk.vals[i]);
    }
    free(fk.unexpected);
    memset(&fk, 0, sizeof(fk));
}

/* ---- libpq ---- */

static PGconn *f_connectdbParams(const char *const *keys, const char *const *vals, int expand)
{
    (void)expand;
    for (int i = 0; i < fk.n_keys; i++) {
        free(fk.keys[i]);
        free(fk.vals[i]);
    }
    fk.n_keys = 0;
    for (int i = 0; keys[i] && fk.n_keys < MAX_KEYS; i++) {
        fk.keys[fk.n_keys] = strdup(keys[i]);
        fk.vals[fk.n_keys++] = dup_or_null(vals[i]);
    }
    fk.connections++;
    PGconn *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    fk.conns_open++;
    if (fk.refuse) {
        snprintf(c->error, sizeof(c->error), "%s", fk.refuse);
        free(fk.refuse);
        fk.refuse = NULL;
    } else {
        c->ok = true;
    }
    return c;
}

static ConnStatusType f_status(const PGconn *c)
{
    return c && c->ok ? CONNECTION_OK : CONNECTION_BAD;
}

static char *f_errorMessage(const PGconn *c)
{
    return c ? (char *)c->error : (char *)"connection pointer is NULL\n";
}

static PGresult *new_result(ExecStatusType status, int rows, int cols)
{
    PGresult *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->status = status;
    r->rows = rows;
    r->cols = cols;
    if (rows > 0 && cols > 0) {
        r->cells = calloc((size_t)(rows * cols), sizeof(char *));
        assert_non_null(r->cells);
    }
    fk.results_open++;
    return r;
}

static PGresult *f_execParams(PGconn *c, const char *sql, int nparams, const Oid *types,
                              const char *const *params, const int *lengths, const int *formats,
                              int result_format)
{
    (void)types, (void)lengths, (void)formats, (void)result_format;
    if (fk.n_sent < MAX_SENT) {
        sent *s = &fk.sent[fk.n_sent++];
        s->sql = strdup(sql);
        s->nparams = nparams;
        for (int j = 0; j < nparams && j < MAX_PARAMS; j++)
            s->params[j] = dup_or_null(params[j]);
    }
    step *st = fk.next_step < fk.n_steps ? &fk.steps[fk.next_step] : NULL;
    if (!st || !strstr(sql, st->match)) {
        char buf[2048];
        snprintf(buf, sizeof(buf), "'%s' (expected: %s)", sql, st ? st->match : "no more queries");
        if (!fk.unexpected)
            fk.unexpected = strdup(buf);
        /* the code under test passes the message on: a failing test shows it */
        PGresult *r = new_result(PGRES_FATAL_ERROR, 0, 0);
        snprintf(r->error, sizeof(r->error), "ERROR:  fake_pg: unexpected query %s\n", buf);
        snprintf(c->error, sizeof(c->error), "%s", r->error);
        return r;
    }
    fk.next_step++;
    if (st->error) {
        PGresult *r = new_result(PGRES_FATAL_ERROR, 0, 0);
        snprintf(r->error, sizeof(r->error), "%s", st->error);
        snprintf(c->error, sizeof(c->error), "%s", st->error);
        return r;
    }
    PGresult *r = new_result(st->cols ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, st->rows, st->cols);
    for (int i = 0; i < st->rows * st->cols; i++)
        r->cells[i] = dup_or_null(st->cells[i]);
    c->error[0] = '\0';
    return r;
}

static PGresult *f_exec(PGconn *c, const char *sql)
{
    return f_execParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
}

static int f_sendQuery(PGconn *c, const char *sql)
{
    c->pending = f_exec(c, sql);
    return 1;
}

static PGresult *f_getResult(PGconn *c)
{
    PGresult *r = c->pending;
    c->pending = NULL;
    return r;
}

static ExecStatusType f_resultStatus(const PGresult *r)
{
    return r ? r->status : PGRES_FATAL_ERROR;
}

static int f_ntuples(const PGresult *r)
{
    return r ? r->rows : 0;
}

static int f_nfields(const PGresult *r)
{
    return r ? r->cols : 0;
}

static bool in_range(const PGresult *r, int row, int col)
{
    return r && row >= 0 && col >= 0 && row < r->rows && col < r->cols;
}

static char *f_getvalue(const PGresult *r, int row, int col)
{
    /* libpq gives "" for NULL and out of range */
    if (!in_range(r, row, col) || !r->cells[row * r->cols + col])
        return (char *)"";
    return r->cells[row * r->cols + col];
}

static int f_getisnull(const PGresult *r, int row, int col)
{
    return !in_range(r, row, col) || !r->cells[row * r->cols + col];
}

static Oid f_ftype(const PGresult *r, int col)
{
    (void)r, (void)col;
    return 25; /* text */
}

static char *f_resultErrorMessage(const PGresult *r)
{
    return r ? (char *)r->error : (char *)"";
}

static void f_clear(PGresult *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->rows * r->cols; i++)
        free(r->cells[i]);
    free(r->cells);
    free(r);
    fk.results_open--;
}

static void f_finish(PGconn *c)
{
    if (!c)
        return;
    f_clear(c->pending);
    free(c);
    fk.conns_open--;
}

static int f_libVersion(void)
{
    return 150000;
}

static int f_serverVersion(const PGconn *c)
{
    return c && c->ok ? fk.server_version : 0;
}

static PGPing f_pingParams(const char *const *keys, const char *const *vals, int expand)
{
    (void)keys, (void)vals, (void)expand;
    return PQPING_OK;
}

static const wd_libpq fake_table = {
    .connectdbParams = f_connectdbParams,
    .status = f_status,
    .errorMessage = f_errorMessage,
    .exec = f_exec,
    .execParams = f_execParams,
    .resultStatus = f_resultStatus,
    .ntuples = f_ntuples,
    .nfields = f_nfields,
    .getvalue = f_getvalue,
    .getisnull = f_getisnull,
    .clear = f_clear,
    .finish = f_finish,
    .libVersion = f_libVersion,
    .serverVersion = f_serverVersion,
    .sendQuery = f_sendQuery,
    .getResult = f_getResult,
    .ftype = f_ftype,
    .pingParams = f_pingParams,
    .resultErrorMessage = f_resultErrorMessage,
};

/* ---- the script ---- */

void fake_pg_begin(int server_version)
{
    reset();
    fk.server_version = server_version;
    wd_libpq_set(&fake_table);
}

void fake_pg_refuse(const char *message)
{
    free(fk.refuse);
    fk.refuse = strdup(message);
}

static step *add_step(const char *match)
{
    assert_true(fk.n_steps < MAX_STEPS);
    step *s = &fk.steps[fk.n_steps++];
    s->match = strdup(match);
    return s;
}

void fake_pg_answer(const char *match, int ncols, ...)
{
    step *s = add_step(match);
    s->cols = ncols;
    va_list ap;
    va_start(ap, ncols);
    int n = 0, cap = 0;
    for (const char *v; (v = va_arg(ap, const char *));) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            s->cells = realloc(s->cells, (size_t)cap * sizeof(char *));
            assert_non_null(s->cells);
        }
        s->cells[n++] = v == fake_pg_null ? NULL : strdup(v);
    }
    va_end(ap);
    assert_true(ncols > 0 ? n % ncols == 0 : n == 0);
    s->rows = ncols > 0 ? n / ncols : 0;
}

void fake_pg_error(const char *match, const char *message)
{
    step *s = add_step(match);
    s->error = strdup(message);
}

int fake_pg_queries(void)
{
    return fk.n_sent;
}

const char *fake_pg_sql(int i)
{
    return i >= 0 && i < fk.n_sent ? fk.sent[i].sql : NULL;
}

int fake_pg_nparams(int i)
{
    return i >= 0 && i < fk.n_sent ? fk.sent[i].nparams : -1;
}

const char *fake_pg_param(int i, int j)
{
    if (i < 0 || i >= fk.n_sent || j < 0 || j >= fk.sent[i].nparams || j >= MAX_PARAMS)
        return NULL;
    return fk.sent[i].params[j];
}

const char *fake_pg_conninfo(const char *keyword)
{
    for (int i = 0; i < fk.n_keys; i++)
        if (strcmp(fk.keys[i], keyword) == 0)
            return fk.vals[i];
    return NULL;
}

int fake_pg_connections(void)
{
    return fk.connections;
}

void fake_pg_end(void)
{
    wd_libpq_set(NULL);
    if (fk.unexpected)
        print_error("fake_pg: unexpected query %s\n", fk.unexpected);
    assert_null(fk.unexpected);
    if (fk.next_step < fk.n_steps)
        print_error("fake_pg: %d scripted queries not sent, the first: %s\n",
                    fk.n_steps - fk.next_step, fk.steps[fk.next_step].match);
    assert_int_equal(fk.next_step, fk.n_steps);
    assert_int_equal(fk.conns_open, 0);
    assert_int_equal(fk.results_open, 0);
    reset();
}
