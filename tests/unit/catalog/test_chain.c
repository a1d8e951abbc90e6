/*
 * test_chain.c - catalog/chain.c: a backup's chain from its full, and the
 * backups restore and drill may choose: one whose chain does not reach a
 * full (a reference missing, damaged, not older, not recorded, or named by
 * a full) is passed over, or refused when named, with the reason; the
 * others stay. walden_backup_list gives every backup that chain and
 * reason (what info shows).
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

/* The backups of every test: whole chains, and each way a chain breaks. */
static void put_backups(fixture *f)
{
    put_backup(f, "F1", "full", "", 1000);
    put_backup(f, "I1", "incr", "F1", 2000);
    put_backup(f, "D1", "diff", "F1", 3000);
    put_backup(f, "I2", "incr", "D1", 4000);
    put_backup(f, "X1", "incr", "gone", 5000);
    put_backup(f, "X2", "incr", "X1", 6000);
    put_backup(f, "F2", "full", "", 7000);
    put_backup(f, "Y1", "incr", "F2", 8000);
    put_backup(f, "Y2", "diff", "", 9000);
    put_backup(f, "Z1", "full", "F1", 10000); /* a full that names a reference */
    put_backup(f, "Z2", "incr", "Z1", 11000);
    put_backup(f, "W1", "incr", "W2", 12000); /* its reference started after it */
    put_backup(f, "W2", "full", "", 13000);
    put_backup(f, "X3", "incr", "X2", 14000);
    /* F2 damaged: edited without the key */
    assert_int_equal(
        tu_system("sed -i 's/status = ok/status = xx/' '%s/main/backup/F2/backup.info'", f->a.repo),
        0);
}

/* The walk of backup i (with the damage met): its code, its members as
 * "A > B > C" (their number is the length) and its reason. */
static void expect_chain(wd_backup_meta *const *m, size_t n, const wd_catalog_damage *d, size_t i,
                         int rc, const char *chain, const char *why)
{
    size_t *mem = calloc(n, sizeof(*mem)), len = 0, plain = 0;
    char got[256] = "", reason[256];
    assert_non_null(mem);
    assert_rc(wd_backup_chain(m, n, i, d, mem, &len, reason, sizeof(reason)), rc);
    for (size_t k = 0; k < len; k++) {
        assert_true(mem[k] < n);
        size_t used = strlen(got);
        snprintf(got + used, sizeof(got) - used, "%s%s", k ? " > " : "", m[mem[k]]->id);
    }
    assert_string_equal(got, chain);
    assert_string_equal(reason, why);
    /* without members, the same length */
    assert_rc(wd_backup_chain(m, n, i, d, NULL, &plain, reason, sizeof(reason)), rc);
    assert_int_equal(plain, len);
    free(mem);
}

