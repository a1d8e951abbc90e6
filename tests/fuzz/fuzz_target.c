/*
 * fuzz_target.c - the restore target values as `walden restore` reads them
 * (wd_target_from_config: --target-time, --target-lsn, --target-xid,
 * --target-name with --target-timeline and --target-action). The first
 * byte chooses the option; the rest is its value (up to a NUL), then an
 * optional --target-timeline value after the NUL.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "fuzz_util.h"
#include "pg/pg.h"
#include "restore/recovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const options[] = {"target-time", "target-lsn", "target-xid", "target-name",
                                          "target"};
    if (size < 1)
        return 0;
    char *value = fz_cstr(data + 1, size - 1);
    size_t vlen = strlen(value);
    /* after a NUL: the --target-timeline value */
    const char *timeline = vlen < size - 1 ? value + vlen + 1 : NULL;
    walden_config *cfg;
    if (walden_config_new(&cfg))
        abort();
    const char *option = options[data[0] % WD_ARRAY_LEN(options)];
    if (walden_config_set(cfg, option, value, WALDEN_SOURCE_FLAG) == 0 &&
        (!timeline ||
         walden_config_set(cfg, "target-timeline", timeline, WALDEN_SOURCE_FLAG) == 0)) {
        wd_target t;
        wd_target_from_config(cfg, &t);
    }
    /* the parsers on their own, whatever the option's checks allow */
    int64_t ms;
    uint64_t lsn;
    wd_time_parse(value, &ms);
    wd_lsn_parse(value, &lsn);
    walden_config_free(cfg);
    free(value);
    walden_error_clear();
    return 0;
}
