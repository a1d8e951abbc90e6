/*
 * xml.h - the small XML reader of the object-store drivers: S3's and
 * Azure's listings, and single values of their other answers (error codes
 * and messages, upload ids). The input is what a server sent: untrusted,
 * bounded by its length (xml.c).
 */
#ifndef WD_STORAGE_XML_H
#define WD_STORAGE_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
