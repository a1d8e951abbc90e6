/*
 * test_where.c - pg/where.c: postmaster.pid read as untrusted local bytes,
 * and the connection it gives when pghost and pgport are not configured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "pg/pg.h"
#include "testutil.h"

/* What PostgreSQL 15 writes: pid, data directory, start time, port,
 * socket directory, listen address, shared memory key, status. */
#define PG15_PIDFILE                                                                               \
    "4242\n/var/lib/postgresql/15/other\n1764990000\n5433\n/var/run/postgresql\n*\n"               \
    "  5433001         0\nready   \n"

static int parse(const char *text, wd_pg_pidfile *pf)
{
    return wd_pg_pidfile_parse(text, strlen(text), pf);
}

static void test_parse_server(void **state)
{
    (void)state;
    wd_pg_pidfile pf;
    assert_ok(parse(PG15_PIDFILE, &pf));
    assert_int_equal(pf.port, 5433);
    assert_string_equal(pf.socket_dir, "/var/run/postgresql");
    assert_string_equal(pf.listen, "*");
    /* no socket directory, no listen address: empty lines */
    assert_ok(parse("17\n/d\n1\n65535\n\n\n", &pf));
    assert_int_equal(pf.port, 65535);
    assert_string_equal(pf.socket_dir, "");
    assert_string_equal(pf.listen, "");
    /* a server that has written only its first four lines yet */
    assert_ok(parse("17\n/d\n1\n1\n", &pf));
    assert_int_equal(pf.port, 1);
    assert_string_equal(pf.socket_dir, "");
    assert_ok(parse("17\n/d\n1\n5432", &pf));
    assert_int_equal(pf.port, 5432);
}

static void test_parse_refused(void **state)
{
    (void)state;
    wd_pg_pidfile pf;
    const char *bad[] = {
        "",                          /* empty */
        "17\n/d\n1\n",               /* no port line */
        "17\n/d\n1\n\n/s\n",         /* empty port */
        "17\n/d\n1\n0\n/s\n",        /* port 0 */
        "17\n/d\n1\n65536\n/s\n",    /* beyond 65535 */
        "17\n/d\n1\n123456\n/s\n",   /* too many digits */
        "17\n/d\n1\n54x2\n/s\n",     /* not a number */
        "17\n/d\n1\n-5432\n/s\n",    /* signed */
        "17\n/d\n1\n 5432\n/s\n",    /* padded */
        "-17\n/d\n1\n5432\n/s\n",    /* a single-user backend */
        "x\n/d\n1\n5432\n/s\n",      /* no pid */
        "12345678901\n/d\n1\n5432\n" /* pid too long */
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++) {
        pf.port = 99;
        if (parse(bad[i], &pf) != WALDEN_EINVAL)
            fail_msg("accepted: '%s'", bad[i]);
    }
    /* a NUL byte inside */
    static const char nul[] = "17\n/d\n1\n54\0"
                              "32\n";
    assert_int_equal(wd_pg_pidfile_parse(nul, sizeof(nul) - 1, &pf), WALDEN_EINVAL);
    /* a socket directory or listen address longer than its buffer */
    char *big = malloc(8000);
    memset(big, 'a', 7999);
    big[7999] = '\0';
    char *text = wd_asprintf("17\n/d\n1\n5432\n/%s\n*\n", big);
    assert_int_equal(parse(text, &pf), WALDEN_EINVAL);
    wd_free(text);
    big[300] = '\0';
    text = wd_asprintf("17\n/d\n1\n5432\n/s\n%s\n", big);
    assert_int_equal(parse(text, &pf), WALDEN_EINVAL);
    wd_free(text);
    /* the right length exactly fits: 1023 bytes of socket directory */
    memset(big, 'a', 1022);
    big[1022] = '\0';
    text = wd_asprintf("17\n/d\n1\n5432\n/%s\n", big);
    assert_ok(parse(text, &pf));
    assert_int_equal(strlen(pf.socket_dir), 1023);
    wd_free(text);
    /* a file beyond 8 KiB */
    char *huge = malloc(9000);
    memset(huge, '\n', 8999);
    memcpy(huge, "17\n/d\n1\n5432\n", 13);
    huge[8999] = '\0';
    assert_int_equal(parse(huge, &pf), WALDEN_EINVAL);
    free(huge);
    free(big);
}

typedef struct fixture {
    char *dir;
    walden_config *cfg;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_mkdtemp();
    assert_ok(walden_config_new(&f->cfg));
    assert_ok(walden_config_set(f->cfg, "pgdata", f->dir, WALDEN_SOURCE_FLAG));
    unsetenv("PGHOST");
    unsetenv("PGHOSTADDR");
    unsetenv("PGPORT");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    walden_config_free(f->cfg);
    tu_rmdir_r(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void write_pidfile(fixture *f, const char *text)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/postmaster.pid", f->dir);
    tu_write_file(path, text, strlen(text));
}

static void test_where_from_pidfile(void **state)
{
    fixture *f = *state;
    wd_pg_where w;
    /* no postmaster.pid: libpq's defaults */
    wd_pg_where_get(f->cfg, &w);
    assert_null(w.host);
    assert_null(w.port);
    /* nor with one that does not parse */
    write_pidfile(f, "17\n/d\n1\n99999\n/s\n");
    wd_pg_where_get(f->cfg, &w);
    assert_null(w.host);
    assert_null(w.port);
    write_pidfile(f, PG15_PIDFILE);
    wd_pg_where_get(f->cfg, &w);
    assert_string_equal(w.host, "/var/run/postgresql");
    assert_string_equal(w.port, "5433");
    /* libpq's variables count as configured */
    setenv("PGHOST", "db.example", 1);
    wd_pg_where_get(f->cfg, &w);
    assert_null(w.host);
    assert_string_equal(w.port, "5433");
    unsetenv("PGHOST");
    setenv("PGPORT", "7000", 1);
    wd_pg_where_get(f->cfg, &w);
    assert_string_equal(w.host, "/var/run/postgresql");
    assert_null(w.port);
    unsetenv("PGPORT");
    /* a configured port wins, the socket still comes from the file */
    assert_ok(walden_config_set(f->cfg, "pgport", "6000", WALDEN_SOURCE_FLAG));
    wd_pg_where_get(f->cfg, &w);
    assert_string_equal(w.host, "/var/run/postgresql");
    assert_string_equal(w.port, "6000");
    /* a server without a socket: its listen address */
    write_pidfile(f, "17\n/d\n1\n5499\n\n*\n");
    wd_pg_where_get(f->cfg, &w);
    assert_string_equal(w.host, "127.0.0.1");
    assert_string_equal(w.port, "6000");
    write_pidfile(f, "17\n/d\n1\n5499\n\n10.1.2.3\n");
    wd_pg_where_get(f->cfg, &w);
    assert_string_equal(w.host, "10.1.2.3");
    /* a damaged file is as if there were none */
    write_pidfile(f, "17\n/d\n1\nport\n/s\n");
    wd_pg_where_get(f->cfg, &w);
    assert_null(w.host);
    assert_string_equal(w.port, "6000");
    /* a configured host and port: the file is not needed */
    write_pidfile(f, PG15_PIDFILE);
    assert_ok(walden_config_set(f->cfg, "pghost", "/tmp/sock", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(f->cfg, "pgport", "6001", WALDEN_SOURCE_FLAG));
    wd_pg_where_get(f->cfg, &w);
    assert_string_equal(w.host, "/tmp/sock");
    assert_string_equal(w.port, "6001");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_server),
        cmocka_unit_test(test_parse_refused),
        cmocka_unit_test_setup_teardown(test_where_from_pidfile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
