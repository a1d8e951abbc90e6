/*
 * restore.c - walden restore: a backup into an empty directory, ready for
 * PostgreSQL to recover.
 *
 * The manifest is streamed in this thread: directories and tablespace links
 * are created as they come (a directory's line precedes its files'), files
 * go through a bounded queue to `process-max` workers that read them back
 * through the read pipeline, verified against their SHA-256. Then the
 * recovery settings are written and everything is synced.
 *
 * Safety: every manifest path is checked (relative, no "." or ".."
 * element); each folder on the way is opened with O_NOFOLLOW, from the
 * target's own descriptor down, and a file is created exclusively, never
 * through a symlink, by its name in its folder's descriptor (no path is
 * walked again), so whatever a manifest says nothing lands outside the
 * target and the tablespace directories. Files under pg_tblspc/OID/ go to
 * that tablespace's directory, which must have been declared by a link line
 * and be absolute.
 *
 * Per file, a worker opens its file and its stored object, and nothing
 * else: it keeps its last folder open (the manifest lists a folder's files
 * together), creates no folder (the manifest's folder lines did, before
 * their files) and syncs nothing (one syncfs per file system at the end,
 * see place.c).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "common/common.h"
#include "common/pool.h"
#include "repo/bundle.h"
#include "repo/lock.h"
#include "catalog/layers.h"
#include "restore/blocks.h"
#include "restore/place.h"
#include "restore/recovery.h"

#define MAX_TABLESPACES (WD_PLACE_MAX - 1)
#define QUEUE_DEPTH 64

typedef struct tablespace {
    char oid[16];
    char *dir;
} tablespace;

typedef struct restore_job {
    char path[PATH_MAX];
    unsigned mode;
    int64_t part; /* -1: a whole file */
    uint64_t size;
    uint64_t stored_size; /* 0: not recorded */
    uint8_t sha256[32];
    char hash; /* format 2: 'w' or 'b' (catalog/layers.h); 0 in format 1 */
    char layers[WD_LAYERS_TEXT_MAX + 1];
    char map[WD_MAP_TEXT_MAX + 1];
} restore_job;

/* A worker's last folder, kept open: the next file of that folder is
 * created with one openat. */
typedef struct folder_cache {
    const char *base; /* the run's pgdata or a tablespace's dir; NULL: empty */
    char rel[PATH_MAX];
    int fd;
} folder_cache;

typedef struct restore_run {
    walden_repo *repo;
    const char *pgdata;
    const wd_backup_meta *meta; /* the summary that chose the backup */
    /* the manifest's own header, filled as it is read: authenticated, unlike
     * backup.info, so the layout of parts comes from here */
    const wd_backup_meta *manifest;
    wd_compress compress;
    const char *map; /* tablespace-map option */
    tablespace ts[MAX_TABLESPACES];
    size_t n_ts;
    uid_t uid; /* (uid_t)-1: leave ownership as it is */
    gid_t gid;
    wd_pool *pool;
    bool stopped;                 /* a worker failed: the manifest read stopped for it */
    bool (*cancelled)(void *ctx); /* asked before each file; or NULL */
    void *cancel_ctx;

    wd_place_sync sync; /* the durability of what is written */

    pthread_mutex_t mu; /* guards the counters and the claims of caches */
    uint64_t files, bytes;
    folder_cache *caches; /* one per worker, claimed at its first file */
    int n_caches, claimed;
} restore_run;

/* Where a manifest path goes: the base directory and the rest of the path. */
static int resolve(restore_run *r, const char *path, const char **base, const char **rest)
{
    if (wd_str_starts_with(path, "pg_tblspc/")) {
        const char *oid = path + 10;
        size_t n = strcspn(oid, "/");
        if (oid[n] == '/') {
            for (size_t i = 0; i < r->n_ts; i++) {
                if (strlen(r->ts[i].oid) == n && strncmp(r->ts[i].oid, oid, n) == 0) {
                    *base = r->ts[i].dir;
                    *rest = oid + n + 1;
                    return 0;
                }
            }
            return wd_error_set(WALDEN_ECORRUPT,
                                "manifest path '%s' is in a tablespace the backup does not have",
                                path);
        }
    }
    *base = r->pgdata;
    *rest = path;
    return 0;
}

/* Creates (when missing) and opens each folder of `rel` below `base`,
 * refusing symlinks on the way; the last element is a folder too when
 * `whole`, else the file name (not created). Returns an fd of the deepest
 * folder. */
