/*
 * test_options.c - config/options.c: the option table is whole and
 * consistent (every option taken by a command that exists, defaults that
 * pass their own checks, per-command values within the option's), and the
 * typed getters read what was checked when it was set.
 */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "testutil.h"

static int known_command(const char *name, size_t len)
{
    for (const char *const *c = walden_command_names(); *c; c++)
        if (strlen(*c) == len && strncmp(*c, name, len) == 0)
            return 1;
    return 0;
}

static void test_every_option_taken_by_real_commands(void **state)
{
    (void)state;
    for (const walden_option_info *o = walden_option_list(); o->name; o++) {
        assert_non_null(o->commands);
        assert_non_null(o->help);
        int takers = 0;
        for (const char *const *c = walden_command_names(); *c; c++)
            takers += walden_option_applies(o, *c);
        if (takers == 0)
            fail_msg("option '%s' is taken by no command", o->name);
        if (strcmp(o->commands, "*") == 0)
            continue;
        for (const char *p = o->commands; *p;) {
            size_t n = strcspn(p, " ");
            if (!known_command(p, n))
                fail_msg("option '%s' names an unknown command '%.*s'", o->name, (int)n, p);
            p += n + (p[n] == ' ');
        }
    }
}

static void test_defaults_pass_their_checks(void **state)
{
    (void)state;
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    for (const walden_option_info *o = walden_option_list(); o->name; o++) {
        if (o->default_value &&
            walden_config_set(cfg, o->name, o->default_value, WALDEN_SOURCE_FILE) != 0)
            fail_msg("default of '%s' is refused: %s", o->name, walden_error_last()->message);
        if (o->type == WALDEN_OPT_INT && o->default_value)
            assert_int_not_equal(walden_config_int(cfg, o->name, -12345), -12345);
        if (o->type == WALDEN_OPT_DURATION && o->default_value)
            assert_true(walden_config_seconds(cfg, o->name, -1) > 0);
        if (o->type == WALDEN_OPT_ENUM)
            assert_non_null(o->choices);
        if (o->type == WALDEN_OPT_INT)
            assert_true(o->min <= o->max);
    }
    walden_config_free(cfg);
}

static int choice_in(const char *choices, const char *w, size_t n)
{
    for (const char *p = choices; *p;) {
        size_t k = strcspn(p, "|");
        if (k == n && strncmp(p, w, n) == 0)
            return 1;
        p += k + (p[k] == '|');
    }
    return 0;
}

static void test_command_choices_within_the_options(void **state)
{
    (void)state;
    for (const walden_option_info *o = walden_option_list(); o->name; o++)
        for (const char *const *c = walden_command_names(); *c; c++) {
            const char *ch = walden_option_choices(o, *c);
            assert_non_null(walden_option_help(o, *c));
            if (!ch)
                continue;
            for (const char *p = ch; *p;) {
                size_t k = strcspn(p, "|");
                if (!choice_in(o->choices, p, k))
                    fail_msg("%s of %s allows '%.*s', which the option does not", o->name, *c,
                             (int)k, p);
                p += k + (p[k] == '|');
            }
        }
    /* backup's type: what backup implements */
    assert_string_equal(walden_option_choices(walden_option_find("type"), "backup"),
                        "full|diff|incr");
}

static void test_typed_getters(void **state)
{
    (void)state;
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_int_equal(walden_config_int(cfg, "pgport", -1), -1); /* no value, no default */
    assert_int_equal(walden_config_int(cfg, "s3-max-parts", -1), 10000);
    assert_ok(walden_config_set(cfg, "pgport", "5433", WALDEN_SOURCE_FLAG));
    assert_int_equal(walden_config_int(cfg, "pgport", -1), 5433);
    assert_int_equal(walden_config_seconds(cfg, "archive-timeout", -1), 60);
    assert_ok(walden_config_set(cfg, "archive-timeout", "2h", WALDEN_SOURCE_ENV));
    assert_int_equal(walden_config_seconds(cfg, "archive-timeout", -1), 7200);
    assert_true(walden_config_is(cfg, "output", "text"));
    assert_ok(walden_config_set(cfg, "output", "json", WALDEN_SOURCE_FILE));
    assert_true(walden_config_is(cfg, "output", "json"));
    assert_false(walden_config_is(cfg, "output", "text"));
    assert_int_equal(walden_config_bool(cfg, "start-fast"), 0); /* a spread checkpoint */
    /* ranges are the table's, checked when set */
    assert_rc(walden_config_set(cfg, "process-max", "65", WALDEN_SOURCE_FLAG), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "from 1 to 64"));
    assert_rc(walden_config_set(cfg, "jobs", "0", WALDEN_SOURCE_FLAG), WALDEN_EINVAL);
    assert_ok(walden_config_set(cfg, "jobs", "256", WALDEN_SOURCE_FLAG));
    assert_int_equal(walden_config_int(cfg, "jobs", 1), 256);
    walden_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_option_taken_by_real_commands),
        cmocka_unit_test(test_defaults_pass_their_checks),
        cmocka_unit_test(test_command_choices_within_the_options),
        cmocka_unit_test(test_typed_getters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
