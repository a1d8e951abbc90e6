/*
 * cmd_dump.c - dump and restore-dump: one line per dump, the exit status.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static int print_dump(const walden_dump_info *d, void *ctx)
{
    (void)ctx;
    char size[32], stored[32];
    cli_human(d->size, size, sizeof(size));
    cli_human(d->stored_size, stored, sizeof(stored));
    const char *what = strcmp(d->kind, "globals") == 0 ? "globals" : d->database;
    if (strcmp(d->status, "ok") == 0)
        printf("dump %s: %s, %s, %s stored, %.1f s\n", d->id, what, size, stored,
               (double)(d->stop_time_ms - d->start_time_ms) / 1000.0);
    else
        printf("dump %s: %s FAILED: %s\n", d->id, what, d->error);
    return 0;
}

int cmd_dump(cli_ctx *ctx)
{
    const char *dbname = walden_config_get(ctx->cfg, "dbname");
    if (dbname && *dbname && walden_config_bool(ctx->cfg, "all")) {
        cli_error("--all and --dbname exclude each other");
        return EXIT_USAGE;
    }
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    cli_progress ps;
    cli_progress_start(&ps);
    rc = walden_dump(repo, ctx->cfg, cli_progress_cb(ctx, &ps), &ps, print_dump, NULL);
    cli_progress_end(&ps);
    fflush(stdout);
    int status = rc ? cli_fail(rc) : cli_expire_auto(ctx, repo);
    walden_repo_close(repo);
    return fflush(stdout) == 0 ? status : EXIT_FAILURE_;
}

int cmd_restore_dump(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    const char *file = walden_config_get(ctx->cfg, "to-file");
    bool to_stdout = file && strcmp(file, "-") == 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    walden_dump_info *d = NULL;
    rc = walden_dump_restore(repo, ctx->cfg, (const char *const *)ctx->argv, &d);
    walden_repo_close(repo);
    if (rc)
        return cli_fail(rc);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    const char *target = walden_config_get(ctx->cfg, "target-dbname");
    /* with the dump on stdout, the summary must not mix into it */
    FILE *out = to_stdout ? stderr : stdout;
    if (file && *file)
        fprintf(out, "wrote dump %s (%s) to %s, %.1f s\n", d->id,
                strcmp(d->kind, "globals") == 0 ? "globals" : d->database,
                to_stdout ? "stdout" : file, secs);
    else
        fprintf(out, "restored dump %s (%s) into database %s, %.1f s\n", d->id,
                strcmp(d->kind, "globals") == 0 ? "globals" : d->database,
                target && *target ? target : "postgres", secs);
    walden_dump_info_free(d);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}
