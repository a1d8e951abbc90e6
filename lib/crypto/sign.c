/*
 * sign.c - Ed25519 signatures over stored objects (see sign.h for the
 * messages, docs/security.md for the model).
 *
 * Every message starts with a domain string, so a signature made for one
 * kind of object never verifies as another kind; the area and the path are
 * NUL-separated, so no two different (cluster, path) pairs share a message.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "crypto/sign.h"

#define TEXT_DOMAIN "walden signed file v1"
#define WAL_DOMAIN "walden wal v1"

int wd_sign_keygen(uint8_t pub[WD_SIGN_KEY_LEN], uint8_t priv[WD_SIGN_KEY_LEN])
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    size_t pl = WD_SIGN_KEY_LEN, sl = WD_SIGN_KEY_LEN;
    int rc = 0;
    if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_keygen(ctx, &pkey) <= 0 ||
        EVP_PKEY_get_raw_public_key(pkey, pub, &pl) <= 0 ||
        EVP_PKEY_get_raw_private_key(pkey, priv, &sl) <= 0)
        rc = wd_error_set_openssl(WALDEN_ERROR, "cannot generate the signing key");
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

int wd_sign_public(const uint8_t priv[WD_SIGN_KEY_LEN], uint8_t pub[WD_SIGN_KEY_LEN])
{
    size_t pl = WD_SIGN_KEY_LEN;
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, WD_SIGN_KEY_LEN);
    int rc = 0;
    if (!pkey || EVP_PKEY_get_raw_public_key(pkey, pub, &pl) <= 0)
        rc = wd_error_set_openssl(WALDEN_ERROR, "cannot load the signing key");
    EVP_PKEY_free(pkey);
    return rc;
}

int wd_sign(const uint8_t priv[WD_SIGN_KEY_LEN], const uint8_t *msg, size_t len,
            uint8_t sig[WD_SIG_LEN])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, WD_SIGN_KEY_LEN);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t sl = WD_SIG_LEN;
    int rc = 0;
    if (!pkey || !md || EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) <= 0 ||
        EVP_DigestSign(md, sig, &sl, msg, len) <= 0 || sl != WD_SIG_LEN)
        rc = wd_error_set_openssl(WALDEN_ERROR, "cannot sign");
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    return rc;
}

int wd_sign_verify(const uint8_t pub[WD_SIGN_KEY_LEN], const uint8_t *msg, size_t len,
                   const uint8_t sig[WD_SIG_LEN])
{
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, WD_SIGN_KEY_LEN);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = 0;
    if (!pkey || !md || EVP_DigestVerifyInit(md, NULL, NULL, NULL, pkey) <= 0)
        rc = wd_error_set_openssl(WALDEN_ERROR, "cannot load the verification key");
    else if (EVP_DigestVerify(md, sig, WD_SIG_LEN, msg, len) != 1)
        rc = WALDEN_EAUTH;
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    return rc;
}

/* A message buffer: domain, area and path, NUL-separated, then fixed-size
 * fields. */
typedef struct msg {
    uint8_t b[1024];
    size_t n;
    bool overflow;
} msg;

static void put(msg *m, const void *p, size_t len)
{
    if (m->n + len > sizeof(m->b)) {
        m->overflow = true;
        return;
    }
    memcpy(m->b + m->n, p, len);
    m->n += len;
}

static void put_str(msg *m, const char *s)
{
    put(m, s, strlen(s) + 1);
}

static void put_area(msg *m, const char *domain, const wd_area_id *area)
{
    char sysid[32];
    snprintf(sysid, sizeof(sysid), "%" PRIu64, area->system_id);
    put_str(m, domain);
    put_str(m, area->cluster);
    put_str(m, sysid);
}

static int text_msg(msg *m, const wd_area_id *area, const char *path, const uint8_t sha[32])
{
    m->n = 0;
    m->overflow = false;
    put_area(m, TEXT_DOMAIN, area);
    put_str(m, path);
    put(m, sha, 32);
    return m->overflow ? wd_error_set(WALDEN_EINVAL, "path too long to sign: '%.100s'", path) : 0;
}

int wd_sign_text_line(const uint8_t priv[WD_SIGN_KEY_LEN], const wd_area_id *area, const char *path,
                      const uint8_t body_sha256[32], char line[WD_SIG_LINE_LEN + 1])
{
    msg m;
    uint8_t sig[WD_SIG_LEN];
    int rc = text_msg(&m, area, path, body_sha256);
    if (rc || (rc = wd_sign(priv, m.b, m.n, sig)))
        return rc;
    char hex[2 * WD_SIG_LEN + 1];
    wd_hex_encode(sig, WD_SIG_LEN, hex);
    snprintf(line, WD_SIG_LINE_LEN + 1, "%s%s\n", WD_SIG_LINE, hex);
    return 0;
}

