/*
 * filter_zstd.c - zstd compression and decompression filters.
 *
 * Compression writes one frame with zstd's content checksum, so an
 * unencrypted .zst file is verified by `zstd -d` too. With workers > 0 the
 * compression runs in zstd's own threads while the caller's thread reads,
 * hashes and writes.
 *
 * Decompression accepts exactly one frame: a frame that does not end
 * (truncation), bytes after its end, and anything zstd rejects are
 * WALDEN_ECORRUPT.
 */
#include <zstd.h>

#include "common/common.h"
#include "io/stream.h"

typedef struct zstd_filter {
    wd_filter base;
    ZSTD_CCtx *c;
    ZSTD_DCtx *d;
    bool frame_done; /* decompression: the frame ended */
} zstd_filter;

static void zstd_free(wd_filter *f)
{
    zstd_filter *z = (zstd_filter *)f;
    ZSTD_freeCCtx(z->c);
    ZSTD_freeDCtx(z->d);
    wd_free(z);
}

static int zstd_compress(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                         uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    zstd_filter *z = (zstd_filter *)f;
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_cap, 0};
    size_t r = ZSTD_compressStream2(z->c, &ob, &ib, finish ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(r))
        return wd_error_set(WALDEN_ERROR, "zstd compression failed: %s", ZSTD_getErrorName(r));
    *consumed = ib.pos;
    *produced = ob.pos;
    return finish && r == 0 ? WD_FILTER_DONE : 0;
}

static int zstd_decompress(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                           uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    zstd_filter *z = (zstd_filter *)f;
    if (z->frame_done && in_len > 0)
        return wd_error_set(WALDEN_ECORRUPT, "unexpected data after the end of the zstd stream");
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_cap, 0};
    size_t r = ZSTD_decompressStream(z->d, &ob, &ib);
    if (ZSTD_isError(r))
        return wd_error_set(WALDEN_ECORRUPT, "zstd stream is corrupt: %s", ZSTD_getErrorName(r));
    if (r == 0)
        z->frame_done = true;
    *consumed = ib.pos;
    *produced = ob.pos;
    if (z->frame_done && ib.pos < in_len)
        return wd_error_set(WALDEN_ECORRUPT, "unexpected data after the end of the zstd stream");
    /* with finish, everything is out once a call produces nothing more */
    return finish && ob.pos == 0 ? WD_FILTER_DONE : 0;
}

static int zstd_decompress_end(wd_filter *f)
{
    zstd_filter *z = (zstd_filter *)f;
    if (!z->frame_done)
        return wd_error_set(WALDEN_ECORRUPT, "zstd stream is truncated");
    return 0;
}

static const wd_filter_ops zstd_compress_ops = {"zstd-compress", zstd_compress, NULL, NULL,
                                                zstd_free};
static const wd_filter_ops zstd_decompress_ops = {"zstd-decompress", zstd_decompress, NULL,
                                                  zstd_decompress_end, zstd_free};

int wd_zstd_compress_new(wd_filter **out, int level, int workers)
{
    zstd_filter *z = wd_calloc(1, sizeof(*z));
    if (!z)
        return WALDEN_ENOMEM;
    z->base.ops = &zstd_compress_ops;
    z->c = ZSTD_createCCtx();
    if (!z->c) {
        zstd_free(&z->base);
        return wd_error_set(WALDEN_ENOMEM, "cannot create a zstd context");
    }
    size_t r = ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(r) && workers > 0) {
        /* a libzstd built without threads refuses: fall back to one thread */
        ZSTD_CCtx_setParameter(z->c, ZSTD_c_nbWorkers, workers);
    }
    if (ZSTD_isError(r)) {
        zstd_free(&z->base);
        return wd_error_set(WALDEN_EINVAL, "invalid zstd level %d: %s", level,
                            ZSTD_getErrorName(r));
    }
    *out = &z->base;
    return 0;
}

int wd_zstd_decompress_new(wd_filter **out)
{
    zstd_filter *z = wd_calloc(1, sizeof(*z));
    if (!z)
        return WALDEN_ENOMEM;
    z->base.ops = &zstd_decompress_ops;
    z->d = ZSTD_createDCtx();
    if (!z->d) {
        zstd_free(&z->base);
        return wd_error_set(WALDEN_ENOMEM, "cannot create a zstd context");
    }
    *out = &z->base;
    return 0;
}
