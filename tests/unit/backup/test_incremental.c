/*
 * test_incremental.c - diff and incr backups (backup/store.c,
 * backup/reference.c) and the restore of their chains, against the
 * scripted server of fake_pg.h, a data directory written by the test and a
 * real local repository: exactly which blocks each backup stores, the
 * layers and maps its manifest records, that a chain restores the data
 * directory byte for byte, and the refusals. test_incremental.sh does the
 * same against real servers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/layers.h"
#include "common/common.h"
#include "fake_pg.h"
#include "pg/pg.h"
#include "repo/repo.h"
#include "testutil.h"

#define SYSID_TEXT "7312345678901234567"
static const uint64_t SYSID = 7312345678901234567ull;
#define SEG (1u << 20)
#define WAL_NAME "000000010000000000000020"
#define LABEL "START WAL LOCATION: 0/2000028 (file " WAL_NAME ")\n"

typedef struct fixture {
    tu_area a;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_area_setup(&f->a, SYSID);
    assert_ok(walden_config_set(f->a.cfg, "archive-timeout", "0s", WALDEN_SOURCE_FLAG));
    tu_push_segment(&f->a, WAL_NAME, SEG);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_area_teardown(&f->a);
    free(f);
    return 0;
}

/* A relation file of `blocks` blocks (the last `short_last` bytes long
 * when not 0), block i filled from seed + i. */
static void write_relation(fixture *f, const char *rel, int blocks, size_t short_last,
                           uint32_t seed)
{
    size_t len = (size_t)blocks * WD_BLOCK - (short_last ? WD_BLOCK - short_last : 0);
    uint8_t *buf = malloc(len + 1);
    for (int i = 0; i < blocks; i++) {
        size_t n = len - (size_t)i * WD_BLOCK < WD_BLOCK ? len - (size_t)i * WD_BLOCK : WD_BLOCK;
        tu_fill(buf + (size_t)i * WD_BLOCK, n, seed + (uint32_t)i, 0);
    }
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", f->a.pgdata, rel);
    assert_int_equal(tu_system("mkdir -p \"$(dirname '%s')\"", path), 0);
    tu_write_file(path, buf, len);
    free(buf);
}

/* Changes block `block` of a relation file in place. */
static void touch_block(fixture *f, const char *rel, int block, uint32_t seed)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", f->a.pgdata, rel);
    size_t len = 0;
    uint8_t *buf = tu_read_file(path, &len);
    assert_true((size_t)(block + 1) * WD_BLOCK <= len);
    tu_fill(buf + (size_t)block * WD_BLOCK, WD_BLOCK, seed, 0);
    tu_write_file(path, buf, len);
    free(buf);
}

/* Changes blocks [from, to) of a relation file in place, block b from
 * seed + b. */
static void touch_range(fixture *f, const char *rel, int from, int to, uint32_t seed)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", f->a.pgdata, rel);
    size_t len = 0;
    uint8_t *buf = tu_read_file(path, &len);
    assert_true((size_t)to * WD_BLOCK <= len);
    for (int b = from; b < to; b++)
        tu_fill(buf + (size_t)b * WD_BLOCK, WD_BLOCK, seed + (uint32_t)b, 0);
    tu_write_file(path, buf, len);
    free(buf);
}

static void truncate_to(fixture *f, const char *rel, int blocks)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", f->a.pgdata, rel);
    assert_int_equal(truncate(path, (off_t)blocks * WD_BLOCK), 0);
}

static void write_text(fixture *f, const char *rel, const char *text)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", f->a.pgdata, rel);
    assert_int_equal(tu_system("mkdir -p \"$(dirname '%s')\"", path), 0);
    tu_write_file(path, text, strlen(text));
}

/* One backup of `type` through the scripted server; its id in `id`.
 * `refused`: the backup is expected to stop before pg_backup_start. */
