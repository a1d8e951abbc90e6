/*
 * test_metrics.c - metrics/metrics.c and the archiver state it reads
 * (check/check.c, walden_archiver_state_get) for given server answers
 * (fake_pg.h), with a real local repository: the archiver's samples, the
 * WAL the archive lacks, and what is left out when the server cannot say.
 * test_monitoring.sh reads the metrics of a real server.
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
/* 16 MiB: the size the archive's names suggest when no backup tells */
#define SEG (16u << 20)
#define WAL_NAME "000000010000000000000020" /* ends at 0/21000000 */
#define ARCHIVER "FROM pg_stat_archiver"

typedef struct fixture {
    tu_area a;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_area_setup(&f->a, SYSID);
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

/* The metrics' sample lines of the archiver and of the WAL the archive
 * lacks, in order; malloc'ed. */
static char *server_samples(fixture *f)
{
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    char *text = NULL;
    assert_ok(walden_metrics(repo, f->a.cfg, &text));
    walden_repo_close(repo);
    static const char *const names[] = {"walden_archiver_", "walden_wal_unarchived_bytes",
                                        "walden_wal_exposure_seconds"};
    size_t cap = strlen(text) + 1, n = 0;
    char *out = calloc(1, cap);
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        for (size_t i = 0; i < WD_ARRAY_LEN(names); i++)
            if (strncmp(line, names[i], strlen(names[i])) == 0) {
                memcpy(out + n, line, len);
                n += len;
            }
        line += len;
    }
    walden_free(text);
    return out;
}

/* A primary with an empty archive: the counters, and all its flushed WAL
 * is unarchived (the tail of the current segment cannot be read). */
static void test_archiver_counters(void **state)
{
    fixture *f = *state;
    fake_pg_begin(150010);
    fake_pg_answer(ARCHIVER, 9, "41", "3", "000000010000000000000028", "00000001000000000000002A",
                   "1796540000250", "1796540400500", SYSID_TEXT, "0/2B000100",
                   "00000001000000000000002B", NULL);
    fake_pg_answer("name = 'wal_segment_size'", 1, "16777216", NULL);
    fake_pg_answer("pg_read_binary_file('pg_wal/' || $1, 0, $2::int8)", 1, "d1100200", NULL);
    char *got = server_samples(f);
    assert_string_equal(fake_pg_param(2, 0), "00000001000000000000002B");
    assert_string_equal(fake_pg_param(2, 1), "256");
    fake_pg_end();
    assert_string_equal(got, "walden_archiver_up{cluster=\"main\"} 1\n"
                             "walden_archiver_archived{cluster=\"main\"} 41\n"
                             "walden_archiver_failed{cluster=\"main\"} 3\n"
                             "walden_archiver_last_failed_timestamp_seconds{cluster=\"main\"} "
                             "1796540400.5\n"
                             "walden_wal_unarchived_bytes{cluster=\"main\"} 721420544\n");
    free(got);
}

/* The archive holds everything the server flushed: nothing unarchived,
 * nothing exposed, however old the segment. */
static void test_all_archived(void **state)
{
    fixture *f = *state;
    tu_push_segment(&f->a, WAL_NAME, SEG);
    fake_pg_begin(170002);
    fake_pg_answer(ARCHIVER, 9, "1", "0", WAL_NAME, "", "1796540000250", "0", SYSID_TEXT,
                   "0/21000000", "000000010000000000000020", NULL);
    fake_pg_answer("name = 'wal_segment_size'", 1, "16777216", NULL);
    char *got = server_samples(f);
    fake_pg_end();
    assert_string_equal(got, "walden_archiver_up{cluster=\"main\"} 1\n"
                             "walden_archiver_archived{cluster=\"main\"} 1\n"
                             "walden_archiver_failed{cluster=\"main\"} 0\n"
                             "walden_wal_unarchived_bytes{cluster=\"main\"} 0\n"
                             "walden_wal_exposure_seconds{cluster=\"main\"} 0\n");
    free(got);

    /* 256 bytes past the archive's end, which the server does not let
     * walden read: unarchived, and exposed since the segment was stored */
    fake_pg_begin(170002);
    fake_pg_answer(ARCHIVER, 9, "1", "0", WAL_NAME, "", "1796540000250", "0", SYSID_TEXT,
                   "0/21000100", "000000010000000000000021", NULL);
    fake_pg_answer("name = 'wal_segment_size'", 1, "16777216", NULL);
    fake_pg_error("pg_read_binary_file", "ERROR:  permission denied for function "
                                         "pg_read_binary_file\n");
    got = server_samples(f);
    fake_pg_end();
    static const char exposed[] = "walden_wal_exposure_seconds{cluster=\"main\"} ";
    const char *exposure = strstr(got, exposed);
    assert_non_null(exposure);
    /* the seconds since the segment was pushed, above */
    double secs = atof(exposure + strlen(exposed));
    assert_true(secs >= 0 && secs < 600);
    assert_memory_equal(got,
                        "walden_archiver_up{cluster=\"main\"} 1\n"
                        "walden_archiver_archived{cluster=\"main\"} 1\n"
                        "walden_archiver_failed{cluster=\"main\"} 0\n"
                        "walden_wal_unarchived_bytes{cluster=\"main\"} 256\n",
                        (size_t)(exposure - got));
    free(got);
}

