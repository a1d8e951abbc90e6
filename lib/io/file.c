/*
 * file.c - local file sources and sinks, and memory and null sinks.
 *
 * The file sink makes a file appear whole or not at all: it writes a
 * temporary file in the target's directory (".<name>.tmp.<pid>.<random>",
 * created exclusively), and commit fsyncs it, renames it over the target
 * and fsyncs the directory, so a crash leaves either the old state or the
 * complete new file. abort removes the temporary file.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/common.h"
#include "io/stream.h"

/* ---- file source ---- */

typedef struct file_source {
    wd_source base;
    int fd;
    char *path;
} file_source;

static int file_read(wd_source *s, uint8_t *buf, size_t cap, size_t *n)
{
    file_source *fs = (file_source *)s;
    for (;;) {
        ssize_t r = read(fs->fd, buf, cap);
        if (r >= 0) {
            *n = (size_t)r;
            return 0;
        }
        if (errno != EINTR)
            return wd_error_set_errno(errno, "cannot read '%s'", fs->path);
    }
}

static void file_source_close(wd_source *s)
{
    file_source *fs = (file_source *)s;
    close(fs->fd);
    wd_free(fs->path);
    wd_free(fs);
}

static const char *file_kind(mode_t mode)
{
    return S_ISDIR(mode)    ? "a folder"
           : S_ISFIFO(mode) ? "a fifo"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "not a regular file";
}

/* O_NONBLOCK keeps open() from waiting for a writer on a fifo; once the
 * file is known to be regular the flag is cleared (it means nothing for
 * regular files, but the fd should say what it is). */
