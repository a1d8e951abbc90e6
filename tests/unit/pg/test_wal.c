/*
 * test_wal.c - pg/wal.c: WAL file names and segment header checks; an
 * idle server's segment tail told from one with data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "pg/pg.h"
#include "testutil.h"

static void test_name_parse(void **state)
{
    (void)state;
    struct {
        const char *name;
        int rc;
        wd_wal_kind kind;
        uint32_t tli, log, seg;
    } cases[] = {
        {"000000010000000000000003", 0, WD_WAL_SEGMENT, 1, 0, 3},
        {"0000000A00000001000000FF", 0, WD_WAL_SEGMENT, 10, 1, 255},
        {"000000010000000000000003.partial", 0, WD_WAL_PARTIAL, 1, 0, 3},
        {"000000010000000000000003.00000028.backup", 0, WD_WAL_BACKUP, 1, 0, 3},
        {"00000002.history", 0, WD_WAL_HISTORY, 2, 0, 0},
        {"00000000.history", WALDEN_EINVAL, 0, 0, 0, 0},         /* timeline 0 */
        {"000000000000000000000003", WALDEN_EINVAL, 0, 0, 0, 0}, /* timeline 0 */
        {"00000001000000000000000", WALDEN_EINVAL, 0, 0, 0, 0},  /* 23 digits */
        {"0000000100000000000000030", WALDEN_EINVAL, 0, 0, 0, 0},
        {"00000001000000000000000a", WALDEN_EINVAL, 0, 0, 0, 0}, /* lower case */
        {"000000010000000000000003.bak", WALDEN_EINVAL, 0, 0, 0, 0},
        {"000000010000000000000003.0000028.backup", WALDEN_EINVAL, 0, 0, 0, 0},
        {"../000000010000000000000003", WALDEN_EINVAL, 0, 0, 0, 0},
        {"", WALDEN_EINVAL, 0, 0, 0, 0},
        {"RECOVERYXLOG", WALDEN_EINVAL, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        wd_wal_name n;
        int rc = wd_wal_name_parse(cases[i].name, &n);
        if (rc != cases[i].rc)
            fail_msg("%s: got %d, expected %d", cases[i].name, rc, cases[i].rc);
        if (rc == 0) {
            assert_int_equal(n.kind, cases[i].kind);
            assert_int_equal(n.tli, cases[i].tli);
            assert_int_equal(n.log, cases[i].log);
            assert_int_equal(n.seg, cases[i].seg);
        }
    }
    wd_wal_name n;
    char dir[17];
    assert_ok(wd_wal_name_parse("000000010000000200000003.partial", &n));
    wd_wal_dir("000000010000000200000003.partial", &n, dir);
    assert_string_equal(dir, "0000000100000002");
    assert_ok(wd_wal_name_parse("00000002.history", &n));
    wd_wal_dir("00000002.history", &n, dir);
    assert_string_equal(dir, "");
}

#define SEG (1u << 20)

static void make_header(uint8_t *page, uint16_t magic, uint16_t info, uint64_t pageaddr,
                        uint64_t sysid, uint32_t seg_size)
{
    memset(page, 0, 64);
    uint32_t tli = 1, blcksz = 8192;
    memcpy(page, &magic, 2);
    memcpy(page + 2, &info, 2);
    memcpy(page + 4, &tli, 4);
    memcpy(page + 8, &pageaddr, 8);
    memcpy(page + 24, &sysid, 8);
    memcpy(page + 32, &seg_size, 4);
    memcpy(page + 36, &blcksz, 4);
}

/* Segment numbers to names and back, for 16 MiB and 1 GiB segments. */
static void test_segment_name(void **state)
{
    (void)state;
    char out[25];
    assert_int_equal(wd_wal_per_log(16u << 20), 256);
    assert_int_equal(wd_wal_per_log(1u << 30), 4);
    wd_wal_segment_name(1, 511, wd_wal_per_log(16u << 20), out);
    assert_string_equal(out, "0000000100000001000000FF");
    wd_wal_segment_name(0x2A, 9, wd_wal_per_log(1u << 30), out);
    assert_string_equal(out, "0000002A0000000200000001");
    wd_wal_name n;
    assert_int_equal(wd_wal_name_parse(out, &n), 0);
    assert_int_equal((uint64_t)n.log * 4 + n.seg, 9);
}

