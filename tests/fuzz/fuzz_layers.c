/*
 * fuzz_layers.c - a format 2 file line's layers and block map, and the
 * objects they name, as restore assembles them (wd_unit_read): the input's
 * first line is the LAYERS field, its second the MAP field, the rest the
 * bytes of the delta object of backup FZ_ID (stored uncompressed in a local
 * repository); the unit's size comes from the map's block count.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/layers.h"
#include "common/common.h"
#include "fuzz_util.h"

static int out(void *ctx, uint64_t block, const uint8_t *data, size_t len)
{
    uint64_t *sum = ctx;
    *sum += block + len + (len ? data[0] : 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walden_config *cfg;
    walden_repo *repo = fz_repo(&cfg);
    const uint8_t *nl1 = memchr(data, '\n', size);
    const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', size - (size_t)(nl1 + 1 - data)) : NULL;
    if (!nl2)
        return 0;
    char *layers = fz_cstr(data, (size_t)(nl1 - data));
    char *map = fz_cstr(nl1 + 1, (size_t)(nl2 - nl1 - 1));
    const uint8_t *body = nl2 + 1;
    size_t body_len = size - (size_t)(body - data);
    static bool made;
    if (!made) {
        char *dir = wd_strdup(fz_path(fz_cluster_dir(), "backup/" FZ_ID "/delta/base/5"));
        if (!dir || wd_mkdir_p(dir, 0700))
            abort();
        wd_free(dir);
        made = true;
    }
    fz_write(fz_path(fz_cluster_dir(), "backup/" FZ_ID "/delta/base/5/1"), body, body_len);
    wd_layer l[WD_LAYERS_MAX];
    size_t n = 0;
    /* the unit's size: as many blocks as the map covers, the last one short
     * when the input's length says so */
    uint64_t blocks = 0;
    for (const char *p = map; *p; p++)
        if (*p == '*')
            blocks += strtoull(p + 1, NULL, 10) % 64;
    if (strcmp(map, "-") == 0)
        blocks = body_len / (WD_BLOCK + WD_DELTA_HEAD) + 1;
    if (blocks > 64)
        blocks = 64;
    if (wd_layers_parse(layers, l, &n) == 0 && n > 0) {
        uint8_t *m = malloc(blocks + 1);
        if (m && wd_map_parse(map, n, m, blocks) == 0) {
            char text[WD_MAP_TEXT_MAX + 1];
            wd_map_format(m, blocks, text, sizeof(text));
        }
        free(m);
        wd_manifest_entry e = {.type = 'f',
                               .size = blocks * WD_BLOCK - (body_len % 7),
                               .path = "base/5/1",
                               .link = "",
                               .hash = 'b',
                               .layers = layers,
                               .map = map};
        uint64_t sum = 0;
        wd_unit_read(repo, WD_COMPRESS_NONE, FZ_ID, &e, out, &sum);
    }
    walden_error_clear();
    free(layers);
    free(map);
    return 0;
}
