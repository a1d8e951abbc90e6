/*
 * record.c - a drill's result: its allocation, the record the repository
 * keeps of it (drill/<id>.info: name = value lines, signed), that record's
 * parse (walden drill --history, info, metrics, repo-upgrade) and the
 * history of recorded drills.
 *
 * A record names only what the history shows: the checks themselves stay
 * in the JSON report. Unknown names are a newer walden's and are skipped;
 * a known name with a bad value makes the record corrupt.
 */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "drill/drill.h"
#include "repo/repo.h"

/* Replaces an owned string field. */
int wd_drill_set_str(const char **field, const char *value)
{
    char *copy = wd_strdup(value ? value : "");
    if (!copy)
        return WALDEN_ENOMEM;
    wd_free((void *)*field);
    *field = copy;
    return 0;
}

wd_drill_res *wd_drill_res_new(void)
{
    wd_drill_res *r = wd_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->pub.rpo_seconds = -1;
    if (wd_drill_set_str(&r->pub.id, "") || wd_drill_set_str(&r->pub.cluster, "") ||
        wd_drill_set_str(&r->pub.backup_id, "") || wd_drill_set_str(&r->pub.error, "") ||
        wd_drill_set_str(&r->pub.scratch_dir, "") ||
        wd_drill_set_str(&r->pub.last_archived_wal, "") ||
        wd_drill_set_str(&r->pub.kind, "backup") || wd_drill_set_str(&r->pub.timeline_reason, "") ||
        wd_drill_set_str(&r->pub.backup_type, "") ||
        wd_drill_set_str(&r->pub.backup_reference, "")) {
        walden_drill_result_free(&r->pub);
        return NULL;
    }
    return r;
}

void walden_drill_result_free(walden_drill_result *pub)
{
    if (!pub)
        return;
    wd_drill_res *r = (wd_drill_res *)pub;
    for (size_t i = 0; i < pub->n_checks; i++) {
        wd_free((void *)r->checks[i].database);
        wd_free((void *)r->checks[i].detail);
    }
    wd_free(r->checks);
    wd_free((void *)pub->id);
    wd_free((void *)pub->cluster);
    wd_free((void *)pub->backup_id);
    wd_free((void *)pub->kind);
    wd_free((void *)pub->error);
    wd_free((void *)pub->scratch_dir);
    wd_free((void *)pub->last_archived_wal);
    wd_free((void *)pub->timeline_reason);
    wd_free((void *)pub->backup_type);
    wd_free((void *)pub->backup_reference);
    wd_free(r);
}

const char *wd_drill_status_name(walden_drill_status s)
{
    return s == WALDEN_DRILL_PASSED   ? "passed"
           : s == WALDEN_DRILL_MISSED ? "targets-missed"
                                      : "failed";
}

int64_t wd_drill_recovered_to(int64_t last_xact_ms, int64_t backup_stop_ms)
{
    return last_xact_ms > backup_stop_ms ? last_xact_ms : backup_stop_ms;
}

void wd_drill_one_line(char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '\t')
            s[i] = ' ';
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
}

