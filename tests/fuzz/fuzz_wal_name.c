/*
 * fuzz_wal_name.c - WAL file names (wd_wal_name_parse, wd_wal_dir) as
 * PostgreSQL passes them and as they are listed in the repository, and the
 * archive's object names "NAME-SHA256[.ext]" (wd_wal_object_parse).
 */
#include <stdlib.h>

#include "archive/archive.h"
#include "common/common.h"
#include "fuzz_util.h"
#include "pg/pg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fz_cstr(data, size);
    wd_wal_name n;
    if (wd_wal_name_parse(s, &n) == 0) {
        char dir[17];
        wd_wal_dir(s, &n, dir);
    }
    char name[64];
    wd_wal_copy copy;
    wd_wal_object_parse(s, name, sizeof(name), &copy);
    free(s);
    walden_error_clear();
    return 0;
}
