/*
 * layers.c - layer lists, block maps, block digests, block map records and
 * the reader that assembles a unit from its layers (see layers.h).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/layers.h"
#include "common/common.h"
#include "io/stream.h"
#include "repo/bundle.h"

#define BAD(what) wd_error_set(WALDEN_ECORRUPT, "malformed %s in a manifest line", what)

/* A backup id names one folder: letters, digits, '.', '_', '-' only, and
 * not "." or "..". */
static bool id_ok(const char *s, size_t n)
{
    if (n == 0 || n >= 32 || (n <= 2 && strspn(s, ".") == n))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    char buf[24];
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    int rc = wd_parse_uint64(buf, out);
    if (rc)
        walden_error_clear();
    return rc ? -1 : 0;
}

int wd_layers_parse(const char *text, wd_layer *out, size_t *n)
{
    *n = 0;
    if (strcmp(text, "-") == 0)
        return 0;
    const char *p = text;
    for (;;) {
        if (*n == WD_LAYERS_MAX)
            return BAD("layer list (too many layers)");
        wd_layer *l = &out[(*n)++];
        memset(l, 0, sizeof(*l));
        /* the fields up to ',' or the end: 5, 6 for a bundle member */
        const char *f[6] = {0};
        size_t len[6] = {0};
        int nf = 0;
        for (;;) {
            if (nf == 6)
                return BAD("layer");
            f[nf] = p;
            len[nf] = strcspn(p, ":,");
            p += len[nf++];
            if (*p != ':')
                break;
            p++;
        }
        if (nf < 5 || !id_ok(f[0], len[0]) || len[1] != 1)
            return BAD("layer");
        l->kind = f[1][0];
        if ((l->kind == 'u') != (nf == 6) || (l->kind != 'w' && l->kind != 'd' && l->kind != 'u'))
            return BAD("layer");
        memcpy(l->id, f[0], len[0]);
        uint64_t part = 0;
        if (len[2] == 1 && f[2][0] == '-' && l->kind != 'u')
            l->part = -1;
        else if (parse_u64(f[2], len[2], &part) || part > UINT32_MAX)
            return BAD("layer");
        else
            l->part = (int64_t)part;
        if (parse_u64(f[3], len[3], &l->raw_size) || parse_u64(f[4], len[4], &l->stored_size))
            return BAD("layer");
        /* a member lies inside a bundle: it cannot reach past the most a
         * bundle may hold (so offset + size never overflows) */
        if (nf == 6 && (parse_u64(f[5], len[5], &l->offset) || l->offset > WD_BUNDLE_MAX ||
                        l->stored_size > WD_BUNDLE_MAX - l->offset))
            return BAD("layer (bundle member)");
        if (*p == '\0')
            return 0;
        p++; /* ',' */
    }
}

int wd_layers_format(const wd_layer *l, size_t n, char *buf, size_t cap)
{
    if (cap > WD_LAYERS_TEXT_MAX + 1)
        cap = WD_LAYERS_TEXT_MAX + 1;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char part[24];
        if (l[i].part < 0)
            strcpy(part, "-");
        else
            snprintf(part, sizeof(part), "%" PRId64, l[i].part);
        int k = snprintf(buf + len, cap - len, "%s%s:%c:%s:%" PRIu64 ":%" PRIu64, i ? "," : "",
                         l[i].id, l[i].kind, part, l[i].raw_size, l[i].stored_size);
        if (k < 0 || (size_t)k >= cap - len)
            return -1;
        len += (size_t)k;
        if (l[i].kind != 'u')
            continue;
        k = snprintf(buf + len, cap - len, ":%" PRIu64, l[i].offset);
        if (k < 0 || (size_t)k >= cap - len)
            return -1;
        len += (size_t)k;
    }
    return (int)len;
}

