/*
 * upgrade.c - walden_repo_upgrade: an area of format 1 (nothing signed)
 * becomes an area of format 2 in place (docs/commands/repo-upgrade.md,
 * docs/security.md).
 *
 * Steps, in this order:
 *   1. the signing key file: made (as init makes it), or the one that an
 *      interrupted run made, which must belong to this area;
 *   2. the checks: an encrypted area's key.conf must open with the
 *      passphrase; walden_verify of the area with the key decodes every
 *      backup, dump and WAL file against its recorded digests; what it
 *      reports is left out (not signed);
 *   3. WAL: each unsigned object is decoded once more (content SHA-256 =
 *      the name's, a segment's page header = its name and the area's
 *      system identifier), its stored bytes are copied to the signed name
 *      (the copy must have the stored digest that was checked), and the old
 *      name is removed;
 *   4. each backup: the manifest rewritten with its signature line, then
 *      backup.stored with the new manifest's stored digest, then
 *      backup.info from the manifest; each dump manifest; each drill record;
 *   5. key.conf in format 2; 6. cluster.conf in format 2: the switch.
 *
 * Crash safety: until step 6 every reader sees format 1, and everything
 * steps 3-5 wrote reads as format 1 too (legacy readers take signed WAL
 * names and ignore a signature line; key.conf of format 2 opens with the
 * same passphrase). Each step is idempotent: a signature of this area's key
 * marks what an earlier run did (only this host holds the key), so a run
 * after a crash skips it or finishes it. After step 6 the area is complete:
 * cluster.conf is written only after every other file is durable.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "catalog/manifest.h"
#include "common/common.h"
#include "drill/drill.h"
#include "pg/pg.h"
#include "repo/lock.h"
#include "repo/repo.h"

#define META_MAX (1u << 20)
#define STORED_MAX (1u << 30)

typedef struct strs {
    char **v;
    size_t n, cap;
} strs;

typedef struct upgrade {
    walden_repo *repo;
    const walden_config *cfg;
    walden_upgrade_cb cb;
    void *ctx;
    walden_upgrade_result *res;
    strs bad;          /* storage paths that verify reported */
    strs bad_sets;     /* backup and dump ids with a reported file */
    strs suspect;      /* manifests whose stored digest differs from backup.stored's */
    strs suspect_msgs; /* what verify said of them */
    wd_area_id area;
} upgrade;

static int strs_add(strs *s, const char *str)
{
    char **v = wd_array_grow(s->v, &s->cap, s->n, sizeof(*v), 16);
    if (!v)
        return WALDEN_ENOMEM;
    s->v = v;
    if (!(s->v[s->n] = wd_strdup(str)))
        return WALDEN_ENOMEM;
    s->n++;
    return 0;
}

static ssize_t strs_find(const strs *s, const char *str)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return (ssize_t)i;
    return -1;
}

static void strs_free(strs *s)
{
    for (size_t i = 0; i < s->n; i++)
        wd_free(s->v[i]);
    wd_free(s->v);
    memset(s, 0, sizeof(*s));
}

/* One object left out: reported through the caller's callback. */
static int unproven(upgrade *u, const char *object, const char *fmt, ...) WD_PRINTF(3, 4);
static int unproven(upgrade *u, const char *object, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    u->res->unproven++;
    walden_error_clear();
    return u->cb ? wd_callback_rc(u->cb(object, msg, u->ctx)) : 0;
}

/* A failure that says the object is bad, not that reading it failed. */
static bool is_bad_object(int rc)
{
    return rc == WALDEN_ECORRUPT || rc == WALDEN_EAUTH || rc == WALDEN_EINVAL ||
           rc == WALDEN_EMISMATCH;
}

/* ---- step 2: the checks ---- */

static int verify_cb(const walden_verify_problem *p, void *ctx)
{
    upgrade *u = ctx;
    int rc;
    if (p->kind == WALDEN_VERIFY_UNCHECKED)
        return 0;
    /* WAL a backup needs, or a gap: nothing to sign is wrong */
    if (p->kind == WALDEN_VERIFY_WAL_GAP ||
        (p->kind == WALDEN_VERIFY_MISSING && strstr(p->object, "/wal/"))) {
        wd_log_warn("%s", p->message);
        return 0;
    }
    if (p->kind == WALDEN_VERIFY_UNREADABLE) {
        u->res->unreadable++;
        return u->cb ? wd_callback_rc(u->cb(p->object, p->message, u->ctx)) : 0;
    }
    /* a manifest that an interrupted run re-signed differs from the
     * backup.stored it had not rewritten yet: decided when the backup is
     * upgraded (this run's signature, or left out) */
    const char *base = strrchr(p->object, '/');
    if (p->kind == WALDEN_VERIFY_CORRUPT && p->set[0] && base &&
        wd_str_starts_with(base + 1, WD_MANIFEST_NAME) && strs_find(&u->suspect, p->object) < 0)
        return (rc = strs_add(&u->suspect, p->object)) ? rc
                                                       : strs_add(&u->suspect_msgs, p->message);
    if (p->set[0] && strs_find(&u->bad_sets, p->set) < 0 && (rc = strs_add(&u->bad_sets, p->set)))
        return rc;
    if ((rc = strs_add(&u->bad, p->object)))
        return rc;
    return unproven(u, p->object, "%s", p->message);
}

