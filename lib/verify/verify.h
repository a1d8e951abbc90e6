/*
 * verify.h - the parts of walden_verify (internal to lib/verify/): the run
 * they share, its jobs, and how each part reports.
 *
 *   verify.c   the run: the producer's order, the reports, the workers
 *   backups.c  backups: backup.info, the manifest, backup.stored
 *   dumps.c    dumps: dump.manifest and the data file it names
 *   wal.c      the WAL archive, the WAL backups need, the timelines
 */
#ifndef WD_VERIFY_VERIFY_H
#define WD_VERIFY_VERIFY_H
#include <pthread.h>

#include "catalog/catalog.h"
#include "catalog/layers.h"
#include "common/pool.h"
#include "repo/repo.h"

#define OBJECT_MAX (PATH_MAX_ESCAPED + 512)
#define STOPPED 1 /* a push failed: the pool holds the error */
#define LINE_MAX_LEN (2 * PATH_MAX_ESCAPED + 256)

typedef struct vjob {
    char object[OBJECT_MAX]; /* storage path */
    char set[128];           /* backup or dump id, "" for WAL */
    const char *listed_by;   /* a string literal: where the file is recorded */
    char list[256];          /* the list that named it: when that is gone too, the set
                              * was removed (expired) meanwhile, and so was the file */
    wd_compress compress;
    bool decode; /* full read pipeline */
    bool frame;  /* no key: check the encrypted container's framing */
    bool wal;
    bool has_stored;
    uint8_t stored_sha256[32];
    uint64_t stored_size;
    /* a member of the bundle `object`: its stored bytes at offset */
    bool member;
    uint64_t offset;
    bool has_raw, has_raw_size;
    uint8_t raw_sha256[32];
    uint64_t raw_size;
    /* a unit assembled from its layers (catalog/layers.h): every block from
     * the object its map names, against the manifest's digests */
    bool unit;
    char path[PATH_MAX_ESCAPED];
    char type; /* 'f' or 'p' */
    uint32_t part;
    char layers[WD_LAYERS_TEXT_MAX + 1];
    char map[WD_MAP_TEXT_MAX + 1];
} vjob;

/* The WAL a backup needs: segments first..last of timeline tli; `next` is
 * the first not yet seen in the (ordered) walk of the archive. */
typedef struct wal_need {
    char id[32];
    char start_wal[25], stop_wal[25];
    uint32_t tli;
    uint64_t first, last, next;
} wal_need;

typedef struct verify_run {
    walden_repo *repo;
    walden_verify_cb cb;
    void *cb_ctx;
    walden_verify_result *res;
    pthread_mutex_t mu; /* serializes cb and the counters */
    wd_pool *pool;
    bool decode;
    const char *set;  /* only this backup or dump, or NULL */
    uint64_t per_log; /* WAL segments per log */
    wal_need *needs;
    size_t n_needs, cap_needs;
    char prev_wal[64]; /* the walk's previous WAL name, for duplicates */
    uint8_t prev_sha[32];
    walden_progress_cb progress; /* or NULL */
    void *progress_ctx;
    struct ref_set *refs; /* the objects of backups referred to (backups.c) */
} verify_run;

/* Calls the caller's progress callback (from the calling thread). */
void wd_verify_tick(void *arg);
/* One problem, through the caller's callback (serialized); its non-zero
 * return stops the run. */
int wd_verify_report(verify_run *v, walden_verify_kind kind, const char *set, const char *object,
                     const char *fmt, ...) WD_PRINTF(5, 6);
/* A failure to read or check `object` as a report: forged (WALDEN_EAUTH),
 * corrupt, or unreadable; out of memory stops. */
int wd_verify_report_failure(verify_run *v, int rc, const char *set, const char *object);
/* The pool's worker: reads and checks one job's file. */
int wd_verify_check_object(void *item, void *scratch, void *ctx);
/* The assembly check of a unit job (backups.c). */
int wd_verify_check_unit(verify_run *v, const vjob *j);
void wd_verify_refs_free(verify_run *v);
/* Queues a job: STOPPED when the pool stopped (it holds the error). */
int wd_verify_push(verify_run *v, const vjob *j);
/* A job for a file of backup or dump `set`, recorded in `listed_by` (a
 * string literal), named by the list at `list`. */
void wd_verify_job_init(verify_run *v, vjob *j, const char *set, const char *listed_by,
                        const char *list);

/* backups.c: backup `id` (manifest compressed with `c`); every backup. */
int wd_verify_backup(verify_run *v, const char *id, wd_compress c);
int wd_verify_backups(verify_run *v);
/* dumps.c: dump `id` (an unfinished one is skipped unless `must_exist`);
 * every dump. */
int wd_verify_dump(verify_run *v, const char *id, bool must_exist);
int wd_verify_dumps(verify_run *v);
/* wal.c: the archive's objects and the WAL the backups need; the
 * timelines' problems. */
int wd_verify_wal(verify_run *v, const walden_wal_summary *sum);
int wd_verify_timelines(verify_run *v, walden_repo *repo, const walden_wal_summary *sum);

#endif
