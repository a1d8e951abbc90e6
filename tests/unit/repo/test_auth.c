/*
 * test_auth.c - repo/auth.c: what a reader of a format-1 area (legacy,
 * allow-unauthenticated) takes as a file's text when an interrupted
 * repo-upgrade has added a signature line already, and that a format-2
 * reader still refuses a text whose signature another key made.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "repo/repo.h"
#include "testutil.h"

static const char body[] = "# walden backup info\nid = 20261123T092725Z\ncomplete = yes\n";
static const char *path = "main/backup/20261123T092725Z/backup.info";

static walden_repo *legacy_repo(void)
{
    walden_repo *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->cluster = "main";
    r->info.system_id = 7445566778899001122ULL;
    r->legacy = true;
    return r;
}

static void test_legacy_unsigned(void **state)
{
    (void)state;
    walden_repo *r = legacy_repo();
    size_t n = 1;
    assert_ok(wd_repo_check_signed(r, path, body, strlen(body), &n));
    assert_int_equal(n, strlen(body));
    free(r);
}

static void test_legacy_strips_signature(void **state)
{
    (void)state;
    walden_repo *r = legacy_repo();
    uint8_t pub[WD_SIGN_KEY_LEN], priv[WD_SIGN_KEY_LEN];
    assert_ok(wd_sign_keygen(pub, priv));
    wd_area_id area;
    wd_repo_area(r, &area);
    char *t = NULL;
    assert_ok(wd_sign_text(priv, &area, wd_repo_rel(r, path), body, strlen(body), &t));
    size_t n = 0;
    assert_ok(wd_repo_check_signed(r, path, t, strlen(t), &n));
    assert_int_equal(n, strlen(body));
    assert_memory_equal(t, body, n);
    /* a line merely starting like one is text, not a signature */
    const char odd[] = "id = x\nsignature\n";
    assert_ok(wd_repo_check_signed(r, path, odd, strlen(odd), &n));
    assert_int_equal(n, strlen(odd));
    wd_free(t);
    free(r);
}

static void test_format2_refuses_other_key(void **state)
{
    (void)state;
    walden_repo *r = legacy_repo();
    uint8_t pub[WD_SIGN_KEY_LEN], priv[WD_SIGN_KEY_LEN], other[WD_SIGN_KEY_LEN];
    assert_ok(wd_sign_keygen(pub, priv));
    assert_ok(wd_sign_keygen(other, r->sign_priv));
    wd_area_id area;
    wd_repo_area(r, &area);
    char *t = NULL;
    assert_ok(wd_sign_text(priv, &area, wd_repo_rel(r, path), body, strlen(body), &t));
    r->legacy = false;
    r->trusted = true;
    r->have_verify_key = true;
    memcpy(r->verify_key, other, WD_SIGN_KEY_LEN);
    size_t n = 0;
    assert_rc(wd_repo_check_signed(r, path, t, strlen(t), &n), WALDEN_EAUTH);
    memcpy(r->verify_key, pub, WD_SIGN_KEY_LEN);
    assert_ok(wd_repo_check_signed(r, path, t, strlen(t), &n));
    assert_int_equal(n, strlen(body));
    wd_free(t);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_legacy_unsigned),
        cmocka_unit_test(test_legacy_strips_signature),
        cmocka_unit_test(test_format2_refuses_other_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
