/*
 * catalog.h - the catalogue of a cluster's area (internal): which backups
 * and dumps it holds, their summaries, and what follows from them together
 * with the WAL archive (the recovery window, the WAL segment size, the
 * timelines a restore can follow).
 *
 * Layer: above archive/ (it uses the archive's runs and timelines), below
 * every command that reads the catalogue (backup, dump, restore, verify,
 * expire, metrics, drill, upgrade).
 *
 * A backup lives in <cluster>/backup/BACKUP_ID/ (catalog/manifest.h); a dump
 * in <cluster>/dump/DUMP_ID/:
 *   dump.pgdump<ext>  pg_dump -Fc -Z0 output (a database), or
 *   globals.sql<ext>  pg_dumpall --globals-only output (roles, tablespaces),
 *                     through the store pipeline (compressed, encrypted)
 *   dump.manifest     the summary in clear text, name = value lines (so
 *                     listing needs no key), written last: a folder
 *                     without it is an unfinished dump, removed later.
 *                     A failed dump keeps its manifest (status = failed,
 *                     error = why) and has no data file.
 * DUMP_ID is the run's start time (YYYYMMDDTHHMMSSZ), '-', and the
 * database name with characters outside [A-Za-z0-9_.-] as '_' (at most 40
 * of them), "-2", "-3"... when two names come out the same; "globals" for
 * the globals, which are named first.
 *
 * Entries and the one policy for damaged ones (both kinds alike):
 *   - a folder without its manifest is unfinished: not an entry, not
 *     listed (backup and dump remove such folders);
 *   - an entry whose summary cannot be authenticated or parsed
 *     (WALDEN_EAUTH, WALDEN_ECORRUPT, WALDEN_EVERSION) is damaged: it is
 *     never silently dropped and never chosen. A listing returns it apart
 *     (wd_catalog_damage) or, when the caller passes none, passes over it
 *     with a warning naming it and the reason. Automatic choices (restore,
 *     drill, restore-dump picking the newest) pass over it with that
 *     warning; naming it (--set ID) is refused with its reason
 *     (wd_catalog_refuse); info, metrics and expire refuse to report or
 *     delete on a catalogue with a damaged entry (the error names it);
 *     verify reports it as forged or corrupt. The views derived from the
 *     backups (window.c: the segment size, the recovery window, the
 *     timelines) leave it out without a word: the command that uses them
 *     lists the backups itself and says it there, once;
 *   - any other failure (the store unreachable, a permission, no key, out
 *     of memory) fails the listing.
 */
#ifndef WD_CATALOG_CATALOG_H
#define WD_CATALOG_CATALOG_H
#include <stdio.h>

#include <openssl/evp.h>

#include "archive/archive.h"
#include "catalog/manifest.h"
#include "repo/repo.h"

/* ---- damaged entries (list.c) ---- */

typedef struct wd_catalog_damaged {
    char id[128];
    int code;          /* WALDEN_EAUTH, WALDEN_ECORRUPT or WALDEN_EVERSION */
    char reason[1024]; /* the message, naming the file */
} wd_catalog_damaged;

/* The damaged entries a listing met, in the order met. */
typedef struct wd_catalog_damage {
    wd_catalog_damaged *v;
    size_t n, cap;
} wd_catalog_damage;

/* Whether `rc` (from loading an entry's summary) says the entry is damaged. */
bool wd_catalog_is_damaged(int rc);
/* Records entry `id` as damaged with `code` and the last error's message
 * (cleared). WALDEN_ENOMEM, else 0. */
int wd_catalog_damage_add(wd_catalog_damage *d, const char *id, int code);
/* The refusal for a damaged entry: 0 when `d` holds none (or, `named` not
 * NULL, when entry `named` is not among them); otherwise its code, with its
 * reason as the last error. */
int wd_catalog_refuse(const wd_catalog_damage *d, const char *named);
/* One warning per damaged entry: "<noun> ID is passed over: REASON". */
void wd_catalog_pass_over(const wd_catalog_damage *d, const char *noun);
void wd_catalog_damage_free(wd_catalog_damage *d);

/* How a listing loads one entry. */
typedef struct wd_catalog_kind {
    const char *dir;  /* the folder in the cluster's area */
    const char *noun; /* "backup", "dump" */
    size_t meta_size;
    /* WALDEN_ENOTFOUND: unfinished, not an entry */
    int (*load)(walden_repo *repo, const char *id, void *meta);
    void (*clear)(void *meta);
    int64_t (*start_ms)(const void *meta);
    const char *(*id)(const void *meta);
} wd_catalog_kind;

/* Every entry of `kind`, oldest first (by start time, then id): *out gets
 * `meta_size` allocations (free with wd_catalog_list_free). Damaged entries
 * go to `damage`, or, when it is NULL, are passed over with a warning. */
int wd_catalog_list(walden_repo *repo, const wd_catalog_kind *kind, void ***out, size_t *count,
                    wd_catalog_damage *damage);
void wd_catalog_list_free(const wd_catalog_kind *kind, void **metas, size_t n);
/* The entries an automatic choice may take: wd_catalog_list, the damaged
 * ones passed over with a warning, except that entry `named` (when not NULL
 * nor "": it was asked for by name) being damaged is refused with its
 * reason. */
int wd_catalog_list_usable(walden_repo *repo, const wd_catalog_kind *kind, const char *named,
                           void ***out, size_t *count);

/* ---- backups (backups.c) ---- */

/* Whether backup `id` has its manifest, and its compression.
 * WALDEN_ENOTFOUND when it has none (incomplete or missing). */
