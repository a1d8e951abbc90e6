/*
 * format1.c - walden_format1 CONFIG: test helper of test_repo_upgrade.sh.
 *
 * This walden writes only format 2. To test repo-upgrade on an area as an
 * earlier walden left it, this helper turns the configured area (format 2,
 * opened with the signing key file of this host) into format 1, as that
 * walden wrote it: every signature line removed (the manifests decrypted
 * and stored again without it, backup.stored given the new manifest's
 * stored digest), dump manifests without `stored-header`, WAL objects named
 * NAME-SHA256[.ext], key.conf in format 1 (the wrapped key's additional
 * data: the public key alone), cluster.conf with format-version = 1, and
 * the signing key file removed. Only for tests: not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "catalog/manifest.h"
#include "common/common.h"
#include "drill/drill.h"
#include "repo/repo.h"

static void die(const char *what)
{
    fprintf(stderr, "walden_format1: %s: %s\n", what, walden_error_last()->message);
    exit(1);
}

/* The text without its signature line and without lines starting with
 * `drop` (may be NULL). Malloc'ed. */
static char *strip(const char *text, size_t len, const char *drop)
{
    wd_buf b = {0};
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t ll = nl ? (size_t)(nl - (text + at)) : len - at;
        if (!wd_str_starts_with(text + at, WD_SIG_LINE) &&
            !(drop && wd_str_starts_with(text + at, drop)))
            wd_buf_printf(&b, "%.*s\n", (int)ll, text + at);
        at += ll + 1;
    }
    return wd_buf_take(&b);
}

static void rewrite_text(walden_repo *repo, const char *path, const char *drop)
{
    char *text;
    size_t len;
    if (wd_storage_read_all(repo->storage, path, 1u << 30, &text, &len))
        die(path);
    char *out = strip(text, len, drop);
    if (wd_storage_write_all(repo->storage, path, out, strlen(out)))
        die(path);
    wd_free(out);
    wd_free(text);
}

static int collect(char *line, size_t len, void *ctx)
{
    if (!wd_str_starts_with(line, WD_SIG_LINE))
        wd_buf_printf(ctx, "%.*s\n", (int)len, line);
    return 0;
}

static void backup_to_format1(walden_repo *repo, const char *id)
{
    wd_compress c;
    if (wd_backup_manifest_find(repo, id, &c))
        return;
    char *prefix = wd_asprintf("%s/backup/%s", repo->cluster, id);
    char *mname = wd_asprintf("backup.manifest%s", wd_compress_ext(c));
    char *mpath = wd_asprintf("%s/%s", prefix, mname);
    wd_buf plain = {0};
    wd_source *src;
    wd_sink *sink;
    wd_repo_stream st;
    if (wd_storage_open_read(repo->storage, mpath, &src) ||
        wd_line_sink_open(&sink, 1 << 16, collect, &plain) ||
        wd_repo_read_begin(repo, c, NULL, sink, &st) || wd_pipe_copy(st.pipe, src))
        die(mpath);
    wd_pipe_free(st.pipe);
    wd_source_close(src);
    char *text = wd_buf_take(&plain);
    repo->compress = c;
    wd_sink *out;
    uint8_t sha[32];
    uint64_t size;
    if (wd_storage_open_write(repo->storage, mpath, &out) ||
        wd_repo_store_begin_ex(repo, out, WD_STORE_NO_RAW_HASH, &st) ||
        wd_pipe_write(st.pipe, (const uint8_t *)text, strlen(text)) || wd_pipe_end(st.pipe))
        die(mpath);
    wd_hash_filter_result(st.stored_hash, sha, &size);
    if (wd_pipe_commit(st.pipe, NULL))
        die(mpath);
    wd_pipe_free(st.pipe);
    wd_free(text);

    char *spath = wd_asprintf("%s/backup.stored", prefix), *stored;
    size_t len;
    if (wd_storage_read_all(repo->storage, spath, 1u << 30, &stored, &len))
        die(spath);
    char *body = strip(stored, len, NULL);
    wd_buf b = {0};
    for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n")) {
        size_t l = strlen(line), ml = strlen(mname);
        if (l > ml && strcmp(line + l - ml, mname) == 0 && line[l - ml - 1] == '\t') {
            char sl[512];
            wd_stored_line_format(sha, size, mname, sl, sizeof(sl));
            wd_buf_printf(&b, "%s", sl);
        } else {
            wd_buf_printf(&b, "%s\n", line);
        }
    }
    char *sout = wd_buf_take(&b);
    if (wd_storage_write_all(repo->storage, spath, sout, strlen(sout)))
        die(spath);
    char *ipath = wd_asprintf("%s/backup.info", prefix);
    rewrite_text(repo, ipath, NULL);
    wd_free(ipath);
    wd_free(sout);
    wd_free(body);
    wd_free(stored);
    wd_free(spath);
    wd_free(prefix);
    wd_free(mname);
    wd_free(mpath);
}

