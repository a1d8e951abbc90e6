/*
 * test_restore.c - dump/restore.c: restore-dump authenticates a dump whole
 * before anything is handed on. On real areas in a temporary directory
 * (plain and encrypted), a dump written the way dump.c writes one is
 * replaced by a decompression bomb and by a truncated copy of itself:
 * --to-file PATH and --to-file - (stdout) refuse it as failing
 * authentication, nothing appears at PATH (no temporary file either) and
 * nothing is written to stdout. The genuine dump comes back byte for byte.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/common.h"
#include "repo/repo.h"
#include "testutil.h"
#include "walden/walden.h"

#define DUMP_ID "20260101T000001Z-globals"
static const uint64_t SYSID = 7312345678901234567ull;

typedef struct fixture {
    char *dir;
    char repo[512], pgdata[512], out[512];
    char object[700]; /* the dump's stored data */
    char *text;       /* what pg_dumpall wrote */
    const char *passphrase;
} fixture;

static walden_config *make_config(fixture *f)
{
    walden_config *cfg = tu_area_config(f->dir, f->repo, f->pgdata, f->passphrase);
    assert_ok(walden_config_set(cfg, "compress", "zstd", WALDEN_SOURCE_FLAG));
    return cfg;
}

/* A globals dump of 300 KiB of SQL, stored and signed as dump.c does. */
static void make_dump(fixture *f, walden_repo *repo)
{
    size_t n = 300 * 1024;
    f->text = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        f->text[i] = i % 64 == 63 ? '\n' : (char)('a' + (i * 7919 + i / 13) % 26);
    f->text[n] = '\0';
    wd_dump_meta m = {0};
    snprintf(m.id, sizeof(m.id), "%s", DUMP_ID);
    snprintf(m.kind, sizeof(m.kind), "globals");
    snprintf(m.status, sizeof(m.status), "ok");
    snprintf(m.compress, sizeof(m.compress), "%s", wd_compress_name(repo->compress));
    m.database = wd_strdup("");
    m.pub.encrypted = repo->info.encrypted;
    char *object = wd_dump_object(repo, &m);
    wd_sink *sink;
    wd_repo_stream st;
    assert_ok(wd_storage_open_write(repo->storage, object, &sink));
    assert_ok(wd_repo_store_begin(repo, sink, &st));
    assert_ok(wd_pipe_write(st.pipe, (const uint8_t *)f->text, n));
    assert_ok(wd_pipe_end(st.pipe));
    wd_hash_filter_result(st.raw_hash, m.raw_sha256, &m.pub.size);
    wd_hash_filter_result(st.stored_hash, m.stored_sha256, &m.pub.stored_size);
    if (st.cipher) {
        wd_encrypt_filter_header(st.cipher, m.header);
        m.have_header = true;
    }
    assert_ok(wd_pipe_commit(st.pipe, NULL));
    wd_pipe_free(st.pipe);
    snprintf(f->object, sizeof(f->object), "%s/%s", f->repo, object);
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
    snprintf(f->out, sizeof(f->out), "%s/out", f->dir);
    assert_int_equal(tu_system("mkdir -p '%s'", f->out), 0);
    tu_fake_pgdata(f->pgdata, SYSID, 15);
    walden_config *cfg = make_config(f);
    assert_ok(walden_repo_init(cfg));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));
    make_dump(f, repo);
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
    free(f->text);
    free(f->dir);
    free(f);
    return 0;
}

/* restore-dump --set DUMP_ID --to-file TO; returns its code. */
static int restore_to(fixture *f, const char *to)
{
    walden_config *cfg = make_config(f);
    assert_ok(walden_config_set(cfg, "set", DUMP_ID, WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "to-file", to, WALDEN_SOURCE_FLAG));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));
    int rc = walden_dump_restore(repo, cfg, NULL, NULL);
    walden_repo_close(repo);
    walden_config_free(cfg);
    return rc;
}

static int count_entries(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", dir);
    return system(cmd) == 0 ? 0 : 1;
}

/* --to-file - with stdout sent to `path`: what reached stdout */
static int restore_to_stdout(fixture *f, const char *path, off_t *written)
{
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    int rc = restore_to(f, "-");
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    *written = st.st_size;
    return rc;
}

static void refused(fixture *f, const char *why)
{
    char to[700], so[700];
    snprintf(to, sizeof(to), "%s/globals.sql", f->out);
    assert_rc(restore_to(f, to), WALDEN_EAUTH);
    assert_non_null(strstr(walden_error_last()->message, DUMP_ID));
    assert_non_null(strstr(walden_error_last()->message, "failed authentication"));
    if (why && !strstr(walden_error_last()->message, why))
        fail_msg("'%s' does not say '%s'", walden_error_last()->message, why);
    assert_int_equal(count_entries(f->out), 0); /* no file, no temporary file */
    snprintf(so, sizeof(so), "%s/stdout", f->dir);
    off_t written = -1;
    assert_rc(restore_to_stdout(f, so, &written), WALDEN_EAUTH);
    assert_int_equal(written, 0);
}

static void test_genuine(void **state)
{
    fixture *f = *state;
    char to[700], so[700];
    snprintf(to, sizeof(to), "%s/globals.sql", f->out);
    assert_ok(restore_to(f, to));
    size_t len;
    uint8_t *got = tu_read_file(to, &len);
    assert_int_equal(len, strlen(f->text));
    assert_memory_equal(got, f->text, len);
    free(got);
    struct stat st;
    assert_int_equal(stat(to, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* an existing file is never overwritten */
    assert_rc(restore_to(f, to), WALDEN_EEXISTS);
    snprintf(so, sizeof(so), "%s/stdout", f->dir);
    off_t written = 0;
    assert_ok(restore_to_stdout(f, so, &written));
    assert_int_equal(written, (off_t)strlen(f->text));
}

/* The genuine object cut in half: in an encrypted area its first records
 * decrypt, genuinely; none of it is handed on. */
static void test_truncated(void **state)
{
    fixture *f = *state;
    struct stat st;
    assert_int_equal(stat(f->object, &st), 0);
    assert_int_equal(truncate(f->object, st.st_size / 2), 0);
    refused(f, NULL);
}

/* zstd of 64 MiB of SQL-looking text, a few KiB stored (plain areas: an
 * encrypted area refuses a file whose header is not the signed one before
 * decompressing anything) */
static void test_bomb(void **state)
{
    fixture *f = *state;
    assert_int_equal(
        tu_system("yes 'CREATE ROLE x;' | head -c 67108864 | zstd -q -c >'%s'", f->object), 0);
    refused(f, "more than 307200 bytes");
}

/* The same size as the genuine content, other bytes: the digest decides */
static void test_same_size_other_content(void **state)
{
    fixture *f = *state;
    assert_int_equal(tu_system("head -c 307200 /dev/zero | zstd -q -c >'%s'", f->object), 0);
    refused(f, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_genuine, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_genuine, setup_encrypted, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup_encrypted, teardown),
        cmocka_unit_test_setup_teardown(test_bomb, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_same_size_other_content, setup_plain, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
