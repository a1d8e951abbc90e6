/*
 * verify.c - walden_verify: re-reads a cluster's area and checks it
 * (docs/commands/verify.md).
 *
 * One producer (the calling thread) walks the backups, the dumps and the
 * WAL archive and pushes one job per stored file into a pool of
 * `process-max` workers (common/pool.h). Each worker reads its file into a
 * null sink through one of two pipelines:
 *   decode (the area is not encrypted, or the key is unlocked):
 *     wd_repo_read_begin: [stored sha256] decrypt decompress [raw sha256]
 *   stored (encrypted, no key):
 *     [stored sha256] [framing of the encrypted container]
 * with the expected digests set on the hash filters, then compares sizes.
 *
 * What the producer learns the lists from:
 *   - a backup: with decode, its manifest (authenticated by decryption in
 *     an encrypted area), cross-checked line by line against backup.stored;
 *     without the key, backup.stored alone (clear text, unauthenticated);
 *   - a dump: dump.manifest (clear text, with both digests);
 *   - WAL: the object names (the raw SHA-256 is part of each), and the
 *     backups' start and stop segments.
 *
 * Problems are reported through the caller's callback, one at a time (a
 * mutex), and are not errors of the function: only what stops the
 * verification (out of memory, an unreadable listing, the callback's
 * non-zero return) is. A missing file is reported as missing only when
 * opening it says "not found"; anything read that fails a check is
 * corrupt; any other failure to read is "unreadable".
 *
 * Memory: the job queue, a pipeline per worker, a line buffer each for the
 * manifest and backup.stored (both streamed), one WAL folder's names at a
 * time, the archive summary, and a few bytes per backup.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "archive/archive.h"
#include "backup/backup.h"
#include "catalog/catalog.h"
#include "common/common.h"
#include "common/pool.h"
#include "repo/repo.h"

#define OBJECT_MAX (PATH_MAX_ESCAPED + 512)
#define QUEUE_DEPTH 32
#define STOPPED 1 /* a push failed: the pool holds the error */
#define LINE_MAX_LEN (2 * PATH_MAX_ESCAPED + 256)

typedef struct vjob {
    char object[OBJECT_MAX]; /* storage path */
    char set[128];           /* backup or dump id, "" for WAL */
    const char *listed_by;   /* a string literal: where the file is recorded */
    char list[256];          /* the list that named it: when that is gone too, the set
                              * was removed (expired) meanwhile, and so was the file */
    wd_compress compress;
    bool decode; /* full read pipeline */
    bool frame;  /* no key: check the encrypted container's framing */
    bool wal;
    bool has_stored;
    uint8_t stored_sha256[32];
    uint64_t stored_size;
    bool has_raw, has_raw_size;
    uint8_t raw_sha256[32];
    uint64_t raw_size;
} vjob;

/* The WAL a backup needs: segments first..last of timeline tli; `next` is
 * the first not yet seen in the (ordered) walk of the archive. */
typedef struct wal_need {
    char id[32];
    char start_wal[25], stop_wal[25];
    uint32_t tli;
    uint64_t first, last, next;
} wal_need;

typedef struct verify_run {
    walden_repo *repo;
    walden_verify_cb cb;
    void *cb_ctx;
    walden_verify_result *res;
    pthread_mutex_t mu; /* serializes cb and the counters */
    wd_pool *pool;
    bool decode;
    const char *set;  /* only this backup or dump, or NULL */
    uint64_t per_log; /* WAL segments per log */
    wal_need *needs;
    size_t n_needs, cap_needs;
    char prev_wal[64]; /* the walk's previous WAL name, for duplicates */
    uint8_t prev_sha[32];
    walden_progress_cb progress; /* or NULL */
    void *progress_ctx;
} verify_run;

/* How far verify is, for the caller's progress (from its own thread). */
static void tick(void *arg)
{
    verify_run *v = arg;
    if (!v->progress)
        return;
    walden_progress p = {"verify", 0, 0, 0, 0};
    pthread_mutex_lock(&v->mu);
    p.bytes_done = v->res->bytes;
    p.files_done = v->res->files + v->res->wal_files;
    pthread_mutex_unlock(&v->mu);
    v->progress(&p, v->progress_ctx);
}

