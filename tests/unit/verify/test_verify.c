/*
 * test_verify.c - verify/verify.c: walden_verify on real repositories in a
 * temporary directory (plain zstd, and encrypted with and without the
 * passphrase), with synthetic WAL segments pushed through archive-push and
 * a backup and a dump written the way backup and dump write them. Each
 * kind of damage must be reported once, as its kind, naming its file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/common.h"
#include "repo/repo.h"
#include "testutil.h"
#include "walden/walden.h"

#define SEG (1u << 20)
#define BACKUP_ID "20260101T000000Z"
#define DUMP_ID "20260101T000001Z-app"
static const uint64_t SYSID = 7312345678901234567ull;

typedef struct fixture {
    char *dir;
    char repo[512], pgdata[512], in[512];
    const char *passphrase; /* the repository's; NULL: not encrypted */
} fixture;

/* ---- building a repository ---- */

static walden_config *make_config(fixture *f, const char *passphrase)
{
    walden_config *cfg = tu_area_config(f->dir, f->repo, f->pgdata, passphrase);
    assert_ok(walden_config_set(cfg, "process-max", "2", WALDEN_SOURCE_FLAG));
    /* the locks in the test's folder, not in the host's /run/walden */
    char locks[600];
    snprintf(locks, sizeof(locks), "%s/locks", f->dir);
    assert_ok(walden_config_set(cfg, "lock-path", locks, WALDEN_SOURCE_FLAG));
    return cfg;
}

static void push_segment(walden_repo *repo, fixture *f, uint32_t segno)
{
    char name[32], path[600];
    snprintf(name, sizeof(name), "00000001%08X%08X", 0u, segno);
    snprintf(path, sizeof(path), "%s/%s", f->in, name);
    uint8_t *buf = malloc(SEG);
    tu_fill(buf, SEG, segno, 1);
    uint16_t magic = 0xD110, info = 2;
    uint32_t tli = 1, seg_size = SEG, blcksz = 8192;
    uint64_t addr = (uint64_t)segno * SEG;
    memset(buf, 0, 40);
    memcpy(buf, &magic, 2);
    memcpy(buf + 2, &info, 2);
    memcpy(buf + 4, &tli, 4);
    memcpy(buf + 8, &addr, 8);
    memcpy(buf + 24, &SYSID, 8);
    memcpy(buf + 32, &seg_size, 4);
    memcpy(buf + 36, &blcksz, 4);
    tu_write_file(path, buf, SEG);
    free(buf);
    assert_ok(walden_archive_push(repo, path, NULL));
}

/* Stores `text` at `path` through the store pipeline. */
static void store(walden_repo *repo, const char *path, const char *text, uint8_t raw[32],
                  uint64_t *raw_size, uint8_t stored[32], uint64_t *stored_size)
{
    wd_sink *sink;
    wd_repo_stream st;
    assert_ok(wd_storage_open_write(repo->storage, path, &sink));
    assert_ok(wd_repo_store_begin(repo, sink, &st));
    assert_ok(wd_pipe_write(st.pipe, (const uint8_t *)text, strlen(text)));
    assert_ok(wd_pipe_end(st.pipe));
    wd_hash_filter_result(st.raw_hash, raw, raw_size);
    wd_hash_filter_result(st.stored_hash, stored, stored_size);
    assert_ok(wd_pipe_commit(st.pipe, NULL));
    wd_pipe_free(st.pipe);
}

/* A backup of two files needing segments 2 to 3, written like backup.c
 * writes one: objects, backup.stored, manifest, backup.info. */
