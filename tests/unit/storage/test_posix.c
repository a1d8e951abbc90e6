/*
 * test_posix.c - storage/posix.c: the conformance suite, plus what only
 * a local disk has: temporary files, permissions, a full disk.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "testutil.h"

#include "conformance.h"

static int count_entry(const wd_storage_entry *e, void *ctx)
{
    (void)e;
    (*(int *)ctx)++;
    return 0;
}

static char *roots[64];
static int nroots;

static wd_storage *make_posix(void)
{
    char *dir = tu_mkdtemp();
    roots[nroots++ % 64] = dir;
    wd_storage *st;
    if (wd_storage_posix_new(&st, dir, false))
        return NULL;
    return st;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.' || strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static void test_roots(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[600];
    wd_storage *st;
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_rc(wd_storage_posix_new(&st, path, false), WALDEN_ENOTFOUND);
    snprintf(path, sizeof(path), "%s/created/deep", dir);
    assert_ok(wd_storage_posix_new(&st, path, true));
    wd_storage_free(st);
    snprintf(path, sizeof(path), "%s/file", dir);
    tu_write_file(path, "x", 1);
    assert_rc(wd_storage_posix_new(&st, path, false), WALDEN_EINVAL);
    tu_rmdir_r(dir);
    free(dir);
}

static void test_temp_files_hidden_and_removed(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    wd_storage *st;
    assert_ok(wd_storage_posix_new(&st, dir, false));
    wd_sink *sink;
    assert_ok(wd_storage_open_write(st, "f/obj", &sink));
    assert_ok(sink->write(sink, (const uint8_t *)"abc", 3));
    char sub[600];
    snprintf(sub, sizeof(sub), "%s/f", dir);
    assert_int_equal(count_files(sub), 1); /* the temporary file exists... */
    int listed = 0;
    assert_ok(wd_storage_list(st, "f", count_entry, &listed));
    assert_int_equal(listed, 0); /* ...but is not listed */
    sink->abort(sink);
    assert_int_equal(count_files(sub), 0);
    wd_storage_free(st);
    tu_rmdir_r(dir);
    free(dir);
}

/* A fifo or folder where an object belongs: refused at once (a fifo
 * without a writer would block open() and read() forever), naming it. */
