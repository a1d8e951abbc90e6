/*
 * arrival.c - waiting for WAL to reach the repository, and saying why it
 * did not: what backup (the WAL its backup needs) and check (a segment it
 * forced out) both do.
 *
 * The wait polls the repository (wd_wal_present) rather than the server:
 * what counts is that the segment is stored where a restore reads it, not
 * that the server thinks it archived it. The caller's clock starts the
 * timeout, so a caller waiting for several segments spends one timeout on
 * all of them.
 */
#include <stdio.h>
#include <time.h>

#include "archive/archive.h"
#include "common/common.h"
#include "repo/lock.h"

int wd_wal_wait(walden_repo *repo, const char *name, const struct timespec *since,
                int64_t timeout_s, void (*tick)(void *ctx), void *ctx, bool *arrived)
{
    *arrived = false;
    for (;;) {
        int rc = wd_wal_present(repo, name, arrived);
        if (rc || *arrived)
            return rc;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - since->tv_sec >= timeout_s)
            return 0;
        if (tick)
            tick(ctx);
        struct timespec nap = {0, WD_WAL_WAIT_POLL_MS * 1000L * 1000L};
        nanosleep(&nap, NULL);
    }
}

void wd_wal_why_missing(const walden_repo *repo, wd_pg_conn *c, char *buf, size_t cap)
{
    char why[1024], pushed[700];
    wd_lock_place at;
    wd_repo_lock_place(repo, &at);
    wd_pg_archiver_state(c, why, sizeof(why));
    wd_push_failure_describe(&at, pushed, sizeof(pushed));
    snprintf(buf, cap, "%s%s", why, pushed);
}