int wd_backup_manifest_find(walden_repo *repo, const char *id, wd_compress *c);
/* Removes the folders of backups that have no manifest. */
int wd_backup_remove_incomplete(walden_repo *repo);
/* backup.info of backup `id` alone: WALDEN_ENOTFOUND when there is none,
 * WALDEN_EAUTH when it fails authentication or names another backup,
 * WALDEN_ECORRUPT when it is incomplete; wd_kv_parse's error when it does
 * not parse. `m` is cleared on failure. */
int wd_backup_info_read(walden_repo *repo, const char *id, wd_backup_meta *m);
/* The summary of backup `id`: from backup.info, or from the manifest when
 * that is missing or damaged (backup.info failing authentication is
 * refused: never replaced by a guess). WALDEN_ENOTFOUND when the backup has
 * no manifest. */
int wd_backup_load_meta(walden_repo *repo, const char *id, wd_backup_meta *m);

/* Every complete backup's summary, oldest first (by start time); damaged
 * ones as wd_catalog_list says. */
int wd_backup_list_meta(walden_repo *repo, wd_backup_meta ***out, size_t *count,
                        wd_catalog_damage *damage);
void wd_backup_list_free(wd_backup_meta **metas, size_t n);
/* The backups a restore or drill may choose (chain.c): as
 * wd_catalog_list_usable, and a backup whose chain does not reach a full
 * (wd_backup_chain) is passed over with a warning, or, named, refused with
 * the reason. */
int wd_backup_list_usable(walden_repo *repo, const char *named, wd_backup_meta ***out,
                          size_t *count);
/* The chain of metas[i] among metas[0..n) (a listing, oldest first):
 * *length (may be NULL) gets the number of backups from its full to it,
 * and members (may be NULL; room for n) their indexes, oldest first,
 * i last. 0 when it reaches a full; WALDEN_ENOTFOUND when a reference is
 * missing, WALDEN_ECORRUPT when one is damaged (in `damage`, may be NULL),
 * not older, or not recorded, or when a full names one; `why` (why_cap
 * bytes) says which, naming the member ("reference X is missing", "Y's
 * reference X is damaged", "summary names no reference", "Y's summary
 * names a reference for a full backup"), and the chain then starts at
 * that member. The library's one walk of a chain: restore, drill and
 * backup's reference choice (wd_backup_list_usable), metrics, and
 * walden_backup_list (what info shows) use it; expire's retention engine
 * resolves references on its own, being pure. Sets no error. */
int wd_backup_chain(wd_backup_meta *const *metas, size_t n, size_t i,
                    const wd_catalog_damage *damage, size_t *members, size_t *length, char *why,
                    size_t why_cap);

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

/* ---- dumps (dumps.c) ---- */

#define WD_DUMP_DIR "dump"
#define WD_DUMP_MANIFEST "dump.manifest"
#define WD_DUMP_FORMAT 1

/* The summary: a walden_dump_info whose strings it owns. */
typedef struct wd_dump_meta {
    walden_dump_info pub;
    char id[128];
    char kind[16];
    char *database;
    char status[16];
    char *error;
    char pg_dump_version[128];
    char compress[16];
    char walden_version[32];
    uint8_t raw_sha256[32];
    uint8_t stored_sha256[32];
    bool have_header; /* encrypted: the data's encryption header, signed here */
    uint8_t header[WD_CIPHER_HEADER_LEN];
    int complete;
} wd_dump_meta;

void wd_dump_meta_link(wd_dump_meta *m);
void wd_dump_meta_clear(wd_dump_meta *m);
/* The manifest's text (malloc'ed). */
char *wd_dump_meta_text(const wd_dump_meta *m);
/* Parses a manifest's text; WALDEN_ECORRUPT when it is not complete. */
int wd_dump_meta_parse(wd_dump_meta *m, const char *text, size_t len, const char *id);
/* "<cluster>/dump/<id>/<file><ext>": where the dump's data is stored. */
char *wd_dump_object(const walden_repo *repo, const wd_dump_meta *m);

/* Reads dump `id`'s manifest. WALDEN_ENOTFOUND when there is none. */
int wd_dump_load_meta(walden_repo *repo, const char *id, wd_dump_meta *m);
/* Every recorded dump (failed ones too), oldest first; damaged ones as
 * wd_catalog_list says. */
int wd_dump_list_meta(walden_repo *repo, wd_dump_meta ***out, size_t *count,
                      wd_catalog_damage *damage);
void wd_dump_list_free(wd_dump_meta **metas, size_t n);
/* The dumps an automatic choice may take (wd_catalog_list_usable). */
int wd_dump_list_usable(walden_repo *repo, const char *named, wd_dump_meta ***out, size_t *count);
/* Calls `cb` for every dump wd_dump_list_usable gives, oldest first. */
int wd_dump_each_usable(walden_repo *repo, const char *named, walden_dump_cb cb, void *ctx);
/* Removes the folders of dumps that have no manifest (unfinished). */
int wd_dump_remove_incomplete(walden_repo *repo);

/* ---- the archive seen with the backups (window.c) ---- */

/* The WAL segment size of the area: cluster.conf's wal-segment-size, or
 * for an area that does not record it, the size the backups prove (the
 * one size at which a backup's start LSN falls in its start segment). 0
 * when none tells. */
uint64_t wd_catalog_segment_size(walden_repo *repo);

/* The archive's timelines (*out, free with walden_timelines_free) and the
 * one a restore follows (wd_timeline_choose), in one call. */
int wd_timeline_for_restore(walden_repo *repo, const char *requested, walden_timelines **out,
                            uint32_t *follow, char *why, size_t cap);

#endif