/* ---- signed text files ---- */

/* `text` (read from `path`): when its last line is a signature, it must be
 * one this area's key made (an interrupted run): *body_len then excludes it
 * and *ours is set. Another signature: WALDEN_EAUTH. */
static int own_signature(upgrade *u, const char *path, const char *text, size_t len,
                         size_t *body_len, bool *ours)
{
    *ours = false;
    *body_len = len;
    size_t start = len && text[len - 1] == '\n' ? len - 1 : len;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    if (len - start <= sizeof(WD_SIG_LINE) - 1 ||
        memcmp(text + start, WD_SIG_LINE, sizeof(WD_SIG_LINE) - 1) != 0)
        return 0;
    int rc = wd_sign_text_check(u->repo->verify_key, &u->area, wd_repo_rel(u->repo, path), text,
                                len, body_len);
    if (rc == WALDEN_EAUTH)
        return wd_error_set(WALDEN_EAUTH,
                            "it has a signature line that this area's key did not make");
    *ours = rc == 0;
    return rc;
}

static int write_signed(upgrade *u, const char *path, const char *body, size_t len)
{
    char *fixed = NULL, *text = NULL;
    if (len && body[len - 1] != '\n') {
        if (!(fixed = wd_asprintf("%.*s\n", (int)len, body)))
            return WALDEN_ENOMEM;
        body = fixed;
        len++;
    }
    int rc =
        wd_sign_text(u->repo->sign_priv, &u->area, wd_repo_rel(u->repo, path), body, len, &text);
    if (!rc)
        rc = wd_storage_write_all(u->repo->storage, path, text, strlen(text));
    wd_free(text);
    wd_free(fixed);
    return rc;
}

/* ---- step 3: WAL ---- */

/* Keeps the first bytes of what is decoded (a segment's page header). */
typedef struct head_sink {
    wd_sink base;
    uint8_t page[WD_WAL_LONG_HEADER_SIZE];
    size_t n;
    uint64_t total;
} head_sink;

static int head_write(wd_sink *s, const uint8_t *buf, size_t len)
{
    head_sink *h = (head_sink *)s;
    size_t take = len < sizeof(h->page) - h->n ? len : sizeof(h->page) - h->n;
    memcpy(h->page + h->n, buf, take);
    h->n += take;
    h->total += len;
    return 0;
}

static int head_commit(wd_sink *s)
{
    (void)s; /* owned by the caller, who reads it afterwards */
    return 0;
}

static void head_abort(wd_sink *s)
{
    (void)s;
}

typedef struct wal_group {
    char folder[512];
    char name[64];
    wd_wal_copy copies[16];
    size_t n;
} wal_group;

/* Decodes the unsigned copy, checks it, copies its stored bytes to the
 * signed name and removes the old one. */
