/*
 * retention.c - the retention policy engine: catalogue + policy + now in,
 * a plan with a reason for every decision out. See retention.h for the
 * contract and docs/internals/retention.md for the rules.
 *
 * Invariants the code keeps (and asserts where cheap):
 * - when a usable backup exists, the newest one is kept (the window rule
 *   alone guarantees it: it is either inside the window or the newest one
 *   not newer than the window start);
 * - a kept incr/diff has its whole prior chain kept (as far as it exists);
 * - no failed or incomplete backup is kept, no failed dump; a backup whose
 *   chain is broken is kept only while inside the window (WR_WHY_BROKEN_KEPT:
 *   a chain whose full is gone is not deleted on the spot, it may be put
 *   back), and never counts as usable;
 * - all WAL from the lowest start segment of the usable kept backups on is
 *   kept.
 * Passes run over the backups sorted by time (stop, start, id), never by
 * timeline, and write the reasons in a fixed order, so the plan does not
 * depend on the catalogue's order.
 */
#include "retention.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define KEEP_BITS                                                                                  \
    (WR_WHY_WINDOW | WR_WHY_WINDOW_START | WR_WHY_FULL_MIN | WR_WHY_DAILY | WR_WHY_WEEKLY |        \
     WR_WHY_MONTHLY | WR_WHY_PRIOR | WR_WHY_BROKEN_KEPT)

void wr_policy_default(wr_policy *policy)
{
    assert(policy);
    memset(policy, 0, sizeof(*policy));
    policy->window = WR_DEFAULT_WINDOW;
    policy->full_min = WR_DEFAULT_FULL_MIN;
    policy->dump_window = WR_DEFAULT_DUMP_WINDOW;
}

int wr_backup_type_parse(const char *text, wr_backup_type *out)
{
    static const char *const names[] = {"full", "incr", "diff"};
    for (size_t i = 0; text && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (wr_backup_type)i;
            return WR_OK;
        }
    return WR_EINVAL;
}

int wr_backup_status_parse(const char *text, wr_backup_status *out)
{
    static const char *const names[] = {"ok", "errors", "failed", "incomplete"};
    for (size_t i = 0; text && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (wr_backup_status)i;
            return WR_OK;
        }
    return WR_EINVAL;
}

/* ---- small helpers ---- */

static int fail(char *err, size_t err_size, int code, const char *fmt, ...) WR_PRINTF(4, 5);
static int fail(char *err, size_t err_size, int code, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Appends one reason ("; "-joined) and its bit. A reason too long for the
 * buffer is cut; the bits stay exact. */
static void why_add(wr_decision *d, unsigned bit, const char *fmt, ...) WR_PRINTF(3, 4);
static void why_add(wr_decision *d, unsigned bit, const char *fmt, ...)
{
    d->why |= bit;
    size_t len = strlen(d->reason);
    if (len > 0 && len + 2 < sizeof(d->reason)) {
        memcpy(d->reason + len, "; ", 3);
        len += 2;
    }
    if (len + 1 >= sizeof(d->reason))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->reason + len, sizeof(d->reason) - len, fmt, ap);
    va_end(ap);
}

/* a - b for b >= 0, saturating at INT64_MIN: a huge window never overflows */
static int64_t sat_sub(int64_t a, int64_t b)
{
    return a < INT64_MIN + b ? INT64_MIN : a - b;
}

/* "30d", "12h", "90m", "45s": the largest unit that divides exactly, in
 * the units the configuration accepts (weeks are shown as days). */
