/*
 * cmd_metrics.c - walden metrics: Prometheus text on stdout, or written
 * atomically to --metrics-file for node_exporter's textfile collector.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_metrics(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    char *text = NULL;
    rc = walden_metrics(repo, ctx->cfg, &text);
    walden_repo_close(repo);
    if (rc)
        return cli_fail(rc);
    const char *file = walden_config_get(ctx->cfg, "metrics-file");
    if (file && *file)
        rc = walden_metrics_write(file, text);
    else
        fputs(text, stdout);
    walden_free(text);
    if (rc)
        return cli_fail(rc);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}