static int wal_sign(upgrade *u, const char *folder, const char *name, const wd_wal_copy *copy)
{
    walden_repo *repo = u->repo;
    char *path = wd_path_join(folder, copy->object);
    wd_source *src = NULL;
    wd_repo_stream st = {0};
    wd_pipe *cp = NULL;
    head_sink head = {{head_write, head_commit, head_abort, NULL}, {0}, 0, 0};
    wd_wal_name parsed;
    uint8_t stored[32], sig[WD_SIG_LEN];
    char object[320];
    wd_wal_sig_input in = {
        .name = name, .ext = wd_compress_ext(copy->compress), .encrypted = repo->info.encrypted};
    memcpy(in.raw_sha256, copy->sha256, 32);
    int rc;
    if (!path)
        return WALDEN_ENOMEM;
    if (strs_find(&u->bad, path) >= 0) { /* reported by the checks */
        rc = 0;
        goto done;
    }
    if ((rc = wd_wal_name_parse(name, &parsed)) ||
        (rc = wd_storage_open_read(repo->storage, path, &src)) ||
        (rc = wd_repo_read_begin(repo, copy->compress, copy->sha256, &head.base, &st)) ||
        (rc = wd_pipe_copy(st.pipe, src)))
        goto check;
    if (parsed.kind == WD_WAL_SEGMENT)
        rc = wd_wal_check_segment(head.page, head.n, head.total, &parsed, path,
                                  repo->info.system_id, repo->info.pg_version / 10000);
    if (!rc) {
        wd_hash_filter_result(st.stored_hash, stored, NULL);
        if (st.cipher)
            rc = wd_decrypt_filter_header(st.cipher, in.header);
    }
check:
    wd_source_close(src);
    src = NULL;
    if (rc == WALDEN_ENOTFOUND) { /* removed meanwhile (expire of a format-1 host) */
        wd_log_info("'%s' was removed while repo-upgrade ran", path);
        walden_error_clear();
        rc = 0;
        goto done;
    }
    if (is_bad_object(rc)) {
        rc = unproven(u, path, "%s", walden_error_last()->message);
        goto done;
    }
    if (rc)
        goto done;
    if ((rc = wd_sign_wal(repo->sign_priv, &u->area, &in, sig)))
        goto done;
    if (wd_wal_object_name(name, copy->sha256, sig, copy->compress, object, sizeof(object)) < 0) {
        rc = wd_error_set(WALDEN_EINVAL, "name too long for '%s'", path);
        goto done;
    }
    /* the same stored bytes under the signed name: they must be the ones
     * just checked, or nothing is committed */
    wd_sink *sink = NULL;
    wd_filter *hash = NULL;
    /* written under a temporary name made from the short WAL name (as
     * archive-push does: the signed name leaves no room for a longer one),
     * committed under the signed name */
    char *tmpbase = wd_path_join(folder, name);
    rc = tmpbase ? 0 : WALDEN_ENOMEM;
    if (rc || (rc = wd_storage_open_read(repo->storage, path, &src)) ||
        (rc = wd_storage_open_write(repo->storage, tmpbase, &sink)) ||
        (rc = wd_pipe_new(&cp, sink)) || (rc = wd_hash_filter_new(&hash)) ||
        (rc = wd_pipe_add(cp, hash)) || (rc = wd_hash_filter_expect(hash, stored, "stored copy"))) {
        wd_free(tmpbase);
        goto done;
    }
    wd_free(tmpbase);
    uint8_t buf[65536];
    size_t got = 0;
    do {
        if (!(rc = wd_source_read(src, buf, sizeof(buf), &got)) && got)
            rc = wd_pipe_write(cp, buf, got);
    } while (!rc && got);
    if (!rc && !(rc = wd_pipe_end(cp)))
        rc = wd_pipe_commit(cp, object);
    if (rc) {
        if (is_bad_object(rc))
            rc = unproven(u, path, "changed while repo-upgrade read it: %s",
                          walden_error_last()->message);
        goto done;
    }
    if ((rc = wd_storage_remove(repo->storage, path)))
        goto done;
    u->res->wal_signed++;
done:
    wd_pipe_free(cp);
    wd_pipe_free(st.pipe);
    wd_source_close(src);
    wd_free(path);
    return rc;
}

/* The copies of one WAL file name. Copies that this area's key signed are
 * an earlier run's; unsigned copies with the same content are its
 * leftovers. Unsigned copies whose contents differ cannot be told apart:
 * none of them is signed. */
static int wal_group_finish(upgrade *u, wal_group *g)
{
    walden_repo *repo = u->repo;
    int rc = 0;
    bool have_ours = false;
    uint8_t ours[32];
    for (size_t i = 0; !rc && i < g->n; i++) {
        wd_wal_copy *c = &g->copies[i];
        if (!c->is_signed)
            continue;
        char *path = wd_path_join(g->folder, c->object);
        uint8_t header[WD_CIPHER_HEADER_LEN];
        wd_wal_sig_input in = {.name = g->name,
                               .ext = wd_compress_ext(c->compress),
                               .encrypted = repo->info.encrypted};
        memcpy(in.raw_sha256, c->sha256, 32);
        if (!path)
            return WALDEN_ENOMEM;
        rc = repo->info.encrypted ? wd_wal_copy_header(repo, g->folder, c, header) : 0;
        if (!rc) {
            memcpy(in.header, header, WD_ENC_HEADER_LEN);
            rc = wd_sign_wal_verify(repo->verify_key, &u->area, &in, c->sig);
        }
        if (!rc && strs_find(&u->bad, path) < 0) {
            have_ours = true;
            memcpy(ours, c->sha256, 32);
            u->res->wal_done++;
        } else if (!rc || is_bad_object(rc)) {
            rc = strs_find(&u->bad, path) >= 0
                     ? 0
                     : unproven(u, path, "it has a signature that this area's key did not make");
        }
        wd_free(path);
    }
    bool differ = false;
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = 0; j < i; j++)
            if (!g->copies[i].is_signed && !g->copies[j].is_signed &&
                memcmp(g->copies[i].sha256, g->copies[j].sha256, 32) != 0)
                differ = true;
    for (size_t i = 0; !rc && i < g->n; i++) {
        wd_wal_copy *c = &g->copies[i];
        if (c->is_signed)
            continue;
        char *path = wd_path_join(g->folder, c->object);
        if (!path)
            return WALDEN_ENOMEM;
        if (have_ours && memcmp(c->sha256, ours, 32) == 0 && strs_find(&u->bad, path) < 0)
            rc = wd_storage_remove(repo->storage, path); /* an earlier run's leftover */
        else if (have_ours && strs_find(&u->bad, path) < 0)
            rc = unproven(u, path, "it differs from the copy of '%s' that is signed already",
                          g->name);
        else if (differ && strs_find(&u->bad, path) < 0)
            rc = unproven(u, path,
                          "the archive holds copies of '%s' with different contents: none of "
                          "them can be proven",
                          g->name);
        else if (!differ)
            rc = wal_sign(u, g->folder, g->name, c);
        wd_free(path);
    }
    g->n = 0;
    return rc;
}

