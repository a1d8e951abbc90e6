/*
 * test_check.c - check/check.c: what walden check decides from the server's
 * answers (fake_pg.h), against a real local repository. Each case asserts
 * the exact items reported. test_check.sh runs check against real servers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "fake_pg.h"
#include "pg/pg.h"
#include "testutil.h"

#define SYSID_TEXT "7312345678901234567"
static const uint64_t SYSID = 7312345678901234567ull;
#define SEG (1u << 20)

typedef struct fixture {
    tu_area a;
    /* what check reported */
    int n;
    char names[16][32];
    int ok[16];
    char messages[16][2048];
} fixture;

static int collect(const walden_check_item *it, void *ctx)
{
    fixture *f = ctx;
    assert_true(f->n < 16);
    snprintf(f->names[f->n], sizeof(f->names[0]), "%s", it->name);
    f->ok[f->n] = it->ok;
    snprintf(f->messages[f->n], sizeof(f->messages[0]), "%s", it->message);
    f->n++;
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_area_setup(&f->a, SYSID);
    assert_ok(walden_config_set(f->a.cfg, "archive-timeout", "0s", WALDEN_SOURCE_FLAG));
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

/* Runs check; returns its problem count. */
static int run_check(fixture *f)
{
    int problems = -1;
    f->n = 0;
    assert_ok(walden_check(f->a.cfg, collect, f, &problems));
    return problems;
}

static void assert_item(const fixture *f, int i, const char *name, int ok, const char *message)
{
    assert_true(i < f->n);
    assert_string_equal(f->names[i], name);
    if (strcmp(f->messages[i], message) != 0)
        print_error("item %d: '%s'\n", i, f->messages[i]);
    assert_string_equal(f->messages[i], message);
    assert_int_equal(f->ok[i], ok);
}

/* The repository's three items, all fine. */
static void assert_repository_ok(const fixture *f)
{
    char msg[8192];
    snprintf(msg, sizeof(msg), "repository '%s', cluster 'main', system identifier %s", f->a.repo,
             SYSID_TEXT);
    assert_item(f, 0, "repository", 1, msg);
    snprintf(msg, sizeof(msg), "repository '%s' takes writes", f->a.repo);
    assert_item(f, 1, "repository-writable", 1, msg);
    assert_item(f, 2, "encryption", 1, "repository not encrypted");
}

#define SETTINGS "SELECT current_setting('archive_mode'), "

/* archive_mode, archive_command, archive_library and recovery as the
 * server answers them, and what check says. */
static void test_settings(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *mode, *command, *library, *recovery;
        const char *message;
    } cases[] = {
        {"on", "walden archive-push %p", "", "t",
         "the server is a standby: run walden check against the primary"},
        {"off", "walden archive-push %p", "", "f",
         "archive_mode is off: set archive_mode = on (needs a restart) and archive_command = "
         "'walden archive-push %p'"},
        {"on", "walden archive-push %p", "basic_archive", "f",
         "archive_library = 'basic_archive' is set: walden is an archive_command; set "
         "archive_library = '' and archive_command = 'walden archive-push %p'"},
        {"on", "", "", "f",
         "archive_command is not set: set archive_command = 'walden "
         "archive-push %p'"},
        {"always", "(disabled)", "", "f",
         "archive_command is not set: set archive_command = 'walden archive-push %p'"},
        {"on", "cp %p /mnt/wal/%f", "", "f",
         "archive_command = 'cp %p /mnt/wal/%f' does not run walden archive-push %p"},
        {"on", "walden archive-get %f %p", "", "f",
         "archive_command = 'walden archive-get %f %p' does not run walden archive-push %p"},
        {"on", "walden archive-push", "", "f",
         "archive_command = 'walden archive-push' does not run walden archive-push %p"},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        fake_pg_begin(150010);
        fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
        fake_pg_answer(SETTINGS, 4, cases[i].mode, cases[i].command, cases[i].library,
                       cases[i].recovery, NULL);
        assert_int_equal(run_check(f), 1);
        fake_pg_end();
        assert_repository_ok(f);
        assert_item(f, 3, "postgresql", 1, "PostgreSQL 15.10, system identifier " SYSID_TEXT);
        assert_item(f, 4, "archive-command", 0, cases[i].message);
        /* no segment is forced out through a set-up that cannot archive it */
        assert_item(f, 5, "timelines", 1, "no timeline in the archive yet");
        assert_int_equal(f->n, 6);
    }
}

/* Archiving looks right but the segment does not arrive: the message names
 * it, the repository, and what the server's archiver says. */
