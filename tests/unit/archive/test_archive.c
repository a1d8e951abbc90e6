/*
 * test_archive.c - archive-push, archive-get and archive-list through the
 * public API, on a real repository in a temporary directory, with
 * synthetic 1 MiB WAL segments that carry a valid long page header.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"
#include "common/common.h"
#include "testutil.h"
#include "walden/walden.h"

#define SEG (1u << 20)
static const uint64_t SYSID = 7312345678901234567ull;

typedef struct fixture {
    char *dir;
    char repo[512];
    char pgdata[512];
} fixture;

static void write_pgdata_v(const char *pgdata, uint64_t sysid, int major)
{
    tu_fake_pgdata(pgdata, sysid, major);
}

static void write_pgdata(const char *pgdata, uint64_t sysid)
{
    write_pgdata_v(pgdata, sysid, 15);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_mkdtemp();
    snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
    snprintf(f->pgdata, sizeof(f->pgdata), "%s/pgdata", f->dir);
    write_pgdata(f->pgdata, SYSID);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmdir_r(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static walden_config *make_config(fixture *f, const char *compress, const char *passphrase)
{
    walden_config *cfg = tu_area_config(f->dir, f->repo, f->pgdata, passphrase);
    if (compress)
        assert_ok(walden_config_set(cfg, "compress", compress, WALDEN_SOURCE_FLAG));
    return cfg;
}

static walden_repo *init_and_open(fixture *f, const char *compress, const char *passphrase)
{
    walden_config *cfg = make_config(f, compress, passphrase);
    assert_ok(walden_repo_init(cfg));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));
    walden_config_free(cfg);
    return repo;
}

static walden_repo *open_with(fixture *f, const char *passphrase)
{
    walden_config *cfg = make_config(f, NULL, passphrase);
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));
    walden_config_free(cfg);
    return repo;
}

/* Writes a 1 MiB segment `name` (log 0) of cluster `sysid` into dir; returns
 * its path (static buffer per call site is not needed: malloc'ed). */
static char *make_segment_magic(const char *dir, const char *name, uint64_t sysid, uint32_t seed,
                                uint16_t magic)
{
    uint8_t *buf = malloc(SEG);
    tu_fill(buf, SEG, seed, 1);
    uint16_t info = 2;
    uint32_t tli = 1, seg_size = SEG, blcksz = 8192;
    uint32_t segno = (uint32_t)strtoul(name + 16, NULL, 16);
    uint64_t addr = (uint64_t)segno * SEG;
    memset(buf, 0, 40);
    memcpy(buf, &magic, 2);
    memcpy(buf + 2, &info, 2);
    memcpy(buf + 4, &tli, 4);
    memcpy(buf + 8, &addr, 8);
    memcpy(buf + 24, &sysid, 8);
    memcpy(buf + 32, &seg_size, 4);
    memcpy(buf + 36, &blcksz, 4);
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(path, "%s/%s", dir, name); /* test code: sizes computed above */
    tu_write_file(path, buf, SEG);
    free(buf);
    return path;
}

static char *make_segment(const char *dir, const char *name, uint64_t sysid, uint32_t seed)
{
    return make_segment_magic(dir, name, sysid, seed, 0xD110);
}

/* Path of the one stored object of `name` (segment names only). */
static char *stored_path(fixture *f, const char *name)
{
    char folder[700];
    if (strstr(name, ".history"))
        snprintf(folder, sizeof(folder), "%s/main/wal", f->repo);
    else
        snprintf(folder, sizeof(folder), "%s/main/wal/%.16s", f->repo, name);
    DIR *d = opendir(folder);
    assert_non_null(d);
    char *found = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, name, strlen(name)) == 0 && e->d_name[strlen(name)] == '-') {
            assert_null(found); /* exactly one copy */
            found = malloc(strlen(folder) + strlen(e->d_name) + 2);
            sprintf(found, "%s/%s", folder, e->d_name);
        }
    }
    closedir(d);
    assert_non_null(found);
    return found;
}