int wd_file_open_regular(const char *path, int *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot open '%s' for reading", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = wd_error_set_errno(errno, "cannot stat '%s'", path);
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return wd_error_set(WALDEN_ECORRUPT, "'%s' is %s, not a regular file: refusing to read it",
                            path, file_kind(st.st_mode));
    }
    /* F_SETFL changes only O_APPEND, O_NONBLOCK, O_DIRECT, O_NOATIME and
     * O_ASYNC, and of those the fd has O_NONBLOCK alone: 0 clears it,
     * without a F_GETFL first (one call less per file read) */
    if (fcntl(fd, F_SETFL, 0) != 0) {
        int rc = wd_error_set_errno(errno, "cannot set the flags of '%s'", path);
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

static int source_from_fd(wd_source **out, int fd, const char *path);

int wd_file_source_open_regular(wd_source **out, const char *path)
{
    int fd = -1, rc = wd_file_open_regular(path, &fd);
    return rc ? rc : source_from_fd(out, fd, path);
}

int wd_file_source_open(wd_source **out, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot open '%s' for reading", path);
    return source_from_fd(out, fd, path);
}

static void file_prefetch(wd_source *s)
{
    /* the first 16 MiB: more could be evicted again before it is read */
    (void)posix_fadvise(((file_source *)s)->fd, 0, 16 << 20, POSIX_FADV_WILLNEED);
}

/* Takes over `fd`, also on failure. */
static int source_from_fd(wd_source **out, int fd, const char *path)
{
    file_source *fs = wd_calloc(1, sizeof(*fs));
    if (!fs || !(fs->path = wd_strdup(path))) {
        wd_free(fs);
        close(fd);
        return WALDEN_ENOMEM;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    fs->base.read = file_read;
    fs->base.close = file_source_close;
    fs->base.prefetch = file_prefetch;
    fs->fd = fd;
    *out = &fs->base;
    return 0;
}

/* ---- file sink ---- */

typedef struct file_sink {
    wd_sink base;
    int fd;
    unsigned flags;   /* WD_FILE_* */
    off_t pos;        /* next write's offset (pwrite), -1: sequential write */
    off_t flush_from; /* WD_FILE_WRITEBACK: start of what was not handed to writeback */
    off_t written;    /* end of what was written */
    char *path;
    char *tmp; /* NULL with WD_FILE_DIRECT: written in place */
    /* WD_FILE_DIRECT: the file is `name` in folder `dirfd` (AT_FDCWD and
     * the path for wd_file_part_sink_open); abort removes it there */
    int dirfd;
    char *name;
} file_sink;

static void file_sink_free(file_sink *fs)
{
    wd_free(fs->name);
    wd_free(fs->path);
    wd_free(fs->tmp);
    wd_free(fs);
}

/* How much is written before the kernel is asked to start writing it out
 * (WD_FILE_WRITEBACK): the disk works while walden goes on, so the final
 * sync has little left to do. */
#define WRITEBACK_CHUNK (8 << 20)

static void start_writeback(file_sink *fs, bool all)
{
    off_t len = fs->written - fs->flush_from;
    if (len <= 0 || (!all && len < WRITEBACK_CHUNK))
        return;
    /* advisory: an error here shows up again at the final sync */
    (void)sync_file_range(fs->fd, fs->flush_from, len, SYNC_FILE_RANGE_WRITE);
    fs->flush_from = fs->written;
}

static int file_write(wd_sink *s, const uint8_t *buf, size_t len)
{
    file_sink *fs = (file_sink *)s;
    while (len > 0) {
        ssize_t w = fs->pos >= 0 ? pwrite(fs->fd, buf, len, fs->pos) : write(fs->fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return wd_error_set_errno(errno, "cannot write '%s'", fs->path);
        }
        buf += w;
        len -= (size_t)w;
        if (fs->pos >= 0)
            fs->pos += w;
        fs->written = fs->pos >= 0 ? fs->pos : fs->written + w;
    }
    if (fs->flags & WD_FILE_WRITEBACK)
        start_writeback(fs, false);
    return 0;
}

/* Removes what the sink wrote (its temporary file, or the file itself). */
static void remove_file(file_sink *fs)
{
    if (fs->tmp)
        unlink(fs->tmp);
    else
        unlinkat(fs->dirfd, fs->name, 0);
}

static void file_abort(wd_sink *s)
{
    file_sink *fs = (file_sink *)s;
    close(fs->fd);
    if (!(fs->flags & WD_FILE_PART)) /* a part's file is shared */
        remove_file(fs);
    file_sink_free(fs);
}

/* The directory part of path ("." when there is none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return wd_strdup(".");
    if (slash == path)
        return wd_strdup("/");
    return wd_strndup(path, (size_t)(slash - path));
}

int wd_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot open directory '%s'", dir);
    int rc = 0;
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = wd_error_set_errno(errno, "cannot fsync directory '%s'", dir);
    close(fd);
    return rc;
}

/* Linux 5.8 made syncfs() report the write-back errors of its file
 * system (before, it returned 0 whatever happened), and 5.17 the errors of
 * the file system's own sync (the journal commit of ext4, the log force of
 * xfs), which it ignored until then. */
static bool kernel_syncfs_reports_errors(void)
{
    struct utsname u;
    unsigned major = 0, minor = 0;
    if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
        return false;
    return major > 5 || (major == 5 && minor >= 17);
}

int wd_syncfs_usable(int fd, const char *display, bool *usable)
{
    struct statfs sf;
    *usable = false;
    if (fstatfs(fd, &sf) != 0)
        return wd_error_set_errno(errno, "cannot read the file system of '%s'", display);
    /* file systems whose syncfs writes and waits for every dirty page and
     * inode and commits the journal (or has nothing to make durable:
     * tmpfs); on the others (network and FUSE file systems, where syncfs
     * may stop at the client's cache) the caller fsyncs file by file */
    switch ((unsigned long)sf.f_type) {
    case 0xEF53:     /* ext2, ext3, ext4 */
    case 0x58465342: /* xfs */
    case 0x9123683E: /* btrfs */
    case 0x01021994: /* tmpfs */
        *usable = kernel_syncfs_reports_errors();
        break;
    default:
        break;
    }
    return 0;
}

int wd_syncfs(int fd, const char *display)
{
    if (syncfs(fd) != 0)
        return wd_error_set_errno(errno, "cannot sync the file system of '%s'", display);
    return 0;
}

static int file_commit(wd_sink *s)
{
    file_sink *fs = (file_sink *)s;
    int rc = 0;
    char *dir = NULL;
    bool sync = !(fs->flags & WD_FILE_NOSYNC);
    /* the tail of a big file goes to the disk now; a small file waits for
     * the fsync below or the caller's syncfs, which writes it with the
     * others (a request of its own would cost a call per file) */
    if ((fs->flags & WD_FILE_WRITEBACK) && !sync && fs->written >= WRITEBACK_CHUNK)
        start_writeback(fs, true);
    if (sync && fsync(fs->fd) != 0) {
        rc = wd_error_set_errno(errno, "cannot fsync '%s'", fs->path);
        file_abort(s);
        return rc;
    }
    if (close(fs->fd) != 0) {
        rc = wd_error_set_errno(errno, "cannot close '%s'", fs->path);
        if (!(fs->flags & WD_FILE_PART))
            remove_file(fs);
        file_sink_free(fs);
        return rc;
    }
    if (!fs->tmp) {
        /* written in place: nothing to rename */
    } else if (rename(fs->tmp, fs->path) != 0) {
        rc = wd_error_set_errno(errno, "cannot rename '%s' to '%s'", fs->tmp, fs->path);
        unlink(fs->tmp);
    } else if (!sync) {
        /* made durable later by the caller (syncfs) */
    } else if (!(dir = dir_of(fs->path))) {
        rc = WALDEN_ENOMEM;
    } else {
        rc = wd_fsync_dir(dir);
    }
    wd_free(dir);
    file_sink_free(fs);
    return rc;
}

/* Commits under `name` in the folder of the path given at open. */
static int file_commit_as(wd_sink *s, const char *name)
{
    file_sink *fs = (file_sink *)s;
    assert(fs->tmp); /* a sink written in place has its name already */
    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        int rc = wd_error_set(WALDEN_EINVAL, "invalid file name '%s'", name);
        file_abort(s);
        return rc;
    }
    const char *slash = strrchr(fs->path, '/');
    char *path = wd_asprintf("%.*s%s", slash ? (int)(slash - fs->path + 1) : 0, fs->path, name);
    if (!path) {
        file_abort(s);
        return WALDEN_ENOMEM;
    }
    wd_free(fs->path);
    fs->path = path;
    return file_commit(s);
}

int wd_file_sink_chown(wd_sink *s, uid_t uid, gid_t gid)
{
    file_sink *fs = (file_sink *)s;
    if (fchown(fs->fd, uid, gid) != 0)
        return wd_error_set_errno(errno, "cannot give '%s' the owner of its folder",
                                  fs->tmp ? fs->tmp : fs->path);
    return 0;
}

int wd_file_sink_open(wd_sink **out, const char *path)
{
    return wd_file_sink_open_ex(out, path, 0, WD_MODE_REPO_FILE);
}

int wd_file_sink_open_ex(wd_sink **out, const char *path, unsigned flags, unsigned mode)
{
    return wd_file_part_sink_open(out, path, flags & ~WD_FILE_PART, mode, 0);
}

int wd_file_create_at(int dirfd, const char *name, const char *display, unsigned mode, bool part,
                      int *out)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    /* the mode asked for, whatever the umask */
    if (fd >= 0 && fchmod(fd, mode) != 0) {
        int rc = wd_error_set_errno(errno, "cannot set the mode of '%s'", display);
        close(fd);
        unlinkat(dirfd, name, 0);
        return rc;
    }
    if (fd < 0 && errno == EEXIST && part) {
        fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
            close(fd);
            fd = -1;
            errno = EINVAL;
        }
    }
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot create '%s'", display);
    *out = fd;
    return 0;
}

