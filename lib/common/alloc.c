/*
 * alloc.c - the one allocation wrapper of libwalden.
 *
 * Every allocation goes through here so that tests can make the n-th one
 * fail (wd_alloc_fail_after) and check that out-of-memory is reported, not
 * crashed on. A failed allocation sets WALDEN_ENOMEM as the last error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <openssl/crypto.h>

#include "common.h"

static _Thread_local long fail_after = -1;

static bool alloc_should_fail(void)
{
    if (fail_after < 0)
        return false;
    if (fail_after == 0)
        return true;
    fail_after--;
    return false;
}

void wd_alloc_fail_after(long n)
{
    fail_after = n;
}

static void *oom(size_t size)
{
    wd_error_set(WALDEN_ENOMEM, "out of memory allocating %zu bytes", size);
    return NULL;
}

void *wd_malloc(size_t size)
{
    void *p = alloc_should_fail() ? NULL : malloc(size ? size : 1);
    return p ? p : oom(size);
}

void *wd_calloc(size_t n, size_t size)
{
    void *p = alloc_should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
    return p ? p : oom(n * size);
}

void *wd_realloc(void *old, size_t size)
{
    void *p = alloc_should_fail() ? NULL : realloc(old, size ? size : 1);
    return p ? p : oom(size);
}

char *wd_strdup(const char *s)
{
    return wd_strndup(s, strlen(s));
}

char *wd_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = wd_malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

void wd_free(void *p)
{
    free(p);
}

void wd_secret_held(void)
{
    /* not restored when the secret is wiped: copies may linger (OpenSSL's,
     * libcurl's), and the children are not concerned: execve makes a
     * program dumpable again (pg_dump, the drill's server) */
    if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        wd_log_warn("cannot keep secrets out of core dumps: prctl: %s", strerror(errno));
}

void wd_free_secret(void *p, size_t size)
{
    if (p)
        OPENSSL_cleanse(p, size);
    free(p);
}

char *wd_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        wd_error_set(WALDEN_ERROR, "cannot format string");
        return NULL;
    }
    char *p = wd_malloc((size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *wd_array_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first)
{
    if (n < *cap)
        return v;
    size_t c = *cap ? *cap * 2 : first;
    void *nv = wd_realloc(v, c * elem);
    if (nv)
        *cap = c;
    return nv;
}
