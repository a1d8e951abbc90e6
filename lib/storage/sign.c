/*
 * sign.c - what signed object-store requests are made of (see sign.h):
 * AWS Signature Version 4, Azure SharedKey, and the encodings and dates
 * they use (percent-encoding, base64, SHA-256 hex, x-amz-date and RFC 1123
 * dates). No I/O, no state: AWS's published test vectors check them
 * (tests/unit/storage/test_sign.c).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/common.h"
#include "storage/sign.h"

/* ---- encodings ---- */

char *wd_uri_encode(const char *in, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(in);
    char *out = wd_malloc(n * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        unsigned char ch = *p;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~' || (keep_slash && ch == '/')) {
            *o++ = (char)ch;
        } else {
            *o++ = '%';
            *o++ = hex[ch >> 4];
            *o++ = hex[ch & 15];
        }
    }
    *o = '\0';
    return out;
}

char *wd_base64_encode(const uint8_t *in, size_t len)
{
    char *out = wd_malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

int wd_base64_decode(const char *in, uint8_t **out, size_t *len)
{
    size_t n = strlen(in);
    if (n % 4)
        return wd_error_set(WALDEN_EINVAL, "invalid base64 text");
    uint8_t *buf = wd_malloc(n / 4 * 3 + 1);
    if (!buf)
        return WALDEN_ENOMEM;
    int r = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n);
    if (r < 0) {
        wd_free(buf);
        return wd_error_set(WALDEN_EINVAL, "invalid base64 text");
    }
    size_t l = (size_t)r;
    for (size_t i = n; i > 0 && in[i - 1] == '=' && l > 0; i--)
        l--; /* EVP_DecodeBlock counts the padding as zero bytes */
    *out = buf;
    *len = l;
    return 0;
}

void wd_http_date_amz(char out[17])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void wd_http_date_rfc1123(char out[32])
{
    static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void wd_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t d[32];
    EVP_Digest(data, len, d, NULL, EVP_sha256(), NULL);
    wd_hex_encode(d, 32, out);
}

/* ---- AWS Signature Version 4 ---- */

static void hmac256(const void *key, size_t klen, const void *msg, size_t mlen, uint8_t out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n);
}

static int cmp_hdr(const void *a, const void *b)
{
    return strcmp(((const wd_sigv4_header *)a)->name, ((const wd_sigv4_header *)b)->name);
}

/* A header value as signed: leading and trailing blanks dropped, runs of
 * blanks as one space. */
static void buf_trimmed(wd_buf *b, const char *v)
{
    const char *sep = "";
    for (;;) {
        v += strspn(v, " \t");
        size_t n = strcspn(v, " \t");
        if (!n)
            return;
        wd_buf_printf(b, "%s%.*s", sep, (int)n, v);
        sep = " ";
        v += n;
    }
}

int wd_sigv4_authorization(char **out, const wd_sigv4_key *key, const char *method, const char *uri,
                           const char *query, const wd_sigv4_header *headers, size_t nheaders,
                           const char *payload_hash, const char *amz_date, char **creq)
{
    wd_sigv4_header sorted[WD_SIGV4_MAX_HEADERS];
    assert(nheaders <= WD_SIGV4_MAX_HEADERS);
    if (headers)
        memcpy(sorted, headers, nheaders * sizeof(*headers));
    qsort(sorted, nheaders, sizeof(*sorted), cmp_hdr);

    wd_buf cr = {0}, sh = {0};
    wd_buf_printf(&cr, "%s\n%s\n%s\n", method, uri, query ? query : "");
    for (size_t i = 0; i < nheaders; i++) {
        wd_buf_printf(&cr, "%s:", sorted[i].name);
        buf_trimmed(&cr, sorted[i].value);
        wd_buf_printf(&cr, "\n");
        wd_buf_printf(&sh, "%s%s", i ? ";" : "", sorted[i].name);
    }
    wd_buf_printf(&cr, "\n%s\n%s", sh.s ? sh.s : "", payload_hash);
    if (cr.failed || sh.failed) {
        wd_free(cr.s);
        wd_free(sh.s);
        return wd_error_set(WALDEN_ENOMEM, "out of memory");
    }
    char crhash[65];
    wd_sha256_hex(cr.s, cr.len, crhash);

    char day[9];
    snprintf(day, sizeof(day), "%.8s", amz_date);
    char scope[256];
    snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", day, key->region, key->service);
    char *sts = wd_asprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, crhash);
    char *kinit = wd_asprintf("AWS4%s", key->secret);
    int rc = 0;
    if (!sts || !kinit) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    uint8_t k[32];
    hmac256(kinit, strlen(kinit), day, strlen(day), k);
    hmac256(k, 32, key->region, strlen(key->region), k);
    hmac256(k, 32, key->service, strlen(key->service), k);
    hmac256(k, 32, "aws4_request", 12, k);
    uint8_t sig[32];
    hmac256(k, 32, sts, strlen(sts), sig);
    char sighex[65];
    wd_hex_encode(sig, 32, sighex);
    *out = wd_asprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                       key->access_key, scope, sh.s ? sh.s : "", sighex);
    if (!*out)
        rc = WALDEN_ENOMEM;
    else if (creq) {
        *creq = cr.s;
        cr.s = NULL;
    }
    memset(k, 0, sizeof(k));