typedef struct wal_walk {
    upgrade *u;
    wal_group g;
} wal_walk;

static int wal_object(const walden_wal_entry *e, const char *folder, const char *object, void *ctx)
{
    wal_walk *w = ctx;
    wd_wal_copy copy;
    char name[64];
    int rc = 0;
    if (wd_wal_object_parse(object, name, sizeof(name), &copy))
        return 0;
    copy.stored_size = e->stored_size;
    if (w->g.n && (strcmp(w->g.name, name) != 0 || strcmp(w->g.folder, folder) != 0 ||
                   w->g.n == sizeof(w->g.copies) / sizeof(w->g.copies[0])))
        rc = wal_group_finish(w->u, &w->g);
    if (rc)
        return rc;
    if (w->g.n == 0) {
        snprintf(w->g.folder, sizeof(w->g.folder), "%s", folder);
        snprintf(w->g.name, sizeof(w->g.name), "%s", name);
    }
    w->g.copies[w->g.n++] = copy;
    return 0;
}

static int upgrade_wal(upgrade *u)
{
    wal_walk *w = wd_calloc(1, sizeof(*w));
    if (!w)
        return WALDEN_ENOMEM;
    w->u = u;
    int rc = wd_wal_walk(u->repo, wal_object, w);
    if (!rc && w->g.n)
        rc = wal_group_finish(u, &w->g);
    wd_free(w);
    return rc;
}

/* ---- step 4: backups ---- */

