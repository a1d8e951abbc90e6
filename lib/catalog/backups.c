/*
 * backups.c - the backups of the catalogue: finding them in the repository
 * and reading their summaries and manifests. The manifests are the truth; backup.info is a
 * clear-text copy of a manifest's summary so that listing needs neither the key nor a read of every
 * file list.
 *
 * A manifest is acted on only once its signature verified: it is read
 * whole first into a private, unlinked temporary file while its bytes are
 * hashed, the signature line is checked, and only then are its lines
 * replayed from that file (which no one else can change) to the caller.
 * The spool is bounded: a manifest has at most WD_MANIFEST_MAX bytes
 * (decompressed; its stored bytes at most wd_stored_max of that), and the
 * read stops as soon as it has more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "catalog/catalog.h"
#include "common/common.h"

static const wd_compress all_compress[] = {WD_COMPRESS_ZSTD, WD_COMPRESS_GZIP, WD_COMPRESS_NONE};

int wd_backup_manifest_find(walden_repo *repo, const char *id, wd_compress *c)
{
    for (size_t i = 0; i < WD_ARRAY_LEN(all_compress); i++) {
        char *path = wd_asprintf("%s/%s/%s/%s%s", repo->cluster, WD_BACKUP_DIR, id,
                                 WD_MANIFEST_NAME, wd_compress_ext(all_compress[i]));
        if (!path)
            return WALDEN_ENOMEM;
        bool exists = false;
        int rc = wd_storage_exists(repo->storage, path, &exists);
        wd_free(path);
        if (rc)
            return rc;
        if (exists) {
            *c = all_compress[i];
            return 0;
        }
    }
    return wd_error_set(WALDEN_ENOTFOUND, "backup '%s' does not exist in cluster '%s'", id,
                        repo->cluster);
}

typedef struct manifest_reader {
    wd_backup_meta *m;
    wd_manifest_entry_cb cb;
    void *ctx;
    int section; /* 0 none, 1 [backup], 2 [files], 3 [end] */
    const char *id;
    bool cb_failed; /* the error is the callback's: it has its own message */
} manifest_reader;

static int kv_line(wd_backup_meta *m, char *line)
{
    char *eq = strchr(line, '=');
    if (!eq)
        return wd_error_set(WALDEN_ECORRUPT, "malformed manifest line '%.60s'", line);
    char *name = line, *value = eq + 1;
    char *end = eq;
    while (end > name && end[-1] == ' ')
        end--;
    *end = '\0';
    while (*value == ' ')
        value++;
    size_t vlen = strlen(value);
    if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
        value[vlen - 1] = '\0';
        value++;
    }
    return wd_backup_meta_set(m, name, value);
}

static int manifest_line(char *line, size_t len, void *ctx)
{
    manifest_reader *r = ctx;
    (void)len;
    if (line[0] == '#' || line[0] == '\0')
        return 0;
    if (strcmp(line, "[backup]") == 0 || strcmp(line, "[files]") == 0 ||
        strcmp(line, "[end]") == 0) {
        int next = line[1] == 'b' ? 1 : line[1] == 'f' ? 2 : 3;
        if (next != r->section + 1)
            return wd_error_set(WALDEN_ECORRUPT, "manifest of backup '%s': sections out of order",
                                r->id);
        r->section = next;
        return 0;
    }
    if (r->m->complete)
        return wd_error_set(WALDEN_ECORRUPT, "manifest of backup '%s': data after its end", r->id);
    if (r->section == 2) {
        wd_manifest_entry e;
        int rc = wd_manifest_entry_parse(line, &e);
        if (rc)
            return wd_error_wrap(rc, "manifest of backup '%s'", r->id);
        rc = r->cb ? r->cb(&e, r->ctx) : 0;
        r->cb_failed = rc != 0;
        return rc;
    }
    if (r->section == 0)
        return wd_error_set(WALDEN_ECORRUPT, "manifest of backup '%s' does not start with [backup]",
                            r->id);
    return kv_line(r->m, line);
}

int wd_backup_read_manifest(walden_repo *repo, const char *id, wd_backup_meta *m,
                            wd_manifest_entry_cb cb, void *ctx)
{
    return wd_backup_read_manifest_ex(repo, id, m, cb, ctx, NULL, NULL);
}

int wd_manifest_spool_line(char *line, size_t len, void *ctx)
{
    wd_manifest_spool *sp = ctx;
    if (sp->have_sig)
        return wd_error_set(WALDEN_EAUTH,
                            "manifest of backup '%s' failed authentication: data after its "
                            "signature",
                            sp->id);
    if (wd_str_starts_with(line, WD_SIG_LINE)) {
        if (len >= sizeof(sp->sig))
            return wd_error_set(WALDEN_EAUTH,
                                "manifest of backup '%s' failed authentication: malformed "
                                "signature",
                                sp->id);
        memcpy(sp->sig, line, len);
        sp->sig_len = len;
        sp->have_sig = true;
        return 0;
    }
    if (!EVP_DigestUpdate(sp->md, line, len) || !EVP_DigestUpdate(sp->md, "\n", 1))
        return wd_error_set_openssl(WALDEN_ERROR, "sha-256 update failed");
    if (fwrite(line, 1, len, sp->f) != len || fputc('\n', sp->f) == EOF)
        return wd_error_set_errno(errno, "cannot write a temporary file");
    return 0;
}

