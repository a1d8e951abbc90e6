/*
 * xml.c - the small XML reader of the object-store drivers (see xml.h):
 * enough for the documents S3 and Azure answer with (listings, errors,
 * multipart upload ids), which never nest an element in itself. Bytes
 * come from the network: every read is bounded by the length given, and a
 * malformed document is WALDEN_ECORRUPT, never a crash (fuzz_s3_list,
 * fuzz_azure_list).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "storage/xml.h"

/* Finds the next element <tag> (not <tagX>) in [p, end); returns its
 * content's bounds and the position after its end tag, or NULL. An empty
 * element <tag/> has empty content. */
static const char *xml_next(const char *p, const char *end, const char *tag, const char **val,
                            size_t *vlen)
{
    size_t tl = strlen(tag);
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt || (size_t)(end - lt) < tl + 2)
            return NULL;
        p = lt + 1;
        if (strncmp(p, tag, tl) != 0)
            continue;
        char after = p[tl];
        if (after != '>' && after != ' ' && after != '/')
            continue;
        const char *gt = memchr(p, '>', (size_t)(end - p));
        if (!gt)
            return NULL;
        if (gt[-1] == '/') {
            *val = gt + 1;
            *vlen = 0;
            return gt + 1;
        }
        const char *start = gt + 1, *q = start;
        /* the matching end tag (these documents do not nest a tag in itself) */
        while (q < end) {
            const char *c = memchr(q, '<', (size_t)(end - q));
            if (!c || (size_t)(end - c) < tl + 3)
                return NULL;
            if (c[1] == '/' && strncmp(c + 2, tag, tl) == 0 && c[2 + tl] == '>') {
                *val = start;
                *vlen = (size_t)(c - start);
                return c + tl + 3;
            }
            q = c + 1;
        }
        return NULL;
    }
    return NULL;
}

/* Decodes entities; NULL when out of memory or on a bad entity. */
static char *xml_text(const char *s, size_t n)
{
    char *out = wd_malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '&') {
            *o++ = s[i];
            continue;
        }
        const char *semi = memchr(s + i, ';', n - i);
        if (!semi)
            goto bad;
        size_t el = (size_t)(semi - (s + i)) + 1;
        const char *e = s + i;
        if (el == 5 && memcmp(e, "&amp;", 5) == 0)
            *o++ = '&';
        else if (el == 4 && memcmp(e, "&lt;", 4) == 0)
            *o++ = '<';
        else if (el == 4 && memcmp(e, "&gt;", 4) == 0)
            *o++ = '>';
        else if (el == 6 && memcmp(e, "&quot;", 6) == 0)
            *o++ = '"';
        else if (el == 6 && memcmp(e, "&apos;", 6) == 0)
            *o++ = '\'';
        else if (el > 3 && e[1] == '#') {
            char num[16];
            if (el - 3 >= sizeof(num))
                goto bad;
            memcpy(num, e + 2, el - 3);
            num[el - 3] = '\0';
            char *endp;
            unsigned long cp =
                num[0] == 'x' ? strtoul(num + 1, &endp, 16) : strtoul(num, &endp, 10);
            if (*endp || cp == 0 || cp > 0x10FFFF)
                goto bad;
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xC0 | (cp >> 6));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xE0 | (cp >> 12));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xF0 | (cp >> 18));
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
        } else {
            goto bad;
        }
        i += el - 1;
    }
    *o = '\0';
    return out;
bad:
    wd_free(out);
    return NULL;
}

char *wd_xml_value(const char *xml, size_t len, const char *tag)
{
    const char *v;
    size_t vl;
    if (!xml || !xml_next(xml, xml + len, tag, &v, &vl))
        return NULL;
    return xml_text(v, vl);
}

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof(buf))
        return WALDEN_ECORRUPT;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return wd_parse_uint64(buf, out) ? WALDEN_ECORRUPT : 0;
}

/* Walks the entries of a listing in document order: `obj` elements (with
 * `name_tag` and `size_tag` inside) and `pre` elements (with `pre_name`). */
/* "2026-11-29T04:23:00.000Z" (S3) or "Sun, 29 Nov 2026 04:23:00 GMT"
 * (Azure): Unix ms, 0 when it is neither. */