static void test_segment_check(void **state)
{
    (void)state;
    const uint64_t sysid = 7312345678901234567ull;
    wd_wal_name n;
    /* 1 MiB segments: segment 0x105 of log 0 starts at 0x105 MiB */
    assert_ok(wd_wal_name_parse("000000010000000000000105", &n));
    uint8_t page[64];
    const uint64_t addr = 0x105ull * SEG;

    make_header(page, 0xD110, 2, addr, sysid, SEG);
    assert_ok(wd_wal_check_segment(page, 64, SEG, &n, "seg", sysid, 15));
    assert_ok(wd_wal_check_segment(page, 64, SEG, &n, "seg", sysid, 0));

    /* another cluster */
    assert_rc(wd_wal_check_segment(page, 64, SEG, &n, "seg", sysid + 1, 15), WALDEN_EMISMATCH);
    assert_non_null(strstr(walden_error_last()->message, "another cluster"));
    /* another version's magic */
    make_header(page, 0xD113, 2, addr, sysid, SEG);
    assert_rc(wd_wal_check_segment(page, 64, SEG, &n, "seg", sysid, 15), WALDEN_EMISMATCH);
    /* not WAL at all */
    make_header(page, 0x1234, 2, addr, sysid, SEG);
    assert_rc(wd_wal_check_segment(page, 64, SEG, &n, "seg", sysid, 15), WALDEN_EINVAL);
    /* no long header */
    make_header(page, 0xD110, 0, addr, sysid, SEG);
    assert_rc(wd_wal_check_segment(page, 64, SEG, &n, "seg", sysid, 15), WALDEN_EINVAL);
    /* file shorter than the segment size in the header */
    make_header(page, 0xD110, 2, addr, sysid, SEG);
    assert_rc(wd_wal_check_segment(page, 64, SEG - 8192, &n, "seg", sysid, 15), WALDEN_EINVAL);
    /* segment size not a power of two */
    make_header(page, 0xD110, 2, addr, sysid, SEG + 1);
    assert_rc(wd_wal_check_segment(page, 64, SEG + 1, &n, "seg", sysid, 15), WALDEN_EINVAL);
    /* content of another segment under this name */
    make_header(page, 0xD110, 2, addr + SEG, sysid, SEG);
    assert_rc(wd_wal_check_segment(page, 64, SEG, &n, "seg", sysid, 15), WALDEN_EINVAL);
    /* too short to hold a header */
    assert_rc(wd_wal_check_segment(page, 20, SEG, &n, "seg", sysid, 15), WALDEN_EINVAL);
    /* a name whose low half is out of range for this segment size */
    assert_ok(wd_wal_name_parse("000000010000000000001000", &n));
    make_header(page, 0xD110, 2, 0x1000ull * SEG, sysid, SEG);
    assert_rc(wd_wal_check_segment(page, 64, SEG, &n, "seg", sysid, 15), WALDEN_EINVAL);
}

static void test_magic_table(void **state)
{
    (void)state;
    assert_int_equal(wd_wal_page_magic(14), 0xD10D);
    assert_int_equal(wd_wal_page_magic(15), 0xD110);
    assert_int_equal(wd_wal_page_magic(16), 0xD113);
    assert_int_equal(wd_wal_page_magic(13), 0xD106);
    assert_int_equal(wd_wal_page_magic(17), 0xD116);
    assert_int_equal(wd_wal_page_magic(18), 0xD118);
    assert_int_equal(wd_wal_page_magic(19), 0);
    assert_int_equal(wd_wal_page_magic(99), 0);
    /* supported: 13 to 18, each with its own magic */
    for (int v = 13; v <= 18; v++) {
        assert_int_equal(wd_pg_major_check(v), 0);
        for (int w = 13; w < v; w++)
            assert_int_not_equal(wd_wal_page_magic(v), wd_wal_page_magic(w));
    }
    assert_int_equal(wd_pg_major_check(12), WALDEN_EVERSION);
    assert_int_equal(wd_pg_major_check(19), WALDEN_EVERSION);
    assert_string_equal(walden_error_last()->message,
                        "PostgreSQL 19 is not supported by walden " WALDEN_VERSION
                        "; supported: 13-18");
}

