/*
 * objbench.c - moves one file to or from a storage through walden's storage
 * drivers (lib/storage), for scripts/bench/object_store.sh:
 *
 *   walden_objbench CONFIG put PATH FILE   upload FILE as PATH (in the repo)
 *   walden_objbench CONFIG get PATH FILE   download PATH into FILE
 *
 * CONFIG is a walden config file whose `repo` (and s3-* / azure-* options)
 * names the storage. Prints "put|get BYTES SECONDS MiB/s" on success.
 * Built with the tests (not installed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "io/stream.h"
#include "storage/storage.h"
#include "walden/walden.h"

/* Pieces of the size walden's pipelines move (WD_PIPE_BUFFER), read from
 * the source and written to the output as they are (docs/benchmarks.md,
 * "1 GiB object", on why not larger writes into a file). */
#define CHUNK WD_PIPE_BUFFER

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int put(wd_storage *st, const char *path, int fd, uint8_t *buf, uint64_t *bytes)
{
    wd_sink *sink;
    int rc = wd_storage_open_write(st, path, &sink);
    if (rc)
        return rc;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            sink->abort(sink);
            return wd_error_set_errno(errno, "cannot read the input file");
        }
        if (n == 0)
            break;
        if ((rc = sink->write(sink, buf, (size_t)n))) {
            sink->abort(sink);
            return rc;
        }
        *bytes += (uint64_t)n;
    }
    return sink->commit(sink);
}

static int get(wd_storage *st, const char *path, int fd, uint8_t *buf, uint64_t *bytes)
{
    wd_source *src;
    int rc = wd_storage_open_read(st, path, &src);
    if (rc)
        return rc;
    for (;;) {
        size_t n;
        if ((rc = wd_source_read(src, buf, CHUNK, &n)) || n == 0)
            break;
        for (size_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = wd_error_set_errno(errno, "cannot write the output file");
                break;
            }
            off += (size_t)w;
        }
        if (rc)
            break;
        *bytes += n;
    }
    wd_source_close(src);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[2], "put") != 0 && strcmp(argv[2], "get") != 0)) {
        fprintf(stderr, "usage: %s CONFIG put|get PATH FILE\n", argv[0]);
        return 2;
    }
    bool is_put = strcmp(argv[2], "put") == 0;
    walden_config *cfg = NULL;
    wd_storage *st = NULL;
    uint8_t *buf = malloc(CHUNK);
    int fd = is_put ? open(argv[4], O_RDONLY) : open(argv[4], O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = 0;
    uint64_t bytes = 0;
    double t0 = 0, t1 = 0;
    if (!buf || fd < 0) {
        fprintf(stderr, "cannot open '%s': %s\n", argv[4], strerror(errno));
        rc = 1;
    } else if ((rc = walden_config_new(&cfg)) || (rc = walden_config_load_file(cfg, argv[1], 1)) ||
               (rc = wd_storage_open(&st, cfg, true))) {
        fprintf(stderr, "%s\n", walden_error_last()->message);
    } else {
        t0 = now_s();
        rc = is_put ? put(st, argv[3], fd, buf, &bytes) : get(st, argv[3], fd, buf, &bytes);
        t1 = now_s();
        if (rc)
            fprintf(stderr, "%s\n", walden_error_last()->message);
        else
            printf("%s %llu %.3f %.1f\n", argv[2], (unsigned long long)bytes, t1 - t0,
                   (double)bytes / (1 << 20) / (t1 - t0));
    }
    wd_storage_free(st);
    walden_config_free(cfg);
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc ? 1 : 0;
}
