/*
 * repo.c - init, open and key handling of a cluster's repository area.
 *
 * Metadata files are small "name = value" texts (docs/repository-format.md)
 * written atomically through the storage driver. Opening a repository never
 * runs the key-derivation function: the private key is unwrapped only when
 * something has to be decrypted (wd_repo_unlock).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/common.h"
#include "common/lock.h"
#include "pg/pg.h"
#include "repo/bundle.h"
#include "repo/repo.h"

#define META_MAX (64 * 1024)
#define REPO_FILE "walden.repo"

char *wd_repo_path(const walden_repo *repo, const char *rel)
{
    return wd_path_join(repo->cluster, rel);
}

static int check_level(wd_compress c, int64_t level)
{
    int max = c == WD_COMPRESS_GZIP ? 9 : c == WD_COMPRESS_ZSTD ? 19 : 0;
    if (c != WD_COMPRESS_NONE && (level < 1 || level > max))
        return wd_error_set(WALDEN_EINVAL,
                            "invalid value for option 'compress-level': %" PRId64
                            " (expected 1 to %d for %s)",
                            level, max, wd_compress_name(c));
    return 0;
}

/* The compression the configuration asks for. With a fallback (the
 * repository's recorded choice), that applies to what the configuration
 * leaves at its default. */
static int config_compress(const walden_config *cfg, const wd_compress *fb_c, int fb_level,
                           wd_compress *c, int *level)
{
    int rc;
    if (fb_c && walden_config_source_of(cfg, "compress") == WALDEN_SOURCE_DEFAULT)
        *c = *fb_c;
    else if ((rc = wd_compress_parse(walden_config_get(cfg, "compress"), c)))
        return rc;
    int64_t lv = fb_c && *c == *fb_c ? fb_level : wd_compress_default_level(*c);
    if (walden_config_source_of(cfg, "compress-level") != WALDEN_SOURCE_DEFAULT)
        lv = walden_config_int(cfg, "compress-level", lv); /* 1 to 22 when set; per codec: */
    if ((rc = check_level(*c, lv)))
        return rc;
    *level = (int)lv;
    return 0;
}

/* The configured passphrase (NULL when none), malloc'ed. */
static int config_passphrase(const walden_config *cfg, char **out)
{
    *out = NULL;
    const char *p = walden_config_get(cfg, "encrypt-passphrase");
    const char *file = walden_config_get(cfg, "encrypt-passphrase-file");
    if ((p && *p) || (file && *file))
        wd_secret_held();
    if (p && *p) {
        *out = wd_strdup(p);
        return *out ? 0 : WALDEN_ENOMEM;
    }
    if (file && *file) {
        char *text;
        size_t len;
        int rc = wd_file_read_all(file, 4096, &text, &len);
        if (rc)
            return rc;
        size_t line = strcspn(text, "\r\n");
        if (line == 0) {
            wd_free_secret(text, len);
            return wd_error_set(WALDEN_EINVAL, "passphrase file '%s' is empty", file);
        }
        *out = wd_strndup(text, line);
        wd_free_secret(text, len);
        return *out ? 0 : WALDEN_ENOMEM;
    }
    return 0;
}

static int open_storage(const walden_config *cfg, bool create, wd_storage **st)
{
    const char *repo = walden_config_get(cfg, "repo");
    if (!repo || !*repo)
        return wd_error_set(WALDEN_EINVAL, "option 'repo' is not set");
    int rc = wd_storage_open(st, cfg, create);
    if (rc == WALDEN_ENOTFOUND)
        return wd_error_set(rc, "repository '%s' does not exist", repo);
    return rc;
}

/* ---- the repository's own format file ---- */

struct repo_file {
    int64_t format;
};

static int repo_file_kv(const char *name, const char *value, int line, void *ctx)
{
    (void)line;
    struct repo_file *rf = ctx;
    if (strcmp(name, "format-version") == 0)
        return wd_parse_int64(value, 1, INT32_MAX, &rf->format);
    return 0;
}

