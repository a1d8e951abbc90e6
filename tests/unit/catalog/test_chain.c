/*
 * test_chain.c - catalog/chain.c: a backup's chain from its full, and the
 * backups restore and drill may choose: one whose chain does not reach a
 * full (a reference missing, damaged, not recorded) is passed over, or
 * refused when named, with the reason; the others stay.
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
    tu_area a;
    walden_repo *r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_area_setup(&f->a, SYSID);
    assert_ok(walden_repo_open(&f->r, f->a.cfg));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    walden_repo_close(f->r);
    tu_area_teardown(&f->a);
    free(f);
    return 0;
}

static void put_backup(fixture *f, const char *id, const char *type, const char *ref,
                       int64_t start_ms)
{
    tu_put_backup(f->r, f->a.repo, id, type, ref, start_ms + 60000);
}

static void test_chain(void **state)
{
    fixture *f = *state;
    put_backup(f, "F1", "full", "", 1000);
    put_backup(f, "I1", "incr", "F1", 2000);
    put_backup(f, "D1", "diff", "F1", 3000);
    put_backup(f, "I2", "incr", "D1", 4000);
    put_backup(f, "X1", "incr", "gone", 5000);
    put_backup(f, "X2", "incr", "X1", 6000);
    put_backup(f, "F2", "full", "", 7000);
    put_backup(f, "Y1", "incr", "F2", 8000);
    put_backup(f, "Y2", "diff", "", 9000);
    /* F2 damaged: edited without the key */
    assert_int_equal(
        tu_system("sed -i 's/status = ok/status = xx/' '%s/main/backup/F2/backup.info'", f->a.repo),
        0);

    wd_backup_meta **m;
    size_t n, len;
    wd_catalog_damage d = {0};
    char why[256];
    assert_ok(wd_backup_list_meta(f->r, &m, &n, &d));
    assert_int_equal(n, 8);
    assert_ok(wd_backup_chain(m, n, 0, &d, &len, why, sizeof(why)));
    assert_int_equal(len, 1);
    assert_string_equal(why, "");
    assert_ok(wd_backup_chain(m, n, 3, &d, &len, why, sizeof(why)));
    assert_int_equal(len, 3); /* F1 D1 I2: the diff skips I1 */
    assert_rc(wd_backup_chain(m, n, 4, &d, &len, why, sizeof(why)), WALDEN_ENOTFOUND);
    assert_string_equal(why, "reference gone is missing");
    assert_rc(wd_backup_chain(m, n, 5, &d, NULL, why, sizeof(why)), WALDEN_ENOTFOUND);
    assert_string_equal(why, "X1's reference gone is missing");
    assert_rc(wd_backup_chain(m, n, 6, &d, NULL, why, sizeof(why)), WALDEN_ECORRUPT);
    assert_string_equal(why, "reference F2 is damaged");
    assert_rc(wd_backup_chain(m, n, 7, &d, NULL, why, sizeof(why)), WALDEN_ECORRUPT);
    assert_string_equal(why, "summary names no reference");
    wd_backup_list_free(m, n);
    wd_catalog_damage_free(&d);

    /* the automatic choice keeps the whole chains */
    assert_ok(wd_backup_list_usable(f->r, NULL, &m, &n));
    assert_int_equal(n, 4);
    assert_string_equal(m[0]->id, "F1");
    assert_string_equal(m[3]->id, "I2");
    wd_backup_list_free(m, n);
    assert_ok(wd_backup_list_usable(f->r, "I1", &m, &n));
    assert_int_equal(n, 4);
    wd_backup_list_free(m, n);
    /* named, a broken one is refused with the reason */
    assert_rc(wd_backup_list_usable(f->r, "X2", &m, &n), WALDEN_ENOTFOUND);
    assert_null(m);
    assert_int_equal(n, 0);
    assert_string_equal(walden_error_last()->message,
                        "backup X2 cannot be restored: its chain is broken: X1's reference gone "
                        "is missing");
    assert_rc(wd_backup_list_usable(f->r, "Y1", &m, &n), WALDEN_ECORRUPT);
    assert_non_null(strstr(walden_error_last()->message, "reference F2 is damaged"));
    assert_rc(wd_backup_list_usable(f->r, "F2", &m, &n), WALDEN_EAUTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
