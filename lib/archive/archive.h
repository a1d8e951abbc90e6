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

/* The most a WAL file may have (docs/repository-format.md): a .history or
 * .backup file is a small text file; a segment or .partial is exactly one
 * segment long, and PostgreSQL's largest segment is 1 GiB. archive-push
 * refuses larger files, archive-get stops reading at these sizes. */
#define WD_WAL_TEXT_MAX (1024 * 1024)
#define WD_WAL_SEGMENT_MAX (1024u * 1024 * 1024)

typedef struct wd_wal_copy {
    char object[320]; /* object name inside the folder */
    uint8_t sha256[32];
    wd_compress compress;
    uint64_t stored_size;
    bool is_signed; /* the name carries a signature (format 2) */
    uint8_t sig[WD_SIG_LEN];
} wd_wal_copy;

/* Splits an object name "NAME-HEX64-HEX128[.ext]" (format 2) or
 * "NAME-HEX64[.ext]" (format 1, is_signed false) into its parts; EINVAL if
 * it is not one. */
int wd_wal_object_parse(const char *object, char *name, size_t name_cap, wd_wal_copy *copy);
/* Formats the object name of a signed WAL file into buf; -1 if it does not
 * fit. Every name stays below 255 bytes (the longest, a .backup file, is
 * 238). */
int wd_wal_object_name(const char *name, const uint8_t sha256[32], const uint8_t sig[WD_SIG_LEN],
                       wd_compress c, char *buf, size_t cap);

/* Checks a copy's signature over its raw SHA-256 (copy->sha256: set it to
 * what was read, where the content was read) and, encrypted, the encryption
 * header it was read with: WALDEN_EAUTH naming the object. Needs no key: the
 * header is in clear at the start of the stored bytes. A format-1 area
 * (allow-unauthenticated) passes. */
int wd_wal_copy_verify(walden_repo *repo, const char *name, const wd_wal_copy *copy,
                       const uint8_t *header);
/* Reads the encryption header of a stored copy (one ranged read). */
int wd_wal_copy_header(walden_repo *repo, const char *folder, const wd_wal_copy *copy,
                       uint8_t header[WD_CIPHER_HEADER_LEN]);

/* The folder of `name` relative to the storage root ("<cluster>/wal/<dir>"). */
char *wd_wal_folder(const walden_repo *repo, const char *name, const wd_wal_name *parsed);

/* Finds the stored copies of `name`: up to `cap` in copies, the number found
 * in *n (which may exceed cap). */
int wd_wal_find(walden_repo *repo, const char *folder, const char *name, wd_wal_copy *copies,
                size_t cap, size_t *n);

/* Whether WAL file `name` is in the archive (any copy). */
int wd_wal_present(walden_repo *repo, const char *name, bool *present);
/* After a push into `folder`: removes the abandoned temporary files there
 * (wd_storage_abandoned), for one segment in 16; failures are ignored. */
void wd_archive_sweep_temps(walden_repo *repo, const char *folder, const wd_wal_name *parsed);

/* Every archived WAL object, history files first, then by name: `cb` gets
 * the entry, the folder it is in and the object's name there. */
typedef int (*wd_wal_object_cb)(const walden_wal_entry *e, const char *folder, const char *object,
                                void *ctx);
int wd_wal_walk(walden_repo *repo, wd_wal_object_cb cb, void *ctx);

/* ---- the archive's shape (summary.c) ---- */

/* Segments per "log" (the middle 8 hex digits of a segment name), when no
 * backup proves the WAL segment size (the one size at which a backup's
 * start LSN lies in its start segment): inferred from the names: once the archive spans two logs,
 * the highest low part (last 8 digits) seen, plus one, rounded up to a power of two (16 MiB
 * segments: 256; between 4 and 4096); before that 256 (16 MiB, the
 * default), or more when a low part says so. Within one log every value
 * at least that large numbers the segments the same. */
uint64_t wd_wal_segments_per_log(uint32_t max_low, bool spans_logs);

/* "; walden archive-push last failed at TIME on SEGMENT: REASON" from the
 * recorded failure (failure.c), or "" when there is none: for messages
 * about WAL that did not arrive. */
void wd_push_failure_describe(const walden_config *cfg, char *buf, size_t cap);

#endif
