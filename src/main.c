/*
 * main.c - configuration loading and dispatch: the command line is parsed
 * once (args.c), then the environment and the config file are read.
 * Configuration precedence is the library's: flag > WALDEN_* environment >
 * config file > default.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

extern char **environ;

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
    cli_args args = {0};
    int status;

    /* a child (pg_restore, psql) that exits early must fail a write, not
     * kill walden; children start with SIGPIPE at its default again */
    signal(SIGPIPE, SIG_IGN);
    if (walden_config_new(&cfg)) {
        cli_error("out of memory");
        return EXIT_FAILURE_;
    }
    if ((status = cli_parse_args(argc, argv, cfg, &args)))
        goto done;
    const char *command = args.command;
    if (args.version) {
        fputs(walden_version_text(), stdout);
        status = EXIT_OK;
        goto done;
    }
    if (!command) {
        cli_print_usage();
        status = args.help ? EXIT_OK : EXIT_USAGE;
        goto done;
    }
    if (args.help || strcmp(command, "help") == 0) {
        status = cli_print_help(
            strcmp(command, "help") == 0 ? (args.npos > 1 ? args.positional[1] : NULL) : command);
        goto done;
    }
    if (strcmp(command, "version") == 0) {
        fputs(walden_version_text(), stdout);
        status = EXIT_OK;
        goto done;
    }
    if (strcmp(command, CLI_DOC_COMMAND) == 0) {
        status = cli_doc(args.npos - 1, args.positional + 1);
        goto done;
    }
    const cli_command *cmd = cli_command_find(command); /* known: cli_parse_args checked */
    status = cli_usage_status(command);
    if (args.npos - 1 < cmd->min_args || args.npos - 1 > cmd->max_args) {
        cli_error("usage: walden %s %s", cmd->name, cmd->usage);
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
    if (walden_config_check_command(cfg, command) || setup_logging(cfg)) {
        cli_error("%s", walden_error_last()->message);
        goto done;
    }
    cli_ctx ctx = {cfg, command, args.npos - 1, args.positional + 1,
                   walden_config_get(cfg, "new-passphrase-file")};
    status = cmd->run(&ctx);
done:
    walden_config_free(cfg);
    cli_args_free(&args);
    return status;
}
