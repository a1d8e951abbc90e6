/*
 * restore.c - walden restore-dump: a dump read back from the repository
 * (decrypted, decompressed, checked against its SHA-256 and its signed
 * manifest) into pg_restore, psql or a file.
 *
 * Nothing reaches pg_restore, psql or the file until the whole dump is
 * authenticated (docs/security.md): a truncated dump's genuine prefix could
 * otherwise create roles or restore part of a database before the failure
 * shows. The dump is read first into a temporary file opened with
 * O_TMPFILE (mode 0600, no name: it is gone when walden exits, however it
 * exits), at most as many bytes as the signed manifest records, and only
 * once its end checked out is it handed on: fed to psql's or pg_restore's
 * standard input, opened by pg_restore -j as /proc/self/fd/<n> (it seeks),
 * or renamed into place (--to-file). TMPDIR needs room for the dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "common/common.h"
#include "common/proc.h"
#include "pg/pg.h"

/* ---- a sink into a child's stdin ---- */

typedef struct proc_sink {
    wd_sink base;
    wd_proc proc;
    bool sql_errors_fail; /* psql goes on after an error: count them */
} proc_sink;

/* pg_restore with --table or --list may stop reading once it has what it
 * needs: the rest is still read and checked, but dropped, and its exit
 * status decides. */
static int proc_sink_write(wd_sink *sink, const uint8_t *buf, size_t len)
{
    wd_proc *p = &((proc_sink *)sink)->proc;
    if (p->input_closed)
        return 0;
    int rc = wd_proc_write(p, buf, len);
    if (rc && p->input_closed) {
        wd_log_debug("%s stopped reading its input", p->name);
        walden_error_clear();
        return 0;
    }
    return rc;
}

/* The end of input: the child's exit status decides; for psql also its
 * errors, but for objects that exist already (role "postgres" does). */
static int proc_sink_commit(wd_sink *sink)
{
    proc_sink *s = (proc_sink *)sink;
    int rc = wd_proc_wait(&s->proc);
    unsigned failed = s->proc.sql_errors - s->proc.sql_exists;
    if (!rc && s->sql_errors_fail && failed)
        rc = wd_error_set(WALDEN_EPG,
                          "%s: %u statement(s) failed (besides objects that exist already); "
                          "see the warnings above",
                          s->proc.name, failed);
    wd_free(sink);
    return rc;
}

static void proc_sink_abort(wd_sink *sink)
{
    wd_proc_kill(&((proc_sink *)sink)->proc);
    wd_free(sink);
}

static int proc_sink_open(wd_sink **out, const char *name, const char *const *argv,
                          bool sql_errors_fail, const char *expected)
{
    proc_sink *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    s->sql_errors_fail = sql_errors_fail;
    int rc = wd_proc_spawn(&s->proc, name, argv, NULL, WD_PROC_STDIN);
    if (rc) {
        wd_free(s);
        return rc;
    }
    /* set before the first write: stderr is read only while writing */
    if (expected)
        snprintf(s->proc.expected, sizeof(s->proc.expected), "%s", expected);
    s->base.write = proc_sink_write;
    s->base.commit = proc_sink_commit;
    s->base.abort = proc_sink_abort;
    *out = &s->base;
    return 0;
}

/* ---- choosing the dump ---- */

/* The newest usable dump of `database`, or of the globals when NULL. */
static int find_newest(walden_repo *repo, const char *database, wd_dump_meta *out)
{
    wd_dump_meta **metas;
    size_t n;
    int rc = wd_dump_list_usable(repo, NULL, &metas, &n);
    if (rc)
        return rc;
    const char *id = NULL;
    for (size_t i = n; i-- > 0 && !id;) {
        const wd_dump_meta *m = metas[i];
        if (strcmp(m->status, "ok") != 0)
            continue;
        if (database ? strcmp(m->kind, "database") == 0 && strcmp(m->pub.database, database) == 0
                     : strcmp(m->kind, "globals") == 0)
            id = m->id;
    }
    rc = id ? wd_dump_load_meta(repo, id, out)
         : database
             ? wd_error_set(WALDEN_ENOTFOUND, "no usable dump of database '%s' in cluster '%s'",
                            database, repo->cluster)
             : wd_error_set(WALDEN_ENOTFOUND, "no usable dump of the globals in cluster '%s'",
                            repo->cluster);
    wd_dump_list_free(metas, n);
    return rc;
}

