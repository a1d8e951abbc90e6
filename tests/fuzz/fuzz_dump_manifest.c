/*
 * fuzz_dump_manifest.c - dump.manifest, the record of a logical dump
 * (wd_dump_meta_parse).
 */
#include "catalog/catalog.h"
#include "common/common.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wd_dump_meta m = {0};
    wd_dump_meta_parse(&m, (const char *)data, size, FZ_ID "-app");
    wd_dump_meta_clear(&m);
    walden_error_clear();
    return 0;
}