static int backup_ex(fixture *f, const char *type, char id[32], bool refused)
{
    assert_ok(walden_config_set(f->a.cfg, "type", type, WALDEN_SOURCE_FLAG));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    fake_pg_begin(150010);
    fake_pg_answer("pg_control_system()", 1, SYSID_TEXT, NULL);
    fake_pg_answer("current_setting('data_checksums')", 1, "off", NULL);
    fake_pg_answer("SELECT current_setting('archive_mode'), ", 3, "on", "walden archive-push %p",
                   "", NULL);
    if (!refused) {
        fake_pg_answer("pg_backup_start($1, $2)", 2, "0/2000028", "1796540400123", NULL);
        fake_pg_answer("FROM pg_walfile_name_offset($1::pg_lsn)", 2, WAL_NAME, "1", NULL);
        fake_pg_answer("pg_snapshot_xmin(pg_current_snapshot())", 1, "750", NULL);
        fake_pg_answer("FROM pg_backup_stop(false)", 5, "0/2000138", LABEL, FAKE_PG_NULL, WAL_NAME,
                       "1796540460456", NULL);
        fake_pg_answer("name = 'wal_segment_size'", 1, "1048576", NULL);
    }
    walden_backup_info *b = NULL;
    int rc = walden_backup(repo, f->a.cfg, NULL, NULL, &b);
    fake_pg_end();
    if (!rc) {
        snprintf(id, 32, "%s", b->id);
        walden_backup_info_free(b);
    }
    walden_repo_close(repo);
    return rc;
}

static int backup(fixture *f, const char *type, char id[32])
{
    return backup_ex(f, type, id, false);
}

/* The manifest line of `path` in backup `id`: its layers and map. */
typedef struct found {
    const char *path;
    char hash;
    char layers[WD_LAYERS_TEXT_MAX + 1];
    char map[WD_MAP_TEXT_MAX + 1];
    uint64_t stored_size;
    bool seen;
} found;

static int find_line(const wd_manifest_entry *e, void *ctx)
{
    found *x = ctx;
    if (e->type == 'f' && strcmp(e->path, x->path) == 0) {
        x->seen = true;
        x->hash = e->hash;
        snprintf(x->layers, sizeof(x->layers), "%s", e->layers);
        snprintf(x->map, sizeof(x->map), "%s", e->map);
        x->stored_size = e->stored_size;
    }
    return 0;
}

static found line_of(fixture *f, const char *id, const char *path, wd_backup_meta *m)
{
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    found x = {.path = path};
    wd_backup_meta local = {0};
    assert_ok(wd_backup_read_manifest(repo, id, m ? m : &local, find_line, &x));
    wd_backup_meta_clear(&local);
    walden_repo_close(repo);
    assert_true(x.seen);
    return x;
}

/* "ID1:K:...,ID2:K:..." -> the ids and kinds as "ID1:K,ID2:K". */
static void layer_ids(const char *layers, char *out, size_t cap)
{
    wd_layer l[WD_LAYERS_MAX];
    size_t n = 0;
    assert_ok(wd_layers_parse(layers, l, &n));
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%.31s:%c", i ? "," : "", l[i].id,
                 l[i].kind);
}

/* Restores backup `id` into DIR/<id> and compares every file the test
 * wrote with the data directory. */
static void restore_and_compare(fixture *f, const char *id, const char *const *rels, size_t n)
{
    char target[4300];
    snprintf(target, sizeof(target), "%s/restored-%s", f->a.dir, id);
    walden_config *cfg = tu_area_config(f->a.dir, f->a.repo, target, NULL);
    assert_ok(walden_config_set(cfg, "set", id, WALDEN_SOURCE_FLAG));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));
    assert_ok(walden_restore(repo, cfg, "false", NULL, NULL, NULL));
    for (size_t i = 0; i < n; i++) {
        char a[8400], b[8400];
        snprintf(a, sizeof(a), "%s/%s", f->a.pgdata, rels[i]);
        snprintf(b, sizeof(b), "%s/%s", target, rels[i]);
        size_t la = 0, lb = 0;
        uint8_t *da = tu_read_file(a, &la), *db = tu_read_file(b, &lb);
        if (la != lb || memcmp(da, db, la) != 0)
            fail_msg("%s: restored '%s' differs (%zu bytes, expected %zu)", id, rels[i], lb, la);
        free(da);
        free(db);
    }
    walden_repo_close(repo);
    walden_config_free(cfg);
}