static int open_folders(restore_run *r, const char *base, const char *rel, bool whole,
                        unsigned dir_mode, int *out)
{
    int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot open '%s'", base);
    const char *p = rel;
    char name[NAME_MAX + 1];
    for (;;) {
        size_t n = strcspn(p, "/");
        bool last = p[n] == '\0';
        if (last && !whole)
            break;
        if (n > NAME_MAX) {
            close(fd);
            return wd_error_set(WALDEN_ECORRUPT, "manifest path '%s' has a too long element", rel);
        }
        memcpy(name, p, n);
        name[n] = '\0';
        /* opened first: a folder is created once and walked through many
         * times (a mkdir per element would fail with EEXIST nearly always) */
        bool created = false;
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT) {
            created = mkdirat(fd, name, dir_mode) == 0;
            if (!created && errno != EEXIST) {
                int rc = wd_error_set_errno(errno, "cannot create folder '%s' in '%s'", rel, base);
                close(fd);
                return rc;
            }
            next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0) {
            int rc = errno == ELOOP || errno == ENOTDIR
                         ? wd_error_set(WALDEN_ECORRUPT,
                                        "manifest path '%s' leads through a link or a file", rel)
                         : wd_error_set_errno(errno, "cannot open folder '%s' in '%s'", rel, base);
            close(fd);
            return rc;
        }
        if (created && r->uid != (uid_t)-1 && fchown(next, r->uid, r->gid) != 0)
            wd_log_warn("cannot change the owner of '%s/%s': %s", base, rel, strerror(errno));
        close(fd);
        fd = next;
        if (last)
            break;
        p += n + 1;
    }
    *out = fd;
    return 0;
}

/* The folder of `rest` below `base`, opened (and created when missing, as
 * open_folders does) or taken from the worker's cache; `*name` gets the
 * file's name in it. The descriptor stays the cache's. */
static int cached_folder(restore_run *r, folder_cache *fc, const char *base, const char *rest,
                         int *dfd, const char **name)
{
    const char *slash = strrchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : 0;
    *name = slash ? slash + 1 : rest;
    if (fc->base == base && strlen(fc->rel) == n && memcmp(fc->rel, rest, n) == 0) {
        *dfd = fc->fd;
        return 0;
    }
    if (fc->base) {
        close(fc->fd);
        fc->base = NULL;
    }
    if (n >= sizeof(fc->rel))
        return wd_error_set(WALDEN_ECORRUPT, "manifest path too long");
    int fd, rc = open_folders(r, base, rest, false, 0700, &fd);
    if (rc)
        return rc;
    memcpy(fc->rel, rest, n);
    fc->rel[n] = '\0';
    fc->base = base;
    fc->fd = *dfd = fd;
    return 0;
}

/* The read pipeline of one stored file, stopped as soon as it has more
 * bytes than the signed manifest records (content and stored bytes): a
 * forged object never writes more than that into the target. */
static int read_limited(restore_run *r, const restore_job *job, const char *object,
                        uint64_t stored_size, wd_sink *sink, wd_repo_stream *st)
{
    char what[PATH_MAX + 256];
    snprintf(what, sizeof(what),
             "backup %s, file '%s' ('%s') is not what its signed manifest lists", r->meta->id,
             job->path, object);
    wd_read_limits lim = {.raw_max = job->size,
                          .raw_exact = true,
                          .stored_max = stored_size ? stored_size : wd_stored_max(job->size),
                          .code = WALDEN_ECORRUPT,
                          .what = what,
                          .stored_counted = true};
    return wd_repo_read_begin_limited(r->repo, r->compress, job->sha256, NULL, &lim, sink, st);
}

/* A unit restored whole from one object into `name` in folder `dfd`
 * (`full` in messages). */
static int restore_whole(restore_run *r, const restore_job *job, int dfd, const char *name,
                         const char *full, unsigned mode)
{
    char *object = NULL;
    wd_layer layer = {0};
    int rc = job->size ? wd_restore_whole_object(r->repo, r->meta->id, r->compress, job->path,
                                                 job->part, job->size, job->stored_size,
                                                 job->layers, &object, &layer)
                       : 0;
    if (rc)
        return rc;
    wd_sink *sink = NULL;
    /* writeback started early; made durable by one syncfs at the end
     * (place.c), or where that is not as sure by an fsync per file */
    unsigned flags = WD_FILE_WRITEBACK | (r->sync.use_syncfs ? WD_FILE_NOSYNC : 0);
    uint64_t offset = job->part >= 0 ? (uint64_t)job->part * r->manifest->part_size : 0;
    rc = wd_file_sink_openat(&sink, dfd, name, full, flags | (job->part >= 0 ? WD_FILE_PART : 0),
                             mode, offset);
    if (rc) {
        wd_free(object);
        return rc;
    }
    if (job->size == 0)
        return sink->commit(sink);
    wd_source *src = NULL;
    wd_repo_stream st = {0};
    if ((rc = wd_layer_open(r->repo, &layer, object, &src))) {
        sink->abort(sink);
        if (rc == WALDEN_ENOTFOUND)
            rc = wd_error_set(WALDEN_ECORRUPT, "backup %s is missing its file '%s' ('%s')",
                              r->meta->id, job->path, object);
    } else if ((rc = read_limited(r, job, object, layer.stored_size, sink, &st))) {
        /* the sink was taken over */
    } else if ((rc = wd_pipe_copy(st.pipe, src))) {
        if (rc == WALDEN_ECORRUPT || rc == WALDEN_EKEY)
            wd_error_wrap(rc, "backup %s, file '%s'", r->meta->id, job->path);
    }
    if (!rc) {
        uint8_t sha[32];
        uint64_t bytes;
        wd_hash_filter_result(st.raw_hash, sha, &bytes);
        if (bytes != job->size)
            rc = wd_error_set(WALDEN_ECORRUPT,
                              "backup %s, file '%s': %" PRIu64
                              " bytes restored, the manifest says %" PRIu64,
                              r->meta->id, job->path, bytes, job->size);
    }
    wd_pipe_free(st.pipe);
    wd_source_close(src);
    wd_free(object);
    return rc;
}

