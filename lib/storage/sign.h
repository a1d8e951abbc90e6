/*
 * sign.h - what signed object-store requests are made of: AWS Signature
 * Version 4 (s3.c), Azure SharedKey (azure.c), and the encodings and dates
 * they use. No I/O, no state (sign.c).
 */
#ifndef WD_STORAGE_SIGN_H
#define WD_STORAGE_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- encodings and dates ---- */

/* Percent-encodes in AWS's style: everything except A-Za-z0-9-._~ (and '/'
 * with keep_slash) as %XX with uppercase hex. NULL when out of memory. */
char *wd_uri_encode(const char *in, bool keep_slash);
/* Base64 (standard alphabet, padded) into a malloc'ed string. */
char *wd_base64_encode(const uint8_t *in, size_t len);
/* Decodes standard base64; WALDEN_EINVAL on bad input. *out is malloc'ed. */
int wd_base64_decode(const char *in, uint8_t **out, size_t *len);
/* Current time as "20150830T123600Z" (amz) or an RFC 1123 date (azure). */
void wd_http_date_amz(char out[17]);
void wd_http_date_rfc1123(char out[32]);

/* ---- AWS Signature Version 4 ---- */

/* The most headers one request signs. */
#define WD_SIGV4_MAX_HEADERS 24

typedef struct wd_sigv4_header {
    const char *name; /* lowercase */
    const char *value;
} wd_sigv4_header;

typedef struct wd_sigv4_key {
    const char *access_key;
    const char *secret;
    const char *region;
    const char *service; /* "s3" */
} wd_sigv4_key;

/* Builds the Authorization header value for a request. `uri` and `query`
 * are already canonical (encoded; query sorted, as sent); `headers` are
 * the signed headers (any order, lowercase names, values as sent; at most
 * WD_SIGV4_MAX_HEADERS). `amz_date` is the x-amz-date value. When `creq`
 * is not NULL the canonical request is returned there too (malloc'ed;
 * tests). */
int wd_sigv4_authorization(char **out, const wd_sigv4_key *key, const char *method, const char *uri,
                           const char *query, const wd_sigv4_header *headers, size_t nheaders,
                           const char *payload_hash, const char *amz_date, char **creq);

/* A canonical query string from name/value pairs (values raw): encoded,
 * sorted by name, "name=" for empty values. NULL when out of memory. */
typedef struct wd_query_param {
    const char *name;
    const char *value;
} wd_query_param;
char *wd_query_canonical(const wd_query_param *params, size_t n);

/* Lowercase hex SHA-256 of data (65 bytes with the NUL). */
void wd_sha256_hex(const void *data, size_t len, char out[65]);

/* ---- Azure SharedKey ---- */

/* The signature (base64 HMAC-SHA256 with the decoded account key) of a
 * string to sign. */
int wd_azure_sign(char **out, const uint8_t *key, size_t key_len, const char *string_to_sign);

typedef struct wd_azure_header {
    const char *name; /* lowercase x-ms-* */
    const char *value;
} wd_azure_header;

/* The SharedKey string to sign of a request (version 2015-02-21 or later:
 * Content-Length empty when 0). `resource_path` is the encoded URL path;
 * query values are raw. NULL when out of memory. */
char *wd_azure_string_to_sign(const char *method, const char *account, const char *resource_path,
                              const wd_query_param *q, size_t nq, size_t content_length,
                              const char *content_md5, const char *content_type,
                              const char *if_match, const wd_azure_header *xms, size_t nxms);

#endif
