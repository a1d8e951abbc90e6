/*
 * test_xml.c - the XML reader of the object-store drivers (storage/xml.c):
 *   - ListObjectsV2 (S3): entries, common prefixes, entities, times, paging,
 *     malformed answers refused;
 *   - List Blobs (Azure): blobs, blob prefixes, entities, NextMarker,
 *     malformed answers refused;
 *   - single values (an error's Code).
 * tests/fuzz/fuzz_s3_list.c and fuzz_azure_list.c feed it arbitrary bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "storage/xml.h"
#include "testutil.h"

struct seen {
    int n;
    char keys[8][64];
    bool prefix[8];
    uint64_t size[8];
    int64_t mtime[8];
};

static int seen_cb(const char *key, bool is_prefix, uint64_t size, int64_t mtime_ms, void *ctx)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->keys[s->n], 64, "%s", key);
        s->prefix[s->n] = is_prefix;
        s->size[s->n] = size;
        s->mtime[s->n] = mtime_ms;
    }
    s->n++;
    return 0;
}

/* ---- ListObjectsV2 ---- */

static void test_s3_list(void **state)
{
    (void)state;
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><Prefix>r/main/wal/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>"
        "<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</"
        "NextContinuationToken>"
        "<Contents><Key>r/main/wal/a&amp;b</Key><LastModified>2024-01-01T00:00:00.000Z</"
        "LastModified>"
        "<ETag>&quot;x&quot;</ETag><Size>12345678901</Size><StorageClass>STANDARD</StorageClass>"
        "</Contents>"
        "<CommonPrefixes><Prefix>r/main/wal/0000000100000000/</Prefix></CommonPrefixes>"
        "<Contents><Key>r/main/wal/&#233;t&#xE9;</Key><Size>0</Size></Contents>"
        "</ListBucketResult>";
    struct seen s = {0};
    char *next;
    assert_ok(wd_xml_parse_s3_list(xml, strlen(xml), seen_cb, &s, &next));
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "r/main/wal/a&b");
    assert_false(s.prefix[0]);
    assert_true(s.size[0] == 12345678901ull);
    assert_true(s.mtime[0] == 1704067200000ll); /* 2024-01-01T00:00:00.000Z */
    assert_true(s.mtime[2] == 0);               /* no LastModified */
    assert_string_equal(s.keys[1], "r/main/wal/0000000100000000/");
    assert_true(s.prefix[1]);
    assert_string_equal(s.keys[2], "r/main/wal/\xc3\xa9t\xc3\xa9");
    assert_string_equal(next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    wd_free(next);

    /* the last page, and an empty one with <Prefix/> */
    const char *last = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                       "<Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>";
    memset(&s, 0, sizeof(s));
    assert_ok(wd_xml_parse_s3_list(last, strlen(last), seen_cb, &s, &next));
    assert_int_equal(s.n, 1);
    assert_null(next);
    const char *empty = "<ListBucketResult><Prefix/><KeyCount>0</KeyCount>"
                        "<IsTruncated>false</IsTruncated></ListBucketResult>";
    memset(&s, 0, sizeof(s));
    assert_ok(wd_xml_parse_s3_list(empty, strlen(empty), seen_cb, &s, &next));
    assert_int_equal(s.n, 0);

    /* malformed: no size, a bad entity, truncated without a token, not a listing */
    const char *bad[] = {
        "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<Error><Code>AccessDenied</Code></Error>",
        "<ListBucketResult><Contents><Key>unterminated",
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++) {
        memset(&s, 0, sizeof(s));
        int rc = wd_xml_parse_s3_list(bad[i], strlen(bad[i]), seen_cb, &s, &next);
        if (i == WD_ARRAY_LEN(bad) - 1) /* an unterminated entry is no entry */
            assert_true(rc == 0 && s.n == 0);
        else if (rc != WALDEN_ECORRUPT)
            fail_msg("bad listing %zu was accepted", i);
    }
    char *code = wd_xml_value(bad[4], strlen(bad[4]), "Code");
    assert_string_equal(code, "AccessDenied");
    wd_free(code);
}

/* ---- List Blobs ---- */

static void test_azure_list(void **state)
{
    (void)state;
    const char *xml =
        "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>"
        "<EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" "
        "ContainerName=\"c\"><Prefix>r/wal/</Prefix><Marker>m0</Marker><MaxResults>5000</"
        "MaxResults>"
        "<Delimiter>/</Delimiter><Blobs>"
        "<Blob><Name>r/wal/x&lt;y</Name><Properties><Creation-Time>Mon, 01 Jan 2024 00:00:00 GMT"
        "</Creation-Time><Last-Modified>Tue, 02 Jan 2024 03:04:05 GMT</Last-Modified>"
        "<Content-Length>4096</Content-Length><Content-Type>application/"
        "octet-stream</Content-Type><BlobType>BlockBlob</BlobType></Properties></Blob>"
        "<BlobPrefix><Name>r/wal/sub/</Name></BlobPrefix>"
        "<Blob><Name>r/wal/z</Name><Properties><Content-Length>0</Content-Length></Properties>"
        "</Blob></Blobs><NextMarker>2!84!MDAwMDIz</NextMarker></EnumerationResults>";
    struct seen s = {0};
    char *next;
    assert_ok(wd_xml_parse_azure_list(xml, strlen(xml), seen_cb, &s, &next));
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "r/wal/x<y");
    assert_true(s.mtime[0] == 1704164645000ll); /* Tue, 02 Jan 2024 03:04:05 GMT */
    assert_true(s.mtime[2] == 0);
    assert_int_equal(s.size[0], 4096);
    assert_false(s.prefix[0]);
    assert_string_equal(s.keys[1], "r/wal/sub/");
    assert_true(s.prefix[1]);
    assert_string_equal(s.keys[2], "r/wal/z");
    assert_string_equal(next, "2!84!MDAwMDIz");
    wd_free(next);

    const char *last = "<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>";
    memset(&s, 0, sizeof(s));
    assert_ok(wd_xml_parse_azure_list(last, strlen(last), seen_cb, &s, &next));
    assert_int_equal(s.n, 0);
    assert_null(next);
    const char *bad[] = {
        "<EnumerationResults><Blobs><Blob><Name>a</Name></Blob></Blobs></EnumerationResults>",
        "<Error><Code>AuthenticationFailed</Code></Error>",
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++)
        assert_rc(wd_xml_parse_azure_list(bad[i], strlen(bad[i]), seen_cb, &s, &next),
                  WALDEN_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s3_list),
        cmocka_unit_test(test_azure_list),
    };
    return cmocka_run_group_tests_name("xml", tests, NULL, NULL);
}
