/*
 * buf.c - a growing text buffer (see common.h): request bodies, reports.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "common/common.h"

void wd_buf_printf(wd_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 1024;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *s = wd_realloc(b->s, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

void wd_buf_json_str(wd_buf *b, const char *s)
{
    if (!s) {
        wd_buf_printf(b, "null");
        return;
    }
    wd_buf_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            wd_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            wd_buf_printf(b, "\\n");
        else if (*p == '\t')
            wd_buf_printf(b, "\\t");
        else if (*p < 0x20)
            wd_buf_printf(b, "\\u%04x", *p);
        else
            wd_buf_printf(b, "%c", *p);
    }
    wd_buf_printf(b, "\"");
}

void wd_buf_json_time(wd_buf *b, int64_t ms)
{
    if (ms <= 0) {
        wd_buf_printf(b, "null");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char text[40];
    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
    wd_buf_printf(b, "\"%s.%03dZ\"", text, (int)(ms % 1000));
}

char *wd_buf_take(wd_buf *b)
{
    if (b->failed || !b->s) {
        wd_free(b->s);
        b->s = NULL;
        wd_error_set(WALDEN_ENOMEM, "out of memory");
        return NULL;
    }
    char *s = b->s;
    b->s = NULL;
    return s;
}

void wd_buf_prom_label(wd_buf *b, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            wd_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            wd_buf_printf(b, "\\n");
        else
            wd_buf_printf(b, "%c", *p);
    }
}
