/*
 * manifest.c - writing and parsing backup manifests and their summaries (see
 * manifest.h); reading them from the repository is backups.c's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/manifest.h"
#include "common/common.h"
#include "pg/pg.h"

void wd_backup_meta_link(wd_backup_meta *m)
{
    m->pub.id = m->id;
    m->pub.type = m->type;
    m->pub.status = m->status;
    m->pub.start_wal = m->start_wal;
    m->pub.stop_wal = m->stop_wal;
    m->pub.compress = m->compress;
    m->pub.walden_version = m->walden_version;
    m->pub.reference = m->reference;
}

void wd_backup_meta_clear(wd_backup_meta *m)
{
    wd_free(m->pgdata);
    wd_free(m->owner);
    memset(m, 0, sizeof(*m));
}

/* The [backup] lines, into a pipe or a text buffer: one formatter. */
typedef int (*emit_fn)(void *dst, const char *fmt, ...) WD_PRINTF(2, 3);

static int emit_start(emit_fn emit, void *dst, const wd_backup_meta *m)
{
    char lsn[WD_LSN_TEXT];
    wd_lsn_format(m->pub.start_lsn, lsn);
    int rc = 0;
    if ((rc = emit(dst, "format = %d\n", m->format ? m->format : WD_MANIFEST_FORMAT)) ||
        (rc = emit(dst, "id = %s\n", m->id)) || (rc = emit(dst, "type = %s\n", m->type)) ||
        (*m->reference && (rc = emit(dst, "reference = %s\n", m->reference))) ||
        (rc = emit(dst, "system-id = %" PRIu64 "\n", m->pub.system_id)) ||
        (rc = emit(dst, "pg-version = %d\n", m->pub.pg_version)) ||
        (rc = emit(dst, "walden-version = %s\n", m->walden_version)) ||
        (rc = emit(dst, "compress = %s\n", m->compress)) ||
        (rc = emit(dst, "encrypted = %s\n", m->pub.encrypted ? "yes" : "no")) ||
        (rc = emit(dst, "data-checksums = %s\n", m->data_checksums ? "yes" : "no")) ||
        (rc = emit(dst, "part-size = %" PRIu64 "\n", m->part_size)) ||
        (rc = emit(dst, "timeline = %u\n", m->pub.timeline)) ||
        (rc = emit(dst, "start-lsn = %s\n", lsn)) ||
        (rc = emit(dst, "start-wal = %s\n", m->start_wal)) ||
        (rc = emit(dst, "start-time-ms = %" PRId64 "\n", m->pub.start_time_ms)) ||
        (rc = emit(dst, "pgdata = \"%s\"\n", m->pgdata ? m->pgdata : "")) ||
        (rc = emit(dst, "owner = %s\n", m->owner ? m->owner : "")))
        return rc;
    return 0;
}

static int emit_blockmap(emit_fn emit, void *dst, const wd_backup_meta *m)
{
    char hex[65];
    wd_hex_encode(m->blockmap_sha256, 32, hex);
    int rc = emit(dst, "blockmap-sha256 = %s\n", hex);
    return rc ? rc : emit(dst, "blockmap-size = %" PRIu64 "\n", m->blockmap_size);
}

static int emit_end(emit_fn emit, void *dst, const wd_backup_meta *m)
{
    char lsn[WD_LSN_TEXT];
    wd_lsn_format(m->pub.stop_lsn, lsn);
    int rc = 0;
    if ((rc = emit(dst, "stop-lsn = %s\n", lsn)) ||
        (rc = emit(dst, "stop-wal = %s\n", m->stop_wal)) ||
        (rc = emit(dst, "stop-time-ms = %" PRId64 "\n", m->pub.stop_time_ms)) ||
        (m->end_xmin && (rc = emit(dst, "end-xmin = %" PRIu64 "\n", m->end_xmin))) ||
        (rc = emit(dst, "file-count = %" PRIu64 "\n", m->pub.file_count)) ||
        (rc = emit(dst, "size = %" PRIu64 "\n", m->pub.size)) ||
        (rc = emit(dst, "stored-size = %" PRIu64 "\n", m->pub.stored_size)) ||
        (rc = emit(dst, "page-errors = %" PRIu64 "\n", m->pub.page_errors)) ||
        (m->blockmap_size && (rc = emit_blockmap(emit, dst, m))) ||
        (rc = emit(dst, "status = %s\n", m->status)) || (rc = emit(dst, "complete = yes\n")))
        return rc;
    return 0;
}

