/*
 * dumps.c - walden verify, the dumps: dump.manifest through the catalogue, and the data file it
 * names queued with both its digests.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "catalog/catalog.h"
#include "common/common.h"
#include "verify/verify.h"

/* ---- dumps ---- */

int wd_verify_dump(verify_run *v, const char *id, bool must_exist)
{
    wd_dump_meta m = {0};
    char *mpath = wd_asprintf("%s/%s/%s/%s", v->repo->cluster, WD_DUMP_DIR, id, WD_DUMP_MANIFEST);
    char *object = NULL;
    if (!mpath)
        return WALDEN_ENOMEM;
    int rc = wd_dump_load_meta(v->repo, id, &m);
    if (rc == WALDEN_ENOTFOUND && !must_exist) { /* unfinished: not a dump */
        walden_error_clear();
        rc = 0;
        goto done;
    }
    if (rc) {
        rc = wd_verify_report_failure(v, rc, id, mpath);
        goto done;
    }
    wd_log_info("verifying dump %s", id);
    pthread_mutex_lock(&v->mu);
    v->res->dumps++;
    pthread_mutex_unlock(&v->mu);
    if (strcmp(m.status, "ok") != 0)
        goto done; /* a failed dump has no data, and says so */
    wd_compress c;
    if (wd_compress_parse(m.compress, &c) || !(object = wd_dump_object(v->repo, &m))) {
        walden_error_clear();
        rc = wd_verify_report(v, WALDEN_VERIFY_CORRUPT, id, mpath, "unknown compression '%s'",
                              m.compress);
        goto done;
    }
    vjob j;
    wd_verify_job_init(v, &j, id, WD_DUMP_MANIFEST, mpath);
    if ((size_t)snprintf(j.object, sizeof(j.object), "%s", object) >= sizeof(j.object)) {
        rc = wd_verify_report(v, WALDEN_VERIFY_CORRUPT, id, mpath, "object name too long");
        goto done;
    }
    j.compress = c;
    j.has_stored = true;
    memcpy(j.stored_sha256, m.stored_sha256, 32);
    j.stored_size = m.pub.stored_size;
    j.has_raw = j.has_raw_size = true;
    memcpy(j.raw_sha256, m.raw_sha256, 32);
    j.raw_size = m.pub.size;
    rc = wd_verify_push(v, &j);
done:
    wd_dump_meta_clear(&m);
    wd_free(object);
    wd_free(mpath);
    return rc;
}

int wd_verify_dumps(verify_run *v)
{
    char **ids;
    size_t n;
    int rc = wd_repo_list_ids(v->repo, WD_DUMP_DIR, &ids, &n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = wd_verify_dump(v, ids[i], false);
    wd_storage_names_free(ids, n);
    return rc;
}