static const char *const RELS[] = {"base/5/16384", "base/5/16385", "base/5/16386", "pg_xact/0000",
                                   "pg_ident.conf"};

static void test_chain(void **state)
{
    fixture *f = *state;
    char full[32], i1[32], i2[32], d1[32], want[256], got[256];
    write_relation(f, "base/5/16384", 3, 0, 100);
    write_relation(f, "base/5/16385", 80, 0, 200); /* more than one read chunk */
    write_text(f, "pg_xact/0000", "commit status\n");
    write_text(f, "pg_ident.conf", "map1 u1 u1\n");
    assert_ok(backup(f, "full", full));
    found x = line_of(f, full, "base/5/16384", NULL);
    assert_int_equal(x.hash, 'b');
    assert_string_equal(x.layers, "-");
    assert_int_equal(line_of(f, full, "pg_xact/0000", NULL).hash, (int)'w');

    /* one block of 16384, a truncation and one block of 16385, a new file,
     * a changed configuration, pg_xact unchanged */
    touch_block(f, "base/5/16384", 1, 900);
    truncate_to(f, "base/5/16385", 50);
    touch_block(f, "base/5/16385", 10, 901);
    write_relation(f, "base/5/16386", 2, 1000, 300); /* a short last block */
    write_text(f, "pg_ident.conf", "map1 u1 u2\n");
    assert_ok(backup(f, "incr", i1));
    wd_backup_meta m = {0};
    x = line_of(f, i1, "base/5/16384", &m);
    assert_string_equal(m.type, "incr");
    assert_string_equal(m.reference, full);
    assert_int_equal(m.format, 2);
    assert_true(m.blockmap_size > 0);
    wd_backup_meta_clear(&m);
    layer_ids(x.layers, got, sizeof(got));
    snprintf(want, sizeof(want), "%s:w,%s:d", full, i1);
    assert_string_equal(got, want);
    assert_string_equal(x.map, "0*1,1*1,0*1");
    /* the delta holds one block: its record and the block */
    wd_layer l[WD_LAYERS_MAX];
    size_t n = 0;
    assert_ok(wd_layers_parse(x.layers, l, &n));
    assert_int_equal(l[1].raw_size, WD_DELTA_HEAD + WD_BLOCK);
    x = line_of(f, i1, "base/5/16385", NULL);
    assert_string_equal(x.map, "0*10,1*1,0*39");
    x = line_of(f, i1, "base/5/16386", NULL);
    assert_string_equal(x.layers, "-"); /* new: whole */
    x = line_of(f, i1, "pg_xact/0000", NULL);
    snprintf(want, sizeof(want), "%s:w", full);
    layer_ids(x.layers, got, sizeof(got));
    assert_string_equal(got, want); /* unchanged: the full's object */
    assert_string_equal(x.map, "-");
    assert_int_equal(x.stored_size, 0);
    x = line_of(f, i1, "pg_ident.conf", NULL);
    assert_string_equal(x.layers, "-"); /* changed: whole */
    restore_and_compare(f, i1, RELS, WD_ARRAY_LEN(RELS));

    /* 16384's block 1 again and block 2: the first incr's delta is no
     * longer needed for it */
    touch_block(f, "base/5/16384", 1, 902);
    touch_block(f, "base/5/16384", 2, 903);
    assert_ok(backup(f, "incr", i2));
    x = line_of(f, i2, "base/5/16384", NULL);
    layer_ids(x.layers, got, sizeof(got));
    snprintf(want, sizeof(want), "%s:w,%s:d", full, i2);
    assert_string_equal(got, want);
    assert_string_equal(x.map, "0*1,1*2");
    x = line_of(f, i2, "base/5/16385", NULL); /* unchanged: the first incr's layers */
    snprintf(want, sizeof(want), "%s:w,%s:d", full, i1);
    layer_ids(x.layers, got, sizeof(got));
    assert_string_equal(got, want);
    assert_string_equal(x.map, "0*10,1*1,0*39");
    assert_int_equal(x.stored_size, 0);
    restore_and_compare(f, i2, RELS, WD_ARRAY_LEN(RELS));

    /* a diff refers to the full, whatever came after it */
    assert_ok(backup(f, "diff", d1));
    x = line_of(f, d1, "base/5/16384", &m);
    assert_string_equal(m.reference, full);
    wd_backup_meta_clear(&m);
    snprintf(want, sizeof(want), "%s:w,%s:d", full, d1);
    layer_ids(x.layers, got, sizeof(got));
    assert_string_equal(got, want);
    assert_string_equal(x.map, "0*1,1*2");
    restore_and_compare(f, d1, RELS, WD_ARRAY_LEN(RELS));

    /* a chain missing an object is refused, naming the file */
    char path[8400];
    snprintf(path, sizeof(path), "%s/main/backup/%s/delta/base/5/16385.zst", f->a.repo, i1);
    assert_int_equal(unlink(path), 0);
    char target[4300];
    snprintf(target, sizeof(target), "%s/broken", f->a.dir);
    walden_config *cfg = tu_area_config(f->a.dir, f->a.repo, target, NULL);
    assert_ok(walden_config_set(cfg, "set", i2, WALDEN_SOURCE_FLAG));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));
    assert_rc(walden_restore(repo, cfg, "false", NULL, NULL, NULL), WALDEN_ECORRUPT);
    assert_non_null(strstr(walden_error_last()->message, "is missing its file 'base/5/16385'"));
    walden_repo_close(repo);
    walden_config_free(cfg);
}

