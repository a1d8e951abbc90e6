/*
 * info_chain.h - the backups `walden info` shows, each with its chain: the
 * ids from its full to it, following the references a diff or incr
 * records. The listing is oldest first, and a reference always started
 * before the backup that refers to it, so a reference is looked up among
 * the backups listed before. A chain that does not reach a full (a
 * reference missing, damaged, or not recorded) is said, never shown as a
 * full.
 */
#ifndef WALDEN_INFO_CHAIN_H
#define WALDEN_INFO_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "walden/walden.h"

/* One backup: `b` as walden_backup_list gave it, its strings copied into
 * the fields below (compress and walden_version are not kept: ""). */
typedef struct info_backup {
    walden_backup_info b;
    char id[64], type[16], status[16], reference[64], start_wal[25], stop_wal[25];
} info_backup;

typedef struct info_backups {
    info_backup *v;
    size_t n, cap;
} info_backups;

/* A walden_backup_cb: appends `b` to the info_backups `ctx`. */
int info_backups_add(const walden_backup_info *b, void *ctx);
void info_backups_free(info_backups *r);

/* The chain of backup `i`: the indexes of its members, oldest first, its
 * own last, in chain[] (room for r->n), and their number. `why` gets ""
 * when the chain reaches a full, else why not (the chain then starts at
 * the member whose reference is missing); `damaged` (the listing met a
 * damaged backup, which it did not give) makes a missing reference
 * "missing or damaged". */
size_t info_chain(const info_backups *r, size_t i, bool damaged, size_t *chain, char *why,
                  size_t why_cap);

#endif
