/*
 * fuzz_util.h - what the fuzz targets share: NUL-terminated copies of the
 * input, a private temporary folder, and a local repository made once per
 * process for the targets that read files the way walden reads them from a
 * repository.
 *
 * A target must leave no state behind between inputs (no leak, no error
 * left set): libFuzzer reports a leak as a failure, and an input must give
 * the same result whatever ran before it.
 */
#ifndef WALDEN_FUZZ_UTIL_H
#define WALDEN_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "walden/walden.h"

/* The id of the backup (and dump) the repository targets write. */
#define FZ_ID "20260101T000000Z"

/* A malloc'ed, NUL-terminated copy of the input (which may hold NULs). */
char *fz_cstr(const uint8_t *data, size_t size);

/* A folder of this process, created at the first call and removed at exit. */
const char *fz_dir(void);

/* Writes `size` bytes to `path` (replacing it); aborts on failure. */
void fz_write(const char *path, const void *data, size_t size);

/* "<dir>/<rel>" in a static buffer. */
const char *fz_path(const char *dir, const char *rel);

/* An unencrypted local repository in fz_dir()/repo (cluster "main",
 * compression none), initialised at the first call; its configuration in
 * *cfg. Files of the cluster area live in fz_cluster_dir(). Aborts on
 * failure. */
walden_repo *fz_repo(walden_config **cfg);
const char *fz_cluster_dir(void);

/* Runs the input through a pipe of `f` (taken over) into a sink that
 * discards, fed in pieces whose size comes from the first byte (stored
 * files arrive in reads of any size). Returns the pipe's result. */
struct wd_filter;
int fz_run_filter(struct wd_filter *f, const uint8_t *data, size_t size);

#endif
