/*
 * dump.h - logical dumps and their catalogue (internal).
 *
 * A dump DUMP_ID lives in <cluster>/dump/DUMP_ID/:
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
 */
#ifndef WD_DUMP_DUMP_H
#define WD_DUMP_DUMP_H
#include "repo/repo.h"

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
/* Every recorded dump (failed ones too), oldest first. */
int wd_dump_list_meta(walden_repo *repo, wd_dump_meta ***out, size_t *count);
void wd_dump_list_free(wd_dump_meta **metas, size_t n);
/* Removes the folders of dumps that have no manifest (unfinished). */
int wd_dump_remove_incomplete(walden_repo *repo);

#endif
