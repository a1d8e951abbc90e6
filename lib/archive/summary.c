/*
 * summary.c - the shape of the WAL archive: contiguous runs of segments
 * per timeline and the gaps between them (walden info, verify, expire).
 * What follows from the runs together with the backups (the recovery
 * window, the segment size a backup proves) is the catalogue's
 * (catalog/window.c).
 *
 * The names come from one walk over the archive, in name order: within a
 * timeline that is segment order, so runs are found in one pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
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

int wd_wal_summary_read(walden_repo *repo, uint64_t known, walden_wal_summary **out)
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
