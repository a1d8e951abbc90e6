/*
 * summaries.c - the WAL summaries a diff or incr backup may use instead of
 * reading every block (summaries.h). Every refusal is a log line and a
 * NULL: the backup then reads every block, as without summaries.
 */
#include <stdio.h>
#include <string.h>

#include "backup/summaries.h"
#include "common/common.h"

wd_summary *wd_backup_summaries(wd_pg_conn *c, const walden_config *cfg, const wd_backup_meta *ref,
                                const wd_backup_meta *m)
{
    if (!ref || walden_config_is(cfg, "wal-summaries", "off"))
        return NULL;
    char why[512] = "", from[WD_LSN_TEXT], to[WD_LSN_TEXT];
    wd_lsn_format(ref->pub.start_lsn, from);
    wd_lsn_format(m->pub.start_lsn, to);
    wd_summary *s = NULL;
    if (wd_pg_server_version(c) < 170000)
        return NULL; /* nothing to say: no server before 17 has them */
    if (ref->pub.timeline != m->pub.timeline)
        snprintf(why, sizeof(why), "the reference %s started on timeline %u, this backup on %u",
                 ref->id, ref->pub.timeline, m->pub.timeline);
    else if (!ref->data_checksums != !m->data_checksums)
        /* pg_checksums rewrites every page without WAL */
        snprintf(why, sizeof(why), "data checksums were turned %s since the reference %s",
                 m->data_checksums ? "on" : "off", ref->id);
    else if (wd_summary_server_ok(c, why, sizeof(why)) &&
             wd_summary_wait(c, m->pub.start_lsn, WD_BACKUP_SUMMARY_WAIT_MS, why, sizeof(why)))
        wd_summary_load(c, m->pub.timeline, ref->pub.start_lsn, m->pub.start_lsn,
                        WD_BACKUP_SUMMARY_BLOCKS, &s, why, sizeof(why));
    if (s)
        wd_log_info("backup %s: WAL summaries from %s to %s name %zu blocks: only those are read "
                    "of the relation files %s has",
                    m->id, from, to, wd_summary_blocks(s), ref->id);
    else
        wd_log_info("backup %s: WAL summaries from %s to %s not used (%s): every block is read",
                    m->id, from, to, why);
    return s;
}
