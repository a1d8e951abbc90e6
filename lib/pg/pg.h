/*
 * pg.h - what libwalden knows about PostgreSQL: WAL file names, the WAL
 * segment header, pg_control, and the server's identity over libpq.
 * Version differences are kept behind one function each.
 */
#ifndef WD_PG_H
#define WD_PG_H

#include <stddef.h>
#include <stdint.h>

#include "walden/walden.h"

typedef enum {
    WD_WAL_SEGMENT, /* 000000010000000000000003 */
    WD_WAL_PARTIAL, /* 000000010000000000000003.partial */
    WD_WAL_BACKUP,  /* 000000010000000000000003.00000028.backup */
    WD_WAL_HISTORY  /* 00000002.history */
} wd_wal_kind;

typedef struct wd_wal_name {
    wd_wal_kind kind;
    uint32_t tli;
    uint32_t log; /* high half of the segment number (segments only) */
    uint32_t seg; /* low half */
} wd_wal_name;

/* Parses a WAL file name (no directory). WALDEN_EINVAL when it is not one. */
int wd_wal_name_parse(const char *name, wd_wal_name *out);

/* Segments per "log", the middle eight hex digits of a segment name: 256
 * for 16 MiB segments. */
static inline uint64_t wd_wal_per_log(uint64_t seg_size)
{
    return 0x100000000ull / seg_size;
}

/* The name of segment number `segno` (LSN / segment size) on timeline tli. */
void wd_wal_segment_name(uint32_t tli, uint64_t segno, uint64_t per_log, char out[25]);

/* The repository folder of a WAL file, relative to the WAL root: the first
 * 16 hex digits of segment-like names, "" for history files. Writes at most
 * 17 bytes into dir. */
void wd_wal_dir(const char *name, const wd_wal_name *parsed, char dir[17]);

/* Size of the long page header that starts every segment. */
#define WD_WAL_LONG_HEADER_SIZE 40

/* Checks that `page` (the first bytes of a segment file of `file_size`
 * bytes named `name`) is a WAL segment of the cluster `sysid` written by
 * PostgreSQL `pg_major` (0: any known version). WALDEN_EINVAL for a file
 * that is not WAL, WALDEN_EMISMATCH for a segment of another cluster. */
int wd_wal_check_segment(const uint8_t *page, size_t len, uint64_t file_size,
                         const wd_wal_name *name, const char *display, uint64_t sysid,
                         int pg_major);

/* Whether `b`, the first `len` bytes of a WAL segment up to the server's
 * flushed position (at most its first page), holds only records that
 * carry no data: running-transaction snapshots (which the server logs on
 * its own, and which archive_timeout does not switch out) and checkpoints,
 * none with a transaction id. An idle server's current segment looks so.
 * False for anything else, also anything that does not parse. */
bool wd_wal_tail_is_quiet(const uint8_t *b, size_t len);

/* The page magic of a major version; 0 when unknown. Versions 10-12 are
 * known only to name them in errors. */
uint16_t wd_wal_page_magic(int pg_major);

/* The PostgreSQL major versions walden supports. */
#define WD_PG_MAJOR_MIN 13
#define WD_PG_MAJOR_MAX 18
/* 0 when walden supports PostgreSQL `pg_major`; else WALDEN_EVERSION with
 * "PostgreSQL 19 is not supported by walden X.Y.Z; supported: 13-18". */
int wd_pg_major_check(int pg_major);

/* Reads the system identifier from PGDATA/global/pg_control and the major
 * version from PGDATA/PG_VERSION. */
int wd_pg_control_read(const char *pgdata, uint64_t *sysid, int *pg_major);

/* Connects with the configured pghost/pgport/pguser/pgdatabase (libpq's own
 * PG* variables apply too) and reads the system identifier and
 * server_version_num; with segment_size set, also wal_segment_size (0 when
 * the server does not say). */
int wd_pg_identity_query(const walden_config *cfg, uint64_t *sysid, int *version_num,
                         uint64_t *segment_size);
/* The WAL segment size of the data directory, from a segment in pg_wal
 * (its header's size, which its length must match); 0 when none tells. */
int wd_pg_segment_size_read(const char *pgdata, uint64_t *size);

/* ---- where the server listens (where.c) ---- */

/* What a running server wrote into PGDATA/postmaster.pid that tells where
 * it listens: line 4 (port), 5 (first socket directory, "" when none) and
 * 6 (first listen address, "" when none). */
typedef struct wd_pg_pidfile {
    unsigned port;
    char socket_dir[1024];
    char listen[256];
} wd_pg_pidfile;
/* Parses postmaster.pid's bytes (at most 8 KiB, no NUL; line 1 a pid, line
 * 4 a port from 1 to 65535, lines 5 and 6 bounded). WALDEN_EINVAL without a
 * message otherwise. */
