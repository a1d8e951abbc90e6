/*
 * options.c - the table of every walden option: its type, default, allowed
 * values and range, whether it is secret, which commands take it, and the
 * texts of the help, the docs and the man pages.
 *
 * The table lives in the library, not in the CLI, because the library owns
 * options: it reads the environment and config files, checks each value
 * once when it is set, and hands typed values to the code that uses them
 * (config.c). The CLI builds its parsing, its refusals of misplaced flags,
 * `walden help`, docs/configuration.md, each command page's options
 * section and the man pages from this one table, so none of them can
 * drift from what the code accepts (tests/unit/config/test_options.c and
 * the docs check of the test suite hold them to it).
 *
 * Adding an option: one entry here, with the commands that use it; then
 * run scripts/gen-docs.sh to regenerate the docs.
 */
#include <string.h>

#include "common/common.h"

/* the order of `walden --help` */
static const char *const commands[] = {"init",
                                       "archive-push",
                                       "archive-get",
                                       "archive-list",
                                       "repo-passphrase",
                                       "repo-upgrade",
                                       "backup",
                                       "restore",
                                       "dump",
                                       "restore-dump",
                                       "check",
                                       "metrics",
                                       "info",
                                       "expire",
                                       "verify",
                                       "drill",
                                       NULL};

