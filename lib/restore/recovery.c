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

/* A transaction id as recovery_target_xid takes it: decimal, a 32-bit
 * xid or an epoch-qualified 64-bit one (epoch << 32 | xid, what
 * txid_current() returns), whose 32-bit part is a normal xid (3 or more:
 * 0 to 2 are PostgreSQL's reserved ids, never a transaction's). */
int wd_xid_parse(const char *text, uint64_t *xid)
{
    uint64_t v = 0;
    size_t n = strspn(text, "0123456789");
    if (n == 0 || text[n] != '\0' || n > 20)
        return WALDEN_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(text[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return WALDEN_EINVAL;
        v = v * 10 + d;
    }
    if ((v & 0xFFFFFFFFu) < 3)
        return WALDEN_EINVAL;
    *xid = v;
    return 0;
}

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
        if (!v || (!*v && walden_config_source_of(cfg, kinds[i].option) == WALDEN_SOURCE_DEFAULT))
            continue;
        /* given empty: a script's unset variable, not "no target" */
        if (!*v)
            return wd_error_set(WALDEN_EINVAL, "--%s is empty", kinds[i].option);
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
    else if (t->kind == WD_TARGET_TIME && !wd_time_has_zone(t->value))
        rc = wd_error_set(WALDEN_EINVAL,
                          "--target-time '%s' has no time zone: add one (e.g. '+00', "
                          "'+01:00' or 'UTC'), the restored server would read it in its own",
                          t->value);
    else if (t->kind == WD_TARGET_LSN && wd_lsn_parse(t->value, &t->lsn))
        rc = wd_error_set(WALDEN_EINVAL,
                          "invalid --target-lsn '%s' (expected X/Y, each 1 to 8 hex digits, "
                          "e.g. '0/3000028')",
                          t->value);
    else if (t->kind == WD_TARGET_XID && wd_xid_parse(t->value, &t->xid))
        rc = wd_error_set(WALDEN_EINVAL,
                          "invalid --target-xid '%s' (expected a transaction id: a decimal "
                          "number of 3 or more, 32-bit or epoch-qualified 64-bit)",
                          t->value);
    else if (t->kind == WD_TARGET_NAME && strlen(t->value) >= 64)
        rc = wd_error_set(WALDEN_EINVAL,
                          "--target-name '%s' is longer than a restore point name "
                          "can be (63 bytes)",
                          t->value);
    else if (t->kind == WD_TARGET_IMMEDIATE && strcmp(t->value, "immediate") != 0)
        rc = wd_error_set(WALDEN_EINVAL, "invalid --target '%s' (only 'immediate')", t->value);
    if (rc)
        return rc;
    t->action = walden_config_get(cfg, "target-action");
    t->timeline = walden_config_get(cfg, "target-timeline");
    t->exclusive = walden_config_bool(cfg, "target-exclusive");
    if (t->timeline && *t->timeline && strcmp(t->timeline, "latest") &&
        strcmp(t->timeline, "current")) {
        size_t n = strspn(t->timeline, "0123456789");
        uint64_t tli;
        if (n == 0 || t->timeline[n] || wd_parse_uint64(t->timeline, &tli) || tli == 0 ||
            tli > UINT32_MAX)
            return wd_error_set(WALDEN_EINVAL,
                                "invalid --target-timeline '%s' (a number, 'current' or 'latest')",
                                t->timeline);
    } else if (t->timeline && !*t->timeline &&
               walden_config_source_of(cfg, "target-timeline") != WALDEN_SOURCE_DEFAULT) {
        return wd_error_set(WALDEN_EINVAL, "--target-timeline is empty");
    }
    const char *type = walden_config_get(cfg, "type");
    if (t->action && *t->action && t->kind == WD_TARGET_END &&
        !(type && strcmp(type, "immediate") == 0))
        return wd_error_set(WALDEN_EINVAL, "--target-action needs a recovery target");
    return 0;
}

