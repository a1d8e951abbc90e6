/*
 * drill.c - walden drill: restore a backup into a scratch directory, start
 * a throwaway PostgreSQL on it, check it, time it, remove it.
 *
 * The drill runs in steps: choose the backup, restore it (walden_restore,
 * tablespaces mapped into the scratch directory), configure the server,
 * start it with pg_ctl, wait until it accepts connections (hot_standby is
 * off, so that happens only once recovery has ended and the server has
 * promoted), check, stop, clean up, report. Between steps, and every 100 ms
 * while waiting, the cancel flag (walden_drill_cancel) is looked at.
 *
 * Isolation: the server listens on no TCP address, only on a unix socket
 * in a 0700 folder of the scratch directory, with its own pg_hba.conf
 * (trust on that socket only); archiving, replication, ssl, an external
 * pid file and the recovery hooks are off; its settings come last in
 * postgresql.auto.conf. archive_mode is off above all so that the promoted
 * server never archives its new timeline into the repository.
 *
 * Root: PostgreSQL refuses to run as root, so pg_ctl is started in a child
 * that switches to the owner of the backed-up data directory (else
 * `postgres`), and the scratch directory is given to that user.
 *
 * Phases are measured on the monotonic clock, except the end of WAL
 * replay, which only the server knows: its log line "redo done at" carries
 * the time (log_line_prefix '%m', UTC), mapped onto the monotonic clock.
 *
 * RPO: what a restore to the end of the archive would lose had the source
 * died when the drill started. As the drill starts it reads the source
 * server's flushed WAL position (when it is reachable, a primary of this
 * cluster on the archive's newest timeline); once the restored server has
 * promoted, where its replay ended (pg_last_wal_replay_lsn(), on the
 * timeline its new history file names). When the replay reached the
 * source's position on its timeline, every write made before the drill
 * started was restored: RPO 0, however long ago the last commit was (an
 * idle cluster, whose last segment archive_timeout had switched and
 * archived). Otherwise the bound in time: pg_last_xact_replay_timestamp()
 * keeps, after promotion, the commit time of the last transaction
 * replayed; the recovered point is the newer of that and the backup's stop
 * time, and RPO = drill start - recovered point, an upper bound of the
 * loss. A drill to a --target-time is measured that way only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "common/common.h"
#include "common/proc.h"
#include "drill/drill.h"
#include "pg/libpq.h"
#include "pg/pg.h"
#include "repo/lock.h"
#include "repo/repo.h"
#include "restore/recovery.h"

#define SOCKET_PORT "5432" /* only names the socket, in a private folder */
#define BOOLOID 16

/* ---- cancellation (async-signal-safe) ---- */

static volatile sig_atomic_t cancel_flag;
static volatile sig_atomic_t server_pid; /* the running postmaster, 0: none */

void walden_drill_cancel(void)
{
    cancel_flag = 1;
    pid_t p = (pid_t)server_pid;
    if (p > 0)
        kill(p, SIGQUIT); /* immediate shutdown: a running check fails at once */
}

/* ---- small helpers ---- */

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Replaces an owned string field. */
static int set_str(const char **field, const char *value)
{
    char *copy = wd_strdup(value ? value : "");
    if (!copy)
        return WALDEN_ENOMEM;
    wd_free((void *)*field);
    *field = copy;
    return 0;
}

/* ---- the result ---- */

typedef struct drill_res {
    walden_drill_result pub;
    walden_drill_check *checks;
    size_t cap;
} drill_res;

static drill_res *res_new(void)
{
    drill_res *r = wd_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->pub.rpo_seconds = -1;
    if (set_str(&r->pub.id, "") || set_str(&r->pub.cluster, "") || set_str(&r->pub.backup_id, "") ||
        set_str(&r->pub.error, "") || set_str(&r->pub.scratch_dir, "") ||
        set_str(&r->pub.last_archived_wal, "") || set_str(&r->pub.kind, "backup") ||
        set_str(&r->pub.timeline_reason, "")) {
        walden_drill_result_free(&r->pub);
        return NULL;
    }
    return r;
}

void walden_drill_result_free(walden_drill_result *pub)
{
    if (!pub)
        return;
    drill_res *r = (drill_res *)pub;
    for (size_t i = 0; i < pub->n_checks; i++) {
        wd_free((void *)r->checks[i].database);
        wd_free((void *)r->checks[i].detail);
    }
    wd_free(r->checks);
    wd_free((void *)pub->id);
    wd_free((void *)pub->cluster);
    wd_free((void *)pub->backup_id);
    wd_free((void *)pub->kind);
    wd_free((void *)pub->error);
    wd_free((void *)pub->scratch_dir);
    wd_free((void *)pub->last_archived_wal);
    wd_free((void *)pub->timeline_reason);
    wd_free(r);
}

const char *wd_drill_status_name(walden_drill_status s)
{
    return s == WALDEN_DRILL_PASSED   ? "passed"
           : s == WALDEN_DRILL_MISSED ? "targets-missed"
                                      : "failed";
}

int64_t wd_drill_recovered_to(int64_t last_xact_ms, int64_t backup_stop_ms)
{
    return last_xact_ms > backup_stop_ms ? last_xact_ms : backup_stop_ms;
}

/* ---- the drill's state ---- */

typedef struct drill {
    walden_repo *repo;
    const walden_config *cfg;
    walden_progress_cb progress; /* or NULL */
    void *progress_ctx;
    drill_res *res;
    wd_backup_meta meta;
    bool have_meta;
    char *scratch, *pgdata, *sock, *log, *ctl_log, *ts_map;
    bool sock_outside; /* sock is not in the scratch directory (too long a path) */
    bool as_user;      /* root: the server runs as uid/gid */
    uid_t uid;
    gid_t gid;
    char user[64]; /* the OS user the server runs as */
    pid_t postmaster;
    bool started;
    char superuser[128];
    char *check_sql;
    double t_begin;
    uint32_t source_tli;   /* the source server's timeline at the start; 0: unknown */
    uint32_t replayed_tli; /* the timeline the restored server replayed; 0: unknown */
} drill;

/* Records the first failure of the drill (its message from the last
 * error, with a prefix saying which step). */
static int drill_fail(drill *d, int rc, const char *step)
{
    if (!*d->res->pub.error) {
        const char *msg = walden_error_last()->message;
        char *text = wd_asprintf("%s: %s", step, *msg ? msg : walden_error_name(rc));
        if (text) {
            for (char *p = text; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            wd_free((void *)d->res->pub.error);
            d->res->pub.error = text;
        }
    }
    d->res->pub.status = WALDEN_DRILL_FAILED;
    return rc;
}

static int add_check(drill *d, const char *name, const char *db, const char *result,
                     const char *detail, double seconds)
{
    drill_res *r = d->res;
    walden_drill_check *grown =
        wd_array_grow(r->checks, &r->cap, r->pub.n_checks, sizeof(*grown), 16);
    if (!grown)
        return WALDEN_ENOMEM;
    r->checks = grown;
    r->pub.checks = grown;
    walden_drill_check *c = &r->checks[r->pub.n_checks];
    c->name = name;
    c->result = result;
    c->seconds = seconds;
    c->database = wd_strdup(db);
    c->detail = wd_strdup(detail);
    if (!c->database || !c->detail) {
        wd_free((void *)c->database);
        wd_free((void *)c->detail);
        return WALDEN_ENOMEM;
    }
    r->pub.n_checks++;
    if (strcmp(result, "pass") == 0)
        r->pub.checks_passed++;
    else if (strcmp(result, "fail") == 0)
        r->pub.checks_failed++;
    else
        r->pub.checks_skipped++;
    if (strcmp(result, "fail") == 0 && !*r->pub.error) {
        char *text = wd_asprintf("check %s in '%s' failed: %s", name, db, detail);
        if (text) {
            wd_free((void *)r->pub.error);
            r->pub.error = text;
        }
    }
    return 0;
}

static bool cancelled(void)
{
    return cancel_flag != 0;
}

/* ---- files ---- */

/* Changes the owner of everything under dirfd/name (not through links),
 * or removes it all (going on past a failure: as much as can go, goes;
 * the first failure is returned). */
static int tree_walk(int parent, const char *name, const char *display, bool remove, uid_t uid,
                     gid_t gid)
{
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : wd_error_set_errno(errno, "cannot look at '%s'", display);
    if (S_ISDIR(st.st_mode)) {
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return wd_error_set_errno(errno, "cannot open '%s'", display);
        DIR *dir = fdopendir(fd);
        if (!dir) {
            int rc = wd_error_set_errno(errno, "cannot open '%s'", display);
            close(fd);
            return rc;
        }
        int rc = 0;
        struct dirent *e;
        while ((!rc || remove) && (e = readdir(dir))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            int erc = tree_walk(fd, e->d_name, display, remove, uid, gid);
            if (!rc)
                rc = erc;
        }
        closedir(dir);
        if (rc)
            return rc;
    }
    if (remove) {
        if (unlinkat(parent, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 && errno != ENOENT)
            return wd_error_set_errno(errno, "cannot remove '%s/%s'", display, name);
    } else if (fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return wd_error_set_errno(errno, "cannot give '%s' to the server's user", display);
    }
    return 0;
}

static int write_text(const char *path, const char *text, unsigned mode, bool append)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (append ? O_APPEND : O_EXCL),
                  mode);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot open '%s' for writing", path);
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int rc = 0;
    if (n < 0 || (size_t)n != len)
        rc = wd_error_set_errno(n < 0 ? errno : EIO, "cannot write '%s'", path);
    if (close(fd) != 0 && !rc)
        rc = wd_error_set_errno(errno, "cannot write '%s'", path);
    return rc;
}

/* A config-file string value: in single quotes, quotes doubled. */
static void sb_conf(wd_buf *b, const char *name, const char *value)
{
    wd_buf_printf(b, "%s = '", name);
    for (const char *p = value; *p; p++)
        wd_buf_printf(b, *p == '\'' ? "''" : "%c", *p);
    wd_buf_printf(b, "'\n");
}

/* ---- the server ---- */

/* Whether a process lives (a zombie does not). */
static bool alive(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
        return false;
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return !(paren && paren[1] == ' ' && paren[2] == 'Z');
}

/* The last line of a file that contains `needle` (or any last line when
 * NULL), malloc'ed; NULL when none. */