char *wd_drill_record_text(const walden_drill_result *r)
{
    wd_buf b = {0};
    char error[1024];
    snprintf(error, sizeof(error), "%s", r->error);
    wd_drill_one_line(error);
    wd_buf_printf(
        &b,
        "# walden drill record\nformat = 1\nid = %s\nkind = %s\nbackup-id = %s\nstatus = %s\n"
        "error = %s\nstarted-at-ms = %" PRId64 "\nfinished-at-ms = %" PRId64 "\n"
        "restore-seconds = %.3f\nreplay-seconds = %.3f\nstartup-seconds = %.3f\n"
        "checks-seconds = %.3f\nrto-seconds = %.3f\nrpo-seconds = %.3f\n"
        "rto-target-seconds = %" PRId64 "\nrpo-target-seconds = %" PRId64 "\n"
        "rto-met = %d\nrpo-met = %d\nrecovered-to-ms = %" PRId64 "\nlast-xact-ms = %" PRId64
        "\nchecks-passed = %" PRIu64 "\nchecks-failed = %" PRIu64 "\nchecks-skipped = %" PRIu64
        "\nsource-lsn = %" PRIu64 "\nreplayed-lsn = %" PRIu64 "\nbackup-type = %s\n"
        "backup-reference = %s\n",
        r->id, r->kind, r->backup_id, wd_drill_status_name(r->status), error, r->started_at_ms,
        r->finished_at_ms, r->restore_seconds, r->replay_seconds, r->startup_seconds,
        r->checks_seconds, r->rto_seconds, r->rpo_seconds, r->rto_target_seconds,
        r->rpo_target_seconds, r->rto_met, r->rpo_met, r->recovered_to_ms, r->last_xact_ms,
        r->checks_passed, r->checks_failed, r->checks_skipped, r->source_lsn, r->replayed_lsn,
        r->backup_type ? r->backup_type : "", r->backup_reference ? r->backup_reference : "");
    return wd_buf_take(&b);
}

static int record_kv(const char *name, const char *value, int line, void *ctx)
{
    (void)line;
    walden_drill_result *r = ctx;
    int64_t i = 0;
    uint64_t u = 0;
    if (strcmp(name, "id") == 0)
        return wd_drill_set_str(&r->id, value);
    if (strcmp(name, "backup-id") == 0)
        return wd_drill_set_str(&r->backup_id, value);
    if (strcmp(name, "kind") == 0)
        return wd_drill_set_str(&r->kind, value);
    if (strcmp(name, "error") == 0)
        return wd_drill_set_str(&r->error, value);
    if (strcmp(name, "backup-type") == 0) /* a newer walden's type is shown as it is */
        return wd_drill_set_str(&r->backup_type, value);
    if (strcmp(name, "backup-reference") == 0)
        return wd_drill_set_str(&r->backup_reference, value);
    if (strcmp(name, "status") == 0) {
        r->status = strcmp(value, "passed") == 0           ? WALDEN_DRILL_PASSED
                    : strcmp(value, "targets-missed") == 0 ? WALDEN_DRILL_MISSED
                                                           : WALDEN_DRILL_FAILED;
        return 0;
    }
    static const struct {
        const char *name;
        size_t off;
    } dbl[] = {{"restore-seconds", offsetof(walden_drill_result, restore_seconds)},
               {"replay-seconds", offsetof(walden_drill_result, replay_seconds)},
               {"startup-seconds", offsetof(walden_drill_result, startup_seconds)},
               {"checks-seconds", offsetof(walden_drill_result, checks_seconds)},
               {"rto-seconds", offsetof(walden_drill_result, rto_seconds)},
               {"rpo-seconds", offsetof(walden_drill_result, rpo_seconds)}},
      i64[] = {{"started-at-ms", offsetof(walden_drill_result, started_at_ms)},
               {"finished-at-ms", offsetof(walden_drill_result, finished_at_ms)},
               {"rto-target-seconds", offsetof(walden_drill_result, rto_target_seconds)},
               {"rpo-target-seconds", offsetof(walden_drill_result, rpo_target_seconds)},
               {"recovered-to-ms", offsetof(walden_drill_result, recovered_to_ms)},
               {"last-xact-ms", offsetof(walden_drill_result, last_xact_ms)}},
      u64[] = {{"checks-passed", offsetof(walden_drill_result, checks_passed)},
               {"checks-failed", offsetof(walden_drill_result, checks_failed)},
               {"checks-skipped", offsetof(walden_drill_result, checks_skipped)},
               {"source-lsn", offsetof(walden_drill_result, source_lsn)},
               {"replayed-lsn", offsetof(walden_drill_result, replayed_lsn)}};
    for (size_t k = 0; k < WD_ARRAY_LEN(dbl); k++)
        if (strcmp(name, dbl[k].name) == 0) {
            char *end;
            double v = strtod(value, &end);
            /* strtod also takes "nan" and "inf", which the JSON of the
             * report and of drill --history cannot carry */
            if (end == value || *end || !isfinite(v))
                return wd_error_set(WALDEN_ECORRUPT, "drill record: bad %s '%s'", name, value);
            memcpy((char *)r + dbl[k].off, &v, sizeof(v));
            return 0;
        }
    for (size_t k = 0; k < WD_ARRAY_LEN(i64); k++)
        if (strcmp(name, i64[k].name) == 0) {
            if (wd_parse_int64(value, INT64_MIN, INT64_MAX, &i))
                return wd_error_set(WALDEN_ECORRUPT, "drill record: bad %s '%s'", name, value);
            memcpy((char *)r + i64[k].off, &i, sizeof(i));
            return 0;
        }
    for (size_t k = 0; k < WD_ARRAY_LEN(u64); k++)
        if (strcmp(name, u64[k].name) == 0) {
            if (wd_parse_uint64(value, &u))
                return wd_error_set(WALDEN_ECORRUPT, "drill record: bad %s '%s'", name, value);
            memcpy((char *)r + u64[k].off, &u, sizeof(u));
            return 0;
        }
    if (strcmp(name, "rto-met") == 0)
        r->rto_met = strcmp(value, "1") == 0;
    else if (strcmp(name, "rpo-met") == 0)
        r->rpo_met = strcmp(value, "1") == 0;
    return 0; /* unknown names: a newer walden's */
}

