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

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* "REL[_fsm|_vm|_init][.N]" */
static bool relation_name(const char *name, uint32_t *segno)
{
    size_t n = strspn(name, "0123456789");
    if (n == 0)
        return false;
    const char *p = name + n;
    if (strncmp(p, "_fsm", 4) == 0)
        p += 4;
    else if (strncmp(p, "_vm", 3) == 0)
        p += 3;
    else if (strncmp(p, "_init", 5) == 0)
        p += 5;
    *segno = 0;
    if (*p == '.') {
        int64_t v;
        if (!all_digits(p + 1, strlen(p + 1)) || wd_parse_int64(p + 1, 1, 1 << 20, &v))
            return false;
        *segno = (uint32_t)v;
        return true;
    }
    return *p == '\0';
}

bool wd_pg_is_relation_file(const char *relpath, uint32_t *segno)
{
    const char *slash = strrchr(relpath, '/');
    if (!slash)
        return false;
    const char *name = slash + 1;
    size_t dirlen = (size_t)(slash - relpath);
    if (dirlen == 6 && strncmp(relpath, "global", 6) == 0)
        return relation_name(name, segno);
    /* base/DB/ or pg_tblspc/OID/VERSIONDIR/DB/ */
    const char *db = slash;
    while (db > relpath && db[-1] != '/')
        db--;
    if (!all_digits(db, (size_t)(slash - db)) || db == relpath)
        return false;
    size_t parent = (size_t)(db - 1 - relpath);
    int slashes = 0;
    for (const char *p = relpath; *p; p++)
        slashes += *p == '/';
    if ((parent == 4 && strncmp(relpath, "base", 4) == 0 && slashes == 2) ||
        (wd_str_starts_with(relpath, "pg_tblspc/") && slashes == 4))
        return relation_name(name, segno);
    return false;
}

uint32_t wd_pg_block_number(uint32_t segno, uint32_t block_in_file)
{
    return segno * BLOCKS_PER_SEGMENT + block_in_file;
}
