/*
 * backup.c - walden backup: an online full backup through the
 * non-exclusive backup API.
 *
 *   1. lock the cluster, connect, check identity and archiving settings;
 *   2. remove leftovers of backups that never got their manifest;
 *   3. pg_backup_start; walk PGDATA in this thread, feeding a pool of
 *      `process-max` workers (common/pool.h): each stores one file through the
 *      store pipeline (verifying page checksums on the way) and appends its
 *      line to the manifest stream;
 *   4. pg_backup_stop; store backup_label and tablespace_map;
 *   5. wait until the WAL from start to stop is in the archive;
 *   6. sync the repository, commit backup.stored (the stored SHA-256 of
 *      every object, the manifest's included: verify's list when it has no
 *      key), then commit the manifest (the backup exists from this moment),
 *      then write the summary backup.info.
 * A failure at any step leaves no manifest; the files already stored are
 * removed at once, or by the next backup when the process died.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "catalog/manifest.h"
#include "backup/walk.h"
#include "common/common.h"
#include "common/pool.h"
#include "pg/pg.h"
#include "repo/lock.h"
#include "repo/repo.h"

#include "backup/store.h"

/* ---- small helpers ---- */

/* Opens backup.stored and writes its head. */
static int open_stored(backup_run *r, const wd_backup_meta *m)
{
    char *path = wd_asprintf("%s/%s", r->prefix, WD_STORED_NAME);
    wd_sink *sink = NULL;
    int rc = path ? wd_storage_open_write(r->repo->storage, path, &sink) : WALDEN_ENOMEM;
    wd_free(path);
    if (rc || (rc = wd_pipe_new(&r->stored, sink)) || (rc = wd_hash_filter_new(&r->stored_body)) ||
        (rc = wd_pipe_add(r->stored, r->stored_body)))
        return rc;
    char *head = wd_asprintf("# walden backup stored objects: SHA-256 and size as stored\n"
                             "format = %d\nid = %s\nencrypted = %s\n[objects]\n",
                             WD_STORED_FORMAT, m->id, m->pub.encrypted ? "yes" : "no");
    rc = head ? wd_pipe_write(r->stored, (const uint8_t *)head, strlen(head)) : WALDEN_ENOMEM;
    wd_free(head);
    return rc;
}

/* Appends the signature line of what `body` has seen to the stream `p`,
 * stored at `rel` (relative to the backup's folder). */
static int sign_stream(backup_run *r, wd_pipe *p, const wd_filter *body, const char *rel)
{
    uint8_t sha[32];
    char line[WD_SIG_LINE_LEN + 1];
    wd_area_id area;
    wd_repo_area(r->repo, &area);
    char *path = wd_asprintf("%s/%s", wd_repo_rel(r->repo, r->prefix), rel);
    int rc = path ? wd_hash_filter_peek(body, sha) : WALDEN_ENOMEM;
    if (!rc && !(rc = wd_sign_text_line(r->repo->sign_priv, &area, path, sha, line)))
        rc = wd_pipe_write(p, (const uint8_t *)line, strlen(line));
    wd_free(path);
    return rc;
}

/* Ends the manifest stream, then adds the manifest's own line to
 * backup.stored and commits that durably; the manifest itself is committed
 * by the caller, last. */
static int close_stored(backup_run *r, const wd_repo_stream *ms)
{
    int rc = wd_pipe_end(r->manifest);
    if (rc)
        return rc;
    uint8_t sha[32];
    uint64_t size = 0, raw = 0;
    /* what a reader would refuse, never stored as a backup */
    wd_hash_filter_result(ms->raw_hash, NULL, &raw);
    wd_hash_filter_result(ms->stored_hash, sha, &size);
    if (raw > WD_MANIFEST_MAX || size > wd_stored_max(WD_MANIFEST_MAX))
        return wd_error_set(WALDEN_EINVAL,
                            "the manifest in '%s' has %" PRIu64
                            " bytes, more than restore reads (%llu)",
                            r->prefix, raw, (unsigned long long)WD_MANIFEST_MAX);
    char name[64], line[256];
    snprintf(name, sizeof(name), "%s%s", WD_MANIFEST_NAME, wd_compress_ext(r->repo->compress));
    int n = wd_stored_line_format(sha, size, name, line, sizeof(line));
    if (n < 0)
        return wd_error_set(WALDEN_EINVAL, "manifest name too long");
    static const char end[] = "[end]\ncomplete = yes\n";
    if ((rc = wd_pipe_write(r->stored, (const uint8_t *)line, (size_t)n)) ||
        (rc = wd_pipe_write(r->stored, (const uint8_t *)end, sizeof(end) - 1)) ||
        (rc = sign_stream(r, r->stored, r->stored_body, WD_STORED_NAME)))
        return rc;
    return wd_pipe_finish(r->stored);
}

