/*
 * test_cmd_info.c - src/cmd_info.c: the chains `walden info` shows, text
 * and JSON, are the ones walden_backup_list gives (the library's walk,
 * which restore refuses a broken chain by): the ids from the full to the
 * backup, and why a chain does not reach a full, in the library's words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

typedef struct fixture {
    tu_area a;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_area_setup(&f->a, 7312345678901234567ull);
    walden_repo *r;
    assert_int_equal(walden_repo_open(&r, f->a.cfg), 0);
    tu_put_backup(r, f->a.repo, "F1", "full", "", 100000);
    tu_put_backup(r, f->a.repo, "I1", "incr", "F1", 200000);
    tu_put_backup(r, f->a.repo, "D1", "diff", "F1", 300000);
    tu_put_backup(r, f->a.repo, "X1", "incr", "gone", 400000);
    tu_put_backup(r, f->a.repo, "X2", "incr", "X1", 500000);
    tu_put_backup(r, f->a.repo, "Z1", "full", "F1", 600000); /* a full naming a reference */
    tu_put_backup(r, f->a.repo, "Z2", "incr", "Z1", 700000);
    walden_repo_close(r);
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

/* Runs `walden info` (output `output`) with stdout in a temporary file,
 * whose text it returns (free it); *status gets the exit status. */
static char *run_info(fixture *f, const char *output, int *status)
{
    assert_int_equal(walden_config_set(f->a.cfg, "output", output, WALDEN_SOURCE_FLAG), 0);
    char path[] = "/tmp/walden-test-info.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(1);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 1) == 1);
    cli_ctx ctx = {f->a.cfg, "info", 0, NULL, NULL};
    *status = cmd_info(&ctx);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    assert_true(len >= 0);
    char *text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t)len, 0), len);
    close(fd);
    unlink(path);
    return text;
}

static void has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("'%s' not in:\n%s", part, text);
}

static void test_json_chains(void **state)
{
    fixture *f = *state;
    int status;
    char *t = run_info(f, "json", &status);
    assert_int_equal(status, EXIT_OK);
    has(t, "\"id\": \"F1\", \"type\": \"full\", \"reference\": null");
    has(t, "\"chain\": [\"F1\"], \"chain_error\": null}");
    has(t, "\"chain\": [\"F1\", \"I1\"], \"chain_error\": null}");
    has(t, "\"chain\": [\"F1\", \"D1\"], \"chain_error\": null}");
    has(t, "\"chain\": [\"X1\"], \"chain_error\": \"reference gone is missing\"}");
    has(t, "\"chain\": [\"X1\", \"X2\"], \"chain_error\": \"X1's reference gone is missing\"}");
    /* a full that names a reference is broken, as restore judges it */
    has(t, "\"chain\": [\"Z1\"], \"chain_error\": \"summary names a reference for a full "
           "backup\"}");
    has(t, "\"chain\": [\"Z1\", \"Z2\"], \"chain_error\": \"Z1's summary names a reference for a "
           "full backup\"}");
    free(t);
}

static void test_text_chains(void **state)
{
    fixture *f = *state;
    int status;
    char *t = run_info(f, "text", &status);
    assert_int_equal(status, EXIT_OK);
    has(t, "    reference F1, chain F1 > I1\n");
    has(t, "    reference X1, chain X1 > X2\n"
           "    CHAIN BROKEN: cannot be restored: X1's reference gone is missing\n");
    has(t, "    reference F1, chain Z1\n"
           "    CHAIN BROKEN: cannot be restored: summary names a reference for a full backup\n");
    free(t);
}

/* A damaged reference is said to be damaged (the library knows which one
 * it met); info shows the others, then fails naming it. */
static void test_damaged_reference(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        tu_system("sed -i 's/status = ok/status = xx/' '%s/main/backup/F1/backup.info'", f->a.repo),
        0);
    int status;
    char *t = run_info(f, "json", &status);
    assert_int_equal(status, EXIT_FAILURE_);
    has(t, "\"chain\": [\"I1\"], \"chain_error\": \"reference F1 is damaged\"}");
    has(t, "\"chain\": [\"D1\"], \"chain_error\": \"reference F1 is damaged\"}");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_reference, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
