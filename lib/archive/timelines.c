/*
 * timelines.c - the timelines of the WAL archive and the one a restore
 * follows.
 *
 * A promoted server starts a new timeline and archives its history file
 * (NNNNNNNN.history: one line per ancestor, "timeline<TAB>switch LSN<TAB>
 * reason", the last line being the parent and the branch point). With
 * recovery_target_timeline = 'latest' PostgreSQL follows the newest
 * timeline whose history it can fetch: right after a disaster recovery
 * whose new timeline is production, wrong when a restored copy archived its
 * own timeline into this repository while production went on.
 *
 * The sign that tells them apart is the parent's growth: a timeline
 * "grows past a branch" when the archive holds one of its segments after
 * the segment holding the last byte before the branch point (that segment
 * itself is shared: the child's first segment starts with it). After a
 * disaster recovery the parent stops there; beside a stray copy production
 * archives on. A child grows when it, or a timeline descending from it, has
 * a segment in the archive.
 *
 * The choice walks down from the archive's first timeline: at each branch
 * the parent with no segment past the branch gives way to the child; a
 * parent that grows past a child that grows too is a conflict (refused,
 * naming both, until --target-timeline chooses); a parent that grows past a
 * child without segments keeps being followed. A timeline above the
 * archive's first without its history file makes the choice impossible:
 * PostgreSQL would not know where it branched off, and 'latest' would stay
 * on the parent without a word.
 *
 * Everything read from the repository is untrusted: a history file is read
 * through archive-get's checks (signature, digest) and parsed strictly.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "common/common.h"

typedef struct tl_set {
    walden_timelines *t;
    size_t cap;
} tl_set;

static walden_timeline *tl_add(tl_set *s, uint32_t tli)
{
    for (size_t i = 0; i < s->t->n; i++)
        if (s->t->v[i].timeline == tli)
            return &s->t->v[i];
    walden_timeline *v = wd_array_grow(s->t->v, &s->cap, s->t->n, sizeof(*v), 8);
    if (!v)
        return NULL;
    s->t->v = v;
    walden_timeline *e = &v[s->t->n++];
    memset(e, 0, sizeof(*e));
    e->timeline = tli;
    return e;
}

const walden_timeline *wd_timeline_find(const walden_timelines *t, uint32_t tli)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (t->v[i].timeline == tli)
            return &t->v[i];
    return NULL;
}

/* History files come first in the walk: it stops at the first segment. */
static int collect_history(const walden_wal_entry *e, const char *folder, const char *object,
                           void *ctx)
{
    (void)folder;
    (void)object;
    wd_wal_name n;
    if (wd_wal_name_parse(e->name, &n)) {
        walden_error_clear();
        return 0;
    }
    if (n.kind != WD_WAL_HISTORY)
        return 1;
    walden_timeline *tl = tl_add(ctx, n.tli);
    if (!tl)
        return WALDEN_ENOMEM;
    tl->has_history = 1;
    return 0;
}

