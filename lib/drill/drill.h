/*
 * drill.h - restore drills (internal): what the drill's files share.
 *
 *   drill.c   the orchestration: choose the backup or dump, restore it,
 *             start the server, check, time, judge, clean up; cancellation
 *   server.c  the scratch server: its folder and user, its settings,
 *             pg_ctl start, the wait until it accepts connections, stop
 *   checks.c  the checks on the restored server and the source's archiver,
 *             through pg/
 *   report.c  the JSON report and the Prometheus file (common/prom.h)
 *   record.c  the result, the repository record (text, parse) and history
 */
#ifndef WD_DRILL_DRILL_H
#define WD_DRILL_DRILL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "catalog/catalog.h"
#include "walden/walden.h"

/* Where drills are recorded, inside the cluster's area: drill/<id>.info. */
#define WD_DRILL_DIR "drill"
/* The scratch server's port: it only names the socket, in a private folder. */
#define WD_DRILL_PORT "5432"

/* A drill's cancellation: set from a signal handler or another thread,
 * read by the drill. Lock-free atomics, so async-signal-safe. */
struct walden_drill_canceller {
    atomic_int cancelled;
    atomic_int server_pid; /* the running postmaster, 0: none */
};

/* ---- the result (record.c) ---- */

typedef struct wd_drill_res {
    walden_drill_result pub;
    walden_drill_check *checks;
    size_t cap;
} wd_drill_res;

/* A result with every string "" and kind "backup"; NULL when out of
 * memory. Freed with walden_drill_result_free. */
wd_drill_res *wd_drill_res_new(void);
/* Replaces an owned string field of a result. */
int wd_drill_set_str(const char **field, const char *value);
/* Newlines and tabs to blanks, trailing blanks cut: one line. */
void wd_drill_one_line(char *s);

/* "passed", "failed" or "targets-missed". */
const char *wd_drill_status_name(walden_drill_status s);

/* The point in time a restored server reached: the newer of the last
 * replayed commit (0: none) and the backup's stop time (0: unknown). */
int64_t wd_drill_recovered_to(int64_t last_xact_ms, int64_t backup_stop_ms);

/* The repository record (name = value lines), malloc'ed. */
char *wd_drill_record_text(const walden_drill_result *r);
/* Parses a record into *out (free with walden_drill_result_free). */
int wd_drill_record_parse(const char *text, size_t len, const char *origin,
                          walden_drill_result **out);

/* ---- the reports (report.c) ---- */

/* The JSON report (docs/json.md), malloc'ed; NULL when out of memory. */
char *wd_drill_report_json(const walden_drill_result *r);
/* The Prometheus textfile (docs/commands/drill.md), malloc'ed. */
char *wd_drill_metrics_text(const walden_drill_result *r);
/* Records the drill in the repository, and writes `report` and
 * `metrics-file` when set; the first failure is returned, all are tried. */
int wd_drill_write_reports(walden_repo *repo, const walden_config *cfg,
                           const walden_drill_result *r);

/* ---- the scratch server (server.c) ---- */

typedef struct wd_drill_server {
    const walden_config *cfg; /* pg-bin, for pg_ctl and initdb */
    walden_drill_canceller *cancel;
    walden_progress_cb progress; /* hears "recovery" while the server starts; or NULL */
    void *progress_ctx;
    int pg_version; /* of the programs to run */
    char *scratch, *pgdata, *sock, *log, *ctl_log;
    bool sock_outside; /* sock is not in the scratch directory (too long a path) */
    bool as_user;      /* root: the server runs as uid/gid */
    uid_t uid;
    gid_t gid;
    char user[64]; /* the OS user the server runs as */
    pid_t postmaster;
    bool started;
} wd_drill_server;

/* Whether the drill was asked to stop (c may be NULL: never). */
bool wd_drill_cancelled(const walden_drill_canceller *c);
/* The monotonic clock, in seconds: the drill's phases are timed on it. */
double wd_drill_mono(void);
/* Who runs the server: the current user, or as root `owner` (the owner of
 * the backed-up data directory, may be NULL), else postgres. */
int wd_drill_server_user(wd_drill_server *s, const char *owner);
/* Makes the scratch directory (0700) under `parent` and its socket folder;
 * the server's user gets them. */
int wd_drill_server_scratch(wd_drill_server *s, const char *parent, const char *cluster);
/* Gives everything under the scratch directory to the server's user (root). */
int wd_drill_server_own(wd_drill_server *s);
/* Writes the isolated server's settings (see server.c). */
int wd_drill_server_configure(wd_drill_server *s);
/* Runs argv to its end as the server's user, output appended to
 * pg_ctl.log; `what` names it in messages. */
int wd_drill_server_run(wd_drill_server *s, const char *const *argv, const char *what);
/* The full path of a PostgreSQL program of pg_version; NULL with the
 * error set when there is none. */
char *wd_drill_server_program(wd_drill_server *s, const char *name);
/* pg_ctl start, then the wait until the server accepts connections. */
int wd_drill_server_start(wd_drill_server *s);
int wd_drill_server_wait(wd_drill_server *s);
/* The time of the server's "redo done at" log line, Unix ms; 0: none. */
int64_t wd_drill_server_redo_done_ms(wd_drill_server *s);
/* Stops the server (immediate) and makes sure its postmaster is gone. */
void wd_drill_server_stop(wd_drill_server *s);
/* Removes the scratch directory (unless `keep`) and an outside socket
 * folder; failures are logged. */
void wd_drill_server_remove(wd_drill_server *s, bool keep);
void wd_drill_server_clear(wd_drill_server *s);

/* ---- the drill's state, and its checks (checks.c) ---- */

typedef struct wd_drill {
    walden_repo *repo;
    const walden_config *cfg;
    const walden_drill_params *params;
    walden_drill_canceller *cancel; /* the caller's, or the drill's own */
    wd_drill_res *res;
    wd_backup_meta meta;
    bool have_meta;
    wd_drill_server srv;
    char *ts_map;
    char superuser[128];
    char *check_sql;
    double t_begin;
    uint32_t source_tli;   /* the source server's timeline at the start; 0: unknown */
    uint32_t replayed_tli; /* the timeline the restored server replayed; 0: unknown */
} wd_drill;

/* Finds a role to connect as and the bootstrap superuser; reads the
 * recovered point. */
int wd_drill_first_connection(wd_drill *d);
/* Every database: connect, read, amcheck; then check-sql. */
int wd_drill_run_checks(wd_drill *d);
/* The source server's pg_stat_archiver, when it answers. */
void wd_drill_archiver_state(wd_drill *d);

#endif
