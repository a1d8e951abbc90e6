/*
 * get.c - walden_archive_get: restore one archived WAL file.
 *
 * The file is written under a temporary name next to DEST and renamed only
 * after every check passed: decryption authenticated every record, the
 * decompressor reached the end of its stream, and the restored bytes have
 * the SHA-256 recorded in the object's name, and the name's signature
 * verifies over that digest, the size, the compression and the encryption
 * header read (so the records that decrypted were sealed by the writer).
 * Copies that fail authentication are passed over; when every copy fails,
 * the error is WALDEN_EAUTH naming the object. WALDEN_ENOTFOUND is returned
 * only when the archive has no copy at all.
 *
 * Authentication needs the whole object, so what is written before it is
 * bounded by what the file may be (docs/security.md): a segment or
 * .partial exactly the area's segment size (cluster.conf's
 * wal-segment-size), which its long page header must state; in an area
 * that does not record it, the size the header states (a power of two,
 * 1 MiB to 1 GiB); a .history or .backup file WD_WAL_TEXT_MAX; the
 * stored bytes read at most wd_stored_max of that. The read stops as soon
 * as a limit is crossed, and the temporary file is removed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "archive/archive.h"
#include "common/common.h"

/* The last check before the restored file becomes visible: the name's
 * signature over what was read (an observe filter at the end of the read
 * pipeline; the raw hash before it has ended by then). */
typedef struct auth_filter {
    wd_filter base;
    walden_repo *repo;
    const char *name;
    const wd_wal_copy *copy;
    const wd_repo_stream *s;
} auth_filter;

static int auth_observe(wd_filter *f, const uint8_t *in, size_t len)
{
    (void)f, (void)in, (void)len;
    return 0;
}

static int auth_end(wd_filter *f)
{
    auth_filter *a = (auth_filter *)f;
    uint8_t sha[32], header[WD_CIPHER_HEADER_LEN];
    wd_hash_filter_result(a->s->raw_hash, sha, NULL);
    int rc = a->s->cipher ? wd_decrypt_filter_header(a->s->cipher, header) : 0;
    if (rc)
        return rc;
    wd_wal_copy c = *a->copy;
    memcpy(c.sha256, sha, 32); /* what was read, not what the name says */
    return wd_wal_copy_verify(a->repo, a->name, &c, header);
}

static void auth_free(wd_filter *f)
{
    wd_free(f);
}

static const wd_filter_ops auth_ops = {
    .name = "wal-auth", .observe = auth_observe, .end = auth_end, .free = auth_free};

/* A segment's size: the first bytes are its long page header, whose
 * xlp_seg_size (offset 32) must be one of PostgreSQL's segment sizes; the
 * file stops there and must reach it. Checked as bytes pass, before they
 * reach the file. */
#define SEG_SIZE_END 36

typedef struct seg_filter {
    wd_filter base;
    uint8_t head[SEG_SIZE_END];
    uint64_t bytes, size; /* size: 0 until the header is in */
    uint64_t area_size;   /* the area's segment size; 0: not recorded */
    const char *walfile, *object;
} seg_filter;

static int seg_refuse(const seg_filter *s, const char *why, uint64_t n)
{
    return wd_error_set(WALDEN_EAUTH,
                        "archived '%s' (object '%s') failed authentication: %s (%" PRIu64 " bytes)",
                        s->walfile, s->object, why, n);
}

static int seg_observe(wd_filter *f, const uint8_t *in, size_t len)
{
    seg_filter *s = (seg_filter *)f;
    if (s->bytes < SEG_SIZE_END) {
        size_t take = SEG_SIZE_END - (size_t)s->bytes;
        memcpy(s->head + s->bytes, in, take < len ? take : len);
    }
    uint64_t total = s->bytes + len;
    if (!s->size && total >= SEG_SIZE_END) {
        uint32_t size;
        memcpy(&size, s->head + 32, 4);
        if (size < (1u << 20) || size > WD_WAL_SEGMENT_MAX || (size & (size - 1)))
            return seg_refuse(s, "its header states no valid segment size", size);
        if (s->area_size && size != s->area_size)
            return seg_refuse(s, "its header states another segment size than the area's", size);
        s->size = size;
    }
    if (s->size && total > s->size)
        return seg_refuse(s, "longer than the segment size its header states", s->size);
    s->bytes = total;
    return 0;
}

