/*
 * cmd_backup.c - backup and restore: progress on a terminal, the
 * summary line.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- backup ---- */

int cmd_backup(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    cli_progress ps;
    cli_progress_start(&ps);
    walden_backup_info *info = NULL;
    rc = walden_backup(repo, ctx->cfg, cli_progress_cb(ctx, &ps), &ps, &info);
    cli_progress_end(&ps);
    if (rc) {
        walden_repo_close(repo);
        return cli_fail(rc);
    }
    double secs = cli_progress_seconds(&ps);
    char size[32], stored[32], rate[32];
    cli_human(info->size, size, sizeof(size));
    cli_human(info->stored_size, stored, sizeof(stored));
    cli_human(secs > 0 ? (uint64_t)((double)info->size / secs) : 0, rate, sizeof(rate));
    char kind[96] = "";
    if (info->reference && *info->reference)
        snprintf(kind, sizeof(kind), " (%s of %s)", info->type, info->reference);
    printf("backup %s%s: %s, %" PRIu64 " files, %s stored, %.1f s, %s/s%s\n", info->id, kind, size,
           info->file_count, stored, secs, rate, info->page_errors ? ", PAGE CHECKSUM ERRORS" : "");
    int status = info->page_errors ? EXIT_BACKUP_PAGE_ERRORS : EXIT_OK;
    if (info->page_errors)
        cli_error("backup %s completed, but %" PRIu64 " data pages failed their checksum: the "
                  "database has corrupt pages (see the warnings above)",
                  info->id, info->page_errors);
    walden_backup_info_free(info);
    fflush(stdout);
    int expire_status = cli_expire_auto(ctx, repo);
    walden_repo_close(repo);
    if (status == EXIT_OK)
        status = expire_status;
    return fflush(stdout) == 0 ? status : EXIT_FAILURE_;
}

/* ---- restore ---- */

int cmd_restore(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    char command[8192];
    if (cli_restore_command(ctx->cfg, repo, "restored server", command, sizeof(command))) {
        walden_repo_close(repo);
        return EXIT_FAILURE_;
    }
    cli_progress ps;
    cli_progress_start(&ps);
    walden_restore_result res = WALDEN_RESTORE_RESULT_INIT;
    rc = walden_restore(repo, ctx->cfg, command, cli_progress_cb(ctx, &ps), &ps, &res);
    cli_progress_end(&ps);
    walden_repo_close(repo);
    if (rc)
        return cli_fail(rc);
    char size[32];
    cli_human(res.size, size, sizeof(size));
    const char *type = walden_config_get(ctx->cfg, "type");
    bool standby = type && strcmp(type, "standby") == 0;
    printf("restored backup %s into %s: %s, %" PRIu64 " files, %.1f s; start PostgreSQL on it "
           "%s\n",
           res.backup_id, walden_config_get(ctx->cfg, "pgdata"), size, res.files,
           cli_progress_seconds(&ps), standby ? "to run it as a standby" : "to recover");
    printf("recovery follows timeline %u: %s\n", res.timeline, res.timeline_reason);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}
