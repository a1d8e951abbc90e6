/*
 * test_session.c - pg/session.c against the scripted server of fake_pg.h:
 * the backup API as each supported PostgreSQL version (13-18) names it,
 * what its answers become, and what a failing server leaves behind (the
 * message, nothing open). The same calls against real servers run in the
 * integration tests (test_backup, test_pg13 ... test_pg18).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "fake_pg.h"
#include "pg/pg.h"
#include "testutil.h"

#define LABEL_15                                                                                   \
    "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n"                              \
    "CHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\n"              \
    "START TIME: 2026-12-06 07:00:00 UTC\nLABEL: walden 20261206-070000F\n"                        \
    "START TIMELINE: 1\n"

static walden_config *config(void)
{
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "pghost", "/run/pg", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "pgport", "5499", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "pguser", "backup", WALDEN_SOURCE_FLAG));
    return cfg;
}

static wd_pg_conn *connect_to(int version)
{
    walden_config *cfg = config();
    fake_pg_begin(version);
    wd_pg_conn *c = NULL;
    assert_ok(wd_pg_connect(&c, cfg));
    walden_config_free(cfg);
    assert_int_equal(wd_pg_server_version(c), version);
    return c;
}

static void test_connect_keywords(void **state)
{
    (void)state;
    unsetenv("PGCONNECT_TIMEOUT");
    wd_pg_conn *c = connect_to(150010);
    assert_string_equal(fake_pg_conninfo("host"), "/run/pg");
    assert_string_equal(fake_pg_conninfo("port"), "5499");
    assert_string_equal(fake_pg_conninfo("user"), "backup");
    assert_null(fake_pg_conninfo("dbname"));
    assert_string_equal(fake_pg_conninfo("application_name"), "walden");
    /* an unreachable host must not hang a timer's job */
    assert_string_equal(fake_pg_conninfo("connect_timeout"), "30");
    wd_pg_close(c);
    fake_pg_end();

    /* libpq's variable wins over walden's default */
    setenv("PGCONNECT_TIMEOUT", "5", 1);
    c = connect_to(150010);
    assert_null(fake_pg_conninfo("connect_timeout"));
    wd_pg_close(c);
    fake_pg_end();
    unsetenv("PGCONNECT_TIMEOUT");
}

static void test_connect_refused(void **state)
{
    (void)state;
    walden_config *cfg = config();
    fake_pg_begin(150010);
    fake_pg_refuse("connection to server on socket \"/run/pg/.s.PGSQL.5499\" failed: No such "
                   "file or directory\n\tIs the server running locally?\n");
    wd_pg_conn *c = NULL;
    assert_rc(wd_pg_connect(&c, cfg), WALDEN_EPG);
    assert_null(c);
    /* one line, without libpq's trailing newline; the connection freed */
    assert_string_equal(walden_error_last()->message,
                        "cannot connect to PostgreSQL: connection to server on socket "
                        "\"/run/pg/.s.PGSQL.5499\" failed: No such file or directory \tIs the "
                        "server running locally?");
    assert_int_equal(fake_pg_connections(), 1);
    fake_pg_end();
    walden_config_free(cfg);
}

