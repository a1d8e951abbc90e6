/*
 * summary_check.c - pg/summary.c checked against the ground truth, for
 * test_wal_summary.sh (not installed).
 *
 *     walden_summary_check HOST PORT TLI FROM TO DIR_A DIR_B MIN_SHARE
 *
 * DIR_A and DIR_B hold copies of a data directory's base/, global/ and
 * pg_tblspc/ (its links followed) taken after a CHECKPOINT at LSN FROM and
 * at LSN TO (timeline TLI). The
 * summaries of [FROM, TO) are loaded from the server at HOST (a socket
 * folder) and PORT, and every 8 KiB block of every relation file of DIR_B
 * is compared with the same block in DIR_A (absent: differs). A block that
 * differs must be one the module says may have changed; of the blocks that
 * are equal, at least MIN_SHARE percent must be said unchanged. Prints one
 * line of counts; exits 1 on a miss or a share below MIN_SHARE, 2 when the
 * summaries cannot be used.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "pg/summary.h"

typedef struct counts {
    unsigned long files, blocks, differing, missed, equal, equal_unchanged;
} counts;

static const wd_summary *summary;
static const char *dir_a, *dir_b;

/* Reads block `b` of `f` into buf; its length (0 past the end). */
static size_t block_at(FILE *f, unsigned long b, unsigned char *buf)
{
    if (!f || fseeko(f, (off_t)b * WD_PG_BLCKSZ, SEEK_SET) != 0)
        return 0;
    return fread(buf, 1, WD_PG_BLCKSZ, f);
}

static void check_file(const char *rel, counts *n)
{
    char *pa = wd_path_join(dir_a, rel), *pb = wd_path_join(dir_b, rel);
    FILE *a = pa ? fopen(pa, "rb") : NULL, *b = pb ? fopen(pb, "rb") : NULL;
    if (!b) {
        fprintf(stderr, "cannot open %s: %s\n", pb ? pb : rel, strerror(errno));
        exit(1);
    }
    wd_free(pa);
    wd_free(pb);
    wd_summary_file f;
    wd_summary_state state = wd_summary_file_get(summary, rel, WD_PG_SEGMENT_BLOCKS, &f);
    n->files++;
    static unsigned char ba[WD_PG_BLCKSZ], bb[WD_PG_BLCKSZ];
    for (unsigned long blk = 0;; blk++) {
        size_t lb = block_at(b, blk, bb);
        if (lb == 0)
            break;
        size_t la = block_at(a, blk, ba);
        bool differs = la != lb || memcmp(ba, bb, lb) != 0;
        bool changed = wd_summary_block_changed(&f, blk);
        n->blocks++;
        if (differs) {
            n->differing++;
            if (!changed) {
                n->missed++;
                fprintf(stderr,
                        "MISSED: %s block %lu differs, the summaries say unchanged "
                        "(file state %d)\n",
                        rel, blk, (int)state);
            }
        } else {
            n->equal++;
            n->equal_unchanged += !changed;
        }
    }
    if (a)
        fclose(a);
    fclose(b);
}

static void walk(const char *rel, counts *n)
{
    char *path = wd_path_join(dir_b, rel);
    DIR *d = path ? opendir(path) : NULL;
    if (!d) {
        fprintf(stderr, "cannot open %s: %s\n", path ? path : rel, strerror(errno));
        exit(1);
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *child = wd_path_join(rel, de->d_name), *full = wd_path_join(path, de->d_name);
        struct stat st;
        wd_pg_relfile rf;
        if (!child || !full || lstat(full, &st) != 0)
            ;
        else if (S_ISDIR(st.st_mode))
            walk(child, n);
        else if (S_ISREG(st.st_mode) && wd_pg_relfile_parse(child, &rf))
            check_file(child, n);
        wd_free(child);
        wd_free(full);
    }
    closedir(d);
    wd_free(path);
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: %s HOST PORT TLI FROM TO DIR_A DIR_B MIN_SHARE\n", argv[0]);
        return 2;
    }
    uint64_t from, to;
    int64_t tli, min_share;
    if (wd_parse_int64(argv[3], 1, UINT32_MAX, &tli) || wd_lsn_parse(argv[4], &from) ||
        wd_lsn_parse(argv[5], &to) || wd_parse_int64(argv[8], 0, 100, &min_share)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    dir_a = argv[6];
    dir_b = argv[7];
    const char *keys[] = {"host", "port", "user", "dbname", NULL};
    const char *vals[] = {argv[1], argv[2], "postgres", "postgres", NULL};
    wd_pg_conn *c;
    if (wd_pg_connect_params(&c, keys, vals)) {
        fprintf(stderr, "%s\n", walden_error_last()->message);
        return 2;
    }
    char why[512];
    wd_summary *s = NULL;
    if (!wd_summary_server_ok(c, why, sizeof(why)) ||
        !wd_summary_wait(c, to, 60000, why, sizeof(why)) ||
        !wd_summary_load(c, (uint32_t)tli, from, to, 1000000, &s, why, sizeof(why))) {
        fprintf(stderr, "summaries not usable: %s\n", why);
        wd_pg_close(c);
        return 2;
    }
    wd_pg_close(c);
    summary = s;
    counts n = {0};
    walk("base", &n);
    walk("global", &n);
    walk("pg_tblspc", &n);
    size_t entries = wd_summary_blocks(s);
    wd_summary_free(s);
    unsigned long share = n.equal ? n.equal_unchanged * 100 / n.equal : 100;
    printf("files %lu, blocks %lu, summary entries %zu, differing %lu (missed %lu), equal %lu, "
           "said unchanged %lu (%lu%%)\n",
           n.files, n.blocks, entries, n.differing, n.missed, n.equal, n.equal_unchanged, share);
    if (n.missed)
        return 1;
    if (share < (unsigned long)min_share) {
        fprintf(stderr, "only %lu%% of the equal blocks said unchanged, expected %ld%%\n", share,
                (long)min_share);
        return 1;
    }
    return 0;
}
