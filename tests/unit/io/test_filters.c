/*
 * test_filters.c - io/filter_hash.c, io/filter_zstd.c, io/filter_gzip.c and
 * io/compress.c.
 *
 * Every filter passes one shared round-trip test (round_trip_all) at write
 * sizes 1, 7, 4096 and one large write, with empty, compressible and random
 * data: raw -> hash -> compress -> hash -> sink, then back, checking the
 * bytes and each hash against a one-shot SHA-256. Our zstd and gzip output
 * must decode with the zstd and gzip tools and theirs with ours. Damaged
 * input (a flipped byte, truncation, bytes appended) must be
 * WALDEN_ECORRUPT with the sink aborted. Memory stays bounded while 256 MiB
 * stream through zstd compression and decompression.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/evp.h>

#include "common/common.h"
#include "io/stream.h"
#include "testutil.h"

/* ---- codecs under test ---- */

typedef struct codec {
    const char *name;
    int (*compress_new)(wd_filter **out); /* NULL: no transform */
    int (*decompress_new)(wd_filter **out);
} codec;

static int zstd_c(wd_filter **out)
{
    return wd_zstd_compress_new(out, 0, 0);
}
static int zstd_c_workers(wd_filter **out)
{
    return wd_zstd_compress_new(out, 3, 1);
}
static int zstd_c_19(wd_filter **out)
{
    return wd_zstd_compress_new(out, 19, 0);
}
static int gzip_c(wd_filter **out)
{
    return wd_gzip_compress_new(out, 0);
}
static int gzip_c_1(wd_filter **out)
{
    return wd_gzip_compress_new(out, 1);
}
static int compress_zstd(wd_filter **out)
{
    return wd_compress_filter_new(out, WD_COMPRESS_ZSTD, 0);
}
static int decompress_zstd(wd_filter **out)
{
    return wd_decompress_filter_new(out, WD_COMPRESS_ZSTD);
}

static const codec zstd_codec = {"zstd", zstd_c, wd_zstd_decompress_new};
static const codec zstd_workers_codec = {"zstd-workers", zstd_c_workers, wd_zstd_decompress_new};
static const codec zstd_19_codec = {"zstd-19", zstd_c_19, wd_zstd_decompress_new};
static const codec zstd_by_type_codec = {"zstd-by-type", compress_zstd, decompress_zstd};
static const codec gzip_codec = {"gzip", gzip_c, wd_gzip_decompress_new};
static const codec gzip_1_codec = {"gzip-1", gzip_c_1, wd_gzip_decompress_new};
static const codec hash_codec = {"hash", NULL, NULL};

/* ---- helpers ---- */

static void sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
    assert_int_equal(n, 32);
}

static void check_hash(const wd_filter *h, const uint8_t *data, size_t len)
{
    uint8_t want[32], got[32];
    uint64_t bytes = 0;
    sha256(data, len, want);
    wd_hash_filter_result(h, got, &bytes);
    assert_int_equal(bytes, len);
    assert_memory_equal(got, want, 32);
}

static void write_in_pieces(wd_pipe *p, const uint8_t *data, size_t len, size_t piece)
{
    for (size_t off = 0; off < len; off += piece)
        assert_ok(wd_pipe_write(p, data + off, len - off < piece ? len - off : piece));
}

/* A pipeline hash -> [filter] -> hash -> memory sink. */
typedef struct run {
    wd_pipe *p;
    wd_filter *before, *after;
    uint8_t *out;
    size_t out_len;
} run;

static void run_begin(run *r, int (*filter_new)(wd_filter **))
{
    memset(r, 0, sizeof(*r));
    wd_sink *sink;
    assert_ok(wd_memory_sink_open(&sink, &r->out, &r->out_len));
    assert_ok(wd_pipe_new(&r->p, sink));
    assert_ok(wd_hash_filter_new(&r->before));
    assert_ok(wd_pipe_add(r->p, r->before));
    if (filter_new) {
        wd_filter *f;
        assert_ok(filter_new(&f));
        assert_ok(wd_pipe_add(r->p, f));
    }
    assert_ok(wd_hash_filter_new(&r->after));
    assert_ok(wd_pipe_add(r->p, r->after));
}