static void assert_same_file(const char *a, const char *b)
{
    size_t la, lb;
    uint8_t *da = tu_read_file(a, &la), *db = tu_read_file(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    free(da);
    free(db);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

struct listed {
    int n;
    char names[8][64];
};

static int collect(const walden_wal_entry *e, void *ctx)
{
    struct listed *l = ctx;
    if (l->n < 8)
        snprintf(l->names[l->n], 64, "%s", e->name);
    l->n++;
    return 0;
}

static void round_trip(fixture *f, const char *compress, const char *passphrase)
{
    walden_repo *repo = init_and_open(f, compress, passphrase);
    const char *names[] = {"000000010000000000000003", "000000010000000000000001",
                           "000000010000000000000002"};
    char in[600], out[600];
    snprintf(in, sizeof(in), "%s/in", f->dir);
    snprintf(out, sizeof(out), "%s/out", f->dir);
    mkdir(in, 0700);
    mkdir(out, 0700);
    for (int i = 0; i < 3; i++) {
        char *seg = make_segment(in, names[i], SYSID, (uint32_t)i + 1);
        walden_push_result res = WALDEN_PUSH_RESULT_INIT;
        assert_ok(walden_archive_push(repo, seg, &res));
        assert_int_equal(res.already_archived, 0);
        assert_int_equal(res.raw_size, SEG);
        assert_true(res.stored_size > 0);
        if (strcmp(compress, "none") != 0)
            assert_true(res.stored_size < SEG / 2); /* compressible data shrank */

        /* the stored bytes never hold the plaintext when encrypted */
        char *stored = stored_path(f, names[i]);
        if (passphrase) {
            size_t raw_len, st_len;
            uint8_t *raw = tu_read_file(seg, &raw_len);
            uint8_t *st = tu_read_file(stored, &st_len);
            assert_null(memmem(st, st_len, raw + 4096, 64));
            assert_memory_equal(st, "WLDNENC1", 8);
            free(raw);
            free(st);
        }
        free(stored);
        free(seg);
    }
    walden_repo_close(repo);

    /* read back with a fresh handle, as PostgreSQL's restore_command would */
    repo = open_with(f, passphrase);
    for (int i = 0; i < 3; i++) {
        char dest[700], src[700];
        snprintf(dest, sizeof(dest), "%s/%s.restored", out, names[i]);
        snprintf(src, sizeof(src), "%s/%s", in, names[i]);
        assert_ok(walden_archive_get(repo, names[i], dest));
        assert_same_file(src, dest);
    }
    struct listed l = {0};
    assert_ok(walden_archive_list(repo, collect, &l));
    assert_int_equal(l.n, 3);
    assert_string_equal(l.names[0], "000000010000000000000001");
    assert_string_equal(l.names[2], "000000010000000000000003");
    walden_repo_close(repo);
}

static void test_round_trip_zstd_encrypted(void **state)
{
    round_trip(*state, "zstd", "correct horse battery staple");
}
static void test_round_trip_gzip_encrypted(void **state)
{
    round_trip(*state, "gzip", "correct horse battery staple");
}
static void test_round_trip_none_encrypted(void **state)
{
    round_trip(*state, "none", "correct horse battery staple");
}
static void test_round_trip_zstd_plain(void **state)
{
    round_trip(*state, "zstd", NULL);
}
static void test_round_trip_gzip_plain(void **state)
{
    round_trip(*state, "gzip", NULL);
}
static void test_round_trip_none_plain(void **state)
{
    round_trip(*state, "none", NULL);
}

static void test_duplicate_push(void **state)
{
    fixture *f = *state;
    walden_repo *repo = init_and_open(f, "zstd", NULL);
    char *seg = make_segment(f->dir, "000000010000000000000007", SYSID, 7);
    assert_ok(walden_archive_push(repo, seg, NULL));
    char *stored = stored_path(f, "000000010000000000000007");
    size_t before_len;
    uint8_t *before = tu_read_file(stored, &before_len);

    walden_push_result res = WALDEN_PUSH_RESULT_INIT;
    assert_ok(walden_archive_push(repo, seg, &res));
    assert_int_equal(res.already_archived, 1);

    free(seg);
    seg = make_segment(f->dir, "000000010000000000000007", SYSID, 8); /* other content */
    assert_rc(walden_archive_push(repo, seg, NULL), WALDEN_EMISMATCH);
    assert_non_null(strstr(walden_error_last()->message, "different content"));
    char *stored_after = stored_path(f, "000000010000000000000007"); /* still one copy */
    assert_string_equal(stored, stored_after);
    size_t after_len;
    uint8_t *after = tu_read_file(stored, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    free(before);
    free(after);
    free(stored);
    free(stored_after);
    free(seg);
    walden_repo_close(repo);
}

static int stop_positive(const walden_wal_entry *e, void *ctx)
{
    (void)e;
    ++*(int *)ctx;
    return 7;
}

/* The public contracts: a result of a version the library does not know
 * is refused before anything is pushed; a callback's positive return
 * stops the walk and comes back as WALDEN_EUSER, never as itself. */
static void test_api_contracts(void **state)
{
    fixture *f = *state;
    walden_repo *repo = init_and_open(f, "zstd", NULL);
    char *seg = make_segment(f->dir, "000000010000000000000009", SYSID, 9);
    walden_push_result unset = {0};
    assert_rc(walden_archive_push(repo, seg, &unset), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "walden_push_result has version 0"));
    walden_push_result newer = WALDEN_PUSH_RESULT_INIT;
    newer.version = WALDEN_PUSH_RESULT_VERSION + 1;
    assert_rc(walden_archive_push(repo, seg, &newer), WALDEN_EINVAL);
    int calls = 0;
    assert_ok(walden_archive_list(repo, stop_positive, &calls));
    assert_int_equal(calls, 0); /* nothing was pushed */

    walden_push_result res = WALDEN_PUSH_RESULT_INIT;
    res.raw_size = 12345; /* cleared by the call */
    assert_ok(walden_archive_push(repo, seg, &res));
    assert_int_equal(res.version, WALDEN_PUSH_RESULT_VERSION);
    assert_int_equal(res.already_archived, 0);
    assert_int_equal(res.raw_size, SEG);
    char *seg2 = make_segment(f->dir, "00000001000000000000000A", SYSID, 10);
    assert_ok(walden_archive_push(repo, seg2, NULL));
    assert_rc(walden_archive_list(repo, stop_positive, &calls), WALDEN_EUSER);
    assert_int_equal(calls, 1); /* stopped at the first */
    assert_string_equal(walden_error_name(WALDEN_EUSER), "callback");
    free(seg);
    free(seg2);
    walden_repo_close(repo);
}

/* Object names: NAME-SHA256-SIGNATURE[.ext], parsed back; the longest
 * (a .backup file, compressed) stays below 255 bytes; format-1 names parse
 * as unsigned; anything else is not a WAL object. */
static void test_wal_object_names(void **state)
{
    (void)state;
    uint8_t sha[32], sig[WD_SIG_LEN];
    memset(sha, 0xa5, sizeof(sha));
    memset(sig, 0x3c, sizeof(sig));
    const char *names[] = {"000000010000000000000002", "00000002.history",
                           "000000010000000000000003.partial",
                           "000000010000000000000002.00000028.backup"};
    const wd_compress cs[] = {WD_COMPRESS_ZSTD, WD_COMPRESS_GZIP, WD_COMPRESS_NONE};
    for (size_t i = 0; i < WD_ARRAY_LEN(names); i++) {
        for (size_t c = 0; c < WD_ARRAY_LEN(cs); c++) {
            char obj[320], name[64];
            int n = wd_wal_object_name(names[i], sha, sig, cs[c], obj, sizeof(obj));
            assert_true(n > 0 && n < 255);
            wd_wal_copy copy;
            assert_ok(wd_wal_object_parse(obj, name, sizeof(name), &copy));
            assert_string_equal(name, names[i]);
            assert_true(copy.is_signed);
            assert_int_equal(copy.compress, cs[c]);
            assert_memory_equal(copy.sha256, sha, 32);
            assert_memory_equal(copy.sig, sig, WD_SIG_LEN);
        }
    }
    char longest[320];
    assert_int_equal(
        wd_wal_object_name(names[3], sha, sig, WD_COMPRESS_ZSTD, longest, sizeof(longest)),
        40 + 1 + 64 + 1 + 128 + 4);
    /* format 1: no signature */
    char name[64];
    wd_wal_copy copy;
    char legacy[200];
    snprintf(legacy, sizeof(legacy), "%s-%064d.zst", names[0], 0);
    assert_ok(wd_wal_object_parse(legacy, name, sizeof(name), &copy));
    assert_false(copy.is_signed);
    assert_string_equal(name, names[0]);
    /* not WAL objects */
    const char *bad[] = {"000000010000000000000002", "000000010000000000000002-abc.zst",
                         "nope-0000000000000000000000000000000000000000000000000000000000000000",
                         "000000010000000000000002-"
                         "000000000000000000000000000000000000000000000000000000000000000g"};
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++)
        assert_rc(wd_wal_object_parse(bad[i], name, sizeof(name), &copy), WALDEN_EINVAL);
}

/* A genuine object renamed to another segment, and a made-up one: archive-get
 * refuses both as failing authentication (never "not found"), archive-push
 * ignores the forged copy and archives the real file. */
static void forged(fixture *f, const char *passphrase)
{
    walden_repo *repo = init_and_open(f, "zstd", passphrase);
    char *seg = make_segment(f->dir, "000000010000000000000004", SYSID, 4);
    assert_ok(walden_archive_push(repo, seg, NULL));
    char *stored = stored_path(f, "000000010000000000000004");
    /* renamed to segment 5, keeping sha and signature */
    const char *tail = strrchr(stored, '/') + 1 + 24;
    assert_int_equal(tu_system("cp '%s' '%s/main/wal/0000000100000000/000000010000000000000005%s'",
                               stored, f->repo, tail),
                     0);
    char out[600], dest[700];
    snprintf(out, sizeof(out), "%s/out", f->dir);
    mkdir(out, 0700);
    snprintf(dest, sizeof(dest), "%s/RECOVERYXLOG", out);
    walden_repo_close(repo);
    repo = open_with(f, passphrase);
    assert_rc(walden_archive_get(repo, "000000010000000000000005", dest), WALDEN_EAUTH);
    assert_non_null(strstr(walden_error_last()->message, "failed authentication"));
    assert_non_null(strstr(walden_error_last()->message, "000000010000000000000005"));
    assert_int_equal(count_entries(out), 0);
    /* the real segment 5: the forged copy is passed over, the new one stored */
    char *seg5 = make_segment(f->dir, "000000010000000000000005", SYSID, 5);
    walden_push_result res = WALDEN_PUSH_RESULT_INIT;
    assert_ok(walden_archive_push(repo, seg5, &res));
    assert_int_equal(res.already_archived, 0);
    /* archive-get now finds the copy that authenticates */
    assert_ok(walden_archive_get(repo, "000000010000000000000005", dest));
    assert_same_file(dest, seg5);
    /* ten planted copies of garbage that list before it (more than
     * archive-get first asks for): passed over, not taken as the answer */
    assert_int_equal(
        tu_system("cd '%s/main/wal/0000000100000000' && for i in 0 1 2 3 4 5 6 7 8 9; do "
                  "head -c 5000 /dev/urandom >000000010000000000000005-$(printf %%064d $i)-"
                  "$(printf %%0128d 0).zst; done",
                  f->repo),
        0);
    assert_int_equal(unlink(dest), 0);
    assert_ok(walden_archive_get(repo, "000000010000000000000005", dest));
    assert_same_file(dest, seg5);
    free(seg);
    free(seg5);
    free(stored);
    walden_repo_close(repo);
}

static void test_forged_plain(void **state)
{
    forged(*state, NULL);
}

static void test_forged_encrypted(void **state)
{
    forged(*state, "pw-forge");
}

/* Signs the text file `path` (without its signature line) again with the
 * signing key of area `cluster`, as that area's writer would. */
static void resign(fixture *f, const char *cluster, const char *path, const char *rel)
{
    char keyfile[700], *key;
    snprintf(keyfile, sizeof(keyfile), "%s/%s.sign-key", f->dir, cluster);
    size_t klen, blen;
    key = (char *)tu_read_file(keyfile, &klen);
    const char *hex = strstr(key, "sign-private-key = ");
    assert_non_null(hex);
    char buf[65];
    memcpy(buf, hex + 19, 64);
    buf[64] = '\0';
    uint8_t priv[32];
    assert_ok(wd_hex_decode(buf, priv, 32));
    char *body = (char *)tu_read_file(path, &blen), *text = NULL;
    wd_area_id area = {cluster, SYSID};
    assert_ok(wd_sign_text(priv, &area, rel, body, blen, &text));
    tu_write_file(path, text, strlen(text));
    free(text);
    free(body);
    free(key);
}

static void test_get_missing_is_not_found(void **state)
{
    fixture *f = *state;
    walden_repo *repo = init_and_open(f, "zstd", NULL);
    char dest[600];
    snprintf(dest, sizeof(dest), "%s/dest", f->dir);
    assert_rc(walden_archive_get(repo, "000000010000000000000009", dest), WALDEN_ENOTFOUND);
    assert_rc(walden_archive_get(repo, "00000005.history", dest), WALDEN_ENOTFOUND);
    assert_int_equal(access(dest, F_OK), -1);
    assert_rc(walden_archive_get(repo, "not-a-wal-name", dest), WALDEN_EINVAL);
    walden_repo_close(repo);
}

/* Damages the stored copy with `how` (a shell command on $F), then expects
 * archive-get to fail with `code`, leaving neither DEST nor a temp file. */
static void damaged(fixture *f, const char *passphrase, const char *how, int code)
{
    walden_repo *repo = init_and_open(f, "zstd", passphrase);
    char *seg = make_segment(f->dir, "000000010000000000000004", SYSID, 4);
    assert_ok(walden_archive_push(repo, seg, NULL));
    char *stored = stored_path(f, "000000010000000000000004");
    assert_int_equal(tu_system("F='%s'; %s", stored, how), 0);
    char out[600], dest[700];
    snprintf(out, sizeof(out), "%s/out", f->dir);
    mkdir(out, 0700);
    snprintf(dest, sizeof(dest), "%s/RECOVERYXLOG", out);
    walden_repo_close(repo);
    repo = open_with(f, passphrase);
    assert_rc(walden_archive_get(repo, "000000010000000000000004", dest), code);
    assert_int_equal(count_entries(out), 0);
    free(seg);
    free(stored);
    walden_repo_close(repo);
}

#define FLIP_MIDDLE                                                                                \
    "n=$(stat -c %s \"$F\"); printf '\\x5a' | dd of=\"$F\" bs=1 seek=$((n/2)) conv=notrunc "       \
    "status=none"
#define TRUNCATE_HALF "truncate -s $(( $(stat -c %s \"$F\") / 2 )) \"$F\""

static void test_corrupt_encrypted(void **state)
{
    damaged(*state, "pw-1", FLIP_MIDDLE, WALDEN_ECORRUPT);
}
static void test_truncated_encrypted(void **state)
{
    damaged(*state, "pw-1", TRUNCATE_HALF, WALDEN_ECORRUPT);
}
static void test_corrupt_plain(void **state)
{
    damaged(*state, NULL, FLIP_MIDDLE, WALDEN_ECORRUPT);
}
static void test_truncated_plain(void **state)
{
    damaged(*state, NULL, TRUNCATE_HALF, WALDEN_ECORRUPT);
}
static void test_emptied_plain(void **state)
{
    damaged(*state, NULL, ": > \"$F\"", WALDEN_ECORRUPT);
}

static void test_passphrases(void **state)
{
    fixture *f = *state;
    walden_repo *repo = init_and_open(f, "zstd", "the right one");
    walden_repo_close(repo);
    /* writing needs no passphrase: files are encrypted to the public key */
    repo = open_with(f, NULL);
    char *seg = make_segment(f->dir, "000000010000000000000005", SYSID, 5);
    assert_ok(walden_archive_push(repo, seg, NULL));
    char dest[600];
    snprintf(dest, sizeof(dest), "%s/dest", f->dir);
    /* reading without one, or with a wrong one, is a key error */
    assert_rc(walden_archive_get(repo, "000000010000000000000005", dest), WALDEN_EKEY);
    assert_non_null(strstr(walden_error_last()->message, "encrypt-passphrase"));
    walden_repo_close(repo);
    repo = open_with(f, "a wrong one");
    assert_rc(walden_archive_get(repo, "000000010000000000000005", dest), WALDEN_EKEY);
    assert_non_null(strstr(walden_error_last()->message, "wrong passphrase"));
    assert_int_equal(access(dest, F_OK), -1);
    walden_repo_close(repo);

    /* changing the passphrase re-wraps the key; old files stay readable */
    repo = open_with(f, "the right one");
    assert_ok(walden_repo_change_passphrase(repo, "the new one"));
    walden_repo_close(repo);
    repo = open_with(f, "the right one");
    assert_rc(walden_archive_get(repo, "000000010000000000000005", dest), WALDEN_EKEY);
    walden_repo_close(repo);
    repo = open_with(f, "the new one");
    assert_ok(walden_archive_get(repo, "000000010000000000000005", dest));
    assert_same_file(seg, dest);
    walden_repo_close(repo);
    free(seg);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    walden_repo *repo = init_and_open(f, "zstd", NULL);
    char wal[600];
    snprintf(wal, sizeof(wal), "%s/main/wal", f->repo);

    /* a segment of another cluster */
    char *seg = make_segment(f->dir, "000000010000000000000006", SYSID + 1, 6);
    assert_rc(walden_archive_push(repo, seg, NULL), WALDEN_EMISMATCH);
    assert_non_null(strstr(walden_error_last()->message, "another cluster"));
    free(seg);

    /* random bytes named like a segment */
    char path[700];
    snprintf(path, sizeof(path), "%s/000000010000000000000008", f->dir);
    uint8_t *junk = malloc(SEG);
    tu_fill(junk, SEG, 99, 0);
    tu_write_file(path, junk, SEG);
    assert_rc(walden_archive_push(repo, path, NULL), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "not a WAL segment"));

    /* a small text file named like a segment */
    tu_write_file(path, "hello\n", 6);
    assert_rc(walden_archive_push(repo, path, NULL), WALDEN_EINVAL);

    /* a binary file named like a history file */
    snprintf(path, sizeof(path), "%s/00000002.history", f->dir);
    tu_write_file(path, junk, 4096);
    assert_rc(walden_archive_push(repo, path, NULL), WALDEN_EINVAL);
    free(junk);

    /* not a WAL name at all, and a missing file */
    snprintf(path, sizeof(path), "%s/postgresql.conf", f->dir);
    tu_write_file(path, "x", 1);
    assert_rc(walden_archive_push(repo, path, NULL), WALDEN_EINVAL);
    snprintf(path, sizeof(path), "%s/000000010000000000000010", f->dir);
    assert_rc(walden_archive_push(repo, path, NULL), WALDEN_ENOTFOUND);

    /* nothing was stored by any of these */
    struct stat st;
    assert_true(stat(wal, &st) != 0 || count_entries(wal) == 0);
    walden_repo_close(repo);
}