int wd_entry_layers(const wd_manifest_entry *e, const char *id, wd_layer *out, size_t *n)
{
    if (e->layers && strcmp(e->layers, "-") != 0)
        return wd_layers_parse(e->layers, out, n);
    *n = 0;
    if (e->size == 0)
        return 0;
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", id);
    out->kind = 'w';
    out->part = e->type == 'p' ? (int64_t)e->part : -1;
    out->raw_size = e->size;
    out->stored_size = e->stored_size;
    *n = 1;
    return 0;
}

int wd_map_parse(const char *text, size_t n_layers, uint8_t *map, uint64_t nblocks)
{
    if (strcmp(text, "-") == 0) {
        if (n_layers != 1 && nblocks > 0)
            return BAD("block map ('-' with several layers)");
        memset(map, 0, nblocks);
        return 0;
    }
    uint64_t at = 0;
    const char *p = text;
    while (*p) {
        char *end;
        if (*p < '0' || *p > '9')
            return BAD("block map");
        unsigned long layer = strtoul(p, &end, 10);
        if (*end != '*' || layer >= n_layers)
            return BAD("block map");
        p = end + 1;
        if (*p < '0' || *p > '9')
            return BAD("block map");
        unsigned long long count = strtoull(p, &end, 10);
        if (count == 0 || count > nblocks - at)
            return BAD("block map (more blocks than the file has)");
        memset(map + at, (int)layer, (size_t)count);
        at += count;
        p = end;
        if (*p == ',')
            p++;
        else if (*p)
            return BAD("block map");
    }
    if (at != nblocks)
        return BAD("block map (fewer blocks than the file has)");
    return 0;
}

int wd_map_format(const uint8_t *map, uint64_t nblocks, char *buf, size_t cap)
{
    if (cap > WD_MAP_TEXT_MAX + 1)
        cap = WD_MAP_TEXT_MAX + 1;
    bool all0 = true;
    for (uint64_t i = 0; i < nblocks && all0; i++)
        all0 = map[i] == 0;
    if (all0) {
        if (cap < 2)
            return -1;
        strcpy(buf, "-");
        return 1;
    }
    size_t len = 0;
    for (uint64_t i = 0; i < nblocks;) {
        uint64_t j = i;
        while (j < nblocks && map[j] == map[i])
            j++;
        int k = snprintf(buf + len, cap - len, "%s%u*%" PRIu64, i ? "," : "", map[i], j - i);
        if (k < 0 || (size_t)k >= cap - len)
            return -1;
        len += (size_t)k;
        i = j;
    }
    return (int)len;
}

void wd_block_digest(const uint8_t *data, size_t len, uint8_t out[32])
{
    wd_sha256(data, len, out);
}

