/*
 * walk.h - walks a data directory for a backup, depth first, leaving out
 * what PostgreSQL documents as safe to leave out (docs/commands/backup.md):
 *
 *   - the contents of pg_wal, pg_replslot, pg_dynshmem, pg_notify,
 *     pg_serial, pg_snapshots, pg_stat_tmp and pg_subtrans (the folders
 *     themselves are kept);
 *   - postmaster.pid, postmaster.opts, backup_label, tablespace_map,
 *     recovery.signal, standby.signal at the top (the backup stores the
 *     backup_label and tablespace_map the server returns);
 *   - anything named pgsql_tmp*, and pg_internal.init files;
 *   - the forks of unlogged relations except their init fork.
 *
 * Tablespaces (symlinks pg_tblspc/OID) are reported as links and walked
 * through. Paths are relative to the data directory. A directory is
 * reported before anything in it. Memory: one open directory per level.
 */
#ifndef WD_BACKUP_WALK_H
#define WD_BACKUP_WALK_H
#include <limits.h>
#include <stdint.h>

typedef struct wd_walk wd_walk;

typedef struct wd_walk_entry {
    char type; /* 'f' file, 'd' directory, 'l' tablespace link */
    unsigned mode;
    uint64_t size;
    int64_t mtime;
    char path[PATH_MAX];
    char link[PATH_MAX]; /* the link's target ('l' only) */
} wd_walk_entry;

int wd_walk_open(wd_walk **out, const char *pgdata);
/* 0 with the next entry, 1 at the end, or an error. Entries that vanish
 * during the walk are left out. */
int wd_walk_next(wd_walk *w, wd_walk_entry *e);
void wd_walk_close(wd_walk *w);
#endif