/* ---- reporting ---- */

static int report(verify_run *v, walden_verify_kind kind, const char *set, const char *object,
                  const char *fmt, ...) WD_PRINTF(5, 6);
static int report(verify_run *v, walden_verify_kind kind, const char *set, const char *object,
                  const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    pthread_mutex_lock(&v->mu);
    if (kind == WALDEN_VERIFY_UNCHECKED)
        v->res->unchecked++;
    else
        v->res->problems++;
    int rc = 0;
    if (v->cb) {
        walden_verify_problem p = {kind, set ? set : "", object, msg};
        rc = v->cb(&p, v->cb_ctx);
    }
    pthread_mutex_unlock(&v->mu);
    if (rc)
        wd_error_set(rc < 0 ? rc : WALDEN_ERROR, "verify was stopped by its caller");
    return rc;
}

/* Turns a failure to read or check `object` into a report: corrupt when
 * the bytes failed a check, unreadable otherwise. Out of memory stops. */
static int report_failure(verify_run *v, int rc, const char *set, const char *object)
{
    if (rc == WALDEN_ENOMEM)
        return rc;
    char msg[1024];
    snprintf(msg, sizeof(msg), "%s", walden_error_last()->message);
    walden_error_clear();
    /* the key is unlocked before anything is read: a key error now is an
     * altered first record */
    walden_verify_kind kind = rc == WALDEN_EAUTH ? WALDEN_VERIFY_FORGED
                              : rc == WALDEN_ECORRUPT || rc == WALDEN_EKEY || rc == WALDEN_EVERSION
                                  ? WALDEN_VERIFY_CORRUPT
                                  : WALDEN_VERIFY_UNREADABLE;
    return report(v, kind, set, object, "%s", msg);
}

/* ---- the workers ---- */

