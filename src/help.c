/*
 * help.c - the command table and the texts of `walden --help` and
 * `walden help COMMAND`. docs/commands/ says the same at more length.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const cli_command cli_commands[] = {
    {"init", 0, 0, cmd_init, "", "create the repository area of a cluster",
     "Creates REPO/CLUSTER/ and records the cluster's system identifier and\n"
     "PostgreSQL version, read from PGDATA/global/pg_control when --pgdata is\n"
     "given, else asked from the running server (pghost, pgport, pguser,\n"
     "pgdatabase and libpq's PG* variables). Records the default compression.\n"
     "With encrypt-passphrase or encrypt-passphrase-file set, the area is\n"
     "encrypted: a key pair is created and its private key wrapped under the\n"
     "passphrase. Makes the area's signing key in sign-key-file (default\n"
     "/etc/walden/CLUSTER.sign-key, mode 0600, never overwritten): every\n"
     "command that writes signs with it, and readers check the signatures\n"
     "(docs/security.md). Prints the verification key, for option verify-key\n"
     "on hosts that only read. Refuses a cluster that is initialized already, a\n"
     "repository of a newer format, and a PostgreSQL version other than 13 to\n"
     "18.\n"},
    {"archive-push", 1, 1, cmd_archive_push, "PATH", "archive one WAL file (archive_command)",
     "Use as archive_command = 'walden archive-push %p'. Checks that PATH is a\n"
     "WAL segment of this cluster (size, page header, system identifier) or a\n"
     ".history, .backup or .partial file, compresses and encrypts it, and exits\n"
     "0 only once it is durable in the repository. A file archived before\n"
     "with identical content succeeds again; with different content it fails\n"
     "and the archived copy is kept; copies whose signature does not verify\n"
     "are ignored with a warning. Writing needs no passphrase: files are\n"
     "encrypted to the public key pinned in sign-key-file, and the stored\n"
     "name carries the SHA-256 and the signature. A repository of a PostgreSQL\n"
     "version other than 13 to 18 is refused. A failure (file, time, error) is\n"
     "recorded in a state file beside the locks until the next\n"
     "success; check, backup and metrics quote it.\n"
     "\nExit status: 0 archived (or archived before, identical); 1 failed\n"
     "(PostgreSQL retries); 2 bad usage or configuration.\n"},
    {"archive-get", 2, 2, cmd_archive_get, "WALFILE DEST",
     "restore one archived WAL file (restore_command)",
     "Use as restore_command = 'walden archive-get %f \"%p\"'. Writes the\n"
     "archived WALFILE to DEST (a temporary name, renamed once decrypted,\n"
     "decompressed and checked against its SHA-256 and the signature in its\n"
     "name). Copies that fail authentication are never restored. Reading\n"
     "stops, and nothing is left at DEST, as soon as a copy is larger than the\n"
     "file may be: a segment exactly the area's segment size, a history or\n"
     ".backup file 1 MiB (a forged copy that decompresses to gigabytes never\n"
     "fills pg_wal).\n"
     "\nExit status: 0 restored; 1 not in the archive (quietly: PostgreSQL\n"
     "asks for files that do not exist as a matter of course); 254 bad usage\n"
     "or configuration; 255 any other failure: a corrupt or truncated stored\n"
     "file, one that failed authentication, a wrong or missing passphrase, a\n"
     "missing or unreadable repository.\n"
     "Statuses above 125 make PostgreSQL stop recovery rather than end it\n"
     "early at the wrong point.\n"},
    {"archive-list", 0, 0, cmd_archive_list, "", "list the archived WAL files",
     "Prints the name of every archived WAL file, one per line, in order.\n"},
    {"repo-passphrase", 0, 0, cmd_repo_passphrase, "[--new-passphrase-file FILE]",
     "change the passphrase of an encrypted repository",
     "Unwraps the repository key with the current passphrase (from the\n"
     "configuration) and wraps it under the new one, read from the first line\n"
     "of FILE or, without --new-passphrase-file, of standard input. Nothing\n"
     "else in the repository is rewritten; update the configuration afterwards.\n"},
    {"repo-upgrade", 0, 0, cmd_repo_upgrade, "[--drop-unproven] [--trust-unencrypted-contents]",
     "sign an area of format 1 (unauthenticated) and switch it to format 2",
     "Upgrades the configured cluster's area in place from format 1 (made by an\n"
     "earlier walden, nothing signed) to format 2. Makes the signing key file\n"
     "(sign-key-file, mode 0600, as init does; or takes the one an interrupted\n"
     "run made). Checks before it signs: an encrypted area needs its\n"
     "passphrase, which proves key.conf; every backup, dump and WAL file is\n"
     "decrypted and checked against its recorded digests, and each WAL\n"
     "segment's page header against its name and the system identifier. What\n"
     "passes is signed: WAL files are renamed to their signed names, the\n"
     "manifests, backup.stored, backup.info, dump manifests and drill records\n"
     "get their signature line; key.conf is rewritten in format 2 and\n"
     "cluster.conf is switched last. An object that fails is named on stderr\n"
     "(`not signed: ...`) and left unsigned, and the area stays format 1\n"
     "unless --drop-unproven accepts leaving such objects out (they are never\n"
     "restored then). An unencrypted area has nothing to prove its files with:\n"
     "--trust-unencrypted-contents signs them as they are. The upgrade vouches\n"
     "for the contents as of now: run it when you trust them (after walden\n"
     "verify). Interrupted, it leaves format 1 and runs again to finish; on an\n"
     "area of format 2 it does nothing. Backups, dumps and expire of the cluster\n"
     "are refused meanwhile; archive-push is refused until the switch (PostgreSQL\n"
     "retries) and then signs with the new key file. Prints the verification\n"
     "key, for option verify-key on hosts that only read.\n"
     "\nExit status: 0 upgraded, or format 2 already; 1 failed (the area stays\n"
     "format 1); 2 bad usage or configuration; 3 objects failed their checks:\n"
     "not switched.\n"},
    {"backup", 0, 0, cmd_backup, "[--type full]", "take an online physical backup",
     "Takes a full backup of the running cluster at --pgdata through the\n"
     "connection options (pghost, pgport, pguser, pgdatabase), with the\n"
     "non-exclusive backup API. process-max workers copy the files through\n"
     "compression and encryption; page checksums are verified when the\n"
     "cluster has them. The backup then waits (archive-timeout) until the WAL\n"
     "from its start to its stop is in the repository, and writes its manifest\n"
     "last: a backup without a manifest does not exist. Needs archive_mode on\n"
     "and archive_command running walden archive-push. start-fast (default\n"
     "no: a spread checkpoint, as the server paces its own) asks for an\n"
     "immediate checkpoint. process-max defaults to 1, so that a nightly\n"
     "backup does not take every core of the server. One backup of a cluster\n"
     "at a time.\n"
     "Then, with expire-auto (default yes), runs expire: the retention policy\n"
     "(retention, default 30d) removes what it no longer needs (walden help\n"
     "expire); skipped with dry-run, or while another backup, dump, drill or\n"
     "verify of the cluster runs.\n"
     "\nExit status: 0 done; 1 failed (nothing usable stored); 2 bad usage or\n"
     "configuration; 3 stored, but data pages failed their checksum.\n"},
    {"restore", 0, 0, cmd_restore, "--pgdata DIR [--set ID] [--target-... VALUE]",
     "restore a backup, ready to recover to a point in time",
     "Restores into DIR, which must be missing or empty, the backup given by\n"
     "--set, else the newest that ends before --target-time or --target-lsn\n"
     "and whose WAL from start to stop is in the archive (newer ones passed\n"
     "over are named), else the newest such. Targets, DIR and tablespace\n"
     "directories are checked before anything is written. Every file is\n"
     "checked against its SHA-256. Writes recovery.signal and, in\n"
     "postgresql.auto.conf, restore_command (this walden's archive-get with\n"
     "the same repo, cluster and config file) and the target: --target-time\n"
     "TS with a time zone (e.g. '2026-11-22 14:03:07.123+00'), --target-lsn\n"
     "X/Y, --target-xid, --target-name, or --target immediate;\n"
     "--target-action promote, pause or shutdown; --target-timeline.\n"
     "Recovery settings, restore_command, primary_conninfo and the like found\n"
     "in the backup's postgresql.conf and postgresql.auto.conf are commented\n"
     "out. archive_mode = off is written: the restored server does not\n"
     "archive, unless --archive-mode preserve (a restore that replaces the\n"
     "primary). Tablespaces go back to their locations, or where\n"
     "--tablespace-map OID=DIR says (repeatable): missing or empty, no\n"
     "symlink on the way, none inside DIR or another. Run as root, files go\n"
     "to the owner the manifest records. Then start PostgreSQL.\n"
     "Timelines: with more than one in the archive, restore follows the child\n"
     "of a branch when the parent has no segment after the branch point's\n"
     "(a disaster recovery), the parent when only the parent goes on, and\n"
     "refuses, naming both, when both go on (a restored copy archived here):\n"
     "--target-timeline N chooses, and takes the newest backup on N or on N's\n"
     "history before it branched off. The choice is written as\n"
     "recovery_target_timeline and printed with its reason. A timeline with\n"
     "segments or a backup but no history file is refused.\n"
     "\nExit status: 0 restored; 1 failed; 2 bad usage or configuration.\n"},
    {"dump", 0, 0, cmd_dump, "[--dbname NAME]... [--all]",
     "dump databases with pg_dump into the repository",
     "Runs pg_dump -Fc -Z0 for each database named by --dbname (repeatable),\n"
     "or for every database that accepts connections (--all, the default),\n"
     "and pg_dumpall --globals-only for the roles and tablespaces. Their output\n"
     "streams through compression and encryption straight into the repository,\n"
     "process-max databases at a time; nothing is written to local disk. Each\n"
     "dump gets an id (run time and database name) and a manifest. A pg_dump\n"
     "that fails or is killed leaves a dump marked failed, never usable; its\n"
     "stderr goes to the log. pg_dump is the server's version's (pg-bin).\n"
     "Then, with expire-auto (default yes), runs expire (walden help expire).\n"
     "\nExit status: 0 every dump stored; 1 at least one failed (the others\n"
     "are kept); 2 bad usage or configuration.\n"},
    {"restore-dump", 0, 1000, cmd_restore_dump,
     "--set ID|--dbname NAME|--globals [--target-dbname NAME] [--create] [--jobs N] "
     "[--to-file PATH] [-- PG_RESTORE_ARGS...]",
     "restore a logical dump with pg_restore, or write it to a file",
     "Restores the dump --set ID, else the newest usable dump of --dbname NAME,\n"
     "into --target-dbname. The dump is first read whole into an unnamed\n"
     "temporary file in TMPDIR (mode 0600, gone when walden exits; it needs\n"
     "the dump's uncompressed size) and checked against its signed manifest:\n"
     "nothing reaches pg_restore, psql or the file before the whole dump\n"
     "authenticated. --create first creates the target database, empty, from\n"
     "template0. --jobs N runs pg_restore in parallel. Arguments after -- go to\n"
     "pg_restore (e.g. -- --table=orders --single-transaction). --to-file PATH\n"
     "('-' for stdout) writes the dump file as pg_dump wrote it, for pg_restore -l\n"
     "and -L (renamed into place once checked). --globals restores the roles and tablespaces of "
     "the same run (or\n"
     "the newest) with psql; the role psql connects as exists already (not\n"
     "shown), other errors such as another existing role are logged.\n"
     "\nExit status: 0 restored; 1 failed (also when pg_restore reports\n"
     "errors); 2 bad usage or configuration.\n"},
    {"check", 0, 0, cmd_check, "", "check that backups and WAL archiving work",
     "Checks, one line each: the repository opens and takes a write; the\n"
     "passphrase opens it (encrypted repositories); the server is reachable\n"
     "and is the repository's cluster; archive_mode is on and archive_command\n"
     "runs walden archive-push %p; and, when all that is fine, a segment forced\n"
     "out with pg_switch_wal() reaches this repository within archive-timeout\n"
     "(the proof that archive_command uses this repository); and the archive's\n"
     "timelines: restore can choose one, none lacks its history file, none\n"
     "branched off after the newest backup without a backup of its own (a\n"
     "restored copy archiving here?). Each problem says what to fix.\n"
     "\nExit status: 0 every check passed; 1 a problem; 2 bad usage.\n"},
    {"metrics", 0, 0, cmd_metrics, "[--metrics-file FILE]",
     "Prometheus metrics: backup and WAL age, dumps, drills",
     "Prints the cluster's state in Prometheus' text format, or writes it\n"
     "atomically to --metrics-file (for node_exporter's textfile collector,\n"
     "e.g. from the backup timer): the newest backup's time, age, size and\n"
     "duration; the newest dump of each database; the newest WAL segment's\n"
     "age and gaps; from the server, when it answers and is the cluster, its\n"
     "archiver counters and the WAL it flushed that is not archived (bytes,\n"
     "and the exposure: 0 on an idle cluster whose WAL is all archived); the\n"
     "repository's stored bytes; the recovery window and the retention; the\n"
     "newest drill's status, RTO and RPO (absent when unknown). Names in\n"
     "docs/commands/metrics.md; alert rules and a dashboard: docs/monitoring.md.\n"
     "Needs no passphrase.\n"
     "\nExit status: 0 written; 1 failed; 2 bad usage.\n"},
    {"info", 0, 0, cmd_info, "[--output text|json]", "show what can be restored",
     "Prints every cluster of the repository: its identity (PostgreSQL major\n"
     "version, system identifier); its backups, oldest first: id, type,\n"
     "status, stop time (UTC), duration, size and stored size, then timeline,\n"
     "LSNs and WAL range; its dumps: id, database, status, start, duration,\n"
     "sizes (and the error of a failed one); the WAL archive: runs per\n"
     "timeline, gaps, the newest segment and its age; the timelines: parent\n"
     "and branch point, newest segment and backup, a missing history file,\n"
     "STRAY for one that branched off after the newest backup started without\n"
     "a backup of its own, and the timeline a restore follows or why it\n"
     "refuses; the recovery window, the earliest and latest time a restore\n"
     "can reach; the last drill (an RPO it could not measure is \"unknown\").\n"
     "Lines fit 100 columns. --output json prints the same as one JSON\n"
     "document (docs/json.md). Needs no passphrase, except to read the\n"
     "history files of an encrypted repository.\n"},
    {"expire", 0, 0, cmd_expire, "[--dry-run] [--output text|json]",
     "remove what the retention policy no longer needs",
     "Keeps every point in time of the last `retention` (default 30d)\n"
     "restorable: every backup that ended inside the window, the newest one\n"
     "that ended before it, at least retention-full-min full backups, and with\n"
     "retention-daily/-weekly/-monthly also the newest backup of that many\n"
     "days, weeks, months; all WAL from the start of the oldest kept backup;\n"
     "dumps of the last retention-dump per database, and the newest older one.\n"
     "Everything else goes: expired backups and dumps lose their manifest\n"
     "first, then their files; WAL before the oldest kept backup, except\n"
     "history files. Never the only usable backup. --dry-run prints every\n"
     "decision with its reason and changes nothing. Takes the cluster's backup\n"
     "and dump locks and its readers' lock: fails while a backup, dump, drill\n"
     "or verify of the cluster runs on this machine (lock-path). backup and\n"
     "dump run it when they succeed (expire-auto).\n"
     "\nExit status: 0 done; 1 failed (rerun finishes the job); 2 bad usage.\n"},
    {"verify", 0, 0, cmd_verify, "[--set ID]", "check the repository's files and WAL",
     "Re-reads every backup, dump and WAL file and checks it. Without a\n"
     "passphrase: each backup and dump file against the SHA-256 and size of its\n"
     "stored bytes, and each encrypted WAL file's framing (whole, not\n"
     "truncated). With the passphrase, or in a repository that is not\n"
     "encrypted: also decrypts and decompresses everything and checks the\n"
     "SHA-256 of the original. Checks that each backup has every WAL segment\n"
     "from its start to its stop, and reports gaps in the archive. --set ID\n"
     "checks one backup (and the WAL it needs) or one dump. Each problem is one\n"
     "line on stdout: kind (corrupt, missing, wal-gap, unreadable,\n"
     "unauthenticated: not written by this area's signing key, timeline: a\n"
     "stray timeline or timelines restore cannot choose between), the file,\n"
     "what is wrong. process-max files are read at a time. Holds the readers'\n"
     "lock (lock-path) shared: expire does not run meanwhile.\n"
     "\nExit status: 0 no problem; 3 problems found; 1 verify could not run\n"
     "(e.g. a wrong passphrase, --set not found); 2 bad usage or configuration.\n"},
    {"drill", 0, 1, cmd_drill,
     "[--set ID] [--target-time TS] [--target-timeline TLI] [--rto-target D] [--rpo-target D] "
     "[--check-sql FILE] "
     "[--report FILE] [--metrics-file FILE] [--keep] | --dump [DUMP_ID] | --history",
     "prove that a backup restores, within the RTO and RPO targets",
     "Restores the backup --set ID (default: the newest; with --target-time the\n"
     "newest that ends before it) into a new scratch directory under\n"
     "--scratch-dir (default TMPDIR, else /tmp), recovers it to the end of the\n"
     "archive or to --target-time, and starts a PostgreSQL on it that listens\n"
     "only on a private unix socket, without archiving or replication (as the\n"
     "data directory's owner, else postgres, when run as root). Then checks:\n"
     "every database accepts a connection, every table can be read, btree\n"
     "indexes pass amcheck where it is available, and the statements of\n"
     "--check-sql succeed (a statement returning one boolean must return true).\n"
     "Measures restore, replay, startup and checks: their sum is the achieved\n"
     "RTO. The achieved RPO is 0 when the replay reached the WAL the source\n"
     "server had flushed when the drill started (an idle cluster whose last\n"
     "segment is archived loses nothing), else the drill's start minus the\n"
     "last recovered transaction; unknown when the server never came up.\n"
     "Stops the server and removes the scratch directory (unless\n"
     "--keep), also on failure and on SIGINT or SIGTERM. Records the drill in\n"
     "the repository; --report writes JSON, --metrics-file Prometheus metrics.\n"
     "--history [--output json] lists the recorded drills (info and metrics\n"
     "too): a record this user may not read is skipped with a warning. As root\n"
     "the record gets the owner of its folder in a local repository.\n"
     "--dump [DUMP_ID]\n"
     "drills a logical dump instead (the newest of --dbname, or of any\n"
     "database, postgres last): a new cluster (initdb), its globals and the\n"
     "dump restored. The timeline is chosen as restore chooses it (walden help\n"
     "restore): two timelines that both go on after a branch fail the drill\n"
     "until --target-timeline chooses.\n"
     "Holds the readers' lock (lock-path) shared: expire does not run meanwhile.\n"
     "\nExit status: 0 passed and both targets met; 4 the drill failed (restore,\n"
     "server start, recovery or a check); 5 passed, but a target was missed;\n"
     "1 the drill could not run or was interrupted; 2 bad usage or configuration.\n"},
    {NULL, 0, 0, NULL, NULL, NULL, NULL},
};

const cli_command *cli_command_find(const char *name)
{
    for (const cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* `--name VALUE` as help and the man pages show it */
