/*
 * cli.h - the walden command-line tool. It uses only libwalden's public
 * API (walden/walden.h): parsing, output and exit statuses live here, all
 * the work in the library.
 */
#ifndef WALDEN_CLI_H
#define WALDEN_CLI_H

#include <time.h>

#include "walden/walden.h"

/* Exit statuses (docs/exit-codes.md). archive-get has its own table so
 * that PostgreSQL aborts recovery on any failure other than "not found". */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_ = 1,
    EXIT_USAGE = 2,
    EXIT_BACKUP_PAGE_ERRORS = 3, /* backup stored, but data pages are corrupt */
    EXIT_VERIFY_PROBLEMS = 3,    /* verify found a damaged or missing file */
    EXIT_UPGRADE_UNPROVEN = 3,   /* repo-upgrade: objects failed their checks, not switched */
    EXIT_DRILL_FAILED = 4,       /* drill: restore, server start, recovery or a check failed */
    EXIT_DRILL_MISSED = 5,       /* drill: passed, but the RTO or RPO target was missed */
    EXIT_GET_NOT_FOUND = 1,
    EXIT_GET_USAGE = 254,
    EXIT_GET_ERROR = 255
};

typedef struct cli_ctx {
    walden_config *cfg;
    const char *command;
    int argc; /* positional arguments after the command */
    char **argv;
    const char *new_passphrase_file; /* repo-passphrase only */
} cli_ctx;

typedef struct cli_command {
    const char *name;
    int min_args, max_args;
    int (*run)(cli_ctx *ctx); /* returns an exit status */
    const char *usage;        /* arguments after the command name */
    const char *summary;      /* one line */
    const char *help;         /* the rest of `walden help COMMAND` */
} cli_command;
/* Its options are the library's table's (walden_option_applies). */

extern const cli_command cli_commands[];
const cli_command *cli_command_find(const char *name);

/* Prints "walden: <last error>" on stderr and returns the exit status for
 * `rc` (general table). */
int cli_fail(int rc);
/* Prints "walden: <formatted>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "1.5 GiB" */
void cli_human(uint64_t bytes, char *out, size_t cap);
/* "2026-11-29 04:15:02+00" from Unix ms */
void cli_time(int64_t ms, char *out, size_t cap);
/* JSON on stdout: a string, escaped (NULL: null); an ISO 8601 UTC time
 * with milliseconds (<= 0: null). docs/json.md. */
void cli_json_str(const char *s);
void cli_json_time(int64_t ms);
/* An LSN in PostgreSQL's text form ("0/5000028"); as JSON, null when 0. */
void cli_lsn(uint64_t lsn, char *out, size_t cap);
void cli_json_lsn(uint64_t lsn);

/* The restore_command of a restored server (restore, drill): this binary's
 * archive-get with the same repo, cluster and config file, quoted for the
 * shell. Warns when the passphrase will not reach `server` (it came from
 * a flag or the environment). -1 (said on stderr) when it does not fit in
 * cap bytes. */
int cli_restore_command(const walden_config *cfg, walden_repo *repo, const char *server, char *buf,
                        size_t cap);

/* Progress on stderr for walden_progress_cb (pass a cli_progress as ctx).
 * On a terminal: at most twice a second, on one line that cli_progress_end
 * clears. Otherwise (the journal, a file), when log-level is info or more:
 * log lines, one at each 10% of the bytes and at least every
 * progress-interval (0s: at every step). */
typedef struct cli_progress {
    struct timespec start, last;
    int shown;
    int logged;       /* log lines written */
    int tenth;        /* the last 10% step logged */
    int64_t interval; /* progress-interval, in seconds */
} cli_progress;
void cli_progress_start(cli_progress *s);
/* The callback for `s`: cli_progress_show on a terminal, cli_progress_log
 * when info lines are logged, else NULL (no progress at all). */
walden_progress_cb cli_progress_cb(const cli_ctx *ctx, cli_progress *s);
void cli_progress_show(const walden_progress *p, void *ctx);
void cli_progress_log(const walden_progress *p, void *ctx);
void cli_progress_end(cli_progress *s);
double cli_progress_seconds(const cli_progress *s);

/* The command line, parsed once (args.c). */
typedef struct cli_args {
    const char *command; /* positional[0], NULL when there is none */
    int npos;            /* positional arguments, the command included */
    char **positional;
    int help, version; /* --help/-h, --version/-V */
} cli_args;
/* Reads argv: options go into cfg as flags, the rest into out. Refuses an
 * unknown option, a missing value, an unknown command and an option the
 * command does not take, saying so on stderr: returns the usage status
 * then (archive-get's own), else 0. cli_args_free frees out. */
int cli_parse_args(int argc, char **argv, walden_config *cfg, cli_args *out);
void cli_args_free(cli_args *a);
/* The usage exit status of `command` (may be NULL). */
int cli_usage_status(const char *command);

void cli_print_usage(void);
int cli_print_help(const char *command);
/* `--name VALUE` (VALUE naming the type: PATH, N, DURATION...) */
void cli_option_flag(const walden_option_info *o, char *out, size_t cap);
/* 1 for an option every command takes (config, repo, the s3-* ...) */
int cli_option_common(const walden_option_info *o);
/* The option's default as `command`'s help, docs and man page show it:
 * NULL when there is none, or when it is another command's choice (type:
 * backup's full is not restore's). With `command` NULL, the option's. */
const char *cli_option_default(const walden_option_info *o, const char *command);

/* A hidden command that writes the generated documentation from the
 * option table (scripts/gen-docs.sh, scripts/gen-man.sh):
 *   walden help-gen markdown COMMAND   the options section of COMMAND.md
 *   walden help-gen markdown           docs/configuration.md's table
 *   walden help-gen man [COMMAND]      walden(1), or walden-COMMAND(1)
 *   walden help-gen commands           the command names, one a line */
#define CLI_DOC_COMMAND "help-gen"
int cli_doc(int argc, char **argv);

int cmd_init(cli_ctx *ctx);
int cmd_archive_push(cli_ctx *ctx);
int cmd_archive_get(cli_ctx *ctx);
int cmd_archive_list(cli_ctx *ctx);
int cmd_repo_passphrase(cli_ctx *ctx);
int cmd_repo_upgrade(cli_ctx *ctx);
int cmd_backup(cli_ctx *ctx);
int cmd_restore(cli_ctx *ctx);
int cmd_info(cli_ctx *ctx);
int cmd_dump(cli_ctx *ctx);
int cmd_restore_dump(cli_ctx *ctx);
int cmd_verify(cli_ctx *ctx);
int cmd_expire(cli_ctx *ctx);
int cmd_check(cli_ctx *ctx);
int cmd_metrics(cli_ctx *ctx);
int cmd_drill(cli_ctx *ctx);
/* Runs expire after a successful backup or dump when expire-auto is on:
 * prints a summary line when something went; an exit status. */
int cli_expire_auto(cli_ctx *ctx, walden_repo *repo);

#endif