static const walden_option_info options[] = {
    {.name = "config",
     .type = WALDEN_OPT_PATH,
     .default_value = "/etc/walden/walden.conf",
     .commands = "*",
     .help = "config file to read (a missing default file is ignored)",
     .value_doc = "path",
     .default_doc = "`/etc/walden/walden.conf`",
     .doc = "config file to read"},
    {.name = "repo",
     .type = WALDEN_OPT_PATH,
     .commands = "*",
     .help = "repository location: a directory, s3://BUCKET/PREFIX or azure://CONTAINER/PREFIX",
     .value_doc = "path or URL",
     .doc = "repository location: a directory (created by `init` if missing), "
            "`s3://BUCKET/PREFIX` ([S3](storage-s3.md)) or `azure://CONTAINER/PREFIX` "
            "([Azure](storage-azure.md)); `init` creates a missing bucket or container"},
    {.name = "cluster",
     .type = WALDEN_OPT_STRING,
     .default_value = "main",
     .commands = "*",
     .help = "name of the cluster's area in the repository",
     .value_doc = "name",
     .default_doc = "`main`",
     .doc = "the cluster's area in the repository; letters, digits, `_`, `-`, `.`, not "
            "starting with `.`"},
    {.name = "pgdata",
     .type = WALDEN_OPT_PATH,
     .commands = "backup check drill dump init metrics restore restore-dump",
     .help = "PostgreSQL data directory",
     .value_doc = "path",
     .doc = "PostgreSQL data directory (`init` reads the identity from its "
            "`global/pg_control`)"},
    {.name = "pghost",
     .type = WALDEN_OPT_STRING,
     .commands = "backup check drill dump init metrics restore-dump",
     .help = "PostgreSQL host or socket directory",
     .value_doc = "string",
     .default_doc = "pgdata's postmaster.pid, else libpq's",
     .doc = "PostgreSQL host or socket directory"},
    {.name = "pgport",
     .type = WALDEN_OPT_INT,
     .min = 1,
     .max = 65535,
     .commands = "backup check drill dump init metrics restore-dump",
     .help = "PostgreSQL port",
     .value_doc = "1–65535",
     .default_doc = "pgdata's postmaster.pid, else libpq's",
     .doc = "PostgreSQL port"},
    {.name = "pguser",
     .type = WALDEN_OPT_STRING,
     .commands = "backup check drill dump init metrics restore-dump",
     .help = "PostgreSQL user",
     .value_doc = "string",
     .default_doc = "libpq's",
     .doc = "PostgreSQL user"},
    {.name = "pgdatabase",
     .type = WALDEN_OPT_STRING,
     .commands = "backup check drill dump init metrics restore-dump",
     .help = "PostgreSQL database to connect to",
     .value_doc = "string",
     .default_doc = "libpq's",
     .doc = "database to connect to"},
    {.name = "compress",
     .type = WALDEN_OPT_ENUM,
     .default_value = "zstd",
     .choices = "zstd|gzip|none",
     .commands = "archive-push backup dump init",
     .help = "compression of new files; init records it as the repository default",
     .value_doc = "`zstd`, `gzip`, `none`",
     .default_doc = "`zstd` at `init`; afterwards what `init` recorded",
     .doc = "compression of new files"},
    {.name = "compress-level",
     .type = WALDEN_OPT_INT,
     .min = 1,
     .max = 22,
     .commands = "archive-push backup dump init",
     .help = "compression level: zstd 1-19 (default 3), gzip 1-9 (default 6)",
     .value_doc = "integer",
     .default_doc = "zstd 3, gzip 6",
     .doc = "zstd 1–19, gzip 1–9"},
    {.name = "encrypt-passphrase",
     .type = WALDEN_OPT_STRING,
     .secret = 1,
     .commands = "*",
     .help = "passphrase of the repository key (encrypts at init; needed to read)",
     .value_doc = "secret",
     .doc = "passphrase of the repository key: at `init` it makes the repository encrypted; "
            "reading back needs it"},
    {.name = "encrypt-passphrase-file",
     .type = WALDEN_OPT_PATH,
     .commands = "*",
     .help = "file whose first line is the passphrase",
     .value_doc = "path",
     .doc = "file whose first line is the passphrase"},
    {.name = "new-passphrase-file",
     .type = WALDEN_OPT_PATH,
     .flags = WALDEN_OPTF_FLAG_ONLY,
     .commands = "repo-passphrase",
     .help = "file whose first line is the new passphrase (default: standard input)",
     .value_doc = "path",
     .default_doc = "standard input",
     .doc = "`repo-passphrase`: the new passphrase, on the file's first line; only on the "
            "command line, since it is meaningful for that one run"},
    {.name = "sign-key-file",
     .type = WALDEN_OPT_PATH,
     .default_value = "/etc/walden/%c.sign-key",
     .commands = "*",
     .help = "host-local file of the area's signing key (mode 0600; %c is the cluster); made "
             "by init",
     .value_doc = "path",
     .default_doc = "`/etc/walden/%c.sign-key`",
     .doc = "the area's signing key (`%c`: the cluster), made by `init`, mode 0600; every "
            "command that writes needs it, and readers use its public half "
            "([security](security.md))"},
    {.name = "verify-key",
     .type = WALDEN_OPT_STRING,
     .commands = "*",
     .help = "the area's verification key (hex, printed by init and 'info --keys'): lets "
             "hosts without the signing key or passphrase read an unencrypted area",
     .value_doc = "64 hex digits",
     .doc = "the area's verification key, printed by `init`: lets a host without the signing "
            "key file (or, encrypted, the passphrase) authenticate what it reads"},
    {.name = "allow-unauthenticated",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "*",
     .help = "read an area of format 1 (nothing is signed): a writer of the repository could "
             "forge it",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "read an area of format 1, which has no signatures, with a warning (writing to "
            "it is refused)"},
    {.name = "drop-unproven",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "repo-upgrade",
     .help = "switch the area to format 2 even though some objects failed their checks (they "
             "are left unsigned: never restored)",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`repo-upgrade`: switch the area to format 2 even though some objects failed "
            "their checks; they stay unsigned under their old names and are never restored"},
    {.name = "trust-unencrypted-contents",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "repo-upgrade",
     .help = "sign the files of an unencrypted area as they are (nothing can prove who wrote "
             "them)",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`repo-upgrade`: sign the files of an unencrypted area as they are; nothing can "
            "prove who wrote them"},
    {.name = "process-max",
     .type = WALDEN_OPT_INT,
     .min = 1,
     .max = 64,
     .commands = "backup drill dump repo-upgrade restore verify",
     .help = "parallel workers of backup, restore, dump and verify (default: 1; restore and "
             "drill: the number of cores)",
     .value_doc = "1–64",
     .default_doc = "1; `restore`, `drill`: cores",
     .doc = "parallel workers of `backup` and `restore`; databases dumped at a time by `dump`; "
            "1 by default so that a nightly job does not take every core of the server"},
    {.name = "type",
     .type = WALDEN_OPT_ENUM,
     .default_value = "full",
     .choices = "full|diff|incr|default|immediate|standby",
     .commands = "backup restore",
     .help = "backup: full, diff (changes since the newest full) or incr (changes since the "
             "newest backup); restore: default (recover to the end of the archive or the "
             "target), immediate (only until consistent) or standby (standby.signal)",
     .value_doc = "`full`, `diff`, `incr`, `default`, `immediate`, `standby`",
     .default_doc = "`full`",
     .doc = "`backup`: `full` (every file), `diff` (the blocks changed since the newest full) "
            "or `incr` (the blocks changed since the newest backup of any type); `restore`: "
            "`default` (recover to the end of the "
            "archive or the target), `immediate` (only until the backup is consistent), "
            "`standby` (standby.signal, primary_conninfo). In a config file or the environment, "
            "which every command reads, the other command's values are ignored"},
    {.name = "primary-conninfo",
     .type = WALDEN_OPT_STRING,
     .secret = 1,
     .commands = "restore",
     .help = "restore --type standby: the connection to the primary (primary_conninfo)",
     .value_doc = "libpq connection string",
     .doc = "`restore --type standby`: written as `primary_conninfo`; without it the standby "
            "replays the archive only. Keep passwords in the server user's `~/.pgpass`"},
    {.name = "full-fallback",
     .type = WALDEN_OPT_BOOL,
     .default_value = "y",
     .commands = "backup",
     .help = "with --type diff or incr and no usable prior backup, take a full (no: refuse)",
     .value_doc = "yes/no",
     .default_doc = "`yes`",
     .doc = "`backup`: with `--type diff` or `incr` and no backup to refer to (none, one of an "
            "older walden, another compression or part size, a damaged chain), take a full "
            "backup and say so; `no`: refuse instead (exit status 1)"},
    {.name = "bundle",
     .type = WALDEN_OPT_ENUM,
     .default_value = "auto",
     .choices = "auto|yes|no",
     .commands = "backup",
     .help = "pack small files into bundle objects (auto: on S3 and Azure, off on a local disk)",
     .value_doc = "`auto`, `yes`, `no`",
     .default_doc = "`auto`",
     .doc = "`backup`: files of at most `bundle-limit` are packed into bundle objects of about "
            "`bundle-size`, each file a stream of its own at an offset (restore and verify fetch "
            "each bundle once and read its members from that copy), so a cluster "
            "of many small files costs a few requests instead of one per file. `auto`: on S3 "
            "and Azure, not on a local disk"},
    {.name = "bundle-size",
     .type = WALDEN_OPT_INT,
     .default_value = "16",
     .min = 1,
     .max = 1024,
     .commands = "backup",
     .help = "size in MiB at which a bundle is closed and the next one begun",
     .value_doc = "1–1024 (MiB)",
     .default_doc = "`16`",
     .doc = "`backup`: a bundle is closed once it holds this many MiB; restore and verify keep "
            "a few whole bundles at a time in temporary files ($TMPDIR)"},
    {.name = "bundle-limit",
     .type = WALDEN_OPT_INT,
     .default_value = "64",
     .min = 1,
     .max = 128,
     .commands = "backup",
     .help = "files of at most this many KiB go to bundles",
     .value_doc = "1–128 (KiB)",
     .default_doc = "`64`",
     .doc = "`backup`: with bundles on, files of at most this many KiB are bundled; larger "
            "ones are objects of their own"},
    {.name = "start-fast",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "backup",
     .help = "ask for an immediate checkpoint instead of a spread one",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`backup`: immediate checkpoint at the start (`no`: a spread one, paced as the "
            "server paces its own, so that a nightly backup does not load the server)"},
    {.name = "wal-summaries",
     .type = WALDEN_OPT_ENUM,
     .default_value = "auto",
     .choices = "auto|off",
     .commands = "backup",
     .help = "diff and incr on PostgreSQL 17+: read only the blocks the server's WAL summaries "
             "name (auto) or every block (off)",
     .value_doc = "`auto`, `off`",
     .default_doc = "`auto`",
     .doc = "`backup --type diff` or `incr` on PostgreSQL 17 and later with `summarize_wal = on` "
            "and data checksums or `wal_log_hints`: the blocks of a relation file that the WAL "
            "summaries since the reference's start do not name keep the reference's digests "
            "without being read (`auto`); the free space and visibility maps are read whole. "
            "Without usable summaries (another timeline, a gap, more than a million changed "
            "blocks) every block is read and the log says why. `off`: always read every block"},
    {.name = "archive-timeout",
     .type = WALDEN_OPT_DURATION,
     .default_value = "60s",
     .commands = "backup check",
     .help = "how long to wait for its WAL to reach the repository",
     .value_doc = "duration",
     .default_doc = "`60s`",
     .doc = "`backup`: how long to wait for its WAL to reach the repository"},
    {.name = "lock-path",
     .type = WALDEN_OPT_PATH,
     .default_value = "/run/walden",
     .commands = "archive-push backup check drill dump expire metrics repo-upgrade verify",
     .help = "folder of the lock files and of archive-push's failure record (when the default "
             "is missing: /tmp/walden-UID)",
     .value_doc = "path",
     .default_doc = "`/run/walden`; when it is missing and this user cannot make it, "
                    "`/tmp/walden-UID` (made 0700)",
     .doc = "folder of the lock files (`CLUSTER-HASH-WHAT.lock`, HASH from the repository "
            "location): one backup and one dump per cluster and repository at a time; expire "
            "refuses to run during a backup, dump, drill or verify of the cluster. A folder "
            "of another user than root or walden's own, or one every user may write without "
            "the sticky bit, is refused ([local security](security-local.md))"},
    {.name = "set",
     .type = WALDEN_OPT_STRING,
     .commands = "drill restore restore-dump verify",
     .help = "the backup to restore (default: chosen)",
     .value_doc = "backup id",
     .doc = "`restore`: the backup to restore"},
    {.name = "target-time",
     .type = WALDEN_OPT_STRING,
     .commands = "drill restore",
     .help = "recover up to this time (as recovery_target_time)",
     .value_doc = "time",
     .doc = "`restore`: recover up to this time (`recovery_target_time`)"},
    {.name = "target-lsn",
     .type = WALDEN_OPT_STRING,
     .commands = "restore",
     .help = "recover up to this LSN",
     .value_doc = "LSN",
     .doc = "`restore`: recover up to this LSN"},
    {.name = "target-xid",
     .type = WALDEN_OPT_STRING,
     .commands = "restore",
     .help = "recover up to this transaction id",
     .value_doc = "number",
     .doc = "`restore`: recover up to this transaction"},
    {.name = "target-name",
     .type = WALDEN_OPT_STRING,
     .commands = "restore",
     .help = "recover up to this restore point (pg_create_restore_point)",
     .value_doc = "string",
     .doc = "`restore`: recover up to this restore point"},
    {.name = "target",
     .type = WALDEN_OPT_ENUM,
     .choices = "immediate",
     .commands = "restore",
     .help = "'immediate' ends recovery as soon as the backup is consistent",
     .value_doc = "`immediate`",
     .doc = "`restore`: stop as soon as the backup is consistent"},
    {.name = "target-action",
     .type = WALDEN_OPT_ENUM,
     .choices = "promote|pause|shutdown",
     .commands = "restore",
     .help = "what the server does at the target (PostgreSQL's default: pause)",
     .value_doc = "`promote`, `pause`, `shutdown`",
     .default_doc = "PostgreSQL's (`pause`)",
     .doc = "`restore`: what the server does at the target"},
    {.name = "target-timeline",
     .type = WALDEN_OPT_STRING,
     .commands = "drill restore",
     .help = "timeline to recover along: a number, 'current' or 'latest' (default: chosen, see "
             "'walden help restore')",
     .value_doc = "number, `current`, `latest`",
     .default_doc = "chosen from the archive's timelines",
     .doc = "`restore`, `drill`: the timeline to follow; by default the one the archive's "
            "timelines point to ([which timeline](commands/restore.md)), refusing when two "
            "both go on"},
    {.name = "target-exclusive",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "restore",
     .help = "stop just before the target instead of just after it",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`restore`: stop just before the target"},
    {.name = "tablespace-map",
     .type = WALDEN_OPT_STRING,
     .flags = WALDEN_OPTF_REPEAT,
     .commands = "restore",
     .help = "OID=DIR, put tablespace OID in DIR (repeatable)",
     .value_doc = "`OID=DIR`",
     .doc = "`restore`: where tablespace OID goes; repeat the flag for several (one per line "
            "in the file or environment)"},
    {.name = "archive-mode",
     .type = WALDEN_OPT_ENUM,
     .default_value = "off",
     .choices = "off|preserve",
     .commands = "restore",
     .help = "'off' keeps the restored server from archiving; 'preserve' keeps the "
             "backup's archive_mode (a restore that replaces the primary)",
     .value_doc = "`off`, `preserve`",
     .default_doc = "`off`",
     .doc = "`restore`: `off` writes `archive_mode = off` (the restored server does not "
            "archive); `preserve` keeps the backup's setting, for a restore that replaces "
            "the primary"},
    {.name = "dbname",
     .type = WALDEN_OPT_STRING,
     .flags = WALDEN_OPTF_REPEAT,
     .commands = "drill dump restore-dump",
     .help = "a database to dump (repeatable; default: all); restore-dump: whose newest "
             "dump",
     .value_doc = "string",
     .doc = "`dump`: a database to dump; repeat the flag for several (one per line in the "
            "file or environment); none means all. `restore-dump`: restore the newest usable "
            "dump of this database"},
    {.name = "all",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "dump",
     .help = "every database that accepts connections (the default when no dbname is "
             "given)",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`dump`: every database that accepts connections (what `dump` does when no "
            "`dbname` is given); `--all` alone means yes"},
    {.name = "target-dbname",
     .type = WALDEN_OPT_STRING,
     .commands = "restore-dump",
     .help = "the database to restore into (globals: where psql connects)",
     .value_doc = "string",
     .default_doc = "— (`postgres` for globals)",
     .doc = "`restore-dump`: the database pg_restore restores into; for globals, where psql "
            "connects"},
    {.name = "create",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "restore-dump",
     .help = "create target-dbname first, empty, from template0",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`restore-dump`: create `target-dbname` first, empty, from `template0`"},
    {.name = "jobs",
     .type = WALDEN_OPT_INT,
     .min = 1,
     .max = 256,
     .commands = "restore-dump",
     .help = "parallel pg_restore jobs (through a temporary file)",
     .value_doc = "1–256",
     .default_doc = "1",
     .doc = "`restore-dump`: parallel pg_restore jobs (the dump goes to an unnamed temporary "
            "file in `TMPDIR` first)"},
    {.name = "to-file",
     .type = WALDEN_OPT_PATH,
     .commands = "restore-dump",
     .help = "write the dump file here ('-': stdout) instead of restoring it",
     .value_doc = "path or `-`",
     .doc = "`restore-dump`: write the dump file as pg_dump wrote it (custom format; the "
            "globals: SQL) there (`-`: stdout) instead of restoring it; an existing file is "
            "never overwritten"},
    {.name = "globals",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "restore-dump",
     .help = "restore the roles and tablespaces (pg_dumpall --globals-only) "
             "with psql",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`restore-dump`: restore the roles and tablespaces (`pg_dumpall --globals-only`) "
            "with psql"},
    {.name = "pg-bin",
     .type = WALDEN_OPT_PATH,
     .commands = "drill dump restore-dump",
     .help = "folder of pg_dump, pg_restore and psql (default: the server's version's, else "
             "PATH)",
     .value_doc = "path",
     .default_doc = "the cluster's version's (`/usr/lib/postgresql/MAJOR/bin`, "
                    "`/usr/pgsql-MAJOR/bin`), else `PATH`",
     .doc = "folder of `pg_dump`, `pg_dumpall`, `pg_restore`, `psql`, `pg_ctl`, `initdb`. A "
            "program from `pg-bin` or `PATH` must say (`--version`) that it is of the "
            "cluster's major version (`pg_ctl`, `initdb`) or of it or newer (`pg_dump`, "
            "`pg_dumpall`, `pg_restore`, `psql`); otherwise the command fails naming both "
            "versions ([PostgreSQL versions](postgresql-versions.md))"},
    {.name = "retention",
     .type = WALDEN_OPT_DURATION,
     .default_value = "30d",
     .commands = "backup expire metrics",
     .help = "every point in time this far back stays restorable (backups and WAL)",
     .value_doc = "duration",
     .default_doc = "`30d`",
     .doc = "`expire`: every point in time this far back stays restorable: backups ending "
            "inside it, the newest one ending before it, and the WAL from that one's start"},
    {.name = "retention-full-min",
     .type = WALDEN_OPT_INT,
     .default_value = "1",
     .min = 0,
     .max = 100000,
     .commands = "backup expire",
     .help = "full backups always kept, the newest, whatever their age",
     .value_doc = "integer",
     .default_doc = "`1`",
     .doc = "`expire`: this many newest full backups are kept whatever their age"},
    {.name = "retention-dump",
     .type = WALDEN_OPT_DURATION,
     .default_value = "30d",
     .commands = "dump expire",
     .help = "dumps this young are kept (and, per database, the newest older one)",
     .value_doc = "duration",
     .default_doc = "`30d`",
     .doc = "`expire`: dumps of each database ending inside it are kept, and the newest one "
            "before it"},
    {.name = "retention-daily",
     .type = WALDEN_OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = 100000,
     .commands = "expire",
     .help = "also keep the newest backup of each of the N newest days that have one",
     .value_doc = "integer",
     .default_doc = "`0` (off)",
     .doc = "`expire`: also keep the newest backup of each of the N newest UTC days that "
            "have one"},
    {.name = "retention-weekly",
     .type = WALDEN_OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = 100000,
     .commands = "expire",
     .help = "also keep the newest backup of each of the N newest ISO weeks that have one",
     .value_doc = "integer",
     .default_doc = "`0` (off)",
     .doc = "`expire`: ... of the N newest ISO weeks"},
    {.name = "retention-monthly",
     .type = WALDEN_OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = 100000,
     .commands = "expire",
     .help = "also keep the newest backup of each of the N newest months that have one",
     .value_doc = "integer",
     .default_doc = "`0` (off)",
     .doc = "`expire`: ... of the N newest calendar months"},
    {.name = "expire-auto",
     .type = WALDEN_OPT_BOOL,
     .default_value = "y",
     .commands = "backup dump",
     .help = "backup and dump run expire when they succeed",
     .value_doc = "yes/no",
     .default_doc = "`yes`",
     .doc = "`backup` and `dump` run `expire` when they succeed"},
    {.name = "dry-run",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "backup dump expire",
     .help = "print the plan, change nothing",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`expire`: print the plan, change nothing"},
    {.name = "output",
     .type = WALDEN_OPT_ENUM,
     .default_value = "text",
     .choices = "text|json",
     .commands = "drill expire info",
     .help = "text for people or json",
     .value_doc = "`text`, `json`",
     .default_doc = "`text`",
     .doc = "`info`, `expire`: for people, or [JSON](json.md)"},
    {.name = "s3-endpoint",
     .type = WALDEN_OPT_STRING,
     .commands = "*",
     .help = "S3 endpoint URL, https://host[:port] (default: AWS's for the region)",
     .value_doc = "URL",
     .default_doc = "`https://s3.REGION.amazonaws.com`",
     .doc = "S3 endpoint, `https://host[:port]` (`http://` for local servers)"},
    {.name = "s3-region",
     .type = WALDEN_OPT_STRING,
     .commands = "*",
     .help = "S3 region (default: AWS_REGION, else us-east-1)",
     .value_doc = "string",
     .default_doc = "`AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`",
     .doc = "S3 region (part of every signature)"},
    {.name = "s3-uri-style",
     .type = WALDEN_OPT_ENUM,
     .default_value = "host",
     .choices = "host|path",
     .commands = "*",
     .help = "S3 addressing: bucket in the host name or in the path",
     .value_doc = "`host`, `path`",
     .default_doc = "`host`",
     .doc = "bucket in the host name (`bucket.host`) or in the path (`host/bucket`)"},
    {.name = "s3-key",
     .type = WALDEN_OPT_STRING,
     .commands = "*",
     .help = "S3 access key id (default: AWS_ACCESS_KEY_ID)",
     .value_doc = "string",
     .default_doc = "`AWS_ACCESS_KEY_ID`",
     .doc = "S3 access key id"},
    {.name = "s3-key-secret",
     .type = WALDEN_OPT_STRING,
     .secret = 1,
     .commands = "*",
     .help = "S3 secret access key (default: AWS_SECRET_ACCESS_KEY)",
     .value_doc = "secret",
     .default_doc = "`AWS_SECRET_ACCESS_KEY` (only with the key from `AWS_ACCESS_KEY_ID`)",
     .doc = "S3 secret access key"},
    {.name = "s3-token",
     .type = WALDEN_OPT_STRING,
     .secret = 1,
     .commands = "*",
     .help = "S3 session token (default: AWS_SESSION_TOKEN)",
     .value_doc = "secret",
     .default_doc = "`AWS_SESSION_TOKEN` (only with the key from `AWS_ACCESS_KEY_ID`)",
     .doc = "S3 session token (temporary credentials)"},
    {.name = "s3-ca-file",
     .type = WALDEN_OPT_PATH,
     .commands = "*",
     .help = "CA certificates to verify the S3 endpoint",
     .value_doc = "path",
     .default_doc = "system CAs",
     .doc = "CA certificates to verify the S3 endpoint with"},
    {.name = "s3-verify-tls",
     .type = WALDEN_OPT_BOOL,
     .default_value = "yes",
     .commands = "*",
     .help = "verify the S3 endpoint's certificate",
     .value_doc = "yes/no",
     .default_doc = "`yes`",
     .doc = "verify the S3 endpoint's certificate and host name"},
    {.name = "s3-max-parts",
     .type = WALDEN_OPT_INT,
     .default_value = "10000",
     .min = 1,
     .max = 10000,
     .commands = "*",
     .help = "most parts per multipart upload the S3 store accepts (Swift's s3api: 1000)",
     .value_doc = "1 to 10000",
     .default_doc = "`10000`",
     .doc = "most parts per multipart upload the store accepts; AWS takes 10,000, Swift's "
            "s3api 1,000 unless `max_upload_part_num` is raised, some other stores fewer "
            "(see [storage-s3.md](storage-s3.md)); S3 only"},
    {.name = "azure-account",
     .type = WALDEN_OPT_STRING,
     .commands = "*",
     .help = "Azure storage account (default: AZURE_STORAGE_ACCOUNT)",
     .value_doc = "string",
     .default_doc = "`AZURE_STORAGE_ACCOUNT`",
     .doc = "Azure storage account"},
    {.name = "azure-key",
     .type = WALDEN_OPT_STRING,
     .secret = 1,
     .commands = "*",
     .help = "Azure account key, base64 (default: AZURE_STORAGE_KEY)",
     .value_doc = "secret",
     .default_doc = "`AZURE_STORAGE_KEY`",
     .doc = "account key (base64), for SharedKey authorization"},
    {.name = "azure-sas",
     .type = WALDEN_OPT_STRING,
     .secret = 1,
     .commands = "*",
     .help = "Azure SAS token (instead of azure-key)",
     .value_doc = "secret",
     .doc = "SAS token, instead of the key"},
    {.name = "azure-endpoint",
     .type = WALDEN_OPT_STRING,
     .commands = "*",
     .help = "Azure blob service URL (default: https://ACCOUNT.blob.core.windows.net)",
     .value_doc = "URL",
     .default_doc = "`https://ACCOUNT.blob.core.windows.net`",
     .doc = "blob service URL, as a connection string's `BlobEndpoint` (Azurite: "
            "`http://127.0.0.1:10000/devstoreaccount1`)"},
    {.name = "azure-ca-file",
     .type = WALDEN_OPT_PATH,
     .commands = "*",
     .help = "CA certificates to verify the Azure endpoint",
     .value_doc = "path",
     .default_doc = "system CAs",
     .doc = "CA certificates to verify the Azure endpoint with"},
    {.name = "azure-verify-tls",
     .type = WALDEN_OPT_BOOL,
     .default_value = "yes",
     .commands = "*",
     .help = "verify the Azure endpoint's certificate",
     .value_doc = "yes/no",
     .default_doc = "`yes`",
     .doc = "verify the Azure endpoint's certificate and host name"},
    {.name = "net-timeout",
     .type = WALDEN_OPT_DURATION,
     .default_value = "60s",
     .commands = "*",
     .help = "object stores: a request that moves no byte for this long is retried",
     .value_doc = "duration",
     .default_doc = "`60s`",
     .doc = "object stores: an attempt that moves no byte for this long fails and is retried "
            "(also the connect timeout, at most 30 s)"},
    {.name = "net-retry-time",
     .type = WALDEN_OPT_DURATION,
     .default_value = "60s",
     .commands = "*",
     .help = "object stores: how long one request is retried before walden gives up",
     .value_doc = "duration",
     .default_doc = "`60s`",
     .doc = "object stores: how long one request is retried (backoff with jitter) before "
            "walden gives up; an attempt that moved 1 MiB or more before failing does not "
            "count (at most 3 such per request)"},
    {.name = "rto-target",
     .type = WALDEN_OPT_DURATION,
     .default_value = "1h",
     .commands = "drill",
     .help = "the recovery time objective the drill must meet",
     .value_doc = "duration",
     .default_doc = "`1h`",
     .doc = "`drill`: the recovery time objective: the drill's restore, replay, startup and "
            "checks must fit in it"},
    {.name = "rpo-target",
     .type = WALDEN_OPT_DURATION,
     .default_value = "15m",
     .commands = "drill",
     .help = "the recovery point objective the drill must meet",
     .value_doc = "duration",
     .default_doc = "`15m`",
     .doc = "`drill`: the recovery point objective: the drill's start minus the point "
            "recovered to must fit in it"},
    {.name = "check-sql",
     .type = WALDEN_OPT_PATH,
     .commands = "drill",
     .help = "SQL file run on the restored server; every statement must succeed",
     .value_doc = "path",
     .doc = "`drill`: SQL run on the restored server; every statement must succeed, one "
            "returning a boolean must return true"},
    {.name = "scratch-dir",
     .type = WALDEN_OPT_PATH,
     .commands = "drill",
     .help = "folder in which the scratch directory is made (default: TMPDIR, else "
             "/tmp)",
     .value_doc = "path",
     .default_doc = "`TMPDIR`, else `/tmp`",
     .doc = "`drill`: the folder in which the drill makes its scratch directory"},
    {.name = "report",
     .type = WALDEN_OPT_PATH,
     .commands = "drill",
     .help = "write the report as JSON to this file",
     .value_doc = "path",
     .doc = "`drill`: write the [JSON report](json.md#walden-drill---report-file) there"},
    {.name = "metrics-file",
     .type = WALDEN_OPT_PATH,
     .commands = "drill metrics",
     .help = "write Prometheus metrics (textfile collector format) to this "
             "file",
     .value_doc = "path",
     .doc = "`drill`, `metrics`: write Prometheus metrics there (textfile-collector format), "
            "atomically, mode 0644"},
    {.name = "keep",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "drill",
     .help = "keep the scratch directory (the server is stopped all the same)",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`drill`: keep the scratch directory (the server is stopped anyway); `--keep` "
            "alone means yes"},
    {.name = "dump",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "drill",
     .help = "drill a logical dump (restored into a new cluster) instead of a backup",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`drill`: drill a logical dump (restored into a new cluster) instead of a "
            "backup; `--dump` alone means yes"},
    {.name = "history",
     .type = WALDEN_OPT_BOOL,
     .default_value = "n",
     .commands = "drill",
     .help = "list the past drills instead of running one",
     .value_doc = "yes/no",
     .default_doc = "`no`",
     .doc = "`drill`: list the recorded drills instead of running one"},
    {.name = "log-level",
     .type = WALDEN_OPT_ENUM,
     .default_value = "warn",
     .choices = "error|warn|info|debug",
     .commands = "*",
     .help = "how much to log on stderr",
     .value_doc = "`error`, `warn`, `info`, `debug`",
     .default_doc = "`warn`",
     .doc = "what is logged on stderr"},
    {.name = "log-file",
     .type = WALDEN_OPT_PATH,
     .commands = "*",
     .help = "also append log lines to this file",
     .value_doc = "path",
     .default_doc = "— (the [units](services.md#logs): `/var/log/walden/INSTANCE.log`)",
     .doc = "also append log lines to this file (made 0640 when missing; "
            "[modes](security-local.md#modes-of-the-files-walden-creates)); opened anew by "
            "every run, so logrotate needs no `copytruncate`"},
    {.name = "progress-interval",
     .type = WALDEN_OPT_DURATION,
     .default_value = "30s",
     .commands = "backup dump restore verify",
     .help = "without a terminal: log a progress line (log-level info) at every 10% and at "
             "least this often (0s: at every step)",
     .value_doc = "duration",
     .default_doc = "`30s`",
     .doc = "`backup`, `restore`, `dump`, `verify` when stderr is not a terminal: a progress "
            "line (at `log-level info`) at every 10% and at least this often; `0s` logs every "
            "step"},

    {.name = NULL},
};

/* What a command needs said differently, or allows less of, than the
 * option's own entry. */
typedef struct option_use {
    const char *option, *command;
    const char *choices; /* NULL: the option's */
    const char *help;    /* NULL: the option's */
} option_use;

static const option_use uses[] = {
    {"type", "backup", "full|diff|incr",
     "full (the default): every file; diff: the blocks changed since the newest full; incr: "
     "the blocks changed since the newest backup"},
    {"type", "restore", "default|immediate|standby",
     "default (the default): to the end of the archive or the target; immediate: until "
     "consistent; standby: standby.signal and primary-conninfo"},
    {"dry-run", "backup", NULL, "do not run the automatic expire (expire-auto) afterwards"},
    {"dry-run", "dump", NULL, "do not run the automatic expire (expire-auto) afterwards"},
    {"set", "restore-dump", NULL, "the dump to restore"},
    {"set", "verify", NULL, "only this backup (and the WAL it needs) or dump"},
    {"set", "drill", NULL, "the backup to drill (default: the newest); with --dump, the dump"},
    {"target-time", "drill", NULL, "recover the drill up to this time, not to the archive's end"},
    {"dbname", "restore-dump", NULL, "restore the newest usable dump of this database"},
    {"dbname", "drill", NULL, "with --dump: drill the newest dump of this database"},
    {"output", "drill", NULL, "drill --history: text for people or json"},
    {"process-max", "verify", NULL, "files read at a time (default: 1)"},
    {"process-max", "dump", NULL, "databases dumped at a time (default: 1)"},
    {"lock-path", "archive-push", NULL,
     "folder of the lock files, where a failure is recorded for check, backup and metrics"},
    {NULL, NULL, NULL, NULL},
};

const walden_option_info *walden_option_list(void)
{
    return options;
}

const walden_option_info *walden_option_find(const char *name)
{
    for (const walden_option_info *o = options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

const char *const *walden_command_names(void)
{
    return commands;
}

int walden_option_applies(const walden_option_info *o, const char *command)
{
    if (strcmp(o->commands, "*") == 0)
        return 1;
    size_t len = strlen(command);
    for (const char *p = o->commands; *p;) {
        size_t n = strcspn(p, " ");
        if (n == len && strncmp(p, command, n) == 0)
            return 1;
        p += n;
        p += strspn(p, " ");
    }
    return 0;
}

static const option_use *use_of(const walden_option_info *o, const char *command)
{
    for (const option_use *u = uses; command && u->option; u++)
        if (strcmp(u->option, o->name) == 0 && strcmp(u->command, command) == 0)
            return u;
    return NULL;
}

const char *walden_option_choices(const walden_option_info *o, const char *command)
{
    const option_use *u = use_of(o, command);
    return u && u->choices ? u->choices : o->choices;
}

const char *walden_option_help(const walden_option_info *o, const char *command)
{
    const option_use *u = use_of(o, command);
    return u && u->help ? u->help : o->help;
}
