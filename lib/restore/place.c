/*
 * place.c - where restore writes: the directories checked, created and made
 * durable (see place.h).
 *
 * Durability. Restore writes its files without an fsync each
 * (WD_FILE_NOSYNC) where one syncfs per file system at the end makes them
 * as durable, for less: syncfs writes every dirty page and inode of the
 * file system, waits for them and commits the journal, so all the restore
 * wrote (data, sizes, folder entries) is on stable storage when it returns
 * 0. It returns an error if any write-back of the file system failed since
 * its descriptor was opened (Linux 5.8 and later record write-back errors in
 * the file system's superblock; 5.17 and later also return the failure of
 * the journal commit itself): the descriptors are opened by
 * wd_place_sync_add before the first file is written, so a failure the
 * kernel met in background write-back, whose pages it may have dropped
 * already, is reported as an fsync of that file would have reported it. It
 * may report another program's failure on the same file system too: a false
 * alarm, never a missed one. Where this does not hold (kernels before 5.17,
 * whose syncfs could return 0 when the write-back or the journal commit failed; network and FUSE
 * file systems, where it may stop at a cache: wd_syncfs_usable) each file is fsynced as it is done.
 * A syncfs also writes other programs' dirty data on the same file system: their cost, no less
 * durability.
 *
 * Folders: syncfs writes dirty directories as it writes files, in the same
 * journal commit, so the names of the files are durable with it; a walk
 * fsyncing every folder after it would only commit again the access times
 * its own reading had just changed (a journal commit per folder). With an
 * fsync per file, every folder is fsynced, as that is what makes the names
 * durable. Either way the folders holding the directories, which restore
 * may have created and which may lie on another file system, are fsynced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "io/stream.h"
#include "restore/place.h"

/* `dir`, found by lstat as `st`, must be a directory with nothing in it. */
static int existing_empty(const char *dir, const struct stat *st, const char *what)
{
    if (!S_ISDIR(st->st_mode))
        return wd_error_set(WALDEN_EINVAL, "%s '%s' is not a directory", what, dir);
    DIR *d = opendir(dir);
    if (!d)
        return wd_error_set_errno(errno, "cannot open %s '%s'", what, dir);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            rc = wd_error_set(WALDEN_EEXISTS,
                              "%s '%s' is not empty: restore only into an empty or new directory",
                              what, dir);
            break;
        }
    }
    closedir(d);
    return rc;
}

/* An existing directory must be empty; a missing one is created. */
int wd_place_prepare(const char *dir, const char *what)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno != ENOENT)
            return wd_error_set_errno(errno, "cannot access %s '%s'", what, dir);
        char *copy = wd_strdup(dir);
        int rc = copy ? wd_mkdir_p(copy, 0700) : WALDEN_ENOMEM;
        wd_free(copy);
        return rc;
    }
    int rc = existing_empty(dir, &st, what);
    if (!rc && chmod(dir, 0700) != 0)
        rc = wd_error_set_errno(errno, "cannot set the mode of '%s'", dir);
    return rc;
}

/* Whether `inner` is `outer` or below it (both without "//" or a trailing
 * slash). */
bool wd_place_within(const char *inner, const char *outer)
{
    size_t n = strlen(outer);
    return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/' || n == 1);
}

/* No element of `dir`'s path that exists is a symlink (or "." / ".."):
 * what the data goes through is what the path says. */
int wd_place_check_no_links(const char *dir, const char *what)
{
    char *copy = wd_strdup(dir);
    if (!copy)
        return WALDEN_ENOMEM;
    int rc = 0;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        const char *last = strrchr(copy, '/') + 1;
        struct stat st;
        if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
            rc = wd_error_set(WALDEN_EINVAL, "%s '%s' has a '%s' element", what, dir, last);
        } else if (*last && lstat(copy, &st) == 0 && S_ISLNK(st.st_mode)) {
            rc = wd_error_set(WALDEN_EINVAL,
                              "%s '%s' goes through the symbolic link '%s': give the real path",
                              what, dir, copy);
        } else if (*last && lstat(copy, &st) != 0 && errno != ENOENT) {
            rc = wd_error_set_errno(errno, "cannot access '%s'", copy);
        }
        *p = c;
        if (rc || c == '\0')
            break;
    }
    wd_free(copy);
    return rc;
}

