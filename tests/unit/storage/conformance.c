/*
 * conformance.c - see conformance.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "conformance.h"
#include "testutil.h"

static storage_factory factory;

static int setup(void **state)
{
    *state = factory();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    wd_storage_free(*state);
    return 0;
}

static void put(wd_storage *st, const char *path, const uint8_t *data, size_t len, size_t step)
{
    wd_sink *sink;
    assert_ok(wd_storage_open_write(st, path, &sink));
    for (size_t off = 0; off < len; off += step)
        assert_ok(sink->write(sink, data + off, len - off < step ? len - off : step));
    assert_ok(sink->commit(sink));
}

static uint8_t *get(wd_storage *st, const char *path, size_t *len)
{
    char *buf;
    assert_ok(wd_storage_read_all(st, path, 64 * 1024 * 1024, &buf, len));
    return (uint8_t *)buf;
}

static void test_write_read_sizes(void **state)
{
    wd_storage *st = *state;
    const size_t sizes[] = {0, 1, 1024 * 1024 + 3};
    uint8_t *data = malloc(sizes[2]);
    tu_fill(data, sizes[2], 3, 0);
    for (size_t i = 0; i < WD_ARRAY_LEN(sizes); i++) {
        char path[64];
        snprintf(path, sizeof(path), "dir/obj-%zu", i);
        put(st, path, data, sizes[i], 4093);
        size_t len;
        uint8_t *back = get(st, path, &len);
        assert_int_equal(len, sizes[i]);
        assert_true(len == 0 || memcmp(back, data, len) == 0);
        wd_free(back);
    }
    free(data);
}

struct listing {
    int n, dirs;
    char names[16][64];
    uint64_t sizes[16];
};

static int collect(const wd_storage_entry *e, void *ctx)
{
    struct listing *l = ctx;
    if (l->n < 16) {
        snprintf(l->names[l->n], 64, "%s", e->name);
        l->sizes[l->n] = e->size;
    }
    l->dirs += e->is_dir;
    l->n++;
    return 0;
}

static void test_visible_only_at_commit(void **state)
{
    wd_storage *st = *state;
    wd_sink *sink;
    assert_ok(wd_storage_open_write(st, "a/b/file", &sink));
    assert_ok(sink->write(sink, (const uint8_t *)"hello", 5));
    bool exists = true;
    assert_ok(wd_storage_exists(st, "a/b/file", &exists));
    assert_false(exists);
    wd_source *src;
    assert_rc(wd_storage_open_read(st, "a/b/file", &src), WALDEN_ENOTFOUND);
    struct listing l = {0};
    assert_ok(wd_storage_list(st, "a/b", collect, &l));
    assert_int_equal(l.n, 0);
    assert_ok(sink->commit(sink));
    assert_ok(wd_storage_exists(st, "a/b/file", &exists));
    assert_true(exists);
}

static void test_abort_leaves_nothing(void **state)
{
    wd_storage *st = *state;
    wd_sink *sink;
    assert_ok(wd_storage_open_write(st, "x/gone", &sink));
    assert_ok(sink->write(sink, (const uint8_t *)"data", 4));
    sink->abort(sink);
    struct listing l = {0};
    assert_ok(wd_storage_list(st, "x", collect, &l));
    assert_int_equal(l.n, 0);
    bool exists = true;
    assert_ok(wd_storage_exists(st, "x/gone", &exists));
    assert_false(exists);
}

static void test_commit_as(void **state)
{
    wd_storage *st = *state;
    wd_sink *sink;
    assert_ok(wd_storage_open_write(st, "w/name", &sink));
    assert_non_null(sink->commit_as);
    assert_ok(sink->write(sink, (const uint8_t *)"late", 4));
    assert_ok(sink->commit_as(sink, "name-decided-late"));
    size_t len;
    uint8_t *back = get(st, "w/name-decided-late", &len);
    assert_int_equal(len, 4);
    assert_memory_equal(back, "late", 4);
    wd_free(back);
    bool exists = true;
    assert_ok(wd_storage_exists(st, "w/name", &exists));
    assert_false(exists);
    /* a name with a folder in it is refused, and nothing is left */
    assert_ok(wd_storage_open_write(st, "w/other", &sink));
    assert_rc(sink->commit_as(sink, "../escape"), WALDEN_EINVAL);
    struct listing l = {0};
    assert_ok(wd_storage_list(st, "w", collect, &l));
    assert_int_equal(l.n, 1);
}

