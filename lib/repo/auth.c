/*
 * auth.c - the trust roots of a cluster's area and signed metadata files
 * (docs/security.md).
 *
 * Writers sign with the private key of the host-local signing key file
 * (sign-key-file), which also pins the area's identity (cluster, system
 * identifier), its verification key and, when encrypted, the X25519 key
 * that new files are encrypted to: a replaced key.conf is refused.
 *
 * Readers need an authenticated verification key, taken in this order:
 * the signing key file's public half, the verify-key option, or key.conf
 * unwrapped with the passphrase (its AAD covers the verification key).
 * Without one, reading refuses with a line saying what to set.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/common.h"
#include "repo/repo.h"

char *wd_repo_sign_key_path(const walden_config *cfg, const char *cluster)
{
    const char *opt = walden_config_get(cfg, "sign-key-file");
    if (!opt || !*opt)
        return NULL;
    wd_buf b = {0};
    for (const char *p = opt; *p; p++) {
        if (p[0] == '%' && p[1] == 'c') {
            wd_buf_printf(&b, "%s", cluster);
            p++;
        } else {
            wd_buf_printf(&b, "%c", *p);
        }
    }
    return wd_buf_take(&b);
}

void wd_repo_area(const walden_repo *repo, wd_area_id *out)
{
    out->cluster = repo->cluster;
    out->system_id = repo->info.system_id;
}

const char *wd_repo_rel(const walden_repo *repo, const char *path)
{
    size_t n = strlen(repo->cluster);
    if (strncmp(path, repo->cluster, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path;
}

/* ---- the signing key file ---- */

typedef struct sign_file {
    int64_t format;
    char cluster[128];
    uint64_t sysid;
    bool have_sysid, have_vk, have_priv, have_enc;
    uint8_t vk[WD_SIGN_KEY_LEN], priv[WD_SIGN_KEY_LEN], enc[WD_KEY_LEN];
} sign_file;

static int sign_kv(const char *name, const char *value, int line, void *ctx)
{
    (void)line;
    sign_file *sf = ctx;
    int rc = 0;
    if (strcmp(name, "format") == 0) {
        rc = wd_parse_int64(value, 1, 1000, &sf->format);
    } else if (strcmp(name, "cluster") == 0) {
        size_t n = strlen(value);
        if (n >= sizeof(sf->cluster))
            return WALDEN_EINVAL;
        memcpy(sf->cluster, value, n + 1);
    } else if (strcmp(name, "system-identifier") == 0) {
        rc = wd_parse_uint64(value, &sf->sysid);
        sf->have_sysid = rc == 0;
    } else if (strcmp(name, "verify-key") == 0) {
        rc = wd_hex_decode(value, sf->vk, WD_SIGN_KEY_LEN);
        sf->have_vk = rc == 0;
    } else if (strcmp(name, "sign-private-key") == 0) {
        rc = wd_hex_decode(value, sf->priv, WD_SIGN_KEY_LEN);
        sf->have_priv = rc == 0;
    } else if (strcmp(name, "encrypt-public-key") == 0) {
        rc = wd_hex_decode(value, sf->enc, WD_KEY_LEN);
        sf->have_enc = rc == 0;
    }
    return rc;
}

static int sign_file_load(const char *path, sign_file *sf)
{
    memset(sf, 0, sizeof(*sf));
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? WALDEN_ENOTFOUND
                               : wd_error_set_errno(errno, "cannot open '%s' for reading", path);
    struct stat st;
    int rc = fstat(fd, &st) ? wd_error_set_errno(errno, "cannot stat '%s'", path) : 0;
    close(fd);
    if (rc)
        return rc;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077))
        return wd_error_set(WALDEN_EPERM,
                            "signing key file '%s' can be read by others (mode %04o): it must be "
                            "0600",
                            path, (unsigned)(st.st_mode & 07777));
    char *text = NULL;
    size_t len;
    /* the private signing key is about to be in memory: no core dump */
    wd_secret_held();
    if ((rc = wd_file_read_all(path, 16384, &text, &len)))
        return rc;
    rc = wd_kv_parse(text, len, path, sign_kv, sf);
    wd_free_secret(text, len);
    if (rc)
        return wd_error_wrap(WALDEN_EINVAL, "signing key file '%s' is damaged", path);
    uint8_t pub[WD_SIGN_KEY_LEN];
    if (sf->format != 1 || !sf->cluster[0] || !sf->have_sysid || !sf->have_vk || !sf->have_priv)
        return wd_error_set(WALDEN_EINVAL, "signing key file '%s' is incomplete", path);
    if ((rc = wd_sign_public(sf->priv, pub)))
        return rc;
    if (CRYPTO_memcmp(pub, sf->vk, WD_SIGN_KEY_LEN) != 0)
        return wd_error_set(WALDEN_EINVAL, "signing key file '%s' is inconsistent", path);
    return 0;
}

