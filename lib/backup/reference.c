/*
 * reference.c - the backup a diff or incr refers to (see reference.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backup/reference.h"
#include "common/common.h"

struct wd_reference {
    wd_backup_meta meta; /* from its signed manifest */
    wd_ref_unit **slots;
    size_t cap, n;
    FILE *spool; /* the block digests */
    uint64_t spool_size;
    wd_ref_unit *current; /* the block map record being read */
    uint64_t current_left;
};

static uint64_t key_hash(const char *path, int64_t part)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = path; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return (h ^ (uint64_t)part) * 1099511628211ull;
}

static wd_ref_unit **slot_of(const wd_reference *r, const char *path, int64_t part)
{
    size_t i = (size_t)key_hash(path, part) & (r->cap - 1);
    while (r->slots[i] && !(r->slots[i]->key_part == part && strcmp(r->slots[i]->path, path) == 0))
        i = (i + 1) & (r->cap - 1);
    return &r->slots[i];
}

static int grow(wd_reference *r)
{
    size_t cap = r->cap ? r->cap * 2 : 1024;
    wd_ref_unit **old = r->slots;
    size_t old_cap = r->cap;
    if (!(r->slots = wd_calloc(cap, sizeof(*r->slots)))) {
        r->slots = old;
        return WALDEN_ENOMEM;
    }
    r->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            *slot_of(r, old[i]->path, old[i]->key_part) = old[i];
    wd_free(old);
    return 0;
}

static void unit_free(wd_ref_unit *u)
{
    if (!u)
        return;
    wd_free(u->path);
    wd_free(u->layers);
    wd_free(u->map);
    wd_free(u);
}

void wd_reference_free(wd_reference *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->cap; i++)
        unit_free(r->slots[i]);
    wd_free(r->slots);
    if (r->spool)
        fclose(r->spool);
    wd_backup_meta_clear(&r->meta);
    wd_free(r);
}

const wd_backup_meta *wd_reference_meta(const wd_reference *r)
{
    return &r->meta;
}

const wd_ref_unit *wd_reference_find(const wd_reference *r, const char *path, int64_t part)
{
    if (!r->cap)
        return NULL;
    return *slot_of(r, path, part < 0 ? 0 : part);
}

