/*
 * proc.c - child processes behind pipes (see proc.h).
 *
 * The caller's loop and the child's stderr are served together with poll:
 * a child blocked writing a long error to a full stderr pipe would
 * otherwise never finish its stdout, and walden would wait for ever.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/proc.h"

extern char **environ;

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Variables of the cloud SDKs' conventions that hold a credential: walden
 * reads some of them (s3.c, azure.c); no child of walden needs them. */
static const char *const cloud_secrets[] = {
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_CONNECTION_STRING",
    NULL,
};

/* Whether `name` (nlen bytes) is WALDEN_<OPTION> of a secret option. */
static bool secret_option_var(const char *name, size_t nlen)
{
    if (nlen <= 7 || strncmp(name, "WALDEN_", 7) != 0)
        return false;
    for (const walden_option_info *o = walden_option_list(); o->name; o++) {
        if (!o->secret || strlen(o->name) != nlen - 7)
            continue;
        size_t k = 0;
        for (; k < nlen - 7; k++) {
            char c = o->name[k] == '-' ? '_' : (char)toupper((unsigned char)o->name[k]);
            if (name[7 + k] != c)
                break;
        }
        if (k == nlen - 7)
            return true;
    }
    return false;
}

bool wd_env_is_secret(const char *entry)
{
    const char *eq = strchr(entry, '=');
    size_t nlen = eq ? (size_t)(eq - entry) : strlen(entry);
    for (int i = 0; cloud_secrets[i]; i++)
        if (strlen(cloud_secrets[i]) == nlen && strncmp(cloud_secrets[i], entry, nlen) == 0)
            return true;
    return secret_option_var(entry, nlen);
}

char **wd_proc_env(const char *const *env)
{
    size_t n = 0, extra = 0;
    while (environ[n])
        n++;
    while (env && env[extra])
        extra++;
    char **out = wd_calloc(n + extra + 1, sizeof(char *));
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nlen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool replaced = wd_env_is_secret(environ[i]);
        for (size_t j = 0; j < extra && !replaced; j++)
            replaced = strncmp(env[j], environ[i], nlen) == 0 && env[j][nlen] == '=';
        if (!replaced)
            out[k++] = environ[i];
    }
    for (size_t j = 0; j < extra; j++)
        out[k++] = (char *)env[j];
    return out;
}

int wd_proc_spawn(wd_proc *p, const char *name, const char *const *argv, const char *const *env,
                  unsigned flags)
{
    memset(p, 0, sizeof(*p));
    p->pid = -1;
    p->in_fd = p->out_fd = p->err_fd = -1;
    snprintf(p->name, sizeof(p->name), "%s", name);
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int rc = 0;
    char **envp = wd_proc_env(env);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_init = false, attr_init = false;
    if (!envp)
        return WALDEN_ENOMEM;
    if (((flags & WD_PROC_STDIN) && pipe2(in, O_CLOEXEC) != 0) ||
        ((flags & WD_PROC_STDOUT) && pipe2(out, O_CLOEXEC) != 0) || pipe2(err, O_CLOEXEC) != 0) {
        rc = wd_error_set_errno(errno, "cannot create a pipe for %s", name);
        goto done;
    }
    if (posix_spawn_file_actions_init(&fa) != 0 || posix_spawnattr_init(&attr) != 0) {
        rc = wd_error_set(WALDEN_ENOMEM, "cannot start %s: out of memory", name);
        goto done;
    }
    fa_init = attr_init = true;
    if (flags & WD_PROC_STDIN)
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (flags & WD_PROC_STDOUT)
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    /* SIGPIPE may be ignored here (see proc.h); the child gets the default */
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    int e = strchr(argv[0], '/')
                ? posix_spawn(&p->pid, argv[0], &fa, &attr, (char *const *)argv, envp)
                : posix_spawnp(&p->pid, argv[0], &fa, &attr, (char *const *)argv, envp);
    if (e != 0) {
        p->pid = -1;
        rc = wd_error_set_errno(e, "cannot start %s ('%s')", name, argv[0]);
        goto done;
    }
    wd_log_debug("started %s (pid %ld)", name, (long)p->pid);
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->err_fd = err[0];
    in[1] = out[0] = err[0] = -1;
done:
    if (fa_init)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_init)
        posix_spawnattr_destroy(&attr);
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
        close_fd(&err[i]);
    }
    wd_free(envp);
    return rc;
}

