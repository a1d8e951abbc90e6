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
    {"repo", WALDEN_OPT_PATH, NULL, NULL, 0,
     "repository location: a directory, s3://BUCKET/PREFIX or azure://CONTAINER/PREFIX"},
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
    {"process-max", WALDEN_OPT_INT, NULL, NULL, 0,
     "parallel workers of backup and restore (default: the number of cores)"},
    {"type", WALDEN_OPT_ENUM, "full", "full", 0, "backup type"},
    {"start-fast", WALDEN_OPT_BOOL, "y", NULL, 0,
     "backup: ask for an immediate checkpoint instead of a spread one"},
    {"archive-timeout", WALDEN_OPT_DURATION, "60s", NULL, 0,
     "backup: how long to wait for its WAL to reach the repository"},
    {"lock-path", WALDEN_OPT_PATH, "/tmp/walden", NULL, 0,
     "folder of the lock files that keep two backups of a cluster apart"},
    {"set", WALDEN_OPT_STRING, NULL, NULL, 0, "restore: the backup to restore (default: chosen)"},
    {"target-time", WALDEN_OPT_STRING, NULL, NULL, 0,
     "restore: recover up to this time (as recovery_target_time)"},
    {"target-lsn", WALDEN_OPT_STRING, NULL, NULL, 0, "restore: recover up to this LSN"},
    {"target-xid", WALDEN_OPT_STRING, NULL, NULL, 0, "restore: recover up to this transaction id"},
    {"target-name", WALDEN_OPT_STRING, NULL, NULL, 0,
     "restore: recover up to this restore point (pg_create_restore_point)"},
    {"target", WALDEN_OPT_ENUM, NULL, "immediate", 0,
     "restore: 'immediate' ends recovery as soon as the backup is consistent"},
    {"target-action", WALDEN_OPT_ENUM, NULL, "promote|pause|shutdown", 0,
     "restore: what the server does at the target (PostgreSQL's default: pause)"},
    {"target-timeline", WALDEN_OPT_STRING, NULL, NULL, 0,
     "restore: timeline to recover along: a number, 'current' or 'latest'"},
    {"target-exclusive", WALDEN_OPT_BOOL, "n", NULL, 0,
     "restore: stop just before the target instead of just after it"},
    {"tablespace-map", WALDEN_OPT_STRING, NULL, NULL, 0,
     "restore: OID=DIR, put tablespace OID in DIR (repeatable)"},
    {"s3-endpoint", WALDEN_OPT_STRING, NULL, NULL, 0,
     "S3 endpoint URL, https://host[:port] (default: AWS's for the region)"},
    {"s3-region", WALDEN_OPT_STRING, NULL, NULL, 0,
     "S3 region (default: AWS_REGION, else us-east-1)"},
    {"s3-uri-style", WALDEN_OPT_ENUM, "host", "host|path", 0,
     "S3 addressing: bucket in the host name or in the path"},
    {"s3-key", WALDEN_OPT_STRING, NULL, NULL, 0, "S3 access key id (default: AWS_ACCESS_KEY_ID)"},
    {"s3-key-secret", WALDEN_OPT_STRING, NULL, NULL, 1,
     "S3 secret access key (default: AWS_SECRET_ACCESS_KEY)"},
    {"s3-token", WALDEN_OPT_STRING, NULL, NULL, 1, "S3 session token (default: AWS_SESSION_TOKEN)"},
    {"s3-ca-file", WALDEN_OPT_PATH, NULL, NULL, 0, "CA certificates to verify the S3 endpoint"},
    {"s3-verify-tls", WALDEN_OPT_BOOL, "yes", NULL, 0, "verify the S3 endpoint's certificate"},
    {"azure-account", WALDEN_OPT_STRING, NULL, NULL, 0,
     "Azure storage account (default: AZURE_STORAGE_ACCOUNT)"},
    {"azure-key", WALDEN_OPT_STRING, NULL, NULL, 1,
     "Azure account key, base64 (default: AZURE_STORAGE_KEY)"},
    {"azure-sas", WALDEN_OPT_STRING, NULL, NULL, 1, "Azure SAS token (instead of azure-key)"},
    {"azure-endpoint", WALDEN_OPT_STRING, NULL, NULL, 0,
     "Azure blob service URL (default: https://ACCOUNT.blob.core.windows.net)"},
    {"azure-ca-file", WALDEN_OPT_PATH, NULL, NULL, 0,
     "CA certificates to verify the Azure endpoint"},
    {"azure-verify-tls", WALDEN_OPT_BOOL, "yes", NULL, 0,
     "verify the Azure endpoint's certificate"},
    {"net-timeout", WALDEN_OPT_DURATION, "60s", NULL, 0,
     "object stores: a request that moves no byte for this long is retried"},
    {"net-retry-time", WALDEN_OPT_DURATION, "60s", NULL, 0,
     "object stores: how long one request is retried before walden gives up"},
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
