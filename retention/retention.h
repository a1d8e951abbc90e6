/*
 * retention.h - the retention policy engine (internal, not installed).
 *
 * A pure function: given a cluster's catalogue (backups, dumps, WAL ranges),
 * a policy and "now", wr_plan_build returns a plan that keeps or expires
 * every backup, every dump and every part of every WAL range, each decision
 * with a reason a person can read and a set of WR_WHY_* bits a program can
 * test. The rules are in docs/internals/retention.md.
 *
 * Contract:
 * - No I/O, no global state, no clock: "now" is an input. The same input
 *   gives the same plan, byte for byte, whatever the order of equal items.
 * - The plan is one allocation, owned by the caller, released with
 *   wr_plan_free. It holds no pointer into the catalogue: the catalogue may
 *   be freed before the plan. Scratch memory is released before returning.
 * - Decisions are in catalogue order: plan->backups[i] is about
 *   catalogue->backups[i], and so on.
 * - The caller passes no running backup (the cluster's lock sees to that)
 *   and no .history file: history files are never expired.
 * - Errors: WR_EINVAL for a catalogue or policy that makes no sense (bad WAL
 *   name, duplicate backup id, negative window...), WR_ENOMEM; the codes
 *   have the values of WALDEN_EINVAL and WALDEN_ENOMEM so lib/ can pass them
 *   on. The message goes to the caller's buffer. NULL pointers where an
 *   object is required are misuse: an assert.
 */
#ifndef WR_RETENTION_H
#define WR_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WR_OK 0
#define WR_ENOMEM (-2) /* == WALDEN_ENOMEM */
#define WR_EINVAL (-3) /* == WALDEN_EINVAL */

#define WR_DAY INT64_C(86400)
#define WR_DEFAULT_WINDOW (30 * WR_DAY)
#define WR_DEFAULT_DUMP_WINDOW (30 * WR_DAY)
#define WR_DEFAULT_FULL_MIN 1
#define WR_DEFAULT_WAL_SEGMENT_SIZE (UINT64_C(16) * 1024 * 1024)

/* A WAL segment file name: TTTTTTTTXXXXXXXXYYYYYYYY, upper-case hex. */
#define WR_WAL_NAME_LEN 24
/* Room for a reason and its NUL; longer reasons are cut, never overflow. */
#define WR_REASON_MAX 256
/* Room for an error message given to wr_plan_build. */
#define WR_ERROR_MAX 256

/* ---- the catalogue ---------------------------------------------------- */

typedef enum wr_backup_type {
    WR_BACKUP_FULL = 0,
    WR_BACKUP_INCR = 1, /* depends on `prior` (any type) */
    WR_BACKUP_DIFF = 2  /* depends on `prior` (normally a full; not enforced) */
} wr_backup_type;

typedef enum wr_backup_status {
    WR_BACKUP_OK = 0,        /* complete and restorable */
    WR_BACKUP_ERRORS = 1,    /* complete, with page checksum errors: usable */
    WR_BACKUP_FAILED = 2,    /* cannot be restored */
    WR_BACKUP_INCOMPLETE = 3 /* no manifest: cannot be restored */
} wr_backup_status;

typedef struct wr_backup {
    const char *id; /* unique, e.g. "20261123T101502Z"; opaque to the engine */
    wr_backup_type type;
    const char *prior; /* incr/diff: the id it depends on; NULL for a full */
    wr_backup_status status;
    int64_t start_time, stop_time; /* Unix seconds, UTC */
    uint32_t timeline;
    /* First and last WAL segment the backup needs. start_wal must be a valid
     * segment name when the status is OK or ERRORS; neither is read for a
     * FAILED or INCOMPLETE backup (may be NULL). */
    const char *start_wal, *stop_wal;
} wr_backup;

typedef enum wr_dump_status {
    WR_DUMP_OK = 0,
    WR_DUMP_FAILED = 1 /* also: incomplete */
} wr_dump_status;

typedef struct wr_dump {
    const char *id;       /* need not be unique across databases */
    const char *database; /* dumps are judged per database */
    wr_dump_status status;
    int64_t start_time, stop_time; /* Unix seconds, UTC */
} wr_dump;

/* A contiguous run of archived segments on one timeline, both ends
 * included. History files are not WAL ranges and are never expired. */
typedef struct wr_wal_range {
    uint32_t timeline; /* must match the names' first 8 digits */
    const char *first, *last;
} wr_wal_range;

typedef struct wr_catalog {
    const wr_backup *backups;
    size_t n_backups;
    const wr_dump *dumps;
    size_t n_dumps;
    const wr_wal_range *wal;
    size_t n_wal;
    /* The cluster's WAL segment size in bytes: a power of two from 1 MiB to
     * 1 GiB; 0 means 16 MiB. It fixes how names map to segment numbers. */
    uint64_t wal_segment_size;
} wr_catalog;

/* ---- the policy ------------------------------------------------------- */

