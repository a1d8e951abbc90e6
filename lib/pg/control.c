/*
 * control.c - the cluster's identity: from pg_control on disk, or from the
 * running server through libpq.
 *
 * pg_control starts with the system identifier (uint64, host byte order)
 * in every supported version; PG_VERSION holds the major version.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static bool valid_segment_size(uint64_t size)
{
    return size >= (1u << 20) && size <= (1u << 30) && !(size & (size - 1));
}

int wd_pg_segment_size_read(const char *pgdata, uint64_t *size)
{
    *size = 0;
    char *dir = wd_path_join(pgdata, "pg_wal");
    if (!dir)
        return WALDEN_ENOMEM;
    DIR *d = opendir(dir);
    struct dirent *e;
    /* any segment: its long page header states the size, and its length
     * must agree (a recycled segment keeps its header's size) */
    while (d && !*size && (e = readdir(d))) {
        if (strlen(e->d_name) != 24 || strspn(e->d_name, "0123456789ABCDEF") != 24)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        uint8_t head[40];
        uint32_t seg;
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            pread(fd, head, sizeof(head), 0) == (ssize_t)sizeof(head)) {
            memcpy(&seg, head + 32, 4);
            if (valid_segment_size(seg) && (uint64_t)st.st_size == seg)
                *size = seg;
        }
        if (fd >= 0)
            close(fd);
    }
    if (d)
        closedir(d);
    wd_free(dir);
    return 0;
}

int wd_pg_identity_query(const walden_config *cfg, uint64_t *sysid, int *version_num,
                         uint64_t *segment_size)
{
    wd_pg_conn *c;
    int rc = wd_pg_connect(&c, cfg);
    if (rc)
        return rc;
    char *text = NULL;
    if ((rc = wd_pg_query_one(c, "SELECT system_identifier::text FROM pg_control_system()", &text)))
        rc = wd_error_wrap(rc, "cannot read the cluster's identity");
    else if (wd_parse_uint64(text, sysid))
        rc = wd_error_set(WALDEN_EPG, "unexpected answer from the server identifying itself");
    else
        *version_num = wd_pg_server_version(c);
    wd_free(text);
    text = NULL;
    uint64_t seg;
    /* in bytes since PostgreSQL 11 */
    if (!rc && segment_size) {
        *segment_size = 0;
        if (wd_pg_query_one(c, "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'",
                            &text) == 0 &&
            wd_parse_uint64(text, &seg) == 0 && valid_segment_size(seg))
            *segment_size = seg;
        walden_error_clear(); /* unknown: archive-get goes by the segment's header */
        wd_free(text);
    }
    wd_pg_close(c);
    return rc;
}