int wd_timeline_history_parse(walden_timeline *tl, const char *name, const char *text, size_t len)
{
    size_t cap = 0;
    if (len > WD_WAL_TEXT_MAX || memchr(text, '\0', len))
        return wd_error_set(WALDEN_ECORRUPT, "archived '%s' is not a timeline history file", name);
    for (size_t off = 0, line_no = 1; off < len; line_no++) {
        const char *line = text + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t n = nl ? (size_t)(nl - line) : len - off;
        off += n + (nl != NULL);
        char buf[256];
        size_t skip = 0;
        while (skip < n && (line[skip] == ' ' || line[skip] == '\t'))
            skip++;
        if (skip == n || line[skip] == '#')
            continue;
        snprintf(buf, sizeof(buf), "%.*s", (int)(n - skip), line + skip);
        size_t d = strspn(buf, "0123456789");
        uint64_t tli = 0, lsn = 0;
        char *lsn_text = buf + d + strspn(buf + d, " \t");
        size_t lsn_len = strcspn(lsn_text, " \t\r");
        char lsn_buf[32];
        snprintf(lsn_buf, sizeof(lsn_buf), "%.*s", (int)(lsn_len < 31 ? lsn_len : 31), lsn_text);
        uint32_t prev = tl->n_history ? tl->history[tl->n_history - 1].timeline : 0;
        char tli_text[16];
        snprintf(tli_text, sizeof(tli_text), "%.*s", (int)(d < 15 ? d : 15), buf);
        if (d == 0 || d > 10 || (buf[d] != ' ' && buf[d] != '\t') ||
            wd_parse_uint64(tli_text, &tli) || tli == 0 || tli >= tl->timeline || tli <= prev ||
            lsn_len == 0 || lsn_len > 17 || wd_lsn_parse(lsn_buf, &lsn))
            return wd_error_set(WALDEN_ECORRUPT,
                                "archived '%s' is not a timeline history file (line %zu)", name,
                                line_no);
        walden_timeline_switch *v = wd_array_grow(tl->history, &cap, tl->n_history, sizeof(*v), 4);
        if (!v)
            return WALDEN_ENOMEM;
        tl->history = v;
        tl->history[tl->n_history++] = (walden_timeline_switch){(uint32_t)tli, lsn};
    }
    if (!tl->n_history)
        return wd_error_set(WALDEN_ECORRUPT, "archived '%s' names no parent timeline", name);
    for (size_t i = 1; i < tl->n_history; i++)
        if (tl->history[i].lsn < tl->history[i - 1].lsn)
            return wd_error_set(WALDEN_ECORRUPT, "archived '%s' has switch points out of order",
                                name);
    tl->parent = tl->history[tl->n_history - 1].timeline;
    tl->branch_lsn = tl->history[tl->n_history - 1].lsn;
    return 0;
}

static int read_history(walden_repo *repo, walden_timeline *tl)
{
    char name[32];
    snprintf(name, sizeof(name), "%08X.history", tl->timeline);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = wd_archive_get_memory(repo, name, &data, &len);
    if (!rc)
        rc = wd_timeline_history_parse(tl, name, (const char *)data, len);
    wd_free(data);
    return rc;
}

static uint64_t segno_of(const char *name, uint64_t per_log)
{
    wd_wal_name n;
    if (wd_wal_name_parse(name, &n) || n.kind != WD_WAL_SEGMENT) {
        walden_error_clear();
        return 0;
    }
    return (uint64_t)n.log * per_log + n.seg;
}

static int cmp_tl(const void *a, const void *b)
{
    const walden_timeline *x = a, *y = b;
    return x->timeline < y->timeline ? -1 : x->timeline > y->timeline;
}

/* Whether the parent of `c` has a segment after the one holding the last
 * byte before c's branch point. */
static bool parent_grows(const walden_timelines *t, const walden_timeline *c, uint64_t seg_size,
                         uint64_t per_log)
{
    const walden_timeline *p = wd_timeline_find(t, c->parent);
    if (!p || !p->newest_wal[0])
        return false;
    uint64_t branch_seg = c->branch_lsn ? (c->branch_lsn - 1) / seg_size : 0;
    return segno_of(p->newest_wal, per_log) > branch_seg;
}

