/*
 * test_timelines.c - archive/timelines.c without a repository: history
 * files parsed strictly, and the timeline a restore follows, table-driven
 * over the shapes an archive takes (one timeline, a disaster recovery, a
 * stray copy with and without segments, both growing, two children, a
 * missing history file, an expired ancestor), and a backup's reach along a
 * timeline's history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "common/common.h"
#include "testutil.h"
#include "walden/walden.h"

#define SEG (16u << 20)

static void test_history_parse(void **state)
{
    (void)state;
    walden_timeline tl = {.timeline = 3};
    const char text[] = "# comment\n1\t0/5000000\tno recovery target specified\n\n"
                        "2\t0/9000000\tno recovery target specified\n";
    assert_int_equal(wd_timeline_history_parse(&tl, "00000003.history", text, strlen(text)), 0);
    assert_int_equal(tl.n_history, 2);
    assert_int_equal(tl.history[0].timeline, 1);
    assert_int_equal(tl.history[0].lsn, 0x5000000);
    assert_int_equal(tl.parent, 2);
    assert_int_equal(tl.branch_lsn, 0x9000000);
    wd_free(tl.history);

    static const char *const bad[] = {
        "",                                /* no parent */
        "3\t0/5000000\tself\n",            /* not below the timeline */
        "2\t0/5000000\tx\n1\t0/6000000\n", /* timelines not ascending */
        "1\t0/9000000\tx\n2\t0/5000000\n", /* switch points decreasing */
        "1 0/ZZ\n",                        /* not an LSN */
        "x\t0/5000000\n",                  /* not a timeline */
        "1\n",                             /* no LSN */
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++) {
        walden_timeline b = {.timeline = 3};
        assert_int_equal(wd_timeline_history_parse(&b, "00000003.history", bad[i], strlen(bad[i])),
                         WALDEN_ECORRUPT);
        assert_non_null(strstr(walden_error_last()->message, "00000003.history"));
        wd_free(b.history);
    }
    walden_timeline nul = {.timeline = 3};
    assert_int_equal(wd_timeline_history_parse(&nul, "00000003.history", "1\t0/1\0", 6),
                     WALDEN_ECORRUPT);
    wd_free(nul.history);
}

/* One timeline of a case: its number, its history ("P:LSN,P:LSN" or ""),
 * whether its history file is there, its newest segment ("" none) and its
 * newest backup. */
typedef struct tl_spec {
    uint32_t tli;
    const char *history;
    int has_history;
    const char *newest_wal;
    const char *backup;
} tl_spec;

typedef struct tl_case {
    const char *name;
    tl_spec tl[4];
    uint64_t newest_start; /* the newest backup's start LSN */
    uint32_t follow;       /* 0: refused */
    const char *reason;    /* a part of follow_reason */
    uint32_t stray;        /* the timeline flagged stray, 0: none */
} tl_case;

static walden_timelines *build(const tl_spec *spec)
{
    walden_timelines *t = wd_calloc(1, sizeof(*t));
    assert_non_null(t);
    t->v = wd_calloc(4, sizeof(*t->v));
    assert_non_null(t->v);
    for (size_t i = 0; i < 4 && spec[i].tli; i++) {
        walden_timeline *tl = &t->v[t->n++];
        tl->timeline = spec[i].tli;
        tl->has_history = spec[i].has_history;
        snprintf(tl->newest_wal, sizeof(tl->newest_wal), "%s", spec[i].newest_wal);
        tl->segments = spec[i].newest_wal[0] ? 1 : 0;
        snprintf(tl->newest_backup, sizeof(tl->newest_backup), "%s", spec[i].backup);
        char text[256] = "";
        const char *p = spec[i].history;
        while (*p) {
            unsigned parent;
            char lsn[32];
            int used = 0;
            assert_int_equal(sscanf(p, "%u:%31[^,]%n", &parent, lsn, &used), 2);
            snprintf(text + strlen(text), sizeof(text) - strlen(text), "%u\t%s\treason\n", parent,
                     lsn);
            p += used + (p[used] == ',');
        }
        if (*text)
            assert_int_equal(wd_timeline_history_parse(tl, "history", text, strlen(text)), 0);
    }
    return t;
}

