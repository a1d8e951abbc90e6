/*
 * test_recovery.c - restore/recovery.c: targets and recovery settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "restore/recovery.h"
#include "testutil.h"

static void test_time_parse(void **state)
{
    (void)state;
    struct {
        const char *text;
        int ok;
        int64_t ms;
    } cases[] = {
        {"2026-11-22 14:03:07.123+00", 1, 1795356187123},
        {"2026-11-22T14:03:07Z", 1, 1795356187000},
        {"2026-11-22 14:03:07 UTC", 1, 1795356187000},
        {"2026-11-22 15:03:07+01", 1, 1795356187000},
        {"2026-11-22 15:33:07+01:30", 1, 1795356187000},
        {"2026-11-22 09:03:07.5-05", 1, 1795356187500},
        {"2026-11-22 14:03:07.123456+00", 1, 1795356187123},
        {"2026-11-22 14:03+00", 1, 1795356180000},
        {"2026-11-22", 0, 0},
        {"22/11/2026 14:03:07", 0, 0},
        {"2026-13-22 14:03:07+00", 0, 0},
        {"2026-11-22 14:03:07+00 junk", 0, 0},
        {"2026-11-22 14:03:07.", 0, 0},
        {"", 0, 0},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        int64_t ms = 0;
        int rc = wd_time_parse(cases[i].text, &ms);
        if ((rc == 0) != cases[i].ok || (rc == 0 && ms != cases[i].ms))
            print_error("'%s': rc %d ms %lld\n", cases[i].text, rc, (long long)ms);
        assert_int_equal(rc == 0, cases[i].ok);
        if (cases[i].ok)
            assert_int_equal(ms, cases[i].ms);
    }
    /* without a zone: local time */
    setenv("TZ", "Europe/Berlin", 1);
    int64_t ms;
    assert_ok(wd_time_parse("2026-11-22 15:03:07", &ms));
    assert_int_equal(ms, 1795356187000);
    unsetenv("TZ");
}

static walden_config *config(const char *const *kv)
{
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    for (; *kv; kv += 2)
        assert_ok(walden_config_set(cfg, kv[0], kv[1], WALDEN_SOURCE_FLAG));
    return cfg;
}

static void test_targets(void **state)
{
    (void)state;
    wd_target t;
    const char *none[] = {NULL};
    walden_config *cfg = config(none);
    assert_ok(wd_target_from_config(cfg, &t));
    assert_int_equal(t.kind, WD_TARGET_END);
    walden_config_free(cfg);

    const char *lsn[] = {"target-lsn", "1/2000028", "target-action", "promote", NULL};
    cfg = config(lsn);
    assert_ok(wd_target_from_config(cfg, &t));
    assert_int_equal(t.kind, WD_TARGET_LSN);
    assert_int_equal(t.lsn, 0x102000028ull);
    walden_config_free(cfg);

    const char *two[] = {"target-lsn", "1/2", "target-name", "x", NULL};
    cfg = config(two);
    assert_rc(wd_target_from_config(cfg, &t), WALDEN_EINVAL);
    walden_config_free(cfg);
}

/* Each target option's values: accepted (with what it parses to) or
 * refused with one line naming the option. */
