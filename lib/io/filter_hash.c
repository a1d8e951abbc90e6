/*
 * filter_hash.c - the SHA-256 and byte-count observe filter.
 *
 * It sees the bytes passing its place in a pipeline (uncopied) and, at
 * end(), finalizes the digest. wd_hash_filter_result is meaningful once the
 * pipeline finished; before that the digest reads as zeros.
 *
 * With an expected digest set (wd_hash_filter_expect), end() fails with
 * WALDEN_ECORRUPT on a mismatch, which makes the pipeline abort its sink:
 * bytes that do not verify never become visible.
 *
 * SHA-256 is fetched from OpenSSL's providers once per process: EVP_sha256()
 * would make DigestInit fetch it again for every filter, two per restored
 * file, and SHA256() for every 8 KiB block a restore checks (wd_sha256).
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/common.h"
#include "io/stream.h"

typedef struct hash_filter {
    wd_filter base;
    EVP_MD_CTX *md;
    uint64_t bytes;
    uint8_t digest[32]; /* valid once ended */
    bool ended;
    bool expect;
    uint8_t expected[32];
    char what[256]; /* names the data in the mismatch message */
} hash_filter;

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *fetched; /* kept for the life of the process */

static void fetch_sha256(void)
{
    fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* NULL when OpenSSL has no SHA-256 (then DigestInit fails) */
static const EVP_MD *sha256(void)
{
    pthread_once(&fetch_once, fetch_sha256);
    return fetched;
}

static int hash_observe(wd_filter *f, const uint8_t *in, size_t len)
{
    hash_filter *h = (hash_filter *)f;
    if (h->md && !EVP_DigestUpdate(h->md, in, len))
        return wd_error_set_openssl(WALDEN_ERROR, "sha-256 update failed");
    h->bytes += len;
    return 0;
}

static int hash_end(wd_filter *f)
{
    hash_filter *h = (hash_filter *)f;
    if (!h->ended && h->md) {
        if (!EVP_DigestFinal_ex(h->md, h->digest, NULL))
            return wd_error_set_openssl(WALDEN_ERROR, "sha-256 final failed");
        h->ended = true;
    }
    if (h->expect && memcmp(h->digest, h->expected, 32) != 0) {
        char want[65], got[65];
        wd_hex_encode(h->expected, 32, want);
        wd_hex_encode(h->digest, 32, got);
        return wd_error_set(WALDEN_ECORRUPT,
                            "%s does not match its checksum: sha256 %.16s..., expected %.16s...",
                            h->what, got, want);
    }
    return 0;
}

static void hash_free(wd_filter *f)
{
    hash_filter *h = (hash_filter *)f;
    EVP_MD_CTX_free(h->md);
    wd_free(h);
}

static const wd_filter_ops hash_ops = {
    .name = "sha256", .observe = hash_observe, .end = hash_end, .free = hash_free};

void wd_sha256(const void *data, size_t len, uint8_t out[32])
{
    const EVP_MD *md = sha256();
    if (!md || !EVP_Digest(data, len, out, NULL, md, NULL))
        SHA256(data, len, out); /* fetches again: only if the first fetch failed */
}

int wd_hash_filter_new(wd_filter **out)
{
    *out = NULL;
    hash_filter *h = wd_calloc(1, sizeof(*h));
    if (!h)
        return WALDEN_ENOMEM;
    h->base.ops = &hash_ops;
    h->md = EVP_MD_CTX_new();
    const EVP_MD *md = sha256();
    if (!h->md || !md || !EVP_DigestInit_ex(h->md, md, NULL)) {
        int rc = wd_error_set_openssl(WALDEN_ERROR, "cannot start sha-256");
        hash_free(&h->base);
        return rc;
    }
    *out = &h->base;
    return 0;
}

int wd_count_filter_new(wd_filter **out)
{
    hash_filter *h = wd_calloc(1, sizeof(*h));
    if (!h)
        return WALDEN_ENOMEM;
    h->base.ops = &hash_ops; /* md stays NULL: bytes are counted only */
    h->ended = true;
    *out = &h->base;
    return 0;
}

void wd_hash_filter_result(const wd_filter *f, uint8_t sha256[32], uint64_t *bytes)
{
    const hash_filter *h = (const hash_filter *)f;
    if (sha256)
        memcpy(sha256, h->digest, 32);
    if (bytes)
        *bytes = h->bytes;
}

int wd_hash_filter_expect(wd_filter *f, const uint8_t sha256[32], const char *what)
{
    hash_filter *h = (hash_filter *)f;
    h->expect = true;
    memcpy(h->expected, sha256, 32);
    /* a longer name is cut: it only labels the error message */
    size_t n = strlen(what);
    if (n >= sizeof(h->what))
        n = sizeof(h->what) - 1;
    memcpy(h->what, what, n);
    h->what[n] = '\0';
    return 0;
}

int wd_hash_filter_peek(const wd_filter *f, uint8_t sha256[32])
{
    const hash_filter *h = (const hash_filter *)f;
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    int rc = 0;
    if (!h->md || h->ended || !copy || !EVP_MD_CTX_copy_ex(copy, h->md) ||
        !EVP_DigestFinal_ex(copy, sha256, NULL))
        rc = wd_error_set_openssl(WALDEN_ERROR, "sha-256 of the bytes so far failed");
    EVP_MD_CTX_free(copy);
    return rc;
}