static int restore_file(restore_run *r, folder_cache *fc, const restore_job *job)
{
    const char *base, *rest, *name;
    int dfd = -1, rc = resolve(r, job->path, &base, &rest);
    if (rc || (rc = cached_folder(r, fc, base, rest, &dfd, &name)))
        return rc;
    char *full = wd_path_join(base, rest);
    if (!full)
        return WALDEN_ENOMEM;
    unsigned mode = (job->mode & 0640) | 0600;
    if (job->hash == 'b') {
        wd_manifest_entry e = {.type = job->part >= 0 ? 'p' : 'f',
                               .size = job->size,
                               .path = job->path,
                               .part = job->part >= 0 ? (uint32_t)job->part : 0,
                               .hash = 'b',
                               .layers = job->layers,
                               .map = job->map};
        memcpy(e.raw_sha256, job->sha256, 32);
        uint64_t offset = job->part >= 0 ? (uint64_t)job->part * r->manifest->part_size : 0;
        rc = wd_restore_blocks(r->repo, r->compress, r->meta->id, &e, dfd, name, full, offset, mode,
                               !r->sync.use_syncfs);
    } else {
        rc = restore_whole(r, job, dfd, name, full, mode);
    }
    if (!rc && r->uid != (uid_t)-1 && fchownat(dfd, name, r->uid, r->gid, AT_SYMLINK_NOFOLLOW) != 0)
        wd_log_warn("cannot change the owner of '%s': %s", full, strerror(errno));
    if (!rc) {
        pthread_mutex_lock(&r->mu);
        r->files += job->part <= 0;
        r->bytes += job->size;
        pthread_mutex_unlock(&r->mu);
    }
    wd_free(full);
    return rc;
}

/* `scratch` holds the worker's folder cache, claimed from the run at its
 * first file (the run closes the caches' folders at its end). */
static int restore_job_fn(void *item, void *scratch, void *ctx)
{
    restore_run *r = ctx;
    folder_cache **fc = scratch;
    if (r->cancelled && r->cancelled(r->cancel_ctx))
        return wd_error_set(WALDEN_ERROR, "the restore was interrupted");
    if (!*fc) {
        pthread_mutex_lock(&r->mu);
        assert(r->claimed < r->n_caches);
        *fc = &r->caches[r->claimed++];
        pthread_mutex_unlock(&r->mu);
    }
    return restore_file(r, *fc, item);
}

/* The directory the tablespace-map option gives for `oid`, or NULL. */
static char *mapped_dir(const char *map, const char *oid)
{
    if (!map)
        return NULL;
    size_t n = strlen(oid);
    for (const char *p = map; *p;) {
        size_t len = strcspn(p, "\n");
        if (len > n && strncmp(p, oid, n) == 0 && p[n] == '=')
            return wd_strndup(p + n + 1, len - n - 1);
        p += len;
        if (*p == '\n')
            p++;
    }
    return NULL;
}

static int check_map(const char *map)
{
    for (const char *p = map; p && *p;) {
        size_t len = strcspn(p, "\n");
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits >= len || p[digits] != '=' || p[digits + 1] != '/')
            return wd_error_set(WALDEN_EINVAL,
                                "invalid --tablespace-map '%.*s' (expected OID=/absolute/dir)",
                                (int)len, p);
        p += len;
        if (*p == '\n')
            p++;
    }
    return 0;
}

/* First pass over the manifest: the tablespaces, each with where it goes
 * (--tablespace-map, else its recorded location). */