static void test_query_error_one_line(void **state)
{
    (void)state;
    wd_pg_conn *c = connect_to(160004);
    fake_pg_error("pg_switch_wal()", "ERROR:  recovery is in progress\nHINT:  WAL control "
                                     "functions cannot be executed during recovery.\n");
    char *v = NULL;
    assert_rc(wd_pg_query_one(c, "SELECT pg_walfile_name(pg_switch_wal())", &v), WALDEN_EPG);
    assert_null(v);
    assert_string_equal(walden_error_last()->message,
                        "query failed: ERROR:  recovery is in progress HINT:  WAL control "
                        "functions cannot be executed during recovery.");
    /* NULL and missing cells: "" for query_one, NULL for wd_pg_value */
    fake_pg_answer("now()", 2, FAKE_PG_NULL, "x", NULL);
    assert_ok(wd_pg_query_one(c, "SELECT NULL, 'x', now()", &v));
    assert_string_equal(v, "");
    wd_free(v);
    fake_pg_answer("generate_series", 1, "1", "2", NULL);
    wd_pg_result *r;
    assert_ok(wd_pg_query(c, &r, "SELECT generate_series(1, $1)", 1, (const char *[]){"2"}));
    assert_int_equal(wd_pg_rows(r), 2);
    assert_string_equal(wd_pg_value(r, 1, 0), "2");
    assert_null(wd_pg_value(r, 2, 0));
    assert_null(wd_pg_value(r, 0, 1));
    wd_pg_result_free(r);
    assert_string_equal(fake_pg_param(2, 0), "2");
    wd_pg_close(c);
    fake_pg_end();
}

/* Each version's start and stop: the function names, the arguments, and
 * what the answers become. */
static void test_backup_api_per_version(void **state)
{
    (void)state;
    static const int versions[] = {130018, 140015, 150010, 160006, 170002, 180000};
    for (size_t i = 0; i < WD_ARRAY_LEN(versions); i++) {
        int v = versions[i];
        bool renamed = v >= 150000;
        wd_pg_conn *c = connect_to(v);
        fake_pg_answer(renamed ? "SELECT pg_backup_start($1, $2)::text, "
                               : "SELECT pg_start_backup($1, $2, false)::text, ",
                       2, "0/2000028", "1796540400123", NULL);
        uint64_t lsn = 0;
        int64_t ms = 0;
        assert_ok(wd_pg_backup_start(c, "walden 20261206-070000F", i % 2 == 0, &lsn, &ms));
        assert_int_equal(lsn, 0x2000028);
        assert_int_equal(ms, 1796540400123);
        assert_int_equal(fake_pg_nparams(0), 2);
        assert_string_equal(fake_pg_param(0, 0), "walden 20261206-070000F");
        assert_string_equal(fake_pg_param(0, 1), i % 2 == 0 ? "true" : "false");
        /* the server's clock, in ms */
        assert_non_null(
            strstr(fake_pg_sql(0), "(extract(epoch FROM clock_timestamp()) * 1000)::int8::text"));

        fake_pg_answer("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", 1, "4294967301",
                       NULL);
        /* wait_for_archive off: walden waits for the WAL itself */
        fake_pg_answer(renamed ? " FROM pg_backup_stop(false)"
                               : " FROM pg_stop_backup(false, false)",
                       5, "0/2000138", LABEL_15, i < 3 ? "16385 /srv/ts1\n" : FAKE_PG_NULL,
                       "000000010000000000000002", "1796540460456", NULL);
        wd_pg_backup_stop_info info;
        assert_ok(wd_pg_backup_stop(c, &info));
        assert_int_equal(info.lsn, 0x2000138);
        assert_int_equal(info.time_ms, 1796540460456);
        assert_string_equal(info.stop_wal, "000000010000000000000002");
        assert_string_equal(info.label, LABEL_15);
        /* no tablespaces: the server answers NULL, the map is "" */
        assert_string_equal(info.tablespace_map, i < 3 ? "16385 /srv/ts1\n" : "");
        assert_int_equal(info.end_xmin, 4294967301ull);
        assert_non_null(strstr(fake_pg_sql(2), "SELECT lsn::text, labelfile, spcmapfile, "
                                               "pg_walfile_name(lsn), "));
        assert_int_equal(fake_pg_queries(), 3);
        wd_pg_backup_stop_info_clear(&info);
        assert_null(info.label);
        wd_pg_close(c);
        fake_pg_end();
    }
}

/* The server fails in the middle: each step's message, and nothing left
 * allocated or open on the way out (fake_pg_end counts the results). */