static void test_history_backup_partial(void **state)
{
    fixture *f = *state;
    walden_repo *repo = init_and_open(f, "gzip", "pw");
    char hist[600], backup[600];
    snprintf(hist, sizeof(hist), "%s/00000002.history", f->dir);
    snprintf(backup, sizeof(backup), "%s/000000010000000000000002.00000028.backup", f->dir);
    const char *htext = "1\t0/3000000\tno recovery target specified\n";
    const char *btext = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n";
    tu_write_file(hist, htext, strlen(htext));
    tu_write_file(backup, btext, strlen(btext));
    char *partial = make_segment(f->dir, "000000010000000000000003", SYSID, 3);
    char ppath[700];
    snprintf(ppath, sizeof(ppath), "%s.partial", partial);
    assert_int_equal(rename(partial, ppath), 0);

    assert_ok(walden_archive_push(repo, hist, NULL));
    assert_ok(walden_archive_push(repo, backup, NULL));
    assert_ok(walden_archive_push(repo, ppath, NULL));
    walden_repo_close(repo);

    repo = open_with(f, "pw");
    char dest[700];
    snprintf(dest, sizeof(dest), "%s/restored", f->dir);
    assert_ok(walden_archive_get(repo, "00000002.history", dest));
    assert_same_file(hist, dest);
    assert_ok(walden_archive_get(repo, "000000010000000000000002.00000028.backup", dest));
    assert_same_file(backup, dest);
    assert_ok(walden_archive_get(repo, "000000010000000000000003.partial", dest));
    assert_same_file(ppath, dest);
    /* the partial file is not the segment */
    assert_rc(walden_archive_get(repo, "000000010000000000000003", dest), WALDEN_ENOTFOUND);
    struct listed l = {0};
    assert_ok(walden_archive_list(repo, collect, &l));
    assert_int_equal(l.n, 3);
    assert_string_equal(l.names[0], "00000002.history");
    walden_repo_close(repo);
    free(partial);
}

