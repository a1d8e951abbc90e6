/*
 * cipher.c - chunked AES-256-GCM encryption to the repository's public key
 * (format in crypto.h and docs/internals/encryption.md).
 *
 * Encryptor: emits the header, then seals plaintext in records of at most
 * WD_CHUNK_SIZE bytes; at finish it seals the final record (possibly
 * empty). Decryptor: reads the header, derives the file key, then for each
 * record collects its length word, ciphertext and tag, and releases the
 * plaintext only after the tag verified. State is one record in each
 * direction, whatever the file size; the cipher context is reused.
 *
 * Per-file costs kept low (a restore opens one encrypted file per file of
 * the cluster): HKDF and AES-256-GCM are fetched from OpenSSL's providers
 * once per process, not at every use (an implicit fetch per call takes
 * locks and a table lookup), and the repository's private key is loaded
 * once per thread rather than once per file: loading an X25519 private key
 * computes its public key, a scalar multiplication as costly as the key
 * agreement itself (a third of the user CPU of restoring 8,000 small
 * files, perf, Release build). The loaded key is parked (common/park.h) with the bytes
 * it was made from and used again only for the same private key, compared
 * in constant time. wd_keypair_wipe drops the calling thread's loaded key;
 * a worker's goes when the worker ends.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "common/common.h"
#include "common/park.h"
#include "crypto/crypto.h"

#define HEADER_LEN 76 /* magic 8, version 1, reserved 3, ephemeral key 32, salt 32 */
#define SALT_LEN 32
#define TAG_LEN 16
#define FINAL_FLAG 0x80000000u
#define RECORD_MAX (4 + WD_CHUNK_SIZE + TAG_LEN)
#define FILE_KEY_INFO "walden file key v1"

typedef struct cipher_filter {
    wd_filter base;
    EVP_CIPHER_CTX *ctx;
    uint8_t key[32];
    uint8_t header[HEADER_LEN];
    size_t header_have; /* decrypt: header bytes collected */
    uint64_t counter;   /* records sealed or opened so far */
    bool final_done;    /* the final record was sealed / opened */
    /* encrypt: plaintext of the record being filled */
    uint8_t *plain;
    size_t plain_len;
    /* decrypt: the record being collected */
    uint8_t *record;
    size_t record_have, record_need;
    /* output not yet handed out (header + sealed record, or opened plaintext) */
    uint8_t *pending;
    size_t pending_off, pending_len;
    /* bytes of plain and pending ever written: what free wipes (a small
     * file's filter need not wipe 128 KiB it never used) */
    size_t plain_used, pending_used;
} cipher_filter;

static void note_used(size_t *used, size_t n)
{
    if (n > *used)
        *used = n;
}