int wd_pg_pidfile_parse(const char *text, size_t len, wd_pg_pidfile *out);

/* The connection to make: host, port, user and database (NULL: libpq's
 * default). host and port are the configured pghost and pgport; when one is
 * not configured and libpq's variable (PGHOST, PGPORT) is not set either,
 * it comes from PGDATA/postmaster.pid of the configured pgdata, when that
 * server runs: its socket directory (else its listen address) and port.
 * The strings point into cfg or into w. */
typedef struct wd_pg_where {
    const char *host, *port, *user, *dbname;
    char host_buf[1024];
    char port_buf[8];
} wd_pg_where;
void wd_pg_where_get(const walden_config *cfg, wd_pg_where *w);

/* ---- a session with the server (session.c) ---- */

#include <stdbool.h>
#include <stdio.h>

typedef struct wd_pg_conn wd_pg_conn;
typedef struct wd_pg_result wd_pg_result;

/* Connects with the configured pghost/pgport/pguser/pgdatabase (libpq's PG*
 * variables apply too; pghost and pgport default to where the server of
 * pgdata listens: wd_pg_where_get). */
int wd_pg_connect(wd_pg_conn **out, const walden_config *cfg);
/* The same connection, named `app`, with a connect_timeout (seconds, as
 * text; NULL: none) that wins over PGCONNECT_TIMEOUT. On failure the
 * error's message is libpq's alone, on one line. */
int wd_pg_connect_timeout(wd_pg_conn **out, const walden_config *cfg, const char *app,
                          const char *timeout);
/* Connects with these libpq keywords and values (NULL-terminated, as
 * PQconnectdbParams takes them); the message as for wd_pg_connect_timeout. */
int wd_pg_connect_params(wd_pg_conn **out, const char *const *keys, const char *const *vals);
/* Whether a server accepts connections there (PQpingParams); false also
 * when libpq cannot be loaded. */
bool wd_pg_ping(const char *const *keys, const char *const *vals);
void wd_pg_close(wd_pg_conn *c);
/* server_version_num, e.g. 150018. */
int wd_pg_server_version(const wd_pg_conn *c);
/* Runs `sql` with text parameters $1..$n. */
int wd_pg_query(wd_pg_conn *c, wd_pg_result **out, const char *sql, int nparams,
                const char *const *params);
/* As wd_pg_query, with the server's message alone (one line) as the
 * error's: for a caller that quotes it in a report of its own. */
int wd_pg_query_bare(wd_pg_conn *c, wd_pg_result **out, const char *sql, int nparams,
                     const char *const *params);
int wd_pg_rows(const wd_pg_result *r);
int wd_pg_cols(const wd_pg_result *r);
/* Whether a column is of type boolean. */
bool wd_pg_col_is_bool(const wd_pg_result *r, int col);
/* The value as text; NULL for SQL NULL or out of range. Valid until the
 * result is freed. */
const char *wd_pg_value(const wd_pg_result *r, int row, int col);
void wd_pg_result_free(wd_pg_result *r);
/* The first column of the first row (or "") as a malloc'ed string. */
int wd_pg_query_one(wd_pg_conn *c, const char *sql, char **value);

/* A script of several statements, sent as one simple query: the server
 * answers each with a result of its own and stops at the first error.
 * wd_pg_send sends it (the error's message is libpq's alone); wd_pg_next
 * gives the next result, *out NULL after the last. */
int wd_pg_send(wd_pg_conn *c, const char *sql);
int wd_pg_next(wd_pg_conn *c, wd_pg_result **out);
typedef enum {
    WD_PG_EMPTY,  /* an empty statement */
    WD_PG_ROWS,   /* a statement that returned rows */
    WD_PG_DONE,   /* a statement that returned none */
    WD_PG_COPY,   /* a COPY from or to the client */
    WD_PG_FAILED, /* an error: wd_pg_result_message says which */
} wd_pg_status;
wd_pg_status wd_pg_result_status(const wd_pg_result *r);
/* The result's error message on one line, in buf. */
const char *wd_pg_result_message(const wd_pg_result *r, char *buf, size_t cap);

/* LSNs as PostgreSQL writes them: "16/B374D848", each half 1 to 8 hex
 * digits; anything else is WALDEN_EINVAL. */
#define WD_LSN_TEXT 20
int wd_lsn_parse(const char *text, uint64_t *lsn);
void wd_lsn_format(uint64_t lsn, char out[WD_LSN_TEXT]);

/* Non-exclusive backup in this session: start returns the start LSN and
 * the server's clock (Unix ms). */
