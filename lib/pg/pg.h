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

/* The page magic of a major version; 0 when unknown. */
uint16_t wd_wal_page_magic(int pg_major);

/* Reads the system identifier from PGDATA/global/pg_control and the major
 * version from PGDATA/PG_VERSION. */
int wd_pg_control_read(const char *pgdata, uint64_t *sysid, int *pg_major);

/* Connects with the configured pghost/pgport/pguser/pgdatabase (libpq's own
 * PG* variables apply too) and reads the system identifier and
 * server_version_num. */
int wd_pg_identity_query(const walden_config *cfg, uint64_t *sysid, int *version_num);

#endif
