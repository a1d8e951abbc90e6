/*
 * test_walk.c - backup/walk.c: what a backup copies from a data directory.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/walk.h"
#include "common/common.h"
#include "testutil.h"

static void touch(const char *root, const char *rel, const char *content)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    /* parents */
    for (char *p = path + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0700);
            *p = '/';
        }
    }
    if (content)
        tu_write_file(path, content, strlen(content));
    else
        mkdir(path, 0700);
}

static void test_exclusions(void **state)
{
    (void)state;
    char *root = tu_mkdtemp();
    char *ts = tu_mkdtemp();
    const char *kept[] = {"PG_VERSION",
                          "postgresql.conf",
                          "global/pg_control",
                          "global/1262",
                          "base/5/16384",
                          "base/5/16384_fsm",
                          "base/5/16390_init",
                          "base/5/PG_VERSION",
                          "pg_xact/0000",
                          "pg_stat/pgstat.stat",
                          "pg_logical/replorigin_checkpoint",
                          "log/postgresql.log"};
    const char *dropped[] = {"postmaster.pid",
                             "postmaster.opts",
                             "backup_label",
                             "tablespace_map",
                             "recovery.signal",
                             "standby.signal",
                             "pg_wal/000000010000000000000001",
                             "pg_wal/archive_status/x.done",
                             "pg_replslot/slot/state",
                             "pg_stat_tmp/global.stat",
                             "pg_subtrans/0000",
                             "pg_notify/0000",
                             "pg_serial/0000",
                             "pg_snapshots/x",
                             "pg_dynshmem/mmap.1",
                             "base/5/pgsql_tmp/pgsql_tmp1.0",
                             "base/pgsql_tmp123",
                             "base/5/pg_internal.init",
                             "base/5/16390",
                             "base/5/16390_fsm",
                             "base/5/16390.1"};
    for (size_t i = 0; i < WD_ARRAY_LEN(kept); i++)
        touch(root, kept[i], "x");
    for (size_t i = 0; i < WD_ARRAY_LEN(dropped); i++)
        touch(root, dropped[i], "x");
    /* a tablespace: a link in pg_tblspc, walked through */
    touch(ts, "PG_15_202209061/5/16400", "t");
    char link[4096];
    snprintf(link, sizeof(link), "%s/pg_tblspc", root);
    assert_int_equal(mkdir(link, 0700), 0);
    snprintf(link, sizeof(link), "%s/pg_tblspc/16399", root);
    assert_int_equal(symlink(ts, link), 0);

    wd_walk *w;
    assert_ok(wd_walk_open(&w, root));
    wd_walk_entry *e = malloc(sizeof(*e));
    char seen[64][PATH_MAX];
    char types[64];
    int n = 0, rc;
    while ((rc = wd_walk_next(w, e)) == 0) {
        assert_true(n < 64);
        snprintf(seen[n], sizeof(seen[n]), "%s", e->path);
        types[n++] = e->type;
        if (e->type == 'l')
            assert_string_equal(e->link, ts);
        /* a directory comes before what is in it */
        const char *slash = strrchr(e->path, '/');
        if (slash) {
            int parent = -1;
            for (int i = 0; i < n - 1; i++)
                if (strlen(seen[i]) == (size_t)(slash - e->path) &&
                    strncmp(seen[i], e->path, (size_t)(slash - e->path)) == 0)
                    parent = i;
            if (parent < 0)
                print_error("%s came before its folder\n", e->path);
            assert_true(parent >= 0);
        }
    }
    assert_int_equal(rc, 1);
    wd_walk_close(w);
    free(e);

    for (size_t i = 0; i < WD_ARRAY_LEN(kept); i++) {
        int found = 0;
        for (int j = 0; j < n; j++)
            found |= strcmp(seen[j], kept[i]) == 0 && types[j] == 'f';
        if (!found)
            print_error("%s was left out\n", kept[i]);
        assert_true(found);
    }
    for (size_t i = 0; i < WD_ARRAY_LEN(dropped); i++)
        for (int j = 0; j < n; j++) {
            if (strcmp(seen[j], dropped[i]) == 0)
                print_error("%s was walked\n", dropped[i]);
            assert_string_not_equal(seen[j], dropped[i]);
        }
    /* excluded folders are kept, empty; the tablespace is a link */
    const char *dirs[] = {"pg_wal", "pg_replslot", "pg_stat_tmp", "pg_subtrans", "base/5"};
    for (size_t i = 0; i < WD_ARRAY_LEN(dirs); i++) {
        int found = 0;
        for (int j = 0; j < n; j++)
            found |= strcmp(seen[j], dirs[i]) == 0 && types[j] == 'd';
        assert_true(found);
    }
    int ts_link = 0, ts_file = 0;
    for (int j = 0; j < n; j++) {
        ts_link |= strcmp(seen[j], "pg_tblspc/16399") == 0 && types[j] == 'l';
        ts_file |= strcmp(seen[j], "pg_tblspc/16399/PG_15_202209061/5/16400") == 0;
    }
    assert_true(ts_link);
    assert_true(ts_file);
    tu_rmdir_r(root);
    tu_rmdir_r(ts);
    free(root);
    free(ts);
}

static void test_missing_root(void **state)
{
    (void)state;
    wd_walk *w;
    assert_rc(wd_walk_open(&w, "/nonexistent/walden/pgdata"), WALDEN_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exclusions),
        cmocka_unit_test(test_missing_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