static void make_backup(walden_repo *repo)
{
    const char *prefix = "main/backup/" BACKUP_ID;
    const char *paths[] = {"PG_VERSION", "base/1/1259"};
    const char *texts[] = {"15\n", "some table data, repeated some table data"};
    wd_backup_meta m = {0};
    snprintf(m.id, sizeof(m.id), "%s", BACKUP_ID);
    snprintf(m.type, sizeof(m.type), "full");
    snprintf(m.status, sizeof(m.status), "ok");
    snprintf(m.compress, sizeof(m.compress), "%s", wd_compress_name(repo->compress));
    snprintf(m.start_wal, sizeof(m.start_wal), "000000010000000000000002");
    snprintf(m.stop_wal, sizeof(m.stop_wal), "000000010000000000000003");
    m.pub.encrypted = repo->info.encrypted;
    m.pub.timeline = 1;
    m.pub.system_id = SYSID;
    m.complete = 1;
    wd_backup_meta_link(&m);

    char *stored_text = wd_asprintf("# walden backup stored objects\nformat = 1\nid = %s\n"
                                    "[objects]\n",
                                    BACKUP_ID);
    char *mpath = wd_asprintf("%s/backup.manifest%s", prefix, wd_compress_ext(repo->compress));
    wd_sink *msink;
    wd_repo_stream ms;
    assert_ok(wd_storage_open_write(repo->storage, mpath, &msink));
    assert_ok(wd_repo_store_begin(repo, msink, &ms));
    assert_ok(wd_backup_meta_write_start(ms.pipe, &m));
    assert_ok(wd_pipe_write(ms.pipe, (const uint8_t *)"[files]\n", 8));
    for (size_t i = 0; i < WD_ARRAY_LEN(paths); i++) {
        wd_manifest_entry e = {.type = 'f', .mode = 0600, .path = paths[i], .link = ""};
        char *object = wd_backup_object(prefix, paths[i], -1, repo->compress);
        store(repo, object, texts[i], e.raw_sha256, &e.size, e.stored_sha256, &e.stored_size);
        char line[8192];
        int n = wd_manifest_entry_format(&e, line, sizeof(line));
        assert_true(n > 0);
        assert_ok(wd_pipe_write(ms.pipe, (const uint8_t *)line, (size_t)n));
        char *rel = wd_backup_object_rel(paths[i], -1, repo->compress);
        n = wd_stored_line_format(e.stored_sha256, e.stored_size, rel, line, sizeof(line));
        char *more = wd_asprintf("%s%s", stored_text, line);
        wd_free(stored_text);
        stored_text = more;
        wd_free(rel);
        wd_free(object);
    }
    assert_ok(wd_backup_meta_write_end(ms.pipe, &m));
    {
        uint8_t body[32];
        char sig[WD_SIG_LINE_LEN + 1];
        wd_area_id area;
        wd_repo_area(repo, &area);
        assert_ok(wd_hash_filter_peek(ms.raw_hash, body));
        assert_ok(wd_sign_text_line(repo->sign_priv, &area, "backup/" BACKUP_ID "/backup.manifest",
                                    body, sig));
        assert_ok(wd_pipe_write(ms.pipe, (const uint8_t *)sig, strlen(sig)));
    }
    assert_ok(wd_pipe_end(ms.pipe));
    uint8_t sha[32];
    uint64_t size;
    wd_hash_filter_result(ms.stored_hash, sha, &size);
    char line[512];
    int n = wd_stored_line_format(sha, size, mpath + strlen(prefix) + 1, line, sizeof(line));
    assert_true(n > 0);
    char *all = wd_asprintf("%s%s[end]\ncomplete = yes\n", stored_text, line);
    char *spath = wd_asprintf("%s/backup.stored", prefix);
    assert_ok(wd_repo_write_signed(repo, spath, all, strlen(all)));
    assert_ok(wd_pipe_commit(ms.pipe, NULL));
    wd_pipe_free(ms.pipe);
    char *info = wd_backup_meta_text(&m);
    char *ipath = wd_asprintf("%s/backup.info", prefix);
    assert_ok(wd_repo_write_signed(repo, ipath, info, strlen(info)));
    wd_free(info);
    wd_free(ipath);
    wd_free(all);
    wd_free(spath);
    wd_free(stored_text);
    wd_free(mpath);
}