/* An existing directory must be empty (a missing one is fine), without
 * creating anything. */
int wd_place_check_empty(const char *dir, const char *what)
{
    struct stat st;
    if (lstat(dir, &st) != 0)
        return errno == ENOENT ? 0 : wd_error_set_errno(errno, "cannot access %s '%s'", what, dir);
    return existing_empty(dir, &st, what);
}

/* `dir` with its longest existing ancestor resolved (realpath) and the
 * rest as given: where it really is, for the overlap checks. */
char *wd_place_canonical(const char *dir)
{
    char *copy = wd_strdup(dir);
    if (!copy)
        return NULL;
    for (;;) {
        char *real = realpath(copy, NULL);
        if (real) {
            char *out = wd_asprintf("%s%s", strcmp(real, "/") ? real : "", dir + strlen(copy));
            free(real);
            wd_free(copy);
            return out;
        }
        char *slash = strrchr(copy, '/');
        if (!slash || slash == copy) {
            wd_free(copy);
            return wd_strdup(dir);
        }
        *slash = '\0';
    }
}

/* fsyncs `dir` and every folder below it (not through links), so that the
 * names of the files, fsynced themselves, are durable too. */
static int sync_dirs(int parent, const char *name, const char *display)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot open '%s'", display);
    int rc = 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        rc = wd_error_set_errno(errno, "cannot open '%s'", display);
        close(fd);
        return rc;
    }
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (e->d_type == DT_UNKNOWN &&
            (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)))
            continue;
        if (e->d_type != DT_UNKNOWN && e->d_type != DT_DIR)
            continue;
        rc = sync_dirs(fd, e->d_name, display);
    }
    if (!rc && fsync(fd) != 0)
        rc = wd_error_set_errno(errno, "cannot fsync folders under '%s'", display);
    closedir(d);
    return rc;
}

/* The folder holding `dir` (which restore may have created). */
static int sync_parent(const char *dir)
{
    char *parent = wd_strdup(dir);
    if (!parent)
        return WALDEN_ENOMEM;
    char *slash = strrchr(parent, '/');
    int rc = 0;
    if (slash) {
        *(slash == parent ? slash + 1 : slash) = '\0';
        rc = wd_fsync_dir(parent);
    }
    wd_free(parent);
    return rc;
}

void wd_place_sync_init(wd_place_sync *s)
{
    memset(s, 0, sizeof(*s));
    s->use_syncfs = true;
}

int wd_place_sync_add(wd_place_sync *s, const char *dir)
{
    if (s->n_dirs == WD_PLACE_MAX)
        return wd_error_set(WALDEN_EINVAL, "more than %d directories to restore into",
                            WD_PLACE_MAX);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot open '%s'", dir);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = wd_error_set_errno(errno, "cannot stat '%s'", dir);
        close(fd);
        return rc;
    }
    s->dirs[s->n_dirs++] = dir;
    for (size_t i = 0; i < s->n_fs; i++) {
        if (s->fs[i].dev == st.st_dev) {
            close(fd);
            return 0;
        }
    }
    bool usable = false;
    int rc = wd_syncfs_usable(fd, dir, &usable);
    if (rc) {
        close(fd);
        s->n_dirs--;
        return rc;
    }
    if (!usable) {
        wd_log_debug("'%s' is on a file system where one syncfs at the end is not as sure as "
                     "an fsync per file: each file is fsynced",
                     dir);
        s->use_syncfs = false;
    }
    s->fs[s->n_fs].dev = st.st_dev;
    s->fs[s->n_fs].fd = fd;
    s->fs[s->n_fs].dir = dir;
    s->n_fs++;
    return 0;
}

int wd_place_sync_all(wd_place_sync *s)
{
    int rc = 0;
    for (size_t i = 0; !rc && s->use_syncfs && i < s->n_fs; i++)
        rc = wd_syncfs(s->fs[i].fd, s->fs[i].dir);
    for (size_t i = 0; !rc && i < s->n_dirs; i++)
        if (s->use_syncfs || !(rc = sync_dirs(AT_FDCWD, s->dirs[i], s->dirs[i])))
            rc = sync_parent(s->dirs[i]);
    return rc;
}

void wd_place_sync_close(wd_place_sync *s)
{
    for (size_t i = 0; i < s->n_fs; i++)
        close(s->fs[i].fd);
    s->n_fs = 0;
}
