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

/* The private key (hex) that signs the repository's texts: fixed, so that
 * a seed signed with it (tests/fuzz/make-corpus.sh) stays valid. */
#define FZ_SIGN_KEY "77616c64656e2066757a7a207369676e696e67206b65792c206e6f7420736563"

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

/* Writes the input to `rel` (a path in the cluster area) as walden itself
 * writes a signed text: a newline is added when the input does not end with
 * one, then a signature line made with the repository's signing key. The
 * targets that read signed files use it so that the parser behind the
 * signature check is fuzzed; fuzz_signed fuzzes the check itself. */
void fz_write_signed(walden_repo *repo, const char *rel, const uint8_t *data, size_t size);

/* Runs the input through a pipe of `f` (taken over) into a sink that
 * discards, fed in pieces whose size comes from the first byte (stored
 * files arrive in reads of any size). Returns the pipe's result. */
struct wd_filter;
int fz_run_filter(struct wd_filter *f, const uint8_t *data, size_t size);

#endif