int wd_backup_read_manifest_ex(walden_repo *repo, const char *id, wd_backup_meta *m,
                               wd_manifest_entry_cb cb, void *ctx, uint8_t stored_sha256[32],
                               uint64_t *stored_size)
{
    wd_compress c;
    int rc = wd_backup_manifest_find(repo, id, &c);
    if (rc)
        return rc;
    char *path = wd_asprintf("%s/%s/%s/%s%s", repo->cluster, WD_BACKUP_DIR, id, WD_MANIFEST_NAME,
                             wd_compress_ext(c));
    char *signed_path =
        wd_asprintf("%s/%s/%s/%s", repo->cluster, WD_BACKUP_DIR, id, WD_MANIFEST_NAME);
    if (!path || !signed_path) {
        wd_free(path);
        wd_free(signed_path);
        return WALDEN_ENOMEM;
    }
    wd_source *src = NULL;
    wd_sink *sink = NULL;
    manifest_reader r = {m, cb, ctx, 0, id, false};
    wd_repo_stream st = {0};
    wd_manifest_spool sp = {.id = id};
    char *line = NULL;
    size_t cap = 0;
    if ((rc = wd_repo_trust(repo)))
        goto done;
    if (!(sp.f = tmpfile()) || !(sp.md = EVP_MD_CTX_new()) ||
        !EVP_DigestInit_ex(sp.md, EVP_sha256(), NULL)) {
        rc = sp.f ? WALDEN_ENOMEM : wd_error_set_errno(errno, "cannot create a temporary file");
        goto done;
    }
    if ((rc = wd_storage_open_read(repo->storage, path, &src)))
        goto done;
    if ((rc = wd_line_sink_open(&sink, WD_MANIFEST_LINE_MAX, wd_manifest_spool_line, &sp)))
        goto done;
    char what[256];
    snprintf(what, sizeof(what), "manifest of backup '%s' failed authentication", id);
    wd_read_limits lim = {.raw_max = WD_MANIFEST_MAX,
                          .stored_max = wd_stored_max(WD_MANIFEST_MAX),
                          .code = WALDEN_EAUTH,
                          .what = what};
    if ((rc = wd_repo_read_begin_limited(repo, c, NULL, NULL, &lim, sink, &st)))
        goto done;
    if ((rc = wd_pipe_copy(st.pipe, src)))
        goto done;
    if (stored_sha256 || stored_size) {
        uint8_t sha[32];
        uint64_t size = 0;
        wd_hash_filter_result(st.stored_hash, sha, &size);
        if (stored_sha256)
            memcpy(stored_sha256, sha, 32);
        if (stored_size)
            *stored_size = size;
    }
    if (!repo->legacy) {
        uint8_t sha[32];
        wd_area_id area;
        wd_repo_area(repo, &area);
        if (!EVP_DigestFinal_ex(sp.md, sha, NULL)) {
            rc = wd_error_set_openssl(WALDEN_ERROR, "sha-256 final failed");
            goto done;
        }
        rc = sp.have_sig
                 ? wd_sign_text_line_check(repo->verify_key, &area, wd_repo_rel(repo, signed_path),
                                           sha, sp.sig, sp.sig_len)
                 : WALDEN_EAUTH;
        if (rc == WALDEN_EAUTH) {
            rc = wd_error_set(WALDEN_EAUTH,
                              "manifest of backup '%s' ('%s') failed authentication: %s", id, path,
                              sp.have_sig ? "its signature does not verify" : "it is not signed");
            goto done;
        }
        if (rc)
            goto done;
    }
    /* phase two: the verified lines, from the private spool */
    if (fflush(sp.f) || fseek(sp.f, 0, SEEK_SET)) {
        rc = wd_error_set_errno(errno, "cannot read a temporary file");
        goto done;
    }
    ssize_t n;
    while ((n = getline(&line, &cap, sp.f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if ((rc = manifest_line(line, (size_t)n, &r)))
            goto done;
    }
    if (!m->complete || r.section != 3)
        rc = wd_error_set(WALDEN_ECORRUPT, "manifest of backup '%s' is incomplete", id);
    else if (strcmp(m->id, id) != 0)
        rc = wd_error_set(WALDEN_ECORRUPT, "manifest of backup '%s' names backup '%s'", id, m->id);
done:
    if (rc && !r.cb_failed && rc != WALDEN_EKEY && rc != WALDEN_ENOMEM && rc != WALDEN_EAUTH &&
        !wd_str_starts_with(walden_error_last()->message, "manifest"))
        wd_error_wrap(rc, "cannot read the manifest of backup '%s'", id);
    free(line);
    if (sp.f)
        fclose(sp.f);
    EVP_MD_CTX_free(sp.md);
    wd_pipe_free(st.pipe);
    wd_source_close(src);
    wd_free(path);
    wd_free(signed_path);
    return rc;
}

static int info_kv(const char *name, const char *value, int line, void *ctx)
{
    (void)line;
    return wd_backup_meta_set(ctx, name, value);
}

int wd_backup_info_read(walden_repo *repo, const char *id, wd_backup_meta *m)
{
    char *path = wd_asprintf("%s/%s/%s/backup.info", repo->cluster, WD_BACKUP_DIR, id);
    if (!path)
        return WALDEN_ENOMEM;
    char *text = NULL;
    size_t len = 0;
    int rc = wd_repo_read_signed(repo, path, 1 << 20, &text, &len);
    wd_free(path);
    if (!rc) {
        char origin[128];
        snprintf(origin, sizeof(origin), "backup.info of backup '%s'", id);
        rc = wd_kv_parse(text, len, origin, info_kv, m);
        wd_free(text);
        if (!rc && !m->complete)
            rc = wd_error_set(WALDEN_ECORRUPT, "backup.info of backup '%s' is incomplete", id);
        else if (!rc && strcmp(m->id, id) != 0)
            rc = wd_error_set(WALDEN_EAUTH,
                              "backup.info of backup '%s' failed authentication: it names "
                              "another backup",
                              id);
    }
    if (rc)
        wd_backup_meta_clear(m);
    return rc;
}

int wd_backup_load_meta(walden_repo *repo, const char *id, wd_backup_meta *m)
{
    int rc = wd_backup_info_read(repo, id, m);
    if (!rc || rc == WALDEN_EAUTH || rc == WALDEN_ENOMEM)
        return rc; /* altered or forged: refused, never replaced by a guess */
    if (rc != WALDEN_ENOTFOUND)
        /* damaged, a fifo, a folder, unreadable: said, then the manifest
         * answers */
        wd_log_warn("%s; reading backup %s's manifest instead", walden_error_last()->message, id);
    /* missing or damaged: the manifest has the same summary */
    wd_backup_meta_clear(m);
    return wd_backup_read_manifest(repo, id, m, NULL, NULL);
}

static int load_entry(walden_repo *repo, const char *id, void *meta)
{
    wd_compress c;
    int rc = wd_backup_manifest_find(repo, id, &c); /* ENOTFOUND: incomplete */
    return rc ? rc : wd_backup_load_meta(repo, id, meta);
}

static void clear_entry(void *meta)
{
    wd_backup_meta_clear(meta);
}

static int64_t entry_start(const void *meta)
{
    return ((const wd_backup_meta *)meta)->pub.start_time_ms;
}

static const char *entry_id(const void *meta)
{
    return ((const wd_backup_meta *)meta)->id;
}

static const wd_catalog_kind backups = {WD_BACKUP_DIR, "backup",    sizeof(wd_backup_meta),
                                        load_entry,    clear_entry, entry_start,
                                        entry_id};

int wd_backup_list_meta(walden_repo *repo, wd_backup_meta ***out, size_t *count,
                        wd_catalog_damage *damage)
{
    return wd_catalog_list(repo, &backups, (void ***)out, count, damage);
}

static int backup_complete(walden_repo *repo, const char *id, bool *yes)
{
    wd_compress c;
    int rc = wd_backup_manifest_find(repo, id, &c);
    *yes = rc != WALDEN_ENOTFOUND;
    return rc == WALDEN_ENOTFOUND ? 0 : rc;
}

int wd_backup_remove_incomplete(walden_repo *repo)
{
    return wd_repo_remove_unfinished(repo, WD_BACKUP_DIR, "backup", backup_complete);
}

void wd_backup_list_free(wd_backup_meta **metas, size_t n)
{
    wd_catalog_list_free(&backups, (void **)metas, n);
}

int walden_backup_list(walden_repo *repo, walden_backup_cb cb, void *ctx)
{
    wd_backup_meta **metas = NULL;
    size_t n = 0;
    wd_catalog_damage damage = {0};
    int rc = wd_backup_list_meta(repo, &metas, &n, &damage);
    /* each backup's chain, by the walk restore judges it with (chain.c),
     * the damaged ones known: their ids for the callback */
    size_t *members = rc || !n ? NULL : wd_calloc(n, sizeof(*members));
    const char **ids = rc || !n ? NULL : wd_calloc(n, sizeof(*ids));
    if (!rc && n && (!members || !ids))
        rc = WALDEN_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        walden_backup_info b = metas[i]->pub;
        char why[256];
        size_t len = 0;
        wd_backup_chain(metas, n, i, &damage, members, &len, why, sizeof(why));
        for (size_t k = 0; k < len; k++)
            ids[k] = metas[members[k]]->id;
        b.chain = ids;
        b.chain_len = len;
        b.chain_error = why;
        rc = wd_callback_rc(cb(&b, ctx));
    }
    if (!rc)
        rc = wd_catalog_refuse(&damage, NULL); /* listed, then said */
    wd_free(members);
    wd_free(ids);
    wd_backup_list_free(metas, n);
    wd_catalog_damage_free(&damage);
    return rc;
}
