/*
 * walden.h - the public API of libwalden.
 *
 * libwalden does all the work of walden: configuration, the repository, the
 * stream pipeline (compression, encryption, checksums), storage drivers and
 * the PostgreSQL-facing commands. The `walden` CLI uses only this header.
 * Longer than 1,000 lines: it is one header on purpose, as curl's and
 * SQLite's are (a program includes one file, the ABI check reads one), cut
 * into sections instead.
 *
 * Conventions (see docs/internals/errors.md):
 * - Functions return 0 on success and a negative walden_error_code on failure.
 *   The message of the failure is kept per thread: walden_error_last().
 * - Output parameters come first; an object returned through `**out` belongs
 *   to the caller and is released with the matching _free/_close function.
 *   Every _free/_close accepts NULL.
 * - Error codes are append-only: a retired code keeps its number.
 *
 * Structs the caller allocates (walden_push_result, walden_restore_result,
 * walden_expire_result, walden_verify_result, walden_upgrade_result,
 * walden_archiver_state, walden_push_failure) start with a `version` field:
 * the caller sets it with the struct's _INIT macro, e.g.
 *     walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
 * and the library writes only the fields that version has. A release that
 * adds fields appends them and raises the version, so a program built
 * against an older header keeps working with a newer library; a version the
 * library does not know (0: never set, or a newer header than the library)
 * is refused with WALDEN_EINVAL before anything is done. Versions were
 * chosen over opaque structs with accessors because these are plain
 * results, read field by field right after the call: a struct on the stack
 * stays one declaration and allocates nothing (archive-push runs once per
 * WAL segment). Structs the library allocates or owns (returned through
 * `**out` or passed to a callback) only grow at their end and need no
 * version.
 *
 * Callbacks that return an int (list walks, problem reports): 0 goes on; a
 * non-zero return stops the call, which returns it when it is negative (a
 * walden_error_code: the callback's own failure, with whatever last error
 * it left) and WALDEN_EUSER when it is positive, so a function never
 * returns a positive value.
 *
 * Threads (docs/internals/api.md):
 * - The library needs no global set-up; every function may be called from
 *   any thread. Errors are per thread.
 * - A walden_config may be read (walden_config_get and the typed getters,
 *   commands that take it as const) by several threads at once; setting or
 *   loading options must not overlap any other use of that config.
 * - A walden_repo is used by one thread at a time; separate handles (of the
 *   same area too) may be used by separate threads at once. The commands'
 *   locks between processes apply between threads as well.
 * - walden_log_set_level may be called at any time; walden_log_set_file
 *   and walden_log_set_callback too (they take the log's lock). Log lines
 *   come from whichever thread logs, worker threads included.
 * - A command's callbacks are called as its documentation says (the
 *   calling thread unless said otherwise) and never by two threads at once.
 * - walden_version_text, walden_option_list and the other tables are
 *   constant once made and may be read from any thread.
 * - The library starts threads and child processes of its own (worker
 *   pools, pg_dump, pg_restore, psql); it installs no signal handlers and
 *   changes no process-wide state other than its own log settings and the
 *   non-dumpable flag once a secret is held (docs/security-local.md).
 *   A program should ignore SIGPIPE, as the CLI does, so that a child that
 *   exits early fails a write instead of killing it.
 */
#ifndef WALDEN_WALDEN_H
#define WALDEN_WALDEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(WALDEN_BUILDING_LIBRARY)
#define WALDEN_EXTERN __attribute__((visibility("default")))
#else
#define WALDEN_EXTERN
#endif

#define WALDEN_VERSION_MAJOR 0
#define WALDEN_VERSION_MINOR 1
#define WALDEN_VERSION_PATCH 0
#define WALDEN_VERSION "0.1.0"

/* The initializer of a versioned struct the caller allocates: its version
 * set, every other field zero. C++ (11 and later) gets a value-initialized
 * copy from a lambda: an aggregate initializer naming one field would make
 * g++ -Wextra warn about the others. */
#ifdef __cplusplus
#define WALDEN_STRUCT_INIT_(type, v)                                                               \
    ([] {                                                                                          \
        type r_{};                                                                                 \
        r_.version = (v);                                                                          \
        return r_;                                                                                 \
    }())
#else
#define WALDEN_STRUCT_INIT_(type, v)                                                               \
    {                                                                                              \
        .version = (v)                                                                             \
    }
#endif

/* ---- errors ---------------------------------------------------------- */

typedef enum walden_error_code {
    WALDEN_OK = 0,
    WALDEN_ERROR = -1,     /* failure without a more precise code */
    WALDEN_ENOMEM = -2,    /* out of memory */
    WALDEN_EINVAL = -3,    /* bad argument, option, value or input file */
    WALDEN_ENOTFOUND = -4, /* the object does not exist */
    WALDEN_EEXISTS = -5,   /* the object exists already */
    WALDEN_EIO = -6,       /* input/output error */
    WALDEN_ECORRUPT = -7,  /* stored data fails its integrity check */
    WALDEN_EKEY = -8,      /* passphrase missing or wrong, data not decryptable */
    WALDEN_EMISMATCH = -9, /* other cluster, or differs from the archived copy */
    WALDEN_EPG = -10,      /* PostgreSQL connection or query failed */
    WALDEN_EVERSION = -11, /* repository format newer than this walden */
    WALDEN_ENOSPC = -12,   /* no space left on the device */
    WALDEN_EPERM = -13,    /* permission denied */
    WALDEN_ELOCKED = -14,  /* another walden process holds the lock */
    WALDEN_ENET = -15,     /* network failure (object stores) */
    WALDEN_ETIMEOUT = -16, /* waited too long (WAL not archived in time) */
    WALDEN_EAUTH = -17,    /* a stored object failed authentication (not written by walden) */
    WALDEN_EUSER = -18     /* a callback of the caller stopped the call (a positive return) */
} walden_error_code;

typedef struct walden_error {
    int code;            /* a walden_error_code */
    const char *message; /* one line, never NULL */
} walden_error;

/* The last error set on this thread. Never NULL; code 0 when none was set. */
WALDEN_EXTERN const walden_error *walden_error_last(void);
/* Clears the last error of this thread. */
WALDEN_EXTERN void walden_error_clear(void);
/* A short constant name for a code, e.g. "corrupt". */
WALDEN_EXTERN const char *walden_error_name(int code);

/* ---- versions and logging --------------------------------------------- */

/* "walden X.Y.Z" and the versions of the libraries in use, one per line.
 * The string is static, made once (from any thread). */
WALDEN_EXTERN const char *walden_version_text(void);

typedef enum walden_log_level {
    WALDEN_LOG_ERROR = 0,
    WALDEN_LOG_WARN = 1,
    WALDEN_LOG_INFO = 2,
    WALDEN_LOG_DEBUG = 3
} walden_log_level;

/* Log lines go to stderr at or below `level` (default WALDEN_LOG_WARN),
 * each with a timestamp and the pid; with a log file set they are appended
 * there too; with a callback set they go to it instead of stderr. */
