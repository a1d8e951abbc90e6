/*
 * test_place.c - restore/place.c: the directories restore writes into,
 * checked, created and synced.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "restore/place.h"
#include "testutil.h"

static char *path_in(const char *dir, const char *name)
{
    char *p = wd_path_join(dir, name);
    assert_non_null(p);
    return p;
}

/* A missing directory is created (with its parents, 0700); an empty one
 * gets mode 0700; one with something in it, or a file, is refused. */
static void test_prepare(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *deep = path_in(dir, "a/b"), *a = path_in(dir, "a"), *file = path_in(dir, "a/b/f");
    assert_ok(wd_place_check_empty(deep, "target directory"));
    assert_ok(wd_place_prepare(deep, "target directory"));
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(chmod(deep, 0755), 0);
    assert_ok(wd_place_prepare(deep, "target directory"));
    assert_int_equal(stat(deep, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    tu_write_file(file, "x", 1);
    assert_rc(wd_place_check_empty(deep, "target directory"), WALDEN_EEXISTS);
    assert_rc(wd_place_prepare(a, "target directory"), WALDEN_EEXISTS);
    assert_rc(wd_place_prepare(file, "target directory"), WALDEN_EINVAL);
    wd_free(deep);
    wd_free(a);
    wd_free(file);
    tu_rmdir_r(dir);
    free(dir);
}

/* A symlink or a "." / ".." element anywhere on the way is refused; a
 * missing tail is fine. */
static void test_no_links(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *real = path_in(dir, "real"), *link = path_in(dir, "link");
    char *through = path_in(dir, "link/x/y"), *fine = path_in(dir, "real/x/y");
    char *dots = path_in(dir, "real/../real");
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, link), 0);
    assert_ok(wd_place_check_no_links(fine, "tablespace directory"));
    assert_rc(wd_place_check_no_links(link, "tablespace directory"), WALDEN_EINVAL);
    assert_rc(wd_place_check_no_links(through, "tablespace directory"), WALDEN_EINVAL);
    assert_rc(wd_place_check_no_links(dots, "tablespace directory"), WALDEN_EINVAL);
    /* where it really is: the link resolved, the missing rest kept */
    char *canon = wd_place_canonical(through);
    char *real_dir = realpath(real, NULL);
    char *expect = wd_asprintf("%s/x/y", real_dir);
    assert_string_equal(canon, expect);
    wd_free(canon);
    wd_free(expect);
    free(real_dir);
    wd_free(real);
    wd_free(link);
    wd_free(through);
    wd_free(fine);
    wd_free(dots);
    tu_rmdir_r(dir);
    free(dir);
}

static void test_within(void **state)
{
    (void)state;
    assert_true(wd_place_within("/a/b", "/a"));
    assert_true(wd_place_within("/a", "/a"));
    assert_true(wd_place_within("/a", "/"));
    assert_false(wd_place_within("/ab", "/a"));
    assert_false(wd_place_within("/a", "/a/b"));
}

/* Two directories on one file system: one syncfs descriptor, both walked;
 * the sync succeeds, and a directory that does not exist is refused at
 * add. */
static void test_sync(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *one = path_in(dir, "one"), *two = path_in(dir, "two"), *sub = path_in(dir, "one/s");
    char *file = path_in(dir, "one/s/f"), *none = path_in(dir, "none");
    assert_int_equal(mkdir(one, 0700), 0);
    assert_int_equal(mkdir(two, 0700), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    wd_place_sync s;
    wd_place_sync_init(&s);
    assert_true(s.use_syncfs);
    assert_ok(wd_place_sync_add(&s, one));
    assert_ok(wd_place_sync_add(&s, two));
    assert_rc(wd_place_sync_add(&s, none), WALDEN_ENOTFOUND);
    assert_int_equal(s.n_dirs, 2);
    assert_int_equal(s.n_fs, 1);
    print_message("one syncfs for '%s': %s\n", dir, s.use_syncfs ? "yes" : "no, fsyncs");
    tu_write_file(file, "data", 4);
    assert_ok(wd_place_sync_all(&s));
    /* where files are fsynced one by one, the folders are walked */
    s.use_syncfs = false;
    assert_ok(wd_place_sync_all(&s));
    assert_int_equal(rmdir(sub), -1); /* not empty: the walk left it as it was */
    wd_place_sync_close(&s);
    assert_int_equal(s.n_fs, 0);
    wd_free(one);
    wd_free(two);
    wd_free(sub);
    wd_free(file);
    wd_free(none);
    tu_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepare),
        cmocka_unit_test(test_no_links),
        cmocka_unit_test(test_within),
        cmocka_unit_test(test_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
