/*
 * doc.c - the documentation made from the option table and the command
 * table: docs/configuration.md's option list, each docs/commands page's
 * options section, and the man pages walden(1) and walden-COMMAND(1).
 * Reached through the hidden command `walden help-gen` (cli.h), run by
 * scripts/gen-docs.sh and scripts/gen-man.sh; the test suite checks that
 * the docs in the tree are what this writes, so they cannot drift.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* ---- markdown ---------------------------------------------------------- */

static const char *type_word(const walden_option_info *o)
{
    switch (o->type) {
    case WALDEN_OPT_PATH:
        return "path";
    case WALDEN_OPT_INT:
        return "integer";
    case WALDEN_OPT_ENUM:
        return "word";
    case WALDEN_OPT_DURATION:
        return "duration";
    case WALDEN_OPT_BOOL:
        return "yes/no";
    default:
        return "string";
    }
}

/* choices "a|b" as "`a`, `b`" */
static void md_choices(const char *choices)
{
    for (const char *p = choices; *p;) {
        size_t n = strcspn(p, "|");
        printf("%s`%.*s`", p == choices ? "" : ", ", (int)n, p);
        p += n + (p[n] == '|');
    }
}

/* the default `command` takes (NULL: any command's, as the option has it) */
static void md_default(const walden_option_info *o, const char *command)
{
    const char *dflt = cli_option_default(o, command);
    if (!dflt && o->default_value)
        fputs("—", stdout); /* another command's */
    else if (o->default_doc)
        fputs(o->default_doc, stdout);
    else if (dflt)
        printf("`%s`", dflt);
    else
        fputs("—", stdout);
}

static void md_env(const char *name)
{
    fputs("`WALDEN_", stdout);
    for (const char *p = name; *p; p++)
        putchar(*p == '-' ? '_' : (*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p));
    putchar('`');
}

/* docs/configuration.md: every option */
static void md_configuration(void)
{
    printf("| option | environment | value | default | commands | meaning |\n"
           "| --- | --- | --- | --- | --- | --- |\n");
    for (const walden_option_info *o = walden_option_list(); o->name; o++) {
        printf("| `%s` | ", o->name);
        if (o->flags & WALDEN_OPTF_FLAG_ONLY)
            fputs("— (command line only)", stdout);
        else
            md_env(o->name);
        fputs(" | ", stdout);
        if (o->value_doc)
            fputs(o->value_doc, stdout);
        else if (o->choices)
            md_choices(o->choices);
        else
            fputs(o->secret ? "secret" : type_word(o), stdout);
        fputs(" | ", stdout);
        md_default(o, NULL);
        fputs(" | ", stdout);
        if (cli_option_common(o)) {
            fputs("all", stdout);
        } else {
            const char *sep = "";
            for (const char *const *c = walden_command_names(); *c; c++)
                if (walden_option_applies(o, *c)) {
                    printf("%s`%s`", sep, *c);
                    sep = ", ";
                }
        }
        printf(" | %s |\n", o->doc ? o->doc : o->help);
    }
}

/* docs/commands/COMMAND.md: its own options */
static void md_command(const char *command)
{
    printf("| option | default | meaning |\n| --- | --- | --- |\n");
    for (const walden_option_info *o = walden_option_list(); o->name; o++) {
        if (cli_option_common(o) || !walden_option_applies(o, command))
            continue;
        printf("| `%s` | ", o->name);
        md_default(o, command);
        printf(" | %s", walden_option_help(o, command));
        const char *choices = walden_option_choices(o, command);
        if (choices) {
            fputs(": ", stdout);
            md_choices(choices);
        }
        if (o->flags & WALDEN_OPTF_REPEAT)
            fputs(" (repeat the flag for several)", stdout);
        printf(" |\n");
    }
    printf("\nand the options every command takes ([configuration](../configuration.md)):");
    for (const walden_option_info *o = walden_option_list(); o->name; o++)
        if (cli_option_common(o))
            printf(" `%s`", o->name);
    printf(".\n");
}

/* ---- man pages --------------------------------------------------------- */

/* Text for roff: backslashes and minus signs escaped, a request character
 * at the start of a line neutralised; lines kept as they are (roff fills
 * them), a blank line a new paragraph. */
static void roff(const char *text)
{
    int bol = 1;
    for (const char *p = text; *p; p++) {
        if (bol && *p == '\n') {
            fputs(".PP\n", stdout);
            continue;
        }
        if (bol && (*p == '.' || *p == '\''))
            fputs("\\&", stdout);
        if (*p == '\\')
            fputs("\\e", stdout);
        else if (*p == '-')
            fputs("\\-", stdout);
        else
            putchar(*p);
        bol = *p == '\n';
    }
    if (!bol)
        putchar('\n');
}

