/*
 * proc.h - child processes walden streams through: pg_dump and pg_dumpall
 * write into the repository, pg_restore and psql read from it.
 *
 * A child is started with posix_spawn (safe beside worker threads), with
 * its stdin and/or stdout on pipes when asked (else /dev/null) and its
 * stderr always on a pipe: every line it writes there goes to walden's log
 * with the child's name, and the last one is kept for the error message
 * when the child fails. The pipes are close-on-exec, so children started
 * in parallel do not hold each other's pipes open.
 *
 * Callers ignore SIGPIPE (the CLI does at start): a child that exits early
 * makes a write fail with EPIPE instead of killing walden. Children start
 * with SIGPIPE at its default.
 */
#ifndef WD_COMMON_PROC_H
#define WD_COMMON_PROC_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WD_PROC_STDIN 1u  /* the caller writes the child's stdin */
#define WD_PROC_STDOUT 2u /* the caller reads the child's stdout */

typedef struct wd_proc {
    pid_t pid;
    int in_fd, out_fd, err_fd; /* -1 when closed or not piped */
    int input_closed;          /* the child closed its stdin (EPIPE) */
    char name[64];             /* for the log and messages, e.g. "pg_dump of 'app'" */
    char last_err[512];        /* the last line on the child's stderr */
    char first_error[512];     /* its first line saying "error" */
    unsigned sql_errors;       /* stderr lines with "ERROR:" (psql, pg_restore) */
    unsigned sql_exists;       /* ... of them about an object that exists already */
    char expected[160];        /* an error the caller expects: a stderr line holding
                                  it is logged at debug level only, and not counted */
    size_t err_len;            /* bytes of an unfinished stderr line */
    char err_line[512];
} wd_proc;

/* Starts argv[0] (searched in PATH when it has no '/') with the caller's
 * environment less walden's secrets (wd_env_is_secret) plus `env`
 * ("NAME=value" entries replacing those of the same name; may be NULL). */
int wd_proc_spawn(wd_proc *p, const char *name, const char *const *argv, const char *const *env,
                  unsigned flags);
/* Whether environment entry "NAME=value" (or a bare NAME) holds one of
 * walden's secrets: WALDEN_<OPTION> of every option the option table marks
 * secret (WALDEN_ENCRYPT_PASSPHRASE, WALDEN_S3_KEY_SECRET, ...) and the cloud
 * credentials walden reads (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AZURE_STORAGE_KEY, ...). No child of walden (pg_dump, psql, the drill's
 * server) gets them. */
bool wd_env_is_secret(const char *entry);
/* The environment of a child: the caller's entries (not copied) less the
 * secrets, plus `env` replacing entries of the same name. A malloc'ed
 * NULL-terminated array (only the array is the caller's to free); NULL when
 * out of memory. */
char **wd_proc_env(const char *const *env);

/* Reads the child's stdout (logging its stderr meanwhile); *n = 0 at the
 * end of it. */
int wd_proc_read(wd_proc *p, uint8_t *buf, size_t cap, size_t *n);
/* Writes all of buf to the child's stdin (logging its stderr meanwhile).
 * WALDEN_EIO naming the child when it stopped reading (input_closed is
 * then set: a child may stop reading once it has what it needs). */
int wd_proc_write(wd_proc *p, const uint8_t *buf, size_t len);
/* Closes the child's stdin (its end of input). */
void wd_proc_close_stdin(wd_proc *p);
/* Reads the rest of stderr, waits for the child and returns 0 when it
 * exited with status 0; otherwise an error naming it, its exit status or
 * signal and its first stderr line that says "error" (else its last). */
int wd_proc_wait(wd_proc *p);
/* Terminates the child (SIGTERM, then SIGKILL after 5 s) and reaps it.
 * Does nothing for a child already waited for. */
void wd_proc_kill(wd_proc *p);

/* A child run to its end with its output in a file (wd_proc_run): the
 * drill's pg_ctl and initdb, which may have to run as another user. */
typedef struct wd_proc_run_opts {
    int out_fd;      /* the child's stdout and stderr (its stdin is /dev/null) */
    const char *dir; /* its working directory; NULL: walden's */
    bool as_user;    /* switch to uid/gid (and that group alone) before exec: root only */
    uid_t uid;
    gid_t gid;
    bool new_session; /* in a session of its own: a Ctrl-C on the terminal is
                         walden's to handle, not the child's */
} wd_proc_run_opts;
/* Runs argv[0] (a full path: it is not searched in PATH) with the
 * environment of wd_proc_env(NULL), and waits for it; *status is its wait
 * status. A child that cannot switch user or directory exits 126, one that
 * cannot exec 127. fork and exec, not posix_spawn, since only a forked
 * child can change its user; between the two it makes only
 * async-signal-safe calls, so it is safe beside threads. Errors: the child
 * could not be started or waited for. */
int wd_proc_run(const char *const *argv, const wd_proc_run_opts *o, int *status);

/* Runs argv to its end and returns the first line of its stdout
 * (malloc'ed, without newline) in *out: "pg_dump (PostgreSQL) 15.8". */
int wd_proc_output_line(const char *const *argv, char **out);

/* Quotes a value for a libpq connection string: in single quotes, with
 * ' and \ escaped by a backslash. Malloc'ed. */
char *wd_conninfo_quote(const char *value);

#endif
