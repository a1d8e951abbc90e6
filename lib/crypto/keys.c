/*
 * keys.c - the repository key pair and its wrapping under a passphrase
 * (see crypto.h for the model, docs/internals/encryption.md for formats).
 *
 * Every buffer that held a secret (the derived key-encryption key, copies
 * of the private key, the parsed text) is wiped before it is released.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "common/common.h"
#include "crypto/crypto.h"

const wd_kdf_params wd_kdf_default = {16384, 8, 1};

#define SALT_LEN 16
#define NONCE_LEN 12
#define TAG_LEN 16
#define WRAPPED_LEN (NONCE_LEN + WD_KEY_LEN + TAG_LEN)

void wd_keypair_wipe(wd_keypair *k)
{
    OPENSSL_cleanse(k->private_key, sizeof(k->private_key));
    k->has_private = 0;
    wd_cipher_key_unload();
}

int wd_keypair_generate(wd_keypair *out)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL);
    int rc = 0;
    size_t pub_len = WD_KEY_LEN, priv_len = WD_KEY_LEN;
    wd_secret_held();
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &pkey) <= 0 ||
        EVP_PKEY_get_raw_public_key(pkey, out->public_key, &pub_len) <= 0 ||
        EVP_PKEY_get_raw_private_key(pkey, out->private_key, &priv_len) <= 0)
        rc = wd_error_set_openssl(WALDEN_ERROR, "cannot generate the repository key");
    else
        out->has_private = 1;
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* key.conf's scrypt parameters are used before its tag can be checked (the
 * tag needs the derived key): a planted file must not make a reader (every
 * archive-get during recovery) allocate gigabytes or spin for minutes. The
 * bounds allow 4 times the default memory (128 * r * n at most 64 MiB) and
 * p up to 4. */
#define KDF_MAX_MEMORY (64ull << 20)
static int check_params(const wd_kdf_params *p)
{
    if (p->n < 1024 || p->n > (1u << 20) || (p->n & (p->n - 1)) || p->r < 1 || p->r > 32 ||
        p->p < 1 || p->p > 4 || 128ull * p->r * p->n > KDF_MAX_MEMORY)
        return wd_error_set(WALDEN_EINVAL, "scrypt parameters out of range (n %llu, r %u, p %u)",
                            (unsigned long long)p->n, p->r, p->p);
    return 0;
}

static int derive_kek(const char *passphrase, const uint8_t salt[SALT_LEN], const wd_kdf_params *kp,
                      uint8_t kek[WD_KEY_LEN])
{
    int rc = check_params(kp);
    if (rc)
        return rc;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    uint64_t n = kp->n, maxmem = 128 * (uint64_t)kp->r * (kp->n + kp->p + 2) + (1u << 20);
    uint32_t r = kp->r, p = kp->p;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)passphrase,
                                          strlen(passphrase)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, SALT_LEN),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
        OSSL_PARAM_construct_end(),
    };
    if (!ctx || EVP_KDF_derive(ctx, kek, WD_KEY_LEN, params) <= 0)
        rc = wd_error_set_openssl(WALDEN_ERROR, "scrypt key derivation failed");
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return rc;
}

/* AES-256-GCM over one small buffer. open: WALDEN_EKEY when the tag fails. */
static int gcm(bool seal, const uint8_t key[32], const uint8_t nonce[NONCE_LEN], const uint8_t *aad,
               size_t aad_len, const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[TAG_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n, ok = ctx != NULL;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, seal ? 1 : 0) > 0;
    ok = ok && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) > 0;
    ok = ok && EVP_CipherUpdate(ctx, out, &n, in, (int)len) > 0;
    if (ok && !seal)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) > 0;
    int fin = ok ? EVP_CipherFinal_ex(ctx, out + n, &n) : 0;
    if (ok && seal && fin > 0)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) > 0;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok)
        return wd_error_set_openssl(WALDEN_ERROR, "aes-256-gcm failed");
    if (fin <= 0) {
        ERR_clear_error();
        return seal ? wd_error_set_openssl(WALDEN_ERROR, "aes-256-gcm failed")
                    : wd_error_set(WALDEN_EKEY, "the repository key does not open");
    }
    return 0;
}

/* The AAD of the wrapped key. Format 1: the public key alone. Format 2:
 * every other field of the file, each length-prefixed or fixed-size. */
