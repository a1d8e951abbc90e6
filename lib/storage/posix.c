/*
 * posix.c - the local-disk storage driver.
 *
 * Every path is relative to the root and was checked by the storage front
 * (storage.c: no absolute path, no empty, "." or ".." element), so nothing
 * outside the root is touched. Writes go through the file sink (temporary file, fsync, rename,
 * fsync of the directory); directories created on the way are made
 * durable by fsyncing their parents. Listing hides temporary files.
 * Reads accept regular files only: a fifo, device or folder where an
 * object belongs is refused at once (a fifo would block forever).
 *
 * The repository belongs to whoever owns its folders (usually postgres).
 * A walden running as root (a drill, a restore, a backup started by hand)
 * gives each file and folder it creates the owner and group of the folder
 * it is made in, so that the repository's owner can still read all of it
 * (drill records, backup.info) afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "storage/storage.h"

typedef struct posix_storage {
    wd_storage base;
    char *root;
} posix_storage;

/* The file of a path (checked by the storage front); NULL when out of
 * memory. */
static char *full_path(posix_storage *ps, const char *path)
{
    return wd_path_join(ps->root, path);
}

static bool is_temp_name(const char *name)
{
    return name[0] == '.' && strstr(name, ".tmp.") != NULL;
}

static int posix_open_read(wd_storage *st, const char *path, wd_source **out)
{
    posix_storage *ps = (posix_storage *)st;
    char *full = full_path(ps, path);
    if (!full)
        return WALDEN_ENOMEM;
    int rc = wd_file_source_open_regular(out, full);
    wd_free(full);
    return rc;
}

/* Run as root: gives `fd`'s file (or, with fd < 0, the folder `path`) the
 * owner and group of the folder `parent`. Other users cannot chown and
 * need not: what they create is theirs, as the repository is. */
static int inherit_owner(const char *parent, const char *path, wd_sink *sink)
{
    if (geteuid() != 0)
        return 0;
    struct stat st;
    if (stat(parent, &st) != 0)
        return wd_error_set_errno(errno, "cannot access '%s'", parent);
    if (sink)
        return wd_file_sink_chown(sink, st.st_uid, st.st_gid);
    if (lchown(path, st.st_uid, st.st_gid) != 0)
        return wd_error_set_errno(errno, "cannot give '%s' the owner of its folder", path);
    return 0;
}

/* Creates the directories of `dir` below the root that are missing, each
 * made durable by an fsync of its parent. `dir` is modified temporarily. */
static int make_dirs(posix_storage *ps, char *dir, bool sync)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0
                                   : wd_error_set(WALDEN_EINVAL, "'%s' is not a directory", dir);
    if (errno != ENOENT)
        return wd_error_set_errno(errno, "cannot access '%s'", dir);
    char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) < strlen(ps->root))
        return wd_error_set(WALDEN_ENOTFOUND, "repository '%s' does not exist", ps->root);
    *slash = '\0';
    int rc = make_dirs(ps, dir, sync);
    if (!rc) {
        *slash = '/';
        if (mkdir(dir, WD_MODE_REPO_DIR) == 0) {
            /* the mode asked for, whatever the umask */
            if (chmod(dir, WD_MODE_REPO_DIR) != 0)
                rc = wd_error_set_errno(errno, "cannot set the mode of directory '%s'", dir);
            *slash = '\0';
            char *parent = wd_strdup(dir);
            *slash = '/';
            if (!rc)
                rc = parent ? inherit_owner(parent, dir, NULL) : WALDEN_ENOMEM;
            wd_free(parent);
        } else if (errno != EEXIST) {
            rc = wd_error_set_errno(errno, "cannot create directory '%s'", dir);
        }
        if (!rc && sync) {
            *slash = '\0';
            rc = wd_fsync_dir(dir);
        }
    }
    *slash = '/';
    return rc;
}

static int posix_open_write(wd_storage *st, const char *path, unsigned flags, wd_sink **out)
{
    bool sync = !(flags & WD_WRITE_DEFER_SYNC);
    posix_storage *ps = (posix_storage *)st;
    char *full = full_path(ps, path);
    if (!full)
        return WALDEN_ENOMEM;
    char *slash = strrchr(full, '/');
    int rc = 0;
    *slash = '\0';
    rc = make_dirs(ps, full, sync);
    *slash = '/';
    if (!rc)
        rc = wd_file_sink_open_ex(out, full, sync ? 0 : WD_FILE_NOSYNC, WD_MODE_REPO_FILE);
    if (!rc) {
        *slash = '\0';
        rc = inherit_owner(full, NULL, *out);
        *slash = '/';
        if (rc) {
            (*out)->abort(*out);
            *out = NULL;
        }
    }
    wd_free(full);
    return rc;
}