/* Checks (and with create, writes) REPO/walden.repo. */
static int repo_file_check(wd_storage *st, const char *location, bool create)
{
    char *text = NULL;
    size_t len;
    int rc = wd_storage_read_all(st, REPO_FILE, META_MAX, &text, &len);
    if (rc == WALDEN_ENOTFOUND && create) {
        char buf[256];
        int n = snprintf(buf, sizeof(buf),
                         "# walden repository: see docs/repository-format.md\n"
                         "format-version = %d\n",
                         WD_REPO_FORMAT_VERSION);
        return wd_storage_write_all(st, REPO_FILE, buf, (size_t)n);
    }
    if (rc == WALDEN_ENOTFOUND)
        return wd_error_set(WALDEN_ENOTFOUND,
                            "'%s' is not a walden repository (no %s): run walden init", location,
                            REPO_FILE);
    if (rc)
        return rc;
    struct repo_file rf = {0};
    rc = wd_kv_parse(text, len, REPO_FILE, repo_file_kv, &rf);
    wd_free(text);
    if (rc)
        return wd_error_wrap(WALDEN_ECORRUPT, "repository '%s' has a damaged %s", location,
                             REPO_FILE);
    if (rf.format > WD_REPO_FORMAT_VERSION)
        return wd_error_set(WALDEN_EVERSION,
                            "repository '%s' has format version %" PRId64
                            ", newer than this walden supports (%d): upgrade walden",
                            location, rf.format, WD_REPO_FORMAT_VERSION);
    if (rf.format < 1)
        return wd_error_set(WALDEN_ECORRUPT, "repository '%s' has no format version", location);
    return 0;
}

/* ---- init ---- */

