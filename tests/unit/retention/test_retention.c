/*
 * test_retention.c - retention/retention.c: the retention policy engine.
 *
 * Table-driven: each case is a small catalogue, a policy and "now", with
 * the expected decision for every backup, dump and WAL range: keep or
 * expire, the exact WR_WHY_* bits and a piece of the reason. Every case is
 * also run with the catalogue in reverse order, which must give the same
 * decisions (the plan depends on times, never on catalogue order), and is
 * checked against invariants that hold for any plan.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "retention.h"
#include "testutil.h"

#define D WR_DAY
#define H INT64_C(3600)
#define NOW INT64_C(1795910400)  /* 2026-11-29T00:00:00Z, a Sunday */
#define WS (NOW - 30 * D)        /* the default window's start: 2026-10-30 */
#define NOV1 INT64_C(1793491200) /* 2026-11-01T00:00:00Z */
#define MAXN 10

/* segment names on timelines 1 and 2 (16 MiB segments): 8 more digits */
#define S1(x) "0000000100000000" x
#define S2(x) "0000000200000000" x

#define FULL(i, stop) FULLT(i, 1, stop, S1("00000010"))
#define FULLT(i, tl, stop, wal)                                                                    \
    {                                                                                              \
        .id = i, .type = WR_BACKUP_FULL, .status = WR_BACKUP_OK, .start_time = (stop)-600,         \
        .stop_time = (stop), .timeline = tl, .start_wal = wal                                      \
    }
#define CHILD(i, ty, p, stop)                                                                      \
    {                                                                                              \
        .id = i, .type = ty, .prior = p, .status = WR_BACKUP_OK, .start_time = (stop)-600,         \
        .stop_time = (stop), .timeline = 1, .start_wal = S1("00000010")                            \
    }
#define INCR(i, p, stop) CHILD(i, WR_BACKUP_INCR, p, stop)
#define DIFF(i, p, stop) CHILD(i, WR_BACKUP_DIFF, p, stop)
#define BAD(i, st, stop)                                                                           \
    {                                                                                              \
        .id = i, .type = WR_BACKUP_FULL, .status = st, .start_time = (stop)-600,                   \
        .stop_time = (stop), .timeline = 1                                                         \
    }
#define DUMP(i, db, stop)                                                                          \
    {                                                                                              \
        .id = i, .database = db, .status = WR_DUMP_OK, .start_time = (stop)-60,                    \
        .stop_time = (stop)                                                                        \
    }
#define DUMPF(i, db, stop)                                                                         \
    {                                                                                              \
        .id = i, .database = db, .status = WR_DUMP_FAILED, .start_time = (stop)-60,                \
        .stop_time = (stop)                                                                        \
    }
#define RANGE(tl, a, b)                                                                            \
    {                                                                                              \
        tl, a, b                                                                                   \
    }
/* policies: window, full_min, dump window; GFS set by designated fields */
#define POLICY(w, fm) .policy = {.window = (w), .full_min = (fm), .dump_window = 30 * D}

typedef struct expect {
    bool keep;
    unsigned why;
    const char *reason; /* a substring of the reason */
} expect;
#define K(w, r)                                                                                    \
    {                                                                                              \
        true, (w), r                                                                               \
    }
#define X(w, r)                                                                                    \
    {                                                                                              \
        false, (w), r                                                                              \
    }

typedef struct wal_expect {
    const char *expire_first, *expire_last; /* NULL: nothing expires */
    const char *keep_first, *keep_last;     /* NULL: nothing kept */
    const char *reason;                     /* in the keep or expire reason */
} wal_expect;

typedef struct oldest_expect {
    uint32_t timeline; /* 0 ends the list */
    const char *segment;
} oldest_expect;

typedef struct tcase {
    const char *name;
    wr_policy policy;
    int64_t now;
    uint64_t segment_size;
    wr_backup b[MAXN]; /* until id == NULL */
    expect be[MAXN];
    wr_dump d[MAXN]; /* until id == NULL */
    expect de[MAXN];
    wr_wal_range w[MAXN]; /* until first == NULL */
    wal_expect we[MAXN];
    const char *wal_from; /* id of the backup that starts the kept WAL; NULL: none */
    oldest_expect oldest[4];
} tcase;

#define WIN_START WR_WHY_WINDOW_START
#define WIN WR_WHY_WINDOW
#define OLD WR_WHY_OLD