static void man_option(const walden_option_info *o, const char *command)
{
    char flag[64];
    cli_option_flag(o, flag, sizeof(flag));
    fputs(".TP\n.B ", stdout);
    roff(flag);
    roff(walden_option_help(o, command));
    const char *choices = walden_option_choices(o, command);
    if (choices) {
        fputs(".br\nOne of: ", stdout);
        for (const char *p = choices; *p;) {
            size_t n = strcspn(p, "|");
            printf("%s\\fB%.*s\\fR", p == choices ? "" : ", ", (int)n, p);
            p += n + (p[n] == '|');
        }
        fputs(".\n", stdout);
    }
    const char *dflt = cli_option_default(o, command);
    if (dflt) {
        fputs(".br\nDefault: ", stdout);
        roff(dflt);
    }
    if (!command && !cli_option_common(o)) {
        fputs(".br\nTaken by: ", stdout);
        roff(o->commands);
    }
}

static void man_header(const char *page, const char *name, const char *summary)
{
    char version[64] = "";
    sscanf(walden_version_text(), "walden %63s", version);
    printf(".TH %s 1 \"\" \"walden %s\" \"User Commands\"\n.SH NAME\n", page, version);
    roff(name);
    fputs("\\- ", stdout);
    roff(summary);
}

static void man_common_options(void)
{
    fputs(".SS Options every command takes\n", stdout);
    for (const walden_option_info *o = walden_option_list(); o->name; o++)
        if (cli_option_common(o))
            man_option(o, NULL);
}

static const char *const exit_status =
    "All commands except archive-get:\n"
    ".TP\n.B 0\nsuccess\n"
    ".TP\n.B 1\nthe command failed; the reason is one line on stderr\n"
    ".TP\n.B 2\nbad usage or configuration: an unknown command or option, an option the "
    "command does not take, a bad value, a wrong number of arguments\n"
    ".TP\n.B 3\n\\fBbackup\\fR: stored, but data pages failed their checksum; \\fBverify\\fR: "
    "problems found\n"
    ".TP\n.B 4\n\\fBdrill\\fR: the drill failed\n"
    ".TP\n.B 5\n\\fBdrill\\fR: the drill passed, but the RTO or RPO target was missed\n"
    ".PP\narchive\\-get (restore_command) has its own, so that PostgreSQL stops recovery on a "
    "real failure instead of taking it for the end of the archive:\n"
    ".TP\n.B 0\nthe file was restored and verified\n"
    ".TP\n.B 1\nthe archive does not have the file\n"
    ".TP\n.B 254\nbad usage or configuration\n"
    ".TP\n.B 255\nany other failure\n";

