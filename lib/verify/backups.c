/*
 * backups.c - walden verify, the backups: backup.info read as the catalogue reads it, the
 * manifest's files checked, cross-checked with backup.stored (or, without the key, backup.stored
 * alone), and the WAL each backup needs noted for wal.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "common/common.h"
#include "repo/bundle.h"
#include "verify/verify.h"

/* ---- a pull reader of text lines (backup.stored) ---- */

typedef struct line_reader {
    wd_source *src;
    char *buf;
    size_t cap, start, end;
    bool eof;
} line_reader;

/* The next line, NUL-terminated, without its newline; NULL at the end. */
static int lr_next(line_reader *lr, char **line)
{
    for (;;) {
        char *nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
        if (nl) {
            *nl = '\0';
            *line = lr->buf + lr->start;
            lr->start = (size_t)(nl - lr->buf) + 1;
            return 0;
        }
        if (lr->eof) {
            if (lr->end > lr->start)
                return wd_error_set(WALDEN_ECORRUPT, "ends in the middle of a line");
            *line = NULL;
            return 0;
        }
        memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
        lr->end -= lr->start;
        lr->start = 0;
        if (lr->end == lr->cap)
            return wd_error_set(WALDEN_ECORRUPT, "has a line longer than %zu bytes", lr->cap);
        size_t n = 0;
        int rc = wd_source_read(lr->src, (uint8_t *)lr->buf + lr->end, lr->cap - lr->end, &n);
        if (rc)
            return rc;
        lr->eof = n == 0;
        lr->end += n;
    }
}

/* backup.stored, read as a stream of objects. */
typedef struct stored_list {
    line_reader lr;
    char *path; /* storage path, for reports */
    const char *id;
    int section; /* 0 head, 1 [objects], 2 [end] */
    bool complete;
    bool missing; /* the backup has no backup.stored */
    walden_repo *repo;
    EVP_MD_CTX *md; /* every byte before the signature line */
    bool signed_ok;
    /* a line given back (stored_unread): the next stored_next returns it */
    bool again;
    uint8_t again_sha[32];
    uint64_t again_size;
    char *again_object;
} stored_list;

