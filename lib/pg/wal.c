/*
 * wal.c - WAL file names and the long page header of a segment.
 *
 * The long header (XLogLongPageHeaderData) is read in host byte order:
 *   0 magic u16 | 2 info u16 | 4 timeline u32 | 8 page address u64 |
 *   16 remaining length u32 | (4 bytes padding) | 24 system id u64 |
 *   32 segment size u32 | 36 WAL block size u32
 * A segment is accepted only if its magic belongs to the repository's
 * PostgreSQL version, the long-header flag is set, the segment size field
 * equals the file size, the page address equals the segment's start as
 * given by its name, and the system identifier equals the repository's.
 */
#include <string.h>

#include "common/common.h"
#include "pg/pg.h"

#define XLP_LONG_HEADER 0x0002

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

static uint32_t hex32(const char *s)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 4 | (uint32_t)(s[i] <= '9' ? s[i] - '0' : s[i] - 'A' + 10);
    return v;
}

int wd_wal_name_parse(const char *name, wd_wal_name *out)
{
    size_t len = strlen(name);
    memset(out, 0, sizeof(*out));
    if (len == 16 && all_hex(name, 8) && strcmp(name + 8, ".history") == 0) {
        out->kind = WD_WAL_HISTORY;
        out->tli = hex32(name);
        if (out->tli >= 1)
            return 0;
    } else if (len >= 24 && all_hex(name, 24)) {
        out->tli = hex32(name);
        out->log = hex32(name + 8);
        out->seg = hex32(name + 16);
        const char *rest = name + 24;
        if (*rest == '\0')
            out->kind = WD_WAL_SEGMENT;
        else if (strcmp(rest, ".partial") == 0)
            out->kind = WD_WAL_PARTIAL;
        else if (strlen(rest) == 16 && rest[0] == '.' && all_hex(rest + 1, 8) &&
                 strcmp(rest + 9, ".backup") == 0)
            out->kind = WD_WAL_BACKUP;
        else
            goto bad;
        if (out->tli >= 1)
            return 0;
    }
bad:
    return wd_error_set(WALDEN_EINVAL, "'%s' is not a WAL file name", name);
}

void wd_wal_dir(const char *name, const wd_wal_name *parsed, char dir[17])
{
    if (parsed->kind == WD_WAL_HISTORY) {
        dir[0] = '\0';
        return;
    }
    memcpy(dir, name, 16);
    dir[16] = '\0';
}

uint16_t wd_wal_page_magic(int pg_major)
{
    switch (pg_major) {
    case 10:
        return 0xD097;
    case 11:
        return 0xD098;
    case 12:
        return 0xD101;
    case 13:
        return 0xD106;
    case 14:
        return 0xD10D;
    case 15:
        return 0xD110;
    case 16:
        return 0xD113;
    case 17:
        return 0xD116;
    case 18:
        return 0xD118;
    default:
        return 0;
    }
}

static bool magic_known(uint16_t magic)
{
    for (int v = 10; v <= 18; v++)
        if (wd_wal_page_magic(v) == magic)
            return true;
    return false;
}

