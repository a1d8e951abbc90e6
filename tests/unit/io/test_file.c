/*
 * test_file.c - io/file.c: the sink that writes a file in place by its name
 * in a folder's descriptor, and whether syncfs can stand in for fsyncs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "io/stream.h"
#include "testutil.h"

static char *path_in(const char *dir, const char *name)
{
    char *p = wd_path_join(dir, name);
    assert_non_null(p);
    return p;
}

/* Written in place with the mode asked for; a second sink on the same name
 * is refused (created exclusively). */
static void test_openat_writes_in_place(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    char *full = path_in(dir, "f");
    wd_sink *s;
    assert_ok(wd_file_sink_openat(&s, dfd, "f", full, WD_FILE_NOSYNC, 0640, 0));
    assert_ok(s->write(s, (const uint8_t *)"hello", 5));
    assert_ok(s->commit(s));
    size_t len;
    uint8_t *data = tu_read_file(full, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);
    struct stat st;
    assert_int_equal(stat(full, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_rc(wd_file_sink_openat(&s, dfd, "f", full, 0, 0600, 0), WALDEN_EEXISTS);
    close(dfd);
    wd_free(full);
    tu_rmdir_r(dir);
    free(dir);
}

/* A symlink at the name is not followed: its target stays untouched and
 * missing, also for a part (whose file may exist). */
static void test_openat_refuses_symlink(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    char *victim = path_in(dir, "victim"), *link = path_in(dir, "link");
    assert_int_equal(symlink(victim, link), 0);
    wd_sink *s;
    assert_true(wd_file_sink_openat(&s, dfd, "link", link, 0, 0600, 0) != 0);
    assert_true(wd_file_sink_openat(&s, dfd, "link", link, WD_FILE_PART, 0600, 8192) != 0);
    struct stat st;
    assert_int_equal(lstat(victim, &st), -1);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    close(dfd);
    wd_free(victim);
    wd_free(link);
    tu_rmdir_r(dir);
    free(dir);
}

/* Parts of one file written by two sinks at their offsets; an aborted part
 * leaves the file (shared), an aborted whole file is removed from the
 * folder of the descriptor. */
static void test_openat_parts_and_abort(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    char *full = path_in(dir, "rel");
    wd_sink *a, *b;
    assert_ok(wd_file_sink_openat(&b, dfd, "rel", full, WD_FILE_PART | WD_FILE_WRITEBACK, 0600, 4));
    assert_ok(wd_file_sink_openat(&a, dfd, "rel", full, WD_FILE_PART | WD_FILE_NOSYNC, 0600, 0));
    assert_ok(b->write(b, (const uint8_t *)"5678", 4));
    assert_ok(a->write(a, (const uint8_t *)"1234", 4));
    assert_ok(a->commit(a));
    assert_ok(b->commit(b));
    size_t len;
    uint8_t *data = tu_read_file(full, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(data, "12345678", 8);
    free(data);
    assert_ok(wd_file_sink_openat(&a, dfd, "rel", full, WD_FILE_PART, 0600, 8));
    a->abort(a);
    struct stat st;
    assert_int_equal(stat(full, &st), 0);
    assert_ok(wd_file_sink_openat(&a, dfd, "gone", full, 0, 0600, 0));
    assert_ok(a->write(a, (const uint8_t *)"x", 1));
    a->abort(a);
    assert_int_equal(fstatat(dfd, "gone", &st, 0), -1);
    assert_int_equal(errno, ENOENT);
    close(dfd);
    wd_free(full);
    tu_rmdir_r(dir);
    free(dir);
}

/* The test folders are on a local file system of this machine: syncfs is
 * usable there on a current kernel, and a syncfs succeeds. */
static void test_syncfs(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    bool usable = true;
    assert_ok(wd_syncfs_usable(dfd, dir, &usable));
    print_message("syncfs usable for '%s': %s\n", dir, usable ? "yes" : "no");
    assert_ok(wd_syncfs(dfd, dir));
    close(dfd);
    assert_rc(wd_syncfs(-1, "nowhere"), WALDEN_EIO);
    tu_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openat_writes_in_place),
        cmocka_unit_test(test_openat_refuses_symlink),
        cmocka_unit_test(test_openat_parts_and_abort),
        cmocka_unit_test(test_syncfs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