void wd_digests_hash(const uint8_t *digests, uint64_t n, uint8_t out[32])
{
    wd_sha256(digests, (size_t)n * 32, out);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void wd_delta_head(uint8_t out[WD_DELTA_HEAD], uint32_t block, uint32_t len)
{
    put_u32(out, block);
    put_u32(out + 4, len);
}

char *wd_layer_object(const char *cluster, const wd_layer *l, const char *path, wd_compress c)
{
    char *backup = wd_asprintf("%s/%s/%s", cluster, WD_BACKUP_DIR, l->id);
    if (!backup)
        return NULL;
    char *o = l->kind == 'u'   ? wd_bundle_object(backup, (uint64_t)l->part, c)
              : l->kind == 'd' ? wd_backup_delta_object(backup, path, l->part, c)
                               : wd_backup_object(backup, path, l->part, c);
    wd_free(backup);
    return o;
}

char *wd_layer_object_rel(const wd_layer *l, const char *path, wd_compress c)
{
    char *o = l->kind == 'u'   ? wd_bundle_object("", (uint64_t)l->part, c)
              : l->kind == 'd' ? wd_backup_delta_object("", path, l->part, c)
                               : wd_backup_object_rel(path, l->part, c);
    if (o && l->kind != 'w') /* "/delta/...", "/bundle/..." */
        memmove(o, o + 1, strlen(o));
    return o;
}

int wd_layer_open(walden_repo *repo, const wd_layer *l, const char *object, wd_source **out)
{
    if (l->kind == 'u')
        return wd_bundle_member_open(repo, object, l->offset, l->stored_size, out);
    return wd_storage_open_read(repo->storage, object, out);
}

/* ---- assembling a unit ---- */

typedef struct unit_state {
    const wd_manifest_entry *e;
    const char *id;
    const uint8_t *map;
    uint64_t nblocks;
    uint8_t *digests;
    uint8_t *done;
    uint64_t count;
    wd_block_out out;
    void *ctx;
} unit_state;

/* The sink one layer's content goes to. */
typedef struct layer_sink {
    wd_sink base;
    unit_state *u;
    uint8_t li;
    char kind;
    uint64_t pos; /* whole: bytes seen */
    uint8_t head[WD_DELTA_HEAD];
    size_t head_fill;
    uint32_t block, len; /* delta: the record being read */
    bool in_data;
    size_t fill;
    uint8_t buf[WD_BLOCK];
} layer_sink;

static uint64_t block_len(const unit_state *u, uint64_t b)
{
    return b + 1 < u->nblocks ? WD_BLOCK : u->e->size - (u->nblocks - 1) * WD_BLOCK;
}

static int corrupt(const unit_state *u, const char *why, uint64_t b)
{
    return wd_error_set(WALDEN_ECORRUPT, "backup %s, file '%s': %s (block %" PRIu64 ")", u->id,
                        u->e->path, why, b);
}

/* Block `b` of layer `li`, `len` bytes: kept when the map names the layer. */
static int take(unit_state *u, uint8_t li, uint64_t b, const uint8_t *data, size_t len)
{
    if (b >= u->nblocks || u->map[b] != li)
        return 0;
    if (len != block_len(u, b))
        return corrupt(u, "a block has the wrong length", b);
    if (u->done[b])
        return corrupt(u, "a block comes twice", b);
    u->done[b] = 1;
    u->count++;
    wd_block_digest(data, len, u->digests + b * 32);
    return u->out ? u->out(u->ctx, b, data, len) : 0;
}

static int layer_write(wd_sink *s, const uint8_t *data, size_t len)
{
    layer_sink *ls = (layer_sink *)s;
    unit_state *u = ls->u;
    int rc = 0;
    while (len > 0 && !rc) {
        if (ls->kind == 'w') {
            if (ls->fill == 0 && len >= WD_BLOCK) { /* straight from the input */
                rc = take(u, ls->li, ls->pos / WD_BLOCK, data, WD_BLOCK);
                ls->pos += WD_BLOCK;
                data += WD_BLOCK;
                len -= WD_BLOCK;
                continue;
            }
            size_t k = WD_BLOCK - ls->fill < len ? WD_BLOCK - ls->fill : len;
            memcpy(ls->buf + ls->fill, data, k);
            ls->fill += k;
            data += k;
            len -= k;
            if (ls->fill == WD_BLOCK) {
                rc = take(u, ls->li, ls->pos / WD_BLOCK, ls->buf, WD_BLOCK);
                ls->pos += WD_BLOCK;
                ls->fill = 0;
            }
            continue;
        }
        if (!ls->in_data) {
            size_t k = WD_DELTA_HEAD - ls->head_fill < len ? WD_DELTA_HEAD - ls->head_fill : len;
            memcpy(ls->head + ls->head_fill, data, k);
            ls->head_fill += k;
            data += k;
            len -= k;
            if (ls->head_fill == WD_DELTA_HEAD) {
                ls->block = get_u32(ls->head);
                ls->len = get_u32(ls->head + 4);
                if (ls->len == 0 || ls->len > WD_BLOCK)
                    return corrupt(u, "a delta record has a bad length", ls->block);
                ls->head_fill = 0;
                ls->in_data = true;
                ls->fill = 0;
            }
            continue;
        }
        if (ls->fill == 0 && len >= ls->len) {
            rc = take(u, ls->li, ls->block, data, ls->len);
            data += ls->len;
            len -= ls->len;
            ls->in_data = false;
            continue;
        }
        size_t k = ls->len - ls->fill < len ? ls->len - ls->fill : len;
        memcpy(ls->buf + ls->fill, data, k);
        ls->fill += k;
        data += k;
        len -= k;
        if (ls->fill == ls->len) {
            rc = take(u, ls->li, ls->block, ls->buf, ls->len);
            ls->fill = 0;
            ls->in_data = false;
        }
    }
    return rc;
}

static int layer_commit(wd_sink *s)
{
    layer_sink *ls = (layer_sink *)s;
    int rc = 0;
    if (ls->kind == 'w' && ls->fill > 0)
        rc = take(ls->u, ls->li, ls->pos / WD_BLOCK, ls->buf, ls->fill);
    else if (ls->kind == 'd' && (ls->in_data || ls->head_fill))
        rc = corrupt(ls->u, "a delta object ends inside a record", ls->block);
    wd_free(ls);
    return rc;
}

static void layer_abort(wd_sink *s)
{
    wd_free(s);
}

/* A layer's object, open for reading. */
typedef struct opened {
    char *object;
    wd_source *src;
} opened;

static int open_layer(walden_repo *repo, wd_compress c, const unit_state *u, const wd_layer *l,
                      opened *o)
{
    if (!(o->object = wd_layer_object(repo->cluster, l, u->e->path, c)))
        return WALDEN_ENOMEM;
    int rc = wd_layer_open(repo, l, o->object, &o->src);
    if (rc == WALDEN_ENOTFOUND)
        rc = wd_error_set(WALDEN_ECORRUPT, "backup %s is missing its file '%s' ('%s')", u->id,
                          u->e->path, o->object);
    if (rc) {
        wd_free(o->object);
        o->object = NULL;
        o->src = NULL;
    }
    return rc;
}

static void close_layer(opened *o)
{
    wd_source_close(o->src);
    wd_free(o->object);
    o->src = NULL;
    o->object = NULL;
}

static int read_layer(walden_repo *repo, wd_compress c, unit_state *u, const wd_layer *l,
                      uint8_t li, const opened *o)
{
    layer_sink *ls = wd_calloc(1, sizeof(*ls));
    if (!ls)
        return WALDEN_ENOMEM;
    ls->base.write = layer_write;
    ls->base.commit = layer_commit;
    ls->base.abort = layer_abort;
    ls->u = u;
    ls->li = li;
    ls->kind = l->kind == 'd' ? 'd' : 'w'; /* a bundle member is a whole object */
    char what[PATH_MAX + 256];
    snprintf(what, sizeof(what),
             "backup %s, file '%s' ('%s') is not what its signed manifest lists", u->id, u->e->path,
             o->object);
    /* a layer that records no stored size still reads no more than any
     * object of its content size may have */
    wd_read_limits lim = {.raw_max = l->raw_size,
                          .raw_exact = true,
                          .stored_max =
                              l->stored_size ? l->stored_size : wd_stored_max(l->raw_size),
                          .code = WALDEN_ECORRUPT,
                          .what = what,
                          .content_checked = true, /* by the blocks' digests, below */
                          .stored_counted = true};
    wd_repo_stream st = {0};
    int rc = wd_repo_read_begin_limited(repo, c, NULL, NULL, &lim, &ls->base, &st);
    if (!rc && (rc = wd_pipe_copy(st.pipe, o->src)) && (rc == WALDEN_ECORRUPT || rc == WALDEN_EKEY))
        wd_error_wrap(rc, "backup %s, file '%s'", u->id, u->e->path);
    wd_pipe_free(st.pipe);
    return rc;
}

/* ---- one sequential pass ----
 * A unit of a chain takes most blocks from one layer (its base, usually the
 * full's whole object) and a few from the others. Read in layer order, the
 * base's blocks would be written with gaps and the others' blocks into the
 * gaps afterwards: the file written in two passes, the second out of order,
 * after the first's writes have gone to disk. When the other layers' blocks
 * fit in WD_HOLD_MAX they are read first and held, and each is given out
 * just before the base's next block after it: the caller sees every block
 * once, in order. Their digests are taken as they arrive (take()), so the
 * checks are the same either way. */
#define WD_HOLD_MAX (8u << 20)

typedef struct hold {
    uint64_t *blocks; /* the held blocks, ascending (from the map) */
    uint32_t *lens;
    uint8_t *data;  /* WD_BLOCK per held block */
    size_t n, next; /* held; the first not given out yet */
    wd_block_out out;
    void *ctx;
    const unit_state *u;
} hold;

static int hold_put(void *ctx, uint64_t block, const uint8_t *data, size_t len)
{
    hold *h = ctx;
    size_t lo = 0, hi = h->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->blocks[mid] < block)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == h->n || h->blocks[lo] != block) /* take() passes only these: a guard */
        return corrupt(h->u, "a block to hold is not in the map", block);
    memcpy(h->data + lo * WD_BLOCK, data, len);
    h->lens[lo] = (uint32_t)len;
    return 0;
}