/* Runs `data` through hash -> filter -> hash into memory; returns the
 * pipeline's result; on success *out holds the output (wd_free it). */
static int run_filter(int (*filter_new)(wd_filter **), const uint8_t *data, size_t len,
                      size_t piece, uint8_t **out, size_t *out_len)
{
    run r;
    run_begin(&r, filter_new);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += piece)
        rc = wd_pipe_write(r.p, data + off, len - off < piece ? len - off : piece);
    if (rc == 0)
        rc = wd_pipe_finish(r.p);
    if (rc == 0) {
        check_hash(r.before, data, len);
        check_hash(r.after, r.out, r.out_len);
    } else {
        assert_null(r.out); /* the memory sink was aborted, not committed */
    }
    wd_pipe_free(r.p);
    *out = r.out;
    *out_len = r.out_len;
    return rc;
}

/* ---- the shared round trip ---- */

static void round_trip(const codec *c, const uint8_t *data, size_t len, size_t piece)
{
    uint8_t *packed, *unpacked;
    size_t packed_len, unpacked_len;
    assert_ok(run_filter(c->compress_new, data, len, piece, &packed, &packed_len));
    if (!c->compress_new) {
        assert_int_equal(packed_len, len);
        assert_memory_equal(packed, data, len);
    } else {
        assert_true(packed_len > 0); /* even nothing makes a frame */
    }
    assert_ok(run_filter(c->decompress_new, packed, packed_len, piece, &unpacked, &unpacked_len));
    assert_int_equal(unpacked_len, len);
    if (len)
        assert_memory_equal(unpacked, data, len);
    wd_free(packed);
    wd_free(unpacked);
}

static void round_trip_all(const codec *c)
{
    /* more than a stage buffer (256 KiB), so buffers fill up; 1-byte
     * writes get less data to keep the test fast */
    const struct {
        size_t piece, len;
    } sizes[] = {{1, 300 * 1024 + 11},
                 {7, 1024 * 1024 + 3},
                 {4096, 3 * 1024 * 1024 + 5},
                 {SIZE_MAX, 3 * 1024 * 1024 + 5}};
    size_t max = 3 * 1024 * 1024 + 5;
    uint8_t *compressible = malloc(max), *random = malloc(max);
    assert_non_null(compressible);
    assert_non_null(random);
    tu_fill(compressible, max, 11, 1);
    tu_fill(random, max, 12, 0);
    for (size_t i = 0; i < WD_ARRAY_LEN(sizes); i++) {
        round_trip(c, compressible, 0, sizes[i].piece);
        round_trip(c, compressible, sizes[i].len, sizes[i].piece);
        round_trip(c, random, sizes[i].len, sizes[i].piece);
    }
    free(compressible);
    free(random);
}

static void test_round_trip_hash(void **state)
{
    (void)state;
    round_trip_all(&hash_codec);
}

static void test_round_trip_zstd(void **state)
{
    (void)state;
    round_trip_all(&zstd_codec);
}

static void test_round_trip_zstd_workers(void **state)
{
    (void)state;
    round_trip_all(&zstd_workers_codec);
}

static void test_round_trip_zstd_by_type(void **state)
{
    (void)state;
    round_trip_all(&zstd_by_type_codec);
}

static void test_round_trip_gzip(void **state)
{
    (void)state;
    round_trip_all(&gzip_codec);
}

static void test_round_trip_gzip_level_1(void **state)
{
    (void)state;
    round_trip_all(&gzip_1_codec);
}

/* a high level once, on less data: it is slow */
static void test_round_trip_zstd_19(void **state)
{
    (void)state;
    uint8_t *data = malloc(512 * 1024);
    assert_non_null(data);
    tu_fill(data, 512 * 1024, 5, 1);
    round_trip(&zstd_19_codec, data, 512 * 1024, 4096);
    free(data);
}

