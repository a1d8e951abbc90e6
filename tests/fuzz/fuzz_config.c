/*
 * fuzz_config.c - the config file (walden_config_load_file: the name =
 * value reader, unknown names, every option's value check), read from a
 * file as walden reads /etc/walden/walden.conf, then every option's value
 * read back.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[512];
    if (!path[0]) {
        walden_log_set_level(WALDEN_LOG_ERROR);
        snprintf(path, sizeof(path), "%s/walden.conf", fz_dir());
    }
    fz_write(path, data, size);
    walden_config *cfg;
    if (walden_config_new(&cfg))
        abort();
    if (walden_config_load_file(cfg, path, 1) == 0)
        for (const walden_option_info *o = walden_option_list(); o->name; o++)
            (void)walden_config_get(cfg, o->name);
    walden_config_free(cfg);
    walden_error_clear();
    return 0;
}