/* Opens backup `prefix`'s backup.stored: *open false when it has none. */
static int stored_open(verify_run *v, stored_list *s, const char *prefix, const char *id,
                       bool *open)
{
    memset(s, 0, sizeof(*s));
    *open = false;
    s->id = id;
    s->repo = v->repo;
    if (!(s->path = wd_asprintf("%s/%s", prefix, WD_STORED_NAME)))
        return WALDEN_ENOMEM;
    if (!(s->md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(s->md, EVP_sha256(), NULL))
        return WALDEN_ENOMEM;
    int rc = wd_storage_open_read(v->repo->storage, s->path, &s->lr.src);
    if (rc == WALDEN_ENOTFOUND) {
        walden_error_clear();
        s->missing = true;
        return 0;
    }
    if (rc)
        return wd_verify_report_failure(v, rc, id, s->path);
    s->lr.cap = LINE_MAX_LEN;
    if (!(s->lr.buf = wd_malloc(s->lr.cap)))
        return WALDEN_ENOMEM;
    *open = true;
    return 0;
}

static void stored_close(stored_list *s)
{
    wd_source_close(s->lr.src);
    wd_free(s->lr.buf);
    wd_free(s->path);
    EVP_MD_CTX_free(s->md);
    wd_free(s->again_object);
    memset(s, 0, sizeof(*s));
}

/* The next object: *got false at the end of a complete list. A malformed
 * or incomplete list is WALDEN_ECORRUPT with the message set. */
static int stored_next(stored_list *s, uint8_t sha[32], uint64_t *size, const char **object,
                       bool *got)
{
    *got = false;
    if (s->again) {
        s->again = false;
        memcpy(sha, s->again_sha, 32);
        *size = s->again_size;
        *object = s->again_object;
        *got = true;
        return 0;
    }
    for (;;) {
        char *line = NULL;
        int rc = lr_next(&s->lr, &line);
        if (rc)
            return rc;
        if (!line && !s->repo->legacy && !s->signed_ok)
            return wd_error_set(WALDEN_EAUTH, "failed authentication: it is not signed");
        if (!line)
            return s->complete ? 0
                               : wd_error_set(WALDEN_ECORRUPT, "incomplete: no 'complete = yes'");
        if (s->signed_ok)
            return wd_error_set(WALDEN_EAUTH, "failed authentication: data after its signature");
        if (wd_str_starts_with(line, WD_SIG_LINE)) {
            uint8_t digest[32];
            wd_area_id area;
            wd_repo_area(s->repo, &area);
            if (s->repo->legacy)
                continue;
            if (!EVP_DigestFinal_ex(s->md, digest, NULL))
                return wd_error_set_openssl(WALDEN_ERROR, "sha-256 final failed");
            if ((rc = wd_repo_trust(s->repo)) ||
                (rc = wd_sign_text_line_check(s->repo->verify_key, &area,
                                              wd_repo_rel(s->repo, s->path), digest, line,
                                              strlen(line))))
                return rc;
            s->signed_ok = true;
            continue;
        }
        if (!EVP_DigestUpdate(s->md, line, strlen(line)) || !EVP_DigestUpdate(s->md, "\n", 1))
            return wd_error_set_openssl(WALDEN_ERROR, "sha-256 update failed");
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (s->section == 0 && strcmp(line, "[objects]") == 0) {
            s->section = 1;
            continue;
        }
        if (s->section == 1 && strcmp(line, "[end]") == 0) {
            s->section = 2;
            continue;
        }
        if (s->complete)
            return wd_error_set(WALDEN_ECORRUPT, "data after its end");
        if (s->section == 1) {
            if ((rc = wd_stored_line_parse(line, sha, size, object)))
                return rc;
            *got = true;
            return 0;
        }
        char *eq = strchr(line, '=');
        if (!eq)
            return wd_error_set(WALDEN_ECORRUPT, "malformed line '%.60s'", line);
        char *end = eq, *value = eq + 1;
        while (end > line && end[-1] == ' ')
            end--;
        *end = '\0';
        while (*value == ' ')
            value++;
        int64_t format = 0;
        if (s->section == 0 && strcmp(line, "format") == 0 &&
            (wd_parse_int64(value, 1, INT32_MAX, &format) || format > WD_STORED_FORMAT))
            return wd_error_set(WALDEN_EVERSION, "format '%s' is not one this walden reads", value);
        if (s->section == 0 && strcmp(line, "id") == 0 && strcmp(value, s->id) != 0)
            return wd_error_set(WALDEN_ECORRUPT, "names backup '%s'", value);
        if (s->section == 2 && strcmp(line, "complete") == 0)
            s->complete = strcmp(value, "yes") == 0;
    }
}

/* Gives back the object stored_next just returned. */
static int stored_unread(stored_list *s, const uint8_t sha[32], uint64_t size, const char *object)
{
    char *copy = wd_strdup(object);
    if (!copy)
        return WALDEN_ENOMEM;
    wd_free(s->again_object);
    s->again_object = copy;
    memcpy(s->again_sha, sha, 32);
    s->again_size = size;
    s->again = true;
    return 0;
}

static int stored_failed(verify_run *v, stored_list *s, int rc)
{
    if (rc == WALDEN_ENOMEM)
        return rc;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", walden_error_last()->message);
    walden_error_clear();
    walden_verify_kind kind = rc == WALDEN_EAUTH ? WALDEN_VERIFY_FORGED
                              : rc == WALDEN_ECORRUPT || rc == WALDEN_EVERSION
                                  ? WALDEN_VERIFY_CORRUPT
                                  : WALDEN_VERIFY_UNREADABLE;
    return wd_verify_report(v, kind, s->id, s->path, "%s", msg);
}

/* ---- backups ---- */

/* Reads backup.info (the summary, clear text) as the catalogue does: *ok
 * when it is whole and authentic; a problem is reported. */
static int load_info(verify_run *v, const char *prefix, const char *id, wd_backup_meta *m, bool *ok)
{
    *ok = false;
    char *path = wd_asprintf("%s/backup.info", prefix);
    if (!path)
        return WALDEN_ENOMEM;
    int rc = wd_backup_info_read(v->repo, id, m);
    if (rc == WALDEN_ENOTFOUND) {
        walden_error_clear();
        rc = wd_verify_report(v, WALDEN_VERIFY_MISSING, id, path,
                              "listing this backup (info, expire) now needs the key, to read its "
                              "manifest instead");
    } else if (rc && rc != WALDEN_ENOMEM) {
        rc = wd_verify_report_failure(v, rc == WALDEN_EINVAL ? WALDEN_ECORRUPT : rc, id, path);
    } else {
        *ok = !rc;
    }
    wd_free(path);
    return rc;
}

typedef struct backup_ctx {
    verify_run *v;
    const char *id, *prefix;
    char manifest[256]; /* the manifest's path */
    wd_compress compress;
    stored_list *stored; /* cross-checked while open and in agreement */
    bool stored_ok;
    int stop;         /* the entry callback's error: stops the manifest read */
    uint64_t bundles; /* its own bundles the manifest names: 0 to this - 1 */
} backup_ctx;

/* Cross-checks the next backup.stored line against an object the manifest
 * lists; a disagreement is reported once, then the list is ignored. */
static int cross_check(backup_ctx *b, const char *rel, const uint8_t sha[32], uint64_t size)
{
    if (!b->stored_ok)
        return 0;
    uint8_t ssha[32];
    uint64_t ssize = 0;
    const char *sobj = NULL;
    bool got = false;
    int rc = stored_next(b->stored, ssha, &ssize, &sobj, &got);
    if (rc) {
        b->stored_ok = false;
        return stored_failed(b->v, b->stored, rc);
    }
    if (!got || strcmp(sobj, rel) != 0) {
        b->stored_ok = false;
        return wd_verify_report(
            b->v, WALDEN_VERIFY_CORRUPT, b->id, b->stored->path,
            "disagrees with the manifest: it lists %s%s%s where the manifest lists '%s'",
            got ? "'" : "", got ? sobj : "nothing more", got ? "'" : "", rel);
    }
    if (memcmp(ssha, sha, 32) != 0 || ssize != size) {
        b->stored_ok = false;
        return wd_verify_report(
            b->v, WALDEN_VERIFY_CORRUPT, b->id, b->stored->path,
            "disagrees with the manifest about the stored SHA-256 or size of '%s'", rel);
    }
    return 0;
}

/* ---- the objects of the backups a diff or incr refers to ---- */

typedef struct ref_object {
    char *rel; /* relative to its backup's folder */
    uint64_t stored_size;
} ref_object;

/* One referred-to backup: its backup.stored as a set. */
typedef struct ref_set {
    struct ref_set *next;
    char id[32];
    bool usable; /* it exists and its backup.stored was read */
    ref_object *slots;
    size_t cap, n;
} ref_set;

static size_t rel_slot(const ref_set *s, const char *rel)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = rel; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    size_t i = (size_t)h & (s->cap - 1);
    while (s->slots[i].rel && strcmp(s->slots[i].rel, rel) != 0)
        i = (i + 1) & (s->cap - 1);
    return i;
}