/* ---- compression really happens, with zstd's checksum ---- */

static void test_compression_shrinks(void **state)
{
    (void)state;
    size_t len = 1024 * 1024;
    uint8_t *data = malloc(len);
    assert_non_null(data);
    tu_fill(data, len, 3, 1);
    uint8_t *out;
    size_t out_len;
    assert_ok(run_filter(zstd_c, data, len, len, &out, &out_len));
    assert_true(out_len < len / 4);
    /* zstd frame: magic 28 b5 2f fd, then the frame header descriptor
     * whose bit 2 is the content checksum flag */
    assert_true(out_len > 5);
    assert_memory_equal(out, "\x28\xb5\x2f\xfd", 4);
    assert_true(out[4] & 0x04);
    wd_free(out);
    assert_ok(run_filter(gzip_c, data, len, len, &out, &out_len));
    assert_true(out_len < len / 4);
    assert_memory_equal(out, "\x1f\x8b\x08", 3);
    wd_free(out);
    free(data);
}

/* ---- the command-line tools ---- */

static void mixed_data(uint8_t *buf, size_t len)
{
    for (size_t off = 0; off < len; off += 64 * 1024) {
        size_t n = len - off < 64 * 1024 ? len - off : 64 * 1024;
        tu_fill(buf + off, n, (uint32_t)off, (off / (64 * 1024)) % 2);
    }
}

static void check_file_equals(const char *path, const uint8_t *data, size_t len)
{
    size_t n;
    uint8_t *got = tu_read_file(path, &n);
    assert_int_equal(n, len);
    if (len)
        assert_memory_equal(got, data, len);
    free(got);
}

/* our output decodes with `tool -d`, and the tool's output with ours */
static void tool_interop(const codec *c, const char *tool, const char *ext, const char *flags)
{
    char *dir = tu_mkdtemp();
    char raw[512], packed[512], unpacked[512];
    snprintf(raw, sizeof(raw), "%s/raw", dir);
    snprintf(packed, sizeof(packed), "%s/raw%s", dir, ext);
    snprintf(unpacked, sizeof(unpacked), "%s/unpacked", dir);
    size_t sizes[] = {0, 1, 5 * 1024 * 1024 + 77};
    uint8_t *data = malloc(sizes[2]);
    assert_non_null(data);
    mixed_data(data, sizes[2]);
    for (size_t i = 0; i < WD_ARRAY_LEN(sizes); i++) {
        size_t len = sizes[i];
        uint8_t *out;
        size_t out_len;
        /* ours -> tool */
        assert_ok(run_filter(c->compress_new, data, len, 65536, &out, &out_len));
        tu_write_file(packed, out, out_len);
        wd_free(out);
        assert_int_equal(tu_system("%s -d -q -c '%s' > '%s'", tool, packed, unpacked), 0);
        check_file_equals(unpacked, data, len);
        /* tool -> ours */
        tu_write_file(raw, data, len);
        assert_int_equal(tu_system("%s %s -q -c '%s' > '%s'", tool, flags, raw, packed), 0);
        size_t plen;
        uint8_t *p = tu_read_file(packed, &plen);
        assert_ok(run_filter(c->decompress_new, p, plen, 4096, &out, &out_len));
        assert_int_equal(out_len, len);
        if (len)
            assert_memory_equal(out, data, len);
        wd_free(out);
        free(p);
    }
    free(data);
    tu_rmdir_r(dir);
    free(dir);
}

static void test_zstd_tool_interop(void **state)
{
    (void)state;
    tool_interop(&zstd_codec, "zstd", ".zst", "-3");
    tool_interop(&zstd_workers_codec, "zstd", ".zst", "-T2 -6");
    tool_interop(&zstd_codec, "zstd", ".zst", "--no-check -1");
}

static void test_gzip_tool_interop(void **state)
{
    (void)state;
    tool_interop(&gzip_codec, "gzip", ".gz", "-6");
    tool_interop(&gzip_codec, "gzip", ".gz", "-9 -n");
}

