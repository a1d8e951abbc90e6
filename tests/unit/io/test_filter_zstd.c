/*
 * test_filter_zstd.c - io/filter_zstd.c's reuse of contexts (the codec's
 * round trips, interoperability and damage are in test_filters.c).
 *
 * A thread's zstd contexts are reused from one filter to the next. Nothing
 * of a stream may reach the next one: streams decoded one after another on
 * one thread, after a corrupt, a truncated or an abandoned one, come out
 * exact, and a frame written on a reused context (after other levels) is
 * byte for byte what a new context writes. The reuse itself is counted.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "io/stream.h"
#include "testutil.h"

#define LEN_A (700 * 1024 + 3)
#define LEN_B (1024 * 1024 + 17)

static int zstd_c(wd_filter **out, int level)
{
    return wd_zstd_compress_new(out, level, 0);
}

/* Runs `data` through one zstd filter (compression at `level`, or
 * decompression when level < 0) into memory, `piece` bytes per write; with
 * `abandon`, stops after the first write and frees the pipeline unfinished.
 * On success *out holds the output (wd_free it). */
static int run(int level, const uint8_t *data, size_t len, size_t piece, bool abandon,
               uint8_t **out, size_t *out_len)
{
    wd_sink *sink;
    wd_pipe *p;
    wd_filter *f;
    *out = NULL;
    assert_ok(wd_memory_sink_open(&sink, out, out_len));
    assert_ok(wd_pipe_new(&p, sink));
    assert_ok(level < 0 ? wd_zstd_decompress_new(&f) : zstd_c(&f, level));
    assert_ok(wd_pipe_add(p, f));
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += piece) {
        rc = wd_pipe_write(p, data + off, len - off < piece ? len - off : piece);
        if (abandon)
            break;
    }
    if (rc == 0 && !abandon)
        rc = wd_pipe_finish(p);
    wd_pipe_free(p);
    if (rc)
        assert_null(*out);
    return rc;
}

static uint8_t *compress(int level, const uint8_t *data, size_t len, size_t *out_len)
{
    uint8_t *out;
    assert_ok(run(level, data, len, 64 * 1024, false, &out, out_len));
    return out;
}

static void expect_exact(const uint8_t *packed, size_t plen, const uint8_t *data, size_t len)
{
    uint8_t *out;
    size_t out_len;
    assert_ok(run(-1, packed, plen, 4096, false, &out, &out_len));
    assert_int_equal(out_len, len);
    assert_memory_equal(out, data, len);
    wd_free(out);
}

static void expect_corrupt(const uint8_t *packed, size_t plen)
{
    uint8_t *out;
    size_t out_len;
    assert_rc(run(-1, packed, plen, 4096, false, &out, &out_len), WALDEN_ECORRUPT);
}

/* two streams of different data: compressible (long matches into the
 * window) and random */
typedef struct streams {
    uint8_t *a, *b, *pa, *pb;
    size_t la, lb;
} streams;

static void streams_make(streams *s)
{
    s->a = malloc(LEN_A);
    s->b = malloc(LEN_B);
    assert_non_null(s->a);
    assert_non_null(s->b);
    tu_fill(s->a, LEN_A, 21, 1);
    tu_fill(s->b, LEN_B, 22, 0);
    memcpy(s->b + 1000, s->a, 200 * 1024); /* b repeats a part of a */
    s->pa = compress(3, s->a, LEN_A, &s->la);
    s->pb = compress(3, s->b, LEN_B, &s->lb);
}

static void streams_free(streams *s)
{
    free(s->a);
    free(s->b);
    wd_free(s->pa);
    wd_free(s->pb);
}

/* After each way a stream can fail or stop, the next two streams on this
 * thread decode exactly; and all of it on the one parked context. */
