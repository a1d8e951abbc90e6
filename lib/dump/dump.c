/*
 * dump.c - walden dump: pg_dump streamed into the repository.
 *
 *   1. lock the cluster's dumps, connect, check the server is the
 *      repository's cluster, list the databases to dump;
 *   2. remove leftovers of dumps that never got their manifest;
 *   3. name the run's dumps (dump.h), then `process-max` workers each run
 *      one pg_dump -Fc -Z0 (or pg_dumpall --globals-only) at a time and
 *      stream its stdout through the store pipeline into the repository;
 *   4. each dump ends with its manifest: status ok once the data is
 *      committed (durable), or status failed with the reason, the data
 *      discarded (the upload aborted).
 * One database failing does not stop the others: every dump gets its
 * manifest, and the run's status is the first failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/common.h"
#include "common/pool.h"
#include "common/proc.h"
#include "pg/pg.h"
#include "repo/lock.h"

#define READ_CHUNK (256 * 1024)
#define ID_NAME_MAX 40

typedef struct dump_target {
    wd_dump_meta meta;
    int rc; /* 0, or the failure's code (message in meta.error) */
} dump_target;

typedef struct dump_run {
    walden_repo *repo;
    const walden_config *cfg;
    char *pg_dump, *pg_dumpall;
    dump_target *targets;
    size_t n;
    pthread_mutex_t mu; /* guards the counters */
    uint64_t bytes, done;
    walden_progress_cb progress;
    void *progress_ctx;
} dump_run;