/* ---- damage ---- */

static void expect_corrupt(const codec *c, const uint8_t *data, size_t len, const char *msg)
{
    const size_t pieces[] = {1, 4096, SIZE_MAX};
    for (size_t i = 0; i < WD_ARRAY_LEN(pieces); i++) {
        if (pieces[i] == 1 && len > 64 * 1024)
            continue; /* slow and adds nothing */
        uint8_t *out = NULL;
        size_t out_len;
        walden_error_clear();
        assert_rc(run_filter(c->decompress_new, data, len, pieces[i], &out, &out_len),
                  WALDEN_ECORRUPT);
        assert_null(out);
        if (!strstr(walden_error_last()->message, msg))
            fail_msg("'%s' does not contain '%s'", walden_error_last()->message, msg);
    }
}

static void tampering(const codec *c, const char *name)
{
    char truncated[64], corrupt[64], any[64];
    snprintf(truncated, sizeof(truncated), "truncated %s stream", name);
    snprintf(corrupt, sizeof(corrupt), "corrupt %s stream: ", name);
    snprintf(any, sizeof(any), "%s stream", name);
    size_t len = 1024 * 1024;
    uint8_t *data = malloc(len);
    assert_non_null(data);
    mixed_data(data, len);
    uint8_t *packed;
    size_t plen;
    assert_ok(run_filter(c->compress_new, data, len, len, &packed, &plen));
    uint8_t *bad = malloc(2 * plen + 16);
    assert_non_null(bad);

    /* a flipped byte: in the middle (data; found by a checksum at the end
     * at the latest), in the magic, in the trailer (checksum, length). A
     * flip may make a block look longer, so "truncated" is a fine answer
     * too: what matters is WALDEN_ECORRUPT and an aborted sink. */
    size_t where[] = {plen / 2, plen / 3, 0, 2, plen - 1, plen - 5};
    for (size_t i = 0; i < WD_ARRAY_LEN(where); i++) {
        memcpy(bad, packed, plen);
        bad[where[i]] ^= 0x20;
        expect_corrupt(c, bad, plen, i < 2 ? any : corrupt);
    }
    /* truncated: by one byte, by half, to one byte, to nothing */
    expect_corrupt(c, packed, plen - 1, truncated);
    expect_corrupt(c, packed, plen / 2, truncated);
    expect_corrupt(c, packed, 1, truncated);
    expect_corrupt(c, packed, 0, truncated);
    /* bytes after the end: garbage, zeros, a second complete frame */
    memcpy(bad, packed, plen);
    memcpy(bad + plen, "garbage", 7);
    expect_corrupt(c, bad, plen + 1, corrupt);
    expect_corrupt(c, bad, plen + 7, corrupt);
    memset(bad + plen, 0, 16);
    expect_corrupt(c, bad, plen + 16, corrupt);
    memcpy(bad + plen, packed, plen);
    expect_corrupt(c, bad, 2 * plen, corrupt);
    /* not compressed at all */
    expect_corrupt(c, data, 100 * 1024, corrupt);

    /* and the untouched data still decodes */
    uint8_t *out;
    size_t out_len;
    assert_ok(run_filter(c->decompress_new, packed, plen, 4096, &out, &out_len));
    assert_int_equal(out_len, len);
    assert_memory_equal(out, data, len);
    wd_free(out);
    wd_free(packed);
    free(bad);
    free(data);
}

static void test_zstd_damage_is_corrupt(void **state)
{
    (void)state;
    tampering(&zstd_codec, "zstd");
}

static void test_gzip_damage_is_corrupt(void **state)
{
    (void)state;
    tampering(&gzip_codec, "gzip");
}