/* The DIRECT sink: `name` in `dirfd` (wd_file_create_at). Takes over `fs`. */
static int open_direct(wd_sink **out, file_sink *fs, int dirfd, const char *name,
                       const char *display, uint64_t offset, unsigned mode)
{
    fs->dirfd = dirfd;
    if (!(fs->path = wd_strdup(display)) || !(fs->name = wd_strdup(name))) {
        file_sink_free(fs);
        return WALDEN_ENOMEM;
    }
    int rc = wd_file_create_at(dirfd, name, display, mode, fs->flags & WD_FILE_PART, &fs->fd);
    if (rc) {
        fs->fd = -1;
        file_sink_free(fs);
        return rc;
    }
    if (fs->flags & WD_FILE_PART)
        fs->pos = fs->written = fs->flush_from = (off_t)offset;
    *out = &fs->base;
    return 0;
}

static file_sink *sink_new(unsigned flags)
{
    file_sink *fs = wd_calloc(1, sizeof(*fs));
    if (!fs)
        return NULL;
    fs->flags = flags;
    fs->pos = -1;
    fs->dirfd = AT_FDCWD;
    fs->base.write = file_write;
    fs->base.commit = file_commit;
    fs->base.abort = file_abort;
    fs->base.commit_as = (flags & WD_FILE_DIRECT) ? NULL : file_commit_as;
    return fs;
}

int wd_file_sink_openat(wd_sink **out, int dirfd, const char *name, const char *display,
                        unsigned flags, unsigned mode, uint64_t offset)
{
    assert(!strchr(name, '/'));
    file_sink *fs = sink_new(flags | WD_FILE_DIRECT);
    if (!fs)
        return WALDEN_ENOMEM;
    return open_direct(out, fs, dirfd, name, display, offset, mode);
}

