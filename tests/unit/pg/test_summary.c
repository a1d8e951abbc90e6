/*
 * test_summary.c - pg/summary.c against the scripted server of fake_pg.h:
 * whether a server can give summaries, the wait for
 * the summarizer, the coverage of a range (gaps, other timelines), the
 * contents loaded through a cursor (several fetches, the block cap, a
 * failure ending the transaction) and the exact answers for a scripted set
 * of rows: blocks, limit blocks, a database created, forks, segments. The
 * same module against a real PostgreSQL 17 runs in test_wal_summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "fake_pg.h"
#include "pg/summary.h"
#include "testutil.h"

static wd_pg_conn *connect_to(int version)
{
    fake_pg_begin(version);
    const char *keys[] = {"host", NULL}, *vals[] = {"/run/pg", NULL};
    wd_pg_conn *c = NULL;
    assert_ok(wd_pg_connect_params(&c, keys, vals));
    return c;
}

static void test_server_ok(void **state)
{
    (void)state;
    char why[256];
    /* 16 has none: no query */
    wd_pg_conn *c = connect_to(160004);
    assert_false(wd_summary_server_ok(c, why, sizeof(why)));
    assert_string_equal(why, "PostgreSQL 16 has no WAL summaries (17 and later have)");
    assert_int_equal(fake_pg_queries(), 0);
    wd_pg_close(c);
    fake_pg_end();

    static const struct {
        const char *summarize, *checksums, *hints, *why;
    } cases[] = {
        {"off", "on", "on", "summarize_wal is off"},
        {"on", "off", "off",
         "neither data checksums nor wal_log_hints is on: a change of hint bits alone is not "
         "in the WAL"},
        {"on", "on", "off", ""},
        {"on", "off", "on", ""},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        c = connect_to(170002);
        fake_pg_answer("current_setting('summarize_wal')", 3, cases[i].summarize,
                       cases[i].checksums, cases[i].hints, NULL);
        why[0] = '\0';
        assert_int_equal(wd_summary_server_ok(c, why, sizeof(why)), !*cases[i].why);
        assert_string_equal(why, cases[i].why);
        wd_pg_close(c);
        fake_pg_end();
    }

    c = connect_to(180000);
    fake_pg_error("current_setting", "ERROR:  permission denied\n");
    assert_false(wd_summary_server_ok(c, why, sizeof(why)));
    assert_string_equal(why, "reading summarize_wal failed: ERROR:  permission denied");
    wd_pg_close(c);
    fake_pg_end();
}

static void test_wait(void **state)
{
    (void)state;
    char why[256];
    wd_pg_conn *c = connect_to(170002);
    fake_pg_answer("pg_get_wal_summarizer_state()", 1, "0/3000028", NULL);
    assert_true(wd_summary_wait(c, 0x3000028, 0, why, sizeof(why)));
    /* behind, then there: one pause */
    fake_pg_answer("pg_get_wal_summarizer_state()", 1, "0/2000000", NULL);
    fake_pg_answer("pg_get_wal_summarizer_state()", 1, "1/0", NULL);
    assert_true(wd_summary_wait(c, 0x3000028, 5000, why, sizeof(why)));
    /* behind at the deadline */
    fake_pg_answer("pg_get_wal_summarizer_state()", 1, "0/2000000", NULL);
    assert_false(wd_summary_wait(c, 0x3000028, 0, why, sizeof(why)));
    assert_string_equal(why, "the WAL summarizer has summarized up to 0/2000000, not yet up to "
                             "0/3000028, after 0 ms");
    fake_pg_answer("pg_get_wal_summarizer_state()", 1, FAKE_PG_NULL, NULL);
    assert_false(wd_summary_wait(c, 0x3000028, 1000, why, sizeof(why)));
    assert_string_equal(why, "unexpected answer from pg_get_wal_summarizer_state()");
    assert_int_equal(fake_pg_queries(), 5);
    wd_pg_close(c);
    fake_pg_end();
}

