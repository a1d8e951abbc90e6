/*
 * bundle.c - the bundles a backup writes (store.h, repo/bundle.h).
 *
 * A worker storing a small file runs it through the store pipeline into
 * memory (it is at most bundle-limit bytes, so its stored stream is small),
 * then appends those bytes to the open bundle under the writer's lock: the
 * member's offset is where the bundle stood. The bundle object is written
 * like any other (visible only once committed), its stored SHA-256 taken
 * as it goes. Members are never split across bundles. The worker whose
 * member fills a bundle takes it out of the writer and uploads it outside
 * the lock: the others go on with the next bundle meanwhile.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "backup/store.h"
#include "common/common.h"
#include "repo/bundle.h"

int wd_backup_bundles_setup(backup_run *r, const walden_config *cfg)
{
    bundle_writer *w = &r->bundles;
    memset(w, 0, sizeof(*w));
    /* an object store: every driver but the local one (storage/open.c) */
    bool objstore = strcmp(r->repo->storage->driver->name, "posix") != 0;
    w->on = walden_config_is(cfg, "bundle", "yes") ||
            (objstore && !walden_config_is(cfg, "bundle", "no"));
    w->max = (uint64_t)walden_config_int(cfg, "bundle-size", 16) << 20;
    w->limit = (uint64_t)walden_config_int(cfg, "bundle-limit", 64) << 10;
    pthread_mutex_init(&w->mu, NULL);
    return 0;
}

/* Begins bundle number w->n. */
static int bundle_open(backup_run *r)
{
    bundle_writer *w = &r->bundles;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        bundle_sum *d = wd_realloc(w->done, cap * sizeof(*d));
        if (!d)
            return WALDEN_ENOMEM;
        w->done = d;
        w->cap = cap;
    }
    char *object = wd_bundle_object(r->prefix, w->n, r->repo->compress);
    wd_sink *sink = NULL;
    int rc = object ? wd_storage_open_write_ex(r->repo->storage, object, WD_WRITE_DEFER_SYNC, &sink)
                    : WALDEN_ENOMEM;
    wd_free(object);
    if (rc || (rc = wd_pipe_new(&w->pipe, sink)) || (rc = wd_hash_filter_new(&w->hash)) ||
        (rc = wd_pipe_add(w->pipe, w->hash))) {
        wd_pipe_free(w->pipe);
        w->pipe = NULL;
        return rc;
    }
    w->size = 0;
    w->n++;
    return 0;
}

/* Commits bundle number idx (taken out of the writer: the upload does not
 * hold the writer's lock), keeping its stored SHA-256 and size. */
static int bundle_close(bundle_writer *w, wd_pipe *pipe, wd_filter *hash, size_t idx)
{
    bundle_sum sum;
    int rc = wd_pipe_end(pipe);
    if (!rc) {
        wd_hash_filter_result(hash, sum.sha, &sum.size);
        rc = wd_pipe_commit(pipe, NULL);
    }
    wd_pipe_free(pipe);
    if (!rc) {
        pthread_mutex_lock(&w->mu);
        w->done[idx] = sum; /* under the lock: another bundle's open may move the array */
        pthread_mutex_unlock(&w->mu);
    }
    return rc;
}

int wd_backup_bundle_put(backup_run *r, const uint8_t *data, size_t len, wd_layer *l,
                         uint8_t stored_sha256[32])
{
    bundle_writer *w = &r->bundles;
    uint8_t *member = NULL;
    size_t member_len = 0;
    wd_sink *sink = NULL;
    wd_repo_stream st = {0};
    int rc = wd_memory_sink_open(&sink, &member, &member_len);
    if (rc || (rc = wd_repo_store_begin_ex(r->repo, sink, WD_STORE_NO_RAW_HASH, &st)))
        return rc;
    uint64_t stored = 0;
    if (!(rc = wd_pipe_write(st.pipe, data, len)) && !(rc = wd_pipe_end(st.pipe))) {
        wd_hash_filter_result(st.stored_hash, stored_sha256, &stored);
        rc = wd_pipe_commit(st.pipe, NULL);
    }
    wd_pipe_free(st.pipe);
    if (rc)
        return rc;
    memset(l, 0, sizeof(*l));
    snprintf(l->id, sizeof(l->id), "%s", r->id);
    l->kind = 'u';
    l->raw_size = len;
    l->stored_size = stored;
    pthread_mutex_lock(&w->mu);
    if (!w->pipe)
        rc = bundle_open(r);
    if (!rc) {
        l->part = (int64_t)(w->n - 1);
        l->offset = w->size;
        rc = wd_pipe_write(w->pipe, member, member_len);
        w->size += member_len;
    }
    wd_pipe *full = NULL;
    wd_filter *full_hash = NULL;
    size_t idx = w->n - 1;
    if (!rc && w->size >= w->max) { /* the next member begins the next bundle */
        full = w->pipe;
        full_hash = w->hash;
        w->pipe = NULL;
    }
    pthread_mutex_unlock(&w->mu);
    wd_free(member);
    return full ? bundle_close(w, full, full_hash, idx) : rc;
}

int wd_backup_bundles_close(backup_run *r)
{
    bundle_writer *w = &r->bundles;
    int rc = 0;
    if (w->pipe) { /* every worker is done */
        wd_pipe *p = w->pipe;
        w->pipe = NULL;
        rc = bundle_close(w, p, w->hash, w->n - 1);
    }
    for (size_t i = 0; i < w->n && !rc; i++) {
        char *rel = wd_bundle_object("", i, r->repo->compress);
        char line[256];
        int n = rel ? wd_stored_line_format(w->done[i].sha, w->done[i].size, rel + 1, line,
                                            sizeof(line))
                    : -1;
        wd_free(rel);
        rc = n < 0 ? WALDEN_ENOMEM : wd_pipe_write(r->stored, (const uint8_t *)line, (size_t)n);
    }
    return rc;
}

void wd_backup_bundles_free(backup_run *r)
{
    bundle_writer *w = &r->bundles;
    wd_pipe_free(w->pipe);
    w->pipe = NULL;
    wd_free(w->done);
    w->done = NULL;
    if (w->max)
        pthread_mutex_destroy(&w->mu);
}