typedef struct wr_policy {
    int64_t window;       /* seconds (>= 0) that stay restorable (`retention`) */
    uint32_t full_min;    /* newest usable full backups always kept */
    int64_t dump_window;  /* seconds (>= 0) of dumps kept (`retention-dump`) */
    uint32_t gfs_daily;   /* newest backup of the N newest days that have one; 0: off */
    uint32_t gfs_weekly;  /* ... ISO weeks (UTC) */
    uint32_t gfs_monthly; /* ... calendar months (UTC) */
} wr_policy;

/* The defaults: 30d window, full_min 1, 30d dump window, no GFS. */
void wr_policy_default(wr_policy *policy);

/* ---- the plan --------------------------------------------------------- */

/* Why an item is kept or expired: bits, several may be set; `reason`
 * says the same in words, "; "-joined. */
enum {
    /* keep */
    WR_WHY_WINDOW = 1u << 0,       /* stop time inside the window */
    WR_WHY_WINDOW_START = 1u << 1, /* newest one not newer than the window start */
    WR_WHY_FULL_MIN = 1u << 2,     /* one of the full_min newest fulls */
    WR_WHY_DAILY = 1u << 3,
    WR_WHY_WEEKLY = 1u << 4,
    WR_WHY_MONTHLY = 1u << 5,
    WR_WHY_PRIOR = 1u << 6, /* a kept incr/diff depends on it */
    /* its chain is broken (prior missing, not usable or not older): it
     * cannot be restored, but it stays while inside the window, with the
     * members of its chain that exist, so that the chain can be repaired
     * (its full put back); never usable, never the start of the kept WAL */
    WR_WHY_BROKEN_KEPT = 1u << 7,
    /* expire */
    WR_WHY_NOT_USABLE = 1u << 8, /* failed or incomplete */
    WR_WHY_BROKEN = 1u << 9,     /* its prior is missing or not usable, and it is
                                  * older than the window */
    WR_WHY_OLD = 1u << 10,       /* older than the window, nothing keeps it */
    /* WAL */
    WR_WHY_WAL_PITR = 1u << 12,     /* at or after the oldest kept backup's start */
    WR_WHY_WAL_BEFORE = 1u << 13,   /* before it */
    WR_WHY_WAL_NO_BACKUP = 1u << 14 /* no usable backup: all WAL kept */
};

typedef struct wr_decision {
    bool keep;
    unsigned why;               /* WR_WHY_* bits, never 0 */
    char reason[WR_REASON_MAX]; /* never empty */
} wr_decision;

/* A WAL range splits into an expired prefix and a kept suffix; either may
 * be empty (then its names are ""). */
typedef struct wr_wal_decision {
    uint32_t timeline;
    bool expire; /* some of the range expires: expire_first..expire_last */
    char expire_first[WR_WAL_NAME_LEN + 1], expire_last[WR_WAL_NAME_LEN + 1];
    unsigned expire_why;
    char expire_reason[WR_REASON_MAX];
    bool keep; /* some of the range stays: keep_first..keep_last */
    char keep_first[WR_WAL_NAME_LEN + 1], keep_last[WR_WAL_NAME_LEN + 1];
    unsigned keep_why;
    char keep_reason[WR_REASON_MAX];
} wr_wal_decision;

/* The oldest segment kept on a timeline that has WAL kept. */
typedef struct wr_wal_oldest {
    uint32_t timeline;
    char segment[WR_WAL_NAME_LEN + 1];
} wr_wal_oldest;

typedef struct wr_plan {
    int64_t now, window_start, dump_window_start; /* window_start = now - window */

    wr_decision *backups; /* n_backups, catalogue order */
    size_t n_backups, backups_kept, backups_expired;
    wr_decision *dumps; /* n_dumps, catalogue order */
    size_t n_dumps, dumps_kept, dumps_expired;
    wr_wal_decision *wal; /* n_wal, catalogue order */
    size_t n_wal;

    /* The kept backup whose start_wal begins the kept WAL (catalogue index;
     * -1 when no usable backup exists), and that segment name ("" then). */
    long wal_from_backup;
    char wal_from[WR_WAL_NAME_LEN + 1];
    /* Per timeline with kept WAL, ascending by timeline. */
    wr_wal_oldest *wal_oldest;
    size_t n_wal_oldest;
} wr_plan;

/*
 * Computes the plan for `catalog` under `policy` at time `now` (Unix
 * seconds). On success *out is the plan (free with wr_plan_free). On failure
 * *out is NULL, the return is WR_EINVAL or WR_ENOMEM and, when `err` is not
 * NULL, a one-line message naming the offending item is written to it
 * (err_size bytes, WR_ERROR_MAX is enough).
 */
int wr_plan_build(wr_plan **out, const wr_catalog *catalog, const wr_policy *policy, int64_t now,
                  char *err, size_t err_size);
/* Frees a plan; NULL does nothing. */
void wr_plan_free(wr_plan *plan);

/* The catalogue's words for types and statuses: "full", "incr", "diff";
 * "ok", "errors", "failed", "incomplete". WR_EINVAL for anything else. */
int wr_backup_type_parse(const char *text, wr_backup_type *out);
int wr_backup_status_parse(const char *text, wr_backup_status *out);

#endif