int walden_repo_init(const walden_config *cfg)
{
    wd_storage *st = NULL;
    char *passphrase = NULL, *key_text = NULL, *path = NULL, *info = NULL, *signed_info = NULL;
    char *sign_path = NULL;
    bool init_done = false;
    uint8_t sign_priv[WD_SIGN_KEY_LEN], sign_pub[WD_SIGN_KEY_LEN];
    memset(sign_priv, 0, sizeof(sign_priv));
    wd_keypair key;
    memset(&key, 0, sizeof(key));
    const char *cluster = walden_config_get(cfg, "cluster");
    const char *location = walden_config_get(cfg, "repo");
    const char *pgdata = walden_config_get(cfg, "pgdata");
    wd_compress c;
    int level, rc;
    uint64_t sysid, seg_size = 0;
    int version_num;

    if ((rc = config_compress(cfg, NULL, 0, &c, &level)))
        goto done;
    if (pgdata && *pgdata) {
        int major;
        if ((rc = wd_pg_control_read(pgdata, &sysid, &major)) ||
            (rc = wd_pg_segment_size_read(pgdata, &seg_size)))
            goto done;
        version_num = major * 10000;
    } else if ((rc = wd_pg_identity_query(cfg, &sysid, &version_num, &seg_size))) {
        goto done;
    } else {
        /* the cluster's data format is its major version: minor updates
         * happen in place, so that is what the repository records, however
         * it learned it (docs/json.md) */
        version_num = version_num / 10000 * 10000;
    }
    if ((rc = wd_pg_major_check(version_num / 10000)))
        goto done;
    if ((rc = config_passphrase(cfg, &passphrase)))
        goto done;
    if ((rc = open_storage(cfg, true, &st)) || (rc = repo_file_check(st, location, true)))
        goto done;

    path = wd_path_join(cluster, "cluster.conf");
    if (!path) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    bool exists;
    if ((rc = wd_storage_exists(st, path, &exists)))
        goto done;
    if (exists) {
        rc = wd_error_set(WALDEN_EEXISTS, "cluster '%s' is already initialized in repository '%s'",
                          cluster, location);
        goto done;
    }
    if (passphrase && (rc = wd_keypair_generate(&key)))
        goto done;
    /* the writers' secret, on this host only; never overwritten */
    if ((rc = wd_repo_sign_key_create(cfg, cluster, sysid, passphrase ? key.public_key : NULL,
                                      sign_priv, sign_pub, &sign_path)))
        goto done;
    if (passphrase) {
        char *kpath = wd_path_join(cluster, "key.conf");
        if (!kpath) {
            rc = WALDEN_ENOMEM;
            goto done;
        }
        wd_key_meta meta;
        memset(&meta, 0, sizeof(meta));
        snprintf(meta.cluster, sizeof(meta.cluster), "%s", cluster);
        meta.system_id = sysid;
        memcpy(meta.verify_key, sign_pub, WD_SIGN_KEY_LEN);
        rc = wd_key_wrap(&key, &meta, passphrase, &wd_kdf_default, &key_text);
        if (!rc)
            rc = wd_storage_write_all(st, kpath, key_text, strlen(key_text));
        wd_free(kpath);
        if (rc)
            goto done;
    }
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* the segment size, when known, bounds what archive-get writes */
    char seg_line[64] = "";
    if (seg_size)
        snprintf(seg_line, sizeof(seg_line), "wal-segment-size = %" PRIu64 "\n", seg_size);
    info = wd_asprintf("# walden cluster area: see docs/repository-format.md\n"
                       "format-version = %d\n"
                       "cluster = %s\n"
                       "system-identifier = %" PRIu64 "\n"
                       "pg-version = %d\n"
                       "compress = %s\n"
                       "compress-level = %d\n"
                       "encrypted = %s\n"
                       "%s"
                       "created = %s\n"
                       "walden-version = %s\n",
                       WD_REPO_FORMAT_VERSION, cluster, sysid, version_num, wd_compress_name(c),
                       level, passphrase ? "yes" : "no", seg_line, created, WALDEN_VERSION);
    if (!info) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    /* written last: its presence means the area is complete */
    wd_area_id area = {cluster, sysid};
    if (!(rc = wd_sign_text(sign_priv, &area, "cluster.conf", info, strlen(info), &signed_info)))
        rc = wd_storage_write_all(st, path, signed_info, strlen(signed_info));
    if (!rc) {
        init_done = true;
        char vk[65];
        wd_hex_encode(sign_pub, 32, vk);
        wd_log_info("initialized cluster '%s' in repository '%s'; signing key in '%s', "
                    "verification key %s",
                    cluster, location, sign_path, vk);
    }
done:
    if (sign_path && !init_done)
        unlink(sign_path); /* made by this init: another may run */
    wd_free(sign_path);
    wd_free(signed_info);
    OPENSSL_cleanse(sign_priv, sizeof(sign_priv));
    wd_keypair_wipe(&key);
    if (passphrase)
        wd_free_secret(passphrase, strlen(passphrase));
    wd_free(key_text);
    wd_free(path);
    wd_free(info);
    wd_storage_free(st);
    return rc;
}

/* ---- open ---- */

struct cluster_conf {
    walden_repo *repo;
    int64_t format;
    bool have_sysid;
};