static void test_streams_after_a_failed_one(void **state)
{
    (void)state;
    streams s;
    streams_make(&s);
    expect_exact(s.pa, s.la, s.a, LEN_A);
    unsigned long made = wd_zstd_contexts_made();

    uint8_t *bad = malloc(s.la + 16);
    assert_non_null(bad);
    /* a flipped byte in a block in the middle of the frame */
    memcpy(bad, s.pa, s.la);
    bad[s.la / 2] ^= 0x55;
    expect_corrupt(bad, s.la);
    expect_exact(s.pa, s.la, s.a, LEN_A);
    expect_exact(s.pb, s.lb, s.b, LEN_B);
    /* truncated: the context is left inside a frame, its window full */
    expect_corrupt(s.pa, s.la * 2 / 3);
    expect_exact(s.pb, s.lb, s.b, LEN_B);
    expect_exact(s.pa, s.la, s.a, LEN_A);
    /* the rest of that frame alone is not a stream: no state carries over */
    expect_corrupt(s.pa, s.la * 2 / 3);
    expect_corrupt(s.pa + s.la * 2 / 3, s.la - s.la * 2 / 3);
    expect_exact(s.pa, s.la, s.a, LEN_A);
    /* bytes after the end of the frame */
    memcpy(bad, s.pa, s.la);
    memcpy(bad + s.la, "garbage", 7);
    expect_corrupt(bad, s.la + 7);
    expect_exact(s.pb, s.lb, s.b, LEN_B);
    /* abandoned midway: the pipeline is freed unfinished */
    uint8_t *out;
    size_t out_len;
    assert_ok(run(-1, s.pa, s.la, s.la / 3, true, &out, &out_len));
    assert_null(out);
    expect_exact(s.pa, s.la, s.a, LEN_A);
    expect_exact(s.pb, s.lb, s.b, LEN_B);

    assert_int_equal(wd_zstd_contexts_made(), made);
    free(bad);
    streams_free(&s);
}

/* Compression on a fresh context, in a thread of its own (nothing parked
 * there yet): the reference bytes. */
typedef struct fresh {
    const uint8_t *data;
    size_t len;
    int level;
    uint8_t *out;
    size_t out_len;
    unsigned long made_before, made_after;
} fresh;

static void *fresh_main(void *arg)
{
    fresh *f = arg;
    f->made_before = wd_zstd_contexts_made();
    f->out = compress(f->level, f->data, f->len, &f->out_len);
    f->made_after = wd_zstd_contexts_made();
    return NULL;
}

static void fresh_compress(fresh *f, int level, const uint8_t *data, size_t len)
{
    memset(f, 0, sizeof(*f));
    f->data = data;
    f->len = len;
    f->level = level;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fresh_main, f), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(f->made_after, f->made_before + 1);
}

/* A reused compression context writes what a new one writes, whatever
 * level it compressed at before, also after a stream abandoned midway. */
static void test_reused_compression_is_identical(void **state)
{
    (void)state;
    streams s;
    streams_make(&s);
    const int levels[] = {1, 3, 19, 0, 7};
    unsigned long made = wd_zstd_contexts_made();
    for (size_t i = 0; i < WD_ARRAY_LEN(levels); i++) {
        fresh want;
        fresh_compress(&want, levels[i], s.a, LEN_A);
        size_t len;
        uint8_t *got = compress(levels[i], s.a, LEN_A, &len);
        assert_int_equal(len, want.out_len);
        assert_memory_equal(got, want.out, len);
        expect_exact(got, len, s.a, LEN_A);
        wd_free(got);
        wd_free(want.out);
        /* abandoned: compressed part of b, never finished */
        uint8_t *out;
        size_t out_len;
        assert_ok(run(levels[i], s.b, LEN_B, LEN_B / 2, true, &out, &out_len));
        assert_null(out);
    }
    /* each fresh thread made one (freed when it ended), this thread none */
    assert_int_equal(wd_zstd_contexts_made(), made + WD_ARRAY_LEN(levels));
    streams_free(&s);
}

/* One context per direction per thread, whatever the number of filters;
 * a compression with workers keeps its own, never parked. */
static void test_contexts_are_reused(void **state)
{
    (void)state;
    uint8_t data[10000];
    tu_fill(data, sizeof(data), 7, 1);
    size_t len;
    uint8_t *packed = compress(3, data, sizeof(data), &len);
    expect_exact(packed, len, data, sizeof(data));
    unsigned long made = wd_zstd_contexts_made();
    for (int i = 0; i < 20; i++) {
        wd_free(compress(i % 2 ? 3 : 9, data, sizeof(data), &len));
        expect_exact(packed, len, data, sizeof(data));
    }
    /* two filters alive at once: the second needs a context of its own,
     * the one freed last is parked, the other is freed */
    wd_filter *d1, *d2;
    assert_ok(wd_zstd_decompress_new(&d1));
    assert_ok(wd_zstd_decompress_new(&d2));
    assert_int_equal(wd_zstd_contexts_made(), made + 1);
    d1->ops->free(d1);
    d2->ops->free(d2);
    assert_ok(wd_zstd_decompress_new(&d1));
    d1->ops->free(d1);
    assert_int_equal(wd_zstd_contexts_made(), made + 1);

    wd_filter *w;
    for (int i = 0; i < 2; i++) {
        assert_ok(wd_zstd_compress_new(&w, 3, 1));
        w->ops->free(w);
    }
    assert_int_equal(wd_zstd_contexts_made(), made + 3);
    wd_free(packed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streams_after_a_failed_one),
        cmocka_unit_test(test_reused_compression_is_identical),
        cmocka_unit_test(test_contexts_are_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