static void test_target_values(void **state)
{
    (void)state;
    struct {
        const char *opt, *value, *opt2, *value2;
        int ok;
    } cases[] = {
        {"target-lsn", "0/3000028", NULL, NULL, 1},
        {"target-lsn", "FFFFFFFF/FFFFFFFF", NULL, NULL, 1},
        {"target-lsn", "ffffffff/0", NULL, NULL, 1},
        {"target-lsn", "FFFFFFFFF/0", NULL, NULL, 0}, /* 9 hex digits */
        {"target-lsn", "0/100000000", NULL, NULL, 0},
        {"target-lsn", "12345", NULL, NULL, 0},
        {"target-lsn", "0x1/2", NULL, NULL, 0},
        {"target-lsn", " 1/2", NULL, NULL, 0},
        {"target-lsn", "1/ 2", NULL, NULL, 0},
        {"target-lsn", "+1/2", NULL, NULL, 0},
        {"target-lsn", "1/2/3", NULL, NULL, 0},
        {"target-lsn", "/2", NULL, NULL, 0},
        {"target-lsn", "G/2", NULL, NULL, 0},
        {"target-lsn", "", NULL, NULL, 0},
        {"target-time", "2026-11-22 14:03:07+00", NULL, NULL, 1},
        {"target-time", "2026-11-22T14:03:07Z", NULL, NULL, 1},
        {"target-time", "2026-11-22 14:03:07 UTC", NULL, NULL, 1},
        {"target-time", "2028-02-29 00:00:00-05:30", NULL, NULL, 1},
        {"target-time", "2026-11-22 14:03:07", NULL, NULL, 0}, /* no zone */
        {"target-time", "2026-02-30 14:03:07+00", NULL, NULL, 0},
        {"target-time", "2027-02-29 14:03:07+00", NULL, NULL, 0},
        {"target-time", "2026-04-31 14:03:07+00", NULL, NULL, 0},
        {"target-time", "2026-11-22 24:00:00+00", NULL, NULL, 0},
        {"target-time", "yesterday", NULL, NULL, 0},
        {"target-time", "2026-11-22 14:03:07+99", NULL, NULL, 0},
        {"target-time", "", NULL, NULL, 0},
        {"target-xid", "3", NULL, NULL, 1},
        {"target-xid", "4294967295", NULL, NULL, 1},
        {"target-xid", "4294967299", NULL, NULL, 1}, /* epoch 1, xid 3 */
        {"target-xid", "18446744073709551615", NULL, NULL, 1},
        {"target-xid", "0", NULL, NULL, 0},
        {"target-xid", "2", NULL, NULL, 0},
        {"target-xid", "4294967296", NULL, NULL, 0}, /* epoch 1, xid 0 */
        {"target-xid", "18446744073709551616", NULL, NULL, 0},
        {"target-xid", "-4", NULL, NULL, 0},
        {"target-xid", "0x10", NULL, NULL, 0},
        {"target-xid", "12 ", NULL, NULL, 0},
        {"target-xid", "", NULL, NULL, 0},
        {"target-name", "before_upgrade", NULL, NULL, 1},
        {"target-name", "a23456789012345678901234567890123456789012345678901234567890123", NULL,
         NULL, 1}, /* 63 bytes */
        {"target-name", "a234567890123456789012345678901234567890123456789012345678901234", NULL,
         NULL, 0},
        {"target-name", "", NULL, NULL, 0},
        {"target", "immediate", NULL, NULL, 1},
        {"target", "end", NULL, NULL, 0},
        {"target-lsn", "0/1", "target-timeline", "latest", 1},
        {"target-lsn", "0/1", "target-timeline", "current", 1},
        {"target-lsn", "0/1", "target-timeline", "7", 1},
        {"target-lsn", "0/1", "target-timeline", "0", 0},
        {"target-lsn", "0/1", "target-timeline", "4294967296", 0},
        {"target-lsn", "0/1", "target-timeline", "0x2", 0},
        {"target-lsn", "0/1", "target-timeline", "newest", 0},
        {"target-lsn", "0/1", "target-timeline", "", 0},
        {"target-lsn", "0/1", "target-xid", "5", 0},
        {"target-time", "2026-11-22 14:03:07+00", "target-name", "x", 0},
        {"target-xid", "5", "target", "immediate", 0},
        {"target-action", "promote", NULL, NULL, 0}, /* no target */
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        walden_config *cfg;
        assert_ok(walden_config_new(&cfg));
        int rc = walden_config_set(cfg, cases[i].opt, cases[i].value, WALDEN_SOURCE_FLAG);
        if (!rc && cases[i].opt2)
            rc = walden_config_set(cfg, cases[i].opt2, cases[i].value2, WALDEN_SOURCE_FLAG);
        wd_target t;
        if (!rc)
            rc = wd_target_from_config(cfg, &t);
        if ((rc == 0) != cases[i].ok)
            print_error("--%s '%s' %s%s: rc %d (%s)\n", cases[i].opt, cases[i].value,
                        cases[i].opt2 ? cases[i].opt2 : "", cases[i].value2 ? cases[i].value2 : "",
                        rc, walden_error_last()->message);
        assert_int_equal(rc == 0, cases[i].ok);
        if (!cases[i].ok) {
            const char *msg = walden_error_last()->message;
            assert_null(strchr(msg, '\n'));
            assert_true(strstr(msg, cases[i].opt) || (cases[i].opt2 && strstr(msg, cases[i].opt2)));
        }
        walden_config_free(cfg);
    }
    wd_target t;
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "target-lsn", "FFFFFFFF/A", WALDEN_SOURCE_FLAG));
    assert_ok(wd_target_from_config(cfg, &t));
    assert_int_equal(t.lsn, 0xFFFFFFFF0000000Aull);
    walden_config_free(cfg);
}

