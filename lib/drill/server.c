/*
 * server.c - the drill's scratch server: its folder, its user, its
 * settings, pg_ctl start, the wait until it accepts connections, and its
 * stop.
 *
 * Isolation: the server listens on no TCP address, only on a unix socket
 * in a 0700 folder of the scratch directory, with its own pg_hba.conf
 * (trust on that socket only); archiving, replication, ssl, an external
 * pid file and the recovery hooks are off; its settings come last in
 * postgresql.auto.conf. archive_mode is off above all so that the promoted
 * server never archives its new timeline into the repository.
 *
 * Root: PostgreSQL refuses to run as root, so pg_ctl and initdb run
 * (common/proc.c: wd_proc_run) as the owner of the backed-up data
 * directory (else `postgres`), and the scratch directory is given to that
 * user.
 *
 * While it waits, every 100 ms, the drill's canceller is looked at; the
 * postmaster's pid goes into it as soon as it is known, so that
 * walden_drill_cancel can send it SIGQUIT.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/proc.h"
#include "drill/drill.h"
#include "pg/pg.h"
#include "restore/recovery.h"

double wd_drill_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

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
static char *server_error(wd_drill_server *s)
{
    char *fatal = log_line(s->log, "FATAL:");
    char *panic = log_line(s->log, "PANIC:");
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
int wd_drill_server_run(wd_drill_server *s, const char *const *argv, const char *what)
{
    int out = open(s->ctl_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out < 0)
        return wd_error_set_errno(errno, "cannot open '%s'", s->ctl_log);
    if (s->as_user && fchown(out, s->uid, s->gid) != 0) {
        int rc = wd_error_set_errno(errno, "cannot give '%s' to user '%s'", s->ctl_log, s->user);
        close(out);
        return rc;
    }
    /* the server gets no secret of walden's (wd_proc_run): its
     * restore_command reads them from the config file */
    wd_proc_run_opts o = {.out_fd = out,
                          .dir = s->scratch,
                          .as_user = s->as_user,
                          .uid = s->uid,
                          .gid = s->gid,
                          .new_session = true};
    int status = 0;
    int rc = wd_proc_run(argv, &o, &status);
    close(out);
    if (rc)
        return wd_error_wrap(rc, "cannot run %s", what);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char *last = log_line(s->ctl_log, NULL);
    rc = WIFEXITED(status) && WEXITSTATUS(status) >= 126
             ? wd_error_set(WALDEN_EIO, "cannot run %s ('%s') as user '%s'", what, argv[0], s->user)
             : wd_error_set(WALDEN_EPG, "%s failed: %s", what, last ? last : "no message");
    wd_free(last);
    return rc;
}

/* The scratch server's settings: last in postgresql.auto.conf, so they
 * win over everything the backup brought. */
