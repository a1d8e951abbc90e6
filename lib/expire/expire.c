/*
 * expire.c - walden expire: the retention plan (retention/, a pure
 * function of the catalogue, the policy and the time) applied to the
 * repository.
 *
 *   1. take the cluster's backup and dump locks (nothing runs meanwhile),
 *      remove unfinished backups and dumps;
 *   2. read the catalogue: complete backups (each with its type and the
 *      backup it refers to), recorded dumps, WAL runs; a damaged entry, or
 *      a diff or incr that names no reference, stops expire here;
 *   3. build the plan (the engine keeps every backup a kept one depends
 *      on, and a broken chain while inside the window); refuse one that
 *      would leave no usable backup when there is one (the engine never
 *      does; this is a second guard);
 *   4. remove each expired backup and dump: its manifest first (from then
 *      on it is not listed), then its folder;
 *   5. remove WAL segments (and .partial / .backup files) before the
 *      oldest segment a kept backup needs, in batches; history stays.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "common/common.h"
#include "repo/lock.h"
#include "retention.h"

#define REMOVE_BATCH 1000

static int policy_from(const walden_config *cfg, wr_policy *p)
{
    wr_policy_default(p);
    /* values and ranges were checked when set (options.c) */
    p->window = walden_config_seconds(cfg, "retention", p->window);
    p->dump_window = walden_config_seconds(cfg, "retention-dump", p->dump_window);
    struct {
        const char *name;
        uint32_t *dst;
    } counts[] = {{"retention-full-min", &p->full_min},
                  {"retention-daily", &p->gfs_daily},
                  {"retention-weekly", &p->gfs_weekly},
                  {"retention-monthly", &p->gfs_monthly}};
    for (size_t i = 0; i < WD_ARRAY_LEN(counts); i++)
        *counts[i].dst = (uint32_t)walden_config_int(cfg, counts[i].name, *counts[i].dst);
    return 0;
}

typedef struct catalogue {
    wd_backup_meta **backups;
    size_t n_backups;
    wd_dump_meta **dumps;
    size_t n_dumps;
    walden_wal_summary *wal;
    wr_backup *wb;
    wr_dump *wdump;
    wr_wal_range *wr;
} catalogue;

static void catalogue_free(catalogue *c)
{
    wd_backup_list_free(c->backups, c->n_backups);
    wd_dump_list_free(c->dumps, c->n_dumps);
    walden_wal_summary_free(c->wal);
    wd_free(c->wb);
    wd_free(c->wdump);
    wd_free(c->wr);
}

/* The refusal for a damaged entry, naming the backups that refer to it:
 * their chain cannot be judged while it is unreadable. */
static int refuse_damaged(const catalogue *c, const wd_catalog_damage *damage)
{
    int rc = wd_catalog_refuse(damage, NULL);
    if (!rc)
        return 0;
    wd_buf deps = {0};
    for (size_t d = 0; d < damage->n; d++)
        for (size_t i = 0; i < c->n_backups; i++)
            if (strcmp(c->backups[i]->reference, damage->v[d].id) == 0)
                wd_buf_printf(&deps, "%s%s", deps.len ? ", " : "", c->backups[i]->id);
    if (deps.len && !deps.failed)
        wd_error_wrap(rc, "nothing expired (backup%s %s refer%s to a damaged backup)",
                      strchr(deps.s, ',') ? "s" : "", deps.s, strchr(deps.s, ',') ? "" : "s");
    wd_free(deps.s);
    return rc;
}