/* The block map: its digests come from the workers as files finish. */
static int open_blockmap(backup_run *r)
{
    char *path = wd_asprintf("%s/backup.blockmap%s", r->prefix, wd_compress_ext(r->repo->compress));
    wd_sink *sink = NULL;
    wd_repo_stream st;
    int rc = path ? wd_storage_open_write_ex(r->repo->storage, path, WD_WRITE_DEFER_SYNC, &sink)
                  : WALDEN_ENOMEM;
    wd_free(path);
    if (rc || (rc = wd_repo_store_begin(r->repo, sink, &st)))
        return rc;
    r->blockmap = st.pipe;
    r->blockmap_raw = st.raw_hash;
    r->blockmap_stored = st.stored_hash;
    return 0;
}

/* Commits the block map: its SHA-256 and size go to the manifest's [end],
 * its stored ones to backup.stored. */
static int close_blockmap(backup_run *r, wd_backup_meta *m)
{
    int rc = wd_pipe_end(r->blockmap);
    if (rc)
        return rc;
    uint8_t sha[32];
    uint64_t size = 0;
    wd_hash_filter_result(r->blockmap_raw, m->blockmap_sha256, &m->blockmap_size);
    wd_hash_filter_result(r->blockmap_stored, sha, &size);
    if ((rc = wd_pipe_commit(r->blockmap, NULL)))
        return rc;
    char name[64], line[256];
    snprintf(name, sizeof(name), "backup.blockmap%s", wd_compress_ext(r->repo->compress));
    int n = wd_stored_line_format(sha, size, name, line, sizeof(line));
    if (n < 0)
        return wd_error_set(WALDEN_EINVAL, "block map name too long");
    r->stored_size += size;
    return wd_pipe_write(r->stored, (const uint8_t *)line, (size_t)n);
}

/* The backup a diff or incr refers to, or none (a full is taken instead,
 * unless `fallback` is off). */
static int choose_reference(walden_repo *repo, const char *type, bool fallback, wd_reference **ref)
{
    char why[512] = "";
    int rc = wd_reference_choose(repo, type, PART_SIZE, ref, why, sizeof(why));
    if (rc && wd_catalog_is_damaged(rc)) {
        snprintf(why, sizeof(why), "%s", walden_error_last()->message);
        walden_error_clear();
        rc = 0;
    }
    if (rc || *ref)
        return rc;
    if (!fallback)
        return wd_error_set(WALDEN_ENOTFOUND,
                            "no backup for --type %s to refer to (%s); take a full backup, or let "
                            "walden do so (full-fallback = yes)",
                            type, why);
    wd_log_warn("no backup for --type %s to refer to (%s): taking a full backup", type, why);
    return 0;
}

static int store_job(void *item, void *scratch, void *ctx)
{
    return wd_backup_store_file(ctx, item, scratch);
}

/* ---- the steps ---- */

static int check_archiving(wd_pg_conn *c)
{
    wd_pg_result *res;
    int rc = wd_pg_query(c, &res,
                         "SELECT current_setting('archive_mode'), "
                         "current_setting('archive_command'), "
                         "coalesce(current_setting('archive_library', true), '')",
                         0, NULL);
    if (rc)
        return rc;
    const char *mode = wd_pg_value(res, 0, 0), *cmd = wd_pg_value(res, 0, 1),
               *lib = wd_pg_value(res, 0, 2);
    if (!mode || strcmp(mode, "off") == 0)
        rc = wd_error_set(WALDEN_EINVAL,
                          "archive_mode is off: a backup without its WAL cannot be restored; "
                          "set archive_mode = on and archive_command = 'walden archive-push %%p'");
    else if ((!cmd || !*cmd || strcmp(cmd, "(disabled)") == 0) && (!lib || !*lib))
        rc = wd_error_set(WALDEN_EINVAL, "archive_command is not set: set archive_command = "
                                         "'walden archive-push %%p'");
    wd_pg_result_free(res);
    return rc;
}