static int cluster_kv(const char *name, const char *value, int line, void *ctx)
{
    (void)line;
    struct cluster_conf *cc = ctx;
    walden_repo_info *info = &cc->repo->info;
    int64_t v;
    int rc = 0;
    if (strcmp(name, "format-version") == 0) {
        rc = wd_parse_int64(value, 1, INT32_MAX, &cc->format);
    } else if (strcmp(name, "system-identifier") == 0) {
        rc = wd_parse_uint64(value, &info->system_id);
        cc->have_sysid = rc == 0;
    } else if (strcmp(name, "pg-version") == 0) {
        if (!(rc = wd_parse_int64(value, 90000, 9999999, &v)))
            info->pg_version = (int)v;
    } else if (strcmp(name, "compress") == 0) {
        wd_compress c;
        if (!(rc = wd_compress_parse(value, &c))) {
            wd_free(cc->repo->info_compress);
            cc->repo->info_compress = wd_strdup(wd_compress_name(c));
            rc = cc->repo->info_compress ? 0 : WALDEN_ENOMEM;
        }
    } else if (strcmp(name, "compress-level") == 0) {
        if (!(rc = wd_parse_int64(value, 0, 22, &v)))
            info->compress_level = (int)v;
    } else if (strcmp(name, "encrypted") == 0) {
        info->encrypted = strcmp(value, "yes") == 0;
    } else if (strcmp(name, "wal-segment-size") == 0) {
        uint64_t seg = 0;
        if (!(rc = wd_parse_uint64(value, &seg)) &&
            (seg < (1u << 20) || seg > (1u << 30) || (seg & (seg - 1))))
            rc = wd_error_set(WALDEN_EINVAL, "wal-segment-size %s is not a segment size", value);
        cc->repo->wal_segment_size = seg;
    }
    return rc;
}

/* Opens the area. `upgrading` (repo-upgrade): an area of format 1 is
 * opened as legacy without allow-unauthenticated, also on a host that
 * already holds its signing key file (an upgrade that was interrupted). */