static int wal_cb(const walden_wal_entry *e, const char *folder, const char *object, void *ctx)
{
    walden_repo *repo = ctx;
    char name[64], newname[320];
    wd_wal_copy copy;
    (void)e;
    if (wd_wal_object_parse(object, name, sizeof(name), &copy) || !copy.is_signed)
        return 0;
    char hex[65];
    wd_hex_encode(copy.sha256, 32, hex);
    snprintf(newname, sizeof(newname), "%s-%s%s", name, hex, wd_compress_ext(copy.compress));
    char *from = wd_path_join(folder, object), *to = wd_path_join(folder, newname), *data;
    size_t len;
    if (wd_storage_read_all(repo->storage, from, 1u << 26, &data, &len) ||
        wd_storage_write_all(repo->storage, to, data, len) ||
        wd_storage_remove(repo->storage, from))
        die(from);
    wd_free(data);
    wd_free(from);
    wd_free(to);
    return 0;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    wd_hex_encode(p, n, out);
}

/* key.conf as format 1 wrapped it: AES-256-GCM under scrypt, AAD the
 * public key. */
static void key_to_format1(walden_repo *repo, const char *passphrase)
{
    uint8_t salt[16], nonce[12], kek[32], ct[32], tag[16];
    if (RAND_bytes(salt, 16) != 1 || RAND_bytes(nonce, 12) != 1 ||
        EVP_PBE_scrypt(passphrase, strlen(passphrase), salt, 16, 16384, 8, 1, 64u << 20, kek, 32) !=
            1) {
        fprintf(stderr, "walden_format1: scrypt failed\n");
        exit(1);
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n;
    if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &n, repo->key.public_key, 32) != 1 ||
        EVP_EncryptUpdate(ctx, ct, &n, repo->key.private_key, 32) != 1 ||
        EVP_EncryptFinal_ex(ctx, ct + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) {
        fprintf(stderr, "walden_format1: aes-gcm failed\n");
        exit(1);
    }
    EVP_CIPHER_CTX_free(ctx);
    uint8_t wrapped[60];
    memcpy(wrapped, nonce, 12);
    memcpy(wrapped + 12, ct, 32);
    memcpy(wrapped + 44, tag, 16);
    char pub_hex[65], salt_hex[33], wrapped_hex[121];
    hex(repo->key.public_key, 32, pub_hex);
    hex(salt, 16, salt_hex);
    hex(wrapped, 60, wrapped_hex);
    char *text = wd_asprintf("# walden repository key: see docs/internals/encryption.md\n"
                             "format = 1\n"
                             "public-key = %s\n"
                             "kdf = scrypt\n"
                             "kdf-n = 16384\n"
                             "kdf-r = 8\n"
                             "kdf-p = 1\n"
                             "kdf-salt = %s\n"
                             "wrapped-private-key = %s\n",
                             pub_hex, salt_hex, wrapped_hex);
    char *kpath = wd_repo_path(repo, "key.conf");
    if (wd_storage_write_all(repo->storage, kpath, text, strlen(text)))
        die(kpath);
    wd_free(kpath);
    wd_free(text);
}

int main(int argc, char **argv)
{
    walden_config *cfg;
    walden_repo *repo;
    if (argc != 2) {
        fprintf(stderr, "usage: walden_format1 CONFIG\n");
        return 2;
    }
    if (walden_config_new(&cfg) || walden_config_load_file(cfg, argv[1], 1))
        die("config");
    if (walden_repo_open(&repo, cfg) || wd_repo_trust(repo) ||
        (repo->info.encrypted && wd_repo_unlock(repo)))
        die("open");

    char *base = wd_repo_path(repo, "backup"), **ids;
    size_t n;
    if (wd_storage_list_dirs(repo->storage, base, &ids, &n))
        die(base);
    for (size_t i = 0; i < n; i++)
        backup_to_format1(repo, ids[i]);
    wd_storage_names_free(ids, n);
    wd_free(base);

    base = wd_repo_path(repo, "dump");
    if (wd_storage_list_dirs(repo->storage, base, &ids, &n))
        die(base);
    for (size_t i = 0; i < n; i++) {
        char *p = wd_asprintf("%s/%s/dump.manifest", base, ids[i]);
        bool exists = false;
        if (!wd_storage_exists(repo->storage, p, &exists) && exists)
            rewrite_text(repo, p, "stored-header");
        wd_free(p);
    }
    wd_storage_names_free(ids, n);
    wd_free(base);

    if (wd_wal_walk(repo, wal_cb, repo))
        die("wal");
    if (repo->info.encrypted)
        key_to_format1(repo, repo->passphrase);
    char *cpath = wd_repo_path(repo, "cluster.conf");
    char *conf = strip(repo->conf_text, repo->conf_len, "format-version");
    char *text = wd_asprintf("%sformat-version = 1\n", conf);
    if (wd_storage_write_all(repo->storage, cpath, text, strlen(text)))
        die(cpath);
    if (unlink(repo->sign_key_path) != 0) {
        perror("walden_format1: cannot remove the signing key file");
        return 1;
    }
    printf("cluster '%s' is format 1 now\n", repo->cluster);
    wd_free(text);
    wd_free(conf);
    wd_free(cpath);
    walden_repo_close(repo);
    walden_config_free(cfg);
    return 0;
}
