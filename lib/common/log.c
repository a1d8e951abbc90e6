/*
 * log.c - log lines on stderr (or a program's callback) and, optionally, a
 * log file.
 *
 * Every line carries a UTC timestamp with milliseconds, the pid and the
 * level. Nothing secret may be passed here: callers log option names, never
 * option values of secret options.
 *
 * Threads: any thread logs (workers do). The level is an atomic, read
 * without a lock on every call; the file and the callback are changed and
 * used under one mutex, so a line is never written to a file being closed,
 * a callback is never called by two threads at once, and lines from
 * different threads do not interleave. A callback that logs would take the
 * mutex again: a per-thread flag drops such lines instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static _Atomic int log_level = WALDEN_LOG_WARN;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;       /* under log_mu */
static walden_log_cb log_cb; /* under log_mu */
static void *log_cb_ctx;     /* under log_mu */
static _Thread_local bool in_callback;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void walden_log_set_level(walden_log_level level)
{
    atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

void walden_log_set_callback(walden_log_cb cb, void *ctx)
{
    if (in_callback) /* the callback's own call: it holds the lock */
        return;
    pthread_mutex_lock(&log_mu);
    log_cb = cb;
    log_cb_ctx = ctx;
    pthread_mutex_unlock(&log_mu);
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

static int open_log_file(const char *path, FILE **out)
{
    FILE *f = NULL;
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
    if (fd < 0 || !(f = fdopen(fd, "a"))) {
        int rc = wd_error_set_errno(errno, "cannot open log file '%s'", path);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    *out = f;
    return 0;
}

int walden_log_set_file(const char *path)
{
    FILE *f = NULL, *old;
    if (in_callback) /* the callback's own call: it holds the lock */
        return wd_error_set(WALDEN_EINVAL, "walden_log_set_file: called from the log callback");
    int rc = path && *path ? open_log_file(path, &f) : 0;
    pthread_mutex_lock(&log_mu);
    old = log_file;
    log_file = f;
    pthread_mutex_unlock(&log_mu);
    if (old)
        fclose(old);
    return rc;
}

bool wd_log_enabled(walden_log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level, memory_order_relaxed);
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
    if (!wd_log_enabled(level) || in_callback)
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
    pthread_mutex_lock(&log_mu);
    if (log_cb) {
        in_callback = true;
        log_cb(level, msg, log_cb_ctx);
        in_callback = false;
    } else {
        fputs(line, stderr);
    }
    if (log_file)
        fputs(line, log_file);
    pthread_mutex_unlock(&log_mu);
}