/* Logs the complete lines of what the child wrote on stderr. */
static void err_consume(wd_proc *p, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c != '\n' && p->err_len < sizeof(p->err_line) - 1) {
            p->err_line[p->err_len++] = c;
            continue;
        }
        if (c != '\n')
            continue; /* an over-long line: the rest of it is dropped */
        p->err_line[p->err_len] = '\0';
        if (p->err_len > 0 && p->expected[0] && strstr(p->err_line, p->expected)) {
            wd_log_debug("%s (expected): %s", p->name, p->err_line);
        } else if (p->err_len > 0) {
            wd_log_warn("%s: %s", p->name, p->err_line);
            memcpy(p->last_err, p->err_line, p->err_len + 1);
            if (!p->first_error[0] && strcasestr(p->err_line, "error"))
                memcpy(p->first_error, p->err_line, p->err_len + 1);
            if (strstr(p->err_line, "ERROR:")) {
                p->sql_errors++;
                /* an existing object, or a tablespace directory that
                 * one uses already (the same machine) */
                p->sql_exists += strstr(p->err_line, "already exists") != NULL ||
                                 strstr(p->err_line, "already in use as a tablespace") != NULL;
            }
        }
        p->err_len = 0;
    }
}

/* Reads what stderr has now (or, blocking, until its end). */
static void err_drain(wd_proc *p, bool to_end)
{
    char buf[4096];
    while (p->err_fd >= 0) {
        if (!to_end) {
            struct pollfd pf = {p->err_fd, POLLIN, 0};
            if (poll(&pf, 1, 0) <= 0)
                return;
        }
        ssize_t n = read(p->err_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (p->err_len)
                err_consume(p, "\n", 1);
            close_fd(&p->err_fd);
            return;
        }
        err_consume(p, buf, (size_t)n);
        if (!to_end)
            return;
    }
}

/* Waits until `fd` is ready for `events`, serving stderr meanwhile. */
static int wait_fd(wd_proc *p, int fd, short events)
{
    for (;;) {
        struct pollfd pf[2] = {{fd, events, 0}, {p->err_fd, POLLIN, 0}};
        int n = poll(pf, p->err_fd >= 0 ? 2 : 1, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return wd_error_set_errno(errno, "poll on %s", p->name);
        }
        if (p->err_fd >= 0 && pf[1].revents)
            err_drain(p, false);
        if (pf[0].revents)
            return 0;
    }
}

int wd_proc_read(wd_proc *p, uint8_t *buf, size_t cap, size_t *n)
{
    *n = 0;
    if (p->out_fd < 0)
        return 0;
    for (;;) {
        int rc = wait_fd(p, p->out_fd, POLLIN);
        if (rc)
            return rc;
        ssize_t got = read(p->out_fd, buf, cap);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got < 0)
            return wd_error_set_errno(errno, "cannot read the output of %s", p->name);
        if (got == 0)
            close_fd(&p->out_fd);
        *n = (size_t)got;
        return 0;
    }
}

int wd_proc_write(wd_proc *p, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        if (p->in_fd < 0)
            return wd_error_set(WALDEN_EIO, "%s: its input is closed", p->name);
        int rc = wait_fd(p, p->in_fd, POLLOUT);
        if (rc)
            return rc;
        ssize_t put = write(p->in_fd, buf, len);
        if (put < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (put < 0) {
            int e = errno;
            close_fd(&p->in_fd);
            p->input_closed = e == EPIPE;
            return e == EPIPE ? wd_error_set(WALDEN_EIO, "%s stopped reading its input", p->name)
                              : wd_error_set_errno(e, "cannot write to %s", p->name);
        }
        buf += put;
        len -= (size_t)put;
    }
    return 0;
}

void wd_proc_close_stdin(wd_proc *p)
{
    close_fd(&p->in_fd);
}

static int reap(wd_proc *p, int *status)
{
    for (;;) {
        pid_t r = waitpid(p->pid, status, 0);
        if (r == p->pid)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        int e = errno;
        p->pid = -1;
        return wd_error_set_errno(e, "cannot wait for %s", p->name);
    }
    p->pid = -1;
    return 0;
}