static char *log_line(const char *path, const char *needle)
{
    char *text;
    size_t len;
    if (wd_file_read_all(path, 64u << 20, &text, &len))
        return NULL;
    char *found = NULL;
    for (char *line = text; *line;) {
        size_t n = strcspn(line, "\n");
        bool has = needle ? memmem(line, n, needle, strlen(needle)) != NULL : n > 0;
        if (has) {
            wd_free(found);
            found = wd_strndup(line, n);
        }
        line += n;
        if (*line)
            line++;
    }
    wd_free(text);
    return found;
}

/* The server's last FATAL or PANIC line, without its prefix. */
static char *server_error(drill *d)
{
    char *fatal = log_line(d->log, "FATAL:");
    char *panic = log_line(d->log, "PANIC:");
    char *line = panic ? panic : fatal;
    if (line == panic)
        wd_free(fatal);
    else
        wd_free(panic);
    if (!line)
        return wd_strdup("see the server log");
    const char *p = strstr(line, panic ? "PANIC:" : "FATAL:");
    char *out = wd_strdup(p);
    wd_free(line);
    return out;
}

/* Runs argv to its end, as the server's user when running as root, in a
 * session of its own (a Ctrl-C on the terminal is walden's to handle), its
 * output appended to ctl_log. */
static int run_program(drill *d, const char *const *argv, const char *what)
{
    int out = open(d->ctl_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out < 0)
        return wd_error_set_errno(errno, "cannot open '%s'", d->ctl_log);
    if (d->as_user && fchown(out, d->uid, d->gid) != 0) {
        int rc = wd_error_set_errno(errno, "cannot give '%s' to user '%s'", d->ctl_log, d->user);
        close(out);
        return rc;
    }
    /* made before the fork (it allocates): the server gets no secret of
     * walden's (its restore_command reads them from the config file) */
    char **envp = wd_proc_env(NULL);
    if (!envp) {
        close(out);
        return WALDEN_ENOMEM;
    }
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = nul < 0 ? -1 : fork();
    if (pid == 0) {
        /* only async-signal-safe calls from here on */
        dup2(nul, 0);
        dup2(out, 1);
        dup2(out, 2);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (d->as_user && (setgroups(1, &d->gid) != 0 || setgid(d->gid) != 0 ||
                           setuid(d->uid) != 0 || setuid(0) == 0))
            _exit(126);
        setsid();
        if (chdir(d->scratch) != 0)
            _exit(126);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    int e = errno;
    wd_free(envp);
    close(out);
    if (nul >= 0)
        close(nul);
    if (pid < 0)
        return wd_error_set_errno(e, "cannot start %s", what);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return wd_error_set_errno(errno, "cannot wait for %s", what);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char *last = log_line(d->ctl_log, NULL);
    int rc =
        WIFEXITED(status) && WEXITSTATUS(status) >= 126
            ? wd_error_set(WALDEN_EIO, "cannot run %s ('%s') as user '%s'", what, argv[0], d->user)
            : wd_error_set(WALDEN_EPG, "%s failed: %s", what, last ? last : "no message");
    wd_free(last);
    return rc;
}

/* The scratch server's settings: last in postgresql.auto.conf, so they
 * win over everything the backup brought. */
static int configure_server(drill *d)
{
    char *conf = wd_path_join(d->pgdata, "postgresql.conf");
    char *auto_conf = wd_path_join(d->pgdata, "postgresql.auto.conf");
    char *hba = wd_path_join(d->scratch, "pg_hba.conf");
    char *ident = wd_path_join(d->scratch, "pg_ident.conf");
    int rc = 0;
    wd_buf b = {0};
    if (!conf || !auto_conf || !hba || !ident) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    /* a Debian cluster keeps its configuration in /etc: PostgreSQL needs a
     * postgresql.conf all the same */
    if (access(conf, F_OK) != 0 &&
        (rc = write_text(conf, "# written by walden drill: the backup had none\n", 0600, false)))
        goto done;
    if ((rc = write_text(hba, "# walden drill: the private socket only\nlocal all all trust\n",
                         0600, false)) ||
        (rc = write_text(ident, "", 0600, false)))
        goto done;
    wd_buf_printf(&b, "\n# walden drill: an isolated scratch server\n");
    wd_buf_printf(&b, "listen_addresses = ''\nport = %s\n", SOCKET_PORT);
    sb_conf(&b, "unix_socket_directories", d->sock);
    wd_buf_printf(&b, "unix_socket_permissions = 0700\n");
    sb_conf(&b, "hba_file", hba);
    sb_conf(&b, "ident_file", ident);
    wd_buf_printf(&b, "archive_mode = off\narchive_command = ''\n");
    if (d->meta.pub.pg_version >= 150000)
        wd_buf_printf(&b, "archive_library = ''\n");
    wd_buf_printf(&b, "max_wal_senders = 0\nprimary_conninfo = ''\nprimary_slot_name = ''\n"
                      "synchronous_standby_names = ''\nhot_standby = off\n"
                      "archive_cleanup_command = ''\nrecovery_end_command = ''\n"
                      "ssl = off\nexternal_pid_file = ''\nlogging_collector = off\n"
                      "log_destination = 'stderr'\nlog_line_prefix = '%%m [%%p] '\n"
                      "log_timezone = 'UTC'\nlc_messages = 'C'\n");
    if (b.failed) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if ((rc = write_text(auto_conf, b.s, 0600, true)))
        goto done;
    if (d->as_user && (chown(conf, d->uid, d->gid) != 0 || chown(hba, d->uid, d->gid) != 0 ||
                       chown(ident, d->uid, d->gid) != 0 || chown(auto_conf, d->uid, d->gid) != 0))
        rc = wd_error_set_errno(errno, "cannot give the server's files to user '%s'", d->user);
done:
    wd_free(b.s);
    wd_free(conf);
    wd_free(auto_conf);
    wd_free(hba);
    wd_free(ident);
    return rc;
}

/* The path of a PostgreSQL program of the backup's version
 * (wd_pg_program: always a full path, since the child switches users
 * before it execs); NULL with the error set when there is none. */
static char *pg_program(drill *d, const char *name)
{
    char *prog = NULL;
    if (wd_pg_program(d->cfg, d->meta.pub.pg_version, name, &prog))
        return NULL;
    return prog;
}

static int start_server(drill *d)
{
    char *pg_ctl = pg_program(d, "pg_ctl");
    if (!pg_ctl)
        return walden_error_last()->code ? walden_error_last()->code : WALDEN_ENOMEM;
    const char *argv[] = {pg_ctl, "start", "-D", d->pgdata, "-l", d->log, "-W", "-s", NULL};
    d->started = true;
    int rc = run_program(d, argv, "pg_ctl start");
    wd_free(pg_ctl);
    return rc;
}

static pid_t read_pidfile(drill *d)
{
    char *path = wd_path_join(d->pgdata, "postmaster.pid");
    char *text = NULL;
    size_t len;
    pid_t pid = 0;
    if (path && wd_file_read_all(path, 4096, &text, &len) == 0) {
        long v = strtol(text, NULL, 10);
        pid = v > 0 ? (pid_t)v : 0;
    }
    wd_free(text);
    wd_free(path);
    return pid;
}

/* Waits until the server accepts connections. */
/* Tells the caller's progress which step runs (it limits its own rate). */
static void phase(drill *d, const char *name)
{
    walden_progress p = {name, 0, 0, 0, 0};
    if (d->progress)
        d->progress(&p, d->progress_ctx);
}

static int wait_ready(drill *d)
{
    const wd_libpq *pq = wd_libpq_get();
    if (!pq)
        return WALDEN_EPG;
    const char *keys[] = {"host", "port", "dbname", "connect_timeout", NULL};
    const char *vals[] = {d->sock, SOCKET_PORT, "postgres", "10", NULL};
    double t0 = mono();
    for (;;) {
        if (cancelled())
            return wd_error_set(WALDEN_ERROR, "the drill was interrupted");
        if (!d->postmaster) {
            d->postmaster = read_pidfile(d);
            server_pid = d->postmaster;
            if (cancelled() && d->postmaster > 0)
                kill(d->postmaster, SIGQUIT);
        }
        if (d->postmaster && !alive(d->postmaster)) {
            char *why = server_error(d);
            int rc = wd_error_set(WALDEN_EPG, "the server stopped: %s", why ? why : "see its log");
            wd_free(why);
            d->postmaster = 0;
            server_pid = 0;
            return rc;
        }
        if (!d->postmaster) {
            char *fatal = log_line(d->log, "FATAL:");
            if ((fatal && mono() - t0 > 2) || mono() - t0 > 60) {
                char *why = server_error(d);
                int rc =
                    wd_error_set(WALDEN_EPG, "the server stopped: %s", why ? why : "see its log");
                wd_free(why);
                wd_free(fatal);
                return rc;
            }
            wd_free(fatal);
        } else if (pq->pingParams(keys, vals, 0) == PQPING_OK) {
            return 0;
        }
        phase(d, "recovery");
        nap_ms(100);
    }
}

/* Stops the server (immediate) and makes sure its postmaster is gone. */
static void stop_server(drill *d)
{
    if (!d->started)
        return;
    char *pg_ctl = pg_program(d, "pg_ctl");
    /* pg_ctl start -W returns before the postmaster writes its pid file:
     * stopped at once, it would be missed and go on running */
    for (int i = 0; i < 50 && !d->postmaster; i++) {
        if ((d->postmaster = read_pidfile(d)))
            break;
        char *fatal = log_line(d->log, "FATAL:");
        wd_free(fatal);
        if (fatal)
            break;
        nap_ms(100);
    }
    if (pg_ctl && (d->postmaster == 0 || alive(d->postmaster))) {
        const char *argv[] = {pg_ctl, "stop", "-D", d->pgdata, "-m", "immediate",
                              "-w",   "-t",   "60", "-s",      NULL};
        if (run_program(d, argv, "pg_ctl stop") && d->postmaster && alive(d->postmaster))
            wd_log_warn("%s", walden_error_last()->message);
    }
    wd_free(pg_ctl);
    if (d->postmaster > 0) {
        for (int i = 0; i < 100 && alive(d->postmaster); i++)
            nap_ms(50);
        if (alive(d->postmaster)) {
            wd_log_warn("the drill's server (pid %ld) is still running: killing it",
                        (long)d->postmaster);
            kill(d->postmaster, SIGKILL);
            for (int i = 0; i < 100 && alive(d->postmaster); i++)
                nap_ms(50);
        }
    }
    server_pid = 0;
    d->postmaster = 0;
    d->started = false;
}

/* ---- checks ---- */

typedef struct pgc {
    const wd_libpq *pq;
    PGconn *conn;
} pgc;

static void one_line(char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '\t')
            s[i] = ' ';
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
}

