/*
 * checksum.c - verifying data page checksums while a backup reads them.
 *
 * Page header (all versions since 9.3): pd_lsn (two uint32: high, low) at
 * 0, pd_checksum (uint16) at 8, pd_upper (uint16) at 14. A page with
 * pd_upper 0 was never initialized and must be all zeros.
 */
#include <string.h>

#include "common/common.h"
#include "pg/pg.h"

uint16_t wd_pg_checksum_page_impl(char *page, uint32_t blkno);

/* Relation segments are 1 GiB: block numbers continue across them. */
#define BLOCKS_PER_SEGMENT (1024u * 1024u * 1024u / WD_PG_BLCKSZ)

wd_page_state wd_pg_page_check(const uint8_t *page, uint32_t blkno, uint64_t start_lsn)
{
    uint32_t hi, lo;
    uint16_t stored, upper;
    memcpy(&hi, page, 4);
    memcpy(&lo, page + 4, 4);
    memcpy(&stored, page + 8, 2);
    memcpy(&upper, page + 14, 2);
    if (upper == 0) {
        for (size_t i = 0; i < WD_PG_BLCKSZ; i++)
            if (page[i])
                return WD_PAGE_BAD;
        return WD_PAGE_NEW;
    }
    uint64_t lsn = ((uint64_t)hi << 32) | lo;
    if (lsn >= start_lsn)
        return WD_PAGE_SKIPPED;
    /* the checksum is computed with pd_checksum zeroed, on a copy */
    uint64_t copy[WD_PG_BLCKSZ / 8];
    memcpy(copy, page, WD_PG_BLCKSZ);
    uint16_t computed = wd_pg_checksum_page_impl((char *)copy, blkno);
    return computed == stored ? WD_PAGE_OK : WD_PAGE_BAD;
}

uint32_t wd_pg_block_number(uint32_t segno, uint32_t block_in_file)
{
    return segno * BLOCKS_PER_SEGMENT + block_in_file;
}
