/*
 * reference.c - the backup a diff or incr refers to (see reference.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "backup/reference.h"
#include "common/common.h"

/* the longest chain a diff or incr refers to */
#define CHAIN_MAX 1000

/* A unit in memory: the hash of its key, where its record is in the units
 * spool, and where its digests are in the digests spool. Its path, sizes,
 * hash, layers and map are in the record (memory: 40 bytes a unit). */
typedef struct ref_slot {
    uint64_t hash; /* 0: empty */
    uint64_t rec;
    uint64_t bm_offset;
    uint32_t bm_blocks, bm_cap;
    uint8_t kind; /* 'w' or 'b' */
    bool has_digests, broken;
} ref_slot;

struct wd_reference {
    wd_backup_meta meta; /* from its signed manifest */
    ref_slot *slots;
    size_t cap, n;
    FILE *units; /* the records of its files and parts */
    uint64_t units_size;
    FILE *spool; /* the block digests */
    uint64_t spool_size;
    ref_slot *current; /* the block map record being read, or NULL: skipped */
};

static uint64_t key_hash(const char *path, int64_t part)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = path; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ (uint64_t)part) * 1099511628211ull;
    return h ? h : 1;
}

static int file_pwrite(FILE *f, const void *data, size_t len, uint64_t at, const char *what)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fileno(f), (const uint8_t *)data + done, len - done, (off_t)(at + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return wd_error_set_errno(n < 0 ? errno : EIO, "cannot spool %s", what);
        done += (size_t)n;
    }
    return 0;
}

static int file_pread(FILE *f, void *data, size_t len, uint64_t at, const char *what)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fileno(f), (uint8_t *)data + done, len - done, (off_t)(at + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return wd_error_set_errno(n < 0 ? errno : EIO, "cannot read the spooled %s", what);
        done += (size_t)n;
    }
    return 0;
}

/* A unit's record: u32 path length, path, i64 key part, u64 size, u8 hash,
 * 32 raw SHA-256, u16 layers length, layers, u16 map length, map. */
typedef struct rec_head {
    uint32_t path_len;
    int64_t part;
} rec_head;

/* Reads the record at `rec` into `u` (its strings into `buf`, which holds
 * PATH_MAX_ESCAPED + WD_LAYERS_TEXT_MAX + WD_MAP_TEXT_MAX + 3 bytes). */
static int read_rec(const wd_reference *r, uint64_t rec, wd_ref_unit *u, char *buf)
{
    uint8_t head[4];
    int rc = file_pread(r->units, head, 4, rec, "reference");
    uint32_t n;
    memcpy(&n, head, 4);
    if (rc || n >= PATH_MAX_ESCAPED)
        return rc ? rc : wd_error_set(WALDEN_ERROR, "bad spooled reference record");
    uint8_t fixed[8 + 8 + 1 + 32 + 2];
    if ((rc = file_pread(r->units, buf, n, rec + 4, "reference")) ||
        (rc = file_pread(r->units, fixed, sizeof(fixed), rec + 4 + n, "reference")))
        return rc;
    buf[n] = '\0';
    u->path = buf;
    memcpy(&u->key_part, fixed, 8);
    memcpy(&u->size, fixed + 8, 8);
    u->hash = (char)fixed[16];
    memcpy(u->raw_sha256, fixed + 17, 32);
    uint16_t ln, mn;
    memcpy(&ln, fixed + 49, 2);
    uint64_t at = rec + 4 + n + sizeof(fixed);
    u->layers = buf + n + 1;
    if (ln > WD_LAYERS_TEXT_MAX || (rc = file_pread(r->units, u->layers, ln, at, "reference")))
        return rc ? rc : wd_error_set(WALDEN_ERROR, "bad spooled reference record");
    u->layers[ln] = '\0';
    at += ln;
    u->map = u->layers + ln + 1;
    uint8_t m2[2];
    if ((rc = file_pread(r->units, m2, 2, at, "reference")))
        return rc;
    memcpy(&mn, m2, 2);
    if (mn > WD_MAP_TEXT_MAX || (rc = file_pread(r->units, u->map, mn, at + 2, "reference")))
        return rc ? rc : wd_error_set(WALDEN_ERROR, "bad spooled reference record");
    u->map[mn] = '\0';
    return 0;
}

#define REC_BUF (PATH_MAX_ESCAPED + WD_LAYERS_TEXT_MAX + WD_MAP_TEXT_MAX + 3)