static int db_connect(drill *d, const char *user, const char *db, pgc *c, char *err, size_t cap)
{
    c->pq = wd_libpq_get();
    if (!c->pq) {
        snprintf(err, cap, "%s", walden_error_last()->message);
        return WALDEN_EPG;
    }
    const char *keys[] = {"host", "port", "user", "dbname", "application_name", NULL};
    const char *vals[] = {d->sock, SOCKET_PORT, user, db, "walden-drill", NULL};
    c->conn = c->pq->connectdbParams(keys, vals, 0);
    if (!c->conn || c->pq->status(c->conn) != CONNECTION_OK) {
        snprintf(err, cap, "%s", c->conn ? c->pq->errorMessage(c->conn) : "out of memory");
        one_line(err);
        c->pq->finish(c->conn);
        c->conn = NULL;
        return WALDEN_EPG;
    }
    return 0;
}

static void db_close(pgc *c)
{
    if (c->conn)
        c->pq->finish(c->conn);
    c->conn = NULL;
}

/* Runs sql with text parameters; on failure the message goes to err. */
static PGresult *db_query(pgc *c, const char *sql, int n, const char *const *params, char *err,
                          size_t cap)
{
    PGresult *r = c->pq->execParams(c->conn, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = c->pq->resultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return r;
    snprintf(err, cap, "%s", c->pq->errorMessage(c->conn));
    one_line(err);
    c->pq->clear(r);
    return NULL;
}

/* Reads every table, TOAST table and populated materialized view. */
static int check_read(drill *d, pgc *c, const char *db)
{
    double t0 = mono();
    char err[1024], detail[1400];
    PGresult *list = db_query(c,
                              "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
                              "JOIN pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE c.relkind IN ('r', 't', 'm') AND c.relpersistence <> 't' "
                              "AND (c.relkind <> 'm' OR c.relispopulated) ORDER BY 1",
                              0, NULL, err, sizeof(err));
    if (!list)
        return add_check(d, "read", db, "fail", err, mono() - t0);
    /* every heap page, not an index-only scan of a table's index */
    PGresult *set = db_query(c,
                             "SELECT set_config('enable_indexonlyscan', 'off', false), "
                             "set_config('enable_indexscan', 'off', false), "
                             "set_config('enable_bitmapscan', 'off', false)",
                             0, NULL, err, sizeof(err));
    if (!set) {
        c->pq->clear(list);
        return add_check(d, "read", db, "fail", err, mono() - t0);
    }
    c->pq->clear(set);
    int n = c->pq->ntuples(list), bad = 0;
    uint64_t rows = 0;
    char first[1200] = "";
    for (int i = 0; i < n && !cancelled(); i++) {
        const char *rel = c->pq->getvalue(list, i, 0);
        char *sql = wd_asprintf("SELECT count(*) FROM ONLY %s", rel);
        if (!sql) {
            c->pq->clear(list);
            return WALDEN_ENOMEM;
        }
        PGresult *r = db_query(c, sql, 0, NULL, err, sizeof(err));
        wd_free(sql);
        if (!r) {
            if (!bad++)
                snprintf(first, sizeof(first), "%s: %s", rel, err);
            continue;
        }
        rows += strtoull(c->pq->getvalue(r, 0, 0), NULL, 10);
        c->pq->clear(r);
    }
    c->pq->clear(list);
    if (bad)
        snprintf(detail, sizeof(detail), "%d of %d tables cannot be read, first %s", bad, n, first);
    else
        snprintf(detail, sizeof(detail), "%d tables read, %" PRIu64 " rows", n, rows);
    return add_check(d, "read", db, bad ? "fail" : "pass", detail, mono() - t0);
}

/* amcheck's bt_index_check on every btree index, when the extension can
 * be created; it is dropped again when the drill created it. */
static int check_amcheck(drill *d, pgc *c, const char *db)
{
    double t0 = mono();
    char err[1024], detail[1400];
    PGresult *r = db_query(c,
                           "SELECT quote_ident(n.nspname) FROM pg_extension e "
                           "JOIN pg_namespace n ON n.oid = e.extnamespace "
                           "WHERE e.extname = 'amcheck'",
                           0, NULL, err, sizeof(err));
    if (!r)
        return add_check(d, "amcheck", db, "fail", err, mono() - t0);
    bool had = c->pq->ntuples(r) > 0;
    char schema[256] = "";
    if (had)
        snprintf(schema, sizeof(schema), "%s", c->pq->getvalue(r, 0, 0));
    c->pq->clear(r);
    if (!had) {
        r = db_query(c, "CREATE EXTENSION amcheck SCHEMA pg_catalog", 0, NULL, err, sizeof(err));
        if (!r) {
            snprintf(detail, sizeof(detail), "amcheck is not available: %s", err);
            return add_check(d, "amcheck", db, "skip", detail, mono() - t0);
        }
        c->pq->clear(r);
        snprintf(schema, sizeof(schema), "pg_catalog");
    }
    PGresult *list = db_query(c,
                              "SELECT c.oid::text, c.oid::regclass::text FROM pg_index i "
                              "JOIN pg_class c ON c.oid = i.indexrelid "
                              "JOIN pg_am a ON a.oid = c.relam "
                              "WHERE a.amname = 'btree' AND c.relpersistence <> 't' "
                              "AND i.indisvalid AND i.indisready ORDER BY 2",
                              0, NULL, err, sizeof(err));
    int n = 0, bad = 0, rc = 0;
    char first[1200] = "";
    if (!list) {
        bad = 1;
        snprintf(first, sizeof(first), "cannot list the indexes: %s", err);
    } else {
        n = c->pq->ntuples(list);
        char *sql = wd_asprintf("SELECT %s.bt_index_check($1::oid::regclass)", schema);
        if (!sql)
            rc = WALDEN_ENOMEM;
        for (int i = 0; sql && i < n && !cancelled(); i++) {
            const char *params[1] = {c->pq->getvalue(list, i, 0)};
            PGresult *q = db_query(c, sql, 1, params, err, sizeof(err));
            if (q)
                c->pq->clear(q);
            else if (!bad++)
                snprintf(first, sizeof(first), "%s: %s", c->pq->getvalue(list, i, 1), err);
        }
        wd_free(sql);
        c->pq->clear(list);
    }
    if (!had && (r = db_query(c, "DROP EXTENSION amcheck", 0, NULL, err, sizeof(err))))
        c->pq->clear(r);
    if (rc)
        return rc;
    if (bad)
        snprintf(detail, sizeof(detail), "%d of %d btree indexes failed, first %s", bad, n, first);
    else
        snprintf(detail, sizeof(detail), "%d btree indexes checked", n);
    return add_check(d, "amcheck", db, bad ? "fail" : "pass", detail, mono() - t0);
}

/* The check-sql file, sent as one simple query: the server answers each
 * statement with a result of its own, and stops at the first error. */
static int check_sql(drill *d, const char *db)
{
    double t0 = mono();
    char err[1024], detail[1400];
    pgc c = {0};
    if (db_connect(d, d->superuser, db, &c, err, sizeof(err)))
        return add_check(d, "sql", db, "fail", err, mono() - t0);
    int rc = 0, n = 0;
    bool failed = false;
    if (!c.pq->sendQuery(c.conn, d->check_sql)) {
        snprintf(err, sizeof(err), "%s", c.pq->errorMessage(c.conn));
        one_line(err);
        db_close(&c);
        return add_check(d, "sql", db, "fail", err, mono() - t0);
    }
    PGresult *r;
    double ts = mono();
    while ((r = c.pq->getResult(c.conn))) {
        ExecStatusType st = c.pq->resultStatus(r);
        if (st == PGRES_EMPTY_QUERY) {
            c.pq->clear(r);
            continue;
        }
        n++;
        const char *result = "pass";
        if (st == PGRES_TUPLES_OK && c.pq->nfields(r) == 1 && c.pq->ntuples(r) == 1 &&
            c.pq->ftype(r, 0) == BOOLOID) {
            const char *v = c.pq->getisnull(r, 0, 0) ? "null" : c.pq->getvalue(r, 0, 0);
            bool ok = strcmp(v, "t") == 0;
            snprintf(detail, sizeof(detail), "statement %d returned %s", n,
                     ok ? "true" : (strcmp(v, "f") == 0 ? "false" : v));
            result = ok ? "pass" : "fail";
        } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            snprintf(detail, sizeof(detail), "statement %d succeeded", n);
        } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            snprintf(detail, sizeof(detail), "statement %d: COPY is not supported", n);
            result = "fail";
        } else {
            snprintf(err, sizeof(err), "%s", c.pq->resultErrorMessage(r));
            one_line(err);
            snprintf(detail, sizeof(detail), "statement %d failed: %s", n, err);
            result = "fail";
        }
        c.pq->clear(r);
        double now = mono();
        if ((rc = add_check(d, "sql", db, result, detail, now - ts)))
            break;
        ts = now;
        if (strcmp(result, "fail") == 0) {
            failed = true;
            if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH)
                break; /* the connection is closed below */
        }
    }
    db_close(&c);
    if (!rc && n == 0 && !failed)
        rc = add_check(d, "sql", db, "skip", "the file has no statement", mono() - t0);
    return rc;
}

/* Where the restored server's replay ended: pg_last_wal_replay_lsn(), on
 * the timeline its promotion branched from, which the new timeline's
 * history file in its pg_wal names on its last line ("parent switchpoint
 * reason"). Left unknown (0) when anything does not parse. */
static void replayed_point(drill *d, const char *replay_lsn, const char *walfile)
{
    wd_wal_name now;
    uint64_t lsn;
    char name[32], *path = NULL, *text = NULL;
    size_t len;
    if (!*replay_lsn || wd_lsn_parse(replay_lsn, &lsn) || wd_wal_name_parse(walfile, &now) ||
        now.tli < 2) {
        walden_error_clear();
        return;
    }
    snprintf(name, sizeof(name), "pg_wal/%08X.history", now.tli);
    if (!(path = wd_path_join(d->pgdata, name)) || wd_file_read_all(path, 1u << 20, &text, &len)) {
        wd_log_info("drill: cannot read the history of timeline %u", now.tli);
        walden_error_clear();
        wd_free(path);
        return;
    }
    unsigned long parent = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned long tli;
        unsigned hi, lo;
        if (*line != '#' && sscanf(line, "%lu %X/%X", &tli, &hi, &lo) == 3)
            parent = tli;
    }
    if (parent > 0 && parent < now.tli) {
        d->replayed_tli = (uint32_t)parent;
        d->res->pub.replayed_lsn = lsn;
    }
    wd_free(text);
    wd_free(path);
}