static int ref_set_add(ref_set *s, const char *rel, uint64_t size)
{
    if (s->n * 2 >= s->cap) {
        ref_set bigger = *s;
        bigger.cap = s->cap ? s->cap * 2 : 1024;
        if (!(bigger.slots = wd_calloc(bigger.cap, sizeof(ref_object))))
            return WALDEN_ENOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i].rel)
                bigger.slots[rel_slot(&bigger, s->slots[i].rel)] = s->slots[i];
        wd_free(s->slots);
        s->slots = bigger.slots;
        s->cap = bigger.cap;
    }
    size_t i = rel_slot(s, rel);
    if (!s->slots[i].rel) {
        if (!(s->slots[i].rel = wd_strdup(rel)))
            return WALDEN_ENOMEM;
        s->n++;
    }
    s->slots[i].stored_size = size;
    return 0;
}

void wd_verify_refs_free(verify_run *v)
{
    while (v->refs) {
        ref_set *s = v->refs;
        v->refs = s->next;
        for (size_t i = 0; i < s->cap; i++)
            wd_free(s->slots[i].rel);
        wd_free(s->slots);
        wd_free(s);
    }
}

/* The set of backup `id`, read once per run; not usable when the backup
 * or its backup.stored is gone or damaged (its own check reports why). */