static void make_dump(walden_repo *repo)
{
    wd_dump_meta m = {0};
    snprintf(m.id, sizeof(m.id), "%s", DUMP_ID);
    snprintf(m.kind, sizeof(m.kind), "database");
    snprintf(m.status, sizeof(m.status), "ok");
    snprintf(m.compress, sizeof(m.compress), "%s", wd_compress_name(repo->compress));
    m.database = wd_strdup("app");
    m.pub.encrypted = repo->info.encrypted;
    char *object = wd_dump_object(repo, &m);
    store(repo, object, "PGDMP pretend custom format", m.raw_sha256, &m.pub.size, m.stored_sha256,
          &m.pub.stored_size);
    char *text = wd_dump_meta_text(&m);
    char *path = wd_asprintf("main/dump/%s/dump.manifest", DUMP_ID);
    assert_ok(wd_repo_write_signed(repo, path, text, strlen(text)));
    wd_free(path);
    wd_free(text);
    wd_free(object);
    wd_dump_meta_clear(&m);
}

static int setup_with(void **state, const char *passphrase)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_mkdtemp();
    f->passphrase = passphrase;
    snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
    snprintf(f->pgdata, sizeof(f->pgdata), "%s/pgdata", f->dir);
    snprintf(f->in, sizeof(f->in), "%s/in", f->dir);
    assert_int_equal(tu_system("mkdir -p '%s'", f->in), 0);
    tu_fake_pgdata(f->pgdata, SYSID, 15);
    walden_config *cfg = make_config(f, passphrase);
    assert_ok(walden_repo_init(cfg));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));
    for (uint32_t s = 1; s <= 5; s++)
        push_segment(repo, f, s);
    make_backup(repo);
    make_dump(repo);
    walden_repo_close(repo);
    walden_config_free(cfg);
    *state = f;
    return 0;
}

static int setup_plain(void **state)
{
    return setup_with(state, NULL);
}

static int setup_encrypted(void **state)
{
    return setup_with(state, "correct horse");
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmdir_r(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- running verify ---- */

typedef struct seen {
    int n;
    walden_verify_kind kind[16];
    char object[16][512];
    char message[16][512];
} seen;

static int collect(const walden_verify_problem *p, void *ctx)
{
    seen *s = ctx;
    if (s->n < 16) {
        s->kind[s->n] = p->kind;
        snprintf(s->object[s->n], sizeof(s->object[0]), "%s", p->object);
        snprintf(s->message[s->n], sizeof(s->message[0]), "%s", p->message);
    }
    s->n++;
    return 0;
}

/* Runs verify with `passphrase` (NULL: none) and `set`. */
static int run_verify(fixture *f, const char *passphrase, const char *set, seen *s,
                      walden_verify_result *res)
{
    walden_config *cfg = make_config(f, passphrase);
    if (set)
        assert_ok(walden_config_set(cfg, "set", set, WALDEN_SOURCE_FLAG));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));
    memset(s, 0, sizeof(*s));
    int rc = walden_verify(repo, cfg, NULL, NULL, collect, s, res);
    walden_repo_close(repo);
    walden_config_free(cfg);
    return rc;
}

/* The one problem reported must be of `kind`, on an object ending in
 * `suffix`. */
static void expect_one(const seen *s, const walden_verify_result *res, walden_verify_kind kind,
                       const char *suffix)
{
    if (s->n != 1 || s->kind[0] != kind || !wd_str_ends_with(s->object[0], suffix)) {
        for (int i = 0; i < s->n && i < 16; i++)
            fprintf(stderr, "problem %d: kind %d, %s: %s\n", i, s->kind[i], s->object[i],
                    s->message[i]);
        fail_msg("expected one problem of kind %d on '...%s'", kind, suffix);
    }
    assert_int_equal(res->problems, 1);
}

/* The stored file of the repository whose name contains `part`. */
static char *find_file(fixture *f, const char *part)
{
    char cmd[1024], line[1024];
    snprintf(cmd, sizeof(cmd), "find '%s' -type f -path '*%s*' | head -1", f->repo, part);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(line, sizeof(line), p));
    pclose(p);
    line[strcspn(line, "\n")] = '\0';
    return strdup(line);
}

static void flip_byte(const char *path)
{
    size_t len;
    uint8_t *data = tu_read_file(path, &len);
    data[len / 2] ^= 0x01;
    tu_write_file(path, data, len);
    free(data);
}

