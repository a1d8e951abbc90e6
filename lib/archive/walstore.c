/*
 * walstore.c - naming and finding stored WAL files (see archive.h), and
 * walden_archive_list.
 */
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "common/common.h"

int wd_wal_object_parse(const char *object, char *name, size_t name_cap, wd_wal_copy *copy)
{
    const char *dash = strrchr(object, '-');
    if (!dash || (size_t)(dash - object) >= name_cap || strlen(object) >= sizeof(copy->object))
        return WALDEN_EINVAL;
    const char *hex = dash + 1, *ext = hex + 64;
    if (strlen(hex) < 64)
        return WALDEN_EINVAL;
    char hexbuf[65];
    memcpy(hexbuf, hex, 64);
    hexbuf[64] = '\0';
    if (wd_hex_decode(hexbuf, copy->sha256, 32)) {
        walden_error_clear();
        return WALDEN_EINVAL;
    }
    if (strcmp(ext, ".zst") == 0)
        copy->compress = WD_COMPRESS_ZSTD;
    else if (strcmp(ext, ".gz") == 0)
        copy->compress = WD_COMPRESS_GZIP;
    else if (*ext == '\0')
        copy->compress = WD_COMPRESS_NONE;
    else
        return WALDEN_EINVAL;
    memcpy(name, object, (size_t)(dash - object));
    name[dash - object] = '\0';
    wd_wal_name parsed;
    if (wd_wal_name_parse(name, &parsed)) {
        walden_error_clear();
        return WALDEN_EINVAL;
    }
    memcpy(copy->object, object, strlen(object) + 1);
    return 0;
}

char *wd_wal_folder(const walden_repo *repo, const char *name, const wd_wal_name *parsed)
{
    char dir[17];
    wd_wal_dir(name, parsed, dir);
    if (!*dir)
        return wd_repo_path(repo, "wal");
    char *rel = wd_path_join("wal", dir);
    char *path = rel ? wd_repo_path(repo, rel) : NULL;
    wd_free(rel);
    return path;
}

struct find_ctx {
    const char *name;
    wd_wal_copy *copies;
    size_t cap, n;
};

static int find_cb(const wd_storage_entry *e, void *ctx)
{
    struct find_ctx *fc = ctx;
    size_t nl = strlen(fc->name);
    if (e->is_dir || strncmp(e->name, fc->name, nl) != 0 || e->name[nl] != '-')
        return 0;
    char name[64];
    wd_wal_copy copy;
    if (wd_wal_object_parse(e->name, name, sizeof(name), &copy) || strcmp(name, fc->name) != 0)
        return 0;
    copy.stored_size = e->size;
    if (fc->n < fc->cap)
        fc->copies[fc->n] = copy;
    fc->n++;
    return 0;
}

int wd_wal_find(walden_repo *repo, const char *folder, const char *name, wd_wal_copy *copies,
                size_t cap, size_t *n)
{
    struct find_ctx fc = {name, copies, cap, 0};
    int rc = wd_storage_list(repo->storage, folder, find_cb, &fc);
    *n = fc.n;
    return rc;
}

/* ---- listing ---- */

struct names {
    char **v;
    size_t n, cap;
    bool dirs; /* collect folders, not objects */
};

static int names_cb(const wd_storage_entry *e, void *ctx)
{
    struct names *ns = ctx;
    if (e->is_dir != ns->dirs)
        return 0;
    char **v = wd_array_grow(ns->v, &ns->cap, ns->n, sizeof(*v), 64);
    if (!v)
        return WALDEN_ENOMEM;
    ns->v = v;
    /* keep the size and time after the name's NUL for objects */
    size_t len = strlen(e->name);
    char *s = wd_malloc(len + 1 + sizeof(uint64_t) + sizeof(int64_t));
    if (!s)
        return WALDEN_ENOMEM;
    memcpy(s, e->name, len + 1);
    memcpy(s + len + 1, &e->size, sizeof(uint64_t));
    memcpy(s + len + 1 + sizeof(uint64_t), &e->mtime_ms, sizeof(int64_t));
    ns->v[ns->n++] = s;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        wd_free(ns->v[i]);
    wd_free(ns->v);
    memset(ns, 0, sizeof(*ns));
}