static int check_object(void *item, void *scratch, void *ctx)
{
    verify_run *v = ctx;
    const vjob *j = item;
    (void)scratch;
    wd_source *src = NULL;
    wd_sink *sink = NULL;
    wd_repo_stream st = {0};
    int rc = wd_storage_open_read(v->repo->storage, j->object, &src);
    if (rc == WALDEN_ENOTFOUND) {
        walden_error_clear();
        bool listed = false;
        if (j->list[0] && (rc = wd_storage_exists(v->repo->storage, j->list, &listed)))
            return report_failure(v, rc, j->set, j->list);
        if (!listed) { /* removed since it was listed: expire ran meanwhile */
            wd_log_info("'%s' was removed while verify ran", j->object);
            return 0;
        }
        return report(v, WALDEN_VERIFY_MISSING, j->set, j->object,
                      "%s lists it; the repository does not have it", j->listed_by);
    }
    if (rc)
        return report_failure(v, rc, j->set, j->object);
    if ((rc = wd_null_sink_open(&sink)))
        goto done;
    if (j->decode) {
        /* a forged object may decompress to any size: the read stops at what
         * the object may have (docs/security.md, limits) */
        char what[OBJECT_MAX + 64];
        wd_read_limits lim = {.code = WALDEN_ECORRUPT, .what = what};
        snprintf(what, sizeof(what), "'%s' is larger than %s says", j->object, j->listed_by);
        if (j->has_raw_size)
            lim.raw_max = j->raw_size;
        if (j->has_stored)
            lim.stored_max = j->stored_size;
        if (j->wal) {
            wd_wal_copy copy;
            char name[64];
            const char *base = strrchr(j->object, '/');
            wd_wal_name parsed;
            bool segment =
                wd_wal_object_parse(base ? base + 1 : j->object, name, sizeof(name), &copy) != 0 ||
                wd_wal_name_parse(name, &parsed) != 0 || parsed.kind == WD_WAL_SEGMENT ||
                parsed.kind == WD_WAL_PARTIAL;
            walden_error_clear();
            lim.code = WALDEN_EAUTH;
            snprintf(what, sizeof(what), "'%s' failed authentication", j->object);
            lim.raw_max = !segment                    ? WD_WAL_TEXT_MAX
                          : v->repo->wal_segment_size ? v->repo->wal_segment_size
                                                      : WD_WAL_SEGMENT_MAX;
            lim.stored_max = wd_stored_max(lim.raw_max);
        }
        rc = wd_repo_read_begin_limited(v->repo, j->compress, NULL, NULL, &lim, sink, &st);
        sink = NULL; /* taken over */
        if (!rc && j->has_raw)
            rc = wd_hash_filter_expect(st.raw_hash, j->raw_sha256, "decoded content");
    } else {
        rc = wd_pipe_new(&st.pipe, sink);
        sink = NULL;
        wd_filter *f = NULL;
        /* without a digest to compare (WAL), the bytes are only counted */
        if (!rc && !(rc = j->has_stored ? wd_hash_filter_new(&f) : wd_count_filter_new(&f)) &&
            !(rc = wd_pipe_add(st.pipe, f)))
            st.stored_hash = f;
        if (!rc && j->frame && !(rc = wd_cipher_frame_filter_new(&f)))
            rc = wd_pipe_add(st.pipe, f);
    }
    if (!rc && j->has_stored)
        rc = wd_hash_filter_expect(st.stored_hash, j->stored_sha256, "stored copy");
    if (rc)
        goto done;
    int copy_rc = wd_pipe_copy(st.pipe, src);
    uint64_t stored = 0, raw = 0;
    wd_hash_filter_result(st.stored_hash, NULL, &stored);
    if (st.raw_hash)
        wd_hash_filter_result(st.raw_hash, NULL, &raw);
    pthread_mutex_lock(&v->mu);
    if (j->wal)
        v->res->wal_files++;
    else
        v->res->files++;
    v->res->bytes += stored;
    pthread_mutex_unlock(&v->mu);
    if (!copy_rc && j->wal && j->decode) {
        /* the name's signature over what was read (as archive-get checks it) */
        const char *base = strrchr(j->object, '/');
        char name[64];
        wd_wal_copy copy;
        uint8_t header[WD_CIPHER_HEADER_LEN];
        if (wd_wal_object_parse(base ? base + 1 : j->object, name, sizeof(name), &copy) == 0 &&
            !(copy_rc = st.cipher ? wd_decrypt_filter_header(st.cipher, header) : 0)) {
            wd_hash_filter_result(st.raw_hash, copy.sha256, NULL);
            copy_rc = wd_wal_copy_verify(v->repo, name, &copy, header);
        }
    } else if (!copy_rc && j->wal && !v->repo->legacy) {
        /* without the key: the name's signature over the SHA-256 it names
         * and the header in clear (the content is checked with the key) */
        const char *base = strrchr(j->object, '/');
        char name[64];
        wd_wal_copy copy;
        uint8_t header[WD_CIPHER_HEADER_LEN];
        if (base && wd_wal_object_parse(base + 1, name, sizeof(name), &copy) == 0) {
            char *folder = wd_strndup(j->object, (size_t)(base - j->object));
            copy_rc = !folder                   ? WALDEN_ENOMEM
                      : v->repo->info.encrypted ? wd_wal_copy_header(v->repo, folder, &copy, header)
                                                : 0;
            if (!copy_rc)
                copy_rc = wd_wal_copy_verify(v->repo, name, &copy, header);
            wd_free(folder);
        }
    }
    if (copy_rc)
        rc = report_failure(v, copy_rc, j->set, j->object);
    else if (j->has_stored && stored != j->stored_size)
        rc = report(v, WALDEN_VERIFY_CORRUPT, j->set, j->object,
                    "%" PRIu64 " bytes stored, %s says %" PRIu64, stored, j->listed_by,
                    j->stored_size);
    else if (j->decode && j->has_raw_size && raw != j->raw_size)
        rc = report(v, WALDEN_VERIFY_CORRUPT, j->set, j->object,
                    "%" PRIu64 " bytes once decoded, %s says %" PRIu64, raw, j->listed_by,
                    j->raw_size);
done:
    if (sink)
        sink->abort(sink);
    wd_pipe_free(st.pipe);
    wd_source_close(src);
    return rc;
}

