/*
 * archive.h - the WAL archive inside a cluster's area (internal).
 *
 * A WAL file NAME is stored as
 *   <cluster>/wal/<first 16 hex digits of NAME>/NAME-<sha256 of raw>.<ext>
 * (history files directly in <cluster>/wal/), <ext> naming the compression.
 * The SHA-256 of the original file in the object name lets archive-push
 * tell an identical re-push from a conflicting one without reading the
 * stored copy (and so without the decryption key), and lets archive-get
 * verify what it restores.
 */
#ifndef WD_ARCHIVE_H
#define WD_ARCHIVE_H

#include <stdint.h>

#include "common/lock.h"
#include "io/stream.h"
#include "pg/pg.h"
#include "repo/repo.h"

/* The most a WAL file may have (docs/repository-format.md): a .history or
 * .backup file is a small text file; a segment or .partial is exactly one
 * segment long, and PostgreSQL's largest segment is 1 GiB. archive-push
 * refuses larger files, archive-get stops reading at these sizes. */
#define WD_WAL_TEXT_MAX (1024 * 1024)
#define WD_WAL_SEGMENT_MAX (1024u * 1024 * 1024)

typedef struct wd_wal_copy {
    char object[320]; /* object name inside the folder */
    uint8_t sha256[32];
    wd_compress compress;
    uint64_t stored_size;
    bool is_signed; /* the name carries a signature (format 2) */
    uint8_t sig[WD_SIG_LEN];
} wd_wal_copy;

/* Splits an object name "NAME-HEX64-HEX128[.ext]" (format 2) or
 * "NAME-HEX64[.ext]" (format 1, is_signed false) into its parts; EINVAL if
 * it is not one. */
int wd_wal_object_parse(const char *object, char *name, size_t name_cap, wd_wal_copy *copy);
/* Formats the object name of a signed WAL file into buf; -1 if it does not
 * fit. Every name stays below 255 bytes (the longest, a .backup file, is
 * 238). */
int wd_wal_object_name(const char *name, const uint8_t sha256[32], const uint8_t sig[WD_SIG_LEN],
                       wd_compress c, char *buf, size_t cap);

/* Checks a copy's signature over its raw SHA-256 (copy->sha256: set it to
 * what was read, where the content was read) and, encrypted, the encryption
 * header it was read with: WALDEN_EAUTH naming the object. Needs no key: the
 * header is in clear at the start of the stored bytes. A format-1 area
 * (allow-unauthenticated) passes. */
int wd_wal_copy_verify(walden_repo *repo, const char *name, const wd_wal_copy *copy,
                       const uint8_t *header);
/* Reads the encryption header of a stored copy (one ranged read). */
int wd_wal_copy_header(walden_repo *repo, const char *folder, const wd_wal_copy *copy,
                       uint8_t header[WD_CIPHER_HEADER_LEN]);

/* The folder of `name` relative to the storage root ("<cluster>/wal/<dir>"). */
char *wd_wal_folder(const walden_repo *repo, const char *name, const wd_wal_name *parsed);

/* Finds the stored copies of `name`: up to `cap` in copies, the number found
 * in *n (which may exceed cap). */
int wd_wal_find(walden_repo *repo, const char *folder, const char *name, wd_wal_copy *copies,
                size_t cap, size_t *n);

/* Whether WAL file `name` is in the archive (any copy). */
int wd_wal_present(walden_repo *repo, const char *name, bool *present);

/* ---- waiting for WAL to arrive (arrival.c) ---- */

/* Waits for WAL file `name` to reach the repository: looks every
 * WD_WAL_WAIT_POLL_MS until it is there (*arrived true) or `timeout_s`
 * seconds have passed since `since` (CLOCK_MONOTONIC; *arrived false, not
 * an error). `tick` (may be NULL) is called before every pause. A failed
 * look is returned as it is. */
#define WD_WAL_WAIT_POLL_MS 100
int wd_wal_wait(walden_repo *repo, const char *name, const struct timespec *since,
                int64_t timeout_s, void (*tick)(void *ctx), void *ctx, bool *arrived);
/* Why WAL does not arrive, for the message that says it did not: the
 * server's archiver state (pg_stat_archiver's last failure) and
 * archive-push's recorded failure for `repo`'s cluster
 * (wd_push_failure_describe). */
void wd_wal_why_missing(const walden_repo *repo, wd_pg_conn *c, char *buf, size_t cap);
/* After a push into `folder`: removes the abandoned temporary files there
 * (wd_storage_abandoned), for one segment in 16; failures are ignored. */
void wd_archive_sweep_temps(walden_repo *repo, const char *folder, const wd_wal_name *parsed);

/* Every archived WAL object, history files first, then by name: `cb` gets
 * the entry, the folder it is in and the object's name there. */
typedef int (*wd_wal_object_cb)(const walden_wal_entry *e, const char *folder, const char *object,
                                void *ctx);
int wd_wal_walk(walden_repo *repo, wd_wal_object_cb cb, void *ctx);

/* ---- the archive's shape (summary.c) ---- */

/* The archive's runs and gaps (walden_wal_summary_get), numbering segments
 * with `segment_size` when it is not 0 and the names allow it (a backup
 * proves the size: catalog/), else with the size the names suggest
 * (wd_wal_segments_per_log). */