static int emit_pipe(void *dst, const char *fmt, ...) WD_PRINTF(2, 3);
static int emit_pipe(void *dst, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return wd_error_set(WALDEN_EINVAL, "manifest line too long");
    return wd_pipe_write(dst, (const uint8_t *)buf, (size_t)n);
}

typedef struct text_buf {
    char *s;
    size_t len, cap;
} text_buf;

static int emit_text(void *dst, const char *fmt, ...) WD_PRINTF(2, 3);
static int emit_text(void *dst, const char *fmt, ...)
{
    text_buf *t = dst;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return wd_error_set(WALDEN_EINVAL, "cannot format the backup summary");
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->len + (size_t)n + 1) * 2;
        char *s = wd_realloc(t->s, cap);
        if (!s)
            return WALDEN_ENOMEM;
        t->s = s;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
    return 0;
}

int wd_backup_meta_write_start(wd_pipe *p, const wd_backup_meta *m)
{
    int rc = emit_pipe(p, "# walden backup manifest\n[backup]\n");
    return rc ? rc : emit_start(emit_pipe, p, m);
}

int wd_backup_meta_write_end(wd_pipe *p, const wd_backup_meta *m)
{
    int rc = emit_pipe(p, "[end]\n");
    return rc ? rc : emit_end(emit_pipe, p, m);
}

char *wd_backup_meta_text(const wd_backup_meta *m)
{
    text_buf t = {0};
    if (emit_text(&t, "# walden backup summary\n") || emit_start(emit_text, &t, m) ||
        emit_end(emit_text, &t, m)) {
        wd_free(t.s);
        return NULL;
    }
    return t.s;
}

static int set_str(char *dst, size_t cap, const char *value, const char *name)
{
    if (strlen(value) >= cap)
        return wd_error_set(WALDEN_ECORRUPT, "manifest value of '%s' too long", name);
    memcpy(dst, value, strlen(value) + 1);
    return 0;
}

static int set_u64(uint64_t *dst, const char *value, const char *name)
{
    if (wd_parse_uint64(value, dst))
        return wd_error_set(WALDEN_ECORRUPT, "manifest value of '%s' is not a number: '%s'", name,
                            value);
    return 0;
}

static int set_i64(int64_t *dst, const char *value, const char *name)
{
    if (wd_parse_int64(value, INT64_MIN, INT64_MAX, dst))
        return wd_error_set(WALDEN_ECORRUPT, "manifest value of '%s' is not a number: '%s'", name,
                            value);
    return 0;
}

static int set_lsn(uint64_t *dst, const char *value, const char *name)
{
    if (wd_lsn_parse(value, dst))
        return wd_error_set(WALDEN_ECORRUPT, "manifest value of '%s' is not an LSN: '%s'", name,
                            value);
    return 0;
}

