/*
 * test_layers.c - catalog/layers.c: layer lists, the bundle member kind
 * 'u' among them (strict fields, bounded offsets), block maps and where a
 * layer's object is.
 */
#include <stdio.h>
#include <string.h>

#include "catalog/layers.h"
#include "common/common.h"
#include "repo/bundle.h"
#include "testutil.h"

static void test_round_trip(void **state)
{
    (void)state;
    const char *texts[] = {
        "20260101T000000Z:w:-:100:50",
        "20260101T000000Z:u:3:100:57:123456",
        "A:w:-:8192:100,B:d:2:16392:200,C:u:0:0:0:0",
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(texts); i++) {
        wd_layer l[WD_LAYERS_MAX];
        size_t n = 0;
        assert_ok(wd_layers_parse(texts[i], l, &n));
        char buf[WD_LAYERS_TEXT_MAX + 1];
        assert_true(wd_layers_format(l, n, buf, sizeof(buf)) > 0);
        assert_string_equal(buf, texts[i]);
    }
    wd_layer l[WD_LAYERS_MAX];
    size_t n = 0;
    assert_ok(wd_layers_parse("X1:u:7:4000:321:65536", l, &n));
    assert_int_equal(n, 1);
    assert_int_equal(l[0].kind, 'u');
    assert_int_equal(l[0].part, 7);
    assert_int_equal(l[0].raw_size, 4000);
    assert_int_equal(l[0].stored_size, 321);
    assert_int_equal(l[0].offset, 65536);
}

static void test_strict(void **state)
{
    (void)state;
    char far[64], over[64];
    snprintf(far, sizeof(far), "A:u:0:0:0:%llu", (unsigned long long)WD_BUNDLE_MAX);
    snprintf(over, sizeof(over), "A:u:0:1:2:%llu", (unsigned long long)WD_BUNDLE_MAX - 1);
    const char *bad[] = {
        "A:u:0:100:57",                      /* a member without its offset */
        "A:w:-:100:50:0",                    /* an offset on a whole object */
        "A:d:1:100:50:0",                    /* and on a delta */
        "A:u:-:100:57:0",                    /* a member's bundle is a number */
        "A:u:0:100:57:",                     /* empty offset */
        "A:u:0:100:57:-1",                   /* negative */
        "A:u:0:100:57:1x",                   /* trailing garbage */
        "A:u:0:100:57:0:9",                  /* a seventh field */
        "A:u:4294967296:1:1:0",              /* bundle number beyond u32 */
        "A:u:0:1:1:99999999999999999999999", /* beyond u64 */
        over,                                /* a member reaching past the largest bundle */
        "../x:u:0:1:1:0",                    /* not an id */
        "A:x:0:1:1",                         /* an unknown kind */
        "A:u:0:1:1:0,",                      /* an empty layer after it */
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++) {
        wd_layer l[WD_LAYERS_MAX];
        size_t n = 0;
        assert_int_equal(wd_layers_parse(bad[i], l, &n), WALDEN_ECORRUPT);
    }
    wd_layer l[WD_LAYERS_MAX];
    size_t n = 0;
    assert_ok(wd_layers_parse(far, l, &n)); /* empty, at the very end: allowed */
    walden_error_clear();
}

static void test_objects(void **state)
{
    (void)state;
    wd_layer u = {.id = "B1", .kind = 'u', .part = 12, .raw_size = 5, .stored_size = 9};
    char *o = wd_layer_object("main", &u, "base/5/123", WD_COMPRESS_ZSTD);
    assert_string_equal(o, "main/backup/B1/bundle/12.zst");
    wd_free(o);
    o = wd_layer_object_rel(&u, "base/5/123", WD_COMPRESS_ZSTD);
    assert_string_equal(o, "bundle/12.zst");
    wd_free(o);
    wd_layer d = {.id = "B1", .kind = 'd', .part = -1};
    o = wd_layer_object_rel(&d, "base/5/123", WD_COMPRESS_NONE);
    assert_string_equal(o, "delta/base/5/123");
    wd_free(o);
    wd_layer w = {.id = "B1", .kind = 'w', .part = 2};
    o = wd_layer_object_rel(&w, "base/5/123", WD_COMPRESS_NONE);
    assert_string_equal(o, "parts/base/5/123/2");
    wd_free(o);
}

static void test_map_with_member(void **state)
{
    (void)state;
    /* a small file bundled in one backup, grown and changed in the next:
     * its old blocks from the member, the new one from a delta */
    wd_layer l[WD_LAYERS_MAX];
    size_t n = 0;
    assert_ok(wd_layers_parse("A:u:0:16384:300:0,B:d:-:8200:90", l, &n));
    assert_int_equal(n, 2);
    uint8_t map[3];
    assert_ok(wd_map_parse("0*2,1*1", n, map, 3));
    assert_int_equal(map[2], 1);
    assert_int_equal(wd_map_parse("0*2,2*1", n, map, 3), WALDEN_ECORRUPT);
    walden_error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_map_with_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
