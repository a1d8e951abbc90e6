/*
 * test_azure.c - the Azure Blob driver (storage/azure.c, objstore.c):
 *   - List Blobs parsing (blobs, blob prefixes, entities, NextMarker);
 *   - requests as sent, against the scripted local server: SharedKey
 *     authorization, x-ms-* headers, Content-MD5 and Content-Length, the
 *     container named in errors, the key never;
 *   - the storage conformance suite against Azurite when
 *     WALDEN_TEST_AZURE_ENDPOINT is set (tests/integration/test_azure.sh),
 *     with SharedKey, and again with a SAS when WALDEN_TEST_AZURE_SAS is set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "conformance.h"
#include "objstore_test.h"
#include "storage/http.h"
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

static void test_parse_list(void **state)
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

/* the documented Azurite account key */
#define DEV_KEY                                                                                    \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static void test_requests_as_sent(void **state)
{
    (void)state;
    const fake_step steps[] = {
        {FAKE_RESPOND, 201, NULL, NULL}, /* Put Blob */
        {FAKE_RESPOND, 403,
         "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed "
         "to authenticate the request.\nRequestId:1</Message></Error>",
         NULL},
        {FAKE_RESPOND, 404, "<Error><Code>ContainerNotFound</Code></Error>", NULL},
    };
    int port = fake_start(steps, WD_ARRAY_LEN(steps));
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d/devstoreaccount1", port);
    wd_objstore_cfg c = {.location = "azure://cont/pre/",
                         .az_account = "devstoreaccount1",
                         .az_key = DEV_KEY,
                         .az_endpoint = ep,
                         .http = {NULL, true, 5, 5, 2000}};
    wd_storage *st;
    assert_ok(wd_storage_azure_new(&st, &c, false));
    assert_ok(wd_storage_write_all(st, "w/a b", "hello", 5));
    wd_source *src;
    assert_rc(wd_storage_open_read(st, "w/a b", &src), WALDEN_EPERM);
    const char *m = walden_error_last()->message;
    assert_non_null(strstr(m, "container 'cont'"));
    assert_non_null(strstr(m, "AuthenticationFailed: Server failed to authenticate the request."));
    assert_null(strstr(m, "RequestId"));
    assert_null(strstr(m, DEV_KEY));
    assert_rc(wd_storage_open_read(st, "w/a b", &src), WALDEN_ENOTFOUND);
    assert_non_null(strstr(walden_error_last()->message, "container 'cont' does not exist"));
    wd_storage_free(st);
    fake_stop();
    assert_non_null(strstr(fake_log, "PUT /devstoreaccount1/cont/pre/w/a%20b HTTP/1.1\r\n"));
    assert_non_null(strstr(fake_log, "x-ms-blob-type: BlockBlob\r\n"));
    assert_non_null(strstr(fake_log, "Content-Length: 5\r\n"));
    /* MD5("hello") in base64 */
    assert_non_null(strstr(fake_log, "Content-MD5: XUFAKrxLKna5cZ2REBfFkg==\r\n"));
    assert_non_null(strstr(fake_log, "Authorization: SharedKey devstoreaccount1:"));
    assert_null(strstr(fake_log, "x-ms-range")); /* a whole blob: one plain GET */
    assert_null(strstr(fake_log, DEV_KEY));

    /* a SAS goes into the URL, and no Authorization header */
    port = fake_start(NULL, 0);
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    c.az_key = NULL;
    c.az_sas = "?sv=2021&sig=abc%2Bdef";
    c.az_endpoint = ep;
    assert_ok(wd_storage_azure_new(&st, &c, false));
    bool exists;
    assert_ok(wd_storage_exists(st, "x", &exists));
    assert_true(exists);
    wd_storage_free(st);
    fake_stop();
    assert_non_null(strstr(fake_log, "HEAD /cont/pre/x?sv=2021&sig=abc%2Bdef HTTP/1.1\r\n"));
    assert_null(strstr(fake_log, "Authorization"));

    /* no credentials: a clear error */
    c.az_sas = NULL;
    unsetenv("AZURE_STORAGE_KEY");
    assert_rc(wd_storage_azure_new(&st, &c, false), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "azure-key"));
}

/* Blob Batch: one POST of signed Delete Blob sub-requests; a key whose
 * sub-request failed is removed again on its own. */