int wd_restore_type_from_config(const walden_config *cfg, wd_target *t)
{
    const char *type;
    int rc = walden_config_choice(cfg, "type", "restore", &type);
    if (rc)
        return rc;
    if (!type) /* backup's, from a config file or the environment */
        type = "default";
    const char *conninfo = walden_config_get(cfg, "primary-conninfo");
    bool standby = strcmp(type, "standby") == 0;
    /* a config file or the environment may hold it for the standbys */
    if (conninfo && *conninfo && !standby &&
        walden_config_source_of(cfg, "primary-conninfo") == WALDEN_SOURCE_FLAG)
        return wd_error_set(WALDEN_EINVAL, "--primary-conninfo is for --type standby");
    if (strcmp(type, "immediate") == 0) {
        if (t->kind != WD_TARGET_END && t->kind != WD_TARGET_IMMEDIATE)
            return wd_error_set(WALDEN_EINVAL,
                                "--type immediate ends recovery where the backup becomes "
                                "consistent: give no other recovery target ('%s')",
                                t->value);
        t->kind = WD_TARGET_IMMEDIATE;
        t->value = "immediate";
    } else if (standby) {
        if (t->kind != WD_TARGET_END)
            return wd_error_set(WALDEN_EINVAL,
                                "--type standby follows its primary: give no recovery target "
                                "('%s')",
                                t->value);
        t->standby = true;
        t->primary_conninfo = conninfo && *conninfo ? conninfo : NULL;
    }
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
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 60)
        return WALDEN_EINVAL;
    if (mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
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

bool wd_time_has_zone(const char *text)
{
    /* after the date's dashes, a zone is a letter or a sign after the time */
    size_t n = strlen(text);
    if (n < 16)
        return false;
    const char *p = text + 16; /* past "YYYY-MM-DD HH:MM" */
    return strpbrk(p, "+-ZUG") != NULL;
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

/* Settings found in the backup's configuration that walden comments out:
 * recovery settings it did not write (a backup taken after an earlier
 * point-in-time restore carries that restore's target, which would stop
 * this recovery at the old point, or clash with a new target of another
 * type), and the commands and connections that reach outside the restored
 * server. archive_mode is added when the restore turns archiving off. */
static const char *const neutralised[] = {
    "restore_command",           "recovery_target",         "recovery_target_time",
    "recovery_target_lsn",       "recovery_target_xid",     "recovery_target_name",
    "recovery_target_inclusive", "recovery_target_action",  "recovery_target_timeline",
    "recovery_end_command",      "archive_cleanup_command", "primary_conninfo",
    "primary_slot_name",         "promote_trigger_file"};

#define DISABLED_MARK "#walden-restore-disabled# "

/* The setting name a configuration line sets, lower-cased into name
 * (empty for comments, blank lines, includes and the unreadable). */
static void line_setting(const char *line, size_t len, char *name, size_t cap)
{
    size_t i = 0, k = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    while (i < len && k + 1 < cap &&
           (isalnum((unsigned char)line[i]) || line[i] == '_' || line[i] == '.'))
        name[k++] = (char)tolower((unsigned char)line[i++]);
    name[k] = '\0';
    /* a name must be followed by a blank or '=' (not "include_dir'x'") */
    if (k == 0 || (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '='))
        name[0] = '\0';
}

bool wd_recovery_is_neutralised(const char *name, bool archive_off)
{
    if (archive_off && strcmp(name, "archive_mode") == 0)
        return true;
    for (size_t i = 0; i < WD_ARRAY_LEN(neutralised); i++)
        if (strcmp(name, neutralised[i]) == 0)
            return true;
    return false;
}

/* `text` with every line setting a neutralised name commented out. */
static void neutralise(wd_buf *b, const char *text, size_t len, bool archive_off, int *count)
{
    for (size_t off = 0; off < len;) {
        const char *line = text + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t n = nl ? (size_t)(nl - line) : len - off;
        char name[64];
        line_setting(line, n, name, sizeof(name));
        if (*name && wd_recovery_is_neutralised(name, archive_off)) {
            wd_buf_printf(b, DISABLED_MARK);
            (*count)++;
        }
        wd_buf_printf(b, "%.*s\n", (int)n, line);
        off += n + (nl != NULL);
    }
}

/* Rewrites `path` in place (so that its owner and mode stay) with `text`. */
static int rewrite(int fd, const char *path, const char *text, size_t len)
{
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        return wd_error_set_errno(errno, "cannot rewrite '%s'", path);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return wd_error_set_errno(errno, "cannot write '%s'", path);
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        return wd_error_set_errno(errno, "cannot fsync '%s'", path);
    return 0;
}

/* Reads the configuration file `path` (created when `create` and missing),
 * comments out the neutralised settings, appends `tail` and writes it
 * back. */
static int edit_conf(const char *path, bool create, bool archive_off, const char *tail)
{
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (fd < 0) {
        if (errno == ENOENT && !create)
            return 0;
        return wd_error_set_errno(errno, "cannot open '%s'", path);
    }
    wd_buf in = {0}, out = {0};
    int rc = 0, count = 0;
    char chunk[8192];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = wd_error_set_errno(errno, "cannot read '%s'", path);
            goto done;
        }
        if (r == 0)
            break;
        wd_buf_printf(&in, "%.*s", (int)r, chunk);
        if (in.len > 64u << 20) {
            rc = wd_error_set(WALDEN_EINVAL, "'%s' is larger than 64 MiB", path);
            goto done;
        }
    }
    if (in.len && memchr(in.s, '\0', in.len)) {
        rc = wd_error_set(WALDEN_EINVAL, "'%s' is not a text file", path);
        goto done;
    }
    neutralise(&out, in.s ? in.s : "", in.len, archive_off, &count);
    if (count)
        wd_buf_printf(&out,
                      "# walden restore commented out %d setting%s above (lines starting "
                      "with " DISABLED_MARK ")\n",
                      count, count == 1 ? "" : "s");
    if (tail)
        wd_buf_printf(&out, "%s", tail);
    if (in.failed || out.failed) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if (count || tail)
        rc = rewrite(fd, path, out.s ? out.s : "", out.len);
done:
    close(fd);
    wd_free(in.s);
    wd_free(out.s);
    return rc;
}