/* A standby has no flushed WAL of its own: counters only. */
static void test_standby(void **state)
{
    fixture *f = *state;
    fake_pg_begin(160006);
    fake_pg_answer(ARCHIVER, 9, "0", "0", "", "", "0", "0", SYSID_TEXT, "", "", NULL);
    char *got = server_samples(f);
    fake_pg_end();
    assert_string_equal(got, "walden_archiver_up{cluster=\"main\"} 1\n"
                             "walden_archiver_archived{cluster=\"main\"} 0\n"
                             "walden_archiver_failed{cluster=\"main\"} 0\n");
    free(got);
}

/* No server, another cluster's server, an answer that does not parse:
 * archiver_up 0 and nothing else of the server. */
static void test_archiver_down(void **state)
{
    fixture *f = *state;
    fake_pg_begin(150010);
    fake_pg_refuse("connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" failed: No "
                   "such file or directory\n");
    char *got = server_samples(f);
    fake_pg_end();
    assert_string_equal(got, "walden_archiver_up{cluster=\"main\"} 0\n");
    free(got);

    fake_pg_begin(150010);
    fake_pg_answer(ARCHIVER, 9, "41", "3", "", "", "0", "0", "7000000000000000001", "0/2B000100",
                   "00000001000000000000002B", NULL);
    fake_pg_answer("name = 'wal_segment_size'", 1, "16777216", NULL);
    fake_pg_answer("pg_read_binary_file", 1, "00", NULL);
    got = server_samples(f);
    fake_pg_end();
    assert_string_equal(got, "walden_archiver_up{cluster=\"main\"} 0\n");
    free(got);

    fake_pg_begin(150010);
    fake_pg_answer(ARCHIVER, 9, "41", "-3", "", "", "0", "0", SYSID_TEXT, "", "", NULL);
    got = server_samples(f);
    fake_pg_end();
    assert_string_equal(got, "walden_archiver_up{cluster=\"main\"} 0\n");
    free(got);
}

/* Backups by type, the newest of each type, and the chains: a broken one
 * counts, the newest backup's chain length. */
static void test_backup_types(void **state)
{
    fixture *f = *state;
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    int64_t t0 = INT64_C(1796000000000);
    tu_put_backup(repo, f->a.repo, "20261201T000000Z", "full", "", t0);
    tu_put_backup(repo, f->a.repo, "20261202T000000Z", "incr", "20261201T000000Z", t0 + 1000000);
    tu_put_backup(repo, f->a.repo, "20261203T000000Z", "incr", "20261130T000000Z", t0 + 2000000);
    tu_put_backup(repo, f->a.repo, "20261204T000000Z", "incr", "20261202T000000Z", t0 + 3000000);
    fake_pg_begin(150010);
    fake_pg_refuse("no server\n");
    char *text = NULL;
    assert_ok(walden_metrics(repo, f->a.cfg, &text));
    fake_pg_end();
    walden_repo_close(repo);
    static const char *const want[] = {
        "walden_backups{cluster=\"main\"} 4\n",
        "walden_backups_by_type{cluster=\"main\",type=\"full\"} 1\n",
        "walden_backups_by_type{cluster=\"main\",type=\"diff\"} 0\n",
        "walden_backups_by_type{cluster=\"main\",type=\"incr\"} 3\n",
        "walden_backup_type_last_timestamp_seconds{cluster=\"main\",type=\"full\"} 1796000000\n",
        "walden_backup_type_last_timestamp_seconds{cluster=\"main\",type=\"incr\"} 1796003000\n",
        "walden_backup_type_last_stored_bytes{cluster=\"main\",type=\"full\"} 500\n",
        "walden_backup_type_last_stored_bytes{cluster=\"main\",type=\"incr\"} 50\n",
        "walden_backups_chain_broken{cluster=\"main\"} 1\n",
        "walden_backup_last_chain_length{cluster=\"main\"} 3\n",
        /* the series of the newest backup, whatever its type, stay */
        "walden_backup_last_timestamp_seconds{cluster=\"main\"} 1796003000\n",
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(want); i++)
        if (!strstr(text, want[i])) {
            print_error("no '%s' in:\n%s", want[i], text);
            fail();
        }
    assert_null(strstr(text, "type_last_timestamp_seconds{cluster=\"main\",type=\"diff\"}"));
    walden_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_archiver_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_archived, setup, teardown),
        cmocka_unit_test_setup_teardown(test_standby, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archiver_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_types, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