static void test_recovery_write(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof(path), "%s/postgresql.auto.conf", dir);
    tu_write_file(path, "port = 5432\n", 12);
    wd_target t = {.kind = WD_TARGET_TIME,
                   .value = "2026-11-22 14:03:07+00",
                   .action = "promote",
                   .timeline = "latest",
                   .exclusive = true};
    assert_ok(
        wd_recovery_write(dir, "walden archive-get %f \"%p\" --repo '/it''s'", &t, "ID1", true));
    size_t len;
    char *text;
    assert_ok(wd_file_read_all(path, 1 << 20, &text, &len));
    assert_non_null(strstr(text, "port = 5432\n")); /* kept */
    assert_non_null(
        strstr(text, "restore_command = 'walden archive-get %f \"%p\" --repo ''/it''''s'''\n"));
    assert_non_null(strstr(text, "recovery_target_time = '2026-11-22 14:03:07+00'\n"));
    assert_non_null(strstr(text, "recovery_target_inclusive = off\n"));
    assert_non_null(strstr(text, "recovery_target_action = 'promote'\n"));
    assert_non_null(strstr(text, "recovery_target_timeline = 'latest'\n"));
    assert_non_null(strstr(text, "\narchive_mode = off\n"));
    wd_free(text);
    snprintf(path, sizeof(path), "%s/recovery.signal", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    /* a second write finds recovery.signal there: refused, not doubled */
    assert_rc(wd_recovery_write(dir, "x", &t, "ID2", true), WALDEN_EEXISTS);
    snprintf(path, sizeof(path), "%s/postgresql.auto.conf", dir);
    assert_ok(wd_file_read_all(path, 1 << 20, &text, &len));
    assert_null(strstr(text, "ID2"));
    wd_free(text);
    tu_rmdir_r(dir);
    free(dir);
}

/* What the backup brought (an earlier restore's settings, commands that
 * reach outside) is commented out in both files; walden's own come last;
 * the rest is kept as it was, owner and mode too. */