static int posix_list(wd_storage *st, const char *dir, wd_storage_list_cb cb, void *ctx)
{
    posix_storage *ps = (posix_storage *)st;
    char *full = *dir ? full_path(ps, dir) : wd_strdup(ps->root);
    if (!full)
        return WALDEN_ENOMEM;
    int rc = 0;
    DIR *d = opendir(full);
    if (!d) {
        if (errno != ENOENT)
            rc = wd_error_set_errno(errno, "cannot list '%s'", full);
        wd_free(full);
        return rc;
    }
    struct dirent *e;
    while (!rc) {
        errno = 0;
        if (!(e = readdir(d))) {
            if (errno)
                rc = wd_error_set_errno(errno, "cannot list '%s'", full);
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || is_temp_name(e->d_name))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) /* removed meanwhile */
                continue;
            rc = wd_error_set_errno(errno, "cannot stat '%s/%s'", full, e->d_name);
            break;
        }
        wd_storage_entry entry = {e->d_name, S_ISDIR(sb.st_mode),
                                  S_ISDIR(sb.st_mode) ? 0 : (uint64_t)sb.st_size,
                                  (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000};
        rc = cb(&entry, ctx);
    }
    closedir(d);
    wd_free(full);
    return rc;
}

/* Unlinks the temporary files in `dir`: invisible to list, they would keep
 * an otherwise empty directory from being removed. */
static void remove_temp_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (is_temp_name(e->d_name))
            (void)unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

static int posix_remove(wd_storage *st, const char *path)
{
    posix_storage *ps = (posix_storage *)st;
    char *full = full_path(ps, path);
    if (!full)
        return WALDEN_ENOMEM;
    int rc = 0;
    if (unlink(full) != 0) {
        if (errno == EISDIR || errno == EPERM) {
            if (rmdir(full) != 0 && (errno == ENOTEMPTY || errno == EEXIST))
                remove_temp_files(full); /* left by writers that died */
            if (rmdir(full) != 0 && errno != ENOENT)
                rc = wd_error_set_errno(errno, "cannot remove '%s'", full);
        } else if (errno != ENOENT) {
            rc = wd_error_set_errno(errno, "cannot remove '%s'", full);
        }
    }
    wd_free(full);
    return rc;
}

static int posix_exists(wd_storage *st, const char *path, bool *exists)
{
    posix_storage *ps = (posix_storage *)st;
    char *full = full_path(ps, path);
    if (!full)
        return WALDEN_ENOMEM;
    struct stat sb;
    int rc = 0;
    *exists = stat(full, &sb) == 0;
    if (!*exists && errno != ENOENT && errno != ENOTDIR)
        rc = wd_error_set_errno(errno, "cannot stat '%s'", full);
    wd_free(full);
    return rc;
}

/* syncfs flushes every dirty file and directory of the file system,
 * including the renames of deferred commits, in one call. */
