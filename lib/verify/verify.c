/*
 * verify.c - walden_verify: re-reads a cluster's area and checks it
 * (docs/commands/verify.md).
 *
 * One producer (the calling thread) walks the backups, the dumps and the
 * WAL archive and pushes one job per stored file into a pool of
 * `process-max` workers (common/pool.h). Each worker reads its file into a
 * null sink through one of two pipelines:
 *   decode (the area is not encrypted, or the key is unlocked):
 *     wd_repo_read_begin: [stored sha256] decrypt decompress [raw sha256]
 *   stored (encrypted, no key):
 *     [stored sha256] [framing of the encrypted container]
 * with the expected digests set on the hash filters, then compares sizes.
 *
 * What the producer learns the lists from:
 *   - a backup: with decode, its manifest (authenticated by decryption in
 *     an encrypted area), cross-checked line by line against backup.stored;
 *     without the key, backup.stored alone (clear text, unauthenticated);
 *   - a dump: dump.manifest (clear text, with both digests);
 *   - WAL: the object names (the raw SHA-256 is part of each), and the
 *     backups' start and stop segments.
 *
 * Problems are reported through the caller's callback, one at a time (a
 * mutex), and are not errors of the function: only what stops the
 * verification (out of memory, an unreadable listing, the callback's
 * non-zero return) is. A missing file is reported as missing only when
 * opening it says "not found"; anything read that fails a check is
 * corrupt; any other failure to read is "unreadable".
 *
 * Memory: the job queue, a pipeline per worker, a line buffer each for the
 * manifest and backup.stored (both streamed), one WAL folder's names at a
 * time, the archive summary, and a few bytes per backup.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "common/common.h"
#include "common/pool.h"
#include "repo/lock.h"
#include "repo/repo.h"
#include "repo/bundle.h"
#include "verify/verify.h"

#define QUEUE_DEPTH 32

/* How far verify is, for the caller's progress (from its own thread). */
void wd_verify_tick(void *arg)
{
    verify_run *v = arg;
    if (!v->progress)
        return;
    walden_progress p = {"verify", 0, 0, 0, 0};
    pthread_mutex_lock(&v->mu);
    p.bytes_done = v->res->bytes;
    p.files_done = v->res->files + v->res->wal_files;
    pthread_mutex_unlock(&v->mu);
    v->progress(&p, v->progress_ctx);
}

/* ---- reporting ---- */

int wd_verify_report(verify_run *v, walden_verify_kind kind, const char *set, const char *object,
                     const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    pthread_mutex_lock(&v->mu);
    if (kind == WALDEN_VERIFY_UNCHECKED)
        v->res->unchecked++;
    else
        v->res->problems++;
    int rc = 0;
    if (v->cb) {
        walden_verify_problem p = {kind, set ? set : "", object, msg};
        rc = wd_callback_rc(v->cb(&p, v->cb_ctx));
    }
    pthread_mutex_unlock(&v->mu);
    if (rc)
        wd_error_set(rc < 0 ? rc : WALDEN_ERROR, "verify was stopped by its caller");
    return rc;
}

/* Turns a failure to read or check `object` into a report: corrupt when
 * the bytes failed a check, unreadable otherwise. Out of memory stops. */
int wd_verify_report_failure(verify_run *v, int rc, const char *set, const char *object)
{
    if (rc == WALDEN_ENOMEM)
        return rc;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", walden_error_last()->message);
    walden_error_clear();
    /* the key is unlocked before anything is read: a key error now is an
     * altered first record */
    walden_verify_kind kind = rc == WALDEN_EAUTH ? WALDEN_VERIFY_FORGED
                              : rc == WALDEN_ECORRUPT || rc == WALDEN_EKEY || rc == WALDEN_EVERSION
                                  ? WALDEN_VERIFY_CORRUPT
                                  : WALDEN_VERIFY_UNREADABLE;
    return wd_verify_report(v, kind, set, object, "%s", msg);
}

/* ---- the workers ---- */