/* Finds a role to connect as: the configured pguser, the server's OS user,
 * postgres; then the bootstrap superuser, which every later connection
 * uses. Reads the recovered point meanwhile. */
static int first_connection(drill *d)
{
    const char *user_opt = walden_config_get(d->cfg, "pguser");
    const char *users[] = {user_opt && *user_opt ? user_opt : d->user, d->user, "postgres"};
    const char *dbs[] = {"postgres", "template1"};
    char err[1024] = "";
    pgc c = {0};
    for (size_t i = 0; i < WD_ARRAY_LEN(users) && !c.conn; i++)
        for (size_t j = 0; j < WD_ARRAY_LEN(dbs) && !c.conn; j++)
            db_connect(d, users[i], dbs[j], &c, err, sizeof(err));
    if (!c.conn)
        return wd_error_set(WALDEN_EPG, "cannot connect to the restored server: %s", err);
    PGresult *r = db_query(&c,
                           "SELECT pg_is_in_recovery()::text, "
                           "coalesce((extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000)"
                           "::int8, 0)::text, (SELECT rolname FROM pg_roles WHERE oid = 10), "
                           "coalesce(pg_last_wal_replay_lsn()::text, ''), "
                           "CASE WHEN pg_is_in_recovery() THEN '' "
                           "ELSE pg_walfile_name(pg_current_wal_lsn()) END",
                           0, NULL, err, sizeof(err));
    int rc = 0;
    if (!r) {
        rc = wd_error_set(WALDEN_EPG, "cannot query the restored server: %s", err);
    } else {
        int64_t last = 0;
        (void)wd_parse_int64(c.pq->getvalue(r, 0, 1), 0, INT64_MAX, &last);
        snprintf(d->superuser, sizeof(d->superuser), "%s", c.pq->getvalue(r, 0, 2));
        if (strcmp(c.pq->getvalue(r, 0, 0), "true") == 0)
            rc = wd_error_set(WALDEN_EPG, "the restored server is still in recovery");
        walden_drill_result *p = &d->res->pub;
        replayed_point(d, c.pq->getvalue(r, 0, 3), c.pq->getvalue(r, 0, 4));
        p->last_xact_ms = last;
        p->recovered_to_ms = wd_drill_recovered_to(last, d->meta.pub.stop_time_ms);
        if (p->recovered_to_ms > 0)
            p->rpo_seconds = (double)(p->started_at_ms - p->recovered_to_ms) / 1000.0;
        if (p->rpo_seconds < 0 && p->recovered_to_ms > 0)
            p->rpo_seconds = 0;
        c.pq->clear(r);
    }
    db_close(&c);
    return rc;
}

static int run_checks(drill *d)
{
    char err[1024];
    pgc c = {0};
    if (db_connect(d, d->superuser, "template1", &c, err, sizeof(err)) &&
        db_connect(d, d->superuser, "postgres", &c, err, sizeof(err)))
        return wd_error_set(WALDEN_EPG, "cannot connect to the restored server: %s", err);
    PGresult *dbs = db_query(&c, "SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1", 0,
                             NULL, err, sizeof(err));
    db_close(&c);
    if (!dbs)
        return wd_error_set(WALDEN_EPG, "cannot list the databases: %s", err);
    int rc = 0;
    for (int i = 0; !rc && i < c.pq->ntuples(dbs); i++) {
        if (cancelled())
            break;
        const char *db = c.pq->getvalue(dbs, i, 0);
        double t0 = mono();
        pgc dc = {0};
        if (db_connect(d, d->superuser, db, &dc, err, sizeof(err))) {
            rc = add_check(d, "connect", db, "fail", err, mono() - t0);
            continue;
        }
        if (!(rc = add_check(d, "connect", db, "pass", "accepts connections", mono() - t0)) &&
            !(rc = check_read(d, &dc, db)) && !cancelled())
            rc = check_amcheck(d, &dc, db);
        db_close(&dc);
    }
    c.pq->clear(dbs);
    if (!rc && d->check_sql && !cancelled()) {
        const char *db = walden_config_get(d->cfg, "pgdatabase");
        rc = check_sql(d, db && *db ? db : "postgres");
    }
    if (!rc && cancelled())
        rc = wd_error_set(WALDEN_ERROR, "the drill was interrupted");
    return rc;
}

/* ---- preparing ---- */

static int choose_backup(drill *d, const wd_target *t)
{
    wd_backup_meta **metas;
    size_t n;
    int rc = wd_backup_list_usable(d->repo, walden_config_get(d->cfg, "set"), &metas, &n);
    if (rc)
        return rc;
    /* the timeline first: a drill follows the one a restore would */
    walden_timelines *tls = NULL;
    uint32_t follow = 0;
    char why[1100];
    if ((rc = wd_timeline_for_restore(d->repo, t->timeline, &tls, &follow, why, sizeof(why)))) {
        wd_backup_list_free(metas, n);
        return rc;
    }
    const char *set = walden_config_get(d->cfg, "set");
    wd_backup_meta *pick = NULL;
    for (size_t i = n; i-- > 0 && !pick && !rc;) {
        wd_backup_meta *m = metas[i];
        if (set && *set)
            pick = strcmp(m->id, set) == 0 ? m : NULL;
        else if (t->kind == WD_TARGET_TIME)
            pick = m->pub.stop_time_ms <= t->time_ms ? m : NULL;
        else if (t->kind == WD_TARGET_LSN)
            pick = m->pub.stop_lsn <= t->lsn ? m : NULL;
        else
            pick = m;
        int skip = pick ? wd_timeline_skip(tls, m->id, m->pub.timeline, m->pub.stop_lsn, follow,
                                           set && *set)
                        : 0;
        if (skip < 0)
            rc = skip;
        if (skip)
            pick = NULL;
    }
    if (rc) {
        /* the message is set */
    } else if (!pick) {
        if (set && *set)
            rc = wd_error_set(WALDEN_ENOTFOUND, "backup '%s' does not exist in cluster '%s'", set,
                              d->repo->cluster);
        else if (n == 0)
            rc = wd_error_set(WALDEN_ENOTFOUND, "cluster '%s' has no backup", d->repo->cluster);
        else
            rc = wd_error_set(WALDEN_ENOTFOUND, "no backup ends before the target '%s'", t->value);
    } else {
        memcpy(&d->meta, pick, sizeof(d->meta));
        d->meta.pgdata = pick->pgdata ? wd_strdup(pick->pgdata) : NULL;
        d->meta.owner = pick->owner ? wd_strdup(pick->owner) : NULL;
        wd_backup_meta_link(&d->meta);
        d->have_meta = true;
        rc = set_str(&d->res->pub.backup_id, d->meta.id);
        wd_log_info("drill follows timeline %u: %s", follow ? follow : pick->pub.timeline, why);
    }
    wd_backup_list_free(metas, n);
    walden_timelines_free(tls);
    return rc;
}

/* Who runs the server: the current user, or as root the owner of the
 * backed-up data directory, else postgres. */
static int choose_user(drill *d)
{
    if (geteuid() != 0) {
        struct passwd *pw = getpwuid(geteuid());
        snprintf(d->user, sizeof(d->user), "%s", pw ? pw->pw_name : "postgres");
        return 0;
    }
    const char *names[] = {d->meta.owner, "postgres"};
    for (size_t i = 0; i < WD_ARRAY_LEN(names); i++) {
        if (!names[i] || !*names[i])
            continue;
        struct passwd *pw = getpwnam(names[i]);
        if (pw && pw->pw_uid != 0) {
            d->as_user = true;
            d->uid = pw->pw_uid;
            d->gid = pw->pw_gid;
            snprintf(d->user, sizeof(d->user), "%s", pw->pw_name);
            return 0;
        }
    }
    return wd_error_set(WALDEN_EPERM,
                        "PostgreSQL does not run as root, and neither '%s' (the owner of the "
                        "backed-up data directory) nor 'postgres' is a user here",
                        d->meta.owner ? d->meta.owner : "");
}

static int make_scratch(drill *d)
{
    const char *parent = walden_config_get(d->cfg, "scratch-dir");
    if (!parent || !*parent)
        parent = getenv("TMPDIR");
    if (!parent || !*parent)
        parent = "/tmp";
    char *tmpl = wd_asprintf("%s/walden-drill-%s-XXXXXX", parent, d->repo->cluster);
    if (!tmpl)
        return WALDEN_ENOMEM;
    if (!mkdtemp(tmpl)) {
        int rc = wd_error_set_errno(errno, "cannot create a scratch directory in '%s'", parent);
        wd_free(tmpl);
        return rc;
    }
    /* its real path: restore refuses tablespace directories reached
     * through a symlink, and TMPDIR may be one */
    char *real = realpath(tmpl, NULL);
    if (real) {
        wd_free(tmpl);
        tmpl = wd_strdup(real);
        free(real);
        if (!tmpl)
            return WALDEN_ENOMEM;
    }
    d->scratch = tmpl;
    if (!(d->pgdata = wd_path_join(d->scratch, "pgdata")) ||
        !(d->sock = wd_path_join(d->scratch, "socket")) ||
        !(d->log = wd_path_join(d->scratch, "server.log")) ||
        !(d->ctl_log = wd_path_join(d->scratch, "pg_ctl.log")))
        return WALDEN_ENOMEM;
    /* a unix socket's path has at most 107 bytes: under a deep scratch
     * directory the socket's folder goes to /tmp instead */
    if (strlen(d->sock) + strlen("/.s.PGSQL." SOCKET_PORT) > 107) {
        char *tmp = wd_strdup("/tmp/walden-drill-socket-XXXXXX");
        if (!tmp)
            return WALDEN_ENOMEM;
        if (!mkdtemp(tmp)) {
            int rc = wd_error_set_errno(errno, "cannot create a socket folder in /tmp");
            wd_free(tmp);
            return rc;
        }
        wd_free(d->sock);
        d->sock = tmp;
        d->sock_outside = true;
    } else if (mkdir(d->sock, 0700) != 0) {
        return wd_error_set_errno(errno, "cannot create '%s'", d->sock);
    }
    if (d->as_user &&
        (chown(d->scratch, d->uid, d->gid) != 0 || chown(d->sock, d->uid, d->gid) != 0))
        return wd_error_set_errno(errno, "cannot give '%s' to user '%s'", d->scratch, d->user);
    return set_str(&d->res->pub.scratch_dir, d->scratch);
}

