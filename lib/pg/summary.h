/*
 * summary.h - PostgreSQL 17's WAL summaries: which blocks of which relation
 * forks the WAL between two LSNs touched, read over a session with the
 * server (pg_get_wal_summarizer_state, pg_available_wal_summaries,
 * pg_wal_summary_contents), so that an incremental backup reads only those
 * blocks instead of every block of every relation file.
 *
 * The contract is one-sided: the answer "unchanged" must be true, the
 * answer "may have changed" may be wrong. Everything this module does not
 * understand, and everything the summaries do not track, is "may have
 * changed":
 *   - the free space map (not WAL-logged: the summarizer ignores it), the
 *     visibility map (a bit cleared by a heap change is not a block
 *     reference of that change's record) and init forks (small) are always
 *     "may have changed"; only main forks are answered from the summaries;
 *   - a fork with a limit block (created, truncated, dropped in the range)
 *     may have changed at and beyond it; a database created or dropped in
 *     the range (relfilenode 0 in the summaries) may have changed whole;
 *   - a file name that is not a relation file of base/, global/ or
 *     pg_tblspc/TS/PG_.../DB/, a block beyond the segment size: changed.
 * What the caller must still do itself: read whole the files the reference
 * backup does not have (a file created after this backup's start LSN is in
 * no summary), and the blocks beyond the reference's end of a file.
 *
 * Usable only when every change to a block is in the WAL:
 * wd_summary_server_ok asks for PostgreSQL 17+, summarize_wal on, and data
 * checksums or wal_log_hints on (else a hint-bit-only change of a page is
 * not WAL-logged, and its bytes would differ unseen). A range of WAL with
 * wal_level = minimal, or one summarize_wal was off for, has no summary:
 * wd_summary_load finds the gap and says so.
 *
 * Every function that can refuse returns false with a one-line reason in
 * `why` (for a log line: "summarize_wal is off"), never a code: a
 * refusal means "read everything", never a failed backup. Memory: at most
 * 40 bytes per block allowed by `max_blocks`, and one fetch of rows
 * (WD_SUMMARY_FETCH_ROWS) at a time.
 */
#ifndef WD_PG_SUMMARY_H
#define WD_PG_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg/pg.h"

/* Blocks of a 1 GiB segment of 8 KiB blocks: the usual segment size. */
#define WD_PG_SEGMENT_BLOCKS 131072u

/* Whether the server can give summaries: PostgreSQL 17+, summarize_wal on,
 * data checksums or wal_log_hints on. */
bool wd_summary_server_ok(wd_pg_conn *c, char *why, size_t cap);

/* Waits until the summarizer has written summaries up to `lsn` (polls
 * pg_get_wal_summarizer_state every 100 ms, at most `timeout_ms`; 0: asks
 * once). A backup's start LSN is a checkpoint's redo point, where the
 * summarizer ends a summary, so it is reached exactly. */
bool wd_summary_wait(wd_pg_conn *c, uint64_t lsn, int timeout_ms, char *why, size_t cap);

/* One summary file: the WAL [start, end) of timeline tli. */
typedef struct wd_summary_range {
    uint32_t tli;
    uint64_t start, end;
} wd_summary_range;
/* Checks that the summaries of timeline tli cover [from, to) without a gap
 * and gives the ones that overlap it, in order (*out malloc'ed, NULL when
 * none is needed: from == to). */
bool wd_summary_coverage(wd_pg_conn *c, uint32_t tli, uint64_t from, uint64_t to,
                         wd_summary_range **out, size_t *n, char *why, size_t cap);

typedef struct wd_summary wd_summary;
/* wd_summary_coverage, then the contents of those summaries, read through a
 * cursor in a transaction of its own (BEGIN ... COMMIT; ROLLBACK after a
 * failure). Refuses with "too many changed blocks" when they name more than
 * `max_blocks` blocks and limit blocks. *out belongs to the caller. */
bool wd_summary_load(wd_pg_conn *c, uint32_t tli, uint64_t from, uint64_t to, size_t max_blocks,
                     wd_summary **out, char *why, size_t cap);
void wd_summary_free(wd_summary *s);
/* The distinct blocks and limit blocks loaded. */
size_t wd_summary_blocks(const wd_summary *s);

/* Rows per FETCH (tests make it small). */
#define WD_SUMMARY_FETCH_ROWS 10000
void wd_summary_set_fetch_rows(int rows);

/* What the summaries say about one segment file. */
typedef enum {
    WD_SUMMARY_UNCHANGED, /* no block of it named: every block as in the reference */
    WD_SUMMARY_SOME,      /* the blocks wd_summary_block_changed names */
    WD_SUMMARY_ALL,       /* every block may have changed */
} wd_summary_state;
typedef struct wd_summary_file {
    wd_summary_state state;
    uint32_t seg_blocks; /* the segment size in blocks */
    uint64_t base;       /* the relation's block number of the file's block 0 */
    uint64_t limit;      /* blocks from here on may have changed (UINT64_MAX: none) */
    const void *first;   /* the blocks named within the file, sorted */
    size_t count;
} wd_summary_file;
/* The state of the file at `relpath` (relative to PGDATA), a segment of
 * `seg_blocks` blocks; `f` serves wd_summary_block_changed while `s`
 * lives. */
wd_summary_state wd_summary_file_get(const wd_summary *s, const char *relpath, uint32_t seg_blocks,
                                     wd_summary_file *f);
/* Whether block `block` of the file (counted from the file's start) may
 * have changed. */
bool wd_summary_block_changed(const wd_summary_file *f, uint64_t block);

#endif