static void test_overwrite_replaces_whole(void **state)
{
    wd_storage *st = *state;
    uint8_t big[10000], small[3] = {1, 2, 3};
    memset(big, 7, sizeof(big));
    put(st, "o", big, sizeof(big), 1000);
    put(st, "o", small, sizeof(small), 3);
    size_t len;
    uint8_t *back = get(st, "o", &len);
    assert_int_equal(len, 3);
    assert_memory_equal(back, small, 3);
    wd_free(back);
}

static void test_list(void **state)
{
    wd_storage *st = *state;
    put(st, "l/one", (const uint8_t *)"1", 1, 1);
    put(st, "l/two", (const uint8_t *)"22", 2, 2);
    put(st, "l/sub/three", (const uint8_t *)"333", 3, 3);
    struct listing l = {0};
    assert_ok(wd_storage_list(st, "l", collect, &l));
    assert_int_equal(l.n, 3);
    assert_int_equal(l.dirs, 1);
    for (int i = 0; i < l.n; i++) {
        if (strcmp(l.names[i], "one") == 0)
            assert_int_equal(l.sizes[i], 1);
        else if (strcmp(l.names[i], "two") == 0)
            assert_int_equal(l.sizes[i], 2);
        else
            assert_string_equal(l.names[i], "sub");
    }
    struct listing none = {0};
    assert_ok(wd_storage_list(st, "no/such/dir", collect, &none));
    assert_int_equal(none.n, 0);
}

static void test_remove(void **state)
{
    wd_storage *st = *state;
    put(st, "r/x", (const uint8_t *)"x", 1, 1);
    assert_ok(wd_storage_remove(st, "r/x"));
    assert_ok(wd_storage_remove(st, "r/x")); /* missing is fine */
    bool exists = true;
    assert_ok(wd_storage_exists(st, "r/x", &exists));
    assert_false(exists);
    wd_source *src;
    assert_rc(wd_storage_open_read(st, "r/x", &src), WALDEN_ENOTFOUND);
}

static void test_bad_paths(void **state)
{
    wd_storage *st = *state;
    const char *bad[] = {"", "/abs", "../up", "a/../../up", "a//b", "a/./b"};
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++) {
        wd_sink *sink;
        wd_source *src;
        bool exists;
        if (wd_storage_open_write(st, bad[i], &sink) != WALDEN_EINVAL ||
            wd_storage_open_read(st, bad[i], &src) != WALDEN_EINVAL ||
            wd_storage_exists(st, bad[i], &exists) != WALDEN_EINVAL ||
            wd_storage_remove(st, bad[i]) != WALDEN_EINVAL)
            fail_msg("path '%s' was not refused", bad[i]);
    }
}

/* Reads the range [off, off + len) of `path` wholly, in pieces of `step`. */
static uint8_t *get_range(wd_storage *st, const char *path, uint64_t off, uint64_t len, size_t step,
                          size_t *got)
{
    wd_source *src;
    assert_ok(wd_storage_open_read_range(st, path, off, len, &src));
    size_t cap = 1 << 16, n = 0, k;
    uint8_t *buf = malloc(cap);
    do {
        while (cap - n < step) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        assert_ok(wd_source_read(src, buf + n, step, &k));
        n += k;
    } while (k);
    assert_ok(wd_source_read(src, buf, step, &k)); /* the end stays the end */
    assert_int_equal(k, 0);
    wd_source_close(src);
    *got = n;
    return buf;
}

