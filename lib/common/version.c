/*
 * version.c - walden's version and those of the libraries it uses.
 */
#include <stdio.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <zlib.h>
#include <zstd.h>

#include "common.h"

const char *walden_version_text(void)
{
    static char text[512];
    if (!text[0]) {
        int pq = PQlibVersion();
        snprintf(text, sizeof(text),
                 "walden %s\nlibzstd %s\nzlib %s\n%s\nlibcurl %s\nlibpq %d.%d\n", WALDEN_VERSION,
                 ZSTD_versionString(), zlibVersion(), OpenSSL_version(OPENSSL_VERSION),
                 curl_version_info(CURLVERSION_NOW)->version, pq / 10000, pq % 100);
    }
    return text;
}
