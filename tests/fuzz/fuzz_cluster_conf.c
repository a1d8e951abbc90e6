/*
 * fuzz_cluster_conf.c - cluster.conf, a cluster's identity in the
 * repository (format, system identifier, version, compression,
 * encryption), as walden reads it at every open (walden_repo_open) of a
 * local repository; an encrypted one goes on to its key.conf.
 */
#include <stdio.h>

#include "common/common.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walden_config *cfg;
    fz_repo(&cfg);
    static char path[600];
    if (!path[0])
        snprintf(path, sizeof(path), "%s/cluster.conf", fz_cluster_dir());
    fz_write(path, data, size);
    walden_repo *repo = NULL;
    if (walden_repo_open(&repo, cfg) == 0)
        walden_repo_close(repo);
    walden_error_clear();
    return 0;
}
