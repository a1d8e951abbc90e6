/*
 * storage.h - the one storage-driver interface.
 *
 * A repository lives in a storage: a local directory (posix), an S3 bucket
 * prefix or an Azure container prefix. Paths are relative to the storage
 * root, '/'-separated, without '..'. Every driver implements the same table
 * of functions, and one conformance test suite runs against each.
 *
 * Callers go through the wd_storage_* functions below and never call the
 * driver's functions themselves: these are the storage's front
 * (storage.c), which checks every path once, before any driver sees it. A
 * path must be relative, not empty, without an empty, "." or ".." element
 * (wd_path_is_contained), so that nothing outside the root is reached;
 * list and abandoned also take "" for the root. A refused path is
 * WALDEN_EINVAL "invalid repository path '...'", and the driver is not
 * called. Drivers trust the paths they are given.
 *
 * Contract:
 *   - open_read: a source of the object's bytes; WALDEN_ENOTFOUND (with the
 *     last error set, but callers may treat it as a normal answer) when the
 *     object does not exist.
 *   - open_write: a sink; the object becomes visible only at commit, whole,
 *     and commit returns 0 only once it is durable (posix: temp file, fsync,
 *     rename, fsync of the directory). Missing parent "directories" are
 *     created. abort leaves nothing behind.
 *   - list: the entries directly under a directory, in no set order; a
 *     missing directory lists nothing (not an error).
 *     With WD_WRITE_DEFER_SYNC the commit makes the object visible but it is
 *     durable only after the next sync() (posix: no fsync per file, one
 *     syncfs at the end; a backup of thousands of files would otherwise
 *     wait on thousands of fsyncs). Drivers whose commit is durable anyway
 *     (object stores) ignore the flag.
 *   - sync: makes every deferred write durable.
 *   - remove: a missing object is not an error; on posix an empty
 *     directory is removed too (object stores have no directories).
 *   - exists: 0 with *exists set.
 *   - remove_many (optional, NULL when the store has no batch request):
 *     removes n objects (not directories) like remove does each, in as few
 *     requests as the store allows (S3 DeleteObjects: 1000 keys each).
 *     wd_storage_remove_tree uses it; without it, remove per object.
 *   - open_read_range (optional, NULL when unsupported): a source of the
 *     bytes [offset, offset + len) of an object, fewer when the object
 *     ends earlier (a range starting at or past the end is empty);
 *     len WD_RANGE_TO_END reads to the end. WALDEN_ENOTFOUND like
 *     open_read.
 */
#ifndef WD_STORAGE_H
#define WD_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "io/stream.h"

typedef struct wd_storage wd_storage;

typedef struct wd_storage_entry {
    const char *name; /* the last path element */
    bool is_dir;
    uint64_t size;    /* 0 for directories */
    int64_t mtime_ms; /* when the object was last written, Unix ms; 0: unknown */
} wd_storage_entry;

/* Non-zero return stops the listing and is returned by list(). */
typedef int (*wd_storage_list_cb)(const wd_storage_entry *e, void *ctx);

typedef struct wd_storage_driver {
    const char *name;
    int (*open_read)(wd_storage *st, const char *path, wd_source **out);
    int (*open_write)(wd_storage *st, const char *path, unsigned flags, wd_sink **out);
    int (*list)(wd_storage *st, const char *dir, wd_storage_list_cb cb, void *ctx);
    int (*remove)(wd_storage *st, const char *path);
    int (*exists)(wd_storage *st, const char *path, bool *exists);
    int (*sync)(wd_storage *st);
    void (*free)(wd_storage *st);
    int (*remove_many)(wd_storage *st, const char *const *paths, size_t n);
    int (*open_read_range)(wd_storage *st, const char *path, uint64_t offset, uint64_t len,
                           wd_source **out);
    /* (optional, NULL when the store keeps no visible leftovers) counts,
     * and with `remove` unlinks, the abandoned temporary files in `dir`
     * (and below it with `recursive`): see wd_storage_abandoned. */
    int (*abandoned)(wd_storage *st, const char *dir, bool recursive, bool remove, uint64_t *count,
                     uint64_t *bytes);
} wd_storage_driver;

