/*
 * fuzz_manifest.c - a backup's manifest as walden reads it from the
 * repository (wd_backup_read_manifest: the line sink, the sections, the
 * name = value lines, every [files] line), stored uncompressed in a local
 * repository, signed with the repository's key so that what stands behind
 * the signature check is fuzzed.
 */
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/common.h"
#include "fuzz_util.h"
#include "repo/repo.h"

static int entry(const wd_manifest_entry *e, void *ctx)
{
    size_t *total = ctx;
    *total += strlen(e->path) + strlen(e->link) + e->size + e->part;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walden_config *cfg;
    walden_repo *repo = fz_repo(&cfg);
    fz_write_signed(repo, "backup/" FZ_ID "/backup.manifest", data, size);
    wd_backup_meta m = {0};
    size_t total = 0;
    wd_backup_read_manifest(repo, FZ_ID, &m, entry, &total);
    wd_backup_meta_clear(&m);
    walden_error_clear();
    return 0;
}