/* A full and an incr (uncompressed, unencrypted) whose delta of
 * base/5/16384 holds block 2 alone; the incr's id in `i1`, the delta's
 * path in `path` and its bytes returned (*len of them). */
static uint8_t *one_block_delta(fixture *f, char i1[32], char path[8400], size_t *len)
{
    char full[32];
    assert_ok(walden_config_set(f->a.cfg, "compress", "none", WALDEN_SOURCE_FLAG));
    write_relation(f, "base/5/16384", 4, 0, 100);
    assert_ok(backup(f, "full", full));
    touch_block(f, "base/5/16384", 2, 900);
    assert_ok(backup(f, "incr", i1));
    snprintf(path, 8400, "%s/main/backup/%s/delta/base/5/16384", f->a.repo, i1);
    uint8_t *d = tu_read_file(path, len);
    assert_int_equal(*len, WD_DELTA_HEAD + WD_BLOCK);
    return d;
}

/* A byte changed in a delta object: the restore refuses the file. */
static void test_forged_delta(void **state)
{
    fixture *f = *state;
    char i1[32], path[8400];
    size_t len = 0;
    uint8_t *d = one_block_delta(f, i1, path, &len);
    d[WD_DELTA_HEAD + 100] ^= 0xff;
    tu_write_file(path, d, len);
    free(d);
    char target[4300];
    snprintf(target, sizeof(target), "%s/forged", f->a.dir);
    walden_config *cfg = tu_area_config(f->a.dir, f->a.repo, target, NULL);
    assert_ok(walden_config_set(cfg, "set", i1, WALDEN_SOURCE_FLAG));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));
    assert_rc(walden_restore(repo, cfg, "false", NULL, NULL, NULL), WALDEN_ECORRUPT);
    assert_non_null(strstr(walden_error_last()->message,
                           "its blocks do not match the SHA-256 of its signed manifest"));
    walden_repo_close(repo);
    walden_config_free(cfg);
}