static int sha256(const void *p, size_t len, uint8_t out[32])
{
    if (!EVP_Digest(p, len, out, NULL, EVP_sha256(), NULL))
        return wd_error_set_openssl(WALDEN_ERROR, "sha-256 failed");
    return 0;
}

int wd_sign_text(const uint8_t priv[WD_SIGN_KEY_LEN], const wd_area_id *area, const char *path,
                 const char *body, size_t len, char **out)
{
    *out = NULL;
    uint8_t sha[32];
    char line[WD_SIG_LINE_LEN + 1];
    int rc;
    if (len && body[len - 1] != '\n')
        return wd_error_set(WALDEN_EINVAL, "'%s': a signed text must end with a newline", path);
    if ((rc = sha256(body, len, sha)) || (rc = wd_sign_text_line(priv, area, path, sha, line)))
        return rc;
    size_t ll = strlen(line);
    char *t = wd_malloc(len + ll + 1);
    if (!t)
        return WALDEN_ENOMEM;
    memcpy(t, body, len);
    memcpy(t + len, line, ll + 1);
    *out = t;
    return 0;
}

int wd_sign_text_line_check(const uint8_t pub[WD_SIGN_KEY_LEN], const wd_area_id *area,
                            const char *path, const uint8_t body_sha256[32], const char *line,
                            size_t line_len)
{
    size_t pl = sizeof(WD_SIG_LINE) - 1;
    char hex[2 * WD_SIG_LEN + 1];
    uint8_t sig[WD_SIG_LEN];
    if (line_len != pl + 2 * WD_SIG_LEN || memcmp(line, WD_SIG_LINE, pl) != 0)
        return wd_error_set(WALDEN_EAUTH, "'%s' failed authentication: no signature line", path);
    memcpy(hex, line + pl, 2 * WD_SIG_LEN);
    hex[2 * WD_SIG_LEN] = '\0';
    if (wd_hex_decode(hex, sig, WD_SIG_LEN))
        return wd_error_set(WALDEN_EAUTH, "'%s' failed authentication: malformed signature", path);
    msg m;
    int rc = text_msg(&m, area, path, body_sha256);
    if (rc)
        return rc;
    rc = wd_sign_verify(pub, m.b, m.n, sig);
    if (rc == WALDEN_EAUTH)
        return wd_error_set(WALDEN_EAUTH,
                            "'%s' failed authentication: its signature does not verify", path);
    return rc;
}

int wd_sign_text_check(const uint8_t pub[WD_SIGN_KEY_LEN], const wd_area_id *area, const char *path,
                       const char *text, size_t len, size_t *body_len)
{
    *body_len = 0;
    if (len == 0 || text[len - 1] != '\n')
        return wd_error_set(WALDEN_EAUTH, "'%s' failed authentication: no signature line", path);
    size_t start = len - 1;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    uint8_t sha[32];
    int rc = sha256(text, start, sha);
    if (rc || (rc = wd_sign_text_line_check(pub, area, path, sha, text + start, len - 1 - start)))
        return rc;
    *body_len = start;
    return 0;
}

static int wal_msg(msg *m, const wd_area_id *area, const wd_wal_sig_input *in)
{
    m->n = 0;
    m->overflow = false;
    put_area(m, WAL_DOMAIN, area);
    put_str(m, in->name);
    put(m, in->raw_sha256, 32);
    put_str(m, in->ext);
    uint8_t enc = in->encrypted ? 1 : 0;
    put(m, &enc, 1);
    if (in->encrypted)
        put(m, in->header, WD_ENC_HEADER_LEN);
    return m->overflow ? wd_error_set(WALDEN_EINVAL, "name too long to sign: '%.100s'", in->name)
                       : 0;
}

int wd_sign_wal(const uint8_t priv[WD_SIGN_KEY_LEN], const wd_area_id *area,
                const wd_wal_sig_input *in, uint8_t sig[WD_SIG_LEN])
{
    msg m;
    int rc = wal_msg(&m, area, in);
    return rc ? rc : wd_sign(priv, m.b, m.n, sig);
}

int wd_sign_wal_verify(const uint8_t pub[WD_SIGN_KEY_LEN], const wd_area_id *area,
                       const wd_wal_sig_input *in, const uint8_t sig[WD_SIG_LEN])
{
    msg m;
    int rc = wal_msg(&m, area, in);
    return rc ? rc : wd_sign_verify(pub, m.b, m.n, sig);
}