/* Gives out the held blocks before `until`. The other layers were all
 * read before the base: a held block that did not come is missing. */
static int hold_flush(hold *h, uint64_t until)
{
    int rc = 0;
    for (; !rc && h->next < h->n && h->blocks[h->next] < until; h->next++) {
        if (!h->lens[h->next])
            return corrupt(h->u, "a block is missing from its layer", h->blocks[h->next]);
        rc = h->out(h->ctx, h->blocks[h->next], h->data + h->next * WD_BLOCK, h->lens[h->next]);
    }
    return rc;
}

static int hold_merge(void *ctx, uint64_t block, const uint8_t *data, size_t len)
{
    hold *h = ctx;
    int rc = hold_flush(h, block);
    return rc ? rc : h->out(h->ctx, block, data, len);
}

static void hold_free(hold *h)
{
    wd_free(h->blocks);
    wd_free(h->lens);
    wd_free(h->data);
}

/* Sets up `h` for the blocks not from layer `base` when they are few
 * enough; h->n stays 0 otherwise (or when there are none). */
static int hold_init(hold *h, const uint8_t *map, uint64_t nblocks, uint8_t base)
{
    size_t n = 0;
    for (uint64_t b = 0; b < nblocks; b++)
        n += map[b] != base;
    if (n == 0 || n > WD_HOLD_MAX / WD_BLOCK)
        return 0;
    h->blocks = wd_malloc(n * sizeof(*h->blocks));
    h->lens = wd_calloc(n, sizeof(*h->lens));
    h->data = wd_malloc(n * WD_BLOCK);
    if (!h->blocks || !h->lens || !h->data) {
        hold_free(h);
        return WALDEN_ENOMEM;
    }
    for (uint64_t b = 0; b < nblocks; b++)
        if (map[b] != base)
            h->blocks[h->n++] = b;
    return 0;
}

