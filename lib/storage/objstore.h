/*
 * objstore.h - the object stores under the storage contract: what a driver
 * (s3.c, azure.c) implements (wd_objstore_ops: a handful of requests), the
 * generic storage built on it (objstore.c: streaming sinks with multipart,
 * range-read and streaming sources, listings), the stores' limits, and the
 * drivers' settings and constructors. Endpoints and locations are parsed
 * once for both drivers (endpoint.c).
 */
#ifndef WD_STORAGE_OBJSTORE_H
#define WD_STORAGE_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/http.h"
#include "storage/storage.h"
#include "storage/xml.h"

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
