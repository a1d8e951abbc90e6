/*
 * control.c - the cluster's identity: from pg_control on disk, or from the
 * running server through libpq.
 *
 * pg_control starts with the system identifier (uint64, host byte order)
 * in every supported version; PG_VERSION holds the major version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "pg/libpq.h"
#include "pg/pg.h"

int wd_pg_control_read(const char *pgdata, uint64_t *sysid, int *pg_major)
{
    int rc;
    char *path = wd_path_join(pgdata, "global/pg_control");
    char *vpath = wd_path_join(pgdata, "PG_VERSION");
    char *vtext = NULL;
    if (!path || !vpath) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    if ((rc = wd_file_read_all(vpath, 64, &vtext, NULL)))
        goto done;
    int64_t major;
    vtext[strcspn(vtext, "\r\n")] = '\0';
    if (wd_parse_int64(vtext, 9, 99, &major)) {
        rc = wd_error_set(WALDEN_EINVAL, "'%s' does not hold a PostgreSQL major version", vpath);
        goto done;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = wd_error_set_errno(errno, "cannot open '%s'", path);
        goto done;
    }
    uint8_t head[16];
    ssize_t n = pread(fd, head, sizeof(head), 0);
    int saved = errno;
    close(fd);
    if (n != (ssize_t)sizeof(head)) {
        rc = n < 0 ? wd_error_set_errno(saved, "cannot read '%s'", path)
                   : wd_error_set(WALDEN_EINVAL, "'%s' is too short to be pg_control", path);
        goto done;
    }
    memcpy(sysid, head, 8);
    *pg_major = (int)major;
    if (*sysid == 0)
        rc = wd_error_set(WALDEN_EINVAL, "'%s' holds no system identifier", path);
done:
    wd_free(path);
    wd_free(vpath);
    wd_free(vtext);
    return rc;
}

int wd_pg_identity_query(const walden_config *cfg, uint64_t *sysid, int *version_num)
{
    const char *keys[6], *vals[6];
    int n = 0;
    static const char *const opts[][2] = {
        {"host", "pghost"}, {"port", "pgport"}, {"user", "pguser"}, {"dbname", "pgdatabase"}};
    for (size_t i = 0; i < WD_ARRAY_LEN(opts); i++) {
        const char *v = walden_config_get(cfg, opts[i][1]);
        if (v && *v) {
            keys[n] = opts[i][0];
            vals[n++] = v;
        }
    }
    keys[n] = "application_name";
    vals[n++] = "walden";
    keys[n] = NULL;
    vals[n] = NULL;

    const wd_libpq *pq = wd_libpq_get();
    if (!pq)
        return WALDEN_EPG;
    PGconn *conn = pq->connectdbParams(keys, vals, 0);
    PGresult *res = NULL;
    int rc = 0;
    if (!conn || pq->status(conn) != CONNECTION_OK) {
        rc = wd_error_set(WALDEN_EPG, "cannot connect to PostgreSQL: %s",
                          conn ? pq->errorMessage(conn) : "out of memory");
        goto done;
    }
    res = pq->exec(conn, "SELECT system_identifier::text, current_setting('server_version_num') "
                         "FROM pg_control_system()");
    if (pq->resultStatus(res) != PGRES_TUPLES_OK || pq->ntuples(res) != 1) {
        rc = wd_error_set(WALDEN_EPG, "cannot read the cluster's identity: %s",
                          pq->errorMessage(conn));
        goto done;
    }
    int64_t ver;
    if (wd_parse_uint64(pq->getvalue(res, 0, 0), sysid) ||
        wd_parse_int64(pq->getvalue(res, 0, 1), 90000, 9999999, &ver)) {
        rc = wd_error_set(WALDEN_EPG, "unexpected answer from the server identifying itself");
        goto done;
    }
    *version_num = (int)ver;
done:
    pq->clear(res);
    pq->finish(conn);
    return rc;
}