static size_t key_aad(int format, const wd_key_meta *meta, const uint8_t pub[WD_KEY_LEN],
                      const uint8_t salt[SALT_LEN], const wd_kdf_params *kp, uint8_t *out)
{
    if (format == 1) {
        memcpy(out, pub, WD_KEY_LEN);
        return WD_KEY_LEN;
    }
    size_t n = 0, cl = strlen(meta->cluster);
    static const char domain[] = "walden key v2";
    memcpy(out + n, domain, sizeof(domain)); /* with its NUL */
    n += sizeof(domain);
    out[n++] = (uint8_t)cl;
    memcpy(out + n, meta->cluster, cl);
    n += cl;
    uint64_t fields[4] = {meta->system_id, kp->n, kp->r, kp->p};
    for (int f = 0; f < 4; f++)
        for (int i = 0; i < 8; i++)
            out[n++] = (uint8_t)(fields[f] >> (56 - 8 * i));
    memcpy(out + n, pub, WD_KEY_LEN);
    n += WD_KEY_LEN;
    memcpy(out + n, meta->verify_key, WD_KEY_LEN);
    n += WD_KEY_LEN;
    memcpy(out + n, salt, SALT_LEN);
    n += SALT_LEN;
    return n;
}
#define AAD_MAX (16 + 1 + 128 + 32 + 2 * WD_KEY_LEN + SALT_LEN)

int wd_key_wrap(const wd_keypair *k, const wd_key_meta *meta, const char *passphrase,
                const wd_kdf_params *params, char **out_text)
{
    if (strlen(meta->cluster) > 100 || strchr(meta->cluster, '\n'))
        return wd_error_set(WALDEN_EINVAL, "cluster name too long for the key file");
    if (!passphrase || !*passphrase)
        return wd_error_set(WALDEN_EINVAL, "the passphrase is empty");
    if (!k->has_private)
        return wd_error_set(WALDEN_EKEY, "the private key is not unlocked");
    uint8_t salt[SALT_LEN], kek[WD_KEY_LEN], wrapped[WRAPPED_LEN];
    if (RAND_bytes(salt, SALT_LEN) != 1 || RAND_bytes(wrapped, NONCE_LEN) != 1)
        return wd_error_set_openssl(WALDEN_ERROR, "no random bytes");
    uint8_t aad[AAD_MAX];
    size_t aad_len = key_aad(2, meta, k->public_key, salt, params, aad);
    int rc = derive_kek(passphrase, salt, params, kek);
    if (!rc)
        rc = gcm(true, kek, wrapped, aad, aad_len, k->private_key, WD_KEY_LEN, wrapped + NONCE_LEN,
                 wrapped + NONCE_LEN + WD_KEY_LEN);
    OPENSSL_cleanse(kek, sizeof(kek));
    if (rc)
        return rc;
    char pub_hex[2 * WD_KEY_LEN + 1], salt_hex[2 * SALT_LEN + 1], wrapped_hex[2 * WRAPPED_LEN + 1];
    char vk_hex[2 * WD_KEY_LEN + 1];
    wd_hex_encode(k->public_key, WD_KEY_LEN, pub_hex);
    wd_hex_encode(meta->verify_key, WD_KEY_LEN, vk_hex);
    wd_hex_encode(salt, SALT_LEN, salt_hex);
    wd_hex_encode(wrapped, WRAPPED_LEN, wrapped_hex);
    *out_text =
        wd_asprintf("# walden repository key: see docs/internals/encryption.md\n"
                    "format = 2\n"
                    "cluster = %s\n"
                    "system-identifier = %llu\n"
                    "public-key = %s\n"
                    "verify-key = %s\n"
                    "kdf = scrypt\n"
                    "kdf-n = %llu\n"
                    "kdf-r = %u\n"
                    "kdf-p = %u\n"
                    "kdf-salt = %s\n"
                    "wrapped-private-key = %s\n",
                    meta->cluster, (unsigned long long)meta->system_id, pub_hex, vk_hex,
                    (unsigned long long)params->n, params->r, params->p, salt_hex, wrapped_hex);
    return *out_text ? 0 : WALDEN_ENOMEM;
}

typedef struct key_file {
    int64_t format;
    bool have_pub, have_salt, have_wrapped, scrypt, have_vk, have_cluster, have_sysid;
    uint8_t pub[WD_KEY_LEN], salt[SALT_LEN], wrapped[WRAPPED_LEN];
    wd_key_meta meta;
    wd_kdf_params kp;
} key_file;