int wd_repo_sign_key_create(const walden_config *cfg, const char *cluster, uint64_t sysid,
                            const uint8_t *enc_pub, uint8_t priv[WD_SIGN_KEY_LEN],
                            uint8_t pub[WD_SIGN_KEY_LEN], char **path_out)
{
    *path_out = NULL;
    char *path = wd_repo_sign_key_path(cfg, cluster);
    if (!path)
        return wd_error_set(WALDEN_EINVAL, "option 'sign-key-file' is not set");
    int rc = wd_sign_keygen(pub, priv);
    if (rc) {
        wd_free(path);
        return rc;
    }
    char vk[65], sk[65], ek[65] = "";
    wd_hex_encode(pub, 32, vk);
    wd_hex_encode(priv, 32, sk);
    if (enc_pub)
        wd_hex_encode(enc_pub, 32, ek);
    char *text = wd_asprintf("# walden signing key of cluster '%s': secret, keep it on this host\n"
                             "format = 1\n"
                             "cluster = %s\n"
                             "system-identifier = %" PRIu64 "\n"
                             "verify-key = %s\n"
                             "%s%s%s"
                             "sign-private-key = %s\n",
                             cluster, cluster, sysid, vk, enc_pub ? "encrypt-public-key = " : "",
                             ek, enc_pub ? "\n" : "", sk);
    OPENSSL_cleanse(sk, sizeof(sk));
    if (!text) {
        wd_free(path);
        return WALDEN_ENOMEM;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = errno == EEXIST ? wd_error_set(WALDEN_EEXISTS,
                                            "signing key file '%s' exists already: init never "
                                            "overwrites it (remove it, or set sign-key-file)",
                                            path)
                             : wd_error_set_errno(errno, "cannot create '%s'", path);
    } else {
        size_t len = strlen(text);
        ssize_t n = write(fd, text, len);
        if (n != (ssize_t)len || fsync(fd) != 0)
            rc = wd_error_set_errno(n < 0 ? errno : EIO, "cannot write '%s'", path);
        close(fd);
        if (rc)
            unlink(path);
    }
    wd_free_secret(text, strlen(text));
    if (rc)
        wd_free(path);
    else
        *path_out = path;
    return rc;
}

int wd_repo_upgrade_signer(walden_repo *repo, const walden_config *cfg, bool *created)
{
    *created = false;
    wd_free(repo->sign_key_path);
    repo->sign_key_path = wd_repo_sign_key_path(cfg, repo->cluster);
    if (!repo->sign_key_path)
        return wd_error_set(WALDEN_EINVAL, "option 'sign-key-file' is not set");
    sign_file sf;
    int rc = sign_file_load(repo->sign_key_path, &sf);
    if (rc == WALDEN_ENOTFOUND) {
        char *path = NULL;
        rc = wd_repo_sign_key_create(cfg, repo->cluster, repo->info.system_id,
                                     repo->info.encrypted ? repo->key.public_key : NULL,
                                     repo->sign_priv, repo->verify_key, &path);
        wd_free(path);
        if (rc)
            return rc;
        *created = true;
    } else if (rc) {
        OPENSSL_cleanse(&sf, sizeof(sf));
        return rc;
    } else {
        if (strcmp(sf.cluster, repo->cluster) != 0 || sf.sysid != repo->info.system_id ||
            sf.have_enc != repo->info.encrypted ||
            (sf.have_enc && memcmp(sf.enc, repo->key.public_key, WD_KEY_LEN) != 0))
            rc = wd_error_set(WALDEN_EINVAL,
                              "signing key file '%s' does not belong to cluster '%s' in "
                              "repository '%s' (its cluster, system identifier or encryption "
                              "key differ): set sign-key-file to a path where repo-upgrade can "
                              "make the area's key",
                              repo->sign_key_path, repo->cluster, repo->location);
        if (!rc) {
            memcpy(repo->sign_priv, sf.priv, WD_SIGN_KEY_LEN);
            memcpy(repo->verify_key, sf.vk, WD_SIGN_KEY_LEN);
        }
        OPENSSL_cleanse(&sf, sizeof(sf));
        if (rc)
            return rc;
    }
    repo->have_signer = true;
    repo->have_verify_key = true;
    repo->have_pinned_enc = repo->info.encrypted;
    if (repo->info.encrypted)
        memcpy(repo->pinned_enc, repo->key.public_key, WD_KEY_LEN);
    return 0;
}