void cli_option_flag(const walden_option_info *o, char *out, size_t cap)
{
    static const char *const value[] = {
        [WALDEN_OPT_STRING] = " VALUE",
        [WALDEN_OPT_PATH] = " PATH",
        [WALDEN_OPT_INT] = " N",
        [WALDEN_OPT_ENUM] = " WORD",
        [WALDEN_OPT_DURATION] = " DURATION",
        [WALDEN_OPT_BOOL] = "",
    };
    snprintf(out, cap, "--%s%s", o->name, value[o->type]);
}

/* whether `word` is one of the '|'-separated `choices` */
static bool choice_in(const char *choices, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = choices; p;) {
        if (strncmp(p, word, n) == 0 && (p[n] == '|' || p[n] == '\0'))
            return true;
        p = strchr(p, '|');
        p = p ? p + 1 : NULL;
    }
    return false;
}

const char *cli_option_default(const walden_option_info *o, const char *command)
{
    const char *choices = command ? walden_option_choices(o, command) : NULL;
    /* a default the command does not allow is another command's */
    if (!o->default_value || (choices && !choice_in(choices, o->default_value)))
        return NULL;
    return o->default_value;
}

static void print_option(const walden_option_info *o, const char *command)
{
    char flag[64];
    cli_option_flag(o, flag, sizeof(flag));
    printf("  %-28s %s", flag, walden_option_help(o, command));
    const char *choices = walden_option_choices(o, command);
    if (choices)
        printf(" (%s)", choices);
    const char *dflt = cli_option_default(o, command);
    if (dflt)
        printf(" (default: %s)", dflt);
    if (!command && strcmp(o->commands, "*") != 0)
        printf(" [%s]", o->commands);
    printf("\n");
}