static int catalogue_read(walden_repo *repo, catalogue *c, wr_catalog *out)
{
    /* a damaged entry stops expire (catalog.h): nothing is deleted on the
     * basis of a catalogue that lacks it, nor what it needs */
    wd_catalog_damage damage = {0};
    int rc;
    if (!(rc = wd_backup_list_meta(repo, &c->backups, &c->n_backups, &damage)) &&
        !(rc = wd_dump_list_meta(repo, &c->dumps, &c->n_dumps, &damage)))
        rc = refuse_damaged(c, &damage);
    wd_catalog_damage_free(&damage);
    if (rc || (rc = walden_wal_summary_get(repo, &c->wal)))
        return rc;
    c->wb = wd_calloc(c->n_backups + 1, sizeof(*c->wb));
    c->wdump = wd_calloc(c->n_dumps + 1, sizeof(*c->wdump));
    c->wr = wd_calloc(c->wal->n_ranges + 1, sizeof(*c->wr));
    if (!c->wb || !c->wdump || !c->wr)
        return WALDEN_ENOMEM;
    for (size_t i = 0; i < c->n_backups; i++) {
        const walden_backup_info *b = &c->backups[i]->pub;
        wr_backup *w = &c->wb[i];
        w->id = b->id;
        if (wr_backup_type_parse(b->type, &w->type) ||
            wr_backup_status_parse(b->status, &w->status))
            return wd_error_set(WALDEN_ECORRUPT, "backup %s: unknown type '%s' or status '%s'",
                                b->id, b->type, b->status);
        /* a diff or incr depends on its reference; one that names none
         * has a damaged summary: no plan is made without knowing its chain */
        const char *ref = c->backups[i]->reference;
        if (w->type != WR_BACKUP_FULL && !*ref)
            return wd_error_set(WALDEN_ECORRUPT,
                                "backup %s is %s backup without a reference: its summary is "
                                "damaged; nothing expired",
                                b->id, w->type == WR_BACKUP_DIFF ? "a diff" : "an incr");
        if (w->type == WR_BACKUP_FULL && *ref)
            return wd_error_set(WALDEN_ECORRUPT,
                                "backup %s is a full backup with a reference (%s): its summary is "
                                "damaged; nothing expired",
                                b->id, ref);
        w->prior = *ref ? ref : NULL;
        w->start_time = b->start_time_ms / 1000;
        w->stop_time = b->stop_time_ms / 1000;
        w->timeline = b->timeline;
        w->start_wal = b->start_wal;
        w->stop_wal = b->stop_wal;
    }
    for (size_t i = 0; i < c->n_dumps; i++) {
        const walden_dump_info *d = &c->dumps[i]->pub;
        /* the globals are judged like a database of their own */
        c->wdump[i] = (wr_dump){d->id, strcmp(d->kind, "globals") == 0 ? "" : d->database,
                                strcmp(d->status, "ok") == 0 ? WR_DUMP_OK : WR_DUMP_FAILED,
                                d->start_time_ms / 1000, d->stop_time_ms / 1000};
    }
    for (size_t i = 0; i < c->wal->n_ranges; i++)
        c->wr[i] = (wr_wal_range){c->wal->ranges[i].timeline, c->wal->ranges[i].first,
                                  c->wal->ranges[i].last};
    *out = (wr_catalog){
        c->wb, c->n_backups, c->wdump, c->n_dumps, c->wr, c->wal->n_ranges, c->wal->segment_size};
    return 0;
}

static int report(walden_expire_cb cb, void *ctx, const char *kind, const char *id,
                  const char *detail, bool expire, const char *reason)
{
    walden_expire_item it = {kind, id, detail, expire, reason};
    return cb ? wd_callback_rc(cb(&it, ctx)) : 0;
}

/* The manifest first: from then on the backup is not listed. */
static int remove_backup(walden_repo *repo, const char *id)
{
    wd_compress c = WD_COMPRESS_NONE;
    int rc = wd_backup_manifest_find(repo, id, &c);
    char *dir = wd_asprintf("%s/%s/%s", repo->cluster, WD_BACKUP_DIR, id);
    char *manifest = dir ? wd_asprintf("%s/%s%s", dir, WD_MANIFEST_NAME, wd_compress_ext(c)) : NULL;
    if (rc == WALDEN_ENOTFOUND)
        rc = 0;
    else if (!rc)
        rc = manifest ? wd_storage_remove(repo->storage, manifest) : WALDEN_ENOMEM;
    if (!rc)
        rc = dir ? wd_storage_remove_tree(repo->storage, dir) : WALDEN_ENOMEM;
    wd_free(manifest);
    wd_free(dir);
    return rc;
}