static int ref_set_get(verify_run *v, const char *id, ref_set **out)
{
    for (ref_set *s = v->refs; s; s = s->next)
        if (strcmp(s->id, id) == 0) {
            *out = s;
            return 0;
        }
    ref_set *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    size_t idlen = strnlen(id, sizeof(s->id) - 1);
    memcpy(s->id, id, idlen);
    s->next = v->refs;
    v->refs = s;
    *out = s;
    char *prefix = wd_asprintf("%s/%s/%s", v->repo->cluster, WD_BACKUP_DIR, id);
    if (!prefix)
        return WALDEN_ENOMEM;
    stored_list list;
    bool open = false;
    int rc = stored_open(v, &list, prefix, id, &open);
    while (!rc && open) {
        uint8_t sha[32];
        uint64_t size = 0;
        const char *rel = NULL;
        bool got = false;
        if ((rc = stored_next(&list, sha, &size, &rel, &got)) || !got)
            break;
        rc = ref_set_add(s, rel, size);
    }
    if (rc == WALDEN_ENOMEM) {
        stored_close(&list);
        wd_free(prefix);
        return rc;
    }
    walden_error_clear();
    s->usable = !rc && open;
    stored_close(&list);
    wd_free(prefix);
    return 0;
}

/* A layer of another backup: that backup must still hold its object, with
 * the stored size the layer records. */
static int check_layer(backup_ctx *b, const wd_manifest_entry *e, const wd_layer *l)
{
    ref_set *s = NULL;
    int rc = ref_set_get(b->v, l->id, &s);
    if (rc)
        return rc;
    char *rel = wd_layer_object_rel(l, e->path, b->compress);
    if (!rel)
        return WALDEN_ENOMEM;
    const ref_object *o = NULL;
    if (s->usable && s->cap) {
        size_t i = rel_slot(s, rel);
        o = s->slots[i].rel ? &s->slots[i] : NULL;
    }
    if (!s->usable)
        rc = wd_verify_report(b->v, WALDEN_VERIFY_MISSING, b->id, b->manifest,
                              "file '%s' comes from backup %s, which is missing or damaged",
                              e->path, l->id);
    else if (!o)
        rc = wd_verify_report(b->v, WALDEN_VERIFY_MISSING, b->id, b->manifest,
                              "file '%s' comes from '%s' of backup %s, which that backup does not "
                              "have",
                              e->path, rel, l->id);
    else if (l->kind == 'u' && o->stored_size < l->offset + l->stored_size)
        rc = wd_verify_report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->manifest,
                              "file '%s' comes from bundle '%s' of backup %s, which has %" PRIu64
                              " bytes there, not the %" PRIu64 " it needs",
                              e->path, rel, l->id, o->stored_size, l->offset + l->stored_size);
    else if (l->kind != 'u' && o->stored_size != l->stored_size)
        rc = wd_verify_report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->manifest,
                              "file '%s' comes from '%s' of backup %s, stored with %" PRIu64
                              " bytes there, not %" PRIu64,
                              e->path, rel, l->id, o->stored_size, l->stored_size);
    wd_free(rel);
    return rc;
}

int wd_verify_check_unit(verify_run *v, const vjob *j)
{
    wd_manifest_entry e = {.type = j->type,
                           .size = j->raw_size,
                           .path = j->path,
                           .part = j->part,
                           .hash = 'b',
                           .layers = j->layers,
                           .map = j->map};
    memcpy(e.raw_sha256, j->raw_sha256, 32);
    int rc = wd_unit_read(v->repo, j->compress, j->set, &e, NULL, NULL);
    return rc ? wd_verify_report_failure(v, rc, j->set, j->object) : 0;
}

/* Format 2: the layers of a file or part. Its own object is checked like
 * any other (a whole object or bundle member by its stored SHA-256, as
 * read); the objects of other backups must be there; a unit with a delta
 * of its own is assembled from all of them and checked block by block.
 * *own_layer: its own layer (kind 0: none). */
