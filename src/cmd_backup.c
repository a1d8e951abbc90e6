/*
 * cmd_backup.c - backup, restore and info: progress on a terminal, the
 * summary line, and the restore_command a restored server will run.
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

static void human(uint64_t bytes, char *out, size_t cap)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void show_progress(const walden_progress *p, void *ctx)
{
    progress_state *s = ctx;
    if (since(&s->last) < 0.5 && s->shown)
        return;
    clock_gettime(CLOCK_MONOTONIC, &s->last);
    double secs = since(&s->start);
    char done[32], total[32], rate[32];
    human(p->bytes_done, done, sizeof(done));
    human(p->bytes_total, total, sizeof(total));
    human(secs > 0 ? (uint64_t)((double)p->bytes_done / secs) : 0, rate, sizeof(rate));
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
    walden_repo_close(repo);
    if (rc)
        return cli_fail(rc);
    double secs = since(&ps.start);
    char size[32], stored[32], rate[32];
    human(info->size, size, sizeof(size));
    human(info->stored_size, stored, sizeof(stored));
    human(secs > 0 ? (uint64_t)((double)info->size / secs) : 0, rate, sizeof(rate));
    printf("backup %s: %s, %" PRIu64 " files, %s stored, %.1f s, %s/s%s\n", info->id, size,
           info->file_count, stored, secs, rate, info->page_errors ? ", PAGE CHECKSUM ERRORS" : "");
    int status = info->page_errors ? EXIT_BACKUP_PAGE_ERRORS : EXIT_OK;
    if (info->page_errors)
        cli_error("backup %s completed, but %" PRIu64 " data pages failed their checksum: the "
                  "database has corrupt pages (see the warnings above)",
                  info->id, info->page_errors);
    walden_backup_info_free(info);
    return fflush(stdout) == 0 ? status : EXIT_FAILURE_;
}

/* ---- restore ---- */

/* Appends ' arg' to buf, single-quoted for the shell when needed. */
static int shell_arg(char *buf, size_t cap, const char *arg)
{
    size_t n = strlen(buf);
    int plain = *arg != '\0';
    for (const char *p = arg; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-=%:+,", *p))
            plain = 0;
    if (plain)
        return snprintf(buf + n, cap - n, " %s", arg) < (int)(cap - n) ? 0 : -1;
    if (n + 3 >= cap)
        return -1;
    buf[n++] = ' ';
    buf[n++] = '\'';
    for (const char *p = arg; *p; p++) {
        const char *piece = *p == '\'' ? "'\\''" : NULL;
        size_t len = piece ? 4 : 1;
        if (n + len + 2 >= cap)
            return -1;
        if (piece)
            memcpy(buf + n, piece, len);
        else
            buf[n] = *p;
        n += len;
    }
    buf[n++] = '\'';
    buf[n] = '\0';
    return 0;
}

/* How the restored server runs archive-get: this binary with the same
 * repository, cluster and config file. */
static int restore_command(const walden_config *cfg, char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        snprintf(exe, sizeof(exe), "walden");
    else
        exe[n] = '\0';
    buf[0] = '\0';
    if (shell_arg(buf, cap, exe) || shell_arg(buf, cap, "archive-get") ||
        shell_arg(buf, cap, "%f") || snprintf(buf + strlen(buf), cap - strlen(buf), " \"%%p\"") < 0)
        return -1;
    static const char *const carry[] = {"config", "repo", "cluster", "encrypt-passphrase-file",
                                        NULL};
    for (int i = 0; carry[i]; i++) {
        const char *v = walden_config_get(cfg, carry[i]);
        if (!v || !*v)
            continue;
        if (strcmp(carry[i], "config") == 0 &&
            walden_config_source_of(cfg, "config") == WALDEN_SOURCE_DEFAULT && access(v, R_OK) != 0)
            continue;
        char opt[64];
        snprintf(opt, sizeof(opt), "--%s", carry[i]);
        if (shell_arg(buf, cap, opt) || shell_arg(buf, cap, v))
            return -1;
    }
    memmove(buf, buf + 1, strlen(buf)); /* shell_arg put a blank first */
    return 0;
}

int cmd_restore(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    char command[8192];
    if (restore_command(ctx->cfg, command, sizeof(command))) {
        walden_repo_close(repo);
        cli_error("the restore_command would be too long");
        return EXIT_FAILURE_;
    }
    walden_config_source ps_src = walden_config_source_of(ctx->cfg, "encrypt-passphrase");
    if (walden_repo_get_info(repo)->encrypted &&
        (ps_src == WALDEN_SOURCE_ENV || ps_src == WALDEN_SOURCE_FLAG))
        cli_error("warning: the passphrase was given by %s; the restored server's "
                  "restore_command will not have it: put encrypt-passphrase-file in the "
                  "config file",
                  ps_src == WALDEN_SOURCE_ENV ? "environment" : "flag");
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
    human(res.size, size, sizeof(size));
    printf("restored backup %s into %s: %s, %" PRIu64 " files, %.1f s; start PostgreSQL on it "
           "to recover\n",
           res.backup_id, walden_config_get(ctx->cfg, "pgdata"), size, res.files, since(&ps.start));
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}

/* ---- info ---- */

static void iso_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S+00", &tm);
}

static int print_backup(const walden_backup_info *b, void *ctx)
{
    int *count = ctx;
    char start[40], stop[40], size[32], stored[32];
    iso_time(b->start_time_ms, start, sizeof(start));
    iso_time(b->stop_time_ms, stop, sizeof(stop));
    human(b->size, size, sizeof(size));
    human(b->stored_size, stored, sizeof(stored));
    if ((*count)++ == 0)
        printf("backups:\n");
    printf("  %s  %s  %-6s  %s .. %s  timeline %u  WAL %s .. %s  %s (stored %s)\n", b->id, b->type,
           b->status, start, stop, b->timeline, b->start_wal, b->stop_wal, size, stored);
    return 0;
}

int cmd_info(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    const walden_repo_info *ri = walden_repo_get_info(repo);
    printf("cluster %s: system identifier %" PRIu64 ", PostgreSQL %d, %s%s\n", ri->cluster,
           ri->system_id, ri->pg_version >= 100000 ? ri->pg_version / 10000 : ri->pg_version,
           ri->compress, ri->encrypted ? ", encrypted" : "");
    int count = 0;
    rc = walden_backup_list(repo, print_backup, &count);
    walden_repo_close(repo);
    if (rc)
        return cli_fail(rc);
    if (count == 0)
        printf("no backups\n");
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}