static void truncate_by(const char *path, size_t n)
{
    size_t len;
    uint8_t *data = tu_read_file(path, &len);
    tu_write_file(path, data, len - n);
    free(data);
}

/* Every passphrase this fixture can be verified with. */
static const char *keys(fixture *f, int i)
{
    return i == 0 ? f->passphrase : NULL;
}
static int n_keys(fixture *f)
{
    return f->passphrase ? 2 : 1;
}

/* ---- tests ---- */

static void test_intact(void **state)
{
    fixture *f = *state;
    for (int k = 0; k < n_keys(f); k++) {
        seen s;
        walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
        assert_ok(run_verify(f, keys(f, k), NULL, &s, &res));
        assert_int_equal(s.n, 0);
        assert_int_equal(res.problems, 0);
        assert_int_equal(res.backups, 1);
        assert_int_equal(res.dumps, 1);
        assert_int_equal(res.wal_files, 5);
        assert_int_equal(res.files, 4); /* two files, the manifest, the dump */
        assert_int_equal(res.decoded, keys(f, k) != NULL || !f->passphrase);
    }
}

static void test_flipped_backup_file(void **state)
{
    fixture *f = *state;
    char *path = find_file(f, "data/base/1/1259");
    flip_byte(path);
    for (int k = 0; k < n_keys(f); k++) {
        seen s;
        walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
        assert_ok(run_verify(f, keys(f, k), NULL, &s, &res));
        expect_one(&s, &res, WALDEN_VERIFY_CORRUPT, "data/base/1/1259.zst");
    }
    free(path);
}

static void test_missing_backup_file(void **state)
{
    fixture *f = *state;
    char *path = find_file(f, "data/PG_VERSION");
    assert_int_equal(unlink(path), 0);
    for (int k = 0; k < n_keys(f); k++) {
        seen s;
        walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
        assert_ok(run_verify(f, keys(f, k), NULL, &s, &res));
        expect_one(&s, &res, WALDEN_VERIFY_MISSING, "data/PG_VERSION.zst");
    }
    free(path);
}

static void test_missing_needed_segment(void **state)
{
    fixture *f = *state;
    char *path = find_file(f, "000000010000000000000003-");
    assert_int_equal(unlink(path), 0);
    for (int k = 0; k < n_keys(f); k++) {
        seen s;
        walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
        assert_ok(run_verify(f, keys(f, k), NULL, &s, &res));
        /* needed by the backup, and a gap between 2 and 4 */
        assert_int_equal(s.n, 2);
        assert_int_equal(res.problems, 2);
        int missing = s.kind[0] == WALDEN_VERIFY_MISSING ? 0 : 1;
        assert_int_equal(s.kind[missing], WALDEN_VERIFY_MISSING);
        assert_int_equal(s.kind[1 - missing], WALDEN_VERIFY_WAL_GAP);
        assert_true(wd_str_ends_with(s.object[missing], "/000000010000000000000003"));
        assert_non_null(strstr(s.message[missing], "needed by backup " BACKUP_ID));
        /* --set of the backup: its WAL only, no gap report */
        assert_ok(run_verify(f, keys(f, k), BACKUP_ID, &s, &res));
        expect_one(&s, &res, WALDEN_VERIFY_MISSING, "/000000010000000000000003");
        assert_int_equal(res.dumps, 0);
        /* --set of the dump: no WAL */
        assert_ok(run_verify(f, keys(f, k), DUMP_ID, &s, &res));
        assert_int_equal(s.n, 0);
        assert_int_equal(res.backups, 0);
        assert_int_equal(res.wal_files, 0);
    }
    free(path);
}

static void test_gap_only(void **state)
{
    fixture *f = *state;
    char *path = find_file(f, "000000010000000000000004-");
    assert_int_equal(unlink(path), 0);
    seen s;
    walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
    assert_ok(run_verify(f, f->passphrase, NULL, &s, &res));
    expect_one(&s, &res, WALDEN_VERIFY_WAL_GAP, "/000000010000000000000004");
    free(path);
}

