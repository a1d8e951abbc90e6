/*
 * programs.c - finding and calling PostgreSQL's own programs.
 *
 * Debian installs every major version side by side; /usr/bin/pg_dump is a
 * wrapper that picks one by its own rules. pg_dump must be at least the
 * server's major version, so the one of the server's version is taken
 * when it is installed.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "pg/pg.h"

char *wd_pg_program(const walden_config *cfg, int server_version, const char *program)
{
    const char *bin = walden_config_get(cfg, "pg-bin");
    if (bin && *bin)
        return wd_asprintf("%s/%s", bin, program);
    int major = server_version >= 100000 ? server_version / 10000 : server_version / 100;
    char *path = wd_asprintf("/usr/lib/postgresql/%d/bin/%s", major, program);
    if (path && access(path, X_OK) == 0)
        return path;
    wd_free(path);
    return wd_strdup(program);
}

void wd_pg_conn_args(const walden_config *cfg, const char **argv, int *argc)
{
    static const char *const opts[][2] = {{"pghost", "-h"}, {"pgport", "-p"}, {"pguser", "-U"}};
    for (size_t i = 0; i < WD_ARRAY_LEN(opts); i++) {
        const char *v = walden_config_get(cfg, opts[i][0]);
        if (v && *v) {
            argv[(*argc)++] = opts[i][1];
            argv[(*argc)++] = v;
        }
    }
}