/* Plants object `name`-<sha>-<sig><ext> into `folder` of the area, its
 * content made by the shell pipeline `cmd`. */
static void plant(fixture *f, const char *folder, const char *name, const char *ext,
                  const char *cmd)
{
    assert_int_equal(tu_system("mkdir -p '%s/main/%s' && (%s) >'%s/main/%s/%s-%064d-%0128d%s'",
                               f->repo, folder, cmd, f->repo, folder, name, 7, 9, ext),
                     0);
}

/* archive-get of a forged object stops at the size the file may have:
 * the message says which limit was crossed (not the signature, which is
 * checked only at the end), and nothing is left where the file goes. */
static void get_refused(fixture *f, walden_repo *repo, const char *name, const char *why)
{
    char out[600], dest[700];
    snprintf(out, sizeof(out), "%s/pg_wal", f->dir);
    mkdir(out, 0700);
    snprintf(dest, sizeof(dest), "%s/RECOVERYXLOG", out);
    assert_rc(walden_archive_get(repo, name, dest), WALDEN_EAUTH);
    assert_non_null(strstr(walden_error_last()->message, "failed authentication"));
    if (!strstr(walden_error_last()->message, why))
        fail_msg("'%s' does not say '%s'", walden_error_last()->message, why);
    assert_int_equal(count_entries(out), 0);
}

