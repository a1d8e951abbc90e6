/*
 * cmd_drill.c - walden drill: runs a restore drill (the library does the
 * work and writes the reports) and prints its summary; --history lists the
 * recorded drills. SIGINT and SIGTERM ask the library to stop the drill
 * (through its canceller, which walden_drill_cancel may use from a signal
 * handler), which stops its server and removes its scratch directory.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The running drill's canceller, for the signal handler. */
static walden_drill_canceller *volatile running;

static void on_signal(int sig)
{
    (void)sig;
    walden_drill_cancel(running);
}

/* The --dbname values (one per line) as a list; *names NULL when none. */
static int split_names(const char *joined, char **copy, const char ***names, size_t *n)
{
    *copy = NULL;
    *names = NULL;
    *n = 0;
    if (!joined || !*joined)
        return 0;
    size_t cap = 1;
    for (const char *p = joined; *p; p++)
        cap += *p == '\n';
    if (!(*copy = strdup(joined)) || !(*names = calloc(cap, sizeof(**names)))) {
        free(*copy);
        *copy = NULL;
        return -1;
    }
    char *save = NULL;
    for (char *t = strtok_r(*copy, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
        (*names)[(*n)++] = t;
    return 0;
}

/* "1h", "15m", "90s": the shortest exact form of a target. */
static void duration_text(int64_t secs, char *out, size_t cap)
{
    if (secs > 0 && secs % 3600 == 0)
        snprintf(out, cap, "%" PRId64 "h", secs / 3600);
    else if (secs > 0 && secs % 60 == 0)
        snprintf(out, cap, "%" PRId64 "m", secs / 60);
    else
        snprintf(out, cap, "%" PRId64 "s", secs);
}

static const char *status_word(walden_drill_status s)
{
    return s == WALDEN_DRILL_PASSED   ? "PASSED"
           : s == WALDEN_DRILL_MISSED ? "TARGETS MISSED"
                                      : "FAILED";
}

static void print_summary(const walden_drill_result *r)
{
    char rto_t[32], rpo_t[32], when[40];
    duration_text(r->rto_target_seconds, rto_t, sizeof(rto_t));
    duration_text(r->rpo_target_seconds, rpo_t, sizeof(rpo_t));
    printf("drill %s of %s %s: %s\n", r->id, r->kind, *r->backup_id ? r->backup_id : "(none)",
           status_word(r->status));
    if (r->backup_type && *r->backup_type)
        printf("  backup: %s%s%s%s\n", r->backup_type,
               r->backup_reference && *r->backup_reference ? " of " : "",
               r->backup_reference ? r->backup_reference : "",
               r->backup_reference && *r->backup_reference ? " (its chain restored with it)" : "");
    if (r->timeline)
        printf("  timeline: follows %u: %s\n", r->timeline,
               r->timeline_reason ? r->timeline_reason : "");
    printf("  phases: restore %.1f s, replay %.1f s, startup %.1f s, checks %.1f s\n",
           r->restore_seconds, r->replay_seconds, r->startup_seconds, r->checks_seconds);
    printf("  RTO %.1f s (target %s: %s)\n", r->rto_seconds, rto_t, r->rto_met ? "met" : "missed");
    if (r->rpo_seconds >= 0 && r->source_lsn && r->replayed_lsn >= r->source_lsn &&
        r->rpo_seconds == 0) {
        char replayed[32], source[32];
        cli_lsn(r->replayed_lsn, replayed, sizeof(replayed));
        cli_lsn(r->source_lsn, source, sizeof(source));
        printf("  RPO 0.0 s (target %s: %s): replayed to %s, past all the WAL the source had "
               "flushed (%s)\n",
               rpo_t, r->rpo_met ? "met" : "missed", replayed, source);
    } else if (r->rpo_seconds >= 0) {
        cli_time(r->recovered_to_ms, when, sizeof(when));
        printf("  RPO %.1f s (target %s: %s), recovered to %s\n", r->rpo_seconds, rpo_t,
               r->rpo_met ? "met" : "missed", when);
    } else {
        printf("  RPO unknown (target %s: missed)\n", rpo_t);
    }
    printf("  checks: %" PRIu64 " passed, %" PRIu64 " failed, %" PRIu64 " skipped\n",
           r->checks_passed, r->checks_failed, r->checks_skipped);
    for (size_t i = 0; i < r->n_checks; i++)
        if (strcmp(r->checks[i].result, "pass") != 0)
            printf("  %s %s in '%s': %s\n",
                   strcmp(r->checks[i].result, "fail") == 0 ? "FAIL" : "skip", r->checks[i].name,
                   r->checks[i].database, r->checks[i].detail);
    if (r->archiver_known) {
        cli_time(r->last_archived_ms, when, sizeof(when));
        printf("  source archiver: last archived %s at %s, %" PRIu64 " failures\n",
               *r->last_archived_wal ? r->last_archived_wal : "nothing",
               r->last_archived_ms ? when : "-", r->archive_failed_count);
    }
    if (*r->scratch_dir)
        printf("  kept: %s\n", r->scratch_dir);
    if (*r->error)
        printf("  error: %s\n", r->error);
}

/* ---- history ---- */

static int history_json(const walden_drill_result *r, void *ctx)
{
    int *n = ctx;
    printf("%s\n {\"id\": ", (*n)++ ? "," : "");
    cli_json_str(r->id);
    printf(", \"kind\": ");
    cli_json_str(r->kind);
    printf(", \"status\": ");
    cli_json_str(r->status == WALDEN_DRILL_PASSED   ? "passed"
                 : r->status == WALDEN_DRILL_MISSED ? "targets-missed"
                                                    : "failed");
    printf(", \"backup_id\": ");
    if (*r->backup_id)
        cli_json_str(r->backup_id);
    else
        fputs("null", stdout);
    printf(", \"backup_type\": ");
    cli_json_str(r->backup_type && *r->backup_type ? r->backup_type : NULL);
    printf(", \"backup_reference\": ");
    cli_json_str(r->backup_reference && *r->backup_reference ? r->backup_reference : NULL);
    printf(", \"started_at\": ");
    cli_json_time(r->started_at_ms);
    printf(", \"finished_at\": ");
    cli_json_time(r->finished_at_ms);
    printf(", \"rto_seconds\": %.3f, \"rto_target_seconds\": %" PRId64 ", \"rto_met\": %s",
           r->rto_seconds, r->rto_target_seconds, r->rto_met ? "true" : "false");
    if (r->rpo_seconds >= 0)
        printf(", \"rpo_seconds\": %.3f", r->rpo_seconds);
    else
        printf(", \"rpo_seconds\": null");
    printf(", \"rpo_target_seconds\": %" PRId64 ", \"rpo_met\": %s", r->rpo_target_seconds,
           r->rpo_met ? "true" : "false");
    printf(", \"source_lsn\": ");
    cli_json_lsn(r->source_lsn);
    printf(", \"replayed_lsn\": ");
    cli_json_lsn(r->replayed_lsn);
    printf(", \"phases\": {\"restore\": %.3f, \"replay\": %.3f, \"startup\": %.3f, "
           "\"checks\": %.3f}",
           r->restore_seconds, r->replay_seconds, r->startup_seconds, r->checks_seconds);
    printf(", \"checks_passed\": %" PRIu64 ", \"checks_failed\": %" PRIu64
           ", \"checks_skipped\": %" PRIu64 ", \"error\": ",
           r->checks_passed, r->checks_failed, r->checks_skipped);
    if (*r->error)
        cli_json_str(r->error);
    else
        fputs("null", stdout);
    putchar('}');
    return 0;
}

static int history_text(const walden_drill_result *r, void *ctx)
{
    int *n = ctx;
    if ((*n)++ == 0)
        printf("%-17s  %-17s  %-4s  %-14s  %10s  %10s  %s\n", "drill", "backup", "type", "status",
               "RTO (s)", "RPO (s)", "checks passed/failed");
    char rpo[32];
    if (r->rpo_seconds >= 0)
        snprintf(rpo, sizeof(rpo), "%.1f", r->rpo_seconds);
    else
        snprintf(rpo, sizeof(rpo), "unknown");
    printf("%-17s  %-17s  %-4s  %-14s  %10.1f  %10s  %" PRIu64 "/%" PRIu64 "\n", r->id,
           *r->backup_id ? r->backup_id : "-", *r->backup_type ? r->backup_type : "-",
           r->status == WALDEN_DRILL_PASSED   ? "passed"
           : r->status == WALDEN_DRILL_MISSED ? "targets-missed"
                                              : "failed",
           r->rto_seconds, rpo, r->checks_passed, r->checks_failed);
    return 0;
}

static int cmd_history(cli_ctx *ctx, walden_repo *repo)
{
    int json = walden_config_is(ctx->cfg, "output", "json");
    int n = 0;
    if (json)
        printf("{\"cluster\": \"%s\", \"drills\": [", walden_repo_get_info(repo)->cluster);
    int rc = walden_drill_history(repo, json ? history_json : history_text, &n);
    if (rc)
        return cli_fail(rc);
    if (json)
        printf("%s]}\n", n ? "\n" : "");
    else if (n == 0)
        printf("no drill recorded for cluster '%s'\n", walden_repo_get_info(repo)->cluster);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_;
}

int cmd_drill(cli_ctx *ctx)
{
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (rc)
        return cli_fail(rc);
    if (walden_config_bool(ctx->cfg, "history")) {
        int status = cmd_history(ctx, repo);
        walden_repo_close(repo);
        return status;
    }
    walden_drill_params params = WALDEN_DRILL_PARAMS_INIT;
    params.kind = walden_config_bool(ctx->cfg, "dump") ? WALDEN_DRILL_DUMP : WALDEN_DRILL_BACKUP;
    if (ctx->argc == 1) {
        if (params.kind != WALDEN_DRILL_DUMP) {
            walden_repo_close(repo);
            cli_error("usage: walden drill --dump DUMP_ID (a backup is chosen with --set ID)");
            return EXIT_USAGE;
        }
        if (walden_config_set(ctx->cfg, "set", ctx->argv[0], WALDEN_SOURCE_FLAG)) {
            walden_repo_close(repo);
            cli_error("%s", walden_error_last()->message);
            return EXIT_USAGE;
        }
    }
    char command[8192];
    if (cli_restore_command(ctx->cfg, repo, "drill server", command, sizeof(command))) {
        walden_repo_close(repo);
        return EXIT_FAILURE_;
    }
    char *names_copy = NULL;
    const char **names = NULL;
    walden_drill_canceller *cancel = NULL;
    if (split_names(walden_config_get(ctx->cfg, "dbname"), &names_copy, &names,
                    &params.n_dbnames) ||
        (rc = walden_drill_canceller_new(&cancel))) {
        free(names_copy);
        free(names);
        walden_repo_close(repo);
        cli_error("out of memory");
        return EXIT_FAILURE_;
    }
    params.set = walden_config_get(ctx->cfg, "set");
    params.dbnames = names;
    params.restore_command = command;
    params.progress = isatty(STDERR_FILENO) ? cli_progress_show : NULL;
    params.cancel = cancel;
    running = cancel;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    walden_drill_result *res = NULL;
    cli_progress ps;
    cli_progress_start(&ps);
    params.progress_ctx = &ps;
    rc = walden_drill(repo, ctx->cfg, &params, &res);
    cli_progress_end(&ps);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    running = NULL;
    walden_drill_canceller_free(cancel);
    free(names);
    free(names_copy);
    walden_repo_close(repo);
    if (res)
        print_summary(res);
    fflush(stdout);
    int status;
    if (rc)
        status = cli_fail(rc);
    else
        status = res->status == WALDEN_DRILL_PASSED   ? EXIT_OK
                 : res->status == WALDEN_DRILL_MISSED ? EXIT_DRILL_MISSED
                                                      : EXIT_DRILL_FAILED;
    if (!rc && res->status == WALDEN_DRILL_FAILED)
        cli_error("drill failed: %s", res->error);
    walden_drill_result_free(res);
    return status;
}
