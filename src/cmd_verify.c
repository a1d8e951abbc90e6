/*
 * cmd_verify.c - walden verify: one line per problem on stdout, a summary
 * line, and the exit status (0 nothing wrong, 3 problems found, 1 verify
 * could not run).
 */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

static const char *kind_name(walden_verify_kind kind)
{
    switch (kind) {
    case WALDEN_VERIFY_CORRUPT:
        return "corrupt";
    case WALDEN_VERIFY_MISSING:
        return "missing";
    case WALDEN_VERIFY_WAL_GAP:
        return "wal-gap";
    case WALDEN_VERIFY_UNREADABLE:
        return "unreadable";
    case WALDEN_VERIFY_UNCHECKED:
        return "unchecked";
    case WALDEN_VERIFY_FORGED:
        return "unauthenticated";
    case WALDEN_VERIFY_TIMELINE:
        return "timeline";
    }
    return "problem";
}

static int print_problem(const walden_verify_problem *p, void *ctx)
{
    cli_progress_end(ctx); /* the progress line, if any, gives way */
    printf("%s: %s: %s\n", kind_name(p->kind), p->object, p->message);
    fflush(stdout);
    return 0;
}

int cmd_verify(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc == WALDEN_EAUTH) {
        /* the area itself (cluster.conf, key.conf) failed authentication:
         * that is what verify found, not a failure to run */
        printf("unauthenticated: %s\n", walden_error_last()->message);
        cli_error("verify found 1 problem (listed above): nothing else in the area can be "
                  "trusted");
        return EXIT_VERIFY_PROBLEMS;
    }
    if (rc)
        return cli_fail(rc);
    walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
    cli_progress ps;
    cli_progress_start(&ps);
    rc = walden_verify(repo, ctx->cfg, cli_progress_cb(ctx, &ps), &ps, print_problem, &ps, &res);
    cli_progress_end(&ps);
    walden_repo_close(repo);
    if (rc)
        return cli_fail(rc);
    char bytes[32];
    cli_human(res.bytes, bytes, sizeof(bytes));
    printf("verified %" PRIu64 " backups, %" PRIu64 " dumps, %" PRIu64 " files and %" PRIu64
           " WAL files (%s stored)%s: %" PRIu64 " problem%s%s\n",
           res.backups, res.dumps, res.files, res.wal_files, bytes,
           res.decoded ? "" : ", stored checksums only (no passphrase)", res.problems,
           res.problems == 1 ? "" : "s",
           res.unchecked ? ", some backups unchecked without the key" : "");
    if (fflush(stdout) != 0)
        return EXIT_FAILURE_;
    if (res.problems) {
        cli_error("verify found %" PRIu64 " problem%s (listed above)", res.problems,
                  res.problems == 1 ? "" : "s");
        return EXIT_VERIFY_PROBLEMS;
    }
    return EXIT_OK;
}
