/*
 * test_cipher.c - crypto/cipher.c: chunked AES-256-GCM to the repository
 * key. Round trips at every write size and record boundary, and every kind
 * of tampering, each of which must fail without releasing wrong bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "testutil.h"

static wd_keypair key, other;

static int setup(void **state)
{
    (void)state;
    if (wd_keypair_generate(&key) || wd_keypair_generate(&other))
        return -1;
    return 0;
}

/* A sink that records what it was given, and whether it was committed or
 * aborted (on failure: the bytes released before the error). */
typedef struct capture {
    wd_sink base;
    uint8_t *buf;
    size_t len, cap;
    int committed, aborted;
} capture;

static int cap_write(wd_sink *s, const uint8_t *b, size_t n)
{
    capture *c = (capture *)s;
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2 + 64;
        c->buf = realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, b, n);
    c->len += n;
    return 0;
}
static int cap_commit(wd_sink *s)
{
    ((capture *)s)->committed = 1;
    return 0;
}
static void cap_abort(wd_sink *s)
{
    ((capture *)s)->aborted = 1;
}

static int run(wd_filter *f, const uint8_t *in, size_t len, size_t step, capture *c)
{
    memset(c, 0, sizeof(*c));
    c->base = (wd_sink){cap_write, cap_commit, cap_abort, NULL};
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, &c->base));
    assert_ok(wd_pipe_add(p, f));
    int rc = 0;
    for (size_t off = 0; off < len && !rc; off += step)
        rc = wd_pipe_write(p, in + off, len - off < step ? len - off : step);
    if (!rc)
        rc = wd_pipe_finish(p);
    wd_pipe_free(p);
    return rc;
}

static uint8_t *encrypt(const uint8_t *plain, size_t len, size_t step, size_t *out_len)
{
    wd_filter *f;
    assert_ok(wd_encrypt_filter_new(&f, &key));
    capture c;
    assert_ok(run(f, plain, len, step, &c));
    assert_true(c.committed);
    *out_len = c.len;
    return c.buf;
}

/* Decrypts; on success checks the plaintext, on failure checks that what
 * was released is a prefix of the plaintext and the sink was aborted. */
static int decrypt_check(const wd_keypair *k, const uint8_t *ct, size_t len, size_t step,
                         const uint8_t *plain, size_t plain_len)
{
    wd_filter *f;
    assert_ok(wd_decrypt_filter_new(&f, k));
    capture c;
    int rc = run(f, ct, len, step, &c);
    if (rc == 0) {
        assert_true(c.committed);
        assert_int_equal(c.len, plain_len);
        assert_true(plain_len == 0 || memcmp(c.buf, plain, plain_len) == 0);
    } else {
        assert_true(c.aborted);
        assert_false(c.committed);
        assert_true(c.len <= plain_len);
        assert_true(c.len == 0 || memcmp(c.buf, plain, c.len) == 0);
    }
    free(c.buf);
    return rc;
}

static void test_round_trip_sizes(void **state)
{
    (void)state;
    const size_t lens[] = {0,
                           1,
                           WD_CHUNK_SIZE - 1,
                           WD_CHUNK_SIZE,
                           WD_CHUNK_SIZE + 1,
                           3 * WD_CHUNK_SIZE,
                           3 * 1024 * 1024 + 17};
    const size_t steps[] = {1, 7, 4096, 3 * 1024 * 1024 + 17};
    uint8_t *plain = malloc(3 * 1024 * 1024 + 17);
    tu_fill(plain, 3 * 1024 * 1024 + 17, 5, 0);
    for (size_t i = 0; i < WD_ARRAY_LEN(lens); i++) {
        for (size_t j = 0; j < WD_ARRAY_LEN(steps); j++) {
            if (steps[j] == 1 && lens[i] > 4 * WD_CHUNK_SIZE)
                continue; /* byte-by-byte over 3 MiB adds nothing but time */
            size_t ct_len;
            uint8_t *ct = encrypt(plain, lens[i], steps[j], &ct_len);
            size_t records = lens[i] / WD_CHUNK_SIZE + 1;
            assert_int_equal(ct_len, 76 + lens[i] + records * 20);
            assert_memory_equal(ct, WD_CIPHER_MAGIC, 8);
            assert_ok(decrypt_check(&key, ct, ct_len, steps[j], plain, lens[i]));
            free(ct);
        }
    }
    free(plain);
}