/* The [backup] and [end] lines of the spooled manifest, into m. */
static int spool_meta(wd_manifest_spool *sp, wd_backup_meta *m)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    bool files = false;
    if (fflush(sp->f) || fseek(sp->f, 0, SEEK_SET))
        return wd_error_set_errno(errno, "cannot read a temporary file");
    while (!rc && (n = getline(&line, &cap, sp->f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        if (line[0] == '[') {
            files = strcmp(line, "[files]") == 0;
            continue;
        }
        char *eq = strstr(line, " = ");
        if (files || line[0] == '#' || !eq)
            continue;
        *eq = '\0';
        rc = wd_backup_meta_set(m, line, eq + 3);
    }
    free(line);
    return rc;
}

static int spool_copy(wd_manifest_spool *sp, wd_pipe *p)
{
    uint8_t buf[65536];
    size_t n;
    int rc = 0;
    if (fflush(sp->f) || fseek(sp->f, 0, SEEK_SET))
        return wd_error_set_errno(errno, "cannot read a temporary file");
    while (!rc && (n = fread(buf, 1, sizeof(buf), sp->f)) > 0)
        rc = wd_pipe_write(p, buf, n);
    if (!rc && ferror(sp->f))
        rc = wd_error_set_errno(errno, "cannot read a temporary file");
    return rc;
}

/* backup.stored with the manifest's new stored digest, signed. */
static int rewrite_stored(upgrade *u, const char *prefix, const char *mname, const uint8_t msha[32],
                          uint64_t msize)
{
    char *spath = wd_asprintf("%s/%s", prefix, WD_STORED_NAME), *text = NULL;
    size_t len = 0, body = 0;
    bool ours;
    wd_buf b = {0};
    int rc = spath ? wd_storage_read_all(u->repo->storage, spath, STORED_MAX, &text, &len)
                   : WALDEN_ENOMEM;
    if (rc == WALDEN_ENOTFOUND) {
        wd_log_warn("'%s' is missing (a backup of an older walden): verify will report it", spath);
        walden_error_clear();
        rc = 0;
        goto done;
    }
    if (rc)
        goto done;
    if ((rc = own_signature(u, spath, text, len, &body, &ours))) {
        rc = is_bad_object(rc) ? unproven(u, spath, "%s", walden_error_last()->message) : rc;
        goto done;
    }
    bool found = false, objects = false;
    for (size_t at = 0; at < body;) {
        const char *nl = memchr(text + at, '\n', body - at);
        size_t ll = nl ? (size_t)(nl - (text + at)) : body - at;
        char *line = wd_strndup(text + at, ll);
        if (!line) {
            rc = WALDEN_ENOMEM;
            goto done;
        }
        if (line[0] == '[')
            objects = strcmp(line, "[objects]") == 0;
        uint8_t sha[32];
        uint64_t size;
        const char *obj;
        /* parsed in place: the line is copied out from the text */
        if (objects && wd_stored_line_parse(line, sha, &size, &obj) == 0 &&
            strcmp(obj, mname) == 0) {
            char sl[512];
            if (wd_stored_line_format(msha, msize, mname, sl, sizeof(sl)) > 0)
                wd_buf_printf(&b, "%s", sl);
            found = true;
        } else {
            wd_buf_printf(&b, "%.*s\n", (int)ll, text + at);
        }
        walden_error_clear();
        wd_free(line);
        at += ll + 1;
    }
    char *out = wd_buf_take(&b);
    if (!out) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if (!found)
        rc = unproven(u, spath, "it does not list the backup's manifest");
    else
        rc = write_signed(u, spath, out, strlen(out));
    wd_free(out);
done:
    wd_free(text);
    wd_free(spath);
    return rc;
}

static int upgrade_backup(upgrade *u, const char *id)
{
    walden_repo *repo = u->repo;
    wd_compress c;
    int rc = wd_backup_manifest_find(repo, id, &c);
    if (rc == WALDEN_ENOTFOUND) { /* unfinished: not a backup */
        walden_error_clear();
        return 0;
    }
    if (rc)
        return rc;
    char *prefix = wd_asprintf("%s/%s/%s", repo->cluster, WD_BACKUP_DIR, id);
    char *mname = wd_asprintf("%s%s", WD_MANIFEST_NAME, wd_compress_ext(c));
    char *mpath = prefix && mname ? wd_asprintf("%s/%s", prefix, mname) : NULL;
    char *mrel = wd_asprintf("%s/%s/%s", WD_BACKUP_DIR, id, WD_MANIFEST_NAME);
    wd_manifest_spool sp = {.id = id};
    wd_source *src = NULL;
    wd_sink *sink = NULL;
    wd_repo_stream st = {0}, ws = {0};
    wd_backup_meta m;
    memset(&m, 0, sizeof(m));
    if (!prefix || !mname || !mpath || !mrel) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if (strs_find(&u->bad_sets, id) >= 0) {
        rc = unproven(u, prefix, "backup '%s' is left unsigned: its files failed the checks", id);
        goto done;
    }
    if (!(sp.f = tmpfile()) || !(sp.md = EVP_MD_CTX_new()) ||
        !EVP_DigestInit_ex(sp.md, EVP_sha256(), NULL)) {
        rc = sp.f ? WALDEN_ENOMEM : wd_error_set_errno(errno, "cannot create a temporary file");
        goto done;
    }
    /* bounded as the catalogue bounds it: the manifest may have changed
     * since the checks read it */
    char what[256];
    snprintf(what, sizeof(what), "manifest of backup '%s' failed authentication", id);
    wd_read_limits lim = {.raw_max = WD_MANIFEST_MAX,
                          .stored_max = wd_stored_max(WD_MANIFEST_MAX),
                          .code = WALDEN_EAUTH,
                          .what = what};
    if ((rc = wd_storage_open_read(repo->storage, mpath, &src)) ||
        (rc = wd_line_sink_open(&sink, WD_MANIFEST_LINE_MAX, wd_manifest_spool_line, &sp)) ||
        (rc = wd_repo_read_begin_limited(repo, c, NULL, NULL, &lim, sink, &st)) ||
        (rc = wd_pipe_copy(st.pipe, src))) {
        rc = is_bad_object(rc) ? unproven(u, mpath, "%s", walden_error_last()->message) : rc;
        goto done;
    }
    uint8_t body_sha[32], msha[32];
    uint64_t msize = 0;
    wd_hash_filter_result(st.stored_hash, msha, &msize);
    if (!EVP_DigestFinal_ex(sp.md, body_sha, NULL)) {
        rc = wd_error_set_openssl(WALDEN_ERROR, "sha-256 final failed");
        goto done;
    }
    bool ours = false;
    if (sp.have_sig) {
        rc =
            wd_sign_text_line_check(repo->verify_key, &u->area, mrel, body_sha, sp.sig, sp.sig_len);
        if (rc == WALDEN_EAUTH) {
            rc = unproven(u, mpath, "it has a signature line that this area's key did not make");
            goto done;
        }
        if (rc)
            goto done;
        ours = true;
    }
    ssize_t suspect = strs_find(&u->suspect, mpath);
    if (suspect >= 0 && !ours) {
        rc = unproven(u, mpath, "%s", u->suspect_msgs.v[suspect]);
        goto done;
    }
    if ((rc = spool_meta(&sp, &m)))
        goto done;
    if (!m.complete || strcmp(m.id, id) != 0) {
        rc = unproven(u, mpath, "the manifest is incomplete or names another backup");
        goto done;
    }
    if (!ours) {
        /* the manifest again, with its signature line, as it was stored */
        char line[WD_SIG_LINE_LEN + 1];
        wd_compress saved = repo->compress;
        int saved_level = repo->compress_level;
        repo->compress = c;
        repo->compress_level = c == saved ? saved_level : wd_compress_default_level(c);
        rc = wd_sign_text_line(repo->sign_priv, &u->area, mrel, body_sha, line);
        wd_sink *out = NULL;
        if (!rc && !(rc = wd_storage_open_write(repo->storage, mpath, &out)))
            rc = wd_repo_store_begin_ex(repo, out, WD_STORE_NO_RAW_HASH, &ws);
        repo->compress = saved;
        repo->compress_level = saved_level;
        if (rc || (rc = spool_copy(&sp, ws.pipe)) ||
            (rc = wd_pipe_write(ws.pipe, (const uint8_t *)line, strlen(line))) ||
            (rc = wd_pipe_end(ws.pipe)))
            goto done;
        wd_hash_filter_result(ws.stored_hash, msha, &msize);
        if ((rc = wd_pipe_commit(ws.pipe, NULL)))
            goto done;
    }
    if ((rc = rewrite_stored(u, prefix, mname, msha, msize)))
        goto done;
    char *info = wd_backup_meta_text(&m);
    char *ipath = wd_asprintf("%s/backup.info", prefix);
    rc = info && ipath ? write_signed(u, ipath, info, strlen(info)) : WALDEN_ENOMEM;
    wd_free(info);
    wd_free(ipath);
    if (!rc)
        u->res->backups_signed++;
done:
    wd_backup_meta_clear(&m);
    wd_pipe_free(ws.pipe);
    wd_pipe_free(st.pipe); /* it owns the line sink */
    wd_source_close(src);
    if (sp.f)
        fclose(sp.f);
    EVP_MD_CTX_free(sp.md);
    wd_free(prefix);
    wd_free(mname);
    wd_free(mpath);
    wd_free(mrel);
    return rc;
}

/* ---- step 4: dumps and drill records ---- */

static int read_header(walden_repo *repo, const char *path, uint8_t header[WD_CIPHER_HEADER_LEN])
{
    wd_source *src = NULL;
    int rc = wd_storage_open_read(repo->storage, path, &src);
    size_t have = 0;
    while (!rc && have < WD_CIPHER_HEADER_LEN) {
        size_t n = 0;
        rc = wd_source_read(src, header + have, WD_CIPHER_HEADER_LEN - have, &n);
        if (!rc && n == 0)
            rc = wd_error_set(WALDEN_ECORRUPT, "'%s' is shorter than an encryption header", path);
        have += n;
    }
    wd_source_close(src);
    return rc;
}

static int upgrade_dump(upgrade *u, const char *id)
{
    walden_repo *repo = u->repo;
    char *path = wd_asprintf("%s/%s/%s/%s", repo->cluster, WD_DUMP_DIR, id, WD_DUMP_MANIFEST);
    char *text = NULL, *data = NULL, *out = NULL;
    size_t len = 0, body = 0;
    bool ours = false;
    wd_dump_meta m;
    memset(&m, 0, sizeof(m));
    int rc = path ? wd_storage_read_all(repo->storage, path, META_MAX, &text, &len) : WALDEN_ENOMEM;
    if (rc == WALDEN_ENOTFOUND) { /* unfinished: not a dump */
        walden_error_clear();
        rc = 0;
        goto done;
    }
    if (rc)
        goto done;
    if (strs_find(&u->bad_sets, id) >= 0) {
        rc = unproven(u, path, "dump '%s' is left unsigned: its data failed the checks", id);
        goto done;
    }
    if ((rc = own_signature(u, path, text, len, &body, &ours))) {
        rc = is_bad_object(rc) ? unproven(u, path, "%s", walden_error_last()->message) : rc;
        goto done;
    }
    if (ours) {
        u->res->dumps_signed++;
        goto done;
    }
    if ((rc = wd_dump_meta_parse(&m, text, body, id))) {
        rc = is_bad_object(rc) ? unproven(u, path, "%s", walden_error_last()->message) : rc;
        goto done;
    }
    /* restore-dump releases no byte of an encrypted dump whose header
     * differs from the signed one: format 1 did not record it */
    if (repo->info.encrypted && strcmp(m.status, "ok") == 0 && !m.have_header) {
        if (!(data = wd_dump_object(repo, &m))) {
            rc = WALDEN_ENOMEM;
            goto done;
        }
        if ((rc = read_header(repo, data, m.header))) {
            rc = is_bad_object(rc) ? unproven(u, data, "%s", walden_error_last()->message) : rc;
            goto done;
        }
        m.have_header = true;
    }
    if (!(out = wd_dump_meta_text(&m))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if (!(rc = write_signed(u, path, out, strlen(out))))
        u->res->dumps_signed++;
done:
    wd_dump_meta_clear(&m);
    wd_free(out);
    wd_free(data);
    wd_free(text);
    wd_free(path);
    return rc;
}

/* Calls `fn` for each set (backup, dump) under the area's folder `dir`. */
static int upgrade_sets(upgrade *u, const char *dir, int (*fn)(upgrade *u, const char *id))
{
    char **ids = NULL;
    size_t n = 0;
    int rc = wd_repo_list_ids(u->repo, dir, &ids, &n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = fn(u, ids[i]);
    wd_storage_names_free(ids, n);
    return rc;
}

static int record_name(const wd_storage_entry *e, void *ctx)
{
    strs *s = ctx;
    if (e->is_dir || !wd_str_ends_with(e->name, ".info") || e->name[0] == '.')
        return 0;
    return strs_add(s, e->name);
}

static int upgrade_records(upgrade *u)
{
    strs names = {0};
    char *dir = wd_repo_path(u->repo, WD_DRILL_DIR);
    int rc = dir ? wd_storage_list(u->repo->storage, dir, record_name, &names) : WALDEN_ENOMEM;
    if (rc == WALDEN_ENOTFOUND) {
        walden_error_clear();
        rc = 0;
    }
    for (size_t i = 0; !rc && i < names.n; i++) {
        char *path = wd_path_join(dir, names.v[i]), *text = NULL;
        size_t len = 0, body = 0;
        bool ours = false;
        walden_drill_result *r = NULL;
        rc = path ? wd_storage_read_all(u->repo->storage, path, META_MAX, &text, &len)
                  : WALDEN_ENOMEM;
        if (!rc && (rc = own_signature(u, path, text, len, &body, &ours)) == 0 && !ours &&
            (rc = wd_drill_record_parse(text, body, path, &r)) == 0)
            rc = write_signed(u, path, text, body);
        if (!rc)
            u->res->records_signed++;
        else if (is_bad_object(rc))
            rc = unproven(u, path, "%s", walden_error_last()->message);
        walden_drill_result_free(r);
        wd_free(text);
        wd_free(path);
    }
    strs_free(&names);
    wd_free(dir);
    return rc;
}

/* ---- steps 5 and 6: key.conf, then cluster.conf ---- */

static int upgrade_key(upgrade *u)
{
    walden_repo *repo = u->repo;
    wd_key_meta meta;
    wd_keypair pub;
    /* the key pair opened with the passphrase from this very text: every
     * field a format-2 key.conf binds is authenticated as well */
    int rc = wd_key_load_public(repo->key_text, repo->key_text_len, &pub, &meta);
    if (rc)
        return rc;
    char *kpath = wd_repo_path(repo, "key.conf"), *text = NULL;
    if (!kpath)
        return WALDEN_ENOMEM;
    if (meta.format >= 2) {
        if (strcmp(meta.cluster, repo->cluster) != 0 || meta.system_id != repo->info.system_id ||
            memcmp(meta.verify_key, repo->verify_key, WD_SIGN_KEY_LEN) != 0)
            rc = wd_error_set(WALDEN_EAUTH,
                              "'%s' in repository '%s' has format 2 with another area's or "
                              "signing key's identity: refused",
                              kpath, repo->location);
    } else {
        memset(&meta, 0, sizeof(meta));
        snprintf(meta.cluster, sizeof(meta.cluster), "%s", repo->cluster);
        meta.system_id = repo->info.system_id;
        meta.format = 2;
        memcpy(meta.verify_key, repo->verify_key, WD_SIGN_KEY_LEN);
        rc = wd_key_wrap(&repo->key, &meta, repo->passphrase, &wd_kdf_default, &text);
        if (!rc)
            rc = wd_storage_write_all(repo->storage, kpath, text, strlen(text));
    }
    wd_free(text);
    wd_free(kpath);
    return rc;
}

static int switch_conf(upgrade *u)
{
    walden_repo *repo = u->repo;
    wd_buf b = {0};
    const char *t = repo->conf_text, *end = t + repo->conf_len;
    while (t < end) {
        const char *nl = memchr(t, '\n', (size_t)(end - t));
        size_t ll = nl ? (size_t)(nl - t) : (size_t)(end - t);
        if (wd_str_starts_with(t, "format-version") && ll >= 14 && (t[14] == ' ' || t[14] == '='))
            wd_buf_printf(&b, "format-version = %d\n", WD_REPO_FORMAT_VERSION);
        else if (!(ll >= sizeof(WD_SIG_LINE) - 1 &&
                   memcmp(t, WD_SIG_LINE, sizeof(WD_SIG_LINE) - 1) == 0))
            wd_buf_printf(&b, "%.*s\n", (int)ll, t);
        t += ll + 1;
    }
    char *body = wd_buf_take(&b);
    if (!body)
        return WALDEN_ENOMEM;
    char *path = wd_repo_path(repo, "cluster.conf");
    /* everything written before is durable (each file is fsynced as it is
     * committed): this is the switch */
    int rc = path ? write_signed(u, path, body, strlen(body)) : WALDEN_ENOMEM;
    wd_free(path);
    wd_free(body);
    return rc;
}

/* ---- the run ---- */

static int upgrade_locked(upgrade *u)
{
    walden_repo *repo = u->repo;
    walden_upgrade_result *res = u->res;
    int rc;
    if (repo->info.encrypted) {
        if (!repo->passphrase)
            return wd_error_set(WALDEN_EKEY,
                                "cluster '%s' in repository '%s' is encrypted: repo-upgrade needs "
                                "its passphrase (encrypt-passphrase or encrypt-passphrase-file), "
                                "which proves key.conf and checks every file",
                                repo->cluster, repo->location);
        if ((rc = wd_repo_unlock(repo)))
            return rc;
    } else if (!walden_config_bool(u->cfg, "trust-unencrypted-contents")) {
        return wd_error_set(WALDEN_EAUTH,
                            "cluster '%s' in repository '%s' is not encrypted: nothing proves who "
                            "wrote its files; once you trust them as they are (walden verify, "
                            "and you know what the repository holds), run repo-upgrade with "
                            "--trust-unencrypted-contents to sign them",
                            repo->cluster, repo->location);
    }
    bool created = false;
    if ((rc = wd_repo_upgrade_signer(repo, u->cfg, &created)))
        return rc;
    res->created_sign_key = created;
    snprintf(res->sign_key_file, sizeof(res->sign_key_file), "%s", repo->sign_key_path);
    wd_hex_encode(repo->verify_key, WD_SIGN_KEY_LEN, res->verify_key);
    wd_repo_area(repo, &u->area);
    if (created)
        wd_log_info("made signing key file '%s'", repo->sign_key_path);

    walden_verify_result vres = WALDEN_VERIFY_RESULT_INIT;
    wd_log_info("checking every file of cluster '%s'", repo->cluster);
    if ((rc = walden_verify(repo, u->cfg, NULL, NULL, verify_cb, u, &vres)))
        return rc;
    if (res->unreadable)
        return wd_error_set(WALDEN_ERROR,
                            "%" PRIu64 " file(s) of cluster '%s' could not be read: nothing was "
                            "signed; the area stays format 1 (run repo-upgrade again)",
                            res->unreadable, repo->cluster);
    wd_log_info("signing the WAL archive");
    if ((rc = upgrade_wal(u)))
        return rc;
    wd_log_info("signing backups, dumps and drill records");
    if ((rc = upgrade_sets(u, WD_BACKUP_DIR, upgrade_backup)) ||
        (rc = upgrade_sets(u, WD_DUMP_DIR, upgrade_dump)) || (rc = upgrade_records(u)))
        return rc;
    if (res->unproven && !walden_config_bool(u->cfg, "drop-unproven")) {
        wd_log_warn("%" PRIu64 " object(s) failed their checks and are not signed: cluster '%s' "
                    "stays format 1",
                    res->unproven, repo->cluster);
        return 0;
    }
    if ((repo->info.encrypted && (rc = upgrade_key(u))) || (rc = switch_conf(u)))
        return rc;
    res->committed = 1;
    return 0;
}

int walden_repo_upgrade(const walden_config *cfg, walden_upgrade_cb cb, void *ctx,
                        walden_upgrade_result *result)
{
    walden_error_clear();
    walden_upgrade_result local = WALDEN_UPGRADE_RESULT_INIT;
    if (!result)
        result = &local;
    int rc = WD_RESULT_START(result, WALDEN_UPGRADE_RESULT_VERSION, "walden_upgrade_result");
    if (rc)
        return rc;
    walden_repo *repo = NULL;
    int backup_lock = -1, dump_lock = -1;
    if ((rc = wd_repo_open_upgrade(&repo, cfg)))
        return rc;
    if (!repo->legacy) {
        result->already = 1;
        if (walden_repo_verify_key(repo, result->verify_key))
            walden_error_clear(); /* not known without a trust root: only shown */
        walden_repo_close(repo);
        return 0;
    }
    upgrade u = {.repo = repo, .cfg = cfg, .cb = cb, .ctx = ctx, .res = result};
    /* no backup, dump or expire of the cluster meanwhile; archive-push of
     * a format-1 area is refused anyway, until the switch */
    if (!(rc = wd_repo_lock(repo, "backup", false, &backup_lock)) &&
        !(rc = wd_repo_lock(repo, "dump", false, &dump_lock)))
        rc = upgrade_locked(&u);
    wd_lock_release(dump_lock);
    wd_lock_release(backup_lock);
    strs_free(&u.bad);
    strs_free(&u.bad_sets);
    strs_free(&u.suspect);
    strs_free(&u.suspect_msgs);
    walden_repo_close(repo);
    return rc;
}
