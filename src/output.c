/*
 * output.c - how the CLI writes errors, sizes and times for people.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("walden: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_fail(int rc)
{
    const walden_error *e = walden_error_last();
    cli_error("%s", e->message[0] ? e->message : walden_error_name(rc));
    /* usage and configuration errors are found (and answered with
     * EXIT_USAGE) before a command runs; anything later is a failure */
    return EXIT_FAILURE_;
}

void cli_human(uint64_t bytes, char *out, size_t cap)
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

void cli_time(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%d %H:%M:%S+00", &tm);
}

void cli_json_str(const char *s)
{
    if (!s) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

void cli_json_time(int64_t ms)
{
    if (ms <= 0) {
        fputs("null", stdout);
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[40];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    printf("\"%s.%03dZ\"", buf, (int)(ms % 1000));
}

void cli_progress_start(cli_progress *s)
{
    memset(s, 0, sizeof(*s));
    clock_gettime(CLOCK_MONOTONIC, &s->start);
}

static double since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

double cli_progress_seconds(const cli_progress *s)
{
    return since(&s->start);
}

void cli_progress_show(const walden_progress *p, void *ctx)
{
    cli_progress *s = ctx;
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
    } else if (p->files_total > 0) {
        fprintf(stderr, "\r\033[K%s: %" PRIu64 " of %" PRIu64 " done  %s  %s/s", p->phase,
                p->files_done, p->files_total, done, rate);
    } else if (p->bytes_done > 0) {
        fprintf(stderr, "\r\033[K%s: %s  %s/s", p->phase, done, rate);
    } else {
        fprintf(stderr, "\r\033[K%s ... %.0f s", p->phase, secs);
    }
    s->shown = 1;
}

walden_progress_cb cli_progress_cb(const cli_ctx *ctx, cli_progress *s)
{
    if (isatty(STDERR_FILENO))
        return cli_progress_show;
    if (!walden_log_enabled(WALDEN_LOG_INFO))
        return NULL;
    /* the value was checked when set; a bad one cannot reach here */
    if (walden_duration_parse(walden_config_get(ctx->cfg, "progress-interval"), &s->interval))
        s->interval = 30;
    s->tenth = -1;
    return cli_progress_log;
}

void cli_progress_log(const walden_progress *p, void *ctx)
{
    cli_progress *s = ctx;
    int tenth = -1;
    if (strcmp(p->phase, "wait-wal") != 0 && p->bytes_total > 0)
        tenth = p->bytes_done >= p->bytes_total ? 10 : (int)(10 * p->bytes_done / p->bytes_total);
    else if (p->files_total > 0)
        tenth = p->files_done >= p->files_total ? 10 : (int)(10 * p->files_done / p->files_total);
    bool step = tenth > s->tenth;
    if (!step && s->logged && since(&s->last) < (double)s->interval)
        return;
    if (step)
        s->tenth = tenth;
    clock_gettime(CLOCK_MONOTONIC, &s->last);
    double secs = since(&s->start);
    char done[32], total[32];
    cli_human(p->bytes_done, done, sizeof(done));
    cli_human(p->bytes_total, total, sizeof(total));
    if (strcmp(p->phase, "wait-wal") == 0)
        walden_log(WALDEN_LOG_INFO,
                   "progress: waiting for WAL: %" PRIu64 " of %" PRIu64 " segments archived",
                   p->files_done, p->files_total);
    else if (p->bytes_total > 0)
        walden_log(WALDEN_LOG_INFO, "progress: %s: %.1f%%, %s of %s, %" PRIu64 " files, %.0f s",
                   p->phase,
                   p->bytes_done >= p->bytes_total
                       ? 100.0
                       : 100.0 * (double)p->bytes_done / (double)p->bytes_total,
                   done, total, p->files_done, secs);
    else if (p->files_total > 0)
        walden_log(WALDEN_LOG_INFO, "progress: %s: %" PRIu64 " of %" PRIu64 " done, %s, %.0f s",
                   p->phase, p->files_done, p->files_total, done, secs);
    else
        walden_log(WALDEN_LOG_INFO, "progress: %s: %s, %.0f s", p->phase, done, secs);
    s->logged++;
}

void cli_progress_end(cli_progress *s)
{
    if (s->shown)
        fputs("\r\033[K", stderr);
    s->shown = 0;
}