/* ---- open ---- */

static int check_conf(walden_repo *repo)
{
    if (repo->trusted || repo->legacy)
        return 0;
    wd_area_id area;
    wd_repo_area(repo, &area);
    size_t body;
    char *path = wd_repo_path(repo, "cluster.conf");
    if (!path)
        return WALDEN_ENOMEM;
    int rc = wd_sign_text_check(repo->verify_key, &area, "cluster.conf", repo->conf_text,
                                repo->conf_len, &body);
    if (rc == WALDEN_EAUTH)
        rc = wd_error_set(WALDEN_EAUTH, "'%s' in repository '%s' failed authentication: %s", path,
                          repo->location,
                          strstr(walden_error_last()->message, "no signature")
                              ? "it has no signature line"
                              : "its signature does not verify with the area's key");
    wd_free(path);
    if (!rc)
        repo->trusted = true;
    return rc;
}

int wd_repo_auth_open(walden_repo *repo, const walden_config *cfg)
{
    int rc;
    if (repo->legacy)
        return 0;
    if (!(repo->sign_key_path = wd_repo_sign_key_path(cfg, repo->cluster)) &&
        walden_config_get(cfg, "sign-key-file"))
        return WALDEN_ENOMEM;
    if (repo->sign_key_path) {
        sign_file sf;
        rc = sign_file_load(repo->sign_key_path, &sf);
        if (rc == WALDEN_ENOTFOUND) {
            rc = 0;
        } else if (rc) {
            OPENSSL_cleanse(&sf, sizeof(sf));
            return rc;
        } else {
            if (strcmp(sf.cluster, repo->cluster) != 0 || sf.sysid != repo->info.system_id)
                rc =
                    wd_error_set(WALDEN_EAUTH,
                                 "signing key file '%s' belongs to cluster '%s' (system "
                                 "identifier %" PRIu64 "), not to '%s' in repository '%s' (%" PRIu64
                                 "): its cluster.conf was replaced or the wrong file is set",
                                 repo->sign_key_path, sf.cluster, sf.sysid, repo->cluster,
                                 repo->location, repo->info.system_id);
            else if (repo->info.encrypted != sf.have_enc)
                rc = wd_error_set(WALDEN_EAUTH,
                                  "cluster.conf of '%s' in repository '%s' failed authentication: "
                                  "its encryption does not match signing key file '%s'",
                                  repo->cluster, repo->location, repo->sign_key_path);
            if (!rc) {
                repo->have_signer = true;
                memcpy(repo->sign_priv, sf.priv, WD_SIGN_KEY_LEN);
                repo->have_verify_key = true;
                memcpy(repo->verify_key, sf.vk, WD_SIGN_KEY_LEN);
                repo->have_pinned_enc = sf.have_enc;
                memcpy(repo->pinned_enc, sf.enc, WD_KEY_LEN);
            }
            OPENSSL_cleanse(&sf, sizeof(sf));
            if (rc)
                return rc;
        }
    }
    const char *vk = walden_config_get(cfg, "verify-key");
    if (vk && *vk) {
        uint8_t key[WD_SIGN_KEY_LEN];
        if (strlen(vk) != 64 || wd_hex_decode(vk, key, WD_SIGN_KEY_LEN))
            return wd_error_set(WALDEN_EINVAL,
                                "invalid value for option 'verify-key': 64 hex digits expected");
        if (repo->have_verify_key && memcmp(key, repo->verify_key, WD_SIGN_KEY_LEN) != 0)
            return wd_error_set(WALDEN_EINVAL,
                                "option 'verify-key' differs from the key of signing key file "
                                "'%s'",
                                repo->sign_key_path);
        repo->have_verify_key = true;
        memcpy(repo->verify_key, key, WD_SIGN_KEY_LEN);
    }
    if (repo->have_verify_key && (rc = check_conf(repo)))
        return rc;
    return 0;
}

/* key.conf was loaded (public part): a writer encrypts to the pinned key
 * only, and a key.conf whose key differs was replaced. */
int wd_repo_auth_key(walden_repo *repo, const wd_key_meta *meta)
{
    char *kpath = wd_repo_path(repo, "key.conf");
    int rc = 0;
    if (!kpath)
        return WALDEN_ENOMEM;
    if (!repo->legacy && meta->format < 2)
        rc = wd_error_set(WALDEN_EAUTH,
                          "'%s' in repository '%s' failed authentication: format 1 in an area of "
                          "format 2",
                          kpath, repo->location);
    else if (repo->have_pinned_enc &&
             memcmp(repo->pinned_enc, repo->key.public_key, WD_KEY_LEN) != 0)
        rc = wd_error_set(WALDEN_EAUTH,
                          "'%s' in repository '%s' failed authentication: its public key is not "
                          "the one pinned in signing key file '%s' (the file was replaced)",
                          kpath, repo->location, repo->sign_key_path);
    wd_free(kpath);
    return rc;
}

