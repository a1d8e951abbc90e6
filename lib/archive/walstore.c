/*
 * walstore.c - naming and finding stored WAL files (see archive.h), and
 * walden_archive_list.
 */
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "common/common.h"

static int hex_field(const char *p, size_t hexlen, uint8_t *out)
{
    char buf[2 * WD_SIG_LEN + 1];
    memcpy(buf, p, hexlen);
    buf[hexlen] = '\0';
    for (size_t i = 0; i < hexlen; i++)
        if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f')))
            return WALDEN_EINVAL;
    if (wd_hex_decode(buf, out, hexlen / 2)) {
        walden_error_clear();
        return WALDEN_EINVAL;
    }
    return 0;
}

int wd_wal_object_parse(const char *object, char *name, size_t name_cap, wd_wal_copy *copy)
{
    size_t len = strlen(object), body = len;
    if (len >= sizeof(copy->object))
        return WALDEN_EINVAL;
    copy->is_signed = false;
    if (wd_str_ends_with(object, ".zst")) {
        copy->compress = WD_COMPRESS_ZSTD;
        body -= 4;
    } else if (wd_str_ends_with(object, ".gz")) {
        copy->compress = WD_COMPRESS_GZIP;
        body -= 3;
    } else {
        copy->compress = WD_COMPRESS_NONE;
    }
    const size_t sig_part = 1 + 2 * WD_SIG_LEN, sha_part = 1 + 64;
    size_t name_len;
    if (body > sig_part + sha_part && object[body - sig_part] == '-' &&
        object[body - sig_part - sha_part] == '-' &&
        hex_field(object + body - sig_part + 1, 2 * WD_SIG_LEN, copy->sig) == 0) {
        if (hex_field(object + body - sig_part - 64, 64, copy->sha256))
            return WALDEN_EINVAL;
        copy->is_signed = true;
        name_len = body - sig_part - sha_part;
    } else if (body > sha_part && object[body - sha_part] == '-') {
        if (hex_field(object + body - 64, 64, copy->sha256))
            return WALDEN_EINVAL;
        name_len = body - sha_part;
    } else {
        return WALDEN_EINVAL;
    }
    if (name_len >= name_cap)
        return WALDEN_EINVAL;
    memcpy(name, object, name_len);
    name[name_len] = '\0';
    wd_wal_name parsed;
    if (wd_wal_name_parse(name, &parsed)) {
        walden_error_clear();
        return WALDEN_EINVAL;
    }
    memcpy(copy->object, object, len + 1);
    return 0;
}

int wd_wal_object_name(const char *name, const uint8_t sha256[32], const uint8_t sig[WD_SIG_LEN],
                       wd_compress c, char *buf, size_t cap)
{
    char sha_hex[65], sig_hex[2 * WD_SIG_LEN + 1];
    wd_hex_encode(sha256, 32, sha_hex);
    wd_hex_encode(sig, WD_SIG_LEN, sig_hex);
    int n = snprintf(buf, cap, "%s-%s-%s%s", name, sha_hex, sig_hex, wd_compress_ext(c));
    return n < 0 || (size_t)n >= cap || n > 254 ? -1 : n;
}

int wd_wal_copy_verify(walden_repo *repo, const char *name, const wd_wal_copy *copy,
                       const uint8_t *header)
{
    if (repo->legacy)
        return 0;
    int rc = wd_repo_trust(repo);
    if (rc)
        return rc;
    if (!copy->is_signed)
        return wd_error_set(WALDEN_EAUTH,
                            "archived '%s' (object '%s') failed authentication: it has no "
                            "signature",
                            name, copy->object);
    wd_wal_sig_input in = {
        .name = name, .ext = wd_compress_ext(copy->compress), .encrypted = repo->info.encrypted};
    memcpy(in.raw_sha256, copy->sha256, 32);
    if (in.encrypted)
        memcpy(in.header, header, WD_ENC_HEADER_LEN);
    wd_area_id area;
    wd_repo_area(repo, &area);
    rc = wd_sign_wal_verify(repo->verify_key, &area, &in, copy->sig);
    if (rc == WALDEN_EAUTH)
        return wd_error_set(WALDEN_EAUTH,
                            "archived '%s' (object '%s') failed authentication: its signature "
                            "does not verify (not written by walden for this area and name)",
                            name, copy->object);
    return rc;
}

int wd_wal_copy_header(walden_repo *repo, const char *folder, const wd_wal_copy *copy,
                       uint8_t header[WD_CIPHER_HEADER_LEN])
{
    char *path = wd_path_join(folder, copy->object);
    wd_source *src = NULL;
    if (!path)
        return WALDEN_ENOMEM;
    int rc = repo->storage->driver->open_read_range
                 ? wd_storage_open_read_range(repo->storage, path, 0, WD_CIPHER_HEADER_LEN, &src)
                 : wd_storage_open_read(repo->storage, path, &src);
    size_t have = 0;
    while (!rc && have < WD_CIPHER_HEADER_LEN) {
        size_t n = 0;
        rc = wd_source_read(src, header + have, WD_CIPHER_HEADER_LEN - have, &n);
        if (!rc && n == 0)
            rc = wd_error_set(WALDEN_EAUTH,
                              "archived object '%s' failed authentication: shorter than an "
                              "encryption header",
                              path);
        have += n;
    }
    wd_source_close(src);
    wd_free(path);
    return rc;
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
    return wd_callback_rc(a->cb(e, a->ctx));
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