static void test_fresh_key_per_file(void **state)
{
    (void)state;
    uint8_t plain[4096];
    memset(plain, 'A', sizeof(plain));
    size_t l1, l2;
    uint8_t *a = encrypt(plain, sizeof(plain), 4096, &l1);
    uint8_t *b = encrypt(plain, sizeof(plain), 4096, &l2);
    assert_int_equal(l1, l2);
    assert_memory_not_equal(a + 12, b + 12, 64); /* ephemeral key and salt */
    assert_memory_not_equal(a + 80, b + 80, 64); /* ciphertext */
    assert_null(memmem(a, l1, plain, 32));       /* no plaintext */
    free(a);
    free(b);
}

#define PLAIN_LEN (3 * WD_CHUNK_SIZE + 1000) /* records: 3 full + 1 final */
#define REC(i) (76 + (size_t)(i) * (4 + WD_CHUNK_SIZE + 16))

static uint8_t *plain_data(void)
{
    uint8_t *p = malloc(PLAIN_LEN);
    tu_fill(p, PLAIN_LEN, 11, 1);
    return p;
}

static void test_flipped_bytes(void **state)
{
    (void)state;
    uint8_t *plain = plain_data();
    size_t len;
    uint8_t *ct = encrypt(plain, PLAIN_LEN, 65536, &len);
    /* header, length word, ciphertext, tag of several records */
    const size_t where[] = {0,
                            8,
                            9,
                            12,
                            43,
                            44,
                            75,
                            REC(0),
                            REC(0) + 3,
                            REC(0) + 4,
                            REC(0) + 100,
                            REC(1) - 1,
                            REC(1) + 5000,
                            REC(2) + 2,
                            REC(3),
                            REC(3) + 4 + 10,
                            len - 1};
    for (size_t i = 0; i < WD_ARRAY_LEN(where); i++) {
        uint8_t *bad = malloc(len);
        memcpy(bad, ct, len);
        bad[where[i]] ^= 0x01;
        int rc = decrypt_check(&key, bad, len, 4096, plain, PLAIN_LEN);
        if (rc != WALDEN_ECORRUPT && rc != WALDEN_EKEY)
            fail_msg("flip at %zu: got %d", where[i], rc);
        free(bad);
    }
    free(ct);
    free(plain);
}

static void test_truncation(void **state)
{
    (void)state;
    uint8_t *plain = plain_data();
    size_t len;
    uint8_t *ct = encrypt(plain, PLAIN_LEN, 65536, &len);
    /* at every record boundary, inside records, inside the header */
    const size_t cut[] = {0,      1,      8,          75,           76,       REC(1),
                          REC(2), REC(3), REC(0) + 2, REC(1) + 777, len - 16, len - 1};
    for (size_t i = 0; i < WD_ARRAY_LEN(cut); i++) {
        int rc = decrypt_check(&key, ct, cut[i], 4096, plain, PLAIN_LEN);
        if (rc != WALDEN_ECORRUPT)
            fail_msg("cut at %zu: got %d", cut[i], rc);
    }
    free(ct);
    free(plain);
}