int wd_reference_digests(const wd_reference *r, const wd_ref_unit *u, uint8_t *out)
{
    size_t want = (size_t)u->bm_blocks * 32, got = 0;
    while (got < want) {
        ssize_t n = pread(fileno(r->spool), out + got, want - got, (off_t)(u->bm_offset + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return wd_error_set_errno(n < 0 ? errno : EIO, "cannot read the spooled block map");
        got += (size_t)n;
    }
    return 0;
}

/* A [files] line of the reference. */
static int add_unit(const wd_manifest_entry *e, void *ctx)
{
    wd_reference *r = ctx;
    if (e->type != 'f' && e->type != 'p')
        return 0;
    if (!e->hash)
        return wd_error_set(WALDEN_ECORRUPT, "backup %s: a format 2 manifest has a format 1 line",
                            r->meta.id);
    if (r->n * 2 >= r->cap && grow(r))
        return WALDEN_ENOMEM;
    int64_t part = e->type == 'p' ? (int64_t)e->part : 0;
    wd_ref_unit **slot = slot_of(r, e->path, part);
    if (*slot)
        return wd_error_set(WALDEN_ECORRUPT, "backup %s lists '%s' twice", r->meta.id, e->path);
    wd_ref_unit *u = wd_calloc(1, sizeof(*u));
    if (!u)
        return WALDEN_ENOMEM;
    u->key_part = part;
    u->size = e->size;
    u->hash = e->hash;
    memcpy(u->raw_sha256, e->raw_sha256, 32);
    u->path = wd_strdup(e->path);
    u->map = wd_strdup(e->map);
    wd_layer l[WD_LAYERS_MAX];
    size_t n = 0;
    char text[WD_LAYERS_TEXT_MAX + 1] = "-";
    int rc = wd_entry_layers(e, r->meta.id, l, &n);
    if (!rc && n > 0 && wd_layers_format(l, n, text, sizeof(text)) < 0)
        rc = wd_error_set(WALDEN_ECORRUPT, "backup %s: layer list too long", r->meta.id);
    u->layers = wd_strdup(text);
    if (!rc && (!u->path || !u->map || !u->layers))
        rc = WALDEN_ENOMEM;
    if (rc) {
        unit_free(u);
        return rc;
    }
    *slot = u;
    r->n++;
    return 0;
}

static int bm_begin(void *ctx, const char *path, int64_t part, uint32_t nblocks)
{
    wd_reference *r = ctx;
    wd_ref_unit *u = r->cap ? *slot_of(r, path, part < 0 ? 0 : part) : NULL;
    if (!u || u->hash != 'b' || u->has_digests || nblocks != wd_unit_blocks(u->size))
        return wd_error_set(WALDEN_ECORRUPT,
                            "backup %s: its block map does not match its manifest at '%s'",
                            r->meta.id, path);
    u->has_digests = true;
    u->bm_offset = r->spool_size;
    u->bm_blocks = nblocks;
    r->spool_size += (uint64_t)nblocks * 32;
    return 0;
}

static int bm_digests(void *ctx, const uint8_t *data, size_t len)
{
    wd_reference *r = ctx;
    if (fwrite(data, 1, len, r->spool) != len)
        return wd_error_set_errno(errno, "cannot spool a block map");
    return 0;
}

static int load_blockmap(walden_repo *repo, wd_reference *r, wd_compress c)
{
    char *object = wd_asprintf("%s/%s/%s/backup.blockmap%s", repo->cluster, WD_BACKUP_DIR,
                               r->meta.id, wd_compress_ext(c));
    wd_source *src = NULL;
    wd_sink *sink = NULL;
    wd_repo_stream st = {0};
    int rc = object ? 0 : WALDEN_ENOMEM;
    if (!rc && !(r->spool = tmpfile()))
        rc = wd_error_set_errno(errno, "cannot create a temporary file for a block map");
    wd_blockmap_cb cb = {bm_begin, bm_digests, r};
    if (!rc && !(rc = wd_storage_open_read(repo->storage, object, &src)) &&
        !(rc = wd_blockmap_sink_open(&sink, &cb))) {
        char what[512];
        snprintf(what, sizeof(what), "backup %s's block map is not what its signed manifest lists",
                 r->meta.id);
        wd_read_limits lim = {.raw_max = r->meta.blockmap_size,
                              .raw_exact = true,
                              .stored_max = wd_stored_max(r->meta.blockmap_size),
                              .code = WALDEN_ECORRUPT,
                              .what = what};
        if (!(rc = wd_repo_read_begin_limited(repo, c, r->meta.blockmap_sha256, NULL, &lim, sink,
                                              &st)))
            rc = wd_pipe_copy(st.pipe, src);
    }
    if (rc == WALDEN_ENOTFOUND)
        rc = wd_error_set(WALDEN_ECORRUPT, "backup %s has no block map ('%s')", r->meta.id, object);
    if (!rc && fflush(r->spool) != 0)
        rc = wd_error_set_errno(errno, "cannot spool a block map");
    wd_pipe_free(st.pipe);
    wd_source_close(src);
    wd_free(object);
    return rc;
}

static const wd_backup_meta *find_meta(wd_backup_meta **metas, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(metas[i]->id, id) == 0)
            return metas[i];
    return NULL;
}

int wd_reference_choose(walden_repo *repo, const char *type, uint64_t part_size, wd_reference **out,
                        char *why, size_t why_cap)
{
    *out = NULL;
    wd_backup_meta **metas = NULL;
    size_t n = 0;
    int rc = wd_backup_list_usable(repo, NULL, &metas, &n);
    if (rc)
        return rc;
    bool diff = strcmp(type, "diff") == 0;
    const wd_backup_meta *ref = NULL;
    for (size_t i = n; i-- > 0 && !ref;)
        if (!diff || strcmp(metas[i]->type, "full") == 0)
            ref = metas[i];
    if (!ref) {
        snprintf(why, why_cap, "the repository has no %sbackup of this cluster",
                 diff ? "full " : "");
        goto done;
    }
    if (ref->format < 2) {
        snprintf(why, why_cap, "backup %s was written by an older walden (no block map)", ref->id);
        goto done;
    }
    if (strcmp(ref->compress, wd_compress_name(repo->compress)) != 0) {
        snprintf(why, why_cap, "backup %s is compressed with %s, this backup with %s", ref->id,
                 ref->compress, wd_compress_name(repo->compress));
        goto done;
    }
    if (ref->part_size != part_size) {
        snprintf(why, why_cap, "backup %s has another part size", ref->id);
        goto done;
    }
    /* its chain must be whole, down to its full */
    const wd_backup_meta *m = ref;
    for (int steps = 0; *m->reference; steps++) {
        const wd_backup_meta *prior = find_meta(metas, n, m->reference);
        if (!prior || steps > 10000) {
            snprintf(why, why_cap, "backup %s refers to backup %s, which is missing or damaged",
                     m->id, m->reference);
            goto done;
        }
        m = prior;
    }
    wd_reference *r = wd_calloc(1, sizeof(*r));
    if (!r) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if (!(rc = wd_backup_read_manifest(repo, ref->id, &r->meta, add_unit, r))) {
        if (r->meta.format < 2 || !r->meta.blockmap_size || strcmp(r->meta.id, ref->id) != 0)
            rc = wd_error_set(WALDEN_ECORRUPT, "backup %s: its manifest has no block map", ref->id);
        else
            rc = load_blockmap(repo, r, repo->compress);
    }
    if (rc) {
        wd_reference_free(r);
        goto done;
    }
    *out = r;
done:
    wd_backup_list_free(metas, n);
    return rc;
}
