/*
 * test_checksum.c - pg/checksum.c: data page checks.
 * (The checksum itself is PostgreSQL's; the integration tests check it
 * against pages a real server wrote.)
 */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "pg/pg.h"
#include "testutil.h"

uint16_t wd_pg_checksum_page_impl(char *page, uint32_t blkno);

/* A plausible page: LSN, pd_lower/upper/special, some tuple bytes, and its
 * checksum for block `blkno`. */
static void make_page(uint8_t *page, uint64_t lsn, uint32_t blkno)
{
    memset(page, 0, WD_PG_BLCKSZ);
    uint32_t hi = (uint32_t)(lsn >> 32), lo = (uint32_t)lsn;
    memcpy(page, &hi, 4);
    memcpy(page + 4, &lo, 4);
    uint16_t lower = 28, upper = 4000, special = WD_PG_BLCKSZ, version = WD_PG_BLCKSZ | 4;
    memcpy(page + 12, &lower, 2);
    memcpy(page + 14, &upper, 2);
    memcpy(page + 16, &special, 2);
    memcpy(page + 18, &version, 2);
    tu_fill(page + upper, WD_PG_BLCKSZ - upper, blkno, 0);
    uint16_t sum = wd_pg_checksum_page_impl((char *)page, blkno);
    memcpy(page + 8, &sum, 2);
}

static void test_page_states(void **state)
{
    (void)state;
    static uint8_t page[WD_PG_BLCKSZ];
    const uint64_t start = 0x100000000ull; /* backup start LSN 1/0 */
    make_page(page, 0x50000000, 7);
    assert_int_equal(wd_pg_page_check(page, 7, start), WD_PAGE_OK);
    /* the block number is part of the checksum: a page in the wrong place */
    assert_int_equal(wd_pg_page_check(page, 8, start), WD_PAGE_BAD);
    /* any flipped bit in the body */
    for (size_t off = 20; off < WD_PG_BLCKSZ; off += 509) {
        page[off] ^= 0x10;
        assert_int_equal(wd_pg_page_check(page, 7, start), WD_PAGE_BAD);
        page[off] ^= 0x10;
    }
    assert_int_equal(wd_pg_page_check(page, 7, start), WD_PAGE_OK);
    /* a page written after the backup started is skipped, even if torn */
    make_page(page, start, 3);
    page[5000] ^= 1;
    assert_int_equal(wd_pg_page_check(page, 3, start), WD_PAGE_SKIPPED);
    /* never-initialized pages: all zero is fine, anything else is not */
    memset(page, 0, sizeof(page));
    assert_int_equal(wd_pg_page_check(page, 0, start), WD_PAGE_NEW);
    page[6000] = 1;
    assert_int_equal(wd_pg_page_check(page, 0, start), WD_PAGE_BAD);
}

static void test_block_number(void **state)
{
    (void)state;
    assert_int_equal(wd_pg_block_number(0, 5), 5);
    assert_int_equal(wd_pg_block_number(1, 0), 131072);
    assert_int_equal(wd_pg_block_number(3, 2), 3 * 131072 + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_states),
        cmocka_unit_test(test_block_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