static void test_arrival_timeout(void **state)
{
    fixture *f = *state;
    fake_pg_begin(170002);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer(SETTINGS, 4, "on", "/usr/bin/walden archive-push %p", "", "f", NULL);
    fake_pg_answer("SELECT txid_current()::text", 1, "757", NULL);
    fake_pg_answer("SELECT pg_walfile_name(pg_switch_wal())", 1, "000000010000000000000003", NULL);
    fake_pg_answer("FROM pg_stat_archiver", 6, "/usr/bin/walden archive-push %p", "2",
                   "000000010000000000000002", "5", "000000010000000000000003",
                   "2026-12-06 07:00:01+00", NULL);
    assert_int_equal(run_check(f), 1);
    fake_pg_end();
    assert_repository_ok(f);
    assert_item(f, 3, "postgresql", 1, "PostgreSQL 17.2, system identifier " SYSID_TEXT);
    assert_item(f, 4, "archive-command", 1, "archive_command = '/usr/bin/walden archive-push %p'");
    char msg[8192];
    snprintf(msg, sizeof(msg),
             "segment 000000010000000000000003 did not reach repository '%s' (cluster 'main') "
             "within 0 s: archive_command = '/usr/bin/walden archive-push %%p'; last archived: "
             "000000010000000000000002; failures: 5, last 000000010000000000000003 at "
             "2026-12-06 07:00:01+00; does archive_command use this repository (its config "
             "file, repo and cluster)?",
             f->a.repo);
    assert_item(f, 5, "archive-arrival", 0, msg);
    assert_item(f, 6, "timelines", 1, "no timeline in the archive yet");
    assert_int_equal(f->n, 7);
}

static void test_arrival(void **state)
{
    fixture *f = *state;
    tu_push_segment(&f->a, "000000010000000000000003", SEG);
    fake_pg_begin(160006);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer(SETTINGS, 4, "on", "walden --config /etc/walden/main.conf archive-push %p", "",
                   "f", NULL);
    fake_pg_answer("SELECT txid_current()::text", 1, "757", NULL);
    fake_pg_answer("SELECT pg_walfile_name(pg_switch_wal())", 1, "000000010000000000000003", NULL);
    assert_int_equal(run_check(f), 0);
    fake_pg_end();
    assert_repository_ok(f);
    assert_item(f, 3, "postgresql", 1, "PostgreSQL 16.6, system identifier " SYSID_TEXT);
    assert_item(f, 4, "archive-command", 1,
                "archive_command = 'walden --config /etc/walden/main.conf archive-push %p'");
    assert_string_equal(f->names[5], "archive-arrival");
    assert_int_equal(f->ok[5], 1);
    assert_memory_equal(f->messages[5],
                        "segment 000000010000000000000003 reached the repository in ", 59);
    assert_string_equal(f->names[6], "timelines");
    assert_int_equal(f->ok[6], 1);
    assert_int_equal(f->n, 7);
}

/* The server is another cluster: reported, and no segment forced out. */
static void test_other_cluster(void **state)
{
    fixture *f = *state;
    fake_pg_begin(150010);
    fake_pg_answer("pg_control_system()", 1, "7000000000000000001", NULL);
    fake_pg_answer(SETTINGS, 4, "on", "walden archive-push %p", "", "f", NULL);
    assert_int_equal(run_check(f), 2);
    fake_pg_end();
    assert_repository_ok(f);
    assert_item(f, 3, "postgresql", 0,
                "the server is cluster 7000000000000000001, but the repository's cluster 'main' "
                "is " SYSID_TEXT ": wrong server, or wrong cluster option");
    assert_item(f, 4, "archive-command", 1, "archive_command = 'walden archive-push %p'");
    assert_item(f, 5, "archive-arrival", 0, "not tried: fix the problems above first");
    assert_item(f, 6, "timelines", 1, "no timeline in the archive yet");
    assert_int_equal(f->n, 7);
}

/* No server: one item says so, nothing else of the server is checked. */
static void test_no_server(void **state)
{
    fixture *f = *state;
    fake_pg_begin(150010);
    fake_pg_refuse("connection to server at \"db1\" (10.0.0.5), port 5432 failed: Connection "
                   "refused\n");
    assert_int_equal(run_check(f), 1);
    fake_pg_end();
    assert_repository_ok(f);
    assert_item(f, 3, "postgresql", 0,
                "cannot connect to PostgreSQL: connection to server at \"db1\" (10.0.0.5), port "
                "5432 failed: Connection refused; check pghost, pgport, pguser");
    assert_item(f, 4, "timelines", 1, "no timeline in the archive yet");
    assert_int_equal(f->n, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arrival_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arrival, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_cluster, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