static void fmt_duration(char *buf, size_t size, int64_t s)
{
    if (s > 0 && s % WR_DAY == 0)
        snprintf(buf, size, "%" PRId64 "d", s / WR_DAY);
    else if (s > 0 && s % 3600 == 0)
        snprintf(buf, size, "%" PRId64 "h", s / 3600);
    else if (s > 0 && s % 60 == 0)
        snprintf(buf, size, "%" PRId64 "m", s / 60);
    else
        snprintf(buf, size, "%" PRId64 "s", s);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 <-> proleptic Gregorian date (H. Hinnant's
 * algorithms), exact for every int64 time. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

enum gfs_kind { GFS_DAY, GFS_WEEK, GFS_MONTH };

/* The UTC calendar bucket of time t: a key that grows with t, and its
 * label ("2026-11-20", "2026-W47", "2026-11"). */
static int64_t gfs_bucket(enum gfs_kind kind, int64_t t, char *label, size_t size)
{
    int64_t days = floor_div(t, WR_DAY), y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    switch (kind) {
    case GFS_DAY:
        snprintf(label, size, "%04" PRId64 "-%02d-%02d", y, m, d);
        return days;
    case GFS_WEEK: {
        /* ISO 8601: weeks start on Monday; a week belongs to the year of
         * its Thursday. 1970-01-01 was a Thursday. */
        int64_t monday_based = floor_div(days + 3, 7) * 7 - 3; /* this week's Monday */
        int64_t thursday = monday_based + 3, iso_year;
        civil_from_days(thursday, &iso_year, &m, &d);
        int64_t week = (thursday - days_from_civil(iso_year, 1, 1)) / 7 + 1;
        snprintf(label, size, "%04" PRId64 "-W%02d", iso_year, (int)week);
        return monday_based;
    }
    case GFS_MONTH:
    default:
        snprintf(label, size, "%04" PRId64 "-%02d", y, m);
        return y * 12 + (m - 1);
    }
}

/* Parses a segment name into its timeline and segment number. */
static bool wal_parse(const char *name, uint64_t per_xlogid, uint32_t *tli, uint64_t *segno)
{
    if (!name || strlen(name) != WR_WAL_NAME_LEN)
        return false;
    uint32_t part[3] = {0, 0, 0};
    for (int i = 0; i < WR_WAL_NAME_LEN; i++) {
        char c = name[i];
        uint32_t v;
        if (c >= '0' && c <= '9')
            v = (uint32_t)(c - '0');
        else if (c >= 'A' && c <= 'F')
            v = (uint32_t)(c - 'A' + 10);
        else
            return false; /* PostgreSQL writes upper case only */
        part[i / 8] = part[i / 8] << 4 | v;
    }
    if (part[2] >= per_xlogid)
        return false;
    *tli = part[0];
    *segno = (uint64_t)part[1] * per_xlogid + part[2];
    return true;
}

static void wal_name(char out[WR_WAL_NAME_LEN + 1], uint32_t tli, uint64_t segno,
                     uint64_t per_xlogid)
{
    snprintf(out, WR_WAL_NAME_LEN + 1, "%08" PRIX32 "%08" PRIX32 "%08" PRIX32, tli,
             (uint32_t)(segno / per_xlogid), (uint32_t)(segno % per_xlogid));
}

static int cmp_time(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

/* Backups oldest first: stop time, start time, id. */
static int cmp_backup_time(const void *pa, const void *pb)
{
    const wr_backup *a = *(const wr_backup *const *)pa, *b = *(const wr_backup *const *)pb;
    int c = cmp_time(a->stop_time, b->stop_time);
    if (!c)
        c = cmp_time(a->start_time, b->start_time);
    if (!c)
        c = strcmp(a->id, b->id);
    return c;
}

static int cmp_backup_id(const void *pa, const void *pb)
{
    const wr_backup *a = *(const wr_backup *const *)pa, *b = *(const wr_backup *const *)pb;
    return strcmp(a->id, b->id);
}

/* Dumps by database, then oldest first; equal dumps by catalogue order, so
 * the result does not depend on qsort's stability. */
static int cmp_dump(const void *pa, const void *pb)
{
    const wr_dump *a = *(const wr_dump *const *)pa, *b = *(const wr_dump *const *)pb;
    int c = strcmp(a->database, b->database);
    if (!c)
        c = cmp_time(a->stop_time, b->stop_time);
    if (!c)
        c = cmp_time(a->start_time, b->start_time);
    if (!c)
        c = strcmp(a->id, b->id);
    if (!c)
        c = (a > b) - (a < b);
    return c;
}

static int cmp_oldest(const void *pa, const void *pb)
{
    const wr_wal_oldest *a = pa, *b = pb;
    if (a->timeline != b->timeline)
        return a->timeline < b->timeline ? -1 : 1;
    /* same timeline and segment size: name order is segment order */
    return strcmp(a->segment, b->segment);
}

/* One block carved into arrays: one allocation, one free. */
#define WR_ALIGN 16
static size_t round_up(size_t n)
{
    return (n + WR_ALIGN - 1) / WR_ALIGN * WR_ALIGN;
}
static void *carve(char **p, size_t n, size_t size)
{
    void *r = *p;
    *p += round_up(n * size);
    return r;
}

/* ---- scratch state of one build ---- */

enum broken { CHAIN_OK, CHAIN_MISSING, CHAIN_UNUSABLE, CHAIN_NOT_OLDER };

typedef struct build {
    const wr_catalog *cat;
    const wr_policy *pol;
    wr_plan *plan;
    uint64_t per_xlogid;
    char window[32], dump_window[32]; /* formatted durations */
    /* scratch, indexed by catalogue position unless said otherwise */
    const wr_backup **by_time; /* oldest first */
    const wr_backup **by_id;
    bool *usable;
    unsigned char *broken; /* enum broken */
    long *prior;           /* catalogue index of the prior, -1 when missing */
    size_t *rank;          /* position in by_time */
    uint64_t *start_seg;   /* usable backups only */
    uint64_t *wal_first, *wal_last;
    const wr_dump **dumps; /* by database, oldest first */
} build;

static size_t bidx(const build *s, const wr_backup *b)
{
    return (size_t)(b - s->cat->backups);
}

static int validate(build *s, char *err, size_t err_size)
{
    const wr_catalog *cat = s->cat;
    const wr_policy *pol = s->pol;
    if (pol->window < 0)
        return fail(err, err_size, WR_EINVAL, "retention window is negative (%" PRId64 ")",
                    pol->window);
    if (pol->dump_window < 0)
        return fail(err, err_size, WR_EINVAL, "dump retention window is negative (%" PRId64 ")",
                    pol->dump_window);

    for (size_t i = 0; i < cat->n_backups; i++) {
        const wr_backup *b = &cat->backups[i];
        if (!b->id || !*b->id)
            return fail(err, err_size, WR_EINVAL, "backup #%zu has no id", i);
        if (b->type != WR_BACKUP_FULL && b->type != WR_BACKUP_INCR && b->type != WR_BACKUP_DIFF)
            return fail(err, err_size, WR_EINVAL, "backup '%s' has an unknown type", b->id);
        if (b->status != WR_BACKUP_OK && b->status != WR_BACKUP_ERRORS &&
            b->status != WR_BACKUP_FAILED && b->status != WR_BACKUP_INCOMPLETE)
            return fail(err, err_size, WR_EINVAL, "backup '%s' has an unknown status", b->id);
        if (b->type == WR_BACKUP_FULL && b->prior)
            return fail(err, err_size, WR_EINVAL, "full backup '%s' names a prior backup", b->id);
        if (b->type != WR_BACKUP_FULL && (!b->prior || !*b->prior))
            return fail(err, err_size, WR_EINVAL, "backup '%s' names no prior backup", b->id);
        if (b->status == WR_BACKUP_OK || b->status == WR_BACKUP_ERRORS) {
            uint32_t tli;
            if (!wal_parse(b->start_wal, s->per_xlogid, &tli, &s->start_seg[i]))
                return fail(err, err_size, WR_EINVAL,
                            "backup '%s': start WAL '%s' is not a segment name", b->id,
                            b->start_wal ? b->start_wal : "(null)");
        }
        s->by_id[i] = s->by_time[i] = b;
    }
    if (cat->n_backups > 1) {
        qsort(s->by_id, cat->n_backups, sizeof(*s->by_id), cmp_backup_id);
        for (size_t i = 1; i < cat->n_backups; i++)
            if (strcmp(s->by_id[i - 1]->id, s->by_id[i]->id) == 0)
                return fail(err, err_size, WR_EINVAL, "backup id '%s' appears twice",
                            s->by_id[i]->id);
    }

    for (size_t i = 0; i < cat->n_dumps; i++) {
        const wr_dump *d = &cat->dumps[i];
        if (!d->id || !*d->id || !d->database)
            return fail(err, err_size, WR_EINVAL, "dump #%zu has no id or no database", i);
        if (d->status != WR_DUMP_OK && d->status != WR_DUMP_FAILED)
            return fail(err, err_size, WR_EINVAL, "dump '%s' has an unknown status", d->id);
        s->dumps[i] = d;
    }

    for (size_t i = 0; i < cat->n_wal; i++) {
        const wr_wal_range *r = &cat->wal[i];
        uint32_t t1, t2;
        if (!wal_parse(r->first, s->per_xlogid, &t1, &s->wal_first[i]) ||
            !wal_parse(r->last, s->per_xlogid, &t2, &s->wal_last[i]))
            return fail(err, err_size, WR_EINVAL, "WAL range %s..%s: not segment names",
                        r->first ? r->first : "(null)", r->last ? r->last : "(null)");
        if (t1 != r->timeline || t2 != r->timeline)
            return fail(err, err_size, WR_EINVAL, "WAL range %s..%s is not on timeline %" PRIu32,
                        r->first, r->last, r->timeline);
        if (s->wal_first[i] > s->wal_last[i])
            return fail(err, err_size, WR_EINVAL, "WAL range %s..%s ends before it starts",
                        r->first, r->last);
    }
    return WR_OK;
}

/* Which backups can be restored: ok/errors, and for incr/diff a usable
 * prior that is older. Runs oldest first, so a prior is judged before the
 * backups that depend on it, and a cycle cannot make anything usable. */
static void judge_usable(build *s)
{
    size_t n = s->cat->n_backups;
    for (size_t r = 0; r < n; r++)
        s->rank[bidx(s, s->by_time[r])] = r;
    for (size_t r = 0; r < n; r++) {
        const wr_backup *b = s->by_time[r];
        size_t i = bidx(s, b);
        s->prior[i] = -1;
        s->broken[i] = CHAIN_OK;
        s->usable[i] = b->status == WR_BACKUP_OK || b->status == WR_BACKUP_ERRORS;
        if (b->type == WR_BACKUP_FULL)
            continue;
        wr_backup key = {.id = b->prior};
        const wr_backup *kp = &key;
        const wr_backup **found = bsearch(&kp, s->by_id, n, sizeof(*s->by_id), cmp_backup_id);
        if (!found) {
            s->broken[i] = CHAIN_MISSING;
        } else {
            size_t p = bidx(s, *found);
            s->prior[i] = (long)p;
            if (s->rank[p] >= r)
                s->broken[i] = CHAIN_NOT_OLDER;
            else if (!s->usable[p])
                s->broken[i] = CHAIN_UNUSABLE;
        }
        if (s->broken[i] != CHAIN_OK)
            s->usable[i] = false;
    }
}

static bool status_ok(const wr_backup *b)
{
    return b->status == WR_BACKUP_OK || b->status == WR_BACKUP_ERRORS;
}

/* Why backup i's chain is broken: "prior X missing", "prior X not
 * usable", "prior X is not older". */
static void broken_words(const build *s, size_t i, char *out, size_t size)
{
    static const char *const words[] = {"", "missing", "not usable", "is not older"};
    snprintf(out, size, "prior %s %s", s->cat->backups[i].prior, words[s->broken[i]]);
}

static void keep_gfs(build *s, enum gfs_kind kind, uint32_t count, unsigned bit, const char *word)
{
    if (count == 0)
        return;
    uint32_t seen = 0;
    int64_t last_key = 0;
    for (size_t r = s->cat->n_backups; r-- > 0 && seen < count;) {
        const wr_backup *b = s->by_time[r];
        size_t i = bidx(s, b);
        if (!s->usable[i])
            continue;
        char label[48];
        int64_t key = gfs_bucket(kind, b->stop_time, label, sizeof(label));
        if (seen > 0 && key == last_key)
            continue; /* an older backup of a bucket already served */
        last_key = key;
        seen++;
        why_add(&s->plan->backups[i], bit, "%s %s (%" PRIu32 " of %" PRIu32 ")", word, label, seen,
                count);
    }
}

static void plan_backups(build *s)
{
    size_t n = s->cat->n_backups;
    wr_decision *dec = s->plan->backups;
    int64_t ws = s->plan->window_start;

    /* 1. the window: everything inside, and the newest backup that is not
     * newer than the window start, from which the start can be reached */
    for (size_t r = n; r-- > 0;) {
        const wr_backup *b = s->by_time[r];
        size_t i = bidx(s, b);
        if (!s->usable[i])
            continue;
        if (b->stop_time > ws) {
            why_add(&dec[i], WR_WHY_WINDOW, "inside the %s window", s->window);
            continue;
        }
        if (b->stop_time == ws)
            why_add(&dec[i], WR_WHY_WINDOW_START, "ends at the %s window start: restores to it",
                    s->window);
        else
            why_add(&dec[i], WR_WHY_WINDOW_START,
                    "newest backup older than the %s window: needed to restore to the window "
                    "start",
                    s->window);
        break;
    }

    /* 2. the newest full_min full backups, whatever their age */
    uint32_t fulls = 0;
    for (size_t r = n; r-- > 0 && fulls < s->pol->full_min;) {
        const wr_backup *b = s->by_time[r];
        size_t i = bidx(s, b);
        if (!s->usable[i] || b->type != WR_BACKUP_FULL)
            continue;
        fulls++;
        why_add(&dec[i], WR_WHY_FULL_MIN, "retention-full-min %" PRIu32, s->pol->full_min);
    }

    /* 3. grandfather-father-son, by union */
    keep_gfs(s, GFS_DAY, s->pol->gfs_daily, WR_WHY_DAILY, "daily");
    keep_gfs(s, GFS_WEEK, s->pol->gfs_weekly, WR_WHY_WEEKLY, "weekly");
    keep_gfs(s, GFS_MONTH, s->pol->gfs_monthly, WR_WHY_MONTHLY, "monthly");

    /* 4. broken chains inside the window stay: deleting them at once would
     * make a chain whose full went missing unrepairable (step 5 says why
     * the older ones go) */
    for (size_t r = n; r-- > 0;) {
        const wr_backup *b = s->by_time[r];
        size_t i = bidx(s, b);
        if (s->broken[i] == CHAIN_OK || !status_ok(b) || b->stop_time <= ws)
            continue;
        char why[WR_REASON_MAX];
        broken_words(s, i, why, sizeof(why));
        why_add(&dec[i], WR_WHY_BROKEN_KEPT,
                "cannot be restored (%s): kept while inside the %s window, so that its chain "
                "can be repaired",
                why, s->window);
    }

    /* 5. prior chains: newest first, so a prior kept here is seen later
     * (it is older) and keeps its own prior in turn. A broken chain kept by
     * step 4 keeps the members it has that are not failed. */
    for (size_t r = n; r-- > 0;) {
        size_t i = bidx(s, s->by_time[r]);
        if (!(dec[i].why & KEEP_BITS) || s->prior[i] < 0)
            continue;
        wr_decision *p = &dec[s->prior[i]];
        if (s->usable[i]) {
            if (!(p->why & WR_WHY_PRIOR))
                why_add(p, WR_WHY_PRIOR, "needed by kept backup %s", s->cat->backups[i].id);
        } else if (status_ok(&s->cat->backups[s->prior[i]]) && s->rank[s->prior[i]] < r &&
                   !(p->why & (WR_WHY_PRIOR | WR_WHY_BROKEN_KEPT))) {
            assert(!s->usable[s->prior[i]]);
            char why[WR_REASON_MAX];
            broken_words(s, (size_t)s->prior[i], why, sizeof(why));
            why_add(p, WR_WHY_BROKEN_KEPT,
                    "cannot be restored (%s): kept with backup %s of its chain", why,
                    s->cat->backups[i].id);
        }
    }

    /* 6. everything else expires; a broken chain older than the window
     * too: the window is what it would have been kept for */
    for (size_t i = 0; i < n; i++) {
        const wr_backup *b = &s->cat->backups[i];
        if (dec[i].why & KEEP_BITS) {
            assert(s->usable[i] || dec[i].why == WR_WHY_BROKEN_KEPT);
            dec[i].keep = true;
            s->plan->backups_kept++;
            continue;
        }
        s->plan->backups_expired++;
        if (b->status == WR_BACKUP_FAILED || b->status == WR_BACKUP_INCOMPLETE)
            why_add(&dec[i], WR_WHY_NOT_USABLE, "not usable (%s)",
                    b->status == WR_BACKUP_FAILED ? "failed" : "incomplete");
        else if (s->broken[i] != CHAIN_OK) {
            char why[WR_REASON_MAX];
            broken_words(s, i, why, sizeof(why));
            why_add(&dec[i], WR_WHY_BROKEN, "not usable: %s; older than the %s window", why,
                    s->window);
        } else
            why_add(&dec[i], WR_WHY_OLD, "older than the %s window", s->window);
    }

#ifndef NDEBUG
    for (size_t r = n; r-- > 0;) {
        size_t i = bidx(s, s->by_time[r]);
        if (s->usable[i]) {
            assert(dec[i].keep); /* the newest usable backup always stays */
            break;
        }
    }
#endif
}

static void plan_dumps(build *s)
{
    size_t n = s->cat->n_dumps;
    int64_t ws = s->plan->dump_window_start;
    if (n > 1)
        qsort(s->dumps, n, sizeof(*s->dumps), cmp_dump);
    /* each database is a run of s->dumps; walk it newest first */
    size_t end = n;
    while (end > 0) {
        size_t begin = end - 1;
        while (begin > 0 && strcmp(s->dumps[begin - 1]->database, s->dumps[end - 1]->database) == 0)
            begin--;
        bool anchored = false;
        for (size_t r = end; r-- > begin;) {
            const wr_dump *d = s->dumps[r];
            wr_decision *dec = &s->plan->dumps[d - s->cat->dumps];
            if (d->status != WR_DUMP_OK)
                why_add(dec, WR_WHY_NOT_USABLE, "not usable (failed)");
            else if (d->stop_time > ws)
                why_add(dec, WR_WHY_WINDOW, "inside the %s dump window", s->dump_window);
            else if (anchored)
                why_add(dec, WR_WHY_OLD, "older than the %s dump window", s->dump_window);
            else {
                anchored = true;
                if (d->stop_time == ws)
                    why_add(dec, WR_WHY_WINDOW_START,
                            "ends at the %s dump window start: restores to it", s->dump_window);
                else
                    why_add(dec, WR_WHY_WINDOW_START,
                            "newest dump of %s older than the %s dump window: needed to restore "
                            "to the window start",
                            d->database, s->dump_window);
            }
            dec->keep = (dec->why & KEEP_BITS) != 0;
            if (dec->keep)
                s->plan->dumps_kept++;
            else
                s->plan->dumps_expired++;
        }
        end = begin;
    }
}

static void plan_wal(build *s)
{
    const wr_catalog *cat = s->cat;
    wr_plan *plan = s->plan;

    /* The lowest start segment of the usable kept backups (a broken chain
     * kept for repair restores nothing); normally the oldest kept backup's.
     * Ties go to the oldest by time. */
    long from = -1;
    for (size_t r = 0; r < cat->n_backups; r++) {
        size_t i = bidx(s, s->by_time[r]);
        if (plan->backups[i].keep && s->usable[i] &&
            (from < 0 || s->start_seg[i] < s->start_seg[from]))
            from = (long)i;
    }
    plan->wal_from_backup = from;
    if (from >= 0)
        snprintf(plan->wal_from, sizeof(plan->wal_from), "%s", cat->backups[from].start_wal);

    for (size_t k = 0; k < cat->n_wal; k++) {
        const wr_wal_range *r = &cat->wal[k];
        wr_wal_decision *w = &plan->wal[k];
        uint64_t first = s->wal_first[k], last = s->wal_last[k];
        uint64_t bound = from >= 0 ? s->start_seg[from] : 0;
        w->timeline = r->timeline;
        if (from < 0 || first >= bound) {
            w->keep = true;
            wal_name(w->keep_first, r->timeline, first, s->per_xlogid);
            wal_name(w->keep_last, r->timeline, last, s->per_xlogid);
            if (from < 0) {
                w->keep_why = WR_WHY_WAL_NO_BACKUP;
                snprintf(w->keep_reason, sizeof(w->keep_reason), "no usable backup: WAL kept");
            }
        } else {
            w->expire = true;
            uint64_t exp_last = last < bound ? last : bound - 1;
            wal_name(w->expire_first, r->timeline, first, s->per_xlogid);
            wal_name(w->expire_last, r->timeline, exp_last, s->per_xlogid);
            w->expire_why = WR_WHY_WAL_BEFORE;
            snprintf(w->expire_reason, sizeof(w->expire_reason),
                     "before the oldest kept backup (%s)", cat->backups[from].id);
            if (last >= bound) {
                w->keep = true;
                wal_name(w->keep_first, r->timeline, bound, s->per_xlogid);
                wal_name(w->keep_last, r->timeline, last, s->per_xlogid);
            }
        }
        if (w->keep && from >= 0) {
            w->keep_why = WR_WHY_WAL_PITR;
            snprintf(w->keep_reason, sizeof(w->keep_reason), "needed by backup %s and later (PITR)",
                     cat->backups[from].id);
        }
        if (w->keep) {
            wr_wal_oldest *o = &plan->wal_oldest[plan->n_wal_oldest++];
            o->timeline = r->timeline;
            memcpy(o->segment, w->keep_first, sizeof(o->segment));
        }
    }

    /* the oldest kept segment of each timeline */
    if (plan->n_wal_oldest > 1) {
        qsort(plan->wal_oldest, plan->n_wal_oldest, sizeof(*plan->wal_oldest), cmp_oldest);
        size_t out = 1;
        for (size_t k = 1; k < plan->n_wal_oldest; k++)
            if (plan->wal_oldest[k].timeline != plan->wal_oldest[out - 1].timeline)
                plan->wal_oldest[out++] = plan->wal_oldest[k];
        plan->n_wal_oldest = out;
    }
}

int wr_plan_build(wr_plan **out, const wr_catalog *catalog, const wr_policy *policy, int64_t now,
                  char *err, size_t err_size)
{
    assert(out && catalog && policy);
    assert(catalog->n_backups == 0 || catalog->backups);
    assert(catalog->n_dumps == 0 || catalog->dumps);
    assert(catalog->n_wal == 0 || catalog->wal);
    *out = NULL;
    if (err && err_size)
        err[0] = '\0';

    uint64_t seg_size =
        catalog->wal_segment_size ? catalog->wal_segment_size : WR_DEFAULT_WAL_SEGMENT_SIZE;
    if (seg_size < (UINT64_C(1) << 20) || seg_size > (UINT64_C(1) << 30) ||
        (seg_size & (seg_size - 1)) != 0)
        return fail(err, err_size, WR_EINVAL,
                    "WAL segment size %" PRIu64 " is not a power of two from 1 MiB to 1 GiB",
                    seg_size);

    size_t nb = catalog->n_backups, nd = catalog->n_dumps, nw = catalog->n_wal;
    /* every array below has at most max(nb, nd, nw) elements of at most
     * 64 bytes, or is a wr_wal_decision: refuse sizes that would overflow */
    size_t big = nb > nd ? nb : nd;
    big = big > nw ? big : nw;
    if (big > SIZE_MAX / 8 / (sizeof(wr_wal_decision) + 64))
        return fail(err, err_size, WR_ENOMEM, "catalogue too large");

    size_t plan_size = round_up(sizeof(wr_plan)) + round_up(nb * sizeof(wr_decision)) +
                       round_up(nd * sizeof(wr_decision)) + round_up(nw * sizeof(wr_wal_decision)) +
                       round_up(nw * sizeof(wr_wal_oldest));
    size_t scratch_size = 2 * round_up(nb * sizeof(wr_backup *)) + round_up(nb * sizeof(bool)) +
                          round_up(nb) + round_up(nb * sizeof(long)) +
                          round_up(nb * sizeof(size_t)) + round_up(nb * sizeof(uint64_t)) +
                          2 * round_up(nw * sizeof(uint64_t)) + round_up(nd * sizeof(wr_dump *));
    char *block = calloc(1, plan_size);
    char *scratch = calloc(1, scratch_size ? scratch_size : 1);
    if (!block || !scratch) {
        free(block);
        free(scratch);
        return fail(err, err_size, WR_ENOMEM, "out of memory for the retention plan");
    }

    char *p = block;
    wr_plan *plan = carve(&p, 1, sizeof(wr_plan));
    plan->backups = carve(&p, nb, sizeof(wr_decision));
    plan->dumps = carve(&p, nd, sizeof(wr_decision));
    plan->wal = carve(&p, nw, sizeof(wr_wal_decision));
    plan->wal_oldest = carve(&p, nw, sizeof(wr_wal_oldest));
    plan->n_backups = nb;
    plan->n_dumps = nd;
    plan->n_wal = nw;
    plan->now = now;
    plan->window_start = sat_sub(now, policy->window < 0 ? 0 : policy->window);
    plan->dump_window_start = sat_sub(now, policy->dump_window < 0 ? 0 : policy->dump_window);
    plan->wal_from_backup = -1;

    build s = {.cat = catalog, .pol = policy, .plan = plan};
    s.per_xlogid = (UINT64_C(1) << 32) / seg_size;
    fmt_duration(s.window, sizeof(s.window), policy->window);
    fmt_duration(s.dump_window, sizeof(s.dump_window), policy->dump_window);
    p = scratch;
    s.by_time = carve(&p, nb, sizeof(wr_backup *));
    s.by_id = carve(&p, nb, sizeof(wr_backup *));
    s.usable = carve(&p, nb, sizeof(bool));
    s.broken = carve(&p, nb, 1);
    s.prior = carve(&p, nb, sizeof(long));
    s.rank = carve(&p, nb, sizeof(size_t));
    s.start_seg = carve(&p, nb, sizeof(uint64_t));
    s.wal_first = carve(&p, nw, sizeof(uint64_t));
    s.wal_last = carve(&p, nw, sizeof(uint64_t));
    s.dumps = carve(&p, nd, sizeof(wr_dump *));

    int rc = validate(&s, err, err_size);
    if (rc == WR_OK) {
        if (nb > 1)
            qsort(s.by_time, nb, sizeof(*s.by_time), cmp_backup_time);
        judge_usable(&s);
        plan_backups(&s);
        plan_dumps(&s);
        plan_wal(&s);
    }
    free(scratch);
    if (rc != WR_OK) {
        free(block);
        return rc;
    }
    *out = plan;
    return WR_OK;
}

void wr_plan_free(wr_plan *plan)
{
    free(plan); /* the plan is the start of its one block */
}