static int check_layers(backup_ctx *b, const wd_manifest_entry *e, wd_layer *own_layer,
                        uint64_t *own_raw)
{
    wd_layer l[WD_LAYERS_MAX];
    size_t n = 0;
    own_layer->kind = 0;
    *own_raw = e->size;
    int rc = wd_entry_layers(e, b->id, l, &n);
    if (rc)
        return wd_verify_report_failure(b->v, rc, b->id, b->manifest);
    for (size_t i = 0; i < n && !rc; i++) {
        bool own = strcmp(l[i].id, b->id) == 0;
        if (own && i + 1 != n)
            return wd_verify_report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->manifest,
                                    "file '%s': its own object is not its last layer", e->path);
        if (own) {
            *own_layer = l[i];
            *own_raw = l[i].raw_size;
            if (l[i].kind == 'u' && (uint64_t)l[i].part >= b->bundles)
                b->bundles = (uint64_t)l[i].part + 1;
        } else {
            rc = check_layer(b, e, &l[i]);
        }
    }
    if (rc || e->hash != 'b' || own_layer->kind != 'd' || !b->v->decode)
        return rc;
    vjob j;
    wd_verify_job_init(b->v, &j, b->id, "the manifest", b->manifest);
    j.unit = true;
    j.compress = b->compress;
    j.type = e->type;
    j.part = e->part;
    j.raw_size = e->size;
    memcpy(j.raw_sha256, e->raw_sha256, 32);
    snprintf(j.object, sizeof(j.object), "%s", b->manifest);
    if ((size_t)snprintf(j.path, sizeof(j.path), "%s", e->path) >= sizeof(j.path) ||
        (size_t)snprintf(j.layers, sizeof(j.layers), "%s", e->layers) >= sizeof(j.layers) ||
        (size_t)snprintf(j.map, sizeof(j.map), "%s", e->map) >= sizeof(j.map))
        return wd_verify_report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->manifest,
                                "file '%s': its line is too long to check", e->path);
    return wd_verify_push(b->v, &j);
}

static int manifest_entry(const wd_manifest_entry *e, void *ctx)
{
    backup_ctx *b = ctx;
    if ((e->type != 'f' && e->type != 'p') || e->size == 0)
        return 0; /* folders, links and empty files have no object */
    wd_layer own = {.kind = 0};
    uint64_t own_raw = e->size;
    int rc = 0;
    if (e->hash && (rc = check_layers(b, e, &own, &own_raw)))
        return b->stop = rc;
    if (e->hash && e->stored_size == 0)
        return 0; /* every layer is another backup's */
    bool own_delta = own.kind == 'd', member = own.kind == 'u';
    if (member && own.stored_size != e->stored_size)
        return b->stop = wd_verify_report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->manifest,
                                          "file '%s': its bundle layer and its line disagree "
                                          "about its stored size",
                                          e->path);
    int64_t part = e->type == 'p' ? (int64_t)e->part : -1;
    char *rel = member      ? wd_layer_object_rel(&own, e->path, b->compress)
                : own_delta ? wd_backup_delta_object("", e->path, part, b->compress)
                            : wd_backup_object_rel(e->path, part, b->compress);
    if (!rel)
        return b->stop = WALDEN_ENOMEM;
    const char *r = rel + own_delta;
    vjob j;
    wd_verify_job_init(b->v, &j, b->id, "the manifest", b->manifest);
    if ((size_t)snprintf(j.object, sizeof(j.object), "%s/%s", b->prefix, r) >= sizeof(j.object))
        rc = wd_verify_report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->prefix,
                              "the manifest lists a path too long to check: '%.200s...'", e->path);
    else {
        j.compress = b->compress;
        j.has_stored = true;
        memcpy(j.stored_sha256, e->stored_sha256, 32);
        j.stored_size = e->stored_size;
        /* a relation file's SHA-256 is over its blocks' digests: its own
         * object's content is checked by size (and block by block when it
         * is a delta, above) */
        j.has_raw = e->hash != 'b' && !own_delta;
        j.has_raw_size = true;
        memcpy(j.raw_sha256, e->raw_sha256, 32);
        j.raw_size = own_raw;
        /* a member is read from its bundle, which backup.stored lists after
         * the files: no line of its own */
        j.member = member;
        j.offset = own.offset;
        if (member && !b->v->decode)
            rc = 0; /* only backup.stored's bundles can be checked */
        else if (member || !(rc = cross_check(b, r, e->stored_sha256, e->stored_size)))
            rc = wd_verify_push(b->v, &j);
    }
    wd_free(rel);
    return b->stop = rc;
}

