/*
 * testutil.h - helpers shared by the unit tests: temporary directories,
 * deterministic test data, and cmocka glue.
 */
#ifndef WALDEN_TESTUTIL_H
#define WALDEN_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Asserts that a libwalden call returned `code`, printing the last error. */
#define assert_rc(expr, code)                                                                      \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (code))                                                                         \
            print_error("%s: got %d (%s), expected %d\n", #expr, rc_,                              \
                        walden_error_last()->message, (int)(code));                                \
        assert_int_equal(rc_, (code));                                                             \
    } while (0)
#define assert_ok(expr) assert_rc(expr, 0)

/* A fresh empty directory under $WALDEN_TEST_TMP (or /tmp); malloc'ed path.
 * tu_rmdir_r removes it again. */
char *tu_mkdtemp(void);
void tu_rmdir_r(const char *path);

/* Fills buf with deterministic bytes: `compressible` repeats short runs,
 * otherwise pseudo-random from the seed. */
void tu_fill(uint8_t *buf, size_t len, uint32_t seed, int compressible);

/* Writes / reads a whole file; abort the test on failure. */
void tu_write_file(const char *path, const void *data, size_t len);
uint8_t *tu_read_file(const char *path, size_t *len);

/* Runs a shell command; returns its exit status (or -1). */
int tu_system(const char *fmt, ...);

/* A data directory as far as init reads it: PG_VERSION holding `major` and
 * a global/pg_control that starts with `sysid`. */
void tu_fake_pgdata(const char *pgdata, uint64_t sysid, int major);

struct walden_config;
/* A configuration for the area "main" of `repo`, data directory `pgdata`,
 * its signing key file in `dir`; encrypted with `passphrase` when set. */
struct walden_config *tu_area_config(const char *dir, const char *repo, const char *pgdata,
                                     const char *passphrase);

/* A cluster's area for tests of commands: a temporary directory with a
 * data directory of PostgreSQL 15 with system identifier `sysid`
 * (tu_fake_pgdata) and an initialized repository of the area "main",
 * whose config (locks in the directory too) is cfg. */
typedef struct tu_area {
    char *dir;
    char repo[4096], pgdata[4096];
    uint64_t sysid;
    struct walden_config *cfg;
} tu_area;
void tu_area_setup(tu_area *a, uint64_t sysid);
void tu_area_teardown(tu_area *a);
/* Archives WAL segment `name` of the area's cluster (PostgreSQL 15, size
 * seg_size): a long page header, zeros after it. */
void tu_push_segment(const tu_area *a, const char *name, uint32_t seg_size);

struct walden_repo;
/* A complete backup `id` of area "main" as the catalogue lists one,
 * written by hand into the repository at `repo_dir` (posix): an empty
 * manifest and a signed backup.info of `type` ("full", "diff", "incr")
 * referring to `reference` ("" for a full), status ok, timeline 1, start
 * WAL 000000010000000000000010, started a minute before `stop_ms`. Commands
 * that read only summaries (expire, metrics, info, the lister) take it for
 * a backup. */
void tu_put_backup(struct walden_repo *repo, const char *repo_dir, const char *id, const char *type,
                   const char *reference, int64_t stop_ms);

#endif
