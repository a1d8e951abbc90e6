/*
 * objstore.c - the storage contract on top of an object store's requests
 * (wd_objstore_ops, see http.h), shared by the s3 and azure drivers.
 *
 * Writing: a sink buffers what is written, growing its buffer up to the
 * part size. An object that fits is sent in one PUT at commit, so it
 * becomes visible whole, only then, and directly under its final name, also
 * with commit_as (archive-push). A larger one is sent as a multipart upload
 * (S3) or a block list (Azure): each full buffer is one part, uploaded
 * while writing; commit completes it, which makes the object visible whole.
 * Memory stays at one part buffer whatever the size. abort (or a failure)
 * aborts the multipart upload. commit_as after a multipart upload costs a
 * server-side copy and a delete, because a multipart upload's key is fixed
 * when it starts (see docs/internals/object-storage.md).
 *
 * Reading: a source fetches ranges of WD_OBJSTORE_READ_CHUNK bytes, each
 * one request with its own retries, checking the ETag so that an object
 * replaced while being read is an error, not a mix of two versions.
 *
 * Paths follow posix's rules (relative, no empty, "." or ".." element), so
 * every driver refuses the same paths. Object stores have no directories:
 * a "directory" is a common prefix in a listing.
 */
#include <assert.h>
#include <string.h>

#include "common/common.h"
#include "storage/http.h"

static int check_path(const char *path)
{
    return wd_path_is_contained(path)
               ? 0
               : wd_error_set(WALDEN_EINVAL, "invalid repository path '%s'", path);
}

/* The full key of a path; NULL with the error set. */
static char *key_of(wd_objstore *os, const char *path)
{
    if (check_path(path))
        return NULL;
    char *k = *os->prefix ? wd_path_join(os->prefix, path) : wd_strdup(path);
    if (!k)
        wd_error_set(WALDEN_ENOMEM, "out of memory");
    return k;
}

#define LAST_CODE() (walden_error_last()->code ? walden_error_last()->code : WALDEN_ENOMEM)

/* ---- reading ---- */

typedef struct obj_source {
    wd_source base;
    wd_objstore *os;
    char *key;
    uint8_t *buf;
    size_t len, pos;
    uint64_t next;  /* offset of the next fetch */
    uint64_t total; /* the object's size */
    uint64_t end;   /* where the range read ends (UINT64_MAX: the object's end) */
    char etag[128];
} obj_source;

/* The end of what the source delivers: the object's or the range's. */
static uint64_t src_limit(const obj_source *s)
{
    return s->end < s->total ? s->end : s->total;
}

static int fetch(obj_source *s)
{
    uint64_t left = src_limit(s) - s->next;
    size_t cap = left < WD_OBJSTORE_READ_CHUNK ? (size_t)left : WD_OBJSTORE_READ_CHUNK;
    uint64_t total = 0;
    size_t n = 0;
    int rc = s->os->ops->get(s->os, s->key, s->next, s->buf, cap, &n, &total, s->etag);
    if (rc)
        return rc;
    if (total != s->total || (n == 0 && cap > 0))
        return wd_error_set(WALDEN_EIO, "'%s' changed while being read", s->key);
    s->len = n;
    s->pos = 0;
    s->next += n;
    return 0;
}

static int src_read(wd_source *src, uint8_t *buf, size_t cap, size_t *n)
{
    obj_source *s = (obj_source *)src;
    *n = 0;
    if (s->pos == s->len) {
        if (s->next >= src_limit(s))
            return 0;
        int rc = fetch(s);
        if (rc)
            return rc;
    }
    size_t k = s->len - s->pos < cap ? s->len - s->pos : cap;
    memcpy(buf, s->buf + s->pos, k);
    s->pos += k;
    *n = k;
    return 0;
}

static void src_close(wd_source *src)
{
    obj_source *s = (obj_source *)src;
    wd_free(s->buf);
    wd_free(s->key);
    wd_free(s);
}