/* No backup to refer to: a full, said so; or, asked, a refusal. */
/* What wd_unit_read gives out for one unit: each block once, its bytes
 * checked against the data directory's file, and whether they came in
 * block order. */
typedef struct unit_seen {
    const uint8_t *want;
    size_t want_len;
    uint8_t *count;
    uint64_t last, blocks;
    bool ascending, first;
} unit_seen;

static int unit_out(void *ctx, uint64_t block, const uint8_t *data, size_t len)
{
    unit_seen *u = ctx;
    assert_true(block < u->blocks);
    assert_true((size_t)block * WD_BLOCK + len <= u->want_len);
    assert_memory_equal(data, u->want + block * WD_BLOCK, len);
    u->count[block]++;
    if (!u->first && block <= u->last)
        u->ascending = false;
    u->first = false;
    u->last = block;
    return 0;
}

typedef struct entry_copy {
    const char *path;
    wd_manifest_entry e;
    char layers[WD_LAYERS_TEXT_MAX + 1];
    char map[WD_MAP_TEXT_MAX + 1];
} entry_copy;

static int copy_entry(const wd_manifest_entry *e, void *ctx)
{
    entry_copy *c = ctx;
    if (e->type == 'f' && strcmp(e->path, c->path) == 0) {
        c->e = *e;
        snprintf(c->layers, sizeof(c->layers), "%s", e->layers);
        snprintf(c->map, sizeof(c->map), "%s", e->map);
        c->e.layers = c->layers;
        c->e.map = c->map;
        c->e.path = c->path;
    }
    return 0;
}

/* Reads `rel` of backup `id` as restore does; returns whether its blocks
 * came in order, after checking each came once with the right bytes. */
static bool read_unit(fixture *f, const char *id, const char *rel)
{
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    entry_copy c = {.path = rel};
    wd_backup_meta m = {0};
    assert_ok(wd_backup_read_manifest(repo, id, &m, copy_entry, &c));
    wd_backup_meta_clear(&m);
    assert_int_equal(c.e.hash, 'b');
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", f->a.pgdata, rel);
    unit_seen u = {.ascending = true, .first = true};
    uint8_t *want = tu_read_file(path, &u.want_len);
    u.want = want;
    assert_int_equal(c.e.size, u.want_len);
    u.blocks = wd_unit_blocks(c.e.size);
    u.count = calloc(u.blocks + 1, 1);
    assert_ok(wd_unit_read(repo, repo->compress, id, &c.e, unit_out, &u));
    for (uint64_t b = 0; b < u.blocks; b++)
        if (u.count[b] != 1)
            fail_msg("block %llu given out %d times", (unsigned long long)b, u.count[b]);
    free(u.count);
    free(want);
    walden_repo_close(repo);
    return u.ascending;
}

/* A delta record moved to another block (one the full gives): the block
 * the map names is missing, and the restore says so without giving out
 * anything for it. */
typedef struct moved_seen {
    int calls, empty;
} moved_seen;

static int moved_out(void *ctx, uint64_t block, const uint8_t *data, size_t len)
{
    (void)block;
    (void)data;
    moved_seen *m = ctx;
    m->calls++;
    m->empty += len == 0;
    return 0;
}

static void test_moved_record(void **state)
{
    fixture *f = *state;
    char i1[32], path[8400];
    size_t len = 0;
    uint8_t *d = one_block_delta(f, i1, path, &len);
    assert_int_equal(d[0], 2); /* the record's block, little-endian */
    d[0] = 0;
    tu_write_file(path, d, len);
    free(d);
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, f->a.cfg));
    entry_copy c = {.path = "base/5/16384"};
    wd_backup_meta m = {0};
    assert_ok(wd_backup_read_manifest(repo, i1, &m, copy_entry, &c));
    wd_backup_meta_clear(&m);
    moved_seen seen = {0};
    assert_rc(wd_unit_read(repo, repo->compress, i1, &c.e, moved_out, &seen), WALDEN_ECORRUPT);
    assert_non_null(
        strstr(walden_error_last()->message, "a block is missing from its layer (block 2)"));
    assert_int_equal(seen.calls, 2); /* blocks 0 and 1, from the full */
    assert_int_equal(seen.empty, 0);
    walden_repo_close(repo);
}