static int posix_sync(wd_storage *st)
{
    posix_storage *ps = (posix_storage *)st;
    int fd = open(ps->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot open '%s'", ps->root);
    int rc = 0;
    if (syncfs(fd) != 0)
        rc = wd_error_set_errno(errno, "cannot sync the file system of '%s'", ps->root);
    close(fd);
    return rc;
}

static void posix_free(wd_storage *st)
{
    posix_storage *ps = (posix_storage *)st;
    wd_free(ps->root);
    wd_free(ps->base.location);
    wd_free(ps);
}

/* A range of a file, read with pread from [next, end). */
typedef struct range_source {
    wd_source base;
    int fd;
    uint64_t next, end;
    char *path; /* for messages */
} range_source;

static int range_read(wd_source *src, uint8_t *buf, size_t cap, size_t *n)
{
    range_source *s = (range_source *)src;
    *n = 0;
    if (s->next >= s->end || cap == 0)
        return 0;
    if (cap > s->end - s->next)
        cap = (size_t)(s->end - s->next);
    for (;;) {
        ssize_t r = pread(s->fd, buf, cap, (off_t)s->next);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return wd_error_set_errno(errno, "cannot read '%s'", s->path);
        if (r == 0)
            s->end = s->next; /* the end of the file */
        s->next += (uint64_t)r;
        *n = (size_t)r;
        return 0;
    }
}

static void range_close(wd_source *src)
{
    range_source *s = (range_source *)src;
    if (s->fd >= 0)
        close(s->fd);
    wd_free(s->path);
    wd_free(s);
}

static int posix_open_read_range(wd_storage *st, const char *path, uint64_t offset, uint64_t len,
                                 wd_source **out)
{
    posix_storage *ps = (posix_storage *)st;
    char *full = full_path(ps, path);
    if (!full)
        return WALDEN_ENOMEM;
    range_source *s = wd_calloc(1, sizeof(*s));
    if (!s) {
        wd_free(full);
        return WALDEN_ENOMEM;
    }
    s->base.read = range_read;
    s->base.close = range_close;
    s->path = full;
    s->next = offset;
    s->end = len > UINT64_MAX - offset ? UINT64_MAX : offset + len;
    if (offset > (uint64_t)INT64_MAX)
        s->end = s->next; /* past any file's end */
    s->fd = -1;
    int rc = wd_file_open_regular(full, &s->fd);
    if (rc) {
        range_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* The writer's pid in a temporary name ".<name>.tmp.<pid>.<random>";
 * 0 when there is none. */
static long temp_pid(const char *name)
{
    const char *p = strstr(name, ".tmp.");
    if (!p)
        return 0;
    p += 5;
    size_t n = strspn(p, "0123456789");
    if (n == 0 || n > 9 || p[n] != '.')
        return 0;
    return strtol(p, NULL, 10);
}

static int sweep(int parent, const char *name, const char *display, bool recursive, bool remove,
                 int64_t now_ms, uint64_t *count, uint64_t *bytes)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR
                   ? 0
                   : wd_error_set_errno(errno, "cannot open '%s'", display);
    DIR *d = fdopendir(fd);
    if (!d) {
        int rc = wd_error_set_errno(errno, "cannot open '%s'", display);
        close(fd);
        return rc;
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* gone meanwhile */
        if (S_ISDIR(st.st_mode)) {
            if (recursive)
                rc = sweep(fd, e->d_name, display, true, remove, now_ms, count, bytes);
            continue;
        }
        if (!S_ISREG(st.st_mode) || !is_temp_name(e->d_name))
            continue;
        int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (now_ms - mtime_ms < WD_TEMP_ABANDONED_MS)
            continue;
        long pid = temp_pid(e->d_name);
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue; /* a process of that number runs here: maybe the writer */
        if (remove && unlinkat(fd, e->d_name, 0) != 0) {
            if (errno != ENOENT)
                wd_log_warn("cannot remove the abandoned temporary file '%s' in '%s': %s",
                            e->d_name, display, strerror(errno));
            continue;
        }
        if (remove)
            wd_log_info("removed the abandoned temporary file '%s' in '%s' (%lld bytes)", e->d_name,
                        display, (long long)st.st_size);
        (*count)++;
        *bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    return rc;
}

static int posix_abandoned(wd_storage *st, const char *dir, bool recursive, bool remove,
                           uint64_t *count, uint64_t *bytes)
{
    posix_storage *ps = (posix_storage *)st;
    char *full = *dir ? full_path(ps, dir) : wd_strdup(ps->root);
    if (!full)
        return WALDEN_ENOMEM;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int rc = sweep(AT_FDCWD, full, full, recursive, remove,
                   (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, count, bytes);
    wd_free(full);
    return rc;
}

static const wd_storage_driver posix_driver = {
    .name = "posix",
    .open_read = posix_open_read,
    .open_write = posix_open_write,
    .list = posix_list,
    .remove = posix_remove,
    .exists = posix_exists,
    .sync = posix_sync,
    .free = posix_free,
    .remove_many = NULL, /* one unlink per file is what a batch would do */
    .open_read_range = posix_open_read_range,
    .abandoned = posix_abandoned,
};

int wd_storage_posix_new(wd_storage **out, const char *root, bool create)
{
    posix_storage *ps = wd_calloc(1, sizeof(*ps));
    if (!ps)
        return WALDEN_ENOMEM;
    ps->base.driver = &posix_driver;
    ps->root = wd_strdup(root);
    ps->base.location = wd_strdup(root);
    if (!ps->root || !ps->base.location) {
        posix_free(&ps->base);
        return WALDEN_ENOMEM;
    }
    size_t n = strlen(ps->root);
    while (n > 1 && ps->root[n - 1] == '/')
        ps->root[--n] = '\0';
    int rc = 0;
    struct stat st;
    if (stat(ps->root, &st) != 0) {
        if (errno != ENOENT)
            rc = wd_error_set_errno(errno, "cannot access repository '%s'", root);
        else if (!create)
            rc = wd_error_set(WALDEN_ENOTFOUND, "repository '%s' does not exist", root);
        else
            rc = wd_mkdir_p(ps->root, WD_MODE_REPO_DIR);
    } else if (!S_ISDIR(st.st_mode)) {
        rc = wd_error_set(WALDEN_EINVAL, "repository '%s' is not a directory", root);
    }
    if (rc) {
        posix_free(&ps->base);
        return rc;
    }
    *out = &ps->base;
    return 0;
}
