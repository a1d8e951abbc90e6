/*
 * place.h - where restore writes: the target and tablespace directories,
 * checked before anything is written (missing or empty, no symlink on the
 * way), created, and made durable at the end.
 */
#ifndef WD_RESTORE_PLACE_H
#define WD_RESTORE_PLACE_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The target directory and up to 256 tablespace directories. */
#define WD_PLACE_MAX 257

/* An existing directory must be empty (then its mode becomes 0700); a
 * missing one is created (0700, with its parents). `what` names it in
 * messages ("target directory"). */
int wd_place_prepare(const char *dir, const char *what);
/* An existing directory must be empty; a missing one is fine. Nothing is
 * created. */
int wd_place_check_empty(const char *dir, const char *what);
/* No element of `dir`'s path that exists is a symlink, "." or "..":
 * WALDEN_EINVAL naming it. */
int wd_place_check_no_links(const char *dir, const char *what);
/* `dir` with its longest existing ancestor resolved (realpath) and the rest
 * as given: where it really is. NULL when out of memory; free with wd_free. */
char *wd_place_canonical(const char *dir);
/* Whether `inner` is `outer` or below it (both without "//" or a trailing
 * slash). */
bool wd_place_within(const char *inner, const char *outer);

/* The durability of what restore writes into its directories: one syncfs
 * per file system at the end where that is as sure as an fsync per file
 * (use_syncfs, then the files are written with WD_FILE_NOSYNC), else an
 * fsync per file; then the folders. The argument is in place.c. */
typedef struct wd_place_sync {
    bool use_syncfs; /* false once a directory is on a file system that needs fsyncs */
    size_t n_dirs, n_fs;
    const char *dirs[WD_PLACE_MAX]; /* borrowed: they must outlive the struct's use */
    struct {
        dev_t dev;
        int fd; /* opened at add, before the writes it covers */
        const char *dir;
    } fs[WD_PLACE_MAX];
} wd_place_sync;

void wd_place_sync_init(wd_place_sync *s);
/* Adds `dir` (existing; borrowed) before anything is written into it, and
 * opens its file system once. At most WD_PLACE_MAX directories. */
int wd_place_sync_add(wd_place_sync *s, const char *dir);
/* Once everything is written: syncfs of each file system (use_syncfs), or
 * else an fsync of every folder under each directory (not through links);
 * then an fsync of the folder holding each directory. */
int wd_place_sync_all(wd_place_sync *s);
/* Closes what wd_place_sync_add opened. */
void wd_place_sync_close(wd_place_sync *s);
#endif
