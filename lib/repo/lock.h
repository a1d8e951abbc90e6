/*
 * lock.h - what the commands of one cluster share on this host: the
 * cluster's locks, and how many workers a command runs (internal).
 *
 * A command locks the cluster its repository handle was opened for, in the
 * lock folder named when it was opened (the cluster, repo and lock-path
 * options then): a configuration handed to the command later cannot make
 * it lock another cluster's or another repository's locks. The lock files
 * themselves are common/lock.h's.
 *
 * Who takes what: backup "backup"; dump "dump"; expire and repo-upgrade
 * "backup" and "dump" (and expire WD_LOCK_READ) exclusively; drill and
 * verify WD_LOCK_READ shared.
 */
#ifndef WD_REPO_LOCK_H
#define WD_REPO_LOCK_H
#include <stdbool.h>

#include "common/lock.h"
#include "repo/repo.h"

/* Where the locks of `repo`'s cluster are (strings borrowed from `repo`). */
void wd_repo_lock_place(const walden_repo *repo, wd_lock_place *out);

/* Lock `what` of `repo`'s cluster, exclusive or `shared` (wd_lock_acquire);
 * release it with wd_lock_release. */
int wd_repo_lock(const walden_repo *repo, const char *what, bool shared, int *fd_out);

/* process-max; when unset, 1, or with `all_cores` (restore: not the
 * production server's load, and its speed is the recovery time) the number
 * of cores (at most 64). */
int wd_process_max(const walden_config *cfg, bool all_cores, int *out);

#endif
