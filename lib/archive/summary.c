/*
 * summary.c - the shape of the WAL archive: contiguous runs of segments
 * per timeline and the gaps between them (walden info, verify, expire).
 *
 * The names come from one walk over the archive, in name order: within a
 * timeline that is segment order, so runs are found in one pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "backup/backup.h"
#include "common/common.h"

uint64_t wd_wal_segments_per_log(uint32_t max_low, bool spans_logs)
{
    uint64_t per = 4;
    while (per < 4096 && per <= max_low)
        per *= 2;
    if (!spans_logs && per < 256)
        per = 256;
    return per;
}

typedef struct seg {
    uint32_t tli, log, low;
    int64_t time_ms;
} seg;

typedef struct walk_ctx {
    seg *segs;
    size_t n, cap;
    walden_wal_summary *s;
} walk_ctx;

static int collect(const walden_wal_entry *e, const char *folder, const char *object, void *ctx)
{
    walk_ctx *w = ctx;
    (void)folder;
    (void)object;
    w->s->stored_size += e->stored_size;
    wd_wal_name n;
    if (wd_wal_name_parse(e->name, &n)) {
        walden_error_clear();
        return 0;
    }
    if (n.kind == WD_WAL_HISTORY)
        w->s->history_files++;
    if (n.kind != WD_WAL_SEGMENT)
        return 0;
    seg *v = wd_array_grow(w->segs, &w->cap, w->n, sizeof(*v), 1024);
    if (!v)
        return WALDEN_ENOMEM;
    w->segs = v;
    w->segs[w->n++] = (seg){n.tli, n.log, n.seg, e->stored_time_ms};
    return 0;
}

static int push_range(walden_wal_range **v, size_t *n, size_t *cap, uint32_t tli, uint64_t first,
                      uint64_t last, uint64_t per_log)
{
    walden_wal_range *nv = wd_array_grow(*v, cap, *n, sizeof(*nv), 8);
    if (!nv)
        return WALDEN_ENOMEM;
    *v = nv;
    walden_wal_range *r = &(*v)[(*n)++];
    r->timeline = tli;
    wd_wal_segment_name(tli, first, per_log, r->first);
    wd_wal_segment_name(tli, last, per_log, r->last);
    r->segments = last - first + 1;
    return 0;
}

static int cmp_seg(const void *a, const void *b)
{
    const seg *x = a, *y = b;
    if (x->tli != y->tli)
        return x->tli < y->tli ? -1 : 1;
    if (x->log != y->log)
        return x->log < y->log ? -1 : 1;
    return x->low < y->low ? -1 : x->low > y->low;
}

/* The segment size a backup proves: the one size at which its start LSN
 * falls in its start segment. 0 when no backup tells. */
static uint64_t segment_size_of_backups(walden_repo *repo)
{
    char *base = wd_repo_path(repo, WD_BACKUP_DIR);
    char **ids = NULL;
    size_t n = 0;
    uint64_t found = 0;
    if (!base || wd_storage_list_dirs(repo->storage, base, &ids, &n))
        n = 0;
    /* one summary that tells is enough: read them until one does */
    for (size_t i = 0; i < n && !found; i++) {
        wd_backup_meta m = {0};
        wd_wal_name w;
        if (wd_backup_load_meta(repo, ids[i], &m) || wd_wal_name_parse(m.start_wal, &w) ||
            w.kind != WD_WAL_SEGMENT) {
            wd_backup_meta_clear(&m);
            continue;
        }
        uint64_t match = 0;
        int matches = 0;
        for (uint64_t size = 1u << 20; size <= 1u << 30; size <<= 1) {
            uint64_t per = wd_wal_per_log(size), segno = m.pub.start_lsn / size;
            if (segno / per == w.log && segno % per == w.seg) {
                match = size;
                matches++;
            }
        }
        if (matches == 1)
            found = match;
        wd_backup_meta_clear(&m);
    }
    wd_storage_names_free(ids, n);
    wd_free(base);
    walden_error_clear();
    return found;
}

