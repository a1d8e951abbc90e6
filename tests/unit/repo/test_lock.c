/*
 * test_lock.c - repo/lock.c: a command locks the cluster its repository
 * handle was opened for, in the lock folder named then. A configuration
 * handed to the command that names another cluster (or another lock
 * folder) neither takes that cluster's locks nor escapes the repository
 * cluster's: it is only read for the command's own options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "common/lock.h"
#include "repo/lock.h"
#include "repo/repo.h"
#include "testutil.h"

static const uint64_t SYSID = 7312345678901234567ull;

typedef struct fixture {
    char *dir;
    char repo[512], pgdata[512], locks[512], other_locks[512];
    walden_config *cfg;   /* what the repository was opened with: cluster main */
    walden_config *other; /* what a command is handed: cluster other, other folder */
    walden_repo *r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_mkdtemp();
    snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
    snprintf(f->pgdata, sizeof(f->pgdata), "%s/pgdata", f->dir);
    snprintf(f->locks, sizeof(f->locks), "%s/locks", f->dir);
    snprintf(f->other_locks, sizeof(f->other_locks), "%s/other-locks", f->dir);
    tu_fake_pgdata(f->pgdata, SYSID, 15);
    f->cfg = tu_area_config(f->dir, f->repo, f->pgdata, NULL);
    assert_ok(walden_config_set(f->cfg, "lock-path", f->locks, WALDEN_SOURCE_FLAG));
    assert_ok(walden_repo_init(f->cfg));
    assert_ok(walden_repo_open(&f->r, f->cfg));
    f->other = tu_area_config(f->dir, f->repo, f->pgdata, NULL);
    assert_ok(walden_config_set(f->other, "cluster", "other", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(f->other, "lock-path", f->other_locks, WALDEN_SOURCE_FLAG));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    walden_repo_close(f->r);
    walden_config_free(f->cfg);
    walden_config_free(f->other);
    tu_rmdir_r(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* The place is the one the handle was opened with. */
static void test_place_from_open(void **state)
{
    fixture *f = *state;
    wd_lock_place at;
    wd_repo_lock_place(f->r, &at);
    assert_string_equal(at.cluster, "main");
    assert_string_equal(at.repo, f->repo);
    assert_string_equal(at.dir, f->locks);
    assert_false(at.dir_is_default);
    /* a lock taken through the handle is the cluster's, seen by any holder */
    int fd = -1, fd2 = -1;
    assert_ok(wd_repo_lock(f->r, "backup", false, &fd));
    wd_lock_place_of_config(f->cfg, &at);
    assert_rc(wd_lock_acquire(&at, "backup", false, &fd2), WALDEN_ELOCKED);
    wd_lock_release(fd);
    assert_ok(wd_lock_acquire(&at, "backup", false, &fd2));
    wd_lock_release(fd2);
}

/* expire handed a configuration naming cluster "other": it waits on (here:
 * is refused by) the repository cluster's backup lock, and never takes
 * "other"'s. */
static void test_command_locks_repo_cluster(void **state)
{
    fixture *f = *state;
    wd_lock_place mine, theirs;
    wd_lock_place_of_config(f->cfg, &mine);
    wd_lock_place_of_config(f->other, &theirs);
    int held = -1;
    walden_expire_result res = WALDEN_EXPIRE_RESULT_INIT;

    /* a backup of main is running: expire of main's repository must wait */
    assert_ok(wd_lock_acquire(&mine, "backup", false, &held));
    assert_rc(walden_expire(f->r, f->other, 0, 1, NULL, NULL, &res), WALDEN_ELOCKED);
    assert_non_null(strstr(walden_error_last()->message, "cluster 'main'"));
    assert_non_null(strstr(walden_error_last()->message, f->locks));
    wd_lock_release(held);

    /* a backup of "other" is running: no business of main's expire */
    assert_ok(wd_lock_acquire(&theirs, "backup", false, &held));
    assert_ok(walden_expire(f->r, f->other, 0, 1, NULL, NULL, &res));
    wd_lock_release(held);

    /* and without it, nothing was ever locked in the other folder but the
     * lock this test made */
    char name[256];
    assert_ok(wd_lock_name("other", f->repo, "dump", name, sizeof(name)));
    char *p = wd_path_join(f->other_locks, name);
    struct stat st;
    assert_int_not_equal(stat(p, &st), 0);
    wd_free(p);
    assert_ok(wd_lock_name("main", f->repo, "dump", name, sizeof(name)));
    p = wd_path_join(f->locks, name);
    assert_int_equal(stat(p, &st), 0); /* expire held main's dump lock */
    wd_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_place_from_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_locks_repo_cluster, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
