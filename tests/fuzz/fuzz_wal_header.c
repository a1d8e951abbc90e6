/*
 * fuzz_wal_header.c - the check of a WAL segment's long page header
 * (wd_wal_check_segment) that archive-push and archive-get run. Input: a
 * 24-byte segment name, one byte choosing the PostgreSQL version (0: any),
 * one byte choosing the file size (the header's segment size, or the
 * length of the rest), then the first bytes of the file.
 */
#include <string.h>

#include "common/common.h"
#include "fuzz_util.h"
#include "pg/pg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 26)
        return 0;
    char name[25];
    memcpy(name, data, 24);
    name[24] = '\0';
    wd_wal_name n;
    if (wd_wal_name_parse(name, &n)) {
        walden_error_clear();
        return 0;
    }
    int major = data[24] % 10 ? 9 + data[24] % 10 : 0;
    const uint8_t *page = data + 26;
    size_t len = size - 26;
    uint64_t file_size = len;
    uint32_t seg_size;
    if ((data[25] & 1) && len >= 36) {
        memcpy(&seg_size, page + 32, 4);
        file_size = seg_size;
    }
    uint64_t sysid = 7312345678901234567ull;
    if ((data[25] & 2) && len >= 32)
        memcpy(&sysid, page + 24, 8);
    wd_wal_check_segment(page, len, file_size, &n, name, sysid, major);
    walden_error_clear();
    return 0;
}
