/*
 * list.c - the one lister of the catalogue and its one policy for damaged
 * entries (catalog.h): backups and dumps are listed by the same code, so
 * that what happens to an entry whose summary is damaged cannot drift
 * apart between the two kinds.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/common.h"

bool wd_catalog_is_damaged(int rc)
{
    return rc == WALDEN_EAUTH || rc == WALDEN_ECORRUPT || rc == WALDEN_EVERSION;
}

int wd_catalog_damage_add(wd_catalog_damage *d, const char *id, int code)
{
    wd_catalog_damaged *v = wd_array_grow(d->v, &d->cap, d->n, sizeof(*v), 4);
    if (!v)
        return WALDEN_ENOMEM;
    d->v = v;
    wd_catalog_damaged *e = &d->v[d->n++];
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->code = code;
    snprintf(e->reason, sizeof(e->reason), "%s", walden_error_last()->message);
    walden_error_clear();
    return 0;
}

int wd_catalog_refuse(const wd_catalog_damage *d, const char *named)
{
    for (size_t i = 0; d && i < d->n; i++)
        if (!named || strcmp(d->v[i].id, named) == 0)
            return wd_error_set(d->v[i].code, "%s", d->v[i].reason);
    return 0;
}

void wd_catalog_pass_over(const wd_catalog_damage *d, const char *noun)
{
    for (size_t i = 0; d && i < d->n; i++)
        wd_log_warn("%s %s is passed over: %s", noun, d->v[i].id, d->v[i].reason);
}

void wd_catalog_damage_free(wd_catalog_damage *d)
{
    if (!d)
        return;
    wd_free(d->v);
    memset(d, 0, sizeof(*d));
}

/* qsort has no context: the kind being sorted, per thread */
static _Thread_local const wd_catalog_kind *sorting;

static int cmp_damaged(const void *a, const void *b)
{
    return strcmp(((const wd_catalog_damaged *)a)->id, ((const wd_catalog_damaged *)b)->id);
}

static int cmp_entry(const void *a, const void *b)
{
    const void *x = *(void *const *)a, *y = *(void *const *)b;
    int64_t sx = sorting->start_ms(x), sy = sorting->start_ms(y);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return strcmp(sorting->id(x), sorting->id(y));
}

int wd_catalog_list(walden_repo *repo, const wd_catalog_kind *kind, void ***out, size_t *count,
                    wd_catalog_damage *damage)
{
    *out = NULL;
    *count = 0;
    char *base = wd_repo_path(repo, kind->dir);
    if (!base)
        return WALDEN_ENOMEM;
    char **ids = NULL;
    size_t nids = 0, n = 0;
    wd_catalog_damage own = {0};
    wd_catalog_damage *dmg = damage ? damage : &own;
    size_t first_damaged = dmg->n;
    int rc = wd_storage_list_dirs(repo->storage, base, &ids, &nids);
    wd_free(base);
    void **metas = rc ? NULL : wd_calloc(nids + 1, sizeof(*metas));
    if (!rc && !metas)
        rc = WALDEN_ENOMEM;
    for (size_t i = 0; !rc && i < nids; i++) {
        void *m = wd_calloc(1, kind->meta_size);
        if (!m) {
            rc = WALDEN_ENOMEM;
            break;
        }
        rc = kind->load(repo, ids[i], m);
        if (rc) {
            kind->clear(m);
            wd_free(m);
            if (rc == WALDEN_ENOTFOUND) { /* unfinished: not an entry */
                walden_error_clear();
                rc = 0;
            } else if (wd_catalog_is_damaged(rc)) {
                rc = wd_catalog_damage_add(dmg, ids[i], rc);
            }
            continue; /* else the failure ends the listing */
        }
        metas[n++] = m;
    }
    wd_storage_names_free(ids, nids);
    /* in id order, whatever order the store listed them in */
    if (!rc && dmg->n > first_damaged)
        qsort(dmg->v + first_damaged, dmg->n - first_damaged, sizeof(*dmg->v), cmp_damaged);
    if (!rc && !damage)
        wd_catalog_pass_over(&own, kind->noun);
    wd_catalog_damage_free(&own);
    if (rc) {
        wd_catalog_list_free(kind, metas, n);
        return rc;
    }
    sorting = kind;
    qsort(metas, n, sizeof(*metas), cmp_entry);
    sorting = NULL;
    *out = metas;
    *count = n;
    return 0;
}

void wd_catalog_list_free(const wd_catalog_kind *kind, void **metas, size_t n)
{
    if (!metas)
        return;
    for (size_t i = 0; i < n; i++) {
        kind->clear(metas[i]);
        wd_free(metas[i]);
    }
    wd_free(metas);
}

int wd_catalog_list_usable(walden_repo *repo, const wd_catalog_kind *kind, const char *named,
                           void ***out, size_t *count)
{
    wd_catalog_damage d = {0};
    int rc = wd_catalog_list(repo, kind, out, count, &d);
    if (!rc && named && *named && (rc = wd_catalog_refuse(&d, named))) {
        wd_catalog_list_free(kind, *out, *count);
        *out = NULL;
        *count = 0;
    } else if (!rc) {
        wd_catalog_pass_over(&d, kind->noun);
    }
    wd_catalog_damage_free(&d);
    return rc;
}