static int seg_end(wd_filter *f)
{
    seg_filter *s = (seg_filter *)f;
    if (!s->size || s->bytes != s->size)
        return seg_refuse(s, "not a whole segment", s->bytes);
    return 0;
}

static const wd_filter_ops seg_ops = {
    .name = "wal-segment-size", .observe = seg_observe, .end = seg_end, .free = auth_free};

/* Where a restored copy goes: the file `dest`, or memory (`data`). */
typedef struct get_dest {
    const char *path;
    uint8_t **data;
    size_t *len;
} get_dest;

/* Restores one copy of `walfile` (its name parsed) into dest. */
static int get_copy(walden_repo *repo, const char *walfile, const wd_wal_name *parsed,
                    const char *folder, const wd_wal_copy *copy, const get_dest *dest)
{
    char *object = wd_path_join(folder, copy->object);
    wd_source *src = NULL;
    wd_repo_stream s = {0};
    auth_filter *a = NULL;
    char what[sizeof(copy->object) + 128]; /* walfile: a WAL file's name, parsed */
    int rc;
    if (!object)
        return WALDEN_ENOMEM;
    if ((rc = wd_storage_open_read(repo->storage, object, &src))) {
        if (rc == WALDEN_ENOTFOUND) /* listed a moment ago: removed meanwhile */
            rc = wd_error_set(WALDEN_EIO, "'%s' disappeared from the archive while being read",
                              object);
        goto done;
    }
    bool segment = parsed->kind == WD_WAL_SEGMENT || parsed->kind == WD_WAL_PARTIAL;
    snprintf(what, sizeof(what), "archived '%.64s' (object '%.319s') failed authentication",
             walfile, copy->object);
    uint64_t seg_max = repo->wal_segment_size ? repo->wal_segment_size : WD_WAL_SEGMENT_MAX;
    wd_read_limits lim = {.raw_max = segment ? seg_max : WD_WAL_TEXT_MAX,
                          .code = WALDEN_EAUTH,
                          .what = what,
                          .stored_counted = true};
    lim.stored_max = wd_stored_max(lim.raw_max);
    if (copy->stored_size > lim.stored_max) { /* as listed: not worth a read */
        rc = wd_error_set(WALDEN_EAUTH, "%s: %" PRIu64 " bytes stored, more than a %s may have",
                          what, copy->stored_size, segment ? "segment" : "WAL text file");
        goto done;
    }
    wd_sink *sink;
    if ((rc = dest->path ? wd_file_sink_open(&sink, dest->path)
                         : wd_memory_sink_open(&sink, dest->data, dest->len)) ||
        (rc = wd_repo_read_begin_limited(repo, copy->compress, NULL, NULL, &lim, sink, &s)))
        goto failed;
    if (segment) {
        seg_filter *sf = wd_calloc(1, sizeof(*sf));
        if (!sf) {
            rc = WALDEN_ENOMEM;
            goto done;
        }
        sf->base.ops = &seg_ops;
        sf->walfile = walfile;
        sf->area_size = repo->wal_segment_size;
        sf->object = copy->object;
        if ((rc = wd_pipe_add(s.pipe, &sf->base)))
            goto failed;
    }
    if (!(a = wd_calloc(1, sizeof(*a)))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    *a = (auth_filter){{&auth_ops}, repo, walfile, copy, &s};
    if ((rc = wd_pipe_add(s.pipe, &a->base))) {
        a = NULL; /* the pipe freed it */
        goto failed;
    }
    a = NULL;
    if ((rc = wd_pipe_copy(s.pipe, src)))
        goto failed;
    goto done;
failed:
    if (rc == WALDEN_ECORRUPT)
        rc = wd_error_wrap(rc, "archived '%s' is damaged", walfile);
    else if (rc == WALDEN_EKEY && repo->key_unlocked)
        /* the key opened key.conf: a file it cannot open was encrypted to
         * another key, so not written for this area */
        rc = wd_error_wrap(WALDEN_EAUTH,
                           "archived '%s' (object '%s') failed authentication: not encrypted to "
                           "this area's key",
                           walfile, copy->object);
    else if (rc == WALDEN_EKEY)
        rc = wd_error_wrap(rc, "cannot decrypt archived '%s'", walfile);
    else if (rc == WALDEN_ENOTFOUND) /* e.g. DEST's folder: never "not in the archive" */
        rc = WALDEN_EIO;
done:
    wd_free(a);
    wd_pipe_free(s.pipe);
    wd_source_close(src);
    wd_free(object);
    return rc;
}

static int get_any(walden_repo *repo, const char *walfile, const get_dest *dest)
{
    wd_wal_name parsed;
    int rc = wd_wal_name_parse(walfile, &parsed);
    if (rc)
        return rc;
    if ((rc = wd_repo_trust(repo)))
        return rc;
    char *folder = wd_wal_folder(repo, walfile, &parsed);
    if (!folder)
        return WALDEN_ENOMEM;
    wd_wal_copy few[8], *copies = few;
    size_t cap = WD_ARRAY_LEN(few), found;
    if ((rc = wd_wal_find(repo, folder, walfile, copies, cap, &found)))
        goto done;
    if (found > cap) {
        /* every copy is tried: planted ones that list first must not hide
         * the genuine one */
        cap = found;
        if (!(copies = wd_calloc(cap, sizeof(*copies)))) {
            rc = WALDEN_ENOMEM;
            goto done;
        }
        if ((rc = wd_wal_find(repo, folder, walfile, copies, cap, &found)))
            goto done;
        found = found < cap ? found : cap;
    }
    if (found == 0) {
        rc = wd_error_set(WALDEN_ENOTFOUND, "'%s' is not in the archive", walfile);
        goto done;
    }
    /* the first copy that authenticates and reads whole. A copy that fails
     * authentication or is damaged is passed over (anyone can plant one);
     * a failure of the storage or of the key stops at once. When none
     * succeeds, the first copy's failure is the answer. */
    char first_msg[512] = "";
    int first_rc = 0;
    for (size_t i = 0; i < found; i++) {
        if (!repo->legacy && !copies[i].is_signed) {
            rc = wd_error_set(WALDEN_EAUTH,
                              "archived '%s' (object '%s') failed authentication: it has no "
                              "signature",
                              walfile, copies[i].object);
        } else {
            rc = get_copy(repo, walfile, &parsed, folder, &copies[i], dest);
            if (rc != WALDEN_EAUTH && (rc != WALDEN_ECORRUPT || repo->legacy))
                break;
        }
        if (!first_rc) {
            first_rc = rc;
            snprintf(first_msg, sizeof(first_msg), "%s", walden_error_last()->message);
        }
    }
    if (rc && first_rc && (rc == WALDEN_EAUTH || rc == WALDEN_ECORRUPT))
        rc = wd_error_set(first_rc, "%s", first_msg);
done:
    if (copies != few)
        wd_free(copies);
    wd_free(folder);
    return rc;
}

int walden_archive_get(walden_repo *repo, const char *walfile, const char *dest)
{
    get_dest d = {dest, NULL, NULL};
    return get_any(repo, walfile, &d);
}

int wd_archive_get_memory(walden_repo *repo, const char *walfile, uint8_t **data, size_t *len)
{
    get_dest d = {NULL, data, len};
    return get_any(repo, walfile, &d);
}
