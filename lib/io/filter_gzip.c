/*
 * filter_gzip.c - gzip (RFC 1952) compression and decompression via zlib.
 *
 * Compression writes exactly one gzip member (zlib's deflate with a gzip
 * wrapper: windowBits 15 + 16), readable by `gzip -d`. Compressing nothing
 * still writes a valid member.
 *
 * Decompression (inflate, windowBits 15 + 16: gzip only, no zlib or raw
 * deflate) accepts exactly one member and nothing else, for the same reason
 * as zstd: walden writes one member per file, so a second member or any
 * byte after the first can only be damage. Everything is WALDEN_ECORRUPT:
 * what zlib rejects (header, data, CRC-32 or length in the trailer), a
 * member that has not ended when the input does ("truncated gzip stream",
 * from end()), and bytes after the member. Empty input is truncated.
 *
 * Memory: zlib's state (about 270 KiB for deflate, 40 KiB for inflate) is
 * allocated once per filter, through wd_malloc.
 */
#include <stdint.h>
#include <zlib.h>

#include "common/common.h"
#include "io/stream.h"

typedef struct gzip_filter {
    wd_filter base;
    z_stream z;
    bool inflating;  /* decompression filter */
    bool stream_end; /* decompression: the member ended */
} gzip_filter;

static void gzip_free(wd_filter *f)
{
    gzip_filter *g = (gzip_filter *)f;
    if (g->inflating)
        inflateEnd(&g->z);
    else
        deflateEnd(&g->z);
    wd_free(g);
}

/* zlib allocates through walden's allocator, like everything else */
static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    if (size && items > SIZE_MAX / size)
        return Z_NULL;
    return wd_malloc((size_t)items * size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    wd_free(p);
}

/* zlib counts in uInt: hand it at most 1 GiB per call; the pipeline calls
 * again with the rest. */
static uInt zchunk(size_t n)
{
    return n > (1u << 30) ? (uInt)(1u << 30) : (uInt)n;
}

static int gzip_compress(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                         uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    gzip_filter *g = (gzip_filter *)f;
    uInt avail_in = zchunk(in_len), avail_out = zchunk(out_cap);
    g->z.next_in = (Bytef *)in; /* zlib does not write through next_in */
    g->z.avail_in = avail_in;
    g->z.next_out = out;
    g->z.avail_out = avail_out;
    int r = deflate(&g->z, finish ? Z_FINISH : Z_NO_FLUSH);
    *consumed = avail_in - g->z.avail_in;
    *produced = avail_out - g->z.avail_out;
    /* Z_BUF_ERROR only says this call could not progress; the pipeline
     * notices if that repeats */
    if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
        return wd_error_set(WALDEN_ERROR, "gzip compression failed: %s",
                            g->z.msg ? g->z.msg : zError(r));
    return finish && r == Z_STREAM_END ? WD_FILTER_DONE : 0;
}

static int trailing_data(void)
{
    return wd_error_set(WALDEN_ECORRUPT, "corrupt gzip stream: data after the end of the member");
}

static int gzip_decompress(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                           uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    gzip_filter *g = (gzip_filter *)f;
    *consumed = *produced = 0;
    if (g->stream_end) {
        if (in_len > 0)
            return trailing_data();
        return finish ? WD_FILTER_DONE : 0;
    }
    uInt avail_in = zchunk(in_len), avail_out = zchunk(out_cap);
    g->z.next_in = (Bytef *)in;
    g->z.avail_in = avail_in;
    g->z.next_out = out;
    g->z.avail_out = avail_out;
    int r = inflate(&g->z, Z_NO_FLUSH);
    *consumed = avail_in - g->z.avail_in;
    *produced = avail_out - g->z.avail_out;
    switch (r) {
    case Z_STREAM_END: /* the trailer's CRC-32 and length were checked */
        g->stream_end = true;
        if (*consumed < in_len)
            return trailing_data();
        break;
    case Z_OK:
    case Z_BUF_ERROR: /* no input to go on with: more must come */
        break;
    case Z_MEM_ERROR:
        return wd_error_set(WALDEN_ENOMEM, "out of memory in gzip decompression");
    default: /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
        return wd_error_set(WALDEN_ECORRUPT, "corrupt gzip stream: %s",
                            g->z.msg ? g->z.msg : zError(r));
    }
    /* With finish there is no input: a call that fills no output means
     * zlib holds nothing more. Whether the member ended is end()'s check. */
    if (finish && *produced == 0)
        return WD_FILTER_DONE;
    return 0;
}

static int gzip_decompress_end(wd_filter *f)
{
    gzip_filter *g = (gzip_filter *)f;
    if (!g->stream_end)
        return wd_error_set(WALDEN_ECORRUPT, "truncated gzip stream");
    return 0;
}

static const wd_filter_ops gzip_compress_ops = {
    .name = "gzip-compress", .process = gzip_compress, .free = gzip_free};
static const wd_filter_ops gzip_decompress_ops = {.name = "gzip-decompress",
                                                  .process = gzip_decompress,
                                                  .end = gzip_decompress_end,
                                                  .free = gzip_free};

int wd_gzip_compress_new(wd_filter **out, int level)
{
    *out = NULL;
    if (level < 0 || level > 9)
        return wd_error_set(WALDEN_EINVAL, "invalid gzip level %d (expected 1 to 9)", level);
    gzip_filter *g = wd_calloc(1, sizeof(*g));
    if (!g)
        return WALDEN_ENOMEM;
    g->base.ops = &gzip_compress_ops;
    g->z.zalloc = z_alloc;
    g->z.zfree = z_free;
    /* 15 + 16: a 32 KiB window and the gzip wrapper; memLevel 8 is zlib's
     * default */
    int r = deflateInit2(&g->z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                         Z_DEFAULT_STRATEGY);
    if (r != Z_OK) {
        wd_free(g);
        return wd_error_set(r == Z_MEM_ERROR ? WALDEN_ENOMEM : WALDEN_ERROR,
                            "cannot start gzip compression at level %d: %s", level, zError(r));
    }
    *out = &g->base;
    return 0;
}

int wd_gzip_decompress_new(wd_filter **out)
{
    *out = NULL;
    gzip_filter *g = wd_calloc(1, sizeof(*g));
    if (!g)
        return WALDEN_ENOMEM;
    g->base.ops = &gzip_decompress_ops;
    g->inflating = true;
    g->z.zalloc = z_alloc;
    g->z.zfree = z_free;
    int r = inflateInit2(&g->z, 15 + 16);
    if (r != Z_OK) {
        wd_free(g);
        return wd_error_set(r == Z_MEM_ERROR ? WALDEN_ENOMEM : WALDEN_ERROR,
                            "cannot start gzip decompression: %s", zError(r));
    }
    *out = &g->base;
    return 0;
}
