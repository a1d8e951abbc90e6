/*
 * test_filter_limit.c - io/filter_limit.c, the byte-limit observe filter:
 * a stream is stopped at its limit before the bytes reach the sink (so a
 * sink never holds more than the limit, also behind a decompressor fed a
 * bomb), the error is the caller's code with its message, the sink is
 * aborted, and `exact` refuses a stream that ends short.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "io/stream.h"
#include "testutil.h"

/* A sink that counts what reaches it; the counts live in the test. */
typedef struct count_log {
    uint64_t bytes;
    int commits, aborts;
} count_log;

typedef struct count_sink {
    wd_sink base;
    count_log *log;
} count_sink;

static int count_write(wd_sink *s, const uint8_t *buf, size_t len)
{
    (void)buf;
    ((count_sink *)s)->log->bytes += len;
    return 0;
}

static int count_commit(wd_sink *s)
{
    ((count_sink *)s)->log->commits++;
    free(s);
    return 0;
}

static void count_abort(wd_sink *s)
{
    ((count_sink *)s)->log->aborts++;
    free(s);
}

static wd_sink *count_sink_new(count_log *log)
{
    count_sink *s = calloc(1, sizeof(*s));
    s->base.write = count_write;
    s->base.commit = count_commit;
    s->base.abort = count_abort;
    s->log = log;
    return &s->base;
}

static wd_pipe *limited_pipe(count_log *log, uint64_t max, bool exact)
{
    wd_pipe *p;
    wd_filter *f;
    assert_ok(wd_pipe_new(&p, count_sink_new(log)));
    assert_ok(
        wd_limit_filter_new(&f, max, exact, WALDEN_EAUTH, "object 'x' failed authentication"));
    assert_ok(wd_pipe_add(p, f));
    return p;
}

static void test_within_limit(void **state)
{
    (void)state;
    count_log log = {0};
    uint8_t buf[1000] = {0};
    wd_pipe *p = limited_pipe(&log, 1000, false);
    assert_ok(wd_pipe_write(p, buf, 600));
    assert_ok(wd_pipe_write(p, buf, 400));
    assert_ok(wd_pipe_finish(p));
    wd_pipe_free(p);
    assert_int_equal(log.bytes, 1000);
    assert_int_equal(log.commits, 1);
    assert_int_equal(log.aborts, 0);
}

static void test_stops_at_limit(void **state)
{
    (void)state;
    count_log log = {0};
    uint8_t buf[1000] = {0};
    wd_pipe *p = limited_pipe(&log, 1000, false);
    assert_ok(wd_pipe_write(p, buf, 600));
    /* the write that would cross the limit reaches the sink not at all */
    assert_rc(wd_pipe_write(p, buf, 401), WALDEN_EAUTH);
    assert_string_equal(walden_error_last()->message,
                        "object 'x' failed authentication: more than 1000 bytes, the most it may "
                        "have");
    assert_int_equal(log.bytes, 600);
    assert_int_equal(log.aborts, 1);
    assert_int_equal(log.commits, 0);
    /* latched */
    assert_rc(wd_pipe_write(p, buf, 1), WALDEN_EAUTH);
    wd_pipe_free(p);
    assert_int_equal(log.aborts, 1);
}

static void test_exact(void **state)
{
    (void)state;
    count_log log = {0};
    uint8_t buf[10] = {0};
    wd_pipe *p = limited_pipe(&log, 11, true);
    assert_ok(wd_pipe_write(p, buf, 10));
    assert_rc(wd_pipe_finish(p), WALDEN_EAUTH);
    assert_non_null(strstr(walden_error_last()->message, "10 bytes, it must have exactly 11"));
    assert_int_equal(log.commits, 0);
    assert_int_equal(log.aborts, 1);
    wd_pipe_free(p);

    /* an empty object that must stay empty */
    memset(&log, 0, sizeof(log));
    p = limited_pipe(&log, 0, true);
    assert_rc(wd_pipe_write(p, buf, 1), WALDEN_EAUTH);
    assert_int_equal(log.bytes, 0);
    wd_pipe_free(p);
    memset(&log, 0, sizeof(log));
    p = limited_pipe(&log, 0, true);
    assert_ok(wd_pipe_finish(p));
    assert_int_equal(log.commits, 1);
    wd_pipe_free(p);
}

