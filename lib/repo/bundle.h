/*
 * bundle.h - bundles: the small files of a backup packed into a few large
 * objects, so that an object store is not asked for one request per file
 * (docs/repository-format.md, "Bundles").
 *
 * A bundle "<backup>/bundle/N<ext>" is the concatenation of its members'
 * stored streams: each member went through the store pipeline on its own
 * (compressed, encrypted with its own header and key), so it can be read
 * alone from its offset. Nothing in a member names its bundle or its path:
 * what binds a member to its file is the signed manifest, which records its
 * bundle, offset, stored size and content SHA-256 (a member moved or
 * swapped fails that SHA-256 or the exact size).
 *
 * Readers (restore, verify) that read many members start a cache on the
 * repository: each bundle is fetched whole, once, into a private temporary
 * file (unlinked at once, in $TMPDIR or /tmp), and its members are served
 * from there; at most `slots` bundles are kept (least recently used goes
 * first), so the disk used is bounded by slots x the largest bundle.
 * Without a cache a member is one range read.
 */
#ifndef WD_REPO_BUNDLE_H
#define WD_REPO_BUNDLE_H
#include <stdint.h>

#include "io/stream.h"
#include "repo/repo.h"

#define WD_BUNDLE_DIR "bundle"
/* The most a bundle may hold: what a reader fetches at most (the
 * bundle-size option's upper bound). */
#define WD_BUNDLE_MAX (1024ull << 20)

/* "<backup>/bundle/N<ext>"; `backup` "" gives "/bundle/N<ext>". Malloc'ed. */
char *wd_bundle_object(const char *backup, uint64_t n, wd_compress c);

/* Starts the repository's bundle cache for a command whose `workers`
 * threads read members (at most one each at a time): it keeps workers + 2
 * bundles. Ends with wd_repo_bundles_end (nothing when none was started). */
int wd_repo_bundles_begin(walden_repo *repo, int workers);
void wd_repo_bundles_end(walden_repo *repo);
/* Bundles fetched by the cache since it began (for tests and logs). */
uint64_t wd_repo_bundles_fetched(const walden_repo *repo);

/* A source of the stored bytes [offset, offset + len) of bundle `object`:
 * from the cache when the repository has one, else a range read.
 * WALDEN_ENOTFOUND when the bundle is missing; WALDEN_ECORRUPT when it is
 * shorter than offset + len or larger than WD_BUNDLE_MAX. */
int wd_bundle_member_open(walden_repo *repo, const char *object, uint64_t offset, uint64_t len,
                          wd_source **out);
#endif