static void test_recovery_neutralises(void **state)
{
    (void)state;
    static const struct {
        bool archive_off;
        const char *kept_archive;
    } runs[] = {{true, NULL}, {false, "archive_mode = on\n"}};
    for (size_t run = 0; run < WD_ARRAY_LEN(runs); run++) {
        char *dir = tu_mkdtemp();
        char path[4096], main_path[4096];
        snprintf(path, sizeof(path), "%s/postgresql.auto.conf", dir);
        snprintf(main_path, sizeof(main_path), "%s/postgresql.conf", dir);
        const char *old_auto = "# Do not edit this file manually!\n"
                               "port = 5432\n"
                               "archive_mode = on\n"
                               "archive_command = 'walden archive-push %p'\n"
                               "recovery_target_time = '2026-01-01 00:00:00+00'\n"
                               "  Recovery_Target_Action='promote'\n"
                               "restore_command = 'cp /old/%f %p'\n"
                               "primary_conninfo = 'host=prod password=secret'\n"
                               "recovery_target_inclusive off\n"
                               "recovery_target_timeline = 'current'\n"
                               "recovery_targetx = 1\n"
                               "# recovery_target_xid = '5' (a comment stays)\n"
                               "shared_buffers = '128MB'";
        tu_write_file(path, old_auto, strlen(old_auto));
        const char *old_main = "recovery_target_name = 'old'\nwork_mem = 4MB\n"
                               "recovery_end_command = 'curl http://prod/'\n";
        tu_write_file(main_path, old_main, strlen(old_main));
        assert_int_equal(chmod(main_path, 0640), 0);
        wd_target t = {.kind = WD_TARGET_XID, .value = "1234"};
        assert_ok(wd_recovery_write(dir, "walden archive-get %f \"%p\"", &t, "ID1",
                                    runs[run].archive_off));
        size_t len;
        char *text;
        assert_ok(wd_file_read_all(path, 1 << 20, &text, &len));
        static const char *const gone[] = {
            "\nrecovery_target_time = '2026-01-01 00:00:00+00'\n",
            "\n  Recovery_Target_Action='promote'\n",
            "\nrestore_command = 'cp /old/%f %p'\n",
            "\nprimary_conninfo = 'host=prod password=secret'\n",
            "\nrecovery_target_inclusive off\n",
            "\nrecovery_target_timeline = 'current'\n",
        };
        for (size_t i = 0; i < WD_ARRAY_LEN(gone); i++) {
            if (strstr(text, gone[i]))
                print_error("still in force: %s", gone[i] + 1);
            assert_null(strstr(text, gone[i]));
            char marked[256];
            snprintf(marked, sizeof(marked), "\n#walden-restore-disabled# %s", gone[i] + 1);
            assert_non_null(strstr(text, marked));
        }
        static const char *const kept[] = {"\nport = 5432\n",
                                           "\narchive_command = 'walden archive-push %p'\n",
                                           "\nrecovery_targetx = 1\n",
                                           "\n# recovery_target_xid = '5' (a comment stays)\n",
                                           "\nshared_buffers = '128MB'\n",
                                           "\nrecovery_target_xid = '1234'\n",
                                           "\nrestore_command = 'walden archive-get %f \"%p\"'\n"};
        for (size_t i = 0; i < WD_ARRAY_LEN(kept); i++) {
            if (!strstr(text, kept[i]))
                print_error("missing: %s", kept[i] + 1);
            assert_non_null(strstr(text, kept[i]));
        }
        if (runs[run].archive_off) {
            assert_non_null(strstr(text, "\n#walden-restore-disabled# archive_mode = on\n"));
            assert_non_null(strstr(text, "\narchive_mode = off\n"));
        } else {
            assert_non_null(strstr(text, "\narchive_mode = on\n"));
            assert_null(strstr(text, "archive_mode = off"));
        }
        /* walden's settings after everything the backup brought */
        assert_true(strstr(text, "recovery_target_xid = '1234'") > strstr(text, "shared_buffers"));
        wd_free(text);
        assert_ok(wd_file_read_all(main_path, 1 << 20, &text, &len));
        assert_non_null(strstr(text, "#walden-restore-disabled# recovery_target_name = 'old'\n"));
        assert_non_null(
            strstr(text, "#walden-restore-disabled# recovery_end_command = 'curl http://prod/'\n"));
        assert_non_null(strstr(text, "\nwork_mem = 4MB\n"));
        assert_null(strstr(text, "restore_command")); /* nothing added to postgresql.conf */
        wd_free(text);
        struct stat st;
        assert_int_equal(stat(main_path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0640);
        tu_rmdir_r(dir);
        free(dir);
    }
}

/* restore --type: each value, the contradictions refused with one line,
 * and backup's "full" kept apart by where it was given. */
static void test_restore_types(void **state)
{
    (void)state;
    static const struct {
        const char *kv[7];
        int rc;
        const char *msg;     /* part of the error, or NULL */
        wd_target_kind kind; /* on success */
        bool standby;
    } cases[] = {
        {{NULL}, 0, NULL, WD_TARGET_END, false},
        {{"type", "default", NULL}, 0, NULL, WD_TARGET_END, false},
        {{"type", "default", "target-xid", "1234", NULL}, 0, NULL, WD_TARGET_XID, false},
        {{"type", "immediate", NULL}, 0, NULL, WD_TARGET_IMMEDIATE, false},
        {{"type", "immediate", "target-action", "promote", NULL},
         0,
         NULL,
         WD_TARGET_IMMEDIATE,
         false},
        {{"type", "immediate", "target", "immediate", NULL}, 0, NULL, WD_TARGET_IMMEDIATE, false},
        {{"type", "standby", NULL}, 0, NULL, WD_TARGET_END, true},
        {{"type", "standby", "primary-conninfo", "host=db1", NULL}, 0, NULL, WD_TARGET_END, true},
        {{"type", "full", NULL},
         WALDEN_EINVAL,
         "invalid value for option 'type' of restore: 'full' (expected one of "
         "default|immediate|standby)",
         0,
         false},
        {{"type", "immediate", "target-time", "2026-11-22 14:03:07+00", NULL},
         WALDEN_EINVAL,
         "--type immediate ends recovery",
         0,
         false},
        {{"type", "standby", "target-lsn", "0/3000028", NULL},
         WALDEN_EINVAL,
         "--type standby follows its primary",
         0,
         false},
        {{"type", "standby", "target-action", "pause", NULL},
         WALDEN_EINVAL,
         "--target-action needs a recovery target",
         0,
         false},
        {{"primary-conninfo", "host=db1", NULL},
         WALDEN_EINVAL,
         "--primary-conninfo is for --type standby",
         0,
         false},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        walden_config *cfg = config(cases[i].kv);
        wd_target t;
        int rc = wd_target_from_config(cfg, &t);
        if (!rc)
            rc = wd_restore_type_from_config(cfg, &t);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, expected %d (%s)", i, rc, cases[i].rc,
                     walden_error_last()->message);
        if (cases[i].msg && !strstr(walden_error_last()->message, cases[i].msg))
            fail_msg("case %zu: '%s' lacks '%s'", i, walden_error_last()->message, cases[i].msg);
        if (!rc) {
            assert_int_equal(t.kind, cases[i].kind);
            assert_int_equal(t.standby, cases[i].standby);
            if (cases[i].standby && cases[i].kv[2])
                assert_string_equal(t.primary_conninfo, "host=db1");
        }
        walden_config_free(cfg);
    }
    /* from a config file, backup's full and a primary-conninfo without
     * standby belong to other uses: ignored */
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "type", "full", WALDEN_SOURCE_FILE));
    assert_ok(walden_config_set(cfg, "primary-conninfo", "host=db1", WALDEN_SOURCE_FILE));
    wd_target t;
    assert_ok(wd_target_from_config(cfg, &t));
    assert_ok(wd_restore_type_from_config(cfg, &t));
    assert_int_equal(t.kind, WD_TARGET_END);
    assert_false(t.standby);
    assert_null(t.primary_conninfo);
    /* ... and so from the environment, which serves every command too */
    assert_ok(walden_config_set(cfg, "type", "full", WALDEN_SOURCE_ENV));
    assert_ok(walden_config_set(cfg, "primary-conninfo", "host=db1", WALDEN_SOURCE_ENV));
    assert_ok(wd_target_from_config(cfg, &t));
    assert_ok(wd_restore_type_from_config(cfg, &t));
    assert_int_equal(t.kind, WD_TARGET_END);
    assert_false(t.standby);
    assert_null(t.primary_conninfo);
    /* given for this restore (a flag): refused, naming the option */
    assert_ok(walden_config_set(cfg, "type", "full", WALDEN_SOURCE_FLAG));
    assert_rc(wd_restore_type_from_config(cfg, &t), WALDEN_EINVAL);
    assert_non_null(
        strstr(walden_error_last()->message, "invalid value for option 'type' of restore: 'full'"));
    walden_config_free(cfg);
}