static void check_range(wd_storage *st, const char *path, const uint8_t *data, size_t size,
                        uint64_t off, uint64_t len, size_t step)
{
    size_t want = off >= size ? 0 : len > size - off ? size - off : (size_t)len, got;
    uint8_t *back = get_range(st, path, off, len, step, &got);
    if (got != want)
        fail_msg("range %llu+%llu of '%s' (%zu bytes): got %zu bytes, expected %zu",
                 (unsigned long long)off, (unsigned long long)len, path, size, got, want);
    assert_true(want == 0 || memcmp(back, data + off, want) == 0);
    free(back);
}

static void test_range_reads(void **state)
{
    wd_storage *st = *state;
    const size_t size = 300 * 1000 + 7;
    uint8_t *data = malloc(size);
    tu_fill(data, size, 5, 0);
    put(st, "rg/obj", data, size, 65536);
    const struct {
        uint64_t off, len;
    } ranges[] = {
        {0, 1},
        {0, 10},
        {1, 4096},
        {100, 200000},
        {0, size},
        {0, WD_RANGE_TO_END},
        {12345, WD_RANGE_TO_END},
        {size - 5, 100},                /* cut at the end */
        {size - 1, WD_RANGE_TO_END},    /* the last byte */
        {size, 10},                     /* at the end: empty */
        {size + 1000, WD_RANGE_TO_END}, /* past the end: empty */
        {777, 0},                       /* nothing asked */
        {UINT64_MAX - 5, 10},           /* no overflow */
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(ranges); i++)
        check_range(st, "rg/obj", data, size, ranges[i].off, ranges[i].len, 3001);

    /* an empty object has empty ranges; a missing one is not found */
    put(st, "rg/empty", data, 0, 1);
    check_range(st, "rg/empty", data, 0, 0, WD_RANGE_TO_END, 100);
    check_range(st, "rg/empty", data, 0, 3, 7, 100);
    wd_source *src;
    assert_rc(wd_storage_open_read_range(st, "rg/missing", 0, 10, &src), WALDEN_ENOTFOUND);
    assert_rc(wd_storage_open_read_range(st, "rg/missing", 10, 0, &src), WALDEN_ENOTFOUND);
    assert_rc(wd_storage_open_read_range(st, "../up", 0, 10, &src), WALDEN_EINVAL);
    free(data);
}

/* remove_tree: nested "directories", more files than one batch of a batched
 * delete (1000 on S3), a neighbour with the same name prefix left alone. */
static void test_remove_tree(void **state)
{
    wd_storage *st = *state;
    const int n = 1005;
    for (int i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "t/a/f%04d", i);
        put(st, path, (const uint8_t *)"x", 1, 1);
    }
    put(st, "t/a/b/c/deep", (const uint8_t *)"deep", 4, 4);
    put(st, "t/a/b/file&<'\">", (const uint8_t *)"odd", 3, 3);
    put(st, "t/a-neighbour", (const uint8_t *)"keep", 4, 4);
    put(st, "t/ab/keep", (const uint8_t *)"keep", 4, 4);
    assert_ok(wd_storage_remove_tree(st, "t/a"));
    struct listing l = {0};
    assert_ok(wd_storage_list(st, "t/a", collect, &l));
    assert_int_equal(l.n, 0);
    struct listing t = {0};
    assert_ok(wd_storage_list(st, "t", collect, &t));
    assert_int_equal(t.n, 2); /* a-neighbour, ab */
    for (int i = 0; i < t.n; i++)
        assert_true(strcmp(t.names[i], "a-neighbour") == 0 || strcmp(t.names[i], "ab") == 0);
    bool exists = true;
    assert_ok(wd_storage_exists(st, "t/a/b/c/deep", &exists));
    assert_false(exists);
    assert_ok(wd_storage_exists(st, "t/ab/keep", &exists));
    assert_true(exists);
    /* a missing tree is fine; remove_many of missing objects too */
    assert_ok(wd_storage_remove_tree(st, "t/a"));
    const char *gone[] = {"t/a/f0001", "t/none"};
    assert_ok(wd_storage_remove_many(st, gone, 2));
    assert_ok(wd_storage_remove_many(st, gone, 0));
    /* remove_many refuses bad paths like remove */
    const char *bad[] = {"t/ab/keep", "../up"};
    assert_rc(wd_storage_remove_many(st, bad, 2), WALDEN_EINVAL);
}

