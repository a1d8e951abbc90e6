/*
 * cmd_backup.c - backup and restore: progress on a terminal, the
 * summary line.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* ---- progress ---- */

typedef struct progress_state {
    struct timespec start, last;
    int shown;
} progress_state;

static double since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void show_progress(const walden_progress *p, void *ctx)
{
    progress_state *s = ctx;
    if (since(&s->last) < 0.5 && s->shown)
        return;
    clock_gettime(CLOCK_MONOTONIC, &s->last);
    double secs = since(&s->start);
    char done[32], total[32], rate[32];
    cli_human(p->bytes_done, done, sizeof(done));
    cli_human(p->bytes_total, total, sizeof(total));
    cli_human(secs > 0 ? (uint64_t)((double)p->bytes_done / secs) : 0, rate, sizeof(rate));
    if (strcmp(p->phase, "wait-wal") == 0) {
        fprintf(stderr, "\r\033[Kwaiting for WAL: %" PRIu64 " of %" PRIu64 " segments archived",
                p->files_done, p->files_total);
    } else if (p->bytes_total > 0) {
        double pct = 100.0 * (double)p->bytes_done / (double)p->bytes_total;
        if (pct > 100)
            pct = 100;
        double eta =
            p->bytes_done > 0
                ? secs *
                      (double)(p->bytes_total -
                               (p->bytes_done < p->bytes_total ? p->bytes_done : p->bytes_total)) /
                      (double)p->bytes_done
                : 0;
        fprintf(stderr, "\r\033[K%s: %5.1f%%  %s of %s  %s/s  ETA %d:%02d", p->phase, pct, done,
                total, rate, (int)eta / 60, (int)eta % 60);
    } else {
        fprintf(stderr, "\r\033[K%s: %s  %s/s", p->phase, done, rate);
    }
    s->shown = 1;
}

static void end_progress(progress_state *s)
{
    if (s->shown)
        fputs("\r\033[K", stderr);
}

/* ---- backup ---- */

int cmd_backup(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    progress_state ps = {0};
    clock_gettime(CLOCK_MONOTONIC, &ps.start);
    walden_backup_info *info = NULL;
    rc = walden_backup(repo, ctx->cfg, isatty(STDERR_FILENO) ? show_progress : NULL, &ps, &info);
    end_progress(&ps);
    if (rc) {
        walden_repo_close(repo);
        return cli_fail(rc);
    }
    double secs = since(&ps.start);
    char size[32], stored[32], rate[32];
    cli_human(info->size, size, sizeof(size));
    cli_human(info->stored_size, stored, sizeof(stored));
    cli_human(secs > 0 ? (uint64_t)((double)info->size / secs) : 0, rate, sizeof(rate));
    printf("backup %s: %s, %" PRIu64 " files, %s stored, %.1f s, %s/s%s\n", info->id, size,
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
    progress_state ps = {0};
    clock_gettime(CLOCK_MONOTONIC, &ps.start);
    walden_restore_result res;
    rc = walden_restore(repo, ctx->cfg, command, isatty(STDERR_FILENO) ? show_progress : NULL, &ps,
                        &res);
    end_progress(&ps);
    walden_repo_close(repo);
    if (rc)
        return cli_fail(rc);
    char size[32];
    cli_human(res.size, size, sizeof(size));
    printf("restored backup %s into %s: %s, %" PRIu64 " files, %.1f s; start PostgreSQL on it "
           "to recover\n",
           res.backup_id, walden_config_get(ctx->cfg, "pgdata"), size, res.files, since(&ps.start));
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}