/* A standby gets standby.signal, not recovery.signal, and primary_conninfo
 * after the backup's own was commented out. */
static void test_recovery_write_standby(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof(path), "%s/postgresql.auto.conf", dir);
    const char *old = "primary_conninfo = 'host=old'\n";
    tu_write_file(path, old, strlen(old));
    wd_target t = {.kind = WD_TARGET_END, .standby = true, .primary_conninfo = "host=db1 user=r'x"};
    assert_ok(wd_recovery_write(dir, "walden archive-get %f \"%p\"", &t, "ID1", true));
    size_t len;
    char *text;
    assert_ok(wd_file_read_all(path, 1 << 20, &text, &len));
    assert_non_null(strstr(text, "#walden-restore-disabled# primary_conninfo = 'host=old'\n"));
    assert_non_null(strstr(text, "\nprimary_conninfo = 'host=db1 user=r''x'\n"));
    assert_null(strstr(text, "recovery_target"));
    wd_free(text);
    struct stat st;
    snprintf(path, sizeof(path), "%s/standby.signal", dir);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof(path), "%s/recovery.signal", dir);
    assert_int_not_equal(stat(path, &st), 0);
    tu_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_target_values),
        cmocka_unit_test(test_recovery_write),
        cmocka_unit_test(test_recovery_neutralises),
        cmocka_unit_test(test_restore_types),
        cmocka_unit_test(test_recovery_write_standby),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
