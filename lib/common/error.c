/*
 * error.c - the per-thread last error.
 *
 * Each thread has one fixed buffer, so setting an error never allocates and
 * out-of-memory can be reported. walden_error_last() never returns NULL.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "common.h"

#define WD_ERROR_MAX 1024

static _Thread_local char err_message[WD_ERROR_MAX];
static _Thread_local walden_error err_last = {0, ""};

static void error_vset(int code, const char *suffix, const char *fmt, va_list ap)
{
    int n = vsnprintf(err_message, sizeof(err_message), fmt, ap);
    if (n < 0)
        n = 0;
    /* append ": suffix", cut to fit (the message is truncated, never overrun) */
    size_t used = (size_t)n < sizeof(err_message) ? (size_t)n : sizeof(err_message) - 1;
    if (suffix && used + 2 < sizeof(err_message)) {
        size_t room = sizeof(err_message) - used - 3, len = strlen(suffix);
        memcpy(err_message + used, ": ", 2);
        memcpy(err_message + used + 2, suffix, len < room ? len : room);
        err_message[used + 2 + (len < room ? len : room)] = '\0';
    }
    /* one line: PostgreSQL logs our stderr line by line */
    for (char *p = err_message; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    err_last.code = code;
    err_last.message = err_message;
}

int wd_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int wd_error_wrap(int code, const char *fmt, ...)
{
    char previous[WD_ERROR_MAX];
    snprintf(previous, sizeof(previous), "%s", err_last.message ? err_last.message : "");
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, previous[0] ? previous : NULL, fmt, ap);
    va_end(ap);
    return code;
}

int wd_errno_code(int errnum)
{
    switch (errnum) {
    case ENOENT:
    case ENOTDIR:
        return WALDEN_ENOTFOUND;
    case ENOSPC:
    case EDQUOT:
        return WALDEN_ENOSPC;
    case EACCES:
    case EPERM:
    case EROFS:
        return WALDEN_EPERM;
    case ENOMEM:
        return WALDEN_ENOMEM;
    case EEXIST:
        return WALDEN_EEXISTS;
    default:
        return WALDEN_EIO;
    }
}

int wd_error_set_errno(int errnum, const char *fmt, ...)
{
    int code = wd_errno_code(errnum);
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, strerror(errnum), fmt, ap);
    va_end(ap);
    return code;
}

int wd_error_set_openssl(int code, const char *fmt, ...)
{
    char buf[256] = "unknown OpenSSL error";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    va_list ap;
    va_start(ap, fmt);
    error_vset(code, buf, fmt, ap);
    va_end(ap);
    return code;
}

int wd_result_start(void *s, unsigned int *version, size_t size, unsigned int known,
                    const char *type)
{
    unsigned int v = *version;
    if (v == 0 || v > known)
        return wd_error_set(WALDEN_EINVAL,
                            "%s has version %u, this libwalden knows versions 1 to %u "
                            "(initialize it with its _INIT macro)",
                            type, v, known);
    memset(s, 0, size);
    *version = v;
    return 0;
}

int wd_callback_rc(int rc)
{
    if (rc > 0)
        return wd_error_set(WALDEN_EUSER, "stopped by the caller's callback (it returned %d)", rc);
    return rc;
}

const walden_error *walden_error_last(void)
{
    if (!err_last.message)
        err_last.message = "";
    return &err_last;
}

void walden_error_clear(void)
{
    err_message[0] = '\0';
    err_last.code = 0;
    err_last.message = err_message;
}

const char *walden_error_name(int code)
{
    switch (code) {
    case WALDEN_OK:
        return "ok";
    case WALDEN_ERROR:
        return "error";
    case WALDEN_ENOMEM:
        return "out-of-memory";
    case WALDEN_EINVAL:
        return "invalid";
    case WALDEN_ENOTFOUND:
        return "not-found";
    case WALDEN_EEXISTS:
        return "exists";
    case WALDEN_EIO:
        return "io";
    case WALDEN_ECORRUPT:
        return "corrupt";
    case WALDEN_EKEY:
        return "key";
    case WALDEN_EMISMATCH:
        return "mismatch";
    case WALDEN_EPG:
        return "postgres";
    case WALDEN_EVERSION:
        return "version";
    case WALDEN_ENOSPC:
        return "no-space";
    case WALDEN_EPERM:
        return "permission";
    case WALDEN_ELOCKED:
        return "locked";
    case WALDEN_ENET:
        return "network";
    case WALDEN_ETIMEOUT:
        return "timeout";
    case WALDEN_EAUTH:
        return "authentication";
    case WALDEN_EUSER:
        return "callback";
    default:
        return "unknown";
    }
}
