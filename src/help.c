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

static const char *const backup_opts[] = {
    "repo",       "cluster",     "pgdata",     "pghost",          "pgport",   "pguser",
    "pgdatabase", "process-max", "start-fast", "archive-timeout", "compress", "compress-level",
    "type",       "lock-path",   "config",     "log-level",       "log-file", NULL};
static const char *const restore_opts[] = {"repo",
                                           "cluster",
                                           "pgdata",
                                           "set",
                                           "target-time",
                                           "target-lsn",
                                           "target-xid",
                                           "target-name",
                                           "target",
                                           "target-action",
                                           "target-timeline",
                                           "target-exclusive",
                                           "tablespace-map",
                                           "process-max",
                                           "encrypt-passphrase",
                                           "encrypt-passphrase-file",
                                           "config",
                                           "log-level",
                                           "log-file",
                                           NULL};

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
    {"backup", 0, 0, cmd_backup, "[--type full]", "take an online physical backup",
     "Takes a full backup of the running cluster at --pgdata through the\n"
     "connection options (pghost, pgport, pguser, pgdatabase), with the\n"
     "non-exclusive backup API. process-max workers copy the files through\n"
     "compression and encryption; page checksums are verified when the\n"
     "cluster has them. The backup then waits (archive-timeout) until the WAL\n"
     "from its start to its stop is in the repository, and writes its manifest\n"
     "last: a backup without a manifest does not exist. Needs archive_mode on\n"
     "and archive_command running walden archive-push. start-fast (default\n"
     "yes) asks for an immediate checkpoint. One backup of a cluster at a time.\n"
     "\nExit status: 0 done; 1 failed (nothing usable stored); 2 bad usage or\n"
     "configuration; 3 stored, but data pages failed their checksum.\n",
     backup_opts},
    {"restore", 0, 0, cmd_restore, "--pgdata DIR [--set ID] [--target-... VALUE]",
     "restore a backup, ready to recover to a point in time",
     "Restores into DIR, which must be missing or empty, the backup given by\n"
     "--set, else the newest that ends before --target-time or --target-lsn,\n"
     "else the newest. Every file is checked against its SHA-256. Writes\n"
     "recovery.signal and, in postgresql.auto.conf, restore_command (this\n"
     "walden's archive-get with the same repo, cluster and config file) and\n"
     "the target: --target-time TS (as PostgreSQL's recovery_target_time,\n"
     "e.g. '2026-11-22 14:03:07.123+00'), --target-lsn, --target-xid,\n"
     "--target-name, or --target immediate; --target-action promote, pause or\n"
     "shutdown; --target-timeline. Tablespaces go back to their locations, or\n"
     "where --tablespace-map OID=DIR says (repeatable). Then start PostgreSQL.\n"
     "\nExit status: 0 restored; 1 failed; 2 bad usage or configuration.\n",
     restore_opts},
    {"info", 0, 0, cmd_info, "", "show the cluster's backups",
     "Prints the cluster's identity and its backups, oldest first: id, type,\n"
     "status, start and stop time (UTC), timeline, WAL range, size and stored\n"
     "size. Needs no passphrase.\n",
     repo_opts},
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
           "walden backs up PostgreSQL: WAL archiving and online base backups,\n"
           "compressed and encrypted, into a repository; restores to any point in time.\n"
           "\nCommands:\n");
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
