/*
 * testutil.c - see testutil.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
