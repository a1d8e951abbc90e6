/*
 * test_dump.c - dump/dump.c with the scripted server of fake_pg.h and
 * stand-ins for pg_dump and pg_dumpall (shell scripts in pg-bin that log
 * their arguments): which databases are dumped, what the programs are
 * given, what is recorded, and a dump that fails beside ones that do not.
 * test_dump.sh dumps a real server with the real programs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "fake_pg.h"
#include "testutil.h"

#define SYSID_TEXT "7312345678901234567"
static const uint64_t SYSID = 7312345678901234567ull;

typedef struct fixture {
    tu_area a;
    char bin[4096], calls[4096];
    int n;
    char seen[8][256]; /* what the callback was handed, one line each */
    char ids[8][64];
} fixture;

/* pg_dump writes "PGDMP" and the database's name, but only "oops" for the
 * database "bad"; pg_dumpall a line of SQL. Both log their arguments. */
static void write_program(fixture *f, const char *name, const char *body)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", f->bin, name);
    char text[8192];
    snprintf(text, sizeof(text),
             "#!/bin/sh\n"
             "if [ \"$1\" = --version ]; then echo '%s (PostgreSQL) 15.10'; exit 0; fi\n"
             "echo \"%s $*\" >> '%s'\n%s",
             name, name, f->calls, body);
    tu_write_file(path, text, strlen(text));
    assert_int_equal(chmod(path, 0755), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_area_setup(&f->a, SYSID);
    snprintf(f->bin, sizeof(f->bin), "%s/bin", f->a.dir);
    snprintf(f->calls, sizeof(f->calls), "%s/calls", f->a.dir);
    assert_int_equal(mkdir(f->bin, 0755), 0);
    write_program(f, "pg_dump",
                  "case \"$3\" in *bad*) printf oops; exit 0;; esac\n"
                  "printf 'PGDMP %s' \"$3\"\n");
    write_program(f, "pg_dumpall", "echo 'CREATE ROLE app;'\n");
    assert_ok(walden_config_set(f->a.cfg, "pg-bin", f->bin, WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(f->a.cfg, "pghost", "/run/pg", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(f->a.cfg, "pgport", "5499", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(f->a.cfg, "compress", "none", WALDEN_SOURCE_FLAG));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_area_teardown(&f->a);
    free(f);
    return 0;
}

static int seen(const walden_dump_info *d, void *ctx)
{
    fixture *f = ctx;
    assert_true(f->n < 8);
    snprintf(f->ids[f->n], sizeof(f->ids[0]), "%s", d->id);
    snprintf(f->seen[f->n++], sizeof(f->seen[0]), "%s %s %s %s size %llu pg %d %s", d->kind,
             *d->database ? d->database : "-", d->status, *d->error ? d->error : "-",
             (unsigned long long)d->size, d->pg_version, d->pg_dump_version);
    return 0;
}

static int run_dump(fixture *f)
{
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    f->n = 0;
    int rc = walden_dump(repo, f->a.cfg, NULL, NULL, seen, f);
    walden_repo_close(repo);
    return rc;
}

/* The program lines, sorted (dumps run in parallel). */
static char *calls(fixture *f)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/calls.sorted", f->a.dir);
    assert_int_equal(
        tu_system("LC_ALL=C sort '%s' > '%s' 2>/dev/null || : > '%s'", f->calls, path, path), 0);
    size_t len = 0;
    uint8_t *b = tu_read_file(path, &len);
    char *s = realloc(b, len + 1);
    s[len] = '\0';
    return s;
}

#define DATABASES "FROM pg_database WHERE datallowconn AND NOT datistemplate"

/* Every database that takes connections, and the globals first. */
static void test_all_databases(void **state)
{
    fixture *f = *state;
    assert_ok(walden_config_set(f->a.cfg, "process-max", "2", WALDEN_SOURCE_FLAG));
    fake_pg_begin(150010);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer(DATABASES, 1, "app", "postgres", NULL);
    assert_ok(run_dump(f));
    fake_pg_end();
    assert_int_equal(f->n, 3);
    assert_string_equal(f->seen[0], "globals - ok - size 17 pg 150010 pg_dump (PostgreSQL) 15.10");
    assert_string_equal(f->seen[1],
                        "database app ok - size 27 pg 150010 pg_dump (PostgreSQL) 15.10");
    assert_string_equal(f->seen[2],
                        "database postgres ok - size 32 pg 150010 pg_dump (PostgreSQL) 15.10");
    char *got = calls(f);
    assert_string_equal(got, "pg_dump --format=custom --compress=0 --dbname=dbname='app' -h "
                             "/run/pg -p 5499\n"
                             "pg_dump --format=custom --compress=0 --dbname=dbname='postgres' -h "
                             "/run/pg -p 5499\n"
                             "pg_dumpall --globals-only -h /run/pg -p 5499\n");
    free(got);
}

/* A named database must exist; nothing is dumped when one does not. */
static void test_named(void **state)
{
    fixture *f = *state;
    assert_ok(walden_config_set(f->a.cfg, "dbname", "app", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(f->a.cfg, "pgdatabase", "postgres", WALDEN_SOURCE_FLAG));
    fake_pg_begin(150002);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer(DATABASES, 1, "app", "postgres", NULL);
    assert_ok(run_dump(f));
    fake_pg_end();
    assert_int_equal(f->n, 2);
    char *got = calls(f);
    /* the globals are read through the configured database */
    assert_string_equal(got, "pg_dump --format=custom --compress=0 --dbname=dbname='app' -h "
                             "/run/pg -p 5499\n"
                             "pg_dumpall --globals-only -l postgres -h /run/pg -p 5499\n");
    free(got);

    assert_ok(walden_config_set(f->a.cfg, "dbname", "nosuch", WALDEN_SOURCE_FLAG));
    assert_int_equal(tu_system("rm -f '%s'", f->calls), 0);
    fake_pg_begin(150002);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer(DATABASES, 1, "app", "postgres", NULL);
    assert_rc(run_dump(f), WALDEN_EINVAL);
    assert_string_equal(walden_error_last()->message,
                        "database 'nosuch' does not exist or does not accept connections");
    fake_pg_end();
    assert_int_equal(f->n, 0);
    got = calls(f);
    assert_string_equal(got, "");
    free(got);
}

/* One dump fails: the others are kept, the failed one is recorded as
 * such, and the error names it. */
static void test_one_fails(void **state)
{
    fixture *f = *state;
    fake_pg_begin(150010);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer(DATABASES, 1, "app", "bad", NULL);
    assert_rc(run_dump(f), WALDEN_EPG);
    fake_pg_end();
    assert_int_equal(f->n, 3);
    assert_string_equal(f->seen[1],
                        "database app ok - size 27 pg 150010 pg_dump (PostgreSQL) 15.10");
    assert_string_equal(f->seen[2], "database bad failed pg_dump of database 'bad' wrote "
                                    "something that is not a custom-format dump size 0 pg 150010 "
                                    "pg_dump (PostgreSQL) 15.10");
    char msg[512];
    snprintf(msg, sizeof(msg),
             "dump %s failed: pg_dump of database 'bad' wrote something that is not a "
             "custom-format dump",
             f->ids[2]);
    assert_string_equal(walden_error_last()->message, msg);
    assert_memory_equal(f->ids[2] + strlen(f->ids[2]) - 4, "-bad", 4);
}

/* Programs older than the server: refused before any runs a dump. */
static void test_old_programs(void **state)
{
    fixture *f = *state;
    fake_pg_begin(170002);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer(DATABASES, 1, "app", NULL);
    assert_rc(run_dump(f), WALDEN_EPG);
    char msg[8192];
    snprintf(msg, sizeof(msg),
             "pg-bin's '%s/pg_dump' is PostgreSQL 15, the cluster is PostgreSQL 17: install "
             "PostgreSQL 17's programs or set pg-bin (--pg-bin) to their folder",
             f->bin);
    assert_string_equal(walden_error_last()->message, msg);
    fake_pg_end();
    char *got = calls(f);
    assert_string_equal(got, "");
    free(got);
}

/* Another cluster's server: refused before any program runs. */
static void test_other_cluster(void **state)
{
    fixture *f = *state;
    fake_pg_begin(150010);
    fake_pg_answer("pg_control_system()", 1, "7000000000000000001", NULL);
    assert_rc(run_dump(f), WALDEN_EMISMATCH);
    assert_string_equal(walden_error_last()->message,
                        "the server is cluster 7000000000000000001, but the repository's cluster "
                        "'main' is " SYSID_TEXT);
    fake_pg_end();
    char *got = calls(f);
    assert_string_equal(got, "");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_databases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_programs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_cluster, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