static void test_get_limits(void **state)
{
    fixture *f = *state;
    walden_repo *repo = init_and_open(f, "zstd", NULL);
    /* a long page header stating 1 MiB, then 64 MiB of zeros: a few KiB
     * stored */
    char hdr[700];
    snprintf(hdr, sizeof(hdr), "%s/hdr", f->dir);
    uint8_t h[40] = {0x10, 0xD1, 2, 0, 1};
    uint32_t seg = SEG, blck = 8192;
    memcpy(h + 24, &SYSID, 8);
    memcpy(h + 32, &seg, 4);
    memcpy(h + 36, &blck, 4);
    tu_write_file(hdr, h, sizeof(h));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cat '%s'; head -c 67108864 /dev/zero) | (zstd -q -c", hdr);
    plant(f, "wal/0000000100000000", "000000010000000000000006", ".zst", cmd);
    get_refused(f, repo, "000000010000000000000006",
                "longer than the segment size its header states (1048576 bytes)");
    /* the same as a .partial */
    plant(f, "wal/0000000100000000", "000000010000000000000007.partial", ".zst", cmd);
    get_refused(f, repo, "000000010000000000000007.partial", "longer than the segment size");
    /* a header that states 1 GiB plus one page */
    h[32] = 0, h[33] = 0x20, h[34] = 0, h[35] = 0x40;
    tu_write_file(hdr, h, sizeof(h));
    plant(f, "wal/0000000100000000", "000000010000000000000008", ".zst", cmd);
    get_refused(f, repo, "000000010000000000000008", "its header states no valid segment size");
    /* zeros: no header at all */
    plant(f, "wal/0000000100000000", "000000010000000000000009", ".zst",
          "head -c 67108864 /dev/zero) | (zstd -q -c");
    get_refused(f, repo, "000000010000000000000009", "no valid segment size");
    /* short of its size */
    h[32] = 0, h[33] = 0, h[34] = 0x10, h[35] = 0;
    tu_write_file(hdr, h, sizeof(h));
    snprintf(cmd, sizeof(cmd), "cat '%s'; head -c 4096 /dev/zero) | (zstd -q -c", hdr);
    plant(f, "wal/0000000100000000", "00000001000000000000000A", ".zst", cmd);
    get_refused(f, repo, "00000001000000000000000A", "not a whole segment (4136 bytes)");
    /* a history file bomb: 64 MiB of text compressed */
    plant(f, "wal", "00000003.history", ".zst", "yes 1 | head -c 67108864) | (zstd -q -c");
    get_refused(f, repo, "00000003.history", "more than 1048576 bytes, the most it may have");
    /* stored larger than any history file: refused as listed, unread */
    plant(f, "wal", "00000004.history", "", "head -c 3000000 /dev/zero");
    get_refused(f, repo, "00000004.history", "3000000 bytes stored, more than a WAL text file");
    /* a genuine segment still comes back */
    char *real = make_segment(f->dir, "00000001000000000000000B", SYSID, 11);
    assert_ok(walden_archive_push(repo, real, NULL));
    char dest[700];
    snprintf(dest, sizeof(dest), "%s/pg_wal/RECOVERYXLOG", f->dir);
    assert_ok(walden_archive_get(repo, "00000001000000000000000B", dest));
    assert_same_file(real, dest);
    free(real);
    walden_repo_close(repo);
}