typedef struct ts_ctx {
    drill *d;
    wd_buf map;
} ts_ctx;

static int ts_entry(const wd_manifest_entry *e, void *ctx)
{
    ts_ctx *t = ctx;
    if (e->type != 'l' || !wd_str_starts_with(e->path, "pg_tblspc/"))
        return 0;
    const char *oid = e->path + 10;
    if (!*oid || strspn(oid, "0123456789") != strlen(oid))
        return 0;
    wd_buf_printf(&t->map, "%s%s=%s/tablespaces/%s", t->map.len ? "\n" : "", oid, t->d->scratch,
                  oid);
    return 0;
}

/* Every tablespace goes into the scratch directory: never where the
 * backed-up cluster keeps it (that may be this very machine). */
static int tablespace_map(drill *d)
{
    ts_ctx t = {d, {0}};
    wd_backup_meta m = {0};
    int rc = wd_backup_read_manifest(d->repo, d->meta.id, &m, ts_entry, &t);
    wd_backup_meta_clear(&m);
    if (!rc && t.map.failed)
        rc = WALDEN_ENOMEM;
    if (rc) {
        wd_free(t.map.s);
        return rc;
    }
    d->ts_map = t.map.s;
    if (d->ts_map) {
        char *dir = wd_path_join(d->scratch, "tablespaces");
        if (!dir)
            return WALDEN_ENOMEM;
        if (mkdir(dir, 0700) != 0 || (d->as_user && chown(dir, d->uid, d->gid) != 0))
            rc = wd_error_set_errno(errno, "cannot create '%s'", dir);
        wd_free(dir);
    }
    return rc;
}

/* The restore's configuration: the caller's, with the scratch data
 * directory, the chosen backup, the tablespaces mapped into the scratch
 * directory, and promotion at the target. */
/* A copy of every option set in `cfg`, with its source. */
static int config_copy(const walden_config *cfg, walden_config **out)
{
    walden_config *copy;
    int rc = walden_config_new(&copy);
    if (rc)
        return rc;
    for (const walden_option_info *o = walden_option_list(); !rc && o->name; o++) {
        walden_config_source src = walden_config_source_of(cfg, o->name);
        const char *v = walden_config_get(cfg, o->name);
        if (src != WALDEN_SOURCE_DEFAULT && v && *v)
            rc = walden_config_set(copy, o->name, v, src);
    }
    if (rc) {
        walden_config_free(copy);
        return rc;
    }
    *out = copy;
    return 0;
}

static int restore_config(drill *d, const wd_target *t, walden_config **out)
{
    walden_config *rc_cfg;
    int rc = config_copy(d->cfg, &rc_cfg);
    if (rc)
        return rc;
    if (!rc)
        rc = walden_config_set(rc_cfg, "pgdata", d->pgdata, WALDEN_SOURCE_FLAG);
    if (!rc)
        rc = walden_config_set(rc_cfg, "set", d->meta.id, WALDEN_SOURCE_FLAG);
    if (!rc && d->ts_map)
        rc = walden_config_set(rc_cfg, "tablespace-map", d->ts_map, WALDEN_SOURCE_FLAG);
    if (!rc && t->kind != WD_TARGET_END)
        rc = walden_config_set(rc_cfg, "target-action", "promote", WALDEN_SOURCE_FLAG);
    /* a drill recovers and ends recovery, never as a standby */
    if (!rc)
        rc = walden_config_set(rc_cfg, "type", "default", WALDEN_SOURCE_FLAG);
    if (rc) {
        walden_config_free(rc_cfg);
        return rc;
    }
    *out = rc_cfg;
    return 0;
}

/* The time of the server's "redo done at" log line, Unix ms; 0: none. */
static int64_t redo_done_ms(drill *d)
{
    char *line = log_line(d->log, "redo done at");
    int64_t ms = 0;
    if (line) {
        char *end = strstr(line, " [");
        if (end) {
            *end = '\0';
            if (wd_time_parse(line, &ms))
                ms = 0;
        }
    }
    wd_free(line);
    return ms;
}

/* ---- the source server's archiver ---- */

static void archiver_state(drill *d)
{
    wd_pg_where w;
    wd_pg_where_get(d->cfg, &w);
    if (!w.host && !w.port)
        return;
    const wd_libpq *pq = wd_libpq_get();
    if (!pq)
        return;
    /* the configured connection, as wd_pg_connect makes it, but with a
     * timeout: an unreachable source must not hold the drill's report */
    const char *keys[8], *vals[8];
    int n = 0;
    const char *const opts[][2] = {
        {"host", w.host}, {"port", w.port}, {"user", w.user}, {"dbname", w.dbname}};
    for (size_t i = 0; i < WD_ARRAY_LEN(opts); i++) {
        if (opts[i][1]) {
            keys[n] = opts[i][0];
            vals[n++] = opts[i][1];
        }
    }
    keys[n] = "application_name";
    vals[n++] = "walden-drill";
    keys[n] = "connect_timeout";
    vals[n++] = "10";
    keys[n] = NULL;
    vals[n] = NULL;
    pgc c = {pq, pq->connectdbParams(keys, vals, 0)};
    if (!c.conn || pq->status(c.conn) != CONNECTION_OK) {
        char why[1024];
        snprintf(why, sizeof(why), "%s", c.conn ? pq->errorMessage(c.conn) : "out of memory");
        one_line(why);
        wd_log_info("the source server is not reachable: %s", why);
        db_close(&c);
        return;
    }
    char err[1024];
    PGresult *r = db_query(&c,
                           "SELECT (SELECT system_identifier::text FROM pg_control_system()), "
                           "coalesce(last_archived_wal, ''), coalesce((extract(epoch FROM "
                           "last_archived_time) * 1000)::int8, 0)::text, failed_count::text "
                           "FROM pg_stat_archiver",
                           0, NULL, err, sizeof(err));
    if (r) {
        uint64_t sysid = 0, failed = 0;
        int64_t at = 0;
        if (wd_parse_uint64(pq->getvalue(r, 0, 0), &sysid) == 0 &&
            sysid == d->repo->info.system_id &&
            wd_parse_int64(pq->getvalue(r, 0, 2), 0, INT64_MAX, &at) == 0 &&
            wd_parse_uint64(pq->getvalue(r, 0, 3), &failed) == 0 &&
            set_str(&d->res->pub.last_archived_wal, pq->getvalue(r, 0, 1)) == 0) {
            d->res->pub.archiver_known = 1;
            d->res->pub.last_archived_ms = at;
            d->res->pub.archive_failed_count = failed;
        }
        pq->clear(r);
    } else {
        wd_log_info("cannot read the source server's archiver: %s", err);
    }
    db_close(&c);
}

/* ---- reports ---- */

/* An LSN as a JSON string ("0/5000028"), or null when 0 (unknown). */
static void buf_lsn(wd_buf *b, uint64_t lsn)
{
    if (lsn)
        wd_buf_printf(b, "\"%X/%X\"", (unsigned)(lsn >> 32), (unsigned)lsn);
    else
        wd_buf_printf(b, "null");
}

char *wd_drill_report_json(const walden_drill_result *r)
{
    wd_buf b = {0};
    wd_buf_printf(&b, "{\"id\": ");
    wd_buf_json_str(&b, r->id);
    wd_buf_printf(&b, ", \"cluster\": ");
    wd_buf_json_str(&b, r->cluster);
    wd_buf_printf(&b, ", \"kind\": ");
    wd_buf_json_str(&b, r->kind);
    wd_buf_printf(&b, ", \"status\": ");
    wd_buf_json_str(&b, wd_drill_status_name(r->status));
    wd_buf_printf(&b, ", \"error\": ");
    wd_buf_json_str(&b, *r->error ? r->error : NULL);
    wd_buf_printf(&b, ",\n \"backup_id\": ");
    wd_buf_json_str(&b, *r->backup_id ? r->backup_id : NULL);
    wd_buf_printf(&b, ", \"started_at\": ");
    wd_buf_json_time(&b, r->started_at_ms);
    wd_buf_printf(&b, ", \"finished_at\": ");
    wd_buf_json_time(&b, r->finished_at_ms);
    wd_buf_printf(&b,
                  ",\n \"rto_seconds\": %.3f, \"rto_target_seconds\": %" PRId64 ", \"rto_met\": %s",
                  r->rto_seconds, r->rto_target_seconds, r->rto_met ? "true" : "false");
    if (r->rpo_seconds >= 0)
        wd_buf_printf(&b, ",\n \"rpo_seconds\": %.3f", r->rpo_seconds);
    else
        wd_buf_printf(&b, ",\n \"rpo_seconds\": null");
    wd_buf_printf(&b, ", \"rpo_target_seconds\": %" PRId64 ", \"rpo_met\": %s",
                  r->rpo_target_seconds, r->rpo_met ? "true" : "false");
    wd_buf_printf(&b, ", \"source_lsn\": ");
    buf_lsn(&b, r->source_lsn);
    wd_buf_printf(&b, ", \"replayed_lsn\": ");
    buf_lsn(&b, r->replayed_lsn);
    wd_buf_printf(&b, ",\n \"recovered_to\": ");
    wd_buf_json_time(&b, r->recovered_to_ms);
    wd_buf_printf(&b, ", \"last_transaction\": ");
    wd_buf_json_time(&b, r->last_xact_ms);
    wd_buf_printf(&b,
                  ",\n \"phases\": {\"restore\": %.3f, \"replay\": %.3f, \"startup\": %.3f, "
                  "\"checks\": %.3f}",
                  r->restore_seconds, r->replay_seconds, r->startup_seconds, r->checks_seconds);
    wd_buf_printf(&b,
                  ",\n \"checks_passed\": %" PRIu64 ", \"checks_failed\": %" PRIu64
                  ", \"checks_skipped\": %" PRIu64 ",\n \"checks\": [",
                  r->checks_passed, r->checks_failed, r->checks_skipped);
    for (size_t i = 0; i < r->n_checks; i++) {
        const walden_drill_check *c = &r->checks[i];
        wd_buf_printf(&b, "%s\n  {\"name\": ", i ? "," : "");
        wd_buf_json_str(&b, c->name);
        wd_buf_printf(&b, ", \"database\": ");
        wd_buf_json_str(&b, c->database);
        wd_buf_printf(&b, ", \"result\": ");
        wd_buf_json_str(&b, c->result);
        wd_buf_printf(&b, ", \"detail\": ");
        wd_buf_json_str(&b, c->detail);
        wd_buf_printf(&b, ", \"seconds\": %.3f}", c->seconds);
    }
    wd_buf_printf(&b, "%s],\n \"scratch_dir\": ", r->n_checks ? "\n " : "");
    wd_buf_json_str(&b, *r->scratch_dir ? r->scratch_dir : NULL);
    wd_buf_printf(&b, ",\n \"archiver\": ");
    if (r->archiver_known) {
        wd_buf_printf(&b, "{\"last_archived_wal\": ");
        wd_buf_json_str(&b, *r->last_archived_wal ? r->last_archived_wal : NULL);
        wd_buf_printf(&b, ", \"last_archived_time\": ");
        wd_buf_json_time(&b, r->last_archived_ms);
        wd_buf_printf(&b, ", \"failed_count\": %" PRIu64 "}", r->archive_failed_count);
    } else {
        wd_buf_printf(&b, "null");
    }
    wd_buf_printf(&b, "}\n");
    return wd_buf_take(&b);
}

