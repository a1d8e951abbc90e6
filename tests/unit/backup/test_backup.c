/*
 * test_backup.c - backup/backup.c against the scripted server of fake_pg.h
 * and a real local repository: the conversation of a backup on each
 * supported PostgreSQL version, what the backup records from the server's
 * answers (and restores: the backup_label and tablespace_map handed back),
 * and what a server failing in the middle leaves behind. test_backup.sh and
 * the version matrix take backups of real servers.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "fake_pg.h"
#include "pg/pg.h"
#include "testutil.h"

#define SYSID_TEXT "7312345678901234567"
static const uint64_t SYSID = 7312345678901234567ull;
#define SEG (1u << 20)
/* 0/2000028 and 0/2000138 are in segment 0x20 of 1 MiB segments */
#define WAL_NAME "000000010000000000000020"
#define LABEL                                                                                      \
    "START WAL LOCATION: 0/2000028 (file " WAL_NAME ")\nCHECKPOINT LOCATION: 0/2000060\n"          \
    "BACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2026-12-06 07:00:00 UTC\n"         \
    "LABEL: walden x\nSTART TIMELINE: 1\n"
#define MAP "16385 /srv/ts1\n"

typedef struct fixture {
    tu_area a;
} fixture;

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

/* The server's answers up to the end of the copy; `version` picks the
 * names of the backup API. */
static void script_until_copy(int version)
{
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer("current_setting('data_checksums')", 1, "on", NULL);
    fake_pg_answer("SELECT current_setting('archive_mode'), ", 3, "on", "walden archive-push %p",
                   "", NULL);
    fake_pg_answer(version >= 150000 ? "pg_backup_start($1, $2)" : "pg_start_backup($1, $2, false)",
                   2, "0/2000028", "1796540400123", NULL);
    fake_pg_answer("FROM pg_walfile_name_offset($1::pg_lsn)", 2, WAL_NAME, "1", NULL);
}

static void script_stop(int version, const char *map)
{
    fake_pg_answer("pg_snapshot_xmin(pg_current_snapshot())", 1, "750", NULL);
    fake_pg_answer(version >= 150000 ? "FROM pg_backup_stop(false)"
                                     : "FROM pg_stop_backup(false, false)",
                   5, "0/2000138", LABEL, map, WAL_NAME, "1796540460456", NULL);
}

static int count_backups(const walden_backup_info *b, void *ctx)
{
    (void)b;
    (*(int *)ctx)++;
    return 0;
}

/* What is left in the cluster's backup folder: nothing after a failure. */
static int backup_dirs(fixture *f)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/main/backup", f->a.repo);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static char *read_text(const char *dir, const char *name)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    size_t len = 0;
    uint8_t *b = tu_read_file(path, &len);
    char *s = realloc(b, len + 1);
    s[len] = '\0';
    return s;
}

