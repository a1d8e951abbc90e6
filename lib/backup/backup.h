/*
 * backup.h - physical backups and their catalogue (internal).
 */
#ifndef WD_BACKUP_BACKUP_H
#define WD_BACKUP_BACKUP_H
#include <stdio.h>

#include <openssl/evp.h>

#include "backup/manifest.h"
#include "repo/repo.h"

/* Whether backup `id` has its manifest, and its compression.
 * WALDEN_ENOTFOUND when it has none (incomplete or missing). */
int wd_backup_manifest_find(walden_repo *repo, const char *id, wd_compress *c);
/* Removes the folders of backups that have no manifest. */
int wd_backup_remove_incomplete(walden_repo *repo);
/* The summary of backup `id`: from backup.info, or from the manifest when
 * that is missing or damaged. */
int wd_backup_load_meta(walden_repo *repo, const char *id, wd_backup_meta *m);

/* Every complete backup's summary, oldest first (by start time). */
int wd_backup_list_meta(walden_repo *repo, wd_backup_meta ***out, size_t *count);
void wd_backup_list_free(wd_backup_meta **metas, size_t n);

typedef int (*wd_manifest_entry_cb)(const wd_manifest_entry *e, void *ctx);
/* Streams backup `id`'s manifest: fills `m` from its sections and calls
 * `cb` (when not NULL) for every [files] line. A manifest without its
 * final "complete = yes" is WALDEN_ECORRUPT. */
int wd_backup_read_manifest(walden_repo *repo, const char *id, wd_backup_meta *m,
                            wd_manifest_entry_cb cb, void *ctx);
/* The same, also giving the SHA-256 and size of the manifest's stored bytes
 * (each may be NULL), as backup.stored records them. */
int wd_backup_read_manifest_ex(walden_repo *repo, const char *id, wd_backup_meta *m,
                               wd_manifest_entry_cb cb, void *ctx, uint8_t stored_sha256[32],
                               uint64_t *stored_size);
/* Reading a manifest, phase one (wd_line_sink_open's callback): every line
 * goes to the private spool file `f` and the hash `md`; the signature line
 * is kept apart and must be the last (WALDEN_EAUTH naming backup `id`). */
typedef struct wd_manifest_spool {
    FILE *f;
    EVP_MD_CTX *md;
    char sig[WD_SIG_LINE_LEN + 8];
    size_t sig_len;
    bool have_sig;
    const char *id;
} wd_manifest_spool;
int wd_manifest_spool_line(char *line, size_t len, void *ctx);

#endif
