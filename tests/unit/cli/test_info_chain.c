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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