/* A temporary file is abandoned when it was last written this long ago
 * (and, on posix, its writer's pid is not alive on this host): a writer
 * that is merely stopped that long finds its file gone at commit and
 * fails, so removing it loses nothing. */
#define WD_TEMP_ABANDONED_MS (3600 * 1000)

/* open_read_range's len for "up to the end of the object". */
#define WD_RANGE_TO_END UINT64_MAX

struct wd_storage {
    const wd_storage_driver *driver;
    char *location; /* for messages, e.g. "/var/lib/walden" or "s3://bucket/prefix" */
};

/* A posix storage rooted at directory `root`. The root must exist unless
 * `create` is set (then it is created with its parents, mode 0750). */
int wd_storage_posix_new(wd_storage **out, const char *root, bool create);

/* The storage of the `repo` option: posix for a directory, s3 for
 * "s3://BUCKET/PREFIX", azure for "azure://CONTAINER/PREFIX" (their
 * s3-* / azure-* options, see lib/storage/objstore.h). With `create` a missing
 * root (directory, bucket or container) is created. libcurl is loaded only
 * for the object stores. */
struct walden_config;
int wd_storage_open(wd_storage **out, const struct walden_config *cfg, bool create);

int wd_storage_open_read(wd_storage *st, const char *path, wd_source **out);
/* Flags of open_write. */
#define WD_WRITE_DEFER_SYNC 1u

int wd_storage_open_write_ex(wd_storage *st, const char *path, unsigned flags, wd_sink **out);
static inline int wd_storage_open_write(wd_storage *st, const char *path, wd_sink **out)
{
    return wd_storage_open_write_ex(st, path, 0, out);
}
static inline int wd_storage_sync(wd_storage *st)
{
    return st->driver->sync(st);
}
/* dir "" lists the root. */
int wd_storage_list(wd_storage *st, const char *dir, wd_storage_list_cb cb, void *ctx);
int wd_storage_remove(wd_storage *st, const char *path);
int wd_storage_exists(wd_storage *st, const char *path, bool *exists);
/* open_read_range; WALDEN_EINVAL when the driver cannot read ranges. */
int wd_storage_open_read_range(wd_storage *st, const char *path, uint64_t offset, uint64_t len,
                               wd_source **out);
static inline void wd_storage_free(wd_storage *st)
{
    if (st)
        st->driver->free(st);
}

/* The abandoned temporary files under `dir` (recursive: also in the
 * folders below): counted into *count and *bytes, removed with `remove`.
 * 0 and nothing counted on stores without visible leftovers (an object
 * store's unfinished upload is no object: see docs/internals/storage). */
int wd_storage_abandoned(wd_storage *st, const char *dir, bool recursive, bool remove,
                         uint64_t *count, uint64_t *bytes);

/* Reads a whole small object (at most max bytes) into a NUL-terminated
 * buffer. */
int wd_storage_read_all(wd_storage *st, const char *path, size_t max, char **out, size_t *len);
/* Removes the objects `paths` (a missing one is fine): in batches with the
 * driver's remove_many, else one by one. */
int wd_storage_remove_many(wd_storage *st, const char *const *paths, size_t n);
/* Removes everything under `dir` (and on posix the directories). */
int wd_storage_remove_tree(wd_storage *st, const char *dir);
/* Writes a whole small object atomically and durably. */
int wd_storage_write_all(wd_storage *st, const char *path, const void *data, size_t len);
/* The names of the folders directly under `dir` (an object store's common
 * prefixes), in no set order: *names (free with wd_storage_names_free). */
int wd_storage_list_dirs(wd_storage *st, const char *dir, char ***names, size_t *n);
void wd_storage_names_free(char **names, size_t n);

#endif