static int repo_open(walden_repo **out, const walden_config *cfg, bool upgrading)
{
    *out = NULL;
    walden_repo *repo = wd_calloc(1, sizeof(*repo));
    char *text = NULL, *path = NULL;
    size_t len;
    int rc;
    if (!repo)
        return WALDEN_ENOMEM;
    wd_crypto_preload_start(&repo->preload); /* overlaps the reads below */
    const char *location = walden_config_get(cfg, "repo");
    repo->cluster = wd_strdup(walden_config_get(cfg, "cluster"));
    repo->location = wd_strdup(location ? location : "");
    /* the lock folder, with the cluster and location: what the commands
     * lock by, whatever configuration they are given later (repo/lock.h) */
    wd_lock_place place;
    wd_lock_place_of_config(cfg, &place);
    repo->lock_dir = wd_strdup(place.dir);
    repo->lock_dir_is_default = place.dir_is_default;
    if (!repo->cluster || !repo->location || !repo->lock_dir) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    repo->info.cluster = repo->cluster;
    if ((rc = open_storage(cfg, false, &repo->storage)) ||
        (rc = repo_file_check(repo->storage, location, false)))
        goto done;

    path = wd_repo_path(repo, "cluster.conf");
    if (!path) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    rc = wd_storage_read_all(repo->storage, path, META_MAX, &text, &len);
    if (rc == WALDEN_ENOTFOUND) {
        rc = wd_error_set(rc, "cluster '%s' is not initialized in repository '%s': run walden init",
                          repo->cluster, location);
        goto done;
    }
    if (rc)
        goto done;
    struct cluster_conf cc = {repo, 0, false};
    if ((rc = wd_kv_parse(text, len, path, cluster_kv, &cc))) {
        rc = wd_error_wrap(WALDEN_ECORRUPT, "'%s' in repository '%s' is damaged", path, location);
        goto done;
    }
    if (!cc.have_sysid || !cc.format || !repo->info_compress) {
        rc = wd_error_set(WALDEN_ECORRUPT, "'%s' in repository '%s' is incomplete", path, location);
        goto done;
    }
    repo->conf_text = text;
    repo->conf_len = len;
    text = NULL;
    if (cc.format < 2 && upgrading) {
        repo->legacy = true;
    } else if (cc.format < 2) {
        if (!walden_config_bool(cfg, "allow-unauthenticated")) {
            rc = wd_error_set(WALDEN_EAUTH,
                              "cluster '%s' in repository '%s' has format 1: it is "
                              "unauthenticated (anyone who can write the repository can forge "
                              "it); upgrade it with walden repo-upgrade, or read it at that risk "
                              "with --allow-unauthenticated",
                              repo->cluster, location);
            goto done;
        }
        /* cluster.conf is not authenticated yet: an area that this host
         * holds a trust root for was made in format 2, and one that now
         * claims format 1 was rewritten to shed its signatures */
        char *key_path = wd_repo_sign_key_path(cfg, repo->cluster);
        const char *vk = walden_config_get(cfg, "verify-key");
        struct stat key_st;
        bool have_root = (vk && *vk) || (key_path && stat(key_path, &key_st) == 0);
        wd_free(key_path);
        if (have_root) {
            rc = wd_error_set(WALDEN_EAUTH,
                              "cluster.conf of '%s' in repository '%s' failed authentication: it "
                              "claims format 1 (unauthenticated), but this host holds the "
                              "area's %s: refused even with allow-unauthenticated (if walden "
                              "repo-upgrade was interrupted here, run it again to finish)",
                              repo->cluster, location,
                              vk && *vk ? "verify-key" : "signing key file");
            goto done;
        }
        wd_log_warn("cluster '%s' in repository '%s' has format 1: it is unauthenticated, read "
                    "because allow-unauthenticated is set (upgrade it with walden repo-upgrade)",
                    repo->cluster, location);
        repo->legacy = true;
    }
    if (cc.format > WD_REPO_FORMAT_VERSION) {
        rc = wd_error_set(WALDEN_EVERSION,
                          "cluster '%s' has format version %" PRId64
                          ", newer than this walden supports (%d): upgrade walden",
                          repo->cluster, cc.format, WD_REPO_FORMAT_VERSION);
        goto done;
    }
    repo->info.format_version = (int)cc.format;
    repo->info.compress = repo->info_compress;

    wd_compress rc_c;
    wd_compress_parse(repo->info_compress, &rc_c);
    if ((rc = config_compress(cfg, &rc_c, repo->info.compress_level, &repo->compress,
                              &repo->compress_level)))
        goto done;
    if ((rc = config_passphrase(cfg, &repo->passphrase)))
        goto done;
    if ((rc = wd_repo_auth_open(repo, cfg)))
        goto done;

    if (repo->info.encrypted) {
        char *kpath = wd_repo_path(repo, "key.conf");
        if (!kpath) {
            rc = WALDEN_ENOMEM;
            goto done;
        }
        rc = wd_storage_read_all(repo->storage, kpath, META_MAX, &repo->key_text,
                                 &repo->key_text_len);
        if (rc == WALDEN_ENOTFOUND)
            rc = wd_error_set(WALDEN_ECORRUPT,
                              "repository '%s' is encrypted but its key file '%s' is missing",
                              location, kpath);
        wd_free(kpath);
        wd_key_meta meta;
        if (rc ||
            (rc = wd_key_load_public(repo->key_text, repo->key_text_len, &repo->key, &meta)) ||
            (rc = wd_repo_auth_key(repo, &meta)))
            goto done;
    } else if (repo->passphrase) {
        wd_log_warn("a passphrase is configured but cluster '%s' in repository '%s' is not "
                    "encrypted",
                    repo->cluster, location);
    }
done:
    wd_free(text);
    wd_free(path);
    if (rc)
        walden_repo_close(repo);
    else
        *out = repo;
    return rc;
}

int walden_repo_open(walden_repo **out, const walden_config *cfg)
{
    return repo_open(out, cfg, false);
}

int wd_repo_open_upgrade(walden_repo **out, const walden_config *cfg)
{
    return repo_open(out, cfg, true);
}

void walden_repo_close(walden_repo *repo)
{
    if (!repo)
        return;
    wd_crypto_preload_join(&repo->preload);
    wd_repo_bundles_end(repo);
    wd_storage_free(repo->storage);
    wd_free(repo->cluster);
    wd_free(repo->location);
    wd_free(repo->lock_dir);
    wd_free(repo->info_compress);
    wd_keypair_wipe(&repo->key);
    wd_free(repo->key_text);
    if (repo->passphrase)
        wd_free_secret(repo->passphrase, strlen(repo->passphrase));
    OPENSSL_cleanse(repo->sign_priv, sizeof(repo->sign_priv));
    wd_free(repo->sign_key_path);
    wd_free(repo->conf_text);
    wd_free(repo);
}