int wd_backup_meta_set(wd_backup_meta *m, const char *name, const char *value)
{
    int64_t i;
    uint64_t u;
    int rc = 0;
    if (strcmp(name, "format") == 0) {
        if ((rc = set_i64(&i, value, name)))
            return rc;
        if (i > WD_MANIFEST_FORMAT)
            return wd_error_set(WALDEN_EVERSION,
                                "manifest format %s is newer than this walden reads (%d)", value,
                                WD_MANIFEST_FORMAT);
        if (i < 1)
            return wd_error_set(WALDEN_ECORRUPT, "manifest format %s is not one", value);
        m->format = (int)i;
    } else if (strcmp(name, "id") == 0) {
        rc = set_str(m->id, sizeof(m->id), value, name);
    } else if (strcmp(name, "type") == 0) {
        rc = set_str(m->type, sizeof(m->type), value, name);
    } else if (strcmp(name, "reference") == 0) {
        rc = set_str(m->reference, sizeof(m->reference), value, name);
    } else if (strcmp(name, "blockmap-sha256") == 0) {
        if (strlen(value) != 64 || wd_hex_decode(value, m->blockmap_sha256, 32)) {
            walden_error_clear();
            rc = wd_error_set(WALDEN_ECORRUPT, "manifest value of '%s' is not a SHA-256", name);
        }
    } else if (strcmp(name, "blockmap-size") == 0) {
        rc = set_u64(&m->blockmap_size, value, name);
    } else if (strcmp(name, "system-id") == 0) {
        rc = set_u64(&m->pub.system_id, value, name);
    } else if (strcmp(name, "pg-version") == 0) {
        if (!(rc = set_i64(&i, value, name)))
            m->pub.pg_version = (int)i;
    } else if (strcmp(name, "walden-version") == 0) {
        rc = set_str(m->walden_version, sizeof(m->walden_version), value, name);
    } else if (strcmp(name, "compress") == 0) {
        rc = set_str(m->compress, sizeof(m->compress), value, name);
    } else if (strcmp(name, "encrypted") == 0) {
        m->pub.encrypted = strcmp(value, "yes") == 0;
    } else if (strcmp(name, "data-checksums") == 0) {
        m->data_checksums = strcmp(value, "yes") == 0;
    } else if (strcmp(name, "part-size") == 0) {
        rc = set_u64(&m->part_size, value, name);
    } else if (strcmp(name, "timeline") == 0) {
        if (!(rc = set_u64(&u, value, name)))
            m->pub.timeline = (uint32_t)u;
    } else if (strcmp(name, "start-lsn") == 0) {
        rc = set_lsn(&m->pub.start_lsn, value, name);
    } else if (strcmp(name, "stop-lsn") == 0) {
        rc = set_lsn(&m->pub.stop_lsn, value, name);
    } else if (strcmp(name, "start-wal") == 0) {
        rc = set_str(m->start_wal, sizeof(m->start_wal), value, name);
    } else if (strcmp(name, "stop-wal") == 0) {
        rc = set_str(m->stop_wal, sizeof(m->stop_wal), value, name);
    } else if (strcmp(name, "start-time-ms") == 0) {
        rc = set_i64(&m->pub.start_time_ms, value, name);
    } else if (strcmp(name, "stop-time-ms") == 0) {
        rc = set_i64(&m->pub.stop_time_ms, value, name);
    } else if (strcmp(name, "end-xmin") == 0) {
        rc = set_u64(&m->end_xmin, value, name);
    } else if (strcmp(name, "file-count") == 0) {
        rc = set_u64(&m->pub.file_count, value, name);
    } else if (strcmp(name, "size") == 0) {
        rc = set_u64(&m->pub.size, value, name);
    } else if (strcmp(name, "stored-size") == 0) {
        rc = set_u64(&m->pub.stored_size, value, name);
    } else if (strcmp(name, "page-errors") == 0) {
        rc = set_u64(&m->pub.page_errors, value, name);
    } else if (strcmp(name, "status") == 0) {
        rc = set_str(m->status, sizeof(m->status), value, name);
    } else if (strcmp(name, "complete") == 0) {
        m->complete = strcmp(value, "yes") == 0;
    } else if (strcmp(name, "pgdata") == 0) {
        wd_free(m->pgdata);
        rc = (m->pgdata = wd_strdup(value)) ? 0 : WALDEN_ENOMEM;
    } else if (strcmp(name, "owner") == 0) {
        wd_free(m->owner);
        rc = (m->owner = wd_strdup(value)) ? 0 : WALDEN_ENOMEM;
    }
    wd_backup_meta_link(m);
    return rc;
}

/* ---- [files] lines ---- */

static size_t escape(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in; in++) {
        const char *rep = *in == '\\' ? "\\\\" : *in == '\t' ? "\\t" : *in == '\n' ? "\\n" : NULL;
        size_t len = rep ? 2 : 1;
        if (n + len >= cap)
            return (size_t)-1;
        if (rep)
            memcpy(out + n, rep, 2);
        else
            out[n] = *in;
        n += len;
    }
    out[n] = '\0';
    return n;
}

static int unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r != '\\') {
            *w++ = *r;
            continue;
        }
        r++;
        if (*r == '\\')
            *w++ = '\\';
        else if (*r == 't')
            *w++ = '\t';
        else if (*r == 'n')
            *w++ = '\n';
        else
            return -1;
    }
    *w = '\0';
    return 0;
}

char *wd_backup_object(const char *backup, const char *path, int64_t part, wd_compress c)
{
    if (part >= 0)
        return wd_asprintf("%s/parts/%s/%" PRId64 "%s", backup, path, part, wd_compress_ext(c));
    return wd_asprintf("%s/data/%s%s", backup, path, wd_compress_ext(c));
}