int wd_drill_record_parse(const char *text, size_t len, const char *origin,
                          walden_drill_result **out)
{
    wd_drill_res *r = wd_drill_res_new();
    if (!r)
        return WALDEN_ENOMEM;
    int rc = wd_kv_parse(text, len, origin, record_kv, &r->pub);
    if (rc) {
        walden_drill_result_free(&r->pub);
        return rc;
    }
    *out = &r->pub;
    return 0;
}

/* ---- history ---- */

typedef struct hist_ctx {
    char **names;
    size_t n, cap;
} hist_ctx;

static int hist_entry(const wd_storage_entry *e, void *ctx)
{
    hist_ctx *h = ctx;
    if (e->is_dir || !wd_str_ends_with(e->name, ".info"))
        return 0;
    char **names = wd_array_grow(h->names, &h->cap, h->n, sizeof(*names), 32);
    if (!names)
        return WALDEN_ENOMEM;
    h->names = names;
    if (!(h->names[h->n] = wd_strdup(e->name)))
        return WALDEN_ENOMEM;
    h->n++;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int walden_drill_history(walden_repo *repo, walden_drill_cb cb, void *ctx)
{
    hist_ctx h = {0};
    char *dir = wd_repo_path(repo, WD_DRILL_DIR);
    if (!dir)
        return WALDEN_ENOMEM;
    int rc = wd_storage_list(repo->storage, dir, hist_entry, &h);
    if (!rc && h.n)
        qsort(h.names, h.n, sizeof(*h.names), name_cmp);
    for (size_t i = 0; !rc && i < h.n; i++) {
        char *path = wd_path_join(dir, h.names[i]), *text = NULL;
        size_t len;
        walden_drill_result *r = NULL;
        if (!path)
            rc = WALDEN_ENOMEM;
        else if ((rc = wd_repo_read_signed(repo, path, 1u << 20, &text, &len)) == WALDEN_EPERM) {
            /* a record this user may not read (one written as root by an
             * older walden) is left out, not fatal: info and metrics go on.
             * A record that is there but corrupt stays an error. */
            wd_log_warn("skipping drill record: %s", walden_error_last()->message);
            rc = 0;
        } else if (!rc && !(rc = wd_drill_record_parse(text, len, path, &r)) &&
                   !(rc = wd_drill_set_str(&r->cluster, repo->cluster)))
            rc = wd_callback_rc(cb(r, ctx));
        walden_drill_result_free(r);
        wd_free(text);
        wd_free(path);
    }
    for (size_t i = 0; i < h.n; i++)
        wd_free(h.names[i]);
    wd_free(h.names);
    wd_free(dir);
    return rc;
}