static void test_batch_delete(void **state)
{
    (void)state;
    const char *answer =
        "--batchresponse_1\r\nContent-Type: application/http\r\nContent-ID: 0\r\n\r\n"
        "HTTP/1.1 202 Accepted\r\nx-ms-delete-type-permanent: true\r\n\r\n"
        "--batchresponse_1\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\n"
        "HTTP/1.1 503 Server Busy\r\nx-ms-error-code: ServerBusy\r\n\r\n"
        "--batchresponse_1\r\nContent-Type: application/http\r\nContent-ID: 2\r\n\r\n"
        "HTTP/1.1 404 The specified blob does not exist.\r\n\r\n"
        "--batchresponse_1--\r\n";
    const fake_step steps[] = {
        {FAKE_RESPOND, 202, answer, "Content-Type: multipart/mixed; boundary=batchresponse_1\r\n"},
        {FAKE_RESPOND, 202, NULL, NULL}, /* the failed one, alone */
        {FAKE_RESPOND, 403, "<Error><Code>AuthorizationFailure</Code></Error>", NULL},
    };
    int port = fake_start(steps, WD_ARRAY_LEN(steps));
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d/devstoreaccount1", port);
    wd_objstore_cfg c = {.location = "azure://cont/pre",
                         .az_account = "devstoreaccount1",
                         .az_key = DEV_KEY,
                         .az_endpoint = ep,
                         .http = {NULL, true, 5, 5, 2000}};
    wd_storage *st;
    assert_ok(wd_storage_azure_new(&st, &c, false));
    assert_non_null(st->driver->remove_many);
    const char *paths[] = {"k0", "k 1", "k2"};
    assert_ok(wd_storage_remove_many(st, paths, 3));
    assert_int_equal(fake_requests, 2);
    assert_rc(wd_storage_remove_many(st, paths, 3), WALDEN_EPERM);
    assert_non_null(strstr(walden_error_last()->message, "container 'cont'"));
    wd_storage_free(st);
    fake_stop();
    assert_non_null(
        strstr(fake_log, "POST /devstoreaccount1/cont?comp=batch&restype=container HTTP/1.1\r\n"));
    assert_non_null(strstr(fake_log, "Content-Type: multipart/mixed; boundary=batch_"));
    assert_non_null(strstr(fake_log, "DELETE /devstoreaccount1/cont/pre/k%201 HTTP/1.1\r\n"));
    assert_null(strstr(fake_log, "DELETE /devstoreaccount1/cont/pre/k0 "));
    assert_null(strstr(fake_log, "DELETE /devstoreaccount1/cont/pre/k2 "));
    assert_null(strcasestr(fake_log, "Transfer-Encoding"));
    assert_null(strstr(fake_log, DEV_KEY));
}

/* Blocks grow by tenths of Azure's 50,000, up to its largest block. */
static void test_block_sizes(void **state)
{
    (void)state;
    wd_objstore_cfg c = {.location = "azure://cont/pre",
                         .az_account = "devstoreaccount1",
                         .az_key = DEV_KEY,
                         .az_endpoint = "http://127.0.0.1:1/devstoreaccount1",
                         .http = {NULL, true, 5, 5, 2000}};
    wd_storage *st;
    assert_ok(wd_storage_azure_new(&st, &c, false));
    wd_objstore *os = (wd_objstore *)st;
    const uint64_t mib = 1 << 20, tib = mib << 20;
    assert_int_equal(os->max_parts, WD_AZURE_MAX_BLOCKS);
    assert_int_equal(wd_objstore_part_size(os, 4999), 32 * mib);
    assert_int_equal(wd_objstore_part_size(os, 5000), 64 * mib);
    assert_int_equal(wd_objstore_part_size(os, 34999), 2048 * mib);
    assert_int_equal(wd_objstore_part_size(os, 35000), 4000 * mib);
    assert_int_equal(wd_objstore_part_size(os, 49999), 4000 * mib);
    uint64_t total = 0;
    for (int i = 0; i < os->max_parts; i++)
        total += wd_objstore_part_size(os, i);
    assert_true(total > 76 * tib && total < 77 * tib); /* 76.6 TiB: "about 77 TiB" */
    wd_storage_free(st);
}

static int conf_n;
static const char *conf_sas;

static wd_storage *make_azure(void)
{
    char loc[256];
    snprintf(loc, sizeof(loc), "azure://%s/conformance-%d-%d",
             getenv("WALDEN_TEST_AZURE_CONTAINER"), (int)getpid(), conf_n++);
    wd_objstore_cfg c = {.location = loc,
                         .az_account = getenv("WALDEN_TEST_AZURE_ACCOUNT"),
                         .az_key = conf_sas ? NULL : getenv("WALDEN_TEST_AZURE_KEY"),
                         .az_sas = conf_sas,
                         .az_endpoint = getenv("WALDEN_TEST_AZURE_ENDPOINT"),
                         .http = {NULL, true, 10, 30, 30000},
                         /* 5 MiB first parts, doubling every second part:
                          * the conformance suite's large object goes up as
                          * parts of 5, 5 (a buffer reused), 10 and 1 MiB */
                         .part_size = 5 * 1024 * 1024,
                         .max_parts = 20};
    wd_storage *st;
    int rc = wd_storage_azure_new(&st, &c, conf_n == 1);
    if (rc) {
        print_error("cannot open %s: %s\n", loc, walden_error_last()->message);
        return NULL;
    }
    return st;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_requests_as_sent),
        cmocka_unit_test(test_batch_delete),
        cmocka_unit_test(test_block_sizes),
    };
    int failed = cmocka_run_group_tests_name("azure", tests, NULL, NULL);
    if (getenv("WALDEN_TEST_AZURE_ENDPOINT")) {
        printf("azure conformance (SharedKey): against %s\n", getenv("WALDEN_TEST_AZURE_ENDPOINT"));
        failed += storage_conformance_run("azure conformance (SharedKey)", make_azure);
        if ((conf_sas = getenv("WALDEN_TEST_AZURE_SAS"))) {
            printf("azure conformance (SAS): against %s\n", getenv("WALDEN_TEST_AZURE_ENDPOINT"));
            failed += storage_conformance_run("azure conformance (SAS)", make_azure);
        }
    } else {
        printf("azure conformance: skipped (WALDEN_TEST_AZURE_ENDPOINT is not set; "
               "tests/integration/test_azure.sh runs it against Azurite)\n");
    }
    return failed;
}
