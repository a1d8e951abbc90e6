/*
 * recovery.c - recovery targets and settings (see recovery.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "io/stream.h"
#include "pg/pg.h"
#include "restore/recovery.h"

int wd_target_from_config(const walden_config *cfg, wd_target *t)
{
    memset(t, 0, sizeof(*t));
    static const struct {
        const char *option;
        wd_target_kind kind;
    } kinds[] = {{"target-time", WD_TARGET_TIME},
                 {"target-lsn", WD_TARGET_LSN},
                 {"target-xid", WD_TARGET_XID},
                 {"target-name", WD_TARGET_NAME},
                 {"target", WD_TARGET_IMMEDIATE}};
    const char *given = NULL;
    for (size_t i = 0; i < WD_ARRAY_LEN(kinds); i++) {
        const char *v = walden_config_get(cfg, kinds[i].option);
        if (!v || !*v)
            continue;
        if (given)
            return wd_error_set(WALDEN_EINVAL, "give one recovery target, not both --%s and --%s",
                                given, kinds[i].option);
        given = kinds[i].option;
        t->kind = kinds[i].kind;
        t->value = v;
    }
    int rc = 0;
    if (t->kind == WD_TARGET_TIME && wd_time_parse(t->value, &t->time_ms))
        rc = wd_error_set(WALDEN_EINVAL,
                          "cannot read --target-time '%s' (expected e.g. "
                          "'2026-11-22 14:03:07.123+00')",
                          t->value);
    else if (t->kind == WD_TARGET_LSN && wd_lsn_parse(t->value, &t->lsn))
        rc = wd_error_set(WALDEN_EINVAL, "invalid --target-lsn '%s' (expected e.g. '0/3000028')",
                          t->value);
    else if (t->kind == WD_TARGET_XID) {
        uint64_t x;
        if (wd_parse_uint64(t->value, &x))
            rc = wd_error_set(WALDEN_EINVAL, "invalid --target-xid '%s' (expected a number)",
                              t->value);
    } else if (t->kind == WD_TARGET_NAME && strlen(t->value) >= 64) {
        rc = wd_error_set(WALDEN_EINVAL,
                          "--target-name '%s' is longer than a restore point name "
                          "can be",
                          t->value);
    }
    if (rc)
        return rc;
    t->action = walden_config_get(cfg, "target-action");
    t->timeline = walden_config_get(cfg, "target-timeline");
    t->exclusive = walden_config_bool(cfg, "target-exclusive");
    if (t->timeline && *t->timeline && strcmp(t->timeline, "latest") &&
        strcmp(t->timeline, "current")) {
        uint64_t tli;
        if (wd_parse_uint64(t->timeline, &tli) || tli == 0 || tli > UINT32_MAX)
            return wd_error_set(WALDEN_EINVAL,
                                "invalid --target-timeline '%s' (a number, 'current' or 'latest')",
                                t->timeline);
    }
    if (t->action && *t->action && t->kind == WD_TARGET_END)
        return wd_error_set(WALDEN_EINVAL, "--target-action needs a recovery target");
    return 0;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int wd_time_parse(const char *text, int64_t *ms)
{
    const char *p = text;
    struct tm tm = {0};
    int y, mo, d, h, mi, s = 0, frac_ms = 0;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || (*p != ' ' && *p != 'T') || !*p++ || digits(&p, 2, &h) ||
        *p++ != ':' || digits(&p, 2, &mi))
        return WALDEN_EINVAL;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &s))
            return WALDEN_EINVAL;
        if (*p == '.') {
            p++;
            int n = 0, scale = 100;
            while (isdigit((unsigned char)*p)) {
                if (n < 3)
                    frac_ms += (*p - '0') * scale, scale /= 10;
                n++, p++;
            }
            if (n == 0)
                return WALDEN_EINVAL;
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return WALDEN_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    while (*p == ' ')
        p++;
    time_t secs;
    if (*p == '\0') {
        tm.tm_isdst = -1;
        secs = mktime(&tm);
    } else {
        int off = 0;
        if (strcmp(p, "Z") == 0 || strcmp(p, "UTC") == 0 || strcmp(p, "GMT") == 0) {
            p += strlen(p);
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (digits(&p, 2, &oh))
                return WALDEN_EINVAL;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p) && digits(&p, 2, &om))
                return WALDEN_EINVAL;
            if (oh > 15 || om > 59)
                return WALDEN_EINVAL;
            off = sign * (oh * 3600 + om * 60);
        }
        if (*p)
            return WALDEN_EINVAL;
        secs = timegm(&tm) - off;
    }
    *ms = (int64_t)secs * 1000 + frac_ms;
    return 0;
}

/* A setting value in single quotes, quotes doubled. */
static char *quote(const char *v)
{
    size_t n = 3;
    for (const char *p = v; *p; p++)
        n += *p == '\'' ? 2 : 1;
    char *out = wd_malloc(n), *w = out;
    if (!out)
        return NULL;
    *w++ = '\'';
    for (const char *p = v; *p; p++) {
        if (*p == '\'')
            *w++ = '\'';
        *w++ = *p;
    }
    *w++ = '\'';
    *w = '\0';
    return out;
}

static int append_setting(FILE *f, const char *name, const char *value)
{
    char *q = quote(value);
    if (!q)
        return WALDEN_ENOMEM;
    fprintf(f, "%s = %s\n", name, q);
    wd_free(q);
    return 0;
}

int wd_recovery_write(const char *pgdata, const char *restore_command, const wd_target *t,
                      const char *backup_id)
{
    char *conf = wd_path_join(pgdata, "postgresql.auto.conf");
    char *signal = wd_path_join(pgdata, "recovery.signal");
    int rc = 0;
    FILE *f = NULL;
    if (!conf || !signal) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    /* recovery.signal first: created exclusively, so a second run stops
     * here instead of appending the settings twice */
    wd_sink *s;
    if ((rc = wd_file_sink_open_ex(&s, signal, WD_FILE_DIRECT, 0600)) || (rc = s->commit(s)))
        goto done;
    int fd = open(conf, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "a"))) {
        rc = wd_error_set_errno(errno, "cannot open '%s'", conf);
        if (fd >= 0)
            close(fd);
        goto done;
    }
    static const char *const names[] = {NULL,
                                        "recovery_target_time",
                                        "recovery_target_lsn",
                                        "recovery_target_xid",
                                        "recovery_target_name",
                                        "recovery_target"};
    fprintf(f, "\n# recovery settings written by walden restore of backup %s\n", backup_id);
    if ((rc = append_setting(f, "restore_command", restore_command)))
        goto done;
    if (t->kind != WD_TARGET_END &&
        (rc = append_setting(f, names[t->kind],
                             t->kind == WD_TARGET_IMMEDIATE ? "immediate" : t->value)))
        goto done;
    if (t->kind != WD_TARGET_END && t->kind != WD_TARGET_IMMEDIATE)
        fprintf(f, "recovery_target_inclusive = %s\n", t->exclusive ? "off" : "on");
    if (t->action && *t->action && (rc = append_setting(f, "recovery_target_action", t->action)))
        goto done;
    if (t->timeline && *t->timeline &&
        (rc = append_setting(f, "recovery_target_timeline", t->timeline)))
        goto done;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = wd_error_set_errno(errno, "cannot write '%s'", conf);
        goto done;
    }
done:
    if (f && fclose(f) != 0 && !rc)
        rc = wd_error_set_errno(errno, "cannot close '%s'", conf);
    wd_free(conf);
    wd_free(signal);
    return rc;
}