const walden_repo_info *walden_repo_get_info(const walden_repo *repo)
{
    return &repo->info;
}

int wd_repo_unlock(walden_repo *repo)
{
    if (repo->key_unlocked)
        return 0;
    if (!repo->passphrase)
        return wd_error_set(WALDEN_EKEY,
                            "cluster '%s' in repository '%s' is encrypted: set "
                            "encrypt-passphrase or encrypt-passphrase-file",
                            repo->cluster, repo->location);
    wd_key_meta meta;
    int rc = wd_key_unwrap(repo->key_text, repo->key_text_len, repo->passphrase, &repo->key, &meta);
    if (rc == WALDEN_EKEY)
        return wd_error_set(rc, "wrong passphrase for cluster '%s' in repository '%s'",
                            repo->cluster, repo->location);
    if (rc)
        return rc;
    if (!repo->legacy) {
        /* the wrapped key's AAD covers these: they are authenticated now */
        if (meta.format < 2 || strcmp(meta.cluster, repo->cluster) != 0 ||
            meta.system_id != repo->info.system_id ||
            (repo->have_verify_key &&
             memcmp(meta.verify_key, repo->verify_key, WD_SIGN_KEY_LEN) != 0)) {
            wd_keypair_wipe(&repo->key);
            char *kpath = wd_repo_path(repo, "key.conf");
            rc = wd_error_set(WALDEN_EAUTH,
                              "'%s' in repository '%s' failed authentication: it belongs to "
                              "another area or signing key",
                              kpath ? kpath : "key.conf", repo->location);
            wd_free(kpath);
            return rc;
        }
        if (!repo->have_verify_key) {
            repo->have_verify_key = true;
            memcpy(repo->verify_key, meta.verify_key, WD_SIGN_KEY_LEN);
        }
    }
    repo->key_unlocked = true;
    return 0;
}

int walden_repo_change_passphrase(walden_repo *repo, const char *new_passphrase)
{
    if (!repo->info.encrypted)
        return wd_error_set(WALDEN_EINVAL, "cluster '%s' in repository '%s' is not encrypted",
                            repo->cluster, repo->location);
    if (!new_passphrase || !*new_passphrase)
        return wd_error_set(WALDEN_EINVAL, "the new passphrase is empty");
    int rc = wd_repo_unlock(repo);
    if (rc)
        return rc;
    char *text = NULL, *kpath = wd_repo_path(repo, "key.conf");
    if (!kpath)
        return WALDEN_ENOMEM;
    wd_key_meta meta;
    memset(&meta, 0, sizeof(meta));
    if ((rc = wd_repo_trust(repo)))
        goto out;
    if (repo->legacy) {
        rc = wd_repo_signer(repo); /* says: upgrade first */
        goto out;
    }
    snprintf(meta.cluster, sizeof(meta.cluster), "%s", repo->cluster);
    meta.system_id = repo->info.system_id;
    memcpy(meta.verify_key, repo->verify_key, WD_SIGN_KEY_LEN);
    rc = wd_key_wrap(&repo->key, &meta, new_passphrase, &wd_kdf_default, &text);
    if (!rc)
        rc = wd_storage_write_all(repo->storage, kpath, text, strlen(text));
    if (!rc) {
        wd_free(repo->key_text);
        repo->key_text = text;
        repo->key_text_len = strlen(text);
        text = NULL;
        wd_free_secret(repo->passphrase, strlen(repo->passphrase));
        repo->passphrase = wd_strdup(new_passphrase);
        if (!repo->passphrase)
            rc = WALDEN_ENOMEM;
    }
out:
    wd_free(text);
    wd_free(kpath);
    return rc;
}