/* A unit of a chain is given out in block order (the later layers' few
 * blocks held and merged into the full's stream), so restore writes each
 * file front to back; with more changed blocks than are held, every block
 * still comes once and the chain restores exactly. */
static void test_block_order(void **state)
{
    fixture *f = *state;
    static const char *const rels[] = {"base/5/16390"};
    char full[32], i1[32], i2[32], i3[32], i4[32];
    write_relation(f, rels[0], 2200, 0, 100);
    assert_ok(backup(f, "full", full));
    assert_true(read_unit(f, full, rels[0]));
    touch_block(f, rels[0], 5, 900);
    touch_block(f, rels[0], 700, 901);
    touch_block(f, rels[0], 1299, 902);
    assert_ok(backup(f, "incr", i1));
    touch_block(f, rels[0], 700, 903);
    touch_block(f, rels[0], 10, 904);
    assert_ok(backup(f, "incr", i2));
    found x = line_of(f, i2, rels[0], NULL);
    assert_string_equal(x.map, "0*5,1*1,0*4,2*1,0*689,2*1,0*598,1*1,0*900");
    /* in layer order, 5 and 1299 (the first incr) would come after the
     * full's blocks and before 10 and 700 (the second) */
    assert_true(read_unit(f, i2, rels[0]));
    restore_and_compare(f, i2, rels, 1);
    /* 1,150 blocks of 2,200 changed: the incr's delta gives the most
     * blocks, and the 1,050 others are more than the 8 MiB held */
    touch_range(f, rels[0], 1300, 2200, 5000);
    assert_ok(backup(f, "incr", i3));
    touch_range(f, rels[0], 50, 1200, 7000);
    assert_ok(backup(f, "incr", i4));
    x = line_of(f, i4, rels[0], NULL);
    assert_string_equal(x.map, "0*5,1*1,0*4,2*1,0*39,4*1150,0*99,1*1,3*900");
    assert_false(read_unit(f, i4, rels[0]));
    restore_and_compare(f, i4, rels, 1);
}

static void test_fallback(void **state)
{
    fixture *f = *state;
    char id[32];
    write_relation(f, "base/5/16384", 2, 0, 100);
    assert_ok(walden_config_set(f->a.cfg, "full-fallback", "no", WALDEN_SOURCE_FLAG));
    assert_rc(backup_ex(f, "incr", id, true), WALDEN_ENOTFOUND);
    assert_string_equal(walden_error_last()->message,
                        "no backup for --type incr to refer to (the repository has no backup of "
                        "this cluster); take a full backup, or let walden do so (full-fallback "
                        "= yes)");
    assert_ok(walden_config_set(f->a.cfg, "full-fallback", "yes", WALDEN_SOURCE_FLAG));
    assert_ok(backup(f, "diff", id));
    wd_backup_meta m = {0};
    line_of(f, id, "base/5/16384", &m);
    assert_string_equal(m.type, "full");
    assert_string_equal(m.reference, "");
    wd_backup_meta_clear(&m);
    /* another compression: no reference */
    assert_ok(walden_config_set(f->a.cfg, "compress", "gzip", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(f->a.cfg, "full-fallback", "no", WALDEN_SOURCE_FLAG));
    assert_rc(backup_ex(f, "incr", id, true), WALDEN_ENOTFOUND);
    assert_non_null(strstr(walden_error_last()->message, "is compressed with zstd"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_delta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_moved_record, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