/* A Prometheus label value: \\, \" and \n escaped. */
static void metric_head(wd_buf *b, const char *name, const char *help)
{
    wd_buf_printf(b, "# HELP walden_drill_%s %s\n# TYPE walden_drill_%s gauge\n", name, help, name);
}

static void metric(wd_buf *b, const walden_drill_result *r, const char *name, const char *extra,
                   const char *extra_value, double v)
{
    wd_buf_printf(b, "walden_drill_%s{cluster=\"", name);
    wd_buf_prom_label(b, r->cluster);
    wd_buf_printf(b, "\"");
    if (extra) {
        wd_buf_printf(b, ",%s=\"", extra);
        wd_buf_prom_label(b, extra_value);
        wd_buf_printf(b, "\"");
    }
    wd_buf_printf(b, "} %.3f\n", v);
}

char *wd_drill_metrics_text(const walden_drill_result *r)
{
    wd_buf b = {0};
    metric_head(&b, "success",
                "1 when the last drill passed: restored, recovered, checked, within both targets");
    metric(&b, r, "success", NULL, NULL, r->status == WALDEN_DRILL_PASSED);
    metric_head(&b, "failed",
                "1 when the last drill failed: restore, server start, recovery or a check");
    metric(&b, r, "failed", NULL, NULL, r->status == WALDEN_DRILL_FAILED);
    metric_head(&b, "rto_seconds", "achieved recovery time of the last drill (restore to checked)");
    metric(&b, r, "rto_seconds", NULL, NULL, r->rto_seconds);
    metric_head(&b, "rto_target_seconds", "the recovery time objective (rto-target)");
    metric(&b, r, "rto_target_seconds", NULL, NULL, (double)r->rto_target_seconds);
    metric_head(&b, "rto_met", "1 when the last drill's recovery time met rto-target");
    metric(&b, r, "rto_met", NULL, NULL, r->rto_met);
    if (r->rpo_seconds >= 0) {
        metric_head(&b, "rpo_seconds",
                    "achieved recovery point of the last drill: 0 when it replayed all the WAL "
                    "the source had flushed at its start, else its start minus the point "
                    "recovered to");
        metric(&b, r, "rpo_seconds", NULL, NULL, r->rpo_seconds);
    }
    metric_head(&b, "rpo_target_seconds", "the recovery point objective (rpo-target)");
    metric(&b, r, "rpo_target_seconds", NULL, NULL, (double)r->rpo_target_seconds);
    metric_head(&b, "rpo_met", "1 when the last drill's recovery point met rpo-target");
    metric(&b, r, "rpo_met", NULL, NULL, r->rpo_met);
    metric_head(&b, "phase_seconds", "duration of each phase of the last drill");
    metric(&b, r, "phase_seconds", "phase", "restore", r->restore_seconds);
    metric(&b, r, "phase_seconds", "phase", "replay", r->replay_seconds);
    metric(&b, r, "phase_seconds", "phase", "startup", r->startup_seconds);
    metric(&b, r, "phase_seconds", "phase", "checks", r->checks_seconds);
    metric_head(&b, "checks", "checks of the last drill by result");
    metric(&b, r, "checks", "result", "pass", (double)r->checks_passed);
    metric(&b, r, "checks", "result", "fail", (double)r->checks_failed);
    metric(&b, r, "checks", "result", "skip", (double)r->checks_skipped);
    metric_head(&b, "last_run_timestamp_seconds", "when the last drill finished, Unix time");
    metric(&b, r, "last_run_timestamp_seconds", NULL, NULL, (double)r->finished_at_ms / 1000.0);
    if (r->recovered_to_ms > 0) {
        metric_head(&b, "recovered_to_timestamp_seconds",
                    "the point in time the last drill recovered to, Unix time");
        metric(&b, r, "recovered_to_timestamp_seconds", NULL, NULL,
               (double)r->recovered_to_ms / 1000.0);
    }
    return wd_buf_take(&b);
}

char *wd_drill_record_text(const walden_drill_result *r)
{
    wd_buf b = {0};
    char error[1024];
    snprintf(error, sizeof(error), "%s", r->error);
    one_line(error);
    wd_buf_printf(
        &b,
        "# walden drill record\nformat = 1\nid = %s\nkind = %s\nbackup-id = %s\nstatus = %s\n"
        "error = %s\nstarted-at-ms = %" PRId64 "\nfinished-at-ms = %" PRId64 "\n"
        "restore-seconds = %.3f\nreplay-seconds = %.3f\nstartup-seconds = %.3f\n"
        "checks-seconds = %.3f\nrto-seconds = %.3f\nrpo-seconds = %.3f\n"
        "rto-target-seconds = %" PRId64 "\nrpo-target-seconds = %" PRId64 "\n"
        "rto-met = %d\nrpo-met = %d\nrecovered-to-ms = %" PRId64 "\nlast-xact-ms = %" PRId64
        "\nchecks-passed = %" PRIu64 "\nchecks-failed = %" PRIu64 "\nchecks-skipped = %" PRIu64
        "\nsource-lsn = %" PRIu64 "\nreplayed-lsn = %" PRIu64 "\n",
        r->id, r->kind, r->backup_id, wd_drill_status_name(r->status), error, r->started_at_ms,
        r->finished_at_ms, r->restore_seconds, r->replay_seconds, r->startup_seconds,
        r->checks_seconds, r->rto_seconds, r->rpo_seconds, r->rto_target_seconds,
        r->rpo_target_seconds, r->rto_met, r->rpo_met, r->recovered_to_ms, r->last_xact_ms,
        r->checks_passed, r->checks_failed, r->checks_skipped, r->source_lsn, r->replayed_lsn);
    return wd_buf_take(&b);
}

static int record_kv(const char *name, const char *value, int line, void *ctx)
{
    (void)line;
    walden_drill_result *r = ctx;
    int64_t i = 0;
    uint64_t u = 0;
    if (strcmp(name, "id") == 0)
        return set_str(&r->id, value);
    if (strcmp(name, "backup-id") == 0)
        return set_str(&r->backup_id, value);
    if (strcmp(name, "kind") == 0)
        return set_str(&r->kind, value);
    if (strcmp(name, "error") == 0)
        return set_str(&r->error, value);
    if (strcmp(name, "status") == 0) {
        r->status = strcmp(value, "passed") == 0           ? WALDEN_DRILL_PASSED
                    : strcmp(value, "targets-missed") == 0 ? WALDEN_DRILL_MISSED
                                                           : WALDEN_DRILL_FAILED;
        return 0;
    }
    static const struct {
        const char *name;
        size_t off;
    } dbl[] = {{"restore-seconds", offsetof(walden_drill_result, restore_seconds)},
               {"replay-seconds", offsetof(walden_drill_result, replay_seconds)},
               {"startup-seconds", offsetof(walden_drill_result, startup_seconds)},
               {"checks-seconds", offsetof(walden_drill_result, checks_seconds)},
               {"rto-seconds", offsetof(walden_drill_result, rto_seconds)},
               {"rpo-seconds", offsetof(walden_drill_result, rpo_seconds)}},
      i64[] = {{"started-at-ms", offsetof(walden_drill_result, started_at_ms)},
               {"finished-at-ms", offsetof(walden_drill_result, finished_at_ms)},
               {"rto-target-seconds", offsetof(walden_drill_result, rto_target_seconds)},
               {"rpo-target-seconds", offsetof(walden_drill_result, rpo_target_seconds)},
               {"recovered-to-ms", offsetof(walden_drill_result, recovered_to_ms)},
               {"last-xact-ms", offsetof(walden_drill_result, last_xact_ms)}},
      u64[] = {{"checks-passed", offsetof(walden_drill_result, checks_passed)},
               {"checks-failed", offsetof(walden_drill_result, checks_failed)},
               {"checks-skipped", offsetof(walden_drill_result, checks_skipped)},
               {"source-lsn", offsetof(walden_drill_result, source_lsn)},
               {"replayed-lsn", offsetof(walden_drill_result, replayed_lsn)}};
    for (size_t k = 0; k < WD_ARRAY_LEN(dbl); k++)
        if (strcmp(name, dbl[k].name) == 0) {
            char *end;
            double v = strtod(value, &end);
            /* strtod also takes "nan" and "inf", which the JSON of the
             * report and of drill --history cannot carry */
            if (end == value || *end || !isfinite(v))
                return wd_error_set(WALDEN_ECORRUPT, "drill record: bad %s '%s'", name, value);
            memcpy((char *)r + dbl[k].off, &v, sizeof(v));
            return 0;
        }
    for (size_t k = 0; k < WD_ARRAY_LEN(i64); k++)
        if (strcmp(name, i64[k].name) == 0) {
            if (wd_parse_int64(value, INT64_MIN, INT64_MAX, &i))
                return wd_error_set(WALDEN_ECORRUPT, "drill record: bad %s '%s'", name, value);
            memcpy((char *)r + i64[k].off, &i, sizeof(i));
            return 0;
        }
    for (size_t k = 0; k < WD_ARRAY_LEN(u64); k++)
        if (strcmp(name, u64[k].name) == 0) {
            if (wd_parse_uint64(value, &u))
                return wd_error_set(WALDEN_ECORRUPT, "drill record: bad %s '%s'", name, value);
            memcpy((char *)r + u64[k].off, &u, sizeof(u));
            return 0;
        }
    if (strcmp(name, "rto-met") == 0)
        r->rto_met = strcmp(value, "1") == 0;
    else if (strcmp(name, "rpo-met") == 0)
        r->rpo_met = strcmp(value, "1") == 0;
    return 0; /* unknown names: a newer walden's */
}