int wd_unit_read(walden_repo *repo, wd_compress c, const char *id, const wd_manifest_entry *e,
                 wd_block_out out, void *ctx)
{
    wd_layer layers[WD_LAYERS_MAX];
    size_t n = 0;
    int rc = wd_entry_layers(e, id, layers, &n);
    if (rc)
        return rc;
    size_t members = 0;
    for (size_t li = 0; li < n; li++)
        members += layers[li].kind == 'u';
    /* a bundle member is a whole file: a unit has one at most (each open
     * one holds a slot of the bounded bundle cache) */
    if (members > 1)
        return wd_error_set(WALDEN_ECORRUPT, "backup %s, file '%s': more than one bundle member",
                            id, e->path);
    uint64_t nblocks = wd_unit_blocks(e->size);
    if (nblocks > WD_UNIT_BLOCKS_MAX)
        return wd_error_set(WALDEN_ECORRUPT, "backup %s, file '%s': too large for block maps", id,
                            e->path);
    if (nblocks > 0 && n == 0)
        return wd_error_set(WALDEN_ECORRUPT, "backup %s, file '%s' has no layer", id, e->path);
    unit_state u = {.e = e, .id = id, .nblocks = nblocks, .out = out, .ctx = ctx};
    uint8_t *map = wd_malloc(nblocks + 1);
    u.map = map;
    u.done = wd_calloc(nblocks + 1, 1);
    u.digests = wd_malloc(nblocks * 32 + 1);
    if (!map || !u.done || !u.digests) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if ((rc = wd_map_parse(e->map ? e->map : "-", n, map, nblocks))) {
        wd_error_wrap(rc, "backup %s, file '%s'", id, e->path);
        goto done;
    }
    /* the base: the layer most blocks come from */
    uint64_t per[WD_LAYERS_MAX] = {0};
    for (uint64_t b = 0; b < nblocks; b++)
        per[map[b]]++;
    uint8_t base = 0;
    for (size_t li = 1; li < n; li++)
        if (per[li] > per[base])
            base = (uint8_t)li;
    hold h = {.out = out, .ctx = ctx, .u = &u};
    if (out && (rc = hold_init(&h, map, nblocks, base)))
        goto done;
    /* the order the layers are read in: with blocks held, the others
     * first and the base last; else oldest first */
    uint8_t order[WD_LAYERS_MAX];
    size_t k = 0;
    for (size_t li = 0; li < n; li++)
        if (per[li] && (!h.n || li != base))
            order[k++] = (uint8_t)li;
    if (h.n && per[base])
        order[k++] = base;
    /* a local repository's objects are all opened before any is read and
     * asked to be read ahead, so the disk fetches a chain's deltas and base
     * together; other storage opens each in its turn (an object store's
     * open starts a download: they would wait, idle, in parallel) */
    opened op[WD_LAYERS_MAX] = {{0}};
    for (size_t j = 0; j < k && !rc; j++) {
        if (!op[j].src && (rc = open_layer(repo, c, &u, &layers[order[j]], &op[j])))
            break;
        if (j == 0 && k > 1 && op[0].src->prefetch) {
            for (size_t a = 1; a < k && !rc; a++)
                rc = open_layer(repo, c, &u, &layers[order[a]], &op[a]);
            for (size_t a = 0; a < k && !rc; a++)
                wd_source_prefetch(op[a].src);
            if (rc)
                break;
        }
        u.out = !h.n ? out : order[j] != base ? hold_put : hold_merge;
        u.ctx = h.n ? (void *)&h : ctx;
        rc = read_layer(repo, c, &u, &layers[order[j]], order[j], &op[j]);
        close_layer(&op[j]);
    }
    for (size_t j = 0; j < k; j++)
        close_layer(&op[j]);
    if (!rc && h.n && u.count == nblocks)
        rc = hold_flush(&h, UINT64_MAX);
    hold_free(&h);
    if (rc)
        goto done;
    if (u.count != nblocks) {
        uint64_t b = 0;
        while (b < nblocks && u.done[b])
            b++;
        rc = corrupt(&u, "a block is missing from its layer", b);
        goto done;
    }
    uint8_t sha[32];
    wd_digests_hash(u.digests, nblocks, sha);
    if (memcmp(sha, e->raw_sha256, 32) != 0)
        rc = wd_error_set(WALDEN_ECORRUPT,
                          "backup %s, file '%s': its blocks do not match the SHA-256 of its "
                          "signed manifest",
                          id, e->path);
done:
    wd_free(map);
    wd_free(u.done);
    wd_free(u.digests);
    return rc;
}