/* init records the segment size of a segment in pg_wal; archive-push
 * refuses segments of another size, archive-get stops at it even when the
 * segment's own header states more. */
static void test_area_segment_size(void **state)
{
    fixture *f = *state;
    char wal[700];
    snprintf(wal, sizeof(wal), "%s/pg_wal", f->pgdata);
    mkdir(wal, 0700);
    free(make_segment(wal, "000000010000000000000001", SYSID, 1));
    walden_repo *repo = init_and_open(f, "zstd", NULL);
    char conf[700];
    snprintf(conf, sizeof(conf), "%s/main/cluster.conf", f->repo);
    size_t len;
    char *text = (char *)tu_read_file(conf, &len);
    assert_non_null(strstr(text, "\nwal-segment-size = 1048576\n"));
    free(text);

    /* a segment of 2 MiB (its header says so too) */
    uint8_t *big = calloc(1, 2 * SEG);
    uint8_t h[40] = {0x10, 0xD1, 2, 0, 1};
    uint32_t two = 2 * SEG, blck = 8192;
    memcpy(h + 24, &SYSID, 8);
    memcpy(h + 32, &two, 4);
    memcpy(h + 36, &blck, 4);
    memcpy(big, h, sizeof(h));
    char path[700];
    snprintf(path, sizeof(path), "%s/000000010000000000000000", f->dir);
    tu_write_file(path, big, 2 * SEG);
    assert_rc(walden_archive_push(repo, path, NULL), WALDEN_EMISMATCH);
    assert_non_null(strstr(walden_error_last()->message, "the area's segments have 1048576"));

    /* planted, it is refused at the header */
    char hdr[700], cmd[1024];
    snprintf(hdr, sizeof(hdr), "%s/hdr", f->dir);
    tu_write_file(hdr, h, sizeof(h));
    snprintf(cmd, sizeof(cmd), "cat '%s'; head -c 3000000 /dev/zero) | (zstd -q -c", hdr);
    plant(f, "wal/0000000100000000", "000000010000000000000003", ".zst", cmd);
    get_refused(f, repo, "000000010000000000000003",
                "its header states another segment size than the area's (2097152 bytes)");
    free(big);
    walden_repo_close(repo);
}