static int key_kv(const char *name, const char *value, int line, void *ctx)
{
    key_file *kf = ctx;
    int64_t v;
    int rc = 0;
    if (strcmp(name, "format") == 0) {
        rc = wd_parse_int64(value, 1, 1000, &kf->format);
    } else if (strcmp(name, "cluster") == 0) {
        size_t n = strlen(value);
        if (n == 0 || n >= sizeof(kf->meta.cluster))
            rc = WALDEN_EINVAL;
        else
            memcpy(kf->meta.cluster, value, n + 1);
        kf->have_cluster = rc == 0;
    } else if (strcmp(name, "system-identifier") == 0) {
        rc = wd_parse_uint64(value, &kf->meta.system_id);
        kf->have_sysid = rc == 0;
    } else if (strcmp(name, "verify-key") == 0) {
        rc = wd_hex_decode(value, kf->meta.verify_key, WD_KEY_LEN);
        kf->have_vk = rc == 0;
    } else if (strcmp(name, "public-key") == 0) {
        rc = wd_hex_decode(value, kf->pub, WD_KEY_LEN);
        kf->have_pub = rc == 0;
    } else if (strcmp(name, "kdf") == 0) {
        kf->scrypt = strcmp(value, "scrypt") == 0;
    } else if (strcmp(name, "kdf-n") == 0) {
        if (!(rc = wd_parse_int64(value, 1, INT64_MAX, &v)))
            kf->kp.n = (uint64_t)v;
    } else if (strcmp(name, "kdf-r") == 0) {
        if (!(rc = wd_parse_int64(value, 1, 1 << 20, &v)))
            kf->kp.r = (uint32_t)v;
    } else if (strcmp(name, "kdf-p") == 0) {
        if (!(rc = wd_parse_int64(value, 1, 1 << 20, &v)))
            kf->kp.p = (uint32_t)v;
    } else if (strcmp(name, "kdf-salt") == 0) {
        rc = wd_hex_decode(value, kf->salt, SALT_LEN);
        kf->have_salt = rc == 0;
    } else if (strcmp(name, "wrapped-private-key") == 0) {
        rc = wd_hex_decode(value, kf->wrapped, WRAPPED_LEN);
        kf->have_wrapped = rc == 0;
    }
    if (rc)
        return wd_error_wrap(WALDEN_EINVAL, "key file line %d (%s)", line, name);
    return 0;
}

static int key_parse(const char *text, size_t len, key_file *kf)
{
    memset(kf, 0, sizeof(*kf));
    int rc = wd_kv_parse(text, len, "key file", key_kv, kf);
    if (rc)
        return rc;
    if (kf->format != 1 && kf->format != 2)
        return wd_error_set(WALDEN_EVERSION, "unsupported key file format %lld",
                            (long long)kf->format);
    if (!kf->have_pub || !kf->have_salt || !kf->have_wrapped || !kf->scrypt ||
        (kf->format == 2 && (!kf->have_vk || !kf->have_cluster || !kf->have_sysid)))
        return wd_error_set(WALDEN_EINVAL, "key file is incomplete");
    kf->meta.format = (int)kf->format;
    return check_params(&kf->kp);
}

int wd_key_load_public(const char *text, size_t len, wd_keypair *out, wd_key_meta *meta)
{
    key_file kf;
    int rc = key_parse(text, len, &kf);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    memcpy(out->public_key, kf.pub, WD_KEY_LEN);
    if (meta)
        *meta = kf.meta;
    return 0;
}

int wd_key_unwrap(const char *text, size_t len, const char *passphrase, wd_keypair *out,
                  wd_key_meta *meta)
{
    if (!passphrase || !*passphrase)
        return wd_error_set(WALDEN_EINVAL, "the passphrase is empty");
    key_file kf;
    int rc = key_parse(text, len, &kf);
    if (rc)
        return rc;
    wd_secret_held();
    uint8_t kek[WD_KEY_LEN], priv[WD_KEY_LEN], derived_pub[WD_KEY_LEN];
    if ((rc = derive_kek(passphrase, kf.salt, &kf.kp, kek))) {
        OPENSSL_cleanse(kek, sizeof(kek));
        return rc;
    }
    uint8_t aad[AAD_MAX];
    size_t aad_len = key_aad((int)kf.format, &kf.meta, kf.pub, kf.salt, &kf.kp, aad);
    rc = gcm(false, kek, kf.wrapped, aad, aad_len, kf.wrapped + NONCE_LEN, WD_KEY_LEN, priv,
             kf.wrapped + NONCE_LEN + WD_KEY_LEN);
    OPENSSL_cleanse(kek, sizeof(kek));
    if (rc) {
        /* GCM writes the plaintext before it checks the tag */
        OPENSSL_cleanse(priv, sizeof(priv));
        return rc == WALDEN_EKEY
                   ? wd_error_set(WALDEN_EKEY, "wrong passphrase for the repository key")
                   : rc;
    }
    /* the private key must belong to the stored public key */
    size_t plen = WD_KEY_LEN;
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, WD_KEY_LEN);
    if (!pkey || EVP_PKEY_get_raw_public_key(pkey, derived_pub, &plen) <= 0)
        rc = wd_error_set_openssl(WALDEN_ERROR, "cannot load the repository key");
    else if (CRYPTO_memcmp(derived_pub, kf.pub, WD_KEY_LEN) != 0)
        rc = wd_error_set(WALDEN_ECORRUPT, "the repository key file is inconsistent");
    EVP_PKEY_free(pkey);
    if (!rc) {
        memcpy(out->public_key, kf.pub, WD_KEY_LEN);
        memcpy(out->private_key, priv, WD_KEY_LEN);
        out->has_private = 1;
        if (meta)
            *meta = kf.meta;
    }
    OPENSSL_cleanse(priv, sizeof(priv));
    OPENSSL_cleanse(&kf, sizeof(kf));
    return rc;
}