int wd_pg_backup_start(wd_pg_conn *c, const char *label, bool fast, uint64_t *lsn,
                       int64_t *time_ms);
typedef struct wd_pg_backup_stop_info {
    uint64_t lsn;
    int64_t time_ms;
    char stop_wal[25];    /* the segment holding the last byte before lsn */
    char *label;          /* backup_label content */
    char *tablespace_map; /* tablespace_map content, "" when none */
    /* the xmin of a snapshot taken just before the stop (epoch-qualified):
     * every transaction below it had ended before the backup's end, so a
     * restore of the backup cannot stop before it */
    uint64_t end_xmin;
} wd_pg_backup_stop_info;
/* The server's archiving, one line: archive_command, the last archived
 * segment, the failure count and the last failure ("" when it cannot be
 * read). */
void wd_pg_archiver_state(wd_pg_conn *c, char *buf, size_t cap);
/* Stops the backup without waiting for archiving (walden waits itself). */
int wd_pg_backup_stop(wd_pg_conn *c, wd_pg_backup_stop_info *out);
void wd_pg_backup_stop_info_clear(wd_pg_backup_stop_info *info);

/* ---- data page checksums (checksum.c) ---- */

#define WD_PG_BLCKSZ 8192
/* Result of checking one page. */
typedef enum { WD_PAGE_OK, WD_PAGE_NEW, WD_PAGE_SKIPPED, WD_PAGE_BAD } wd_page_state;
/* Checks the page of block `blkno` (counted from the relation's start, over
 * all its 1 GiB segments): a page whose LSN is at or after `start_lsn` is
 * being rewritten and skipped (WAL replay fixes it); an all-new page
 * (never initialized) has no checksum. */
wd_page_state wd_pg_page_check(const uint8_t *page, uint32_t blkno, uint64_t start_lsn);
/* Tablespace oids of base/ and global/. */
#define WD_PG_DEFAULT_TABLESPACE 1663u
#define WD_PG_GLOBAL_TABLESPACE 1664u

/* The forks, numbered as PostgreSQL numbers them. */
enum { WD_PG_FORK_MAIN = 0, WD_PG_FORK_FSM = 1, WD_PG_FORK_VM = 2, WD_PG_FORK_INIT = 3 };

/* A relation file named by its path in PGDATA. */
typedef struct wd_pg_relfile {
    uint32_t spc, db, rel; /* tablespace, database (0 in global/), relfilenode */
    uint32_t fork;         /* WD_PG_FORK_* */
    uint32_t segno;        /* the N of REL.N; 0 without */
} wd_pg_relfile;
/* Parses base/DB/REL[_fsm|_vm|_init][.N], global/REL... and
 * pg_tblspc/TS/PG_.../DB/REL...: false for anything else (temporary
 * relations t3_REL, pg_control, a leading zero, an oid out of range). */
bool wd_pg_relfile_parse(const char *relpath, wd_pg_relfile *out);

/* Whether a path relative to PGDATA is a relation data file (with page
 * checksums), as wd_pg_relfile_parse parses it; *segno is its N. */
bool wd_pg_is_relation_file(const char *relpath, uint32_t *segno);
/* The block number of block `block_in_file` of segment file `segno`. */
uint32_t wd_pg_block_number(uint32_t segno, uint32_t block_in_file);

/* ---- PostgreSQL's programs (programs.c) ---- */

/* The path of PostgreSQL's `program` (pg_dump, pg_restore, psql, pg_ctl,
 * initdb...) for a server of `server_version` (server_version_num, or
 * MAJOR * 10000; 0: unknown, no check): in `pg-bin` when set, else in
 * /usr/lib/postgresql/MAJOR/bin or /usr/pgsql-MAJOR/bin, else in PATH. One
 * from pg-bin or PATH is run with --version: server programs must be of
 * the server's major version, clients (pg_dump, pg_dumpall, pg_restore,
 * psql) of it or newer. WALDEN_EPG names the version found and the one
 * needed; WALDEN_ENOTFOUND when there is none. *out is malloc'ed. */
int wd_pg_program(const walden_config *cfg, int server_version, const char *program, char **out);
/* The same with other folder templates than the distributions' ("%d" is
 * the major version; NULL-terminated): for tests. */
int wd_pg_program_in(const walden_config *cfg, int server_version, const char *program,
                     const char *const *dirs, char **out);
/* The major version a program says it is (`PATH --version`). */
int wd_pg_program_version(const char *path, int *major);
/* Appends the connection `w` (wd_pg_where_get) to a program's argv from
 * *argc: -h HOST, -p PORT, -U USER as set (at most 6 entries; they point
 * into w and the config it was made from). */
void wd_pg_conn_args(const wd_pg_where *w, const char **argv, int *argc);

#endif