static void test_coverage(void **state)
{
    (void)state;
    char why[256];
    wd_summary_range *v;
    size_t n;
    /* nothing between equal LSNs: no query */
    wd_pg_conn *c = connect_to(170002);
    assert_true(wd_summary_coverage(c, 1, 0x5000000, 0x5000000, &v, &n, why, sizeof(why)));
    assert_null(v);
    assert_int_equal(n, 0);
    assert_false(wd_summary_coverage(c, 1, 0x5000001, 0x5000000, &v, &n, why, sizeof(why)));
    assert_string_equal(why, "the reference starts at 0/5000001, after this backup's start "
                             "0/5000000");
    assert_int_equal(fake_pg_queries(), 0);

    /* covered: overlapping, out of order; a row of another timeline and one
     * outside the range the server should not have given are left out */
    fake_pg_answer("pg_available_wal_summaries()", 3, "1", "0/1000000", "0/2000000", "1",
                   "0/3000000", "0/5000000", "1", "0/1800000", "0/3000000", "2", "0/1000000",
                   "0/9000000", "1", "0/6000000", "0/7000000", NULL);
    assert_true(wd_summary_coverage(c, 1, 0x1000028, 0x5000000, &v, &n, why, sizeof(why)));
    assert_int_equal(n, 3);
    assert_true(v[0].start == 0x1000000 && v[0].end == 0x2000000 && v[0].tli == 1);
    assert_true(v[1].start == 0x1800000 && v[1].end == 0x3000000);
    assert_true(v[2].start == 0x3000000 && v[2].end == 0x5000000);
    wd_free(v);
    assert_string_equal(fake_pg_param(0, 0), "1");
    assert_string_equal(fake_pg_param(0, 1), "0/1000028");
    assert_string_equal(fake_pg_param(0, 2), "0/5000000");

    /* a gap in the middle, at the start, at the end; none at all */
    fake_pg_answer("pg_available_wal_summaries()", 3, "1", "0/1000000", "0/2000000", "1",
                   "0/2000100", "0/5000000", NULL);
    assert_false(wd_summary_coverage(c, 1, 0x1000028, 0x5000000, &v, &n, why, sizeof(why)));
    assert_string_equal(why, "the WAL summaries of timeline 1 do not cover 0/1000028 to "
                             "0/5000000: none from 0/2000000");
    fake_pg_answer("pg_available_wal_summaries()", 3, "1", "0/1000030", "0/5000000", NULL);
    assert_false(wd_summary_coverage(c, 1, 0x1000028, 0x5000000, &v, &n, why, sizeof(why)));
    assert_string_equal(why, "the WAL summaries of timeline 1 do not cover 0/1000028 to "
                             "0/5000000: none from 0/1000028");
    fake_pg_answer("pg_available_wal_summaries()", 3, "3", "0/1000000", "0/4FFFFFF", NULL);
    assert_false(wd_summary_coverage(c, 3, 0x1000028, 0x5000000, &v, &n, why, sizeof(why)));
    assert_string_equal(why, "the WAL summaries of timeline 3 do not cover 0/1000028 to "
                             "0/5000000: none from 0/4FFFFFF");
    fake_pg_answer("pg_available_wal_summaries()", 3, NULL);
    assert_false(wd_summary_coverage(c, 1, 0x1000028, 0x5000000, &v, &n, why, sizeof(why)));
    assert_string_equal(why, "the WAL summaries of timeline 1 do not cover 0/1000028 to "
                             "0/5000000: none from 0/1000028");
    /* rows not understood */
    fake_pg_answer("pg_available_wal_summaries()", 3, "1", "0/2000000", "0/1000000", NULL);
    assert_false(wd_summary_coverage(c, 1, 0x1000028, 0x5000000, &v, &n, why, sizeof(why)));
    assert_string_equal(why, "unexpected row from pg_available_wal_summaries()");
    fake_pg_error("pg_available_wal_summaries()",
                  "ERROR:  permission denied for function pg_available_wal_summaries\n");
    assert_false(wd_summary_coverage(c, 1, 0x1000028, 0x5000000, &v, &n, why, sizeof(why)));
    assert_string_equal(why, "listing the WAL summaries failed: ERROR:  permission denied for "
                             "function pg_available_wal_summaries");
    wd_pg_close(c);
    fake_pg_end();
}