int wd_verify_check_object(void *item, void *scratch, void *ctx)
{
    verify_run *v = ctx;
    const vjob *j = item;
    (void)scratch;
    if (j->unit)
        return wd_verify_check_unit(v, j);
    wd_source *src = NULL;
    wd_sink *sink = NULL;
    wd_repo_stream st = {0};
    int rc = j->member ? wd_bundle_member_open(v->repo, j->object, j->offset, j->stored_size, &src)
                       : wd_storage_open_read(v->repo->storage, j->object, &src);
    if (rc == WALDEN_ENOTFOUND) {
        walden_error_clear();
        bool listed = false;
        if (j->list[0] && (rc = wd_storage_exists(v->repo->storage, j->list, &listed)))
            return wd_verify_report_failure(v, rc, j->set, j->list);
        if (!listed) { /* removed since it was listed: expire ran meanwhile */
            wd_log_info("'%s' was removed while verify ran", j->object);
            return 0;
        }
        return wd_verify_report(v, WALDEN_VERIFY_MISSING, j->set, j->object,
                                "%s lists it; the repository does not have it", j->listed_by);
    }
    if (rc)
        return wd_verify_report_failure(v, rc, j->set, j->object);
    if ((rc = wd_null_sink_open(&sink)))
        goto done;
    if (j->decode) {
        /* a forged object may decompress to any size: the read stops at what
         * the object may have (docs/security.md, limits) */
        char what[OBJECT_MAX + 64];
        wd_read_limits lim = {.code = WALDEN_ECORRUPT, .what = what};
        snprintf(what, sizeof(what), "'%s' is larger than %s says", j->object, j->listed_by);
        if (j->has_raw_size)
            lim.raw_max = j->raw_size;
        if (j->has_stored)
            lim.stored_max = j->stored_size;
        if (j->wal) {
            wd_wal_copy copy;
            char name[64];
            const char *base = strrchr(j->object, '/');
            wd_wal_name parsed;
            bool segment =
                wd_wal_object_parse(base ? base + 1 : j->object, name, sizeof(name), &copy) != 0 ||
                wd_wal_name_parse(name, &parsed) != 0 || parsed.kind == WD_WAL_SEGMENT ||
                parsed.kind == WD_WAL_PARTIAL;
            walden_error_clear();
            lim.code = WALDEN_EAUTH;
            snprintf(what, sizeof(what), "'%s' failed authentication", j->object);
            lim.raw_max = !segment                    ? WD_WAL_TEXT_MAX
                          : v->repo->wal_segment_size ? v->repo->wal_segment_size
                                                      : WD_WAL_SEGMENT_MAX;
            lim.stored_max = wd_stored_max(lim.raw_max);
        }
        rc = wd_repo_read_begin_limited(v->repo, j->compress, NULL, NULL, &lim, sink, &st);
        sink = NULL; /* taken over */
        if (!rc && j->has_raw)
            rc = wd_hash_filter_expect(st.raw_hash, j->raw_sha256, "decoded content");
    } else {
        rc = wd_pipe_new(&st.pipe, sink);
        sink = NULL;
        wd_filter *f = NULL;
        /* without a digest to compare (WAL), the bytes are only counted */
        if (!rc && !(rc = j->has_stored ? wd_hash_filter_new(&f) : wd_count_filter_new(&f)) &&
            !(rc = wd_pipe_add(st.pipe, f)))
            st.stored_hash = f;
        if (!rc && j->frame && !(rc = wd_cipher_frame_filter_new(&f)))
            rc = wd_pipe_add(st.pipe, f);
    }
    if (!rc && j->has_stored)
        rc = wd_hash_filter_expect(st.stored_hash, j->stored_sha256, "stored copy");
    if (rc)
        goto done;
    int copy_rc = wd_pipe_copy(st.pipe, src);
    uint64_t stored = 0, raw = 0;
    wd_hash_filter_result(st.stored_hash, NULL, &stored);
    if (st.raw_hash)
        wd_hash_filter_result(st.raw_hash, NULL, &raw);
    pthread_mutex_lock(&v->mu);
    if (j->wal)
        v->res->wal_files++;
    else
        v->res->files++;
    v->res->bytes += stored;
    pthread_mutex_unlock(&v->mu);
    if (!copy_rc && j->wal && j->decode) {
        /* the name's signature over what was read (as archive-get checks it) */
        const char *base = strrchr(j->object, '/');
        char name[64];
        wd_wal_copy copy;
        uint8_t header[WD_CIPHER_HEADER_LEN];
        if (wd_wal_object_parse(base ? base + 1 : j->object, name, sizeof(name), &copy) == 0 &&
            !(copy_rc = st.cipher ? wd_decrypt_filter_header(st.cipher, header) : 0)) {
            wd_hash_filter_result(st.raw_hash, copy.sha256, NULL);
            copy_rc = wd_wal_copy_verify(v->repo, name, &copy, header);
        }
    } else if (!copy_rc && j->wal && !v->repo->legacy) {
        /* without the key: the name's signature over the SHA-256 it names
         * and the header in clear (the content is checked with the key) */
        const char *base = strrchr(j->object, '/');
        char name[64];
        wd_wal_copy copy;
        uint8_t header[WD_CIPHER_HEADER_LEN];
        if (base && wd_wal_object_parse(base + 1, name, sizeof(name), &copy) == 0) {
            char *folder = wd_strndup(j->object, (size_t)(base - j->object));
            copy_rc = !folder                   ? WALDEN_ENOMEM
                      : v->repo->info.encrypted ? wd_wal_copy_header(v->repo, folder, &copy, header)
                                                : 0;
            if (!copy_rc)
                copy_rc = wd_wal_copy_verify(v->repo, name, &copy, header);
            wd_free(folder);
        }
    }
    if (copy_rc)
        rc = wd_verify_report_failure(v, copy_rc, j->set, j->object);
    else if (j->has_stored && stored != j->stored_size)
        rc = wd_verify_report(v, WALDEN_VERIFY_CORRUPT, j->set, j->object,
                              "%" PRIu64 " bytes stored, %s says %" PRIu64, stored, j->listed_by,
                              j->stored_size);
    else if (j->decode && j->has_raw_size && raw != j->raw_size)
        rc = wd_verify_report(v, WALDEN_VERIFY_CORRUPT, j->set, j->object,
                              "%" PRIu64 " bytes once decoded, %s says %" PRIu64, raw, j->listed_by,
                              j->raw_size);
done:
    if (sink)
        sink->abort(sink);
    wd_pipe_free(st.pipe);
    wd_source_close(src);
    return rc;
}

