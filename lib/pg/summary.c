/*
 * summary.c - PostgreSQL 17's WAL summaries read over a session (summary.h
 * states the contract: "unchanged" must be true, anything not understood
 * is "may have changed").
 *
 * Layout in memory: one array of (tablespace, database, relfilenode, fork,
 * block) entries for the blocks the summaries name, one of the same shape
 * for the limit blocks (block = the limit). Rows are appended as they come
 * (the same block may come once per summary), sorted and made unique when
 * the array reaches twice `max_blocks`, and once at the end; a lookup is a
 * binary search. So memory stays under 2 * max_blocks entries of 20 bytes,
 * whatever the summaries hold.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "pg/summary.h"

typedef struct entry {
    uint32_t spc, db, rel, fork, block;
} entry;

typedef struct table {
    entry *v;
    size_t n, cap;
} table;

struct wd_summary {
    table blocks; /* sorted, unique */
    table limits; /* sorted, one per fork: its smallest limit */
};

static int fetch_rows = WD_SUMMARY_FETCH_ROWS;

void wd_summary_set_fetch_rows(int rows)
{
    fetch_rows = rows > 0 ? rows : WD_SUMMARY_FETCH_ROWS;
}

/* ---- the tables ---- */

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    const uint32_t xs[] = {x->spc, x->db, x->rel, x->fork, x->block};
    const uint32_t ys[] = {y->spc, y->db, y->rel, y->fork, y->block};
    for (size_t i = 0; i < WD_ARRAY_LEN(xs); i++)
        if (xs[i] != ys[i])
            return xs[i] < ys[i] ? -1 : 1;
    return 0;
}

static bool same_fork(const entry *x, const entry *y)
{
    return x->spc == y->spc && x->db == y->db && x->rel == y->rel && x->fork == y->fork;
}

/* Sorts; keeps one entry per block, or with `per_fork` the first (the
 * smallest limit) per fork. */
static void compact(table *t, bool per_fork)
{
    if (t->n < 2)
        return;
    qsort(t->v, t->n, sizeof(entry), entry_cmp);
    size_t k = 1;
    for (size_t i = 1; i < t->n; i++) {
        bool dup =
            per_fork ? same_fork(&t->v[i], &t->v[k - 1]) : entry_cmp(&t->v[i], &t->v[k - 1]) == 0;
        if (!dup)
            t->v[k++] = t->v[i];
    }
    t->n = k;
}

static bool add(table *t, const entry *e)
{
    entry *v = wd_array_grow(t->v, &t->cap, t->n, sizeof(entry), 1024);
    if (!v)
        return false;
    t->v = v;
    t->v[t->n++] = *e;
    return true;
}