#define ROW(spc, db, rel, fork, block, limit) spc, db, rel, fork, block, limit

/* Two summaries of timeline 1 covering 0/1000028 .. 0/3000000. */
static void script_two_summaries(void)
{
    fake_pg_answer("pg_available_wal_summaries()", 3, "1", "0/1000000", "0/2000000", "1",
                   "0/2000000", "0/3000000", NULL);
}

static void assert_blocks(const wd_summary *s, const char *path, uint32_t seg_blocks,
                          wd_summary_state want, const char *changed /* one char per block */)
{
    wd_summary_file f;
    wd_summary_state got = wd_summary_file_get(s, path, seg_blocks, &f);
    if (got != want)
        fail_msg("%s: state %d, expected %d", path, got, want);
    for (size_t b = 0; changed[b]; b++)
        if (wd_summary_block_changed(&f, b) != (changed[b] == 'x'))
            fail_msg("%s: block %zu: changed %d, expected '%c'", path, b,
                     wd_summary_block_changed(&f, b), changed[b]);
}

static void test_load_and_answers(void **state)
{
    (void)state;
    char why[256];
    wd_pg_conn *c = connect_to(170002);
    script_two_summaries();
    fake_pg_answer("BEGIN READ ONLY", 0, NULL);
    fake_pg_answer("pg_wal_summary_contents(1, '0/1000000', '0/2000000')", 0, NULL);
    fake_pg_answer(
        "FETCH FORWARD", 6,
        /* base/5/16384: blocks 1, 7, and block 3 of its segment 1 */
        ROW("1663", "5", "16384", "0", "1", "f"), ROW("1663", "5", "16384", "0", "7", "f"),
        ROW("1663", "5", "16384", "0", "131075", "f"),
        /* its visibility map: always read anyway */
        ROW("1663", "5", "16384", "2", "0", "f"),
        /* base/5/16390 truncated to 10 blocks, then block 3 written */
        ROW("1663", "5", "16390", "0", "10", "t"), ROW("1663", "5", "16390", "0", "3", "f"),
        /* a shared catalog, a table in a tablespace */
        ROW("1664", "0", "1262", "0", "0", "f"), ROW("16400", "5", "16500", "0", "2", "f"), NULL);
    fake_pg_answer("CLOSE walden_summary", 0, NULL);
    fake_pg_answer("pg_wal_summary_contents(1, '0/2000000', '0/3000000')", 0, NULL);
    fake_pg_answer("FETCH FORWARD", 6,
                   /* again block 7 (once per summary), a larger limit of 16390 */
                   ROW("1663", "5", "16384", "0", "7", "f"),
                   ROW("1663", "5", "16390", "0", "20", "t"),
                   /* database 16500 created */
                   ROW("1663", "16500", "0", "0", "0", "t"), NULL);
    fake_pg_answer("CLOSE walden_summary", 0, NULL);
    fake_pg_answer("COMMIT", 0, NULL);
    wd_summary *s = NULL;
    assert_true(wd_summary_load(c, 1, 0x1000028, 0x3000000, 100, &s, why, sizeof(why)));
    assert_int_equal(fake_pg_queries(), 9);
    assert_string_equal(fake_pg_sql(2),
                        "DECLARE walden_summary NO SCROLL CURSOR FOR SELECT reltablespace, "
                        "reldatabase, relfilenode, relforknumber, relblocknumber, is_limit_block "
                        "FROM pg_wal_summary_contents(1, '0/1000000', '0/2000000')");
    assert_string_equal(fake_pg_sql(3), "FETCH FORWARD 10000 FROM walden_summary");
    /* 7 distinct blocks (the VM's included), 2 limits (16390's smallest,
     * database 16500) */
    assert_int_equal(wd_summary_blocks(s), 9);
    wd_pg_close(c);
    fake_pg_end();

    const uint32_t seg = WD_PG_SEGMENT_BLOCKS;
    assert_blocks(s, "base/5/16384", seg, WD_SUMMARY_SOME, ".x.....x..");
    assert_blocks(s, "base/5/16384.1", seg, WD_SUMMARY_SOME, "...x....");
    assert_blocks(s, "base/5/16384.2", seg, WD_SUMMARY_UNCHANGED, "........");
    /* a block beyond the segment size is not understood */
    wd_summary_file f;
    wd_summary_file_get(s, "base/5/16384", seg, &f);
    assert_false(wd_summary_block_changed(&f, seg - 1));
    assert_true(wd_summary_block_changed(&f, seg));
    wd_summary_file_get(s, "base/5/16384.2", seg, &f);
    assert_true(wd_summary_block_changed(&f, seg));
    /* forks other than main: always */
    assert_blocks(s, "base/5/16384_vm", seg, WD_SUMMARY_ALL, "xxxx");
    assert_blocks(s, "base/5/16384_fsm", seg, WD_SUMMARY_ALL, "xxxx");
    assert_blocks(s, "base/5/16384_init", seg, WD_SUMMARY_ALL, "xxxx");
    assert_blocks(s, "base/5/99999_vm", seg, WD_SUMMARY_ALL, "x");
    /* the limit: the smallest of the two, 10; every block from it on */
    assert_blocks(s, "base/5/16390", seg, WD_SUMMARY_SOME, "...x......xxxx");
    assert_blocks(s, "base/5/16390.1", seg, WD_SUMMARY_ALL, "xx");
    /* segments of 4 blocks: the limit at 10 is in segment 2 */
    assert_blocks(s, "base/5/16390", 4, WD_SUMMARY_SOME, "...x");
    assert_blocks(s, "base/5/16390.1", 4, WD_SUMMARY_UNCHANGED, "....x");
    assert_blocks(s, "base/5/16390.2", 4, WD_SUMMARY_SOME, "..xx");
    assert_blocks(s, "base/5/16390.3", 4, WD_SUMMARY_ALL, "xxxx");
    assert_blocks(s, "base/5/16384.1", 4, WD_SUMMARY_SOME, "...x");
    /* a database created: all its files; another database's same
     * relfilenode is another relation */
    assert_blocks(s, "base/16500/16384", seg, WD_SUMMARY_ALL, "xx");
    assert_blocks(s, "base/16500/1", seg, WD_SUMMARY_ALL, "x");
    assert_blocks(s, "base/6/16384", seg, WD_SUMMARY_UNCHANGED, "....");
    assert_blocks(s, "base/5/99999", seg, WD_SUMMARY_UNCHANGED, "....");
    /* tablespaces: global is 1664, base 1663, pg_tblspc/OID */
    assert_blocks(s, "global/1262", seg, WD_SUMMARY_SOME, "x.");
    assert_blocks(s, "base/1/1262", seg, WD_SUMMARY_UNCHANGED, "..");
    assert_blocks(s, "pg_tblspc/16400/PG_17_202406281/5/16500", seg, WD_SUMMARY_SOME, "..x.");
    assert_blocks(s, "base/5/16500", seg, WD_SUMMARY_UNCHANGED, "....");
    /* names not understood */
    assert_blocks(s, "base/5/t3_16384", seg, WD_SUMMARY_ALL, "x");
    assert_blocks(s, "global/pg_control", seg, WD_SUMMARY_ALL, "x");
    assert_blocks(s, "base/5/16384", 0, WD_SUMMARY_ALL, "x");
    /* no summaries at all: everything may have changed */
    assert_blocks(NULL, "base/5/99999", seg, WD_SUMMARY_ALL, "x");
    wd_summary_free(s);
}

