/*
 * wal.c - walden verify, the WAL archive: every object queued, the segments the backups need and
 * the gaps between runs reported, duplicates with different contents named, and the timelines'
 * problems (archive/timelines.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "common/common.h"
#include "verify/verify.h"

/* ---- WAL ---- */

/* Reports segments first..last of `tli` as missing: for backup `need`, or
 * (need NULL) as a gap in the archive. */
static int report_missing(verify_run *v, const wal_need *need, uint32_t tli, uint64_t first,
                          uint64_t last)
{
    char a[25], z[25];
    wd_wal_segment_name(tli, first, v->per_log, a);
    wd_wal_segment_name(tli, last, v->per_log, z);
    wd_wal_name parsed;
    char *folder = NULL, *object = NULL;
    if (!wd_wal_name_parse(a, &parsed))
        folder = wd_wal_folder(v->repo, a, &parsed);
    if (!folder || !(object = wd_path_join(folder, a))) {
        wd_free(folder);
        return WALDEN_ENOMEM;
    }
    int rc;
    if (need && first == last)
        rc = wd_verify_report(
            v, WALDEN_VERIFY_MISSING, need->id, object,
            "WAL segment %s, needed by backup %s (%s to %s), is not in the archive", a, need->id,
            need->start_wal, need->stop_wal);
    else if (need)
        rc = wd_verify_report(v, WALDEN_VERIFY_MISSING, need->id, object,
                              "WAL segments %s to %s (%" PRIu64
                              "), needed by backup %s (%s to %s), are not "
                              "in the archive",
                              a, z, last - first + 1, need->id, need->start_wal, need->stop_wal);
    else if (first == last)
        rc = wd_verify_report(v, WALDEN_VERIFY_WAL_GAP, "", object,
                              "WAL segment %s is missing between archived segments of timeline %u",
                              a, tli);
    else
        rc = wd_verify_report(v, WALDEN_VERIFY_WAL_GAP, "", object,
                              "WAL segments %s to %s (%" PRIu64
                              ") are missing between archived segments "
                              "of timeline %u",
                              a, z, last - first + 1, tli);
    wd_free(folder);
    wd_free(object);
    return rc;
}

static int wal_object(const walden_wal_entry *e, const char *folder, const char *object, void *ctx)
{
    verify_run *v = ctx;
    wd_wal_name n;
    char name[64];
    wd_wal_copy copy;
    if (wd_wal_name_parse(e->name, &n) || wd_wal_object_parse(object, name, sizeof(name), &copy)) {
        walden_error_clear();
        return 0;
    }
    bool needed = false;
    int rc = 0;
    if (n.kind == WD_WAL_SEGMENT) {
        uint64_t segno = (uint64_t)n.log * v->per_log + n.seg;
        for (size_t i = 0; !rc && i < v->n_needs; i++) {
            wal_need *need = &v->needs[i];
            if (need->tli != n.tli || segno < need->first || segno > need->last)
                continue;
            needed = true;
            if (segno > need->next)
                rc = report_missing(v, need, n.tli, need->next, segno - 1);
            if (segno >= need->next)
                need->next = segno + 1;
        }
    }
    if (!rc && (!v->set || needed) && strcmp(v->prev_wal, e->name) == 0 &&
        memcmp(v->prev_sha, copy.sha256, 32) != 0) {
        char *path = wd_path_join(folder, object);
        rc = path ? wd_verify_report(
                        v, WALDEN_VERIFY_CORRUPT, "", path,
                        "the archive holds two different copies of '%s': archive-get refuses it",
                        e->name)
                  : WALDEN_ENOMEM;
        wd_free(path);
    }
    snprintf(v->prev_wal, sizeof(v->prev_wal), "%s", e->name);
    memcpy(v->prev_sha, copy.sha256, 32);
    if (rc || (v->set && !needed))
        return rc;
    vjob j;
    wd_verify_job_init(v, &j, "", "the archive", "");
    j.wal = true;
    if ((size_t)snprintf(j.object, sizeof(j.object), "%s/%s", folder, object) >= sizeof(j.object))
        return 0; /* not a name archive-push makes */
    j.compress = copy.compress;
    j.has_raw = true; /* the name has it; the stored bytes' digest is not recorded */
    memcpy(j.raw_sha256, copy.sha256, 32);
    return wd_verify_push(v, &j);
}

int wd_verify_wal(verify_run *v, const walden_wal_summary *sum)
{
    wd_log_info("verifying the WAL archive");
    int rc = wd_wal_walk(v->repo, wal_object, v);
    for (size_t i = 0; !rc && i < v->n_needs; i++)
        if (v->needs[i].next <= v->needs[i].last)
            rc = report_missing(v, &v->needs[i], v->needs[i].tli, v->needs[i].next,
                                v->needs[i].last);
    for (size_t i = 0; !rc && !v->set && i < sum->n_gaps; i++) {
        wd_wal_name a, z;
        if (wd_wal_name_parse(sum->gaps[i].first, &a) || wd_wal_name_parse(sum->gaps[i].last, &z)) {
            walden_error_clear();
            continue;
        }
        rc = report_missing(v, NULL, a.tli, (uint64_t)a.log * v->per_log + a.seg,
                            (uint64_t)z.log * v->per_log + z.seg);
    }
    return rc;
}

/* ---- timelines ---- */

static int timeline_problem(bool notice, const char *object, const char *message, void *ctx)
{
    walden_verify_kind kind = notice                       ? WALDEN_VERIFY_UNCHECKED
                              : strstr(object, ".history") ? WALDEN_VERIFY_MISSING
                                                           : WALDEN_VERIFY_TIMELINE;
    return wd_verify_report(ctx, kind, "", object, "%s", message);
}

/* The timelines: missing history files, a choice restore refuses, stray
 * timelines (timelines.c). */
int wd_verify_timelines(verify_run *v, walden_repo *repo, const walden_wal_summary *sum)
{
    walden_timelines *t = NULL;
    int rc = walden_timelines_get(repo, sum, &t);
    if (rc == WALDEN_ECORRUPT || rc == WALDEN_EAUTH)
        return wd_verify_report_failure(v, rc, "", "timeline history");
    if (!rc)
        rc = wd_timeline_problems(t, timeline_problem, v);
    walden_timelines_free(t);
    return rc;
}