static int collect_tablespace(restore_run *r, const wd_manifest_entry *e)
{
    const char *oid = e->path + 10;
    if (!wd_str_starts_with(e->path, "pg_tblspc/") || !*oid || strchr(oid, '/') ||
        strspn(oid, "0123456789") != strlen(oid) || strlen(oid) >= sizeof(r->ts[0].oid))
        return wd_error_set(WALDEN_ECORRUPT, "manifest has a link '%s' outside pg_tblspc", e->path);
    for (size_t i = 0; i < r->n_ts; i++)
        if (strcmp(r->ts[i].oid, oid) == 0)
            return wd_error_set(WALDEN_ECORRUPT, "manifest has tablespace %s twice", oid);
    if (r->n_ts == MAX_TABLESPACES)
        return wd_error_set(WALDEN_EINVAL, "more than %d tablespaces", MAX_TABLESPACES);
    char *dir = mapped_dir(r->map, oid);
    if (!dir && !(dir = wd_strdup(e->link)))
        return WALDEN_ENOMEM;
    if (dir[0] != '/') {
        int rc =
            wd_error_set(WALDEN_ECORRUPT, "tablespace %s has a relative location '%s'", oid, dir);
        wd_free(dir);
        return rc;
    }
    /* "/a//b/" and "/a/b" are one place */
    size_t w = 1;
    for (size_t i = 1; dir[i]; i++)
        if (!(dir[i] == '/' && (dir[w - 1] == '/' || dir[i + 1] == '\0')))
            dir[w++] = dir[i];
    dir[w] = '\0';
    tablespace *t = &r->ts[r->n_ts++];
    snprintf(t->oid, sizeof(t->oid), "%s", oid);
    t->dir = dir;
    return 0;
}

static int prepass_cb(const wd_manifest_entry *e, void *ctx)
{
    return e->type == 'l' ? collect_tablespace(ctx, e) : 0;
}

/* The tablespace directories: missing or empty, no symlink on the way,
 * none inside the data directory (`pgdata`, canonical) or another. */
static int check_tablespaces(restore_run *r, const char *pgdata)
{
    int rc;
    for (size_t i = 0; i < r->n_ts; i++) {
        const tablespace *t = &r->ts[i];
        char what[64];
        snprintf(what, sizeof(what), "tablespace %s directory", t->oid);
        if ((rc = wd_place_check_no_links(t->dir, what)) ||
            (rc = wd_place_check_empty(t->dir, what)))
            return rc;
        if (wd_place_within(t->dir, pgdata) || wd_place_within(pgdata, t->dir))
            return wd_error_set(WALDEN_EINVAL,
                                "%s '%s' and the target directory '%s' overlap: give it a place "
                                "of its own (--tablespace-map %s=DIR)",
                                what, t->dir, r->pgdata, t->oid);
        for (size_t k = 0; k < i; k++)
            if (wd_place_within(t->dir, r->ts[k].dir) || wd_place_within(r->ts[k].dir, t->dir))
                return wd_error_set(WALDEN_EINVAL,
                                    "%s '%s' and tablespace %s's '%s' overlap: give each a place "
                                    "of its own (--tablespace-map OID=DIR)",
                                    what, t->dir, r->ts[k].oid, r->ts[k].dir);
    }
    return 0;
}

/* Every place the restore writes to, checked before anything is written.
 * The data directory may lie behind a symlink (a data volume mounted
 * elsewhere is common): it is compared where it really is. */
static int check_targets(restore_run *r)
{
    int rc = wd_place_check_empty(r->pgdata, "target directory");
    if (rc)
        return rc;
    char *pgdata = wd_place_canonical(r->pgdata);
    if (!pgdata)
        return WALDEN_ENOMEM;
    rc = check_tablespaces(r, pgdata);
    wd_free(pgdata);
    return rc;
}

/* Second pass: the tablespace's link in pgdata/pg_tblspc. */
static int add_tablespace(restore_run *r, const wd_manifest_entry *e)
{
    const char *oid = e->path + 10;
    tablespace *t = NULL;
    for (size_t i = 0; i < r->n_ts; i++)
        if (strcmp(r->ts[i].oid, oid) == 0)
            t = &r->ts[i];
    if (!t)
        return wd_error_set(WALDEN_ECORRUPT, "manifest link '%s' changed between two reads",
                            e->path);
    /* the link itself, in pgdata/pg_tblspc */
    int dfd, rc;
    if ((rc = open_folders(r, r->pgdata, e->path, false, 0700, &dfd)))
        return rc;
    if (symlinkat(t->dir, dfd, oid) != 0)
        rc = wd_error_set_errno(errno, "cannot create the tablespace link '%s/%s'", r->pgdata,
                                e->path);
    else if (r->uid != (uid_t)-1 && fchownat(dfd, oid, r->uid, r->gid, AT_SYMLINK_NOFOLLOW) != 0)
        rc = wd_error_set_errno(errno, "cannot give the tablespace link '%s/%s' to its owner",
                                r->pgdata, e->path);
    close(dfd);
    return rc;
}