static void test_fetches_and_cap(void **state)
{
    (void)state;
    char why[256];
    wd_summary *s = NULL;
    wd_summary_set_fetch_rows(2);
    /* three fetches: 2, 2, then fewer rows ends the cursor; the same block
     * in both summaries is counted once, so a cap of 4 holds */
    wd_pg_conn *c = connect_to(170002);
    script_two_summaries();
    fake_pg_answer("BEGIN", 0, NULL);
    fake_pg_answer("DECLARE", 0, NULL);
    fake_pg_answer("FETCH FORWARD 2", 6, ROW("1663", "5", "1", "0", "1", "f"),
                   ROW("1663", "5", "1", "0", "2", "f"), NULL);
    fake_pg_answer("FETCH FORWARD 2", 6, ROW("1663", "5", "1", "0", "3", "f"),
                   ROW("1663", "5", "1", "0", "4", "f"), NULL);
    fake_pg_answer("FETCH FORWARD 2", 6, NULL);
    fake_pg_answer("CLOSE", 0, NULL);
    fake_pg_answer("DECLARE", 0, NULL);
    fake_pg_answer("FETCH FORWARD 2", 6, ROW("1663", "5", "1", "0", "4", "f"), NULL);
    fake_pg_answer("CLOSE", 0, NULL);
    fake_pg_answer("COMMIT", 0, NULL);
    assert_true(wd_summary_load(c, 1, 0x1000028, 0x3000000, 4, &s, why, sizeof(why)));
    assert_int_equal(wd_summary_blocks(s), 4);
    assert_blocks(s, "base/5/1", WD_PG_SEGMENT_BLOCKS, WD_SUMMARY_SOME, ".xxxx.");
    wd_summary_free(s);
    wd_pg_close(c);
    fake_pg_end();

    /* one more distinct block than allowed: refused, the transaction
     * rolled back */
    c = connect_to(170002);
    script_two_summaries();
    fake_pg_answer("BEGIN", 0, NULL);
    fake_pg_answer("DECLARE", 0, NULL);
    fake_pg_answer("FETCH FORWARD 2", 6, ROW("1663", "5", "1", "0", "1", "f"),
                   ROW("1663", "5", "1", "0", "2", "f"), NULL);
    fake_pg_answer("FETCH FORWARD 2", 6, ROW("1663", "5", "1", "0", "3", "f"), NULL);
    fake_pg_answer("CLOSE", 0, NULL);
    fake_pg_answer("DECLARE", 0, NULL);
    fake_pg_answer("FETCH FORWARD 2", 6, ROW("1663", "5", "1", "0", "9", "t"), NULL);
    fake_pg_answer("CLOSE", 0, NULL);
    fake_pg_answer("COMMIT", 0, NULL);
    s = (wd_summary *)1;
    assert_false(wd_summary_load(c, 1, 0x1000028, 0x3000000, 3, &s, why, sizeof(why)));
    assert_null(s);
    assert_string_equal(why, "too many changed blocks (more than 3)");
    wd_pg_close(c);
    fake_pg_end();
    wd_summary_set_fetch_rows(0);

    /* twice the cap reached while reading: refused at once, rolled back */
    c = connect_to(170002);
    fake_pg_answer("pg_available_wal_summaries()", 3, "1", "0/1000000", "0/3000000", NULL);
    fake_pg_answer("BEGIN", 0, NULL);
    fake_pg_answer("DECLARE", 0, NULL);
    fake_pg_answer("FETCH FORWARD", 6, ROW("1663", "5", "1", "0", "1", "f"),
                   ROW("1663", "5", "1", "0", "2", "f"), ROW("1663", "5", "1", "0", "3", "f"),
                   ROW("1663", "5", "1", "0", "4", "f"), ROW("1663", "5", "1", "0", "5", "f"),
                   ROW("1663", "5", "1", "0", "6", "f"), ROW("1663", "5", "1", "0", "7", "f"),
                   NULL);
    fake_pg_answer("ROLLBACK", 0, NULL);
    assert_false(wd_summary_load(c, 1, 0x1000028, 0x3000000, 2, &s, why, sizeof(why)));
    assert_string_equal(why, "too many changed blocks (more than 2)");
    wd_pg_close(c);
    fake_pg_end();
}

