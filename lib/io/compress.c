/*
 * compress.c - compression types by name, and their filters.
 */
#include <string.h>

#include "common/common.h"
#include "io/stream.h"

/* zstd compresses in one background thread: on a 16 MiB WAL segment this
 * overlaps compression with reading, hashing, encrypting and writing in the
 * calling thread (see docs/internals/pipeline.md for the measurement). */
#define ZSTD_WORKERS 1

int wd_compress_parse(const char *name, wd_compress *out)
{
    if (name && strcmp(name, "zstd") == 0)
        *out = WD_COMPRESS_ZSTD;
    else if (name && strcmp(name, "gzip") == 0)
        *out = WD_COMPRESS_GZIP;
    else if (name && strcmp(name, "none") == 0)
        *out = WD_COMPRESS_NONE;
    else
        return wd_error_set(WALDEN_EINVAL, "invalid compression '%s': expected zstd, gzip or none",
                            name ? name : "");
    return 0;
}

const char *wd_compress_name(wd_compress c)
{
    return c == WD_COMPRESS_ZSTD ? "zstd" : c == WD_COMPRESS_GZIP ? "gzip" : "none";
}

const char *wd_compress_ext(wd_compress c)
{
    return c == WD_COMPRESS_ZSTD ? ".zst" : c == WD_COMPRESS_GZIP ? ".gz" : "";
}

int wd_compress_filter_new(wd_filter **out, wd_compress c, int level)
{
    *out = NULL;
    switch (c) {
    case WD_COMPRESS_ZSTD:
        return wd_zstd_compress_new(out, level, ZSTD_WORKERS);
    case WD_COMPRESS_GZIP:
        return wd_gzip_compress_new(out, level);
    default:
        return 0;
    }
}

int wd_decompress_filter_new(wd_filter **out, wd_compress c)
{
    *out = NULL;
    switch (c) {
    case WD_COMPRESS_ZSTD:
        return wd_zstd_decompress_new(out);
    case WD_COMPRESS_GZIP:
        return wd_gzip_decompress_new(out);
    default:
        return 0;
    }
}
