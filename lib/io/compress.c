/*
 * compress.c - compression types by name, extension, and their filters.
 *
 * The name is what the repository records (config "compress", file
 * metadata); the extension is appended to stored file names. Level 0 means
 * the library's default (zstd 3, gzip 6).
 */
#include <string.h>

#include "common/common.h"
#include "io/stream.h"

/*
 * zstd compresses in the calling thread (nbWorkers = 0). Measured on this
 * project's 2-core build machine: Release build, real 16 MiB WAL segments
 * from pgbench, pipeline raw sha256 -> zstd -> stored sha256 -> null sink,
 * 256 KiB writes; median wall time of 9 runs at level 3, of 5 at others:
 *
 *   segment (zstd -3 output)      level   workers=0   workers=1
 *   pgbench -i load (3.8 MB)        1        56 ms       71 ms
 *                                   3        69 ms       86 ms
 *                                   9       374 ms      473 ms
 *                                  19       7.3 s       6.0 s
 *   pgbench transactions (0.7 MB)   1        22 ms       60 ms
 *                                   3        30 ms       83 ms
 *                                   9        99 ms      168 ms
 *                                  19       8.4 s       8.2 s
 *   level 3 plus encryption into a file sink: 89 / 41 ms with workers=0,
 *   96 / 93 ms with workers=1. Level 19 timings were noisy (load from
 *   other jobs).
 *
 * One worker compresses while the caller only waits for it, so the overlap
 * (hashing, writing) is small and does not pay for setting up the worker's
 * job buffers once per file; it only breaks even at level 19.
 */
#define ZSTD_WORKERS 0

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

int wd_compress_default_level(wd_compress c)
{
    return c == WD_COMPRESS_GZIP ? 6 : c == WD_COMPRESS_ZSTD ? 3 : 0;
}

const char *wd_compress_name(wd_compress c)
{
    switch (c) {
    case WD_COMPRESS_ZSTD:
        return "zstd";
    case WD_COMPRESS_GZIP:
        return "gzip";
    default:
        return "none";
    }
}

const char *wd_compress_ext(wd_compress c)
{
    switch (c) {
    case WD_COMPRESS_ZSTD:
        return ".zst";
    case WD_COMPRESS_GZIP:
        return ".gz";
    default:
        return "";
    }
}

int wd_compress_filter_new(wd_filter **out, wd_compress c, int level)
{
    *out = NULL;
    switch (c) {
    case WD_COMPRESS_ZSTD:
        return wd_zstd_compress_new(out, level, ZSTD_WORKERS);
    case WD_COMPRESS_GZIP:
        return wd_gzip_compress_new(out, level);
    case WD_COMPRESS_NONE:
        return 0;
    }
    return wd_error_set(WALDEN_EINVAL, "invalid compression type %d", (int)c);
}

int wd_decompress_filter_new(wd_filter **out, wd_compress c)
{
    *out = NULL;
    switch (c) {
    case WD_COMPRESS_ZSTD:
        return wd_zstd_decompress_new(out);
    case WD_COMPRESS_GZIP:
        return wd_gzip_decompress_new(out);
    case WD_COMPRESS_NONE:
        return 0;
    }
    return wd_error_set(WALDEN_EINVAL, "invalid compression type %d", (int)c);
}