/* A source of [offset, offset + len) (len WD_RANGE_TO_END: to the end). */
static int open_source(wd_objstore *os, const char *path, uint64_t offset, uint64_t len,
                       wd_source **out)
{
    obj_source *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    s->base.read = src_read;
    s->base.close = src_close;
    s->os = os;
    s->end = len > UINT64_MAX - offset ? UINT64_MAX : offset + len;
    size_t cap = len < WD_OBJSTORE_READ_CHUNK ? (size_t)len : WD_OBJSTORE_READ_CHUNK;
    int rc = 0;
    if (!(s->key = key_of(os, path))) {
        rc = LAST_CODE();
    } else if (cap == 0 || offset > (uint64_t)INT64_MAX) {
        /* nothing to read (no object is that large): it must exist all the same */
        bool exists = false;
        if (!(rc = os->ops->head(os, s->key, &exists)) && !exists)
            rc = wd_error_set(WALDEN_ENOTFOUND, "'%s' does not exist", path);
        s->end = s->next = offset;
    } else if (!(s->buf = wd_malloc(cap))) {
        rc = WALDEN_ENOMEM;
    } else {
        rc = os->ops->get(os, s->key, offset, s->buf, cap, &s->len, &s->total, s->etag);
        s->next = offset + s->len;
    }
    if (rc) {
        src_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

static int os_open_read(wd_storage *st, const char *path, wd_source **out)
{
    return open_source((wd_objstore *)st, path, 0, WD_RANGE_TO_END, out);
}

static int os_open_read_range(wd_storage *st, const char *path, uint64_t offset, uint64_t len,
                              wd_source **out)
{
    return open_source((wd_objstore *)st, path, offset, len, out);
}

/* ---- writing ---- */

typedef struct obj_sink {
    wd_sink base;
    wd_objstore *os;
    char *key;
    uint8_t *buf;
    size_t len, cap;
    bool mp; /* a multipart upload is under way */
    char *upload;
    char **etags;
    int nparts, parts_cap;
    int error; /* the first error latches */
} obj_sink;

static void sink_free(obj_sink *s)
{
    for (int i = 0; i < s->nparts; i++)
        wd_free(s->etags[i]);
    wd_free(s->etags);
    wd_free(s->upload);
    wd_free(s->buf);
    wd_free(s->key);
    wd_free(s);
}

static int flush_part(obj_sink *s)
{
    int rc;
    if (!s->mp) {
        if ((rc = s->os->ops->mp_begin(s->os, s->key, &s->upload)))
            return rc;
        s->mp = true;
    }
    if (s->nparts == s->parts_cap) {
        int cap = s->parts_cap ? s->parts_cap * 2 : 16;
        char **e = wd_realloc(s->etags, (size_t)cap * sizeof(*e));
        if (!e)
            return WALDEN_ENOMEM;
        s->etags = e;
        s->parts_cap = cap;
    }
    if (s->nparts >= 10000)
        return wd_error_set(WALDEN_EINVAL, "'%s' is too large: more than 10000 parts of %zu bytes",
                            s->key, s->os->part_size);
    char *etag = NULL;
    if ((rc = s->os->ops->mp_part(s->os, s->key, s->upload, s->nparts + 1, s->buf, s->len, &etag)))
        return rc;
    s->etags[s->nparts++] = etag;
    s->len = 0;
    return 0;
}

static int sink_write(wd_sink *sink, const uint8_t *data, size_t len)
{
    obj_sink *s = (obj_sink *)sink;
    if (s->error)
        return s->error;
    size_t part = s->os->part_size;
    while (len) {
        if (s->len == part) {
            /* a full part and more to come: send it */
            if ((s->error = flush_part(s)))
                return s->error;
        }
        if (s->len == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 64 * 1024;
            if (cap > part)
                cap = part;
            uint8_t *nb = wd_realloc(s->buf, cap);
            if (!nb)
                return s->error = WALDEN_ENOMEM;
            s->buf = nb;
            s->cap = cap;
        }
        size_t k = s->cap - s->len < len ? s->cap - s->len : len;
        memcpy(s->buf + s->len, data, k);
        s->len += k;
        data += k;
        len -= k;
    }
    return 0;
}

static void sink_abort(wd_sink *sink)
{
    obj_sink *s = (obj_sink *)sink;
    if (s->mp)
        s->os->ops->mp_abort(s->os, s->key, s->upload);
    sink_free(s);
}

static int commit_to(obj_sink *s, const char *final)
{
    int rc = s->error;
    if (rc) {
        sink_abort(&s->base);
        return rc;
    }
    wd_objstore *os = s->os;
    if (!s->mp) {
        rc = os->ops->put(os, final, s->buf ? s->buf : (const uint8_t *)"", s->len);
        sink_free(s);
        return rc;
    }
    if ((rc = flush_part(s)) ||
        (rc = os->ops->mp_complete(os, s->key, s->upload, s->etags, s->nparts))) {
        sink_abort(&s->base);
        return rc;
    }
    if (strcmp(final, s->key) != 0) {
        /* the upload's key was fixed when it began: move the object */
        rc = os->ops->copy(os, s->key, final);
        int rc2 = os->ops->del(os, s->key);
        if (!rc)
            rc = rc2;
    }
    sink_free(s);
    return rc;
}

static int sink_commit(wd_sink *sink)
{
    obj_sink *s = (obj_sink *)sink;
    char *final = wd_strdup(s->key);
    if (!final) {
        sink_abort(sink);
        return WALDEN_ENOMEM;
    }
    int rc = commit_to(s, final);
    wd_free(final);
    return rc;
}

static int sink_commit_as(wd_sink *sink, const char *name)
{
    obj_sink *s = (obj_sink *)sink;
    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        int rc = wd_error_set(WALDEN_EINVAL, "invalid file name '%s'", name);
        sink_abort(sink);
        return rc;
    }
    const char *slash = strrchr(s->key, '/');
    char *final = wd_asprintf("%.*s%s", slash ? (int)(slash - s->key + 1) : 0, s->key, name);
    if (!final) {
        sink_abort(sink);
        return WALDEN_ENOMEM;
    }
    int rc = commit_to(s, final);
    wd_free(final);
    return rc;
}

static int os_open_write(wd_storage *st, const char *path, unsigned flags, wd_sink **out)
{
    (void)flags; /* every commit is durable: WD_WRITE_DEFER_SYNC changes nothing */
    wd_objstore *os = (wd_objstore *)st;
    obj_sink *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    s->os = os;
    if (!(s->key = key_of(os, path))) {
        int rc = LAST_CODE();
        sink_free(s);
        return rc;
    }
    s->base.write = sink_write;
    s->base.commit = sink_commit;
    s->base.abort = sink_abort;
    s->base.commit_as = sink_commit_as;
    *out = &s->base;
    return 0;
}

/* ---- the rest of the table ---- */

typedef struct list_ctx {
    size_t skip; /* length of the listed prefix */
    wd_storage_list_cb cb;
    void *ctx;
} list_ctx;

static int list_entry(const char *key, bool is_prefix, uint64_t size, void *ctx)
{
    list_ctx *lc = ctx;
    if (strlen(key) <= lc->skip)
        return 0; /* the prefix itself (a "folder marker" object) */
    char *name = wd_strdup(key + lc->skip);
    if (!name)
        return WALDEN_ENOMEM;
    size_t n = strlen(name);
    if (is_prefix && n && name[n - 1] == '/')
        name[--n] = '\0';
    int rc = 0;
    if (n && !strchr(name, '/')) {
        wd_storage_entry e = {name, is_prefix, is_prefix ? 0 : size};
        rc = lc->cb(&e, lc->ctx);
    }
    wd_free(name);
    return rc;
}

static int os_list(wd_storage *st, const char *dir, wd_storage_list_cb cb, void *ctx)
{
    wd_objstore *os = (wd_objstore *)st;
    char *prefix;
    if (*dir) {
        char *k = key_of(os, dir);
        if (!k)
            return LAST_CODE();
        prefix = wd_asprintf("%s/", k);
        wd_free(k);
    } else {
        prefix = *os->prefix ? wd_asprintf("%s/", os->prefix) : wd_strdup("");
    }
    if (!prefix)
        return WALDEN_ENOMEM;
    list_ctx lc = {strlen(prefix), cb, ctx};
    int rc = os->ops->list(os, prefix, list_entry, &lc);
    wd_free(prefix);
    return rc;
}

static int os_remove(wd_storage *st, const char *path)
{
    wd_objstore *os = (wd_objstore *)st;
    char *k = key_of(os, path);
    if (!k)
        return LAST_CODE();
    int rc = os->ops->del(os, k);
    wd_free(k);
    return rc;
}

/* Batches of at most WD_OBJSTORE_DELETE_BATCH keys, one request each. */
static int os_remove_many(wd_storage *st, const char *const *paths, size_t n)
{
    wd_objstore *os = (wd_objstore *)st;
    char **keys =
        wd_calloc(n < WD_OBJSTORE_DELETE_BATCH ? n : WD_OBJSTORE_DELETE_BATCH, sizeof(*keys));
    if (!keys)
        return WALDEN_ENOMEM;
    int rc = 0;
    for (size_t done = 0; !rc && done < n;) {
        size_t k = n - done < WD_OBJSTORE_DELETE_BATCH ? n - done : WD_OBJSTORE_DELETE_BATCH;
        size_t made = 0;
        for (; made < k; made++) {
            if (!(keys[made] = key_of(os, paths[done + made]))) {
                rc = LAST_CODE();
                break;
            }
        }
        if (!rc)
            rc = os->ops->del_many(os, (const char *const *)keys, k);
        for (size_t i = 0; i < made; i++) {
            wd_free(keys[i]);
            keys[i] = NULL;
        }
        done += k;
    }
    wd_free(keys);
    return rc;
}

static int os_exists(wd_storage *st, const char *path, bool *exists)
{
    wd_objstore *os = (wd_objstore *)st;
    char *k = key_of(os, path);
    if (!k)
        return LAST_CODE();
    int rc = os->ops->head(os, k, exists);
    wd_free(k);
    return rc;
}

static int os_sync(wd_storage *st)
{
    (void)st; /* every commit was durable already */
    return 0;
}

static void os_free(wd_storage *st)
{
    wd_objstore *os = (wd_objstore *)st;
    os->ops->free(os);
}

void wd_objstore_init(wd_objstore *os)
{
    static const wd_storage_driver drivers[2] = {
        {.name = "s3",
         .open_read = os_open_read,
         .open_write = os_open_write,
         .list = os_list,
         .remove = os_remove,
         .exists = os_exists,
         .sync = os_sync,
         .free = os_free,
         .remove_many = os_remove_many,
         .open_read_range = os_open_read_range},
        {.name = "azure",
         .open_read = os_open_read,
         .open_write = os_open_write,
         .list = os_list,
         .remove = os_remove,
         .exists = os_exists,
         .sync = os_sync,
         .free = os_free,
         .remove_many = NULL, /* Azure's blob batch is not used (yet) */
         .open_read_range = os_open_read_range},
    };
    os->base.driver = wd_str_starts_with(os->base.location, "azure:") ? &drivers[1] : &drivers[0];
    assert(os->base.driver->remove_many == NULL || os->ops->del_many != NULL);
    if (!os->part_size)
        os->part_size = WD_OBJSTORE_PART_SIZE;
}

void wd_objstore_free_base(wd_objstore *os)
{
    wd_http_free(os->http);
    wd_free(os->prefix);
    wd_free(os->base.location);
}