static void cipher_free(wd_filter *f)
{
    cipher_filter *c = (cipher_filter *)f;
    EVP_CIPHER_CTX_free(c->ctx);
    OPENSSL_cleanse(c->key, sizeof(c->key));
    if (c->plain)
        wd_free_secret(c->plain, c->plain_used);
    if (c->pending)
        wd_free_secret(c->pending, c->pending_used);
    wd_free(c->record);
    wd_free(c);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* ---- what every file uses, made once ---- */

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_KDF *hkdf;   /* NULL when the fetch failed */
static EVP_CIPHER *gcm; /* NULL when the fetch failed */

/* Kept for the life of the process: a fetched algorithm holds no secret. */
static void fetch_algorithms(void)
{
    hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static EVP_KDF *hkdf_kdf(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    return hkdf;
}

static EVP_CIPHER *aes_gcm(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    return gcm;
}

/* The repository's private key, loaded (see the top of the file). */
typedef struct loaded_key {
    EVP_PKEY *pkey;
    uint8_t private_key[WD_KEY_LEN];
} loaded_key;

static atomic_ulong keys_loaded;

static void loaded_key_free(void *p)
{
    loaded_key *l = p;
    EVP_PKEY_free(l->pkey);
    wd_free_secret(l, sizeof(*l));
}

static const wd_park_kind parked_key = {loaded_key_free};

/* The calling thread's loaded key for `k`, to be parked again by the
 * caller. */
static int take_key(const wd_keypair *k, loaded_key **out)
{
    loaded_key *l = wd_park_take(&parked_key);
    if (l && CRYPTO_memcmp(l->private_key, k->private_key, WD_KEY_LEN) == 0) {
        *out = l;
        return 0;
    }
    if (l)
        loaded_key_free(l);
    if (!(l = wd_calloc(1, sizeof(*l))))
        return WALDEN_ENOMEM;
    l->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, k->private_key, WD_KEY_LEN);
    if (!l->pkey) {
        int rc = wd_error_set_openssl(WALDEN_EKEY, "cannot load the repository key");
        loaded_key_free(l);
        return rc;
    }
    memcpy(l->private_key, k->private_key, WD_KEY_LEN);
    atomic_fetch_add(&keys_loaded, 1);
    *out = l;
    return 0;
}

void wd_cipher_key_unload(void)
{
    wd_park_drain(&parked_key);
}

unsigned long wd_cipher_keys_loaded(void)
{
    return atomic_load(&keys_loaded);
}

/* file key = HKDF-SHA256(X25519(own, peer), salt, info || header) */
static int derive_file_key(cipher_filter *c, EVP_PKEY *own, const uint8_t peer_pub[32])
{
    uint8_t shared[32];
    size_t shared_len = sizeof(shared);
    int rc = 0;
    EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub, 32);
    EVP_PKEY_CTX *dctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL);
    if (!peer || !dctx || EVP_PKEY_derive_init(dctx) <= 0 ||
        EVP_PKEY_derive_set_peer(dctx, peer) <= 0 ||
        EVP_PKEY_derive(dctx, shared, &shared_len) <= 0 || shared_len != 32)
        rc = wd_error_set_openssl(WALDEN_EKEY, "cannot derive the file key");
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(peer);
    if (rc)
        return rc;

    uint8_t info[sizeof(FILE_KEY_INFO) - 1 + HEADER_LEN];
    memcpy(info, FILE_KEY_INFO, sizeof(FILE_KEY_INFO) - 1);
    memcpy(info + sizeof(FILE_KEY_INFO) - 1, c->header, HEADER_LEN);
    EVP_KDF *kdf = hkdf_kdf();
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, shared, sizeof(shared)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, c->header + 44, SALT_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info)),
        OSSL_PARAM_construct_end(),
    };
    if (!kctx || EVP_KDF_derive(kctx, c->key, sizeof(c->key), params) <= 0)
        rc = wd_error_set_openssl(WALDEN_ERROR, "hkdf failed");
    EVP_KDF_CTX_free(kctx);
    OPENSSL_cleanse(shared, sizeof(shared));
    return rc;
}

/* nonce = 0^4 || counter; AAD = header || counter || length word */
static int record_crypt(cipher_filter *c, bool seal, uint32_t word, const uint8_t *in, size_t len,
                        uint8_t *out, uint8_t tag[TAG_LEN])
{
    uint8_t nonce[12] = {0}, aad[HEADER_LEN + 12];
    put_be64(nonce + 4, c->counter);
    memcpy(aad, c->header, HEADER_LEN);
    put_be64(aad + HEADER_LEN, c->counter);
    put_be32(aad + HEADER_LEN + 8, word);
    int n, ok = EVP_CipherInit_ex(c->ctx, NULL, NULL, NULL, nonce, seal ? 1 : 0) > 0;
    ok = ok && EVP_CipherUpdate(c->ctx, NULL, &n, aad, sizeof(aad)) > 0;
    ok = ok && (len == 0 || EVP_CipherUpdate(c->ctx, out, &n, in, (int)len) > 0);
    if (ok && !seal)
        ok = EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) > 0;
    if (!ok)
        return wd_error_set_openssl(WALDEN_ERROR, "aes-256-gcm failed");
    uint8_t fin[16];
    if (EVP_CipherFinal_ex(c->ctx, fin, &n) <= 0) {
        ERR_clear_error();
        if (seal)
            return wd_error_set(WALDEN_ERROR, "aes-256-gcm failed");
        OPENSSL_cleanse(out, len);
        if (c->counter == 0)
            return wd_error_set(WALDEN_EKEY, "cannot decrypt: wrong key or altered data");
        return wd_error_set(WALDEN_ECORRUPT, "encrypted data failed authentication at record %llu",
                            (unsigned long long)c->counter);
    }
    if (seal && EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) <= 0)
        return wd_error_set_openssl(WALDEN_ERROR, "aes-256-gcm failed");
    c->counter++;
    return 0;
}

static size_t drain(cipher_filter *c, uint8_t *out, size_t cap)
{
    size_t n = c->pending_len - c->pending_off;
    if (n > cap)
        n = cap;
    memcpy(out, c->pending + c->pending_off, n);
    c->pending_off += n;
    return n;
}

/* ---- encryption ---- */

