/*
 * lock.c - lock files (see lock.h).
 *
 * The lock folder may be shared with other local users (/tmp, a sticky
 * /run/walden): everything in it is opened relative to a descriptor of the
 * folder checked once (openat), so the folder cannot be swapped between the
 * check and the use, and a lock file is opened with O_NOFOLLOW and
 * O_NONBLOCK (a planted FIFO must not hang walden), then checked with fstat
 * before anything is written into it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/common.h"
#include "common/lock.h"

/* What holds the lock `what`, for messages. */
static const char *lock_holder(const char *what)
{
    return strcmp(what, WD_LOCK_READ) == 0 ? "drill or verify" : what;
}

static int state_name(const char *cluster, const char *repo, const char *what, const char *ext,
                      char *out, size_t cap)
{
    size_t len = strlen(repo);
    while (len > 1 && repo[len - 1] == '/')
        len--;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (EVP_Digest(repo, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len < 4)
        return wd_error_set_openssl(WALDEN_ERROR, "cannot hash the repository location");
    char hex[9];
    wd_hex_encode(md, 4, hex);
    int n = snprintf(out, cap, "%s-%s-%s.%s", cluster, hex, what, ext);
    if (n < 0 || (size_t)n >= cap)
        return wd_error_set(WALDEN_EINVAL, "lock file name too long for cluster '%s'", cluster);
    return 0;
}

int wd_lock_name(const char *cluster, const char *repo, const char *what, char *out, size_t cap)
{
    return state_name(cluster, repo, what, "lock", out, cap);
}

int wd_state_name(const char *cluster, const char *repo, const char *what, char *out, size_t cap)
{
    return state_name(cluster, repo, what, "state", out, cap);
}

/* Opens folder `dir` (creating it when missing) and checks that it is a
 * folder nobody else can tamper with. `nofollow`: the folder itself must not
 * be a symbolic link (the default folders, whose names others can guess and
 * plant). *created tells whether this call made it. */
static int open_dir(const char *dir, bool nofollow, int *dfd_out, bool *created)
{
    uid_t me = geteuid();
    *created = false;
    /* 0700 at first: opened to others only after the checks below */
    if (mkdir(dir, 0700) == 0)
        *created = true;
    else if (errno != EEXIST)
        return wd_error_set_errno(errno, "cannot create lock folder '%s'", dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
    if (dfd < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
            return wd_error_set(WALDEN_EPERM, "lock folder '%s' is not a folder: refusing it", dir);
        return wd_error_set_errno(errno, "cannot open lock folder '%s'", dir);
    }
    struct stat st;
    int rc = 0;
    if (fstat(dfd, &st) != 0) {
        rc = wd_error_set_errno(errno, "cannot stat lock folder '%s'", dir);
    } else if (st.st_uid != 0 && st.st_uid != me) {
        rc = wd_error_set(WALDEN_EPERM,
                          "lock folder '%s' belongs to user %ld, neither root nor this user "
                          "(%ld): refusing it",
                          dir, (long)st.st_uid, (long)me);
    } else if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
        rc = wd_error_set(WALDEN_EPERM,
                          "lock folder '%s' is writable by every user and not sticky "
                          "(chmod +t or o-w): refusing it",
                          dir);
    } else if (*created && me == 0) {
        /* made by root (a drill run as root, say): the commands run as
         * postgres must still make their locks here; sticky, as /tmp */
        if (fchmod(dfd, 01777) != 0)
            wd_log_warn("cannot open lock folder '%s' to other users: %s", dir, strerror(errno));
    } else if (*created && fchmod(dfd, 0700) != 0) {
        rc = wd_error_set_errno(errno, "cannot set the mode of lock folder '%s'", dir);
    }
    if (rc) {
        close(dfd);
        return rc;
    }
    *dfd_out = dfd;
    return 0;
}

void wd_lock_place_of_config(const walden_config *cfg, wd_lock_place *out)
{
    const char *repo = walden_config_get(cfg, "repo");
    out->cluster = walden_config_get(cfg, "cluster");
    out->repo = repo ? repo : "";
    out->dir = walden_config_get(cfg, "lock-path");
    out->dir_is_default = walden_config_source_of(cfg, "lock-path") == WALDEN_SOURCE_DEFAULT &&
                          strcmp(out->dir, WD_LOCK_DEFAULT_DIR) == 0;
}

/* The lock folder, open and checked, and its name (malloc'ed). */
static int lock_dir(const wd_lock_place *at, int *dfd, char **name)
{
    const char *dir = at->dir;
    bool created;
    int rc;
    if (!at->dir_is_default) {
        rc = open_dir(dir, false, dfd, &created);
        return rc ? rc : (*name = wd_strdup(dir)) ? 0 : (close(*dfd), WALDEN_ENOMEM);
    }
    /* the default: /run/walden when it is there (the package makes it) or
     * this user may make it (root); else a folder of this user's own */
    rc = open_dir(dir, true, dfd, &created);
    if (rc != WALDEN_EPERM && rc != WALDEN_ENOTFOUND)
        return rc ? rc : (*name = wd_strdup(dir)) ? 0 : (close(*dfd), WALDEN_ENOMEM);
    struct stat st;
    if (rc == WALDEN_EPERM && lstat(dir, &st) == 0)
        return rc; /* there, but refused: say so rather than lock elsewhere */
    char *own = wd_asprintf("%s%ld", WD_LOCK_FALLBACK_PREFIX, (long)geteuid());
    if (!own)
        return WALDEN_ENOMEM;
    walden_error_clear();
    if ((rc = open_dir(own, true, dfd, &created))) {
        wd_free(own);
        return rc;
    }
    struct stat own_st;
    if (!created && fstat(*dfd, &own_st) == 0 && own_st.st_uid != geteuid()) {
        rc = wd_error_set(WALDEN_EPERM,
                          "lock folder '%s' does not belong to this user: refusing it", own);
        close(*dfd);
        wd_free(own);
        return rc;
    }
    wd_log_debug("lock folder '%s' is missing: locking in '%s'", dir, own);
    *name = own;
    return 0;
}

int wd_lock_dir_open(const wd_lock_place *at, int *dfd, char **name)
{
    return lock_dir(at, dfd, name);
}

/* Opens lock file `name` in folder `dfd` and checks it: a regular file;
 * for a lock walden writes its pid into, one of this user with one link. */
static int open_lock_file(int dfd, const char *path, const char *name, bool readers, int *fd_out)
{
    int fd = openat(dfd, name,
                    (readers ? O_RDONLY : O_RDWR) | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                    WD_LOCK_FILE_MODE);
    if (fd < 0) {
        if (errno == ELOOP)
            return wd_error_set(WALDEN_EPERM, "lock file '%s' is a symbolic link: refusing it",
                                path);
        return wd_error_set_errno(errno, "cannot open lock file '%s'", path);
    }
    struct stat st;
    int rc = 0;
    uid_t me = geteuid();
    if (fstat(fd, &st) != 0)
        rc = wd_error_set_errno(errno, "cannot stat lock file '%s'", path);
    else if (!S_ISREG(st.st_mode))
        rc = wd_error_set(WALDEN_EPERM, "lock file '%s' is not a regular file: refusing it", path);
    else if (!readers && st.st_uid != me)
        rc = wd_error_set(WALDEN_EPERM,
                          "lock file '%s' belongs to user %ld, not to this user (%ld): refusing "
                          "it",
                          path, (long)st.st_uid, (long)me);
    else if (!readers && st.st_nlink != 1)
        rc = wd_error_set(WALDEN_EPERM, "lock file '%s' has other hard links: refusing it", path);
    else if (st.st_uid == me && (st.st_mode & 07777) != WD_LOCK_FILE_MODE)
        /* whatever the umask: the readers' lock must open for other users */
        (void)fchmod(fd, WD_LOCK_FILE_MODE);
    if (rc) {
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return 0;
}

int wd_lock_acquire(const wd_lock_place *at, const char *what, bool shared, int *fd_out)
{
    const char *cluster = at->cluster;
    char name[256];
    int rc = wd_lock_name(cluster, at->repo ? at->repo : "", what, name, sizeof(name));
    if (rc)
        return rc;
    int dfd = -1, fd = -1;
    char *dir = NULL, *path = NULL;
    if ((rc = lock_dir(at, &dfd, &dir)))
        return rc;
    if (!(path = wd_path_join(dir, name))) {
        rc = WALDEN_ENOMEM;
        goto done;
    }
    bool readers = strcmp(what, WD_LOCK_READ) == 0;
    if ((rc = open_lock_file(dfd, path, name, readers, &fd)))
        goto done;
    /* a shared lock waits for an exclusive holder (an expire: seconds) */
    int waited_ms = 0;
    while (flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK && shared && waited_ms < WD_LOCK_SHARED_WAIT_MS) {
            if (waited_ms == 0)
                wd_log_info("waiting for a walden expire of cluster '%s' to finish (lock '%s')",
                            cluster, path);
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            waited_ms += 100;
            continue;
        }
        if (errno != EWOULDBLOCK)
            rc = wd_error_set_errno(errno, "cannot lock '%s'", path);
        else if (shared)
            rc = wd_error_set(WALDEN_ELOCKED,
                              "a walden expire of cluster '%s' is still running after %d s "
                              "(lock '%s')",
                              cluster, WD_LOCK_SHARED_WAIT_MS / 1000, path);
        else
            rc = wd_error_set(WALDEN_ELOCKED,
                              "another walden %s of cluster '%s' is running (lock '%s')",
                              lock_holder(what), cluster, path);
        goto done;
    }
    if (!readers) {
        /* the file was checked above: a regular file of ours, one link */
        char pid[32];
        int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
        if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) < 0)
            wd_log_debug("cannot write the pid into '%s'", path);
    }
    *fd_out = fd;
    fd = -1;
done:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    wd_free(dir);
    wd_free(path);
    return rc;
}

void wd_lock_release(int fd)
{
    if (fd >= 0)
        close(fd);
}
