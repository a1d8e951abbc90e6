/*
 * get.c - walden_archive_get: restore one archived WAL file.
 *
 * The file is written under a temporary name next to DEST and renamed only
 * after every check passed: decryption authenticated every record, the
 * decompressor reached the end of its stream, and the restored bytes have
 * the SHA-256 recorded in the object's name. Anything else is an error:
 * WALDEN_ENOTFOUND is returned only when the archive has no copy at all.
 */
#include <string.h>

#include "archive/archive.h"
#include "common/common.h"

int walden_archive_get(walden_repo *repo, const char *walfile, const char *dest)
{
    wd_wal_name parsed;
    int rc = wd_wal_name_parse(walfile, &parsed);
    if (rc)
        return rc;
    char *folder = wd_wal_folder(repo, walfile, &parsed), *object = NULL;
    wd_source *src = NULL;
    wd_repo_stream s = {0};
    if (!folder)
        return WALDEN_ENOMEM;
    wd_wal_copy copies[4];
    size_t found;
    if ((rc = wd_wal_find(repo, folder, walfile, copies, WD_ARRAY_LEN(copies), &found)))
        goto done;
    if (found == 0) {
        rc = wd_error_set(WALDEN_ENOTFOUND, "'%s' is not in the archive", walfile);
        goto done;
    }
    for (size_t i = 1; i < found && i < WD_ARRAY_LEN(copies); i++) {
        if (memcmp(copies[i].sha256, copies[0].sha256, 32) != 0) {
            rc = wd_error_set(WALDEN_ECORRUPT,
                              "the archive holds two different copies of '%s': check the "
                              "repository",
                              walfile);
            goto done;
        }
    }
    if (!(object = wd_path_join(folder, copies[0].object))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if ((rc = wd_storage_open_read(repo->storage, object, &src))) {
        if (rc == WALDEN_ENOTFOUND) /* listed a moment ago: removed meanwhile */
            rc = wd_error_set(WALDEN_EIO, "'%s' disappeared from the archive while being read",
                              object);
        goto done;
    }
    wd_sink *sink;
    if ((rc = wd_file_sink_open(&sink, dest)) ||
        (rc = wd_repo_read_begin(repo, copies[0].compress, copies[0].sha256, sink, &s)) ||
        (rc = wd_pipe_copy(s.pipe, src)))
        goto failed;
    goto done;
failed:
    if (rc == WALDEN_ECORRUPT)
        rc = wd_error_wrap(rc, "archived '%s' is damaged", walfile);
    else if (rc == WALDEN_EKEY)
        rc = wd_error_wrap(rc, "cannot decrypt archived '%s'", walfile);
    else if (rc == WALDEN_ENOTFOUND) /* e.g. DEST's folder: never "not in the archive" */
        rc = WALDEN_EIO;
done:
    wd_pipe_free(s.pipe);
    wd_source_close(src);
    wd_free(folder);
    wd_free(object);
    return rc;
}
