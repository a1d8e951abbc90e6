/*
 * http.h - what the object-store drivers (s3.c, azure.c) share: the HTTP
 * layer over libcurl, request signing (AWS SigV4, Azure SharedKey), the
 * small XML reader for listings and errors, and the generic object-store
 * storage (objstore.c) that turns a driver's handful of requests into the
 * wd_storage contract (streaming sinks with multipart, range-read sources).
 *
 * libcurl is loaded with dlopen on first use (like libpq, pg/libpq.h):
 * archive-push to a local repository runs once per WAL segment and must not
 * pay for loading libcurl and the libraries it pulls in.
 *
 * Secrets (keys, tokens, SAS query strings) never reach a message or a log
 * line: requests are named in messages by `what` (e.g. "s3://bucket/key"),
 * never by their URL or headers.
 */
#ifndef WD_STORAGE_HTTP_H
#define WD_STORAGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"

/* ---- the HTTP layer ---- */

typedef struct wd_http wd_http;

typedef struct wd_http_opts {
    const char *ca_file;  /* NULL: the system's CA store */
    bool verify_tls;      /* peer and host name */
    long connect_timeout; /* seconds */
    long stall_timeout;   /* seconds without a byte moving: the attempt fails */
    long retry_time_ms;   /* total time spent retrying one request */
} wd_http_opts;

/* Loads libcurl if needed (WALDEN_ERROR naming the library when it cannot
 * be loaded) and makes a client: a pool of connections that requests from
 * any thread share. */
int wd_http_new(wd_http **out, const wd_http_opts *opts);
void wd_http_free(wd_http *h);

#define WD_HTTP_MAX_HEADERS 24

/* Request headers, "Name: value" each, owned (freed by the layer). */
typedef struct wd_http_headers {
    char *v[WD_HTTP_MAX_HEADERS];
    size_t n;
} wd_http_headers;