static int entry_cb(const wd_manifest_entry *e, void *ctx)
{
    restore_run *r = ctx;
    if (e->type == 'l')
        return add_tablespace(r, e);
    if (e->type == 'd') {
        const char *base, *rest;
        int dfd, rc = resolve(r, e->path, &base, &rest);
        if (!rc && !(rc = open_folders(r, base, rest, true, 0700, &dfd)))
            close(dfd);
        return rc;
    }
    /* tablespace_map: the links are made here, where --tablespace-map says;
     * a tablespace_map file would make PostgreSQL remake them as they were */
    if (strcmp(e->path, "tablespace_map") == 0)
        return 0;
    restore_job job;
    size_t n = strlen(e->path);
    if (n >= sizeof(job.path))
        return wd_error_set(WALDEN_ECORRUPT, "manifest path too long");
    memcpy(job.path, e->path, n + 1);
    job.mode = e->mode;
    job.part = e->type == 'p' ? (int64_t)e->part : -1;
    if (e->type == 'p' && !r->manifest->part_size)
        return wd_error_set(WALDEN_ECORRUPT, "manifest has parts but no part-size");
    job.size = e->size;
    job.stored_size = e->stored_size;
    memcpy(job.sha256, e->raw_sha256, 32);
    job.hash = e->hash;
    snprintf(job.layers, sizeof(job.layers), "%s", e->layers ? e->layers : "");
    snprintf(job.map, sizeof(job.map), "%s", e->map ? e->map : "");
    if (!wd_pool_push(r->pool, &job)) {
        r->stopped = true;
        return WALDEN_ERROR; /* replaced by the worker's error */
    }
    return 0;
}

/* Whether the archive holds every WAL segment from the backup's start-wal
 * to its stop-wal, on its timeline: without them PostgreSQL cannot reach a
 * consistent state from it. *missing names the first segment missing. */
static int wal_complete(walden_repo *repo, const wd_backup_meta *m, bool *complete,
                        char missing[25])
{
    wd_wal_name a, z;
    *complete = false;
    snprintf(missing, 25, "%s", m->start_wal);
    if (wd_wal_name_parse(m->start_wal, &a) || wd_wal_name_parse(m->stop_wal, &z) ||
        a.kind != WD_WAL_SEGMENT || z.kind != WD_WAL_SEGMENT || a.tli != z.tli) {
        walden_error_clear();
        return 0;
    }
    /* the segment size is the one that puts the start LSN in start-wal */
    uint64_t per_log = 0;
    for (uint64_t size = 1u << 20; size <= 1u << 30; size <<= 1) {
        uint64_t segno = m->pub.start_lsn / size, pl = wd_wal_per_log(size);
        if (segno / pl == a.log && segno % pl == a.seg) {
            per_log = pl;
            break;
        }
    }
    if (!per_log)
        return 0;
    uint64_t first = (uint64_t)a.log * per_log + a.seg, last = (uint64_t)z.log * per_log + z.seg;
    for (uint64_t segno = first; segno <= last; segno++) {
        char name[25];
        bool present;
        wd_wal_segment_name(a.tli, segno, per_log, name);
        int rc = wd_wal_present(repo, name, &present);
        if (rc)
            return rc;
        if (!present) {
            memcpy(missing, name, 25);
            return 0;
        }
    }
    *complete = true;
    return 0;
}

/* Whether a restore of backup `m` can stop at target `t`. A backup holds
 * every change committed before its end (its consistency point): a target
 * before that cannot be reached, and PostgreSQL cannot tell (with a time
 * target it stops at the first commit after consistency and promotes with
 * the newer rows the files hold). */
typedef enum { REACH_YES, REACH_NO, REACH_UNKNOWN } reach;

static reach reaches(const wd_backup_meta *m, const wd_target *t)
{
    switch (t->kind) {
    case WD_TARGET_TIME:
        return m->pub.stop_time_ms <= t->time_ms ? REACH_YES : REACH_NO;
    case WD_TARGET_LSN:
        return m->pub.stop_lsn <= t->lsn ? REACH_YES : REACH_NO;
    case WD_TARGET_XID:
        if (!m->end_xmin)
            return REACH_UNKNOWN;
        /* a 32-bit target is compared as PostgreSQL compares xids, modulo
         * 2^32, once the counter has wrapped; an epoch-qualified one as it is */
        if (t->xid > UINT32_MAX || m->end_xmin <= UINT32_MAX)
            return t->xid < m->end_xmin ? REACH_NO : REACH_YES;
        return (int32_t)((uint32_t)t->xid - (uint32_t)m->end_xmin) < 0 ? REACH_NO : REACH_YES;
    case WD_TARGET_NAME:
        return REACH_UNKNOWN; /* a restore point's place is not known */
    default:
        return REACH_YES;
    }
}

