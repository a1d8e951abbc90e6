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

    const char *bad[][3] = {{"target-time", "yesterday", NULL},
                            {"target-lsn", "12345", NULL},
                            {"target-xid", "-4", NULL},
                            {"target-timeline", "0", NULL},
                            {"target-action", "promote", NULL}};
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++) {
        cfg = config(bad[i]);
        assert_rc(wd_target_from_config(cfg, &t), WALDEN_EINVAL);
        walden_config_free(cfg);
    }
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
    assert_ok(wd_recovery_write(dir, "walden archive-get %f \"%p\" --repo '/it''s'", &t, "ID1"));
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
    wd_free(text);
    snprintf(path, sizeof(path), "%s/recovery.signal", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    /* a second write finds recovery.signal there: refused, not doubled */
    assert_rc(wd_recovery_write(dir, "x", &t, "ID2"), WALDEN_EEXISTS);
    snprintf(path, sizeof(path), "%s/postgresql.auto.conf", dir);
    assert_ok(wd_file_read_all(path, 1 << 20, &text, &len));
    assert_null(strstr(text, "ID2"));
    wd_free(text);
    tu_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_recovery_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
