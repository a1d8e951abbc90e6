/*
 * test_summary.c - archive/summary.c: the archive's runs and gaps per
 * timeline, its lowest and highest segment, across a log boundary; and
 * the segment size inferred from the names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "common/common.h"
#include "testutil.h"

static const char *const HEX = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/* An (empty) archived object: the summary reads names, not contents. */
static void put(const char *repo, const char *name)
{
    char dir[1024], path[1200];
    if (strchr(name, '.') && strstr(name, ".history"))
        snprintf(dir, sizeof(dir), "%s/main/wal", repo);
    else
        snprintf(dir, sizeof(dir), "%s/main/wal/%.16s", repo, name);
    assert_int_equal(tu_system("mkdir -p '%s'", dir), 0);
    snprintf(path, sizeof(path), "%s/%s-%s.zst", dir, name, HEX);
    tu_write_file(path, "x", 1);
}

static void test_ranges_and_gaps(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char repo_dir[600], pgdata[600];
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", dir);
    snprintf(pgdata, sizeof(pgdata), "%s/pgdata", dir);
    tu_fake_pgdata(pgdata, 1, 15);
    walden_config *cfg = tu_area_config(dir, repo_dir, pgdata, NULL);
    assert_ok(walden_repo_init(cfg));
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, cfg));

    walden_wal_summary *s;
    assert_ok(walden_wal_summary_get(repo, &s));
    assert_int_equal(s->segments, 0);
    assert_int_equal(s->n_ranges, 0);
    assert_string_equal(s->max, "");
    assert_true(s->segment_size == 16u << 20);
    walden_wal_summary_free(s);

    const char *names[] = {
        "000000010000000000000001", "000000010000000000000002", "000000010000000000000003",
        "000000010000000000000005", "000000010000000000000006", "0000000100000000000000FF",
        "000000010000000100000000", "000000020000000000000006", "000000020000000000000007",
        /* not segments: counted apart or not at all */
        "00000002.history", "000000010000000000000006.partial",
        "000000010000000000000002.00000028.backup"};
    for (size_t i = 0; i < WD_ARRAY_LEN(names); i++)
        put(repo_dir, names[i]);
    assert_ok(walden_wal_summary_get(repo, &s));
    assert_int_equal(s->segments, 9);
    assert_int_equal(s->history_files, 1);
    assert_true(s->segment_size == 16u << 20); /* the names span two logs: 256 per log */
    assert_string_equal(s->min, "000000010000000000000001");
    assert_string_equal(s->max, "000000010000000100000000");
    assert_true(s->max_time_ms > 0); /* posix knows when it was written */
    const char *want_ranges[][3] = {
        {"1", "000000010000000000000001", "000000010000000000000003"},
        {"1", "000000010000000000000005", "000000010000000000000006"},
        {"1", "0000000100000000000000FF", "000000010000000100000000"}, /* across the log */
        {"2", "000000020000000000000006", "000000020000000000000007"}};
    assert_int_equal(s->n_ranges, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(s->ranges[i].timeline, atoi(want_ranges[i][0]));
        assert_string_equal(s->ranges[i].first, want_ranges[i][1]);
        assert_string_equal(s->ranges[i].last, want_ranges[i][2]);
    }
    assert_int_equal(s->ranges[2].segments, 2);
    assert_int_equal(s->n_gaps, 2);
    assert_string_equal(s->gaps[0].first, "000000010000000000000004");
    assert_string_equal(s->gaps[0].last, "000000010000000000000004");
    assert_string_equal(s->gaps[1].first, "000000010000000000000007");
    assert_string_equal(s->gaps[1].last, "0000000100000000000000FE");
    assert_int_equal(s->gaps[1].segments, 0xFE - 7 + 1);
    walden_wal_summary_free(s);

    walden_repo_close(repo);
    walden_config_free(cfg);
    tu_rmdir_r(dir);
    free(dir);
}

static void test_segments_per_log(void **state)
{
    (void)state;
    assert_int_equal(wd_wal_segments_per_log(5, false), 256);     /* assumed 16 MiB */
    assert_int_equal(wd_wal_segments_per_log(0xFF, true), 256);   /* 16 MiB */
    assert_int_equal(wd_wal_segments_per_log(0x3F, true), 64);    /* 64 MiB */
    assert_int_equal(wd_wal_segments_per_log(0x0, true), 4);      /* 1 GiB */
    assert_int_equal(wd_wal_segments_per_log(0xFFF, true), 4096); /* 1 MiB */
    assert_int_equal(wd_wal_segments_per_log(0x100, false), 512); /* more than 16 MiB allows */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges_and_gaps),
        cmocka_unit_test(test_segments_per_log),
    };
    walden_log_set_level(WALDEN_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
