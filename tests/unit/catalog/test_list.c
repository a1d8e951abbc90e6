/*
 * test_list.c - catalog/list.c: the one lister and its one policy for
 * damaged entries, for backups and dumps alike, on a real area in a
 * temporary directory. A damaged entry (its summary fails authentication
 * or does not parse) is returned apart with its reason, passed over by
 * automatic choices, refused when named, and makes walden_backup_list /
 * walden_dump_list fail after listing the others; an unfinished entry is
 * no entry; a failure to read (not damage) fails the listing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/common.h"
#include "repo/repo.h"
#include "testutil.h"
#include "walden/walden.h"

static const uint64_t SYSID = 7312345678901234567ull;

typedef struct fixture {
    char *dir;
    char repo[512];
    walden_config *cfg;
    walden_repo *r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->dir = tu_mkdtemp();
    char pgdata[600], locks[600];
    snprintf(f->repo, sizeof(f->repo), "%s/repo", f->dir);
    snprintf(pgdata, sizeof(pgdata), "%s/pgdata", f->dir);
    snprintf(locks, sizeof(locks), "%s/locks", f->dir);
    tu_fake_pgdata(pgdata, SYSID, 15);
    f->cfg = tu_area_config(f->dir, f->repo, pgdata, NULL);
    assert_ok(walden_config_set(f->cfg, "lock-path", locks, WALDEN_SOURCE_FLAG));
    assert_ok(walden_repo_init(f->cfg));
    assert_ok(walden_repo_open(&f->r, f->cfg));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    walden_repo_close(f->r);
    walden_config_free(f->cfg);
    tu_rmdir_r(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Replaces the first `from` in file `path` (of the area) by `to`, as
 * someone without the signing key would. */
static void edit(fixture *f, const char *rel, const char *from, const char *to)
{
    assert_int_equal(tu_system("sed -i 's/%s/%s/' '%s/%s'", from, to, f->repo, rel), 0);
}

/* A backup as the lister sees one: a manifest (only its presence is
 * looked at here) and a signed backup.info. */
static void put_backup(fixture *f, const char *id, int64_t start_ms)
{
    char rel[256], path[900];
    snprintf(rel, sizeof(rel), "main/backup/%s", id);
    assert_int_equal(tu_system("mkdir -p '%s/%s'", f->repo, rel), 0);
    snprintf(path, sizeof(path), "%s/%s/backup.manifest%s", f->repo, rel,
             wd_compress_ext(f->r->compress));
    tu_write_file(path, "", 0);
    wd_backup_meta m = {0};
    snprintf(m.id, sizeof(m.id), "%s", id);
    snprintf(m.type, sizeof(m.type), "full");
    snprintf(m.status, sizeof(m.status), "ok");
    m.pub.start_time_ms = start_ms;
    m.pub.stop_time_ms = start_ms + 1000;
    m.complete = 1;
    char *text = wd_backup_meta_text(&m);
    assert_non_null(text);
    snprintf(rel, sizeof(rel), "main/backup/%s/backup.info", id);
    assert_ok(wd_repo_write_signed(f->r, rel, text, strlen(text)));
    wd_free(text);
}

static void put_dump(fixture *f, const char *id, int64_t start_ms)
{
    wd_dump_meta m = {0};
    snprintf(m.id, sizeof(m.id), "%s", id);
    snprintf(m.kind, sizeof(m.kind), "database");
    snprintf(m.status, sizeof(m.status), "ok");
    snprintf(m.compress, sizeof(m.compress), "%s", wd_compress_name(f->r->compress));
    m.database = wd_strdup("app");
    m.pub.start_time_ms = start_ms;
    char *text = wd_dump_meta_text(&m);
    char rel[256];
    snprintf(rel, sizeof(rel), "main/dump/%s/dump.manifest", id);
    assert_ok(wd_repo_write_signed(f->r, rel, text, strlen(text)));
    wd_free(text);
    wd_dump_meta_clear(&m);
}

static int count_backup(const walden_backup_info *b, void *ctx)
{
    (void)b;
    (*(int *)ctx)++;
    return 0;
}

static int count_dump(const walden_dump_info *d, void *ctx)
{
    (void)d;
    (*(int *)ctx)++;
    return 0;
}

static void test_backup_damaged(void **state)
{
    fixture *f = *state;
    put_backup(f, "20260101T000000Z", 1000);
    put_backup(f, "20260102T000000Z", 2000);
    put_backup(f, "20260103T000000Z", 3000);
    edit(f, "main/backup/20260102T000000Z/backup.info", "status = ok", "status = xx");
    /* unfinished: a folder without a manifest is no backup */
    assert_int_equal(tu_system("mkdir -p '%s/main/backup/20260104T000000Z'", f->repo), 0);

    wd_backup_meta **m;
    size_t n;
    wd_catalog_damage d = {0};
    assert_ok(wd_backup_list_meta(f->r, &m, &n, &d));
    assert_int_equal(n, 2);
    assert_string_equal(m[0]->id, "20260101T000000Z");
    assert_string_equal(m[1]->id, "20260103T000000Z");
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].id, "20260102T000000Z");
    assert_int_equal(d.v[0].code, WALDEN_EAUTH);
    assert_non_null(strstr(d.v[0].reason, "backup.info"));
    assert_non_null(strstr(d.v[0].reason, "failed authentication"));
    wd_backup_list_free(m, n);

    /* the refusal is the entry's own */
    assert_rc(wd_catalog_refuse(&d, NULL), WALDEN_EAUTH);
    assert_non_null(strstr(walden_error_last()->message, "20260102T000000Z"));
    assert_ok(wd_catalog_refuse(&d, "20260101T000000Z"));
    wd_catalog_damage_free(&d);

    /* an automatic choice passes over it; naming it is refused */
    assert_ok(wd_backup_list_usable(f->r, NULL, &m, &n));
    assert_int_equal(n, 2);
    wd_backup_list_free(m, n);
    assert_ok(wd_backup_list_usable(f->r, "20260103T000000Z", &m, &n));
    assert_int_equal(n, 2);
    wd_backup_list_free(m, n);
    assert_rc(wd_backup_list_usable(f->r, "20260102T000000Z", &m, &n), WALDEN_EAUTH);
    assert_null(m);
    assert_int_equal(n, 0);

    /* the listing (info) gives the others, then fails naming it */
    int seen = 0;
    assert_rc(walden_backup_list(f->r, count_backup, &seen), WALDEN_EAUTH);
    assert_int_equal(seen, 2);
    assert_non_null(strstr(walden_error_last()->message, "20260102T000000Z"));
}

