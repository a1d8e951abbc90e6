/*
 * test_config.c - config/config.c and options.c: precedence, environment
 * names, config files, validation, durations, secrets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "testutil.h"

static walden_config *cfg_new(void)
{
    walden_config *c;
    assert_ok(walden_config_new(&c));
    return c;
}

static void test_precedence_any_order(void **state)
{
    (void)state;
    /* every order of the three sources gives flag > env > file > default */
    const walden_config_source order[][3] = {
        {WALDEN_SOURCE_FILE, WALDEN_SOURCE_ENV, WALDEN_SOURCE_FLAG},
        {WALDEN_SOURCE_FLAG, WALDEN_SOURCE_ENV, WALDEN_SOURCE_FILE},
        {WALDEN_SOURCE_ENV, WALDEN_SOURCE_FLAG, WALDEN_SOURCE_FILE},
        {WALDEN_SOURCE_FILE, WALDEN_SOURCE_FLAG, WALDEN_SOURCE_ENV},
    };
    const char *value[] = {"", "/from-file", "/from-env", "/from-flag"};
    for (size_t i = 0; i < WD_ARRAY_LEN(order); i++) {
        walden_config *c = cfg_new();
        assert_null(walden_config_get(c, "repo"));
        for (int j = 0; j < 3; j++)
            assert_ok(walden_config_set(c, "repo", value[order[i][j]], order[i][j]));
        assert_string_equal(walden_config_get(c, "repo"), "/from-flag");
        assert_int_equal(walden_config_source_of(c, "repo"), WALDEN_SOURCE_FLAG);
        walden_config_free(c);
    }
    walden_config *c = cfg_new();
    assert_string_equal(walden_config_get(c, "cluster"), "main"); /* default */
    assert_int_equal(walden_config_source_of(c, "cluster"), WALDEN_SOURCE_DEFAULT);
    assert_ok(walden_config_set(c, "cluster", "a", WALDEN_SOURCE_ENV));
    assert_ok(walden_config_set(c, "cluster", "b", WALDEN_SOURCE_FILE));
    assert_string_equal(walden_config_get(c, "cluster"), "a");
    walden_config_free(c);
}

static void test_env_names(void **state)
{
    (void)state;
    walden_config *c = cfg_new();
    char *env[] = {"WALDEN_COMPRESS_LEVEL=7",
                   "WALDEN_REPO=/r",
                   "PATH=/bin",
                   "WALDEN_TEST_TMP=/ignored",
                   "WALDEN_ENCRYPT_PASSPHRASE=s3cret",
                   NULL};
    assert_ok(walden_config_load_env(c, env));
    assert_string_equal(walden_config_get(c, "compress-level"), "7");
    assert_string_equal(walden_config_get(c, "repo"), "/r");
    assert_string_equal(walden_config_get(c, "encrypt-passphrase"), "s3cret");
    assert_int_equal(walden_config_source_of(c, "repo"), WALDEN_SOURCE_ENV);
    char *bad[] = {"WALDEN_COMPRESS=lz4", NULL};
    assert_rc(walden_config_load_env(c, bad), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "WALDEN_COMPRESS"));
    walden_config_free(c);
}

static void test_values_checked(void **state)
{
    (void)state;
    walden_config *c = cfg_new();
    struct {
        const char *name, *value;
        int rc;
    } cases[] = {
        {"compress", "zstd", 0},
        {"compress", "gzip", 0},
        {"compress", "none", 0},
        {"compress", "lz4", WALDEN_EINVAL},
        {"compress-level", "3", 0},
        {"compress-level", "0", WALDEN_EINVAL},
        {"compress-level", "x", WALDEN_EINVAL},
        {"pgport", "5432", 0},
        {"pgport", "70000", WALDEN_EINVAL},
        {"log-level", "debug", 0},
        {"log-level", "loud", WALDEN_EINVAL},
        {"cluster", "db-1.prod", 0},
        {"cluster", "../x", WALDEN_EINVAL},
        {"cluster", ".hidden", WALDEN_EINVAL},
        {"repo", "", WALDEN_EINVAL},
        {"no-such-option", "1", WALDEN_EINVAL},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        int rc = walden_config_set(c, cases[i].name, cases[i].value, WALDEN_SOURCE_FLAG);
        if (rc != cases[i].rc)
            fail_msg("%s = '%s': got %d, expected %d", cases[i].name, cases[i].value, rc,
                     cases[i].rc);
        if (rc)
            assert_non_null(strstr(walden_error_last()->message, cases[i].name));
    }
    walden_config_free(c);
}