/* A decompression bomb: 256 MiB of zeros compress to a few KiB; behind
 * the decompressor, a 1 MiB limit lets at most 1 MiB reach the sink. */
static void bomb(int (*c_new)(wd_filter **), int (*d_new)(wd_filter **))
{
    uint8_t *zeros = calloc(1, 1 << 20), *packed = NULL;
    size_t packed_len = 0;
    wd_pipe *p;
    wd_sink *mem;
    wd_filter *f;
    assert_ok(wd_memory_sink_open(&mem, &packed, &packed_len));
    assert_ok(wd_pipe_new(&p, mem));
    assert_ok(c_new(&f));
    assert_ok(wd_pipe_add(p, f));
    for (int i = 0; i < 256; i++)
        assert_ok(wd_pipe_write(p, zeros, 1 << 20));
    assert_ok(wd_pipe_finish(p));
    wd_pipe_free(p);
    assert_true(packed_len < (1u << 20) / 4);

    count_log log = {0};
    assert_ok(wd_pipe_new(&p, count_sink_new(&log)));
    assert_ok(d_new(&f));
    assert_ok(wd_pipe_add(p, f));
    assert_ok(wd_limit_filter_new(&f, 1 << 20, false, WALDEN_ECORRUPT, "bomb"));
    assert_ok(wd_pipe_add(p, f));
    int rc = 0;
    for (size_t off = 0; off < packed_len && !rc; off += 4096)
        rc = wd_pipe_write(p, packed + off, packed_len - off < 4096 ? packed_len - off : 4096);
    assert_int_equal(rc, WALDEN_ECORRUPT);
    assert_true(log.bytes <= (1u << 20));
    assert_int_equal(log.aborts, 1);
    assert_int_equal(log.commits, 0);
    wd_pipe_free(p);
    wd_free(packed);
    free(zeros);
}

static int zstd_c(wd_filter **out)
{
    return wd_zstd_compress_new(out, 3, 0);
}
static int zstd_d(wd_filter **out)
{
    return wd_zstd_decompress_new(out);
}
static int gzip_c(wd_filter **out)
{
    return wd_gzip_compress_new(out, 6);
}
static int gzip_d(wd_filter **out)
{
    return wd_gzip_decompress_new(out);
}

static void test_zstd_bomb(void **state)
{
    (void)state;
    bomb(zstd_c, zstd_d);
}

static void test_gzip_bomb(void **state)
{
    (void)state;
    bomb(gzip_c, gzip_d);
}

static void test_stored_max(void **state)
{
    (void)state;
    /* room for incompressible data and the encryption framing */
    assert_true(wd_stored_max(16u << 20) >= (16u << 20) + (16u << 20) / 256 + 76 + 256 * 20);
    assert_true(wd_stored_max(0) > 76);
}

/* The message names the object whole, however long its name (a restored
 * file's path): nothing is cut off. */
static void test_long_name(void **state)
{
    (void)state;
    char what[700]; /* beyond the old 320 bytes, within a message's 1024 */
    memset(what, 'a', sizeof(what));
    memcpy(what + sizeof(what) - 8, "-tail'!", 8);
    count_log log = {0};
    uint8_t buf[16] = {0};
    wd_pipe *p;
    wd_filter *f;
    assert_ok(wd_pipe_new(&p, count_sink_new(&log)));
    assert_ok(wd_limit_filter_new(&f, 8, false, WALDEN_ECORRUPT, what));
    assert_ok(wd_pipe_add(p, f));
    assert_rc(wd_pipe_write(p, buf, sizeof(buf)), WALDEN_ECORRUPT);
    assert_non_null(strstr(walden_error_last()->message, "-tail'!: more than 8 bytes"));
    wd_pipe_free(p);
    assert_int_equal(log.bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_within_limit), cmocka_unit_test(test_stops_at_limit),
        cmocka_unit_test(test_exact),        cmocka_unit_test(test_zstd_bomb),
        cmocka_unit_test(test_gzip_bomb),    cmocka_unit_test(test_stored_max),
        cmocka_unit_test(test_long_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