int wd_drill_record_parse(const char *text, size_t len, const char *origin,
                          walden_drill_result **out)
{
    drill_res *r = res_new();
    if (!r)
        return WALDEN_ENOMEM;
    int rc = wd_kv_parse(text, len, origin, record_kv, &r->pub);
    if (rc) {
        walden_drill_result_free(&r->pub);
        return rc;
    }
    *out = &r->pub;
    return 0;
}

static int write_reports(drill *d, const walden_drill_result *p)
{
    int rc = 0;
    char *record = wd_drill_record_text(p);
    char *rel = wd_asprintf("%s/%s.info", WD_DRILL_DIR, p->id);
    char *path = rel ? wd_repo_path(d->repo, rel) : NULL;
    if (!record || !path)
        rc = WALDEN_ENOMEM;
    else if ((rc = wd_repo_write_signed(d->repo, path, record, strlen(record))))
        wd_error_wrap(rc, "cannot record the drill in the repository");
    wd_free(record);
    wd_free(rel);
    wd_free(path);
    const char *report = walden_config_get(d->cfg, "report");
    if (report && *report) {
        char *json = wd_drill_report_json(p);
        int wrc = json ? wd_file_write_atomic(report, json, WD_MODE_REPORT_FILE) : WALDEN_ENOMEM;
        if (wrc && !rc)
            rc = wd_error_wrap(wrc, "cannot write the report");
        wd_free(json);
    }
    const char *metrics = walden_config_get(d->cfg, "metrics-file");
    if (metrics && *metrics) {
        char *text = wd_drill_metrics_text(p);
        int wrc = text ? wd_file_write_atomic(metrics, text, WD_MODE_METRICS_FILE) : WALDEN_ENOMEM;
        if (wrc && !rc)
            rc = wd_error_wrap(wrc, "cannot write the metrics file");
        wd_free(text);
    }
    return rc;
}

/* ---- the drill ---- */

static int drill_id(char out[32], int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return strftime(out, 32, "%Y%m%dT%H%M%SZ", &tm) ? 0 : WALDEN_ERROR;
}

/* Everything up to the checks; a failure is recorded in the result. */
static int drill_run(drill *d, const wd_target *t, const char *restore_command)
{
    walden_drill_result *p = &d->res->pub;
    int rc;
    if ((rc = choose_backup(d, t)))
        return drill_fail(d, rc, "no backup to restore");
    if ((rc = choose_user(d)))
        return drill_fail(d, rc, "cannot run the server");
    if ((rc = make_scratch(d)))
        return drill_fail(d, rc, "cannot prepare the scratch directory");
    if (d->repo->info.encrypted && (rc = wd_repo_unlock(d->repo)))
        return drill_fail(d, rc, "restore failed");
    if ((rc = tablespace_map(d)))
        return drill_fail(d, rc, "restore failed");
    walden_config *rcfg;
    if ((rc = restore_config(d, t, &rcfg)))
        return drill_fail(d, rc, "restore failed");
    wd_log_info("drill %s: restoring backup %s into '%s'", p->id, d->meta.id, d->pgdata);
    walden_restore_result rr;
    rc = walden_restore(d->repo, rcfg, restore_command, d->progress, d->progress_ctx, &rr);
    walden_config_free(rcfg);
    if (rc)
        return drill_fail(d, rc, "restore failed");
    p->timeline = rr.timeline;
    if ((rc = set_str(&d->res->pub.timeline_reason, rr.timeline_reason)))
        return drill_fail(d, rc, "restore failed");
    if (cancelled())
        return wd_error_set(WALDEN_ERROR, "the drill was interrupted");
    if (d->as_user && (rc = tree_walk(AT_FDCWD, d->scratch, d->scratch, false, d->uid, d->gid)))
        return drill_fail(d, rc, "restore failed");
    double t_restored = mono();
    int64_t w_restored = wall_ms();
    p->restore_seconds = t_restored - d->t_begin;

    if ((rc = configure_server(d)))
        return drill_fail(d, rc, "cannot configure the server");
    wd_log_info("drill %s: starting PostgreSQL on '%s' as '%s'", p->id, d->pgdata, d->user);
    if ((rc = start_server(d)))
        return drill_fail(d, rc, "the server did not start");
    rc = wait_ready(d);
    double t_ready = mono();
    int64_t redo = redo_done_ms(d);
    double t_redo = redo ? t_restored + (double)(redo - w_restored) / 1000.0 : t_ready;
    if (t_redo < t_restored)
        t_redo = t_restored;
    if (t_redo > t_ready)
        t_redo = t_ready;
    p->replay_seconds = t_redo - t_restored;
    p->startup_seconds = t_ready - t_redo;
    if (rc)
        return cancelled() ? rc : drill_fail(d, rc, "recovery failed");
    if ((rc = first_connection(d)))
        return cancelled() ? rc : drill_fail(d, rc, "recovery failed");
    wd_log_info("drill %s: recovered to %" PRId64 ", running the checks", p->id,
                p->recovered_to_ms);
    phase(d, "checks");
    rc = run_checks(d);
    p->checks_seconds = mono() - t_ready;
    if (rc && cancelled())
        return rc;
    if (rc)
        return drill_fail(d, rc, "the checks could not run");
    return 0;
}

/* ---- the dump drill ---- */

typedef struct dump_pick {
    const char *set, *dbname;
    char id[128], database[256];
    int64_t start_ms;
    int pg_version;
    bool found, usable;
} dump_pick;

static int dump_cb(const walden_dump_info *di, void *ctx)
{
    dump_pick *p = ctx;
    bool match = p->set && *p->set
                     ? strcmp(di->id, p->set) == 0
                     : strcmp(di->kind, "database") == 0 && strcmp(di->status, "ok") == 0 &&
                           (!p->dbname || !*p->dbname || strcmp(di->database, p->dbname) == 0);
    if (!match)
        return 0; /* the list is oldest first: the last match is the newest */
    /* without a name, the postgres database (often empty) is drilled only
     * when its run dumped no other database */
    if (!(p->set && *p->set) && !(p->dbname && *p->dbname) && p->found &&
        strcmp(di->database, "postgres") == 0 && strcmp(p->database, "postgres") != 0 &&
        strncmp(di->id, p->id, 16) == 0)
        return 0;
    p->found = true;
    p->usable = strcmp(di->kind, "database") == 0 && strcmp(di->status, "ok") == 0;
    snprintf(p->id, sizeof(p->id), "%s", di->id);
    snprintf(p->database, sizeof(p->database), "%s", di->database);
    p->start_ms = di->start_time_ms;
    p->pg_version = di->pg_version;
    return 0;
}