/* backup.stored lists the bundles after the files: bundle/0 to the last
 * one the manifest names, in order, each checked by its stored SHA-256
 * (its members were checked from the manifest). */
static int check_bundles(backup_ctx *b)
{
    for (uint64_t i = 0;; i++) {
        uint8_t sha[32];
        uint64_t size = 0;
        const char *sobj = NULL;
        bool got = false;
        int rc = stored_next(b->stored, sha, &size, &sobj, &got);
        if (rc) {
            b->stored_ok = false;
            return stored_failed(b->v, b->stored, rc);
        }
        char *want = wd_bundle_object("", i, b->compress);
        if (!want)
            return WALDEN_ENOMEM;
        bool is_bundle = got && wd_str_starts_with(sobj, WD_BUNDLE_DIR "/");
        bool match = got && strcmp(sobj, want + 1) == 0;
        wd_free(want);
        if (!match && (is_bundle || i < b->bundles)) {
            b->stored_ok = false;
            return wd_verify_report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->stored->path,
                                    "lists %s%s%s where bundle %" PRIu64 " belongs", got ? "'" : "",
                                    got ? sobj : "nothing", got ? "'" : "", i);
        }
        if (!match)
            return got ? stored_unread(b->stored, sha, size, sobj) : 0;
        vjob j;
        wd_verify_job_init(b->v, &j, b->id, WD_STORED_NAME, b->stored->path);
        snprintf(j.object, sizeof(j.object), "%s/%s", b->prefix, sobj);
        j.decode = j.frame = false; /* streams end to end: only the stored bytes */
        j.has_stored = true;
        memcpy(j.stored_sha256, sha, 32);
        j.stored_size = size;
        if ((rc = wd_verify_push(b->v, &j)))
            return rc;
    }
}

/* Format 2: backup.stored lists the block map after the files; its content
 * has the SHA-256 the manifest records. */
static int check_blockmap(backup_ctx *b, const wd_backup_meta *m)
{
    uint8_t sha[32];
    uint64_t size = 0;
    const char *sobj = NULL;
    bool got = false;
    char name[64];
    snprintf(name, sizeof(name), "backup.blockmap%s", wd_compress_ext(b->compress));
    int rc = stored_next(b->stored, sha, &size, &sobj, &got);
    if (rc) {
        b->stored_ok = false;
        return stored_failed(b->v, b->stored, rc);
    }
    if (!got || strcmp(sobj, name) != 0) {
        b->stored_ok = false;
        return wd_verify_report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->stored->path,
                                "lists %s where the block map's line belongs",
                                got ? sobj : "nothing");
    }
    vjob j;
    wd_verify_job_init(b->v, &j, b->id, "the manifest", b->manifest);
    snprintf(j.object, sizeof(j.object), "%s/%s", b->prefix, name);
    j.compress = b->compress;
    j.has_stored = true;
    memcpy(j.stored_sha256, sha, 32);
    j.stored_size = size;
    j.has_raw = j.has_raw_size = true;
    memcpy(j.raw_sha256, m->blockmap_sha256, 32);
    j.raw_size = m->blockmap_size;
    return wd_verify_push(b->v, &j);
}

/* With the key (or unencrypted): the manifest lists the files; checks
 * backup.stored against it. Fills `m` from the manifest. */