static void test_bool_parse(void **state)
{
    (void)state;
    assert_int_equal(walden_bool_parse("y"), 1);
    assert_int_equal(walden_bool_parse("yes"), 1);
    assert_int_equal(walden_bool_parse("true"), 1);
    assert_int_equal(walden_bool_parse("n"), 0);
    assert_int_equal(walden_bool_parse("no"), 0);
    assert_int_equal(walden_bool_parse("false"), 0);
    assert_int_equal(walden_bool_parse("on"), 1);
    assert_int_equal(walden_bool_parse("off"), 0);
    assert_int_equal(walden_bool_parse("1"), 1);
    assert_int_equal(walden_bool_parse("0"), 0);
    assert_int_equal(walden_bool_parse("Yes"), 1);
    assert_int_equal(walden_bool_parse("OFF"), 0);
    assert_int_equal(walden_bool_parse("2"), -1);
    assert_int_equal(walden_bool_parse("onn"), -1);
    assert_int_equal(walden_bool_parse(""), -1);
    assert_int_equal(walden_bool_parse(NULL), -1);
}

static void test_durations(void **state)
{
    (void)state;
    struct {
        const char *text;
        int64_t seconds;
        int rc;
    } cases[] = {
        {"90s", 90, 0},
        {"15m", 900, 0},
        {"1h", 3600, 0},
        {"30d", 2592000, 0},
        {"2w", 1209600, 0},
        {"0s", 0, 0},
        {"30", 0, WALDEN_EINVAL},
        {"-1d", 0, WALDEN_EINVAL},
        {"1y", 0, WALDEN_EINVAL},
        {"d", 0, WALDEN_EINVAL},
        {"1dd", 0, WALDEN_EINVAL},
        {"", 0, WALDEN_EINVAL},
        {"99999999999999999999s", 0, WALDEN_EINVAL},
        {"9999999999999999w", 0, WALDEN_EINVAL},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        int64_t s = -1;
        int rc = walden_duration_parse(cases[i].text, &s);
        if (rc != cases[i].rc || (rc == 0 && s != cases[i].seconds))
            fail_msg("'%s': rc %d, %lld", cases[i].text, rc, (long long)s);
    }
}

static char *write_temp(const char *dir, const char *name, const char *text, mode_t mode)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name);
    tu_write_file(path, text, strlen(text));
    chmod(path, mode);
    return path;
}

static void test_config_file(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *good = write_temp(dir, "good.conf",
                            "# walden\nrepo = /var/lib/walden\n\ncompress = \"gzip\"\n"
                            "compress-level=9\n",
                            0600);
    walden_config *c = cfg_new();
    assert_ok(walden_config_set(c, "compress", "none", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_load_file(c, good, 1));
    assert_string_equal(walden_config_get(c, "repo"), "/var/lib/walden");
    assert_string_equal(walden_config_get(c, "compress"), "none"); /* the flag wins */
    assert_string_equal(walden_config_get(c, "compress-level"), "9");
    assert_int_equal(walden_config_source_of(c, "repo"), WALDEN_SOURCE_FILE);

    /* booleans in PostgreSQL's words too */
    assert_int_equal(walden_config_bool(c, "expire-auto"), 1); /* the default */
    char *off = write_temp(dir, "off.conf", "expire-auto = off\n", 0600);
    assert_ok(walden_config_load_file(c, off, 1));
    assert_int_equal(walden_config_bool(c, "expire-auto"), 0);
    char *on = write_temp(dir, "on.conf", "expire-auto = 1\n", 0600);
    assert_ok(walden_config_load_file(c, on, 1));
    assert_int_equal(walden_config_bool(c, "expire-auto"), 1);
    char *maybe = write_temp(dir, "maybe.conf", "expire-auto = maybe\n", 0600);
    assert_rc(walden_config_load_file(c, maybe, 1), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "on or off"));
    free(off);
    free(on);
    free(maybe);

    /* errors name the file and line */
    char *unknown = write_temp(dir, "unknown.conf", "repo = /x\nrepository = /y\n", 0600);
    assert_rc(walden_config_load_file(c, unknown, 1), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "unknown.conf:2"));
    assert_non_null(strstr(walden_error_last()->message, "repository"));
    char *badval = write_temp(dir, "badval.conf", "\n\ncompress = lz4\n", 0600);
    assert_rc(walden_config_load_file(c, badval, 1), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "badval.conf:3"));

    /* missing: an error only when asked for */
    char missing[600];
    snprintf(missing, sizeof(missing), "%s/missing.conf", dir);
    assert_ok(walden_config_load_file(c, missing, 0));
    assert_rc(walden_config_load_file(c, missing, 1), WALDEN_ENOTFOUND);
    walden_config_free(c);

    /* a secret in a file others may read: a warning, never the secret */
    char log[600];
    snprintf(log, sizeof(log), "%s/log", dir);
    assert_ok(walden_log_set_file(log));
    char *open_secret = write_temp(dir, "open.conf", "encrypt-passphrase = hunter2-secret\n", 0644);
    c = cfg_new();
    assert_ok(walden_config_load_file(c, open_secret, 1));
    char *closed_secret =
        write_temp(dir, "closed.conf", "encrypt-passphrase = hunter2-secret\n", 0600);
    assert_ok(walden_config_load_file(c, closed_secret, 1));
    walden_log_set_file(NULL);
    size_t len;
    char *logged = (char *)tu_read_file(log, &len);
    logged = realloc(logged, len + 1);
    logged[len] = '\0';
    assert_non_null(strstr(logged, "open.conf' holds a secret"));
    assert_null(strstr(logged, "closed.conf"));
    assert_null(strstr(logged, "hunter2"));
    free(logged);
    walden_config_free(c);

    free(good);
    free(unknown);
    free(badval);
    free(open_secret);
    free(closed_secret);
    tu_rmdir_r(dir);
    free(dir);
}