static int remove_dump(walden_repo *repo, const char *id)
{
    char *dir = wd_asprintf("%s/%s/%s", repo->cluster, WD_DUMP_DIR, id);
    char *manifest = dir ? wd_asprintf("%s/%s", dir, WD_DUMP_MANIFEST) : NULL;
    int rc = manifest ? wd_storage_remove(repo->storage, manifest) : WALDEN_ENOMEM;
    if (!rc)
        rc = wd_storage_remove_tree(repo->storage, dir);
    wd_free(manifest);
    wd_free(dir);
    return rc;
}

/* ---- WAL before the oldest kept segment ---- */

typedef struct wal_sweep {
    walden_repo *repo;
    uint64_t per_log;
    uint64_t keep_from; /* segment number */
    bool dry_run;
    char **batch;
    size_t n;
    walden_expire_result *res;
} wal_sweep;

static int flush(wal_sweep *w)
{
    int rc = w->n && !w->dry_run
                 ? wd_storage_remove_many(w->repo->storage, (const char *const *)w->batch, w->n)
                 : 0;
    for (size_t i = 0; i < w->n; i++)
        wd_free(w->batch[i]);
    w->n = 0;
    return rc;
}

static int sweep_cb(const walden_wal_entry *e, const char *folder, const char *object, void *ctx)
{
    wal_sweep *w = ctx;
    wd_wal_name n;
    if (wd_wal_name_parse(e->name, &n)) {
        walden_error_clear();
        return 0;
    }
    if (n.kind == WD_WAL_HISTORY || (uint64_t)n.log * w->per_log + n.seg >= w->keep_from)
        return 0;
    if (!(w->batch[w->n++] = wd_path_join(folder, object)))
        return WALDEN_ENOMEM;
    w->res->wal_files_removed++;
    w->res->stored_bytes_removed += e->stored_size;
    return w->n == REMOVE_BATCH ? flush(w) : 0;
}

static int sweep_wal(walden_repo *repo, const walden_wal_summary *s, const char *keep_from,
                     bool dry_run, walden_expire_result *res)
{
    wd_wal_name k;
    if (wd_wal_name_parse(keep_from, &k))
        return wd_error_set(WALDEN_EINVAL, "bad WAL name '%s' in the plan", keep_from);
    uint64_t per = wd_wal_per_log(s->segment_size);
    wal_sweep w = {
        repo, per, (uint64_t)k.log * per + k.seg, dry_run, wd_calloc(REMOVE_BATCH, sizeof(char *)),
        0,    res};
    if (!w.batch)
        return WALDEN_ENOMEM;
    int rc = wd_wal_walk(repo, sweep_cb, &w);
    int frc = flush(&w);
    wd_free(w.batch);
    return rc ? rc : frc;
}