static void test_backup_per_version(void **state)
{
    fixture *f = *state;
    tu_push_segment(&f->a, WAL_NAME, SEG);
    static const int versions[] = {130018, 140015, 150010, 160006, 170002, 180000};
    for (size_t i = 0; i < WD_ARRAY_LEN(versions); i++) {
        int v = versions[i];
        walden_repo *repo;
        assert_ok(walden_repo_open(&repo, f->a.cfg));
        fake_pg_begin(v);
        script_until_copy(v);
        script_stop(v, MAP);
        fake_pg_answer("name = 'wal_segment_size'", 1, "1048576", NULL);
        walden_backup_info *b = NULL;
        assert_ok(walden_backup(repo, f->a.cfg, NULL, NULL, &b));
        /* the label names the backup; the copy starts fast only when asked */
        char label[64];
        snprintf(label, sizeof(label), "walden %s", b->id);
        assert_string_equal(fake_pg_param(3, 0), label);
        assert_string_equal(fake_pg_param(3, 1), "false");
        assert_string_equal(fake_pg_param(4, 0), "0/2000028");
        fake_pg_end();

        assert_string_equal(b->type, "full");
        assert_string_equal(b->status, "ok");
        assert_int_equal(b->start_lsn, 0x2000028);
        assert_int_equal(b->stop_lsn, 0x2000138);
        assert_int_equal(b->start_time_ms, 1796540400123);
        assert_int_equal(b->stop_time_ms, 1796540460456);
        assert_int_equal(b->timeline, 1);
        assert_string_equal(b->start_wal, WAL_NAME);
        assert_string_equal(b->stop_wal, WAL_NAME);
        assert_int_equal(b->pg_version, v);
        assert_int_equal(b->system_id, SYSID);
        /* PG_VERSION, global/pg_control, backup_label, tablespace_map */
        assert_int_equal(b->file_count, 4);
        walden_backup_info_free(b);
        walden_repo_close(repo);
    }
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    int n = 0;
    assert_ok(walden_backup_list(repo, count_backups, &n));
    assert_int_equal(n, (int)WD_ARRAY_LEN(versions));

    /* a restore writes back the label and the map the server handed */
    char target[4200];
    snprintf(target, sizeof(target), "%s/restored", f->a.dir);
    walden_config *cfg = tu_area_config(f->a.dir, f->a.repo, target, NULL);
    assert_ok(walden_restore(repo, cfg, "false", NULL, NULL, NULL));
    char *label = read_text(target, "backup_label");
    assert_string_equal(label, LABEL);
    free(label);
    /* the map is stored but not written back: restore makes the links
     * where --tablespace-map says, and PostgreSQL would remake them from a
     * tablespace_map file as they were */
    char path[8300];
    snprintf(path, sizeof(path), "%s/tablespace_map", target);
    assert_int_equal(access(path, F_OK), -1);
    walden_config_free(cfg);
    walden_repo_close(repo);
}

static void test_start_fast(void **state)
{
    fixture *f = *state;
    tu_push_segment(&f->a, WAL_NAME, SEG);
    assert_ok(walden_config_set(f->a.cfg, "start-fast", "yes", WALDEN_SOURCE_FLAG));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    fake_pg_begin(170002);
    script_until_copy(170002);
    script_stop(170002, FAKE_PG_NULL);
    fake_pg_answer("name = 'wal_segment_size'", 1, "1048576", NULL);
    walden_backup_info *b = NULL;
    assert_ok(walden_backup(repo, f->a.cfg, NULL, NULL, &b));
    assert_string_equal(fake_pg_param(3, 1), "true");
    fake_pg_end();
    /* no tablespaces (the server answers NULL): no tablespace_map */
    assert_int_equal(b->file_count, 3);
    walden_backup_info_free(b);
    walden_repo_close(repo);
}

/* The server fails at the stop, after every file was copied: the error
 * says so, the session is closed (which ends the backup on the server),
 * and the repository holds nothing of the backup. */
static void test_stop_fails(void **state)
{
    fixture *f = *state;
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    fake_pg_begin(160006);
    script_until_copy(160006);
    fake_pg_answer("pg_snapshot_xmin(pg_current_snapshot())", 1, "750", NULL);
    fake_pg_error("FROM pg_backup_stop(false)",
                  "FATAL:  terminating connection due to administrator command\n");
    walden_backup_info *b = NULL;
    assert_rc(walden_backup(repo, f->a.cfg, NULL, NULL, &b), WALDEN_EPG);
    assert_null(b);
    assert_string_equal(walden_error_last()->message,
                        "cannot stop the backup: query failed: FATAL:  terminating connection "
                        "due to administrator command");
    fake_pg_end(); /* the session was closed, every result freed */
    assert_int_equal(backup_dirs(f), 0);
    int n = 0;
    assert_ok(walden_backup_list(repo, count_backups, &n));
    assert_int_equal(n, 0);
    walden_repo_close(repo);
}