/* ---- pipelines ---- */

static int add(wd_pipe *p, int rc, wd_filter *f)
{
    return rc ? rc : wd_pipe_add(p, f);
}

int wd_repo_store_begin(walden_repo *repo, wd_sink *sink, wd_repo_stream *out)
{
    return wd_repo_store_begin_ex(repo, sink, 0, out);
}

int wd_repo_store_begin_ex(walden_repo *repo, wd_sink *sink, unsigned flags, wd_repo_stream *out)
{
    memset(out, 0, sizeof(*out));
    int rc = wd_pipe_new(&out->pipe, sink);
    if (rc)
        return rc;
    wd_filter *f = NULL;
    if (!(flags & WD_STORE_NO_RAW_HASH) &&
        ((rc = wd_hash_filter_new(&out->raw_hash)) || (rc = wd_pipe_add(out->pipe, out->raw_hash))))
        goto fail;
    if ((rc = wd_compress_filter_new(&f, repo->compress, repo->compress_level)))
        goto fail;
    if (f && (rc = wd_pipe_add(out->pipe, f)))
        goto fail;
    if (repo->info.encrypted) {
        rc = wd_encrypt_filter_new(&f, &repo->key);
        if ((rc = add(out->pipe, rc, f)))
            goto fail;
        out->cipher = f;
    }
    rc = (flags & WD_STORE_COUNT_STORED) ? wd_count_filter_new(&out->stored_hash)
                                         : wd_hash_filter_new(&out->stored_hash);
    if ((rc = add(out->pipe, rc, out->stored_hash)))
        goto fail;
    return 0;
fail:
    wd_pipe_free(out->pipe);
    memset(out, 0, sizeof(*out));
    return rc;
}

int wd_repo_read_begin(walden_repo *repo, wd_compress c, const uint8_t *expect_sha256,
                       wd_sink *sink, wd_repo_stream *out)
{
    return wd_repo_read_begin_ex(repo, c, expect_sha256, NULL, sink, out);
}

int wd_repo_read_begin_ex(walden_repo *repo, wd_compress c, const uint8_t *expect_sha256,
                          const uint8_t *expect_header, wd_sink *sink, wd_repo_stream *out)
{
    return wd_repo_read_begin_limited(repo, c, expect_sha256, expect_header, NULL, sink, out);
}