static int check_identity(walden_repo *repo, wd_pg_conn *c, const char *pgdata, wd_backup_meta *m)
{
    char *text = NULL;
    uint64_t server_sysid = 0, disk_sysid = 0;
    int major = 0;
    int rc = wd_pg_query_one(c, "SELECT system_identifier::text FROM pg_control_system()", &text);
    if (!rc && wd_parse_uint64(text, &server_sysid))
        rc = wd_error_set(WALDEN_EPG, "unexpected system identifier '%s'", text);
    wd_free(text);
    if (rc)
        return rc;
    if (server_sysid != repo->info.system_id)
        return wd_error_set(WALDEN_EMISMATCH,
                            "the server is cluster %" PRIu64 ", but the repository's cluster '%s' "
                            "is %" PRIu64,
                            server_sysid, repo->cluster, repo->info.system_id);
    if ((rc = wd_pg_control_read(pgdata, &disk_sysid, &major)))
        return rc;
    if (disk_sysid != server_sysid)
        return wd_error_set(WALDEN_EMISMATCH,
                            "pgdata '%s' holds cluster %" PRIu64 ", not the server's %" PRIu64,
                            pgdata, disk_sysid, server_sysid);
    m->pub.system_id = server_sysid;
    m->pub.pg_version = wd_pg_server_version(c);
    if ((rc = wd_pg_query_one(c, "SELECT current_setting('data_checksums')", &text)))
        return rc;
    m->data_checksums = strcmp(text, "on") == 0;
    wd_free(text);
    return 0;
}

static int segment_no(const char *wal, uint64_t seg_size, uint32_t *tli, uint64_t *segno)
{
    wd_wal_name n;
    if (wd_wal_name_parse(wal, &n) || n.kind != WD_WAL_SEGMENT)
        return wd_error_set(WALDEN_EPG, "unexpected WAL file name '%s'", wal);
    *tli = n.tli;
    *segno = (uint64_t)n.log * wd_wal_per_log(seg_size) + n.seg;
    return 0;
}

typedef struct wait_tick {
    walden_progress_cb cb;
    void *cb_ctx;
    walden_progress *p;
} wait_tick;

static void wait_progress(void *ctx)
{
    wait_tick *t = ctx;
    t->cb(t->p, t->cb_ctx);
}

static int wait_for_wal(walden_repo *repo, wd_pg_conn *c, const wd_backup_meta *m,
                        int64_t timeout_s, walden_progress_cb cb, void *cb_ctx)
{
    char *text = NULL;
    int64_t seg_size = 0;
    int rc = wd_pg_query_one(c, "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'",
                             &text);
    if (!rc && wd_parse_int64(text, 1 << 20, 1ll << 30, &seg_size))
        rc = wd_error_set(WALDEN_EPG, "unexpected wal_segment_size '%s'", text);
    wd_free(text);
    if (rc)
        return rc;
    uint32_t tli = 0, stop_tli = 0;
    uint64_t seg = 0, last = 0;
    if ((rc = segment_no(m->start_wal, (uint64_t)seg_size, &tli, &seg)) ||
        (rc = segment_no(m->stop_wal, (uint64_t)seg_size, &stop_tli, &last)))
        return rc;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    walden_progress p = {"wait-wal", 0, 0, 0, last - seg + 1};
    wait_tick tick = {cb, cb_ctx, &p};
    for (; seg <= last; seg++) {
        char name[25];
        wd_wal_segment_name(tli, seg, wd_wal_per_log((uint64_t)seg_size), name);
        bool arrived = false;
        if ((rc = wd_wal_wait(repo, name, &t0, timeout_s, cb ? wait_progress : NULL, &tick,
                              &arrived)))
            return rc;
        if (!arrived) {
            char why[1800];
            wd_wal_why_missing(repo, c, why, sizeof(why));
            return wd_error_set(WALDEN_ETIMEOUT,
                                "WAL segment %s, needed to restore this backup, did not "
                                "reach the repository within %" PRId64 " s (archive-timeout): %s; "
                                "is archive_command running walden archive-push with this "
                                "repository and cluster?",
                                name, timeout_s, why);
        }
        p.files_done++;
    }
    return 0;
}

static void report(backup_run *r, walden_progress *p, walden_progress_cb cb, void *ctx)
{
    if (!cb)
        return;
    pthread_mutex_lock(&r->mu);
    p->bytes_done = r->size;
    p->files_done = r->files;
    pthread_mutex_unlock(&r->mu);
    cb(p, ctx);
}