static void test_backup_api_errors(void **state)
{
    (void)state;
    wd_pg_conn *c = connect_to(150010);
    uint64_t lsn = 0;
    int64_t ms = 0;
    fake_pg_error("pg_backup_start", "ERROR:  a backup is already in progress in this session\n");
    assert_rc(wd_pg_backup_start(c, "walden x", true, &lsn, &ms), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message,
                        "cannot start the backup: query failed: ERROR:  a backup is already in "
                        "progress in this session");
    fake_pg_answer("pg_backup_start", 2, "not an lsn", "1", NULL);
    assert_rc(wd_pg_backup_start(c, "walden x", true, &lsn, &ms), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message,
                        "unexpected answer to the backup start: invalid LSN 'not an lsn'");

    wd_pg_backup_stop_info info;
    /* the snapshot before the stop */
    fake_pg_error("pg_snapshot_xmin", "FATAL:  terminating connection due to administrator "
                                      "command\nserver closed the connection unexpectedly\n");
    assert_rc(wd_pg_backup_stop(c, &info), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message,
                        "cannot stop the backup: query failed: FATAL:  terminating connection "
                        "due to administrator command server closed the connection "
                        "unexpectedly");
    assert_null(info.label);
    fake_pg_answer("pg_snapshot_xmin", 1, "-1", NULL);
    assert_rc(wd_pg_backup_stop(c, &info), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message,
                        "cannot stop the backup: unexpected snapshot xmin '-1'");
    /* the stop itself */
    fake_pg_answer("pg_snapshot_xmin", 1, "750", NULL);
    fake_pg_error("pg_backup_stop", "ERROR:  backup is not in progress\nHINT:  Did you call "
                                    "pg_backup_start()?\n");
    assert_rc(wd_pg_backup_stop(c, &info), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message,
                        "cannot stop the backup: query failed: ERROR:  backup is not in progress "
                        "HINT:  Did you call pg_backup_start()?");
    assert_null(info.label);
    assert_null(info.tablespace_map);
    /* answers walden cannot use: no label, a WAL name of another length */
    fake_pg_answer("pg_snapshot_xmin", 1, "750", NULL);
    fake_pg_answer("pg_backup_stop", 5, "0/2000138", FAKE_PG_NULL, "", "000000010000000000000002",
                   "1", NULL);
    assert_rc(wd_pg_backup_stop(c, &info), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message, "unexpected answer to the backup stop");
    fake_pg_answer("pg_snapshot_xmin", 1, "750", NULL);
    fake_pg_answer("pg_backup_stop", 5, "0/2000138", "label", "", "00000001000000000000002", "1",
                   NULL);
    assert_rc(wd_pg_backup_stop(c, &info), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message, "unexpected answer to the backup stop");
    assert_null(info.label);
    wd_pg_close(c);
    fake_pg_end();
}

static void test_archiver_state(void **state)
{
    (void)state;
    wd_pg_conn *c = connect_to(170002);
    char buf[1024];
    fake_pg_answer("FROM pg_stat_archiver", 6, "walden archive-push %p", "41",
                   "000000010000000000000029", "3", "00000001000000000000002A",
                   "2026-12-06 07:01:02.5+00", NULL);
    wd_pg_archiver_state(c, buf, sizeof(buf));
    assert_string_equal(buf, "archive_command = 'walden archive-push %p'; last archived: "
                             "000000010000000000000029; failures: 3, last "
                             "00000001000000000000002A at 2026-12-06 07:01:02.5+00");
    fake_pg_answer("FROM pg_stat_archiver", 6, "walden archive-push %p", "0", "none", "0", "", "",
                   NULL);
    wd_pg_archiver_state(c, buf, sizeof(buf));
    assert_string_equal(buf, "archive_command = 'walden archive-push %p'; last archived: none; "
                             "failures: 0");
    /* a server that cannot say: "" */
    fake_pg_error("FROM pg_stat_archiver", "ERROR:  permission denied\n");
    wd_pg_archiver_state(c, buf, sizeof(buf));
    assert_string_equal(buf, "");
    wd_pg_close(c);
    fake_pg_end();
}

