/*
 * archive.h - the WAL archive inside a cluster's area (internal).
 *
 * A WAL file NAME is stored as
 *   <cluster>/wal/<first 16 hex digits of NAME>/NAME-<sha256 of raw>.<ext>
 * (history files directly in <cluster>/wal/), <ext> naming the compression.
 * The SHA-256 of the original file in the object name lets archive-push
 * tell an identical re-push from a conflicting one without reading the
 * stored copy (and so without the decryption key), and lets archive-get
 * verify what it restores.
 */
#ifndef WD_ARCHIVE_H
#define WD_ARCHIVE_H

#include <stdint.h>

#include "io/stream.h"
#include "pg/pg.h"
#include "repo/repo.h"

typedef struct wd_wal_copy {
    char object[320]; /* object name inside the folder */
    uint8_t sha256[32];
    wd_compress compress;
    uint64_t stored_size;
} wd_wal_copy;

/* Splits an object name "NAME-HEX64[.ext]" into its parts; EINVAL if it is
 * not one. */
int wd_wal_object_parse(const char *object, char *name, size_t name_cap, wd_wal_copy *copy);

/* The folder of `name` relative to the storage root ("<cluster>/wal/<dir>"). */
char *wd_wal_folder(const walden_repo *repo, const char *name, const wd_wal_name *parsed);

/* Finds the stored copies of `name`: up to `cap` in copies, the number found
 * in *n (which may exceed cap). */
int wd_wal_find(walden_repo *repo, const char *folder, const char *name, wd_wal_copy *copies,
                size_t cap, size_t *n);

#endif
