/*
 * test_util.c - common/util.c and common/error.c: hex, paths, numbers,
 * key = value parsing, and the per-thread last error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "testutil.h"

static void test_hex_round_trip(void **state)
{
    (void)state;
    const uint8_t in[4] = {0x00, 0xab, 0x10, 0xff};
    char hex[9];
    wd_hex_encode(in, 4, hex);
    assert_string_equal(hex, "00ab10ff");
    uint8_t out[4];
    assert_ok(wd_hex_decode("00AB10ff", out, 4));
    assert_memory_equal(in, out, 4);
    assert_rc(wd_hex_decode("00ab10f", out, 4), WALDEN_EINVAL);
    assert_rc(wd_hex_decode("00ab10fg", out, 4), WALDEN_EINVAL);
}

static void test_path_join(void **state)
{
    (void)state;
    const char *cases[][3] = {{"a", "b", "a/b"}, {"a/", "/b", "a/b"}, {"/", "b", "/b"},
                              {"", "b", "b"},    {"a", "", "a"},      {"a//", "b/c", "a/b/c"}};
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        char *p = wd_path_join(cases[i][0], cases[i][1]);
        assert_string_equal(p, cases[i][2]);
        wd_free(p);
    }
}

static void test_parse_int64(void **state)
{
    (void)state;
    int64_t v;
    assert_ok(wd_parse_int64("42", 0, 100, &v));
    assert_int_equal(v, 42);
    assert_rc(wd_parse_int64("101", 0, 100, &v), WALDEN_EINVAL);
    assert_rc(wd_parse_int64("4x", 0, 100, &v), WALDEN_EINVAL);
    assert_rc(wd_parse_int64("", 0, 100, &v), WALDEN_EINVAL);
    uint64_t u;
    assert_ok(wd_parse_uint64("7312345678901234567", &u));
    assert_true(u == 7312345678901234567ull);
    assert_rc(wd_parse_uint64("-1", &u), WALDEN_EINVAL);
}

struct kv_seen {
    int count;
    char names[4][32];
    char values[4][64];
};

static int kv_collect(const char *name, const char *value, int line, void *ctx)
{
    (void)line;
    struct kv_seen *s = ctx;
    snprintf(s->names[s->count], 32, "%s", name);
    snprintf(s->values[s->count], 64, "%s", value);
    s->count++;
    return 0;
}

static void test_kv_parse(void **state)
{
    (void)state;
    const char *text = "# comment\n\n repo = /var/lib/walden \ncompress=zstd\r\n"
                       "encrypt-passphrase = \"a b = c\"\nempty =\n";
    struct kv_seen s = {0};
    assert_ok(wd_kv_parse(text, strlen(text), "test.conf", kv_collect, &s));
    assert_int_equal(s.count, 4);
    assert_string_equal(s.names[0], "repo");
    assert_string_equal(s.values[0], "/var/lib/walden");
    assert_string_equal(s.values[1], "zstd");
    assert_string_equal(s.values[2], "a b = c");
    assert_string_equal(s.names[3], "empty");
    assert_string_equal(s.values[3], "");

    struct kv_seen bad = {0};
    const char *broken = "repo = x\nnot an option line\n";
    assert_rc(wd_kv_parse(broken, strlen(broken), "test.conf", kv_collect, &bad), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "test.conf:2"));
}

/* A NUL byte in a metadata or config file: one error naming the file, and
 * no write past the parser's copy (a copy that stopped at the NUL was wiped
 * with the whole text's length: with a NUL early in a long text, a heap
 * overwrite that crashed info, verify, expire and drill --history). */