static const tl_case cases[] = {
    {"one timeline",
     {{1, "", 0, "000000010000000000000009", "B1"}},
     0x5000000,
     1,
     "the archive has one timeline (1)",
     0},
    {"disaster recovery: the parent stops in the branch's segment",
     {{1, "", 0, "000000010000000000000005", "B1"},
      {2, "1:0/5000100", 1, "000000020000000000000008", ""}},
     0x2000000,
     2,
     "timeline 1 has no segment after that point: following timeline 2",
     2},
    {"disaster recovery at a segment boundary: the parent's last segment is the one before",
     {{1, "", 0, "000000010000000000000004", "B1"},
      {2, "1:0/5000000", 1, "000000020000000000000006", "B2"}},
     0x2000000,
     2,
     "following timeline 2",
     0},
    {"stray copy with only its history file: production goes on",
     {{1, "", 0, "000000010000000000000009", "B1"}, {2, "1:0/5000100", 1, "", ""}},
     0x2000000,
     1,
     "timeline 2 branched off timeline 1 at 0/5000100 but has no segment while timeline 1 goes on",
     2},
    {"stray copy archiving while production goes on: refused",
     {{1, "", 0, "000000010000000000000006", "B1"},
      {2, "1:0/5000100", 1, "000000020000000000000007", ""}},
     0x2000000,
     0,
     "timelines 1 and 2 both grow after timeline 2 branched off timeline 1 at 0/5000100",
     2},
    {"a segment boundary branch: the parent's next segment is growth",
     {{1, "", 0, "000000010000000000000005", "B1"},
      {2, "1:0/5000000", 1, "000000020000000000000005", "B2"}},
     0x2000000,
     0,
     "choose with --target-timeline 1 or --target-timeline 2",
     0},
    {"two children that both grow",
     {{1, "", 0, "000000010000000000000005", "B1"},
      {2, "1:0/5000100", 1, "000000020000000000000006", ""},
      {3, "1:0/5000100", 1, "000000030000000000000007", ""}},
     0x6000000,
     0,
     "timelines 2 and 3 both branched off timeline 1 and both grow",
     0},
    {"two children, one without segments: the one that grows",
     {{1, "", 0, "000000010000000000000005", "B1"},
      {2, "1:0/5000100", 1, "000000020000000000000006", ""},
      {3, "1:0/5000100", 1, "", ""}},
     0x6000000,
     2,
     "following timeline 2",
     0},
    {"a grandchild: the walk goes down two branches",
     {{1, "", 0, "000000010000000000000005", "B1"},
      {2, "1:0/5000100", 1, "000000020000000000000007", "B2"},
      {3, "1:0/5000100,2:0/7000100", 1, "000000030000000000000009", ""}},
     0x6000000,
     3,
     "following timeline 3",
     3},
    {"a missing history file is refused",
     {{1, "", 0, "000000010000000000000005", "B1"}, {2, "", 0, "000000020000000000000006", ""}},
     0x2000000,
     0,
     "timeline 2 has segments in the archive but its history file 00000002.history is missing",
     0},
    {"the first timeline expired away: its child is the first, it needs no history",
     {{2, "", 0, "00000002000000000000000A", "B2"}, {3, "1:0/5000100,2:0/9000100", 1, "", ""}},
     0x8000000,
     2,
     "timeline 3 branched off timeline 2 at 0/9000100 but has no segment",
     3},
};

