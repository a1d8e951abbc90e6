/*
 * fuzz_gzip.c - the gzip decoder as walden drives it when it reads a stored
 * file back (wd_decompress_filter_new in a pipe).
 */
#include <stdlib.h>

#include "fuzz_util.h"
#include "io/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wd_filter *f;
    if (wd_decompress_filter_new(&f, WD_COMPRESS_GZIP))
        abort();
    fz_run_filter(f, data, size);
    return 0;
}