done:
    wd_free(cr.s);
    wd_free(sh.s);
    wd_free(sts);
    if (kinit)
        wd_free_secret(kinit, strlen(kinit));
    return rc;
}

static int cmp_param(const void *a, const void *b)
{
    const wd_query_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

char *wd_query_canonical(const wd_query_param *params, size_t n)
{
    wd_query_param sorted[16];
    assert(n <= WD_ARRAY_LEN(sorted));
    if (params)
        memcpy(sorted, params, n * sizeof(*params));
    qsort(sorted, n, sizeof(*sorted), cmp_param);
    wd_buf b = {0};
    wd_buf_printf(&b, "%s", ""); /* no parameters: "" */
    for (size_t i = 0; i < n; i++) {
        char *k = wd_uri_encode(sorted[i].name, false);
        char *v = wd_uri_encode(sorted[i].value ? sorted[i].value : "", false);
        if (!k || !v)
            b.failed = true;
        wd_buf_printf(&b, "%s%s=%s", i ? "&" : "", k ? k : "", v ? v : "");
        wd_free(k);
        wd_free(v);
    }
    return wd_buf_take(&b); /* NULL with WALDEN_ENOMEM set */
}

/* ---- Azure SharedKey ---- */

int wd_azure_sign(char **out, const uint8_t *key, size_t key_len, const char *string_to_sign)
{
    uint8_t sig[32];
    hmac256(key, key_len, string_to_sign, strlen(string_to_sign), sig);
    *out = wd_base64_encode(sig, 32);
    return *out ? 0 : WALDEN_ENOMEM;
}

static int cmp_azh(const void *a, const void *b)
{
    return strcmp(((const wd_azure_header *)a)->name, ((const wd_azure_header *)b)->name);
}

static int cmp_q(const void *a, const void *b)
{
    return strcmp(((const wd_query_param *)a)->name, ((const wd_query_param *)b)->name);
}

char *wd_azure_string_to_sign(const char *method, const char *account, const char *resource_path,
                              const wd_query_param *q, size_t nq, size_t content_length,
                              const char *content_md5, const char *content_type,
                              const char *if_match, const wd_azure_header *xms, size_t nxms)
{
    wd_azure_header h[16];
    wd_query_param qs[16];
    if (nxms > 16 || nq > 16)
        return NULL;
    if (xms)
        memcpy(h, xms, nxms * sizeof(*h));
    qsort(h, nxms, sizeof(*h), cmp_azh);
    if (q)
        memcpy(qs, q, nq * sizeof(*q));
    qsort(qs, nq, sizeof(*qs), cmp_q);
    char len[32] = "";
    if (content_length)
        snprintf(len, sizeof(len), "%zu", content_length);
    size_t cap = 1024 + strlen(resource_path);
    for (size_t i = 0; i < nxms; i++)
        cap += strlen(h[i].name) + strlen(h[i].value) + 2;
    for (size_t i = 0; i < nq; i++)
        cap += strlen(qs[i].name) + strlen(qs[i].value ? qs[i].value : "") + 2;
    char *s = wd_malloc(cap);
    if (!s)
        return NULL;
    size_t n = (size_t)snprintf(s, cap, "%s\n\n\n%s\n%s\n%s\n\n\n%s\n\n\n\n", method, len,
                                content_md5 ? content_md5 : "", content_type ? content_type : "",
                                if_match ? if_match : "");
    for (size_t i = 0; i < nxms; i++)
        n += (size_t)snprintf(s + n, cap - n, "%s:%s\n", h[i].name, h[i].value);
    n += (size_t)snprintf(s + n, cap - n, "/%s%s", account, resource_path);
    for (size_t i = 0; i < nq; i++)
        n +=
            (size_t)snprintf(s + n, cap - n, "\n%s:%s", qs[i].name, qs[i].value ? qs[i].value : "");
    return s;
}
