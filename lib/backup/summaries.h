/*
 * summaries.h - PostgreSQL 17's WAL summaries for a diff or incr backup
 * (pg/summary.h): the blocks the WAL between the reference's start and
 * this backup's start touched, so that a relation file's other blocks keep
 * the reference's digests without being read.
 */
#ifndef WD_BACKUP_SUMMARIES_H
#define WD_BACKUP_SUMMARIES_H
#include <stdbool.h>
#include <stdint.h>

#include "catalog/manifest.h"
#include "pg/summary.h"

/* At most this many changed blocks are loaded (about 40 MiB at worst);
 * more: the backup reads every block. */
#define WD_BACKUP_SUMMARY_BLOCKS (1u << 20)
/* How long the backup waits for the summarizer to reach its start. */
#define WD_BACKUP_SUMMARY_WAIT_MS 60000

/* The summaries of [ref's start LSN, m's start LSN) when `wal-summaries`
 * is auto and they are usable: same timeline, same data checksums setting,
 * wd_summary_server_ok, the summarizer there, no gap, not too many blocks.
 * NULL otherwise, with a log line saying why (a backup without them reads
 * every block: never an error). */
wd_summary *wd_backup_summaries(wd_pg_conn *c, const walden_config *cfg, const wd_backup_meta *ref,
                                const wd_backup_meta *m);

#endif
