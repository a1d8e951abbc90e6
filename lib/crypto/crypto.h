/*
 * crypto.h - repository keys and authenticated, chunked encryption.
 *
 * Keys. An encrypted repository has one X25519 key pair. The public key is
 * stored in clear: writers (archive-push, backup, dump) encrypt to it and
 * need no passphrase, so no memory-hard KDF runs on the hot path. The
 * private key is stored wrapped (AES-256-GCM) under a key derived from the
 * user's passphrase with scrypt (OpenSSL EVP_KDF); readers unwrap it once per
 * process. Changing the passphrase re-wraps the private key only.
 *
 * Files. Each encrypted file starts with a header holding a fresh ephemeral
 * X25519 public key and a random salt; the file key is
 * HKDF-SHA256(X25519(eph, repo), salt, header). Every file thus has its own
 * key, and chunk nonces are the chunk counter, so no (key, nonce) pair is
 * ever used twice. The body is a sequence of records
 *
 *   u32 big-endian: plaintext length | 0x80000000 on the final record
 *   ciphertext (length bytes)
 *   16-byte GCM tag
 *
 * each sealed with nonce = 0^4 || u64 counter and AAD = header || counter
 * || length word, so altering, reordering, splicing (from another file or
 * position) or truncating (also at a record boundary: the final flag is
 * missing) fails authentication. Bytes after the final record are an error.
 * Decryption never releases plaintext of a record that did not verify.
 * Format details: docs/internals/encryption.md.
 */
#ifndef WD_CRYPTO_H
#define WD_CRYPTO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/stream.h"

/* Starts building OpenSSL's algorithm tables in a thread (see preload.c);
 * join before the process ends. A thread that cannot start costs nothing
 * but the overlap. */
typedef struct wd_crypto_preload {
    pthread_t thread;
    bool started;
} wd_crypto_preload;
void wd_crypto_preload_start(wd_crypto_preload *p);
void wd_crypto_preload_join(wd_crypto_preload *p);

#define WD_KEY_LEN 32
#define WD_CHUNK_SIZE (64 * 1024)

typedef struct wd_keypair {
    uint8_t public_key[WD_KEY_LEN];
    uint8_t private_key[WD_KEY_LEN];
    int has_private; /* 0 when only the public key is known */
} wd_keypair;

typedef struct wd_kdf_params {
    uint64_t n; /* scrypt cost, a power of two */
    uint32_t r;
    uint32_t p;
} wd_kdf_params;

/* Defaults: N = 2^14, r = 8, p = 1 (16 MiB of memory). */
extern const wd_kdf_params wd_kdf_default;

/* A new random key pair. */
int wd_keypair_generate(wd_keypair *out);
/* Wipes the private key (and the calling thread's loaded copy of a
 * private key, see cipher.c). */
void wd_keypair_wipe(wd_keypair *k);
/* Frees the calling thread's loaded private key (decryption loads it once
 * per thread, not once per file). */
void wd_cipher_key_unload(void);
/* How many times this process loaded a private key for decryption (tests). */
unsigned long wd_cipher_keys_loaded(void);

/* What key.conf binds to the key pair (format 2): the area and the
 * verification key of its writers. */
typedef struct wd_key_meta {
    char cluster[128];
    uint64_t system_id;
    uint8_t verify_key[WD_KEY_LEN]; /* Ed25519 public key */
    int format;                     /* 1: none of the above is known */
} wd_key_meta;

/*
 * The key file text ("name = value" lines, see docs/repository-format.md):
 *   format = 2
 *   cluster, system-identifier, public-key = <64 hex>, verify-key = <64 hex>
 *   kdf = scrypt, kdf-n, kdf-r, kdf-p, kdf-salt = <32 hex>
 *   wrapped-private-key = <hex of nonce(12) || ciphertext(32) || tag(16)>
 * The wrapped key's AAD is a canonical serialization of every other field,
 * so a key file that unwraps proves all of them. wd_key_wrap makes that
 * text (malloc'ed) for `k` and `meta` under `passphrase`.
 */
int wd_key_wrap(const wd_keypair *k, const wd_key_meta *meta, const char *passphrase,
                const wd_kdf_params *params, char **out_text);
/* Reads the public key and the (unauthenticated) meta only (no passphrase,
 * no KDF). */
int wd_key_load_public(const char *text, size_t len, wd_keypair *out, wd_key_meta *meta);
/* Reads and unwraps: WALDEN_EKEY "wrong passphrase" when it does not open.
 * `meta` gets the authenticated fields. */
int wd_key_unwrap(const char *text, size_t len, const char *passphrase, wd_keypair *out,
                  wd_key_meta *meta);

/* Encrypts to `k`'s public key. */
int wd_encrypt_filter_new(wd_filter **out, const wd_keypair *k);
/* Decrypts with `k`'s private key: WALDEN_EKEY when the file was not made for
 * this key, WALDEN_ECORRUPT when it was altered or truncated. */
int wd_decrypt_filter_new(wd_filter **out, const wd_keypair *k);

#define WD_CIPHER_HEADER_LEN 76
/* The header an encrypt filter writes (known once it is made). */
void wd_encrypt_filter_header(const wd_filter *f, uint8_t header[WD_CIPHER_HEADER_LEN]);
/* The header a decrypt filter read (WALDEN_ECORRUPT before it is whole). */
int wd_decrypt_filter_header(const wd_filter *f, uint8_t header[WD_CIPHER_HEADER_LEN]);
/* Makes the decrypt filter refuse (WALDEN_EAUTH), before it releases any
 * byte, a file whose header is not `header`: with a signed header, every
 * record that opens was sealed by the writer that made the header. */
void wd_decrypt_filter_expect_header(wd_filter *f, const uint8_t header[WD_CIPHER_HEADER_LEN]);

/* Checks the framing of an encrypted file without any key (an observe
 * filter, for verify): the header's magic and version, every record's
 * length word (at most WD_CHUNK_SIZE), a final record, nothing after it.
 * It proves that the file is whole, not that its bytes are intact: only
 * decryption authenticates them. end() fails with WALDEN_ECORRUPT when the
 * stream is truncated, also exactly at a record boundary. */
int wd_cipher_frame_filter_new(wd_filter **out);

/* Magic at the start of every encrypted file. */
#define WD_CIPHER_MAGIC "WLDNENC1"

#endif
