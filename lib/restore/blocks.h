/*
 * blocks.h - restoring a relation file or part from its layers (blocks.c).
 */
#ifndef WD_RESTORE_BLOCKS_H
#define WD_RESTORE_BLOCKS_H
#include <stdbool.h>
#include <stdint.h>

#include "catalog/layers.h"
#include "catalog/manifest.h"
#include "repo/repo.h"

/* Writes unit `e` of backup `id` into the file `name` of folder `dirfd`
 * (`path` names it in messages) at `offset` (a part's place in its file),
 * creating the file with `mode` (a part's file may exist), never through a
 * symlink, and fsyncs it when `sync` (else the caller makes it durable:
 * place.c). WALDEN_ECORRUPT when a layer or a block is not what the signed
 * manifest says. */
int wd_restore_blocks(walden_repo *repo, wd_compress c, const char *id, const wd_manifest_entry *e,
                      int dirfd, const char *name, const char *path, uint64_t offset, unsigned mode,
                      bool sync);
/* The object a whole file's content is read from: backup `id`'s own, or,
 * for a file unchanged since an earlier backup, that one's (its one layer,
 * from `layers`: "" or "-" for its own), or a member of a bundle. *object
 * is malloc'ed; *layer says what it is (its stored_size 0: not recorded);
 * open it with wd_layer_open. */
int wd_restore_whole_object(walden_repo *repo, const char *id, wd_compress c, const char *path,
                            int64_t part, uint64_t size, uint64_t stored_size, const char *layers,
                            char **object, wd_layer *layer);
#endif