/* The pool's tick, in the calling thread: how far the dumps are. */
static void tick(void *arg)
{
    dump_run *r = arg;
    walden_progress p = {"dump", 0, 0, 0, r->n};
    pthread_mutex_lock(&r->mu);
    p.bytes_done = r->bytes;
    p.files_done = r->done;
    pthread_mutex_unlock(&r->mu);
    r->progress(&p, r->progress_ctx);
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Streams the child's stdout into the pipe. A child that fails, or output
 * that is not what the program writes, fails the dump. */
static int stream_child(dump_run *r, dump_target *t, wd_pipe *pipe, uint8_t *buf)
{
    wd_dump_meta *m = &t->meta;
    bool globals = strcmp(m->kind, "globals") == 0;
    const char *argv[16];
    int argc = 0;
    char *conninfo = NULL, *quoted = NULL;
    argv[argc++] = globals ? r->pg_dumpall : r->pg_dump;
    const char *pgdatabase = walden_config_get(r->cfg, "pgdatabase");
    if (globals) {
        argv[argc++] = "--globals-only";
        if (pgdatabase && *pgdatabase) { /* else postgres, then template1 */
            argv[argc++] = "-l";
            argv[argc++] = pgdatabase;
        }
    } else {
        argv[argc++] = "--format=custom";
        argv[argc++] = "--compress=0";
        if (!(quoted = wd_conninfo_quote(m->database)) ||
            !(conninfo = wd_asprintf("--dbname=dbname=%s", quoted))) {
            wd_free(quoted);
            return WALDEN_ENOMEM;
        }
        argv[argc++] = conninfo;
    }
    wd_pg_where where;
    wd_pg_where_get(r->cfg, &where);
    wd_pg_conn_args(&where, argv, &argc);
    argv[argc] = NULL;

    char name[64];
    if (globals)
        snprintf(name, sizeof(name), "pg_dumpall --globals-only");
    else
        snprintf(name, sizeof(name), "pg_dump of database '%.36s'", m->database);
    wd_proc child;
    int rc = wd_proc_spawn(&child, name, argv, NULL, WD_PROC_STDOUT);
    wd_free(conninfo);
    wd_free(quoted);
    if (rc)
        return rc;
    uint64_t total = 0;
    for (;;) {
        size_t n = 0;
        if ((rc = wd_proc_read(&child, buf, READ_CHUNK, &n)) || n == 0)
            break;
        /* a custom-format archive starts with "PGDMP" (a read may bring
         * fewer bytes than that) */
        for (size_t i = 0; !globals && total + i < 5 && i < n; i++) {
            if (buf[i] != (uint8_t) "PGDMP"[total + i]) {
                rc = wd_error_set(WALDEN_EPG, "%s wrote something that is not a custom-format dump",
                                  name);
                break;
            }
        }
        if (rc)
            break;
        total += n;
        if ((rc = wd_pipe_write(pipe, buf, n)))
            break;
        pthread_mutex_lock(&r->mu);
        r->bytes += n;
        pthread_mutex_unlock(&r->mu);
    }
    if (rc) {
        wd_proc_kill(&child);
        return rc;
    }
    if ((rc = wd_proc_wait(&child)))
        return rc;
    if (!globals && total < 5)
        return wd_error_set(WALDEN_EPG, "%s wrote no dump (%" PRIu64 " bytes)", name, total);
    return 0;
}

static int store_dump(dump_run *r, dump_target *t, uint8_t *buf)
{
    wd_dump_meta *m = &t->meta;
    char *path = wd_dump_object(r->repo, m);
    if (!path)
        return WALDEN_ENOMEM;
    wd_sink *sink = NULL;
    wd_repo_stream st = {0};
    int rc = wd_storage_open_write(r->repo->storage, path, &sink);
    wd_free(path);
    if (rc)
        return rc;
    if ((rc = wd_repo_store_begin(r->repo, sink, &st)))
        return rc;
    if (!(rc = stream_child(r, t, st.pipe, buf)) && !(rc = wd_pipe_end(st.pipe))) {
        wd_hash_filter_result(st.raw_hash, m->raw_sha256, &m->pub.size);
        wd_hash_filter_result(st.stored_hash, m->stored_sha256, &m->pub.stored_size);
        if (st.cipher) { /* signed in the manifest: restore-dump streams only under it */
            wd_encrypt_filter_header(st.cipher, m->header);
            m->have_header = true;
        }
        rc = wd_pipe_commit(st.pipe, NULL);
    }
    wd_pipe_free(st.pipe); /* aborts the upload unless committed */
    return rc;
}

static int write_manifest(dump_run *r, const wd_dump_meta *m)
{
    char *path = wd_asprintf("%s/%s/%s/%s", r->repo->cluster, WD_DUMP_DIR, m->id, WD_DUMP_MANIFEST);
    char *text = wd_dump_meta_text(m);
    int rc = path && text ? wd_repo_write_signed(r->repo, path, text, strlen(text)) : WALDEN_ENOMEM;
    wd_free(path);
    wd_free(text);
    return rc;
}

/* A pool worker: one dump. Always 0, so that the others go on; the
 * outcome is in the target. */
static int dump_one(void *item, void *scratch, void *ctx)
{
    dump_run *r = ctx;
    dump_target *t = &r->targets[*(size_t *)item];
    wd_dump_meta *m = &t->meta;
    const char *what = strcmp(m->kind, "globals") == 0 ? "the globals" : m->database;
    wd_log_info("dump %s: dumping %s%s", m->id, m->database[0] ? "database " : "", what);
    m->pub.start_time_ms = now_ms();
    t->rc = store_dump(r, t, scratch);
    m->pub.stop_time_ms = now_ms();
    if (t->rc) {
        snprintf(m->status, sizeof(m->status), "failed");
        m->error = wd_strdup(walden_error_last()->message);
        wd_log_info("dump %s failed: %s", m->id, m->error ? m->error : "out of memory");
    } else {
        snprintf(m->status, sizeof(m->status), "ok");
    }
    int mrc = write_manifest(r, m);
    if (mrc && !t->rc) {
        t->rc = mrc;
        snprintf(m->status, sizeof(m->status), "failed");
        m->error = wd_strdup(walden_error_last()->message);
    }
    wd_dump_meta_link(m);
    pthread_mutex_lock(&r->mu);
    r->done++;
    pthread_mutex_unlock(&r->mu);
    if (!t->rc)
        wd_log_info("dump %s: %" PRIu64 " bytes, %" PRIu64 " stored", m->id, m->pub.size,
                    m->pub.stored_size);
    return 0;
}

/* The id's name part: the database name with unusual characters as '_'. */
static void id_name(const char *database, char *out, size_t cap)
{
    size_t k = 0;
    for (const char *s = database; *s && k < ID_NAME_MAX && k + 1 < cap; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (c == '.' && k > 0);
        out[k++] = ok ? c : '_';
    }
    out[k] = '\0';
}

/* Fills in the targets' ids and what every dump records. */
static int name_targets(dump_run *r, const char *stamp, int pg_version, const char *pg_dump_version)
{
    for (size_t i = 0; i < r->n; i++) {
        wd_dump_meta *m = &r->targets[i].meta;
        char base[ID_NAME_MAX + 1];
        if (strcmp(m->kind, "globals") == 0)
            snprintf(base, sizeof(base), "globals");
        else
            id_name(m->database, base, sizeof(base));
        if (!base[0])
            snprintf(base, sizeof(base), "db");
        for (int k = 1;; k++) {
            if (k == 1)
                snprintf(m->id, sizeof(m->id), "%s-%s", stamp, base);
            else
                snprintf(m->id, sizeof(m->id), "%s-%s-%d", stamp, base, k);
            bool taken = false;
            for (size_t j = 0; j < i && !taken; j++)
                taken = strcmp(r->targets[j].meta.id, m->id) == 0;
            if (!taken)
                break;
        }
        m->pub.system_id = r->repo->info.system_id;
        m->pub.pg_version = pg_version;
        snprintf(m->pg_dump_version, sizeof(m->pg_dump_version), "%s", pg_dump_version);
        snprintf(m->walden_version, sizeof(m->walden_version), "%s", WALDEN_VERSION);
        snprintf(m->compress, sizeof(m->compress), "%s", wd_compress_name(r->repo->compress));
        m->pub.encrypted = r->repo->info.encrypted;
        wd_dump_meta_link(m);
    }
    return 0;
}

static int add_target(dump_run *r, const char *kind, const char *database)
{
    dump_target *t = &r->targets[r->n];
    snprintf(t->meta.kind, sizeof(t->meta.kind), "%s", kind);
    if (!(t->meta.database = wd_strdup(database)))
        return WALDEN_ENOMEM;
    r->n++;
    return 0;
}

/* The databases to dump: those named (each must exist), else every one
 * that accepts connections and is not a template. Globals first. */
static int choose_targets(dump_run *r, wd_pg_conn *c)
{
    const char *named = walden_config_get(r->cfg, "dbname");
    wd_pg_result *res = NULL;
    int rc = wd_pg_query(c, &res,
                         "SELECT datname FROM pg_database WHERE datallowconn AND NOT "
                         "datistemplate ORDER BY datname",
                         0, NULL);
    if (rc)
        return rc;
    int rows = wd_pg_rows(res);
    size_t cap = 1 + (size_t)rows;
    if (named && *named) {
        cap = 1;
        for (const char *s = named; *s; s++)
            cap += *s == '\n';
        cap++;
    }
    r->targets = wd_calloc(cap, sizeof(*r->targets));
    if (!r->targets || add_target(r, "globals", "")) {
        wd_pg_result_free(res);
        return WALDEN_ENOMEM;
    }
    if (named && *named) {
        char *list = wd_strdup(named), *save = NULL;
        rc = list ? 0 : WALDEN_ENOMEM;
        for (char *db = list ? strtok_r(list, "\n", &save) : NULL; db && !rc;
             db = strtok_r(NULL, "\n", &save)) {
            bool found = false;
            for (int i = 0; i < rows && !found; i++)
                found = strcmp(wd_pg_value(res, i, 0), db) == 0;
            if (!found)
                rc =
                    wd_error_set(WALDEN_EINVAL,
                                 "database '%s' does not exist or does not accept connections", db);
            bool dup = false;
            for (size_t j = 1; j < r->n && !dup; j++)
                dup = strcmp(r->targets[j].meta.database, db) == 0;
            if (!rc && !dup)
                rc = add_target(r, "database", db);
        }
        wd_free(list);
    } else {
        for (int i = 0; i < rows && !rc; i++)
            rc = add_target(r, "database", wd_pg_value(res, i, 0));
    }
    wd_pg_result_free(res);
    return rc;
}

static int check_server(walden_repo *repo, wd_pg_conn *c)
{
    char *text = NULL;
    uint64_t sysid = 0;
    int rc = wd_pg_query_one(c, "SELECT system_identifier::text FROM pg_control_system()", &text);
    if (!rc && wd_parse_uint64(text, &sysid))
        rc = wd_error_set(WALDEN_EPG, "unexpected system identifier '%s'", text);
    wd_free(text);
    if (!rc && sysid != repo->info.system_id)
        rc = wd_error_set(WALDEN_EMISMATCH,
                          "the server is cluster %" PRIu64 ", but the repository's cluster '%s' "
                          "is %" PRIu64,
                          sysid, repo->cluster, repo->info.system_id);
    return rc;
}

/* One line naming every failed dump and why, the first failure's code. */
static int failure_message(const dump_run *r, size_t nfailed)
{
    char msg[2048];
    size_t len = 0;
    int code = 0;
    if (nfailed > 1)
        len = (size_t)snprintf(msg, sizeof(msg), "%zu of %zu dumps failed: ", nfailed, r->n);
    for (size_t i = 0; i < r->n && len < sizeof(msg); i++) {
        const dump_target *t = &r->targets[i];
        if (!t->rc)
            continue;
        len +=
            (size_t)snprintf(msg + len, sizeof(msg) - len, "%sdump %s failed: %s", code ? "; " : "",
                             t->meta.id, t->meta.error ? t->meta.error : "out of memory");
        if (!code)
            code = t->rc;
    }
    return wd_error_set(code, "%s", msg);
}

int walden_dump(walden_repo *repo, const walden_config *cfg, walden_progress_cb progress,
                void *progress_ctx, walden_dump_cb cb, void *ctx)
{
    walden_error_clear();
    dump_run r = {.repo = repo, .cfg = cfg, .progress = progress, .progress_ctx = progress_ctx};
    pthread_mutex_init(&r.mu, NULL);
    wd_pg_conn *c = NULL;
    wd_pool *pool = NULL;
    char *version = NULL;
    int lock_fd = -1, workers = 1, rc = 0;
    if ((rc = wd_repo_signer(repo)) || (rc = wd_process_max(cfg, false, &workers)) ||
        (rc = wd_repo_lock(repo, "dump", false, &lock_fd)))
        goto done;
    if ((rc = wd_pg_connect(&c, cfg)) || (rc = check_server(repo, c)) ||
        (rc = choose_targets(&r, c)))
        goto done;
    int pg_version = wd_pg_server_version(c);
    wd_pg_close(c);
    c = NULL;
    if ((rc = wd_pg_program(cfg, pg_version, "pg_dump", &r.pg_dump)) ||
        (rc = wd_pg_program(cfg, pg_version, "pg_dumpall", &r.pg_dumpall)))
        goto done;
    {
        const char *argv[] = {r.pg_dump, "--version", NULL};
        if ((rc = wd_proc_output_line(argv, &version)))
            goto done;
    }
    if ((rc = wd_dump_remove_incomplete(repo)))
        goto done;
    char stamp[32];
    if ((rc = wd_repo_time_id(repo, WD_DUMP_DIR, stamp)) ||
        (rc = name_targets(&r, stamp, pg_version, version)))
        goto done;
    if ((size_t)workers > r.n)
        workers = (int)r.n;
    if ((rc = wd_pool_start(&pool, workers, sizeof(size_t), r.n, READ_CHUNK, dump_one, &r)))
        goto done;
    for (size_t i = 0; i < r.n; i++)
        wd_pool_push(pool, &i);
    if ((rc = wd_pool_finish(pool, false, progress ? tick : NULL, &r)))
        goto done;
    size_t nfailed = 0;
    for (size_t i = 0; i < r.n; i++) {
        nfailed += r.targets[i].rc != 0;
        if (cb && !rc)
            rc = wd_callback_rc(cb(&r.targets[i].meta.pub, ctx));
    }
    if (nfailed && !rc)
        rc = failure_message(&r, nfailed);
done:
    wd_pool_free(pool);
    wd_pg_close(c);
    for (size_t i = 0; i < r.n; i++)
        wd_dump_meta_clear(&r.targets[i].meta);
    wd_free(r.targets);
    wd_free(r.pg_dump);
    wd_free(r.pg_dumpall);
    wd_free(version);
    wd_lock_release(lock_fd);
    pthread_mutex_destroy(&r.mu);
    return rc;
}
