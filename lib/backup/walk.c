/*
 * walk.c - the data directory walk of a backup (see walk.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/walk.h"
#include "common/common.h"

#define MAX_DEPTH 32

typedef struct frame {
    DIR *dir;
    size_t path_len;    /* length of this directory's relative path */
    bool skip_contents; /* pg_wal and the like: keep the folder only */
    char **unlogged;    /* relfilenodes with an init fork (database folders) */
    size_t n_unlogged;
} frame;

struct wd_walk {
    char *pgdata;
    frame stack[MAX_DEPTH];
    int depth;
    char path[PATH_MAX]; /* relative path of the current directory */
    bool started;
};

static const char *const skip_contents_dirs[] = {
    "pg_wal",       "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial",
    "pg_snapshots", "pg_stat_tmp", "pg_subtrans", "pg_xlog",   NULL};
static const char *const top_files[] = {
    "postmaster.pid",  "postmaster.opts", "backup_label",     "tablespace_map",
    "recovery.signal", "standby.signal",  "backup_label.old", NULL};

static bool in_list(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return true;
    return false;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A database folder: base/OID or pg_tblspc/OID/VERSION/OID. */
static bool is_db_dir(const char *rel)
{
    const char *last = strrchr(rel, '/');
    if (!last || !all_digits(last + 1))
        return false;
    int slashes = 0;
    for (const char *p = rel; *p; p++)
        slashes += *p == '/';
    return (slashes == 1 && wd_str_starts_with(rel, "base/")) ||
           (slashes == 3 && wd_str_starts_with(rel, "pg_tblspc/"));
}

static void free_unlogged(frame *f)
{
    for (size_t i = 0; i < f->n_unlogged; i++)
        wd_free(f->unlogged[i]);
    wd_free(f->unlogged);
    f->unlogged = NULL;
    f->n_unlogged = 0;
}

/* First pass over a database folder: the relations with an init fork. */
static int collect_unlogged(frame *f)
{
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(f->dir))) {
        const char *init = strstr(de->d_name, "_init");
        if (!init || init[5] != '\0' || init == de->d_name)
            continue;
        if (f->n_unlogged == cap) {
            cap = cap ? cap * 2 : 8;
            char **n = wd_realloc(f->unlogged, cap * sizeof(*n));
            if (!n)
                return WALDEN_ENOMEM;
            f->unlogged = n;
        }
        if (!(f->unlogged[f->n_unlogged] = wd_strndup(de->d_name, (size_t)(init - de->d_name))))
            return WALDEN_ENOMEM;
        f->n_unlogged++;
    }
    rewinddir(f->dir);
    return 0;
}

/* A fork of an unlogged relation other than its init fork. */
static bool is_unlogged_fork(const frame *f, const char *name)
{
    if (!f->n_unlogged)
        return false;
    size_t n = strspn(name, "0123456789");
    if (strncmp(name + n, "_init", 5) == 0)
        return false;
    for (size_t i = 0; i < f->n_unlogged; i++)
        if (strlen(f->unlogged[i]) == n && strncmp(f->unlogged[i], name, n) == 0)
            return true;
    return false;
}

static int push_dir(wd_walk *w, const char *rel, bool skip_contents)
{
    if (w->depth == MAX_DEPTH)
        return wd_error_set(WALDEN_EINVAL, "'%s/%s' is nested too deep", w->pgdata, rel);
    char *full = *rel ? wd_path_join(w->pgdata, rel) : wd_strdup(w->pgdata);
    if (!full)
        return WALDEN_ENOMEM;
    DIR *d = opendir(full);
    int rc = 0;
    if (!d) {
        /* a database or relation folder dropped meanwhile is not an error */
        rc = errno == ENOENT && *rel ? 1 : wd_error_set_errno(errno, "cannot open '%s'", full);
        wd_free(full);
        return rc;
    }
    wd_free(full);
    frame *f = &w->stack[w->depth++];
    memset(f, 0, sizeof(*f));
    f->dir = d;
    f->path_len = strlen(rel);
    f->skip_contents = skip_contents;
    memcpy(w->path, rel, f->path_len + 1);
    if (is_db_dir(rel) && (rc = collect_unlogged(f)))
        return rc;
    return 0;
}