int wd_repo_read_begin_limited(walden_repo *repo, wd_compress c, const uint8_t *expect_sha256,
                               const uint8_t *expect_header, const wd_read_limits *limits,
                               wd_sink *sink, wd_repo_stream *out)
{
    memset(out, 0, sizeof(*out));
    int rc;
    if (repo->info.encrypted && (rc = wd_repo_unlock(repo))) {
        sink->abort(sink);
        return rc;
    }
    if ((rc = wd_pipe_new(&out->pipe, sink)))
        return rc;
    wd_filter *f = NULL;
    /* the stored bytes are counted first: decompression may consume much
     * input and produce nothing */
    if (limits && limits->stored_max) {
        rc = wd_limit_filter_new(&f, limits->stored_max, false, limits->code, limits->what);
        if ((rc = add(out->pipe, rc, f)))
            goto fail;
    }
    rc = limits && limits->stored_counted ? wd_count_filter_new(&out->stored_hash)
                                          : wd_hash_filter_new(&out->stored_hash);
    if ((rc = add(out->pipe, rc, out->stored_hash)))
        goto fail;
    if (repo->info.encrypted) {
        rc = wd_decrypt_filter_new(&f, &repo->key);
        if ((rc = add(out->pipe, rc, f)))
            goto fail;
        out->cipher = f;
        if (expect_header)
            wd_decrypt_filter_expect_header(f, expect_header);
    }
    if ((rc = wd_decompress_filter_new(&f, c)))
        goto fail;
    if (f && (rc = wd_pipe_add(out->pipe, f)))
        goto fail;
    /* right after decompression: the content is stopped at its limit */
    if (limits && (limits->raw_max || limits->raw_exact)) {
        rc =
            wd_limit_filter_new(&f, limits->raw_max, limits->raw_exact, limits->code, limits->what);
        if ((rc = add(out->pipe, rc, f)))
            goto fail;
    }
    assert(!(limits && limits->content_checked && expect_sha256));
    if (limits && limits->content_checked)
        return 0;
    rc = wd_hash_filter_new(&out->raw_hash);
    if ((rc = add(out->pipe, rc, out->raw_hash)))
        goto fail;
    if (expect_sha256 &&
        (rc = wd_hash_filter_expect(out->raw_hash, expect_sha256, "restored file")))
        goto fail;
    return 0;
fail:
    wd_pipe_free(out->pipe);
    memset(out, 0, sizeof(*out));
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int walden_repo_list_clusters(const walden_config *cfg, int (*cb)(const char *cluster, void *ctx),
                              void *ctx)
{
    walden_error_clear();
    wd_storage *st = NULL;
    char **names = NULL;
    size_t n = 0;
    int rc = open_storage(cfg, false, &st);
    if (!rc)
        rc = wd_storage_list_dirs(st, "", &names, &n);
    if (!rc && n)
        qsort(names, n, sizeof(*names), cmp_name);
    for (size_t i = 0; !rc && i < n; i++) {
        char *path = wd_path_join(names[i], "cluster.conf");
        bool exists = false;
        rc = path ? wd_storage_exists(st, path, &exists) : WALDEN_ENOMEM;
        wd_free(path);
        if (!rc && exists)
            rc = wd_callback_rc(cb(names[i], ctx));
    }
    wd_storage_names_free(names, n);
    wd_storage_free(st);
    return rc;
}

int wd_repo_time_id(walden_repo *repo, const char *dir, char id[32])
{
    char *base = wd_repo_path(repo, dir);
    if (!base)
        return WALDEN_ENOMEM;
    int rc = 0;
    for (;;) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(id, 32, "%Y%m%dT%H%M%SZ", &tm);
        char **names = NULL;
        size_t n = 0;
        if ((rc = wd_storage_list_dirs(repo->storage, base, &names, &n)))
            break;
        bool taken = false;
        for (size_t i = 0; i < n && !taken; i++)
            taken = wd_str_starts_with(names[i], id);
        wd_storage_names_free(names, n);
        if (!taken)
            break;
        sleep(1);
    }
    wd_free(base);
    return rc;
}

int wd_repo_list_ids(walden_repo *repo, const char *dir, char ***ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    char *base = wd_repo_path(repo, dir);
    if (!base)
        return WALDEN_ENOMEM;
    int rc = wd_storage_list_dirs(repo->storage, base, ids, n);
    wd_free(base);
    if (!rc && *n)
        qsort(*ids, *n, sizeof(**ids), cmp_name);
    return rc;
}

int wd_repo_remove_unfinished(walden_repo *repo, const char *dir, const char *what,
                              int (*complete)(walden_repo *repo, const char *id, bool *yes))
{
    char *base = wd_repo_path(repo, dir);
    if (!base)
        return WALDEN_ENOMEM;
    char **ids = NULL;
    size_t nids = 0;
    int rc = wd_storage_list_dirs(repo->storage, base, &ids, &nids);
    for (size_t i = 0; !rc && i < nids; i++) {
        bool yes = true;
        if ((rc = complete(repo, ids[i], &yes)) || yes)
            continue;
        char *path = wd_path_join(base, ids[i]);
        wd_log_info("removing unfinished %s '%s'", what, ids[i]);
        rc = path ? wd_storage_remove_tree(repo->storage, path) : WALDEN_ENOMEM;
        wd_free(path);
    }
    wd_storage_names_free(ids, nids);
    wd_free(base);
    return rc;
}