static void format_ms(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    if (!strftime(out, 32, "%Y-%m-%d %H:%M:%S+00", &tm))
        snprintf(out, 32, "%" PRId64 " ms", ms);
}

/* Where backup `m` ends, in the target's terms: "at 2026-11-29 14:02:31+00". */
static void describe_end(const wd_backup_meta *m, const wd_target *t, char *buf, size_t cap)
{
    char lsn[WD_LSN_TEXT], when[32];
    wd_lsn_format(m->pub.stop_lsn, lsn);
    format_ms(m->pub.stop_time_ms, when);
    if (t->kind == WD_TARGET_LSN)
        snprintf(buf, cap, "ends at LSN %s", lsn);
    else if (t->kind == WD_TARGET_XID)
        snprintf(buf, cap,
                 "ends after transaction %" PRIu64 " (every transaction below %" PRIu64
                 " had ended)",
                 t->xid, m->end_xmin);
    else
        snprintf(buf, cap, "ends at %s", when);
}

/* --set names a backup that ends after the target: refused, naming the
 * newest backup that can reach it and whose WAL is in the archive. */
static int refuse_set(walden_repo *repo, wd_backup_meta **metas, size_t n,
                      const wd_backup_meta *set, const wd_target *t)
{
    const char *kind = t->kind == WD_TARGET_TIME  ? "time"
                       : t->kind == WD_TARGET_LSN ? "LSN"
                                                  : "xid";
    char end[160];
    describe_end(set, t, end, sizeof(end));
    for (size_t i = n; i-- > 0;) {
        bool complete;
        char missing[25];
        if (reaches(metas[i], t) != REACH_YES)
            continue;
        int rc = wal_complete(repo, metas[i], &complete, missing);
        if (rc)
            return rc;
        if (!complete)
            continue;
        char other[160];
        describe_end(metas[i], t, other, sizeof(other));
        return wd_error_set(WALDEN_EINVAL,
                            "backup %s %s, after the target %s '%s': its files already hold later "
                            "changes; restore backup %s (it %s) or leave out --set",
                            set->id, end, kind, t->value, metas[i]->id, other);
    }
    return wd_error_set(WALDEN_EINVAL,
                        "backup %s %s, after the target %s '%s': its files already hold later "
                        "changes, and no backup of the cluster ends before the target",
                        set->id, end, kind, t->value);
}

/* The backup to restore: --set, else the newest that ends before the
 * target (time, LSN or xid), whose WAL up to its end is in the archive and
 * that can recover along the timeline the restore follows (timelines.c);
 * each newer one passed over is named, with the reason. `timeline` gets the
 * recovery_target_timeline to write ("" for PostgreSQL's default). */
