/*
 * failure.c - archive-push's last failure, kept where check, backup and
 * metrics can quote it: why WAL does not arrive.
 *
 * PostgreSQL logs archive_command's stderr in the server log and counts
 * failures in pg_stat_archiver, but keeps no reason. archive-push writes
 * its last failure (segment, time, one-line reason) to a small local state
 * file, <lock-path>/<cluster>-archive-push.failure, and removes it after
 * its next success. Local, not in the repository: the repository is
 * untrusted storage (a reason read from it could be anyone's words), it is
 * what is often unreachable when archiving fails, and a write there per
 * failure costs a request. Not under the data directory either: backups
 * would copy it and restored clusters would carry another server's
 * failure, and metrics runs without pgdata. The lock folder is on the
 * server's host, where archive-push, check and backup run, and is
 * writable by the server's user already.
 *
 * Format, one "name = value" per line: segment, time (Unix seconds),
 * reason. Written to a temporary file and renamed, so a reader sees the
 * old or the new record, never half of one. A record that cannot be
 * written is logged and otherwise ignored: archive-push fails for its own
 * reason, not for this.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"

static char *failure_path(const walden_config *cfg)
{
    return wd_asprintf("%s/%s-archive-push.failure", walden_config_get(cfg, "lock-path"),
                       walden_config_get(cfg, "cluster"));
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void walden_push_failure_record(const walden_config *cfg, const char *path, const char *reason)
{
    const char *dir = walden_config_get(cfg, "lock-path");
    char *file = failure_path(cfg);
    char *tmp = file ? wd_asprintf("%s.%ld", file, (long)getpid()) : NULL;
    char one_line[512];
    /* one line, whatever the reason held */
    snprintf(one_line, sizeof(one_line), "%s", reason ? reason : "");
    for (char *p = one_line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    char seg[64];
    snprintf(seg, sizeof(seg), "%s", path ? base_name(path) : "");
    for (char *p = seg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = '?';
    if (!tmp)
        goto done;
    (void)mkdir(dir, 0770);
    FILE *f = fopen(tmp, "we");
    if (!f) {
        wd_log_warn("cannot record the failure in '%s': %s", file, strerror(errno));
        goto done;
    }
    fprintf(f, "segment = %s\ntime = %lld\nreason = %s\n", seg, (long long)time(NULL), one_line);
    if (fclose(f) != 0 || rename(tmp, file) != 0) {
        wd_log_warn("cannot record the failure in '%s': %s", file, strerror(errno));
        unlink(tmp);
    }
done:
    wd_free(tmp);
    wd_free(file);
}

void walden_push_failure_clear(const walden_config *cfg)
{
    char *file = failure_path(cfg);
    if (file && unlink(file) != 0 && errno != ENOENT)
        wd_log_warn("cannot remove '%s': %s", file, strerror(errno));
    wd_free(file);
}

int walden_push_failure_get(const walden_config *cfg, walden_push_failure *out)
{
    memset(out, 0, sizeof(*out));
    char *file = failure_path(cfg);
    char *text = NULL;
    if (!file)
        return WALDEN_ENOMEM;
    int rc = wd_file_read_all(file, 4096, &text, NULL);
    wd_free(file);
    if (rc)
        return rc;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *eq = strstr(line, " = ");
        if (!eq)
            continue;
        *eq = '\0';
        const char *v = eq + 3;
        if (strcmp(line, "segment") == 0)
            snprintf(out->segment, sizeof(out->segment), "%s", v);
        else if (strcmp(line, "time") == 0)
            out->time = strtoll(v, NULL, 10);
        else if (strcmp(line, "reason") == 0)
            snprintf(out->reason, sizeof(out->reason), "%s", v);
    }
    wd_free(text);
    if (!out->time || !out->reason[0])
        return wd_error_set(WALDEN_ECORRUPT, "damaged archive-push failure record");
    return 0;
}

void wd_push_failure_describe(const walden_config *cfg, char *buf, size_t cap)
{
    walden_push_failure pf;
    buf[0] = '\0';
    if (walden_push_failure_get(cfg, &pf)) {
        walden_error_clear();
        return;
    }
    char when[32];
    time_t t = (time_t)pf.time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(buf, cap, "; walden archive-push last failed at %s on %s: %s", when, pf.segment,
             pf.reason);
}