static int seal_record(cipher_filter *c, bool final)
{
    uint32_t word = (uint32_t)c->plain_len | (final ? FINAL_FLAG : 0);
    put_be32(c->pending, word);
    note_used(&c->pending_used, 4 + c->plain_len + TAG_LEN);
    int rc = record_crypt(c, true, word, c->plain, c->plain_len, c->pending + 4,
                          c->pending + 4 + c->plain_len);
    if (rc)
        return rc;
    c->pending_off = 0;
    c->pending_len = 4 + c->plain_len + TAG_LEN;
    c->plain_len = 0;
    c->final_done = final;
    return 0;
}

static int encrypt_process(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                           uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    cipher_filter *c = (cipher_filter *)f;
    size_t in_pos = 0, out_pos = 0;
    int rc;
    for (;;) {
        out_pos += drain(c, out + out_pos, out_cap - out_pos);
        if (c->pending_off < c->pending_len)
            break; /* out is full */
        if (c->final_done)
            break;
        if (in_pos < in_len) {
            size_t take = WD_CHUNK_SIZE - c->plain_len;
            if (take > in_len - in_pos)
                take = in_len - in_pos;
            memcpy(c->plain + c->plain_len, in + in_pos, take);
            c->plain_len += take;
            note_used(&c->plain_used, c->plain_len);
            in_pos += take;
            if (c->plain_len == WD_CHUNK_SIZE && (rc = seal_record(c, false)))
                return rc;
            continue;
        }
        if (!finish)
            break;
        if ((rc = seal_record(c, true)))
            return rc;
    }
    *consumed = in_pos;
    *produced = out_pos;
    return finish && c->final_done && c->pending_off == c->pending_len ? WD_FILTER_DONE : 0;
}

static const wd_filter_ops encrypt_ops = {"encrypt", encrypt_process, NULL, NULL, cipher_free};

static int cipher_new(cipher_filter **out, const wd_filter_ops *ops)
{
    cipher_filter *c = wd_calloc(1, sizeof(*c));
    if (!c)
        return WALDEN_ENOMEM;
    c->base.ops = ops;
    c->pending = wd_malloc(RECORD_MAX);
    c->ctx = EVP_CIPHER_CTX_new();
    if (!c->pending || !c->ctx) {
        cipher_free(&c->base);
        return WALDEN_ENOMEM;
    }
    *out = c;
    return 0;
}

static int set_key(cipher_filter *c, int enc)
{
    const EVP_CIPHER *cipher = aes_gcm();
    if (!cipher || EVP_CipherInit_ex(c->ctx, cipher, NULL, c->key, NULL, enc) <= 0)
        return wd_error_set_openssl(WALDEN_ERROR, "cannot start aes-256-gcm");
    return 0;
}

int wd_encrypt_filter_new(wd_filter **out, const wd_keypair *k)
{
    cipher_filter *c;
    int rc = cipher_new(&c, &encrypt_ops);
    if (rc)
        return rc;
    EVP_PKEY *eph = NULL;
    EVP_PKEY_CTX *gctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
    size_t pub_len = 32;
    memcpy(c->header, WD_CIPHER_MAGIC, 8);
    c->header[8] = 1; /* version; 9..11 reserved, zero */
    if (!(c->plain = wd_malloc(WD_CHUNK_SIZE))) {
        rc = WALDEN_ENOMEM;
    } else if (!gctx || EVP_PKEY_keygen_init(gctx) <= 0 || EVP_PKEY_keygen(gctx, &eph) <= 0 ||
               EVP_PKEY_get_raw_public_key(eph, c->header + 12, &pub_len) <= 0 ||
               RAND_bytes(c->header + 44, SALT_LEN) != 1) {
        rc = wd_error_set_openssl(WALDEN_ERROR, "cannot create a file key");
    } else if (!(rc = derive_file_key(c, eph, k->public_key))) {
        rc = set_key(c, 1);
    }
    EVP_PKEY_free(eph); /* the ephemeral private key is never needed again */
    EVP_PKEY_CTX_free(gctx);
    if (rc) {
        cipher_free(&c->base);
        return rc;
    }
    memcpy(c->pending, c->header, HEADER_LEN);
    c->pending_len = HEADER_LEN;
    note_used(&c->pending_used, HEADER_LEN);
    *out = &c->base;
    return 0;
}

/* ---- decryption ---- */

static int truncated(void)
{
    return wd_error_set(WALDEN_ECORRUPT, "encrypted stream is truncated");
}