static void test_truncated_wal(void **state)
{
    fixture *f = *state;
    char *path = find_file(f, "000000010000000000000005-");
    truncate_by(path, 10);
    for (int k = 0; k < n_keys(f); k++) {
        seen s;
        walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
        assert_ok(run_verify(f, keys(f, k), NULL, &s, &res));
        const char *base = strrchr(path, '/') + 1;
        expect_one(&s, &res, WALDEN_VERIFY_CORRUPT, base);
    }
    free(path);
}

/* A WAL object whose name claims another SHA-256 (its signature then signs
 * something else): unauthenticated with the key and without it (the name's
 * signature is checkable without the key). */
static void test_renamed_wal(void **state)
{
    fixture *f = *state;
    char *path = find_file(f, "000000010000000000000005-");
    char *renamed = strdup(path);
    assert_non_null(renamed);
    char *sha = strrchr(renamed, '/') + 1 + 25;
    *sha = *sha == '0' ? '1' : '0';
    assert_int_equal(rename(path, renamed), 0);
    for (int k = 0; k < n_keys(f); k++) {
        seen s;
        walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
        assert_ok(run_verify(f, keys(f, k), NULL, &s, &res));
        /* where the content is decoded (with the key, or unencrypted) it is
         * read first and does not match the SHA-256 the name claims:
         * corrupt; without the key, the name's signature: unauthenticated */
        bool decoded = keys(f, k) != NULL || !f->passphrase;
        expect_one(&s, &res, decoded ? WALDEN_VERIFY_CORRUPT : WALDEN_VERIFY_FORGED,
                   strrchr(renamed, '/') + 1);
    }
    free(renamed);
    free(path);
}

static void test_flipped_dump(void **state)
{
    fixture *f = *state;
    char *path = find_file(f, "dump.pgdump");
    flip_byte(path);
    for (int k = 0; k < n_keys(f); k++) {
        seen s;
        walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
        assert_ok(run_verify(f, keys(f, k), NULL, &s, &res));
        expect_one(&s, &res, WALDEN_VERIFY_CORRUPT, "dump.pgdump.zst");
        assert_ok(run_verify(f, keys(f, k), BACKUP_ID, &s, &res));
        assert_int_equal(s.n, 0);
    }
    free(path);
}

/* Every backup of a format-2 area writes backup.stored before its manifest:
 * one without it had it removed, a problem with the key and without. */
static void test_no_stored_list(void **state)
{
    fixture *f = *state;
    char *path = find_file(f, "backup.stored");
    assert_int_equal(unlink(path), 0);
    for (int k = 0; k < n_keys(f); k++) {
        seen s;
        walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
        assert_ok(run_verify(f, keys(f, k), NULL, &s, &res));
        expect_one(&s, &res, WALDEN_VERIFY_MISSING, "backup.stored");
        assert_int_equal(res.unchecked, 0);
    }
    free(path);
}

static void test_wrong_passphrase_and_unknown_set(void **state)
{
    fixture *f = *state;
    seen s;
    walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
    if (f->passphrase)
        assert_int_equal(run_verify(f, "wrong", NULL, &s, &res), WALDEN_EKEY);
    assert_int_equal(run_verify(f, f->passphrase, "20200101T000000Z", &s, &res), WALDEN_ENOTFOUND);
    assert_int_equal(run_verify(f, f->passphrase, "../x", &s, &res), WALDEN_EINVAL);
}

#define BOTH(t)                                                                                    \
    cmocka_unit_test_setup_teardown(t, setup_plain, teardown),                                     \
        cmocka_unit_test_setup_teardown(t, setup_encrypted, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_intact),
        BOTH(test_flipped_backup_file),
        BOTH(test_missing_backup_file),
        BOTH(test_missing_needed_segment),
        BOTH(test_gap_only),
        BOTH(test_truncated_wal),
        BOTH(test_renamed_wal),
        BOTH(test_flipped_dump),
        BOTH(test_no_stored_list),
        BOTH(test_wrong_passphrase_and_unknown_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