/* The WAL never arrives: the backup fails after the stop, naming the
 * segment and what the server's archiver says, and is removed. */
static void test_wal_timeout(void **state)
{
    fixture *f = *state;
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    fake_pg_begin(150010);
    script_until_copy(150010);
    script_stop(150010, FAKE_PG_NULL);
    fake_pg_answer("name = 'wal_segment_size'", 1, "1048576", NULL);
    fake_pg_answer("FROM pg_stat_archiver", 6, "walden archive-push %p", "0", "none", "12",
                   WAL_NAME, "2026-12-06 07:01:00+00", NULL);
    walden_backup_info *b = NULL;
    assert_rc(walden_backup(repo, f->a.cfg, NULL, NULL, &b), WALDEN_ETIMEOUT);
    assert_string_equal(walden_error_last()->message,
                        "WAL segment " WAL_NAME ", needed to restore this backup, did not reach "
                        "the repository within 0 s (archive-timeout): archive_command = 'walden "
                        "archive-push %p'; last archived: none; failures: 12, last " WAL_NAME
                        " at 2026-12-06 07:01:00+00; is archive_command running walden "
                        "archive-push with this repository and cluster?");
    fake_pg_end();
    assert_int_equal(backup_dirs(f), 0);
    walden_repo_close(repo);
}

/* Refusals before anything is started on the server. */
static void test_refusals(void **state)
{
    fixture *f = *state;
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    walden_backup_info *b = NULL;

    fake_pg_begin(150010);
    fake_pg_answer("pg_control_system()", 1, "7000000000000000001", NULL);
    assert_rc(walden_backup(repo, f->a.cfg, NULL, NULL, &b), WALDEN_EMISMATCH);
    assert_string_equal(walden_error_last()->message,
                        "the server is cluster 7000000000000000001, but the repository's "
                        "cluster 'main' is " SYSID_TEXT);
    fake_pg_end();

    fake_pg_begin(150010);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer("current_setting('data_checksums')", 1, "off", NULL);
    fake_pg_answer("SELECT current_setting('archive_mode'), ", 3, "off", "", "", NULL);
    assert_rc(walden_backup(repo, f->a.cfg, NULL, NULL, &b), WALDEN_EINVAL);
    assert_string_equal(walden_error_last()->message,
                        "archive_mode is off: a backup without its WAL cannot be restored; set "
                        "archive_mode = on and archive_command = 'walden archive-push %p'");
    fake_pg_end();

    fake_pg_begin(150010);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer("current_setting('data_checksums')", 1, "off", NULL);
    fake_pg_answer("SELECT current_setting('archive_mode'), ", 3, "on", "(disabled)", "", NULL);
    assert_rc(walden_backup(repo, f->a.cfg, NULL, NULL, &b), WALDEN_EINVAL);
    assert_string_equal(walden_error_last()->message,
                        "archive_command is not set: set archive_command = 'walden archive-push "
                        "%p'");
    fake_pg_end();

    /* an archive_library archives too */
    fake_pg_begin(150010);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer("current_setting('data_checksums')", 1, "off", NULL);
    fake_pg_answer("SELECT current_setting('archive_mode'), ", 3, "on", "", "basic_archive", NULL);
    fake_pg_error("pg_backup_start($1, $2)", "ERROR:  WAL level not sufficient for making an "
                                             "online backup\nHINT:  wal_level must be set to "
                                             "\"replica\" or \"logical\" at server start.\n");
    assert_rc(walden_backup(repo, f->a.cfg, NULL, NULL, &b), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message,
                        "cannot start the backup: query failed: ERROR:  WAL level not sufficient "
                        "for making an online backup HINT:  wal_level must be set to "
                        "\"replica\" or \"logical\" at server start.");
    fake_pg_end();
    assert_null(b);
    assert_int_equal(backup_dirs(f), 0);
    walden_repo_close(repo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_per_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
