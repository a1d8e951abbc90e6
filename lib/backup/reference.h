/*
 * reference.h - what a diff or incr backup compares with: the backup it
 * refers to, its files (from its signed manifest) and its block digests
 * (from the block maps of its chain, applied from its full on, spooled to
 * a private temporary file, checked against its manifest). Its files'
 * lines go to another temporary file: memory is 40 bytes per file or part
 * (a hash table of where each is), whatever the paths and layers.
 */
#ifndef WD_BACKUP_REFERENCE_H
#define WD_BACKUP_REFERENCE_H
#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "catalog/layers.h"

/* A file or part of the reference, as wd_reference_find gives it. */
typedef struct wd_ref_unit {
    char *path;
    int64_t key_part; /* the part, 0 for a whole file: both start at offset 0 */
    uint64_t size;
    char hash; /* 'w' or 'b' */
    uint8_t raw_sha256[32];
    char *layers; /* never "-": its own object is named as a layer */
    char *map;
    bool has_digests;   /* every block's digest is known, and they hash to raw_sha256 */
    uint64_t bm_offset; /* in the spool */
    uint32_t bm_blocks;
} wd_ref_unit;

typedef struct wd_reference wd_reference;

/* Chooses the backup a `type` ("diff" or "incr") backup refers to: the
 * newest usable full (diff) or backup of any type (incr) of format 2, the
 * same compression and part size, whose chain is whole. *out is NULL, with
 * the reason in `why`, when there is none. */
int wd_reference_choose(walden_repo *repo, const char *type, uint64_t part_size, wd_reference **out,
                        char *why, size_t why_cap);
const wd_backup_meta *wd_reference_meta(const wd_reference *r);
/* The unit of `path` starting at part `part` (-1 and 0 are the same), or
 * NULL: valid in the calling thread until its next call. */
const wd_ref_unit *wd_reference_find(const wd_reference *r, const char *path, int64_t part);
/* The unit's block digests (bm_blocks * 32 bytes into `out`). Thread-safe. */
int wd_reference_digests(const wd_reference *r, const wd_ref_unit *u, uint8_t *out);
void wd_reference_free(wd_reference *r);
#endif