char *wd_backup_delta_object(const char *backup, const char *path, int64_t part, wd_compress c)
{
    if (part >= 0)
        return wd_asprintf("%s/delta-parts/%s/%" PRId64 "%s", backup, path, part,
                           wd_compress_ext(c));
    return wd_asprintf("%s/delta/%s%s", backup, path, wd_compress_ext(c));
}

char *wd_backup_object_rel(const char *path, int64_t part, wd_compress c)
{
    if (part >= 0)
        return wd_asprintf("parts/%s/%" PRId64 "%s", path, part, wd_compress_ext(c));
    return wd_asprintf("data/%s%s", path, wd_compress_ext(c));
}

int wd_stored_line_format(const uint8_t sha256[32], uint64_t size, const char *object, char *buf,
                          size_t cap)
{
    char hex[65], esc[2 * PATH_MAX_ESCAPED];
    wd_hex_encode(sha256, 32, hex);
    if (escape(object, esc, sizeof(esc)) == (size_t)-1)
        return -1;
    int n = snprintf(buf, cap, "%s\t%" PRIu64 "\t%s\n", hex, size, esc);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int wd_stored_line_parse(char *line, uint8_t sha256[32], uint64_t *size, const char **object)
{
    char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t1 || !t2 || strchr(t2 + 1, '\t'))
        return wd_error_set(WALDEN_ECORRUPT, "malformed line in backup.stored");
    *t1 = *t2 = '\0';
    if (t1 - line != 64 || wd_hex_decode(line, sha256, 32) || wd_parse_uint64(t1 + 1, size) ||
        unescape(t2 + 1)) {
        walden_error_clear();
        return wd_error_set(WALDEN_ECORRUPT, "malformed line in backup.stored");
    }
    if (!*(t2 + 1) || t2[1] == '/' || !wd_path_is_contained(t2 + 1))
        return wd_error_set(WALDEN_ECORRUPT,
                            "backup.stored names an object outside the backup: '%s'", t2 + 1);
    *object = t2 + 1;
    return 0;
}

int wd_manifest_entry_format(const wd_manifest_entry *e, char *buf, size_t cap)
{
    char raw[65], stored[65];
    char path[2 * PATH_MAX_ESCAPED], link[2 * PATH_MAX_ESCAPED];
    if (e->type == 'f' || e->type == 'p') {
        wd_hex_encode(e->raw_sha256, 32, raw);
        wd_hex_encode(e->stored_sha256, 32, stored);
    } else {
        strcpy(raw, "-");
        strcpy(stored, "-");
    }
    if (escape(e->path, path, sizeof(path)) == (size_t)-1)
        return -1;
    if (e->type == 'p')
        snprintf(link, sizeof(link), "%" PRIu32, e->part);
    else if (escape(e->link ? e->link : "", link, sizeof(link)) == (size_t)-1)
        return -1;
    bool extra = e->type == 'l' || e->type == 'p';
    int n = snprintf(buf, cap,
                     "%c\t%04o\t%" PRIu64 "\t%" PRId64 "\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%s%s%s",
                     e->type, e->mode, e->size, e->mtime, raw, stored, e->stored_size, e->bad_pages,
                     path, extra ? "\t" : "", extra ? link : "");
    if (n < 0 || (size_t)n >= cap)
        return -1;
    int m =
        (e->type == 'f' || e->type == 'p') && e->hash
            ? snprintf(buf + n, cap - (size_t)n, "\t%c\t%s\t%s\n", e->hash,
                       e->layers && *e->layers ? e->layers : "-", e->map && *e->map ? e->map : "-")
            : snprintf(buf + n, cap - (size_t)n, "\n");
    return m < 0 || (size_t)m >= cap - (size_t)n ? -1 : n + m;
}

int wd_manifest_path_check(const char *path)
{
    if (!*path || *path == '/')
        return wd_error_set(WALDEN_ECORRUPT, "manifest path '%s' is not a relative path", path);
    if (!wd_path_is_contained(path))
        return wd_error_set(WALDEN_ECORRUPT, "manifest path '%s' has an empty, '.' or '..' element",
                            path);
    return 0;
}

#define BAD_LINE(line) wd_error_set(WALDEN_ECORRUPT, "malformed manifest line")

