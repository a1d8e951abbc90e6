/*
 * fuzz_pg_control.c - the cluster's identity read from a data directory
 * (wd_pg_control_read: PG_VERSION and the start of global/pg_control).
 * Input: PG_VERSION's bytes, a NUL, then pg_control's bytes.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "fuzz_util.h"
#include "pg/pg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char pgdata[512];
    if (!pgdata[0]) {
        snprintf(pgdata, sizeof(pgdata), "%s/pgdata", fz_dir());
        mkdir(pgdata, 0700);
        mkdir(fz_path(pgdata, "global"), 0700);
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t vlen = nul ? (size_t)(nul - data) : size;
    size_t clen = nul ? size - vlen - 1 : 0;
    fz_write(fz_path(pgdata, "PG_VERSION"), data, vlen);
    fz_write(fz_path(pgdata, "global/pg_control"), nul ? nul + 1 : data, clen);
    uint64_t sysid;
    int major;
    wd_pg_control_read(pgdata, &sysid, &major);
    walden_error_clear();
    return 0;
}