/* the empty stream's frame is damaged too */
static void test_empty_frame_damage(void **state)
{
    (void)state;
    const codec *codecs[] = {&zstd_codec, &gzip_codec};
    const char *names[] = {"zstd", "gzip"};
    for (size_t i = 0; i < 2; i++) {
        uint8_t *packed;
        size_t plen;
        char truncated[64];
        snprintf(truncated, sizeof(truncated), "truncated %s stream", names[i]);
        assert_ok(run_filter(codecs[i]->compress_new, NULL, 0, 1, &packed, &plen));
        expect_corrupt(codecs[i], packed, plen - 1, truncated);
        packed[plen - 1] ^= 1;
        expect_corrupt(codecs[i], packed, plen, "corrupt");
        wd_free(packed);
    }
}

/* ---- hash ---- */

static void test_hash_known_values(void **state)
{
    (void)state;
    static const char abc_hex[] =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char empty_hex[] =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    uint8_t *out;
    size_t out_len;
    run r;
    char hex[65];
    uint8_t d[32];
    uint64_t n;

    run_begin(&r, NULL);
    write_in_pieces(r.p, (const uint8_t *)"abc", 3, 1);
    assert_ok(wd_pipe_finish(r.p));
    wd_hash_filter_result(r.before, d, &n);
    wd_hex_encode(d, 32, hex);
    assert_string_equal(hex, abc_hex);
    assert_int_equal(n, 3);
    wd_pipe_free(r.p);
    wd_free(r.out);

    assert_ok(run_filter(NULL, NULL, 0, 1, &out, &out_len));
    assert_int_equal(out_len, 0);
    wd_free(out);
    run_begin(&r, NULL);
    assert_ok(wd_pipe_finish(r.p));
    wd_hash_filter_result(r.after, d, &n);
    wd_hex_encode(d, 32, hex);
    assert_string_equal(hex, empty_hex);
    assert_int_equal(n, 0);
    wd_pipe_free(r.p);
    wd_free(r.out);

    /* the one-shot digest */
    wd_sha256("abc", 3, d);
    wd_hex_encode(d, 32, hex);
    assert_string_equal(hex, abc_hex);
    wd_sha256(NULL, 0, d);
    wd_hex_encode(d, 32, hex);
    assert_string_equal(hex, empty_hex);
}

/* an expected digest: a match commits, a mismatch is ECORRUPT and aborts */
/* The count-only variant counts every byte and computes no digest. */
static void test_count_filter(void **state)
{
    (void)state;
    wd_filter *f;
    assert_ok(wd_count_filter_new(&f));
    uint8_t buf[1000];
    tu_fill(buf, sizeof(buf), 3, 0);
    for (int i = 0; i < 7; i++)
        assert_ok(f->ops->observe(f, buf, sizeof(buf) - (size_t)i));
    assert_ok(f->ops->end(f));
    uint8_t digest[32], zero[32] = {0};
    uint64_t bytes = 0;
    wd_hash_filter_result(f, digest, &bytes);
    assert_int_equal(bytes, 7 * 1000 - 21);
    assert_memory_equal(digest, zero, 32);
    wd_filter_free(f);
}

static void test_hash_expect(void **state)
{
    (void)state;
    uint8_t data[1000], digest[32];
    tu_fill(data, sizeof(data), 9, 0);
    sha256(data, sizeof(data), digest);
    for (int good = 1; good >= 0; good--) {
        run r;
        run_begin(&r, NULL);
        uint8_t want[32];
        memcpy(want, digest, 32);
        want[31] ^= (uint8_t)!good;
        assert_ok(wd_hash_filter_expect(r.after, want, "file 'x'"));
        write_in_pieces(r.p, data, sizeof(data), 100);
        if (good) {
            assert_ok(wd_pipe_finish(r.p));
            assert_int_equal(r.out_len, sizeof(data));
        } else {
            assert_rc(wd_pipe_finish(r.p), WALDEN_ECORRUPT);
            assert_non_null(
                strstr(walden_error_last()->message, "file 'x' does not match its checksum"));
            assert_null(r.out);
        }
        wd_pipe_free(r.p);
        wd_free(r.out);
    }
}

/* ---- compress.c ---- */

