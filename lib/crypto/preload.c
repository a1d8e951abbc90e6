/*
 * preload.c - OpenSSL's algorithm tables built in a thread of their own.
 *
 * OpenSSL 3 builds its provider and algorithm tables at the first fetch of
 * any algorithm: about 1.1 ms of one core on the machine of
 * docs/benchmarks.md, paid by every process before its first byte is
 * hashed or encrypted. walden_repo_open starts this thread first thing, so
 * the cost overlaps the reading of the repository's files and, in
 * archive-push, the checks of the segment; a later fetch in any thread then
 * finds the tables built (or waits for them: OpenSSL serialises their
 * construction, so nothing is built twice). Nothing depends on the thread
 * having run: the fetches are the ones walden makes anyway.
 */
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "crypto/crypto.h"

static void *preload_main(void *arg)
{
    (void)arg;
    /* what writing an encrypted file uses: X25519 (ephemeral key and key
     * agreement), HKDF-SHA256, AES-256-GCM, the random generator, SHA-256 */
    EVP_KEYMGMT_free(EVP_KEYMGMT_fetch(NULL, "X25519", NULL));
    EVP_KEYEXCH_free(EVP_KEYEXCH_fetch(NULL, "X25519", NULL));
    EVP_KDF_free(EVP_KDF_fetch(NULL, "HKDF", NULL));
    EVP_CIPHER_free(EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL));
    EVP_MD_free(EVP_MD_fetch(NULL, "SHA256", NULL));
    unsigned char b;
    (void)RAND_bytes(&b, 1);
    return NULL;
}

void wd_crypto_preload_start(wd_crypto_preload *p)
{
    p->started = pthread_create(&p->thread, NULL, preload_main, NULL) == 0;
}

void wd_crypto_preload_join(wd_crypto_preload *p)
{
    if (p->started)
        pthread_join(p->thread, NULL);
    p->started = false;
}
