/*
 * test_azure.c - the Azure Blob driver (storage/azure.c, objstore.c):
 *   - requests as sent, against the scripted local server: SharedKey
 *     authorization, x-ms-* headers, Content-MD5 and Content-Length, the
 *     container named in errors, the key never, List Blobs paging, the
 *     account and key from AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_KEY when
 *     the configuration has none;
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
#include "storage/objstore.h"
#include "storage/sign.h"
#include "storage/storage.h"
#include "testutil.h"

/* the documented Azurite account key */
#define DEV_KEY                                                                                    \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

/* SharedKey settings (Azurite's development account) for the scripted
 * server on `port` at `location`; `ep` is the buffer of the endpoint URL. */
static wd_objstore_cfg fake_az_cfg(char ep[64], int port, const char *location)
{
    snprintf(ep, 64, "http://127.0.0.1:%d/devstoreaccount1", port);
    return (wd_objstore_cfg){.location = location,
                             .az_account = "devstoreaccount1",
                             .az_key = DEV_KEY,
                             .az_endpoint = ep,
                             .http = {NULL, true, 5, 5, 2000}};
}

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
    wd_objstore_cfg c = fake_az_cfg(ep, port, "azure://cont/pre/");
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
    wd_objstore_cfg c = fake_az_cfg(ep, port, "azure://cont/pre");
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

/* List Blobs pages: a NextMarker asks for the next page, with marker= set
 * to it (encoded like any query value); every entry of every page is
 * listed, blobs and blob prefixes alike. */
struct listed {
    int n;
    char names[8][16];
    bool dir[8];
    uint64_t size[8];
};

static int listed_cb(const wd_storage_entry *e, void *ctx)
{
    struct listed *l = ctx;
    if (l->n < 8) {
        snprintf(l->names[l->n], sizeof(l->names[0]), "%s", e->name);
        l->dir[l->n] = e->is_dir;
        l->size[l->n] = e->size;
    }
    l->n++;
    return 0;
}

static void test_list_pages(void **state)
{
    (void)state;
    const fake_step steps[] = {
        {FAKE_RESPOND, 200,
         "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ContainerName=\"cont\">"
         "<Prefix>pre/</Prefix><Delimiter>/</Delimiter><Blobs>"
         "<Blob><Name>pre/a</Name><Properties><Content-Length>1</Content-Length></Properties>"
         "</Blob><BlobPrefix><Name>pre/d/</Name></BlobPrefix>"
         "<Blob><Name>pre/b</Name><Properties><Content-Length>2</Content-Length></Properties>"
         "</Blob></Blobs><NextMarker>m1</NextMarker></EnumerationResults>",
         NULL},
        {FAKE_RESPOND, 200,
         "<EnumerationResults><Marker>m1</Marker><Blobs>"
         "<Blob><Name>pre/c</Name><Properties><Content-Length>3</Content-Length></Properties>"
         "</Blob></Blobs><NextMarker>2!84!MDA=</NextMarker></EnumerationResults>",
         NULL},
        {FAKE_RESPOND, 200,
         "<EnumerationResults><Marker>2!84!MDA=</Marker><Blobs>"
         "<BlobPrefix><Name>pre/e/</Name></BlobPrefix>"
         "<Blob><Name>pre/f</Name><Properties><Content-Length>6</Content-Length></Properties>"
         "</Blob></Blobs><NextMarker /></EnumerationResults>",
         NULL},
    };
    int port = fake_start(steps, WD_ARRAY_LEN(steps));
    char ep[64];
    wd_objstore_cfg c = fake_az_cfg(ep, port, "azure://cont/pre");
    wd_storage *st;
    assert_ok(wd_storage_azure_new(&st, &c, false));
    struct listed l = {0};
    assert_ok(wd_storage_list(st, "", listed_cb, &l));
    wd_storage_free(st);
    fake_stop();
    const struct {
        const char *name;
        bool dir;
        uint64_t size;
    } want[] = {{"a", false, 1}, {"d", true, 0}, {"b", false, 2},
                {"c", false, 3}, {"e", true, 0}, {"f", false, 6}};
    assert_int_equal(l.n, WD_ARRAY_LEN(want));
    for (size_t i = 0; i < WD_ARRAY_LEN(want); i++) {
        assert_string_equal(l.names[i], want[i].name);
        assert_int_equal(l.dir[i], want[i].dir);
        assert_int_equal(l.size[i], want[i].size);
    }
    assert_int_equal(fake_requests, 3);
    /* the pages' requests, in order: no marker, then each NextMarker */
    const char *lines[] = {
        "GET /devstoreaccount1/cont?comp=list&delimiter=%2F&prefix=pre%2F&restype=container "
        "HTTP/1.1\r\n",
        "GET /devstoreaccount1/cont?comp=list&delimiter=%2F&marker=m1&prefix=pre%2F"
        "&restype=container HTTP/1.1\r\n",
        "GET /devstoreaccount1/cont?comp=list&delimiter=%2F&marker=2%2184%21MDA%3D&prefix=pre%2F"
        "&restype=container HTTP/1.1\r\n",
    };
    const char *p = fake_log;
    for (size_t i = 0; i < WD_ARRAY_LEN(lines); i++) {
        if (strncmp(p, lines[i], strlen(lines[i])) != 0)
            fail_msg("request %zu is not %s", i + 1, lines[i]);
        p = strstr(p, "\r\n\r\n") + 4;
    }
}

/* ---- account and key from the environment ---- */

