/*
 * relfile.c - relation file names: base/DB/REL[_fsm|_vm|_init][.N],
 * global/REL... and pg_tblspc/TS/PG_.../DB/REL... (pg.h). The one parser of
 * these paths: backup decides by it which files are stored by blocks, and
 * the WAL summaries' fast path which relation a file is.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"
#include "pg/pg.h"

/* A decimal oid without a leading zero, 1 .. 2^32-1, of `n` characters. */
static bool oid_of(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 10 || s[0] == '0')
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* "REL[_fsm|_vm|_init][.N]" */
static bool file_name(const char *name, wd_pg_relfile *out)
{
    size_t n = strspn(name, "0123456789");
    if (!oid_of(name, n, &out->rel))
        return false;
    const char *p = name + n;
    static const struct {
        const char *suffix;
        uint32_t fork;
    } forks[] = {{"_fsm", WD_PG_FORK_FSM}, {"_vm", WD_PG_FORK_VM}, {"_init", WD_PG_FORK_INIT}};
    out->fork = WD_PG_FORK_MAIN;
    for (size_t i = 0; i < WD_ARRAY_LEN(forks); i++) {
        size_t len = strlen(forks[i].suffix);
        if (strncmp(p, forks[i].suffix, len) == 0) {
            out->fork = forks[i].fork;
            p += len;
            break;
        }
    }
    out->segno = 0;
    /* a relation has at most 2^32 - 1 blocks: 32,768 segments of 1 GiB
     * (block numbers over all segments stay in 32 bits) */
    if (*p == '.')
        return oid_of(p + 1, strlen(p + 1), &out->segno) && out->segno < 32768;
    return *p == '\0';
}

/* The next element of a path: its length, *rest after its '/' (NULL at the
 * last one). */
static size_t element(const char *p, const char **rest)
{
    const char *slash = strchr(p, '/');
    *rest = slash ? slash + 1 : NULL;
    return slash ? (size_t)(slash - p) : strlen(p);
}

bool wd_pg_relfile_parse(const char *relpath, wd_pg_relfile *out)
{
    const char *p = relpath, *rest;
    size_t n = element(p, &rest);
    if (!rest)
        return false;
    if (n == 6 && strncmp(p, "global", 6) == 0) {
        out->spc = WD_PG_GLOBAL_TABLESPACE;
        out->db = 0;
        return !strchr(rest, '/') && file_name(rest, out);
    }
    if (n == 4 && strncmp(p, "base", 4) == 0) {
        out->spc = WD_PG_DEFAULT_TABLESPACE;
    } else if (n == 9 && strncmp(p, "pg_tblspc", 9) == 0) {
        p = rest;
        if (!oid_of(p, element(p, &rest), &out->spc) || !rest)
            return false;
        /* the version folder, PG_17_202406281 */
        p = rest;
        element(p, &rest);
        if (!wd_str_starts_with(p, "PG_") || !rest)
            return false;
    } else {
        return false;
    }
    p = rest;
    if (!oid_of(p, element(p, &rest), &out->db) || !rest || strchr(rest, '/'))
        return false;
    return file_name(rest, out);
}

bool wd_pg_is_relation_file(const char *relpath, uint32_t *segno)
{
    wd_pg_relfile rf;
    if (!wd_pg_relfile_parse(relpath, &rf))
        return false;
    *segno = rf.segno;
    return true;
}
