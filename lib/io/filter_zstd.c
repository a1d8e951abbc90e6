/*
 * filter_zstd.c - zstd compression and decompression filters.
 *
 * Compression writes exactly one frame carrying zstd's content checksum, so
 * an unencrypted .zst file is verified by `zstd -d` as well. Compressing
 * nothing still writes a (tiny) valid frame. With workers > 0 compression
 * runs in zstd's own threads while the caller's thread reads, hashes and
 * writes; compress.c explains (with measurements) why walden's per-file
 * compression does not ask for that.
 *
 * Decompression accepts exactly one frame and nothing else: walden writes
 * one frame per file, so a second frame (or a skippable frame, or any byte)
 * after the end of the first can only be damage or tampering, and the rule
 * keeps a truncated-then-appended file from passing. Everything is
 * WALDEN_ECORRUPT: what zstd rejects (bad header, bad block, content
 * checksum mismatch; zstd's error name in the message), a frame that has
 * not ended when the input does ("truncated zstd stream", from end()), and
 * bytes after the frame. Empty input is a truncated stream.
 *
 * Memory: zstd keeps its window (at most 2^27 bytes, zstd's default
 * decoding limit) and never grows with the size of the stream.
 *
 * Contexts are reused, one of each direction per thread (common/park.h):
 * making a context and its first-use allocations took a sixth of the user
 * CPU of restoring a cluster of 8,000 small files, one filter per file
 * (perf, Release build). A freed
 * filter's context is reset with ZSTD_reset_session_and_parameters and
 * parked; the thread's next filter of that direction takes it. The reset
 * is what makes this safe: it ends the session whatever state the stream
 * was left in (finished, failed on corrupt input, abandoned midway), drops
 * any dictionary or prefix and returns every parameter to its default, so
 * the next stream starts as on a new context (zstd keeps only the buffers'
 * memory, never bytes of the previous stream as history: a frame is decoded
 * from its own bytes only). The compression parameters are set again for
 * each filter, and a new frame is byte for byte what a new context writes.
 * A context with worker threads (workers > 0) is not parked: its workers
 * would outlive the filter. A parked context keeps the buffers of the
 * largest stream its thread handled, which that stream needed anyway: at
 * most one context of each direction per thread.
 */
#include <stdatomic.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "common/common.h"
#include "common/park.h"
#include "io/stream.h"

typedef struct zstd_filter {
    wd_filter base;
    ZSTD_CCtx *c;    /* compression */
    ZSTD_DCtx *d;    /* decompression */
    bool threaded;   /* compression with workers: its context is not parked */
    bool frame_done; /* decompression: the frame ended and was flushed */
} zstd_filter;

static atomic_ulong contexts_made;

static void free_cctx(void *c)
{
    ZSTD_freeCCtx(c);
}

static void free_dctx(void *d)
{
    ZSTD_freeDCtx(d);
}

static const wd_park_kind parked_cctx = {free_cctx};
static const wd_park_kind parked_dctx = {free_dctx};

static void zstd_free(wd_filter *f)
{
    zstd_filter *z = (zstd_filter *)f;
    if (z->c && !z->threaded &&
        !ZSTD_isError(ZSTD_CCtx_reset(z->c, ZSTD_reset_session_and_parameters)))
        wd_park_put(&parked_cctx, z->c);
    else
        ZSTD_freeCCtx(z->c);
    if (z->d && !ZSTD_isError(ZSTD_DCtx_reset(z->d, ZSTD_reset_session_and_parameters)))
        wd_park_put(&parked_dctx, z->d);
    else
        ZSTD_freeDCtx(z->d);
    wd_free(z);
}

unsigned long wd_zstd_contexts_made(void)
{
    return atomic_load(&contexts_made);
}

static int zstd_compress(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                         uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    zstd_filter *z = (zstd_filter *)f;
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_cap, 0};
    /* ZSTD_e_end returns how much is still to be flushed: 0 once the frame
     * (epilogue and checksum included) is completely out */
    size_t r = ZSTD_compressStream2(z->c, &ob, &ib, finish ? ZSTD_e_end : ZSTD_e_continue);
    *consumed = ib.pos;
    *produced = ob.pos;
    if (ZSTD_isError(r)) {
        bool oom = ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation;
        return wd_error_set(oom ? WALDEN_ENOMEM : WALDEN_ERROR, "zstd compression failed: %s",
                            ZSTD_getErrorName(r));
    }
    return finish && r == 0 ? WD_FILTER_DONE : 0;
}

