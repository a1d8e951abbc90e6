/*
 * recovery.h - the recovery target of a restore: which backup it needs and
 * the settings that make PostgreSQL recover to it.
 */
#ifndef WD_RESTORE_RECOVERY_H
#define WD_RESTORE_RECOVERY_H
#include <stdbool.h>
#include <stdint.h>

#include "walden/walden.h"

typedef enum {
    WD_TARGET_END = 0, /* the end of the archive */
    WD_TARGET_TIME,
    WD_TARGET_LSN,
    WD_TARGET_XID,
    WD_TARGET_NAME,
    WD_TARGET_IMMEDIATE
} wd_target_kind;

typedef struct wd_target {
    wd_target_kind kind;
    const char *value;  /* as given (the time, LSN, xid or name) */
    int64_t time_ms;    /* WD_TARGET_TIME: parsed, Unix ms */
    uint64_t lsn;       /* WD_TARGET_LSN */
    uint64_t xid;       /* WD_TARGET_XID: as given, 32-bit or epoch-qualified */
    const char *action; /* promote|pause|shutdown, NULL: PostgreSQL's default */
    const char *timeline;
    bool exclusive;
    /* restore --type standby: standby.signal instead of recovery.signal,
     * and primary_conninfo (NULL: replay from the archive only) */
    bool standby;
    const char *primary_conninfo;
} wd_target;

/* Reads and checks the target options (each must be something PostgreSQL
 * accepts; a --target-time needs a zone); more than one target, or one
 * given empty, is WALDEN_EINVAL, one line naming the option. */
int wd_target_from_config(const walden_config *cfg, wd_target *t);
/* Applies restore's --type (default, immediate or standby) and
 * --primary-conninfo to `t`, read by wd_target_from_config: immediate is
 * recovery_target = 'immediate'; standby takes no recovery target. A
 * backup type (full) given as a flag or in the environment, a target that
 * the type contradicts, or --primary-conninfo without --type standby is
 * WALDEN_EINVAL, one line; "full" from a config file is backup's and
 * ignored, and so is primary-conninfo there without --type standby. */
int wd_restore_type_from_config(const walden_config *cfg, wd_target *t);
/* Parses "YYYY-MM-DD[ T]HH:MM[:SS[.fff]][ ][Z|UTC|+HH[:MM]|-HH[:MM]]" into
 * Unix ms; without a zone the local time zone applies. */
int wd_time_parse(const char *text, int64_t *ms);
/* Whether a time wd_time_parse accepted names its zone. */
bool wd_time_has_zone(const char *text);
/* A recovery_target_xid: decimal, 32-bit or epoch-qualified 64-bit, whose
 * low 32 bits are 3 or more; WALDEN_EINVAL (no message) otherwise. */
int wd_xid_parse(const char *text, uint64_t *xid);
/* Creates PGDATA/recovery.signal, or standby.signal for a standby
 * (exclusively: a second call fails with WALDEN_EEXISTS), comments out in PGDATA/postgresql.conf
 * and postgresql.auto.conf every recovery setting and every command or connection to elsewhere the
 * backup brought (restore_command, recovery_target*, recovery_end_command, archive_cleanup_command,
 * primary_conninfo, primary_slot_name, promote_trigger_file, and
 * archive_mode with `archive_off`), then appends walden's recovery settings
 * (primary_conninfo for a standby, and archive_mode = off with
 * `archive_off`) to postgresql.auto.conf. The
 * files are rewritten in place: owner and mode stay. */
int wd_recovery_write(const char *pgdata, const char *restore_command, const wd_target *t,
                      const char *backup_id, bool archive_off);
/* Whether a setting (lower case) is one wd_recovery_write comments out. */
bool wd_recovery_is_neutralised(const char *name, bool archive_off);

/* walden_restore, whose workers ask `cancelled(cancel_ctx)` (when not
 * NULL, from any of them) before each file: a true answer stops the
 * restore (WALDEN_ERROR). walden drill passes its canceller's, so that
 * SIGINT or SIGTERM need not wait for the whole restore. */
int wd_restore_run(walden_repo *repo, const walden_config *cfg, const char *restore_command,
                   walden_progress_cb cb, void *cb_ctx, walden_restore_result *result,
                   bool (*cancelled)(void *ctx), void *cancel_ctx);
#endif