static const tcase cases[] = {
    /* ---- no data ---- */
    {.name = "empty catalogue", POLICY(30 * D, 1), .now = NOW},

    /* ---- the window's boundary ---- */
    {
        .name = "stop exactly on the window start: it restores to it, no older one needed",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - 5 * D), FULL("B", WS)},
        .be = {X(OLD, "older than the 30d window"),
               K(WIN_START, "ends at the 30d window start: restores to it")},
        .wal_from = "B",
    },
    {
        .name = "stop one second after the window start: the older one is needed",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - 5 * D), FULL("B", WS + 1)},
        .be = {K(WIN_START,
                 "newest backup older than the 30d window: needed to restore to the window start"),
               K(WIN, "inside the 30d window")},
        .wal_from = "A",
    },
    {
        .name = "stop one second before the window start: it is the one needed",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - 5 * D), FULL("B", WS - 1), FULL("C", WS + D)},
        .be = {X(OLD, "older than the 30d window"), K(WIN_START, "newest backup older"),
               K(WIN, "inside")},
    },
    {
        .name = "a backup spanning the window start cannot restore to it",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - 2 * D),
              {.id = "B",
               .status = WR_BACKUP_OK,
               .start_time = WS - 600,
               .stop_time = WS + 600,
               .timeline = 1,
               .start_wal = S1("00000020")}},
        .be = {K(WIN_START, "needed to restore to the window start"), K(WIN, "inside")},
    },
    {
        .name = "everything inside the window is kept",
        POLICY(30 * D, 1),
        .now = NOW,
        .b = {FULL("A", WS + 1), FULL("B", NOW - 10 * D), FULL("C", NOW - 1)},
        .be = {K(WIN, "inside the 30d window"), K(WIN, "inside the 30d window"),
               K(WIN | WR_WHY_FULL_MIN, "retention-full-min 1")},
    },
    {
        .name = "everything old, full_min 1: only the newest stays",
        POLICY(30 * D, 1),
        .now = NOW,
        .b = {FULL("A", WS - 30 * D), FULL("B", WS - 20 * D), FULL("C", WS - 10 * D)},
        .be = {X(OLD, "older than"), X(OLD, "older than"),
               K(WIN_START | WR_WHY_FULL_MIN, "needed to restore to the window start")},
    },
    {
        .name = "everything old, full_min 0: the newest usable backup still stays",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - 30 * D), FULL("B", WS - 20 * D), FULL("C", WS - 10 * D)},
        .be = {X(OLD, "older than"), X(OLD, "older than"), K(WIN_START, "newest backup older")},
    },
    {
        .name = "the only backup, very old, is kept",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - 400 * D)},
        .be = {K(WIN_START, "newest backup older")},
        .wal_from = "A",
    },
    {
        .name = "full_min larger than what the window keeps",
        POLICY(30 * D, 3),
        .now = NOW,
        .b = {FULL("A", WS - 30 * D), FULL("B", WS - 20 * D), FULL("C", WS - 10 * D),
              FULL("D", WS + D)},
        .be = {X(OLD, "older than the 30d window"), K(WR_WHY_FULL_MIN, "retention-full-min 3"),
               K(WIN_START | WR_WHY_FULL_MIN, "retention-full-min 3"),
               K(WIN | WR_WHY_FULL_MIN, "inside the 30d window; retention-full-min 3")},
    },
    {
        .name = "full_min larger than the catalogue keeps everything",
        POLICY(30 * D, 5),
        .now = NOW,
        .b = {FULL("A", WS - 30 * D), FULL("B", WS - 20 * D)},
        .be = {K(WR_WHY_FULL_MIN, "retention-full-min 5"),
               K(WIN_START | WR_WHY_FULL_MIN, "retention-full-min 5")},
    },
    {
        .name = "full_min counts full backups only",
        POLICY(30 * D, 2),
        .now = NOW,
        .b = {FULL("F1", WS - 40 * D), INCR("I1", "F1", WS - 39 * D), FULL("F2", WS - 38 * D),
              INCR("I2", "F2", WS - 37 * D)},
        .be = {K(WR_WHY_FULL_MIN, "retention-full-min 2"), X(OLD, "older than"),
               K(WR_WHY_FULL_MIN | WR_WHY_PRIOR, "needed by kept backup I2"),
               K(WIN_START, "newest backup older")},
    },
    {
        .name = "window 0 keeps only what restores to now",
        POLICY(0, 0),
        .now = NOW,
        .b = {FULL("A", NOW - 3 * D), FULL("B", NOW - 2 * D), FULL("C", NOW - D)},
        .be = {X(OLD, "older than the 0s window"), X(OLD, "older than the 0s window"),
               K(WIN_START, "needed to restore to the window start")},
    },
    {
        .name = "a window in hours is shown in hours",
        POLICY(36 * H, 0),
        .now = NOW,
        .b = {FULL("A", NOW - 3 * D), FULL("B", NOW - 2 * D), FULL("C", NOW - H)},
        .be = {X(OLD, "older than the 36h window"), K(WIN_START, "older than the 36h window"),
               K(WIN, "inside the 36h window")},
    },
    {
        .name = "a huge window does not overflow: everything is inside",
        POLICY(INT64_MAX, 0),
        .now = NOW,
        .b = {FULL("A", INT64_C(-2000000000)), FULL("B", NOW - D)},
        .be = {K(WIN, "inside"), K(WIN, "inside")},
    },

    {
        .name = "a huge window before 1970 saturates instead of overflowing",
        POLICY(INT64_MAX, 0),
        .now = -D,
        .b = {FULL("A", -2 * D), FULL("B", INT64_MIN + 1000)},
        .be = {K(WIN, "inside"), K(WIN, "inside")},
    },

    /* ---- clock skew ---- */
    {
        .name = "clock skew: a backup newer than now is inside the window",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - D), FULL("B", NOW + H)},
        .be = {K(WIN_START, "newest backup older"), K(WIN, "inside the 30d window")},
    },
    {
        .name = "clock skew with window 0: future backups stay, and the newest past one",
        POLICY(0, 0),
        .now = NOW,
        .b = {FULL("A", NOW - 5 * D), FULL("B", NOW - 100), FULL("C", NOW + 2 * H)},
        .be = {X(OLD, "older than the 0s window"), K(WIN_START, "newest backup older"),
               K(WIN, "inside the 0s window")},
    },
    {
        .name = "clock skew: every backup in the future",
        POLICY(30 * D, 0),
        .now = WS - 400 * D,
        .b = {FULL("A", NOW - D), FULL("B", NOW)},
        .be = {K(WIN, "inside"), K(WIN, "inside")},
    },

    /* ---- failed backups ---- */
    {
        .name = "a failed backup between good ones",
        POLICY(30 * D, 1),
        .now = NOW,
        .b = {FULL("A", WS + D), BAD("F", WR_BACKUP_FAILED, WS + 2 * D), FULL("B", WS + 3 * D)},
        .be = {K(WIN, "inside"), X(WR_WHY_NOT_USABLE, "not usable (failed)"),
               K(WIN | WR_WHY_FULL_MIN, "inside")},
    },
    {
        .name = "only failed and incomplete backups: all expire, WAL stays",
        POLICY(30 * D, 1),
        .now = NOW,
        .b = {BAD("F", WR_BACKUP_FAILED, WS - D), BAD("G", WR_BACKUP_INCOMPLETE, NOW - D)},
        .be = {X(WR_WHY_NOT_USABLE, "not usable (failed)"),
               X(WR_WHY_NOT_USABLE, "not usable (incomplete)")},
        .w = {RANGE(1, S1("00000001"), S1("00000040"))},
        .we = {{NULL, NULL, S1("00000001"), S1("00000040"), "no usable backup: WAL kept"}},
        .oldest = {{1, S1("00000001")}},
    },
    {
        .name = "the newest failed: the newest usable one restores to the window start",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - 10 * D), BAD("F", WR_BACKUP_FAILED, WS - D),
              BAD("G", WR_BACKUP_FAILED, WS + D)},
        .be = {K(WIN_START, "newest backup older"), X(WR_WHY_NOT_USABLE, "failed"),
               X(WR_WHY_NOT_USABLE, "failed")},
    },
    {
        .name = "status errors is usable",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - D),
              {.id = "E",
               .status = WR_BACKUP_ERRORS,
               .start_time = WS + D - 600,
               .stop_time = WS + D,
               .timeline = 1,
               .start_wal = S1("00000030")}},
        .be = {K(WIN_START, "newest backup older"), K(WIN, "inside")},
    },

    /* ---- order by time, never by timeline ---- */
    {
        .name = "upgrade: a lower timeline with newer times wins",
        POLICY(30 * D, 1),
        .now = NOW,
        .b = {FULLT("A", 5, WS - 20 * D, "000000050000000000000010"),
              FULLT("B", 5, WS - 10 * D, "000000050000000000000020"),
              FULLT("C", 1, WS - 5 * D, S1("00000002")), FULLT("D", 1, WS + D, S1("00000008"))},
        .be = {X(OLD, "older"), X(OLD, "older"), K(WIN_START, "newest backup older"),
               K(WIN | WR_WHY_FULL_MIN, "inside")},
        .wal_from = "C",
    },
    {
        .name = "promotion: the new timeline's backups survive",
        POLICY(30 * D, 1),
        .now = NOW,
        .b = {FULLT("A", 1, WS - 20 * D, S1("00000010")), FULLT("B", 1, WS - 2 * D, S1("00000020")),
              FULLT("C", 2, WS + D, S2("00000030")), FULLT("D", 2, WS + 5 * D, S2("00000040"))},
        .be = {X(OLD, "older"), K(WIN_START, "newest backup older"), K(WIN, "inside"),
               K(WIN | WR_WHY_FULL_MIN, "inside")},
        .wal_from = "B",
    },
    {
        .name = "equal stop times: the later start is newer",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {{.id = "A",
               .start_time = WS - D - 50,
               .stop_time = WS - D,
               .timeline = 1,
               .start_wal = S1("00000010")},
              {.id = "B",
               .start_time = WS - D - 900,
               .stop_time = WS - D,
               .timeline = 1,
               .start_wal = S1("00000010")}},
        .be = {K(WIN_START, "newest backup older"), X(OLD, "older")},
    },
    {
        .name = "equal stop and start times: the greater id is newer",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("20261020T000000Z-b", WS - D), FULL("20261020T000000Z-a", WS - D)},
        .be = {K(WIN_START, "newest backup older"), X(OLD, "older")},
    },

    /* ---- incremental and differential chains ---- */
    {
        .name = "a kept incremental keeps its prior chain",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("F0", WS - 20 * D), FULL("F1", WS - 10 * D), INCR("I1", "F1", WS - 5 * D),
              INCR("I2", "I1", WS + D)},
        .be = {X(OLD, "older"), K(WR_WHY_PRIOR, "needed by kept backup I1"),
               K(WIN_START | WR_WHY_PRIOR,
                 "needed to restore to the window start; needed by kept backup I2"),
               K(WIN, "inside")},
    },
    {
        .name = "a chain is kept transitively by an old incremental",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("F1", WS - 10 * D), INCR("I1", "F1", WS - 9 * D), INCR("I2", "I1", WS - 8 * D),
              INCR("I3", "I2", WS - 7 * D)},
        .be = {K(WR_WHY_PRIOR, "needed by kept backup I1"),
               K(WR_WHY_PRIOR, "needed by kept backup I2"),
               K(WR_WHY_PRIOR, "needed by kept backup I3"), K(WIN_START, "newest backup older")},
    },
    {
        .name = "a differential keeps its full, not the older differential",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("F1", WS - 20 * D), DIFF("D1", "F1", WS - 15 * D), FULL("F2", WS - 10 * D),
              DIFF("D2", "F2", WS + D)},
        .be = {X(OLD, "older"), X(OLD, "older"),
               K(WIN_START | WR_WHY_PRIOR, "needed by kept backup D2"), K(WIN, "inside")},
    },
    {
        .name = "broken chains older than the window expire",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - D), INCR("I1", "gone", WS - 5 * D),
              BAD("F", WR_BACKUP_FAILED, WS - 4 * D), INCR("I2", "F", WS - 3 * D),
              INCR("I3", "I4", WS - 2 * D), INCR("I4", "A", WS + 5 * D)},
        .be = {K(WIN_START | WR_WHY_PRIOR, "needed by kept backup I4"),
               X(WR_WHY_BROKEN, "not usable: prior gone missing; older than the 30d window"),
               X(WR_WHY_NOT_USABLE, "failed"), X(WR_WHY_BROKEN, "not usable: prior F not usable"),
               X(WR_WHY_BROKEN, "not usable: prior I4 is not older"), K(WIN, "inside")},
        .wal_from = "A",
    },
    {
        .name = "broken chains inside the window stay, and count for nothing",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("A", WS - D), INCR("I1", "gone", WS + D), BAD("F", WR_BACKUP_FAILED, WS + 2 * D),
              INCR("I2", "F", WS + 3 * D), INCR("I3", "I4", WS + 4 * D),
              INCR("I4", "A", WS + 5 * D)},
        .be = {K(WIN_START | WR_WHY_PRIOR, "needed by kept backup I4"),
               K(WR_WHY_BROKEN_KEPT,
                 "cannot be restored (prior gone missing): kept while inside the 30d window"),
               X(WR_WHY_NOT_USABLE, "failed"),
               K(WR_WHY_BROKEN_KEPT, "cannot be restored (prior F not usable)"),
               K(WR_WHY_BROKEN_KEPT, "cannot be restored (prior I4 is not older)"),
               K(WIN, "inside")},
        .wal_from = "A",
    },
    {
        .name = "a chain whose full is missing: kept in the window with its older members",
        POLICY(30 * D, 1),
        .now = NOW,
        .b = {FULL("F0", WS - 60 * D), INCR("I1", "F1", WS - 9 * D), INCR("I2", "I1", WS - 8 * D),
              DIFF("D1", "F1", WS - 7 * D), INCR("I3", "I2", WS + D), INCR("I4", "I3", WS + 2 * D)},
        /* F1 is gone: nothing restores but F0, which stays as the newest
         * backup older than the window (and full_min); the broken chain
         * stays where it reaches into the window (I1, I2 with I3), D1
         * (older, nothing of the window needs it) goes */
        .be = {K(WIN_START | WR_WHY_FULL_MIN, "newest backup older"),
               K(WR_WHY_BROKEN_KEPT,
                 "cannot be restored (prior F1 missing): kept with backup I2 of its chain"),
               K(WR_WHY_BROKEN_KEPT, "cannot be restored (prior I1 not usable): kept with backup "
                                     "I3 of its chain"),
               X(WR_WHY_BROKEN, "not usable: prior F1 missing; older than the 30d window"),
               K(WR_WHY_BROKEN_KEPT, "cannot be restored (prior I2 not usable): kept while"),
               K(WR_WHY_BROKEN_KEPT, "cannot be restored (prior I3 not usable): kept while")},
        .wal_from = "F0",
    },
    {
        .name = "a full older than the window stays while an incremental in it needs it",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("F0", WS - 20 * D), FULL("F1", WS - 3 * D), INCR("I1", "F1", WS - 2 * D),
              INCR("I2", "I1", WS + D), INCR("I3", "I2", WS + 2 * D)},
        .be = {X(OLD, "older"), K(WR_WHY_PRIOR, "needed by kept backup I1"),
               K(WIN_START | WR_WHY_PRIOR, "needed to restore to the window start"),
               K(WIN | WR_WHY_PRIOR, "inside the 30d window; needed by kept backup I3"),
               K(WIN, "inside")},
        .wal_from = "F1",
    },
    {
        .name = "an incremental older than the window stays while a later one is kept",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("F1", WS - 10 * D), INCR("I1", "F1", WS - 8 * D), INCR("I2", "I1", WS - 6 * D),
              FULL("F2", WS - 4 * D), INCR("I3", "I2", WS + D)},
        /* I3 refers to I2 (say F2 was taken with another system's
         * settings): the window keeps F2 and I3, I3 keeps I2, I1, F1 */
        .be = {K(WR_WHY_PRIOR, "needed by kept backup I1"),
               K(WR_WHY_PRIOR, "needed by kept backup I2"),
               K(WR_WHY_PRIOR, "needed by kept backup I3"), K(WIN_START, "newest backup older"),
               K(WIN, "inside")},
        .wal_from = "F1",
    },
    {
        .name = "a differential whose full is older than the window keeps it",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("F1", WS - 40 * D), DIFF("D1", "F1", WS - 20 * D), INCR("I1", "D1", WS - D),
              DIFF("D2", "F1", WS + D), INCR("I2", "D2", WS + 2 * D)},
        /* D1's chain is needed by I1 (the newest backup older than the
         * window); D2 (inside) needs F1 only */
        .be = {K(WR_WHY_PRIOR, "needed by kept backup D2"),
               K(WR_WHY_PRIOR, "needed by kept backup I1"), K(WIN_START, "newest backup older"),
               K(WIN | WR_WHY_PRIOR, "needed by kept backup I2"), K(WIN, "inside")},
        .wal_from = "F1",
    },
    {
        .name = "a differential inside the window lets older incrementals go",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULL("F1", WS - 10 * D), INCR("I1", "F1", WS - 8 * D), INCR("I2", "I1", WS - 6 * D),
              DIFF("D1", "F1", WS - 4 * D), INCR("I3", "D1", WS + D)},
        .be = {K(WR_WHY_PRIOR, "needed by kept backup D1"), X(OLD, "older"), X(OLD, "older"),
               K(WIN_START | WR_WHY_PRIOR, "needed by kept backup I3"), K(WIN, "inside")},
        .wal_from = "F1",
    },
    {
        .name = "full_min counts fulls: newer incrementals and differentials do not",
        POLICY(0, 2),
        .now = NOW,
        .b = {FULL("F1", NOW - 9 * D), INCR("I1", "F1", NOW - 8 * D), FULL("F2", NOW - 7 * D),
              DIFF("D1", "F2", NOW - 6 * D), INCR("I2", "D1", NOW - 5 * D),
              INCR("I3", "I2", NOW - 4 * D)},
        .be = {K(WR_WHY_FULL_MIN, "retention-full-min 2"), X(OLD, "older"),
               K(WR_WHY_FULL_MIN | WR_WHY_PRIOR, "retention-full-min 2; needed by kept backup D1"),
               K(WR_WHY_PRIOR, "needed by kept backup I2"),
               K(WR_WHY_PRIOR, "needed by kept backup I3"), K(WIN_START, "newest backup older")},
        .wal_from = "F1",
    },
    {
        .name = "a failed full does not count for full_min, and breaks its incremental",
        POLICY(0, 1),
        .now = NOW,
        .b = {FULL("F1", NOW - 9 * D), BAD("F2", WR_BACKUP_FAILED, NOW - 7 * D),
              INCR("I1", "F2", NOW - 6 * D)},
        /* the failed F2 does not count: F1 is the newest usable full; I1
         * (broken, older than the window 0) goes */
        .be = {K(WIN_START | WR_WHY_FULL_MIN, "retention-full-min 1"),
               X(WR_WHY_NOT_USABLE, "failed"), X(WR_WHY_BROKEN, "prior F2 not usable")},
        .wal_from = "F1",
    },

    /* ---- grandfather-father-son ---- */
    {
        .name = "several backups in one day: daily keeps the newest of each day",
        .policy = {.window = 0, .dump_window = 30 * D, .gfs_daily = 2},
        .now = NOW,
        .b = {FULL("28a", NOW - D + 1 * H), FULL("28b", NOW - D + 9 * H),
              FULL("28c", NOW - D + 17 * H), FULL("27a", NOW - 2 * D + 2 * H),
              FULL("27b", NOW - 2 * D + 20 * H), FULL("26a", NOW - 3 * D + 23 * H)},
        .be = {X(OLD, "older"), X(OLD, "older"),
               K(WIN_START | WR_WHY_DAILY, "daily 2026-11-28 (1 of 2)"), X(OLD, "older"),
               K(WR_WHY_DAILY, "daily 2026-11-27 (2 of 2)"), X(OLD, "older")},
    },
    {
        .name = "daily counts the days that have a backup",
        .policy = {.window = 0, .dump_window = 30 * D, .gfs_daily = 3},
        .now = NOW,
        .b = {FULL("01", NOV1 + 2 * H), FULL("18", NOV1 + 17 * D + 2 * H),
              FULL("25", NOV1 + 24 * D + 2 * H), FULL("28", NOV1 + 27 * D + 2 * H)},
        .be = {X(OLD, "older"), K(WR_WHY_DAILY, "daily 2026-11-18 (3 of 3)"),
               K(WR_WHY_DAILY, "daily 2026-11-25 (2 of 3)"),
               K(WIN_START | WR_WHY_DAILY, "daily 2026-11-28 (1 of 3)")},
    },
    {
        .name = "weekly buckets are ISO weeks, Monday to Sunday UTC",
        .policy = {.window = 0, .dump_window = 30 * D, .gfs_weekly = 2},
        .now = NOW,
        .b = {FULL("mon16", NOV1 + 15 * D + 12 * H), FULL("sun22", NOV1 + 22 * D - 1),
              FULL("mon23", NOV1 + 22 * D)},
        .be = {X(OLD, "older"), K(WR_WHY_WEEKLY, "weekly 2026-W47 (2 of 2)"),
               K(WIN_START | WR_WHY_WEEKLY, "weekly 2026-W48 (1 of 2)")},
    },
    {
        .name = "ISO week years: 2025-12-29 is in 2026-W01, 2027-01-01 in 2026-W53",
        .policy = {.window = 0, .dump_window = 30 * D, .gfs_weekly = 3},
        .now = INT64_C(1798848000), /* 2027-01-02 */
        .b = {FULL("2025-12-28", INT64_C(1766880000) + 12 * H),
              FULL("2025-12-29", INT64_C(1766966400) + 12 * H),
              FULL("2026-01-02", INT64_C(1767312000) + 12 * H),
              FULL("2027-01-01", INT64_C(1798761600) + 12 * H)},
        .be = {K(WR_WHY_WEEKLY, "weekly 2025-W52 (3 of 3)"), X(OLD, "older"),
               K(WR_WHY_WEEKLY, "weekly 2026-W01 (2 of 3)"),
               K(WIN_START | WR_WHY_WEEKLY, "weekly 2026-W53 (1 of 3)")},
    },
    {
        .name = "monthly buckets are calendar months: midnight belongs to the new month",
        .policy = {.window = 0, .dump_window = 30 * D, .gfs_monthly = 2},
        .now = NOW,
        .b = {FULL("oct15", NOV1 - 17 * D), FULL("oct31", NOV1 - 1), FULL("nov01", NOV1)},
        .be = {X(OLD, "older"), K(WR_WHY_MONTHLY, "monthly 2026-10 (2 of 2)"),
               K(WIN_START | WR_WHY_MONTHLY, "monthly 2026-11 (1 of 2)")},
    },
    {
        .name = "GFS combined with the window by union",
        .policy = {.window = 7 * D,
                   .full_min = 1,
                   .dump_window = 30 * D,
                   .gfs_daily = 3,
                   .gfs_weekly = 2,
                   .gfs_monthly = 3},
        .now = NOW,
        .b = {FULL("0805", NOV1 - 88 * D + 2 * H), FULL("0910", NOV1 - 52 * D + 2 * H),
              FULL("1020", NOV1 - 12 * D + 2 * H), FULL("1115", NOV1 + 14 * D + 2 * H),
              FULL("1120", NOV1 + 19 * D + 2 * H), FULL("1126", NOV1 + 25 * D + 2 * H),
              FULL("1127", NOV1 + 26 * D + 2 * H), FULL("1128", NOV1 + 27 * D + 2 * H)},
        .be = {X(OLD, "older than the 7d window"), K(WR_WHY_MONTHLY, "monthly 2026-09 (3 of 3)"),
               K(WR_WHY_MONTHLY, "monthly 2026-10 (2 of 3)"), X(OLD, "older than the 7d window"),
               K(WIN_START | WR_WHY_WEEKLY, "weekly 2026-W47 (2 of 2)"),
               K(WIN | WR_WHY_DAILY, "daily 2026-11-26 (3 of 3)"),
               K(WIN | WR_WHY_DAILY, "daily 2026-11-27 (2 of 3)"),
               K(WIN | WR_WHY_FULL_MIN | WR_WHY_DAILY | WR_WHY_WEEKLY | WR_WHY_MONTHLY,
                 "inside the 7d window; retention-full-min 1; daily 2026-11-28 (1 of 3); weekly "
                 "2026-W48 (1 of 2); monthly 2026-11 (1 of 3)")},
        .wal_from = "0910",
    },
    {
        .name = "GFS ignores failed backups",
        .policy = {.window = 0, .dump_window = 30 * D, .gfs_daily = 2},
        .now = NOW,
        .b = {FULL("27", NOW - 2 * D + H), FULL("28", NOW - D + H),
              BAD("28f", WR_BACKUP_FAILED, NOW - D + 5 * H)},
        .be = {K(WR_WHY_DAILY, "daily 2026-11-27 (2 of 2)"),
               K(WIN_START | WR_WHY_DAILY, "daily 2026-11-28 (1 of 2)"),
               X(WR_WHY_NOT_USABLE, "failed")},
    },
    {
        .name = "GFS keeps an incremental with its chain",
        .policy = {.window = 0, .dump_window = 30 * D, .gfs_daily = 2},
        .now = NOW,
        .b = {FULL("F1", NOW - 3 * D), INCR("I1", "F1", NOW - 2 * D), FULL("F2", NOW - D)},
        .be = {K(WR_WHY_PRIOR, "needed by kept backup I1"),
               K(WR_WHY_DAILY, "daily 2026-11-27 (2 of 2)"),
               K(WIN_START | WR_WHY_DAILY, "daily 2026-11-28 (1 of 2)")},
    },
    {
        .name = "GFS monthly keeps an incremental with its whole chain",
        .policy = {.window = 0, .dump_window = 30 * D, .gfs_monthly = 2},
        .now = NOW,
        .b = {FULL("F1", NOV1 - 30 * D), INCR("I1", "F1", NOV1 - 15 * D),
              INCR("I2", "I1", NOV1 - D), FULL("F2", NOV1 + D), INCR("I3", "F2", NOV1 + 10 * D)},
        .be = {K(WR_WHY_PRIOR, "needed by kept backup I1"),
               K(WR_WHY_PRIOR, "needed by kept backup I2"),
               K(WR_WHY_MONTHLY, "monthly 2026-10 (2 of 2)"),
               K(WR_WHY_PRIOR, "needed by kept backup I3"),
               K(WIN_START | WR_WHY_MONTHLY, "monthly 2026-11 (1 of 2)")},
        .wal_from = "F1",
    },
    {
        .name = "GFS with clock skew: a future day counts",
        .policy = {.window = 0, .dump_window = 30 * D, .gfs_daily = 1},
        .now = NOW,
        .b = {FULL("past", NOW - D), FULL("future", NOW + 2 * D + H)},
        .be = {K(WIN_START, "newest backup older"),
               K(WIN | WR_WHY_DAILY, "daily 2026-12-01 (1 of 1)")},
    },

    /* ---- dumps ---- */
    {
        .name = "dumps only: stop on the dump window start",
        POLICY(30 * D, 1),
        .now = NOW,
        .d = {DUMP("d1", "app", WS - 10 * D), DUMP("d2", "app", WS), DUMPF("d3", "app", WS + D),
              DUMP("d4", "app", WS + 1)},
        .de = {X(OLD, "older than the 30d dump window"),
               K(WIN_START, "ends at the 30d dump window start"),
               X(WR_WHY_NOT_USABLE, "not usable (failed)"), K(WIN, "inside the 30d dump window")},
    },
    {
        .name = "dumps only: one second before the dump window start",
        POLICY(30 * D, 1),
        .now = NOW,
        .d = {DUMP("d1", "app", WS - 10 * D), DUMP("d2", "app", WS - 1), DUMP("d3", "app", WS + 1)},
        .de = {X(OLD, "older"),
               K(WIN_START, "newest dump of app older than the 30d dump window: needed to restore "
                            "to the window start"),
               K(WIN, "inside")},
    },
    {
        .name = "dumps of several databases are judged apart",
        POLICY(30 * D, 1),
        .now = NOW,
        .d = {DUMP("x1", "app", WS - 40 * D), DUMP("x1", "crm", WS + D),
              DUMP("x2", "log", WS - 5 * D), DUMP("x2", "app", WS - 35 * D),
              DUMP("x3", "crm", WS + 2 * D), DUMPF("x4", "log", WS + 3 * D),
              DUMP("x3", "app", WS - 45 * D)},
        .de = {X(OLD, "older"), K(WIN, "inside"), K(WIN_START, "newest dump of log"),
               K(WIN_START, "newest dump of app"), K(WIN, "inside"), X(WR_WHY_NOT_USABLE, "failed"),
               X(OLD, "older")},
    },
    {
        .name = "only failed dumps",
        POLICY(30 * D, 1),
        .now = NOW,
        .d = {DUMPF("f1", "app", WS - D), DUMPF("f2", "app", NOW - D)},
        .de = {X(WR_WHY_NOT_USABLE, "failed"), X(WR_WHY_NOT_USABLE, "failed")},
    },
    {
        .name = "the dump window is apart from the backup window",
        .policy = {.window = D, .full_min = 0, .dump_window = 60 * D},
        .now = NOW,
        .b = {FULL("B1", NOW - 45 * D), FULL("B2", NOW - 10 * D)},
        .be = {X(OLD, "older than the 1d window"), K(WIN_START, "older than the 1d window")},
        .d = {DUMP("d1", "app", NOW - 75 * D), DUMP("d2", "app", NOW - 45 * D),
              DUMP("d3", "app", NOW - 10 * D)},
        .de = {K(WIN_START, "60d dump window"), K(WIN, "inside the 60d dump window"),
               K(WIN, "inside")},
    },
    {
        .name = "clock skew: a dump newer than now is inside",
        POLICY(30 * D, 1),
        .now = NOW,
        .d = {DUMP("d1", "app", WS - 3 * D), DUMP("d2", "app", NOW + D)},
        .de = {K(WIN_START, "newest dump of app"), K(WIN, "inside")},
    },

    /* ---- WAL ---- */
    {
        .name = "WAL split at the oldest kept backup's start, two timelines",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULLT("A", 1, WS - 10 * D, S1("00000010")), FULLT("B", 1, WS - D, S1("00000020")),
              FULLT("C", 2, WS + D, S2("00000040"))},
        .be = {X(OLD, "older"), K(WIN_START, "newest backup older"), K(WIN, "inside")},
        .w = {RANGE(1, S1("00000001"), S1("00000030")), RANGE(2, S2("0000002C"), S2("00000060"))},
        .we = {{S1("00000001"), S1("0000001F"), S1("00000020"), S1("00000030"),
                "before the oldest kept backup (B)"},
               {NULL, NULL, S2("0000002C"), S2("00000060"), "needed by backup B and later (PITR)"}},
        .wal_from = "B",
        .oldest = {{1, S1("00000020")}, {2, S2("0000002C")}},
    },
    {
        .name = "WAL boundary on the new timeline cuts both",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULLT("A", 1, WS - 10 * D, S1("00000010")), FULLT("B", 2, WS - D, S2("0000002E"))},
        .be = {X(OLD, "older"), K(WIN_START, "newest backup older")},
        .w = {RANGE(2, S2("0000002C"), S2("00000060")), RANGE(1, S1("00000001"), S1("0000002C"))},
        .we = {{S2("0000002C"), S2("0000002D"), S2("0000002E"), S2("00000060"),
                "needed by backup B and later (PITR)"},
               {S1("00000001"), S1("0000002C"), NULL, NULL, "before the oldest kept backup (B)"}},
        .wal_from = "B",
        .oldest = {{2, S2("0000002E")}},
    },
    {
        .name = "WAL ranges ending on, starting on, and before the boundary",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULLT("B", 1, WS + D, S1("00000020"))},
        .be = {K(WIN, "inside")},
        .w = {RANGE(1, S1("00000005"), S1("0000001F")), RANGE(1, S1("00000010"), S1("00000020")),
              RANGE(1, S1("00000020"), S1("00000030")), RANGE(1, S1("00000040"), S1("00000040"))},
        .we = {{S1("00000005"), S1("0000001F"), NULL, NULL, "before"},
               {S1("00000010"), S1("0000001F"), S1("00000020"), S1("00000020"), "before"},
               {NULL, NULL, S1("00000020"), S1("00000030"), "PITR"},
               {NULL, NULL, S1("00000040"), S1("00000040"), "PITR"}},
        .wal_from = "B",
        .oldest = {{1, S1("00000020")}},
    },
    {
        .name = "WAL boundary at the start of a log file",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULLT("B", 1, WS + D, "000000010000000200000000")},
        .be = {K(WIN, "inside")},
        .w = {RANGE(1, "0000000100000001000000FE", "000000010000000200000003")},
        .we = {{"0000000100000001000000FE", "0000000100000001000000FF", "000000010000000200000000",
                "000000010000000200000003", "before"}},
        .wal_from = "B",
        .oldest = {{1, "000000010000000200000000"}},
    },
    {
        .name = "WAL boundary just after the start of a log file",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULLT("B", 1, WS + D, "000000010000000200000001")},
        .be = {K(WIN, "inside")},
        .w = {RANGE(1, "0000000100000001000000FE", "000000010000000200000003")},
        .we = {{"0000000100000001000000FE", "000000010000000200000000", "000000010000000200000001",
                "000000010000000200000003", "before"}},
        .wal_from = "B",
        .oldest = {{1, "000000010000000200000001"}},
    },
    {
        .name = "WAL with 64 MiB segments",
        POLICY(30 * D, 0),
        .now = NOW,
        .segment_size = UINT64_C(64) << 20,
        .b = {FULLT("B", 1, WS + D, "000000010000000100000002")},
        .be = {K(WIN, "inside")},
        .w = {RANGE(1, "000000010000000000000038", "00000001000000010000000A")},
        .we = {{"000000010000000000000038", "000000010000000100000001", "000000010000000100000002",
                "00000001000000010000000A", "before"}},
        .wal_from = "B",
        .oldest = {{1, "000000010000000100000002"}},
    },
    {
        .name = "WAL without any backup is kept",
        POLICY(30 * D, 1),
        .now = NOW,
        .w = {RANGE(1, S1("00000001"), S1("00000010")),
              RANGE(3, "000000030000000000000011", "000000030000000000000020")},
        .we = {{NULL, NULL, S1("00000001"), S1("00000010"), "no usable backup: WAL kept"},
               {NULL, NULL, "000000030000000000000011", "000000030000000000000020",
                "no usable backup"}},
        .oldest = {{1, S1("00000001")}, {3, "000000030000000000000011"}},
    },
    {
        .name = "WAL: the lowest start segment of the kept backups is the boundary",
        POLICY(30 * D, 0),
        .now = NOW,
        .b = {FULLT("B1", 1, WS + D, S1("00000090")), FULLT("B2", 1, WS + 2 * D, S1("00000010"))},
        .be = {K(WIN, "inside"), K(WIN, "inside")},
        .w = {RANGE(1, S1("00000001"), S1("000000A0"))},
        .we = {{S1("00000001"), S1("0000000F"), S1("00000010"), S1("000000A0"),
                "before the oldest kept backup (B2)"}},
        .wal_from = "B2",
        .oldest = {{1, S1("00000010")}},
    },
    {
        .name = "WAL: a backup kept by GFS holds WAL back to its start",
        .policy = {.window = 7 * D, .dump_window = 30 * D, .gfs_monthly = 2},
        .now = NOW,
        .b = {FULLT("oct", 1, NOV1 - 10 * D, S1("00000010")),
              FULLT("nov", 1, NOW - 10 * D, S1("00000050")),
              FULLT("now", 1, NOW - D, S1("00000070"))},
        .be = {K(WR_WHY_MONTHLY, "monthly 2026-10"), K(WIN_START, "newest backup older"),
               K(WIN | WR_WHY_MONTHLY, "monthly 2026-11")},
        .w = {RANGE(1, S1("00000001"), S1("00000080"))},
        .we = {{S1("00000001"), S1("0000000F"), S1("00000010"), S1("00000080"), "(oct)"}},
        .wal_from = "oct",
        .oldest = {{1, S1("00000010")}},
    },
    {
        .name = "backups, dumps and WAL together",
        POLICY(30 * D, 1),
        .now = NOW,
        .b = {FULL("old", WS - 20 * D), FULLT("anchor", 1, WS - 2 * D, S1("00000030")),
              BAD("fail", WR_BACKUP_FAILED, WS + D), FULLT("new", 1, NOW - D, S1("00000090"))},
        .be = {X(OLD, "older"), K(WIN_START, "newest backup older"), X(WR_WHY_NOT_USABLE, "failed"),
               K(WIN | WR_WHY_FULL_MIN, "inside")},
        .d = {DUMP("d1", "app", WS - 20 * D), DUMP("d2", "app", WS - 2 * D)},
        .de = {X(OLD, "older"), K(WIN_START, "newest dump of app")},
        .w = {RANGE(1, S1("00000001"), S1("000000A0"))},
        .we = {{S1("00000001"), S1("0000002F"), S1("00000030"), S1("000000A0"), "(anchor)"}},
        .wal_from = "anchor",
        .oldest = {{1, S1("00000030")}},
    },
};