int wd_wal_summary_read(walden_repo *repo, uint64_t segment_size, walden_wal_summary **out);

/* Segments per "log" (the middle 8 hex digits of a segment name), when no
 * backup proves the WAL segment size (the one size at which a backup's
 * start LSN lies in its start segment): inferred from the names: once the archive spans two logs,
 * the highest low part (last 8 digits) seen, plus one, rounded up to a power of two (16 MiB
 * segments: 256; between 4 and 4096); before that 256 (16 MiB, the
 * default), or more when a low part says so. Within one log every value
 * at least that large numbers the segments the same. */
uint64_t wd_wal_segments_per_log(uint32_t max_low, bool spans_logs);

/* The LSN where the newest archived segment of timeline `tli` ends (the
 * first byte it does not hold); 0 when the archive has no segment of it. */
uint64_t wd_wal_archived_end(const walden_wal_summary *s, uint32_t tli);

/* The highest timeline with a segment in the archive; 0 when it is empty. */
uint32_t wd_wal_newest_timeline(const walden_wal_summary *s);

/* archive-push's recorded failure for the cluster and repository of `at`
 * (failure.c; walden_push_failure_get reads the configuration's).
 * WALDEN_ENOTFOUND when there is none. */
int wd_push_failure_read(const wd_lock_place *at, walden_push_failure *out);
/* "; walden archive-push last failed at TIME on SEGMENT: REASON" from the
 * recorded failure, or "" when there is none: for messages about WAL that
 * did not arrive. */
void wd_push_failure_describe(const wd_lock_place *at, char *buf, size_t cap);

/* Restores archived `walfile` into memory, with every check walden_archive_get
 * makes: *data (free it with wd_free) and *len. */
int wd_archive_get_memory(walden_repo *repo, const char *walfile, uint8_t **data, size_t *len);

/* ---- timelines (timelines.c) ---- */

/* Parses the text of history file `name` into tl->history, tl->parent and
 * tl->branch_lsn (tl->timeline set): lines "timeline<TAB>X/Y<TAB>reason",
 * comments and blank lines skipped, timelines ascending and below
 * tl->timeline, switch points not decreasing; WALDEN_ECORRUPT naming the
 * file and line otherwise. */
int wd_timeline_history_parse(walden_timeline *tl, const char *name, const char *text, size_t len);
/* The decisions over timelines read (number, history, has_history,
 * history_missing, segments, newest_wal, newest_backup set): sorts them,
 * sets each parent to its nearest ancestor present, parent_grows, grows,
 * stray (against the newest backup's start LSN, when `has_newest`), and
 * follow with its reason. No I/O. */
void wd_timelines_settle(walden_timelines *t, uint64_t seg_size, uint64_t newest_start,
                         bool has_newest);
/* The timeline `tli` of `t`, or NULL. */
const walden_timeline *wd_timeline_find(const walden_timelines *t, uint32_t tli);
/* Whether a backup on timeline `tli` that ends at `stop_lsn` can recover
 * along timeline `target`: `tli` is `target`, or an ancestor of it that
 * `target`'s history leaves at or after `stop_lsn`. */
bool wd_timeline_reaches(const walden_timelines *t, uint32_t tli, uint64_t stop_lsn,
                         uint32_t target);
/* The timeline a restore follows, for `requested` (--target-timeline: NULL
 * or "" for walden's choice, a number, "latest", or "current", which gives
 * *follow = 0: the chosen backup's own). Refuses (WALDEN_ERROR, or
 * WALDEN_ENOTFOUND for a missing history file) with one line naming the
 * timelines when the choice is not safe to make; `why` gets the reason of
 * the choice. */
int wd_timeline_choose(const walden_timelines *t, const char *requested, uint32_t *follow,
                       char *why, size_t cap);
/* A backup as the timelines see it. */
typedef struct wd_timeline_backup {
    const char *id;
    uint32_t timeline;
    uint64_t start_lsn;
} wd_timeline_backup;
/* The archive's timelines (walden_timelines_get), given the backups (oldest
 * first): the history files read, then wd_timelines_settle. */
int wd_timelines_read(walden_repo *repo, const walden_wal_summary *wal,
                      const wd_timeline_backup *backups, size_t n_backups, walden_timelines **out);
/* Whether a backup (`id`, on `tli`, ending at `stop_lsn`) is passed over
 * because it cannot recover along `follow` (0: any can): 0 when it can,
 * 1 when not (a warning says so), an error when `set` (the backup was
 * asked for by name). */
int wd_timeline_skip(const walden_timelines *t, const char *id, uint32_t tli, uint64_t stop_lsn,
                     uint32_t follow, bool set);
/* Calls `cb` for each problem of the timelines: a missing history file
 * (`object` the file's name), a choice restore refuses ("timelines"), a
 * stray timeline ("timeline N"); `notice` for what could not be checked
 * (history files not read without the key). Stops at cb's non-zero return. */
typedef int (*wd_timeline_problem_cb)(bool notice, const char *object, const char *message,
                                      void *ctx);
int wd_timeline_problems(const walden_timelines *t, wd_timeline_problem_cb cb, void *ctx);

#endif
