/*
 * fuzz_blockmap.c - a block map's records as a diff or incr reads them from
 * its reference (wd_blockmap_sink_open), fed in pieces of any size.
 */
#include <stdbool.h>
#include <string.h>

#include "catalog/layers.h"
#include "common/common.h"
#include "fuzz_util.h"

static int begin(void *ctx, const char *path, int64_t part, uint32_t nblocks, bool sparse)
{
    uint64_t *sum = ctx;
    *sum += strlen(path) + (uint64_t)part + nblocks + sparse;
    return 0;
}

static int digest(void *ctx, uint32_t block, const uint8_t d[32])
{
    uint64_t *sum = ctx;
    *sum += block + d[31];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)data[0] + 1;
    uint64_t sum = 0;
    wd_blockmap_cb cb = {begin, digest, &sum};
    wd_sink *sink = NULL;
    if (wd_blockmap_sink_open(&sink, &cb))
        return 0;
    int rc = 0;
    for (size_t at = 1; at < size && !rc; at += piece) {
        size_t n = size - at < piece ? size - at : piece;
        rc = sink->write(sink, data + at, n);
    }
    if (rc)
        sink->abort(sink);
    else
        sink->commit(sink);
    walden_error_clear();
    return 0;
}