static void test_chain(void **state)
{
    fixture *f = *state;
    put_backups(f);

    wd_backup_meta **m;
    size_t n;
    wd_catalog_damage d = {0};
    char why[256];
    assert_ok(wd_backup_list_meta(f->r, &m, &n, &d));
    assert_int_equal(n, 13);
    static const struct {
        size_t i;
        int rc;
        const char *chain, *why;
    } cases[] = {
        {0, 0, "F1", ""},
        {1, 0, "F1 > I1", ""},
        {3, 0, "F1 > D1 > I2", ""}, /* the diff skips I1 */
        {4, WALDEN_ENOTFOUND, "X1", "reference gone is missing"},
        /* a broken chain starts at the member whose reference is missing */
        {5, WALDEN_ENOTFOUND, "X1 > X2", "X1's reference gone is missing"},
        {6, WALDEN_ECORRUPT, "Y1", "reference F2 is damaged"},
        {7, WALDEN_ECORRUPT, "Y2", "summary names no reference"},
        {8, WALDEN_ECORRUPT, "Z1", "summary names a reference for a full backup"},
        {9, WALDEN_ECORRUPT, "Z1 > Z2", "Z1's summary names a reference for a full backup"},
        {10, WALDEN_ECORRUPT, "W1", "reference W2 is not older"},
        {11, 0, "W2", ""},
        /* the last one, a walk across the listing */
        {12, WALDEN_ENOTFOUND, "X1 > X2 > X3", "X1's reference gone is missing"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++)
        expect_chain(m, n, &d, cases[k].i, cases[k].rc, cases[k].chain, cases[k].why);
    /* without the damage, the same reference is missing */
    assert_rc(wd_backup_chain(m, n, 6, NULL, NULL, NULL, why, sizeof(why)), WALDEN_ENOTFOUND);
    assert_string_equal(why, "reference F2 is missing");
    /* a why too small is cut, never overrun */
    char small[8];
    assert_rc(wd_backup_chain(m, n, 5, &d, NULL, NULL, small, sizeof(small)), WALDEN_ENOTFOUND);
    assert_string_equal(small, "X1's re");
    wd_backup_list_free(m, n);
    wd_catalog_damage_free(&d);

    /* the automatic choice keeps the whole chains */
    assert_ok(wd_backup_list_usable(f->r, NULL, &m, &n));
    assert_int_equal(n, 5);
    assert_string_equal(m[0]->id, "F1");
    assert_string_equal(m[3]->id, "I2");
    assert_string_equal(m[4]->id, "W2");
    wd_backup_list_free(m, n);
    assert_ok(wd_backup_list_usable(f->r, "I1", &m, &n));
    assert_int_equal(n, 5);
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
    assert_rc(wd_backup_list_usable(f->r, "Z2", &m, &n), WALDEN_ECORRUPT);
    assert_string_equal(walden_error_last()->message,
                        "backup Z2 cannot be restored: its chain is broken: Z1's summary names a "
                        "reference for a full backup");
    assert_rc(wd_backup_list_usable(f->r, "F2", &m, &n), WALDEN_EAUTH);
}

static int stop_at_first(const walden_backup_info *b, void *ctx)
{
    (void)b;
    (void)ctx;
    return 1;
}

/* What walden_backup_list gave: "ID: A > B > ID | why" a line each. */
typedef struct seen {
    char text[4096];
    size_t n;
} seen;

static int note_chain(const walden_backup_info *b, void *ctx)
{
    seen *s = ctx;
    size_t used = strlen(s->text);
    used += (size_t)snprintf(s->text + used, sizeof(s->text) - used, "%s:", b->id);
    for (size_t k = 0; k < b->chain_len; k++)
        used += (size_t)snprintf(s->text + used, sizeof(s->text) - used, "%s%s", k ? " > " : " ",
                                 b->chain[k]);
    assert_non_null(b->chain_error);
    snprintf(s->text + used, sizeof(s->text) - used, "%s%s\n", *b->chain_error ? " | " : "",
             b->chain_error);
    s->n++;
    return 0;
}

/* walden_backup_list gives each backup the chain and reason the library's
 * walk says (what info shows), the damaged one's known as damaged; the
 * damage is returned after the listing */
static void test_list_chains(void **state)
{
    fixture *f = *state;
    put_backups(f);
    seen s = {0};
    assert_rc(walden_backup_list(f->r, note_chain, &s), WALDEN_EAUTH);
    assert_non_null(strstr(walden_error_last()->message, "F2"));
    assert_int_equal(s.n, 13);
    assert_string_equal(s.text, "F1: F1\n"
                                "I1: F1 > I1\n"
                                "D1: F1 > D1\n"
                                "I2: F1 > D1 > I2\n"
                                "X1: X1 | reference gone is missing\n"
                                "X2: X1 > X2 | X1's reference gone is missing\n"
                                "Y1: Y1 | reference F2 is damaged\n"
                                "Y2: Y2 | summary names no reference\n"
                                "Z1: Z1 | summary names a reference for a full backup\n"
                                "Z2: Z1 > Z2 | Z1's summary names a reference for a full backup\n"
                                "W1: W1 | reference W2 is not older\n"
                                "W2: W2\n"
                                "X3: X1 > X2 > X3 | X1's reference gone is missing\n");
    /* a callback's stop is returned, the damage not said */
    assert_rc(walden_backup_list(f->r, stop_at_first, NULL), WALDEN_EUSER);
}

/* An empty area: no callback, no chain memory. */
static void test_list_empty(void **state)
{
    fixture *f = *state;
    seen s = {0};
    assert_ok(walden_backup_list(f->r, note_chain, &s));
    assert_int_equal(s.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