/* The walk: directories and links go to the manifest at once (so a
 * directory's line comes before its files'), files to the workers. */
typedef struct report_ctx {
    backup_run *r;
    walden_progress *p;
    walden_progress_cb cb;
    void *cb_ctx;
} report_ctx;

static void report_tick(void *arg)
{
    report_ctx *t = arg;
    report(t->r, t->p, t->cb, t->cb_ctx);
}

static int walk_and_copy(backup_run *r, int workers, walden_progress *p, walden_progress_cb cb,
                         void *cb_ctx)
{
    wd_pool *pool;
    int rc = wd_pool_start(&pool, workers, sizeof(file_job), QUEUE_DEPTH, READ_CHUNK, store_job, r);
    if (rc)
        return rc;
    wd_walk *w = NULL;
    wd_walk_entry *e = wd_malloc(sizeof(*e));
    bool stopped = false; /* a worker failed: its error is the one to report */
    if (!e) {
        rc = WALDEN_ENOMEM;
        goto stop;
    }
    if ((rc = wd_walk_open(&w, r->pgdata)))
        goto stop;
    struct timespec last = {0}, now;
    while (!stopped && (rc = wd_walk_next(w, e)) == 0) {
        if (e->type != 'f') {
            wd_manifest_entry me = {.type = e->type,
                                    .mode = e->mode,
                                    .mtime = e->mtime,
                                    .path = e->path,
                                    .link = e->link};
            if ((rc = wd_backup_add_line(r, &me)))
                break;
            continue;
        }
        file_job job;
        memcpy(job.path, e->path, strlen(e->path) + 1);
        job.mode = e->mode;
        job.mtime = e->mtime;
        uint64_t parts = e->size > PART_SIZE ? (e->size + PART_SIZE - 1) / PART_SIZE : 0;
        if (parts == 0) {
            job.part = -1;
            job.last = true;
            stopped = !wd_pool_push(pool, &job);
        }
        for (uint64_t i = 0; !stopped && i < parts; i++) {
            job.part = (int64_t)i;
            job.last = i + 1 == parts;
            stopped = !wd_pool_push(pool, &job);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec != last.tv_sec) {
            last = now;
            report(r, p, cb, cb_ctx);
        }
    }
    if (rc == 1 || stopped)
        rc = 0;
stop:
    wd_walk_close(w);
    wd_free(e);
    report_ctx t = {r, p, cb, cb_ctx};
    int prc = wd_pool_finish(pool, rc != 0, cb ? report_tick : NULL, &t);
    wd_pool_free(pool);
    return rc ? rc : prc;
}

/* The size of everything the walk will copy, for progress percentages. */
static void measure(const char *pgdata, walden_progress *p)
{
    wd_walk *w;
    wd_walk_entry *e = wd_malloc(sizeof(*e));
    if (!e || wd_walk_open(&w, pgdata)) {
        wd_free(e);
        return;
    }
    while (wd_walk_next(w, e) == 0) {
        if (e->type == 'f') {
            p->bytes_total += e->size;
            p->files_total++;
        }
    }
    wd_walk_close(w);
    wd_free(e);
}