int wd_drill_server_configure(wd_drill_server *s)
{
    char *conf = wd_path_join(s->pgdata, "postgresql.conf");
    char *auto_conf = wd_path_join(s->pgdata, "postgresql.auto.conf");
    char *hba = wd_path_join(s->scratch, "pg_hba.conf");
    char *ident = wd_path_join(s->scratch, "pg_ident.conf");
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
    wd_buf_printf(&b, "listen_addresses = ''\nport = %s\n", WD_DRILL_PORT);
    sb_conf(&b, "unix_socket_directories", s->sock);
    wd_buf_printf(&b, "unix_socket_permissions = 0700\n");
    sb_conf(&b, "hba_file", hba);
    sb_conf(&b, "ident_file", ident);
    wd_buf_printf(&b, "archive_mode = off\narchive_command = ''\n");
    if (s->pg_version >= 150000)
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
    if (s->as_user && (chown(conf, s->uid, s->gid) != 0 || chown(hba, s->uid, s->gid) != 0 ||
                       chown(ident, s->uid, s->gid) != 0 || chown(auto_conf, s->uid, s->gid) != 0))
        rc = wd_error_set_errno(errno, "cannot give the server's files to user '%s'", s->user);
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
char *wd_drill_server_program(wd_drill_server *s, const char *name)
{
    char *prog = NULL;
    if (wd_pg_program(s->cfg, s->pg_version, name, &prog))
        return NULL;
    return prog;
}

int wd_drill_server_start(wd_drill_server *s)
{
    char *pg_ctl = wd_drill_server_program(s, "pg_ctl");
    if (!pg_ctl)
        return walden_error_last()->code ? walden_error_last()->code : WALDEN_ENOMEM;
    const char *argv[] = {pg_ctl, "start", "-D", s->pgdata, "-l", s->log, "-W", "-s", NULL};
    s->started = true;
    int rc = wd_drill_server_run(s, argv, "pg_ctl start");
    wd_free(pg_ctl);
    return rc;
}

static pid_t read_pidfile(wd_drill_server *s)
{
    char *path = wd_path_join(s->pgdata, "postmaster.pid");
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
int wd_drill_server_wait(wd_drill_server *s)
{
    const char *keys[] = {"host", "port", "dbname", "connect_timeout", NULL};
    const char *vals[] = {s->sock, WD_DRILL_PORT, "postgres", "10", NULL};
    double t0 = wd_drill_mono();
    for (;;) {
        if (wd_drill_cancelled(s->cancel))
            return wd_error_set(WALDEN_ERROR, "the drill was interrupted");
        if (!s->postmaster) {
            s->postmaster = read_pidfile(s);
            if (s->cancel)
                atomic_store(&s->cancel->server_pid, (int)s->postmaster);
            if (wd_drill_cancelled(s->cancel) && s->postmaster > 0)
                kill(s->postmaster, SIGQUIT);
        }
        if (s->postmaster && !alive(s->postmaster)) {
            char *why = server_error(s);
            int rc = wd_error_set(WALDEN_EPG, "the server stopped: %s", why ? why : "see its log");
            wd_free(why);
            s->postmaster = 0;
            if (s->cancel)
                atomic_store(&s->cancel->server_pid, 0);
            return rc;
        }
        if (!s->postmaster) {
            char *fatal = log_line(s->log, "FATAL:");
            if ((fatal && wd_drill_mono() - t0 > 2) || wd_drill_mono() - t0 > 60) {
                char *why = server_error(s);
                int rc =
                    wd_error_set(WALDEN_EPG, "the server stopped: %s", why ? why : "see its log");
                wd_free(why);
                wd_free(fatal);
                return rc;
            }
            wd_free(fatal);
        } else if (wd_pg_ping(keys, vals)) {
            return 0;
        }
        if (s->progress) {
            walden_progress p = {"recovery", 0, 0, 0, 0};
            s->progress(&p, s->progress_ctx);
        }
        nap_ms(100);
    }
}

/* Stops the server (immediate) and makes sure its postmaster is gone. */
void wd_drill_server_stop(wd_drill_server *s)
{
    if (!s->started)
        return;
    char *pg_ctl = wd_drill_server_program(s, "pg_ctl");
    /* pg_ctl start -W returns before the postmaster writes its pid file:
     * stopped at once, it would be missed and go on running */
    for (int i = 0; i < 50 && !s->postmaster; i++) {
        if ((s->postmaster = read_pidfile(s)))
            break;
        char *fatal = log_line(s->log, "FATAL:");
        wd_free(fatal);
        if (fatal)
            break;
        nap_ms(100);
    }
    if (pg_ctl && (s->postmaster == 0 || alive(s->postmaster))) {
        const char *argv[] = {pg_ctl, "stop", "-D", s->pgdata, "-m", "immediate",
                              "-w",   "-t",   "60", "-s",      NULL};
        if (wd_drill_server_run(s, argv, "pg_ctl stop") && s->postmaster && alive(s->postmaster))
            wd_log_warn("%s", walden_error_last()->message);
    }
    wd_free(pg_ctl);
    if (s->postmaster > 0) {
        for (int i = 0; i < 100 && alive(s->postmaster); i++)
            nap_ms(50);
        if (alive(s->postmaster)) {
            wd_log_warn("the drill's server (pid %ld) is still running: killing it",
                        (long)s->postmaster);
            kill(s->postmaster, SIGKILL);
            for (int i = 0; i < 100 && alive(s->postmaster); i++)
                nap_ms(50);
        }
    }
    if (s->cancel)
        atomic_store(&s->cancel->server_pid, 0);
    s->postmaster = 0;
    s->started = false;
}

/* Who runs the server: the current user, or as root the owner of the
 * backed-up data directory, else postgres. */
int wd_drill_server_user(wd_drill_server *s, const char *owner)
{
    if (geteuid() != 0) {
        struct passwd *pw = getpwuid(geteuid());
        snprintf(s->user, sizeof(s->user), "%s", pw ? pw->pw_name : "postgres");
        return 0;
    }
    const char *names[] = {owner, "postgres"};
    for (size_t i = 0; i < WD_ARRAY_LEN(names); i++) {
        if (!names[i] || !*names[i])
            continue;
        struct passwd *pw = getpwnam(names[i]);
        if (pw && pw->pw_uid != 0) {
            s->as_user = true;
            s->uid = pw->pw_uid;
            s->gid = pw->pw_gid;
            snprintf(s->user, sizeof(s->user), "%s", pw->pw_name);
            return 0;
        }
    }
    return wd_error_set(WALDEN_EPERM,
                        "PostgreSQL does not run as root, and neither '%s' (the owner of the "
                        "backed-up data directory) nor 'postgres' is a user here",
                        owner ? owner : "");
}

int wd_drill_server_scratch(wd_drill_server *s, const char *parent, const char *cluster)
{
    if (!parent || !*parent)
        parent = getenv("TMPDIR");
    if (!parent || !*parent)
        parent = "/tmp";
    char *tmpl = wd_asprintf("%s/walden-drill-%s-XXXXXX", parent, cluster);
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
    s->scratch = tmpl;
    if (!(s->pgdata = wd_path_join(s->scratch, "pgdata")) ||
        !(s->sock = wd_path_join(s->scratch, "socket")) ||
        !(s->log = wd_path_join(s->scratch, "server.log")) ||
        !(s->ctl_log = wd_path_join(s->scratch, "pg_ctl.log")))
        return WALDEN_ENOMEM;
    /* a unix socket's path has at most 107 bytes: under a deep scratch
     * directory the socket's folder goes to /tmp instead */
    if (strlen(s->sock) + strlen("/.s.PGSQL." WD_DRILL_PORT) > 107) {
        char *tmp = wd_strdup("/tmp/walden-drill-socket-XXXXXX");
        if (!tmp)
            return WALDEN_ENOMEM;
        if (!mkdtemp(tmp)) {
            int rc = wd_error_set_errno(errno, "cannot create a socket folder in /tmp");
            wd_free(tmp);
            return rc;
        }
        wd_free(s->sock);
        s->sock = tmp;
        s->sock_outside = true;
    } else if (mkdir(s->sock, 0700) != 0) {
        return wd_error_set_errno(errno, "cannot create '%s'", s->sock);
    }
    if (s->as_user &&
        (chown(s->scratch, s->uid, s->gid) != 0 || chown(s->sock, s->uid, s->gid) != 0))
        return wd_error_set_errno(errno, "cannot give '%s' to user '%s'", s->scratch, s->user);
    return 0;
}

/* The time of the server's "redo done at" log line, Unix ms; 0: none. */
int64_t wd_drill_server_redo_done_ms(wd_drill_server *s)
{
    char *line = log_line(s->log, "redo done at");
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

bool wd_drill_cancelled(const walden_drill_canceller *c)
{
    return c && atomic_load(&((walden_drill_canceller *)c)->cancelled) != 0;
}

int wd_drill_server_own(wd_drill_server *s)
{
    return s->as_user ? tree_walk(AT_FDCWD, s->scratch, s->scratch, false, s->uid, s->gid) : 0;
}

void wd_drill_server_remove(wd_drill_server *s, bool keep)
{
    /* logged only: the drill's own failure is in its result already */
    if (s->scratch && !keep && tree_walk(AT_FDCWD, s->scratch, s->scratch, true, 0, 0))
        wd_log_error("cannot remove the scratch directory: %s", walden_error_last()->message);
    if (s->sock_outside && tree_walk(AT_FDCWD, s->sock, s->sock, true, 0, 0))
        wd_log_error("cannot remove the socket folder: %s", walden_error_last()->message);
}

void wd_drill_server_clear(wd_drill_server *s)
{
    wd_free(s->scratch);
    wd_free(s->pgdata);
    wd_free(s->sock);
    wd_free(s->log);
    wd_free(s->ctl_log);
    s->scratch = s->pgdata = s->sock = s->log = s->ctl_log = NULL;
}