/* Copies planted under a history file's name (another content named, a
 * made-up signature; one with a genuine encryption header copied from
 * another object, one too short for a header) are neither "archived
 * already" nor a conflict: the real file is archived, and then a file of
 * other content under its name is refused as a conflict. */
static void test_planted_history_does_not_block(void **state)
{
    fixture *f = *state;
    walden_repo *repo = init_and_open(f, "gzip", "pw");
    char hist[600], other[600];
    snprintf(hist, sizeof(hist), "%s/00000003.history", f->dir);
    snprintf(other, sizeof(other), "%s/other/00000003.history", f->dir);
    const char *htext = "1\t0/3000000\tno recovery target specified\n";
    const char *otext = "2\t0/5000000\tno recovery target specified\n";
    tu_write_file(hist, htext, strlen(htext));
    assert_int_equal(tu_system("mkdir -p '%s/other'", f->dir), 0);
    tu_write_file(other, otext, strlen(otext));
    char *seg = make_segment(f->dir, "000000010000000000000004", SYSID, 4);
    assert_ok(walden_archive_push(repo, seg, NULL));
    char *stored = stored_path(f, "000000010000000000000004");
    assert_int_equal(tu_system("cd '%s/main/wal' && cp '%s' 00000003.history-$(printf %%064d 1)-"
                               "$(printf %%0128d 0).gz && printf x >00000003.history-"
                               "$(printf %%064d 2)-$(printf %%0128d 0).gz",
                               f->repo, stored),
                     0);
    walden_push_result res = WALDEN_PUSH_RESULT_INIT;
    assert_ok(walden_archive_push(repo, hist, &res));
    assert_int_equal(res.already_archived, 0);
    assert_rc(walden_archive_push(repo, other, NULL), WALDEN_EMISMATCH);
    walden_repo_close(repo);
    free(seg);
    free(stored);
}

static void test_init_and_open_errors(void **state)
{
    fixture *f = *state;
    walden_config *cfg = make_config(f, NULL, NULL);
    walden_repo *repo;
    /* missing repository, then an uninitialized cluster */
    assert_rc(walden_repo_open(&repo, cfg), WALDEN_ENOTFOUND);
    assert_non_null(strstr(walden_error_last()->message, "does not exist"));
    assert_ok(walden_repo_init(cfg));
    assert_rc(walden_repo_init(cfg), WALDEN_EEXISTS);
    assert_ok(walden_config_set(cfg, "cluster", "other", WALDEN_SOURCE_FLAG));
    assert_rc(walden_repo_open(&repo, cfg), WALDEN_ENOTFOUND);
    assert_non_null(strstr(walden_error_last()->message, "not initialized"));

    /* a repository written by a newer walden */
    char path[600];
    snprintf(path, sizeof(path), "%s/walden.repo", f->repo);
    tu_write_file(path, "format-version = 3\n", 19);
    assert_rc(walden_repo_init(cfg), WALDEN_EVERSION);
    assert_ok(walden_config_set(cfg, "cluster", "main", WALDEN_SOURCE_FLAG));
    assert_rc(walden_repo_open(&repo, cfg), WALDEN_EVERSION);
    assert_non_null(strstr(walden_error_last()->message, "newer"));
    walden_config_free(cfg);
}