static void man_main(void)
{
    man_header("WALDEN", "walden",
               "PostgreSQL backup, WAL archiving, logical dumps, retention and restore drills");
    fputs(".SH SYNOPSIS\n.B walden\n[\\fB\\-\\-option\\fR \\fIvalue\\fR]... \\fICOMMAND\\fR "
          "[\\fIARGS\\fR] [\\fB\\-\\-option\\fR \\fIvalue\\fR]...\n"
          ".br\n.B walden help\n[\\fICOMMAND\\fR]\n"
          ".SH DESCRIPTION\n"
          "walden backs up PostgreSQL: WAL archiving, online base backups and pg_dump dumps, "
          "compressed and encrypted, into a repository (a directory, S3 or Azure); restores to "
          "any point in time, keeps a recovery window, and proves restores by drills.\n"
          ".PP\n"
          "Every option can be given as a flag (\\fB\\-\\-name value\\fR or "
          "\\fB\\-\\-name=value\\fR, before or after the command), as an environment variable "
          "\\fBWALDEN_NAME\\fR, or as \\fBname = value\\fR in the config file. A flag beats the "
          "environment, which beats the file. A command refuses a flag it does not take; the "
          "environment and the file may hold any option, since one file serves all commands. "
          "Yes/no options may stand alone as flags (\\fB\\-\\-keep\\fR).\n"
          ".SH COMMANDS\n",
          stdout);
    for (const cli_command *c = cli_commands; c->name; c++) {
        printf(".TP\n.B %s\n", c->name);
        roff(c->summary);
        printf("(\\fBwalden\\-%s\\fR(1))\n", c->name);
    }
    fputs(".TP\n.BI \"help \" [COMMAND]\ndescribe a command and its options\n"
          ".TP\n.B version\nprint the versions of walden and its libraries\n"
          ".SH OPTIONS\n",
          stdout);
    man_common_options();
    fputs(".SS Options of some commands\n", stdout);
    for (const walden_option_info *o = walden_option_list(); o->name; o++)
        if (!cli_option_common(o))
            man_option(o, NULL);
    fputs(".SH EXIT STATUS\n", stdout);
    fputs(exit_status, stdout);
    fputs(".SH FILES\n"
          ".TP\n.I /etc/walden/walden.conf\n"
          "the config file (option \\fBconfig\\fR); a commented sample, walden.conf.sample, is "
          "in the documentation folder\n"
          ".TP\n.I /etc/walden/CLUSTER.sign\\-key\n"
          "the area's signing key, made by \\fBinit\\fR (option \\fBsign\\-key\\-file\\fR)\n"
          ".TP\n.I /run/walden\n"
          "the lock files and the record of a failed archive\\-push (option "
          "\\fBlock\\-path\\fR; /tmp/walden\\-UID when it is missing)\n"
          ".SH ENVIRONMENT\n"
          "Each option NAME is also read from \\fBWALDEN_NAME\\fR (upper case, \\- as _):\n",
          stdout);
    for (const walden_option_info *o = walden_option_list(); o->name; o++) {
        if (o->flags & WALDEN_OPTF_FLAG_ONLY)
            continue;
        fputs(".TP\n.B WALDEN_", stdout);
        for (const char *p = o->name; *p; p++)
            putchar(*p == '-' ? '_' : (*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p));
        printf("\noption \\fB%s\\fR\n", o->name);
    }
    fputs(".PP\nAlso: libpq's \\fBPGHOST\\fR, \\fBPGPORT\\fR, \\fBPGUSER\\fR, "
          "\\fBPGDATABASE\\fR, \\fBPGPASSWORD\\fR where the options are unset; "
          "\\fBAWS_ACCESS_KEY_ID\\fR, \\fBAWS_SECRET_ACCESS_KEY\\fR, \\fBAWS_SESSION_TOKEN\\fR, "
          "\\fBAWS_REGION\\fR; \\fBAZURE_STORAGE_ACCOUNT\\fR, \\fBAZURE_STORAGE_KEY\\fR; "
          "\\fBTMPDIR\\fR.\n"
          ".SH SEE ALSO\n",
          stdout);
    for (const cli_command *c = cli_commands; c->name; c++)
        printf(".BR walden\\-%s (1),\n", c->name);
    fputs(".BR postgres (1),\n.BR pg_dump (1),\n.BR pg_restore (1);\n"
          "the documentation under share/doc/walden.\n",
          stdout);
}

static int man_command(const char *command)
{
    const cli_command *c = cli_command_find(command);
    if (!c) {
        cli_error("unknown command '%s'", command);
        return EXIT_USAGE;
    }
    char page[64], name[64];
    snprintf(name, sizeof(name), "walden-%s", c->name);
    snprintf(page, sizeof(page), "WALDEN-%s", c->name);
    for (char *p = page; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    man_header(page, name, c->summary);
    printf(".SH SYNOPSIS\n.B walden %s\n", c->name);
    roff(c->usage);
    /* the help's "Exit status:" paragraph gets its own section */
    const char *exit_text = strstr(c->help, "\nExit status:");
    fputs(".SH DESCRIPTION\n", stdout);
    if (exit_text) {
        char body[4096];
        snprintf(body, sizeof(body), "%.*s", (int)(exit_text - c->help), c->help);
        roff(body);
    } else {
        roff(c->help);
    }
    fputs(".SH OPTIONS\n", stdout);
    for (const walden_option_info *o = walden_option_list(); o->name; o++)
        if (!cli_option_common(o) && walden_option_applies(o, c->name))
            man_option(o, c->name);
    man_common_options();
    fputs(".SH EXIT STATUS\n", stdout);
    if (exit_text)
        roff(exit_text + strlen("\nExit status: "));
    else
        fputs("0 on success, 1 on failure, 2 on bad usage or configuration.\n", stdout);
    printf(".SH SEE ALSO\n.BR walden (1)\n");
    return EXIT_OK;
}

int cli_doc(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "markdown") == 0 && argc <= 2) {
        if (argc == 1) {
            md_configuration();
            return EXIT_OK;
        }
        if (!cli_command_find(argv[1])) {
            cli_error("unknown command '%s'", argv[1]);
            return EXIT_USAGE;
        }
        md_command(argv[1]);
        return EXIT_OK;
    }
    if (argc >= 1 && strcmp(argv[0], "man") == 0 && argc <= 2) {
        if (argc == 1)
            man_main();
        else
            return man_command(argv[1]);
        return EXIT_OK;
    }
    if (argc == 1 && strcmp(argv[0], "commands") == 0) {
        for (const cli_command *c = cli_commands; c->name; c++)
            printf("%s\n", c->name);
        return EXIT_OK;
    }
    cli_error("usage: walden " CLI_DOC_COMMAND " markdown [COMMAND] | man [COMMAND] | commands");
    return EXIT_USAGE;
}
