/*
 * programs.c - finding and calling PostgreSQL's own programs.
 *
 * A program of the wrong major version fails late and obscurely (pg_ctl of
 * 15 on a 17 data directory, pg_restore of 15 on a dump of pg_dump 17), so
 * walden never runs one without knowing its version:
 *   - `pg-bin` set: its program, checked with `--version`;
 *   - else the folders where the distributions install each major version
 *     side by side (Debian /usr/lib/postgresql/N/bin, the PGDG RPMs
 *     /usr/pgsql-N/bin), for the cluster's major version N: taken as they
 *     are (their layout says the version);
 *   - else the program found in PATH, checked with `--version`.
 * Server-side programs (pg_ctl, initdb, postgres...) must be of the
 * cluster's major version; clients (pg_dump, pg_dumpall, pg_restore, psql)
 * of that version or newer, which is what they support.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/proc.h"
#include "pg/pg.h"

static const char *const default_dirs[] = {"/usr/lib/postgresql/%d/bin", "/usr/pgsql-%d/bin", NULL};

static int major_of(int server_version)
{
    return server_version >= 100000 ? server_version / 10000 : server_version / 100;
}

/* Clients read and talk to older servers; the rest must match. */
static bool newer_ok(const char *program)
{
    static const char *const clients[] = {"pg_dump", "pg_dumpall", "pg_restore", "psql"};
    for (size_t i = 0; i < WD_ARRAY_LEN(clients); i++)
        if (strcmp(program, clients[i]) == 0)
            return true;
    return false;
}

int wd_pg_program_version(const char *path, int *major)
{
    const char *argv[] = {path, "--version", NULL};
    char *line = NULL;
    int rc = wd_proc_output_line(argv, &line);
    if (rc) {
        wd_error_wrap(rc, "cannot run '%s --version'", path);
        return rc;
    }
    /* "pg_ctl (PostgreSQL) 17.2 (Debian 17.2-1)": the first number after
     * the closing parenthesis */
    const char *p = strstr(line, ") ");
    long v = p ? strtol(p + 2, NULL, 10) : 0;
    if (v < 7 || v > 999)
        rc = wd_error_set(WALDEN_EPG, "cannot tell the PostgreSQL version of '%s' from '%s'", path,
                          line);
    else
        *major = (int)v;
    wd_free(line);
    return rc;
}

/* A program found outside the distribution folders: its version decides. */
static int checked(char *path, const char *program, int major, const char *where, char **out)
{
    int got;
    int rc = wd_pg_program_version(path, &got);
    if (!rc && got != major && !(got > major && newer_ok(program)))
        rc = wd_error_set(WALDEN_EPG,
                          "%s '%s' is PostgreSQL %d, the cluster is PostgreSQL %d: install "
                          "PostgreSQL %d's programs or set pg-bin (--pg-bin) to their folder",
                          where, path, got, major, major);
    if (rc) {
        wd_free(path);
        return rc;
    }
    *out = path;
    return 0;
}

/* PATH's first executable `program`, malloc'ed; NULL when there is none. */
static char *in_path(const char *program)
{
    const char *path = getenv("PATH");
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        char *full = n ? wd_asprintf("%.*s/%s", (int)n, p, program) : NULL;
        if (full && access(full, X_OK) == 0)
            return full;
        wd_free(full);
        p += n;
        if (*p)
            p++;
    }
    return NULL;
}

int wd_pg_program_in(const walden_config *cfg, int server_version, const char *program,
                     const char *const *dirs, char **out)
{
    *out = NULL;
    const char *bin = walden_config_get(cfg, "pg-bin");
    int major = server_version > 0 ? major_of(server_version) : 0;
    if (bin && *bin) {
        char *path = wd_asprintf("%s/%s", bin, program);
        if (!path)
            return WALDEN_ENOMEM;
        if (access(path, X_OK) != 0) {
            wd_free(path);
            return wd_error_set(WALDEN_ENOTFOUND, "pg-bin '%s' has no program %s", bin, program);
        }
        if (!major) {
            *out = path;
            return 0;
        }
        return checked(path, program, major, "pg-bin's", out);
    }
    for (int i = 0; major && dirs && dirs[i]; i++) {
        char *dir = wd_asprintf(dirs[i], major);
        char *path = dir ? wd_path_join(dir, program) : NULL;
        wd_free(dir);
        if (!path)
            return WALDEN_ENOMEM;
        if (access(path, X_OK) == 0) {
            *out = path;
            return 0;
        }
        wd_free(path);
    }
    char *path = in_path(program);
    if (!path)
        return major ? wd_error_set(WALDEN_ENOTFOUND,
                                    "PostgreSQL %d's %s is not installed (looked in "
                                    "/usr/lib/postgresql/%d/bin, /usr/pgsql-%d/bin and PATH): "
                                    "install it or set pg-bin (--pg-bin) to its folder",
                                    major, program, major, major)
                     : wd_error_set(WALDEN_ENOTFOUND,
                                    "%s is not in PATH: set pg-bin (--pg-bin) to its folder",
                                    program);
    if (!major) {
        *out = path;
        return 0;
    }
    return checked(path, program, major, "PATH's", out);
}

int wd_pg_program(const walden_config *cfg, int server_version, const char *program, char **out)
{
    return wd_pg_program_in(cfg, server_version, program, default_dirs, out);
}

void wd_pg_conn_args(const wd_pg_where *w, const char **argv, int *argc)
{
    const char *const opts[][2] = {{w->host, "-h"}, {w->port, "-p"}, {w->user, "-U"}};
    for (size_t i = 0; i < WD_ARRAY_LEN(opts); i++) {
        if (opts[i][0]) {
            argv[(*argc)++] = opts[i][1];
            argv[(*argc)++] = opts[i][0];
        }
    }
}