/* Whether the record at `rec` is the unit (path, part). */
static int rec_is(const wd_reference *r, uint64_t rec, const char *path, int64_t part, bool *is)
{
    size_t n = strlen(path);
    uint8_t head[4];
    char buf[PATH_MAX_ESCAPED + 8];
    *is = false;
    int rc = file_pread(r->units, head, 4, rec, "reference");
    uint32_t len;
    memcpy(&len, head, 4);
    if (rc || len != n)
        return rc;
    if ((rc = file_pread(r->units, buf, n + 8, rec + 4, "reference")))
        return rc;
    int64_t p;
    memcpy(&p, buf + n, 8);
    *is = p == part && memcmp(buf, path, n) == 0;
    return 0;
}

/* The slot of (path, part): its own, or the empty one where it goes. */
static int slot_of(const wd_reference *r, const char *path, int64_t part, ref_slot **out)
{
    uint64_t h = key_hash(path, part);
    for (size_t i = (size_t)h & (r->cap - 1);; i = (i + 1) & (r->cap - 1)) {
        ref_slot *s = &r->slots[i];
        bool is = false;
        int rc = 0;
        if (s->hash == h && (rc = rec_is(r, s->rec, path, part, &is)))
            return rc;
        if (!s->hash || is) {
            *out = s;
            return 0;
        }
    }
}

static int grow(wd_reference *r)
{
    size_t cap = r->cap ? r->cap * 2 : 1024;
    ref_slot *old = r->slots;
    size_t old_cap = r->cap;
    if (!(r->slots = wd_calloc(cap, sizeof(*r->slots)))) {
        r->slots = old;
        return WALDEN_ENOMEM;
    }
    r->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].hash)
            continue;
        size_t k = (size_t)old[i].hash & (cap - 1);
        while (r->slots[k].hash)
            k = (k + 1) & (cap - 1);
        r->slots[k] = old[i];
    }
    wd_free(old);
    return 0;
}

void wd_reference_free(wd_reference *r)
{
    if (!r)
        return;
    wd_free(r->slots);
    if (r->spool)
        fclose(r->spool);
    if (r->units)
        fclose(r->units);
    wd_backup_meta_clear(&r->meta);
    wd_free(r);
}

const wd_backup_meta *wd_reference_meta(const wd_reference *r)
{
    return &r->meta;
}

/* what wd_reference_find returns: the calling thread's */
static __thread wd_ref_unit found_unit;
static __thread char found_buf[REC_BUF];

const wd_ref_unit *wd_reference_find(const wd_reference *r, const char *path, int64_t part)
{
    if (!r->cap)
        return NULL;
    ref_slot *s = NULL;
    wd_ref_unit *u = &found_unit;
    if (slot_of(r, path, part < 0 ? 0 : part, &s) || !s->hash ||
        read_rec(r, s->rec, u, found_buf)) {
        walden_error_clear();
        return NULL; /* an unreadable spool: stored whole, as a new file */
    }
    u->has_digests = s->has_digests;
    u->bm_offset = s->bm_offset;
    u->bm_blocks = s->bm_blocks;
    return u;
}

int wd_reference_digests(const wd_reference *r, const wd_ref_unit *u, uint8_t *out)
{
    return file_pread(r->spool, out, (size_t)u->bm_blocks * 32, u->bm_offset, "block map");
}

/* A [files] line of the reference: its record to the units spool. */
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
    ref_slot *s = NULL;
    int rc = slot_of(r, e->path, part, &s);
    if (rc)
        return rc;
    if (s->hash)
        return wd_error_set(WALDEN_ECORRUPT, "backup %s lists '%s' twice", r->meta.id, e->path);
    wd_layer l[WD_LAYERS_MAX];
    size_t n = 0;
    char text[WD_LAYERS_TEXT_MAX + 1] = "-";
    if ((rc = wd_entry_layers(e, r->meta.id, l, &n)))
        return rc;
    if (n > 0 && wd_layers_format(l, n, text, sizeof(text)) < 0)
        return wd_error_set(WALDEN_ECORRUPT, "backup %s: layer list too long", r->meta.id);
    uint32_t pl = (uint32_t)strlen(e->path);
    uint16_t ln = (uint16_t)strlen(text), mn = (uint16_t)strlen(e->map);
    uint8_t fixed[8 + 8 + 1 + 32 + 2];
    memcpy(fixed, &part, 8);
    memcpy(fixed + 8, &e->size, 8);
    fixed[16] = (uint8_t)e->hash;
    memcpy(fixed + 17, e->raw_sha256, 32);
    memcpy(fixed + 49, &ln, 2);
    uint64_t at = r->units_size;
    if ((rc = file_pwrite(r->units, &pl, 4, at, "a reference")) ||
        (rc = file_pwrite(r->units, e->path, pl, at + 4, "a reference")) ||
        (rc = file_pwrite(r->units, fixed, sizeof(fixed), at + 4 + pl, "a reference")) ||
        (rc = file_pwrite(r->units, text, ln, at + 4 + pl + sizeof(fixed), "a reference")) ||
        (rc = file_pwrite(r->units, &mn, 2, at + 4 + pl + sizeof(fixed) + ln, "a reference")) ||
        (rc = file_pwrite(r->units, e->map, mn, at + 6 + pl + sizeof(fixed) + ln, "a reference")))
        return rc;
    r->units_size = at + 6 + pl + sizeof(fixed) + ln + mn;
    s->hash = key_hash(e->path, part);
    s->rec = at;
    s->kind = (uint8_t)e->hash;
    r->n++;
    return 0;
}