static int push(verify_run *v, const vjob *j)
{
    tick(v); /* the caller's progress limits its own rate */
    return wd_pool_push(v->pool, j) ? 0 : STOPPED;
}

/* A job for a file of a backup or dump. */
static void job_init(verify_run *v, vjob *j, const char *set, const char *listed_by,
                     const char *list)
{
    memset(j, 0, sizeof(*j));
    snprintf(j->set, sizeof(j->set), "%s", set);
    snprintf(j->list, sizeof(j->list), "%s", list);
    j->listed_by = listed_by;
    j->decode = v->decode;
    j->frame = !v->decode && v->repo->info.encrypted;
}

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
        return report_failure(v, rc, id, s->path);
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
    memset(s, 0, sizeof(*s));
}

/* The next object: *got false at the end of a complete list. A malformed
 * or incomplete list is WALDEN_ECORRUPT with the message set. */
static int stored_next(stored_list *s, uint8_t sha[32], uint64_t *size, const char **object,
                       bool *got)
{
    *got = false;
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
    return report(v, kind, s->id, s->path, "%s", msg);
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
        rc = report(v, WALDEN_VERIFY_MISSING, id, path,
                    "listing this backup (info, expire) now needs the key, to read its "
                    "manifest instead");
    } else if (rc && rc != WALDEN_ENOMEM) {
        rc = report_failure(v, rc == WALDEN_EINVAL ? WALDEN_ECORRUPT : rc, id, path);
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
    int stop; /* the entry callback's error: stops the manifest read */
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
        return report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->stored->path,
                      "disagrees with the manifest: it lists %s%s%s where the manifest lists '%s'",
                      got ? "'" : "", got ? sobj : "nothing more", got ? "'" : "", rel);
    }
    if (memcmp(ssha, sha, 32) != 0 || ssize != size) {
        b->stored_ok = false;
        return report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->stored->path,
                      "disagrees with the manifest about the stored SHA-256 or size of '%s'", rel);
    }
    return 0;
}

static int manifest_entry(const wd_manifest_entry *e, void *ctx)
{
    backup_ctx *b = ctx;
    if ((e->type != 'f' && e->type != 'p') || e->size == 0)
        return 0; /* folders, links and empty files have no object */
    char *rel = wd_backup_object_rel(e->path, e->type == 'p' ? (int64_t)e->part : -1, b->compress);
    if (!rel)
        return b->stop = WALDEN_ENOMEM;
    vjob j;
    job_init(b->v, &j, b->id, "the manifest", b->manifest);
    int rc = 0;
    if ((size_t)snprintf(j.object, sizeof(j.object), "%s/%s", b->prefix, rel) >= sizeof(j.object))
        rc = report(b->v, WALDEN_VERIFY_CORRUPT, b->id, b->prefix,
                    "the manifest lists a path too long to check: '%.200s...'", e->path);
    else {
        j.compress = b->compress;
        j.has_stored = true;
        memcpy(j.stored_sha256, e->stored_sha256, 32);
        j.stored_size = e->stored_size;
        j.has_raw = j.has_raw_size = true;
        memcpy(j.raw_sha256, e->raw_sha256, 32);
        j.raw_size = e->size;
        if (!(rc = cross_check(b, rel, e->stored_sha256, e->stored_size)))
            rc = push(b->v, &j);
    }
    wd_free(rel);
    return b->stop = rc;
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
        rc = report_failure(v, rc, b->id, mpath);
        goto done;
    }
    *have_meta = true;
    pthread_mutex_lock(&v->mu);
    v->res->files++; /* the manifest itself */
    v->res->bytes += msize;
    pthread_mutex_unlock(&v->mu);
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
        rc = report(v, WALDEN_VERIFY_CORRUPT, b->id, stored.path,
                    "lists %s where the manifest's line belongs", got ? sobj : "nothing");
    } else if (memcmp(ssha, msha, 32) != 0 || ssize != msize) {
        char have[65], want[65];
        wd_hex_encode(msha, 32, have);
        wd_hex_encode(ssha, 32, want);
        rc = report(v, WALDEN_VERIFY_CORRUPT, b->id, mpath,
                    "stored copy does not match %s: sha256 %.16s... (%" PRIu64
                    " bytes), expected %.16s... (%" PRIu64 " bytes)",
                    WD_STORED_NAME, have, msize, want, ssize);
    } else if ((rc = stored_next(&stored, ssha, &ssize, &sobj, &got))) {
        rc = stored_failed(v, &stored, rc);
    } else if (got) {
        rc = report(v, WALDEN_VERIFY_CORRUPT, b->id, stored.path,
                    "lists '%s' after the manifest's line", sobj);
    }