/* ---- block map records ---- */

size_t wd_blockmap_head(uint8_t *buf, const char *path, int64_t part, uint32_t nblocks,
                        uint32_t listed)
{
    size_t n = strlen(path);
    put_u32(buf, (uint32_t)n);
    memcpy(buf + 4, path, n);
    uint64_t p = (uint64_t)part;
    put_u32(buf + 4 + n, (uint32_t)p);
    put_u32(buf + 8 + n, (uint32_t)(p >> 32));
    put_u32(buf + 12 + n, nblocks);
    put_u32(buf + 16 + n, listed);
    return 20 + n;
}

void wd_blockmap_pair(uint8_t out[36], uint32_t block, const uint8_t digest[32])
{
    put_u32(out, block);
    memcpy(out + 4, digest, 32);
}

typedef struct bm_sink {
    wd_sink base;
    wd_blockmap_cb cb;
    uint8_t head[20 + PATH_MAX_ESCAPED];
    size_t fill, need; /* head bytes read and wanted */
    uint64_t left;     /* digests (dense) or pairs (sparse) of the record still to come */
    bool sparse;
    uint32_t next_block, nblocks;
    uint8_t item[36];
    size_t item_fill;
} bm_sink;

static int bm_item(bm_sink *b)
{
    uint32_t block = b->next_block;
    const uint8_t *digest = b->item;
    if (b->sparse) {
        block = get_u32(b->item);
        digest = b->item + 4;
        if (block >= b->nblocks)
            return wd_error_set(WALDEN_ECORRUPT, "malformed block map (block past the end)");
    }
    b->next_block++;
    b->left--;
    return b->cb.digest(b->cb.ctx, block, digest);
}