/* Appends a formatted header; WALDEN_ENOMEM, or an assert when full. */
int wd_http_header_add(wd_http_headers *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void wd_http_headers_clear(wd_http_headers *h);

typedef struct wd_http_resp wd_http_resp;
typedef struct wd_http_req wd_http_req;

struct wd_http_req {
    const char *method; /* GET, HEAD, PUT, POST, DELETE */
    const char *url;    /* complete and encoded; may hold a SAS: never logged */
    /* Called before every attempt: fills `out` with every request header,
     * signed for this attempt (a retry gets a fresh date). */
    int (*prepare)(void *ctx, const wd_http_req *req, wd_http_headers *out);
    void *ctx;
    /* The request body (PUT, POST), sent with Content-Length: body_len,
     * never chunked (AWS refuses chunked uploads). */
    const uint8_t *body;
    size_t body_len;
    /* A 2xx response body goes into out[0..out_cap) when out is set (range
     * reads; more is an error), else it is kept in resp->body up to
     * body_max bytes. Error bodies always go to resp->body (up to 64 KiB). */
    uint8_t *out;
    size_t out_cap;
    size_t body_max;
    /* Streaming (instead of out / body_max): a 2xx body is handed to
     * on_data(data_ctx, ...) as it arrives; a non-zero return stops the
     * request and wd_http_do returns it. Once bytes were handed over, a
     * failed attempt is not retried here (the bytes cannot be taken back):
     * wd_http_do returns 0 with resp->partial set and resp->out_len the
     * bytes delivered, and the caller resumes with a Range from there. */
    int (*on_data)(void *ctx, long status, const uint8_t *data, size_t len);
    void *data_ctx;
    /* When not NULL: set to non-zero (by another thread), the request stops
     * as soon as it can (between attempts, during a transfer or a backoff
     * delay) and wd_http_do returns WALDEN_ERROR. */
    const int *cancel;
    /* Optional: a 2xx response that still failed and may be retried (S3
     * answers some errors with 200 and an <Error> body). */
    bool (*transient)(const wd_http_resp *resp);
    const char *what; /* names the request's object in messages */
};

struct wd_http_resp {
    long status;
    char *body; /* NUL-terminated, malloc'ed; NULL when empty */
    size_t len;
    size_t out_len; /* bytes written to req->out, or handed to req->on_data */
    bool partial;   /* on_data: the transfer broke after out_len bytes (resume) */
    char *headers;  /* the raw header block of the final response */
    size_t headers_len;
    int attempts;
};

/* Runs a request, retrying with exponential backoff and jitter on
 * connection errors, timeouts, 5xx, 408 and 429 within the client's retry
 * time. Returns 0 once a final response came (any status: the caller
 * interprets it; 401 and 403 are never retried), or WALDEN_ENET naming
 * `what` when the retries ran out. Free resp with wd_http_resp_clear. */
int wd_http_do(wd_http *h, const wd_http_req *req, wd_http_resp *resp);
void wd_http_resp_clear(wd_http_resp *resp);
/* A response header's value (trimmed, malloc'ed), or NULL when absent. */
char *wd_http_resp_header(const wd_http_resp *resp, const char *name);

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
 * the signed headers (any order, lowercase names, values as sent).
 * `amz_date` is the x-amz-date value. When `creq` is not NULL the canonical
 * request is returned there too (malloc'ed; tests). */
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

/* ---- XML ---- */

/* Called for each entry of a listing: `key` is the full object key (or the
 * common prefix, with its trailing '/'), XML entities decoded. */
/* mtime_ms: the object's LastModified (S3) or Last-Modified (Azure), Unix
 * ms; 0 when absent or unreadable (a listing does not fail for it). */
typedef int (*wd_xml_list_cb)(const char *key, bool is_prefix, uint64_t size, int64_t mtime_ms,
                              void *ctx);

/* ListObjectsV2 (S3): entries, then *next = NextContinuationToken when
 * IsTruncated (malloc'ed) or NULL. WALDEN_ECORRUPT on a malformed body. */
int wd_xml_parse_s3_list(const char *xml, size_t len, wd_xml_list_cb cb, void *ctx, char **next);
/* List Blobs (Azure): Blob/Name + Properties/Content-Length, BlobPrefix/Name,
 * *next = NextMarker when not empty. */
int wd_xml_parse_azure_list(const char *xml, size_t len, wd_xml_list_cb cb, void *ctx, char **next);
/* The decoded text of the first <tag>...</tag> in xml (malloc'ed), or NULL. */
char *wd_xml_value(const char *xml, size_t len, const char *tag);

/* ---- the generic object store ---- */

typedef struct wd_objstore wd_objstore;

/* A streaming read's callback and results (wd_objstore_ops.get_stream). */
typedef struct wd_objstore_stream {
    int (*on_data)(void *ctx, long status, const uint8_t *data, size_t len);
    void *ctx;
    const int *cancel;
    uint64_t total;
    size_t got;
    bool partial;
} wd_objstore_stream;

/* What a driver implements. Keys are full object keys (prefix included),
 * raw (the driver encodes them). Every function sets the last error. */
typedef struct wd_objstore_ops {
    /* One request: the whole object. */
    int (*put)(wd_objstore *os, const char *key, const uint8_t *data, size_t len);
    /* Multipart (S3) or block list (Azure). *upload may stay NULL. */
    int (*mp_begin)(wd_objstore *os, const char *key, char **upload);
    /* Part `number` (1-based); *etag is what complete needs (malloc'ed). */
    int (*mp_part)(wd_objstore *os, const char *key, const char *upload, int number,
                   const uint8_t *data, size_t len, char **etag);
    int (*mp_complete)(wd_objstore *os, const char *key, const char *upload, char **etags,
                       int nparts);
    void (*mp_abort)(wd_objstore *os, const char *key, const char *upload);
    /* Reads from `offset` up to cap bytes (cap > 0) into buf. *total is the
     * object's size. With etag[0] set the object must still have that ETag
     * (WALDEN_EMISMATCH otherwise); else etag is filled in. WALDEN_ENOTFOUND
     * when missing. An offset at or past the end (416) reads nothing, with
     * *total the size when the server tells it, else `offset`. */
    int (*get)(wd_objstore *os, const char *key, uint64_t offset, uint8_t *buf, size_t cap,
               size_t *n, uint64_t *total, char etag[128]);
    /* One streaming GET of [offset, end) (end UINT64_MAX: to the object's
     * end; offset 0 and no end: no Range header), the body handed to
     * st->on_data as it arrives; etag as in get. Fills st->total (the
     * object's size), st->got (bytes handed over) and st->partial (the
     * transfer broke: resume at offset + got). 416 hands over nothing,
     * st->total as in get. */
    int (*get_stream)(wd_objstore *os, const char *key, uint64_t offset, uint64_t end,
                      struct wd_objstore_stream *st, char etag[128]);
    int (*head)(wd_objstore *os, const char *key, bool *exists);
    int (*del)(wd_objstore *os, const char *key); /* missing is fine */
    /* Optional (NULL: one del per key): removes n keys, at most
     * WD_OBJSTORE_DELETE_BATCH, in one request; missing keys are fine. */
    int (*del_many)(wd_objstore *os, const char *const *keys, size_t n);
    int (*copy)(wd_objstore *os, const char *src, const char *dst);
    /* Lists keys under prefix (which ends with '/' or is empty), one level. */
    int (*list)(wd_objstore *os, const char *prefix, wd_xml_list_cb cb, void *ctx);
    /* Creates the bucket or container when it does not exist. */
    int (*create)(wd_objstore *os);
    void (*free)(wd_objstore *os);
} wd_objstore_ops;

struct wd_objstore {
    wd_storage base;
    const wd_objstore_ops *ops;
    wd_http *http;
    char *prefix;         /* "" or "a/b" without slashes at either end */
    size_t part_size;     /* first parts of multipart uploads; also the single-PUT limit */
    int max_parts;        /* the store's most parts (blocks) per object */
    size_t max_part_size; /* the largest part (block) walden sends */
    uint64_t max_object;  /* the store's largest object; 0: what the parts hold */
};

/* Default part size: a 16 MiB WAL segment, even stored uncompressed and
 * encrypted, fits into one PUT, so archive-push never needs multipart. */
#define WD_OBJSTORE_PART_SIZE (32u * 1024 * 1024)
/* Retries (see wd_http_do): an attempt that moved this many bytes before
 * it failed does not count against net-retry-time, up to
 * WD_HTTP_PROGRESS_RETRIES such attempts per request. */
#define WD_HTTP_PROGRESS (1u << 20)
#define WD_HTTP_PROGRESS_RETRIES 3
/* Keys per batched delete (S3 DeleteObjects takes at most 1000). */
#define WD_OBJSTORE_DELETE_BATCH 1000u
/* Range reads: bytes fetched per request. */
#define WD_OBJSTORE_READ_CHUNK (8u * 1024 * 1024)
/* Whole-object reads: the most a source buffers ahead of its reader (the
 * buffer starts at 64 KiB and doubles while the reader lags). */
#define WD_OBJSTORE_STREAM_BUF (4u * 1024 * 1024)
/* Multipart uploads: parts uploaded at the same time by one sink while its
 * parts have the first part size (fewer once parts grow, see
 * wd_objstore_parts_in_flight). */
#ifndef WD_OBJSTORE_PARTS_IN_FLIGHT /* -D for experiments */
#define WD_OBJSTORE_PARTS_IN_FLIGHT 4
#endif
/* The stores' limits: S3 takes 10,000 parts of at most 5 GiB (an object of
 * at most 5 TiB; walden's parts stop growing at 4 GiB, which suffices),
 * Azure 50,000 blocks of at most 4,000 MiB. */
#define WD_S3_MAX_PARTS 10000
#define WD_S3_MAX_PART_SIZE ((size_t)4 << 30)
#define WD_S3_MAX_OBJECT ((uint64_t)5 << 40)
_Static_assert(SIZE_MAX > 0xFFFFFFFFu, "object-store parts of 4 GiB need a 64-bit size_t");
#define WD_AZURE_MAX_BLOCKS 50000
#define WD_AZURE_MAX_BLOCK_SIZE ((size_t)4000 << 20)

/* The size of part `index` (0-based) of a multipart upload. A stream's
 * length is unknown when its upload starts, so parts grow as it goes: the
 * first tenth of the store's part count has part_size each, and every
 * further tenth twice the size of the one before, up to max_part_size. With
 * 32 MiB first parts an S3 object reaches 5 TiB (parts of 4 GiB from part
 * 7,001 on) and an Azure blob about 77 TiB, while objects up to 31 GiB
 * (S3) or 156 GiB (Azure) keep 32 MiB parts. */
size_t wd_objstore_part_size(const wd_objstore *os, int index);
/* How many parts of `size` a sink uploads at once: WD_OBJSTORE_PARTS_IN_FLIGHT
 * while parts have the first size, then fewer, so that the parts in flight
 * hold about as much as at first, at least one. A sink holds that many
 * part buffers plus the one it fills: with 32 MiB first parts 160 MiB, 192
 * MiB for 64 MiB parts, then twice the part size (2 GiB for the 1 GiB parts
 * of S3 objects beyond 968 GiB, 8 GiB at most). */
int wd_objstore_parts_in_flight(const wd_objstore *os, size_t size);

/* Fills in the generic storage table: to call from a driver's constructor
 * once ops, http, prefix and location are set. */
void wd_objstore_init(wd_objstore *os);
/* Frees what wd_objstore_init's users share (http, prefix, location). */
void wd_objstore_free_base(wd_objstore *os);

/* Settings of the object-store drivers, from the configuration. */
typedef struct wd_objstore_cfg {
    const char *location; /* "s3://bucket/prefix" or "azure://container/prefix" */
    /* s3 */
    const char *s3_endpoint, *s3_region, *s3_uri_style, *s3_key, *s3_secret, *s3_token;
    /* azure */
    const char *az_account, *az_key, *az_sas, *az_endpoint;
    wd_http_opts http;
    size_t part_size; /* 0: WD_OBJSTORE_PART_SIZE */
    int max_parts;    /* 0: the store's own limit (s3-max-parts for S3) */
} wd_objstore_cfg;

/* Splits "scheme://host[:port][/path]" (http or https) into malloc'ed
 * parts; the path keeps no trailing '/'. WALDEN_EINVAL naming `option`. */
int wd_objstore_parse_endpoint(const char *url, const char *option, char **scheme, char **host,
                               char **path);
/* "s3://bucket/a/b/" with scheme_len 5 -> "bucket", "a/b". */
int wd_objstore_parse_location(const char *loc, size_t scheme_len, char **container, char **prefix);

int wd_storage_s3_new(wd_storage **out, const wd_objstore_cfg *cfg, bool create);
int wd_storage_azure_new(wd_storage **out, const wd_objstore_cfg *cfg, bool create);

#endif