static void test_compress_types(void **state)
{
    (void)state;
    wd_compress c;
    const wd_compress all[] = {WD_COMPRESS_ZSTD, WD_COMPRESS_GZIP, WD_COMPRESS_NONE};
    const char *names[] = {"zstd", "gzip", "none"};
    const char *exts[] = {".zst", ".gz", ""};
    for (size_t i = 0; i < 3; i++) {
        assert_ok(wd_compress_parse(names[i], &c));
        assert_int_equal(c, all[i]);
        assert_string_equal(wd_compress_name(all[i]), names[i]);
        assert_string_equal(wd_compress_ext(all[i]), exts[i]);
    }
    assert_rc(wd_compress_parse("lz4", &c), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "'lz4'"));
    assert_rc(wd_compress_parse("", &c), WALDEN_EINVAL);
    assert_rc(wd_compress_parse("ZSTD", &c), WALDEN_EINVAL);
    assert_rc(wd_compress_parse(NULL, &c), WALDEN_EINVAL);

    wd_filter *f = (wd_filter *)&c; /* anything not NULL */
    assert_ok(wd_compress_filter_new(&f, WD_COMPRESS_NONE, 0));
    assert_null(f);
    f = (wd_filter *)&c;
    assert_ok(wd_decompress_filter_new(&f, WD_COMPRESS_NONE));
    assert_null(f);
    for (size_t i = 0; i < 2; i++) {
        assert_ok(wd_compress_filter_new(&f, all[i], 0));
        assert_non_null(f);
        assert_non_null(f->ops->process);
        wd_filter_free(f);
        assert_ok(wd_decompress_filter_new(&f, all[i]));
        assert_non_null(f);
        wd_filter_free(f);
    }
    assert_rc(wd_compress_filter_new(&f, (wd_compress)7, 0), WALDEN_EINVAL);
    assert_rc(wd_decompress_filter_new(&f, (wd_compress)7), WALDEN_EINVAL);
    wd_filter_free(NULL);
}

static void test_invalid_levels(void **state)
{
    (void)state;
    wd_filter *f;
    assert_rc(wd_zstd_compress_new(&f, -1, 0), WALDEN_EINVAL);
    assert_rc(wd_zstd_compress_new(&f, 23, 0), WALDEN_EINVAL);
    assert_rc(wd_gzip_compress_new(&f, -1), WALDEN_EINVAL);
    assert_rc(wd_gzip_compress_new(&f, 10), WALDEN_EINVAL);
    assert_rc(wd_compress_filter_new(&f, WD_COMPRESS_GZIP, 12), WALDEN_EINVAL);
    assert_null(f);
    assert_ok(wd_zstd_compress_new(&f, 22, 0));
    wd_filter_free(f);
    assert_ok(wd_gzip_compress_new(&f, 9));
    wd_filter_free(f);
}

/* ---- bounded memory ---- */

/* A sink that pushes what it gets into another pipeline, so compression
 * and decompression stream together. */
typedef struct forward_sink {
    wd_sink base;
    wd_pipe *next;
} forward_sink;

static int fwd_write(wd_sink *s, const uint8_t *buf, size_t len)
{
    return wd_pipe_write(((forward_sink *)s)->next, buf, len);
}

static int fwd_commit(wd_sink *s)
{
    int rc = wd_pipe_finish(((forward_sink *)s)->next);
    free(s);
    return rc;
}

static void fwd_abort(wd_sink *s)
{
    free(s);
}

/* Peak resident memory in KiB since the last reset. Linux resets the peak
 * (VmHWM) on writing 5 to clear_refs; where that fails, the peak of the
 * whole process is used (getrusage), which is higher but still bounded. */
static void peak_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static long peak_kib(void)
{
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
                break;
        fclose(f);
    }
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

static long current_kib(void)
{
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                break;
        fclose(f);
    }
    return kib;
}

/* 256 MiB, half random and half compressible (about 150 MiB compressed),
 * through hash -> zstd -> hash -> zstd -d -> hash -> null sink in 64 KiB
 * writes: the peak grows by far less than either side's total, which it
 * would exceed if anything buffered the stream whole. */
