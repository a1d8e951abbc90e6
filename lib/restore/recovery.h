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
    const char *action; /* promote|pause|shutdown, NULL: PostgreSQL's default */
    const char *timeline;
    bool exclusive;
} wd_target;

/* Reads the target options; more than one target is WALDEN_EINVAL. */
int wd_target_from_config(const walden_config *cfg, wd_target *t);
/* Parses "YYYY-MM-DD[ T]HH:MM[:SS[.fff]][ ][Z|UTC|+HH[:MM]|-HH[:MM]]" into
 * Unix ms; without a zone the local time zone applies. */
int wd_time_parse(const char *text, int64_t *ms);
/* Appends the recovery settings to PGDATA/postgresql.auto.conf and creates
 * PGDATA/recovery.signal. */
int wd_recovery_write(const char *pgdata, const char *restore_command, const wd_target *t,
                      const char *backup_id);

/* Asked by restore's workers before each file when set: a true answer
 * stops the restore (WALDEN_ERROR). walden drill sets it while it runs, so
 * that SIGINT or SIGTERM need not wait for the whole restore. */
extern bool (*wd_restore_cancel_hook)(void);
#endif