static int64_t parse_time(const char *v, size_t len)
{
    char buf[64];
    if (len >= sizeof(buf))
        return 0;
    memcpy(buf, v, len);
    buf[len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(buf, "%Y-%m-%dT%H:%M:%S", &tm);
    int ms = 0;
    if (end && *end == '.') {
        int digits = 0;
        for (end++; *end >= '0' && *end <= '9'; end++)
            if (digits++ < 3)
                ms = ms * 10 + (*end - '0');
        while (digits > 0 && digits < 3)
            ms *= 10, digits++;
    }
    if (!end || strcmp(end, "Z") != 0) {
        memset(&tm, 0, sizeof(tm));
        ms = 0;
        end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (!end || *end)
            return 0;
    }
    time_t t = timegm(&tm);
    return t < 0 ? 0 : (int64_t)t * 1000 + ms;
}

static int parse_list(const char *xml, size_t len, const char *obj, const char *name_tag,
                      const char *size_tag, const char *time_tag, const char *pre,
                      const char *pre_name, wd_xml_list_cb cb, void *ctx)
{
    const char *p = xml, *end = xml + len;
    for (;;) {
        const char *ov = NULL, *pv = NULL, *oafter, *pafter;
        size_t ol = 0, pl = 0;
        oafter = xml_next(p, end, obj, &ov, &ol);
        pafter = xml_next(p, end, pre, &pv, &pl);
        if (!oafter && !pafter)
            return 0;
        bool is_obj = oafter && (!pafter || ov < pv);
        const char *v = is_obj ? ov : pv;
        size_t vl = is_obj ? ol : pl;
        const char *nv, *sv;
        size_t nl, sl;
        if (!xml_next(v, v + vl, is_obj ? name_tag : pre_name, &nv, &nl))
            return wd_error_set(WALDEN_ECORRUPT, "listing entry without a name");
        uint64_t size = 0;
        int64_t mtime = 0;
        if (is_obj) {
            if (!xml_next(v, v + vl, size_tag, &sv, &sl) || parse_u64(sv, sl, &size))
                return wd_error_set(WALDEN_ECORRUPT, "listing entry without a valid size");
            if (xml_next(v, v + vl, time_tag, &sv, &sl))
                mtime = parse_time(sv, sl);
        }
        char *name = xml_text(nv, nl);
        if (!name)
            return wd_error_set(WALDEN_ECORRUPT, "listing entry with a bad name");
        int rc = cb(name, !is_obj, size, mtime, ctx);
        wd_free(name);
        if (rc)
            return rc;
        p = is_obj ? oafter : pafter;
    }
}

int wd_xml_parse_s3_list(const char *xml, size_t len, wd_xml_list_cb cb, void *ctx, char **next)
{
    *next = NULL;
    if (!xml || !strstr(xml, "<ListBucketResult"))
        return wd_error_set(WALDEN_ECORRUPT, "not a ListObjectsV2 response");
    int rc = parse_list(xml, len, "Contents", "Key", "Size", "LastModified", "CommonPrefixes",
                        "Prefix", cb, ctx);
    if (rc)
        return rc;
    char *trunc = wd_xml_value(xml, len, "IsTruncated");
    bool truncated = trunc && strcmp(trunc, "true") == 0;
    wd_free(trunc);
    if (truncated) {
        *next = wd_xml_value(xml, len, "NextContinuationToken");
        if (!*next || !**next) {
            wd_free(*next);
            *next = NULL;
            return wd_error_set(WALDEN_ECORRUPT, "truncated listing without a continuation token");
        }
    }
    return 0;
}

int wd_xml_parse_azure_list(const char *xml, size_t len, wd_xml_list_cb cb, void *ctx, char **next)
{
    *next = NULL;
    if (!xml || !strstr(xml, "<EnumerationResults"))
        return wd_error_set(WALDEN_ECORRUPT, "not a List Blobs response");
    /* the entries live in <Blobs>: a <Blob> inside <Blobs> */
    const char *bv;
    size_t bl;
    if (xml_next(xml, xml + len, "Blobs", &bv, &bl)) {
        int rc = parse_list(bv, bl, "Blob", "Name", "Content-Length", "Last-Modified", "BlobPrefix",
                            "Name", cb, ctx);
        if (rc)
            return rc;
    }
    char *m = wd_xml_value(xml, len, "NextMarker");
    if (m && *m)
        *next = m;
    else
        wd_free(m);
    return 0;
}