static int bm_write(wd_sink *s, const uint8_t *data, size_t len)
{
    bm_sink *b = (bm_sink *)s;
    while (len > 0) {
        if (b->left > 0) {
            size_t want = b->sparse ? 36 : 32;
            size_t k = want - b->item_fill < len ? want - b->item_fill : len;
            memcpy(b->item + b->item_fill, data, k);
            b->item_fill += k;
            data += k;
            len -= k;
            if (b->item_fill == want) {
                b->item_fill = 0;
                int rc = bm_item(b);
                if (rc)
                    return rc;
            }
            continue;
        }
        size_t k = b->need - b->fill < len ? b->need - b->fill : len;
        memcpy(b->head + b->fill, data, k);
        b->fill += k;
        data += k;
        len -= k;
        if (b->fill < b->need)
            continue;
        if (b->need == 4) { /* the path's length is known now */
            uint32_t n = get_u32(b->head);
            if (n == 0 || n >= PATH_MAX_ESCAPED)
                return wd_error_set(WALDEN_ECORRUPT, "malformed block map");
            b->need = 20 + n;
            continue;
        }
        size_t n = b->need - 20;
        char path[PATH_MAX_ESCAPED];
        memcpy(path, b->head + 4, n);
        path[n] = '\0';
        int64_t part = (int64_t)((uint64_t)get_u32(b->head + 4 + n) |
                                 (uint64_t)get_u32(b->head + 8 + n) << 32);
        uint32_t nblocks = get_u32(b->head + 12 + n), listed = get_u32(b->head + 16 + n);
        if (strlen(path) != n || part < -1 || part > UINT32_MAX || nblocks > WD_UNIT_BLOCKS_MAX ||
            (listed != WD_BLOCKMAP_DENSE && listed > nblocks))
            return wd_error_set(WALDEN_ECORRUPT, "malformed block map");
        b->sparse = listed != WD_BLOCKMAP_DENSE;
        b->nblocks = nblocks;
        b->next_block = 0;
        b->left = b->sparse ? listed : nblocks;
        b->fill = 0;
        b->need = 4;
        int rc = b->cb.begin(b->cb.ctx, path, part, nblocks, b->sparse);
        if (rc)
            return rc;
    }
    return 0;
}

static int bm_commit(wd_sink *s)
{
    bm_sink *b = (bm_sink *)s;
    int rc = b->left || b->fill || b->item_fill
                 ? wd_error_set(WALDEN_ECORRUPT, "block map cut short")
                 : 0;
    wd_free(b);
    return rc;
}

static void bm_abort(wd_sink *s)
{
    wd_free(s);
}

int wd_blockmap_sink_open(wd_sink **out, const wd_blockmap_cb *cb)
{
    bm_sink *b = wd_calloc(1, sizeof(*b));
    if (!b)
        return WALDEN_ENOMEM;
    b->base.write = bm_write;
    b->base.commit = bm_commit;
    b->base.abort = bm_abort;
    b->cb = *cb;
    b->need = 4;
    *out = &b->base;
    return 0;
}
