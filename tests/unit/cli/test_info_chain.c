/*
 * test_info_chain.c - src/info_chain.c: the chain `walden info` shows for
 * each backup (ids from its full to it), and what it says when the chain
 * does not reach a full: a reference missing (or, when the listing met a
 * damaged backup, missing or damaged), not older, or not recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "info_chain.h"
#include "testutil.h"

static void add(info_backups *r, const char *id, const char *type, const char *ref)
{
    walden_backup_info b = {0};
    b.id = id;
    b.type = type;
    b.status = "ok";
    b.reference = ref;
    b.start_wal = b.stop_wal = "000000010000000000000002";
    b.size = 1000;
    b.stored_size = 10;
    assert_int_equal(info_backups_add(&b, r), 0);
}

/* "A > B > C" and the reason, for backup i */
static void chain_of(const info_backups *r, size_t i, bool damaged, char *out, size_t cap,
                     char *why, size_t why_cap)
{
    size_t *c = calloc(r->n, sizeof(*c));
    size_t n = info_chain(r, i, damaged, c, why, why_cap);
    out[0] = '\0';
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", k ? " > " : "", r->v[c[k]].id);
    }
    free(c);
}

static void test_chains(void **state)
{
    (void)state;
    info_backups r = {0};
    add(&r, "F1", "full", "");
    add(&r, "I1", "incr", "F1");
    add(&r, "I2", "incr", "I1");
    add(&r, "D1", "diff", "F1");
    add(&r, "I3", "incr", "D1");
    add(&r, "X1", "incr", "gone");
    add(&r, "X2", "incr", "X1");
    add(&r, "X3", "diff", "");
    add(&r, "X4", "incr", "X5");
    add(&r, "X5", "full", NULL);
    /* the strings are the rows' own */
    assert_string_equal(r.v[1].b.reference, "F1");
    assert_ptr_equal(r.v[1].b.reference, r.v[1].reference);
    assert_string_equal(r.v[9].b.reference, "");

    char c[256], why[256];
    chain_of(&r, 0, false, c, sizeof(c), why, sizeof(why));
    assert_string_equal(c, "F1");
    assert_string_equal(why, "");
    chain_of(&r, 2, false, c, sizeof(c), why, sizeof(why));
    assert_string_equal(c, "F1 > I1 > I2");
    assert_string_equal(why, "");
    chain_of(&r, 4, false, c, sizeof(c), why, sizeof(why));
    assert_string_equal(c, "F1 > D1 > I3");
    chain_of(&r, 5, false, c, sizeof(c), why, sizeof(why));
    assert_string_equal(c, "X1");
    assert_string_equal(why, "reference gone is missing");
    chain_of(&r, 6, true, c, sizeof(c), why, sizeof(why));
    assert_string_equal(c, "X1 > X2");
    assert_string_equal(why, "X1's reference gone is missing or damaged");
    chain_of(&r, 7, false, c, sizeof(c), why, sizeof(why));
    assert_string_equal(c, "X3");
    assert_string_equal(why, "no reference recorded (damaged summary)");
    chain_of(&r, 8, false, c, sizeof(c), why, sizeof(why));
    assert_string_equal(why, "reference X5 is not older");
    info_backups_free(&r);
}

/* more rows than the first allocation holds: the array moves, and every
 * row's strings still point into that row (they once pointed into the
 * freed array: info with more than 16 backups read freed memory) */
static void test_rows_move(void **state)
{
    (void)state;
    info_backups r = {0};
    char id[40][16], ref[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(id[i], sizeof(id[i]), "B%02d", i);
        snprintf(ref[i], sizeof(ref[i]), "B%02d", i ? i - 1 : 0);
        add(&r, id[i], i ? "incr" : "full", i ? ref[i] : "");
    }
    for (size_t i = 0; i < r.n; i++) {
        assert_ptr_equal(r.v[i].b.id, r.v[i].id);
        assert_ptr_equal(r.v[i].b.type, r.v[i].type);
        assert_ptr_equal(r.v[i].b.status, r.v[i].status);
        assert_ptr_equal(r.v[i].b.reference, r.v[i].reference);
        assert_ptr_equal(r.v[i].b.start_wal, r.v[i].start_wal);
        assert_ptr_equal(r.v[i].b.stop_wal, r.v[i].stop_wal);
        assert_string_equal(r.v[i].b.id, id[i]);
    }
    char c[1024], why[256];
    chain_of(&r, 39, false, c, sizeof(c), why, sizeof(why));
    assert_string_equal(why, "");
    assert_int_equal(strncmp(c, "B00 > B01 > ", 12), 0);
    info_backups_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chains),
        cmocka_unit_test(test_rows_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