done:
    /* every backup of an area in format 2 writes backup.stored before its
     * manifest: one without it had it removed */
    if (!rc && stored.missing && !v->repo->legacy)
        rc = report(v, WALDEN_VERIFY_MISSING, b->id, stored.path,
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
            rc = report(v, WALDEN_VERIFY_MISSING, b->id, stored.path,
                        "backup %s has no %s: it was removed, and its files cannot be "
                        "checked without the key",
                        b->id, WD_STORED_NAME);
        else if (!rc && stored.missing)
            rc = report(v, WALDEN_VERIFY_UNCHECKED, b->id, stored.path,
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
        job_init(v, &j, b->id, WD_STORED_NAME, stored.path);
        if ((size_t)snprintf(j.object, sizeof(j.object), "%s/%s", b->prefix, rel) >=
            sizeof(j.object)) {
            rc = report(v, WALDEN_VERIFY_CORRUPT, b->id, stored.path, "object name too long");
            break;
        }
        j.has_stored = true;
        memcpy(j.stored_sha256, sha, 32);
        j.stored_size = size;
        if ((rc = push(v, &j)))
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
        return report(v, WALDEN_VERIFY_CORRUPT, m->id, m->id,
                      "backup %s records no valid WAL range ('%s' to '%s')", m->id, m->start_wal,
                      m->stop_wal);
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

static int verify_backup(verify_run *v, const char *id, wd_compress c)
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

/* ---- dumps ---- */

static int verify_dump(verify_run *v, const char *id, bool must_exist)
{
    wd_dump_meta m = {0};
    char *mpath = wd_asprintf("%s/%s/%s/%s", v->repo->cluster, WD_DUMP_DIR, id, WD_DUMP_MANIFEST);
    char *object = NULL;
    if (!mpath)
        return WALDEN_ENOMEM;
    int rc = wd_dump_load_meta(v->repo, id, &m);
    if (rc == WALDEN_ENOTFOUND && !must_exist) { /* unfinished: not a dump */
        walden_error_clear();
        rc = 0;
        goto done;
    }
    if (rc) {
        rc = report_failure(v, rc, id, mpath);
        goto done;
    }
    wd_log_info("verifying dump %s", id);
    pthread_mutex_lock(&v->mu);
    v->res->dumps++;
    pthread_mutex_unlock(&v->mu);
    if (strcmp(m.status, "ok") != 0)
        goto done; /* a failed dump has no data, and says so */
    wd_compress c;
    if (wd_compress_parse(m.compress, &c) || !(object = wd_dump_object(v->repo, &m))) {
        walden_error_clear();
        rc = report(v, WALDEN_VERIFY_CORRUPT, id, mpath, "unknown compression '%s'", m.compress);
        goto done;
    }
    vjob j;
    job_init(v, &j, id, WD_DUMP_MANIFEST, mpath);
    if ((size_t)snprintf(j.object, sizeof(j.object), "%s", object) >= sizeof(j.object)) {
        rc = report(v, WALDEN_VERIFY_CORRUPT, id, mpath, "object name too long");
        goto done;
    }
    j.compress = c;
    j.has_stored = true;
    memcpy(j.stored_sha256, m.stored_sha256, 32);
    j.stored_size = m.pub.stored_size;
    j.has_raw = j.has_raw_size = true;
    memcpy(j.raw_sha256, m.raw_sha256, 32);
    j.raw_size = m.pub.size;
    rc = push(v, &j);
done:
    wd_dump_meta_clear(&m);
    wd_free(object);
    wd_free(mpath);
    return rc;
}

/* ---- WAL ---- */

/* Reports segments first..last of `tli` as missing: for backup `need`, or
 * (need NULL) as a gap in the archive. */
static int report_missing(verify_run *v, const wal_need *need, uint32_t tli, uint64_t first,
                          uint64_t last)
{
    char a[25], z[25];
    wd_wal_segment_name(tli, first, v->per_log, a);
    wd_wal_segment_name(tli, last, v->per_log, z);
    wd_wal_name parsed;
    char *folder = NULL, *object = NULL;
    if (!wd_wal_name_parse(a, &parsed))
        folder = wd_wal_folder(v->repo, a, &parsed);
    if (!folder || !(object = wd_path_join(folder, a))) {
        wd_free(folder);
        return WALDEN_ENOMEM;
    }
    int rc;
    if (need && first == last)
        rc = report(v, WALDEN_VERIFY_MISSING, need->id, object,
                    "WAL segment %s, needed by backup %s (%s to %s), is not in the archive", a,
                    need->id, need->start_wal, need->stop_wal);
    else if (need)
        rc = report(v, WALDEN_VERIFY_MISSING, need->id, object,
                    "WAL segments %s to %s (%" PRIu64 "), needed by backup %s (%s to %s), are not "
                    "in the archive",
                    a, z, last - first + 1, need->id, need->start_wal, need->stop_wal);
    else if (first == last)
        rc = report(v, WALDEN_VERIFY_WAL_GAP, "", object,
                    "WAL segment %s is missing between archived segments of timeline %u", a, tli);
    else
        rc = report(v, WALDEN_VERIFY_WAL_GAP, "", object,
                    "WAL segments %s to %s (%" PRIu64 ") are missing between archived segments "
                    "of timeline %u",
                    a, z, last - first + 1, tli);
    wd_free(folder);
    wd_free(object);
    return rc;
}

static int wal_object(const walden_wal_entry *e, const char *folder, const char *object, void *ctx)
{
    verify_run *v = ctx;
    wd_wal_name n;
    char name[64];
    wd_wal_copy copy;
    if (wd_wal_name_parse(e->name, &n) || wd_wal_object_parse(object, name, sizeof(name), &copy)) {
        walden_error_clear();
        return 0;
    }
    bool needed = false;
    int rc = 0;
    if (n.kind == WD_WAL_SEGMENT) {
        uint64_t segno = (uint64_t)n.log * v->per_log + n.seg;
        for (size_t i = 0; !rc && i < v->n_needs; i++) {
            wal_need *need = &v->needs[i];
            if (need->tli != n.tli || segno < need->first || segno > need->last)
                continue;
            needed = true;
            if (segno > need->next)
                rc = report_missing(v, need, n.tli, need->next, segno - 1);
            if (segno >= need->next)
                need->next = segno + 1;
        }
    }
    if (!rc && (!v->set || needed) && strcmp(v->prev_wal, e->name) == 0 &&
        memcmp(v->prev_sha, copy.sha256, 32) != 0) {
        char *path = wd_path_join(folder, object);
        rc = path ? report(v, WALDEN_VERIFY_CORRUPT, "", path,
                           "the archive holds two different copies of '%s': archive-get refuses it",
                           e->name)
                  : WALDEN_ENOMEM;
        wd_free(path);
    }
    snprintf(v->prev_wal, sizeof(v->prev_wal), "%s", e->name);
    memcpy(v->prev_sha, copy.sha256, 32);
    if (rc || (v->set && !needed))
        return rc;
    vjob j;
    job_init(v, &j, "", "the archive", "");
    j.wal = true;
    if ((size_t)snprintf(j.object, sizeof(j.object), "%s/%s", folder, object) >= sizeof(j.object))
        return 0; /* not a name archive-push makes */
    j.compress = copy.compress;
    j.has_raw = true; /* the name has it; the stored bytes' digest is not recorded */
    memcpy(j.raw_sha256, copy.sha256, 32);
    return push(v, &j);
}

static int verify_wal(verify_run *v, const walden_wal_summary *sum)
{
    wd_log_info("verifying the WAL archive");
    int rc = wd_wal_walk(v->repo, wal_object, v);
    for (size_t i = 0; !rc && i < v->n_needs; i++)
        if (v->needs[i].next <= v->needs[i].last)
            rc = report_missing(v, &v->needs[i], v->needs[i].tli, v->needs[i].next,
                                v->needs[i].last);
    for (size_t i = 0; !rc && !v->set && i < sum->n_gaps; i++) {
        wd_wal_name a, z;
        if (wd_wal_name_parse(sum->gaps[i].first, &a) || wd_wal_name_parse(sum->gaps[i].last, &z)) {
            walden_error_clear();
            continue;
        }
        rc = report_missing(v, NULL, a.tli, (uint64_t)a.log * v->per_log + a.seg,
                            (uint64_t)z.log * v->per_log + z.seg);
    }
    return rc;
}

/* ---- the run ---- */

static int verify_backups(verify_run *v)
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
            rc = verify_backup(v, ids[i], c);
    }
    wd_storage_names_free(ids, n);
    return rc;
}

