/*
 * test_summaries.c - backup/summaries.c against the scripted server of
 * fake_pg.h: when a diff or incr backup asks the server for WAL summaries
 * (PostgreSQL 17+, wal-summaries auto, the reference on the same timeline
 * and with the same data checksums setting) and what it loads.
 */
#include <stdio.h>
#include <string.h>

#include "backup/summaries.h"
#include "common/common.h"
#include "fake_pg.h"
#include "testutil.h"

static wd_pg_conn *connect_to(int version)
{
    fake_pg_begin(version);
    const char *keys[] = {"host", NULL}, *vals[] = {"/run/pg", NULL};
    wd_pg_conn *c = NULL;
    assert_ok(wd_pg_connect_params(&c, keys, vals));
    return c;
}

static void metas(wd_backup_meta *ref, wd_backup_meta *m)
{
    memset(ref, 0, sizeof(*ref));
    memset(m, 0, sizeof(*m));
    snprintf(ref->id, sizeof(ref->id), "20261206-100000F");
    snprintf(m->id, sizeof(m->id), "20261206-110000I");
    ref->pub.start_lsn = 0x1000028;
    m->pub.start_lsn = 0x3000028;
    ref->pub.timeline = m->pub.timeline = 1;
    ref->data_checksums = m->data_checksums = 1;
}

static void test_when_asked(void **state)
{
    (void)state;
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    wd_backup_meta ref, m;
    metas(&ref, &m);

    /* before 17, without a reference, with wal-summaries off: nothing asked */
    wd_pg_conn *c = connect_to(150010);
    assert_null(wd_backup_summaries(c, cfg, &ref, &m));
    wd_pg_close(c);
    fake_pg_end();
    c = connect_to(170002);
    assert_null(wd_backup_summaries(c, cfg, NULL, &m));
    assert_ok(walden_config_set(cfg, "wal-summaries", "off", WALDEN_SOURCE_FLAG));
    assert_null(wd_backup_summaries(c, cfg, &ref, &m));
    assert_ok(walden_config_set(cfg, "wal-summaries", "auto", WALDEN_SOURCE_FLAG));
    /* another timeline, data checksums turned on since: refused at once */
    m.pub.timeline = 2;
    assert_null(wd_backup_summaries(c, cfg, &ref, &m));
    m.pub.timeline = 1;
    ref.data_checksums = 0;
    assert_null(wd_backup_summaries(c, cfg, &ref, &m));
    ref.data_checksums = 1;
    assert_int_equal(fake_pg_queries(), 0);

    /* usable: the server's settings, the summarizer, the summaries of the
     * timeline from the reference's start to this start */
    fake_pg_answer("current_setting('summarize_wal')", 3, "on", "on", "off", NULL);
    fake_pg_answer("pg_get_wal_summarizer_state()", 1, "0/3000028", NULL);
    fake_pg_answer("pg_available_wal_summaries()", 3, "1", "0/1000028", "0/3000028", NULL);
    fake_pg_answer("BEGIN", 0, NULL);
    fake_pg_answer("pg_wal_summary_contents(1, '0/1000028', '0/3000028')", 0, NULL);
    fake_pg_answer("FETCH", 6, "1663", "5", "16384", "0", "9", "f", NULL);
    fake_pg_answer("CLOSE", 0, NULL);
    fake_pg_answer("COMMIT", 0, NULL);
    wd_summary *s = wd_backup_summaries(c, cfg, &ref, &m);
    assert_non_null(s);
    assert_int_equal(wd_summary_blocks(s), 1);
    assert_string_equal(fake_pg_param(2, 1), "0/1000028");
    assert_string_equal(fake_pg_param(2, 2), "0/3000028");
    wd_summary_free(s);

    /* summarize_wal off: refused */
    fake_pg_answer("current_setting('summarize_wal')", 3, "off", "on", "off", NULL);
    assert_null(wd_backup_summaries(c, cfg, &ref, &m));
    wd_pg_close(c);
    fake_pg_end();
    walden_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_when_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
