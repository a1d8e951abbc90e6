/*
 * push.c - walden_archive_push: archive one WAL file durably.
 *
 * Steps, each failing with a one-line error and nothing stored:
 *   1. the name must be a WAL file name; a segment (or .partial) must carry
 *      a long page header of the repository's cluster and version and be
 *      exactly one segment long; .history and .backup files must be small
 *      text files;
 *   2. one pass through the store pipeline (compression, encryption) into a
 *      sink that is not yet visible; for a segment, a second thread reads
 *      the file again (from the page cache) for its SHA-256 meanwhile, so
 *      hashing 16 MiB does not add to the time PostgreSQL waits (text files
 *      are hashed in the pipeline);
 *   3. with the SHA-256 now known: a stored copy with the same hash and a
 *      signature that verifies means the file is archived already, a
 *      success (PostgreSQL offers a segment again after a crash), and the
 *      new copy is discarded; a copy with another hash is a conflict,
 *      refused, and the archived copy is left as it is; copies whose
 *      signature does not verify (a segment's signature is checkable with
 *      the segment's size) were not written by walden: they are ignored
 *      with a warning. Otherwise the sink is committed under
 *      NAME-SHA256-SIGNATURE.EXT, the signature covering the area, the
 *      name, the raw SHA-256 and size, the compression and the encryption
 *      header (sign.h). No stored-bytes digest is computed: the signed
 *      header authenticates every encrypted record.
 *
 * Two concurrent pushes of one name with different content (which
 * PostgreSQL never does) could both commit; archive-get then returns the
 * first copy that authenticates.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"
#include "common/common.h"

#define READ_BUF (256 * 1024)

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Streams the file through the store pipeline; checks that text files
 * hold no NUL byte and that the file did not change size. */
static int stream_file(int fd, const char *path, bool text, uint64_t size, uint8_t *buf,
                       wd_repo_stream *s)
{
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, READ_BUF);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return wd_error_set_errno(errno, "cannot read '%s'", path);
        }
        if (n == 0)
            break;
        if (text && memchr(buf, 0, (size_t)n))
            return wd_error_set(WALDEN_EINVAL,
                                "'%s' is not a WAL history or backup file: binary content", path);
        int rc = wd_pipe_write(s->pipe, buf, (size_t)n);
        if (rc)
            return rc;
        total += (uint64_t)n;
    }
    if (total != size)
        return wd_error_set(WALDEN_EIO, "'%s' changed size while being archived", path);
    return wd_pipe_end(s->pipe);
}

/* The SHA-256 of a whole file, in a thread of its own. */
typedef struct file_hash {
    int fd;
    const char *path;
    uint8_t sha256[32];
    uint64_t bytes;
    int rc;
    char error[512];
} file_hash;