static void test_non_regular_refused(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    wd_storage *st;
    assert_ok(wd_storage_posix_new(&st, dir, false));
    char path[600];
    snprintf(path, sizeof(path), "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/folder", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    const char *names[] = {"fifo", "folder"};
    const char *kinds[] = {"is a fifo", "is a folder"};
    for (size_t i = 0; i < WD_ARRAY_LEN(names); i++) {
        wd_source *src = NULL;
        assert_rc(wd_storage_open_read(st, names[i], &src), WALDEN_ECORRUPT);
        assert_null(src);
        assert_non_null(strstr(walden_error_last()->message, names[i]));
        assert_non_null(strstr(walden_error_last()->message, kinds[i]));
        assert_rc(wd_storage_open_read_range(st, names[i], 0, 10, &src), WALDEN_ECORRUPT);
        assert_null(src);
        char *text;
        size_t len;
        assert_rc(wd_storage_read_all(st, names[i], 1024, &text, &len), WALDEN_ECORRUPT);
    }
    /* a regular file still reads, through a blocking fd */
    snprintf(path, sizeof(path), "%s/obj", dir);
    tu_write_file(path, "abc", 3);
    char *text;
    size_t len;
    assert_ok(wd_storage_read_all(st, "obj", 1024, &text, &len));
    assert_int_equal(len, 3);
    wd_free(text);
    wd_storage_free(st);
    tu_rmdir_r(dir);
    free(dir);
}

static void put_aged(const char *dir, const char *name, time_t age)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    tu_write_file(path, "12345", 5);
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= age;
    t[1] = t[0];
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static bool present(const char *dir, const char *name)
{
    char path[700];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* Abandoned: a temporary name, last written an hour ago or more, its pid
 * not alive here. Everything else stays. */
static void test_abandoned_temps(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char sub[600], alive[128];
    snprintf(sub, sizeof(sub), "%s/wal", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    /* 999999999 is above any pid_max: no such process */
    put_aged(dir, ".a.tmp.999999999.0000abcd", 2 * 3600); /* abandoned */
    put_aged(sub, ".b.tmp.999999999.0000abcd", 2 * 3600); /* abandoned, below */
    put_aged(dir, ".c.tmp.999999999.0000abcd", 30 * 60);  /* too fresh */
    snprintf(alive, sizeof(alive), ".d.tmp.%ld.0000abcd", (long)getpid());
    put_aged(dir, alive, 2 * 3600);        /* its writer lives */
    put_aged(dir, "e-0000.zst", 2 * 3600); /* an object */
    put_aged(dir, ".f", 2 * 3600);         /* not a temporary name */
    wd_storage *st;
    assert_ok(wd_storage_posix_new(&st, dir, false));
    uint64_t n, bytes;
    assert_ok(wd_storage_abandoned(st, "", true, false, &n, &bytes)); /* count only */
    assert_int_equal(n, 2);
    assert_int_equal(bytes, 10);
    assert_true(present(dir, ".a.tmp.999999999.0000abcd"));
    assert_ok(wd_storage_abandoned(st, "", false, true, &n, &bytes)); /* this folder */
    assert_int_equal(n, 1);
    assert_false(present(dir, ".a.tmp.999999999.0000abcd"));
    assert_true(present(sub, ".b.tmp.999999999.0000abcd"));
    assert_ok(wd_storage_abandoned(st, "wal", false, true, &n, &bytes));
    assert_int_equal(n, 1);
    assert_false(present(sub, ".b.tmp.999999999.0000abcd"));
    assert_ok(wd_storage_abandoned(st, "", true, true, &n, &bytes));
    assert_int_equal(n, 0);
    assert_true(present(dir, ".c.tmp.999999999.0000abcd"));
    assert_true(present(dir, alive));
    assert_true(present(dir, "e-0000.zst"));
    assert_true(present(dir, ".f"));
    assert_ok(wd_storage_abandoned(st, "missing", true, true, &n, &bytes));
    assert_int_equal(n, 0);
    wd_storage_free(st);
    tu_rmdir_r(dir);
    free(dir);
}

static void test_unwritable(void **state)
{
    (void)state;
    if (geteuid() == 0)
        skip(); /* root writes anywhere: the integration test covers it */
    char *dir = tu_mkdtemp();
    wd_storage *st;
    assert_ok(wd_storage_posix_new(&st, dir, false));
    chmod(dir, 0500);
    wd_sink *sink;
    assert_rc(wd_storage_open_write(st, "x", &sink), WALDEN_EPERM);
    chmod(dir, 0700);
    wd_storage_free(st);
    tu_rmdir_r(dir);
    free(dir);
}

static void test_disk_full(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    if (mount("tmpfs", dir, "tmpfs", 0, "size=256k") != 0) {
        tu_rmdir_r(dir);
        free(dir);
        skip(); /* not root, or no mount in this sandbox */
    }
    wd_storage *st;
    assert_ok(wd_storage_posix_new(&st, dir, false));
    uint8_t *data = malloc(1024 * 1024);
    tu_fill(data, 1024 * 1024, 9, 0);
    wd_sink *sink;
    assert_ok(wd_storage_open_write(st, "big", &sink));
    int rc = sink->write(sink, data, 1024 * 1024);
    if (rc == 0)
        rc = sink->commit(sink);
    else
        sink->abort(sink);
    assert_int_equal(rc, WALDEN_ENOSPC);
    assert_non_null(strstr(walden_error_last()->message, "big"));
    assert_int_equal(count_files(dir), 0);
    free(data);
    wd_storage_free(st);
    umount(dir);
    tu_rmdir_r(dir);
    free(dir);
}

/* remove_tree removes a folder holding the temporary file of a writer that
 * died (invisible to list), and deferred writes become durable at sync. */
static void test_remove_tree_with_leftovers(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    wd_storage *st;
    assert_ok(wd_storage_posix_new(&st, dir, false));
    wd_sink *sink;
    assert_ok(wd_storage_open_write_ex(st, "b/x/kept", WD_WRITE_DEFER_SYNC, &sink));
    assert_ok(sink->write(sink, (const uint8_t *)"abc", 3));
    assert_ok(sink->commit(sink));
    assert_ok(wd_storage_sync(st));
    char path[4096];
    snprintf(path, sizeof(path), "%s/b/x/.dead.tmp.1.00000000", dir);
    tu_write_file(path, "partial", 7);
    assert_ok(wd_storage_remove_tree(st, "b"));
    bool exists = true;
    assert_ok(wd_storage_exists(st, "b", &exists));
    assert_false(exists);
    wd_storage_free(st);
    tu_rmdir_r(dir);
    free(dir);
}

/* Run as root, what the driver creates takes the owner and group of the
 * folder it is made in (a drill as root writes its record into a
 * postgres-owned repository): files, and folders made on the way. */
static void test_root_writes_take_folder_owner(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* only root can give files away */
    char *dir = tu_mkdtemp();
    const uid_t uid = 4242;
    const gid_t gid = 4343;
    assert_int_equal(chown(dir, uid, gid), 0);
    wd_storage *st;
    assert_ok(wd_storage_posix_new(&st, dir, false));
    assert_ok(wd_storage_write_all(st, "main/drill/r.info", "x", 1));
    assert_ok(wd_storage_write_all(st, "top", "y", 1));
    const char *made[] = {"main", "main/drill", "main/drill/r.info", "top"};
    for (size_t i = 0; i < WD_ARRAY_LEN(made); i++) {
        char path[600];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", dir, made[i]);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_uid, uid);
        assert_int_equal(sb.st_gid, gid);
    }
    /* a folder with another owner below: its own owner, not the root's */
    char sub[600];
    snprintf(sub, sizeof(sub), "%s/main/drill", dir);
    assert_int_equal(chown(sub, 0, 0), 0);
    assert_ok(wd_storage_write_all(st, "main/drill/s.info", "z", 1));
    struct stat sb;
    snprintf(sub, sizeof(sub), "%s/main/drill/s.info", dir);
    assert_int_equal(stat(sub, &sb), 0);
    assert_int_equal(sb.st_uid, 0);
    assert_int_equal(sb.st_gid, 0);
    wd_storage_free(st);
    tu_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    int failed = storage_conformance_run("posix conformance", make_posix);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roots),
        cmocka_unit_test(test_temp_files_hidden_and_removed),
        cmocka_unit_test(test_non_regular_refused),
        cmocka_unit_test(test_abandoned_temps),
        cmocka_unit_test(test_unwritable),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_remove_tree_with_leftovers),
        cmocka_unit_test(test_root_writes_take_folder_owner),
    };
    failed += cmocka_run_group_tests_name("posix", tests, NULL, NULL);
    for (int i = 0; i < nroots && i < 64; i++) {
        tu_rmdir_r(roots[i]);
        free(roots[i]);
    }
    return failed;
}
