/*
 * sign.h - Ed25519 signatures over what walden stores (docs/security.md).
 *
 * Every object walden reads back is authenticated by a signature of the
 * area's writer key, bound to the area (cluster name and system identifier)
 * and to the object's path relative to the area, so a genuine object moved
 * to another name, backup or area does not verify.
 *
 * Signed text files (cluster.conf, backup.info, backup.stored, the
 * plaintext of backup.manifest, dump.manifest, drill records) end with the
 * line "signature = <128 hex>". The signature covers
 *   "walden signed file v1" 0 CLUSTER 0 SYSID(decimal) 0 PATH 0 SHA256(BODY)
 * where BODY is every byte before the signature line (hashing first lets a
 * manifest of any size be signed and checked as a stream).
 *
 * WAL objects carry their signature in their name (archive.h); it covers
 *   "walden wal v1" 0 CLUSTER 0 SYSID 0 NAME 0 SHA256(raw) EXT 0
 *   ENCRYPTED(1 byte) [76-byte encryption header when encrypted]
 * The SHA-256 fixes the content and its size; everything in the message is
 * readable without the key (the name, the header in clear), so writers and
 * verify check any copy's signature without decrypting it.
 *
 * Every check failure is WALDEN_EAUTH with a one-line message naming the
 * object and saying it failed authentication.
 */
#ifndef WD_CRYPTO_SIGN_H
#define WD_CRYPTO_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WD_SIGN_KEY_LEN 32
#define WD_SIG_LEN 64
#define WD_SIG_LINE "signature = "
/* "signature = " + 128 hex + "\n" */
#define WD_SIG_LINE_LEN (sizeof(WD_SIG_LINE) - 1 + 2 * WD_SIG_LEN + 1)
#define WD_ENC_HEADER_LEN 76

typedef struct wd_area_id {
    const char *cluster;
    uint64_t system_id;
} wd_area_id;

/* A new Ed25519 key pair. */
int wd_sign_keygen(uint8_t pub[WD_SIGN_KEY_LEN], uint8_t priv[WD_SIGN_KEY_LEN]);
/* The public half of a private key. */
int wd_sign_public(const uint8_t priv[WD_SIGN_KEY_LEN], uint8_t pub[WD_SIGN_KEY_LEN]);
/* Signs / checks a message. wd_sign_verify returns WALDEN_EAUTH (no
 * message set) when the signature does not verify. */
int wd_sign(const uint8_t priv[WD_SIGN_KEY_LEN], const uint8_t *msg, size_t len,
            uint8_t sig[WD_SIG_LEN]);
int wd_sign_verify(const uint8_t pub[WD_SIGN_KEY_LEN], const uint8_t *msg, size_t len,
                   const uint8_t sig[WD_SIG_LEN]);

/* The signature line (with newline, NUL-terminated) of a text whose body
 * has SHA-256 `body_sha256`, stored at `path` of area `area`. */
int wd_sign_text_line(const uint8_t priv[WD_SIGN_KEY_LEN], const wd_area_id *area, const char *path,
                      const uint8_t body_sha256[32], char line[WD_SIG_LINE_LEN + 1]);
/* body followed by its signature line, malloc'ed (NUL-terminated). */
int wd_sign_text(const uint8_t priv[WD_SIGN_KEY_LEN], const wd_area_id *area, const char *path,
                 const char *body, size_t len, char **out);
/* Checks a signature line (without its newline) against a body digest. */
int wd_sign_text_line_check(const uint8_t pub[WD_SIGN_KEY_LEN], const wd_area_id *area,
                            const char *path, const uint8_t body_sha256[32], const char *line,
                            size_t line_len);
/* Checks a whole signed text: its last line must be a valid signature of
 * everything before it. *body_len gets the length of that body. */
int wd_sign_text_check(const uint8_t pub[WD_SIGN_KEY_LEN], const wd_area_id *area, const char *path,
                       const char *text, size_t len, size_t *body_len);

/* What a WAL object's name signs. */
typedef struct wd_wal_sig_input {
    const char *name;       /* the WAL file name */
    uint8_t raw_sha256[32]; /* fixes the content, and so its size */
    const char *ext;        /* "", ".zst", ".gz" */
    bool encrypted;
    uint8_t header[WD_ENC_HEADER_LEN]; /* when encrypted */
} wd_wal_sig_input;

int wd_sign_wal(const uint8_t priv[WD_SIGN_KEY_LEN], const wd_area_id *area,
                const wd_wal_sig_input *in, uint8_t sig[WD_SIG_LEN]);
/* WALDEN_EAUTH (no message set) when it does not verify. */
int wd_sign_wal_verify(const uint8_t pub[WD_SIGN_KEY_LEN], const wd_area_id *area,
                       const wd_wal_sig_input *in, const uint8_t sig[WD_SIG_LEN]);

#endif
