/*
 * test_sign.c - crypto/sign.c: signed texts (bound to the area and the
 * path, covering every byte before the signature line) and WAL signatures.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "crypto/sign.h"
#include "testutil.h"

static uint8_t pub[32], priv[32];
static const wd_area_id area = {"main", 7445566778899001122ULL};
static const char body[] = "# walden backup info\nid = 20261123T092725Z\nowner = postgres\n";

static int setup(void **state)
{
    (void)state;
    return wd_sign_keygen(pub, priv);
}

static char *signed_text(size_t *len)
{
    char *t;
    assert_ok(wd_sign_text(priv, &area, "backup/x/backup.info", body, strlen(body), &t));
    *len = strlen(t);
    return t;
}

static int check(const char *t, size_t len, const wd_area_id *a, const char *path)
{
    size_t body_len = 0;
    int rc = wd_sign_text_check(pub, a, path, t, len, &body_len);
    if (rc == 0)
        assert_int_equal(body_len, strlen(body));
    return rc;
}

static void test_good(void **state)
{
    (void)state;
    size_t len;
    char *t = signed_text(&len);
    assert_ok(check(t, len, &area, "backup/x/backup.info"));
    assert_memory_equal(t, body, strlen(body));
    assert_true(wd_str_starts_with(t + strlen(body), "signature = "));
    uint8_t pub2[32];
    assert_ok(wd_sign_public(priv, pub2));
    assert_memory_equal(pub, pub2, 32);
    free(t);
}

static void test_every_byte_flipped(void **state)
{
    (void)state;
    size_t len;
    char *t = signed_text(&len);
    for (size_t i = 0; i < len; i++) {
        char saved = t[i];
        t[i] ^= 0x01;
        int rc = check(t, len, &area, "backup/x/backup.info");
        if (rc != WALDEN_EAUTH)
            fail_msg("byte %zu flipped: %d", i, rc);
        t[i] = saved;
    }
    free(t);
}

static void test_wrong_path_and_area(void **state)
{
    (void)state;
    size_t len;
    char *t = signed_text(&len);
    assert_rc(check(t, len, &area, "backup/y/backup.info"), WALDEN_EAUTH);
    assert_non_null(strstr(walden_error_last()->message, "backup/y/backup.info"));
    assert_non_null(strstr(walden_error_last()->message, "failed authentication"));
    assert_rc(check(t, len, &area, "dump/x/dump.manifest"), WALDEN_EAUTH);
    wd_area_id other_cluster = {"other", area.system_id};
    assert_rc(check(t, len, &other_cluster, "backup/x/backup.info"), WALDEN_EAUTH);
    wd_area_id other_sysid = {"main", area.system_id + 1};
    assert_rc(check(t, len, &other_sysid, "backup/x/backup.info"), WALDEN_EAUTH);
    /* another key */
    uint8_t p2[32], s2[32];
    assert_ok(wd_sign_keygen(p2, s2));
    size_t bl;
    assert_rc(wd_sign_text_check(p2, &area, "backup/x/backup.info", t, len, &bl), WALDEN_EAUTH);
    free(t);
}

static void test_truncated_and_missing(void **state)
{
    (void)state;
    size_t len;
    char *t = signed_text(&len);
    /* cut anywhere: never accepted */
    for (size_t n = 0; n < len; n++)
        if (check(t, n, &area, "backup/x/backup.info") != WALDEN_EAUTH)
            fail_msg("truncated to %zu accepted", n);
    /* no signature line at all */
    assert_rc(check(body, strlen(body), &area, "backup/x/backup.info"), WALDEN_EAUTH);
    assert_non_null(strstr(walden_error_last()->message, "no signature"));
    /* a line added after the signature */
    char *more = wd_asprintf("%scomplete = yes\n", t);
    assert_rc(check(more, strlen(more), &area, "backup/x/backup.info"), WALDEN_EAUTH);
    /* a line added before it */
    char *before = wd_asprintf("owner = mallory\n%s", t);
    assert_rc(check(before, strlen(before), &area, "backup/x/backup.info"), WALDEN_EAUTH);
    /* a malformed signature */
    char *bad = strdup(t);
    memcpy(strstr(bad, "signature = ") + 12, "zz", 2);
    assert_rc(check(bad, len, &area, "backup/x/backup.info"), WALDEN_EAUTH);
    free(bad);
    wd_free(more);
    wd_free(before);
    free(t);
}

static void test_nul_bytes(void **state)
{
    (void)state;
    /* a body with a NUL is signed over all its bytes */
    static const char nb[] = "a = 1\n\0b = 2\n";
    size_t nlen = sizeof(nb) - 1, bl;
    char *t;
    assert_ok(wd_sign_text(priv, &area, "p", nb, nlen, &t));
    size_t len = nlen + strlen(t + nlen);
    assert_ok(wd_sign_text_check(pub, &area, "p", t, len, &bl));
    assert_int_equal(bl, nlen);
    t[6] = 'x'; /* the NUL replaced */
    assert_rc(wd_sign_text_check(pub, &area, "p", t, len, &bl), WALDEN_EAUTH);
    free(t);
    /* a NUL inserted into a signed text */
    size_t l2;
    char *s = signed_text(&l2);
    char *z = malloc(l2 + 1);
    memcpy(z, s, 5);
    z[5] = '\0';
    memcpy(z + 6, s + 5, l2 - 5);
    assert_rc(wd_sign_text_check(pub, &area, "backup/x/backup.info", z, l2 + 1, &bl), WALDEN_EAUTH);
    free(z);
    free(s);
}

static void test_wal(void **state)
{
    (void)state;
    wd_wal_sig_input in = {.name = "000000010000000000000002", .ext = ".zst", .encrypted = true};
    memset(in.raw_sha256, 0xab, 32);
    memset(in.header, 0x11, sizeof(in.header));
    uint8_t sig[WD_SIG_LEN];
    assert_ok(wd_sign_wal(priv, &area, &in, sig));
    assert_ok(wd_sign_wal_verify(pub, &area, &in, sig));
    /* each signed field matters */
    wd_wal_sig_input x = in;
    x.name = "000000010000000000000003";
    assert_rc(wd_sign_wal_verify(pub, &area, &x, sig), WALDEN_EAUTH);
    x = in;
    x.raw_sha256[31] ^= 1;
    assert_rc(wd_sign_wal_verify(pub, &area, &x, sig), WALDEN_EAUTH);
    x = in;
    x.ext = ".gz";
    assert_rc(wd_sign_wal_verify(pub, &area, &x, sig), WALDEN_EAUTH);
    x = in;
    x.header[75] ^= 1;
    assert_rc(wd_sign_wal_verify(pub, &area, &x, sig), WALDEN_EAUTH);
    x = in;
    x.encrypted = false;
    assert_rc(wd_sign_wal_verify(pub, &area, &x, sig), WALDEN_EAUTH);
    wd_area_id other = {"main", area.system_id ^ 1};
    assert_rc(wd_sign_wal_verify(pub, &other, &in, sig), WALDEN_EAUTH);
    sig[0] ^= 1;
    assert_rc(wd_sign_wal_verify(pub, &area, &in, sig), WALDEN_EAUTH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_every_byte_flipped),
        cmocka_unit_test(test_wrong_path_and_area),
        cmocka_unit_test(test_truncated_and_missing),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_wal),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
