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
#include "common/lock.h"
#include "testutil.h"

static void test_record_read_clear(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char locks[600], file[900];
    snprintf(locks, sizeof(locks), "%s/locks", dir); /* made by the record */
    char name[256];
    assert_ok(wd_state_name("pg13", "/r", "archive-push-failure", name, sizeof(name)));
    snprintf(file, sizeof(file), "%s/%s", locks, name);
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "lock-path", locks, WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "cluster", "pg13", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "repo", "/r", WALDEN_SOURCE_FLAG));

    walden_push_failure pf = WALDEN_PUSH_FAILURE_INIT;
    char line[800];
    wd_lock_place at; /* what check and backup read by (their repository's) */
    wd_lock_place_of_config(cfg, &at);
    assert_rc(walden_push_failure_get(cfg, &pf), WALDEN_ENOTFOUND);
    wd_push_failure_describe(&at, line, sizeof(line));
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
    wd_push_failure_describe(&at, line, sizeof(line));
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

/* The lock folder may be shared (sticky): a symbolic link planted at the
 * record's name or at its temporary name is never written through, and the
 * caller's error (archive-push's own failure) is left as it was. */
static void test_record_planted_links(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char locks[600], victim[700], name[256], path[900], tmp[900];
    snprintf(locks, sizeof(locks), "%s/locks", dir);
    snprintf(victim, sizeof(victim), "%s/victim", dir);
    assert_int_equal(mkdir(locks, 0700), 0);
    FILE *v = fopen(victim, "w");
    assert_non_null(v);
    fputs("precious\n", v);
    fclose(v);
    assert_ok(wd_state_name("main", "/r", "archive-push-failure", name, sizeof(name)));
    snprintf(path, sizeof(path), "%s/%s", locks, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", locks, name, (long)getpid());
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(symlink(victim, tmp), 0);
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "lock-path", locks, WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "repo", "/r", WALDEN_SOURCE_FLAG));

    /* a link at the record's name is not read as a record */
    walden_push_failure pf = WALDEN_PUSH_FAILURE_INIT;
    assert_int_not_equal(walden_push_failure_get(cfg, &pf), 0);

    wd_error_set(WALDEN_EMISMATCH, "the push's own error");
    walden_push_failure_record(cfg, "000000010000000000000001", "disk full");
    assert_int_equal(walden_error_last()->code, WALDEN_EMISMATCH);
    assert_string_equal(walden_error_last()->message, "the push's own error");
    char buf[64] = {0};
    v = fopen(victim, "r");
    assert_non_null(v);
    assert_non_null(fgets(buf, sizeof(buf), v));
    fclose(v);
    assert_string_equal(buf, "precious\n");
    /* the record replaced the link itself */
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_ok(walden_push_failure_get(cfg, &pf));
    assert_string_equal(pf.reason, "disk full");

    walden_config_free(cfg);
    tu_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_record_read_clear),
                                       cmocka_unit_test(test_record_planted_links)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