static int choose_backup(walden_repo *repo, const walden_config *cfg, const wd_target *t,
                         wd_backup_meta *out, char timeline[16], uint32_t *followed, char why[1100])
{
    wd_backup_meta **metas;
    size_t n;
    walden_timelines *tls = NULL;
    uint32_t follow = 0;
    int rc = wd_timeline_for_restore(repo, t->timeline, &tls, &follow, why, 1100);
    if (rc)
        return rc;
    if ((rc = wd_backup_list_usable(repo, walden_config_get(cfg, "set"), &metas, &n))) {
        walden_timelines_free(tls);
        return rc;
    }
    const char *set = walden_config_get(cfg, "set");
    const wd_backup_meta *pick = NULL;
    size_t skipped = 0, off_timeline = 0;
    for (size_t i = n; !rc && i-- > 0;) {
        const wd_backup_meta *m = metas[i];
        bool fits;
        if (set && *set)
            fits = strcmp(m->id, set) == 0;
        else
            fits = reaches(m, t) != REACH_NO;
        if (!fits)
            continue;
        reach r = reaches(m, t);
        if (r == REACH_NO) { /* only --set gets here */
            rc = refuse_set(repo, metas, n, m, t);
            break;
        }
        if (r == REACH_UNKNOWN && t->kind == WD_TARGET_XID)
            wd_log_warn("backup %s does not record which transactions had ended at its end (it "
                        "is older than this walden): whether it ends before transaction %s "
                        "cannot be checked; if not, PostgreSQL stops with an error",
                        m->id, t->value);
        int skip =
            wd_timeline_skip(tls, m->id, m->pub.timeline, m->pub.stop_lsn, follow, set && *set);
        if (skip < 0) {
            rc = skip;
            break;
        }
        if (skip) {
            off_timeline++;
            continue;
        }
        bool complete;
        char missing[25];
        if ((rc = wal_complete(repo, m, &complete, missing)))
            break;
        if (complete) {
            pick = m;
            break;
        }
        if (set && *set) {
            rc = wd_error_set(WALDEN_ENOTFOUND,
                              "backup %s cannot be restored: WAL segment %s (of %s to %s, "
                              "which it needs to become consistent) is not in the archive",
                              m->id, missing, m->start_wal, m->stop_wal);
            break;
        }
        wd_log_warn("skipping backup %s: WAL segment %s (of %s to %s, which it needs to become "
                    "consistent) is not in the archive",
                    m->id, missing, m->start_wal, m->stop_wal);
        skipped++;
    }
    if (!pick && !rc) {
        if (set && *set)
            rc = wd_error_set(WALDEN_ENOTFOUND, "backup '%s' does not exist in cluster '%s'", set,
                              repo->cluster);
        else if (n == 0)
            rc = wd_error_set(WALDEN_ENOTFOUND, "cluster '%s' has no backup", repo->cluster);
        else if (off_timeline && !skipped)
            rc = wd_error_set(WALDEN_ENOTFOUND,
                              "no backup can recover along timeline %u: %zu lie on other "
                              "timelines or end after its branch point",
                              follow, off_timeline);
        else if (skipped)
            rc = wd_error_set(WALDEN_ENOTFOUND,
                              "no backup can be restored: %zu lack WAL they need in the archive",
                              skipped);
        else
            rc = wd_error_set(WALDEN_ENOTFOUND, "no backup ends before the target '%s'", t->value);
    } else if (pick) {
        memcpy(out, pick, sizeof(*out));
        out->pgdata = pick->pgdata ? wd_strdup(pick->pgdata) : NULL;
        out->owner = pick->owner ? wd_strdup(pick->owner) : NULL;
        wd_backup_meta_link(out);
        if (!follow)
            follow = pick->pub.timeline;
        *followed = follow;
        wd_log_info("restore follows timeline %u: %s", follow, why);
        /* the archive has more than one timeline: the choice is written,
         * PostgreSQL's 'latest' would take the newest whatever it is */
        if (t->timeline && *t->timeline)
            snprintf(timeline, 16, "%s", t->timeline);
        else if (tls->n > 1)
            snprintf(timeline, 16, "%u", follow);
    }
    wd_backup_list_free(metas, n);
    walden_timelines_free(tls);
    return rc;
}

typedef struct progress_ctx {
    restore_run *r;
    walden_progress *p;
    walden_progress_cb cb;
    void *cb_ctx;
} progress_ctx;

static void progress_tick(void *arg)
{
    progress_ctx *t = arg;
    pthread_mutex_lock(&t->r->mu);
    t->p->bytes_done = t->r->bytes;
    t->p->files_done = t->r->files;
    pthread_mutex_unlock(&t->r->mu);
    t->cb(t->p, t->cb_ctx);
}

int walden_restore(walden_repo *repo, const walden_config *cfg, const char *restore_command,
                   walden_progress_cb cb, void *cb_ctx, walden_restore_result *result)
{
    return wd_restore_run(repo, cfg, restore_command, cb, cb_ctx, result, NULL, NULL);
}

