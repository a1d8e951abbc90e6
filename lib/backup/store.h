/*
 * store.h - storing one file or part of a backup (store.c), shared with the
 * orchestration in backup.c.
 *
 * A full stores every file whole. A diff or incr compares with its
 * reference (backup/reference.h): a relation file's blocks by their
 * SHA-256, so only the blocks whose bytes differ go into its delta object;
 * another file by its SHA-256, stored whole when it differs. Either way the
 * manifest line says which objects the content is assembled from
 * (catalog/layers.h), and every relation unit's block digests go to the
 * backup's block map for the next diff or incr.
 */
#ifndef WD_BACKUP_STORE_H
#define WD_BACKUP_STORE_H
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backup/reference.h"
#include "backup/summaries.h"
#include "catalog/layers.h"
#include "catalog/manifest.h"
#include "repo/repo.h"

#define READ_CHUNK (256 * 1024) /* a multiple of the page size */
#define QUEUE_DEPTH 64
/* Files larger than this are stored in parts that workers share, so one
 * large table does not leave the other workers idle. A multiple of
 * READ_CHUNK. */
#define PART_SIZE (64ull << 20)

typedef struct file_job {
    char path[PATH_MAX];
    unsigned mode;
    int64_t mtime;
    int64_t part; /* -1: the whole file; else the part number */
    bool last;    /* the last part reads to the end, however long */
} file_job;

/* The bundles a backup writes (repo/bundle.h): small files' stored
 * streams appended to the open bundle, under `mu`; a bundle is closed once
 * it holds `max` bytes. The closed ones' stored SHA-256 and size are kept
 * for backup.stored, which lists them after the files. */
typedef struct bundle_sum {
    uint8_t sha[32];
    uint64_t size;
} bundle_sum;

typedef struct bundle_writer {
    bool on;
    uint64_t max, limit; /* a bundle's size; files of at most `limit` bytes go to bundles */
    pthread_mutex_t mu;
    wd_pipe *pipe; /* the open bundle, or NULL */
    wd_filter *hash;
    uint64_t size; /* its bytes so far */
    bundle_sum *done;
    size_t n, cap; /* bundles begun (the open one is number n - 1) */
} bundle_writer;

typedef struct backup_run {
    walden_repo *repo;
    const char *pgdata;
    const char *id;
    char *prefix; /* <cluster>/backup/<id> */
    uint64_t start_lsn;
    bool checksums;
    const wd_reference *ref; /* diff and incr: what it refers to; NULL for a full */
    /* diff and incr on PostgreSQL 17+: the blocks the WAL since the
     * reference's start touched (NULL: every block is read) */
    const wd_summary *summary;
    wd_pipe *manifest;
    wd_pipe *stored;          /* backup.stored: in clear, no filters */
    wd_filter *stored_body;   /* the SHA-256 of backup.stored so far, for its signature */
    wd_filter *manifest_body; /* the manifest's raw hash: its signature */
    wd_pipe *blockmap;        /* backup.blockmap */
    wd_filter *blockmap_raw, *blockmap_stored;

    bundle_writer bundles;

    pthread_mutex_t mu; /* guards the streams and the counters */
    uint64_t files, size, stored_size, page_errors;
    uint64_t changed_blocks, referenced_blocks, read_bytes;
} backup_run;

/* Bundles (bundle.c): whether and how this backup bundles small files,
 * from the options bundle, bundle-size and bundle-limit. */
int wd_backup_bundles_setup(backup_run *r, const walden_config *cfg);
/* Stores `len` bytes of content as a member of the open bundle: *l is its
 * layer, stored_sha256 its stored stream's SHA-256. */
int wd_backup_bundle_put(backup_run *r, const uint8_t *data, size_t len, wd_layer *l,
                         uint8_t stored_sha256[32]);
/* Closes the open bundle and lists every bundle in backup.stored. */
int wd_backup_bundles_close(backup_run *r);
/* Aborts an open bundle; frees what the writer holds. */
void wd_backup_bundles_free(backup_run *r);

/* Stores one file or part (a worker's job); `buf` holds READ_CHUNK. */
int wd_backup_store_file(backup_run *r, const file_job *job, uint8_t *buf);
/* Stores a small file made by the backup itself (backup_label...). */
int wd_backup_store_small(backup_run *r, const char *path, const char *text);
/* The manifest line of `e` (and its backup.stored line when it has an
 * object of this backup). */
int wd_backup_add_line(backup_run *r, const wd_manifest_entry *e);
#endif
