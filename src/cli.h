/*
 * cli.h - the walden command-line tool. It uses only libwalden's public
 * API (walden/walden.h): parsing, output and exit statuses live here, all
 * the work in the library.
 */
#ifndef WALDEN_CLI_H
#define WALDEN_CLI_H

#include "walden/walden.h"

/* Exit statuses (docs/exit-codes.md). archive-get has its own table so
 * that PostgreSQL aborts recovery on any failure other than "not found". */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_ = 1,
    EXIT_USAGE = 2,
    EXIT_BACKUP_PAGE_ERRORS = 3, /* backup stored, but data pages are corrupt */
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
    int (*run)(cli_ctx *ctx);   /* returns an exit status */
    const char *usage;          /* arguments after the command name */
    const char *summary;        /* one line */
    const char *help;           /* the rest of `walden help COMMAND` */
    const char *const *options; /* the options that matter, NULL-terminated */
} cli_command;

extern const cli_command cli_commands[];
const cli_command *cli_command_find(const char *name);

/* Prints "walden: <last error>" on stderr and returns the exit status for
 * `rc` (general table). */
int cli_fail(int rc);
/* Prints "walden: <formatted>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void cli_print_usage(void);
int cli_print_help(const char *command);

int cmd_init(cli_ctx *ctx);
int cmd_archive_push(cli_ctx *ctx);
int cmd_archive_get(cli_ctx *ctx);
int cmd_archive_list(cli_ctx *ctx);
int cmd_repo_passphrase(cli_ctx *ctx);
int cmd_backup(cli_ctx *ctx);
int cmd_restore(cli_ctx *ctx);
int cmd_info(cli_ctx *ctx);

#endif