int wd_repo_trust(walden_repo *repo)
{
    if (repo->legacy || repo->trusted)
        return 0;
    int rc;
    if (!repo->have_verify_key) {
        if (!repo->info.encrypted || !repo->passphrase)
            return wd_error_set(WALDEN_EAUTH,
                                "cannot authenticate cluster '%s' in repository '%s': set "
                                "sign-key-file or verify-key%s",
                                repo->cluster, repo->location,
                                repo->info.encrypted ? ", or the passphrase" : "");
        if ((rc = wd_repo_unlock(repo))) /* sets the verification key from key.conf */
            return rc;
    }
    return check_conf(repo);
}

int wd_repo_signer(walden_repo *repo)
{
    if (repo->legacy)
        return wd_error_set(WALDEN_EAUTH,
                            "cluster '%s' in repository '%s' has format 1 (unauthenticated): "
                            "upgrade it with walden repo-upgrade to write to it",
                            repo->cluster, repo->location);
    if (!repo->have_signer)
        return wd_error_set(WALDEN_EAUTH,
                            "cannot write to cluster '%s' in repository '%s': its signing key file "
                            "'%s' is missing (made by walden init; copy it from that host, mode "
                            "0600)",
                            repo->cluster, repo->location,
                            repo->sign_key_path ? repo->sign_key_path : "(sign-key-file unset)");
    return check_conf(repo);
}

int wd_repo_write_signed(walden_repo *repo, const char *path, const char *body, size_t len)
{
    int rc = wd_repo_signer(repo);
    if (rc)
        return rc;
    wd_area_id area;
    wd_repo_area(repo, &area);
    char *text = NULL;
    if ((rc = wd_sign_text(repo->sign_priv, &area, wd_repo_rel(repo, path), body, len, &text)))
        return rc;
    rc = wd_storage_write_all(repo->storage, path, text, strlen(text));
    wd_free(text);
    return rc;
}

int wd_repo_check_signed(walden_repo *repo, const char *path, const char *text, size_t len,
                         size_t *body_len)
{
    if (repo->legacy) {
        /* nothing is checked; a signature line that an interrupted
         * repo-upgrade added is not part of the text */
        size_t start = len && text[len - 1] == '\n' ? len - 1 : len;
        while (start > 0 && text[start - 1] != '\n')
            start--;
        bool sig = len - start > sizeof(WD_SIG_LINE) - 1 &&
                   memcmp(text + start, WD_SIG_LINE, sizeof(WD_SIG_LINE) - 1) == 0;
        *body_len = sig ? start : len;
        return 0;
    }
    int rc = wd_repo_trust(repo);
    if (rc)
        return rc;
    wd_area_id area;
    wd_repo_area(repo, &area);
    rc = wd_sign_text_check(repo->verify_key, &area, wd_repo_rel(repo, path), text, len, body_len);
    if (rc == WALDEN_EAUTH) {
        char cause[256];
        const char *m = walden_error_last()->message, *colon = strstr(m, "authentication: ");
        snprintf(cause, sizeof(cause), "%s", colon ? colon + 16 : "bad signature");
        rc = wd_error_set(WALDEN_EAUTH, "'%s' failed authentication: %s", path, cause);
    }
    return rc;
}

int wd_repo_read_signed(walden_repo *repo, const char *path, size_t max, char **text, size_t *len)
{
    *text = NULL;
    char *t = NULL;
    size_t l = 0, body;
    int rc = wd_repo_trust(repo);
    if (rc || (rc = wd_storage_read_all(repo->storage, path, max, &t, &l)))
        return rc;
    if ((rc = wd_repo_check_signed(repo, path, t, l, &body))) {
        wd_free(t);
        return rc;
    }
    t[body] = '\0';
    *text = t;
    *len = body;
    return 0;
}

int walden_repo_verify_key(walden_repo *repo, char hex[65])
{
    walden_error_clear();
    int rc = wd_repo_trust(repo);
    if (rc)
        return rc;
    if (!repo->have_verify_key)
        return wd_error_set(WALDEN_EAUTH, "cluster '%s' has no verification key (format 1)",
                            repo->cluster);
    wd_hex_encode(repo->verify_key, WD_SIGN_KEY_LEN, hex);
    return 0;
}
