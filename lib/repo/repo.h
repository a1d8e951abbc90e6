/*
 * repo.h - a cluster's area in a repository (internal view of walden_repo).
 *
 * Layout (docs/repository-format.md):
 *   REPO/<cluster>/cluster.conf   identity and defaults; written last at init,
 *                                 so its presence means "initialized"
 *   REPO/<cluster>/key.conf       the wrapped key pair (encrypted repos only)
 *   REPO/<cluster>/wal/...        the WAL archive
 *
 * The repository object knows how to build the store and read pipelines,
 * so every command stores and reads files the same way:
 *   write: [hash raw] -> compress -> [encrypt] -> [hash stored] -> sink
 *   read:  source -> [hash stored] -> [decrypt] -> decompress -> [hash raw] -> sink
 */
#ifndef WD_REPO_H
#define WD_REPO_H

#include <stdbool.h>

#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "io/stream.h"
#include "storage/storage.h"
#include "walden/walden.h"

#define WD_REPO_FORMAT_VERSION 2

typedef struct wd_bundle_cache wd_bundle_cache;
struct walden_repo {
    wd_crypto_preload preload; /* joined at close */
    wd_storage *storage;
    char *cluster;  /* the cluster's folder in the storage */
    char *location; /* the repo option, for messages */
    char *lock_dir; /* the lock-path option at open (repo/lock.h) */
    bool lock_dir_is_default;
    walden_repo_info info;
    uint64_t wal_segment_size; /* cluster.conf's wal-segment-size; 0: not recorded */
    char *info_compress;       /* owned string behind info.compress */
    wd_compress compress;      /* what new files are written with */
    int compress_level;
    wd_keypair key;    /* public part loaded at open when encrypted */
    bool key_unlocked; /* private part unwrapped */
    char *key_text;
    size_t key_text_len;
    char *passphrase; /* from the configuration; wiped at close */

    /* authentication (auth.c, docs/security.md) */
    char *sign_key_path; /* the sign-key-file option, %c replaced */
    bool have_signer;    /* the signing key file was loaded */
    uint8_t sign_priv[WD_SIGN_KEY_LEN];
    bool have_pinned_enc; /* the signing key file pins the encryption key */
    uint8_t pinned_enc[WD_KEY_LEN];
    bool have_verify_key; /* from the signing key file, verify-key or key.conf */
    uint8_t verify_key[WD_SIGN_KEY_LEN];
    bool trusted;    /* cluster.conf verified with verify_key */
    bool legacy;     /* an area of format 1, read with allow-unauthenticated */
    char *conf_text; /* cluster.conf as read */
    size_t conf_len;

    /* readers' bundle cache (bundle.h), while a restore or verify runs */
    struct wd_bundle_cache *bundles;
};

/* Opens the area for walden repo-upgrade: an area of format 1 is opened
 * as legacy whatever allow-unauthenticated says and whatever trust roots
 * this host holds (an interrupted upgrade made the signing key file). */
int wd_repo_open_upgrade(walden_repo **out, const walden_config *cfg);

/* ---- authentication (auth.c) ---- */

/* Loads the trust roots that need no passphrase at open: the signing key
 * file and the verify-key option; checks cluster.conf's signature when one
 * is known and key.conf's public key against the pinned one. */
int wd_repo_auth_open(walden_repo *repo, const walden_config *cfg);
/* Checks key.conf (loaded) against the area's format and the pinned key. */
int wd_repo_auth_key(walden_repo *repo, const wd_key_meta *meta);
/* Makes sure readers can authenticate: a verification key (unwrapping
 * key.conf with the passphrase when that is the only root) and a verified
 * cluster.conf. WALDEN_EAUTH with a line saying what to set otherwise. A
 * legacy area (allow-unauthenticated) passes. */
int wd_repo_trust(walden_repo *repo);
/* Makes sure this process can sign (the signing key file is loaded). */
int wd_repo_signer(walden_repo *repo);
/* The area's identity for signatures. */
void wd_repo_area(const walden_repo *repo, wd_area_id *out);
/* A storage path's part relative to the area ("<cluster>/x" -> "x"). */
const char *wd_repo_rel(const walden_repo *repo, const char *path);
/* Signs `body` for `path` (a storage path) and writes it atomically. */
int wd_repo_write_signed(walden_repo *repo, const char *path, const char *body, size_t len);
/* Reads `path`, checks its signature (wd_repo_trust first) and returns the
 * body without the signature line, NUL-terminated. */
int wd_repo_read_signed(walden_repo *repo, const char *path, size_t max, char **text, size_t *len);
/* Checks a signed text already read; *body_len the part before the
 * signature. */
int wd_repo_check_signed(walden_repo *repo, const char *path, const char *text, size_t len,
                         size_t *body_len);
/* Creates the signing key file at init (never overwriting one) and returns
 * the keys: the caller writes key.conf and cluster.conf with them. */
int wd_repo_sign_key_create(const walden_config *cfg, const char *cluster, uint64_t sysid,
                            const uint8_t *enc_pub, uint8_t priv[WD_SIGN_KEY_LEN],
                            uint8_t pub[WD_SIGN_KEY_LEN], char **path_out);
