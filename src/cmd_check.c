/*
 * cmd_check.c - walden check: one line per check, exit 1 on any problem.
 */
#include <stdio.h>

#include "cli.h"

static int print_item(const walden_check_item *it, void *ctx)
{
    (void)ctx;
    printf("%-7s %-20s %s\n", it->ok ? "ok" : "PROBLEM", it->name, it->message);
    fflush(stdout);
    return 0;
}

int cmd_check(cli_ctx *ctx)
{
    int problems = 0;
    int rc = walden_check(ctx->cfg, print_item, NULL, &problems);
    if (rc)
        return cli_fail(rc);
    if (problems) {
        cli_error("%d problem%s found (see the lines above)", problems, problems == 1 ? "" : "s");
        return EXIT_FAILURE_;
    }
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}