/* ---- the block maps of the chain, applied in order ---- */

static int spool_pwrite(wd_reference *r, const void *data, size_t len, uint64_t at)
{
    return file_pwrite(r->spool, data, len, at, "a block map");
}

static int spool_pread(const wd_reference *r, void *data, size_t len, uint64_t at)
{
    return file_pread(r->spool, data, len, at, "block map");
}

/* Room for `nblocks` digests of unit `s`: a new region at the spool's end
 * when it has less, keeping the first `keep` digests. */
static int unit_room(wd_reference *r, ref_slot *s, uint32_t nblocks, uint32_t keep)
{
    if (s->bm_cap >= nblocks && s->bm_cap > 0)
        return 0;
    uint64_t at = r->spool_size;
    uint8_t buf[32 * 256];
    for (uint32_t i = 0; i < keep;) {
        uint32_t k = keep - i < 256 ? keep - i : 256;
        int rc = spool_pread(r, buf, (size_t)k * 32, s->bm_offset + (uint64_t)i * 32);
        if (!rc)
            rc = spool_pwrite(r, buf, (size_t)k * 32, at + (uint64_t)i * 32);
        if (rc)
            return rc;
        i += k;
    }
    s->bm_offset = at;
    s->bm_cap = nblocks ? nblocks : 1;
    r->spool_size += (uint64_t)s->bm_cap * 32;
    return 0;
}

static int bm_begin(void *ctx, const char *path, int64_t part, uint32_t nblocks, bool sparse)
{
    wd_reference *r = ctx;
    ref_slot *s = NULL;
    r->current = NULL;
    int rc = r->cap ? slot_of(r, path, part < 0 ? 0 : part, &s) : 0;
    if (rc || !s || !s->hash || s->kind != 'b')
        return rc; /* gone since, or no longer a relation unit */
    if (sparse && !s->has_digests) {
        s->broken = true;
        return 0;
    }
    if ((rc = unit_room(r, s, nblocks,
                        sparse ? (s->bm_blocks < nblocks ? s->bm_blocks : nblocks) : 0)))
        return rc;
    s->has_digests = true;
    s->broken = false;
    s->bm_blocks = nblocks;
    r->current = s;
    return 0;
}

static int bm_digest(void *ctx, uint32_t block, const uint8_t digest[32])
{
    wd_reference *r = ctx;
    if (!r->current)
        return 0;
    return spool_pwrite(r, digest, 32, r->current->bm_offset + (uint64_t)block * 32);
}

/* Applies backup `m`'s block map (its SHA-256 and size from its signed
 * summary). */