static void test_pg_control(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    assert_int_equal(
        tu_system("mkdir -p '%s/global' && printf '15\\n' > '%s/PG_VERSION'", dir, dir), 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/global/pg_control", dir);
    uint8_t control[8192] = {0};
    uint64_t sysid = 7312345678901234567ull;
    memcpy(control, &sysid, 8);
    tu_write_file(path, control, sizeof(control));
    uint64_t got;
    int major;
    assert_ok(wd_pg_control_read(dir, &got, &major));
    assert_true(got == sysid);
    assert_int_equal(major, 15);
    unlink(path);
    assert_rc(wd_pg_control_read(dir, &got, &major), WALDEN_ENOTFOUND);
    tu_rmdir_r(dir);
    free(dir);
}

/* A record header at b + off: length, xid, info, rmgr; returns the next
 * record's offset (8-byte aligned). */
static size_t rec(uint8_t *b, size_t off, uint32_t tot, uint32_t xid, uint8_t info, uint8_t rmid)
{
    memset(b + off, 0xAB, tot); /* the body: anything */
    memcpy(b + off, &tot, 4);
    memcpy(b + off + 4, &xid, 4);
    b[off + 16] = info;
    b[off + 17] = rmid;
    return off + ((tot + 7u) & ~7u);
}

static void test_quiet_tail(void **state)
{
    (void)state;
    uint8_t b[8192] = {0};
    uint16_t info = 0x0002; /* XLP_LONG_HEADER */
    memcpy(b + 2, &info, 2);
    /* an idle server: one running-xacts snapshot (96 bytes after the
     * segment's start, as PostgreSQL 15 writes it), then a checkpoint */
    size_t end = rec(b, 40, 50, 0, 0x10, 8);
    assert_int_equal(end, 96);
    assert_true(wd_wal_tail_is_quiet(b, 90)); /* up to the record's end */
    assert_true(wd_wal_tail_is_quiet(b, 96));
    size_t end2 = rec(b, end, 114, 0, 0x10, 0);
    assert_true(wd_wal_tail_is_quiet(b, end2));
    /* only the header: nothing written */
    assert_true(wd_wal_tail_is_quiet(b, 40));

    /* data: a heap insert (rmgr 10) with its transaction, a commit (rmgr 1) */
    uint8_t d[8192];
    memcpy(d, b, sizeof(d));
    size_t e = rec(d, end, 60, 741, 0x00, 10);
    assert_false(wd_wal_tail_is_quiet(d, e));
    memcpy(d, b, sizeof(d));
    e = rec(d, end, 34, 0, 0x00, 1);
    assert_false(wd_wal_tail_is_quiet(d, e));
    /* a snapshot with a transaction id, a standby lock record */
    memcpy(d, b, sizeof(d));
    e = rec(d, 40, 50, 7, 0x10, 8);
    assert_false(wd_wal_tail_is_quiet(d, e));
    memcpy(d, b, sizeof(d));
    e = rec(d, 40, 50, 0, 0x00, 8);
    assert_false(wd_wal_tail_is_quiet(d, e));

    /* what does not parse is not quiet: cut inside a header, a length past
     * the end, too short a length, no long header, a continued record */
    assert_false(wd_wal_tail_is_quiet(b, 50));
    assert_false(wd_wal_tail_is_quiet(b, 39));
    memcpy(d, b, sizeof(d));
    rec(d, 40, 500, 0, 0x10, 8);
    assert_false(wd_wal_tail_is_quiet(d, 96));
    memcpy(d, b, sizeof(d));
    uint32_t small = 10;
    memcpy(d + 40, &small, 4);
    assert_false(wd_wal_tail_is_quiet(d, 96));
    memcpy(d, b, sizeof(d));
    d[2] = 0;
    assert_false(wd_wal_tail_is_quiet(d, 96));
    memcpy(d, b, sizeof(d));
    d[2] = 0x03; /* XLP_FIRST_IS_CONTRECORD */
    assert_false(wd_wal_tail_is_quiet(d, 96));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_parse),    cmocka_unit_test(test_segment_name),
        cmocka_unit_test(test_segment_check), cmocka_unit_test(test_magic_table),
        cmocka_unit_test(test_pg_control),    cmocka_unit_test(test_quiet_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
