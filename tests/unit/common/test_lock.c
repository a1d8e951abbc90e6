/*
 * test_lock.c - common/lock.c: lock names per cluster and repository, and
 * what a lock folder shared with other local users may hold: a planted
 * symbolic link, hard link or FIFO is refused without writing through it,
 * and so is a folder others may write without the sticky bit or one that
 * belongs to another user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "common/lock.h"
#include "testutil.h"

static walden_config *config(const char *lockdir, const char *repo, const char *cluster)
{
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "lock-path", lockdir, WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "repo", repo, WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "cluster", cluster, WALDEN_SOURCE_FLAG));
    return cfg;
}

/* The locks of the place `cfg` names (what a repository handle captures
 * when it is opened). */
static int lock_acquire_mode(const walden_config *cfg, const char *what, bool shared, int *fd)
{
    wd_lock_place at;
    wd_lock_place_of_config(cfg, &at);
    return wd_lock_acquire(&at, what, shared, fd);
}

static int lock_acquire(const walden_config *cfg, const char *what, int *fd)
{
    return lock_acquire_mode(cfg, what, false, fd);
}

static char *lock_path(const char *dir, const char *repo, const char *cluster, const char *what)
{
    char name[256];
    assert_ok(wd_lock_name(cluster, repo, what, name, sizeof(name)));
    return wd_path_join(dir, name);
}

static void test_name(void **state)
{
    (void)state;
    char a[256], b[256], c[256], d[256];
    assert_ok(wd_lock_name("main", "/var/lib/walden", "backup", a, sizeof(a)));
    assert_ok(wd_lock_name("main", "/var/lib/walden/", "backup", b, sizeof(b)));
    assert_ok(wd_lock_name("main", "/srv/other", "backup", c, sizeof(c)));
    assert_ok(wd_lock_name("main", "/var/lib/walden", "dump", d, sizeof(d)));
    /* main-<8 hex digits of SHA-256("/var/lib/walden")>-backup.lock */
    assert_int_equal(strlen(a), strlen("main--backup.lock") + 8);
    assert_true(wd_str_starts_with(a, "main-") && wd_str_ends_with(a, "-backup.lock"));
    assert_string_equal(a, b); /* a trailing '/' names the same repository */
    assert_string_not_equal(a, c);
    assert_memory_equal(a, d, strlen("main-") + 8);
}

/* Two repositories whose clusters share a name lock apart; the same one
 * excludes a second holder. */
static void test_repositories_lock_apart(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    walden_config *one = config(dir, "/srv/repo-one", "main");
    walden_config *two = config(dir, "s3://bucket/two", "main");
    int fd1 = -1, fd2 = -1, fd3 = -1;
    assert_ok(lock_acquire(one, "backup", &fd1));
    assert_ok(lock_acquire(two, "backup", &fd2));
    assert_rc(lock_acquire(one, "backup", &fd3), WALDEN_ELOCKED);
    assert_non_null(
        strstr(walden_error_last()->message, "another walden backup of cluster 'main' is running"));
    /* the holder's pid is in its file, which is the holder's alone */
    char *p = lock_path(dir, "/srv/repo-one", "main", "backup");
    size_t len;
    char *text = (char *)tu_read_file(p, &len);
    char want[32];
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    assert_int_equal(len, strlen(want));
    assert_memory_equal(text, want, len);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, WD_LOCK_FILE_MODE);
    free(text);
    wd_free(p);
    wd_lock_release(fd1);
    wd_lock_release(fd2);
    assert_ok(lock_acquire(one, "backup", &fd3));
    wd_lock_release(fd3);
    walden_config_free(one);
    walden_config_free(two);
    tu_rmdir_r(dir);
    wd_free(dir);
}

/* Something planted under a lock's name: refused, nothing written into
 * what it points at. */
