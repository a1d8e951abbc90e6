/*
 * test_args.c - src/args.c: the one parse of the command line against the
 * option table: misplaced flags refused with the command's usage status,
 * `--name=value`, yes/no flags, repeatable options, `--`, and options of
 * the environment and the config file never refused for being misplaced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/common.h"
#include "testutil.h"

/* parse(argv...) with argv[0] = "walden"; stderr to /dev/null */
static int parse_v(walden_config **cfg, cli_args *a, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    assert_ok(walden_config_new(cfg));
    fflush(stderr);
    int saved = dup(2);
    FILE *null = freopen("/dev/null", "w", stderr);
    assert_non_null(null);
    int rc = cli_parse_args(argc, argv, *cfg, a);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    return rc;
}
#define PARSE(cfg, a, ...) parse_v(cfg, a, (char *[]){"walden", __VA_ARGS__, NULL})

static void test_misplaced_flags_refused(void **state)
{
    (void)state;
    /* a flag the command does not take: the usage status, nothing set */
    static const struct {
        const char *command, *flag, *value;
        int status;
    } cases[] = {
        {"backup", "--target-time", "garbage", EXIT_USAGE},
        {"info", "--pgdata", "/x", EXIT_USAGE},
        {"expire", "--set", "x", EXIT_USAGE},
        {"verify", "--keep", "yes", EXIT_USAGE},
        {"restore", "--start-fast", "no", EXIT_USAGE},
        {"archive-push", "--pgport", "5432", EXIT_USAGE},
        {"archive-get", "--target-time", "x", EXIT_GET_USAGE},
        {"drill", "--target-lsn", "0/1", EXIT_USAGE},
        {"drill", "--tablespace-map", "1=/x", EXIT_USAGE},
        {"dump", "--globals", "yes", EXIT_USAGE},
        {"init", "--new-passphrase-file", "/f", EXIT_USAGE},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        walden_config *cfg;
        cli_args a;
        char *argv[] = {"walden", (char *)cases[i].command, (char *)cases[i].flag,
                        (char *)cases[i].value, NULL};
        assert_int_equal(parse_v(&cfg, &a, argv), cases[i].status);
        assert_int_equal(walden_config_source_of(cfg, cases[i].flag + 2), WALDEN_SOURCE_DEFAULT);
        walden_config_free(cfg);
        /* before the command too */
        char *before[] = {"walden", (char *)cases[i].flag, (char *)cases[i].value,
                          (char *)cases[i].command, NULL};
        assert_int_equal(parse_v(&cfg, &a, before), cases[i].status);
        walden_config_free(cfg);
    }
}

static void test_flags_the_command_takes(void **state)
{
    (void)state;
    walden_config *cfg;
    cli_args a;
    assert_ok(PARSE(&cfg, &a, "--repo=/r", "restore", "--pgdata", "/d",
                    "--target-time=2026-01-01 "
                    "00:00:00+00",
                    "--target-exclusive"));
    assert_string_equal(a.command, "restore");
    assert_int_equal(a.npos, 1);
    assert_string_equal(walden_config_get(cfg, "repo"), "/r");
    assert_string_equal(walden_config_get(cfg, "pgdata"), "/d");
    assert_string_equal(walden_config_get(cfg, "target-time"), "2026-01-01 00:00:00+00");
    assert_int_equal(walden_config_bool(cfg, "target-exclusive"), 1);
    cli_args_free(&a);
    walden_config_free(cfg);

    /* archive-get's arguments between its options */
    assert_ok(PARSE(&cfg, &a, "archive-get", "--cluster", "c1", "000000010000000000000001",
                    "pg_wal/RECOVERYXLOG"));
    assert_int_equal(a.npos, 3);
    assert_string_equal(a.positional[2], "pg_wal/RECOVERYXLOG");
    assert_string_equal(walden_config_get(cfg, "cluster"), "c1");
    cli_args_free(&a);
    walden_config_free(cfg);
}

static void test_yes_no_flags(void **state)
{
    (void)state;
    walden_config *cfg;
    cli_args a;
    /* alone: yes; followed by a yes/no word: that word; followed by
     * anything else: yes, and the next word is an argument */
    assert_ok(PARSE(&cfg, &a, "drill", "--keep", "--dump", "no", "--history", "off"));
    assert_int_equal(walden_config_bool(cfg, "keep"), 1);
    assert_int_equal(walden_config_bool(cfg, "dump"), 0);
    assert_int_equal(walden_config_bool(cfg, "history"), 0);
    assert_int_equal(a.npos, 1);
    cli_args_free(&a);
    walden_config_free(cfg);

    assert_ok(PARSE(&cfg, &a, "drill", "--dump", "20261122T040000Z-app"));
    assert_int_equal(walden_config_bool(cfg, "dump"), 1);
    assert_int_equal(a.npos, 2);
    assert_string_equal(a.positional[1], "20261122T040000Z-app");
    cli_args_free(&a);
    walden_config_free(cfg);

    assert_ok(PARSE(&cfg, &a, "expire", "--dry-run=yes"));
    assert_int_equal(walden_config_bool(cfg, "dry-run"), 1);
    cli_args_free(&a);
    walden_config_free(cfg);

    /* a bad word after '=' is a bad value */
    cli_args b;
    assert_int_equal(PARSE(&cfg, &b, "expire", "--dry-run=maybe"), EXIT_USAGE);
    walden_config_free(cfg);
}