static void pop_dir(wd_walk *w)
{
    frame *f = &w->stack[--w->depth];
    closedir(f->dir);
    free_unlogged(f);
    if (w->depth > 0)
        w->path[w->stack[w->depth - 1].path_len] = '\0';
}

int wd_walk_open(wd_walk **out, const char *pgdata)
{
    wd_walk *w = wd_calloc(1, sizeof(*w));
    if (!w)
        return WALDEN_ENOMEM;
    if (!(w->pgdata = wd_strdup(pgdata))) {
        wd_free(w);
        return WALDEN_ENOMEM;
    }
    int rc = push_dir(w, "", false);
    if (rc) {
        wd_walk_close(w);
        return rc;
    }
    *out = w;
    return 0;
}

void wd_walk_close(wd_walk *w)
{
    if (!w)
        return;
    while (w->depth > 0)
        pop_dir(w);
    wd_free(w->pgdata);
    wd_free(w);
}

int wd_walk_next(wd_walk *w, wd_walk_entry *e)
{
    while (w->depth > 0) {
        frame *f = &w->stack[w->depth - 1];
        errno = 0;
        struct dirent *de = readdir(f->dir);
        if (!de) {
            if (errno)
                return wd_error_set_errno(errno, "cannot read folder '%s/%s'", w->pgdata, w->path);
            pop_dir(w);
            continue;
        }
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || f->skip_contents)
            continue;
        if (wd_str_starts_with(name, "pgsql_tmp") || strcmp(name, "pg_internal.init") == 0)
            continue;
        bool top = w->depth == 1;
        if (top && in_list(name, top_files))
            continue;
        if (is_unlogged_fork(f, name))
            continue;
        int n = snprintf(e->path, sizeof(e->path), "%s%s%s", w->path, *w->path ? "/" : "", name);
        if (n < 0 || (size_t)n >= sizeof(e->path))
            return wd_error_set(WALDEN_EINVAL, "path too long in '%s': '%s/%s'", w->pgdata, w->path,
                                name);
        char *full = wd_path_join(w->pgdata, e->path);
        if (!full)
            return WALDEN_ENOMEM;
        struct stat st;
        bool tablespace = w->depth == 2 && strcmp(w->path, "pg_tblspc") == 0;
        int rc = 0;
        bool is_link = false;
        if (lstat(full, &st) != 0) {
            rc = errno == ENOENT ? 1 : wd_error_set_errno(errno, "cannot stat '%s'", full);
        } else if (S_ISLNK(st.st_mode)) {
            is_link = true;
            ssize_t len = readlink(full, e->link, sizeof(e->link) - 1);
            if (len < 0) {
                rc = errno == ENOENT ? 1 : wd_error_set_errno(errno, "cannot read link '%s'", full);
            } else {
                e->link[len] = '\0';
                /* links other than tablespaces (pg_wal elsewhere, say) are
                 * followed and backed up as what they point to */
                if (stat(full, &st) != 0)
                    rc = errno == ENOENT ? wd_error_set(WALDEN_EINVAL, "broken link '%s' -> '%s'",
                                                        full, e->link)
                                         : wd_error_set_errno(errno, "cannot stat '%s'", full);
            }
        }
        wd_free(full);
        if (rc == 1)
            continue;
        if (rc)
            return rc;
        e->mode = st.st_mode & 07777;
        e->mtime = (int64_t)st.st_mtime;
        e->size = 0;
        if (S_ISDIR(st.st_mode)) {
            e->type = tablespace && is_link ? 'l' : 'd';
            if (e->type == 'd')
                e->link[0] = '\0';
            rc = push_dir(w, e->path, top && in_list(name, skip_contents_dirs));
            if (rc == 1) /* vanished */
                continue;
            return rc;
        }
        if (S_ISREG(st.st_mode)) {
            e->type = 'f';
            e->size = (uint64_t)st.st_size;
            e->link[0] = '\0';
            return 0;
        }
        /* sockets, fifos, devices: nothing PostgreSQL keeps there */
        wd_log_warn("skipping '%s/%s': not a regular file or folder", w->pgdata, e->path);
    }
    return 1;
}
