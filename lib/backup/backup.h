/*
 * backup.h - physical backups (internal); their catalogue is catalog/catalog.h.
 */
#ifndef WD_BACKUP_BACKUP_H
#define WD_BACKUP_BACKUP_H
#include "common/lock.h"
#include "repo/repo.h"

/* process-max; when unset, 1, or with `all_cores` (restore: not the production
 * server's load, and its speed is the recovery time) the number of cores. */
int wd_process_max(const walden_config *cfg, bool all_cores, int *out);

#endif
