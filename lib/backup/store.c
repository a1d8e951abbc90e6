/*
 * store.c - storing one file or part of a backup (see store.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/store.h"
#include "catalog/layers.h"
#include "common/common.h"
#include "pg/pg.h"

static const uint8_t empty_sha256[32] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};

/* The manifest line and, when the entry has an object of this backup, its
 * backup.stored line: written together, so both lists have the objects in
 * the same order. `own`: that object is the whole object ('w'), the delta
 * object ('d') or a bundle member ('u': the bundle is listed at the end). */
static int add_line(backup_run *r, const wd_manifest_entry *e, char own)
{
    bool delta = own == 'd';
    char *line = wd_malloc(WD_MANIFEST_LINE_MAX), sline[2 * PATH_MAX_ESCAPED + 128];
    if (!line)
        return WALDEN_ENOMEM;
    int n = wd_manifest_entry_format(e, line, WD_MANIFEST_LINE_MAX), sn = 0, rc = 0;
    if (n < 0)
        rc = wd_error_set(WALDEN_EINVAL, "path too long for the manifest: '%s'", e->path);
    if (!rc && (e->type == 'f' || e->type == 'p') && e->stored_size > 0 && own != 'u') {
        int64_t part = e->type == 'p' ? (int64_t)e->part : -1;
        char *rel = delta ? wd_backup_delta_object("", e->path, part, r->repo->compress)
                          : wd_backup_object_rel(e->path, part, r->repo->compress);
        if (!rel)
            rc = WALDEN_ENOMEM;
        else
            sn = wd_stored_line_format(e->stored_sha256, e->stored_size, rel + (delta ? 1 : 0),
                                       sline, sizeof(sline));
        wd_free(rel);
        if (!rc && sn < 0)
            rc = wd_error_set(WALDEN_EINVAL, "path too long for the manifest: '%s'", e->path);
    }
    if (!rc) {
        pthread_mutex_lock(&r->mu);
        rc = wd_pipe_write(r->manifest, (const uint8_t *)line, (size_t)n);
        if (!rc && sn > 0)
            rc = wd_pipe_write(r->stored, (const uint8_t *)sline, (size_t)sn);
        pthread_mutex_unlock(&r->mu);
    }
    wd_free(line);
    return rc;
}

int wd_backup_add_line(backup_run *r, const wd_manifest_entry *e)
{
    return add_line(r, e, 'w');
}

