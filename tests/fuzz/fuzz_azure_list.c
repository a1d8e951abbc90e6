/*
 * fuzz_azure_list.c - what an object store answers: an Azure List Blobs answer
 * (wd_xml_parse_azure_list), the error answer's fields (Code, Message), and the same bytes as a
 * response's header block (wd_http_resp_header: ETag, Content-Length).
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "fuzz_util.h"
#include "storage/http.h"
#include "storage/xml.h"

static int entry(const char *key, bool is_prefix, uint64_t size, int64_t mtime_ms, void *ctx)
{
    size_t *total = ctx;
    *total += strlen(key) + is_prefix + size + (uint64_t)mtime_ms;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* response bodies reach the parsers NUL-terminated (wd_http_resp) */
    char *body = fz_cstr(data, size);
    size_t total = 0;
    char *next = NULL;
    if (wd_xml_parse_azure_list(body, size, entry, &total, &next) == 0)
        wd_free(next);
    static const char *const tags[] = {"Code", "Message"};
    for (size_t i = 0; i < WD_ARRAY_LEN(tags); i++)
        wd_free(wd_xml_value(body, size, tags[i]));
    wd_http_resp resp = {.status = 200, .headers = body, .headers_len = size};
    static const char *const headers[] = {"ETag", "Content-Range", "Content-Length"};
    for (size_t i = 0; i < WD_ARRAY_LEN(headers); i++)
        wd_free(wd_http_resp_header(&resp, headers[i]));
    free(body);
    walden_error_clear();
    return 0;
}
