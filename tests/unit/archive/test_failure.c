/*
 * test_failure.c - archive/failure.c: archive-push's last failure, recorded
 * in the lock folder and read back for check, backup and metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"
#include "common/common.h"
#include "testutil.h"

static void test_record_read_clear(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char locks[600], file[700];
    snprintf(locks, sizeof(locks), "%s/locks", dir); /* made by the record */
    snprintf(file, sizeof(file), "%s/pg13-archive-push.failure", locks);
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "lock-path", locks, WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "cluster", "pg13", WALDEN_SOURCE_FLAG));

    walden_push_failure pf;
    char line[800];
    assert_rc(walden_push_failure_get(cfg, &pf), WALDEN_ENOTFOUND);
    wd_push_failure_describe(cfg, line, sizeof(line));
    assert_string_equal(line, "");

    /* the file's name from its path; a reason of several lines becomes one */
    walden_push_failure_record(cfg, "pg_wal/000000010000000000000009",
                               "'x' belongs to another cluster:\nsystem identifier 1");
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_ok(walden_push_failure_get(cfg, &pf));
    assert_string_equal(pf.segment, "000000010000000000000009");
    assert_string_equal(pf.reason, "'x' belongs to another cluster: system identifier 1");
    assert_true(pf.time > 1700000000);
    wd_push_failure_describe(cfg, line, sizeof(line));
    assert_non_null(strstr(line, "; walden archive-push last failed at "));
    assert_non_null(
        strstr(line, "Z on 000000010000000000000009: 'x' belongs to another cluster: system"));

    /* a later failure replaces it */
    walden_push_failure_record(cfg, "000000010000000000000010", "no space left");
    assert_ok(walden_push_failure_get(cfg, &pf));
    assert_string_equal(pf.segment, "000000010000000000000010");
    assert_string_equal(pf.reason, "no space left");

    /* another cluster's record is its own */
    assert_ok(walden_config_set(cfg, "cluster", "pg18", WALDEN_SOURCE_FLAG));
    assert_rc(walden_push_failure_get(cfg, &pf), WALDEN_ENOTFOUND);
    assert_ok(walden_config_set(cfg, "cluster", "pg13", WALDEN_SOURCE_FLAG));

    /* a success clears it; clearing nothing is fine */
    walden_push_failure_clear(cfg);
    assert_int_not_equal(stat(file, &st), 0);
    assert_rc(walden_push_failure_get(cfg, &pf), WALDEN_ENOTFOUND);
    walden_push_failure_clear(cfg);

    walden_config_free(cfg);
    tu_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_record_read_clear)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