int walden_wal_summary_get(walden_repo *repo, walden_wal_summary **out)
{
    walden_wal_summary *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    walk_ctx w = {.s = s};
    int rc = wd_wal_walk(repo, collect, &w);
    size_t range_cap = 0, gap_cap = 0;
    if (!rc && w.n) {
        qsort(w.segs, w.n, sizeof(*w.segs), cmp_seg);
        uint32_t max_low = 0;
        bool spans = false;
        for (size_t i = 0; i < w.n; i++) {
            if (w.segs[i].low > max_low)
                max_low = w.segs[i].low;
            spans = spans || w.segs[i].log != w.segs[0].log;
        }
        /* a backup knows the real size; the names only suggest it */
        uint64_t known = segment_size_of_backups(repo);
        uint64_t per = known && max_low < wd_wal_per_log(known)
                           ? wd_wal_per_log(known)
                           : wd_wal_segments_per_log(max_low, spans);
        s->segment_size = 0x100000000ull / per;
        s->segments = w.n;
        uint64_t best = 0;
        size_t start = 0;
        for (size_t i = 0; !rc && i < w.n; i++) {
            uint64_t no = (uint64_t)w.segs[i].log * per + w.segs[i].low;
            /* the highest segment number; of equals the highest timeline
             * (sorted by timeline first, so the last one seen) */
            if (i == 0 || no >= best) {
                best = no;
                wd_wal_segment_name(w.segs[i].tli, no, per, s->max);
                s->max_time_ms = w.segs[i].time_ms;
            }
            uint64_t first_no = (uint64_t)w.segs[start].log * per + w.segs[start].low;
            bool ends = i + 1 == w.n || w.segs[i + 1].tli != w.segs[i].tli ||
                        (uint64_t)w.segs[i + 1].log * per + w.segs[i + 1].low != no + 1;
            if (!ends)
                continue;
            rc = push_range(&s->ranges, &s->n_ranges, &range_cap, w.segs[i].tli, first_no, no, per);
            if (!rc && i + 1 < w.n && w.segs[i + 1].tli == w.segs[i].tli)
                rc = push_range(&s->gaps, &s->n_gaps, &gap_cap, w.segs[i].tli, no + 1,
                                (uint64_t)w.segs[i + 1].log * per + w.segs[i + 1].low - 1, per);
            start = i + 1;
        }
        /* the lowest segment number, on whichever timeline */
        uint64_t low = UINT64_MAX;
        for (size_t i = 0; i < w.n; i++) {
            uint64_t no = (uint64_t)w.segs[i].log * per + w.segs[i].low;
            if (no < low) {
                low = no;
                wd_wal_segment_name(w.segs[i].tli, no, per, s->min);
            }
        }
    } else if (!rc) {
        s->segment_size = 16u << 20;
    }
    wd_free(w.segs);
    if (rc) {
        walden_wal_summary_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void walden_wal_summary_free(walden_wal_summary *s)
{
    if (!s)
        return;
    wd_free(s->ranges);
    wd_free(s->gaps);
    wd_free(s);
}

uint64_t wd_wal_archived_end(const walden_wal_summary *s, uint32_t tli)
{
    uint64_t per = wd_wal_per_log(s->segment_size), end = 0;
    for (size_t i = 0; i < s->n_ranges; i++) {
        wd_wal_name b;
        if (s->ranges[i].timeline != tli || wd_wal_name_parse(s->ranges[i].last, &b)) {
            walden_error_clear();
            continue;
        }
        uint64_t e = ((uint64_t)b.log * per + b.seg + 1) * s->segment_size;
        if (e > end)
            end = e;
    }
    return end;
}

uint32_t wd_wal_newest_timeline(const walden_wal_summary *s)
{
    uint32_t tli = 0;
    for (size_t i = 0; i < s->n_ranges; i++)
        if (s->ranges[i].timeline > tli)
            tli = s->ranges[i].timeline;
    return tli;
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
    int rc = wd_backup_list_meta(repo, &metas, &n);
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