int wd_file_part_sink_open(wd_sink **out, const char *path, unsigned flags, unsigned mode,
                           uint64_t offset)
{
    assert(!(flags & WD_FILE_PART) || (flags & WD_FILE_DIRECT));
    file_sink *fs = sink_new(flags);
    if (!fs)
        return WALDEN_ENOMEM;
    if (flags & WD_FILE_DIRECT)
        return open_direct(out, fs, AT_FDCWD, path, path, offset, mode);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    fs->path = wd_strdup(path);
    if (!fs->path) {
        file_sink_free(fs);
        return WALDEN_ENOMEM;
    }
    for (int attempt = 0; attempt < 16; attempt++) {
        uint32_t rnd = 0;
        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
            rnd = (uint32_t)attempt * 2654435761u;
        wd_free(fs->tmp);
        fs->tmp = wd_asprintf("%.*s.%s.tmp.%ld.%08x", dirlen, path, base, (long)getpid(), rnd);
        if (!fs->tmp) {
            file_sink_free(fs);
            return WALDEN_ENOMEM;
        }
        fs->fd = open(fs->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fs->fd >= 0 && fchmod(fs->fd, mode) != 0) {
            int rc = wd_error_set_errno(errno, "cannot set the mode of '%s'", fs->tmp);
            close(fs->fd);
            unlink(fs->tmp);
            file_sink_free(fs);
            return rc;
        }
        if (fs->fd >= 0)
            break;
        if (errno != EEXIST) {
            int rc = wd_error_set_errno(errno, "cannot create '%s'", fs->tmp);
            file_sink_free(fs);
            return rc;
        }
    }
    if (fs->fd < 0) {
        int rc = wd_error_set(WALDEN_EIO, "cannot create a temporary file for '%s'", path);
        file_sink_free(fs);
        return rc;
    }
    *out = &fs->base;
    return 0;
}

/* ---- memory sink ---- */

typedef struct memory_sink {
    wd_sink base;
    uint8_t *buf;
    size_t len, cap;
    uint8_t **data;
    size_t *out_len;
} memory_sink;

static int memory_write(wd_sink *s, const uint8_t *buf, size_t len)
{
    memory_sink *m = (memory_sink *)s;
    if (m->len + len + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + len + 1)
            cap *= 2;
        uint8_t *nb = wd_realloc(m->buf, cap);
        if (!nb)
            return WALDEN_ENOMEM;
        m->buf = nb;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, buf, len);
    m->len += len;
    return 0;
}

static int memory_commit(wd_sink *s)
{
    memory_sink *m = (memory_sink *)s;
    if (!m->buf && !(m->buf = wd_malloc(1))) {
        wd_free(m);
        return WALDEN_ENOMEM;
    }
    m->buf[m->len] = '\0'; /* convenient for text */
    *m->data = m->buf;
    *m->out_len = m->len;
    wd_free(m);
    return 0;
}

static void memory_abort(wd_sink *s)
{
    memory_sink *m = (memory_sink *)s;
    wd_free(m->buf);
    wd_free(m);
}

int wd_memory_sink_open(wd_sink **out, uint8_t **data, size_t *len)
{
    memory_sink *m = wd_calloc(1, sizeof(*m));
    if (!m)
        return WALDEN_ENOMEM;
    m->base.write = memory_write;
    m->base.commit = memory_commit;
    m->base.abort = memory_abort;
    m->data = data;
    m->out_len = len;
    *out = &m->base;
    return 0;
}

/* ---- null sink ---- */

static int null_write(wd_sink *s, const uint8_t *buf, size_t len)
{
    (void)s;
    (void)buf;
    (void)len;
    return 0;
}

static int null_commit(wd_sink *s)
{
    wd_free(s);
    return 0;
}

static void null_abort(wd_sink *s)
{
    wd_free(s);
}

int wd_null_sink_open(wd_sink **out)
{
    wd_sink *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    s->write = null_write;
    s->commit = null_commit;
    s->abort = null_abort;
    *out = s;
    return 0;
}

/* ---- a sink over a descriptor the caller owns ---- */

typedef struct fd_sink {
    wd_sink base;
    int fd;
} fd_sink;

static int fd_write(wd_sink *sink, const uint8_t *buf, size_t len)
{
    fd_sink *s = (fd_sink *)sink;
    while (len > 0) {
        ssize_t n = write(s->fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return wd_error_set_errno(errno, "cannot write the output");
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fd_commit(wd_sink *sink)
{
    wd_free(sink);
    return 0;
}

static void fd_abort(wd_sink *sink)
{
    wd_free(sink);
}

int wd_fd_sink_open(wd_sink **out, int fd)
{
    fd_sink *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    s->base.write = fd_write;
    s->base.commit = fd_commit;
    s->base.abort = fd_abort;
    s->fd = fd;
    *out = &s->base;
    return 0;
}

int wd_file_write_atomic(const char *path, const char *text, unsigned mode)
{
    wd_sink *s;
    int rc = wd_file_sink_open_ex(&s, path, 0, mode);
    if (rc)
        return rc;
    if ((rc = s->write(s, (const uint8_t *)text, strlen(text)))) {
        s->abort(s);
        return rc;
    }
    return s->commit(s);
}
