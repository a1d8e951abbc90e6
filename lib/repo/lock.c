/*
 * lock.c - the cluster's locks and the command's worker count (see lock.h).
 */
#include <unistd.h>

#include "common/common.h"
#include "repo/lock.h"

void wd_repo_lock_place(const walden_repo *repo, wd_lock_place *out)
{
    out->cluster = repo->cluster;
    out->repo = repo->location;
    out->dir = repo->lock_dir;
    out->dir_is_default = repo->lock_dir_is_default;
}

int wd_repo_lock(const walden_repo *repo, const char *what, bool shared, int *fd_out)
{
    wd_lock_place at;
    wd_repo_lock_place(repo, &at);
    return wd_lock_acquire(&at, what, shared, fd_out);
}

int wd_process_max(const walden_config *cfg, bool all_cores, int *out)
{
    /* 1 to 64, checked when set (options.c) */
    int64_t n = walden_config_int(cfg, "process-max", 0);
    if (n == 0 && !all_cores) {
        n = 1;
    } else if (n == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (cores > 64 ? 64 : cores) : 1;
    }
    *out = (int)n;
    return 0;
}
