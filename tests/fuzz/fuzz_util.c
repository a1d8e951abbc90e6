/*
 * fuzz_util.c - helpers of the fuzz targets (see fuzz_util.h).
 */
#include "fuzz_util.h"
#include "common/common.h"
#include "io/stream.h"
#include "repo/repo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static char cluster_dir[512];
static walden_repo *repo;
static walden_config *repo_cfg;

static void die(const char *what)
{
    fprintf(stderr, "fuzz setup: %s: %s (%s)\n", what, walden_error_last()->message,
            strerror(errno));
    abort();
}

char *fz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

static void cleanup(void)
{
    if (repo)
        walden_repo_close(repo);
    walden_config_free(repo_cfg);
    if (dir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "fuzz: cannot remove %s\n", dir);
    }
}

const char *fz_dir(void)
{
    if (dir[0])
        return dir;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof(dir), "%s/walden-fuzz.XXXXXX", base);
    if (!mkdtemp(dir))
        die("mkdtemp");
    atexit(cleanup);
    return dir;
}

const char *fz_path(const char *d, const char *rel)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf), "%s/%s", d, rel);
    return buf;
}

void fz_write(const char *path, const void *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        die(path);
    const uint8_t *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n <= 0)
            die(path);
        p += n;
        size -= (size_t)n;
    }
    close(fd);
}

const char *fz_cluster_dir(void)
{
    return cluster_dir;
}

/* The signing key that init made is replaced by FZ_SIGN_KEY, and
 * cluster.conf signed again with it: an input signed once (a seed of
 * fuzz_signed) passes the signature check in every process. */
static void fixed_key(uint64_t sysid)
{
    uint8_t priv[WD_SIGN_KEY_LEN], pub[WD_SIGN_KEY_LEN];
    char vk[2 * WD_SIGN_KEY_LEN + 1], *text = NULL, *signed_text = NULL;
    size_t len, body;
    if (wd_hex_decode(FZ_SIGN_KEY, priv, sizeof(priv)) || wd_sign_public(priv, pub))
        die("fixed key");
    wd_hex_encode(pub, sizeof(pub), vk);
    char *key = wd_asprintf("format = 1\ncluster = main\nsystem-identifier = %" PRIu64
                            "\nverify-key = %s\nsign-private-key = %s\n",
                            sysid, vk, FZ_SIGN_KEY);
    if (!key)
        die("fixed key");
    fz_write(fz_path(fz_dir(), "sign-key"), key, strlen(key));
    wd_free(key);
    /* cluster.conf: its body, then a signature line of the fixed key */
    wd_area_id area = {.cluster = "main", .system_id = sysid};
    if (wd_file_read_all(fz_path(cluster_dir, "cluster.conf"), 65536, &text, &len) ||
        (body = len) == 0)
        die("cluster.conf");
    for (body = len - 1; body > 0 && text[body - 1] != '\n'; body--)
        ;
    if (wd_sign_text(priv, &area, "cluster.conf", text, body, &signed_text))
        die("cluster.conf");
    fz_write(fz_path(cluster_dir, "cluster.conf"), signed_text, strlen(signed_text));
    wd_free(signed_text);
    wd_free(text);
}

walden_repo *fz_repo(walden_config **cfg)
{
    if (repo) {
        *cfg = repo_cfg;
        return repo;
    }
    walden_log_set_level(WALDEN_LOG_ERROR);
    char repo_dir[512], pgdata[512], p[600];
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", fz_dir());
    snprintf(pgdata, sizeof(pgdata), "%s/pgdata", fz_dir());
    snprintf(p, sizeof(p), "%s/global", pgdata);
    if (mkdir(pgdata, 0700) || mkdir(p, 0700))
        die("mkdir");
    fz_write(fz_path(pgdata, "PG_VERSION"), "15\n", 3);
    uint8_t control[8192] = {0};
    uint64_t sysid = 7312345678901234567ull;
    memcpy(control, &sysid, 8);
    fz_write(fz_path(pgdata, "global/pg_control"), control, sizeof(control));
    if (walden_config_new(&repo_cfg) ||
        walden_config_set(repo_cfg, "repo", repo_dir, WALDEN_SOURCE_FLAG) ||
        walden_config_set(repo_cfg, "pgdata", pgdata, WALDEN_SOURCE_FLAG) ||
        walden_config_set(repo_cfg, "compress", "none", WALDEN_SOURCE_FLAG) ||
        walden_config_set(repo_cfg, "process-max", "1", WALDEN_SOURCE_FLAG) ||
        walden_config_set(repo_cfg, "set", FZ_ID, WALDEN_SOURCE_FLAG) ||
        walden_config_set(repo_cfg, "sign-key-file", fz_path(fz_dir(), "sign-key"),
                          WALDEN_SOURCE_FLAG))
        die("config");
    if (walden_repo_init(repo_cfg))
        die("repository");
    snprintf(cluster_dir, sizeof(cluster_dir), "%s/main", repo_dir);
    fixed_key(sysid);
    if (walden_repo_open(&repo, repo_cfg))
        die("repository");
    snprintf(p, sizeof(p), "%s/backup", cluster_dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/backup/%s", cluster_dir, FZ_ID);
    mkdir(p, 0700);
    *cfg = repo_cfg;
    return repo;
}

void fz_write_signed(walden_repo *r, const char *rel, const uint8_t *data, size_t size)
{
    bool nl = size && data[size - 1] == '\n';
    size_t len = size + (nl || !size ? 0 : 1);
    char *body = malloc(len + 1), *text = NULL;
    if (!body)
        abort();
    if (size)
        memcpy(body, data, size);
    if (len > size)
        body[size] = '\n';
    wd_area_id area;
    wd_repo_area(r, &area);
    if (wd_sign_text(r->sign_priv, &area, rel, body, len, &text))
        die("sign");
    fz_write(fz_path(cluster_dir, rel), text, len + strlen(text + len));
    wd_free(text);
    free(body);
}

int fz_run_filter(wd_filter *f, const uint8_t *data, size_t size)
{
    size_t piece = size ? (size_t)data[0] * 97 + 1 : 1;
    wd_sink *sink = NULL;
    wd_pipe *p = NULL;
    if (wd_null_sink_open(&sink) || wd_pipe_new(&p, sink))
        die("pipe");
    int rc = wd_pipe_add(p, f);
    for (size_t off = 0; off < size && !rc; off += piece)
        rc = wd_pipe_write(p, data + off, size - off < piece ? size - off : piece);
    if (!rc)
        rc = wd_pipe_finish(p);
    wd_pipe_free(p);
    walden_error_clear();
    return rc;
}