static int backup_decode(verify_run *v, backup_ctx *b, wd_backup_meta *m, bool *have_meta)
{
    stored_list stored;
    bool open = false;
    int rc = stored_open(v, &stored, b->prefix, b->id, &open);
    if (rc) {
        stored_close(&stored);
        return rc;
    }
    b->stored = &stored;
    b->stored_ok = open;
    char *mpath = wd_asprintf("%s/%s%s", b->prefix, WD_MANIFEST_NAME, wd_compress_ext(b->compress));
    uint8_t msha[32];
    uint64_t msize = 0;
    if (!mpath) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    rc = wd_backup_read_manifest_ex(v->repo, b->id, m, manifest_entry, b, msha, &msize);
    if (b->stop) {
        rc = b->stop;
        goto done;
    }
    if (rc) {
        wd_backup_meta_clear(m);
        rc = wd_verify_report_failure(v, rc, b->id, mpath);
        goto done;
    }
    *have_meta = true;
    pthread_mutex_lock(&v->mu);
    v->res->files++; /* the manifest itself */
    v->res->bytes += msize;
    pthread_mutex_unlock(&v->mu);
    if (!b->stored_ok)
        goto done;
    if ((rc = check_bundles(b)) || !b->stored_ok)
        goto done;
    if (m->blockmap_size && (rc = check_blockmap(b, m)))
        goto done;
    if (!b->stored_ok)
        goto done;
    /* the manifest's own line ends the list */
    uint8_t ssha[32];
    uint64_t ssize = 0;
    const char *sobj = NULL;
    bool got = false;
    const char *mname = mpath + strlen(b->prefix) + 1;
    if ((rc = stored_next(&stored, ssha, &ssize, &sobj, &got))) {
        rc = stored_failed(v, &stored, rc);
    } else if (!got || strcmp(sobj, mname) != 0) {
        rc = wd_verify_report(v, WALDEN_VERIFY_CORRUPT, b->id, stored.path,
                              "lists %s where the manifest's line belongs", got ? sobj : "nothing");
    } else if (memcmp(ssha, msha, 32) != 0 || ssize != msize) {
        char have[65], want[65];
        wd_hex_encode(msha, 32, have);
        wd_hex_encode(ssha, 32, want);
        rc = wd_verify_report(v, WALDEN_VERIFY_CORRUPT, b->id, mpath,
                              "stored copy does not match %s: sha256 %.16s... (%" PRIu64
                              " bytes), expected %.16s... (%" PRIu64 " bytes)",
                              WD_STORED_NAME, have, msize, want, ssize);
    } else if ((rc = stored_next(&stored, ssha, &ssize, &sobj, &got))) {
        rc = stored_failed(v, &stored, rc);
    } else if (got) {
        rc = wd_verify_report(v, WALDEN_VERIFY_CORRUPT, b->id, stored.path,
                              "lists '%s' after the manifest's line", sobj);
    }
done:
    /* every backup of an area in format 2 writes backup.stored before its
     * manifest: one without it had it removed */
    if (!rc && stored.missing && !v->repo->legacy)
        rc = wd_verify_report(v, WALDEN_VERIFY_MISSING, b->id, stored.path,
                              "backup %s has no %s: it was removed", b->id, WD_STORED_NAME);
    else if (!rc && stored.missing && v->repo->info.encrypted)
        wd_log_info("backup %s has no %s: without the key it cannot be checked", b->id,
                    WD_STORED_NAME);
    wd_free(mpath);
    stored_close(&stored);
    return rc;
}

/* Without the key: backup.stored lists the files; they are checked
 * against their stored SHA-256 and their encryption's framing. */
static int backup_stored_only(verify_run *v, backup_ctx *b)
{
    stored_list stored;
    bool open = false;
    int rc = stored_open(v, &stored, b->prefix, b->id, &open);
    if (rc || !open) {
        if (!rc && stored.missing && !v->repo->legacy)
            rc = wd_verify_report(v, WALDEN_VERIFY_MISSING, b->id, stored.path,
                                  "backup %s has no %s: it was removed, and its files cannot be "
                                  "checked without the key",
                                  b->id, WD_STORED_NAME);
        else if (!rc && stored.missing)
            rc = wd_verify_report(
                v, WALDEN_VERIFY_UNCHECKED, b->id, stored.path,
                "backup %s has no %s (taken by an older walden, or removed): its files "
                "can only be checked with the key",
                b->id, WD_STORED_NAME);
        stored_close(&stored);
        return rc;
    }
    for (;;) {
        uint8_t sha[32];
        uint64_t size = 0;
        const char *rel = NULL;
        bool got = false;
        if ((rc = stored_next(&stored, sha, &size, &rel, &got))) {
            rc = stored_failed(v, &stored, rc);
            break;
        }
        if (!got)
            break;
        vjob j;
        wd_verify_job_init(v, &j, b->id, WD_STORED_NAME, stored.path);
        if ((size_t)snprintf(j.object, sizeof(j.object), "%s/%s", b->prefix, rel) >=
            sizeof(j.object)) {
            rc = wd_verify_report(v, WALDEN_VERIFY_CORRUPT, b->id, stored.path,
                                  "object name too long");
            break;
        }
        j.has_stored = true;
        memcpy(j.stored_sha256, sha, 32);
        j.stored_size = size;
        /* a bundle is its members' streams end to end: its stored SHA-256
         * covers them, their framing is checked with the key */
        if (wd_str_starts_with(rel, WD_BUNDLE_DIR "/"))
            j.frame = false;
        if ((rc = wd_verify_push(v, &j)))
            break;
    }
    stored_close(&stored);
    return rc;
}

