/*
 * filter_gzip.c - gzip (RFC 1952) compression and decompression via zlib.
 *
 * One gzip member is written; decompression accepts exactly one: a member
 * that does not end, bytes after it, and anything zlib rejects (CRC-32 and
 * length in the trailer included) are WALDEN_ECORRUPT.
 */
#include <string.h>
#include <zlib.h>

#include "common/common.h"
#include "io/stream.h"

typedef struct gzip_filter {
    wd_filter base;
    z_stream z;
    bool inflating;
    bool stream_end;
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

/* zlib counts in uInt: feed at most 1 GiB per call */
#define ZCHUNK(n) ((uInt)((n) > (1u << 30) ? (1u << 30) : (n)))

static int gzip_compress(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                         uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    gzip_filter *g = (gzip_filter *)f;
    g->z.next_in = (Bytef *)in;
    g->z.avail_in = ZCHUNK(in_len);
    g->z.next_out = out;
    g->z.avail_out = ZCHUNK(out_cap);
    int r = deflate(&g->z, finish ? Z_FINISH : Z_NO_FLUSH);
    if (r == Z_STREAM_ERROR)
        return wd_error_set(WALDEN_ERROR, "gzip compression failed");
    *consumed = ZCHUNK(in_len) - g->z.avail_in;
    *produced = ZCHUNK(out_cap) - g->z.avail_out;
    return finish && r == Z_STREAM_END ? WD_FILTER_DONE : 0;
}

static int gzip_decompress(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                           uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    gzip_filter *g = (gzip_filter *)f;
    *consumed = *produced = 0;
    if (g->stream_end) {
        if (in_len > 0)
            return wd_error_set(WALDEN_ECORRUPT,
                                "unexpected data after the end of the gzip stream");
        return finish ? WD_FILTER_DONE : 0;
    }
    g->z.next_in = (Bytef *)in;
    g->z.avail_in = ZCHUNK(in_len);
    g->z.next_out = out;
    g->z.avail_out = ZCHUNK(out_cap);
    int r = inflate(&g->z, Z_NO_FLUSH);
    *consumed = ZCHUNK(in_len) - g->z.avail_in;
    *produced = ZCHUNK(out_cap) - g->z.avail_out;
    switch (r) {
    case Z_STREAM_END:
        g->stream_end = true;
        if (*consumed < in_len)
            return wd_error_set(WALDEN_ECORRUPT,
                                "unexpected data after the end of the gzip stream");
        break;
    case Z_OK:
        break;
    case Z_BUF_ERROR: /* no progress possible: more input needed */
        break;
    case Z_MEM_ERROR:
        return wd_error_set(WALDEN_ENOMEM, "out of memory in gzip decompression");
    default:
        return wd_error_set(WALDEN_ECORRUPT, "gzip stream is corrupt: %s",
                            g->z.msg ? g->z.msg : "invalid data");
    }
    return finish && *produced == 0 ? WD_FILTER_DONE : 0;
}

static int gzip_decompress_end(wd_filter *f)
{
    gzip_filter *g = (gzip_filter *)f;
    if (!g->stream_end)
        return wd_error_set(WALDEN_ECORRUPT, "gzip stream is truncated");
    return 0;
}

static const wd_filter_ops gzip_compress_ops = {"gzip-compress", gzip_compress, NULL, NULL,
                                                gzip_free};
static const wd_filter_ops gzip_decompress_ops = {"gzip-decompress", gzip_decompress, NULL,
                                                  gzip_decompress_end, gzip_free};

int wd_gzip_compress_new(wd_filter **out, int level)
{
    gzip_filter *g = wd_calloc(1, sizeof(*g));
    if (!g)
        return WALDEN_ENOMEM;
    g->base.ops = &gzip_compress_ops;
    if (deflateInit2(&g->z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        wd_free(g);
        return wd_error_set(WALDEN_EINVAL, "cannot start gzip compression at level %d", level);
    }
    *out = &g->base;
    return 0;
}

int wd_gzip_decompress_new(wd_filter **out)
{
    gzip_filter *g = wd_calloc(1, sizeof(*g));
    if (!g)
        return WALDEN_ENOMEM;
    g->base.ops = &gzip_decompress_ops;
    g->inflating = true;
    if (inflateInit2(&g->z, 15 + 16) != Z_OK) {
        wd_free(g);
        return wd_error_set(WALDEN_ENOMEM, "cannot start gzip decompression");
    }
    *out = &g->base;
    return 0;
}