static void test_repeatable(void **state)
{
    (void)state;
    walden_config *cfg;
    cli_args a;
    assert_ok(
        PARSE(&cfg, &a, "restore", "--tablespace-map", "16385=/a", "--tablespace-map=16386=/b"));
    assert_string_equal(walden_config_get(cfg, "tablespace-map"), "16385=/a\n16386=/b");
    cli_args_free(&a);
    walden_config_free(cfg);
    assert_ok(PARSE(&cfg, &a, "--dbname", "app", "dump", "--dbname", "crm", "--dbname", "hr"));
    assert_string_equal(walden_config_get(cfg, "dbname"), "app\ncrm\nhr");
    cli_args_free(&a);
    walden_config_free(cfg);
    /* not repeatable: the last one counts */
    assert_ok(PARSE(&cfg, &a, "info", "--cluster", "a", "--cluster", "b"));
    assert_string_equal(walden_config_get(cfg, "cluster"), "b");
    cli_args_free(&a);
    walden_config_free(cfg);
}

static void test_end_of_options(void **state)
{
    (void)state;
    walden_config *cfg;
    cli_args a;
    /* after --, everything is an argument, even what looks like an option
     * of another command */
    assert_ok(PARSE(&cfg, &a, "restore-dump", "--dbname", "app", "--", "--table=orders",
                    "--target-time", "x"));
    assert_int_equal(a.npos, 4);
    assert_string_equal(a.positional[1], "--table=orders");
    assert_string_equal(a.positional[2], "--target-time");
    assert_int_equal(walden_config_source_of(cfg, "target-time"), WALDEN_SOURCE_DEFAULT);
    cli_args_free(&a);
    walden_config_free(cfg);
    /* -- before the command */
    assert_ok(PARSE(&cfg, &a, "--repo", "/r", "--", "info"));
    assert_string_equal(a.command, "info");
    cli_args_free(&a);
    walden_config_free(cfg);
}

static void test_usage_errors(void **state)
{
    (void)state;
    walden_config *cfg;
    cli_args a;
    /* unknown option, unknown command, missing value: archive-get's status
     * for archive-get, even when the command comes after the bad option */
    assert_int_equal(PARSE(&cfg, &a, "--nope", "x", "archive-get", "a", "b"), EXIT_GET_USAGE);
    walden_config_free(cfg);
    assert_int_equal(PARSE(&cfg, &a, "--nope=1", "backup"), EXIT_USAGE);
    walden_config_free(cfg);
    assert_int_equal(PARSE(&cfg, &a, "-x", "info"), EXIT_USAGE);
    walden_config_free(cfg);
    assert_int_equal(PARSE(&cfg, &a, "frobnicate"), EXIT_USAGE);
    walden_config_free(cfg);
    assert_int_equal(PARSE(&cfg, &a, "archive-get", "a", "b", "--repo"), EXIT_GET_USAGE);
    walden_config_free(cfg);
    assert_int_equal(PARSE(&cfg, &a, "backup", "--process-max", "0"), EXIT_USAGE);
    walden_config_free(cfg);
    /* help and version take any option */
    assert_ok(PARSE(&cfg, &a, "backup", "--target-time", "x", "--help"));
    assert_int_equal(a.help, 1);
    cli_args_free(&a);
    walden_config_free(cfg);
    assert_ok(PARSE(&cfg, &a, "help", "backup", "--keep"));
    cli_args_free(&a);
    walden_config_free(cfg);
}

static void test_env_and_file_not_refused(void **state)
{
    (void)state;
    walden_config *cfg;
    cli_args a;
    /* backup with drill and restore options in the environment and the
     * file: parsed, loaded and checked without an error */
    assert_ok(PARSE(&cfg, &a, "backup"));
    char *env[] = {"WALDEN_TARGET_TIME=2026-01-01 00:00:00+00", "WALDEN_KEEP=yes",
                   "WALDEN_NEW_PASSPHRASE_FILE=/ignored", NULL};
    assert_ok(walden_config_load_env(cfg, env));
    char *dir = tu_mkdtemp();
    char path[512];
    snprintf(path, sizeof(path), "%s/walden.conf", dir);
    const char text[] = "rto-target = 2h\ntablespace-map = 1=/a\ndbname = app\n";
    tu_write_file(path, text, sizeof(text) - 1);
    assert_ok(walden_config_load_file(cfg, path, 1));
    assert_ok(walden_config_check_command(cfg, "backup"));
    assert_int_equal(walden_config_seconds(cfg, "rto-target", -1), 7200);
    /* a command-line-only option is not read from the environment... */
    assert_int_equal(walden_config_source_of(cfg, "new-passphrase-file"), WALDEN_SOURCE_DEFAULT);
    cli_args_free(&a);
    walden_config_free(cfg);
    /* ...and refused in a file */
    const char bad[] = "new-passphrase-file = /p\n";
    tu_write_file(path, bad, sizeof(bad) - 1);
    assert_ok(walden_config_new(&cfg));
    assert_rc(walden_config_load_file(cfg, path, 1), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "only taken on the command line"));
    walden_config_free(cfg);
    tu_rmdir_r(dir);
    free(dir);
}

static void test_every_command_known_to_both_tables(void **state)
{
    (void)state;
    /* the library's command names and the CLI's commands are the same */
    int n = 0;
    for (const char *const *c = walden_command_names(); *c; c++, n++)
        assert_non_null(cli_command_find(*c));
    int m = 0;
    for (const cli_command *c = cli_commands; c->name; c++, m++)
        ;
    assert_int_equal(n, m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_misplaced_flags_refused),
        cmocka_unit_test(test_flags_the_command_takes),
        cmocka_unit_test(test_yes_no_flags),
        cmocka_unit_test(test_repeatable),
        cmocka_unit_test(test_end_of_options),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_env_and_file_not_refused),
        cmocka_unit_test(test_every_command_known_to_both_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