/* A command's choices: a value of another command's (backup's type full
 * for restore) is ignored from the config file and the environment, which
 * serve every command, and refused as a flag. (A value no command takes is
 * refused when it is set, from anywhere.) */
static void test_other_commands_choices(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        walden_config_source source;
        int rc;
    } cases[] = {
        {"full", WALDEN_SOURCE_FILE, 0},
        {"full", WALDEN_SOURCE_ENV, 0},
        {"full", WALDEN_SOURCE_FLAG, WALDEN_EINVAL},
        {"standby", WALDEN_SOURCE_FLAG, 0},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        walden_config *c;
        assert_ok(walden_config_new(&c));
        assert_ok(walden_config_set(c, "type", cases[i].value, cases[i].source));
        assert_rc(walden_config_check_command(c, "restore"), cases[i].rc);
        if (cases[i].rc)
            assert_non_null(strstr(walden_error_last()->message, "option 'type' of restore"));
        walden_config_free(c);
    }
    /* the same for backup, with restore's type from the environment */
    walden_config *c;
    assert_ok(walden_config_new(&c));
    char *env[] = {"WALDEN_TYPE=standby", NULL};
    assert_ok(walden_config_load_env(c, env));
    assert_ok(walden_config_check_command(c, "backup"));
    walden_config_free(c);
}

static void test_option_table(void **state)
{
    (void)state;
    int n = 0;
    for (const walden_option_info *o = walden_option_list(); o->name; o++, n++) {
        assert_non_null(o->help);
        assert_ptr_equal(walden_option_find(o->name), o);
        if (o->type == WALDEN_OPT_ENUM)
            assert_non_null(o->choices);
    }
    assert_true(n >= 14);
    assert_true(walden_option_find("encrypt-passphrase")->secret);
    assert_null(walden_option_find("nope"));
}

/* packaging/walden.conf.sample names every option (but those of the
 * command line only), and its example values
 * are valid: uncommented, the file loads. */
static void test_sample_config(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)tu_read_file(WALDEN_SOURCE_DIR "/packaging/walden.conf.sample", &len);
    for (const walden_option_info *o = walden_option_list(); o->name; o++) {
        char want[160];
        if (o->flags & WALDEN_OPTF_FLAG_ONLY)
            continue; /* a config file may not hold it */
        snprintf(want, sizeof(want), "\n#%s =", o->name);
        if (!strstr(text, want))
            print_error("the sample config lacks option '%s'\n", o->name);
        assert_non_null(strstr(text, want));
    }
    /* every "#name = value" line with a value, uncommented */
    char *dir = tu_mkdtemp(), path[600], *out = malloc(len + 1);
    size_t k = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
        char *eq = memchr(line, '=', n);
        bool setting = line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && eq &&
                       eq + 2 < line + n && eq[1] == ' ' && eq[2] != '\n' &&
                       strncmp(line, "#config ", 8) != 0;
        if (setting) {
            memcpy(out + k, line + 1, n - 1);
            k += n - 1;
        }
        line += n;
    }
    out[k] = '\0';
    snprintf(path, sizeof(path), "%s/walden.conf", dir);
    tu_write_file(path, out, k);
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_load_file(cfg, path, 1));
    assert_string_equal(walden_config_get(cfg, "repo"), "/var/lib/walden");
    walden_config_free(cfg);
    free(out);
    free(text);
    tu_rmdir_r(dir);
    free(dir);
}

/* A secret option's value makes the process non-dumpable (no core file
 * with it, no ptrace by the same user); other options do not. In a child
 * process: the flag stays for the rest of the process's life. */
static void test_secret_makes_non_dumpable(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        walden_config *cfg;
        int bad = 0;
        /* earlier tests of this process loaded secrets: start dumpable */
        if (walden_config_new(&cfg) != 0 || prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
            _exit(10);
        bad |= walden_config_set(cfg, "repo", "/srv/repo", WALDEN_SOURCE_FLAG) != 0;
        bad |= walden_config_set(cfg, "encrypt-passphrase-file", "/p", WALDEN_SOURCE_FILE) != 0;
        if (bad || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
            _exit(11);
        bad |= walden_config_set(cfg, "s3-key-secret", "secret", WALDEN_SOURCE_ENV) != 0;
        int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
        walden_config_free(cfg);
        _exit(bad ? 12 : dumpable == 0 ? 0 : 13);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence_any_order),
        cmocka_unit_test(test_env_names),
        cmocka_unit_test(test_values_checked),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_config_file),
        cmocka_unit_test(test_option_table),
        cmocka_unit_test(test_other_commands_choices),
        cmocka_unit_test(test_sample_config),
        cmocka_unit_test(test_bool_parse),
        cmocka_unit_test(test_secret_makes_non_dumpable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
