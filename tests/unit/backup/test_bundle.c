/*
 * test_bundle.c - backup/bundle.c: small files packed into bundles: each
 * member at the offset its layer says, bundles closed at bundle-size and
 * listed once each in backup.stored, every member read back alone (through
 * the readers' cache and by a range read) to exactly its content, also in
 * an encrypted repository.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/store.h"
#include "common/common.h"
#include "repo/bundle.h"
#include "testutil.h"

#define SYSID 7312345678901234567ull
#define MEMBERS 100
#define ID "20260101T000000Z"

static uint8_t *content(int i, size_t *len)
{
    *len = (size_t)(i * 997 % 60000) + 1;
    uint8_t *b = malloc(*len);
    tu_fill(b, *len, (uint32_t)i + 7, i % 2);
    return b;
}

/* Member `l` read alone, decoded, compared with content(i). */
static void check_member(walden_repo *repo, const wd_layer *l, int i)
{
    char *object = wd_layer_object(repo->cluster, l, "unused", repo->compress);
    wd_source *src = NULL;
    assert_ok(wd_layer_open(repo, l, object, &src));
    uint8_t *out = NULL;
    size_t out_len = 0;
    wd_sink *sink = NULL;
    wd_repo_stream st = {0};
    assert_ok(wd_memory_sink_open(&sink, &out, &out_len));
    assert_ok(wd_repo_read_begin(repo, repo->compress, NULL, sink, &st));
    assert_ok(wd_pipe_copy(st.pipe, src));
    wd_pipe_free(st.pipe);
    wd_source_close(src);
    size_t len = 0;
    uint8_t *want = content(i, &len);
    assert_int_equal(out_len, len);
    assert_int_equal(l->raw_size, len);
    assert_memory_equal(out, want, len);
    free(want);
    wd_free(out);
    wd_free(object);
}

static void pack(const char *passphrase)
{
    tu_area a;
    tu_area_setup(&a, SYSID);
    walden_config *cfg = a.cfg;
    char *dir2 = NULL;
    if (passphrase) { /* an encrypted area of its own */
        dir2 = tu_mkdtemp();
        char repo[4200];
        snprintf(repo, sizeof(repo), "%s/repo", dir2);
        cfg = tu_area_config(dir2, repo, a.pgdata, passphrase);
        assert_ok(walden_config_set(cfg, "lock-path", dir2, WALDEN_SOURCE_FLAG));
        assert_ok(walden_repo_init(cfg));
    }
    walden_repo *repo = NULL;
    assert_ok(walden_repo_open(&repo, cfg));
    if (passphrase)
        assert_ok(wd_repo_unlock(repo));
    assert_ok(walden_config_set(cfg, "bundle", "yes", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "bundle-size", "1", WALDEN_SOURCE_FLAG));
    backup_run r = {.repo = repo, .id = ID};
    r.prefix = wd_asprintf("%s/backup/%s", repo->cluster, ID);
    uint8_t *stored = NULL;
    size_t stored_len = 0;
    wd_sink *ms = NULL;
    assert_ok(wd_memory_sink_open(&ms, &stored, &stored_len));
    assert_ok(wd_pipe_new(&r.stored, ms));
    assert_ok(wd_backup_bundles_setup(&r, cfg));
    assert_true(r.bundles.on);
    assert_int_equal(r.bundles.max, 1 << 20);
    assert_int_equal(r.bundles.limit, 64 << 10);

    wd_layer l[MEMBERS];
    uint64_t total = 0;
    for (int i = 0; i < MEMBERS; i++) {
        size_t len = 0;
        uint8_t *b = content(i, &len), sha[32];
        assert_ok(wd_backup_bundle_put(&r, b, len, &l[i], sha));
        free(b);
        assert_int_equal(l[i].kind, 'u');
        assert_string_equal(l[i].id, ID);
        if (i == 0 || l[i].part != l[i - 1].part) {
            assert_int_equal(l[i].offset, 0); /* a new bundle begins with it */
            assert_true(i == 0 || l[i].part == l[i - 1].part + 1);
            /* the one before filled its bundle */
            assert_true(i == 0 || l[i - 1].offset + l[i - 1].stored_size >= 1 << 20);
        } else {
            assert_int_equal(l[i].offset, l[i - 1].offset + l[i - 1].stored_size);
            assert_true(l[i - 1].offset + l[i - 1].stored_size < 1 << 20);
        }
        total += l[i].stored_size;
    }
    uint64_t bundles = (uint64_t)l[MEMBERS - 1].part + 1;
    assert_true(bundles >= 2);
    assert_ok(wd_backup_bundles_close(&r));
    assert_ok(wd_pipe_finish(r.stored));
    wd_pipe_free(r.stored);
    /* backup.stored: each bundle once, in order, sizes adding up */
    char *text = wd_strndup((const char *)stored, stored_len);
    uint64_t sum = 0, n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64];
        snprintf(name, sizeof(name), "bundle/%" PRIu64 "%s", n, wd_compress_ext(repo->compress));
        char *tab = strrchr(line, '\t');
        assert_non_null(tab);
        assert_string_equal(tab + 1, name);
        sum += strtoull(strchr(line, '\t') + 1, NULL, 10);
        n++;
    }
    assert_int_equal(n, bundles);
    assert_int_equal(sum, total);
    wd_free(text);
    wd_free(stored);

    /* every member alone: by range reads, then through the cache (each
     * bundle fetched once) */
    for (int i = 0; i < MEMBERS; i += 7)
        check_member(repo, &l[i], i);
    assert_ok(wd_repo_bundles_begin(repo, 1));
    for (int i = 0; i < MEMBERS; i++)
        check_member(repo, &l[i], i);
    assert_int_equal(wd_repo_bundles_fetched(repo), bundles);
    wd_repo_bundles_end(repo);

    wd_backup_bundles_free(&r);
    wd_free(r.prefix);
    walden_repo_close(repo);
    if (passphrase) {
        walden_config_free(cfg);
        tu_rmdir_r(dir2);
        free(dir2);
    }
    tu_area_teardown(&a);
}

static void test_pack_plain(void **state)
{
    (void)state;
    pack(NULL);
}

static void test_pack_encrypted(void **state)
{
    (void)state;
    pack("bundle test passphrase");
}

static void test_off_on_local_disk(void **state)
{
    (void)state;
    tu_area a;
    tu_area_setup(&a, SYSID);
    walden_repo *repo = NULL;
    assert_ok(walden_repo_open(&repo, a.cfg));
    backup_run r = {.repo = repo, .id = ID};
    assert_ok(wd_backup_bundles_setup(&r, a.cfg));
    assert_false(r.bundles.on); /* auto: a local directory */
    wd_backup_bundles_free(&r);
    assert_ok(walden_config_set(a.cfg, "bundle", "no", WALDEN_SOURCE_FLAG));
    assert_ok(wd_backup_bundles_setup(&r, a.cfg));
    assert_false(r.bundles.on);
    wd_backup_bundles_free(&r);
    walden_repo_close(repo);
    tu_area_teardown(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_plain),
        cmocka_unit_test(test_pack_encrypted),
        cmocka_unit_test(test_off_on_local_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
