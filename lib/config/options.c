/*
 * options.c - the table of every walden option: name, type, default,
 * allowed values, whether it is secret, and a one-line help. The CLI's
 * help and docs/configuration.md describe the same table.
 */
#include <string.h>

#include "common/common.h"

static const walden_option_info options[] = {
    {"config", WALDEN_OPT_PATH, "/etc/walden/walden.conf", NULL, 0,
     "config file to read (a missing default file is ignored)"},
    {"repo", WALDEN_OPT_PATH, NULL, NULL, 0, "repository location: a directory"},
    {"cluster", WALDEN_OPT_STRING, "main", NULL, 0, "name of the cluster's area in the repository"},
    {"pgdata", WALDEN_OPT_PATH, NULL, NULL, 0, "PostgreSQL data directory"},
    {"pghost", WALDEN_OPT_STRING, NULL, NULL, 0, "PostgreSQL host or socket directory"},
    {"pgport", WALDEN_OPT_INT, NULL, NULL, 0, "PostgreSQL port"},
    {"pguser", WALDEN_OPT_STRING, NULL, NULL, 0, "PostgreSQL user"},
    {"pgdatabase", WALDEN_OPT_STRING, NULL, NULL, 0, "PostgreSQL database to connect to"},
    {"compress", WALDEN_OPT_ENUM, "zstd", "zstd|gzip|none", 0,
     "compression of new files; init records it as the repository default"},
    {"compress-level", WALDEN_OPT_INT, NULL, NULL, 0,
     "compression level: zstd 1-19 (default 3), gzip 1-9 (default 6)"},
    {"encrypt-passphrase", WALDEN_OPT_STRING, NULL, NULL, 1,
     "passphrase of the repository key (encrypts at init; needed to read)"},
    {"encrypt-passphrase-file", WALDEN_OPT_PATH, NULL, NULL, 0,
     "file whose first line is the passphrase"},
    {"log-level", WALDEN_OPT_ENUM, "warn", "error|warn|info|debug", 0, "how much to log on stderr"},
    {"log-file", WALDEN_OPT_PATH, NULL, NULL, 0, "also append log lines to this file"},
    {NULL, 0, NULL, NULL, 0, NULL},
};

const walden_option_info *walden_option_list(void)
{
    return options;
}

const walden_option_info *walden_option_find(const char *name)
{
    for (const walden_option_info *o = options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}
