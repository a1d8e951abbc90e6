/*
 * test_error.c - common/error.c: the checks behind the public API's
 * contracts (versioned result structs, callbacks' returns).
 */
#include <string.h>

#include "common/common.h"
#include "testutil.h"

typedef struct result_v1 {
    unsigned int version;
    int a;
    char b[8];
} result_v1;

/* A version the library knows: every other field cleared, the version
 * kept. 0 (never initialized) and a newer one: WALDEN_EINVAL, untouched. */
static void test_result_start(void **state)
{
    (void)state;
    result_v1 r = {.version = 1, .a = 5, .b = "x"};
    assert_ok(WD_RESULT_START(&r, 1, "result_v1"));
    assert_int_equal(r.version, 1);
    assert_int_equal(r.a, 0);
    assert_int_equal(r.b[0], 0);

    result_v1 unset = {.a = 5};
    assert_rc(WD_RESULT_START(&unset, 1, "result_v1"), WALDEN_EINVAL);
    assert_string_equal(walden_error_last()->message,
                        "result_v1 has version 0, this libwalden knows versions 1 to 1 "
                        "(initialize it with its _INIT macro)");
    assert_int_equal(unset.a, 5);
    result_v1 newer = {.version = 3, .a = 5};
    assert_rc(WD_RESULT_START(&newer, 2, "result_v1"), WALDEN_EINVAL);
    assert_int_equal(newer.a, 5);
}

/* 0 goes on; a negative code comes back with the callback's message; a
 * positive value becomes WALDEN_EUSER. */
static void test_callback_rc(void **state)
{
    (void)state;
    walden_error_clear();
    assert_int_equal(wd_callback_rc(0), 0);
    wd_error_set(WALDEN_ENOTFOUND, "the callback's own message");
    assert_int_equal(wd_callback_rc(WALDEN_ENOTFOUND), WALDEN_ENOTFOUND);
    assert_string_equal(walden_error_last()->message, "the callback's own message");
    assert_int_equal(wd_callback_rc(1), WALDEN_EUSER);
    assert_int_equal(walden_error_last()->code, WALDEN_EUSER);
    assert_string_equal(walden_error_last()->message,
                        "stopped by the caller's callback (it returned 1)");
    assert_string_equal(walden_error_name(WALDEN_EUSER), "callback");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_start),
        cmocka_unit_test(test_callback_rc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
