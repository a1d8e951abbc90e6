/*
 * args.c - the one parse of walden's command line, driven by the library's
 * option table (walden_option_list).
 *
 * `walden [--option value]... COMMAND [ARGS] [--option value]...`: options
 * may stand before or after the command; `--name=value` works as well. A
 * yes/no option may stand alone (`--keep`) or take a yes/no word
 * (`--keep no`); every other option takes the next argument. After `--`,
 * everything is an argument (restore-dump hands them to pg_restore).
 *
 * argv is read once, left to right. The command is only known once it has
 * been read, and a usage error must be answered with the command's usage
 * status (archive-get has its own), so the first error is kept and said
 * at the end; flags are checked against the command (does it take them?)
 * once the command is known, and only then set in the configuration.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_usage_status(const char *command)
{
    return command && strcmp(command, "archive-get") == 0 ? EXIT_GET_USAGE : EXIT_USAGE;
}

typedef struct flag {
    const walden_option_info *o;
    const char *value;
} flag;

static bool bool_word(const char *s)
{
    return walden_bool_parse(s) >= 0;
}

/* `--name[=value]`: the option, and its value (from `=`, or the next
 * argument, which *i then passes). The error goes to err. */
static const walden_option_info *read_flag(int argc, char **argv, int *i, const char **value,
                                           char *err, size_t cap)
{
    const char *arg = argv[*i];
    const char *eq = strchr(arg + 2, '=');
    size_t nlen = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    char name[128];
    const walden_option_info *o = NULL;
    if (nlen < sizeof(name)) {
        memcpy(name, arg + 2, nlen);
        name[nlen] = '\0';
        o = walden_option_find(name);
    }
    *value = NULL;
    if (eq)
        *value = eq + 1;
    else if (o && o->type == WALDEN_OPT_BOOL)
        /* `--create` alone means yes; `--create no` works too */
        *value = *i + 1 < argc && bool_word(argv[*i + 1]) ? argv[++*i] : "y";
    else if (*i + 1 < argc)
        /* an unknown option is taken to have a value, so that the command
         * after it is still found for the exit status */
        *value = argv[++*i];
    if (!o)
        snprintf(err, cap, "unknown option '--%.*s' (see walden --help)",
                 (int)(nlen > 64 ? 64 : nlen), arg + 2);
    else if (!*value)
        snprintf(err, cap, "option '--%s' needs a value", o->name);
    return *value ? o : NULL;
}

/* The command line's flags into cfg (WALDEN_SOURCE_FLAG): a repeatable
 * option given more than once gets its values joined by newlines. */
static int set_flags(walden_config *cfg, const flag *flags, int n)
{
    for (int k = 0; k < n; k++) {
        const walden_option_info *o = flags[k].o;
        const char *value = flags[k].value;
        char *joined = NULL;
        if ((o->flags & WALDEN_OPTF_REPEAT) &&
            walden_config_source_of(cfg, o->name) == WALDEN_SOURCE_FLAG) {
            const char *prev = walden_config_get(cfg, o->name);
            size_t len = strlen(prev) + strlen(value) + 2;
            joined = malloc(len);
            if (!joined) {
                cli_error("out of memory");
                return -1;
            }
            snprintf(joined, len, "%s\n%s", prev, value);
            value = joined;
        }
        int rc = walden_config_set(cfg, o->name, value, WALDEN_SOURCE_FLAG);
        free(joined);
        if (rc) {
            cli_error("%s", walden_error_last()->message);
            return -1;
        }
    }
    return 0;
}

int cli_parse_args(int argc, char **argv, walden_config *cfg, cli_args *out)
{
    memset(out, 0, sizeof(*out));
    out->positional = calloc((size_t)argc + 1, sizeof(char *));
    flag *flags = calloc((size_t)argc + 1, sizeof(flag));
    int nflags = 0, status = EXIT_USAGE;
    bool done = false;
    char err[256] = "";
    if (!out->positional || !flags) {
        cli_error("out of memory");
        free(flags);
        return EXIT_FAILURE_;
    }
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (done || arg[0] != '-' || arg[1] == '\0') {
            out->positional[out->npos++] = arg;
        } else if (strcmp(arg, "--") == 0) {
            done = true;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            out->help = 1;
        } else if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
            out->version = 1;
        } else if (strncmp(arg, "--", 2) != 0) {
            if (!err[0])
                snprintf(err, sizeof(err), "unknown option '%.64s' (see walden --help)", arg);
        } else {
            char e[sizeof(err)] = "";
            const char *value;
            const walden_option_info *o = read_flag(argc, argv, &i, &value, e, sizeof(e));
            if (o)
                flags[nflags++] = (flag){o, value};
            else if (!err[0])
                memcpy(err, e, sizeof(err));
        }
    }
    const char *command = out->command = out->npos ? out->positional[0] : NULL;
    status = cli_usage_status(command);
    if (err[0]) {
        cli_error("%s", err);
        goto fail;
    }
    /* help, version and a bare `walden` take any option; a command only
     * its own */
    const cli_command *cmd = command && !out->help ? cli_command_find(command) : NULL;
    if (command && !out->help && !cmd && strcmp(command, "help") != 0 &&
        strcmp(command, "version") != 0 && strcmp(command, CLI_DOC_COMMAND) != 0) {
        cli_error("unknown command '%s' (see walden --help)", command);
        goto fail;
    }
    for (int k = 0; cmd && k < nflags; k++)
        if (!walden_option_applies(flags[k].o, cmd->name)) {
            cli_error("option '--%s' does not apply to %s (see walden help %s)", flags[k].o->name,
                      cmd->name, cmd->name);
            goto fail;
        }
    if (set_flags(cfg, flags, nflags))
        goto fail;
    free(flags);
    return 0;
fail:
    free(flags);
    free(out->positional);
    out->positional = NULL;
    return status;
}

void cli_args_free(cli_args *a)
{
    free(a->positional);
    a->positional = NULL;
}
