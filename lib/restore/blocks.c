/*
 * blocks.c - restoring a relation file or part from its layers: every
 * block is written once, at its place, from the object the block map names
 * (catalog/layers.h), and checked against the signed manifest's digests.
 * Contiguous blocks are written together; the file is created by its name
 * in its folder's descriptor, as restore.c's files are, and fsynced at the
 * end unless the caller makes it durable with a syncfs (place.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "catalog/layers.h"
#include "common/common.h"
#include "restore/blocks.h"

#define WRITE_MAX (256 * 1024)

typedef struct writer {
    int fd;
    const char *path;
    uint64_t base; /* the unit's offset in the file */
    uint8_t *buf;
    uint64_t at; /* file offset of buf[0] */
    size_t len;
    uint64_t end;   /* end of what was written, in the file */
    bool writeback; /* a big unit: the disk is started as it is written */
} writer;

static int flush(writer *w)
{
    size_t done = 0;
    while (done < w->len) {
        ssize_t n = pwrite(w->fd, w->buf + done, w->len - done, (off_t)(w->at + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return wd_error_set_errno(n < 0 ? errno : EIO, "cannot write '%s'", w->path);
        done += (size_t)n;
    }
    /* a big unit starts the disk early, so the final sync waits for less;
     * a small one is left to that sync (a request each costs a call per file) */
    if (w->len && w->writeback)
        (void)sync_file_range(w->fd, (off_t)w->at, (off_t)w->len, SYNC_FILE_RANGE_WRITE);
    if (w->at + w->len > w->end)
        w->end = w->at + w->len;
    w->len = 0;
    return 0;
}

static int put_block(void *ctx, uint64_t block, const uint8_t *data, size_t len)
{
    writer *w = ctx;
    uint64_t off = w->base + block * WD_BLOCK;
    if (w->len && (off != w->at + w->len || w->len + len > WRITE_MAX)) {
        int rc = flush(w);
        if (rc)
            return rc;
    }
    if (!w->len)
        w->at = off;
    memcpy(w->buf + w->len, data, len);
    w->len += len;
    return 0;
}

int wd_restore_blocks(walden_repo *repo, wd_compress c, const char *id, const wd_manifest_entry *e,
                      int dirfd, const char *name, const char *path, uint64_t offset, unsigned mode,
                      bool sync)
{
    writer w = {.fd = -1, .path = path, .base = offset, .writeback = e->size >= (1u << 20)};
    int rc = wd_file_create_at(dirfd, name, path, mode, e->type == 'p', &w.fd);
    if (rc)
        return rc;
    if (!(w.buf = wd_malloc(WRITE_MAX)))
        rc = WALDEN_ENOMEM;
    if (!rc)
        rc = wd_unit_read(repo, c, id, e, put_block, &w);
    if (!rc)
        rc = flush(&w);
    /* a file whose last blocks were not written (a chain restored into it
     * would have them) gets its size; one that has it is left alone */
    if (!rc && e->type == 'f' && w.end != e->size && ftruncate(w.fd, (off_t)e->size) != 0)
        rc = wd_error_set_errno(errno, "cannot set the size of '%s'", path);
    if (!rc && sync && fsync(w.fd) != 0)
        rc = wd_error_set_errno(errno, "cannot fsync '%s'", path);
    close(w.fd);
    /* a file that failed its checks is removed, as a whole file's sink does:
     * nothing the signed manifest does not vouch for stays in the target (a
     * part's file is shared with the other parts' workers, and the restore
     * fails as a whole) */
    if (rc && e->type == 'f')
        unlinkat(dirfd, name, 0);
    wd_free(w.buf);
    return rc;
}

int wd_restore_whole_object(walden_repo *repo, const char *id, wd_compress c, const char *path,
                            int64_t part, uint64_t size, uint64_t stored_size, const char *layers,
                            char **object, wd_layer *layer)
{
    size_t n = 0;
    wd_layer all[WD_LAYERS_MAX]; /* a line may name that many: one is refused below */
    int rc = wd_layers_parse(layers[0] ? layers : "-", all, &n);
    if (rc)
        return wd_error_wrap(rc, "backup %s, file '%s'", id, path);
    *layer = all[0];
    if (n > 1 || (n == 1 && ((layer->kind != 'w' && layer->kind != 'u') ||
                             layer->raw_size != size || (layer->kind == 'u' && part >= 0))))
        return wd_error_set(WALDEN_ECORRUPT,
                            "backup %s, file '%s': a whole file must come from one whole object",
                            id, path);
    if (n == 0) {
        memset(layer, 0, sizeof(*layer));
        snprintf(layer->id, sizeof(layer->id), "%s", id);
        layer->kind = 'w';
        layer->part = part;
        layer->stored_size = stored_size;
    }
    *object = wd_layer_object(repo->cluster, layer, path, c);
    return *object ? 0 : WALDEN_ENOMEM;
}
