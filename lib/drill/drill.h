/*
 * drill.h - restore drills (internal): the pieces of drill.c that have no
 * side effect, for the unit tests.
 */
#ifndef WD_DRILL_DRILL_H
#define WD_DRILL_DRILL_H

#include <stdint.h>

#include "walden/walden.h"

/* Where drills are recorded, inside the cluster's area: drill/<id>.info. */
#define WD_DRILL_DIR "drill"

/* "passed", "failed" or "targets-missed". */
const char *wd_drill_status_name(walden_drill_status s);

/* The point in time a restored server reached: the newer of the last
 * replayed commit (0: none) and the backup's stop time (0: unknown). */
int64_t wd_drill_recovered_to(int64_t last_xact_ms, int64_t backup_stop_ms);

/* The JSON report (docs/json.md), malloc'ed; NULL when out of memory. */
char *wd_drill_report_json(const walden_drill_result *r);
/* The Prometheus textfile (docs/commands/drill.md), malloc'ed. */
char *wd_drill_metrics_text(const walden_drill_result *r);
/* The repository record (name = value lines), malloc'ed. */
char *wd_drill_record_text(const walden_drill_result *r);
/* Parses a record into *out (free with walden_drill_result_free). */
int wd_drill_record_parse(const char *text, size_t len, const char *origin,
                          walden_drill_result **out);

#endif