static void test_identity_query(void **state)
{
    (void)state;
    walden_config *cfg = config();
    fake_pg_begin(180000);
    fake_pg_answer("pg_control_system()", 1, "7446000000000000001", NULL);
    fake_pg_answer("wal_segment_size", 1, "67108864", NULL);
    uint64_t sysid = 0, seg = 0;
    int version = 0;
    assert_ok(wd_pg_identity_query(cfg, &sysid, &version, &seg));
    assert_int_equal(sysid, 7446000000000000001ull);
    assert_int_equal(version, 180000);
    assert_int_equal(seg, 64 << 20);
    fake_pg_end();

    /* a segment size that is none: 0, and no error */
    fake_pg_begin(130018);
    fake_pg_answer("pg_control_system()", 1, "7446000000000000001", NULL);
    fake_pg_answer("wal_segment_size", 1, "1000", NULL);
    assert_ok(wd_pg_identity_query(cfg, &sysid, &version, &seg));
    assert_int_equal(version, 130018);
    assert_int_equal(seg, 0);
    fake_pg_end();

    fake_pg_begin(150010);
    fake_pg_error("pg_control_system()", "ERROR:  permission denied for function "
                                         "pg_control_system\n");
    assert_rc(wd_pg_identity_query(cfg, &sysid, &version, NULL), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message,
                        "cannot read the cluster's identity: query failed: ERROR:  permission "
                        "denied for function pg_control_system");
    fake_pg_end();
    walden_config_free(cfg);
}

/* The drill's connections and queries: its own name and timeout, and
 * libpq's or the server's message alone, for its report to quote. */
static void test_drill_session(void **state)
{
    (void)state;
    walden_config *cfg = config();
    setenv("PGCONNECT_TIMEOUT", "5", 1);
    fake_pg_begin(170002);
    wd_pg_conn *c = NULL;
    assert_ok(wd_pg_connect_timeout(&c, cfg, "walden drill", "10"));
    assert_string_equal(fake_pg_conninfo("application_name"), "walden drill");
    assert_string_equal(fake_pg_conninfo("connect_timeout"), "10");
    assert_string_equal(fake_pg_conninfo("host"), "/run/pg");
    unsetenv("PGCONNECT_TIMEOUT");

    fake_pg_error("FROM big", "ERROR:  permission denied for table big\n");
    wd_pg_result *r = NULL;
    assert_rc(wd_pg_query_bare(c, &r, "SELECT count(*) FROM big", 0, NULL), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message, "ERROR:  permission denied for table big");
    assert_null(r);

    /* one statement sent as a script: its result, then none */
    fake_pg_answer("SELECT 1", 1, "1", NULL);
    assert_ok(wd_pg_send(c, "SELECT 1"));
    assert_ok(wd_pg_next(c, &r));
    assert_int_equal(wd_pg_result_status(r), WD_PG_ROWS);
    assert_string_equal(wd_pg_value(r, 0, 0), "1");
    wd_pg_result_free(r);
    assert_ok(wd_pg_next(c, &r));
    assert_null(r);
    wd_pg_close(c);

    fake_pg_refuse("connection to server at \"127.0.0.1\", port 5499 failed: Connection "
                   "refused\n");
    assert_rc(wd_pg_connect_timeout(&c, cfg, "walden drill", NULL), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message,
                        "connection to server at \"127.0.0.1\", port 5499 failed: Connection "
                        "refused");
    assert_null(fake_pg_conninfo("connect_timeout"));
    fake_pg_end();
    walden_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_keywords),     cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_query_error_one_line), cmocka_unit_test(test_backup_api_per_version),
        cmocka_unit_test(test_backup_api_errors),    cmocka_unit_test(test_archiver_state),
        cmocka_unit_test(test_identity_query),       cmocka_unit_test(test_drill_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