static int choose_dump(walden_repo *repo, const walden_config *cfg, wd_dump_meta *m)
{
    const char *set = walden_config_get(cfg, "set");
    const char *dbname = walden_config_get(cfg, "dbname");
    bool globals = walden_config_bool(cfg, "globals");
    int rc;
    if (set && *set) {
        if ((rc = wd_dump_load_meta(repo, set, m)))
            return rc;
        if (globals && strcmp(m->kind, "globals") != 0) {
            /* the globals of the same run */
            char id[sizeof(m->id)];
            snprintf(id, sizeof(id), "%.16s-globals", set);
            wd_dump_meta_clear(m);
            if ((rc = wd_dump_load_meta(repo, id, m)))
                return rc == WALDEN_ENOTFOUND
                           ? wd_error_set(WALDEN_ENOTFOUND, "dump '%s' has no globals beside it",
                                          set)
                           : rc;
        }
    } else if (globals) {
        if ((rc = find_newest(repo, NULL, m)))
            return rc;
    } else if (dbname && *dbname) {
        if (strchr(dbname, '\n'))
            return wd_error_set(WALDEN_EINVAL, "restore-dump takes one --dbname");
        if ((rc = find_newest(repo, dbname, m)))
            return rc;
    } else {
        return wd_error_set(WALDEN_EINVAL,
                            "restore-dump needs --set DUMP_ID, --dbname NAME or --globals");
    }
    if (strcmp(m->status, "ok") != 0)
        return wd_error_set(WALDEN_EINVAL, "dump %s failed (%s): it cannot be restored", m->id,
                            m->pub.error);
    return 0;
}

/* ---- restoring ---- */

/* Reads the dump's data into `sink` (taken over), authenticating it: the
 * raw SHA-256 of the signed manifest, its size exactly, at most its stored
 * size read, and in an encrypted area the signed encryption header before
 * any byte is released. The sink is committed only when all of it held. */
static int read_dump(walden_repo *repo, const wd_dump_meta *m, wd_sink *sink)
{
    wd_compress c;
    char *path = wd_dump_object(repo, m);
    wd_source *src = NULL;
    wd_repo_stream st = {0};
    int rc = !path ? WALDEN_ENOMEM : wd_compress_parse(m->compress, &c);
    if (rc) {
        sink->abort(sink);
        wd_free(path);
        return rc;
    }
    if ((rc = wd_storage_open_read(repo->storage, path, &src))) {
        sink->abort(sink);
        if (rc == WALDEN_ENOTFOUND) /* its manifest says it exists: damage */
            rc = wd_error_set(WALDEN_ECORRUPT, "the data of dump %s is missing (%s)", m->id, path);
        wd_free(path);
        return rc;
    }
    char what[512];
    snprintf(what, sizeof(what), "the data of dump %s ('%s') failed authentication", m->id, path);
    wd_read_limits lim = {.code = WALDEN_EAUTH, .what = what, .stored_counted = true};
    if (!repo->legacy) {
        lim.raw_max = m->pub.size;
        lim.raw_exact = true;
        lim.stored_max = m->pub.stored_size; /* 0 (nothing stored): the raw limit holds */
    }
    if (!repo->legacy && m->pub.encrypted != repo->info.encrypted) {
        rc = wd_error_set(WALDEN_EAUTH,
                          "dump %s failed authentication: its encryption is not the area's", m->id);
    } else if (!repo->legacy && repo->info.encrypted && !m->have_header) {
        rc = wd_error_set(WALDEN_EAUTH,
                          "dump %s failed authentication: its manifest signs no encryption header",
                          m->id);
    }
    if (rc)
        sink->abort(sink);
    else if (!(rc = wd_repo_read_begin_limited(repo, c, m->raw_sha256,
                                               m->have_header ? m->header : NULL, &lim, sink, &st)))
        rc = wd_pipe_copy(st.pipe, src);
    /* the content differs from what the signed manifest records */
    if (rc == WALDEN_ECORRUPT && !repo->legacy)
        rc = WALDEN_EAUTH;
    if (rc == WALDEN_EAUTH && !wd_str_starts_with(walden_error_last()->message, "dump") &&
        !wd_str_starts_with(walden_error_last()->message, "the data of dump"))
        rc = wd_error_wrap(WALDEN_EAUTH, "%s", what);
    if (rc && rc != WALDEN_EKEY && !wd_str_starts_with(walden_error_last()->message, "dump") &&
        !wd_str_starts_with(walden_error_last()->message, "the data of dump"))
        wd_error_wrap(rc, "dump %s", m->id);
    wd_pipe_free(st.pipe);
    wd_source_close(src);
    wd_free(path);
    return rc;
}