int cli_option_common(const walden_option_info *o)
{
    return strcmp(o->commands, "*") == 0;
}

void cli_print_usage(void)
{
    printf("usage: walden [--option value]... COMMAND [ARGS]\n\n"
           "walden backs up PostgreSQL: WAL archiving, online base backups and\n"
           "pg_dump dumps, compressed and encrypted, into a repository; restores to\n"
           "any point in time, keeps a recovery window, and proves restores by drills.\n"
           "\nCommands:\n");
    for (const cli_command *c = cli_commands; c->name; c++)
        printf("  %-16s %s\n", c->name, c->summary);
    printf("  %-16s %s\n", "help [COMMAND]", "describe a command and its options");
    printf("  %-16s %s\n", "version", "print the versions of walden and its libraries");
    printf("\nOptions (also WALDEN_NAME in the environment, or name = value in the\n"
           "config file; a flag beats the environment, which beats the file). Every\n"
           "command takes these:\n");
    for (const walden_option_info *o = walden_option_list(); o->name; o++)
        if (cli_option_common(o))
            print_option(o, NULL);
    printf("\nand these only the commands in brackets (a flag given to another\n"
           "command is refused):\n");
    for (const walden_option_info *o = walden_option_list(); o->name; o++)
        if (!cli_option_common(o))
            print_option(o, NULL);
    printf("\nSee walden help COMMAND, man walden, and docs/ for the full documentation.\n");
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
    printf("\nOptions:\n");
    for (const walden_option_info *o = walden_option_list(); o->name; o++)
        if (!cli_option_common(o) && walden_option_applies(o, c->name))
            print_option(o, c->name);
    printf("\nand the options every command takes:");
    int col = 80;
    for (const walden_option_info *o = walden_option_list(); o->name; o++) {
        if (!cli_option_common(o))
            continue;
        int w = (int)strlen(o->name) + 3;
        if (col + w > 78) {
            printf("\n ");
            col = 1;
        }
        printf(" --%s", o->name);
        col += w;
    }
    printf("\n(walden --help; the s3-*, azure-* and net-* ones for repo = s3://... or\n"
           "azure://...).\n");
    return EXIT_OK;
}
