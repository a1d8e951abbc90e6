/*
 * chain.c - a backup's chain: the backups a restore of it reads, from its
 * full to it, following the reference a diff or incr records.
 *
 * The listing is oldest first (by start time), and a backup can only refer
 * to one that ended before it started, so a reference is looked up among
 * the backups listed before: the walk ends within n steps, and a
 * reference found only later is "not older" (a damaged catalogue).
 * Automatic choices (restore, drill) pass over a backup whose chain is
 * broken with a warning, as over a damaged one; naming it is refused with
 * the reason (catalog.h).
 */
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/common.h"

static long find_before(wd_backup_meta *const *metas, size_t before, const char *id)
{
    for (size_t j = before; j-- > 0;)
        if (strcmp(metas[j]->id, id) == 0)
            return (long)j;
    return -1;
}

static bool is_damaged(const wd_catalog_damage *d, const char *id)
{
    for (size_t k = 0; d && k < d->n; k++)
        if (strcmp(d->v[k].id, id) == 0)
            return true;
    return false;
}

int wd_backup_chain(wd_backup_meta *const *metas, size_t n, size_t i,
                    const wd_catalog_damage *damage, size_t *members, size_t *length, char *why,
                    size_t why_cap)
{
    size_t len = 0, cur = i;
    int rc = 0;
    if (why_cap)
        why[0] = '\0';
    for (;;) {
        /* members from the end of members[] (it holds n), moved down after */
        if (members)
            members[n - 1 - len] = cur;
        len++;
        const wd_backup_meta *c = metas[cur];
        char who[64] = "";
        if (cur != i)
            snprintf(who, sizeof(who), "%s's ", c->id);
        bool full = strcmp(c->type, "full") == 0;
        if (full && !*c->reference)
            break;
        if (full || !*c->reference) {
            rc = WALDEN_ECORRUPT;
            snprintf(why, why_cap, "%s%s", who,
                     full ? "summary names a reference for a full backup"
                          : "summary names no reference");
            break;
        }
        long p = find_before(metas, cur, c->reference);
        if (p < 0) {
            bool later = find_before(metas, n, c->reference) >= 0;
            bool damaged = is_damaged(damage, c->reference);
            rc = later || damaged ? WALDEN_ECORRUPT : WALDEN_ENOTFOUND;
            snprintf(why, why_cap, "%sreference %s is %s", who, c->reference,
                     later     ? "not older"
                     : damaged ? "damaged"
                               : "missing");
            break;
        }
        cur = (size_t)p;
    }
    if (members)
        memmove(members, members + n - len, len * sizeof(*members));
    if (length)
        *length = len;
    return rc;
}

int wd_backup_list_usable(walden_repo *repo, const char *named, wd_backup_meta ***out,
                          size_t *count)
{
    wd_catalog_damage d = {0};
    wd_backup_meta **m = NULL;
    size_t n = 0;
    *out = NULL;
    *count = 0;
    int rc = wd_backup_list_meta(repo, &m, &n, &d);
    if (!rc && named && *named)
        rc = wd_catalog_refuse(&d, named);
    /* then the chains, judged on the whole list, so that a backup after a
     * broken one is judged by its own chain */
    bool *broken = rc || !n ? NULL : wd_calloc(n, sizeof(*broken));
    if (!rc && n && !broken)
        rc = WALDEN_ENOMEM;
    char(*why)[256] = rc || !n ? NULL : wd_calloc(n, sizeof(*why));
    if (!rc && n && !why)
        rc = WALDEN_ENOMEM;
    int named_rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        int crc = wd_backup_chain(m, n, i, &d, NULL, NULL, why[i], sizeof(why[i]));
        broken[i] = crc != 0;
        if (crc && named && strcmp(named, m[i]->id) == 0)
            named_rc = wd_error_set(crc, "backup %s cannot be restored: its chain is broken: %s",
                                    m[i]->id, why[i]);
    }
    /* the refusal of the one asked for alone; else the others said */
    rc = rc ? rc : named_rc;
    if (!rc)
        wd_catalog_pass_over(&d, "backup");
    for (size_t i = 0; !rc && i < n; i++)
        if (broken[i])
            wd_log_warn("backup %s is passed over: its chain is broken: %s", m[i]->id, why[i]);
    wd_free(why);
    size_t kept = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        if (!broken[i])
            m[kept++] = m[i];
        else {
            wd_backup_meta_clear(m[i]);
            wd_free(m[i]);
        }
    }
    wd_free(broken);
    wd_catalog_damage_free(&d);
    if (rc) {
        wd_backup_list_free(m, n);
        return rc;
    }
    *out = m;
    *count = kept;
    return 0;
}
