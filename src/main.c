/*
 * main.c - argument parsing, configuration loading and dispatch.
 *
 * `walden [--option value]... COMMAND [ARGS] [--option value]...`: options
 * may stand before or after the command; `--name=value` works as well.
 * Configuration precedence is the library's: flag > WALDEN_* environment >
 * config file > default.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

extern char **environ;

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

/* archive-get's own statuses: only "not in the archive" may look like the
 * end of the archive to PostgreSQL. */
static int usage_status(const char *command)
{
    return command && strcmp(command, "archive-get") == 0 ? EXIT_GET_USAGE : EXIT_USAGE;
}

/* A yes/no option, which may be given without a value. */
static bool is_flag(const char *name)
{
    const walden_option_info *o = walden_option_find(name);
    return o && o->type == WALDEN_OPT_BOOL;
}

static bool bool_word(const char *s)
{
    return walden_bool_parse(s) >= 0;
}

static int setup_logging(walden_config *cfg)
{
    walden_log_level level;
    if (walden_log_level_parse(walden_config_get(cfg, "log-level"), &level))
        return -1;
    walden_log_set_level(level);
    const char *file = walden_config_get(cfg, "log-file");
    if (file && *file && walden_log_set_file(file))
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    walden_config *cfg = NULL;
    char **positional = calloc((size_t)argc + 1, sizeof(char *));
    int npos = 0, status = EXIT_USAGE;
    int want_help = 0, want_version = 0, flags_done = 0;
    const char *new_passphrase_file = NULL;

    /* a child (pg_restore, psql) that exits early must fail a write, not
     * kill walden; children start with SIGPIPE at its default again */
    signal(SIGPIPE, SIG_IGN);
    if (!positional || walden_config_new(&cfg)) {
        cli_error("out of memory");
        return EXIT_FAILURE_;
    }
    /* find the command first, so usage errors get its exit status */
    const char *command = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            if (i + 1 < argc)
                command = argv[i + 1];
            break;
        }
        if (argv[i][0] != '-') {
            command = argv[i];
            break;
        }
        /* every option takes a value (a yes/no one may stand alone); an
         * unknown one is assumed to take one */
        if (strncmp(argv[i], "--", 2) == 0 && !strchr(argv[i], '=') &&
            strcmp(argv[i], "--help") != 0 && strcmp(argv[i], "--version") != 0 &&
            (!is_flag(argv[i] + 2) || (i + 1 < argc && bool_word(argv[i + 1]))))
            i++;
    }

    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (flags_done || arg[0] != '-' || arg[1] == '\0') {
            positional[npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = 1;
            continue;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            want_help = 1;
            continue;
        }
        if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
            want_version = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            cli_error("unknown option '%s' (see walden --help)", arg);
            status = usage_status(command);
            goto done;
        }
        char name[128];
        const char *value = NULL;
        const char *eq = strchr(arg + 2, '=');
        size_t nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (nlen >= sizeof(name)) {
            cli_error("unknown option '%s' (see walden --help)", arg);
            status = usage_status(command);
            goto done;
        }
        memcpy(name, arg + 2, nlen);
        name[nlen] = '\0';
        if (eq) {
            value = eq + 1;
        } else if (is_flag(name)) {
            /* `--create` alone means yes; `--create no` works too */
            value = i + 1 < argc && bool_word(argv[i + 1]) ? argv[++i] : "y";
        } else if (i + 1 < argc) {
            value = argv[++i];
        }
        int known = walden_option_find(name) != NULL || strcmp(name, "new-passphrase-file") == 0;
        if (!known) {
            cli_error("unknown option '--%s' (see walden --help)", name);
            status = usage_status(command);
            goto done;
        }
        if (!value) {
            cli_error("option '--%s' needs a value", name);
            status = usage_status(command);
            goto done;
        }
        if (strcmp(name, "new-passphrase-file") == 0) {
            new_passphrase_file = value;
            continue;
        }
        char *joined = NULL;
        if ((strcmp(name, "tablespace-map") == 0 || strcmp(name, "dbname") == 0) &&
            walden_config_source_of(cfg, name) == WALDEN_SOURCE_FLAG) {
            /* repeatable: one value per line */
            const char *prev = walden_config_get(cfg, name);
            joined = malloc(strlen(prev) + strlen(value) + 2);
            if (!joined) {
                cli_error("out of memory");
                goto done;
            }
            sprintf(joined, "%s\n%s", prev, value);
            value = joined;
        }
        int set_rc = walden_config_set(cfg, name, value, WALDEN_SOURCE_FLAG);
        free(joined);
        if (set_rc) {
            cli_error("%s", walden_error_last()->message);
            status = usage_status(command);
            goto done;
        }
    }

    if (want_version) {
        fputs(walden_version_text(), stdout);
        status = EXIT_OK;
        goto done;
    }
    if (npos == 0) {
        cli_print_usage();
        status = want_help ? EXIT_OK : EXIT_USAGE;
        goto done;
    }
    command = positional[0];
    if (want_help || strcmp(command, "help") == 0) {
        status = cli_print_help(strcmp(command, "help") == 0 ? (npos > 1 ? positional[1] : NULL)
                                                             : command);
        goto done;
    }
    if (strcmp(command, "version") == 0) {
        fputs(walden_version_text(), stdout);
        status = EXIT_OK;
        goto done;
    }
    const cli_command *cmd = cli_command_find(command);
    if (!cmd) {
        cli_error("unknown command '%s' (see walden --help)", command);
        goto done;
    }
    status = usage_status(command);
    if (npos - 1 < cmd->min_args || npos - 1 > cmd->max_args) {
        cli_error("usage: walden %s %s", cmd->name, cmd->usage);
        goto done;
    }
    if (new_passphrase_file && strcmp(command, "repo-passphrase") != 0) {
        cli_error("option '--new-passphrase-file' belongs to repo-passphrase");
        goto done;
    }
    if (walden_config_load_env(cfg, environ)) {
        cli_error("%s", walden_error_last()->message);
        goto done;
    }
    const char *config_path = walden_config_get(cfg, "config");
    if (config_path && *config_path &&
        walden_config_load_file(cfg, config_path,
                                walden_config_source_of(cfg, "config") != WALDEN_SOURCE_DEFAULT)) {
        cli_error("%s", walden_error_last()->message);
        goto done;
    }
    if (setup_logging(cfg)) {
        cli_error("%s", walden_error_last()->message);
        goto done;
    }
    cli_ctx ctx = {cfg, command, npos - 1, positional + 1, new_passphrase_file};
    status = cmd->run(&ctx);
done:
    walden_config_free(cfg);
    free(positional);
    return status;
}
