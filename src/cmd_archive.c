/*
 * cmd_archive.c - archive-push, archive-get and archive-list.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_archive_push(cli_ctx *ctx)
{
    walden_repo *repo;
    walden_push_result res = WALDEN_PUSH_RESULT_INIT;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (!rc) {
        rc = walden_archive_push(repo, ctx->argv[0], &res);
        walden_repo_close(repo);
    }
    /* kept for check, backup and metrics: the server log is not where
     * people look when WAL does not arrive */
    if (rc) {
        walden_push_failure_record(ctx->cfg, ctx->argv[0], walden_error_last()->message);
        return cli_fail(rc);
    }
    walden_push_failure_clear(ctx->cfg);
    return EXIT_OK;
}

int cmd_archive_get(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (!rc) {
        rc = walden_archive_get(repo, ctx->argv[0], ctx->argv[1]);
        walden_repo_close(repo);
        /* walden_archive_get answers ENOTFOUND only when the archive has no
         * copy; quiet, since PostgreSQL asks for missing files routinely */
        if (rc == WALDEN_ENOTFOUND)
            return EXIT_GET_NOT_FOUND;
    }
    /* everything else, a missing repository included, must stop recovery */
    if (rc) {
        cli_error("%s", walden_error_last()->message);
        return rc == WALDEN_EINVAL ? EXIT_GET_USAGE : EXIT_GET_ERROR;
    }
    return EXIT_OK;
}

static int print_entry(const walden_wal_entry *e, void *ctx)
{
    (void)ctx;
    printf("%s\n", e->name);
    return 0;
}

int cmd_archive_list(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    rc = walden_archive_list(repo, print_entry, NULL);
    walden_repo_close(repo);
    if (fflush(stdout) != 0 && !rc) {
        cli_error("cannot write to standard output");
        return EXIT_FAILURE_;
    }
    return rc ? cli_fail(rc) : EXIT_OK;
}
