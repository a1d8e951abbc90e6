/*
 * fuzz_layer_list.c - a manifest line's LAYERS and MAP fields as the signed
 * manifest hands them to restore and verify (catalog/layers.h): layer
 * lists of whole objects, deltas and bundle members, parsed, formatted
 * back (the text must come back the same), members' ends kept inside the
 * largest bundle, and block maps over the layers parsed. The first byte
 * picks the block count; a NUL splits LAYERS from MAP.
 */
#include <stdlib.h>
#include <string.h>

#include "catalog/layers.h"
#include "common/common.h"
#include "fuzz_util.h"
#include "repo/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint64_t nblocks = data[0] * 37u;
    char *s = fz_cstr(data + 1, size - 1);
    char *map_text = s + strlen(s) + 1 <= s + (size - 1) ? s + strlen(s) + 1 : (char *)"-";
    wd_layer l[WD_LAYERS_MAX];
    size_t n = 0;
    if (wd_layers_parse(s, l, &n) == 0 && n > 0) {
        for (size_t i = 0; i < n; i++)
            if (l[i].kind == 'u' && l[i].offset + l[i].stored_size > WD_BUNDLE_MAX)
                abort();
        char back[WD_LAYERS_TEXT_MAX + 1];
        if (wd_layers_format(l, n, back, sizeof(back)) > 0) {
            wd_layer again[WD_LAYERS_MAX];
            size_t m = 0;
            if (wd_layers_parse(back, again, &m) != 0 || m != n ||
                memcmp(again, l, n * sizeof(*l)) != 0)
                abort();
        }
        uint8_t *map = malloc(nblocks + 1);
        (void)wd_map_parse(map_text, n, map, nblocks);
        free(map);
    }
    walden_error_clear();
    free(s);
    return 0;
}