/* The walk down from the archive's first timeline (see the top). */
static void decide(walden_timelines *t)
{
    char lsn[WD_LSN_TEXT];
    t->follow = 0;
    if (!t->n) {
        snprintf(t->follow_reason, sizeof(t->follow_reason), "the archive has no timeline");
        return;
    }
    if (t->history_unread) {
        snprintf(t->follow_reason, sizeof(t->follow_reason),
                 "the timeline history files cannot be read without the key");
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].history_missing) {
            snprintf(t->follow_reason, sizeof(t->follow_reason),
                     "timeline %u has %s in the archive but its history file %08X.history is "
                     "missing: where it branched off is unknown, and recovery would stay on "
                     "its parent without a word; put the file back (a server on that timeline "
                     "has it in pg_wal)",
                     t->v[i].timeline, t->v[i].segments ? "segments" : "a backup",
                     t->v[i].timeline);
            return;
        }
    }
    if (t->n == 1) {
        t->follow = t->v[0].timeline;
        snprintf(t->follow_reason, sizeof(t->follow_reason), "the archive has one timeline (%u)",
                 t->follow);
        return;
    }
    wd_buf why = {0};
    const walden_timeline *cur = &t->v[0];
    for (;;) {
        const walden_timeline *next = NULL;
        for (size_t i = 0; i < t->n; i++) {
            const walden_timeline *c = &t->v[i];
            if (c->parent != cur->timeline || !c->has_history)
                continue;
            wd_lsn_format(c->branch_lsn, lsn);
            if (c->grows && c->parent_grows) {
                snprintf(t->follow_reason, sizeof(t->follow_reason),
                         "timelines %u and %u both grow after timeline %u branched off timeline "
                         "%u at %s (timeline %u up to %s, timeline %u up to %s): one is "
                         "production, the other most likely a restored copy that archived here; "
                         "choose with --target-timeline %u or --target-timeline %u",
                         cur->timeline, c->timeline, c->timeline, cur->timeline, lsn, cur->timeline,
                         cur->newest_wal, c->timeline,
                         c->newest_wal[0] ? c->newest_wal : "its descendants", cur->timeline,
                         c->timeline);
                wd_free(why.s);
                return;
            }
            if (c->parent_grows) {
                wd_buf_printf(&why,
                              "%stimeline %u branched off timeline %u at %s but has no segment "
                              "while timeline %u goes on (up to %s): staying on timeline %u",
                              why.len ? "; " : "", c->timeline, cur->timeline, lsn, cur->timeline,
                              cur->newest_wal, cur->timeline);
                continue;
            }
            /* the parent stopped at the branch: the child takes over; of
             * two such children, one that grows, else the newest */
            if (next && next->grows && c->grows) {
                snprintf(t->follow_reason, sizeof(t->follow_reason),
                         "timelines %u and %u both branched off timeline %u and both grow; "
                         "choose with --target-timeline %u or --target-timeline %u",
                         next->timeline, c->timeline, cur->timeline, next->timeline, c->timeline);
                wd_free(why.s);
                return;
            }
            if (!next || c->grows || !next->grows)
                next = c;
        }
        if (!next)
            break;
        wd_lsn_format(next->branch_lsn, lsn);
        wd_buf_printf(&why,
                      "%stimeline %u branched off timeline %u at %s and timeline %u has no "
                      "segment after that point: following timeline %u",
                      why.len ? "; " : "", next->timeline, cur->timeline, lsn, cur->timeline,
                      next->timeline);
        cur = next;
    }
    t->follow = cur->timeline;
    snprintf(t->follow_reason, sizeof(t->follow_reason), "%s", why.s && !why.failed ? why.s : "");
    wd_free(why.s);
}

void wd_timelines_settle(walden_timelines *t, uint64_t seg_size, uint64_t newest_start,
                         bool has_newest)
{
    uint64_t per_log = wd_wal_per_log(seg_size);
    if (t->n > 1)
        qsort(t->v, t->n, sizeof(*t->v), cmp_tl);
    /* every timeline above the archive's first needs its history file */
    for (size_t i = 0; i < t->n; i++)
        t->v[i].history_missing = i > 0 && !t->v[i].has_history;
    /* the parent a restore meets: the nearest ancestor the archive has
     * (an older one's segments may have been expired) */
    for (size_t i = 0; i < t->n; i++) {
        walden_timeline *tl = &t->v[i];
        for (size_t j = tl->n_history; j-- > 0;) {
            if (wd_timeline_find(t, tl->history[j].timeline)) {
                tl->parent = tl->history[j].timeline;
                tl->branch_lsn = tl->history[j].lsn;
                break;
            }
        }
    }
    /* growth: a timeline's own segments, or its descendants' (a child's
     * number is above its parent's, so one pass from the top) */
    for (size_t i = t->n; i-- > 0;) {
        walden_timeline *tl = &t->v[i];
        tl->grows = tl->grows || tl->segments > 0;
        tl->parent_grows = tl->parent && parent_grows(t, tl, seg_size, per_log);
        walden_timeline *p = tl->parent ? (walden_timeline *)wd_timeline_find(t, tl->parent) : NULL;
        if (p && tl->grows)
            p->grows = 1;
        tl->stray =
            tl->parent && !tl->newest_backup[0] && has_newest && tl->branch_lsn > newest_start;
    }
    decide(t);
}