static void test_kv_parse_nul_byte(void **state)
{
    (void)state;
    size_t big_len = 1 << 20;
    char *big = malloc(big_len);
    assert_non_null(big);
    memset(big, 'a', big_len);
    memcpy(big, "repo = /x\n\0", 11);
    big[big_len - 1] = '\n';
    struct kv_seen b = {0};
    assert_rc(wd_kv_parse(big, big_len, "cluster.conf", kv_collect, &b), WALDEN_EINVAL);
    assert_string_equal(walden_error_last()->message,
                        "cluster.conf: contains a NUL byte (a damaged file?)");
    free(big);
    const char text[] = "repo = /x\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0compress = zstd\n";
    struct kv_seen s = {0};
    assert_rc(wd_kv_parse(text, sizeof(text) - 1, "backup.info of backup 'X'", kv_collect, &s),
              WALDEN_EINVAL);
    assert_int_equal(s.count, 0); /* nothing half-read */
    assert_string_equal(walden_error_last()->message,
                        "backup.info of backup 'X': contains a NUL byte (a damaged file?)");
    /* a NUL as the last byte too */
    const char tail[] = "repo = /x\n\0";
    assert_rc(wd_kv_parse(tail, sizeof(tail) - 1, "c.conf", kv_collect, &s), WALDEN_EINVAL);
    /* the text without the NUL still parses */
    assert_ok(wd_kv_parse(tail, sizeof(tail) - 2, "c.conf", kv_collect, &s));
    assert_int_equal(s.count, 1);
}

/* wd_mkdir_p gives a folder it makes the mode asked for, whatever the
 * umask. */
static void test_mkdir_p_mode(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    const mode_t masks[] = {0, 077};
    for (size_t i = 0; i < WD_ARRAY_LEN(masks); i++) {
        char *path = wd_asprintf("%s/m%zu/a/b", dir, i);
        mode_t old = umask(masks[i]);
        int rc = wd_mkdir_p(path, 0750);
        umask(old);
        assert_ok(rc);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0750);
        wd_free(path);
    }
    tu_rmdir_r(dir);
    wd_free(dir);
}

static void test_error_last_is_one_line(void **state)
{
    (void)state;
    walden_error_clear();
    assert_int_equal(walden_error_last()->code, 0);
    assert_rc(wd_error_set(WALDEN_ECORRUPT, "line one\nline two"), WALDEN_ECORRUPT);
    assert_string_equal(walden_error_last()->message, "line one line two");
    assert_rc(wd_error_set_errno(ENOSPC, "cannot write '%s'", "x"), WALDEN_ENOSPC);
    assert_non_null(strstr(walden_error_last()->message, "cannot write 'x': "));
    assert_rc(wd_error_set_errno(ENOENT, "cannot open"), WALDEN_ENOTFOUND);
    assert_string_equal(walden_error_name(WALDEN_ECORRUPT), "corrupt");
}

static void test_alloc_failure_is_reported(void **state)
{
    (void)state;
    wd_alloc_fail_after(0);
    char *p = wd_strdup("x");
    wd_alloc_fail_after(-1);
    assert_null(p);
    assert_int_equal(walden_error_last()->code, WALDEN_ENOMEM);
}

/* An array grows to `first`, then doubles; a failed growth leaves the
 * array and its capacity as they were. */
static void test_array_grow(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    for (size_t n = 0; n < 100; n++) {
        int *g = wd_array_grow(v, &cap, n, sizeof(*g), 8);
        assert_non_null(g);
        v = g;
        v[n] = (int)n;
        assert_true(cap > n && (cap == 8 || cap % 16 == 0));
    }
    assert_int_equal(cap, 128);
    assert_ptr_equal(wd_array_grow(v, &cap, 127, sizeof(*v), 8), v); /* room left */
    wd_alloc_fail_after(0);
    assert_null(wd_array_grow(v, &cap, 128, sizeof(*v), 8));
    wd_alloc_fail_after(-1);
    assert_int_equal(cap, 128);
    for (int i = 0; i < 100; i++)
        assert_int_equal(v[i], i);
    wd_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_round_trip),
        cmocka_unit_test(test_path_join),
        cmocka_unit_test(test_parse_int64),
        cmocka_unit_test(test_kv_parse),
        cmocka_unit_test(test_kv_parse_nul_byte),
        cmocka_unit_test(test_mkdir_p_mode),
        cmocka_unit_test(test_error_last_is_one_line),
        cmocka_unit_test(test_alloc_failure_is_reported),
        cmocka_unit_test(test_array_grow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
