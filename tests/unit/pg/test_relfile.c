/*
 * test_relfile.c - pg/relfile.c: relation file names, parsed into their
 * tablespace, database, relfilenode, fork and segment, and the test backup
 * uses to store a file by blocks.
 */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "pg/pg.h"
#include "testutil.h"

static void test_relfile_parse(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        bool ok;
        wd_pg_relfile want;
    } cases[] = {
        {"base/5/16384", true, {1663, 5, 16384, WD_PG_FORK_MAIN, 0}},
        {"base/5/16384.12", true, {1663, 5, 16384, WD_PG_FORK_MAIN, 12}},
        {"base/5/16384_fsm", true, {1663, 5, 16384, WD_PG_FORK_FSM, 0}},
        {"base/5/16384_vm.1", true, {1663, 5, 16384, WD_PG_FORK_VM, 1}},
        {"base/5/16384_init", true, {1663, 5, 16384, WD_PG_FORK_INIT, 0}},
        {"global/1262", true, {1664, 0, 1262, WD_PG_FORK_MAIN, 0}},
        {"global/1262_vm", true, {1664, 0, 1262, WD_PG_FORK_VM, 0}},
        {"pg_tblspc/16400/PG_17_202406281/5/16500.3", true, {16400, 5, 16500, 0, 3}},
        {"base/4294967295/4294967295", true, {1663, 4294967295u, 4294967295u, 0, 0}},
        {"base/5/4294967296", false, {0}},
        {"base/5/16384.32767", true, {1663, 5, 16384, 0, 32767}},
        {"base/5/16384.32768", false, {0}},
        {"base/5/016384", false, {0}},
        {"base/5/16384.", false, {0}},
        {"base/5/16384.01", false, {0}},
        {"base/5/16384_xx", false, {0}},
        {"base/5/t3_16384", false, {0}},
        {"base/5/pg_internal.init", false, {0}},
        {"base/5", false, {0}},
        {"base/5/", false, {0}},
        {"base/x/16384", false, {0}},
        {"base/5/6/16384", false, {0}},
        {"global/pg_control", false, {0}},
        {"global/1262/1", false, {0}},
        {"pg_tblspc/16400/5/16500", false, {0}},
        {"pg_tblspc/16400/PG_17_202406281/5", false, {0}},
        {"pg_tblspc/x/PG_17_202406281/5/16500", false, {0}},
        {"pg_wal/000000010000000000000001", false, {0}},
        {"16384", false, {0}},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        wd_pg_relfile got = {0};
        bool ok = wd_pg_relfile_parse(cases[i].path, &got);
        if (ok != cases[i].ok)
            fail_msg("%s: parsed %d, expected %d", cases[i].path, ok, cases[i].ok);
        if (ok && memcmp(&got, &cases[i].want, sizeof(got)) != 0)
            fail_msg("%s: %u/%u/%u fork %u seg %u", cases[i].path, got.spc, got.db, got.rel,
                     got.fork, got.segno);
    }
}

static void test_relation_files(void **state)
{
    (void)state;
    struct {
        const char *path;
        bool rel;
        uint32_t segno;
    } cases[] = {
        {"base/5/16384", true, 0},
        {"base/5/16384.2", true, 2},
        {"base/5/16384_fsm", true, 0},
        {"base/5/16384_vm.1", true, 1},
        {"base/5/16384_init", true, 0},
        {"global/1262", true, 0},
        {"pg_tblspc/16385/PG_15_202209061/5/16386", true, 0},
        {"pg_tblspc/16385/PG_15_202209061/5/16386.12", true, 12},
        {"base/5/PG_VERSION", false, 0},
        {"base/5/pg_filenode.map", false, 0},
        {"base/5/pg_internal.init", false, 0},
        {"global/pg_control", false, 0},
        {"base/5/16384.", false, 0},
        {"base/5/16384.x", false, 0},
        {"base/5/16384_foo", false, 0},
        {"base/x/16384", false, 0},
        {"pg_xact/0000", false, 0},
        {"base/5/sub/16384", false, 0},
        {"pg_tblspc/16385/5/16386", false, 0},
        {"16384", false, 0},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(cases); i++) {
        uint32_t segno = 99;
        bool rel = wd_pg_is_relation_file(cases[i].path, &segno);
        if (rel != cases[i].rel)
            print_error("%s\n", cases[i].path);
        assert_int_equal(rel, cases[i].rel);
        if (rel)
            assert_int_equal(segno, cases[i].segno);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relfile_parse),
        cmocka_unit_test(test_relation_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