int wd_wal_check_segment(const uint8_t *page, size_t len, uint64_t file_size,
                         const wd_wal_name *name, const char *display, uint64_t sysid, int pg_major)
{
    uint16_t magic, info;
    uint64_t pageaddr, hdr_sysid;
    uint32_t seg_size, blcksz;

    if (len < WD_WAL_LONG_HEADER_SIZE)
        return wd_error_set(WALDEN_EINVAL, "'%s' is not a WAL segment: only %zu bytes", display,
                            len);
    memcpy(&magic, page, 2);
    memcpy(&info, page + 2, 2);
    memcpy(&pageaddr, page + 8, 8);
    memcpy(&hdr_sysid, page + 24, 8);
    memcpy(&seg_size, page + 32, 4);
    memcpy(&blcksz, page + 36, 4);

    uint16_t want = wd_wal_page_magic(pg_major);
    if (want ? magic != want : !magic_known(magic)) {
        if (magic_known(magic))
            return wd_error_set(WALDEN_EMISMATCH,
                                "'%s' was written by another PostgreSQL version than the "
                                "repository's (%d): page magic 0x%04X",
                                display, pg_major, magic);
        return wd_error_set(WALDEN_EINVAL, "'%s' is not a WAL segment: bad page magic 0x%04X",
                            display, magic);
    }
    if (!(info & XLP_LONG_HEADER))
        return wd_error_set(WALDEN_EINVAL, "'%s' is not a WAL segment: no long page header",
                            display);
    /* segment size: a power of two from 1 MiB to 1 GiB, and the file's size */
    if (seg_size < (1u << 20) || seg_size > (1u << 30) || (seg_size & (seg_size - 1)))
        return wd_error_set(WALDEN_EINVAL, "'%s' is not a WAL segment: bad segment size %u",
                            display, seg_size);
    if (blcksz < 1024 || blcksz > 65536 || (blcksz & (blcksz - 1)))
        return wd_error_set(WALDEN_EINVAL, "'%s' is not a WAL segment: bad block size %u", display,
                            blcksz);
    if (file_size != seg_size)
        return wd_error_set(WALDEN_EINVAL,
                            "'%s' is not a complete WAL segment: %llu bytes, header says %u",
                            display, (unsigned long long)file_size, seg_size);
    uint64_t per_log = wd_wal_per_log(seg_size);
    if (name->seg >= per_log)
        return wd_error_set(WALDEN_EINVAL, "'%s' is not a valid segment name for %u-byte segments",
                            display, seg_size);
    uint64_t segno = (uint64_t)name->log * per_log + name->seg;
    if (pageaddr != segno * seg_size)
        return wd_error_set(WALDEN_EINVAL,
                            "'%s' does not hold the segment its name says: page address %llX",
                            display, (unsigned long long)pageaddr);
    if (hdr_sysid != sysid)
        return wd_error_set(WALDEN_EMISMATCH,
                            "'%s' belongs to another cluster: system identifier %llu, "
                            "repository has %llu",
                            display, (unsigned long long)hdr_sysid, (unsigned long long)sysid);
    return 0;
}

bool wd_wal_tail_is_quiet(const uint8_t *b, size_t len)
{
    /* the segment's long page header, not continuing a record of the
     * previous segment (XLP_FIRST_IS_CONTRECORD) */
    uint16_t info;
    if (len < WD_WAL_LONG_HEADER_SIZE)
        return false;
    memcpy(&info, b + 2, 2);
    if (!(info & XLP_LONG_HEADER) || (info & 0x0001))
        return false;
    size_t off = WD_WAL_LONG_HEADER_SIZE;
    while (off < len) {
        /* XLogRecord: xl_tot_len, xl_xid, xl_prev, xl_info, xl_rmid, pad, crc */
        uint32_t tot, xid;
        if (len - off < 24)
            return false;
        memcpy(&tot, b + off, 4);
        memcpy(&xid, b + off + 4, 4);
        uint8_t rinfo = b[off + 16] & 0xF0, rmid = b[off + 17];
        if (tot < 24 || tot > len - off || xid != 0)
            return false;
        bool snapshot = rmid == 8 && rinfo == 0x10; /* RM_STANDBY_ID, XLOG_RUNNING_XACTS */
        bool checkpoint = rmid == 0 && (rinfo == 0x00 || rinfo == 0x10); /* shutdown, online */
        if (!snapshot && !checkpoint)
            return false;
        off += ((size_t)tot + 7) & ~(size_t)7;
    }
    return off - len < 8;
}

int wd_pg_major_check(int pg_major)
{
    if (pg_major >= WD_PG_MAJOR_MIN && pg_major <= WD_PG_MAJOR_MAX && wd_wal_page_magic(pg_major))
        return 0;
    return wd_error_set(WALDEN_EVERSION,
                        "PostgreSQL %d is not supported by walden %s; supported: %d-%d", pg_major,
                        WALDEN_VERSION, WD_PG_MAJOR_MIN, WD_PG_MAJOR_MAX);
}

void wd_wal_segment_name(uint32_t tli, uint64_t segno, uint64_t per_log, char out[25])
{
    snprintf(out, 25, "%08X%08X%08X", tli, (unsigned)(segno / per_log),
             (unsigned)(segno % per_log));
}
