/*
 * test_server.c - drill/server.c without PostgreSQL: the scratch directory
 * and its socket folder (moved to /tmp when the path is too long for a
 * socket), programs run with their output in pg_ctl.log and their failure
 * named, the removal, the "redo done at" time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "drill/drill.h"
#include "testutil.h"

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_scratch_run_remove(void **state)
{
    (void)state;
    char *parent = tu_mkdtemp();
    /* run as root, the programs run as postgres: they must reach the folder */
    assert_int_equal(chmod(parent, 0755), 0);
    wd_drill_server s = {0};
    assert_ok(wd_drill_server_user(&s, "nobody-here"));
    assert_true(*s.user);
    assert_ok(wd_drill_server_scratch(&s, parent, "main"));
    assert_non_null(strstr(s.scratch, "/walden-drill-main-"));
    assert_true(is_dir(s.scratch));
    assert_true(is_dir(s.sock));
    assert_false(s.sock_outside);
    struct stat st;
    assert_int_equal(stat(s.scratch, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    /* a program's output goes to pg_ctl.log; it runs in the scratch dir */
    const char *ok[] = {"/bin/sh", "-c", "echo started; pwd", NULL};
    assert_ok(wd_drill_server_run(&s, ok, "pg_ctl start"));
    size_t len;
    char *log = (char *)tu_read_file(s.ctl_log, &len);
    char *want = wd_asprintf("started\n%s\n", s.scratch);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(log, want, len);
    wd_free(want);
    free(log);
    /* a failure names the step and the program's last line */
    const char *bad[] = {"/bin/sh", "-c", "echo 'pg_ctl: could not start server' >&2; exit 1",
                         NULL};
    assert_rc(wd_drill_server_run(&s, bad, "pg_ctl start"), WALDEN_EPG);
    assert_string_equal(walden_error_last()->message,
                        "pg_ctl start failed: pg_ctl: could not start server");
    const char *missing[] = {"/nonexistent/initdb", NULL};
    assert_rc(wd_drill_server_run(&s, missing, "initdb"), WALDEN_EIO);
    assert_non_null(strstr(walden_error_last()->message, "cannot run initdb"));

    /* the server's log: the time of its end of redo */
    char *line = wd_strdup("2026-11-29 04:50:07.250 UTC [123] LOG:  redo done at 0/3000028\n");
    tu_write_file(s.log, line, strlen(line));
    wd_free(line);
    int64_t ms = wd_drill_server_redo_done_ms(&s);
    assert_true(ms > 0 && ms % 1000 == 250);

    wd_drill_server_stop(&s); /* never started: nothing to do */
    wd_drill_server_remove(&s, true);
    assert_true(is_dir(s.scratch));
    wd_drill_server_remove(&s, false);
    assert_false(is_dir(s.scratch));
    wd_drill_server_clear(&s);
    assert_null(s.scratch);
    tu_rmdir_r(parent);
    free(parent);
}

/* A unix socket's path has at most 107 bytes. */
static void test_long_path_socket(void **state)
{
    (void)state;
    char *parent = tu_mkdtemp(), deep[4096];
    snprintf(deep, sizeof(deep), "%s/%0120d", parent, 0);
    assert_int_equal(mkdir(deep, 0700), 0);
    wd_drill_server s = {0};
    assert_ok(wd_drill_server_user(&s, NULL));
    assert_ok(wd_drill_server_scratch(&s, deep, "main"));
    assert_true(s.sock_outside);
    assert_true(wd_str_starts_with(s.sock, "/tmp/walden-drill-socket-"));
    assert_true(is_dir(s.sock));
    char sock[4096];
    snprintf(sock, sizeof(sock), "%s", s.sock);
    wd_drill_server_remove(&s, false);
    assert_false(is_dir(sock));
    assert_false(is_dir(s.scratch));
    wd_drill_server_clear(&s);
    tu_rmdir_r(parent);
    free(parent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scratch_run_remove),
        cmocka_unit_test(test_long_path_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
