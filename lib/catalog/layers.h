/*
 * layers.h - where a file's content comes from in a format 2 backup, block
 * by block (docs/repository-format.md, docs/internals/incremental.md).
 *
 * A file, or a part of a large file (a "unit"), is a sequence of 8 KiB
 * blocks (the last may be shorter). Its manifest line says:
 *   HASH    'w': RAW_SHA256 is the SHA-256 of the content (files that are
 *           not relation files); 'b': it is the SHA-256 of the concatenated
 *           SHA-256 of every block (relation files), so a restore checks
 *           every block and a diff or incr compares block by block;
 *   LAYERS  "-": the content is this backup's own whole object (data/ or
 *           parts/); else the objects it is assembled from, oldest first,
 *           each ID:KIND:PART:RAW_SIZE:STORED_SIZE: the whole object ('w')
 *           or the delta object ('d') of backup ID for part PART ('-' for
 *           a whole-file object), with its content and stored sizes; or
 *           ID:u:N:RAW_SIZE:STORED_SIZE:OFFSET: a member of bundle N of
 *           backup ID (repo/bundle.h), its stored stream at OFFSET (a
 *           bundled file is whole: its only layer);
 *   MAP     "-" when one layer gives every block; else runs L*N,L*N...:
 *           the next N blocks come from layer L (counted from 0).
 * A backup's own object, when it has one, is its last layer.
 * A delta object is a sequence of records: block number in the unit (u32
 * little-endian), length (u32 LE: 8192, less only for a short last block),
 * the block's bytes.
 *
 * backup.blockmap<ext> holds the SHA-256 of the blocks of relation units:
 * records of path length (u32 LE), path, part (i64 LE, -1 for a whole
 * file), block count (u32 LE), listed (u32 LE: 0xFFFFFFFF for a dense
 * record, every block's digest follows; else a sparse one: that many pairs
 * of block number (u32 LE) and digest follow, the blocks that changed since the backup referred to;
 * the others are the referred-to backup's). A full has a dense record per relation unit; a diff or
 * incr one for each unit it stored whole, a sparse one for each unit it stored a delta of, none for
 * an unchanged unit. Its SHA-256 and size are in the signed manifest.
 */
#ifndef WD_CATALOG_LAYERS_H
#define WD_CATALOG_LAYERS_H
#include <stdbool.h>
#include <stdint.h>

#include "catalog/manifest.h"
#include "repo/repo.h"

#define WD_BLOCK 8192
/* the most layers a line may name */
#define WD_LAYERS_MAX 16
/* a unit that has this many layers is stored whole by the next diff or
 * incr, so chains do not make restores read ever more objects per unit */
#define WD_LAYERS_KEEP 12
/* the most blocks of one unit (1 GiB; a relation segment is at most that) */
#define WD_UNIT_BLOCKS_MAX (1u << 17)
#define WD_DELTA_HEAD 8

typedef struct wd_layer {
    char id[32];
    char kind;    /* 'w' whole object, 'd' delta object, 'u' bundle member */
    int64_t part; /* the object's part, -1: a whole-file object; 'u': the bundle */
    uint64_t raw_size, stored_size;
    uint64_t offset; /* 'u': where the member starts in its bundle */
} wd_layer;

/* "-" gives *n = 0. WALDEN_ECORRUPT when malformed or more than
 * WD_LAYERS_MAX. */
int wd_layers_parse(const char *text, wd_layer *out, size_t *n);
/* The text of n >= 1 layers; -1 when it does not fit `cap` (or
 * WD_LAYERS_TEXT_MAX). */
int wd_layers_format(const wd_layer *l, size_t n, char *buf, size_t cap);
/* The layers of entry `e` of backup `id`: its own whole object when its
 * LAYERS is "-" (none when it is empty). */
int wd_entry_layers(const wd_manifest_entry *e, const char *id, wd_layer *out, size_t *n);

/* Fills map[0..nblocks) from `text` ("-": all from layer 0, only with one
 * layer). WALDEN_ECORRUPT when it does not cover exactly nblocks or names a
 * layer >= n_layers. */
int wd_map_parse(const char *text, size_t n_layers, uint8_t *map, uint64_t nblocks);
/* The runs of map[0..nblocks); "-" when every block is from layer 0. -1
 * when longer than `cap` or WD_MAP_TEXT_MAX. */
int wd_map_format(const uint8_t *map, uint64_t nblocks, char *buf, size_t cap);

/* Blocks of a unit of `size` bytes. */
static inline uint64_t wd_unit_blocks(uint64_t size)
{
    return (size + WD_BLOCK - 1) / WD_BLOCK;
}
void wd_block_digest(const uint8_t *data, size_t len, uint8_t out[32]);
/* The 'b' hash: SHA-256 of n digests. */
void wd_digests_hash(const uint8_t *digests, uint64_t n, uint8_t out[32]);
void wd_delta_head(uint8_t out[WD_DELTA_HEAD], uint32_t block, uint32_t len);

/* Where a layer's object is: "<cluster>/backup/<id>/..." Malloc'ed. */
char *wd_layer_object(const char *cluster, const wd_layer *l, const char *path, wd_compress c);
/* The same relative to the backup's folder ("data/...", "delta/...",
 * "bundle/N..."). Malloc'ed. */
char *wd_layer_object_rel(const wd_layer *l, const char *path, wd_compress c);
/* A source of layer `l`'s stored bytes at `object` (wd_layer_object): the
 * object, or for a bundle member its bytes in the bundle (repo/bundle.h).
 * WALDEN_ENOTFOUND when the object is missing. */
int wd_layer_open(walden_repo *repo, const wd_layer *l, const char *object, wd_source **out);

/* Reads a 'b' unit of backup `id` from its layers: calls `out` for every
 * block from the layer the map names (each block exactly once; when the
 * blocks not from the unit's main layer fit in 8 MiB they are read first
 * and held, and given out in block order among the main layer's, which
 * are in its own order: block order for a whole object or a delta written
 * by walden; else in the order the layers give them),
 * checking each block's length, and at the
 * end the SHA-256 over the block digests against the manifest's. Layers no
 * block comes from are not read. WALDEN_ECORRUPT naming the backup and the
 * file when anything does not match. */
typedef int (*wd_block_out)(void *ctx, uint64_t block, const uint8_t *data, size_t len);
int wd_unit_read(walden_repo *repo, wd_compress c, const char *id, const wd_manifest_entry *e,
                 wd_block_out out, void *ctx);

#define WD_BLOCKMAP_DENSE UINT32_MAX
/* A block map record's head (room in `buf`: 20 + path): `listed`
 * WD_BLOCKMAP_DENSE for a dense record, else the number of (block, digest)
 * pairs that follow. */
size_t wd_blockmap_head(uint8_t *buf, const char *path, int64_t part, uint32_t nblocks,
                        uint32_t listed);
/* A pair of a sparse record. */
void wd_blockmap_pair(uint8_t out[36], uint32_t block, const uint8_t digest[32]);
/* A sink parsing a block map: `begin` for each record's head, `digest` for
 * each digest (block by block, in the record's order). WALDEN_ECORRUPT when
 * malformed. */
typedef struct wd_blockmap_cb {
    int (*begin)(void *ctx, const char *path, int64_t part, uint32_t nblocks, bool sparse);
    int (*digest)(void *ctx, uint32_t block, const uint8_t digest[32]);
    void *ctx;
} wd_blockmap_cb;
int wd_blockmap_sink_open(wd_sink **out, const wd_blockmap_cb *cb);
#endif
