/*
 * dumps.c - the dumps of the catalogue: their manifests written, read and
 * listed (catalog.h). The manifest is the truth about a dump: no manifest,
 * no dump.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/common.h"

void wd_dump_meta_link(wd_dump_meta *m)
{
    m->pub.id = m->id;
    m->pub.kind = m->kind;
    m->pub.database = m->database ? m->database : "";
    m->pub.status = m->status;
    m->pub.error = m->error ? m->error : "";
    m->pub.pg_dump_version = m->pg_dump_version;
    m->pub.compress = m->compress;
    m->pub.walden_version = m->walden_version;
}

void wd_dump_meta_clear(wd_dump_meta *m)
{
    wd_free(m->database);
    wd_free(m->error);
    memset(m, 0, sizeof(*m));
}

/* Values are one line: a newline in an error message becomes a blank. */
static char *one_line(const char *s)
{
    char *c = wd_strdup(s ? s : "");
    for (char *p = c; p && *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return c;
}

char *wd_dump_meta_text(const wd_dump_meta *m)
{
    char raw[65], stored[65];
    wd_hex_encode(m->raw_sha256, 32, raw);
    wd_hex_encode(m->stored_sha256, 32, stored);
    char *db = one_line(m->database), *err = one_line(m->error);
    char *text = NULL, hdr[2 * WD_CIPHER_HEADER_LEN + 1] = "";
    if (m->have_header)
        wd_hex_encode(m->header, WD_CIPHER_HEADER_LEN, hdr);
    if (db && err)
        text = wd_asprintf("# walden dump manifest\n"
                           "format = %d\nid = %s\nkind = %s\ndatabase = \"%s\"\n"
                           "system-id = %" PRIu64 "\npg-version = %d\npg-dump-version = %s\n"
                           "walden-version = %s\ncompress = %s\nencrypted = %s\n"
                           "start-time-ms = %" PRId64 "\nstop-time-ms = %" PRId64 "\n"
                           "size = %" PRIu64 "\nstored-size = %" PRIu64 "\n"
                           "raw-sha256 = %s\nstored-sha256 = %s\n"
                           "%s%s%s"
                           "status = %s\nerror = \"%s\"\ncomplete = yes\n",
                           WD_DUMP_FORMAT, m->id, m->kind, db, m->pub.system_id, m->pub.pg_version,
                           m->pg_dump_version, m->walden_version, m->compress,
                           m->pub.encrypted ? "yes" : "no", m->pub.start_time_ms,
                           m->pub.stop_time_ms, m->pub.size, m->pub.stored_size, raw, stored,
                           m->have_header ? "stored-header = " : "", hdr,
                           m->have_header ? "\n" : "", m->status, err);
    wd_free(db);
    wd_free(err);
    return text;
}

static int set_str(char *dst, size_t cap, const char *value, const char *name)
{
    if (strlen(value) >= cap)
        return wd_error_set(WALDEN_ECORRUPT, "dump manifest value of '%s' too long", name);
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

static int set_num(const char *value, const char *name, int64_t min, int64_t max, int64_t *out)
{
    if (wd_parse_int64(value, min, max, out))
        return wd_error_set(WALDEN_ECORRUPT, "dump manifest value of '%s' is not a number: '%s'",
                            name, value);
    return 0;
}

static int set_u64(const char *value, const char *name, uint64_t *out)
{
    if (wd_parse_uint64(value, out))
        return wd_error_set(WALDEN_ECORRUPT, "dump manifest value of '%s' is not a number: '%s'",
                            name, value);
    return 0;
}

static int set_sha(uint8_t *dst, const char *value, const char *name)
{
    if (strlen(value) != 64 || wd_hex_decode(value, dst, 32))
        return wd_error_set(WALDEN_ECORRUPT, "dump manifest value of '%s' is not a SHA-256", name);
    return 0;
}

static int meta_kv(const char *name, const char *value, int line, void *ctx)
{
    wd_dump_meta *m = ctx;
    int64_t i = 0;
    int rc = 0;
    (void)line;
    if (m->complete)
        return wd_error_set(WALDEN_ECORRUPT, "dump manifest has data after its end");
    if (strcmp(name, "format") == 0) {
        if (!(rc = set_num(value, name, 1, INT32_MAX, &i)) && i > WD_DUMP_FORMAT)
            rc = wd_error_set(WALDEN_EVERSION,
                              "dump manifest format %s is newer than this walden reads (%d)", value,
                              WD_DUMP_FORMAT);
    } else if (strcmp(name, "id") == 0) {
        rc = set_str(m->id, sizeof(m->id), value, name);
    } else if (strcmp(name, "kind") == 0) {
        rc = set_str(m->kind, sizeof(m->kind), value, name);
    } else if (strcmp(name, "database") == 0) {
        wd_free(m->database);
        rc = (m->database = wd_strdup(value)) ? 0 : WALDEN_ENOMEM;
    } else if (strcmp(name, "error") == 0) {
        wd_free(m->error);
        rc = (m->error = wd_strdup(value)) ? 0 : WALDEN_ENOMEM;
    } else if (strcmp(name, "system-id") == 0) {
        rc = set_u64(value, name, &m->pub.system_id);
    } else if (strcmp(name, "pg-version") == 0) {
        if (!(rc = set_num(value, name, 0, INT32_MAX, &i)))
            m->pub.pg_version = (int)i;
    } else if (strcmp(name, "pg-dump-version") == 0) {
        rc = set_str(m->pg_dump_version, sizeof(m->pg_dump_version), value, name);
    } else if (strcmp(name, "walden-version") == 0) {
        rc = set_str(m->walden_version, sizeof(m->walden_version), value, name);
    } else if (strcmp(name, "compress") == 0) {
        rc = set_str(m->compress, sizeof(m->compress), value, name);
    } else if (strcmp(name, "encrypted") == 0) {
        m->pub.encrypted = strcmp(value, "yes") == 0;
    } else if (strcmp(name, "start-time-ms") == 0) {
        rc = set_num(value, name, INT64_MIN, INT64_MAX, &m->pub.start_time_ms);
    } else if (strcmp(name, "stop-time-ms") == 0) {
        rc = set_num(value, name, INT64_MIN, INT64_MAX, &m->pub.stop_time_ms);
    } else if (strcmp(name, "size") == 0) {
        rc = set_u64(value, name, &m->pub.size);
    } else if (strcmp(name, "stored-size") == 0) {
        rc = set_u64(value, name, &m->pub.stored_size);
    } else if (strcmp(name, "raw-sha256") == 0) {
        rc = set_sha(m->raw_sha256, value, name);
    } else if (strcmp(name, "stored-sha256") == 0) {
        rc = set_sha(m->stored_sha256, value, name);
    } else if (strcmp(name, "stored-header") == 0) {
        if (strlen(value) != 2 * WD_CIPHER_HEADER_LEN ||
            wd_hex_decode(value, m->header, WD_CIPHER_HEADER_LEN))
            rc = wd_error_set(WALDEN_ECORRUPT, "dump manifest value of '%s' is malformed", name);
        m->have_header = rc == 0;
    } else if (strcmp(name, "status") == 0) {
        rc = set_str(m->status, sizeof(m->status), value, name);
    } else if (strcmp(name, "complete") == 0) {
        m->complete = strcmp(value, "yes") == 0;
    }
    /* unknown names are skipped: a newer walden may add some */
    return rc;
}

int wd_dump_meta_parse(wd_dump_meta *m, const char *text, size_t len, const char *id)
{
    char origin[128];
    snprintf(origin, sizeof(origin), "%s of dump '%s'", WD_DUMP_MANIFEST, id);
    int rc = wd_kv_parse(text, len, origin, meta_kv, m);
    if (!rc && (!m->complete || !m->kind[0] || !m->status[0]))
        rc = wd_error_set(WALDEN_ECORRUPT, "the manifest of dump '%s' is incomplete", id);
    else if (!rc && strcmp(m->id, id) != 0)
        rc = wd_error_set(WALDEN_ECORRUPT, "the manifest of dump '%s' names dump '%s'", id, m->id);
    else if (!rc && strcmp(m->kind, "database") != 0 && strcmp(m->kind, "globals") != 0)
        rc = wd_error_set(WALDEN_ECORRUPT, "dump '%s' is of an unknown kind '%s'", id, m->kind);
    if (!rc)
        wd_dump_meta_link(m);
    return rc;
}

char *wd_dump_object(const walden_repo *repo, const wd_dump_meta *m)
{
    wd_compress c = WD_COMPRESS_NONE;
    if (wd_compress_parse(m->compress, &c))
        return NULL;
    return wd_asprintf("%s/%s/%s/%s%s", repo->cluster, WD_DUMP_DIR, m->id,
                       strcmp(m->kind, "globals") == 0 ? "globals.sql" : "dump.pgdump",
                       wd_compress_ext(c));
}

int wd_dump_load_meta(walden_repo *repo, const char *id, wd_dump_meta *m)
{
    if (!*id || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return wd_error_set(WALDEN_EINVAL, "invalid dump id '%s'", id);
    char *path = wd_asprintf("%s/%s/%s/%s", repo->cluster, WD_DUMP_DIR, id, WD_DUMP_MANIFEST);
    if (!path)
        return WALDEN_ENOMEM;
    char *text = NULL;
    size_t len = 0;
    int rc = wd_repo_read_signed(repo, path, 1 << 20, &text, &len);
    wd_free(path);
    if (rc == WALDEN_ENOTFOUND)
        return wd_error_set(WALDEN_ENOTFOUND, "dump '%s' does not exist in cluster '%s'", id,
                            repo->cluster);
    if (rc)
        return rc;
    rc = wd_dump_meta_parse(m, text, len, id);
    wd_free(text);
    return rc;
}

static int load_entry(walden_repo *repo, const char *id, void *meta)
{
    return wd_dump_load_meta(repo, id, meta);
}

static void clear_entry(void *meta)
{
    wd_dump_meta_clear(meta);
}

static int64_t entry_start(const void *meta)
{
    return ((const wd_dump_meta *)meta)->pub.start_time_ms;
}

static const char *entry_id(const void *meta)
{
    return ((const wd_dump_meta *)meta)->id;
}

static const wd_catalog_kind dumps = {
    WD_DUMP_DIR, "dump", sizeof(wd_dump_meta), load_entry, clear_entry, entry_start, entry_id};

int wd_dump_list_meta(walden_repo *repo, wd_dump_meta ***out, size_t *count,
                      wd_catalog_damage *damage)
{
    return wd_catalog_list(repo, &dumps, (void ***)out, count, damage);
}

void wd_dump_list_free(wd_dump_meta **metas, size_t n)
{
    wd_catalog_list_free(&dumps, (void **)metas, n);
}

int wd_dump_list_usable(walden_repo *repo, const char *named, wd_dump_meta ***out, size_t *count)
{
    return wd_catalog_list_usable(repo, &dumps, named, (void ***)out, count);
}

int wd_dump_each_usable(walden_repo *repo, const char *named, walden_dump_cb cb, void *ctx)
{
    wd_dump_meta **metas = NULL;
    size_t n = 0;
    int rc = wd_dump_list_usable(repo, named, &metas, &n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = cb(&metas[i]->pub, ctx);
    wd_dump_list_free(metas, n);
    return rc;
}

static int dump_complete(walden_repo *repo, const char *id, bool *yes)
{
    char *path = wd_asprintf("%s/%s/%s/%s", repo->cluster, WD_DUMP_DIR, id, WD_DUMP_MANIFEST);
    int rc = path ? wd_storage_exists(repo->storage, path, yes) : WALDEN_ENOMEM;
    wd_free(path);
    return rc;
}

int wd_dump_remove_incomplete(walden_repo *repo)
{
    return wd_repo_remove_unfinished(repo, WD_DUMP_DIR, "dump", dump_complete);
}

int walden_dump_list(walden_repo *repo, walden_dump_cb cb, void *ctx)
{
    wd_dump_meta **metas = NULL;
    size_t n = 0;
    wd_catalog_damage damage = {0};
    int rc = wd_dump_list_meta(repo, &metas, &n, &damage);
    for (size_t i = 0; !rc && i < n; i++)
        rc = wd_callback_rc(cb(&metas[i]->pub, ctx));
    if (!rc)
        rc = wd_catalog_refuse(&damage, NULL); /* listed, then said */
    wd_dump_list_free(metas, n);
    wd_catalog_damage_free(&damage);
    return rc;
}

void walden_dump_info_free(walden_dump_info *info)
{
    if (!info)
        return;
    wd_dump_meta *m = (wd_dump_meta *)info; /* pub is the first member */
    wd_dump_meta_clear(m);
    wd_free(m);
}