static void *hash_file(void *arg)
{
    file_hash *h = arg;
    wd_filter *f = NULL;
    uint8_t *buf = wd_malloc(READ_BUF);
    int rc = buf ? wd_hash_filter_new(&f) : WALDEN_ENOMEM;
    for (off_t off = 0; !rc;) {
        ssize_t n = pread(h->fd, buf, READ_BUF, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = wd_error_set_errno(errno, "cannot read '%s'", h->path);
        else if (n == 0)
            break;
        else
            rc = f->ops->observe(f, buf, (size_t)n);
        off += n > 0 ? n : 0;
    }
    if (!rc && !(rc = f->ops->end(f)))
        wd_hash_filter_result(f, h->sha256, &h->bytes);
    if (rc)
        snprintf(h->error, sizeof(h->error), "%s", walden_error_last()->message);
    h->rc = rc;
    wd_filter_free(f);
    wd_free(buf);
    return NULL;
}

int walden_archive_push(walden_repo *repo, const char *path, walden_push_result *result)
{
    walden_push_result local = WALDEN_PUSH_RESULT_INIT;
    if (!result)
        result = &local;
    int rc = WD_RESULT_START(result, WALDEN_PUSH_RESULT_VERSION, "walden_push_result");
    if (rc)
        return rc;

    const char *name = base_name(path);
    wd_wal_name parsed;
    if ((rc = wd_wal_name_parse(name, &parsed)))
        return rc;
    bool text = parsed.kind == WD_WAL_HISTORY || parsed.kind == WD_WAL_BACKUP;
    if ((rc = wd_repo_signer(repo)))
        return rc;
    /* a repository of a version this walden does not know: its segments
     * cannot be checked, and the version, not the file, is the reason */
    if ((rc = wd_pg_major_check(repo->info.pg_version / 10000)))
        return rc;

    uint8_t *buf = NULL;
    char *folder = NULL, *object = NULL;
    wd_wal_copy few[8], *copies = few;
    pthread_t hasher;
    wd_repo_stream s = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot open '%s' for reading", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = wd_error_set_errno(errno, "cannot stat '%s'", path);
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = wd_error_set(WALDEN_EINVAL, "'%s' is not a regular file", path);
        goto done;
    }
    if (!(buf = wd_malloc(READ_BUF))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if (text) {
        if (st.st_size > WD_WAL_TEXT_MAX) {
            rc = wd_error_set(WALDEN_EINVAL, "'%s' is too large for a WAL history or backup file",
                              path);
            goto done;
        }
    } else {
        ssize_t n = pread(fd, buf, WD_WAL_LONG_HEADER_SIZE, 0);
        if (n < 0) {
            rc = wd_error_set_errno(errno, "cannot read '%s'", path);
            goto done;
        }
        if ((rc = wd_wal_check_segment(buf, (size_t)n, (uint64_t)st.st_size, &parsed, path,
                                       repo->info.system_id, repo->info.pg_version / 10000)))
            goto done;
        /* archive-get refuses any other size in this area */
        if (repo->wal_segment_size && (uint64_t)st.st_size != repo->wal_segment_size) {
            rc = wd_error_set(WALDEN_EMISMATCH,
                              "'%s' is a segment of %llu bytes; the area's segments have %llu "
                              "(cluster.conf)",
                              path, (unsigned long long)st.st_size,
                              (unsigned long long)repo->wal_segment_size);
            goto done;
        }
    }

    if (!(folder = wd_wal_folder(repo, name, &parsed)) || !(object = wd_path_join(folder, name))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    wd_sink *sink;
    if ((rc = wd_storage_open_write(repo->storage, object, &sink)) ||
        (rc = wd_repo_store_begin_ex(
             repo, sink, WD_STORE_COUNT_STORED | (text ? 0 : WD_STORE_NO_RAW_HASH), &s)))
        goto done;
    file_hash h = {.fd = fd, .path = path};
    bool hashing = !text && pthread_create(&hasher, NULL, hash_file, &h) == 0;
    if (!text && !hashing) {
        rc = wd_error_set(WALDEN_ENOMEM, "cannot start a thread");
        goto done;
    }
    rc = stream_file(fd, path, text, (uint64_t)st.st_size, buf, &s);
    if (hashing) {
        pthread_join(hasher, NULL);
        if (!rc && h.rc)
            rc = wd_error_set(h.rc, "%s", h.error);
        if (!rc && h.bytes != (uint64_t)st.st_size)
            rc = wd_error_set(WALDEN_EIO, "'%s' changed size while being archived", path);
    }
    if (rc)
        goto done;
    uint8_t sha[32];
    if (text) {
        wd_hash_filter_result(s.raw_hash, sha, &result->raw_size);
    } else {
        memcpy(sha, h.sha256, 32);
        result->raw_size = h.bytes;
    }
    wd_hash_filter_result(s.stored_hash, NULL, &result->stored_size);
    memcpy(result->raw_sha256, sha, 32);

    size_t found, conflicts = 0;
    if ((rc = wd_wal_find(repo, folder, name, few, WD_ARRAY_LEN(few), &found)))
        goto done;
    if (found > WD_ARRAY_LEN(few)) {
        /* every copy is looked at: planted ones must not hide ours */
        size_t cap = found;
        if (!(copies = wd_calloc(cap, sizeof(*copies)))) {
            rc = WALDEN_ENOMEM;
            goto done;
        }
        if ((rc = wd_wal_find(repo, folder, name, copies, cap, &found)))
            goto done;
        found = found < cap ? found : cap;
    }
    const wd_wal_copy *conflict = NULL;
    for (size_t i = 0; i < found; i++) {
        bool same = memcmp(copies[i].sha256, sha, 32) == 0;
        /* every copy's signature is checkable without the key (it covers the
         * raw SHA-256 in the name and the header in clear): a planted copy
         * is neither "archived already" nor a conflict */
        uint8_t header[WD_CIPHER_HEADER_LEN];
        int vrc = repo->info.encrypted ? wd_wal_copy_header(repo, folder, &copies[i], header) : 0;
        if (vrc == WALDEN_ECORRUPT)
            vrc = WALDEN_EAUTH; /* too short for a header: not ours either */
        if (!vrc)
            vrc = wd_wal_copy_verify(repo, name, &copies[i], header);
        if (vrc == WALDEN_EAUTH) {
            wd_log_warn("%s: ignored", walden_error_last()->message);
            walden_error_clear();
            continue;
        }
        if (vrc) {
            rc = vrc;
            goto done;
        }
        if (same) {
            wd_log_info("'%s' is archived already with identical content", name);
            result->already_archived = 1;
            result->stored_size = copies[i].stored_size;
            goto done; /* freeing the pipe discards the new copy */
        }
        conflict = conflict ? conflict : &copies[i];
        conflicts++;
    }
    if (conflicts) {
        char have[65], got[65];
        wd_hex_encode(conflict->sha256, 32, have);
        wd_hex_encode(sha, 32, got);
        rc = wd_error_set(WALDEN_EMISMATCH,
                          "'%s' is archived already with different content (archived sha256 "
                          "%.16s..., this file %.16s...): the archived copy is kept",
                          name, have, got);
        goto done;
    }
    wd_wal_sig_input in = {
        .name = name, .ext = wd_compress_ext(repo->compress), .encrypted = repo->info.encrypted};
    memcpy(in.raw_sha256, sha, 32);
    if (in.encrypted)
        wd_encrypt_filter_header(s.cipher, in.header);
    wd_area_id area;
    wd_repo_area(repo, &area);
    uint8_t sig[WD_SIG_LEN];
    char final_name[320];
    if ((rc = wd_sign_wal(repo->sign_priv, &area, &in, sig)))
        goto done;
    if (wd_wal_object_name(name, sha, sig, repo->compress, final_name, sizeof(final_name)) < 0) {
        rc = wd_error_set(WALDEN_EINVAL, "'%s': name too long to archive", name);
        goto done;
    }
    if ((rc = wd_pipe_commit(s.pipe, final_name)))
        goto done;
    wd_log_info("archived '%s' (%llu bytes, stored %llu)", name,
                (unsigned long long)result->raw_size, (unsigned long long)result->stored_size);
    wd_archive_sweep_temps(repo, folder, &parsed);
done:
    if (copies != few)
        wd_free(copies);
    wd_pipe_free(s.pipe);
    close(fd);
    wd_free(buf);
    wd_free(folder);
    wd_free(object);
    return rc;
}