int wd_manifest_entry_parse(char *line, wd_manifest_entry *e)
{
    char *fields[13];
    int n = 0;
    char *p = line;
    memset(e, 0, sizeof(*e));
    while (n < 13) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
        if (n == 13)
            return BAD_LINE(line);
    }
    if (n < 9 || strlen(fields[0]) != 1 || !strchr("fdlp", fields[0][0]))
        return BAD_LINE(line);
    e->type = fields[0][0];
    /* fields before the format 2 ones: 9, 10 for a link or a part */
    int base = (e->type == 'l' || e->type == 'p') ? 10 : 9;
    bool v2 = (e->type == 'f' || e->type == 'p') && n == base + 3;
    if (n != base && !v2)
        return BAD_LINE(line);
    char *end;
    unsigned long mode = strtoul(fields[1], &end, 8);
    if (*end || mode > 07777)
        return BAD_LINE(line);
    e->mode = (unsigned)mode;
    if (wd_parse_uint64(fields[2], &e->size) ||
        wd_parse_int64(fields[3], INT64_MIN, INT64_MAX, &e->mtime) ||
        wd_parse_uint64(fields[6], &e->stored_size) || wd_parse_uint64(fields[7], &e->bad_pages))
        return BAD_LINE(line);
    if (e->type == 'p') {
        int64_t part;
        if (wd_parse_int64(fields[9], 0, UINT32_MAX, &part))
            return BAD_LINE(line);
        e->part = (uint32_t)part;
    }
    if (e->type == 'f' || e->type == 'p') {
        if (wd_hex_decode(fields[4], e->raw_sha256, 32) ||
            wd_hex_decode(fields[5], e->stored_sha256, 32))
            return BAD_LINE(line);
    }
    if (v2) {
        const char *h = fields[base], *l = fields[base + 1], *m = fields[base + 2];
        if (strlen(h) != 1 || (h[0] != 'w' && h[0] != 'b') || !*l || !*m ||
            strlen(l) > WD_LAYERS_TEXT_MAX || strlen(m) > WD_MAP_TEXT_MAX)
            return BAD_LINE(line);
        e->hash = h[0];
        e->layers = l;
        e->map = m;
    }
    if (unescape(fields[8]) || (e->type == 'l' && unescape(fields[9])))
        return BAD_LINE(line);
    e->path = fields[8];
    e->link = e->type == 'l' ? fields[9] : "";
    return wd_manifest_path_check(e->path);
}

/* ---- line sink ---- */

typedef struct line_sink {
    wd_sink base;
    char *buf;
    size_t len, cap;
    wd_line_cb cb;
    void *ctx;
} line_sink;

static int line_write(wd_sink *s, const uint8_t *data, size_t len)
{
    line_sink *ls = (line_sink *)s;
    while (len > 0) {
        const uint8_t *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (ls->len + take >= ls->cap)
            return wd_error_set(WALDEN_ECORRUPT, "manifest line longer than %zu bytes", ls->cap);
        memcpy(ls->buf + ls->len, data, take);
        ls->len += take;
        if (!nl)
            break;
        ls->buf[ls->len] = '\0';
        int rc = ls->cb(ls->buf, ls->len, ls->ctx);
        ls->len = 0;
        if (rc)
            return rc;
        data += take + 1;
        len -= take + 1;
    }
    return 0;
}

static void line_free(line_sink *ls)
{
    wd_free(ls->buf);
    wd_free(ls);
}

static int line_commit(wd_sink *s)
{
    line_sink *ls = (line_sink *)s;
    int rc = ls->len ? wd_error_set(WALDEN_ECORRUPT, "manifest ends in the middle of a line") : 0;
    line_free(ls);
    return rc;
}

static void line_abort(wd_sink *s)
{
    line_free((line_sink *)s);
}

int wd_line_sink_open(wd_sink **out, size_t max_line, wd_line_cb cb, void *ctx)
{
    line_sink *ls = wd_calloc(1, sizeof(*ls));
    if (!ls)
        return WALDEN_ENOMEM;
    if (!(ls->buf = wd_malloc(max_line + 1))) {
        wd_free(ls);
        return WALDEN_ENOMEM;
    }
    ls->cap = max_line + 1;
    ls->cb = cb;
    ls->ctx = ctx;
    ls->base.write = line_write;
    ls->base.commit = line_commit;
    ls->base.abort = line_abort;
    *out = &ls->base;
    return 0;
}
