/*
 * test_proc.c - common/proc.c: children behind pipes, their exit
 * statuses and signals, their stderr, a child that stops reading.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/common.h"
#include "common/proc.h"
#include "testutil.h"

static void test_read_stdout(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x", NULL};
    wd_proc p;
    assert_ok(wd_proc_spawn(&p, "generator", argv, NULL, WD_PROC_STDOUT));
    uint8_t buf[4096];
    size_t n, total = 0;
    int bad = 0;
    while (wd_proc_read(&p, buf, sizeof(buf), &n) == 0 && n > 0) {
        for (size_t i = 0; i < n; i++)
            bad += buf[i] != 'x';
        total += n;
    }
    assert_int_equal(total, 300000);
    assert_int_equal(bad, 0);
    assert_ok(wd_proc_wait(&p));
}

static void test_write_stdin(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "wc -c > %s/count", dir);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    wd_proc p;
    assert_ok(wd_proc_spawn(&p, "counter", argv, NULL, WD_PROC_STDIN));
    uint8_t buf[65536];
    memset(buf, 'a', sizeof(buf));
    for (int i = 0; i < 20; i++)
        assert_ok(wd_proc_write(&p, buf, sizeof(buf)));
    assert_ok(wd_proc_wait(&p));
    char path[512];
    snprintf(path, sizeof(path), "%s/count", dir);
    size_t len;
    char *count = (char *)tu_read_file(path, &len);
    assert_int_equal(atol(count), 20 * 65536);
    free(count);
    tu_rmdir_r(dir);
    free(dir);
}

/* The first line saying "error" names the cause, not a later detail. */
static void test_exit_status_and_stderr(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sh", "-c",
                          "echo 'tool: error: query failed: permission denied' >&2; "
                          "echo 'tool: detail: Query was: LOCK TABLE t' >&2; exit 3",
                          NULL};
    wd_proc p;
    assert_ok(wd_proc_spawn(&p, "tool of 'db'", argv, NULL, 0));
    assert_rc(wd_proc_wait(&p), WALDEN_EIO);
    const char *msg = walden_error_last()->message;
    assert_non_null(strstr(msg, "tool of 'db' failed with exit status 3"));
    assert_non_null(strstr(msg, "permission denied"));
    assert_null(strstr(msg, "LOCK TABLE"));
    assert_string_equal(p.last_err, "tool: detail: Query was: LOCK TABLE t");
}

static void test_killed_by_signal(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sh", "-c", "echo partial; kill -9 $$", NULL};
    wd_proc p;
    assert_ok(wd_proc_spawn(&p, "victim", argv, NULL, WD_PROC_STDOUT));
    assert_rc(wd_proc_wait(&p), WALDEN_EIO);
    assert_non_null(strstr(walden_error_last()->message, "victim was killed by signal 9"));
}

static void test_missing_program(void **state)
{
    (void)state;
    const char *argv[] = {"/nonexistent/pg_dump", NULL};
    wd_proc p;
    /* glibc's posix_spawn reports the failed exec itself */
    assert_rc(wd_proc_spawn(&p, "pg_dump", argv, NULL, WD_PROC_STDOUT), WALDEN_ENOTFOUND);
    assert_non_null(
        strstr(walden_error_last()->message, "cannot start pg_dump ('/nonexistent/pg_dump')"));
    assert_int_equal(p.pid, -1);
    assert_int_equal(p.out_fd, -1);
    assert_int_equal(p.err_fd, -1);
}

/* A child that exits without reading: the write fails with EPIPE, not a
 * SIGPIPE, and says so. */
static void test_child_stops_reading(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    const char *argv[] = {"/bin/sh", "-c", "head -c 10 >/dev/null", NULL};
    wd_proc p;
    assert_ok(wd_proc_spawn(&p, "reader", argv, NULL, WD_PROC_STDIN));
    uint8_t buf[65536] = {0};
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = wd_proc_write(&p, buf, sizeof(buf));
    assert_rc(rc, WALDEN_EIO);
    assert_true(p.input_closed);
    assert_non_null(strstr(walden_error_last()->message, "reader stopped reading"));
    assert_ok(wd_proc_wait(&p));
}

static void test_env_and_output_line(void **state)
{
    (void)state;
    const char *env[] = {"WALDEN_TEST_VALUE=hello world", NULL};
    const char *argv[] = {"/bin/sh", "-c", "echo \"$WALDEN_TEST_VALUE\"; echo second", NULL};
    wd_proc p;
    assert_ok(wd_proc_spawn(&p, "env", argv, env, WD_PROC_STDOUT));
    char buf[64];
    size_t n;
    assert_ok(wd_proc_read(&p, (uint8_t *)buf, sizeof(buf) - 1, &n));
    buf[n] = '\0';
    assert_non_null(strstr(buf, "hello world"));
    assert_ok(wd_proc_wait(&p));

    const char *ver[] = {"/bin/sh", "-c", "echo 'pg_dump (PostgreSQL) 15.8'; echo more", NULL};
    char *line = NULL;
    assert_ok(wd_proc_output_line(ver, &line));
    assert_string_equal(line, "pg_dump (PostgreSQL) 15.8");
    wd_free(line);
}

