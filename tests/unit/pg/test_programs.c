/*
 * test_programs.c - pg/programs.c: which PostgreSQL program walden runs.
 * Fake bin folders hold scripts that print a version, as PostgreSQL's
 * programs do with --version; PATH points at one of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "pg/pg.h"
#include "testutil.h"

typedef struct fixture {
    char *dir;
    char dist[600]; /* DIR/dist/%d/bin: a distribution's versioned folders */
    char path[600]; /* DIR/path: what PATH finds */
    char *old_path;
} fixture;

static void fake(const char *dir, const char *program, const char *version_line)
{
    char file[800];
    assert_int_equal(tu_system("mkdir -p '%s'", dir), 0);
    snprintf(file, sizeof(file), "%s/%s", dir, program);
    char script[400];
    snprintf(script, sizeof(script), "#!/bin/sh\necho '%s'\n", version_line);
    tu_write_file(file, script, strlen(script));
    assert_int_equal(chmod(file, 0755), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_mkdtemp();
    snprintf(f->dist, sizeof(f->dist), "%s/dist/%%d/bin", f->dir);
    snprintf(f->path, sizeof(f->path), "%s/path", f->dir);
    char d17[700];
    snprintf(d17, sizeof(d17), "%s/dist/17/bin", f->dir);
    fake(d17, "pg_ctl", "pg_ctl (PostgreSQL) 17.2 (Debian 17.2-1)");
    fake(f->path, "pg_ctl", "pg_ctl (PostgreSQL) 15.8");
    fake(f->path, "pg_dump", "pg_dump (PostgreSQL) 18.1");
    fake(f->path, "psql", "psql (PostgreSQL) 15.8");
    fake(f->path, "pg_restore", "not a version");
    const char *old = getenv("PATH");
    f->old_path = strdup(old ? old : "");
    setenv("PATH", f->path, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    setenv("PATH", f->old_path, 1);
    free(f->old_path);
    tu_rmdir_r(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Expects wd_pg_program_in to fail with `rc` and a message holding each of
 * the NULL-terminated words. */
static void expect_error(walden_config *cfg, int version, const char *program,
                         const char *const *dirs, int rc, const char *const *words)
{
    char *out = NULL;
    int got = wd_pg_program_in(cfg, version, program, dirs, &out);
    if (got != rc)
        fail_msg("%s for %d: rc %d (%s), expected %d", program, version, got,
                 got ? walden_error_last()->message : out, rc);
    assert_null(out);
    for (int i = 0; words[i]; i++)
        if (!strstr(walden_error_last()->message, words[i]))
            fail_msg("'%s' does not say '%s'", walden_error_last()->message, words[i]);
}

static void expect_path(walden_config *cfg, int version, const char *program,
                        const char *const *dirs, const char *want)
{
    char *out = NULL;
    int rc = wd_pg_program_in(cfg, version, program, dirs, &out);
    if (rc)
        fail_msg("%s for %d: %s", program, version, walden_error_last()->message);
    assert_string_equal(out, want);
    wd_free(out);
}

static void test_without_pg_bin(void **state)
{
    fixture *f = *state;
    const char *dirs[] = {f->dist, NULL};
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    char want[800];

    /* the distribution's folder of the cluster's version comes first */
    snprintf(want, sizeof(want), "%s/dist/17/bin/pg_ctl", f->dir);
    expect_path(cfg, 170004, "pg_ctl", dirs, want);
    /* none for 16: PATH's pg_ctl is 15, refused, naming both and the option */
    expect_error(cfg, 160000, "pg_ctl", dirs, WALDEN_EPG,
                 (const char *[]){"PostgreSQL 15", "PostgreSQL 16", "pg-bin", "PATH's", NULL});
    /* PATH's of the right version is taken, as a full path */
    snprintf(want, sizeof(want), "%s/pg_ctl", f->path);
    expect_path(cfg, 150010, "pg_ctl", dirs, want);
    /* a newer client is fine, an older one is not */
    snprintf(want, sizeof(want), "%s/pg_dump", f->path);
    expect_path(cfg, 170000, "pg_dump", dirs, want);
    expect_error(cfg, 170000, "psql", dirs, WALDEN_EPG,
                 (const char *[]){"PostgreSQL 15", "PostgreSQL 17", NULL});
    /* a server program newer than the cluster is refused too */
    expect_error(cfg, 130000, "pg_ctl", dirs, WALDEN_EPG,
                 (const char *[]){"PostgreSQL 15", "PostgreSQL 13", NULL});
    /* missing everywhere */
    expect_error(cfg, 170000, "initdb", dirs, WALDEN_ENOTFOUND,
                 (const char *[]){"PostgreSQL 17's initdb", "pg-bin", NULL});
    /* a program whose version cannot be told */
    expect_error(cfg, 170000, "pg_restore", dirs, WALDEN_EPG,
                 (const char *[]){"cannot tell", NULL});
    walden_config_free(cfg);
}

static void test_with_pg_bin(void **state)
{
    fixture *f = *state;
    const char *dirs[] = {f->dist, NULL};
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "pg-bin", f->path, WALDEN_SOURCE_FLAG));
    char want[800];
    /* pg-bin wins over the distribution's folder, and is checked too */
    expect_error(cfg, 170000, "pg_ctl", dirs, WALDEN_EPG,
                 (const char *[]){"pg-bin's", "PostgreSQL 15", "PostgreSQL 17", NULL});
    snprintf(want, sizeof(want), "%s/pg_ctl", f->path);
    expect_path(cfg, 150000, "pg_ctl", dirs, want);
    expect_error(cfg, 150000, "initdb", dirs, WALDEN_ENOTFOUND,
                 (const char *[]){"pg-bin", "initdb", NULL});
    walden_config_free(cfg);
}

static void test_version_line(void **state)
{
    fixture *f = *state;
    char p[800];
    int major = 0;
    snprintf(p, sizeof(p), "%s/dist/17/bin/pg_ctl", f->dir);
    assert_ok(wd_pg_program_version(p, &major));
    assert_int_equal(major, 17);
    snprintf(p, sizeof(p), "%s/pg_restore", f->path);
    assert_rc(wd_pg_program_version(p, &major), WALDEN_EPG);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {T(test_without_pg_bin), T(test_with_pg_bin),
                                       T(test_version_line)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