int walden_backup(walden_repo *repo, const walden_config *cfg, walden_progress_cb cb, void *cb_ctx,
                  walden_backup_info **out)
{
    const char *pgdata = walden_config_get(cfg, "pgdata");
    if (!pgdata || !*pgdata)
        return wd_error_set(WALDEN_EINVAL, "pgdata is not set: the backup needs the data "
                                           "directory (--pgdata)");
    const char *type;
    int rc;
    if ((rc = walden_config_choice(cfg, "type", "backup", &type)))
        return rc;
    if (!type)
        type = "full"; /* restore's, from a config file or the environment */
    int workers = 1, lock_fd = -1;
    int64_t timeout_s = walden_config_seconds(cfg, "archive-timeout", 60);
    if ((rc = wd_process_max(cfg, false, &workers)))
        return rc;
    bool fast = walden_config_bool(cfg, "start-fast");

    wd_backup_meta *m = wd_calloc(1, sizeof(*m));
    backup_run r = {.repo = repo, .pgdata = pgdata};
    pthread_mutex_init(&r.mu, NULL);
    wd_pg_conn *c = NULL;
    wd_pg_backup_stop_info stop = {0};
    bool started = false, stored_any = false;
    wd_reference *ref = NULL;
    wd_summary *summary = NULL;
    if (!m) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if ((rc = wd_repo_signer(repo)) || (rc = wd_repo_lock(repo, "backup", false, &lock_fd)))
        goto done;
    if ((rc = wd_pg_connect(&c, cfg)) || (rc = check_identity(repo, c, pgdata, m)) ||
        (rc = check_archiving(c)))
        goto done;
    if ((rc = wd_backup_remove_incomplete(repo)))
        goto done;
    if (strcmp(type, "full") != 0 &&
        (rc = choose_reference(repo, type, walden_config_bool(cfg, "full-fallback"), &ref)))
        goto done;
    if (strcmp(type, "full") != 0 && !ref)
        type = "full";
    r.ref = ref;
    if ((rc = wd_backup_bundles_setup(&r, cfg)))
        goto done;

    if ((rc = wd_repo_time_id(repo, WD_BACKUP_DIR, m->id)))
        goto done;
    r.id = m->id;
    m->format = WD_MANIFEST_FORMAT;
    snprintf(m->type, sizeof(m->type), "%s", type);
    if (ref)
        snprintf(m->reference, sizeof(m->reference), "%s", wd_reference_meta(ref)->id);
    snprintf(m->walden_version, sizeof(m->walden_version), "%s", WALDEN_VERSION);
    snprintf(m->compress, sizeof(m->compress), "%s", wd_compress_name(repo->compress));
    m->pub.encrypted = repo->info.encrypted;
    m->part_size = PART_SIZE;
    struct stat st;
    if (stat(pgdata, &st) == 0) {
        struct passwd *pw = getpwuid(st.st_uid);
        m->owner = wd_strdup(pw ? pw->pw_name : "");
    }
    m->pgdata = wd_strdup(pgdata);
    wd_backup_meta_link(m);
    if (!(r.prefix = wd_asprintf("%s/%s/%s", repo->cluster, WD_BACKUP_DIR, m->id)) || !m->pgdata) {
        rc = WALDEN_ENOMEM;
        goto done;
    }

    walden_progress p = {"copy", 0, 0, 0, 0};
    if (cb)
        measure(pgdata, &p);

    char label[64];
    snprintf(label, sizeof(label), "walden %s", m->id);
    wd_log_info("backup %s: starting (%s checkpoint)", m->id, fast ? "immediate" : "spread");
    if ((rc = wd_pg_backup_start(c, label, fast, &m->pub.start_lsn, &m->pub.start_time_ms)))
        goto done;
    started = true;
    r.start_lsn = m->pub.start_lsn;
    r.checksums = m->data_checksums;
    {
        char lsn[WD_LSN_TEXT];
        wd_lsn_format(m->pub.start_lsn, lsn);
        const char *params[1] = {lsn};
        wd_pg_result *res;
        if ((rc = wd_pg_query(c, &res,
                              "SELECT file_name, (SELECT timeline_id FROM pg_control_checkpoint()) "
                              "FROM pg_walfile_name_offset($1::pg_lsn)",
                              1, params)))
            goto done;
        const char *f = wd_pg_value(res, 0, 0), *t = wd_pg_value(res, 0, 1);
        uint64_t tli = 0;
        if (!f || strlen(f) != 24 || !t || wd_parse_uint64(t, &tli))
            rc = wd_error_set(WALDEN_EPG, "unexpected answer about the start WAL file");
        else
            memcpy(m->start_wal, f, 25);
        m->pub.timeline = (uint32_t)tli;
        wd_pg_result_free(res);
        if (rc)
            goto done;
    }
    /* before any file is read: the summaries up to this start */
    if (ref)
        r.summary = summary = wd_backup_summaries(c, cfg, wd_reference_meta(ref), m);

    char *mpath =
        wd_asprintf("%s/%s%s", r.prefix, WD_MANIFEST_NAME, wd_compress_ext(repo->compress));
    wd_sink *msink = NULL;
    wd_repo_stream ms = {0};
    rc = mpath ? wd_storage_open_write(repo->storage, mpath, &msink) : WALDEN_ENOMEM;
    wd_free(mpath);
    if (rc || (rc = wd_repo_store_begin(repo, msink, &ms)))
        goto done;
    r.manifest = ms.pipe;
    stored_any = true;
    if ((rc = open_stored(&r, m)) || (rc = open_blockmap(&r)))
        goto done;
    if ((rc = wd_backup_meta_write_start(r.manifest, m)) ||
        (rc = wd_pipe_write(r.manifest, (const uint8_t *)"[files]\n", 8)))
        goto done;
    if ((rc = walk_and_copy(&r, workers, &p, cb, cb_ctx)))
        goto done;

    if ((rc = wd_pg_backup_stop(c, &stop)))
        goto done;
    started = false;
    m->pub.stop_lsn = stop.lsn;
    m->pub.stop_time_ms = stop.time_ms;
    m->end_xmin = stop.end_xmin;
    memcpy(m->stop_wal, stop.stop_wal, 25);
    if ((rc = wd_backup_store_small(&r, "backup_label", stop.label)) ||
        (*stop.tablespace_map &&
         (rc = wd_backup_store_small(&r, "tablespace_map", stop.tablespace_map))) ||
        (rc = wd_backup_bundles_close(&r)) || (rc = close_blockmap(&r, m)))
        goto done;

    wd_log_info("backup %s: copied, waiting for WAL %s to %s", m->id, m->start_wal, m->stop_wal);
    if ((rc = wait_for_wal(repo, c, m, timeout_s, cb, cb_ctx)))
        goto done;
    if ((rc = wd_storage_sync(repo->storage)))
        goto done;

    m->pub.file_count = r.files;
    m->pub.size = r.size;
    m->pub.stored_size = r.stored_size;
    m->pub.page_errors = r.page_errors;
    snprintf(m->status, sizeof(m->status), "%s", r.page_errors ? "errors" : "ok");
    wd_backup_meta_link(m);
    if ((rc = wd_backup_meta_write_end(r.manifest, m)) ||
        (rc = sign_stream(&r, r.manifest, ms.raw_hash, WD_MANIFEST_NAME)) ||
        (rc = close_stored(&r, &ms)) || (rc = wd_pipe_commit(r.manifest, NULL)))
        goto done;
    stored_any = false; /* the backup exists now: keep it */

    char *text = wd_backup_meta_text(m);
    char *ipath = wd_asprintf("%s/backup.info", r.prefix);
    if (!text || !ipath)
        rc = WALDEN_ENOMEM;
    else if (wd_repo_write_signed(repo, ipath, text, strlen(text)))
        wd_log_warn("backup %s: cannot write backup.info (%s); it is rebuilt from the manifest",
                    m->id, walden_error_last()->message);
    wd_free(text);
    wd_free(ipath);
    if (rc)
        goto done;
    if (ref)
        wd_log_info("backup %s (%s of %s): %" PRIu64 " blocks changed, %" PRIu64
                    " referred to; %" PRIu64 " bytes stored, %" PRIu64 " read",
                    m->id, m->type, m->reference, r.changed_blocks, r.referenced_blocks,
                    r.stored_size, r.read_bytes);
    if (r.page_errors)
        wd_log_warn("backup %s: %" PRIu64 " pages failed their checksum (see the lines above)",
                    m->id, r.page_errors);
    *out = &m->pub;
    m = NULL;
done:
    if (rc && started)
        wd_pg_close(c), c = NULL; /* closing the session aborts the backup */
    wd_pg_backup_stop_info_clear(&stop);
    wd_pipe_free(r.manifest);
    wd_pipe_free(r.stored);
    wd_pipe_free(r.blockmap);
    wd_backup_bundles_free(&r);
    wd_reference_free(ref);
    wd_summary_free(summary);
    if (rc && stored_any && r.prefix) {
        int keep = rc;
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", walden_error_last()->message);
        if (wd_storage_remove_tree(repo->storage, r.prefix))
            wd_log_warn("cannot remove the incomplete backup '%s'; the next backup will", r.prefix);
        wd_error_set(keep, "%s", msg);
    }
    wd_free(r.prefix);
    pthread_mutex_destroy(&r.mu);
    wd_pg_close(c);
    wd_lock_release(lock_fd);
    if (m) {
        wd_backup_meta_clear(m);
        wd_free(m);
    }
    return rc;
}

void walden_backup_info_free(walden_backup_info *info)
{
    if (!info)
        return;
    wd_backup_meta *m = (wd_backup_meta *)info; /* pub is the first member */
    wd_backup_meta_clear(m);
    wd_free(m);
}