static void test_reorder_duplicate_splice_append(void **state)
{
    (void)state;
    uint8_t *plain = plain_data();
    size_t len, len2;
    uint8_t *ct = encrypt(plain, PLAIN_LEN, 65536, &len);
    uint8_t *ct2 = encrypt(plain, PLAIN_LEN, 65536, &len2); /* same plaintext, same key */
    size_t rec = 4 + WD_CHUNK_SIZE + 16;
    uint8_t *bad = malloc(len + rec + 64);

    /* swap records 1 and 2 */
    memcpy(bad, ct, len);
    memcpy(bad + REC(1), ct + REC(2), rec);
    memcpy(bad + REC(2), ct + REC(1), rec);
    assert_rc(decrypt_check(&key, bad, len, 4096, plain, PLAIN_LEN), WALDEN_ECORRUPT);

    /* record 1 twice (record 2 dropped) */
    memcpy(bad, ct, len);
    memcpy(bad + REC(2), ct + REC(1), rec);
    assert_rc(decrypt_check(&key, bad, len, 4096, plain, PLAIN_LEN), WALDEN_ECORRUPT);

    /* record 1 spliced from another file encrypted to the same key */
    memcpy(bad, ct, len);
    memcpy(bad + REC(1), ct2 + REC(1), rec);
    assert_rc(decrypt_check(&key, bad, len, 4096, plain, PLAIN_LEN), WALDEN_ECORRUPT);

    /* data after the final record */
    memcpy(bad, ct, len);
    memcpy(bad + len, "garbage", 7);
    assert_rc(decrypt_check(&key, bad, len + 7, 4096, plain, PLAIN_LEN), WALDEN_ECORRUPT);

    /* a final record dropped and the stream ended at a boundary: truncated */
    assert_rc(decrypt_check(&key, ct, REC(3), 4096, plain, PLAIN_LEN), WALDEN_ECORRUPT);

    free(bad);
    free(ct);
    free(ct2);
    free(plain);
}

/* Decryption loads the private key once per thread, not once per file:
 * files after the first load nothing. The loaded key is used again only for
 * the same private key: files for another key (or for a private key that
 * differs in one bit, with the same public key) are refused, and the first
 * key's files still open after them. wd_keypair_wipe unloads it. */
static void test_loaded_key_reused(void **state)
{
    (void)state;
    uint8_t plain[5000];
    tu_fill(plain, sizeof(plain), 3, 0);
    size_t len;
    uint8_t *ct = encrypt(plain, sizeof(plain), 4096, &len);
    assert_ok(decrypt_check(&key, ct, len, 4096, plain, sizeof(plain)));
    unsigned long loaded = wd_cipher_keys_loaded();
    for (int i = 0; i < 5; i++)
        assert_ok(decrypt_check(&key, ct, len, 1000, plain, sizeof(plain)));
    assert_int_equal(wd_cipher_keys_loaded(), loaded);

    assert_rc(decrypt_check(&other, ct, len, 4096, plain, sizeof(plain)), WALDEN_EKEY);
    assert_int_equal(wd_cipher_keys_loaded(), loaded + 1);
    assert_ok(decrypt_check(&key, ct, len, 4096, plain, sizeof(plain)));
    assert_int_equal(wd_cipher_keys_loaded(), loaded + 2);

    /* byte 1: X25519 ignores the low bits of byte 0 */
    wd_keypair forged = key;
    forged.private_key[1] ^= 1;
    assert_rc(decrypt_check(&forged, ct, len, 4096, plain, sizeof(plain)), WALDEN_EKEY);
    assert_int_equal(wd_cipher_keys_loaded(), loaded + 3);
    assert_ok(decrypt_check(&key, ct, len, 4096, plain, sizeof(plain)));
    assert_int_equal(wd_cipher_keys_loaded(), loaded + 4);

    wd_keypair_wipe(&forged);
    assert_ok(decrypt_check(&key, ct, len, 4096, plain, sizeof(plain)));
    assert_int_equal(wd_cipher_keys_loaded(), loaded + 5);
    free(ct);
}

static void test_wrong_keys(void **state)
{
    (void)state;
    uint8_t *plain = plain_data();
    size_t len;
    uint8_t *ct = encrypt(plain, PLAIN_LEN, 65536, &len);
    assert_rc(decrypt_check(&other, ct, len, 4096, plain, PLAIN_LEN), WALDEN_EKEY);
    wd_keypair pub_only = key;
    wd_keypair_wipe(&pub_only);
    wd_filter *f;
    assert_rc(wd_decrypt_filter_new(&f, &pub_only), WALDEN_EKEY);
    /* not an encrypted file at all */
    assert_rc(decrypt_check(&key, plain, PLAIN_LEN, 4096, plain, PLAIN_LEN), WALDEN_ECORRUPT);
    free(ct);
    free(plain);
}