static int add_need(verify_run *v, const wd_backup_meta *m)
{
    wd_wal_name a, z;
    if (wd_wal_name_parse(m->start_wal, &a) || wd_wal_name_parse(m->stop_wal, &z) ||
        a.kind != WD_WAL_SEGMENT || z.kind != WD_WAL_SEGMENT) {
        walden_error_clear();
        return wd_verify_report(v, WALDEN_VERIFY_CORRUPT, m->id, m->id,
                                "backup %s records no valid WAL range ('%s' to '%s')", m->id,
                                m->start_wal, m->stop_wal);
    }
    wal_need *grown = wd_array_grow(v->needs, &v->cap_needs, v->n_needs, sizeof(*grown), 16);
    if (!grown)
        return WALDEN_ENOMEM;
    v->needs = grown;
    wal_need *n = &v->needs[v->n_needs++];
    memset(n, 0, sizeof(*n));
    snprintf(n->id, sizeof(n->id), "%s", m->id);
    memcpy(n->start_wal, m->start_wal, 25);
    memcpy(n->stop_wal, m->stop_wal, 25);
    n->tli = a.tli;
    n->first = n->next = (uint64_t)a.log * v->per_log + a.seg;
    n->last = (uint64_t)z.log * v->per_log + z.seg;
    return 0;
}

int wd_verify_backup(verify_run *v, const char *id, wd_compress c)
{
    char *prefix = wd_asprintf("%s/%s/%s", v->repo->cluster, WD_BACKUP_DIR, id);
    if (!prefix)
        return WALDEN_ENOMEM;
    wd_log_info("verifying backup %s", id);
    wd_backup_meta info = {0}, m = {0};
    bool info_ok = false, have_meta = false;
    backup_ctx b = {.v = v, .id = id, .prefix = prefix, .compress = c};
    snprintf(b.manifest, sizeof(b.manifest), "%s/%s%s", prefix, WD_MANIFEST_NAME,
             wd_compress_ext(c));
    int rc = load_info(v, prefix, id, &info, &info_ok);
    if (!rc)
        rc = v->decode ? backup_decode(v, &b, &m, &have_meta) : backup_stored_only(v, &b);
    if (!rc && (have_meta || info_ok))
        rc = add_need(v, have_meta ? &m : &info);
    if (!rc) {
        pthread_mutex_lock(&v->mu);
        v->res->backups++;
        pthread_mutex_unlock(&v->mu);
    }
    wd_backup_meta_clear(&info);
    wd_backup_meta_clear(&m);
    wd_free(prefix);
    return rc;
}

int wd_verify_backups(verify_run *v)
{
    char **ids;
    size_t n;
    int rc = wd_repo_list_ids(v->repo, WD_BACKUP_DIR, &ids, &n);
    for (size_t i = 0; !rc && i < n; i++) {
        wd_compress c;
        rc = wd_backup_manifest_find(v->repo, ids[i], &c);
        if (rc == WALDEN_ENOTFOUND) { /* no manifest: not a backup (yet) */
            walden_error_clear();
            rc = 0;
            continue;
        }
        if (!rc)
            rc = wd_verify_backup(v, ids[i], c);
    }
    wd_storage_names_free(ids, n);
    return rc;
}