WALDEN_EXTERN void walden_log_set_level(walden_log_level level);
/* Parses "error", "warn", "info" or "debug". */
WALDEN_EXTERN int walden_log_level_parse(const char *text, walden_log_level *out);
/* Appends to `path` from now on (opened once per call, so a log file that
 * logrotate moved away is left alone by the next run); NULL or "" stops. */
WALDEN_EXTERN int walden_log_set_file(const char *path);
/*
 * Receives the library's log lines at or below the level instead of stderr
 * (a log file set with walden_log_set_file still gets them): `message` is
 * the line's text alone (no timestamp, pid or level; one line, valid during
 * the call). Called from whichever thread logs, worker threads included,
 * never by two threads at once (under the log's lock): it must be quick and
 * must not call walden_log (a line it logs is dropped), and from it
 * walden_log_set_callback does nothing and walden_log_set_file fails
 * (WALDEN_EINVAL). Once
 * walden_log_set_callback returns, the previous callback is no longer
 * called. NULL: back to stderr.
 */
typedef void (*walden_log_cb)(walden_log_level level, const char *message, void *ctx);
WALDEN_EXTERN void walden_log_set_callback(walden_log_cb cb, void *ctx);
/* Whether a line at `level` would be logged: 1 or 0. */
WALDEN_EXTERN int walden_log_enabled(walden_log_level level);
/* Logs one line at `level` (printf format), as the library's own lines are:
 * for a program's own messages (the CLI's progress without a terminal). */