/* repo-upgrade: loads the signing key file of this host when it exists
 * (made by an earlier, interrupted run: it must be this area's) or creates
 * it, and makes this process the area's signer and verifier. *created says
 * which. The area stays legacy: the caller switches it. */
int wd_repo_upgrade_signer(walden_repo *repo, const walden_config *cfg, bool *created);
/* The sign-key-file option with %c replaced (malloc'ed). */
char *wd_repo_sign_key_path(const walden_config *cfg, const char *cluster);

/* A path inside the cluster's area: "<cluster>/<rel>". Malloc'ed. */
char *wd_repo_path(const walden_repo *repo, const char *rel);

/* A new id for the folder `dir` of the area ("backup", "dump"): the UTC
 * time, YYYYMMDDTHHMMSSZ, that no name in it starts with yet (waiting for
 * the next second when one does: ids are times). Found by listing: an
 * object store has no directory that exists() could see. */
int wd_repo_time_id(walden_repo *repo, const char *dir, char id[32]);

/* The names of the folders under the area's folder `dir` (backup, dump),
 * sorted (free with wd_storage_names_free). */
int wd_repo_list_ids(walden_repo *repo, const char *dir, char ***ids, size_t *n);

/* Removes the sets (backups, dumps) under the area's folder `dir` that
 * have no manifest: unfinished, never listed. `complete` says whether set
 * `id` has one. The ids are collected before anything is removed: a
 * listing must not run while entries go away under it. */
int wd_repo_remove_unfinished(walden_repo *repo, const char *dir, const char *what,
                              int (*complete)(walden_repo *repo, const char *id, bool *yes));

/* Unwraps the private key with the configured passphrase (once). */
int wd_repo_unlock(walden_repo *repo);

/* Results of a store or read pipeline. */
typedef struct wd_repo_stream {
    wd_pipe *pipe;
    wd_filter *raw_hash;    /* owned by the pipe */
    wd_filter *stored_hash; /* owned by the pipe */
    wd_filter *cipher;      /* encrypt or decrypt filter (encrypted areas); owned by the pipe */
} wd_repo_stream;

/* Builds the store pipeline into `sink` (taken over) with the repository's
 * compression and encryption. */
int wd_repo_store_begin(walden_repo *repo, wd_sink *sink, wd_repo_stream *out);
/* Flags of wd_repo_store_begin_ex. */
#define WD_STORE_NO_RAW_HASH                                                                       \
    1u /* the caller hashes the raw bytes elsewhere;                                               \
        * out->raw_hash is NULL */
#define WD_STORE_COUNT_STORED                                                                      \
    2u /* stored bytes counted, not hashed (their                                                  \
        * SHA-256 is not recorded anywhere) */
int wd_repo_store_begin_ex(walden_repo *repo, wd_sink *sink, unsigned flags, wd_repo_stream *out);
/* Builds the read pipeline for a file stored with compression `c` into
 * `sink` (taken over): unlocks the key when the repository is encrypted.
 * With expect_sha256 set, finishing fails with WALDEN_ECORRUPT (and the
 * sink is aborted) unless the raw bytes have that SHA-256. */
int wd_repo_read_begin(walden_repo *repo, wd_compress c, const uint8_t *expect_sha256,
                       wd_sink *sink, wd_repo_stream *out);
/* The same; with expect_header set (an encrypted area), the file's
 * encryption header must be that one (signed by the writer): WALDEN_EAUTH
 * before any byte is released otherwise. */
int wd_repo_read_begin_ex(walden_repo *repo, wd_compress c, const uint8_t *expect_sha256,
                          const uint8_t *expect_header, wd_sink *sink, wd_repo_stream *out);
/* The most an object read back may have, known before it is read (from
 * signed metadata, or from what its kind allows): the read stops with
 * `code` as soon as a limit is crossed, so a forged object that is large,
 * or that decompresses to gigabytes, never fills the sink (docs/security.md). */
typedef struct wd_read_limits {
    uint64_t raw_max;    /* content bytes after decompression; 0: no limit */
    bool raw_exact;      /* the content must have exactly raw_max bytes */
    uint64_t stored_max; /* stored bytes read; 0: no limit */
    int code;            /* WALDEN_EAUTH or WALDEN_ECORRUPT */
    const char *what;    /* begins the message, names the object */
    /* the caller checks the content itself (a delta's or whole object's
     * blocks against their digests): no SHA-256 of it here (raw_hash stays
     * NULL; expect_sha256 must be NULL), one pass over the bytes less */
    bool content_checked;
    /* nothing compares the stored bytes' SHA-256 (the content is checked
     * instead): they are counted, not hashed (out->stored_hash gives their
     * size only) */
    bool stored_counted;
} wd_read_limits;
/* wd_repo_read_begin_ex with limits (NULL: none). */
int wd_repo_read_begin_limited(walden_repo *repo, wd_compress c, const uint8_t *expect_sha256,
                               const uint8_t *expect_header, const wd_read_limits *limits,
                               wd_sink *sink, wd_repo_stream *out);

#endif
