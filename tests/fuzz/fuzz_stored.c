/*
 * fuzz_stored.c - backup.stored, the clear-text list of a backup's stored
 * objects, as `walden verify` reads it (its own line reader, the sections,
 * every [objects] line, the cross-check against the manifest): the input is
 * the backup.stored of a backup whose manifest lists one file, verified
 * with `walden verify --set` in a local repository. Both are signed with
 * the repository's key, so that what stands behind the signature checks is
 * fuzzed.
 */
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "fuzz_util.h"

/* the manifest of the backup: one file, which has no stored object */
static const char manifest[] =
    "# walden backup manifest\n[backup]\nformat = 1\nid = " FZ_ID "\ntype = full\n"
    "compress = none\nencrypted = no\ntimeline = 1\nstart-wal = 000000010000000000000002\n"
    "[files]\n"
    "f\t0600\t3\t1700000000\t"
    "36fc5a4ba1f6d2e6a1a0c2ab73b2b2a2c8d3f8f7f9b1f4b1a7b2b1d5f5c2a5e6\t"
    "36fc5a4ba1f6d2e6a1a0c2ab73b2b2a2c8d3f8f7f9b1f4b1a7b2b1d5f5c2a5e6\t3\t0\tPG_VERSION\n"
    "d\t0700\t0\t1700000000\t-\t-\t0\t0\tbase\n"
    "[end]\nstop-wal = 000000010000000000000003\nstatus = ok\ncomplete = yes\n";

static int quiet(const walden_verify_problem *p, void *ctx)
{
    (void)p;
    (void)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walden_config *cfg;
    walden_repo *repo = fz_repo(&cfg);
    static bool have_manifest;
    if (!have_manifest) {
        fz_write_signed(repo, "backup/" FZ_ID "/backup.manifest", (const uint8_t *)manifest,
                        strlen(manifest));
        have_manifest = true;
    }
    fz_write_signed(repo, "backup/" FZ_ID "/backup.stored", data, size);
    walden_verify_result res = WALDEN_VERIFY_RESULT_INIT;
    walden_verify(repo, cfg, NULL, NULL, quiet, NULL, &res);
    walden_error_clear();
    return 0;
}