/* A child gets none of walden's secrets: the secret options' WALDEN_*
 * variables and the cloud credentials; the rest (PG*, PATH, WALDEN_ options
 * that are not secret) it gets. */
static void test_child_env_has_no_secrets(void **state)
{
    (void)state;
    static const char *const secrets[] = {
        "WALDEN_ENCRYPT_PASSPHRASE", "WALDEN_S3_KEY_SECRET", "WALDEN_S3_TOKEN",
        "WALDEN_AZURE_KEY",          "WALDEN_AZURE_SAS",     "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",         "AZURE_STORAGE_KEY",    "AZURE_STORAGE_CONNECTION_STRING",
    };
    static const char *const kept[] = {"PGHOST", "PGPASSFILE", "WALDEN_REPO",
                                       "WALDEN_ENCRYPT_PASSPHRASE_FILE", "AWS_REGION"};
    for (size_t i = 0; i < WD_ARRAY_LEN(secrets); i++)
        assert_int_equal(setenv(secrets[i], "s3cr3t-value", 1), 0);
    for (size_t i = 0; i < WD_ARRAY_LEN(kept); i++)
        assert_int_equal(setenv(kept[i], "kept-value", 1), 0);
    const char *argv[] = {"/usr/bin/env", NULL};
    wd_proc p;
    assert_ok(wd_proc_spawn(&p, "env", argv, NULL, WD_PROC_STDOUT));
    char buf[65536];
    size_t len = 0, n;
    while (wd_proc_read(&p, (uint8_t *)buf + len, sizeof(buf) - 1 - len, &n) == 0 && n > 0)
        len += n;
    buf[len] = '\0';
    assert_ok(wd_proc_wait(&p));
    assert_null(strstr(buf, "s3cr3t-value"));
    for (size_t i = 0; i < WD_ARRAY_LEN(kept); i++) {
        char want[128];
        snprintf(want, sizeof(want), "%s=kept-value\n", kept[i]);
        assert_non_null(strstr(buf, want));
    }
    for (size_t i = 0; i < WD_ARRAY_LEN(secrets); i++) {
        assert_true(wd_env_is_secret(secrets[i]));
        unsetenv(secrets[i]);
    }
    for (size_t i = 0; i < WD_ARRAY_LEN(kept); i++) {
        assert_false(wd_env_is_secret(kept[i]));
        unsetenv(kept[i]);
    }
    /* a name that only starts like a secret's is not one */
    assert_false(wd_env_is_secret("WALDEN_AZURE_KEYS=x"));
    assert_false(wd_env_is_secret("AWS_SECRET_ACCESS_KEY_ID=x"));
}

static void test_kill(void **state)
{
    (void)state;
    const char *argv[] = {"/bin/sleep", "60", NULL};
    wd_proc p;
    assert_ok(wd_proc_spawn(&p, "sleeper", argv, NULL, WD_PROC_STDIN));
    pid_t pid = p.pid;
    wd_proc_kill(&p);
    assert_int_equal(p.pid, -1);
    assert_int_equal(kill(pid, 0), -1); /* reaped: gone */
}

/* wd_proc_run: output into the caller's file, the working directory, the
 * wait status; a program that cannot be executed exits 127. */
static void test_run(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[4096];
    snprintf(path, sizeof(path), "%s/out.log", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    wd_proc_run_opts o = {.out_fd = fileno(f), .dir = dir, .new_session = true};
    const char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; pwd; read x || exit 3", NULL};
    int status = -1;
    assert_ok(wd_proc_run(argv, &o, &status));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3); /* stdin is /dev/null */
    const char *missing[] = {"/nonexistent/pg_ctl", NULL};
    assert_ok(wd_proc_run(missing, &o, &status));
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 127);
    fclose(f);
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    char *want = wd_asprintf("out\nerr\n%s\n", dir);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(text, want, len);
    wd_free(want);
    free(text);
    tu_rmdir_r(dir);
    free(dir);
}

static void test_conninfo_quote(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"app", "'app'"}, {"other db", "'other db'"}, {"it's", "'it\\'s'"}, {"a\\b", "'a\\\\b'"}};
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        char *q = wd_conninfo_quote(cases[i][0]);
        assert_string_equal(q, cases[i][1]);
        wd_free(q);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_stdout),
        cmocka_unit_test(test_write_stdin),
        cmocka_unit_test(test_exit_status_and_stderr),
        cmocka_unit_test(test_killed_by_signal),
        cmocka_unit_test(test_missing_program),
        cmocka_unit_test(test_child_stops_reading),
        cmocka_unit_test(test_env_and_output_line),
        cmocka_unit_test(test_child_env_has_no_secrets),
        cmocka_unit_test(test_kill),
        cmocka_unit_test(test_run),
        cmocka_unit_test(test_conninfo_quote),
    };
    walden_log_set_level(WALDEN_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
