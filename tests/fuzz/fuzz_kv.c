/*
 * fuzz_kv.c - wd_kv_parse, the name = value reader behind the config file,
 * backup.info, dump.manifest and drill records: any bytes, NULs included.
 */
#include <string.h>

#include "common/common.h"
#include "fuzz_util.h"

static int touch(const char *name, const char *value, int line, void *ctx)
{
    size_t *total = ctx;
    *total += strlen(name) + strlen(value) + (size_t)line;
    /* a callback's error ends the parse: exercise that path too */
    return strcmp(name, "stop") == 0 ? WALDEN_EINVAL : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t total = 0;
    wd_kv_parse((const char *)data, size, "fuzz", touch, &total);
    walden_error_clear();
    return 0;
}