WALDEN_EXTERN void walden_log(walden_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- configuration ---------------------------------------------------- */

/*
 * Every option can be given as a command-line flag, an environment variable
 * WALDEN_NAME (upper case, '-' as '_') or `name = value` in the config file.
 * A flag beats the environment, which beats the file, which beats the
 * default. Values are checked when set; an unknown name or a bad value is
 * refused with WALDEN_EINVAL and a message naming it.
 */
typedef struct walden_config walden_config;

typedef enum walden_config_source {
    WALDEN_SOURCE_DEFAULT = 0,
    WALDEN_SOURCE_FILE = 1,
    WALDEN_SOURCE_ENV = 2,
    WALDEN_SOURCE_FLAG = 3
} walden_config_source;

typedef enum walden_option_type {
    WALDEN_OPT_STRING,
    WALDEN_OPT_PATH,
    WALDEN_OPT_INT,
    WALDEN_OPT_ENUM,
    WALDEN_OPT_DURATION,
    WALDEN_OPT_BOOL
} walden_option_type;

/* walden_option_info.flags */
#define WALDEN_OPTF_REPEAT 1    /* a flag may be repeated: values joined by '\n' */
#define WALDEN_OPTF_FLAG_ONLY 2 /* command line only: not read from the environment or a file */

typedef struct walden_option_info {
    const char *name; /* e.g. "compress-level" */
    walden_option_type type;
    const char *default_value; /* NULL when there is none */
    const char *choices;       /* for enums: "zstd|gzip|none" (every command's); else NULL */
    int secret;                /* never printed */
    const char *help;          /* one line, for `walden help` and the man pages */
    /* The commands that take the option, separated by blanks, or "*" for
     * every command. The CLI refuses the flag for any other command; the
     * environment and the config file may hold it (one file serves all). */
    const char *commands;
    int flags;        /* WALDEN_OPTF_* */
    int64_t min, max; /* WALDEN_OPT_INT: the allowed range, checked when set */
    /* For docs/configuration.md (markdown; NULL: from the fields above):
     * what a value looks like, the default as said to people, and the
     * longer description. */
    const char *value_doc, *default_doc, *doc;
} walden_option_info;

/* The table of all options, ending with an entry whose name is NULL. It
 * lives in the library because the library reads the environment and
 * config files and checks values; the CLI, its help, the docs and the
 * man pages are all made from it. */
WALDEN_EXTERN const walden_option_info *walden_option_list(void);
WALDEN_EXTERN const walden_option_info *walden_option_find(const char *name);
/* The commands the table knows, NULL-terminated, in the order of
 * `walden --help`. */
WALDEN_EXTERN const char *const *walden_command_names(void);
/* 1 when `command` takes the option (its `commands` names it or is "*"),
 * else 0. */
WALDEN_EXTERN int walden_option_applies(const walden_option_info *o, const char *command);
/* The option's allowed values and help for one command: a command may
 * allow fewer values (backup's `type`) or need its own words. Never NULL
 * for help; NULL choices when the option is not an enum. */
WALDEN_EXTERN const char *walden_option_choices(const walden_option_info *o, const char *command);
WALDEN_EXTERN const char *walden_option_help(const walden_option_info *o, const char *command);

WALDEN_EXTERN int walden_config_new(walden_config **out);
WALDEN_EXTERN void walden_config_free(walden_config *cfg);

/* Sets an option unless a source of higher precedence set it already. */
WALDEN_EXTERN int walden_config_set(walden_config *cfg, const char *name, const char *value,
                                    walden_config_source source);
/* Reads WALDEN_* variables from `envp` (NULL-terminated "NAME=value"). */
WALDEN_EXTERN int walden_config_load_env(walden_config *cfg, char *const *envp);
/* Reads a config file. A missing file is an error only when `required`.
 * A file readable by group or others that holds a secret logs a warning. */
WALDEN_EXTERN int walden_config_load_file(walden_config *cfg, const char *path, int required);
/* The value of an option (its default when unset), or NULL when it has none. */
WALDEN_EXTERN const char *walden_config_get(const walden_config *cfg, const char *name);
WALDEN_EXTERN walden_config_source walden_config_source_of(const walden_config *cfg,
                                                           const char *name);
/* Typed values. Each value was checked when it was set, and every
 * default is checked by the unit tests, so these cannot fail: asking for
 * an option of another type, or an unknown one, is a caller's bug and
 * asserts.
 *   walden_config_bool:    a yes/no option: 1 or 0 (0 when unset without
 *                          a default);
 *   walden_config_int:     a whole-number option within its range, or
 *                          `unset` when it has neither value nor default;
 *   walden_config_seconds: a duration option in seconds, or `unset`;
 *   walden_config_is:      1 when an enum option's value is `choice`. */
WALDEN_EXTERN int walden_config_bool(const walden_config *cfg, const char *name);
WALDEN_EXTERN int64_t walden_config_int(const walden_config *cfg, const char *name, int64_t unset);
WALDEN_EXTERN int64_t walden_config_seconds(const walden_config *cfg, const char *name,
                                            int64_t unset);
WALDEN_EXTERN int walden_config_is(const walden_config *cfg, const char *name, const char *choice);
/* Checks the values of the options that `command` takes against that
 * command's allowed values (walden_option_choices): WALDEN_EINVAL naming
 * the option, the value and the command. A config file and the
 * environment serve every command: their values that another command
 * takes (backup's type = full, for restore) are left to that one. */
WALDEN_EXTERN int walden_config_check_command(const walden_config *cfg, const char *command);
/* `*out`: the value of the option `name` as `command` reads it, by the rule
 * of walden_config_check_command: NULL when the value (or the default) is
 * another command's; WALDEN_EINVAL for a value `command` does not take. */
WALDEN_EXTERN int walden_config_choice(const walden_config *cfg, const char *name,
                                       const char *command, const char **out);
/* Parses "90s", "15m", "1h", "30d", "2w" into seconds. */
WALDEN_EXTERN int walden_duration_parse(const char *text, int64_t *seconds);
/* A yes/no value, in any case: y, yes, true, on, 1 (1) or n, no, false,
 * off, 0 (0); -1 for anything else. */
WALDEN_EXTERN int walden_bool_parse(const char *text);

/* ---- repository ------------------------------------------------------- */

typedef struct walden_repo walden_repo;

/* Creates the repository area of the configured cluster: records the
 * PostgreSQL version and system identifier (from `pgdata`'s pg_control, or
 * from the server through libpq when `pgdata` is unset), the compression and,
 * with a passphrase configured, creates the encryption key. Refuses an area
 * that exists (WALDEN_EEXISTS) and a newer format (WALDEN_EVERSION). */
WALDEN_EXTERN int walden_repo_init(const walden_config *cfg);

/* Opens the configured cluster's area. Checks its format version. The
 * passphrase is only needed (and only checked) when something is read back.
 * The handle keeps the cluster, the repository and the lock folder (options
 * cluster, repo, lock-path) as they are now: a command given the handle and
 * a configuration locks and acts on the handle's cluster, and reads only its
 * own options from the configuration.
 * The handle may start a short-lived thread (it prepares OpenSSL's
 * algorithm tables while the repository's files are read): close it before
 * the process exits. */
WALDEN_EXTERN int walden_repo_open(walden_repo **out, const walden_config *cfg);
/* The area's verification key (Ed25519 public key, 64 hex digits and a
 * NUL into hex): what option verify-key takes on hosts that read the area
 * without its signing key file. WALDEN_EAUTH when it is not known yet
 * (docs/security.md). */
WALDEN_EXTERN int walden_repo_verify_key(walden_repo *repo, char hex[65]);
/* Releases the handle, after waiting for the thread walden_repo_open may
 * have started. The repository's key is wiped, with the copy the calling
 * thread keeps loaded for decryption; another thread of the application
 * that decrypted through this handle keeps its loaded copy until it ends
 * or closes a repository itself (walden's own worker threads end with the
 * call that started them). */
WALDEN_EXTERN void walden_repo_close(walden_repo *repo);

typedef struct walden_repo_info {
    int format_version;
    const char *cluster;
    uint64_t system_id;
    int pg_version;       /* e.g. 150018, or the major * 10000 */
    const char *compress; /* default compression recorded at init */
    int compress_level;
    int encrypted;
} walden_repo_info;

/* ---- repo-upgrade ------------------------------------------------------ */

#define WALDEN_UPGRADE_RESULT_VERSION 1
#define WALDEN_UPGRADE_RESULT_INIT                                                                 \
    WALDEN_STRUCT_INIT_(walden_upgrade_result, WALDEN_UPGRADE_RESULT_VERSION)

typedef struct walden_upgrade_result {
    unsigned int version; /* WALDEN_UPGRADE_RESULT_VERSION (set by the caller) */
    int already;          /* the area had format 2 already: nothing was done */
    int committed;        /* the area has format 2 now (cluster.conf switched) */
    int created_sign_key; /* the signing key file was made by this run */
    char verify_key[65];  /* the area's verification key (hex), once known */
    char sign_key_file[4096];
    uint64_t wal_signed;     /* WAL objects renamed to their signed names */
    uint64_t wal_done;       /* WAL objects signed by an earlier, interrupted run */
    uint64_t backups_signed; /* backups whose manifest, backup.stored, backup.info are signed */
    uint64_t dumps_signed;   /* dump manifests signed */
    uint64_t records_signed; /* drill records signed */
    uint64_t unproven;       /* objects that failed their checks: not signed */
    uint64_t unreadable;     /* objects that could not be read: the upgrade did not finish */
} walden_upgrade_result;

/* Called once per object that failed its checks and is left out (not
 * signed): `object` relative to the repository's root, `message` one line.
 * Non-zero stops the upgrade (before the switch), which returns it
 * (WALDEN_EUSER for a positive value). */
typedef int (*walden_upgrade_cb)(const char *object, const char *message, void *ctx);

/*
 * Upgrades the configured cluster's area from format 1 (unsigned) to
 * format 2 in place (docs/commands/repo-upgrade.md): makes the signing key
 * file (or takes the one an interrupted run made), checks every object
 * (an encrypted area: key.conf opens with the passphrase; every backup,
 * dump and WAL file decrypts and matches its recorded digests; WAL page
 * headers match the name and the system identifier), signs what passed,
 * renames WAL objects to their signed names, rewrites key.conf in format 2
 * and switches cluster.conf to format 2 last. Resumable and idempotent.
 * Objects that fail are reported through `cb` and not signed; the switch is
 * then made only with option drop-unproven (result->committed says). An
 * unencrypted area needs option trust-unencrypted-contents. Returns 0 when
 * the run ended (committed or not); an error otherwise.
 */
WALDEN_EXTERN int walden_repo_upgrade(const walden_config *cfg, walden_upgrade_cb cb, void *ctx,
                                      walden_upgrade_result *result);

/* Calls `cb` with the name of every initialized cluster area in the
 * configured repository, in name order; a non-zero return of `cb` stops
 * the walk and is returned (WALDEN_EUSER for a positive value). */
WALDEN_EXTERN int walden_repo_list_clusters(const walden_config *cfg,
                                            int (*cb)(const char *cluster, void *ctx), void *ctx);

/* Information about an open repository; valid while the repo is open. */
WALDEN_EXTERN const walden_repo_info *walden_repo_get_info(const walden_repo *repo);

/* Re-wraps the repository key under a new passphrase. The current passphrase
 * comes from the configuration; nothing else in the repository changes. */
WALDEN_EXTERN int walden_repo_change_passphrase(walden_repo *repo, const char *new_passphrase);

/* ---- WAL archive ------------------------------------------------------ */

#define WALDEN_PUSH_RESULT_VERSION 1
#define WALDEN_PUSH_RESULT_INIT WALDEN_STRUCT_INIT_(walden_push_result, WALDEN_PUSH_RESULT_VERSION)

typedef struct walden_push_result {
    unsigned int version; /* WALDEN_PUSH_RESULT_VERSION (set by the caller) */
    int already_archived; /* identical content was in the archive already */
    uint64_t raw_size;
    uint64_t stored_size;
    uint8_t raw_sha256[32];
} walden_push_result;

/* Archives one WAL segment, .partial, .history or .backup file. Returns 0
 * only once the file is durable in the repository. Refuses a file that is
 * not WAL (WALDEN_EINVAL), one of another cluster (WALDEN_EMISMATCH), and a
 * name archived before with different content (WALDEN_EMISMATCH), leaving
 * the archived copy as it is. `result` may be NULL. */
WALDEN_EXTERN int walden_archive_push(walden_repo *repo, const char *path,
                                      walden_push_result *result);

/* Restores the archived file `walfile` to `dest` (written under a temporary
 * name, verified, then renamed). WALDEN_ENOTFOUND when the archive does not
 * have it; WALDEN_ECORRUPT or WALDEN_EKEY when the stored copy cannot be
 * read back intact. */
WALDEN_EXTERN int walden_archive_get(walden_repo *repo, const char *walfile, const char *dest);

typedef struct walden_wal_entry {
    const char *name; /* e.g. "000000010000000000000003" */
    uint64_t stored_size;
    const char *compress;   /* "zstd", "gzip" or "none" */
    int64_t stored_time_ms; /* when it was stored, Unix ms; 0: unknown */
} walden_wal_entry;

typedef int (*walden_wal_cb)(const walden_wal_entry *entry, void *ctx);
/* Calls `cb` for every archived WAL file in name order; a non-zero return
 * of `cb` stops the walk and is returned (WALDEN_EUSER for a positive
 * value). */
WALDEN_EXTERN int walden_archive_list(walden_repo *repo, walden_wal_cb cb, void *ctx);

/* A run of WAL segments of one timeline: from `first` to `last`. */
typedef struct walden_wal_range {
    uint32_t timeline;
    char first[25], last[25];
    uint64_t segments;
} walden_wal_range;

typedef struct walden_wal_summary {
    walden_wal_range *ranges; /* contiguous runs, by timeline, then segment */
    size_t n_ranges;
    walden_wal_range *gaps; /* segments missing between two runs of a timeline */
    size_t n_gaps;
    char min[25], max[25]; /* lowest and highest segment (any timeline); "" when none */
    int64_t max_time_ms;   /* when `max` was stored (0: unknown) */
    uint64_t segments;     /* segment files (not .partial, .backup, .history) */
    uint64_t history_files;
    uint64_t stored_size;  /* bytes of every WAL object */
    uint64_t segment_size; /* proven by a backup's start LSN, else inferred from the names */
} walden_wal_summary;

/* The shape of the WAL archive: its runs and gaps per timeline. Needs no
 * passphrase. Free with walden_wal_summary_free. */
WALDEN_EXTERN int walden_wal_summary_get(walden_repo *repo, walden_wal_summary **out);
WALDEN_EXTERN void walden_wal_summary_free(walden_wal_summary *s);

/*
 * The recovery window: the earliest and latest moment a restore can reach
 * (Unix ms; both 0 when nothing can be restored). From: the stop time of the
 * oldest backup whose WAL, start to stop, is all in the archive. To: the
 * newest such backup's stop time, or, when the archive goes on without a
 * gap from that backup's stop segment to the newest segment, the time that
 * segment was stored (its transactions are at most that recent: an
 * approximation from above, by the archiving delay). Needs no passphrase.
 */
WALDEN_EXTERN int walden_recovery_window(walden_repo *repo, const walden_wal_summary *wal,
                                         int64_t *from_ms, int64_t *to_ms);

/*
 * The timelines of the archive (docs/commands/info.md, "Timelines"): every
 * timeline that has segments, a history file or a backup, with where it
 * branched off, its newest segment and its newest backup, and the timeline
 * an end-of-archive restore follows (docs/commands/restore.md, "Which
 * timeline"). Reading the history files needs the key in an encrypted
 * area: without it `history_unread` is set and the parents are unknown.
 */
typedef struct walden_timeline_switch {
    uint32_t timeline; /* an ancestor */
    uint64_t lsn;      /* where the history left it */
} walden_timeline_switch;

typedef struct walden_timeline {
    uint32_t timeline;
    uint32_t parent;                 /* 0: none (the first timeline of the archive) or unknown */
    uint64_t branch_lsn;             /* where it left `parent` (0 without a parent) */
    walden_timeline_switch *history; /* its ancestors, oldest first (its history file) */
    size_t n_history;
    int has_history;        /* its NNNNNNNN.history file is in the archive */
    int history_missing;    /* a timeline above the archive's first without its history file */
    uint64_t segments;      /* its archived segments */
    char newest_wal[25];    /* its newest segment; "" when none */
    char newest_backup[64]; /* the newest backup on it; "" when none */
    int parent_grows;       /* the archive holds segments of the parent after the branch point's */
    int grows;              /* segments of it or of a timeline descending from it are archived */
    int stray; /* branched off after the newest backup started, and no backup of its own */
} walden_timeline;

typedef struct walden_timelines {
    walden_timeline *v; /* ascending by number */
    size_t n;
    int history_unread;       /* encrypted and no key: history files not read */
    uint32_t follow;          /* what an end-of-archive restore follows; 0: it refuses */
    char follow_reason[1024]; /* why it follows `follow`, or why it refuses */
} walden_timelines;

/* Reads the timelines (the archive's listing, its history files, the
 * backups' summaries); `wal` is the archive's summary. Free with
 * walden_timelines_free. */
WALDEN_EXTERN int walden_timelines_get(walden_repo *repo, const walden_wal_summary *wal,
                                       walden_timelines **out);
WALDEN_EXTERN void walden_timelines_free(walden_timelines *t);

/* ---- progress ---------------------------------------------------------- */

typedef struct walden_progress {
    const char *phase;    /* "copy", "wait-wal", "restore" */
    uint64_t bytes_done;  /* raw bytes processed so far */
    uint64_t bytes_total; /* 0 when unknown */
    uint64_t files_done;
    uint64_t files_total;
} walden_progress;

/* Called from the command's own thread, at most a few times a second. */
typedef void (*walden_progress_cb)(const walden_progress *p, void *ctx);

/* ---- physical backups -------------------------------------------------- */

typedef struct walden_backup_info {
    const char *id;                      /* e.g. "20261123T101502Z" */
    const char *type;                    /* "full", "diff" or "incr" */
    const char *status;                  /* "ok", or "errors" when page checksums failed */
    int64_t start_time_ms, stop_time_ms; /* the server's clock, Unix ms */
    uint64_t start_lsn, stop_lsn;
    uint32_t timeline;
    const char *start_wal, *stop_wal; /* first and last WAL segment needed */
    uint64_t size;                    /* raw bytes of all files */
    uint64_t stored_size;             /* bytes in the repository */
    uint64_t file_count;
    uint64_t page_errors; /* data pages whose checksum failed */
    int pg_version;       /* server_version_num */
    uint64_t system_id;
    const char *compress;
    int encrypted;
    const char *walden_version;
    /* diff and incr: the backup it refers to (restoring it restores that
     * one's chain too); "" for a full */
    const char *reference;
    /* Set by walden_backup_list, valid during the callback (walden_backup
     * leaves them NULL and 0). The chain: the ids of the backups a restore
     * of this one reads, following the references, from its full to it
     * (a full: its own id alone), chain_len of them. chain_error: "" when
     * the chain reaches a full; else why it does not, and the backup
     * cannot be restored: "reference ID is missing", "... is damaged" (its
     * summary; walden_backup_list returns that error after the listing),
     * "... is not older", "summary names no reference", "summary names a
     * reference for a full backup", each preceded by "ID's " when it is
     * said of an older member; the chain then starts at that member.
     * Restore, drill and backup's choice of a reference judge chains by
     * the same walk. */
    const char *const *chain;
    size_t chain_len;
    const char *chain_error;
} walden_backup_info;

/*
 * Takes an online full backup of the cluster at `pgdata` through the
 * configured connection (non-exclusive backup API) with `process-max`
 * parallel workers, and waits until the WAL from its start to its stop is
 * in the archive (`archive-timeout`). The manifest is written last: only
 * then does the backup exist. Refuses another cluster (WALDEN_EMISMATCH) and
 * a second backup of the cluster at the same time (WALDEN_ELOCKED). On
 * success *out (free with walden_backup_info_free) describes the backup;
 * page checksum failures are reported there (status "errors"), not as a
 * failure. `cb` may be NULL.
 */
WALDEN_EXTERN int walden_backup(walden_repo *repo, const walden_config *cfg, walden_progress_cb cb,
                                void *cb_ctx, walden_backup_info **out);
WALDEN_EXTERN void walden_backup_info_free(walden_backup_info *info);

typedef int (*walden_backup_cb)(const walden_backup_info *b, void *ctx);
/* Calls `cb` for every complete backup, oldest first, with its chain and
 * chain_error (walden_backup_info); a non-zero return of `cb` stops the
 * walk and is returned (WALDEN_EUSER for a positive value). Needs no
 * passphrase. A backup whose summary is damaged (it fails authentication
 * or does not parse) is not passed to `cb`: once the others are, its error
 * is returned (WALDEN_EAUTH, WALDEN_ECORRUPT or WALDEN_EVERSION, the
 * message naming it). Memory: the listing, and n ids for the chain. */
WALDEN_EXTERN int walden_backup_list(walden_repo *repo, walden_backup_cb cb, void *ctx);

/* ---- restore ------------------------------------------------------------ */

#define WALDEN_RESTORE_RESULT_VERSION 1
#define WALDEN_RESTORE_RESULT_INIT                                                                 \
    WALDEN_STRUCT_INIT_(walden_restore_result, WALDEN_RESTORE_RESULT_VERSION)

typedef struct walden_restore_result {
    unsigned int version; /* WALDEN_RESTORE_RESULT_VERSION (set by the caller) */
    char backup_id[32];
    uint64_t files;
    uint64_t size;
    uint32_t timeline;          /* the timeline recovery follows */
    char timeline_reason[1100]; /* why (docs/commands/restore.md, "Which timeline") */
} walden_restore_result;

/*
 * Restores a backup into the empty or missing directory `pgdata` and
 * prepares recovery: recovery.signal and, in postgresql.auto.conf,
 * `restore_command` (given by the caller: how to run archive-get) and the
 * recovery target from the configuration (target-time, target-lsn,
 * target-xid, target-name, target, target-action, target-timeline). The
 * backup is `set`, else the newest that ends before the target, else the
 * newest. Tablespaces go to their recorded locations or where
 * `tablespace-map` says. Every file is verified against its SHA-256;
 * nothing is written outside the target and tablespace directories.
 */
WALDEN_EXTERN int walden_restore(walden_repo *repo, const walden_config *cfg,
                                 const char *restore_command, walden_progress_cb cb, void *cb_ctx,
                                 walden_restore_result *result);

/* ---- logical dumps ------------------------------------------------------ */

typedef struct walden_dump_info {
    const char *id;       /* e.g. "20261129T041502Z-app": the run's time, then the name */
    const char *kind;     /* "database" (pg_dump -Fc) or "globals" (pg_dumpall -g, SQL) */
    const char *database; /* "" for globals */
    const char *status;   /* "ok", or "failed" (not usable; error says why) */
    const char *error;    /* "" when ok */
    int64_t start_time_ms, stop_time_ms; /* walden's clock, Unix ms */
    uint64_t size;                       /* bytes pg_dump wrote */
    uint64_t stored_size;                /* bytes in the repository */
    int pg_version;                      /* the server's server_version_num */
    const char *pg_dump_version;         /* e.g. "pg_dump (PostgreSQL) 15.8" */
    uint64_t system_id;
    const char *compress;
    int encrypted;
    const char *walden_version;
} walden_dump_info;

typedef int (*walden_dump_cb)(const walden_dump_info *d, void *ctx);

/*
 * Dumps databases of the configured server into the repository: the
 * databases named by `dbname` (one per line), or, when none is named,
 * every database that accepts connections and is not a template; and the
 * globals (roles, tablespaces) with pg_dumpall --globals-only. pg_dump
 * -Fc -Z0 streams through the repository's compression and encryption
 * straight into the store; `process-max` databases at a time. pg_dump's
 * stderr goes to the log. A dump whose pg_dump fails, is killed or whose
 * store fails is recorded as "failed" and never usable. `progress` (may be
 * NULL; phase "dump": bytes pg_dump wrote so far, dumps done of all) is
 * called about every 200 ms; `cb` (may be NULL) for each dump once all
 * ended. Returns 0 when every dump succeeded, else
 * the first failure (its message names the database), after all ended.
 */
WALDEN_EXTERN int walden_dump(walden_repo *repo, const walden_config *cfg,
                              walden_progress_cb progress, void *progress_ctx, walden_dump_cb cb,
                              void *ctx);
/* Calls `cb` for every recorded dump, failed ones included, oldest first;
 * a non-zero return of `cb` stops the walk and is returned (WALDEN_EUSER
 * for a positive value). Needs no passphrase. A damaged dump manifest is
 * treated as walden_backup_list treats a damaged backup summary. */
WALDEN_EXTERN int walden_dump_list(walden_repo *repo, walden_dump_cb cb, void *ctx);

/*
 * Restores a dump: `set` (else the newest usable dump of `dbname`, or of
 * the globals with `globals`):
 *   - with `to-file` (a path, or "-" for stdout): writes the dump file
 *     as pg_dump wrote it (pg_restore's input) there;
 *   - a globals dump: runs its SQL with psql in `target-dbname` (default
 *     postgres);
 *   - a database dump: with `create` first creates `target-dbname` empty
 *     from template0, then streams the dump into pg_restore -d
 *     target-dbname, adding `extra_args` (NULL-terminated, may be NULL);
 *     with `jobs` > 1 the dump goes to an unnamed temporary file first
 *     (pg_restore -j needs to seek), gone when walden exits.
 * The dump is verified against its SHA-256 as it streams; pg_restore's
 * failure is walden's. *out (may be NULL; free with walden_dump_info_free)
 * describes the dump restored.
 */
WALDEN_EXTERN int walden_dump_restore(walden_repo *repo, const walden_config *cfg,
                                      const char *const *extra_args, walden_dump_info **out);
WALDEN_EXTERN void walden_dump_info_free(walden_dump_info *info);

/* ---- check ------------------------------------------------------------------ */

typedef struct walden_check_item {
    const char *name;    /* "repository", "repository-writable", "encryption", "postgresql",
                          * "archive-command", "archive-arrival", "timelines" */
    int ok;              /* 1: fine; 0: a problem */
    const char *message; /* one line: what was found, or what to fix */
} walden_check_item;

typedef int (*walden_check_cb)(const walden_check_item *item, void *ctx);

/*
 * Checks the set-up: the repository opens (initialized, format known),
 * takes a write (an object written, read back, removed), and opens with
 * the configured passphrase when encrypted; the server is reachable and is
 * the repository's cluster; archive_mode is on and archive_command runs
 * walden archive-push %p (no archive_library); and, when all that is fine,
 * a transaction and pg_switch_wal() produce a segment that reaches this
 * repository within `archive-timeout`. `cb` hears each check in turn.
 * *problems counts the checks that failed; the return is an error only
 * when checking itself could not go on (the callback's non-zero return,
 * out of memory, a bad archive-timeout).
 */
WALDEN_EXTERN int walden_check(const walden_config *cfg, walden_check_cb cb, void *ctx,
                               int *problems);

#define WALDEN_ARCHIVER_STATE_VERSION 1
#define WALDEN_ARCHIVER_STATE_INIT                                                                 \
    WALDEN_STRUCT_INIT_(walden_archiver_state, WALDEN_ARCHIVER_STATE_VERSION)

typedef struct walden_archiver_state {
    unsigned int version; /* WALDEN_ARCHIVER_STATE_VERSION (set by the caller) */
    uint64_t archived_count, failed_count;
    char last_archived_wal[64], last_failed_wal[64]; /* "" when none */
    int64_t last_archived_ms, last_failed_ms;        /* 0 when none */
    uint64_t system_id;                              /* the server's cluster */
    /* the server's WAL written and flushed so far (pg_current_wal_flush_lsn())
     * and its timeline; both 0 on a standby, where they are not known */
    uint64_t flush_lsn;
    uint32_t timeline;
    /* where the WAL that carries data ends: flush_lsn, or the start of its
     * segment when that segment holds so far only records without data
     * (the snapshots an idle server logs on its own, checkpoints), which
     * walden reads with pg_read_binary_file when the role may (superuser,
     * pg_read_server_files); 0 on a standby */
    uint64_t data_lsn;
} walden_archiver_state;

/* The server's pg_stat_archiver, its system identifier, and (on a primary)
 * its flushed WAL, through the configured connection. */
WALDEN_EXTERN int walden_archiver_state_get(const walden_config *cfg, walden_archiver_state *out);

/* ---- archive-push's last failure ----------------------------------------- */

/*
 * archive-push keeps its last failure in a local state file,
 * <lock folder>/<cluster>-<repo hash>-archive-push-failure.state (not in the repository, not
 * in the data directory), removed by its next success; check, backup and
 * metrics quote it.
 */
#define WALDEN_PUSH_FAILURE_VERSION 1
#define WALDEN_PUSH_FAILURE_INIT                                                                   \
    WALDEN_STRUCT_INIT_(walden_push_failure, WALDEN_PUSH_FAILURE_VERSION)

typedef struct walden_push_failure {
    unsigned int version; /* WALDEN_PUSH_FAILURE_VERSION (set by the caller) */
    char segment[64];     /* the file's name */
    int64_t time;         /* Unix seconds */
    char reason[512];     /* one line */
} walden_push_failure;

/* Records that pushing `path` failed for `reason` (best effort: a record
 * that cannot be written is logged). */
WALDEN_EXTERN void walden_push_failure_record(const walden_config *cfg, const char *path,
                                              const char *reason);
/* Forgets the failure (a push succeeded). */
WALDEN_EXTERN void walden_push_failure_clear(const walden_config *cfg);
/* The recorded failure; WALDEN_ENOTFOUND when there is none. */
WALDEN_EXTERN int walden_push_failure_get(const walden_config *cfg, walden_push_failure *out);

/* ---- metrics ------------------------------------------------------------ */

/*
 * The cluster's state in Prometheus' text format (*out, malloc'ed; free
 * with walden_free): the newest backup's age, size and duration, the
 * newest dump of each database, the WAL archive's newest segment and its
 * age, gaps, the repository's stored bytes, the recovery window, the
 * server's archiver counters (when it answers), the newest drill. Every
 * metric has HELP and TYPE lines and a `cluster` label
 * (docs/commands/metrics.md). Needs no passphrase.
 */
WALDEN_EXTERN int walden_metrics(walden_repo *repo, const walden_config *cfg, char **out);
/* Writes text to path atomically (temporary file, fsync, rename), mode
 * 0644: for node_exporter's textfile collector. */
WALDEN_EXTERN int walden_metrics_write(const char *path, const char *text);
/* Frees memory walden handed to the caller. */
WALDEN_EXTERN void walden_free(void *p);

/* ---- retention ---------------------------------------------------------- */

typedef struct walden_expire_item {
    const char *kind;   /* "backup", "dump" or "wal" */
    const char *id;     /* backup or dump id; for WAL "FIRST..LAST" */
    const char *detail; /* dump: the database; WAL: the timeline; else "" */
    int expire;         /* 1: removed (or would be, with dry_run) */
    const char *reason; /* why, in words */
} walden_expire_item;

typedef int (*walden_expire_cb)(const walden_expire_item *item, void *ctx);

#define WALDEN_EXPIRE_RESULT_VERSION 1
#define WALDEN_EXPIRE_RESULT_INIT                                                                  \
    WALDEN_STRUCT_INIT_(walden_expire_result, WALDEN_EXPIRE_RESULT_VERSION)

typedef struct walden_expire_result {
    unsigned int version; /* WALDEN_EXPIRE_RESULT_VERSION (set by the caller) */
    uint64_t backups_kept, backups_expired;
    uint64_t dumps_kept, dumps_expired;
    uint64_t wal_files_removed; /* segments, .partial and .backup files */
    uint64_t stored_bytes_removed;
    char wal_from[25]; /* the oldest WAL segment kept ("" when all WAL stays) */
} walden_expire_result;

/*
 * Applies the retention policy (retention, retention-full-min,
 * retention-dump, retention-daily/-weekly/-monthly) at time `now` (Unix
 * seconds; 0: the clock): removes expired backups and dumps and the WAL
 * that no kept backup needs; history files stay. With dry_run nothing
 * changes. `cb` (may be NULL) hears of every decision with its reason,
 * backups, then dumps, then WAL ranges. Holds the cluster's backup and
 * dump locks, so nothing is expired under a running backup or dump. A
 * backup or dump loses its manifest first: interrupted, it is never shown
 * as usable, and the next expire (or backup, or dump) finishes the job.
 */
WALDEN_EXTERN int walden_expire(walden_repo *repo, const walden_config *cfg, int64_t now,
                                int dry_run, walden_expire_cb cb, void *ctx,
                                walden_expire_result *result);

/* ---- verify ------------------------------------------------------------ */

typedef enum walden_verify_kind {
    /* a stored file fails a check: its stored or raw SHA-256 or size, its
     * encryption (framing, authentication) or its compression */
    WALDEN_VERIFY_CORRUPT = 1,
    /* a file that a manifest lists, or a WAL segment that a backup needs,
     * is not in the repository */
    WALDEN_VERIFY_MISSING = 2,
    /* WAL segments missing between two archived segments of a timeline */
    WALDEN_VERIFY_WAL_GAP = 3,
    /* a file that could not be read (input/output, permission, network):
     * its state is unknown */
    WALDEN_VERIFY_UNREADABLE = 4,
    /* not a problem: what could not be checked without the key (a backup
     * taken by a walden that did not write backup.stored) */
    WALDEN_VERIFY_UNCHECKED = 5,
    /* a stored object failed authentication: its signature is missing or
     * does not verify for its name and place (forged, altered or moved) */
    WALDEN_VERIFY_FORGED = 6,
    /* the archive's timelines: a timeline that branched off after the
     * newest backup started without a backup of its own (a restored copy
     * archiving here?), or timelines a restore cannot choose between */
    WALDEN_VERIFY_TIMELINE = 7
} walden_verify_kind;

typedef struct walden_verify_problem {
    walden_verify_kind kind;
    const char *set;     /* the backup or dump id it belongs to; "" for the WAL archive */
    const char *object;  /* the file it concerns, relative to the repository's root,
                          * e.g. "main/backup/20261123T092725Z/data/base/5/1259.zst" */
    const char *message; /* one line */
} walden_verify_problem;

/* Called for each problem (and each UNCHECKED notice), possibly from a
 * worker thread, never by two threads at once. The strings live until
 * it returns. A non-zero return stops verify, which returns it
 * (WALDEN_EUSER for a positive value). */
typedef int (*walden_verify_cb)(const walden_verify_problem *p, void *ctx);

#define WALDEN_VERIFY_RESULT_VERSION 1
#define WALDEN_VERIFY_RESULT_INIT                                                                  \
    WALDEN_STRUCT_INIT_(walden_verify_result, WALDEN_VERIFY_RESULT_VERSION)

typedef struct walden_verify_result {
    unsigned int version;    /* WALDEN_VERIFY_RESULT_VERSION (set by the caller) */
    uint64_t backups, dumps; /* sets verified */
    uint64_t files;          /* backup and dump files read and checked */
    uint64_t wal_files;      /* WAL files read and checked */
    uint64_t bytes;          /* stored bytes read */
    uint64_t problems;       /* reports other than WALDEN_VERIFY_UNCHECKED */
    uint64_t unchecked;      /* WALDEN_VERIFY_UNCHECKED notices */
    int decoded;             /* files were decrypted and decompressed and their original
                              * SHA-256 checked: the repository is not encrypted or the
                              * key was unlocked */
} walden_verify_result;

/*
 * Re-reads the repository and checks it (docs/commands/verify.md):
 *   - every backup and dump file against the SHA-256 and size of its
 *     stored bytes (backup.stored, dump.manifest): needs no key;
 *   - with the key (a passphrase configured), or in a repository that is
 *     not encrypted, also decrypts and decompresses every file and checks
 *     the SHA-256 and size of the original;
 *   - every WAL file: without the key its encryption framing (whole, not
 *     truncated), with it (or unencrypted) its content against the SHA-256
 *     in its name;
 *   - that each backup has every WAL segment from its start to its stop,
 *     and that the archive has no gaps between its oldest and newest
 *     segment of a timeline.
 * With the option `set`, only that backup (and the WAL it needs) or dump.
 * `process-max` files are read at a time. Returns 0 when the verification
 * ran to its end, whatever it found (result->problems says); an error when
 * it could not (a wrong passphrase, `set` not found (WALDEN_ENOTFOUND), an
 * unreadable listing, `cb` stopping it). `cb` may be NULL; `result` too.
 * `progress` (may be NULL; phase "verify": stored bytes and files read so
 * far) is called from the calling thread, often: it limits its own rate.
 */
WALDEN_EXTERN int walden_verify(walden_repo *repo, const walden_config *cfg,
                                walden_progress_cb progress, void *progress_ctx,
                                walden_verify_cb cb, void *ctx, walden_verify_result *result);

/* ---- restore drills ------------------------------------------------------ */

typedef enum walden_drill_status {
    WALDEN_DRILL_PASSED = 0, /* restored, recovered, every check passed, targets met */
    WALDEN_DRILL_FAILED = 1, /* the restore, the server's start or recovery, or a check failed */
    WALDEN_DRILL_MISSED = 2  /* everything passed, but the RTO or the RPO target was missed */
} walden_drill_status;

typedef struct walden_drill_check {
    const char *name;     /* "connect", "read", "amcheck" or "sql" */
    const char *database; /* where it ran */
    const char *result;   /* "pass", "fail" or "skip" */
    const char *detail;   /* one line: what was checked, or why it failed or was skipped */
    double seconds;
} walden_drill_check;

typedef struct walden_drill_result {
    const char *id;        /* the drill's id, its start time: "20261129T045002Z" */
    const char *cluster;   /* the cluster's name */
    const char *kind;      /* "backup", or "dump" for a drill of a logical dump */
    const char *backup_id; /* the backup (or dump) restored; "" when none could be chosen */
    walden_drill_status status;
    const char *error;                     /* why it failed, one line; "" otherwise */
    int64_t started_at_ms, finished_at_ms; /* walden's clock, Unix ms */
    /* the phases, in seconds: restore (choosing the backup, restoring its
     * files), replay (from the server's start until WAL replay ended),
     * startup (from there until it accepted connections, promoted), checks */
    double restore_seconds, replay_seconds, startup_seconds, checks_seconds;
    /* their sum: the achieved recovery time (of a failed drill: the time it
     * spent until it failed) */
    double rto_seconds;
    /* the achieved recovery point: 0 when the replay reached the source's
     * flushed WAL (see source_lsn), else started_at minus recovered_to;
     * < 0 when unknown (the server never came up) */
    double rpo_seconds;
    /* the point in time the restored server reached: the newer of the last
     * replayed transaction's commit time (pg_last_xact_replay_timestamp())
     * and the backup's stop time; 0 when unknown */
    int64_t recovered_to_ms;
    int64_t last_xact_ms; /* pg_last_xact_replay_timestamp(); 0: none replayed */
    int64_t rto_target_seconds, rpo_target_seconds;
    int rto_met, rpo_met;             /* 0 for a failed drill */
    const walden_drill_check *checks; /* in the order they ran; NULL in the history */
    size_t n_checks;
    uint64_t checks_passed, checks_failed, checks_skipped;
    const char *scratch_dir; /* the scratch directory kept (`keep`); "" once removed */
    /* the source server's archiver (pg_stat_archiver), when it could be
     * reached through the configured connection: */
    int archiver_known;
    const char *last_archived_wal; /* "" when none */
    int64_t last_archived_ms;      /* 0: never */
    uint64_t archive_failed_count;
    /* the timeline the drill's recovery followed and why; 0 and "" in the
     * history and when the restore did not get that far */
    uint32_t timeline;
    const char *timeline_reason;
    /* the source server's flushed WAL when the drill started (0: unknown,
     * the server not reachable, a standby or another cluster), and the end
     * of the WAL the restored server replayed (0: unknown). A drill to the
     * end of the archive whose replay reached the source's flushed WAL lost
     * nothing written before it started: its RPO is 0, however long the
     * cluster was idle (docs/commands/drill.md) */
    uint64_t source_lsn, replayed_lsn;
    /* the restored backup's type ("full", "diff", "incr"; "" for a dump
     * drill, when none was chosen, and in the history) and, for a diff or
     * incr, the backup it refers to (its chain was restored with it; ""
     * otherwise) */
    const char *backup_type, *backup_reference;
} walden_drill_result;

/* What a drill restores. */
typedef enum walden_drill_kind {
    WALDEN_DRILL_BACKUP = 0, /* a backup, recovered with the archive's WAL */
    WALDEN_DRILL_DUMP = 1    /* a logical dump, restored into a new cluster */
} walden_drill_kind;

/*
 * Cancellation of a drill: the caller makes one, hands it to walden_drill
 * (params.cancel) and may call walden_drill_cancel on it at any time, from
 * any thread or from a signal handler, while the drill runs. One canceller
 * serves one drill at a time and must outlive it; once cancelled it stays
 * so (the next drill needs a new one). Drills running at once in one
 * process (each with its own canceller, or none) do not disturb each
 * other.
 */
typedef struct walden_drill_canceller walden_drill_canceller;
/* Returns WALDEN_ENOMEM when out of memory. */
WALDEN_EXTERN int walden_drill_canceller_new(walden_drill_canceller **out);
WALDEN_EXTERN void walden_drill_canceller_free(walden_drill_canceller *c);
/* Asks the drill that runs with `c` to stop: its restore stops at the next
 * file, its server (when running) gets SIGQUIT; it stops the server,
 * removes its scratch directory, records nothing and returns WALDEN_ERROR.
 * Called before the drill starts, the drill stops at its first step.
 * Async-signal-safe (it sets an atomic flag and sends a signal) and
 * thread-safe: meant for SIGINT and SIGTERM handlers. */
WALDEN_EXTERN void walden_drill_cancel(walden_drill_canceller *c);

#define WALDEN_DRILL_PARAMS_VERSION 1
/* What a drill does, beside the options of `cfg` (targets, scratch-dir,
 * keep, check-sql, report, metrics-file, target-time...). Start from
 * WALDEN_DRILL_PARAMS_INIT: fields added later get their defaults there. */
typedef struct walden_drill_params {
    unsigned version;       /* WALDEN_DRILL_PARAMS_VERSION */
    walden_drill_kind kind; /* a backup (default) or a dump */
    const char *set;        /* the backup or dump to restore; NULL or "": choose */
    /* a dump drill without `set`: the newest usable dump of one of these
     * databases; none: of any database */
    const char *const *dbnames;
    size_t n_dbnames;
    /* a backup drill: how the server runs archive-get (as for
     * walden_restore) */
    const char *restore_command;
    walden_progress_cb progress; /* may be NULL */
    void *progress_ctx;
    walden_drill_canceller *cancel; /* may be NULL: the drill cannot be cancelled */
} walden_drill_params;
#define WALDEN_DRILL_PARAMS_INIT                                                                   \
    {                                                                                              \
        WALDEN_DRILL_PARAMS_VERSION, WALDEN_DRILL_BACKUP, NULL, NULL, 0, NULL, NULL, NULL, NULL    \
    }

/*
 * Proves that a backup restores, and how long that takes: restores the
 * backup (params->set, else the newest; with `target-time` the newest that ends
 * before it) into a new scratch directory (0700) under `scratch-dir`
 * (default TMPDIR, else /tmp), tablespaces inside it too; recovers to the
 * end of the archive or to `target-time` (then promotes), with
 * params->restore_command (how to run archive-get, as for walden_restore); starts
 * a PostgreSQL (pg_ctl of the backup's version, see `pg-bin`) on it that
 * listens only on a unix socket in a private folder of the scratch
 * directory, without archiving, replication or TCP; run as root, the
 * server runs as the owner of the backed-up data directory, else as
 * `postgres`. Once it accepts connections the checks run: every database
 * accepts a connection, every table (and TOAST table) can be read, btree
 * indexes pass amcheck's bt_index_check where the extension is installed,
 * and the statements of `check-sql` succeed (in `pgdatabase`, default
 * postgres; a statement returning one boolean must return true). The
 * server is then stopped (immediate) and the scratch directory removed
 * unless `keep`. Compares the achieved RTO and RPO with `rto-target` and
 * `rpo-target`. Records the drill in the repository (<cluster>/drill/),
 * writes the JSON report to `report` and Prometheus metrics to
 * `metrics-file` when set (each atomically: temporary file, rename).
 *
 * params->progress (may be NULL) hears the steps from the calling thread: the
 * restore's bytes (phase "restore"), then "recovery" while the server
 * replays WAL, "checks" (dump drills: "restore-dump"); it limits its own
 * rate.
 *
 * Returns 0 when the drill reached a verdict, whatever it is (passed,
 * failed, missed): *out (free with walden_drill_result_free) says which.
 * Returns an error with *out NULL when it could not run at all (a bad
 * option or params, an unreadable check-sql file, walden_drill_cancel);
 * with *out set when only writing a report or the record failed.
 *
 * Thread-safety: drills of different repositories may run at once in
 * separate threads; `repo` and `cfg` are the drill's while it runs.
 */
/*
 * With params->kind WALDEN_DRILL_DUMP, a logical dump instead: params->set
 * (a database dump), else the newest usable dump of one of
 * params->dbnames, else of any database. A new
 * cluster is made with initdb (as the same user, in the same scratch
 * directory, isolated the same way) and started; the globals of the
 * dump's run (when there are) and then the dump are restored into it with
 * walden_dump_restore (database created from template0); then the same
 * checks. Phases: startup (initdb and start), restore (the dump's restore),
 * replay 0, checks; the RPO counts from the dump's start (pg_dump's
 * snapshot).
 */
WALDEN_EXTERN int walden_drill(walden_repo *repo, const walden_config *cfg,
                               const walden_drill_params *params, walden_drill_result **out);
WALDEN_EXTERN void walden_drill_result_free(walden_drill_result *r);

/* The recorded drills, oldest first: `checks` is NULL, the counts are set.
 * A non-zero return of `cb` stops the walk and is returned (WALDEN_EUSER
 * for a positive value). Needs no passphrase. A record this user may not
 * read (permission denied) is skipped with a warning in the log; a corrupt
 * one is an error. */
typedef int (*walden_drill_cb)(const walden_drill_result *d, void *ctx);
WALDEN_EXTERN int walden_drill_history(walden_repo *repo, walden_drill_cb cb, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
