/*
 * storage.c - the front of the storage interface (see storage.h): every
 * path is checked here, once, before a driver sees it, so that all drivers
 * refuse the same paths and none can forget to; then the helpers that work
 * over any driver (whole small objects, trees, batches).
 *
 * The check costs what the drivers' own checks cost before: one pass over
 * the path, no allocation (archive-push opens one object per segment).
 */
#include <string.h>

#include "common/common.h"
#include "storage/storage.h"

/* ---- the front: one path check for every driver ---- */

static int check_path(const char *path)
{
    return wd_path_is_contained(path)
               ? 0
               : wd_error_set(WALDEN_EINVAL, "invalid repository path '%s'", path);
}

/* A folder, where "" is the root. */
static int check_dir(const char *dir)
{
    return *dir ? check_path(dir) : 0;
}

int wd_storage_open_read(wd_storage *st, const char *path, wd_source **out)
{
    int rc = check_path(path);
    return rc ? rc : st->driver->open_read(st, path, out);
}

int wd_storage_open_write_ex(wd_storage *st, const char *path, unsigned flags, wd_sink **out)
{
    int rc = check_path(path);
    return rc ? rc : st->driver->open_write(st, path, flags, out);
}

int wd_storage_list(wd_storage *st, const char *dir, wd_storage_list_cb cb, void *ctx)
{
    int rc = check_dir(dir);
    return rc ? rc : st->driver->list(st, dir, cb, ctx);
}

int wd_storage_remove(wd_storage *st, const char *path)
{
    int rc = check_path(path);
    return rc ? rc : st->driver->remove(st, path);
}

int wd_storage_exists(wd_storage *st, const char *path, bool *exists)
{
    int rc = check_path(path);
    return rc ? rc : st->driver->exists(st, path, exists);
}

int wd_storage_open_read_range(wd_storage *st, const char *path, uint64_t offset, uint64_t len,
                               wd_source **out)
{
    if (!st->driver->open_read_range)
        return wd_error_set(WALDEN_EINVAL, "storage '%s' (%s) cannot read byte ranges",
                            st->location, st->driver->name);
    int rc = check_path(path);
    return rc ? rc : st->driver->open_read_range(st, path, offset, len, out);
}

int wd_storage_abandoned(wd_storage *st, const char *dir, bool recursive, bool remove,
                         uint64_t *count, uint64_t *bytes)
{
    *count = *bytes = 0;
    if (!st->driver->abandoned)
        return 0;
    int rc = check_dir(dir);
    return rc ? rc : st->driver->abandoned(st, dir, recursive, remove, count, bytes);
}

/* Every path is checked before the first is removed: a batch with a bad
 * path removes nothing. */
int wd_storage_remove_many(wd_storage *st, const char *const *paths, size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = check_path(paths[i]);
    if (rc || !n)
        return rc;
    if (st->driver->remove_many)
        return st->driver->remove_many(st, paths, n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = st->driver->remove(st, paths[i]);
    return rc;
}

/* ---- helpers over any driver ---- */

int wd_storage_read_all(wd_storage *st, const char *path, size_t max, char **out, size_t *len)
{
    wd_source *src;
    int rc = wd_storage_open_read(st, path, &src);
    if (rc)
        return rc;
    size_t cap = 4096, used = 0;
    char *buf = wd_malloc(cap + 1);
    if (!buf) {
        wd_source_close(src);
        return WALDEN_ENOMEM;
    }
    for (;;) {
        if (used == cap) {
            if (cap >= max) {
                rc = wd_error_set(WALDEN_ECORRUPT, "'%s' is larger than %zu bytes", path, max);
                break;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *nb = wd_realloc(buf, cap + 1);
            if (!nb) {
                rc = WALDEN_ENOMEM;
                break;
            }
            buf = nb;
        }
        size_t n;
        if ((rc = wd_source_read(src, (uint8_t *)buf + used, cap - used, &n)) || n == 0)
            break;
        used += n;
    }
    wd_source_close(src);
    if (rc) {
        wd_free(buf);
        return rc;
    }
    buf[used] = '\0';
    *out = buf;
    if (len)
        *len = used;
    return 0;
}

int wd_storage_write_all(wd_storage *st, const char *path, const void *data, size_t len)
{
    wd_sink *sink;
    int rc = wd_storage_open_write(st, path, &sink);
    if (rc)
        return rc;
    if ((rc = sink->write(sink, data, len))) {
        sink->abort(sink);
        return rc;
    }
    return sink->commit(sink);
}

/* The names under a directory are collected first (in batches), so the
 * listing does not run while entries are removed under it. */
typedef struct tree_batch {
    char **names;
    bool *dirs;
    size_t n, cap;
} tree_batch;

static int collect(const wd_storage_entry *e, void *ctx)
{
    tree_batch *b = ctx;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        char **names = wd_realloc(b->names, cap * sizeof(*names));
        if (!names)
            return WALDEN_ENOMEM;
        b->names = names;
        bool *dirs = wd_realloc(b->dirs, cap * sizeof(*dirs));
        if (!dirs)
            return WALDEN_ENOMEM;
        b->dirs = dirs;
        b->cap = cap;
    }
    if (!(b->names[b->n] = wd_strdup(e->name)))
        return WALDEN_ENOMEM;
    b->dirs[b->n++] = e->is_dir;
    return 0;
}

/* Files are removed in batches of this many (S3's DeleteObjects limit). */
#define REMOVE_BATCH 1000

int wd_storage_remove_tree(wd_storage *st, const char *dir)
{
    tree_batch b = {0};
    int rc = wd_storage_list(st, dir, collect, &b);
    /* the sub-directories first, then this directory's files in batches */
    for (size_t i = 0; !rc && i < b.n; i++) {
        if (!b.dirs[i])
            continue;
        char *path = wd_path_join(dir, b.names[i]);
        rc = path ? wd_storage_remove_tree(st, path) : WALDEN_ENOMEM;
        wd_free(path);
    }
    char **batch = rc ? NULL : wd_calloc(REMOVE_BATCH, sizeof(*batch));
    if (!rc && !batch)
        rc = WALDEN_ENOMEM;
    size_t nb = 0;
    for (size_t i = 0; !rc && i <= b.n; i++) {
        if (i < b.n && !b.dirs[i] && !(batch[nb++] = wd_path_join(dir, b.names[i])))
            rc = WALDEN_ENOMEM;
        if (!rc && nb && (nb == REMOVE_BATCH || i == b.n))
            rc = wd_storage_remove_many(st, (const char *const *)batch, nb);
        if (rc || nb == REMOVE_BATCH || i == b.n) {
            for (size_t k = 0; k < nb; k++)
                wd_free(batch[k]);
            nb = 0;
        }
    }
    wd_free(batch);
    for (size_t i = 0; i < b.n; i++)
        wd_free(b.names[i]);
    wd_free(b.names);
    wd_free(b.dirs);
    if (!rc)
        rc = wd_storage_remove(st, dir);
    return rc;
}

int wd_storage_list_dirs(wd_storage *st, const char *dir, char ***names, size_t *n)
{
    tree_batch b = {0};
    int rc = wd_storage_list(st, dir, collect, &b);
    size_t k = 0;
    for (size_t i = 0; i < b.n; i++) {
        if (!rc && b.dirs[i])
            b.names[k++] = b.names[i];
        else
            wd_free(b.names[i]);
    }
    wd_free(b.dirs);
    if (rc) {
        wd_free(b.names);
        return rc;
    }
    *names = b.names;
    *n = k;
    return 0;
}

void wd_storage_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        wd_free(names[i]);
    wd_free(names);
}