static void append_setting(wd_buf *b, const char *name, const char *value)
{
    char *q = quote(value);
    if (!q) {
        b->failed = true;
        return;
    }
    wd_buf_printf(b, "%s = %s\n", name, q);
    wd_free(q);
}

int wd_recovery_write(const char *pgdata, const char *restore_command, const wd_target *t,
                      const char *backup_id, bool archive_off)
{
    char *conf = wd_path_join(pgdata, "postgresql.auto.conf");
    char *main_conf = wd_path_join(pgdata, "postgresql.conf");
    char *signal = wd_path_join(pgdata, t->standby ? "standby.signal" : "recovery.signal");
    int rc = 0;
    wd_buf b = {0};
    if (!conf || !signal || !main_conf) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    /* the signal file first: created exclusively, so a second run stops
     * here instead of appending the settings twice */
    wd_sink *s;
    if ((rc = wd_file_sink_open_ex(&s, signal, WD_FILE_DIRECT, 0600)) || (rc = s->commit(s)))
        goto done;
    static const char *const names[] = {NULL,
                                        "recovery_target_time",
                                        "recovery_target_lsn",
                                        "recovery_target_xid",
                                        "recovery_target_name",
                                        "recovery_target"};
    wd_buf_printf(&b, "\n# recovery settings written by walden restore of backup %s\n", backup_id);
    append_setting(&b, "restore_command", restore_command);
    if (t->kind != WD_TARGET_END)
        append_setting(&b, names[t->kind], t->kind == WD_TARGET_IMMEDIATE ? "immediate" : t->value);
    if (t->kind != WD_TARGET_END && t->kind != WD_TARGET_IMMEDIATE)
        wd_buf_printf(&b, "recovery_target_inclusive = %s\n", t->exclusive ? "off" : "on");
    if (t->action && *t->action)
        append_setting(&b, "recovery_target_action", t->action);
    if (t->timeline && *t->timeline)
        append_setting(&b, "recovery_target_timeline", t->timeline);
    if (t->primary_conninfo)
        append_setting(&b, "primary_conninfo", t->primary_conninfo);
    /* a restored copy must not archive into the repository it came from
     * (its promotion would start a timeline there that recovery_target_timeline
     * = 'latest' follows) unless told it replaces the primary */
    if (archive_off)
        wd_buf_printf(&b, "archive_mode = off\n");
    if (b.failed) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    /* postgresql.conf first: its settings are overridden by the auto file's
     * anyway, except that two target types in the two files clash */
    if ((rc = edit_conf(main_conf, false, archive_off, NULL)) ||
        (rc = edit_conf(conf, true, archive_off, b.s)))
        goto done;
done:
    wd_free(b.s);
    wd_free(conf);
    wd_free(main_conf);
    wd_free(signal);
    return rc;
}