static void test_planted_files_refused(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *target = wd_path_join(dir, "precious");
    char *locks = wd_path_join(dir, "locks");
    assert_int_equal(mkdir(locks, 0700), 0);
    const char precious[] = "precious contents\n";
    tu_write_file(target, precious, strlen(precious));
    walden_config *cfg = config(locks, "/srv/repo", "main");
    char *p = lock_path(locks, "/srv/repo", "main", "backup");
    int fd = -1;

    assert_int_equal(symlink(target, p), 0);
    assert_rc(lock_acquire(cfg, "backup", &fd), WALDEN_EPERM);
    assert_non_null(strstr(walden_error_last()->message, "is a symbolic link: refusing it"));
    assert_non_null(strstr(walden_error_last()->message, p));
    /* the readers' lock (opened read-only) refuses it too */
    char *r = lock_path(locks, "/srv/repo", "main", WD_LOCK_READ);
    assert_int_equal(symlink(target, r), 0);
    assert_rc(lock_acquire_mode(cfg, WD_LOCK_READ, true, &fd), WALDEN_EPERM);
    unlink(r);
    wd_free(r);
    unlink(p);

    assert_int_equal(link(target, p), 0);
    assert_rc(lock_acquire(cfg, "backup", &fd), WALDEN_EPERM);
    assert_non_null(strstr(walden_error_last()->message, "has other hard links: refusing it"));
    unlink(p);

    assert_int_equal(mkfifo(p, 0600), 0);
    assert_rc(lock_acquire(cfg, "backup", &fd), WALDEN_EPERM);
    assert_non_null(strstr(walden_error_last()->message, "is not a regular file: refusing it"));
    unlink(p);

    size_t len;
    char *text = (char *)tu_read_file(target, &len);
    assert_int_equal(len, strlen(precious));
    assert_memory_equal(text, precious, len);
    free(text);
    /* with the name free again, the lock works */
    assert_ok(lock_acquire(cfg, "backup", &fd));
    wd_lock_release(fd);
    walden_config_free(cfg);
    wd_free(p);
    wd_free(target);
    wd_free(locks);
    tu_rmdir_r(dir);
    wd_free(dir);
}

/* A folder every user may write is refused unless sticky; a folder this
 * user makes is 0700 whatever the umask. */
static void test_folder_modes(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *locks = wd_path_join(dir, "locks");
    walden_config *cfg = config(locks, "/srv/repo", "main");
    int fd = -1;
    mode_t old = umask(0);
    int rc = lock_acquire(cfg, "dump", &fd);
    umask(old);
    assert_ok(rc);
    wd_lock_release(fd);
    struct stat st;
    assert_int_equal(stat(locks, &st), 0);
    assert_int_equal(st.st_mode & 07777, geteuid() == 0 ? 01777 : 0700);

    assert_int_equal(chmod(locks, 0777), 0);
    assert_rc(lock_acquire(cfg, "dump", &fd), WALDEN_EPERM);
    assert_non_null(
        strstr(walden_error_last()->message, "is writable by every user and not sticky"));
    assert_non_null(strstr(walden_error_last()->message, locks));
    assert_int_equal(chmod(locks, 01777), 0);
    assert_ok(lock_acquire(cfg, "dump", &fd));
    wd_lock_release(fd);

    /* a lock folder that is a file */
    char *file = wd_path_join(dir, "file");
    tu_write_file(file, "x", 1);
    walden_config *bad = config(file, "/srv/repo", "main");
    assert_int_not_equal(lock_acquire(bad, "dump", &fd), 0);
    walden_config_free(bad);
    wd_free(file);
    walden_config_free(cfg);
    wd_free(locks);
    tu_rmdir_r(dir);
    wd_free(dir);
}

/* As root: a folder of another user (nobody) is refused; a lock file of
 * another user is never written (the readers' lock, only read, is fine). */
static void test_other_users(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    char *dir = tu_mkdtemp();
    char *locks = wd_path_join(dir, "locks");
    assert_int_equal(mkdir(locks, 0755), 0);
    assert_int_equal(chown(locks, 65534, 65534), 0);
    walden_config *cfg = config(locks, "/srv/repo", "main");
    int fd = -1;
    assert_rc(lock_acquire(cfg, "backup", &fd), WALDEN_EPERM);
    assert_non_null(strstr(walden_error_last()->message, "belongs to user 65534"));

    assert_int_equal(chown(locks, 0, 0), 0);
    assert_int_equal(chmod(locks, 01777), 0);
    char *p = lock_path(locks, "/srv/repo", "main", "backup");
    tu_write_file(p, "theirs\n", 7);
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_rc(lock_acquire(cfg, "backup", &fd), WALDEN_EPERM);
    assert_non_null(strstr(walden_error_last()->message, "belongs to user 65534"));
    size_t len;
    char *text = (char *)tu_read_file(p, &len);
    assert_int_equal(len, 7);
    assert_memory_equal(text, "theirs\n", 7);
    free(text);
    char *r = lock_path(locks, "/srv/repo", "main", WD_LOCK_READ);
    tu_write_file(r, "", 0);
    assert_int_equal(chown(r, 65534, 65534), 0);
    assert_ok(lock_acquire_mode(cfg, WD_LOCK_READ, true, &fd));
    wd_lock_release(fd);
    wd_free(r);
    wd_free(p);
    walden_config_free(cfg);
    wd_free(locks);
    tu_rmdir_r(dir);
    wd_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name),
        cmocka_unit_test(test_repositories_lock_apart),
        cmocka_unit_test(test_planted_files_refused),
        cmocka_unit_test(test_folder_modes),
        cmocka_unit_test(test_other_users),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