int wd_verify_push(verify_run *v, const vjob *j)
{
    wd_verify_tick(v); /* the caller's progress limits its own rate */
    return wd_pool_push(v->pool, j) ? 0 : STOPPED;
}

/* A job for a file of a backup or dump. */
void wd_verify_job_init(verify_run *v, vjob *j, const char *set, const char *listed_by,
                        const char *list)
{
    memset(j, 0, sizeof(*j));
    snprintf(j->set, sizeof(j->set), "%s", set);
    snprintf(j->list, sizeof(j->list), "%s", list);
    j->listed_by = listed_by;
    j->decode = v->decode;
    j->frame = !v->decode && v->repo->info.encrypted;
}

static int verify_locked(walden_repo *repo, const walden_config *cfg, walden_progress_cb progress,
                         void *progress_ctx, walden_verify_cb cb, void *ctx,
                         walden_verify_result *result)
{
    walden_verify_result local = WALDEN_VERIFY_RESULT_INIT;
    if (!result)
        result = &local;
    int workers = 1, rc;
    if ((rc = wd_process_max(cfg, false, &workers)))
        return rc;
    const char *set = walden_config_get(cfg, "set");
    if (set && !*set)
        set = NULL;
    if (set && (strchr(set, '/') || strcmp(set, ".") == 0 || strcmp(set, "..") == 0))
        return wd_error_set(WALDEN_EINVAL, "invalid backup or dump id '%s'", set);

    verify_run v = {.repo = repo,
                    .cb = cb,
                    .cb_ctx = ctx,
                    .res = result,
                    .set = set,
                    .progress = progress,
                    .progress_ctx = progress_ctx};
    if ((rc = wd_repo_trust(repo))) {
        /* nothing in the area can be authenticated: one wd_verify_report, and stop */
        if (rc != WALDEN_EAUTH)
            return rc;
        char *cpath = wd_repo_path(repo, "cluster.conf");
        pthread_mutex_init(&v.mu, NULL);
        rc = cpath ? wd_verify_report_failure(&v, rc, "", cpath) : WALDEN_ENOMEM;
        pthread_mutex_destroy(&v.mu);
        wd_free(cpath);
        return rc;
    }
    if (!repo->info.encrypted) {
        v.decode = true;
    } else if (repo->passphrase) {
        if ((rc = wd_repo_unlock(repo)))
            return rc; /* a wrong passphrase: nothing could be decoded */
        v.decode = true;
    } else {
        wd_log_info("no passphrase: checking stored checksums and encryption framing only");
    }
    result->decoded = v.decode;

    bool backups = true, dumps = true;
    wd_compress set_c = WD_COMPRESS_NONE;
    if (set) {
        rc = wd_backup_manifest_find(repo, set, &set_c);
        if (rc == WALDEN_ENOTFOUND) {
            backups = false;
            char *path =
                wd_asprintf("%s/%s/%s/%s", repo->cluster, WD_DUMP_DIR, set, WD_DUMP_MANIFEST);
            bool exists = false;
            rc = path ? wd_storage_exists(repo->storage, path, &exists) : WALDEN_ENOMEM;
            wd_free(path);
            if (!rc && !exists)
                rc = wd_error_set(WALDEN_ENOTFOUND, "no backup or dump '%s' in cluster '%s'", set,
                                  repo->cluster);
        } else {
            dumps = false;
        }
        if (rc)
            return rc;
    }

    walden_wal_summary *sum = NULL;
    if (backups && (rc = walden_wal_summary_get(repo, &sum)))
        return rc;
    v.per_log = sum && sum->segment_size ? wd_wal_per_log(sum->segment_size) : 256;
    pthread_mutex_init(&v.mu, NULL);
    /* with the key, members are read from a few whole bundles at a time */
    if ((v.decode && (rc = wd_repo_bundles_begin(repo, workers))) ||
        (rc = wd_pool_start(&v.pool, workers, sizeof(vjob), QUEUE_DEPTH, 0, wd_verify_check_object,
                            &v)))
        goto done;
    if (backups)
        rc = set ? wd_verify_backup(&v, set, set_c) : wd_verify_backups(&v);
    if (!rc && dumps)
        rc = set ? wd_verify_dump(&v, set, true) : wd_verify_dumps(&v);
    if (!rc && backups)
        rc = wd_verify_wal(&v, sum);
    if (!rc && backups && !set)
        rc = wd_verify_timelines(&v, repo, sum);
    int prc = wd_pool_finish(v.pool, rc != 0 && rc != STOPPED, wd_verify_tick, &v);
    if (!rc || rc == STOPPED)
        rc = prc;
    wd_pool_free(v.pool);
done:
    wd_repo_bundles_end(repo);
    wd_verify_refs_free(&v);
    pthread_mutex_destroy(&v.mu);
    walden_wal_summary_free(sum);
    wd_free(v.needs);
    return rc;
}

int walden_verify(walden_repo *repo, const walden_config *cfg, walden_progress_cb progress,
                  void *progress_ctx, walden_verify_cb cb, void *ctx, walden_verify_result *result)
{
    /* expire must not remove what is being checked: it waits, or skips */
    int rc =
        result ? WD_RESULT_START(result, WALDEN_VERIFY_RESULT_VERSION, "walden_verify_result") : 0;
    if (rc)
        return rc;
    int lock = -1;
    rc = wd_repo_lock(repo, WD_LOCK_READ, true, &lock);
    if (!rc)
        rc = verify_locked(repo, cfg, progress, progress_ctx, cb, ctx, result);
    /* leftovers of killed writers: space, not damage; expire removes them */
    uint64_t temps, temp_bytes;
    if (!rc &&
        !wd_storage_abandoned(repo->storage, repo->cluster, true, false, &temps, &temp_bytes) &&
        temps)
        wd_log_warn("%llu abandoned temporary file%s (%llu bytes) in the repository: a later "
                    "expire removes them",
                    (unsigned long long)temps, temps == 1 ? "" : "s",
                    (unsigned long long)temp_bytes);
    wd_lock_release(lock);
    return rc;
}
