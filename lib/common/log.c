/*
 * log.c - log lines on stderr and, optionally, a log file.
 *
 * Every line carries a UTC timestamp with milliseconds, the pid and the
 * level. Nothing secret may be passed here: callers log option names, never
 * option values of secret options.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static walden_log_level log_level = WALDEN_LOG_WARN;
static FILE *log_file;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void walden_log_set_level(walden_log_level level)
{
    log_level = level;
}

int walden_log_level_parse(const char *text, walden_log_level *out)
{
    for (size_t i = 0; i < WD_ARRAY_LEN(level_names); i++) {
        if (strcmp(text, level_names[i]) == 0) {
            *out = (walden_log_level)i;
            return 0;
        }
    }
    return wd_error_set(WALDEN_EINVAL,
                        "invalid log level '%s': expected error, warn, info or debug", text);
}

int walden_log_set_file(const char *path)
{
    if (log_file) {
        fclose(log_file);
        log_file = NULL;
    }
    if (!path || !*path)
        return 0;
    /* a new log file gets WD_MODE_LOG_FILE whatever the umask; an existing
     * one keeps the mode it has (the operator's, logrotate's "create") */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, WD_MODE_LOG_FILE);
    if (fd >= 0 && fchmod(fd, WD_MODE_LOG_FILE) != 0) {
        int rc = wd_error_set_errno(errno, "cannot set the mode of log file '%s'", path);
        close(fd);
        return rc;
    }
    if (fd < 0 && errno == EEXIST)
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 || !(log_file = fdopen(fd, "a"))) {
        int rc = wd_error_set_errno(errno, "cannot open log file '%s'", path);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    setvbuf(log_file, NULL, _IOLBF, 0);
    return 0;
}

bool wd_log_enabled(walden_log_level level)
{
    return level <= log_level;
}

int walden_log_enabled(walden_log_level level)
{
    return wd_log_enabled(level) ? 1 : 0;
}

static void log_v(walden_log_level level, const char *fmt, va_list ap) WD_PRINTF(2, 0);

void wd_log(walden_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v(level, fmt, ap);
    va_end(ap);
}

void walden_log(walden_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v(level, fmt, ap);
    va_end(ap);
}

static void log_v(walden_log_level level, const char *fmt, va_list ap)
{
    if (!wd_log_enabled(level))
        return;
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);

    char line[2200];
    int n = snprintf(line, sizeof(line), "%s.%03ldZ walden[%ld] %s: %s\n", ts,
                     (long)(tv.tv_usec / 1000), (long)getpid(), level_names[level], msg);
    if (n < 0)
        return;
    fputs(line, stderr);
    if (log_file)
        fputs(line, log_file);
}
