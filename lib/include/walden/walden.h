/*
 * walden.h - the public API of libwalden.
 *
 * libwalden does all the work of walden: configuration, the repository, the
 * stream pipeline (compression, encryption, checksums), storage drivers and
 * the PostgreSQL-facing commands. The `walden` CLI uses only this header.
 *
 * Conventions (see docs/internals/errors.md):
 * - Functions return 0 on success and a negative walden_error_code on failure.
 *   The message of the failure is kept per thread: walden_error_last().
 * - Output parameters come first; an object returned through `**out` belongs
 *   to the caller and is released with the matching _free/_close function.
 *   Every _free/_close accepts NULL.
 * - Error codes are append-only: a retired code keeps its number.
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
    WALDEN_ETIMEOUT = -16  /* waited too long (WAL not archived in time) */
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
 * The string is static. */
WALDEN_EXTERN const char *walden_version_text(void);

typedef enum walden_log_level {
    WALDEN_LOG_ERROR = 0,
    WALDEN_LOG_WARN = 1,
    WALDEN_LOG_INFO = 2,
    WALDEN_LOG_DEBUG = 3
} walden_log_level;

/* Log lines go to stderr at or below `level`, each with a timestamp and the
 * pid; with a log file set they are appended there too. */
WALDEN_EXTERN void walden_log_set_level(walden_log_level level);
/* Parses "error", "warn", "info" or "debug". */
WALDEN_EXTERN int walden_log_level_parse(const char *text, walden_log_level *out);
WALDEN_EXTERN int walden_log_set_file(const char *path);

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

typedef struct walden_option_info {
    const char *name; /* e.g. "compress-level" */
    walden_option_type type;
    const char *default_value; /* NULL when there is none */
    const char *choices;       /* for enums: "zstd|gzip|none"; else NULL */
    int secret;                /* never printed */
    const char *help;          /* one sentence */
} walden_option_info;

/* The table of all options, ending with an entry whose name is NULL. */
WALDEN_EXTERN const walden_option_info *walden_option_list(void);
WALDEN_EXTERN const walden_option_info *walden_option_find(const char *name);

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
/* Parses "90s", "15m", "1h", "30d", "2w" into seconds. */
WALDEN_EXTERN int walden_duration_parse(const char *text, int64_t *seconds);

/* ---- repository ------------------------------------------------------- */

typedef struct walden_repo walden_repo;

/* Creates the repository area of the configured cluster: records the
 * PostgreSQL version and system identifier (from `pgdata`'s pg_control, or
 * from the server through libpq when `pgdata` is unset), the compression and,
 * with a passphrase configured, creates the encryption key. Refuses an area
 * that exists (WALDEN_EEXISTS) and a newer format (WALDEN_EVERSION). */
WALDEN_EXTERN int walden_repo_init(const walden_config *cfg);

/* Opens the configured cluster's area. Checks its format version. The
 * passphrase is only needed (and only checked) when something is read back. */
WALDEN_EXTERN int walden_repo_open(walden_repo **out, const walden_config *cfg);
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

/* Information about an open repository; valid while the repo is open. */
WALDEN_EXTERN const walden_repo_info *walden_repo_get_info(const walden_repo *repo);

/* Re-wraps the repository key under a new passphrase. The current passphrase
 * comes from the configuration; nothing else in the repository changes. */
WALDEN_EXTERN int walden_repo_change_passphrase(walden_repo *repo, const char *new_passphrase);

/* ---- WAL archive ------------------------------------------------------ */

typedef struct walden_push_result {
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
    const char *compress; /* "zstd", "gzip" or "none" */
} walden_wal_entry;

typedef int (*walden_wal_cb)(const walden_wal_entry *entry, void *ctx);
/* Calls `cb` for every archived WAL file in name order; a non-zero return
 * of `cb` stops the walk and is returned. */
WALDEN_EXTERN int walden_archive_list(walden_repo *repo, walden_wal_cb cb, void *ctx);

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
    const char *type;                    /* "full" */
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
/* Calls `cb` for every complete backup, oldest first. Needs no passphrase. */
WALDEN_EXTERN int walden_backup_list(walden_repo *repo, walden_backup_cb cb, void *ctx);

/* ---- restore ------------------------------------------------------------ */

typedef struct walden_restore_result {
    char backup_id[32];
    uint64_t files;
    uint64_t size;
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

#ifdef __cplusplus
}
#endif
#endif