int wd_restore_run(walden_repo *repo, const walden_config *cfg, const char *restore_command,
                   walden_progress_cb cb, void *cb_ctx, walden_restore_result *result,
                   bool (*cancelled)(void *ctx), void *cancel_ctx)
{
    if (result) {
        int rc = WD_RESULT_START(result, WALDEN_RESTORE_RESULT_VERSION, "walden_restore_result");
        if (rc)
            return rc;
    }
    const char *pgdata = walden_config_get(cfg, "pgdata");
    if (!pgdata || !*pgdata)
        return wd_error_set(WALDEN_EINVAL, "pgdata is not set: where should the backup go "
                                           "(--pgdata)?");
    if (pgdata[0] != '/')
        return wd_error_set(WALDEN_EINVAL, "pgdata '%s' must be an absolute path", pgdata);
    wd_target t;
    int workers = 1, rc;
    if ((rc = wd_target_from_config(cfg, &t)) || (rc = wd_restore_type_from_config(cfg, &t)) ||
        (rc = wd_process_max(cfg, true, &workers)))
        return rc;
    const char *map = walden_config_get(cfg, "tablespace-map");
    if ((rc = check_map(map)))
        return rc;

    wd_backup_meta meta = {0};
    restore_run r = {.repo = repo,
                     .pgdata = pgdata,
                     .meta = &meta,
                     .map = map,
                     .uid = (uid_t)-1,
                     .gid = (gid_t)-1,
                     .cancelled = cancelled,
                     .cancel_ctx = cancel_ctx};
    pthread_mutex_init(&r.mu, NULL);
    wd_place_sync_init(&r.sync);
    char timeline[16] = "", why[1100] = "";
    uint32_t followed = 0;
    if ((rc = choose_backup(repo, cfg, &t, &meta, timeline, &followed, why)))
        goto done;
    t.timeline = timeline;
    if ((rc = wd_backup_manifest_find(repo, meta.id, &r.compress)))
        goto done;
    if (repo->info.encrypted && (rc = wd_repo_unlock(repo)))
        goto done;
    /* a first read of the manifest, authenticated whole before anything is
     * written: the tablespaces to check, and the owner (backup.info is a
     * clear-text summary anyone with write access could have edited) */
    wd_backup_meta first = {0};
    r.manifest = &first;
    rc = wd_backup_read_manifest(repo, meta.id, &first, prepass_cb, &r);
    if (!rc && geteuid() == 0 && first.owner && *first.owner) {
        struct passwd *pw = getpwnam(first.owner);
        if (pw) {
            r.uid = pw->pw_uid;
            r.gid = pw->pw_gid;
        } else {
            wd_log_warn("user '%s', owner of the backed-up data directory, does not exist "
                        "here: the restored files belong to root",
                        first.owner);
        }
    }
    wd_backup_meta_clear(&first);
    r.manifest = NULL;
    if (rc || (rc = check_targets(&r)))
        goto done;
    wd_log_info("restoring backup %s into '%s'", meta.id, pgdata);
    if ((rc = wd_place_prepare(pgdata, "target directory")))
        goto done;
    if (r.uid != (uid_t)-1 && chown(pgdata, r.uid, r.gid) != 0)
        wd_log_warn("cannot change the owner of '%s': %s", pgdata, strerror(errno));
    if ((rc = wd_place_sync_add(&r.sync, pgdata)))
        goto done;
    for (size_t i = 0; i < r.n_ts; i++) {
        if ((rc = wd_place_prepare(r.ts[i].dir, "tablespace directory")) ||
            (rc = wd_place_sync_add(&r.sync, r.ts[i].dir)))
            goto done;
        if (r.uid != (uid_t)-1 && chown(r.ts[i].dir, r.uid, r.gid) != 0)
            wd_log_warn("cannot change the owner of '%s': %s", r.ts[i].dir, strerror(errno));
    }
    r.n_caches = workers > 1 ? workers : 1;
    if (!(r.caches = wd_calloc((size_t)r.n_caches, sizeof(*r.caches)))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if ((rc = wd_repo_bundles_begin(repo, workers)) ||
        (rc = wd_pool_start(&r.pool, workers, sizeof(restore_job), QUEUE_DEPTH,
                            sizeof(folder_cache *), restore_job_fn, &r)))
        goto done;
    wd_backup_meta read_meta = {0};
    r.manifest = &read_meta;
    rc = wd_backup_read_manifest(repo, meta.id, &read_meta, entry_cb, &r);
    if (!rc && read_meta.pub.system_id != repo->info.system_id)
        rc = wd_error_set(WALDEN_EMISMATCH, "backup %s is of cluster %" PRIu64 ", not %" PRIu64,
                          meta.id, read_meta.pub.system_id, repo->info.system_id);
    wd_backup_meta_clear(&read_meta);
    walden_progress p = {"restore", 0, meta.pub.size, 0, meta.pub.file_count};
    progress_ctx pc = {&r, &p, cb, cb_ctx};
    char read_error[1024];
    snprintf(read_error, sizeof(read_error), "%s", walden_error_last()->message);
    int prc = wd_pool_finish(r.pool, rc != 0 && !r.stopped, cb ? progress_tick : NULL, &pc);
    if (!rc || r.stopped) /* a worker's failure is the cause */
        rc = prc;
    else if (prc) /* the manifest's own failure came first */
        wd_error_set(rc, "%s", read_error);
    if (rc)
        goto done;
    const char *archive_mode = walden_config_get(cfg, "archive-mode");
    if ((rc = wd_recovery_write(pgdata, restore_command, &t, meta.id,
                                !archive_mode || strcmp(archive_mode, "preserve") != 0)))
        goto done;
    if ((rc = wd_place_sync_all(&r.sync)))
        goto done;
    if (result) {
        snprintf(result->backup_id, sizeof(result->backup_id), "%s", meta.id);
        result->files = r.files;
        result->size = r.bytes;
        result->timeline = followed;
        snprintf(result->timeline_reason, sizeof(result->timeline_reason), "%s", why);
    }
done:
    wd_pool_free(r.pool);
    wd_repo_bundles_end(repo); /* members are read from a few whole bundles */
    for (int i = 0; i < r.claimed; i++)
        if (r.caches[i].base)
            close(r.caches[i].fd);
    wd_free(r.caches);
    wd_place_sync_close(&r.sync);
    for (size_t i = 0; i < r.n_ts; i++)
        wd_free(r.ts[i].dir);
    pthread_mutex_destroy(&r.mu);
    wd_backup_meta_clear(&meta);
    return rc;
}
