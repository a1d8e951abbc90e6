/*
 * test_keys.c - crypto/keys.c: the key pair, its wrapping under a
 * passphrase with scrypt, and re-wrapping (what repo-passphrase does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "testutil.h"

static const wd_kdf_params fast = {1024, 8, 1};
static const wd_key_meta meta = {"main", 7445566778899001122ULL, {1, 2, 3}, 2};

static void test_wrap_unwrap(void **state)
{
    (void)state;
    wd_keypair k, got;
    assert_ok(wd_keypair_generate(&k));
    char *text;
    assert_ok(wd_key_wrap(&k, &meta, "secret one", &fast, &text));
    assert_null(strstr(text, "secret one"));
    char priv_hex[65];
    wd_hex_encode(k.private_key, 32, priv_hex);
    assert_null(strstr(text, priv_hex)); /* the private key is not in clear */

    assert_ok(wd_key_load_public(text, strlen(text), &got, NULL));
    assert_memory_equal(got.public_key, k.public_key, 32);
    assert_false(got.has_private);

    assert_ok(wd_key_unwrap(text, strlen(text), "secret one", &got, NULL));
    assert_true(got.has_private);
    assert_memory_equal(got.private_key, k.private_key, 32);

    assert_rc(wd_key_unwrap(text, strlen(text), "secret two", &got, NULL), WALDEN_EKEY);
    assert_non_null(strstr(walden_error_last()->message, "wrong passphrase"));
    assert_rc(wd_key_unwrap(text, strlen(text), "", &got, NULL), WALDEN_EINVAL);
    free(text);
}

static void test_rewrap_keeps_the_key(void **state)
{
    (void)state;
    wd_keypair k, opened;
    assert_ok(wd_keypair_generate(&k));
    char *t1, *t2;
    assert_ok(wd_key_wrap(&k, &meta, "old", &fast, &t1));
    assert_ok(wd_key_unwrap(t1, strlen(t1), "old", &opened, NULL));
    assert_ok(wd_key_wrap(&opened, &meta, "new", &fast, &t2));
    assert_rc(wd_key_unwrap(t2, strlen(t2), "old", &opened, NULL), WALDEN_EKEY);
    assert_ok(wd_key_unwrap(t2, strlen(t2), "new", &opened, NULL));
    assert_memory_equal(opened.private_key, k.private_key, 32);
    assert_memory_equal(opened.public_key, k.public_key, 32);
    free(t1);
    free(t2);
}

/* Replaces the value of `name` in a key file text. */
static char *with_value(const char *text, const char *name, const char *value)
{
    char *out = malloc(strlen(text) + strlen(value) + 64);
    const char *p = strstr(text, name);
    assert_non_null(p);
    const char *eol = strchr(p, '\n');
    sprintf(out, "%.*s%s = %s%s", (int)(p - text), text, name, value, eol);
    return out;
}

static void test_damaged_key_files(void **state)
{
    (void)state;
    wd_keypair k, got;
    assert_ok(wd_keypair_generate(&k));
    char *text;
    assert_ok(wd_key_wrap(&k, &meta, "pw", &fast, &text));

    /* the wrapped key altered: does not open */
    char *p = strstr(text, "wrapped-private-key = ") + strlen("wrapped-private-key = ") + 30;
    char saved = *p;
    *p = *p == '0' ? '1' : '0';
    assert_rc(wd_key_unwrap(text, strlen(text), "pw", &got, NULL), WALDEN_EKEY);
    *p = saved;

    /* another public key: the wrapped key is bound to it (AAD) */
    wd_keypair other;
    assert_ok(wd_keypair_generate(&other));
    char hex[65];
    wd_hex_encode(other.public_key, 32, hex);
    char *t = with_value(text, "public-key", hex);
    assert_int_not_equal(wd_key_unwrap(t, strlen(t), "pw", &got, NULL), 0);
    free(t);

    /* every other field is bound to the wrapped key too (format 2) */
    const char *bound[][2] = {
        {"verify-key", "0000000000000000000000000000000000000000000000000000000000000000"},
        {"cluster", "other"},
        {"system-identifier", "7445566778899001123"},
        {"kdf-p", "2"}};
    for (size_t i = 0; i < WD_ARRAY_LEN(bound); i++) {
        t = with_value(text, bound[i][0], bound[i][1]);
        int rc = wd_key_unwrap(t, strlen(t), "pw", &got, NULL);
        if (rc != WALDEN_EKEY)
            fail_msg("%s = %s: unwrap gave %d", bound[i][0], bound[i][1], rc);
        free(t);
    }
    wd_key_meta m;
    assert_ok(wd_key_unwrap(text, strlen(text), "pw", &got, &m));
    assert_string_equal(m.cluster, "main");
    assert_true(m.system_id == meta.system_id);
    assert_memory_equal(m.verify_key, meta.verify_key, 32);

    /* parameters that would make us allocate gigabytes, or nonsense */
    const char *bad[][2] = {{"kdf-n", "1073741824"}, {"kdf-n", "1000"},    {"kdf-r", "1000"},
                            {"kdf-p", "0"},          {"kdf-salt", "zz"},   {"format", "7"},
                            {"public-key", "abcd"},  {"kdf-n", "1048576"}, /* 1 GiB at r 8 */
                            {"kdf-n", "131072"},                           /* 128 MiB at r 8 */
                            {"kdf-p", "16"}};
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++) {
        t = with_value(text, bad[i][0], bad[i][1]);
        int rc = wd_key_load_public(t, strlen(t), &got, NULL);
        if (rc == 0)
            fail_msg("%s = %s accepted", bad[i][0], bad[i][1]);
        free(t);
    }
    free(text);
}

static void test_default_params(void **state)
{
    (void)state;
    wd_keypair k, got;
    assert_ok(wd_keypair_generate(&k));
    char *text;
    assert_ok(wd_key_wrap(&k, &meta, "pw", &wd_kdf_default, &text));
    assert_non_null(strstr(text, "kdf-n = 16384"));
    assert_ok(wd_key_unwrap(text, strlen(text), "pw", &got, NULL));
    assert_memory_equal(got.private_key, k.private_key, 32);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrap_unwrap),
        cmocka_unit_test(test_rewrap_keeps_the_key),
        cmocka_unit_test(test_damaged_key_files),
        cmocka_unit_test(test_default_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
