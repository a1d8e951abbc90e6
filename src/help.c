/*
 * help.c - the command table and the texts of `walden --help` and
 * `walden help COMMAND`. docs/commands/ says the same at more length.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const repo_opts[] = {"repo", "cluster", "config", "log-level", "log-file", NULL};
static const char *const init_opts[] = {"repo",
                                        "cluster",
                                        "pgdata",
                                        "pghost",
                                        "pgport",
                                        "pguser",
                                        "pgdatabase",
                                        "compress",
                                        "compress-level",
                                        "encrypt-passphrase",
                                        "encrypt-passphrase-file",
                                        "config",
                                        "log-level",
                                        NULL};
static const char *const push_opts[] = {"repo",   "cluster",   "compress", "compress-level",
                                        "config", "log-level", "log-file", NULL};
static const char *const get_opts[] = {
    "repo",   "cluster",   "encrypt-passphrase", "encrypt-passphrase-file",
    "config", "log-level", "log-file",           NULL};

const cli_command cli_commands[] = {
    {"init", 0, 0, cmd_init, "", "create the repository area of a cluster",
     "Creates REPO/CLUSTER/ and records the cluster's system identifier and\n"
     "PostgreSQL version, read from PGDATA/global/pg_control when --pgdata is\n"
     "given, else asked from the running server (pghost, pgport, pguser,\n"
     "pgdatabase and libpq's PG* variables). Records the default compression.\n"
     "With encrypt-passphrase or encrypt-passphrase-file set, the area is\n"
     "encrypted: a key pair is created and its private key wrapped under the\n"
     "passphrase. Refuses a cluster that is initialized already and a\n"
     "repository of a newer format.\n",
     init_opts},
    {"archive-push", 1, 1, cmd_archive_push, "PATH", "archive one WAL file (archive_command)",
     "Use as archive_command = 'walden archive-push %p'. Checks that PATH is a\n"
     "WAL segment of this cluster (size, page header, system identifier) or a\n"
     ".history, .backup or .partial file, compresses and encrypts it, and exits\n"
     "0 only once it is durable in the repository. A file archived before\n"
     "with identical content succeeds again; with different content it fails\n"
     "and the archived copy is kept. Writing needs no passphrase: files are\n"
     "encrypted to the repository's public key.\n"
     "\nExit status: 0 archived (or archived before, identical); 1 failed\n"
     "(PostgreSQL retries); 2 bad usage or configuration.\n",
     push_opts},
    {"archive-get", 2, 2, cmd_archive_get, "WALFILE DEST",
     "restore one archived WAL file (restore_command)",
     "Use as restore_command = 'walden archive-get %f \"%p\"'. Writes the\n"
     "archived WALFILE to DEST (a temporary name, renamed once decrypted,\n"
     "decompressed and checked against its SHA-256).\n"
     "\nExit status: 0 restored; 1 not in the archive (quietly: PostgreSQL\n"
     "asks for files that do not exist as a matter of course); 254 bad usage\n"
     "or configuration; 255 any other failure: a corrupt or truncated stored\n"
     "file, a wrong or missing passphrase, a missing or unreadable repository.\n"
     "Statuses above 125 make PostgreSQL stop recovery rather than end it\n"
     "early at the wrong point.\n",
     get_opts},
    {"archive-list", 0, 0, cmd_archive_list, "", "list the archived WAL files",
     "Prints the name of every archived WAL file, one per line, in order.\n", repo_opts},
    {"repo-passphrase", 0, 0, cmd_repo_passphrase, "[--new-passphrase-file FILE]",
     "change the passphrase of an encrypted repository",
     "Unwraps the repository key with the current passphrase (from the\n"
     "configuration) and wraps it under the new one, read from the first line\n"
     "of FILE or, without --new-passphrase-file, of standard input. Nothing\n"
     "else in the repository is rewritten; update the configuration afterwards.\n",
     get_opts},
    {NULL, 0, 0, NULL, NULL, NULL, NULL, NULL},
};

const cli_command *cli_command_find(const char *name)
{
    for (const cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void print_option(const walden_option_info *o)
{
    char flag[64];
    snprintf(flag, sizeof(flag), "--%s", o->name);
    printf("  %-28s %s", flag, o->help);
    if (o->default_value)
        printf(" (default: %s)", o->default_value);
    else if (o->choices)
        printf(" (%s)", o->choices);
    printf("\n");
}

void cli_print_usage(void)
{
    printf("usage: walden [--option value]... COMMAND [ARGS]\n\n"
           "walden backs up PostgreSQL: WAL archiving, compressed and encrypted,\n"
           "into a repository.\n\nCommands:\n");
    for (const cli_command *c = cli_commands; c->name; c++)
        printf("  %-16s %s\n", c->name, c->summary);
    printf("  %-16s %s\n", "help [COMMAND]", "describe a command and its options");
    printf("  %-16s %s\n", "version", "print the versions of walden and its libraries");
    printf("\nOptions (also WALDEN_NAME in the environment, or name = value in the\n"
           "config file; a flag beats the environment, which beats the file):\n");
    for (const walden_option_info *o = walden_option_list(); o->name; o++)
        print_option(o);
    printf("\nSee walden help COMMAND, and docs/ for the full documentation.\n");
}

int cli_print_help(const char *command)
{
    if (!command) {
        cli_print_usage();
        return EXIT_OK;
    }
    const cli_command *c = cli_command_find(command);
    if (!c) {
        cli_error("unknown command '%s' (see walden --help)", command);
        return EXIT_USAGE;
    }
    printf("usage: walden %s %s\n\n%s.\n\n%s", c->name, c->usage, c->summary, c->help);
    if (c->options) {
        printf("\nOptions:\n");
        for (const char *const *n = c->options; *n; n++) {
            const walden_option_info *o = walden_option_find(*n);
            if (o)
                print_option(o);
        }
    }
    return EXIT_OK;
}