/* Larger than an object store's first part size in the tests (5 MiB, with
 * parts doubling every second part): written as a multipart upload (S3) or
 * a block list (Azure) of parts of 5, 5, 10 and 1 MiB, in uneven steps. */
#define LARGE_SIZE (21 * 1024 * 1024 + 17)

static void test_large_objects(void **state)
{
    wd_storage *st = *state;
    uint8_t *data = malloc(LARGE_SIZE);
    tu_fill(data, LARGE_SIZE, 11, 0);
    put(st, "big/plain", data, LARGE_SIZE, 65521);
    size_t len;
    uint8_t *back = get(st, "big/plain", &len);
    assert_int_equal(len, LARGE_SIZE);
    assert_memory_equal(back, data, LARGE_SIZE);
    wd_free(back);

    /* named at commit, after parts went out under the first name */
    wd_sink *sink;
    assert_ok(wd_storage_open_write(st, "big/tmpname", &sink));
    assert_ok(sink->write(sink, data, LARGE_SIZE));
    assert_ok(sink->commit_as(sink, "final"));
    back = get(st, "big/final", &len);
    assert_int_equal(len, LARGE_SIZE);
    assert_memory_equal(back, data, LARGE_SIZE);
    wd_free(back);

    /* aborted after parts went out: nothing visible */
    assert_ok(wd_storage_open_write(st, "big/aborted", &sink));
    assert_ok(sink->write(sink, data, LARGE_SIZE));
    sink->abort(sink);
    struct listing l = {0};
    assert_ok(wd_storage_list(st, "big", collect, &l));
    assert_int_equal(l.n, 2); /* plain, final */
    for (int i = 0; i < l.n; i++) {
        assert_true(strcmp(l.names[i], "plain") == 0 || strcmp(l.names[i], "final") == 0);
        assert_int_equal(l.sizes[i], LARGE_SIZE);
    }
    /* a read in small pieces across the object */
    wd_source *src;
    assert_ok(wd_storage_open_read(st, "big/final", &src));
    size_t off = 0, n;
    uint8_t piece[3001];
    do {
        assert_ok(wd_source_read(src, piece, sizeof(piece), &n));
        assert_true(off + n <= LARGE_SIZE);
        assert_memory_equal(piece, data + off, n);
        off += n;
    } while (n);
    assert_int_equal(off, LARGE_SIZE);
    wd_source_close(src);
    /* ranges across the 8 MiB a range-reading source fetches at a time */
    check_range(st, "big/final", data, LARGE_SIZE, 8 * 1024 * 1024 - 10, 3 * 1024 * 1024, 65536);
    check_range(st, "big/final", data, LARGE_SIZE, 1, WD_RANGE_TO_END, 1 << 20);
    check_range(st, "big/final", data, LARGE_SIZE, LARGE_SIZE - 3, 10, 7);
    free(data);
}

/* Many entries: object stores page their listings (1000 per page on S3). */
static void test_list_many(void **state)
{
    wd_storage *st = *state;
    const int n = 1003;
    for (int i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "many/f%04d", i);
        put(st, path, (const uint8_t *)"x", 1, 1);
    }
    struct listing l = {0};
    assert_ok(wd_storage_list(st, "many", collect, &l));
    assert_int_equal(l.n, n);
    assert_int_equal(l.dirs, 0);
}

int storage_conformance_run(const char *driver, storage_factory make)
{
    factory = make;
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_write_read_sizes),
        T(test_visible_only_at_commit),
        T(test_abort_leaves_nothing),
        T(test_commit_as),
        T(test_overwrite_replaces_whole),
        T(test_list),
        T(test_remove),
        T(test_bad_paths),
        T(test_large_objects),
        T(test_list_many),
        T(test_range_reads),
        T(test_remove_tree),
    };
    return _cmocka_run_group_tests(driver, tests, WD_ARRAY_LEN(tests), NULL, NULL);
}