/* ---- the framing check, without a key ---- */

static int frame_check(const uint8_t *ct, size_t len, size_t step)
{
    wd_filter *f;
    assert_ok(wd_cipher_frame_filter_new(&f));
    capture c;
    int rc = run(f, ct, len, step, &c);
    if (rc == 0) /* an observe filter: every byte passes on */
        assert_int_equal(c.len, len);
    free(c.buf);
    return rc;
}

static void test_frame_check_whole(void **state)
{
    (void)state;
    const size_t lens[] = {0, 1, WD_CHUNK_SIZE, WD_CHUNK_SIZE + 1, 3 * WD_CHUNK_SIZE + 5};
    const size_t steps[] = {1, 7, 4096, 1 << 20};
    uint8_t *plain = malloc(3 * WD_CHUNK_SIZE + 5);
    tu_fill(plain, 3 * WD_CHUNK_SIZE + 5, 9, 0);
    for (size_t i = 0; i < WD_ARRAY_LEN(lens); i++) {
        size_t ct_len;
        uint8_t *ct = encrypt(plain, lens[i], 4096, &ct_len);
        for (size_t j = 0; j < WD_ARRAY_LEN(steps); j++)
            assert_ok(frame_check(ct, ct_len, steps[j]));
        free(ct);
    }
    free(plain);
}

static void test_frame_check_damage(void **state)
{
    (void)state;
    size_t plain_len = 2 * WD_CHUNK_SIZE + 100, ct_len;
    uint8_t *plain = malloc(plain_len);
    tu_fill(plain, plain_len, 11, 0);
    uint8_t *ct = encrypt(plain, plain_len, 4096, &ct_len);
    uint8_t *bad = malloc(ct_len + 1);
    size_t record = 4 + WD_CHUNK_SIZE + 16;
    /* truncated anywhere, also exactly at a record boundary or in the header */
    const size_t cuts[] = {0, 5, 75, 76, 77, 76 + record, 76 + 2 * record, ct_len - 1};
    for (size_t i = 0; i < WD_ARRAY_LEN(cuts); i++) /* an empty file included */
        assert_int_equal(frame_check(ct, cuts[i], 4096), WALDEN_ECORRUPT);
    /* a byte after the final record */
    memcpy(bad, ct, ct_len);
    bad[ct_len] = 0;
    assert_int_equal(frame_check(bad, ct_len + 1, 7), WALDEN_ECORRUPT);
    /* bad magic, bad version */
    memcpy(bad, ct, ct_len);
    bad[0] ^= 1;
    assert_int_equal(frame_check(bad, ct_len, 1), WALDEN_ECORRUPT);
    memcpy(bad, ct, ct_len);
    bad[8] = 2;
    assert_int_equal(frame_check(bad, ct_len, 4096), WALDEN_ECORRUPT);
    /* a length word above the chunk size */
    memcpy(bad, ct, ct_len);
    bad[76 + 1] = 0x02; /* 0x00020000 > 65536 */
    assert_int_equal(frame_check(bad, ct_len, 4096), WALDEN_ECORRUPT);
    /* the final flag moved to the first record: data after the final record */
    memcpy(bad, ct, ct_len);
    bad[76] |= 0x80;
    assert_int_equal(frame_check(bad, ct_len, 4096), WALDEN_ECORRUPT);
    /* what framing cannot see: a flipped ciphertext byte (decryption does) */
    memcpy(bad, ct, ct_len);
    bad[76 + 4 + 10] ^= 0xff;
    assert_ok(frame_check(bad, ct_len, 4096));
    assert_int_not_equal(decrypt_check(&key, bad, ct_len, 4096, plain, plain_len), 0);
    free(bad);
    free(ct);
    free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_sizes),
        cmocka_unit_test(test_fresh_key_per_file),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_reorder_duplicate_splice_append),
        cmocka_unit_test(test_wrong_keys),
        cmocka_unit_test(test_loaded_key_reused),
        cmocka_unit_test(test_frame_check_whole),
        cmocka_unit_test(test_frame_check_damage),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