static void test_choice(void **state)
{
    (void)state;
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        const tl_case *c = &cases[i];
        walden_timelines *t = build(c->tl);
        wd_timelines_settle(t, SEG, c->newest_start, true);
        if (t->follow != c->follow || !strstr(t->follow_reason, c->reason))
            fail_msg("%s: follows %u (%s), expected %u (%s)", c->name, t->follow, t->follow_reason,
                     c->follow, c->reason);
        for (size_t k = 0; k < t->n; k++)
            if (t->v[k].stray != (t->v[k].timeline == c->stray))
                fail_msg("%s: timeline %u stray %d", c->name, t->v[k].timeline, t->v[k].stray);
        uint32_t follow = 99;
        char why[1100];
        int rc = wd_timeline_choose(t, NULL, &follow, why, sizeof(why));
        if (c->follow) {
            assert_int_equal(rc, 0);
            assert_int_equal(follow, c->follow);
        } else {
            assert_true(rc == WALDEN_ERROR || rc == WALDEN_ENOTFOUND);
            assert_non_null(strstr(walden_error_last()->message, c->reason));
        }
        walden_timelines_free(t);
    }
}

static void test_requested(void **state)
{
    (void)state;
    const tl_spec spec[] = {{1, "", 0, "000000010000000000000009", "B1"},
                            {2, "1:0/5000100", 1, "000000020000000000000007", ""},
                            {3, "", 0, "000000030000000000000008", ""},
                            {0, NULL, 0, NULL, NULL}};
    walden_timelines *t = build(spec);
    wd_timelines_settle(t, SEG, 0x2000000, true);
    uint32_t follow;
    char why[1100];
    assert_int_equal(wd_timeline_choose(t, "2", &follow, why, sizeof(why)), 0);
    assert_int_equal(follow, 2);
    assert_int_equal(wd_timeline_choose(t, "1", &follow, why, sizeof(why)), 0);
    assert_int_equal(follow, 1);
    assert_int_equal(wd_timeline_choose(t, "3", &follow, why, sizeof(why)), WALDEN_ENOTFOUND);
    assert_non_null(strstr(walden_error_last()->message, "00000003.history"));
    assert_int_equal(wd_timeline_choose(t, "7", &follow, why, sizeof(why)), WALDEN_ENOTFOUND);
    assert_non_null(strstr(walden_error_last()->message, "timeline 7 is not in the archive"));
    assert_int_equal(wd_timeline_choose(t, "current", &follow, why, sizeof(why)), 0);
    assert_int_equal(follow, 0);
    /* the newest timeline's history is missing: 'latest' cannot follow it */
    assert_int_equal(wd_timeline_choose(t, "latest", &follow, why, sizeof(why)), WALDEN_ENOTFOUND);

    /* a backup's reach along timeline 2: on 2, or on 1 ending before 2's branch */
    assert_true(wd_timeline_reaches(t, 2, 0x9000000, 2));
    assert_true(wd_timeline_reaches(t, 1, 0x5000100, 2));
    assert_false(wd_timeline_reaches(t, 1, 0x5000101, 2));
    assert_false(wd_timeline_reaches(t, 2, 0x1000000, 1));
    assert_false(wd_timeline_reaches(t, 1, 0x1000000, 3)); /* 3's history is unknown */
    assert_int_equal(wd_timeline_skip(t, "B9", 1, 0x6000000, 2, false), 1);
    assert_int_equal(wd_timeline_skip(t, "B9", 1, 0x6000000, 2, true), WALDEN_EINVAL);
    assert_non_null(
        strstr(walden_error_last()->message, "backup B9 cannot recover along timeline 2"));
    assert_int_equal(wd_timeline_skip(t, "B8", 1, 0x4000000, 2, true), 0);
    walden_timelines_free(t);

    /* an empty archive: nothing to choose, the backup's choice speaks */
    walden_timelines empty = {0};
    wd_timelines_settle(&empty, SEG, 0, false);
    assert_int_equal(empty.follow, 0);
    assert_int_equal(wd_timeline_choose(&empty, NULL, &follow, why, sizeof(why)), 0);
    assert_int_equal(follow, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_parse),
        cmocka_unit_test(test_choice),
        cmocka_unit_test(test_requested),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