/* Takes the header's bytes; once whole, checks it and derives the key. */
static int take_header(cipher_filter *c, const wd_keypair *k)
{
    if (memcmp(c->header, WD_CIPHER_MAGIC, 8) != 0)
        return wd_error_set(WALDEN_ECORRUPT, "not an encrypted walden file (bad magic)");
    if (c->header[8] != 1 || c->header[9] || c->header[10] || c->header[11])
        return wd_error_set(WALDEN_ECORRUPT, "unsupported encrypted file version %u", c->header[8]);
    loaded_key *own = NULL;
    int rc = take_key(k, &own);
    if (rc)
        return rc;
    rc = derive_file_key(c, own->pkey, c->header + 12);
    wd_park_put(&parked_key, own);
    return rc ? rc : set_key(c, 0);
}

typedef struct decrypt_filter {
    cipher_filter c;
    wd_keypair key; /* copy: the filter may outlive the caller's struct */
    bool expect;    /* the header must be this (signed) one */
    uint8_t expected[HEADER_LEN];
} decrypt_filter;

static int open_record(cipher_filter *c)
{
    uint32_t word = get_be32(c->record);
    size_t len = word & ~FINAL_FLAG;
    note_used(&c->pending_used, len);
    int rc = record_crypt(c, false, word, c->record + 4, len, c->pending, c->record + 4 + len);
    if (rc)
        return rc;
    c->pending_off = 0;
    c->pending_len = len;
    c->final_done = (word & FINAL_FLAG) != 0;
    c->record_have = 0;
    c->record_need = 4;
    return 0;
}

static int decrypt_process(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                           uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    decrypt_filter *d = (decrypt_filter *)f;
    cipher_filter *c = &d->c;
    size_t in_pos = 0, out_pos = 0;
    int rc = 0;
    for (;;) {
        out_pos += drain(c, out + out_pos, out_cap - out_pos);
        if (c->pending_off < c->pending_len || in_pos == in_len)
            break;
        if (c->header_have < HEADER_LEN) {
            size_t take = HEADER_LEN - c->header_have;
            if (take > in_len - in_pos)
                take = in_len - in_pos;
            memcpy(c->header + c->header_have, in + in_pos, take);
            c->header_have += take;
            in_pos += take;
            if (c->header_have == HEADER_LEN && d->expect &&
                CRYPTO_memcmp(c->header, d->expected, HEADER_LEN) != 0) {
                rc = wd_error_set(WALDEN_EAUTH, "its encryption header is not the signed one");
                goto fail;
            }
            if (c->header_have == HEADER_LEN && (rc = take_header(c, &d->key)))
                goto fail;
            continue;
        }
        if (c->final_done) {
            rc = wd_error_set(WALDEN_ECORRUPT, "unexpected data after the final encrypted record");
            goto fail;
        }
        size_t take = c->record_need - c->record_have;
        if (take > in_len - in_pos)
            take = in_len - in_pos;
        memcpy(c->record + c->record_have, in + in_pos, take);
        c->record_have += take;
        in_pos += take;
        if (c->record_have < c->record_need)
            continue;
        if (c->record_need == 4) {
            size_t len = get_be32(c->record) & ~FINAL_FLAG;
            if (len > WD_CHUNK_SIZE) {
                rc = wd_error_set(WALDEN_ECORRUPT, "encrypted record %llu has a bad length",
                                  (unsigned long long)c->counter);
                goto fail;
            }
            c->record_need = 4 + len + TAG_LEN;
            continue;
        }
        if ((rc = open_record(c)))
            goto fail;
    }
    *consumed = in_pos;
    *produced = out_pos;
    if (finish && c->pending_off == c->pending_len) {
        if (c->header_have < HEADER_LEN || !c->final_done || c->record_have > 0)
            return truncated();
        return WD_FILTER_DONE;
    }
    return 0;
fail:
    c->pending_off = c->pending_len = 0;
    return rc;
}

static void decrypt_free(wd_filter *f)
{
    decrypt_filter *d = (decrypt_filter *)f;
    /* not wd_keypair_wipe: that would also unload this thread's loaded key */
    OPENSSL_cleanse(&d->key, sizeof(d->key));
    EVP_CIPHER_CTX_free(d->c.ctx);
    OPENSSL_cleanse(d->c.key, sizeof(d->c.key));
    if (d->c.pending)
        wd_free_secret(d->c.pending, d->c.pending_used);
    wd_free(d->c.record);
    wd_free(d);
}

static const wd_filter_ops decrypt_ops = {"decrypt", decrypt_process, NULL, NULL, decrypt_free};

