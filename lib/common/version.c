/*
 * version.c - walden's version and those of the libraries it uses.
 */
#include <stdio.h>

#include <openssl/crypto.h>
#include <zlib.h>
#include <zstd.h>

#include "common.h"
#include "pg/libpq.h"

const char *walden_version_text(void)
{
    static char text[512];
    if (!text[0]) {
        const wd_libpq *lib = wd_libpq_get();
        int pq = lib ? lib->libVersion() : 0;
        snprintf(text, sizeof(text), "walden %s\nlibzstd %s\nzlib %s\n%s\nlibpq %d.%d%s\n",
                 WALDEN_VERSION, ZSTD_versionString(), zlibVersion(),
                 OpenSSL_version(OPENSSL_VERSION), pq / 10000, pq % 100,
                 lib ? "" : " (not loadable)");
    }
    return text;
}