/* The configuration of walden_dump_restore into the scratch server. */
static int dump_config(drill *d, const char *id, bool globals, const char *database,
                       walden_config **out)
{
    walden_config *c;
    int rc = config_copy(d->cfg, &c);
    const char *const kv[][2] = {{"pghost", d->sock},
                                 {"pgport", SOCKET_PORT},
                                 {"pguser", d->superuser},
                                 {"pgdatabase", "postgres"},
                                 {"set", id},
                                 {"globals", globals ? "y" : "n"},
                                 /* initdb made these two, empty */
                                 {"create", database && (strcmp(database, "postgres") == 0 ||
                                                         strcmp(database, "template1") == 0)
                                                ? "n"
                                                : "y"},
                                 {"jobs", "1"}};
    for (size_t i = 0; !rc && i < WD_ARRAY_LEN(kv); i++)
        rc = walden_config_set(c, kv[i][0], kv[i][1], WALDEN_SOURCE_FLAG);
    if (!rc && database)
        rc = walden_config_set(c, "target-dbname", database, WALDEN_SOURCE_FLAG);
    if (rc) {
        walden_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* A logical dump: a new cluster (initdb), started, then the globals of the
 * dump's run and the dump itself restored into it. Phases: startup is
 * initdb and the start, restore the dump's restore, replay nothing. */
static int drill_run_dump(drill *d)
{
    walden_drill_result *p = &d->res->pub;
    dump_pick pick = {.set = walden_config_get(d->cfg, "set"),
                      .dbname = walden_config_get(d->cfg, "dbname")};
    int rc = wd_dump_each_usable(d->repo, pick.set, dump_cb, &pick);
    if (!rc && !pick.found)
        rc = pick.set && *pick.set
                 ? wd_error_set(WALDEN_ENOTFOUND, "dump '%s' does not exist in cluster '%s'",
                                pick.set, d->repo->cluster)
                 : wd_error_set(WALDEN_ENOTFOUND, "cluster '%s' has no usable database dump",
                                d->repo->cluster);
    if (!rc && !pick.usable)
        rc = wd_error_set(WALDEN_EINVAL, "dump '%s' is not a usable database dump", pick.id);
    if (rc || (rc = set_str(&p->backup_id, pick.id)))
        return drill_fail(d, rc, "no dump to restore");
    d->meta.pub.pg_version = pick.pg_version;
    snprintf(d->superuser, sizeof(d->superuser), "postgres");
    if ((rc = choose_user(d)))
        return drill_fail(d, rc, "cannot run the server");
    if ((rc = make_scratch(d)))
        return drill_fail(d, rc, "cannot prepare the scratch directory");
    char *initdb = pg_program(d, "initdb");
    if (!initdb) {
        rc = walden_error_last()->code ? walden_error_last()->code : WALDEN_ENOMEM;
    } else {
        const char *argv[] = {initdb,       "-D", d->pgdata, "-A",         "trust",     "-U",
                              d->superuser, "-E", "UTF8",    "--locale=C", "--no-sync", NULL};
        rc = run_program(d, argv, "initdb");
    }
    wd_free(initdb);
    if (rc)
        return drill_fail(d, rc, "cannot create the scratch cluster");
    if ((rc = configure_server(d)))
        return drill_fail(d, rc, "cannot configure the server");
    if ((rc = start_server(d)))
        return drill_fail(d, rc, "the server did not start");
    rc = wait_ready(d);
    double t_ready = mono();
    p->startup_seconds = t_ready - d->t_begin;
    if (rc)
        return cancelled() ? rc : drill_fail(d, rc, "the server did not start");

    walden_config *c;
    wd_log_info("drill %s: restoring the globals of dump %s", p->id, pick.id);
    if ((rc = dump_config(d, pick.id, true, NULL, &c)))
        return drill_fail(d, rc, "restore failed");
    phase(d, "restore-dump");
    rc = walden_dump_restore(d->repo, c, NULL, NULL);
    walden_config_free(c);
    if (rc == WALDEN_ENOTFOUND)
        wd_log_warn("drill %s: %s: restoring the dump without its roles", p->id,
                    walden_error_last()->message);
    else if (rc)
        return drill_fail(d, rc, "restore of the globals failed");
    if (cancelled())
        return wd_error_set(WALDEN_ERROR, "the drill was interrupted");
    wd_log_info("drill %s: restoring dump %s into database '%s'", p->id, pick.id, pick.database);
    if ((rc = dump_config(d, pick.id, false, pick.database, &c)))
        return drill_fail(d, rc, "restore failed");
    rc = walden_dump_restore(d->repo, c, NULL, NULL);
    walden_config_free(c);
    double t_restored = mono();
    p->restore_seconds = t_restored - t_ready;
    if (rc)
        return cancelled() ? rc : drill_fail(d, rc, "restore failed");
    if ((rc = first_connection(d)))
        return cancelled() ? rc : drill_fail(d, rc, "the restored server cannot be used");
    /* pg_dump's snapshot is taken at its start: that is the point restored */
    p->recovered_to_ms = pick.start_ms;
    p->last_xact_ms = 0;
    p->replayed_lsn = 0;
    p->rpo_seconds = pick.start_ms > 0 ? (double)(p->started_at_ms - pick.start_ms) / 1000.0 : -1;
    phase(d, "checks");
    rc = run_checks(d);
    p->checks_seconds = mono() - t_restored;
    if (rc)
        return cancelled() ? rc : drill_fail(d, rc, "the checks could not run");
    return 0;
}

/* The source server's flushed WAL as the drill starts: what a restore must
 * reach for nothing to be lost. Known only from a primary of this cluster
 * whose timeline is the newest of the archive (the one a restore to the
 * end follows). */
static void source_point(drill *d)
{
    walden_archiver_state as;
    walden_wal_summary *wal = NULL;
    if (walden_archiver_state_get(d->cfg, &as)) {
        wd_log_info("drill: the source server's WAL position is unknown: %s",
                    walden_error_last()->message);
    } else if (as.system_id == d->repo->info.system_id && as.timeline &&
               walden_wal_summary_get(d->repo, &wal) == 0 &&
               wd_wal_newest_timeline(wal) == as.timeline) {
        d->source_tli = as.timeline;
        d->res->pub.source_lsn = as.data_lsn;
    }
    walden_wal_summary_free(wal);
    walden_error_clear();
}

static int drill_locked(walden_repo *repo, const walden_config *cfg, const char *restore_command,
                        walden_progress_cb progress, void *progress_ctx, walden_drill_result **out)
{
    *out = NULL;
    int64_t rto_target = walden_config_seconds(cfg, "rto-target", 3600);
    int64_t rpo_target = walden_config_seconds(cfg, "rpo-target", 900);
    wd_target t;
    int rc;
    if ((rc = wd_target_from_config(cfg, &t)))
        return rc;
    bool dump = walden_config_bool(cfg, "dump");
    if (dump && t.kind != WD_TARGET_END)
        return wd_error_set(WALDEN_EINVAL, "a dump drill takes no recovery target");
    if (t.kind != WD_TARGET_END && t.kind != WD_TARGET_TIME)
        return wd_error_set(WALDEN_EINVAL, "a drill recovers to the end of the archive or to "
                                           "--target-time, not to another kind of target");
    drill d = {.repo = repo, .cfg = cfg, .progress = progress, .progress_ctx = progress_ctx};
    const char *sql_file = walden_config_get(cfg, "check-sql");
    if (sql_file && *sql_file) {
        size_t len;
        if ((rc = wd_file_read_all(sql_file, 16u << 20, &d.check_sql, &len)))
            return wd_error_wrap(rc, "cannot read the check-sql file");
    }
    cancel_flag = 0;
    server_pid = 0;
    if (!(d.res = res_new())) {
        wd_free(d.check_sql);
        return WALDEN_ENOMEM;
    }
    wd_restore_cancel_hook = cancelled;
    walden_drill_result *p = &d.res->pub;
    d.t_begin = mono();
    p->started_at_ms = wall_ms();
    p->rto_target_seconds = rto_target;
    p->rpo_target_seconds = rpo_target;
    char id[32];
    if ((rc = drill_id(id, p->started_at_ms)) || (rc = set_str(&p->id, id)) ||
        (rc = set_str(&p->cluster, repo->cluster)))
        goto done;

    if ((rc = set_str(&p->kind, dump ? "dump" : "backup")))
        goto done;
    if (!dump && t.kind == WD_TARGET_END)
        source_point(&d);
    int run_rc = dump ? drill_run_dump(&d) : drill_run(&d, &t, restore_command);
    double t_end = mono();
    p->rto_seconds =
        p->restore_seconds + p->replay_seconds + p->startup_seconds + p->checks_seconds;
    if (run_rc || p->checks_failed)
        p->rto_seconds = t_end - d.t_begin; /* no recovery was proven: the time spent */

    /* cleanup: always */
    stop_server(&d);
    bool keep = walden_config_bool(cfg, "keep") && !cancelled();
    if (d.scratch && !keep) {
        /* the drill's own failure is in p->error already */
        if (tree_walk(AT_FDCWD, d.scratch, d.scratch, true, 0, 0))
            wd_log_error("cannot remove the scratch directory: %s", walden_error_last()->message);
        (void)set_str(&p->scratch_dir, "");
    }
    if (d.sock_outside && tree_walk(AT_FDCWD, d.sock, d.sock, true, 0, 0))
        wd_log_error("cannot remove the socket folder: %s", walden_error_last()->message);
    if (cancelled()) {
        rc = wd_error_set(WALDEN_ERROR, "the drill was interrupted: its server was stopped%s",
                          keep ? "" : " and its scratch directory removed");
        goto done;
    }
    if (run_rc && p->status != WALDEN_DRILL_FAILED) {
        rc = run_rc; /* not a verdict (out of memory) */
        goto done;
    }

    archiver_state(&d);
    p->finished_at_ms = wall_ms();
    if (p->checks_failed)
        p->status = WALDEN_DRILL_FAILED;
    /* the replay reached all the WAL the source had flushed when the drill
     * started, on its timeline: nothing written before then would be lost,
     * however long ago the last commit was (an idle cluster) */
    if (p->status != WALDEN_DRILL_FAILED && p->source_lsn && d.source_tli &&
        d.replayed_tli == d.source_tli && p->replayed_lsn >= p->source_lsn)
        p->rpo_seconds = 0;
    p->rto_met = p->status != WALDEN_DRILL_FAILED && p->rto_seconds <= (double)rto_target;
    p->rpo_met = p->status != WALDEN_DRILL_FAILED && p->rpo_seconds >= 0 &&
                 p->rpo_seconds <= (double)rpo_target;
    if (p->status != WALDEN_DRILL_FAILED && (!p->rto_met || !p->rpo_met))
        p->status = WALDEN_DRILL_MISSED;
    wd_log_info("drill %s: %s", p->id, wd_drill_status_name(p->status));
    *out = p;
    d.res = NULL;
    rc = write_reports(&d, p);
done:
    wd_restore_cancel_hook = NULL;
    if (d.res)
        walden_drill_result_free(&d.res->pub);
    if (d.have_meta)
        wd_backup_meta_clear(&d.meta);
    wd_free(d.scratch);
    wd_free(d.pgdata);
    wd_free(d.sock);
    wd_free(d.log);
    wd_free(d.ctl_log);
    wd_free(d.ts_map);
    wd_free(d.check_sql);
    return rc;
}

int walden_drill(walden_repo *repo, const walden_config *cfg, const char *restore_command,
                 walden_progress_cb progress, void *progress_ctx, walden_drill_result **out)
{
    /* expire must not remove the backup or dump being restored */
    *out = NULL;
    int lock = -1;
    int rc = wd_repo_lock(repo, WD_LOCK_READ, true, &lock);
    if (!rc)
        rc = drill_locked(repo, cfg, restore_command, progress, progress_ctx, out);
    wd_lock_release(lock);
    return rc;
}

/* ---- history ---- */

typedef struct hist_ctx {
    char **names;
    size_t n, cap;
} hist_ctx;

static int hist_entry(const wd_storage_entry *e, void *ctx)
{
    hist_ctx *h = ctx;
    if (e->is_dir || !wd_str_ends_with(e->name, ".info"))
        return 0;
    char **names = wd_array_grow(h->names, &h->cap, h->n, sizeof(*names), 32);
    if (!names)
        return WALDEN_ENOMEM;
    h->names = names;
    if (!(h->names[h->n] = wd_strdup(e->name)))
        return WALDEN_ENOMEM;
    h->n++;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int walden_drill_history(walden_repo *repo, walden_drill_cb cb, void *ctx)
{
    hist_ctx h = {0};
    char *dir = wd_repo_path(repo, WD_DRILL_DIR);
    if (!dir)
        return WALDEN_ENOMEM;
    int rc = wd_storage_list(repo->storage, dir, hist_entry, &h);
    if (!rc && h.n)
        qsort(h.names, h.n, sizeof(*h.names), name_cmp);
    for (size_t i = 0; !rc && i < h.n; i++) {
        char *path = wd_path_join(dir, h.names[i]), *text = NULL;
        size_t len;
        walden_drill_result *r = NULL;
        if (!path)
            rc = WALDEN_ENOMEM;
        else if ((rc = wd_repo_read_signed(repo, path, 1u << 20, &text, &len)) == WALDEN_EPERM) {
            /* a record this user may not read (one written as root by an
             * older walden) is left out, not fatal: info and metrics go on.
             * A record that is there but corrupt stays an error. */
            wd_log_warn("skipping drill record: %s", walden_error_last()->message);
            rc = 0;
        } else if (!rc && !(rc = wd_drill_record_parse(text, len, path, &r)) &&
                   !(rc = set_str(&r->cluster, repo->cluster)))
            rc = cb(r, ctx);
        walden_drill_result_free(r);
        wd_free(text);
        wd_free(path);
    }
    for (size_t i = 0; i < h.n; i++)
        wd_free(h.names[i]);
    wd_free(h.names);
    wd_free(dir);
    return rc;
}