int walden_expire(walden_repo *repo, const walden_config *cfg, int64_t now, int dry_run,
                  walden_expire_cb cb, void *ctx, walden_expire_result *result)
{
    walden_error_clear();
    if (result) {
        int rc = WD_RESULT_START(result, WALDEN_EXPIRE_RESULT_VERSION, "walden_expire_result");
        if (rc)
            return rc;
    }
    walden_expire_result res = WALDEN_EXPIRE_RESULT_INIT;
    catalogue c = {0};
    wr_catalog cat;
    wr_policy policy;
    wr_plan *plan = NULL;
    int backup_lock = -1, dump_lock = -1, read_lock = -1;
    char err[WR_ERROR_MAX];
    int rc = policy_from(cfg, &policy);
    if (rc || (rc = wd_repo_lock(repo, "backup", false, &backup_lock)) ||
        (rc = wd_repo_lock(repo, "dump", false, &dump_lock)) ||
        (rc = wd_repo_lock(repo, WD_LOCK_READ, false, &read_lock)))
        goto done;
    if (!dry_run &&
        ((rc = wd_backup_remove_incomplete(repo)) || (rc = wd_dump_remove_incomplete(repo))))
        goto done;
    if ((rc = catalogue_read(repo, &c, &cat)))
        goto done;
    if ((rc = wr_plan_build(&plan, &cat, &policy, now ? now : (int64_t)time(NULL), err,
                            sizeof(err)))) {
        rc = wd_error_set(rc, "retention: %s", err);
        goto done;
    }
    size_t usable = 0, usable_kept = 0;
    for (size_t i = 0; i < c.n_backups; i++) {
        /* usable: restorable, its chain whole (the engine said why not) */
        bool ok = (c.wb[i].status == WR_BACKUP_OK || c.wb[i].status == WR_BACKUP_ERRORS) &&
                  !(plan->backups[i].why & (WR_WHY_BROKEN | WR_WHY_BROKEN_KEPT));
        usable += ok;
        usable_kept += ok && plan->backups[i].keep;
    }
    if (usable && !usable_kept) { /* the engine never plans this */
        rc = wd_error_set(WALDEN_ERROR, "retention would expire every usable backup: refused");
        goto done;
    }

    for (size_t i = 0; !rc && i < c.n_backups; i++) {
        const wr_decision *d = &plan->backups[i];
        rc = report(cb, ctx, "backup", c.wb[i].id, "", !d->keep, d->reason);
        if (!rc && !d->keep) {
            wd_log_info("expire: backup %s: %s", c.wb[i].id, d->reason);
            if (!dry_run && (rc = remove_backup(repo, c.wb[i].id)))
                wd_error_wrap(rc, "cannot remove backup %s", c.wb[i].id);
        }
        *(d->keep ? &res.backups_kept : &res.backups_expired) += !rc;
    }
    for (size_t i = 0; !rc && i < c.n_dumps; i++) {
        const wr_decision *d = &plan->dumps[i];
        rc = report(cb, ctx, "dump", c.wdump[i].id, c.dumps[i]->pub.database, !d->keep, d->reason);
        if (!rc && !d->keep) {
            wd_log_info("expire: dump %s: %s", c.wdump[i].id, d->reason);
            if (!dry_run && (rc = remove_dump(repo, c.wdump[i].id)))
                wd_error_wrap(rc, "cannot remove dump %s", c.wdump[i].id);
        }
        *(d->keep ? &res.dumps_kept : &res.dumps_expired) += !rc;
    }
    for (size_t i = 0; !rc && i < plan->n_wal; i++) {
        const wr_wal_decision *d = &plan->wal[i];
        char range[64], tli[16];
        snprintf(tli, sizeof(tli), "%u", d->timeline);
        if (d->expire) {
            snprintf(range, sizeof(range), "%s..%s", d->expire_first, d->expire_last);
            rc = report(cb, ctx, "wal", range, tli, true, d->expire_reason);
        }
        if (!rc && d->keep) {
            snprintf(range, sizeof(range), "%s..%s", d->keep_first, d->keep_last);
            rc = report(cb, ctx, "wal", range, tli, false, d->keep_reason);
        }
    }
    snprintf(res.wal_from, sizeof(res.wal_from), "%s", plan->wal_from);
    if (!rc && plan->wal_from[0])
        rc = sweep_wal(repo, c.wal, plan->wal_from, dry_run, &res);
    uint64_t temps, temp_bytes;
    if (!rc &&
        !(rc = wd_storage_abandoned(repo->storage, repo->cluster, true, !dry_run, &temps,
                                    &temp_bytes)) &&
        temps)
        wd_log_info("expire: %s %llu abandoned temporary file%s (%llu bytes)",
                    dry_run ? "would remove" : "removed", (unsigned long long)temps,
                    temps == 1 ? "" : "s", (unsigned long long)temp_bytes);
done:
    wr_plan_free(plan);
    catalogue_free(&c);
    wd_lock_release(read_lock);
    wd_lock_release(dump_lock);
    wd_lock_release(backup_lock);
    if (result)
        *result = res;
    return rc;
}
