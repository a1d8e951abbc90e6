/*
 * window.c - the WAL archive seen with the backups of the catalogue: the
 * segment size a backup proves, the archive's summary numbered with it, the
 * timelines with the newest backup of each, and the recovery window (the
 * times a restore can reach).
 *
 * These read both the archive (archive/) and the backups, so they live
 * above both: the archive itself never reads the catalogue.
 *
 * A damaged backup (catalog.h) counts in none of them, without a word
 * here: they are views derived for a command that lists the backups
 * itself and says what is damaged there (restore and drill warn, info,
 * metrics and expire fail naming it), once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "common/common.h"

/* The backups whose summaries can be read, oldest first; damaged ones left
 * out quietly (see above). */
static int readable_backups(walden_repo *repo, wd_backup_meta ***metas, size_t *n)
{
    wd_catalog_damage damage = {0};
    int rc = wd_backup_list_meta(repo, metas, n, &damage);
    wd_catalog_damage_free(&damage);
    return rc;
}

/* The one segment size at which backup `m`'s start LSN falls in its start
 * segment; 0 when none or more than one does. */
static uint64_t segment_size_of(const wd_backup_meta *m)
{
    wd_wal_name w;
    if (wd_wal_name_parse(m->start_wal, &w) || w.kind != WD_WAL_SEGMENT)
        return 0;
    uint64_t match = 0;
    int matches = 0;
    for (uint64_t size = 1u << 20; size <= 1u << 30; size <<= 1) {
        uint64_t per = wd_wal_per_log(size), segno = m->pub.start_lsn / size;
        if (segno / per == w.log && segno % per == w.seg) {
            match = size;
            matches++;
        }
    }
    return matches == 1 ? match : 0;
}

uint64_t wd_catalog_segment_size(walden_repo *repo)
{
    /* recorded by init (areas since the byte limits): no backup to read */
    if (repo->wal_segment_size)
        return repo->wal_segment_size;
    char *base = wd_repo_path(repo, WD_BACKUP_DIR);
    char **ids = NULL;
    size_t n = 0;
    uint64_t found = 0;
    if (!base || wd_storage_list_dirs(repo->storage, base, &ids, &n))
        n = 0;
    /* one summary that tells is enough: read them until one does; one that
     * cannot be read tells nothing (the listings say why) */
    for (size_t i = 0; i < n && !found; i++) {
        wd_backup_meta m = {0};
        if (!wd_backup_load_meta(repo, ids[i], &m))
            found = segment_size_of(&m);
        wd_backup_meta_clear(&m);
    }
    wd_storage_names_free(ids, n);
    wd_free(base);
    walden_error_clear();
    return found;
}

int walden_wal_summary_get(walden_repo *repo, walden_wal_summary **out)
{
    return wd_wal_summary_read(repo, wd_catalog_segment_size(repo), out);
}

int walden_timelines_get(walden_repo *repo, const walden_wal_summary *wal, walden_timelines **out)
{
    wd_backup_meta **metas;
    size_t n;
    int rc = readable_backups(repo, &metas, &n);
    if (rc)
        return rc;
    wd_timeline_backup *b = wd_calloc(n + 1, sizeof(*b));
    if (!b) {
        wd_backup_list_free(metas, n);
        return WALDEN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        b[i] = (wd_timeline_backup){metas[i]->id, metas[i]->pub.timeline, metas[i]->pub.start_lsn};
    rc = wd_timelines_read(repo, wal, b, n, out);
    wd_free(b);
    wd_backup_list_free(metas, n);
    return rc;
}

int wd_timeline_for_restore(walden_repo *repo, const char *requested, walden_timelines **out,
                            uint32_t *follow, char *why, size_t cap)
{
    walden_wal_summary *wal = NULL;
    walden_timelines *t = NULL;
    int rc = walden_wal_summary_get(repo, &wal);
    if (!rc)
        rc = walden_timelines_get(repo, wal, &t);
    if (!rc)
        rc = wd_timeline_choose(t, requested, follow, why, cap);
    walden_wal_summary_free(wal);
    if (rc) {
        walden_timelines_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* The run of `tli` that holds segment `name`, or NULL. */
static const walden_wal_range *run_of(const walden_wal_summary *s, const char *name)
{
    wd_wal_name n;
    if (wd_wal_name_parse(name, &n) || n.kind != WD_WAL_SEGMENT) {
        walden_error_clear();
        return NULL;
    }
    uint64_t per = wd_wal_per_log(s->segment_size);
    uint64_t no = (uint64_t)n.log * per + n.seg;
    for (size_t i = 0; i < s->n_ranges; i++) {
        const walden_wal_range *r = &s->ranges[i];
        wd_wal_name a, b;
        if (r->timeline != n.tli || wd_wal_name_parse(r->first, &a) ||
            wd_wal_name_parse(r->last, &b))
            continue;
        if ((uint64_t)a.log * per + a.seg <= no && no <= (uint64_t)b.log * per + b.seg)
            return r;
    }
    return NULL;
}

int walden_recovery_window(walden_repo *repo, const walden_wal_summary *wal, int64_t *from_ms,
                           int64_t *to_ms)
{
    wd_backup_meta **metas;
    size_t n;
    int rc = readable_backups(repo, &metas, &n);
    if (rc)
        return rc;
    *from_ms = *to_ms = 0;
    for (size_t i = 0; i < n; i++) {
        const walden_backup_info *b = &metas[i]->pub;
        const walden_wal_range *r = run_of(wal, b->start_wal);
        /* restorable: start to stop in one run of the archive */
        if (!r || run_of(wal, b->stop_wal) != r)
            continue;
        if (!*from_ms || b->stop_time_ms < *from_ms)
            *from_ms = b->stop_time_ms;
        int64_t to = b->stop_time_ms;
        if (strcmp(r->last, wal->max) == 0 && wal->max_time_ms > to)
            to = wal->max_time_ms;
        if (to > *to_ms)
            *to_ms = to;
    }
    wd_backup_list_free(metas, n);
    return 0;
}
