/*
 * failure.c - archive-push's last failure, kept where check, backup and
 * metrics can quote it: why WAL does not arrive.
 *
 * PostgreSQL logs archive_command's stderr in the server log and counts
 * failures in pg_stat_archiver, but keeps no reason. archive-push writes
 * its last failure (segment, time, one-line reason) to a small local state
 * file beside the locks, <lock folder>/<cluster>-<repo hash>-archive-push-failure.state
 * (named like the locks, lib/common/lock.h), and removes it after
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

#include "archive/archive.h"
#include "common/common.h"
#include "common/lock.h"

/* The record's folder (the checked lock folder, open) and its file name.
 * archive-push records by its configuration (the repository may be what
 * failed to open); check, backup and metrics read by their repository's
 * place, which is the same when both name the same cluster and repository. */
static int failure_open_dir(const wd_lock_place *at, int *dfd, char **dir, char *name, size_t cap)
{
    int rc =
        wd_state_name(at->cluster, at->repo ? at->repo : "", "archive-push-failure", name, cap);
    return rc ? rc : wd_lock_dir_open(at, dfd, dir);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void walden_push_failure_record(const walden_config *cfg, const char *path, const char *reason)
{
    char name[256], tmp[300];
    char *dir = NULL;
    int dfd = -1;
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
    /* the caller's error (often `reason` itself) outlives this record */
    int saved_code = walden_error_last()->code;
    char saved_msg[sizeof(one_line)];
    snprintf(saved_msg, sizeof(saved_msg), "%s", walden_error_last()->message);
    wd_lock_place at;
    wd_lock_place_of_config(cfg, &at);
    if (failure_open_dir(&at, &dfd, &dir, name, sizeof(name))) {
        wd_log_warn("cannot record archive-push's failure: %s", walden_error_last()->message);
        goto done;
    }
    snprintf(tmp, sizeof(tmp), ".%s.%ld", name, (long)getpid());
    /* the folder may be shared (sticky): never follow or reuse a planted
     * name; the record is renamed over the old one, never written into it */
    (void)unlinkat(dfd, tmp, 0);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        wd_log_warn("cannot record the failure in '%s/%s': %s", dir, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto done;
    }
    (void)fchmod(fd, 0644);
    fprintf(f, "segment = %s\ntime = %lld\nreason = %s\n", seg, (long long)time(NULL), one_line);
    if (fclose(f) != 0 || renameat(dfd, tmp, dfd, name) != 0) {
        wd_log_warn("cannot record the failure in '%s/%s': %s", dir, name, strerror(errno));
        (void)unlinkat(dfd, tmp, 0);
    }
done:
    /* archive-push fails for its own reason, not for this */
    if (saved_code)
        wd_error_set(saved_code, "%s", saved_msg);
    else
        walden_error_clear();
    if (dfd >= 0)
        close(dfd);
    wd_free(dir);
}

void walden_push_failure_clear(const walden_config *cfg)
{
    char name[256];
    char *dir = NULL;
    int dfd = -1;
    wd_lock_place at;
    wd_lock_place_of_config(cfg, &at);
    if (failure_open_dir(&at, &dfd, &dir, name, sizeof(name))) {
        walden_error_clear();
        return;
    }
    if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
        wd_log_warn("cannot remove '%s/%s': %s", dir, name, strerror(errno));
    close(dfd);
    wd_free(dir);
}

int walden_push_failure_get(const walden_config *cfg, walden_push_failure *out)
{
    wd_lock_place at;
    wd_lock_place_of_config(cfg, &at);
    return wd_push_failure_read(&at, out);
}

int wd_push_failure_read(const wd_lock_place *at, walden_push_failure *out)
{
    int rc = WD_RESULT_START(out, WALDEN_PUSH_FAILURE_VERSION, "walden_push_failure");
    if (rc)
        return rc;
    char name[256];
    char *dir = NULL;
    int dfd = -1;
    rc = failure_open_dir(at, &dfd, &dir, name, sizeof(name));
    if (rc)
        return rc;
    char text[4096];
    size_t len = 0;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        rc = errno == ENOENT ? wd_error_set(WALDEN_ENOTFOUND, "no archive-push failure recorded")
                             : wd_error_set_errno(errno, "cannot open '%s/%s'", dir, name);
    else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = wd_error_set(WALDEN_ECORRUPT, "'%s/%s' is not a regular file", dir, name);
    else {
        ssize_t n;
        while (len < sizeof(text) - 1 && (n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
            len += (size_t)n;
    }
    if (fd >= 0)
        close(fd);
    close(dfd);
    wd_free(dir);
    if (rc)
        return rc;
    text[len] = '\0';
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
    if (!out->time || !out->reason[0])
        return wd_error_set(WALDEN_ECORRUPT, "damaged archive-push failure record");
    return 0;
}

void wd_push_failure_describe(const wd_lock_place *at, char *buf, size_t cap)
{
    walden_push_failure pf = WALDEN_PUSH_FAILURE_INIT;
    buf[0] = '\0';
    if (wd_push_failure_read(at, &pf)) {
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
