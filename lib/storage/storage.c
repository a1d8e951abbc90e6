/*
 * storage.c - helpers that work over any storage driver.
 */
#include <string.h>

#include "common/common.h"
#include "storage/storage.h"

int wd_storage_read_all(wd_storage *st, const char *path, size_t max, char **out, size_t *len)
{
    wd_source *src;
    int rc = wd_storage_open_read(st, path, &src);
    if (rc)
        return rc;
    size_t cap = 4096, used = 0;
    char *buf = wd_malloc(cap + 1);
    if (!buf) {
        wd_source_close(src);
        return WALDEN_ENOMEM;
    }
    for (;;) {
        if (used == cap) {
            if (cap >= max) {
                rc = wd_error_set(WALDEN_ECORRUPT, "'%s' is larger than %zu bytes", path, max);
                break;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *nb = wd_realloc(buf, cap + 1);
            if (!nb) {
                rc = WALDEN_ENOMEM;
                break;
            }
            buf = nb;
        }
        size_t n;
        if ((rc = wd_source_read(src, (uint8_t *)buf + used, cap - used, &n)) || n == 0)
            break;
        used += n;
    }
    wd_source_close(src);
    if (rc) {
        wd_free(buf);
        return rc;
    }
    buf[used] = '\0';
    *out = buf;
    if (len)
        *len = used;
    return 0;
}

int wd_storage_write_all(wd_storage *st, const char *path, const void *data, size_t len)
{
    wd_sink *sink;
    int rc = wd_storage_open_write(st, path, &sink);
    if (rc)
        return rc;
    if ((rc = sink->write(sink, data, len))) {
        sink->abort(sink);
        return rc;
    }
    return sink->commit(sink);
}