int wd_decrypt_filter_new(wd_filter **out, const wd_keypair *k)
{
    if (!k->has_private)
        return wd_error_set(WALDEN_EKEY, "the repository key is not unlocked");
    decrypt_filter *d = wd_calloc(1, sizeof(*d));
    if (!d)
        return WALDEN_ENOMEM;
    d->c.base.ops = &decrypt_ops;
    d->key = *k;
    d->c.pending = wd_malloc(RECORD_MAX);
    d->c.record = wd_malloc(RECORD_MAX);
    d->c.ctx = EVP_CIPHER_CTX_new();
    d->c.record_need = 4;
    if (!d->c.pending || !d->c.record || !d->c.ctx) {
        decrypt_free(&d->c.base);
        return WALDEN_ENOMEM;
    }
    *out = &d->c.base;
    return 0;
}

/* ---- framing check (no key) ---- */

typedef struct frame_filter {
    wd_filter base;
    uint8_t header[12]; /* magic, version, reserved: all that can be checked */
    size_t header_have; /* header bytes seen, up to HEADER_LEN */
    uint8_t word[4];
    size_t word_have;
    uint64_t skip;   /* ciphertext and tag bytes of the current record left */
    uint64_t record; /* records seen whole */
    bool in_record, final_seen;
} frame_filter;

static int frame_observe(wd_filter *f, const uint8_t *in, size_t len)
{
    frame_filter *fr = (frame_filter *)f;
    size_t pos = 0;
    while (pos < len) {
        if (fr->header_have < HEADER_LEN) {
            size_t take = HEADER_LEN - fr->header_have;
            if (take > len - pos)
                take = len - pos;
            for (size_t i = 0; i < take; i++)
                if (fr->header_have + i < sizeof(fr->header))
                    fr->header[fr->header_have + i] = in[pos + i];
            fr->header_have += take;
            pos += take;
            if (fr->header_have >= sizeof(fr->header) &&
                fr->header_have - take < sizeof(fr->header)) {
                if (memcmp(fr->header, WD_CIPHER_MAGIC, 8) != 0)
                    return wd_error_set(WALDEN_ECORRUPT,
                                        "not an encrypted walden file (bad magic)");
                if (fr->header[8] != 1 || fr->header[9] || fr->header[10] || fr->header[11])
                    return wd_error_set(WALDEN_ECORRUPT, "unsupported encrypted file version %u",
                                        fr->header[8]);
            }
            continue;
        }
        if (fr->final_seen)
            return wd_error_set(WALDEN_ECORRUPT,
                                "unexpected data after the final encrypted record");
        if (fr->in_record) {
            uint64_t take = fr->skip < len - pos ? fr->skip : len - pos;
            fr->skip -= take;
            pos += (size_t)take;
            if (fr->skip == 0) {
                fr->in_record = false;
                fr->record++;
                fr->final_seen = (get_be32(fr->word) & FINAL_FLAG) != 0;
                fr->word_have = 0;
            }
            continue;
        }
        fr->word[fr->word_have++] = in[pos++];
        if (fr->word_have < 4)
            continue;
        uint32_t rec_len = get_be32(fr->word) & ~FINAL_FLAG;
        if (rec_len > WD_CHUNK_SIZE)
            return wd_error_set(WALDEN_ECORRUPT, "encrypted record %llu has a bad length",
                                (unsigned long long)fr->record);
        fr->skip = (uint64_t)rec_len + TAG_LEN;
        fr->in_record = true;
    }
    return 0;
}

static int frame_end(wd_filter *f)
{
    frame_filter *fr = (frame_filter *)f;
    if (fr->header_have < HEADER_LEN || !fr->final_seen)
        return truncated();
    return 0;
}

static void frame_free(wd_filter *f)
{
    wd_free(f);
}

static const wd_filter_ops frame_ops = {
    .name = "frame-check", .observe = frame_observe, .end = frame_end, .free = frame_free};

int wd_cipher_frame_filter_new(wd_filter **out)
{
    frame_filter *fr = wd_calloc(1, sizeof(*fr));
    if (!fr)
        return WALDEN_ENOMEM;
    fr->base.ops = &frame_ops;
    *out = &fr->base;
    return 0;
}

void wd_encrypt_filter_header(const wd_filter *f, uint8_t header[WD_CIPHER_HEADER_LEN])
{
    memcpy(header, ((const cipher_filter *)f)->header, HEADER_LEN);
}

int wd_decrypt_filter_header(const wd_filter *f, uint8_t header[WD_CIPHER_HEADER_LEN])
{
    const cipher_filter *c = (const cipher_filter *)f;
    if (c->header_have < HEADER_LEN)
        return truncated();
    memcpy(header, c->header, HEADER_LEN);
    return 0;
}

void wd_decrypt_filter_expect_header(wd_filter *f, const uint8_t header[WD_CIPHER_HEADER_LEN])
{
    decrypt_filter *d = (decrypt_filter *)f;
    d->expect = true;
    memcpy(d->expected, header, HEADER_LEN);
}