static void test_failures_roll_back(void **state)
{
    (void)state;
    char why[256];
    wd_summary *s = NULL;
    /* a summary removed between the listing and the read */
    wd_pg_conn *c = connect_to(170002);
    script_two_summaries();
    fake_pg_answer("BEGIN", 0, NULL);
    fake_pg_answer("DECLARE", 0, NULL);
    fake_pg_answer("FETCH FORWARD", 6, ROW("1663", "5", "1", "0", "1", "f"), NULL);
    fake_pg_answer("CLOSE", 0, NULL);
    fake_pg_error("DECLARE", "ERROR:  could not open file \"pg_wal/summaries/"
                             "0000000100000000020000000000000003000000.summary\": No such file "
                             "or directory\n");
    fake_pg_answer("ROLLBACK", 0, NULL);
    assert_false(wd_summary_load(c, 1, 0x1000028, 0x3000000, 100, &s, why, sizeof(why)));
    assert_null(s);
    assert_string_equal(why,
                        "reading a WAL summary failed: ERROR:  could not open file "
                        "\"pg_wal/summaries/0000000100000000020000000000000003000000.summary\": "
                        "No such file or directory");
    wd_pg_close(c);
    fake_pg_end();

    /* rows not understood: a fork number PostgreSQL does not have, a
     * boolean that is not one, a NULL */
    const char *bad[][6] = {
        {ROW("1663", "5", "1", "4", "1", "f")},
        {ROW("1663", "5", "1", "0", "1", "true")},
        {ROW("1663", "5", "1", "0", "-1", "f")},
        {ROW("1663", FAKE_PG_NULL, "1", "0", "1", "f")},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++) {
        c = connect_to(170002);
        fake_pg_answer("pg_available_wal_summaries()", 3, "1", "0/1000000", "0/3000000", NULL);
        fake_pg_answer("BEGIN", 0, NULL);
        fake_pg_answer("DECLARE", 0, NULL);
        fake_pg_answer("FETCH FORWARD", 6, bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4],
                       bad[i][5], NULL);
        fake_pg_answer("ROLLBACK", 0, NULL);
        assert_false(wd_summary_load(c, 1, 0x1000028, 0x3000000, 100, &s, why, sizeof(why)));
        assert_string_equal(why, "unexpected row from pg_wal_summary_contents()");
        wd_pg_close(c);
        fake_pg_end();
    }

    /* a gap: refused before any transaction */
    c = connect_to(170002);
    fake_pg_answer("pg_available_wal_summaries()", 3, "1", "0/1000000", "0/2000000", NULL);
    assert_false(wd_summary_load(c, 1, 0x1000028, 0x3000000, 100, &s, why, sizeof(why)));
    assert_int_equal(fake_pg_queries(), 1);
    wd_pg_close(c);
    fake_pg_end();

    /* no WAL between the two: an empty set, no query */
    c = connect_to(170002);
    assert_true(wd_summary_load(c, 1, 0x3000000, 0x3000000, 100, &s, why, sizeof(why)));
    assert_int_equal(wd_summary_blocks(s), 0);
    assert_blocks(s, "base/5/1", WD_PG_SEGMENT_BLOCKS, WD_SUMMARY_UNCHANGED, "...");
    wd_summary_free(s);
    assert_int_equal(fake_pg_queries(), 0);
    wd_pg_close(c);
    fake_pg_end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_ok),       cmocka_unit_test(test_wait),
        cmocka_unit_test(test_coverage),        cmocka_unit_test(test_load_and_answers),
        cmocka_unit_test(test_fetches_and_cap), cmocka_unit_test(test_failures_roll_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
