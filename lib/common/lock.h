/*
 * lock.h - the lock files that keep walden commands of one cluster of one
 * repository apart on this machine (internal).
 *
 * A lock is "<folder>/<cluster>-<repo hash>-<what>.lock", flock'ed while the
 * process lives (released by the kernel when it dies). <repo hash> is the
 * first 8 hex digits of the SHA-256 of the repository location (trailing
 * '/' dropped): two repositories whose clusters share a name lock apart.
 *
 * The folder is `lock-path`; by default /run/walden, else (it does not
 * exist and this user cannot create it) /tmp/walden-<uid>, made 0700. A
 * folder that belongs to another user than root or the current one, or
 * that others can write without the sticky bit, is refused. A lock file is
 * opened without following a symbolic link; one that is not a regular file
 * is refused, and walden writes its pid only into a file of its own user
 * with a single link: a planted link never makes walden write elsewhere.
 */
#ifndef WD_COMMON_LOCK_H
#define WD_COMMON_LOCK_H
#include <stdbool.h>
#include <stddef.h>

#include "walden/walden.h"

/* The default lock folder (also in options.c) and the per-user fallback's
 * prefix. */
#define WD_LOCK_DEFAULT_DIR "/run/walden"
#define WD_LOCK_FALLBACK_PREFIX "/tmp/walden-"

/* Where the locks of one cluster of one repository are: what names them and
 * the folder they are in. The strings are borrowed. Commands take it from
 * their repository handle (repo/lock.h: the cluster and location it was
 * opened with); only what runs without one (archive-push's failure record,
 * whose repository may not open) builds it from a configuration. */
typedef struct wd_lock_place {
    const char *cluster;
    const char *repo;    /* the repository location ("" when none) */
    const char *dir;     /* the lock-path option */
    bool dir_is_default; /* lock-path not set: /run/walden, or the fallback */
} wd_lock_place;

/* The place the options cluster, repo and lock-path name in `cfg`. */
void wd_lock_place_of_config(const walden_config *cfg, wd_lock_place *out);

/* A lock on `what` held while the process lives: exclusive, or shared when
 * `shared` (a shared lock waits up to WD_LOCK_SHARED_WAIT_MS for an
 * exclusive holder to finish). WALDEN_ELOCKED when another holds it. */
int wd_lock_acquire(const wd_lock_place *at, const char *what, bool shared, int *fd_out);
/* The lock of the readers of backups and dumps that expire must not pull
 * the rug from under: drill and verify hold it shared, expire exclusive.
 * Its file is opened read-only (flock needs no more), so users that differ
 * (a drill run as root, expire as postgres) share it. */
#define WD_LOCK_READ "read"
#define WD_LOCK_SHARED_WAIT_MS (10 * 60 * 1000)
void wd_lock_release(int fd);

/* The lock file name of `what` for `cluster` in repository `repo`:
 * "<cluster>-<8 hex>-<what>.lock" into out (at least 256 bytes). */
int wd_lock_name(const char *cluster, const char *repo, const char *what, char *out, size_t cap);

/* The name of a small state file kept beside the locks (archive-push's
 * last failure): "<cluster>-<8 hex>-<what>.state". */
int wd_state_name(const char *cluster, const char *repo, const char *what, char *out, size_t cap);
/* The lock folder, opened and checked as for a lock (*dfd: its descriptor,
 * *name: its path, malloc'ed): state files are made in it with openat. */
int wd_lock_dir_open(const wd_lock_place *at, int *dfd, char **name);

/* Mode of the lock files (they hold a pid: nothing secret). */
#define WD_LOCK_FILE_MODE 0644
#endif