/* The line of a stored file or part, and the totals. */
static int add_entry(backup_run *r, const wd_manifest_entry *e, bool new_file, char own)
{
    int rc = add_line(r, e, own);
    if (rc)
        return rc;
    pthread_mutex_lock(&r->mu);
    r->files += new_file;
    r->size += e->size;
    r->stored_size += e->stored_size;
    r->page_errors += e->bad_pages;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* Opens the store pipeline of an object of this backup: written without an
 * fsync each, the backup syncs once at the end. `raw_hash`: the pipeline
 * hashes the content (else the caller does). */
static int open_object(backup_run *r, const char *path, int64_t part, bool delta, bool raw_hash,
                       wd_repo_stream *st)
{
    char *object = delta ? wd_backup_delta_object(r->prefix, path, part, r->repo->compress)
                         : wd_backup_object(r->prefix, path, part, r->repo->compress);
    wd_sink *sink = NULL;
    int rc = object ? wd_storage_open_write_ex(r->repo->storage, object, WD_WRITE_DEFER_SYNC, &sink)
                    : WALDEN_ENOMEM;
    wd_free(object);
    return rc ? rc : wd_repo_store_begin_ex(r->repo, sink, raw_hash ? 0 : WD_STORE_NO_RAW_HASH, st);
}

/* Ends the pipeline (unless `rc` already failed): its content hash and size
 * (when it hashed it), its stored hash and size; commits the object; frees
 * the pipeline. */
static int close_object(wd_repo_stream *st, int rc, uint8_t raw[32], uint64_t *raw_size,
                        uint8_t stored[32], uint64_t *stored_size)
{
    if (!rc && !(rc = wd_pipe_end(st->pipe))) {
        if (st->raw_hash)
            wd_hash_filter_result(st->raw_hash, raw, raw_size);
        wd_hash_filter_result(st->stored_hash, stored, stored_size);
        rc = wd_pipe_commit(st->pipe, NULL);
    }
    wd_pipe_free(st->pipe);
    st->pipe = NULL;
    return rc;
}

/* Reads up to cap bytes (fewer only at the end of the file). */
static int read_full(int fd, uint8_t *buf, size_t cap, size_t *got, const char *path)
{
    size_t n = 0;
    while (n < cap) {
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return wd_error_set_errno(errno, "cannot read '%s'", path);
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    *got = n;
    return 0;
}

/* Verifies the whole pages of a chunk at file offset `offset`. A page that
 * fails is read again once: the server may have been writing it. */
static uint64_t check_pages(backup_run *r, int fd, const char *path, uint32_t segno,
                            uint64_t offset, const uint8_t *buf, size_t len)
{
    uint64_t bad = 0;
    for (size_t off = 0; off + WD_PG_BLCKSZ <= len; off += WD_PG_BLCKSZ) {
        uint32_t blk = (uint32_t)((offset + off) / WD_PG_BLCKSZ);
        uint32_t blkno = wd_pg_block_number(segno, blk);
        if (wd_pg_page_check(buf + off, blkno, r->start_lsn) != WD_PAGE_BAD)
            continue;
        uint64_t again[WD_PG_BLCKSZ / 8];
        if (pread(fd, again, WD_PG_BLCKSZ, (off_t)(offset + off)) == WD_PG_BLCKSZ &&
            wd_pg_page_check((const uint8_t *)again, blkno, r->start_lsn) != WD_PAGE_BAD)
            continue;
        bad++;
        wd_log_warn("invalid page checksum in '%s', block %u", path, blk);
    }
    return bad;
}

/* The unit being read: where it starts and how far it may go. */
typedef struct unit_read {
    int fd;
    const char *full;
    uint64_t start, limit; /* file offset; bytes (UINT64_MAX: to the end) */
    bool verify;
    uint32_t segno;
} unit_read;

static int unit_seek(const unit_read *u)
{
    if (lseek(u->fd, (off_t)u->start, SEEK_SET) < 0)
        return wd_error_set_errno(errno, "cannot seek in '%s'", u->full);
    return 0;
}

/* The next chunk of the unit (*got = 0 at its end). */
static int unit_next(backup_run *r, const unit_read *u, uint64_t done, uint8_t *buf, size_t *got,
                     uint64_t *bad)
{
    *got = 0;
    if (done >= u->limit)
        return 0;
    size_t want = READ_CHUNK;
    int rc = read_full(u->fd, buf, want, got, u->full);
    if (rc)
        return rc;
    if (u->verify)
        *bad += check_pages(r, u->fd, u->full, u->segno, u->start + done, buf, *got);
    pthread_mutex_lock(&r->mu);
    r->read_bytes += *got;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* ---- a file that is not a relation file: whole, or referred to ---- */

static void refer_whole(wd_manifest_entry *e, const wd_ref_unit *ru)
{
    e->layers = ru->layers;
    e->map = "-";
}

static bool same_whole(const wd_ref_unit *ru, const uint8_t sha[32], uint64_t size)
{
    return ru && ru->hash == 'w' && ru->size == size && memcmp(ru->raw_sha256, sha, 32) == 0;
}

static int store_plain(backup_run *r, const file_job *job, const unit_read *u, uint8_t *buf,
                       wd_manifest_entry *e)
{
    const wd_ref_unit *ru = r->ref ? wd_reference_find(r->ref, job->path, job->part) : NULL;
    size_t got = 0;
    uint64_t done = 0;
    int rc = unit_next(r, u, 0, buf, &got, &e->bad_pages);
    if (rc)
        return rc;
    e->hash = 'w';
    if (got == 0) {
        memcpy(e->raw_sha256, empty_sha256, 32);
        memcpy(e->stored_sha256, empty_sha256, 32);
        return add_entry(r, e, job->part <= 0, 'w');
    }
    if (got < READ_CHUNK && ru) { /* small: compared before anything is stored */
        uint8_t sha[32];
        wd_sha256(buf, got, sha);
        if (same_whole(ru, sha, got)) {
            memcpy(e->raw_sha256, sha, 32);
            e->size = got;
            refer_whole(e, ru);
            return add_entry(r, e, job->part <= 0, 'w');
        }
    }
    wd_repo_stream st;
    if ((rc = open_object(r, job->path, job->part, false, true, &st)))
        return rc;
    while (got > 0) {
        if ((rc = wd_pipe_write(st.pipe, buf, got)))
            break;
        done += got;
        if (got < READ_CHUNK || done >= u->limit)
            break;
        if ((rc = unit_next(r, u, done, buf, &got, &e->bad_pages)))
            break;
    }
    if (!rc && !(rc = wd_pipe_end(st.pipe))) {
        wd_hash_filter_result(st.raw_hash, e->raw_sha256, &e->size);
        wd_hash_filter_result(st.stored_hash, e->stored_sha256, &e->stored_size);
        if (same_whole(ru, e->raw_sha256, e->size)) { /* unchanged: the object is dropped */
            e->stored_size = 0;
            memset(e->stored_sha256, 0, 32);
            refer_whole(e, ru);
        } else {
            rc = wd_pipe_commit(st.pipe, NULL);
        }
    }
    wd_pipe_free(st.pipe);
    return rc ? rc : add_entry(r, e, job->part <= 0, 'w');
}

/* ---- a relation file: block by block ---- */

typedef struct blocks {
    uint8_t *digests; /* 32 per block */
    uint8_t *owner;   /* the layer of each block */
    uint64_t n, cap;
} blocks;

static int blocks_room(blocks *b, uint64_t n)
{
    if (n <= b->cap)
        return 0;
    if (n > WD_UNIT_BLOCKS_MAX)
        return wd_error_set(WALDEN_EINVAL, "a relation file part has more than %u blocks",
                            WD_UNIT_BLOCKS_MAX);
    uint64_t cap = b->cap ? b->cap : 1024;
    while (cap < n)
        cap *= 2;
    uint8_t *d = wd_realloc(b->digests, cap * 32);
    if (!d)
        return WALDEN_ENOMEM;
    b->digests = d;
    uint8_t *o = wd_realloc(b->owner, cap);
    if (!o)
        return WALDEN_ENOMEM;
    memset(o + b->cap, 0, cap - b->cap);
    b->owner = o;
    b->cap = cap;
    return 0;
}

/* What a diff or incr compares a relation unit with. */
typedef struct ref_blocks {
    const wd_ref_unit *ru;
    wd_layer layers[WD_LAYERS_MAX];
    size_t n_layers;
    uint8_t *digests;
    uint8_t *owner;
    uint64_t n;
} ref_blocks;

static void ref_blocks_free(ref_blocks *rb)
{
    wd_free(rb->digests);
    wd_free(rb->owner);
}

/* Loads the reference's unit, or leaves rb->ru NULL when there is none to
 * compare with (a new file, or one with too many layers: stored whole). */
static int ref_blocks_load(backup_run *r, const file_job *job, ref_blocks *rb)
{
    memset(rb, 0, sizeof(*rb));
    const wd_ref_unit *ru = r->ref ? wd_reference_find(r->ref, job->path, job->part) : NULL;
    if (!ru || ru->hash != 'b' || !ru->has_digests)
        return 0;
    int rc = wd_layers_parse(ru->layers, rb->layers, &rb->n_layers);
    if (rc)
        return rc;
    if (rb->n_layers >= WD_LAYERS_KEEP)
        return 0;
    rb->n = ru->bm_blocks;
    rb->digests = wd_malloc(rb->n * 32 + 1);
    rb->owner = wd_malloc(rb->n + 1);
    if (!rb->digests || !rb->owner)
        return WALDEN_ENOMEM;
    if ((rc = wd_reference_digests(r->ref, ru, rb->digests)) ||
        (rc = wd_map_parse(ru->map, rb->n_layers, rb->owner, rb->n)))
        return rc;
    rb->ru = ru;
    return 0;
}

/* The block map record of a relation unit: dense when it was stored whole;
 * else sparse, the blocks that differ from the reference's (none at all
 * when nothing changed). */
static int add_blockmap(backup_run *r, const char *path, int64_t part, const blocks *b,
                        const ref_blocks *rb)
{
    uint32_t listed = WD_BLOCKMAP_DENSE;
    if (rb->ru) {
        listed = 0;
        for (uint64_t i = 0; i < b->n; i++)
            listed += i >= rb->n || memcmp(b->digests + i * 32, rb->digests + i * 32, 32) != 0;
        if (listed == 0 && b->n == rb->n)
            return 0;
    }
    uint8_t head[20 + PATH_MAX];
    size_t n = wd_blockmap_head(head, path, part, (uint32_t)b->n, listed);
    pthread_mutex_lock(&r->mu);
    int rc = wd_pipe_write(r->blockmap, head, n);
    if (!rc && listed == WD_BLOCKMAP_DENSE && b->n)
        rc = wd_pipe_write(r->blockmap, b->digests, b->n * 32);
    for (uint64_t i = 0; !rc && listed != WD_BLOCKMAP_DENSE && i < b->n; i++) {
        if (i < rb->n && memcmp(b->digests + i * 32, rb->digests + i * 32, 32) == 0)
            continue;
        uint8_t pair[36];
        wd_blockmap_pair(pair, (uint32_t)i, b->digests + i * 32);
        rc = wd_pipe_write(r->blockmap, pair, sizeof(pair));
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* Drops the layers no block comes from and numbers the others again. */
static size_t compact_layers(wd_layer *l, size_t n, uint8_t *owner, uint64_t nblocks)
{
    bool used[WD_LAYERS_MAX + 1] = {0};
    for (uint64_t i = 0; i < nblocks; i++)
        used[owner[i]] = true;
    uint8_t renum[WD_LAYERS_MAX + 1];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!used[i])
            continue;
        renum[i] = (uint8_t)k;
        l[k++] = l[i];
    }
    for (uint64_t i = 0; i < nblocks; i++)
        owner[i] = renum[owner[i]];
    return k;
}

static int finish_pass(backup_run *r, const file_job *job, const ref_blocks *rb, blocks *b,
                       wd_manifest_entry *e, wd_repo_stream *stp, uint64_t changed,
                       bool *too_scattered);

/* Block `blk` (`len` bytes at `data`) of a pass that compares with the
 * reference: its digest into `b`; the reference's layer when the digest is
 * the reference's, else a record of the delta object (opened at the first)
 * and one more in *changed. */
static int compare_block(backup_run *r, const file_job *job, const ref_blocks *rb, blocks *b,
                         uint64_t blk, const uint8_t *data, size_t len, wd_repo_stream *st,
                         uint64_t *changed)
{
    uint8_t *d = b->digests + blk * 32;
    wd_block_digest(data, len, d);
    if (blk < rb->n && memcmp(d, rb->digests + blk * 32, 32) == 0) {
        b->owner[blk] = rb->owner[blk];
        return 0;
    }
    b->owner[blk] = (uint8_t)rb->n_layers;
    (*changed)++;
    uint8_t head[WD_DELTA_HEAD];
    wd_delta_head(head, (uint32_t)blk, (uint32_t)len);
    int rc = 0;
    if (!st->pipe && (rc = open_object(r, job->path, job->part, true, true, st)))
        return rc;
    if (!(rc = wd_pipe_write(st->pipe, head, sizeof(head))))
        rc = wd_pipe_write(st->pipe, data, len);
    return rc;
}

/* One pass over a relation unit. With `rb->ru`, only the blocks whose
 * digest differs go to a delta object; without, every block goes to a
 * whole object. *too_scattered: the result cannot be written as layers
 * (its block map would be too long): the caller stores it whole.
 * Every block is read here (the content method); with the WAL summaries
 * of PostgreSQL 17+, relation_pass_named reads only the blocks they name. */
static int relation_pass(backup_run *r, const file_job *job, const unit_read *u, uint8_t *buf,
                         const ref_blocks *rb, blocks *b, wd_manifest_entry *e, bool *too_scattered)
{
    bool whole = rb->ru == NULL;
    wd_repo_stream st = {0};
    uint64_t done = 0, changed = 0;
    size_t got = 0;
    int rc = unit_seek(u);
    b->n = 0;
    *too_scattered = false;
    while (!rc && !(rc = unit_next(r, u, done, buf, &got, &e->bad_pages)) && got > 0) {
        uint64_t first = done / WD_BLOCK, nb = wd_unit_blocks(got);
        if ((rc = blocks_room(b, first + nb)))
            break;
        for (uint64_t i = 0; i < nb && !rc; i++) {
            uint64_t blk = first + i;
            size_t off = (size_t)(i * WD_BLOCK);
            size_t len = got - off < WD_BLOCK ? got - off : WD_BLOCK;
            if (whole)
                wd_block_digest(buf + off, len, b->digests + blk * 32);
            else
                rc = compare_block(r, job, rb, b, blk, buf + off, len, &st, &changed);
        }
        if (!rc && whole) {
            if (!st.pipe)
                rc = open_object(r, job->path, job->part, false, false, &st);
            if (!rc)
                rc = wd_pipe_write(st.pipe, buf, got);
        }
        b->n = first + nb;
        done += got;
        if (got < READ_CHUNK || done >= u->limit)
            break;
    }
    if (rc) {
        wd_pipe_free(st.pipe);
        return rc;
    }
    e->size = done;
    e->hash = 'b';
    wd_digests_hash(b->digests, b->n, e->raw_sha256);
    e->layers = "-";
    e->map = "-";
    if (whole) {
        uint64_t raw = 0;
        if (st.pipe)
            rc = close_object(&st, 0, NULL, &raw, e->stored_sha256, &e->stored_size);
        else
            memcpy(e->stored_sha256, empty_sha256, 32);
        return rc;
    }
    return finish_pass(r, job, rb, b, e, &st, changed, too_scattered);
}

/* The end of a pass that compared with the reference: the counters, the
 * delta object committed (or dropped when the unit is too scattered to be
 * said as layers), the layers and the map of `e`. */
static int finish_pass(backup_run *r, const file_job *job, const ref_blocks *rb, blocks *b,
                       wd_manifest_entry *e, wd_repo_stream *stp, uint64_t changed,
                       bool *too_scattered)
{
    wd_repo_stream st = *stp;
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    r->changed_blocks += changed;
    r->referenced_blocks += b->n - changed;
    pthread_mutex_unlock(&r->mu);
    wd_layer layers[WD_LAYERS_MAX + 1];
    memcpy(layers, rb->layers, rb->n_layers * sizeof(wd_layer));
    size_t nl = rb->n_layers;
    if (changed) {
        wd_layer *l = &layers[nl++];
        memset(l, 0, sizeof(*l));
        snprintf(l->id, sizeof(l->id), "%s", r->id);
        l->kind = 'd';
        l->part = job->part;
        uint8_t raw_sha[32];
        if ((rc = wd_pipe_end(st.pipe))) {
            wd_pipe_free(st.pipe);
            return rc;
        }
        wd_hash_filter_result(st.raw_hash, raw_sha, &l->raw_size);
        wd_hash_filter_result(st.stored_hash, e->stored_sha256, &e->stored_size);
        l->stored_size = e->stored_size;
    }
    nl = compact_layers(layers, nl, b->owner, b->n);
    char *text = b->n ? wd_malloc(WD_LAYERS_TEXT_MAX + WD_MAP_TEXT_MAX + 2) : NULL;
    int ln = text && nl ? wd_layers_format(layers, nl, text, WD_LAYERS_TEXT_MAX + 1) : -1;
    int mn = ln > 0 ? wd_map_format(b->owner, b->n, text + ln + 1, WD_MAP_TEXT_MAX + 1) : -1;
    if (b->n && text && (ln < 0 || mn < 0)) {
        /* too scattered to say as layers: the delta is dropped, the caller
         * stores the unit whole */
        wd_free(text);
        wd_pipe_free(st.pipe);
        *too_scattered = true;
        e->stored_size = 0;
        return 0;
    }
    if (b->n && !text)
        rc = WALDEN_ENOMEM;
    if (!rc && st.pipe)
        rc = wd_pipe_commit(st.pipe, NULL);
    wd_pipe_free(st.pipe);
    if (rc || !b->n) {
        wd_free(text);
        return rc;
    }
    e->layers = text; /* the caller frees it */
    e->map = text + ln + 1;
    return 0;
}

/* With WAL summaries (backup/summaries.h), a pass over a unit the
 * reference has: the blocks the summaries do not name keep the reference's
 * digest and layer without being read; the others, and the blocks past the
 * reference's end, are read and compared as in relation_pass. The unit's
 * length is the file's now: a block added later is WAL replay's, as a
 * block changed later is. *fallback: the unit is not one this pass takes
 * (a length that is not whole blocks), relation_pass reads it. */
static int relation_pass_named(backup_run *r, const file_job *job, const unit_read *u, uint8_t *buf,
                               const ref_blocks *rb, const wd_summary_file *sf, blocks *b,
                               wd_manifest_entry *e, bool *too_scattered, bool *fallback)
{
    struct stat st_file;
    *fallback = false;
    *too_scattered = false;
    b->n = 0;
    if (fstat(u->fd, &st_file) != 0)
        return wd_error_set_errno(errno, "cannot stat '%s'", u->full);
    uint64_t size = (uint64_t)st_file.st_size, bytes = size > u->start ? size - u->start : 0;
    if (bytes > u->limit)
        bytes = u->limit;
    if (bytes % WD_BLOCK || rb->ru->size % WD_BLOCK) {
        *fallback = true;
        return 0;
    }
    uint64_t nblocks = bytes / WD_BLOCK, first_block = u->start / WD_BLOCK, changed = 0;
    wd_repo_stream st = {0};
    int rc = blocks_room(b, nblocks);
    for (uint64_t blk = 0; !rc && blk < nblocks;) {
        if (blk < rb->n && !wd_summary_block_changed(sf, first_block + blk)) {
            memcpy(b->digests + blk * 32, rb->digests + blk * 32, 32);
            b->owner[blk] = rb->owner[blk];
            blk++;
            continue;
        }
        /* a run of blocks to read, at most a chunk */
        uint64_t run = 1;
        while (blk + run < nblocks && run < READ_CHUNK / WD_BLOCK &&
               (blk + run >= rb->n || wd_summary_block_changed(sf, first_block + blk + run)))
            run++;
        uint64_t offset = u->start + blk * WD_BLOCK;
        ssize_t got = pread(u->fd, buf, (size_t)(run * WD_BLOCK), (off_t)offset);
        if (got < 0) {
            rc = wd_error_set_errno(errno, "cannot read '%s'", u->full);
            break;
        }
        pthread_mutex_lock(&r->mu);
        r->read_bytes += (uint64_t)got;
        pthread_mutex_unlock(&r->mu);
        if (u->verify)
            e->bad_pages += check_pages(r, u->fd, u->full, u->segno, offset, buf, (size_t)got);
        uint64_t whole = (uint64_t)got / WD_BLOCK;
        for (uint64_t i = 0; i < whole && !rc; i++) {
            rc = compare_block(r, job, rb, b, blk + i, buf + i * WD_BLOCK, WD_BLOCK, &st, &changed);
        }
        if (whole < run) { /* cut meanwhile: WAL replay cuts it too */
            nblocks = blk + whole;
            break;
        }
        blk += run;
    }
    if (rc) {
        wd_pipe_free(st.pipe);
        return rc;
    }
    b->n = nblocks;
    e->size = nblocks * WD_BLOCK;
    e->hash = 'b';
    wd_digests_hash(b->digests, b->n, e->raw_sha256);
    e->layers = "-";
    e->map = "-";
    return finish_pass(r, job, rb, b, e, &st, changed, too_scattered);
}

static int store_relation(backup_run *r, const file_job *job, const unit_read *u, uint8_t *buf,
                          wd_manifest_entry *e)
{
    ref_blocks rb;
    blocks b = {0};
    int rc = ref_blocks_load(r, job, &rb);
    bool scattered = false, own_delta = false, fallback = true;
    wd_summary_file sf;
    if (!rc && rb.ru && r->summary &&
        wd_summary_file_get(r->summary, job->path, WD_PG_SEGMENT_BLOCKS, &sf) != WD_SUMMARY_ALL)
        rc = relation_pass_named(r, job, u, buf, &rb, &sf, &b, e, &scattered, &fallback);
    if (!rc && fallback)
        rc = relation_pass(r, job, u, buf, &rb, &b, e, &scattered);
    ref_blocks none = {0};
    if (!rc && scattered) { /* again, whole */
        e->bad_pages = 0;
        rc = relation_pass(r, job, u, buf, &none, &b, e, &scattered);
    }
    own_delta = rb.ru && e->stored_size > 0 && strcmp(e->layers, "-") != 0;
    if (!rc)
        rc = add_blockmap(r, job->path, job->part, &b, scattered ? &none : &rb);
    if (!rc)
        rc = add_entry(r, e, job->part <= 0, own_delta ? 'd' : 'w');
    if (e->layers && strcmp(e->layers, "-") != 0)
        wd_free((char *)e->layers);
    ref_blocks_free(&rb);
    wd_free(b.digests);
    wd_free(b.owner);
    return rc;
}

/* ---- a small file: a member of a bundle, or referred to ---- */

/* A whole file of `got` bytes (all of it in `buf`), at most bundle-limit:
 * its digests as for any file, then either the reference's layers (the
 * same content) or a new member of the open bundle. A changed small
 * relation file is stored whole: a delta object of its own would cost the
 * request the bundle saves. */
static int store_bundled(backup_run *r, const file_job *job, const unit_read *u, uint8_t *buf,
                         size_t got, bool relation, wd_manifest_entry *e)
{
    pthread_mutex_lock(&r->mu);
    r->read_bytes += got;
    pthread_mutex_unlock(&r->mu);
    if (u->verify)
        e->bad_pages += check_pages(r, u->fd, u->full, u->segno, 0, buf, got);
    blocks b = {0};
    int rc = 0;
    e->size = got;
    e->hash = relation ? 'b' : 'w';
    if (relation) {
        uint64_t nb = wd_unit_blocks(got);
        if ((rc = blocks_room(&b, nb)))
            goto done;
        for (uint64_t i = 0; i < nb; i++) {
            size_t off = (size_t)(i * WD_BLOCK);
            wd_block_digest(buf + off, got - off < WD_BLOCK ? got - off : WD_BLOCK,
                            b.digests + i * 32);
        }
        b.n = nb;
        wd_digests_hash(b.digests, nb, e->raw_sha256);
    } else {
        wd_sha256(buf, got, e->raw_sha256);
    }
    const wd_ref_unit *ru = r->ref ? wd_reference_find(r->ref, job->path, job->part) : NULL;
    char text[WD_LAYERS_TEXT_MAX + 1];
    bool same = ru && ru->hash == e->hash && ru->size == got &&
                memcmp(ru->raw_sha256, e->raw_sha256, 32) == 0;
    char own = 'w';
    if (same) {
        e->layers = ru->layers;
        e->map = ru->map;
    } else {
        wd_layer l;
        if ((rc = wd_backup_bundle_put(r, buf, got, &l, e->stored_sha256)))
            goto done;
        if (wd_layers_format(&l, 1, text, sizeof(text)) < 0) {
            rc = wd_error_set(WALDEN_EINVAL, "layer too long for the manifest: '%s'", job->path);
            goto done;
        }
        e->stored_size = l.stored_size;
        e->layers = text;
        e->map = "-";
        own = 'u';
    }
    if (relation && r->ref) {
        pthread_mutex_lock(&r->mu);
        r->changed_blocks += same ? 0 : b.n;
        r->referenced_blocks += same ? b.n : 0;
        pthread_mutex_unlock(&r->mu);
    }
    /* the block map: a dense record when stored (whole), none when
     * unchanged (the reference's chain has its digests) */
    ref_blocks none = {0};
    if (relation && !same)
        rc = add_blockmap(r, job->path, job->part, &b, &none);
    if (!rc)
        rc = add_entry(r, e, true, own);
done:
    wd_free(b.digests);
    wd_free(b.owner);
    return rc;
}

/* With bundles on, a whole file of at most bundle-limit bytes: read into
 * `buf` (*got bytes, *small set). */
static int peek_small(backup_run *r, const file_job *job, const unit_read *u, uint8_t *buf,
                      size_t *got, bool *small)
{
    *small = false;
    if (!r->bundles.on || job->part >= 0)
        return 0;
    /* the file was just opened: this reads from its start (and unit_seek
     * goes back there when it is not small) */
    size_t want = (size_t)r->bundles.limit + 1;
    int rc = read_full(u->fd, buf, want, got, u->full);
    *small = !rc && *got > 0 && *got < want;
    return rc;
}

int wd_backup_store_file(backup_run *r, const file_job *job, uint8_t *buf)
{
    char *full = wd_path_join(r->pgdata, job->path);
    if (!full)
        return WALDEN_ENOMEM;
    int rc = 0;
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) { /* dropped meanwhile: WAL replay drops it too */
            wd_log_debug("'%s' vanished during the backup", full);
            wd_free(full);
            return 0;
        }
        rc = wd_error_set_errno(errno, "cannot open '%s'", full);
        wd_free(full);
        return rc;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    bool part = job->part >= 0;
    /* a part reads PART_SIZE bytes, the last one (and a whole file) to the
     * end: a file may grow while it is copied */
    unit_read u = {.fd = fd,
                   .full = full,
                   .start = part ? (uint64_t)job->part * PART_SIZE : 0,
                   .limit = part && !job->last ? PART_SIZE : UINT64_MAX};
    bool relation = wd_pg_is_relation_file(job->path, &u.segno);
    u.verify = r->checksums && relation;
    wd_manifest_entry e = {.type = part ? 'p' : 'f',
                           .mode = job->mode,
                           .mtime = job->mtime,
                           .path = job->path,
                           .link = "",
                           .part = part ? (uint32_t)job->part : 0};
    size_t got = 0;
    bool small = false;
    if (!(rc = peek_small(r, job, &u, buf, &got, &small)) && small)
        rc = store_bundled(r, job, &u, buf, got, relation, &e);
    else if (!rc && !(rc = unit_seek(&u)))
        rc = relation ? store_relation(r, job, &u, buf, &e) : store_plain(r, job, &u, buf, &e);
    close(fd);
    wd_free(full);
    return rc;
}

int wd_backup_store_small(backup_run *r, const char *path, const char *text)
{
    wd_manifest_entry e = {.type = 'f',
                           .mode = 0600,
                           .mtime = (int64_t)time(NULL),
                           .path = path,
                           .link = "",
                           .hash = 'w'};
    wd_repo_stream st;
    int rc = open_object(r, path, -1, false, true, &st);
    if (rc)
        return rc;
    rc = wd_pipe_write(st.pipe, (const uint8_t *)text, strlen(text));
    if ((rc = close_object(&st, rc, e.raw_sha256, &e.size, e.stored_sha256, &e.stored_size)))
        return rc;
    return add_entry(r, &e, true, 'w');
}