/* ---- running a case ---- */

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error("case '%s': ", tc->name);                                                  \
            print_error(__VA_ARGS__);                                                              \
            print_error("\n");                                                                     \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#define KEEP_BITS                                                                                  \
    (WR_WHY_WINDOW | WR_WHY_WINDOW_START | WR_WHY_FULL_MIN | WR_WHY_DAILY | WR_WHY_WEEKLY |        \
     WR_WHY_MONTHLY | WR_WHY_PRIOR | WR_WHY_BROKEN_KEPT)

static size_t count_backups(const tcase *tc)
{
    size_t n = 0;
    while (n < MAXN && tc->b[n].id)
        n++;
    return n;
}
static size_t count_dumps(const tcase *tc)
{
    size_t n = 0;
    while (n < MAXN && tc->d[n].id)
        n++;
    return n;
}
static size_t count_wal(const tcase *tc)
{
    size_t n = 0;
    while (n < MAXN && tc->w[n].first)
        n++;
    return n;
}

static bool same_decision(const wr_decision *a, const wr_decision *b)
{
    return a->keep == b->keep && a->why == b->why && strcmp(a->reason, b->reason) == 0;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* What holds for any plan, whatever the case expects. */
static void check_invariants(const tcase *tc, const wr_catalog *cat, const wr_plan *plan)
{
    size_t kept = 0;
    const wr_backup *newest = NULL;
    for (size_t i = 0; i < cat->n_backups; i++) {
        const wr_backup *b = &cat->backups[i];
        const wr_decision *d = &plan->backups[i];
        CHECK(d->why != 0 && d->reason[0], "backup %s has no reason", b->id);
        CHECK(d->keep == ((d->why & KEEP_BITS) != 0), "backup %s: keep and why disagree", b->id);
        kept += d->keep;
        if (d->keep) {
            CHECK(b->status == WR_BACKUP_OK || b->status == WR_BACKUP_ERRORS,
                  "backup %s is kept but not usable", b->id);
        }
        /* a broken chain kept for repair is kept with the members it has */
        if (d->keep && b->prior && d->why != WR_WHY_BROKEN_KEPT) {
            bool prior_kept = false;
            for (size_t j = 0; j < cat->n_backups; j++)
                if (strcmp(cat->backups[j].id, b->prior) == 0)
                    prior_kept = plan->backups[j].keep;
            CHECK(prior_kept, "backup %s is kept without its prior %s", b->id, b->prior);
        }
        if (b->status == WR_BACKUP_OK || b->status == WR_BACKUP_ERRORS) {
            if (!newest || b->stop_time > newest->stop_time)
                newest = b;
        }
    }
    if (newest && newest->type == WR_BACKUP_FULL)
        CHECK(plan->backups[newest - cat->backups].keep, "the newest backup %s expires",
              newest->id);
    CHECK(plan->backups_kept == kept && plan->backups_expired == cat->n_backups - kept,
          "backup counts %zu/%zu, want %zu kept", plan->backups_kept, plan->backups_expired, kept);

    kept = 0;
    for (size_t i = 0; i < cat->n_dumps; i++) {
        const wr_decision *d = &plan->dumps[i];
        CHECK(d->why != 0 && d->reason[0], "dump %s has no reason", cat->dumps[i].id);
        CHECK(d->keep == ((d->why & KEEP_BITS) != 0), "dump %s: keep and why disagree",
              cat->dumps[i].id);
        CHECK(!d->keep || cat->dumps[i].status == WR_DUMP_OK, "failed dump %s kept",
              cat->dumps[i].id);
        kept += d->keep;
    }
    CHECK(plan->dumps_kept == kept && plan->dumps_expired == cat->n_dumps - kept,
          "dump counts %zu/%zu, want %zu kept", plan->dumps_kept, plan->dumps_expired, kept);

    for (size_t k = 0; k < cat->n_wal; k++) {
        const wr_wal_decision *w = &plan->wal[k];
        CHECK(w->expire || w->keep, "WAL range %zu is neither kept nor expired", k);
        CHECK(w->timeline == cat->wal[k].timeline, "WAL range %zu: timeline", k);
        /* the two parts cover the range exactly, in order */
        CHECK(strcmp(w->expire ? w->expire_first : w->keep_first, cat->wal[k].first) == 0,
              "WAL range %zu does not start at its first segment", k);
        CHECK(strcmp(w->keep ? w->keep_last : w->expire_last, cat->wal[k].last) == 0,
              "WAL range %zu does not end at its last segment", k);
        CHECK(!w->expire || (w->expire_why && w->expire_reason[0]), "WAL %zu expire reason", k);
        CHECK(!w->keep || (w->keep_why && w->keep_reason[0]), "WAL %zu keep reason", k);
    }
}

static wr_plan *build_case(const tcase *tc, const wr_catalog *cat)
{
    wr_plan *plan = NULL;
    char err[WR_ERROR_MAX] = "";
    int rc = wr_plan_build(&plan, cat, &tc->policy, tc->now, err, sizeof(err));
    CHECK(rc == WR_OK, "wr_plan_build: %d %s", rc, err);
    CHECK(plan != NULL, "no plan");
    return plan;
}

static void run_case(void **state)
{
    const tcase *tc = *state;
    size_t nb = count_backups(tc), nd = count_dumps(tc), nw = count_wal(tc);
    wr_catalog cat = {tc->b, nb, tc->d, nd, tc->w, nw, tc->segment_size};
    wr_plan *plan = build_case(tc, &cat);

    CHECK(plan->n_backups == nb && plan->n_dumps == nd && plan->n_wal == nw, "plan sizes");
    for (size_t i = 0; i < nb; i++) {
        const wr_decision *d = &plan->backups[i];
        const expect *e = &tc->be[i];
        CHECK(d->keep == e->keep, "backup %s: %s, expected %s (%s)", tc->b[i].id,
              d->keep ? "kept" : "expired", e->keep ? "kept" : "expired", d->reason);
        CHECK(d->why == e->why, "backup %s: why 0x%x, expected 0x%x (%s)", tc->b[i].id, d->why,
              e->why, d->reason);
        CHECK(e->reason && strstr(d->reason, e->reason), "backup %s: reason '%s' lacks '%s'",
              tc->b[i].id, d->reason, str_or_empty(e->reason));
    }
    for (size_t i = 0; i < nd; i++) {
        const wr_decision *d = &plan->dumps[i];
        const expect *e = &tc->de[i];
        CHECK(d->keep == e->keep && d->why == e->why,
              "dump %s/%s: %s why 0x%x (%s), expected %s 0x%x", tc->d[i].database, tc->d[i].id,
              d->keep ? "kept" : "expired", d->why, d->reason, e->keep ? "kept" : "expired",
              e->why);
        CHECK(e->reason && strstr(d->reason, e->reason), "dump %s: reason '%s' lacks '%s'",
              tc->d[i].id, d->reason, str_or_empty(e->reason));
    }
    for (size_t k = 0; k < nw; k++) {
        const wr_wal_decision *w = &plan->wal[k];
        const wal_expect *e = &tc->we[k];
        CHECK(w->expire == (e->expire_first != NULL), "WAL %zu: expire %d", k, w->expire);
        CHECK(strcmp(w->expire_first, str_or_empty(e->expire_first)) == 0 &&
                  strcmp(w->expire_last, str_or_empty(e->expire_last)) == 0,
              "WAL %zu: expires %s..%s, expected %s..%s", k, w->expire_first, w->expire_last,
              str_or_empty(e->expire_first), str_or_empty(e->expire_last));
        CHECK(w->keep == (e->keep_first != NULL), "WAL %zu: keep %d", k, w->keep);
        CHECK(strcmp(w->keep_first, str_or_empty(e->keep_first)) == 0 &&
                  strcmp(w->keep_last, str_or_empty(e->keep_last)) == 0,
              "WAL %zu: keeps %s..%s, expected %s..%s", k, w->keep_first, w->keep_last,
              str_or_empty(e->keep_first), str_or_empty(e->keep_last));
        CHECK(e->reason &&
                  (strstr(w->expire_reason, e->reason) || strstr(w->keep_reason, e->reason)),
              "WAL %zu: reasons '%s' / '%s' lack '%s'", k, w->expire_reason, w->keep_reason,
              str_or_empty(e->reason));
        CHECK(w->expire_why == (w->expire ? WR_WHY_WAL_BEFORE : 0u), "WAL %zu expire why", k);
        if (w->keep)
            CHECK(w->keep_why ==
                      (plan->wal_from_backup < 0 ? WR_WHY_WAL_NO_BACKUP : WR_WHY_WAL_PITR),
                  "WAL %zu keep why 0x%x", k, w->keep_why);
    }

    /* where the kept WAL starts */
    if (tc->wal_from) {
        CHECK(plan->wal_from_backup >= 0 &&
                  strcmp(tc->b[plan->wal_from_backup].id, tc->wal_from) == 0,
              "kept WAL starts at backup #%ld, expected %s", plan->wal_from_backup, tc->wal_from);
        CHECK(strcmp(plan->wal_from, tc->b[plan->wal_from_backup].start_wal) == 0, "wal_from %s",
              plan->wal_from);
    } else if (nb == 0 || nw > 0) {
        /* cases with WAL say where it starts; no backup means no start */
        bool any_kept = false;
        for (size_t i = 0; i < nb; i++)
            any_kept |= plan->backups[i].keep;
        CHECK(!any_kept, "case must name wal_from");
        CHECK(plan->wal_from_backup == -1 && plan->wal_from[0] == '\0', "wal_from %ld",
              plan->wal_from_backup);
    }
    size_t no = 0;
    while (tc->oldest[no].timeline)
        no++;
    if (nw > 0) {
        CHECK(plan->n_wal_oldest == no, "%zu timelines with kept WAL, expected %zu",
              plan->n_wal_oldest, no);
        for (size_t t = 0; t < no; t++)
            CHECK(plan->wal_oldest[t].timeline == tc->oldest[t].timeline &&
                      strcmp(plan->wal_oldest[t].segment, tc->oldest[t].segment) == 0,
                  "oldest kept on timeline %u: %s, expected %u %s", plan->wal_oldest[t].timeline,
                  plan->wal_oldest[t].segment, tc->oldest[t].timeline, tc->oldest[t].segment);
    }
    check_invariants(tc, &cat, plan);
    int64_t ws = tc->now < INT64_MIN + tc->policy.window ? INT64_MIN : tc->now - tc->policy.window;
    CHECK(plan->window_start == ws, "window start %lld", (long long)plan->window_start);

    /* the catalogue in reverse order gives the same decisions */
    wr_backup rb[MAXN];
    wr_dump rd[MAXN];
    wr_wal_range rw[MAXN];
    for (size_t i = 0; i < nb; i++)
        rb[i] = tc->b[nb - 1 - i];
    for (size_t i = 0; i < nd; i++)
        rd[i] = tc->d[nd - 1 - i];
    for (size_t i = 0; i < nw; i++)
        rw[i] = tc->w[nw - 1 - i];
    wr_catalog rcat = {rb, nb, rd, nd, rw, nw, tc->segment_size};
    wr_plan *rplan = build_case(tc, &rcat);
    for (size_t i = 0; i < nb; i++)
        CHECK(same_decision(&plan->backups[i], &rplan->backups[nb - 1 - i]),
              "backup %s differs in reverse order: '%s' vs '%s'", tc->b[i].id,
              plan->backups[i].reason, rplan->backups[nb - 1 - i].reason);
    for (size_t i = 0; i < nd; i++)
        CHECK(same_decision(&plan->dumps[i], &rplan->dumps[nd - 1 - i]),
              "dump %s differs in reverse order", tc->d[i].id);
    for (size_t k = 0; k < nw; k++) {
        const wr_wal_decision *a = &plan->wal[k], *b = &rplan->wal[nw - 1 - k];
        CHECK(a->expire == b->expire && a->keep == b->keep &&
                  strcmp(a->expire_last, b->expire_last) == 0 &&
                  strcmp(a->keep_first, b->keep_first) == 0 &&
                  strcmp(a->keep_reason, b->keep_reason) == 0 &&
                  strcmp(a->expire_reason, b->expire_reason) == 0,
              "WAL %zu differs in reverse order", k);
    }
    CHECK((plan->wal_from_backup < 0 && rplan->wal_from_backup < 0) ||
              (plan->wal_from_backup >= 0 &&
               (size_t)rplan->wal_from_backup == nb - 1 - (size_t)plan->wal_from_backup),
          "wal_from differs in reverse order");
    CHECK(plan->n_wal_oldest == rplan->n_wal_oldest, "oldest differs in reverse order");
    for (size_t t = 0; t < plan->n_wal_oldest; t++)
        CHECK(memcmp(&plan->wal_oldest[t], &rplan->wal_oldest[t], sizeof(wr_wal_oldest)) == 0,
              "oldest %zu differs in reverse order", t);
    wr_plan_free(rplan);
    wr_plan_free(plan);
}

/* ---- invalid input ---- */

typedef struct bad_case {
    const char *name;
    wr_policy policy;
    uint64_t segment_size;
    wr_backup b[3];
    wr_dump d[2];
    wr_wal_range w[2];
    const char *message; /* a substring of the error */
} bad_case;

#define OKPOL .policy = {.window = 30 * D, .full_min = 1, .dump_window = 30 * D}

static const bad_case bad_cases[] = {
    {"negative window", .policy = {.window = -1, .dump_window = D},
     .message = "window is negative"},
    {"negative dump window", .policy = {.window = D, .dump_window = -D},
     .message = "dump retention window is negative"},
    {"segment size not a power of two", OKPOL, .segment_size = UINT64_C(3) << 20,
     .message = "WAL segment size 3145728"},
    {"segment size too small", OKPOL, .segment_size = UINT64_C(512) << 10,
     .message = "not a power of two from 1 MiB to 1 GiB"},
    {"segment size too large", OKPOL, .segment_size = UINT64_C(2) << 30,
     .message = "WAL segment size"},
    {"lower-case WAL name", OKPOL, .b = {FULLT("A", 1, NOW, "00000001000000000000000a")},
     .message = "backup 'A': start WAL '00000001000000000000000a' is not a segment name"},
    {"no start WAL on a usable backup", OKPOL, .b = {FULLT("A", 1, NOW, NULL)},
     .message = "start WAL '(null)'"},
    {"segment beyond the log file", OKPOL, .b = {FULLT("A", 1, NOW, "000000010000000000000100")},
     .message = "is not a segment name"},
    {"short WAL name", OKPOL, .b = {FULLT("A", 1, NOW, "0000000100000000000001")},
     .message = "is not a segment name"},
    {"duplicate backup id", OKPOL,
     .b = {FULL("A", NOW - D), FULL("B", NOW), FULL("A", NOW - 2 * D)},
     .message = "backup id 'A' appears twice"},
    {"incremental without prior", OKPOL, .b = {CHILD("I", WR_BACKUP_INCR, NULL, NOW)},
     .message = "backup 'I' names no prior backup"},
    {"full with a prior", OKPOL, .b = {CHILD("F", WR_BACKUP_FULL, "X", NOW)},
     .message = "full backup 'F' names a prior backup"},
    {"backup without id", OKPOL, .b = {FULL("", NOW)}, .message = "backup #0 has no id"},
    {"unknown backup status", OKPOL, .b = {BAD("A", (wr_backup_status)7, NOW)},
     .message = "backup 'A' has an unknown status"},
    {"unknown backup type", OKPOL,
     .b = {{.id = "A", .type = (wr_backup_type)9, .stop_time = NOW, .start_wal = S1("00000001")}},
     .message = "backup 'A' has an unknown type"},
    {"dump without database", OKPOL, .d = {{.id = "d", .stop_time = NOW}},
     .message = "dump #0 has no id or no database"},
    {"unknown dump status", OKPOL, .d = {{.id = "d", .database = "app", .status = 5}},
     .message = "dump 'd' has an unknown status"},
    {"WAL range on another timeline", OKPOL, .w = {RANGE(2, S1("00000001"), S1("00000002"))},
     .message = "is not on timeline 2"},
    {"WAL range backwards", OKPOL, .w = {RANGE(1, S1("00000009"), S1("00000002"))},
     .message = "ends before it starts"},
    {"WAL range with a bad name", OKPOL,
     .w = {RANGE(1, S1("00000001"), "000000010000000000000G02")}, .message = "not segment names"},
};

static void run_bad_case(void **state)
{
    const bad_case *tc = *state;
    size_t nb = 0, nd = 0, nw = 0;
    while (nb < 3 && tc->b[nb].stop_time)
        nb++;
    while (nd < 2 && (tc->d[nd].id || tc->d[nd].stop_time))
        nd++;
    while (nw < 2 && tc->w[nw].first)
        nw++;
    wr_catalog cat = {tc->b, nb, tc->d, nd, tc->w, nw, tc->segment_size};
    wr_plan *plan = (wr_plan *)&cat; /* must be reset to NULL */
    char err[WR_ERROR_MAX] = "";
    int rc = wr_plan_build(&plan, &cat, &tc->policy, NOW, err, sizeof(err));
    CHECK(rc == WR_EINVAL, "rc %d, expected WR_EINVAL", rc);
    CHECK(plan == NULL, "plan not NULL after a failure");
    CHECK(strstr(err, tc->message) != NULL, "error '%s' lacks '%s'", err, tc->message);
    /* no error buffer is fine too */
    plan = (wr_plan *)&cat;
    CHECK(wr_plan_build(&plan, &cat, &tc->policy, NOW, NULL, 0) == WR_EINVAL && !plan,
          "without error buffer");
    /* a short buffer is cut, not overrun */
    char small[8];
    memset(small, 'x', sizeof(small));
    CHECK(wr_plan_build(&plan, &cat, &tc->policy, NOW, small, 5) == WR_EINVAL &&
              strlen(small) == 4 && small[5] == 'x',
          "short error buffer: '%.8s'", small);
}

/* ---- the small helpers ---- */

static void test_policy_default(void **state)
{
    (void)state;
    wr_policy p;
    memset(&p, 0xff, sizeof(p));
    wr_policy_default(&p);
    assert_int_equal(p.window, 30 * D);
    assert_int_equal(p.full_min, 1);
    assert_int_equal(p.dump_window, 30 * D);
    assert_int_equal(p.gfs_daily, 0);
    assert_int_equal(p.gfs_weekly, 0);
    assert_int_equal(p.gfs_monthly, 0);
}

static void test_parse(void **state)
{
    (void)state;
    wr_backup_type t = WR_BACKUP_FULL;
    assert_int_equal(wr_backup_type_parse("incr", &t), WR_OK);
    assert_int_equal(t, WR_BACKUP_INCR);
    assert_int_equal(wr_backup_type_parse("diff", &t), WR_OK);
    assert_int_equal(t, WR_BACKUP_DIFF);
    assert_int_equal(wr_backup_type_parse("full", &t), WR_OK);
    assert_int_equal(t, WR_BACKUP_FULL);
    assert_int_equal(wr_backup_type_parse("FULL", &t), WR_EINVAL);
    assert_int_equal(wr_backup_type_parse("", &t), WR_EINVAL);
    assert_int_equal(wr_backup_type_parse(NULL, &t), WR_EINVAL);

    wr_backup_status s = WR_BACKUP_FAILED;
    assert_int_equal(wr_backup_status_parse("ok", &s), WR_OK);
    assert_int_equal(s, WR_BACKUP_OK);
    assert_int_equal(wr_backup_status_parse("errors", &s), WR_OK);
    assert_int_equal(s, WR_BACKUP_ERRORS);
    assert_int_equal(wr_backup_status_parse("failed", &s), WR_OK);
    assert_int_equal(s, WR_BACKUP_FAILED);
    assert_int_equal(wr_backup_status_parse("incomplete", &s), WR_OK);
    assert_int_equal(s, WR_BACKUP_INCOMPLETE);
    assert_int_equal(wr_backup_status_parse("running", &s), WR_EINVAL);
    assert_int_equal(wr_backup_status_parse(NULL, &s), WR_EINVAL);
}

/* The plan owns its strings: the catalogue can go first. */
static void test_plan_outlives_catalogue(void **state)
{
    (void)state;
    char id[] = "20261128T010000Z", wal[] = "000000010000000000000010";
    char first[] = "000000010000000000000001", last[] = "000000010000000000000020";
    wr_backup b = FULLT(id, 1, NOW - D, wal);
    wr_wal_range r = RANGE(1, first, last);
    wr_catalog cat = {&b, 1, NULL, 0, &r, 1, 0};
    wr_policy pol;
    wr_policy_default(&pol);
    wr_plan *plan = NULL;
    assert_int_equal(wr_plan_build(&plan, &cat, &pol, NOW, NULL, 0), WR_OK);
    memset(id, 'x', sizeof(id) - 1);
    memset(wal, 'x', sizeof(wal) - 1);
    memset(first, 'x', sizeof(first) - 1);
    assert_true(plan->backups[0].keep);
    assert_string_equal(plan->wal_from, "000000010000000000000010");
    assert_string_equal(plan->wal[0].expire_first, "000000010000000000000001");
    assert_string_equal(plan->wal[0].keep_first, "000000010000000000000010");
    assert_non_null(strstr(plan->wal[0].keep_reason, "20261128T010000Z"));
    wr_plan_free(plan);
    wr_plan_free(NULL);
}

/* Many backups: one a day for three years under the default policy with
 * GFS; checks counts that follow from the rules. */
static void test_three_years_daily(void **state)
{
    (void)state;
    enum { N = 3 * 366 };
    static wr_backup b[N];
    static char ids[N][24], wals[N][25];
    for (size_t i = 0; i < N; i++) {
        snprintf(ids[i], sizeof(ids[i]), "b%04zu", i);
        snprintf(wals[i], sizeof(wals[i]), "00000001%08zX%08zX", i / 256, i % 256);
        int64_t stop = NOW - (int64_t)(N - i) * D + 2 * H; /* newest: yesterday 02:00 */
        b[i] = (wr_backup)FULLT(ids[i], 1, stop, wals[i]);
    }
    wr_catalog cat = {b, N, NULL, 0, NULL, 0, 0};
    wr_policy pol;
    wr_policy_default(&pol);
    pol.gfs_weekly = 4;
    pol.gfs_monthly = 12;
    wr_plan *plan = NULL;
    assert_int_equal(wr_plan_build(&plan, &cat, &pol, NOW, NULL, 0), WR_OK);
    size_t window = 0, start = 0, weekly = 0, monthly = 0;
    for (size_t i = 0; i < N; i++) {
        unsigned why = plan->backups[i].why;
        window += (why & WR_WHY_WINDOW) != 0;
        start += (why & WR_WHY_WINDOW_START) != 0;
        weekly += (why & WR_WHY_WEEKLY) != 0;
        monthly += (why & WR_WHY_MONTHLY) != 0;
    }
    assert_int_equal(window, 30); /* 2026-10-30 02:00 .. 2026-11-28 02:00 */
    assert_int_equal(start, 1);
    assert_int_equal(weekly, 4);
    assert_int_equal(monthly, 12);
    size_t kept = 0;
    for (size_t i = 0; i < N; i++)
        kept += plan->backups[i].keep;
    assert_int_equal(plan->backups_kept, kept);
    assert_int_equal(plan->backups_expired, N - kept);
    /* the oldest kept is the oldest monthly pick: 2025-12-31 */
    assert_int_equal(plan->wal_from_backup >= 0, 1);
    assert_non_null(strstr(plan->backups[plan->wal_from_backup].reason, "monthly 2025-12"));
    wr_plan_free(plan);
}

int main(void)
{
    enum { NC = sizeof(cases) / sizeof(cases[0]), NB = sizeof(bad_cases) / sizeof(bad_cases[0]) };
    struct CMUnitTest tests[NC + NB + 4];
    size_t n = 0;
    for (size_t i = 0; i < NC; i++)
        tests[n++] = (struct CMUnitTest){
            .name = cases[i].name, .test_func = run_case, .initial_state = (void *)&cases[i]};
    for (size_t i = 0; i < NB; i++)
        tests[n++] = (struct CMUnitTest){.name = bad_cases[i].name,
                                         .test_func = run_bad_case,
                                         .initial_state = (void *)&bad_cases[i]};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_policy_default);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_parse);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_plan_outlives_catalogue);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_three_years_daily);
    return _cmocka_run_group_tests("retention", tests, n, NULL, NULL);
}
