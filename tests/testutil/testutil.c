/*
 * testutil.c - see testutil.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/common.h"
#include "pg/pg.h"
#include "repo/repo.h"
#include "testutil.h"
#include "walden/walden.h"

char *tu_mkdtemp(void)
{
    const char *base = getenv("WALDEN_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0755);
    size_t n = strlen(base) + 32;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/wdtest.XXXXXX", base);
    assert_non_null(mkdtemp(p));
    return p;
}

void tu_rmdir_r(const char *path)
{
    if (path)
        tu_system("rm -rf '%s'", path);
}

void tu_fill(uint8_t *buf, size_t len, uint32_t seed, int compressible)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        if (compressible && (i % 64) >= 8) {
            buf[i] = buf[i - (i % 64)];
            continue;
        }
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

int tu_system(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

void tu_fake_pgdata(const char *pgdata, uint64_t sysid, int major)
{
    assert_int_equal(tu_system("mkdir -p '%s/global' && printf '%d\\n' > '%s/PG_VERSION'", pgdata,
                               major, pgdata),
                     0);
    char path[4096];
    snprintf(path, sizeof(path), "%s/global/pg_control", pgdata);
    uint8_t control[8192] = {0};
    memcpy(control, &sysid, 8);
    tu_write_file(path, control, sizeof(control));
}

walden_config *tu_area_config(const char *dir, const char *repo, const char *pgdata,
                              const char *passphrase)
{
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "repo", repo, WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "pgdata", pgdata, WALDEN_SOURCE_FLAG));
    char skf[4096];
    snprintf(skf, sizeof(skf), "%s/%%c.sign-key", dir);
    assert_ok(walden_config_set(cfg, "sign-key-file", skf, WALDEN_SOURCE_FLAG));
    if (passphrase)
        assert_ok(walden_config_set(cfg, "encrypt-passphrase", passphrase, WALDEN_SOURCE_FLAG));
    return cfg;
}

void tu_area_setup(tu_area *a, uint64_t sysid)
{
    memset(a, 0, sizeof(*a));
    a->dir = tu_mkdtemp();
    snprintf(a->repo, sizeof(a->repo), "%s/repo", a->dir);
    snprintf(a->pgdata, sizeof(a->pgdata), "%s/pgdata", a->dir);
    a->sysid = sysid;
    tu_fake_pgdata(a->pgdata, sysid, 15);
    a->cfg = tu_area_config(a->dir, a->repo, a->pgdata, NULL);
    assert_ok(walden_config_set(a->cfg, "lock-path", a->dir, WALDEN_SOURCE_FLAG));
    assert_ok(walden_repo_init(a->cfg));
}

void tu_area_teardown(tu_area *a)
{
    walden_config_free(a->cfg);
    tu_rmdir_r(a->dir);
    free(a->dir);
    memset(a, 0, sizeof(*a));
}

void tu_push_segment(const tu_area *a, const char *name, uint32_t seg_size)
{
    uint8_t *buf = calloc(1, seg_size);
    assert_non_null(buf);
    wd_wal_name w;
    assert_ok(wd_wal_name_parse(name, &w));
    uint16_t magic = wd_wal_page_magic(15), info = 2; /* XLP_LONG_HEADER */
    uint32_t tli = w.tli, blcksz = 8192;
    uint64_t addr = ((uint64_t)w.log * wd_wal_per_log(seg_size) + w.seg) * seg_size;
    memcpy(buf, &magic, 2);
    memcpy(buf + 2, &info, 2);
    memcpy(buf + 4, &tli, 4);
    memcpy(buf + 8, &addr, 8);
    memcpy(buf + 24, &a->sysid, 8);
    memcpy(buf + 32, &seg_size, 4);
    memcpy(buf + 36, &blcksz, 4);
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s", a->dir, name);
    tu_write_file(path, buf, seg_size);
    free(buf);
    walden_repo *repo;
    assert_ok(walden_repo_open(&repo, a->cfg));
    assert_ok(walden_archive_push(repo, path, NULL));
    walden_repo_close(repo);
    unlink(path);
}

void tu_put_backup(struct walden_repo *repo, const char *repo_dir, const char *id, const char *type,
                   const char *reference, int64_t stop_ms)
{
    char rel[256], path[4500];
    snprintf(rel, sizeof(rel), "main/backup/%s", id);
    assert_int_equal(tu_system("mkdir -p '%s/%s'", repo_dir, rel), 0);
    snprintf(path, sizeof(path), "%s/%s/backup.manifest%s", repo_dir, rel,
             wd_compress_ext(repo->compress));
    tu_write_file(path, "", 0);
    wd_backup_meta m = {0};
    snprintf(m.id, sizeof(m.id), "%s", id);
    snprintf(m.type, sizeof(m.type), "%s", type);
    snprintf(m.status, sizeof(m.status), "ok");
    snprintf(m.reference, sizeof(m.reference), "%s", reference);
    snprintf(m.start_wal, sizeof(m.start_wal), "000000010000000000000010");
    snprintf(m.stop_wal, sizeof(m.stop_wal), "000000010000000000000010");
    m.pub.timeline = 1;
    m.pub.stop_time_ms = stop_ms;
    m.pub.start_time_ms = stop_ms - 60000;
    m.pub.size = 1000;
    m.pub.stored_size = strcmp(type, "full") == 0 ? 500 : 50;
    m.complete = 1;
    char *text = wd_backup_meta_text(&m);
    assert_non_null(text);
    snprintf(rel, sizeof(rel), "main/backup/%s/backup.info", id);
    assert_int_equal(wd_repo_write_signed(repo, rel, text, strlen(text)), 0);
    wd_free(text);
}