static int trailing_data(void)
{
    return wd_error_set(WALDEN_ECORRUPT, "corrupt zstd stream: data after the end of the frame");
}

static int zstd_decompress(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                           uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    zstd_filter *z = (zstd_filter *)f;
    *consumed = *produced = 0;
    if (z->frame_done) {
        if (in_len > 0)
            return trailing_data();
        return finish ? WD_FILTER_DONE : 0;
    }
    ZSTD_inBuffer ib = {in, in_len, 0};
    ZSTD_outBuffer ob = {out, out_cap, 0};
    size_t r = ZSTD_decompressStream(z->d, &ob, &ib);
    *consumed = ib.pos;
    *produced = ob.pos;
    if (ZSTD_isError(r)) {
        if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
            return wd_error_set(WALDEN_ENOMEM, "out of memory in zstd decompression");
        return wd_error_set(WALDEN_ECORRUPT, "corrupt zstd stream: %s", ZSTD_getErrorName(r));
    }
    if (r == 0) {
        /* zstd stops at the end of a frame: what it left is after it */
        z->frame_done = true;
        if (ib.pos < in_len)
            return trailing_data();
    }
    /* With finish there is no input: a call that fills no output means
     * zstd holds nothing more. Whether the frame ended is end()'s check. */
    if (finish && ob.pos == 0)
        return WD_FILTER_DONE;
    return 0;
}

static int zstd_decompress_end(wd_filter *f)
{
    zstd_filter *z = (zstd_filter *)f;
    if (!z->frame_done)
        return wd_error_set(WALDEN_ECORRUPT, "truncated zstd stream");
    return 0;
}

static const wd_filter_ops zstd_compress_ops = {
    .name = "zstd-compress", .process = zstd_compress, .free = zstd_free};
static const wd_filter_ops zstd_decompress_ops = {.name = "zstd-decompress",
                                                  .process = zstd_decompress,
                                                  .end = zstd_decompress_end,
                                                  .free = zstd_free};

int wd_zstd_compress_new(wd_filter **out, int level, int workers)
{
    *out = NULL;
    if (level < 0 || level > ZSTD_maxCLevel())
        return wd_error_set(WALDEN_EINVAL, "invalid zstd level %d (expected 1 to %d)", level,
                            ZSTD_maxCLevel());
    zstd_filter *z = wd_calloc(1, sizeof(*z));
    if (!z)
        return WALDEN_ENOMEM;
    z->base.ops = &zstd_compress_ops;
    z->threaded = workers > 0;
    if (!z->threaded)
        z->c = wd_park_take(&parked_cctx);
    if (!z->c && (z->c = ZSTD_createCCtx()))
        atomic_fetch_add(&contexts_made, 1);
    if (!z->c) {
        zstd_free(&z->base);
        return wd_error_set(WALDEN_ENOMEM, "cannot create a zstd compression context");
    }
    /* level 0 is zstd's own default (3) */
    size_t r = ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(r)) {
        zstd_free(&z->base);
        return wd_error_set(WALDEN_ERROR, "cannot set up zstd compression at level %d: %s", level,
                            ZSTD_getErrorName(r));
    }
    /* A libzstd built without threads refuses nbWorkers: it then compresses
     * in the caller's thread, which yields the same format. */
    if (workers > 0 && ZSTD_isError(ZSTD_CCtx_setParameter(z->c, ZSTD_c_nbWorkers, workers)))
        wd_log_debug("libzstd has no thread support: compressing in one thread");
    *out = &z->base;
    return 0;
}

int wd_zstd_decompress_new(wd_filter **out)
{
    *out = NULL;
    zstd_filter *z = wd_calloc(1, sizeof(*z));
    if (!z)
        return WALDEN_ENOMEM;
    z->base.ops = &zstd_decompress_ops;
    if (!(z->d = wd_park_take(&parked_dctx)) && (z->d = ZSTD_createDCtx()))
        atomic_fetch_add(&contexts_made, 1);
    if (!z->d) {
        zstd_free(&z->base);
        return wd_error_set(WALDEN_ENOMEM, "cannot create a zstd decompression context");
    }
    *out = &z->base;
    return 0;
}