/* Reports the WAL objects of one folder, sorted. Memory is bounded by the
 * folder: at most one segment number range (256 segments of 16 MiB). */
static int list_folder(walden_repo *repo, const char *folder, wd_wal_object_cb cb, void *ctx)
{
    struct names ns = {0};
    int rc = wd_storage_list(repo->storage, folder, names_cb, &ns);
    if (!rc && ns.n)
        qsort(ns.v, ns.n, sizeof(*ns.v), cmp_str);
    for (size_t i = 0; !rc && i < ns.n; i++) {
        char name[64];
        wd_wal_copy copy;
        if (wd_wal_object_parse(ns.v[i], name, sizeof(name), &copy))
            continue;
        walden_wal_entry e = {name, 0, wd_compress_name(copy.compress), 0};
        const char *extra = ns.v[i] + strlen(ns.v[i]) + 1;
        memcpy(&e.stored_size, extra, sizeof(uint64_t));
        memcpy(&e.stored_time_ms, extra + sizeof(uint64_t), sizeof(int64_t));
        rc = cb(&e, folder, ns.v[i], ctx);
    }
    names_free(&ns);
    return rc;
}

int wd_wal_walk(walden_repo *repo, wd_wal_object_cb cb, void *ctx)
{
    char *wal = wd_repo_path(repo, "wal");
    if (!wal)
        return WALDEN_ENOMEM;
    struct names dirs = {.dirs = true};
    /* history files first (they sit in wal/ itself), then each folder */
    int rc = list_folder(repo, wal, cb, ctx);
    if (!rc)
        rc = wd_storage_list(repo->storage, wal, names_cb, &dirs);
    if (!rc && dirs.n)
        qsort(dirs.v, dirs.n, sizeof(*dirs.v), cmp_str);
    for (size_t i = 0; !rc && i < dirs.n; i++) {
        char *folder = wd_path_join(wal, dirs.v[i]);
        if (!folder) {
            rc = WALDEN_ENOMEM;
            break;
        }
        rc = list_folder(repo, folder, cb, ctx);
        wd_free(folder);
    }
    names_free(&dirs);
    wd_free(wal);
    return rc;
}

typedef struct list_adapter {
    walden_wal_cb cb;
    void *ctx;
} list_adapter;

static int list_adapter_cb(const walden_wal_entry *e, const char *folder, const char *object,
                           void *ctx)
{
    list_adapter *a = ctx;
    (void)folder;
    (void)object;
    return a->cb(e, a->ctx);
}

int walden_archive_list(walden_repo *repo, walden_wal_cb cb, void *ctx)
{
    list_adapter a = {cb, ctx};
    return wd_wal_walk(repo, list_adapter_cb, &a);
}

int wd_wal_present(walden_repo *repo, const char *name, bool *present)
{
    wd_wal_name parsed;
    int rc = wd_wal_name_parse(name, &parsed);
    if (rc)
        return rc;
    char *folder = wd_wal_folder(repo, name, &parsed);
    if (!folder)
        return WALDEN_ENOMEM;
    wd_wal_copy copy;
    size_t n = 0;
    rc = wd_wal_find(repo, folder, name, &copy, 1, &n);
    wd_free(folder);
    *present = n > 0;
    return rc;
}

void wd_archive_sweep_temps(walden_repo *repo, const char *folder, const wd_wal_name *parsed)
{
    /* once every 16 segments: a folder holds 256 (of 16 MiB), a listing of
     * it is cheap, and a killed push leaves at most one file behind */
    if (parsed->kind != WD_WAL_SEGMENT || parsed->seg % 16 != 0)
        return;
    uint64_t n, bytes;
    if (wd_storage_abandoned(repo->storage, folder, false, true, &n, &bytes))
        walden_error_clear(); /* the segment is archived: this is housekeeping */
}