/* Every supported major version archives its own segments and refuses
 * another version's; versions outside 13-18 are refused at init, and a
 * repository of such a version at archive-push, with the version named. */
static void test_versions(void **state)
{
    fixture *f = *state;
    static const uint16_t magic[] = {0xD106, 0xD10D, 0xD110, 0xD113, 0xD116, 0xD118};
    for (int major = 13; major <= 18; major++) {
        char pgdata[600], cluster[16];
        snprintf(pgdata, sizeof(pgdata), "%s/pg%d", f->dir, major);
        snprintf(cluster, sizeof(cluster), "pg%d", major);
        write_pgdata_v(pgdata, SYSID, major);
        walden_config *cfg = make_config(f, NULL, NULL);
        assert_ok(walden_config_set(cfg, "pgdata", pgdata, WALDEN_SOURCE_FLAG));
        assert_ok(walden_config_set(cfg, "cluster", cluster, WALDEN_SOURCE_FLAG));
        assert_ok(walden_repo_init(cfg));
        walden_repo *repo;
        assert_ok(walden_repo_open(&repo, cfg));
        char *own = make_segment_magic(f->dir, "000000010000000000000001", SYSID, (uint32_t)major,
                                       magic[major - 13]);
        if (walden_archive_push(repo, own, NULL))
            fail_msg("PostgreSQL %d: %s", major, walden_error_last()->message);
        free(own);
        /* the next version's magic (17's for 18) */
        char *other = make_segment_magic(f->dir, "000000010000000000000002", SYSID, 1,
                                         magic[major == 18 ? 4 : major - 12]);
        assert_rc(walden_archive_push(repo, other, NULL), WALDEN_EMISMATCH);
        assert_non_null(strstr(walden_error_last()->message, "another PostgreSQL version"));
        free(other);
        walden_repo_close(repo);
        walden_config_free(cfg);
    }

    /* 12 and 19: refused at init, naming the version and what is supported */
    static const int refused[] = {12, 19};
    for (size_t i = 0; i < 2; i++) {
        char pgdata[600], want[128];
        snprintf(pgdata, sizeof(pgdata), "%s/pg%d", f->dir, refused[i]);
        write_pgdata_v(pgdata, SYSID, refused[i]);
        walden_config *cfg = make_config(f, NULL, NULL);
        assert_ok(walden_config_set(cfg, "pgdata", pgdata, WALDEN_SOURCE_FLAG));
        assert_ok(walden_config_set(cfg, "cluster", "refused", WALDEN_SOURCE_FLAG));
        assert_rc(walden_repo_init(cfg), WALDEN_EVERSION);
        snprintf(want, sizeof(want),
                 "PostgreSQL %d is not supported by walden " WALDEN_VERSION "; supported: 13-18",
                 refused[i]);
        assert_string_equal(walden_error_last()->message, want);
        walden_config_free(cfg);
    }

    /* a repository that names 19 (written by hand or by another walden):
     * archive-push refuses for the version, not for the segment */
    char conf[700];
    snprintf(conf, sizeof(conf), "%s/pg18/cluster.conf", f->repo);
    assert_int_equal(tu_system("sed -i -e 's/^pg-version = .*/pg-version = 190000/' -e "
                               "'/^signature = /d' '%s'",
                               conf),
                     0);
    resign(f, "pg18", conf, "cluster.conf"); /* by its writer: authentic */
    walden_config *cfg = make_config(f, NULL, NULL);
    assert_ok(walden_config_set(cfg, "cluster", "pg18", WALDEN_SOURCE_FLAG));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));
    char *seg = make_segment_magic(f->dir, "000000010000000000000003", SYSID, 3, 0xD118);
    assert_rc(walden_archive_push(repo, seg, NULL), WALDEN_EVERSION);
    assert_non_null(strstr(walden_error_last()->message, "PostgreSQL 19 is not supported"));
    free(seg);
    walden_repo_close(repo);
    walden_config_free(cfg);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_round_trip_zstd_encrypted),
        T(test_round_trip_gzip_encrypted),
        T(test_round_trip_none_encrypted),
        T(test_round_trip_zstd_plain),
        T(test_round_trip_gzip_plain),
        T(test_round_trip_none_plain),
        T(test_duplicate_push),
        T(test_api_contracts),
        T(test_versions),
        T(test_get_missing_is_not_found),
        cmocka_unit_test(test_wal_object_names),
        T(test_forged_plain),
        T(test_forged_encrypted),
        T(test_corrupt_encrypted),
        T(test_truncated_encrypted),
        T(test_corrupt_plain),
        T(test_truncated_plain),
        T(test_emptied_plain),
        T(test_passphrases),
        T(test_refusals),
        T(test_history_backup_partial),
        T(test_planted_history_does_not_block),
        T(test_get_limits),
        T(test_area_segment_size),
        T(test_init_and_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
