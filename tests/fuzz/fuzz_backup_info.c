/*
 * fuzz_backup_info.c - backup.info, the clear-text summary of a backup, as
 * walden loads it from the repository (wd_backup_load_meta; the backup has
 * no manifest, so a damaged summary ends in "not found"). The input is
 * signed with the repository's key before it is written, so that the parser
 * behind the signature check is fuzzed (fuzz_signed: the check itself).
 */
#include <stdio.h>
#include "catalog/catalog.h"
#include "common/common.h"
#include "fuzz_util.h"
#include "repo/repo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walden_config *cfg;
    walden_repo *repo = fz_repo(&cfg);
#ifdef FZ_UNSIGNED
    static char path[700];
    if (!path[0])
        snprintf(path, sizeof(path), "%s/backup/%s/backup.info", fz_cluster_dir(), FZ_ID);
    fz_write(path, data, size);
#else
    fz_write_signed(repo, "backup/" FZ_ID "/backup.info", data, size);
#endif
    wd_backup_meta m = {0};
    if (wd_backup_load_meta(repo, FZ_ID, &m) == 0)
        wd_backup_meta_link(&m);
    wd_backup_meta_clear(&m);
    walden_error_clear();
    return 0;
}