static const char *const az_env[] = {"AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY"};
static int az_env_save(void **state)
{
    (void)state;
    fake_env_clear(az_env, WD_ARRAY_LEN(az_env));
    return 0;
}

/* the group's teardown: runs even when a test failed */
static int az_env_restore(void **state)
{
    (void)state;
    fake_env_restore();
    return 0;
}

/* Opens azure://cont/pre as the CLI does (wd_storage_open and the
 * configuration, plus the settings in `opts`: name, value, ...), makes one
 * request (HEAD pre/x) to the scripted server and checks that it carries
 * "Authorization: SharedKey `account`:" and a signature made with `key`
 * (base64). */
static void check_az_signed(const char *const *opts, size_t nopts, const char *account,
                            const char *key)
{
    int port = fake_start(NULL, 0);
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    const char *const flags[] = {"repo", "azure://cont/pre", "azure-endpoint", ep};
    fake_head_x(flags, WD_ARRAY_LEN(flags), opts, nopts);

    assert_int_equal(fake_requests, 1);
    const char *req = strstr(fake_log, "HEAD /cont/pre/x HTTP/1.1\r\n");
    assert_non_null(req);
    char date[64], version[32], auth[256];
    assert_true(fake_header(req, "x-ms-date", date, sizeof(date)));
    assert_true(fake_header(req, "x-ms-version", version, sizeof(version)));
    assert_true(fake_header(req, "Authorization", auth, sizeof(auth)));
    /* the same request signed here with `key` */
    wd_azure_header h[] = {{"x-ms-date", date}, {"x-ms-version", version}};
    char *sts =
        wd_azure_string_to_sign("HEAD", account, "/cont/pre/x", NULL, 0, 0, NULL, NULL, NULL, h, 2);
    assert_non_null(sts);
    uint8_t *k;
    size_t klen;
    assert_ok(wd_base64_decode(key, &k, &klen));
    char *sig;
    assert_ok(wd_azure_sign(&sig, k, klen, sts));
    char want[256];
    snprintf(want, sizeof(want), "SharedKey %s:%s", account, sig);
    assert_string_equal(auth, want);
    wd_free(sig);
    free(k);
    wd_free(sts);
}

/* With no azure-account or azure-key in the configuration, the Azure
 * driver takes AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, as Azure's own
 * tools do; a value in the configuration beats the environment's, and a
 * configured azure-sas is used instead of an account key from the
 * environment. */
static void test_credentials_from_env(void **state)
{
    (void)state;
    /* another valid key than DEV_KEY: base64 of "env-key-for-tests" */
    const char *env_key = "ZW52LWtleS1mb3ItdGVzdHM=";
    setenv("AZURE_STORAGE_ACCOUNT", "envaccount", 1);
    setenv("AZURE_STORAGE_KEY", env_key, 1);
    check_az_signed(NULL, 0, "envaccount", env_key);

    const char *const both[] = {"azure-account", "cfgaccount", "azure-key", DEV_KEY};
    check_az_signed(both, WD_ARRAY_LEN(both), "cfgaccount", DEV_KEY);
    assert_null(strstr(fake_log, "envaccount"));
    const char *const account[] = {"azure-account", "cfgaccount"};
    check_az_signed(account, WD_ARRAY_LEN(account), "cfgaccount", env_key);
    const char *const key[] = {"azure-key", DEV_KEY};
    check_az_signed(key, WD_ARRAY_LEN(key), "envaccount", DEV_KEY);

    /* a configured SAS: no SharedKey with the environment's key */
    int port = fake_start(NULL, 0);
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "repo", "azure://cont/pre", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "azure-endpoint", ep, WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "azure-sas", "sv=2021&sig=abc", WALDEN_SOURCE_FLAG));
    wd_storage *st;
    assert_ok(wd_storage_open(&st, cfg, false));
    bool exists;
    assert_ok(wd_storage_exists(st, "x", &exists));
    wd_storage_free(st);
    fake_stop();
    assert_non_null(strstr(fake_log, "HEAD /cont/pre/x?sv=2021&sig=abc HTTP/1.1\r\n"));
    assert_null(strstr(fake_log, "Authorization"));

    /* the environment's key is checked like the option */
    setenv("AZURE_STORAGE_KEY", "not base64!", 1);
    walden_config_free(cfg);
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "repo", "azure://cont/pre", WALDEN_SOURCE_FLAG));
    assert_rc(wd_storage_open(&st, cfg, false), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "base64"));

    /* no account anywhere: a clear error that names both ways */
    unsetenv("AZURE_STORAGE_ACCOUNT");
    assert_rc(wd_storage_open(&st, cfg, false), WALDEN_EINVAL);
    assert_non_null(strstr(walden_error_last()->message, "azure-account"));
    assert_non_null(strstr(walden_error_last()->message, "AZURE_STORAGE_ACCOUNT"));
    walden_config_free(cfg);
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
                         /* walden's defaults (net-timeout 60s, and more
                          * retry time than one stall): a loaded machine's
                          * server may be silent for half a minute */
                         .http = {NULL, true, 10, 60, 180000},
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
        cmocka_unit_test(test_requests_as_sent),     cmocka_unit_test(test_batch_delete),
        cmocka_unit_test(test_block_sizes),          cmocka_unit_test(test_list_pages),
        cmocka_unit_test(test_credentials_from_env),
    };
    /* the AZURE_STORAGE_* variables are unset for the group and restored after it */
    int failed = cmocka_run_group_tests_name("azure", tests, az_env_save, az_env_restore);
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