static int verify_dumps(verify_run *v)
{
    char **ids;
    size_t n;
    int rc = wd_repo_list_ids(v->repo, WD_DUMP_DIR, &ids, &n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = verify_dump(v, ids[i], false);
    wd_storage_names_free(ids, n);
    return rc;
}

static int timeline_problem(bool notice, const char *object, const char *message, void *ctx)
{
    walden_verify_kind kind = notice                       ? WALDEN_VERIFY_UNCHECKED
                              : strstr(object, ".history") ? WALDEN_VERIFY_MISSING
                                                           : WALDEN_VERIFY_TIMELINE;
    return report(ctx, kind, "", object, "%s", message);
}

/* The timelines: missing history files, a choice restore refuses, stray
 * timelines (timelines.c). */
static int verify_timelines(verify_run *v, walden_repo *repo, const walden_wal_summary *sum)
{
    walden_timelines *t = NULL;
    int rc = walden_timelines_get(repo, sum, &t);
    if (rc == WALDEN_ECORRUPT || rc == WALDEN_EAUTH)
        return report_failure(v, rc, "", "timeline history");
    if (!rc)
        rc = wd_timeline_problems(t, timeline_problem, v);
    walden_timelines_free(t);
    return rc;
}

static int verify_locked(walden_repo *repo, const walden_config *cfg, walden_progress_cb progress,
                         void *progress_ctx, walden_verify_cb cb, void *ctx,
                         walden_verify_result *result)
{
    walden_verify_result local;
    if (!result)
        result = &local;
    memset(result, 0, sizeof(*result));
    int workers = 1, rc;
    if ((rc = wd_process_max(cfg, false, &workers)))
        return rc;
    const char *set = walden_config_get(cfg, "set");
    if (set && !*set)
        set = NULL;
    if (set && (strchr(set, '/') || strcmp(set, ".") == 0 || strcmp(set, "..") == 0))
        return wd_error_set(WALDEN_EINVAL, "invalid backup or dump id '%s'", set);

    verify_run v = {.repo = repo,
                    .cb = cb,
                    .cb_ctx = ctx,
                    .res = result,
                    .set = set,
                    .progress = progress,
                    .progress_ctx = progress_ctx};
    if ((rc = wd_repo_trust(repo))) {
        /* nothing in the area can be authenticated: one report, and stop */
        if (rc != WALDEN_EAUTH)
            return rc;
        char *cpath = wd_repo_path(repo, "cluster.conf");
        pthread_mutex_init(&v.mu, NULL);
        rc = cpath ? report_failure(&v, rc, "", cpath) : WALDEN_ENOMEM;
        pthread_mutex_destroy(&v.mu);
        wd_free(cpath);
        return rc;
    }
    if (!repo->info.encrypted) {
        v.decode = true;
    } else if (repo->passphrase) {
        if ((rc = wd_repo_unlock(repo)))
            return rc; /* a wrong passphrase: nothing could be decoded */
        v.decode = true;
    } else {
        wd_log_info("no passphrase: checking stored checksums and encryption framing only");
    }
    result->decoded = v.decode;

    bool backups = true, dumps = true;
    wd_compress set_c = WD_COMPRESS_NONE;
    if (set) {
        rc = wd_backup_manifest_find(repo, set, &set_c);
        if (rc == WALDEN_ENOTFOUND) {
            backups = false;
            char *path =
                wd_asprintf("%s/%s/%s/%s", repo->cluster, WD_DUMP_DIR, set, WD_DUMP_MANIFEST);
            bool exists = false;
            rc = path ? wd_storage_exists(repo->storage, path, &exists) : WALDEN_ENOMEM;
            wd_free(path);
            if (!rc && !exists)
                rc = wd_error_set(WALDEN_ENOTFOUND, "no backup or dump '%s' in cluster '%s'", set,
                                  repo->cluster);
        } else {
            dumps = false;
        }
        if (rc)
            return rc;
    }

    walden_wal_summary *sum = NULL;
    if (backups && (rc = walden_wal_summary_get(repo, &sum)))
        return rc;
    v.per_log = sum && sum->segment_size ? wd_wal_per_log(sum->segment_size) : 256;
    pthread_mutex_init(&v.mu, NULL);
    if ((rc = wd_pool_start(&v.pool, workers, sizeof(vjob), QUEUE_DEPTH, 0, check_object, &v)))
        goto done;
    if (backups)
        rc = set ? verify_backup(&v, set, set_c) : verify_backups(&v);
    if (!rc && dumps)
        rc = set ? verify_dump(&v, set, true) : verify_dumps(&v);
    if (!rc && backups)
        rc = verify_wal(&v, sum);
    if (!rc && backups && !set)
        rc = verify_timelines(&v, repo, sum);
    int prc = wd_pool_finish(v.pool, rc != 0 && rc != STOPPED, tick, &v);
    if (!rc || rc == STOPPED)
        rc = prc;
    wd_pool_free(v.pool);
done:
    pthread_mutex_destroy(&v.mu);
    walden_wal_summary_free(sum);
    wd_free(v.needs);
    return rc;
}

int walden_verify(walden_repo *repo, const walden_config *cfg, walden_progress_cb progress,
                  void *progress_ctx, walden_verify_cb cb, void *ctx, walden_verify_result *result)
{
    /* expire must not remove what is being checked: it waits, or skips */
    if (result)
        memset(result, 0, sizeof(*result));
    int lock = -1;
    int rc = wd_lock_acquire_mode(cfg, WD_LOCK_READ, true, &lock);
    if (!rc)
        rc = verify_locked(repo, cfg, progress, progress_ctx, cb, ctx, result);
    /* leftovers of killed writers: space, not damage; expire removes them */
    uint64_t temps, temp_bytes;
    if (!rc &&
        !wd_storage_abandoned(repo->storage, repo->cluster, true, false, &temps, &temp_bytes) &&
        temps)
        wd_log_warn("%llu abandoned temporary file%s (%llu bytes) in the repository: a later "
                    "expire removes them",
                    (unsigned long long)temps, temps == 1 ? "" : "s",
                    (unsigned long long)temp_bytes);
    wd_lock_release(lock);
    return rc;
}
