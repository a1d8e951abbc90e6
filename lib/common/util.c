/*
 * util.c - small string, number, path and file helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

void wd_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int wd_hex_decode(const char *in, uint8_t *out, size_t len)
{
    if (strlen(in) != 2 * len)
        return wd_error_set(WALDEN_EINVAL, "expected %zu hex digits", 2 * len);
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return wd_error_set(WALDEN_EINVAL, "invalid hex digit");
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

char *wd_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    if (la == 0)
        return wd_strdup(b);
    if (*b == '\0')
        return wd_strndup(a, la);
    return wd_asprintf("%.*s%s%s", (int)la, a, a[la - 1] == '/' ? "" : "/", b);
}

bool wd_str_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool wd_str_ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

int wd_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!*s)
        return wd_error_set(WALDEN_EINVAL, "empty number");
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s)
        return wd_error_set(WALDEN_EINVAL, "'%s' is not a whole number", s);
    if (v < min || v > max)
        return wd_error_set(WALDEN_EINVAL, "%s is out of range (%" PRId64 " to %" PRId64 ")", s,
                            min, max);
    *out = v;
    return 0;
}

int wd_parse_uint64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return wd_error_set(WALDEN_EINVAL, "'%s' is not an unsigned number", s);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return wd_error_set(WALDEN_EINVAL, "'%s' is not an unsigned number", s);
    *out = v;
    return 0;
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

int wd_kv_parse(const char *text, size_t len, const char *origin, wd_kv_cb cb, void *ctx)
{
    /* text is parsed as C strings: a NUL byte would end it early, and the
     * copy would be shorter than len (it is wiped with its full size) */
    if (memchr(text, '\0', len))
        return wd_error_set(WALDEN_EINVAL, "%s: contains a NUL byte (a damaged file?)", origin);
    char *copy = wd_malloc(len + 1);
    if (!copy)
        return WALDEN_ENOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    int rc = 0, line = 0;
    char *p = copy;
    while (*p && rc == 0) {
        line++;
        char *nl = strchr(p, '\n');
        char *eol = nl ? nl : p + strlen(p);
        char *next = nl ? nl + 1 : eol;
        char *s = trim(p, eol);
        if (*s && *s != '#') {
            char *eq = strchr(s, '=');
            if (!eq) {
                rc = wd_error_set(WALDEN_EINVAL, "%s:%d: expected 'name = value'", origin, line);
                break;
            }
            char *name = trim(s, eq);
            char *value = trim(eq + 1, eq + 1 + strlen(eq + 1));
            size_t vl = strlen(value);
            if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
                value[vl - 1] = '\0';
                value++;
            }
            if (!*name)
                rc = wd_error_set(WALDEN_EINVAL, "%s:%d: missing option name", origin, line);
            else
                rc = cb(name, value, line, ctx);
        }
        p = next;
    }
    wd_free_secret(copy, len + 1);
    return rc;
}

int wd_file_read_all(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot open '%s' for reading", path);
    size_t cap = 4096, used = 0;
    char *buf = wd_malloc(cap + 1);
    int rc = 0;
    if (!buf) {
        close(fd);
        return WALDEN_ENOMEM;
    }
    for (;;) {
        if (used == cap) {
            if (cap >= max) {
                rc = wd_error_set(WALDEN_EINVAL, "'%s' is larger than %zu bytes", path, max);
                break;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *nb = wd_realloc(buf, cap + 1);
            if (!nb) {
                rc = WALDEN_ENOMEM;
                break;
            }
            buf = nb;
        }
        ssize_t n = read(fd, buf + used, cap - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = wd_error_set_errno(errno, "cannot read '%s'", path);
            break;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    if (rc) {
        wd_free(buf);
        return rc;
    }
    buf[used] = '\0';
    *out = buf;
    if (len)
        *len = used;
    return 0;
}

bool wd_path_is_contained(const char *path)
{
    if (!*path || *path == '/')
        return false;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += n;
        if (*p == '/')
            p++;
    }
    return true;
}

int wd_mkdir_p(char *path, unsigned mode)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0
                                   : wd_error_set(WALDEN_EINVAL, "'%s' is not a directory", path);
    char *slash = strrchr(path, '/');
    if (slash && slash != path) {
        *slash = '\0';
        int rc = wd_mkdir_p(path, mode);
        *slash = '/';
        if (rc)
            return rc;
    }
    if (mkdir(path, mode) == 0) {
        /* the mode asked for, whatever the umask */
        if (chmod(path, mode) != 0)
            return wd_error_set_errno(errno, "cannot set the mode of directory '%s'", path);
    } else if (errno != EEXIST) {
        return wd_error_set_errno(errno, "cannot create directory '%s'", path);
    }
    return 0;
}