static void test_dump_damaged(void **state)
{
    fixture *f = *state;
    put_dump(f, "20260101T000000Z-app", 1000);
    put_dump(f, "20260102T000000Z-app", 2000);
    put_dump(f, "20260103T000000Z-app", 3000);
    /* edited without the key: fails authentication */
    edit(f, "main/dump/20260102T000000Z-app/dump.manifest", "status = ok", "status = xx");
    /* signed, but not a whole manifest: does not parse */
    const char *bad = "# walden dump manifest\nformat = 1\nid = 20260103T000000Z-app\n";
    assert_ok(wd_repo_write_signed(f->r, "main/dump/20260103T000000Z-app/dump.manifest", bad,
                                   strlen(bad)));
    /* unfinished: no manifest */
    assert_int_equal(tu_system("mkdir -p '%s/main/dump/20260104T000000Z-app'", f->repo), 0);

    wd_dump_meta **m;
    size_t n;
    wd_catalog_damage d = {0};
    assert_ok(wd_dump_list_meta(f->r, &m, &n, &d));
    assert_int_equal(n, 1);
    assert_string_equal(m[0]->id, "20260101T000000Z-app");
    wd_dump_list_free(m, n);
    assert_int_equal(d.n, 2);
    int auth = strcmp(d.v[0].id, "20260102T000000Z-app") == 0 ? 0 : 1;
    assert_string_equal(d.v[auth].id, "20260102T000000Z-app");
    assert_int_equal(d.v[auth].code, WALDEN_EAUTH);
    assert_string_equal(d.v[1 - auth].id, "20260103T000000Z-app");
    assert_int_equal(d.v[1 - auth].code, WALDEN_ECORRUPT);
    assert_non_null(strstr(d.v[1 - auth].reason, "20260103T000000Z-app"));
    wd_catalog_damage_free(&d);

    assert_ok(wd_dump_list_usable(f->r, NULL, &m, &n));
    assert_int_equal(n, 1);
    wd_dump_list_free(m, n);
    assert_rc(wd_dump_list_usable(f->r, "20260103T000000Z-app", &m, &n), WALDEN_ECORRUPT);
    /* named directly, the loader refuses it too */
    wd_dump_meta one = {0};
    assert_rc(wd_dump_load_meta(f->r, "20260102T000000Z-app", &one), WALDEN_EAUTH);
    wd_dump_meta_clear(&one);

    int seen = 0;
    assert_rc(walden_dump_list(f->r, count_dump, &seen), WALDEN_EAUTH);
    assert_int_equal(seen, 1);
    seen = 0;
    assert_ok(wd_dump_each_usable(f->r, NULL, count_dump, &seen));
    assert_int_equal(seen, 1);
}

/* A store that answers reads of objects whose path has "unreachable" in it
 * with an I/O error, as a store that cannot be reached would. */
static wd_storage_driver failing;
static const wd_storage_driver *real;

static int failing_open_read(wd_storage *st, const char *path, wd_source **out)
{
    if (strstr(path, "unreachable"))
        return wd_error_set(WALDEN_EIO, "cannot read '%s': the store is unreachable", path);
    return real->open_read(st, path, out);
}

static void make_failing(fixture *f)
{
    real = f->r->storage->driver;
    failing = *real;
    failing.open_read = failing_open_read;
    f->r->storage->driver = &failing;
}

/* What cannot be read is not damage: the listing fails. */
static void test_read_failure(void **state)
{
    fixture *f = *state;
    put_dump(f, "20260101T000000Z-app", 1000);
    put_dump(f, "20260102T000000Z-unreachable", 2000);
    put_backup(f, "20260101T000000Z", 1000);
    put_backup(f, "20260102T000000Z-unreachable", 2000);
    make_failing(f);

    wd_dump_meta **m = NULL;
    size_t n = 0;
    wd_catalog_damage d = {0};
    assert_rc(wd_dump_list_meta(f->r, &m, &n, &d), WALDEN_EIO);
    assert_null(m);
    assert_int_equal(d.n, 0);
    assert_rc(walden_dump_list(f->r, count_dump, &(int){0}), WALDEN_EIO);
    assert_rc(wd_dump_list_usable(f->r, NULL, &m, &n), WALDEN_EIO);

    /* backup.info unreadable: the manifest is read instead, and fails too */
    wd_backup_meta **b = NULL;
    assert_rc(wd_backup_list_meta(f->r, &b, &n, &d), WALDEN_EIO);
    assert_null(b);
    assert_int_equal(d.n, 0);
    assert_rc(walden_backup_list(f->r, count_backup, &(int){0}), WALDEN_EIO);
    assert_rc(wd_backup_list_usable(f->r, NULL, &b, &n), WALDEN_EIO);
    f->r->storage->driver = real;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dump_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