static int apply_blockmap(walden_repo *repo, wd_reference *r, const wd_backup_meta *m,
                          wd_compress c)
{
    char *object = wd_asprintf("%s/%s/%s/backup.blockmap%s", repo->cluster, WD_BACKUP_DIR, m->id,
                               wd_compress_ext(c));
    wd_source *src = NULL;
    wd_sink *sink = NULL;
    wd_repo_stream st = {0};
    int rc = object ? 0 : WALDEN_ENOMEM;
    wd_blockmap_cb cb = {bm_begin, bm_digest, r};
    if (!rc && !m->blockmap_size)
        rc = wd_error_set(WALDEN_ECORRUPT, "backup %s has no block map", m->id);
    if (!rc && !(rc = wd_storage_open_read(repo->storage, object, &src)) &&
        !(rc = wd_blockmap_sink_open(&sink, &cb))) {
        char what[512];
        snprintf(what, sizeof(what), "backup %s's block map is not what its signed summary lists",
                 m->id);
        wd_read_limits lim = {.raw_max = m->blockmap_size,
                              .raw_exact = true,
                              .stored_max = wd_stored_max(m->blockmap_size),
                              .code = WALDEN_ECORRUPT,
                              .what = what,
                              .stored_counted = true};
        if (!(rc = wd_repo_read_begin_limited(repo, c, m->blockmap_sha256, NULL, &lim, sink, &st)))
            rc = wd_pipe_copy(st.pipe, src);
    }
    if (rc == WALDEN_ENOTFOUND)
        rc = wd_error_set(WALDEN_ECORRUPT, "backup %s has no block map ('%s')", m->id, object);
    wd_pipe_free(st.pipe);
    wd_source_close(src);
    wd_free(object);
    return rc;
}

/* Every relation unit's digests must hash to its manifest's SHA-256; a unit
 * whose do not is stored whole by the next backup. */
static int check_digests(wd_reference *r)
{
    uint8_t *buf = wd_malloc(32 * 1024);
    char *text = wd_malloc(REC_BUF);
    if (!buf || !text) {
        wd_free(buf);
        wd_free(text);
        return WALDEN_ENOMEM;
    }
    uint64_t dropped = 0;
    int rc = 0;
    for (size_t i = 0; i < r->cap && !rc; i++) {
        ref_slot *s = &r->slots[i];
        if (!s->hash || s->kind != 'b' || !s->has_digests)
            continue;
        wd_ref_unit u;
        if ((rc = read_rec(r, s->rec, &u, text)))
            break;
        bool ok = !s->broken && s->bm_blocks == wd_unit_blocks(u.size);
        if (ok) {
            EVP_MD_CTX *md = EVP_MD_CTX_new();
            if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
                rc = WALDEN_ENOMEM;
            for (uint32_t b = 0; b < s->bm_blocks && !rc;) {
                uint32_t k = s->bm_blocks - b < 1024 ? s->bm_blocks - b : 1024;
                if (!(rc = spool_pread(r, buf, (size_t)k * 32, s->bm_offset + (uint64_t)b * 32)))
                    EVP_DigestUpdate(md, buf, (size_t)k * 32);
                b += k;
            }
            uint8_t got[32];
            if (!rc && !EVP_DigestFinal_ex(md, got, NULL))
                rc = wd_error_set_openssl(WALDEN_ERROR, "sha-256 failed");
            EVP_MD_CTX_free(md);
            ok = !rc && memcmp(got, u.raw_sha256, 32) == 0;
        }
        if (!ok) {
            s->has_digests = false;
            dropped++;
        }
    }
    wd_free(buf);
    wd_free(text);
    if (!rc && dropped)
        wd_log_warn("backup %s: the block maps of its chain do not give the digests of %" PRIu64
                    " of its relation files: they are stored whole",
                    r->meta.id, dropped);
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
    const wd_backup_meta *chain[CHAIN_MAX];
    size_t links = 0;
    for (const wd_backup_meta *m = ref; m;) {
        if (links == CHAIN_MAX) {
            snprintf(why, why_cap, "backup %s has a chain of more than %d backups", ref->id,
                     CHAIN_MAX);
            goto done;
        }
        chain[links++] = m;
        if (!*m->reference)
            break;
        const wd_backup_meta *prior = find_meta(metas, n, m->reference);
        if (!prior || prior->format < 2 || strcmp(prior->compress, ref->compress) != 0) {
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
    if (!(r->spool = tmpfile()) || !(r->units = tmpfile()))
        rc = wd_error_set_errno(errno, "cannot create a temporary file for the reference");
    else if (!(rc = wd_backup_read_manifest(repo, ref->id, &r->meta, add_unit, r)) &&
             (r->meta.format < 2 || !r->meta.blockmap_size || strcmp(r->meta.id, ref->id) != 0))
        rc = wd_error_set(WALDEN_ECORRUPT, "backup %s: its manifest has no block map", ref->id);
    /* from the full on: each block map changes what the one before gave */
    for (size_t i = links; !rc && i-- > 0;)
        rc = apply_blockmap(repo, r, chain[i], repo->compress);
    if (!rc)
        rc = check_digests(r);
    if (rc) {
        wd_reference_free(r);
        goto done;
    }
    *out = r;
done:
    wd_backup_list_free(metas, n);
    return rc;
}