int wd_timelines_read(walden_repo *repo, const walden_wal_summary *wal,
                      const wd_timeline_backup *backups, size_t n_backups, walden_timelines **out)
{
    walden_timelines *t = wd_calloc(1, sizeof(*t));
    if (!t)
        return WALDEN_ENOMEM;
    tl_set s = {t, 0};
    uint64_t per_log = wd_wal_per_log(wal->segment_size);
    int rc = wd_wal_walk(repo, collect_history, &s);
    if (rc == 1)
        rc = 0;
    for (size_t i = 0; !rc && i < wal->n_ranges; i++) {
        const walden_wal_range *r = &wal->ranges[i];
        walden_timeline *tl = tl_add(&s, r->timeline);
        if (!tl) {
            rc = WALDEN_ENOMEM;
            break;
        }
        tl->segments += r->segments;
        if (!tl->newest_wal[0] || segno_of(r->last, per_log) > segno_of(tl->newest_wal, per_log))
            snprintf(tl->newest_wal, sizeof(tl->newest_wal), "%s", r->last);
    }
    const wd_timeline_backup *newest = NULL;
    for (size_t i = 0; !rc && i < n_backups; i++) {
        walden_timeline *tl = tl_add(&s, backups[i].timeline);
        if (!tl) {
            rc = WALDEN_ENOMEM;
            break;
        }
        snprintf(tl->newest_backup, sizeof(tl->newest_backup), "%s", backups[i].id);
        newest = &backups[i]; /* oldest first */
    }
    if (rc)
        goto done;
    if (t->n > 1)
        qsort(t->v, t->n, sizeof(*t->v), cmp_tl);
    /* the history files: needed by every timeline above the first */
    if (t->n && repo->info.encrypted && wd_repo_unlock(repo)) {
        walden_error_clear();
        t->history_unread = 1;
    }
    for (size_t i = 0; i < t->n; i++) {
        walden_timeline *tl = &t->v[i];
        if (!tl->has_history || t->history_unread || tl->timeline == 1)
            continue;
        if ((rc = read_history(repo, tl)))
            goto done;
    }
    wd_timelines_settle(t, wal->segment_size, newest ? newest->start_lsn : 0, newest != NULL);
done:
    if (rc) {
        walden_timelines_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void walden_timelines_free(walden_timelines *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        wd_free(t->v[i].history);
    wd_free(t->v);
    wd_free(t);
}

bool wd_timeline_reaches(const walden_timelines *t, uint32_t tli, uint64_t stop_lsn,
                         uint32_t target)
{
    if (tli == target)
        return true;
    const walden_timeline *g = wd_timeline_find(t, target);
    for (size_t i = 0; g && i < g->n_history; i++)
        if (g->history[i].timeline == tli)
            return stop_lsn <= g->history[i].lsn;
    return false;
}

int wd_timeline_choose(const walden_timelines *t, const char *requested, uint32_t *follow,
                       char *why, size_t cap)
{
    *follow = 0;
    if (requested && strcmp(requested, "current") == 0) {
        snprintf(why, cap, "--target-timeline current: the backup's own timeline");
        return 0;
    }
    if (requested && strcmp(requested, "latest") == 0) {
        const walden_timeline *g = t->n ? &t->v[t->n - 1] : NULL;
        if (g && g->history_missing)
            return wd_error_set(WALDEN_ENOTFOUND,
                                "timeline %u has no history file %08X.history in the archive: "
                                "recovery cannot follow it",
                                g->timeline, g->timeline);
        if (g)
            *follow = g->timeline;
        snprintf(why, cap, "--target-timeline latest: the newest timeline (%u)", *follow);
        return 0;
    }
    if (requested && *requested) {
        uint64_t n = 0;
        if (wd_parse_uint64(requested, &n) || n == 0 || n > UINT32_MAX)
            return wd_error_set(WALDEN_EINVAL, "invalid --target-timeline '%s'", requested);
        const walden_timeline *g = wd_timeline_find(t, (uint32_t)n);
        if (!g)
            return wd_error_set(WALDEN_ENOTFOUND,
                                "timeline %s is not in the archive (no segment, history file "
                                "or backup of it)",
                                requested);
        if (g->history_missing)
            return wd_error_set(WALDEN_ENOTFOUND,
                                "timeline %u has no history file %08X.history in the archive: "
                                "recovery cannot follow it",
                                g->timeline, g->timeline);
        if (t->history_unread && g != &t->v[0])
            return wd_error_set(WALDEN_EKEY, "cannot read timeline %u's history without the key",
                                g->timeline);
        *follow = g->timeline;
        snprintf(why, cap, "--target-timeline %u", g->timeline);
        return 0;
    }
    if (!t->n) { /* nothing archived, no backup: the backup's choice says so */
        snprintf(why, cap, "%s", t->follow_reason);
        return 0;
    }
    if (!t->follow)
        return wd_error_set(t->history_unread                          ? WALDEN_EKEY
                            : strstr(t->follow_reason, "history file") ? WALDEN_ENOTFOUND
                                                                       : WALDEN_ERROR,
                            "cannot choose a timeline: %s", t->follow_reason);
    *follow = t->follow;
    snprintf(why, cap, "%s", t->follow_reason);
    return 0;
}

int wd_timeline_skip(const walden_timelines *t, const char *id, uint32_t tli, uint64_t stop_lsn,
                     uint32_t follow, bool set)
{
    if (!follow || wd_timeline_reaches(t, tli, stop_lsn, follow))
        return 0;
    char lsn[WD_LSN_TEXT];
    wd_lsn_format(stop_lsn, lsn);
    if (set)
        return wd_error_set(WALDEN_EINVAL,
                            "backup %s cannot recover along timeline %u: it is on timeline %u, "
                            "ending at %s, which is not in timeline %u's history before it "
                            "branched off",
                            id, follow, tli, lsn, follow);
    wd_log_warn("skipping backup %s: it is on timeline %u (ending at %s), not on the history of "
                "timeline %u that the restore follows",
                id, tli, lsn, follow);
    return 1;
}

int wd_timeline_problems(const walden_timelines *t, wd_timeline_problem_cb cb, void *ctx)
{
    char object[32], msg[1400], lsn[WD_LSN_TEXT];
    int rc = 0;
    bool missing = false;
    for (size_t i = 0; !rc && i < t->n; i++) {
        const walden_timeline *tl = &t->v[i];
        if (!tl->history_missing)
            continue;
        missing = true;
        snprintf(object, sizeof(object), "%08X.history", tl->timeline);
        snprintf(msg, sizeof(msg),
                 "timeline %u has %s in the archive but its history file %s is missing: restore "
                 "and drill refuse (where it branched off is unknown); put the file back from "
                 "pg_wal of a server on that timeline",
                 tl->timeline, tl->segments ? "segments" : "a backup", object);
        rc = cb(false, object, msg, ctx);
    }
    if (!rc && !missing && !t->follow && !t->history_unread && t->n) {
        snprintf(msg, sizeof(msg), "restore and drill refuse to choose a timeline: %s",
                 t->follow_reason);
        rc = cb(false, "timelines", msg, ctx);
    }
    for (size_t i = 0; !rc && i < t->n; i++) {
        const walden_timeline *tl = &t->v[i];
        if (!tl->stray)
            continue;
        wd_lsn_format(tl->branch_lsn, lsn);
        snprintf(object, sizeof(object), "timeline %u", tl->timeline);
        snprintf(msg, sizeof(msg),
                 "timeline %u branched off timeline %u at %s, after the newest backup started, "
                 "and has no backup of its own: a restored copy archiving into this repository "
                 "(turn its archiving off), or a new production after a disaster recovery (take "
                 "a backup of it)",
                 tl->timeline, tl->parent, lsn);
        rc = cb(false, object, msg, ctx);
    }
    if (!rc && t->history_unread && t->n > 1)
        rc = cb(true, "timelines", "the timeline history files were not read (no key)", ctx);
    return rc;
}