#define STREAM_TOTAL (256u * 1024 * 1024)
#define STREAM_CHUNK (64u * 1024)
#define GROWTH_BOUND_KIB (48L * 1024)

static void test_memory_is_bounded(void **state)
{
    (void)state;
    static uint8_t chunk[STREAM_CHUNK];
    wd_sink *null_sink;
    wd_pipe *dec, *enc;
    wd_filter *f, *h_raw, *h_stored, *h_out;

    assert_ok(wd_null_sink_open(&null_sink));
    assert_ok(wd_pipe_new(&dec, null_sink));
    assert_ok(wd_zstd_decompress_new(&f));
    assert_ok(wd_pipe_add(dec, f));
    assert_ok(wd_hash_filter_new(&h_out));
    assert_ok(wd_pipe_add(dec, h_out));

    forward_sink *fwd = calloc(1, sizeof(*fwd));
    assert_non_null(fwd);
    fwd->base = (wd_sink){fwd_write, fwd_commit, fwd_abort, NULL};
    fwd->next = dec;
    assert_ok(wd_pipe_new(&enc, &fwd->base));
    assert_ok(wd_hash_filter_new(&h_raw));
    assert_ok(wd_pipe_add(enc, h_raw));
    assert_ok(wd_compress_filter_new(&f, WD_COMPRESS_ZSTD, 3));
    assert_ok(wd_pipe_add(enc, f));
    assert_ok(wd_hash_filter_new(&h_stored));
    assert_ok(wd_pipe_add(enc, h_stored));

    peak_reset();
    long start = current_kib() > 0 ? current_kib() : peak_kib();
    for (size_t off = 0; off < STREAM_TOTAL; off += STREAM_CHUNK) {
        tu_fill(chunk, STREAM_CHUNK, (uint32_t)(off / STREAM_CHUNK),
                (off / (4 * STREAM_CHUNK)) % 2);
        assert_ok(wd_pipe_write(enc, chunk, STREAM_CHUNK));
    }
    assert_ok(wd_pipe_finish(enc));
    long growth = peak_kib() - start;
    print_message("peak memory growth: %ld KiB\n", growth);

    uint8_t a[32], b[32];
    uint64_t na, nb, stored;
    wd_hash_filter_result(h_raw, a, &na);
    wd_hash_filter_result(h_out, b, &nb);
    wd_hash_filter_result(h_stored, NULL, &stored);
    assert_int_equal(na, STREAM_TOTAL);
    assert_int_equal(nb, STREAM_TOTAL);
    assert_memory_equal(a, b, 32);
    /* buffering either side whole would exceed the bound */
    assert_true(stored > 2 * (uint64_t)GROWTH_BOUND_KIB * 1024);
    assert_true(growth < GROWTH_BOUND_KIB);
    wd_pipe_free(enc);
    wd_pipe_free(dec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first, while the process is small */
        cmocka_unit_test(test_memory_is_bounded),
        cmocka_unit_test(test_round_trip_hash),
        cmocka_unit_test(test_round_trip_zstd),
        cmocka_unit_test(test_round_trip_zstd_workers),
        cmocka_unit_test(test_round_trip_zstd_by_type),
        cmocka_unit_test(test_round_trip_zstd_19),
        cmocka_unit_test(test_round_trip_gzip),
        cmocka_unit_test(test_round_trip_gzip_level_1),
        cmocka_unit_test(test_compression_shrinks),
        cmocka_unit_test(test_zstd_tool_interop),
        cmocka_unit_test(test_gzip_tool_interop),
        cmocka_unit_test(test_zstd_damage_is_corrupt),
        cmocka_unit_test(test_gzip_damage_is_corrupt),
        cmocka_unit_test(test_empty_frame_damage),
        cmocka_unit_test(test_hash_known_values),
        cmocka_unit_test(test_hash_expect),
        cmocka_unit_test(test_count_filter),
        cmocka_unit_test(test_compress_types),
        cmocka_unit_test(test_invalid_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
