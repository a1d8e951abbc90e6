/*
 * fuzz_values.c - option values as the command line and the environment
 * give them: durations, whole numbers (sizes, counts, ports), yes/no,
 * log levels, compression names, and walden_config_set with the value
 * checks of the option the first byte chooses.
 */
#include <stdlib.h>

#include "common/common.h"
#include "fuzz_util.h"
#include "io/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static size_t n_options;
    const walden_option_info *list = walden_option_list();
    if (!n_options)
        while (list[n_options].name)
            n_options++;
    char *s = fz_cstr(data + 1, size - 1);
    int64_t i64;
    uint64_t u64;
    walden_log_level level;
    wd_compress c;
    walden_duration_parse(s, &i64);
    walden_bool_parse(s);
    wd_parse_int64(s, INT64_MIN, INT64_MAX, &i64);
    wd_parse_int64(s, 1, 65535, &i64);
    wd_parse_uint64(s, &u64);
    walden_log_level_parse(s, &level);
    wd_compress_parse(s, &c);
    walden_config *cfg;
    if (walden_config_new(&cfg))
        abort();
    const char *name = list[data[0] % n_options].name;
    if (walden_config_set(cfg, name, s, WALDEN_SOURCE_FLAG) == 0) {
        (void)walden_config_get(cfg, name);
        walden_config_bool(cfg, name);
    }
    walden_config_free(cfg);
    free(s);
    walden_error_clear();
    return 0;
}
