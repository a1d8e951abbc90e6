/*
 * cmd_expire.c - walden expire, and the expire that backup and dump run
 * when they succeed (expire-auto).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int print_item(const walden_expire_item *it, void *ctx)
{
    (void)ctx;
    char what[160];
    if (strcmp(it->kind, "dump") == 0)
        snprintf(what, sizeof(what), "%s (%s)", it->id, it->detail[0] ? it->detail : "globals");
    else if (strcmp(it->kind, "wal") == 0)
        snprintf(what, sizeof(what), "%s (timeline %s)", it->id, it->detail);
    else
        snprintf(what, sizeof(what), "%s", it->id);
    printf("%-6s  %-6s  %s: %s\n", it->expire ? "expire" : "keep", it->kind, what, it->reason);
    return 0;
}

static int json_item(const walden_expire_item *it, void *ctx)
{
    int *n = ctx;
    printf("%s\n  {\"kind\": ", (*n)++ ? "," : "");
    cli_json_str(it->kind);
    printf(", \"id\": ");
    cli_json_str(it->id);
    printf(", \"detail\": ");
    cli_json_str(it->detail);
    printf(", \"action\": \"%s\", \"reason\": ", it->expire ? "expire" : "keep");
    cli_json_str(it->reason);
    printf("}");
    return 0;
}

static void summary(const walden_expire_result *r, int dry_run, FILE *out)
{
    char bytes[32];
    cli_human(r->stored_bytes_removed, bytes, sizeof(bytes));
    fprintf(out,
            "%s %" PRIu64 " backups, %" PRIu64 " dumps, %" PRIu64 " WAL files (%s); kept %" PRIu64
            " backups, %" PRIu64 " dumps%s%s\n",
            dry_run ? "would expire" : "expired", r->backups_expired, r->dumps_expired,
            r->wal_files_removed, bytes, r->backups_kept, r->dumps_kept,
            r->wal_from[0] ? ", WAL from " : "", r->wal_from);
}

int cmd_expire(cli_ctx *ctx)
{
    int dry_run = walden_config_bool(ctx->cfg, "dry-run");
    int json = walden_config_is(ctx->cfg, "output", "json");
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    walden_expire_result res = WALDEN_EXPIRE_RESULT_INIT;
    int n = 0;
    if (json)
        printf("{\"dry_run\": %s, \"items\": [", dry_run ? "true" : "false");
    rc = walden_expire(repo, ctx->cfg, 0, dry_run, json ? json_item : print_item, &n, &res);
    walden_repo_close(repo);
    if (rc) {
        if (json)
            printf("\n");
        fflush(stdout);
        return cli_fail(rc);
    }
    if (json)
        printf("\n],\n \"backups_expired\": %" PRIu64 ", \"backups_kept\": %" PRIu64
               ", \"dumps_expired\": %" PRIu64 ", \"dumps_kept\": %" PRIu64
               ", \"wal_files_removed\": %" PRIu64 ", \"stored_bytes_removed\": %" PRIu64
               ", \"wal_from\": %s%s%s}\n",
               res.backups_expired, res.backups_kept, res.dumps_expired, res.dumps_kept,
               res.wal_files_removed, res.stored_bytes_removed, res.wal_from[0] ? "\"" : "",
               res.wal_from[0] ? res.wal_from : "null", res.wal_from[0] ? "\"" : "");
    else
        summary(&res, dry_run, stdout);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}

int cli_expire_auto(cli_ctx *ctx, walden_repo *repo)
{
    /* dry-run asks that nothing be removed: then nothing is */
    if (!walden_config_bool(ctx->cfg, "expire-auto") || walden_config_bool(ctx->cfg, "dry-run"))
        return EXIT_OK;
    walden_expire_result res = WALDEN_EXPIRE_RESULT_INIT;
    int rc = walden_expire(repo, ctx->cfg, 0, 0, NULL, NULL, &res);
    if (rc == WALDEN_ELOCKED) {
        /* a backup or dump of the cluster is running: its own expire, or
         * the next, does the job; what was just stored is fine */
        cli_error("warning: expire after %s skipped: %s", ctx->command,
                  walden_error_last()->message);
        return EXIT_OK;
    }
    if (rc) {
        /* the backup or dump itself succeeded: say so, and fail */
        cli_error("expire after %s failed: %s", ctx->command, walden_error_last()->message);
        return EXIT_FAILURE_;
    }
    if (res.backups_expired || res.dumps_expired || res.wal_files_removed)
        summary(&res, 0, stdout);
    return EXIT_OK;
}