int wd_proc_wait(wd_proc *p)
{
    close_fd(&p->in_fd);
    /* unread stdout would keep a writing child from exiting */
    uint8_t sink[8192];
    size_t n;
    int rc = 0;
    while (p->out_fd >= 0 && (rc = wd_proc_read(p, sink, sizeof(sink), &n)) == 0 && n > 0)
        ;
    close_fd(&p->out_fd);
    err_drain(p, true);
    if (p->pid < 0)
        return rc;
    int status = 0;
    int wrc = reap(p, &status);
    if (rc || wrc)
        return rc ? rc : wrc;
    const char *why = p->first_error[0] ? p->first_error
                      : p->last_err[0]  ? p->last_err
                                        : "it gave no reason";
    if (WIFSIGNALED(status))
        return wd_error_set(WALDEN_EIO, "%s was killed by signal %d (%s): %s", p->name,
                            WTERMSIG(status), strsignal(WTERMSIG(status)), why);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return wd_error_set(WALDEN_EIO, "%s failed with exit status %d: %s", p->name,
                            WEXITSTATUS(status), why);
    return 0;
}

void wd_proc_kill(wd_proc *p)
{
    /* the signal first: closing stdin first would hand a reader an end of
     * input that looks like success (pg_restore could commit what it read) */
    if (p->pid > 0)
        kill(p->pid, SIGTERM);
    close_fd(&p->in_fd);
    close_fd(&p->out_fd);
    if (p->pid > 0) {
        int status;
        for (int i = 0; i < 500; i++) {
            pid_t r = waitpid(p->pid, &status, WNOHANG);
            if (r == p->pid || (r < 0 && errno != EINTR)) {
                p->pid = -1;
                break;
            }
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (p->pid > 0) {
            kill(p->pid, SIGKILL);
            reap(p, &status);
        }
    }
    err_drain(p, true);
}

int wd_proc_output_line(const char *const *argv, char **out)
{
    wd_proc p;
    int rc = wd_proc_spawn(&p, argv[0], argv, NULL, WD_PROC_STDOUT);
    if (rc)
        return rc;
    char buf[512];
    size_t len = 0, n = 0;
    while ((rc = wd_proc_read(&p, (uint8_t *)buf + len, sizeof(buf) - 1 - len, &n)) == 0 && n > 0 &&
           (len += n) < sizeof(buf) - 1)
        ;
    int wrc = rc ? (wd_proc_kill(&p), rc) : wd_proc_wait(&p);
    if (wrc)
        return wrc;
    buf[len] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return (*out = wd_strdup(buf)) ? 0 : WALDEN_ENOMEM;
}

char *wd_conninfo_quote(const char *value)
{
    size_t n = strlen(value);
    char *out = wd_malloc(2 * n + 3);
    if (!out)
        return NULL;
    size_t k = 0;
    out[k++] = '\'';
    for (const char *s = value; *s; s++) {
        if (*s == '\'' || *s == '\\')
            out[k++] = '\\';
        out[k++] = *s;
    }
    out[k++] = '\'';
    out[k] = '\0';
    return out;
}

int wd_proc_run(const char *const *argv, const wd_proc_run_opts *o, int *status)
{
    /* made before the fork (it allocates): the child gets no secret of
     * walden's */
    char **envp = wd_proc_env(NULL);
    if (!envp)
        return WALDEN_ENOMEM;
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = nul < 0 ? -1 : fork();
    if (pid == 0) {
        /* only async-signal-safe calls from here on */
        dup2(nul, 0);
        dup2(o->out_fd, 1);
        dup2(o->out_fd, 2);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (o->as_user && (setgroups(1, &o->gid) != 0 || setgid(o->gid) != 0 ||
                           setuid(o->uid) != 0 || setuid(0) == 0))
            _exit(126);
        if (o->new_session)
            setsid();
        if (o->dir && chdir(o->dir) != 0)
            _exit(126);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    int e = errno;
    wd_free(envp);
    if (nul >= 0)
        close(nul);
    if (pid < 0)
        return wd_error_set_errno(e, "cannot start '%s'", argv[0]);
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR)
            return wd_error_set_errno(errno, "cannot wait for '%s'", argv[0]);
    }
    return 0;
}
