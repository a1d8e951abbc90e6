/*
 * libpq.h - libpq, loaded when first needed.
 *
 * archive-push runs once per WAL segment and never talks to the server;
 * linking libpq (and the two dozen libraries it pulls in) would cost every
 * run about 6 ms of dynamic loading on a 2-core machine. So libpq is opened
 * with dlopen on first use and its functions are called through this table.
 * The types come from libpq-fe.h, so calls are checked as usual.
 *
 * The table is also the seam of the unit tests: a test installs a fake
 * server's table (tests/testutil/fake_pg.h) with wd_libpq_set, and every
 * session (pg/session.c) and every other client of the table talks to the
 * fake. Production code never calls wd_libpq_set; the cost on its path is
 * one pointer read per connection.
 */
#ifndef WD_PG_LIBPQ_H
#define WD_PG_LIBPQ_H

#include <libpq-fe.h>

typedef struct wd_libpq {
    __typeof__(PQconnectdbParams) *connectdbParams;
    __typeof__(PQstatus) *status;
    __typeof__(PQerrorMessage) *errorMessage;
    __typeof__(PQexec) *exec;
    __typeof__(PQexecParams) *execParams;
    __typeof__(PQresultStatus) *resultStatus;
    __typeof__(PQntuples) *ntuples;
    __typeof__(PQnfields) *nfields;
    __typeof__(PQgetvalue) *getvalue;
    __typeof__(PQgetisnull) *getisnull;
    __typeof__(PQclear) *clear;
    __typeof__(PQfinish) *finish;
    __typeof__(PQlibVersion) *libVersion;
    __typeof__(PQserverVersion) *serverVersion;
    __typeof__(PQsendQuery) *sendQuery;
    __typeof__(PQgetResult) *getResult;
    __typeof__(PQftype) *ftype;
    __typeof__(PQpingParams) *pingParams;
    __typeof__(PQresultErrorMessage) *resultErrorMessage;
} wd_libpq;

/* The loaded library; NULL with WALDEN_EPG set when it cannot be loaded. */
const wd_libpq *wd_libpq_get(void);

/* For unit tests: from now on wd_libpq_get returns `fake` (NULL: libpq
 * again), without loading libpq. Call it before the sessions it is meant
 * for are opened and not while another thread opens one; a session keeps
 * the table it was opened with. */
void wd_libpq_set(const wd_libpq *fake);

#endif
