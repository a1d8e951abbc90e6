/*
 * fake_pg.h - a scripted PostgreSQL server for unit tests, installed behind
 * libpq's function table (lib/pg/libpq.h, wd_libpq_set), so the library's
 * sessions talk to it as they would to libpq.
 *
 * A test says which queries the code under test sends, in order, and what
 * the server answers each: rows of text values, or an error. The fake keeps
 * what was sent (the SQL, its parameters, the connection's keywords) for the
 * test to assert the exact conversation. fake_pg_end checks that every
 * answer was asked for, that no query came unexpected, and that every
 * connection was closed and every result freed; then libpq is back.
 *
 *     fake_pg_begin(150000);
 *     fake_pg_answer("pg_control_system()", 1, "7300000000000000001", NULL);
 *     fake_pg_error("pg_backup_stop(false)", "ERROR:  canceling statement\n");
 *     ... call the code under test, assert its result ...
 *     assert_string_equal(fake_pg_param(0, 0), "walden ...");
 *     fake_pg_end();
 *
 * Not thread-safe: one test at a time drives it.
 */
#ifndef WALDEN_FAKE_PG_H
#define WALDEN_FAKE_PG_H

/* A cell of SQL NULL in fake_pg_answer (NULL ends the cells). */
extern const char fake_pg_null[];
#define FAKE_PG_NULL fake_pg_null

/* Installs the fake: a server of server_version_num `server_version` that
 * accepts connections and has no answers scripted yet. */
void fake_pg_begin(int server_version);
/* The next connection attempt fails with libpq's `message` (e.g.
 * "connection to server ... failed: Connection refused\n"). */
void fake_pg_refuse(const char *message);
/* The next query must contain `match`; it is answered with the cells that
 * follow (const char *, row after row of `ncols` each, FAKE_PG_NULL for a
 * NULL), up to a NULL. No cells: a result without rows. */
void fake_pg_answer(const char *match, int ncols, ...);
/* The next query must contain `match`; it fails with libpq's `message`
 * (as the server words it, "ERROR:  ...\n"). */
void fake_pg_error(const char *match, const char *message);

/* What was sent: the number of queries, the i-th one's SQL, its number of
 * parameters and its j-th parameter (NULL when out of range). */
int fake_pg_queries(void);
const char *fake_pg_sql(int i);
int fake_pg_nparams(int i);
const char *fake_pg_param(int i, int j);
/* The value the last connection attempt gave `keyword` (NULL: not given),
 * and the number of connection attempts. */
const char *fake_pg_conninfo(const char *keyword);
int fake_pg_connections(void);

/* Asserts that the script was used up, nothing came unexpected and nothing
 * is left open; uninstalls the fake and frees what it kept. */
void fake_pg_end(void);

#endif
