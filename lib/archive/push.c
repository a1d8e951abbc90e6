/*
 * push.c - walden_archive_push: archive one WAL file durably.
 *
 * Steps, each failing with a one-line error and nothing stored:
 *   1. the name must be a WAL file name; a segment (or .partial) must carry
 *      a long page header of the repository's cluster and version and be
 *      exactly one segment long; .history and .backup files must be small
 *      text files;
 *   2. first pass: SHA-256 of the file (the stored name carries it);
 *   3. a stored copy with the same hash: done, success (PostgreSQL offers a
 *      segment again after a crash); with another hash: refused, and the
 *      archived copy is left as it is;
 *   4. second pass through the store pipeline into a sink that becomes
 *      visible only at commit; the raw hash is checked again before the
 *      commit, so a file that changed under us is never stored under a
 *      wrong name.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "archive/archive.h"
#include "common/common.h"

#define READ_BUF (256 * 1024)
#define TEXT_FILE_MAX (1024 * 1024)

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Reads the whole file once: SHA-256, and for text files a check that they
 * hold no NUL byte. */
static int first_pass(int fd, const char *path, bool text, uint64_t size, uint8_t *buf,
                      uint8_t sha[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        return wd_error_set_openssl(WALDEN_ERROR, "cannot start SHA-256");
    }
    uint64_t total = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, READ_BUF, (off_t)total);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = wd_error_set_errno(errno, "cannot read '%s'", path);
            break;
        }
        if (n == 0)
            break;
        if (text && memchr(buf, 0, (size_t)n)) {
            rc = wd_error_set(WALDEN_EINVAL,
                              "'%s' is not a WAL history or backup file: binary "
                              "content",
                              path);
            break;
        }
        EVP_DigestUpdate(md, buf, (size_t)n);
        total += (uint64_t)n;
    }
    if (!rc && total != size)
        rc = wd_error_set(WALDEN_EIO, "'%s' changed size while being archived", path);
    if (!rc)
        EVP_DigestFinal_ex(md, sha, NULL);
    EVP_MD_CTX_free(md);
    return rc;
}

static int second_pass(walden_repo *repo, int fd, const char *path, const char *object,
                       const uint8_t sha[32], uint8_t *buf, walden_push_result *result)
{
    wd_sink *sink;
    wd_repo_stream s;
    int rc = wd_storage_open_write(repo->storage, object, &sink);
    if (rc)
        return rc;
    if ((rc = wd_repo_store_begin(repo, sink, &s)))
        return rc;
    if ((rc = wd_hash_filter_expect(s.raw_hash, sha, path)))
        goto done;
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, READ_BUF, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = wd_error_set_errno(errno, "cannot read '%s'", path);
            goto done;
        }
        if (n == 0)
            break;
        if ((rc = wd_pipe_write(s.pipe, buf, (size_t)n)))
            goto done;
        off += n;
    }
    if ((rc = wd_pipe_finish(s.pipe)))
        goto done;
    wd_hash_filter_result(s.raw_hash, result->raw_sha256, &result->raw_size);
    uint8_t stored[32];
    wd_hash_filter_result(s.stored_hash, stored, &result->stored_size);
done:
    wd_pipe_free(s.pipe);
    return rc;
}

int walden_archive_push(walden_repo *repo, const char *path, walden_push_result *result)
{
    walden_push_result local;
    if (!result)
        result = &local;
    memset(result, 0, sizeof(*result));

    const char *name = base_name(path);
    wd_wal_name parsed;
    int rc = wd_wal_name_parse(name, &parsed);
    if (rc)
        return rc;
    bool text = parsed.kind == WD_WAL_HISTORY || parsed.kind == WD_WAL_BACKUP;

    uint8_t *buf = NULL;
    char *folder = NULL, *object = NULL;
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
        if (st.st_size > TEXT_FILE_MAX) {
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
    }

    uint8_t sha[32];
    if ((rc = first_pass(fd, path, text, (uint64_t)st.st_size, buf, sha)))
        goto done;

    if (!(folder = wd_wal_folder(repo, name, &parsed))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    wd_wal_copy copies[4];
    size_t found;
    if ((rc = wd_wal_find(repo, folder, name, copies, WD_ARRAY_LEN(copies), &found)))
        goto done;
    for (size_t i = 0; i < found && i < WD_ARRAY_LEN(copies); i++) {
        if (memcmp(copies[i].sha256, sha, 32) == 0) {
            wd_log_info("'%s' is archived already with identical content", name);
            result->already_archived = 1;
            result->raw_size = (uint64_t)st.st_size;
            result->stored_size = copies[i].stored_size;
            memcpy(result->raw_sha256, sha, 32);
            goto done;
        }
    }
    if (found) {
        char have[65], got[65];
        wd_hex_encode(copies[0].sha256, 32, have);
        wd_hex_encode(sha, 32, got);
        rc = wd_error_set(WALDEN_EMISMATCH,
                          "'%s' is archived already with different content (archived sha256 "
                          "%.16s..., this file %.16s...): the archived copy is kept",
                          name, have, got);
        goto done;
    }

    char hex[65];
    wd_hex_encode(sha, 32, hex);
    object = wd_asprintf("%s/%s-%s%s", folder, name, hex, wd_compress_ext(repo->compress));
    if (!object) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if ((rc = second_pass(repo, fd, path, object, sha, buf, result)))
        goto done;
    wd_log_info("archived '%s' (%llu bytes, stored %llu)", name,
                (unsigned long long)result->raw_size, (unsigned long long)result->stored_size);
done:
    close(fd);
    wd_free(buf);
    wd_free(folder);
    wd_free(object);
    return rc;
}
