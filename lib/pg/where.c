/*
 * where.c - where the server listens (see pg.h): the configured pghost and
 * pgport, else what the running server wrote into PGDATA/postmaster.pid.
 *
 * postmaster.pid is read as local bytes that may be anything (a server
 * that is writing it, a stale or damaged file): at most 8 KiB, every line
 * bounded, the port a number from 1 to 65535. A file that does not parse
 * is as if it were missing: libpq's defaults apply, and its error names
 * the socket it tried.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "pg/pg.h"

#define PIDFILE_MAX 8192

/* Line `n` (1-based) of text: its start and length; false when missing. */
static bool line_of(const char *text, size_t len, int n, const char **start, size_t *out)
{
    size_t off = 0;
    for (int i = 1; off <= len; i++) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t l = nl ? (size_t)(nl - (text + off)) : len - off;
        if (i == n) {
            if (!nl && l == 0)
                return false; /* nothing after the last newline */
            *start = text + off;
            *out = l;
            return true;
        }
        if (!nl)
            return false;
        off += l + 1;
    }
    return false;
}

int wd_pg_pidfile_parse(const char *text, size_t len, wd_pg_pidfile *out)
{
    memset(out, 0, sizeof(*out));
    if (len > PIDFILE_MAX || memchr(text, '\0', len))
        return WALDEN_EINVAL;
    const char *s;
    size_t n;
    /* line 1: the postmaster's pid (negative for a single-user backend,
     * which listens nowhere) */
    if (!line_of(text, len, 1, &s, &n) || n == 0 || n > 10 || strspn(s, "0123456789") != n)
        return WALDEN_EINVAL;
    /* line 4: the port */
    if (!line_of(text, len, 4, &s, &n) || n == 0 || n > 5 || strspn(s, "0123456789") != n)
        return WALDEN_EINVAL;
    unsigned port = 0;
    for (size_t i = 0; i < n; i++)
        port = port * 10 + (unsigned)(s[i] - '0');
    if (port < 1 || port > 65535)
        return WALDEN_EINVAL;
    out->port = port;
    /* line 5: the first unix socket directory ("" when none); line 6: the
     * first listen address ("" when none, "*" for all) */
    if (line_of(text, len, 5, &s, &n)) {
        if (n >= sizeof(out->socket_dir))
            return WALDEN_EINVAL;
        memcpy(out->socket_dir, s, n);
    }
    if (line_of(text, len, 6, &s, &n)) {
        if (n >= sizeof(out->listen))
            return WALDEN_EINVAL;
        memcpy(out->listen, s, n);
    }
    return 0;
}

/* Reads PGDATA/postmaster.pid; false when it is missing or unreadable. */
static bool pidfile_read(const char *pgdata, wd_pg_pidfile *out)
{
    char *path = wd_path_join(pgdata, "postmaster.pid");
    if (!path)
        return false;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    wd_free(path);
    if (fd < 0)
        return false;
    char buf[PIDFILE_MAX + 1];
    size_t len = 0;
    while (len < sizeof(buf)) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    return wd_pg_pidfile_parse(buf, len, out) == 0;
}

/* The option's value, or NULL when it is not set or empty. */
static const char *opt(const walden_config *cfg, const char *name)
{
    const char *v = walden_config_get(cfg, name);
    return v && *v ? v : NULL;
}

static bool env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

void wd_pg_where_get(const walden_config *cfg, wd_pg_where *w)
{
    memset(w, 0, sizeof(*w));
    w->host = opt(cfg, "pghost");
    w->port = opt(cfg, "pgport");
    w->user = opt(cfg, "pguser");
    w->dbname = opt(cfg, "pgdatabase");
    const char *pgdata = opt(cfg, "pgdata");
    bool want_host = !w->host && !env_set("PGHOST") && !env_set("PGHOSTADDR");
    bool want_port = !w->port && !env_set("PGPORT");
    wd_pg_pidfile pf;
    if (!pgdata || (!want_host && !want_port) || !pidfile_read(pgdata, &pf))
        return;
    if (want_port) {
        snprintf(w->port_buf, sizeof(w->port_buf), "%u", pf.port);
        w->port = w->port_buf;
    }
    if (want_host) {
        const char *h = NULL;
        if (*pf.socket_dir)
            h = pf.socket_dir;
        else if (strcmp(pf.listen, "*") == 0 || strcmp(pf.listen, "0.0.0.0") == 0)
            h = "127.0.0.1";
        else if (strcmp(pf.listen, "::") == 0)
            h = "::1";
        else if (*pf.listen)
            h = pf.listen;
        if (h) {
            snprintf(w->host_buf, sizeof(w->host_buf), "%s", h);
            w->host = w->host_buf;
        }
    }
    wd_log_debug("connecting as '%s/postmaster.pid' says: host %s, port %s", pgdata,
                 w->host ? w->host : "(libpq's default)", w->port ? w->port : "(libpq's default)");
}
