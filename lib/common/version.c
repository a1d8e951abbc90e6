/*
 * version.c - walden's version and those of the libraries below PostgreSQL's
 * that it uses. The libpq line and walden_version_text are pg/version.c's:
 * common knows nothing of PostgreSQL.
 */
#include <stdio.h>

#include <openssl/crypto.h>
#include <zlib.h>
#include <zstd.h>

#include "common.h"

size_t wd_version_libraries(char *out, size_t cap)
{
    int n = snprintf(out, cap, "walden %s\nlibzstd %s\nzlib %s\n%s\n", WALDEN_VERSION,
                     ZSTD_versionString(), zlibVersion(), OpenSSL_version(OPENSSL_VERSION));
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}