/* The first entry of `t` not below `key`. */
static size_t lower_bound(const table *t, const entry *key)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (entry_cmp(&t->v[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The limit entry of a fork, NULL when it has none. */
static const entry *limit_of(const wd_summary *s, uint32_t spc, uint32_t db, uint32_t rel,
                             uint32_t fork)
{
    entry key = {spc, db, rel, fork, 0};
    size_t i = lower_bound(&s->limits, &key);
    return i < s->limits.n && same_fork(&s->limits.v[i], &key) ? &s->limits.v[i] : NULL;
}

size_t wd_summary_blocks(const wd_summary *s)
{
    return s ? s->blocks.n + s->limits.n : 0;
}

void wd_summary_free(wd_summary *s)
{
    if (!s)
        return;
    wd_free(s->blocks.v);
    wd_free(s->limits.v);
    wd_free(s);
}

/* ---- the server ---- */

/* false with the reason; `why` may be the server's message */
static bool refuse(char *why, size_t cap, const char *fmt, ...) WD_PRINTF(3, 4);
static bool refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return false;
}

/* A query whose failure is a refusal quoting the server. */
static bool ask(wd_pg_conn *c, wd_pg_result **r, const char *sql, int nparams,
                const char *const *params, const char *what, char *why, size_t cap)
{
    if (wd_pg_query_bare(c, r, sql, nparams, params) == 0)
        return true;
    return refuse(why, cap, "%s failed: %s", what, walden_error_last()->message);
}

bool wd_summary_server_ok(wd_pg_conn *c, char *why, size_t cap)
{
    int version = wd_pg_server_version(c);
    if (version < 170000)
        return refuse(why, cap, "PostgreSQL %d has no WAL summaries (17 and later have)",
                      version / 10000);
    wd_pg_result *r;
    if (!ask(c, &r,
             "SELECT current_setting('summarize_wal'), current_setting('data_checksums'), "
             "current_setting('wal_log_hints')",
             0, NULL, "reading summarize_wal", why, cap))
        return false;
    const char *summarize = wd_pg_value(r, 0, 0), *checksums = wd_pg_value(r, 0, 1),
               *hints = wd_pg_value(r, 0, 2);
    bool ok = false;
    if (!summarize || !checksums || !hints)
        refuse(why, cap, "unexpected answer to the settings query");
    else if (strcmp(summarize, "on") != 0)
        refuse(why, cap, "summarize_wal is %s", summarize);
    else if (strcmp(checksums, "on") != 0 && strcmp(hints, "on") != 0)
        refuse(why, cap,
               "neither data checksums nor wal_log_hints is on: a change of hint bits alone "
               "is not in the WAL");
    else
        ok = true;
    wd_pg_result_free(r);
    return ok;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool wd_summary_wait(wd_pg_conn *c, uint64_t lsn, int timeout_ms, char *why, size_t cap)
{
    uint64_t deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    char want[WD_LSN_TEXT], got[WD_LSN_TEXT] = "none";
    wd_lsn_format(lsn, want);
    for (;;) {
        wd_pg_result *r;
        if (!ask(c, &r, "SELECT summarized_lsn::text FROM pg_get_wal_summarizer_state()", 0, NULL,
                 "reading the WAL summarizer's state", why, cap))
            return false;
        uint64_t done = 0;
        const char *v = wd_pg_value(r, 0, 0);
        bool parsed = v && wd_lsn_parse(v, &done) == 0;
        if (parsed)
            snprintf(got, sizeof(got), "%s", v);
        wd_pg_result_free(r);
        if (!parsed)
            return refuse(why, cap, "unexpected answer from pg_get_wal_summarizer_state()");
        if (done >= lsn)
            return true;
        if (now_ms() >= deadline)
            return refuse(why, cap,
                          "the WAL summarizer has summarized up to %s, not yet up to %s, "
                          "after %d ms",
                          got, want, timeout_ms);
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

static int range_cmp(const void *a, const void *b)
{
    const wd_summary_range *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* A row of pg_available_wal_summaries(): tli, start_lsn, end_lsn. */
static bool range_row(const wd_pg_result *r, int row, wd_summary_range *out)
{
    int64_t tli;
    return wd_pg_value(r, row, 0) &&
           wd_parse_int64(wd_pg_value(r, row, 0), 1, UINT32_MAX, &tli) == 0 &&
           wd_lsn_parse(wd_pg_value(r, row, 1), &out->start) == 0 &&
           wd_lsn_parse(wd_pg_value(r, row, 2), &out->end) == 0 && out->start < out->end &&
           (out->tli = (uint32_t)tli, true);
}

bool wd_summary_coverage(wd_pg_conn *c, uint32_t tli, uint64_t from, uint64_t to,
                         wd_summary_range **out, size_t *n, char *why, size_t cap)
{
    *out = NULL;
    *n = 0;
    char from_text[WD_LSN_TEXT], to_text[WD_LSN_TEXT], tli_text[16];
    wd_lsn_format(from, from_text);
    wd_lsn_format(to, to_text);
    snprintf(tli_text, sizeof(tli_text), "%u", tli);
    if (from > to)
        return refuse(why, cap, "the reference starts at %s, after this backup's start %s",
                      from_text, to_text);
    if (from == to)
        return true;
    const char *params[] = {tli_text, from_text, to_text};
    wd_pg_result *r;
    if (!ask(c, &r,
             "SELECT tli, start_lsn::text, end_lsn::text FROM pg_available_wal_summaries() "
             "WHERE tli = $1::int8 AND end_lsn > $2::pg_lsn AND start_lsn < $3::pg_lsn "
             "ORDER BY start_lsn, end_lsn",
             3, params, "listing the WAL summaries", why, cap))
        return false;
    int rows = wd_pg_rows(r);
    wd_summary_range *v = rows ? wd_calloc((size_t)rows, sizeof(*v)) : NULL;
    size_t k = 0;
    bool ok = true;
    if (rows && !v)
        ok = refuse(why, cap, "out of memory");
    for (int i = 0; ok && i < rows; i++) {
        if (!range_row(r, i, &v[k]))
            ok = refuse(why, cap, "unexpected row from pg_available_wal_summaries()");
        /* the server filtered; what does not belong is left out here too */
        else if (v[k].tli == tli && v[k].end > from && v[k].start < to)
            k++;
    }
    wd_pg_result_free(r);
    if (ok) {
        /* walk from `from`: each summary must start at or before the point
         * reached so far */
        if (k)
            qsort(v, k, sizeof(*v), range_cmp);
        uint64_t reached = from;
        for (size_t i = 0; i < k && reached < to; i++) {
            if (v[i].start > reached)
                break;
            if (v[i].end > reached)
                reached = v[i].end;
        }
        if (reached < to) {
            char at[WD_LSN_TEXT];
            wd_lsn_format(reached, at);
            ok = refuse(why, cap,
                        "the WAL summaries of timeline %u do not cover %s to %s: none from %s", tli,
                        from_text, to_text, at);
        }
    }
    if (!ok) {
        wd_free(v);
        return false;
    }
    *out = v;
    *n = k;
    return true;
}

/* A row of pg_wal_summary_contents(): reltablespace, reldatabase,
 * relfilenode, relforknumber, relblocknumber, is_limit_block. */
static bool content_row(const wd_pg_result *r, int row, entry *e, bool *is_limit)
{
    int64_t v[5];
    const int64_t max[5] = {UINT32_MAX, UINT32_MAX, UINT32_MAX, WD_PG_FORK_INIT, UINT32_MAX};
    for (int col = 0; col < 5; col++) {
        const char *s = wd_pg_value(r, row, col);
        if (!s || wd_parse_int64(s, 0, max[col], &v[col]))
            return false;
    }
    const char *limit = wd_pg_value(r, row, 5);
    if (!limit || (strcmp(limit, "t") != 0 && strcmp(limit, "f") != 0))
        return false;
    *is_limit = limit[0] == 't';
    *e = (entry){(uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2], (uint32_t)v[3], (uint32_t)v[4]};
    return true;
}

/* Reads one summary's rows through a cursor (inside the caller's
 * transaction) into s; false with the reason. */
static bool load_range(wd_pg_conn *c, const wd_summary_range *range, size_t max_blocks,
                       wd_summary *s, char *why, size_t cap)
{
    char start[WD_LSN_TEXT], end[WD_LSN_TEXT], sql[320];
    wd_lsn_format(range->start, start);
    wd_lsn_format(range->end, end);
    /* the values are ours (numbers and LSNs formatted here): a cursor's
     * query takes no parameters */
    snprintf(sql, sizeof(sql),
             "DECLARE walden_summary NO SCROLL CURSOR FOR SELECT reltablespace, reldatabase, "
             "relfilenode, relforknumber, relblocknumber, is_limit_block "
             "FROM pg_wal_summary_contents(%u, '%s', '%s')",
             range->tli, start, end);
    wd_pg_result *r;
    if (!ask(c, &r, sql, 0, NULL, "reading a WAL summary", why, cap))
        return false;
    wd_pg_result_free(r);
    char fetch[64];
    snprintf(fetch, sizeof(fetch), "FETCH FORWARD %d FROM walden_summary", fetch_rows);
    size_t compact_at = 2 * max_blocks + 2;
    for (;;) {
        if (!ask(c, &r, fetch, 0, NULL, "reading a WAL summary", why, cap))
            return false;
        int rows = wd_pg_rows(r);
        bool ok = true;
        for (int i = 0; ok && i < rows; i++) {
            entry e;
            bool is_limit;
            if (!content_row(r, i, &e, &is_limit))
                ok = refuse(why, cap, "unexpected row from pg_wal_summary_contents()");
            else if (!add(is_limit ? &s->limits : &s->blocks, &e))
                ok = refuse(why, cap, "out of memory");
            else if (s->blocks.n + s->limits.n >= compact_at) {
                compact(&s->blocks, false);
                compact(&s->limits, true);
                if (s->blocks.n + s->limits.n > max_blocks)
                    ok = refuse(why, cap, "too many changed blocks (more than %zu)", max_blocks);
            }
        }
        wd_pg_result_free(r);
        if (!ok)
            return false;
        if (rows < fetch_rows)
            break;
    }
    if (!ask(c, &r, "CLOSE walden_summary", 0, NULL, "reading a WAL summary", why, cap))
        return false;
    wd_pg_result_free(r);
    return true;
}

bool wd_summary_load(wd_pg_conn *c, uint32_t tli, uint64_t from, uint64_t to, size_t max_blocks,
                     wd_summary **out, char *why, size_t cap)
{
    *out = NULL;
    wd_summary_range *ranges;
    size_t n;
    if (!wd_summary_coverage(c, tli, from, to, &ranges, &n, why, cap))
        return false;
    wd_summary *s = wd_calloc(1, sizeof(*s));
    if (!s) {
        wd_free(ranges);
        return refuse(why, cap, "out of memory");
    }
    wd_pg_result *r;
    bool ok = n == 0 || ask(c, &r, "BEGIN READ ONLY", 0, NULL, "reading a WAL summary", why, cap);
    if (ok && n) {
        wd_pg_result_free(r);
        for (size_t i = 0; ok && i < n; i++)
            ok = load_range(c, &ranges[i], max_blocks, s, why, cap);
        /* a failed statement left the transaction aborted: end it either way */
        char ignored[256];
        if (ask(c, &r, ok ? "COMMIT" : "ROLLBACK", 0, NULL, "ending the summaries' transaction",
                ok ? why : ignored, ok ? cap : sizeof(ignored)))
            wd_pg_result_free(r);
        else
            ok = false;
    }
    wd_free(ranges);
    if (ok) {
        compact(&s->blocks, false);
        compact(&s->limits, true);
        if (s->blocks.n + s->limits.n > max_blocks)
            ok = refuse(why, cap, "too many changed blocks (more than %zu)", max_blocks);
    }
    if (!ok) {
        wd_summary_free(s);
        return false;
    }
    *out = s;
    return true;
}

/* ---- answers ---- */

wd_summary_state wd_summary_file_get(const wd_summary *s, const char *relpath, uint32_t seg_blocks,
                                     wd_summary_file *f)
{
    memset(f, 0, sizeof(*f));
    f->state = WD_SUMMARY_ALL;
    f->seg_blocks = seg_blocks;
    f->limit = 0;
    wd_pg_relfile rf;
    /* only main forks are tracked block by block (summary.h says why) */
    if (!s || seg_blocks == 0 || !wd_pg_relfile_parse(relpath, &rf) || rf.fork != WD_PG_FORK_MAIN)
        return f->state;
    /* the database created or dropped in the range: all its files */
    if (limit_of(s, rf.spc, rf.db, 0, WD_PG_FORK_MAIN))
        return f->state;
    f->base = (uint64_t)rf.segno * seg_blocks;
    const entry *lim = limit_of(s, rf.spc, rf.db, rf.rel, rf.fork);
    f->limit = lim ? lim->block : UINT64_MAX;
    if (f->limit <= f->base)
        return f->state;
    uint64_t end = f->base + seg_blocks;
    entry lo = {rf.spc, rf.db, rf.rel, rf.fork, 0}, hi = lo;
    /* block numbers past 2^32 - 1 are in no summary */
    lo.block = f->base > UINT32_MAX ? UINT32_MAX : (uint32_t)f->base;
    size_t a = lower_bound(&s->blocks, &lo), b;
    if (end > UINT32_MAX) {
        hi.fork++;
        b = lower_bound(&s->blocks, &hi);
    } else {
        hi.block = (uint32_t)end;
        b = lower_bound(&s->blocks, &hi);
    }
    f->first = s->blocks.v + a;
    f->count = b - a;
    f->state = f->count == 0 && f->limit >= end ? WD_SUMMARY_UNCHANGED : WD_SUMMARY_SOME;
    return f->state;
}

bool wd_summary_block_changed(const wd_summary_file *f, uint64_t block)
{
    if (f->state == WD_SUMMARY_ALL || block >= f->seg_blocks)
        return true;
    if (f->state == WD_SUMMARY_UNCHANGED)
        return false;
    uint64_t abs = f->base + block;
    if (abs >= f->limit)
        return true;
    const entry *v = f->first;
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].block < abs)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->count && v[lo].block == abs;
}