/* Reads the dump whole, authenticated, into a new unnamed temporary file
 * (O_TMPFILE in TMPDIR, 0600) and returns its descriptor at offset 0. */
static int spool_dump(walden_repo *repo, const wd_dump_meta *m, int *out)
{
    *out = -1;
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir)
        tmpdir = "/tmp";
    int fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        return wd_error_set_errno(errno, "cannot create a temporary file in '%s' (TMPDIR)", tmpdir);
    struct statvfs vfs;
    if (fstatvfs(fd, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < m->pub.size) {
        close(fd);
        return wd_error_set(WALDEN_EIO,
                            "dump %s needs %" PRIu64 " bytes in '%s' (TMPDIR) to be checked "
                            "before it is restored; %" PRIu64 " are free",
                            m->id, m->pub.size, tmpdir, (uint64_t)vfs.f_bavail * vfs.f_frsize);
    }
    wd_sink *sink = NULL;
    int rc = wd_fd_sink_open(&sink, fd);
    if (!rc)
        rc = read_dump(repo, m, sink);
    if (!rc && lseek(fd, 0, SEEK_SET) != 0)
        rc = wd_error_set_errno(errno, "cannot read a temporary file");
    if (rc) {
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

/* Hands the spooled dump to `sink` (taken over), then commits it. */
static int feed(int fd, wd_sink *sink)
{
    uint8_t *buf = wd_malloc(256 * 1024);
    int rc = buf ? 0 : WALDEN_ENOMEM;
    while (!rc) {
        ssize_t n = read(fd, buf, 256 * 1024);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = wd_error_set_errno(errno, "cannot read a temporary file");
        else if (n == 0)
            break;
        else
            rc = sink->write(sink, buf, (size_t)n);
    }
    wd_free(buf);
    if (rc) {
        sink->abort(sink);
        return rc;
    }
    return sink->commit(sink);
}

/* The dump, authenticated whole, then handed to `sink` (taken over). */
static int spool_and_feed(walden_repo *repo, const wd_dump_meta *m, wd_sink *sink)
{
    int fd, rc = spool_dump(repo, m, &fd);
    if (rc) {
        sink->abort(sink);
        return rc;
    }
    rc = feed(fd, sink);
    close(fd);
    return rc;
}

static char *quote_ident(const char *name)
{
    size_t n = strlen(name);
    char *out = wd_malloc(2 * n + 3);
    if (!out)
        return NULL;
    size_t k = 0;
    out[k++] = '"';
    for (const char *s = name; *s; s++) {
        if (*s == '"')
            out[k++] = '"';
        out[k++] = *s;
    }
    out[k++] = '"';
    out[k] = '\0';
    return out;
}

static int create_database(const walden_config *cfg, const char *name)
{
    wd_pg_conn *c = NULL;
    char *ident = quote_ident(name);
    char *sql = ident ? wd_asprintf("CREATE DATABASE %s TEMPLATE template0", ident) : NULL;
    int rc = sql ? wd_pg_connect(&c, cfg) : WALDEN_ENOMEM;
    wd_pg_result *res = NULL;
    if (!rc && (rc = wd_pg_query(c, &res, sql, 0, NULL)))
        wd_error_wrap(rc, "cannot create database '%s'", name);
    if (!rc)
        wd_log_info("created database '%s'", name);
    wd_pg_result_free(res);
    wd_pg_close(c);
    wd_free(sql);
    wd_free(ident);
    return rc;
}

static int server_version(const walden_config *cfg, int *version)
{
    wd_pg_conn *c = NULL;
    int rc = wd_pg_connect(&c, cfg);
    if (!rc)
        *version = wd_pg_server_version(c);
    wd_pg_close(c);
    return rc;
}

static int to_file(walden_repo *repo, const wd_dump_meta *m, const char *path)
{
    wd_sink *sink = NULL;
    struct stat st;
    bool to_stdout = strcmp(path, "-") == 0;
    if (!to_stdout && lstat(path, &st) == 0)
        return wd_error_set(WALDEN_EEXISTS, "'%s' exists already: walden does not overwrite it",
                            path);
    /* a file: written under a temporary name (0600), renamed into place
     * only once the dump authenticated; standard output: the dump is
     * authenticated whole first, then copied out */
    if (!to_stdout) {
        int rc = wd_file_sink_open_ex(&sink, path, 0, 0600);
        return rc ? rc : read_dump(repo, m, sink);
    }
    int rc = wd_fd_sink_open(&sink, STDOUT_FILENO);
    return rc ? rc : spool_and_feed(repo, m, sink);
}

/* argv of pg_restore or psql: program, connection, target, extras. */
typedef struct argv_buf {
    const char **v;
    int n;
    char *owned[4];
    int nowned;
    wd_pg_where where; /* the connection, which argv points into */
} argv_buf;

static int argv_own(argv_buf *a, char *s)
{
    if (!s)
        return WALDEN_ENOMEM;
    a->owned[a->nowned++] = s;
    a->v[a->n++] = s;
    return 0;
}

/* Appends PostgreSQL's `program` for a server of `version`. */
static int argv_program(argv_buf *a, const walden_config *cfg, int version, const char *program)
{
    char *s = NULL;
    int rc = wd_pg_program(cfg, version, program, &s);
    return rc ? rc : argv_own(a, s);
}

static void argv_free(argv_buf *a)
{
    for (int i = 0; i < a->nowned; i++)
        wd_free(a->owned[i]);
    wd_free(a->v);
}

/* "--dbname=dbname='NAME'" */
static char *dbname_arg(const char *name)
{
    char *q = wd_conninfo_quote(name);
    char *arg = q ? wd_asprintf("--dbname=dbname=%s", q) : NULL;
    wd_free(q);
    return arg;
}

/* The error every globals restore meets: pg_dumpall writes CREATE ROLE for
 * every role, the one psql connects as among them, and that one exists (it
 * is connected). Any other existing role or tablespace is worth a warning:
 * the ALTER that follows changes it. Malloc'ed; NULL when the connecting
 * role cannot be asked (then nothing is hidden). */
static char *expected_globals_error(const walden_config *cfg)
{
    wd_pg_conn *c = NULL;
    char *user = NULL, *out = NULL;
    if (wd_pg_connect(&c, cfg) == 0 && wd_pg_query_one(c, "SELECT current_user", &user) == 0)
        out = wd_asprintf("ERROR:  role \"%s\" already exists", user);
    else
        walden_error_clear();
    wd_pg_close(c);
    wd_free(user);
    return out;
}

static int restore_globals(walden_repo *repo, const walden_config *cfg, const wd_dump_meta *m,
                           int version)
{
    const char *target = walden_config_get(cfg, "target-dbname");
    argv_buf a = {.v = wd_calloc(16, sizeof(char *))};
    char *expected = expected_globals_error(cfg);
    int rc = a.v ? argv_program(&a, cfg, version, "psql") : WALDEN_ENOMEM;
    if (!rc) {
        a.v[a.n++] = "-X";
        a.v[a.n++] = "-q";
        rc = argv_own(&a, dbname_arg(target && *target ? target : "postgres"));
    }
    if (!rc) {
        wd_pg_where_get(cfg, &a.where);
        wd_pg_conn_args(&a.where, a.v, &a.n);
        a.v[a.n++] = "-f";
        a.v[a.n++] = "-";
        wd_sink *sink = NULL;
        int fd;
        /* authenticated whole before psql sees a byte */
        if (!(rc = spool_dump(repo, m, &fd))) {
            if (!(rc = proc_sink_open(&sink, "psql (globals)", a.v, true, expected)))
                rc = feed(fd, sink);
            close(fd);
        }
    }
    wd_free(expected);
    argv_free(&a);
    return rc;
}

static int restore_database(walden_repo *repo, const walden_config *cfg, const wd_dump_meta *m,
                            int version, const char *const *extra)
{
    const char *target = walden_config_get(cfg, "target-dbname");
    if (!target || !*target)
        return wd_error_set(WALDEN_EINVAL, "restore-dump needs --target-dbname (or --to-file)");
    int64_t jobs = walden_config_int(cfg, "jobs", 1); /* 1 to 256, checked when set */
    size_t nextra = 0;
    while (extra && extra[nextra])
        nextra++;
    int rc = 0, tmp_fd = -1;
    argv_buf a = {.v = wd_calloc(16 + nextra, sizeof(char *))};
    if (!a.v)
        return WALDEN_ENOMEM;
    if (walden_config_bool(cfg, "create") && (rc = create_database(cfg, target)))
        goto done;
    if ((rc = argv_program(&a, cfg, version, "pg_restore")) ||
        (rc = argv_own(&a, dbname_arg(target))))
        goto done;
    wd_pg_where_get(cfg, &a.where);
    wd_pg_conn_args(&a.where, a.v, &a.n);
    if (jobs > 1 && (rc = argv_own(&a, wd_asprintf("--jobs=%" PRId64, jobs))))
        goto done;
    for (size_t i = 0; i < nextra; i++)
        a.v[a.n++] = extra[i];
    char what[64];
    snprintf(what, sizeof(what), "pg_restore into '%.36s'", target);
    /* authenticated whole before pg_restore sees a byte */
    if ((rc = spool_dump(repo, m, &tmp_fd)))
        goto done;
    if (jobs <= 1) {
        wd_sink *sink = NULL;
        if (!(rc = proc_sink_open(&sink, what, a.v, false, NULL)))
            rc = feed(tmp_fd, sink);
        goto done;
    }
    wd_log_info("dump %s: %" PRIu64 " bytes in a temporary file; pg_restore with %" PRId64 " jobs",
                m->id, m->pub.size, jobs);
    /* pg_restore opens the file by name (each of its jobs again): through
     * a descriptor it inherits, as /proc/self/fd/N. walden's own /proc/PID
     * would not do: it belongs to root while walden holds a secret (not
     * dumpable, common.h). Nothing else is spawned meanwhile. */
    int child_fd = fcntl(tmp_fd, F_DUPFD, 3); /* without FD_CLOEXEC */
    if (child_fd < 0) {
        rc = wd_error_set_errno(errno, "cannot pass the temporary file to %s", what);
        goto done;
    }
    if ((rc = argv_own(&a, wd_asprintf("/proc/self/fd/%d", child_fd)))) {
        close(child_fd);
        goto done;
    }
    wd_proc child;
    rc = wd_proc_spawn(&child, what, a.v, NULL, 0);
    close(child_fd);
    if (!rc)
        rc = wd_proc_wait(&child);
done:
    if (tmp_fd >= 0)
        close(tmp_fd);
    argv_free(&a);
    return rc;
}

int walden_dump_restore(walden_repo *repo, const walden_config *cfg, const char *const *extra_args,
                        walden_dump_info **out)
{
    walden_error_clear();
    wd_dump_meta *m = wd_calloc(1, sizeof(*m));
    if (!m)
        return WALDEN_ENOMEM;
    const char *file = walden_config_get(cfg, "to-file");
    int rc = choose_dump(repo, cfg, m), version = 0;
    if (!rc && file && *file) {
        if (extra_args && extra_args[0])
            rc = wd_error_set(WALDEN_EINVAL, "pg_restore arguments make no sense with --to-file");
        else
            rc = to_file(repo, m, file);
    } else if (!rc && !(rc = server_version(cfg, &version))) {
        if (strcmp(m->kind, "globals") == 0)
            rc = extra_args && extra_args[0]
                     ? wd_error_set(WALDEN_EINVAL, "a globals dump takes no pg_restore arguments")
                     : restore_globals(repo, cfg, m, version);
        else
            rc = restore_database(repo, cfg, m, version, extra_args);
    }
    if (rc || !out) {
        walden_dump_info_free(&m->pub);
        return rc;
    }
    *out = &m->pub;
    return 0;
}
