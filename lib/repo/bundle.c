/*
 * bundle.c - bundle names, the readers' bundle cache and member sources
 * (see bundle.h).
 *
 * The cache: a fixed array of slots under one mutex. A slot holds one
 * bundle in an unlinked temporary file; readers take a reference for as
 * long as their member source is open. A bundle not in the cache is
 * fetched by the first reader that wants it, outside the lock, into a slot
 * no reader holds (an empty one, else the least recently used); readers of
 * the same bundle wait for that fetch. With slots > readers a free slot
 * always comes, so nobody waits forever.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "repo/bundle.h"

char *wd_bundle_object(const char *backup, uint64_t n, wd_compress c)
{
    return wd_asprintf("%s/%s/%" PRIu64 "%s", backup, WD_BUNDLE_DIR, n, wd_compress_ext(c));
}

typedef struct slot {
    char *object; /* NULL: empty */
    int fd;
    uint64_t size;
    int refs;
    bool loading;
    uint64_t used; /* the tick of its last use */
} slot;

struct wd_bundle_cache {
    wd_storage *st;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot *slots;
    size_t n;
    uint64_t tick, fetched;
};

int wd_repo_bundles_begin(walden_repo *repo, int workers)
{
    wd_bundle_cache *c = wd_calloc(1, sizeof(*c));
    size_t n = (size_t)(workers > 0 ? workers : 1) + 2;
    if (c)
        c->slots = wd_calloc(n, sizeof(slot));
    if (!c || !c->slots) {
        wd_free(c);
        return WALDEN_ENOMEM;
    }
    c->n = n;
    c->st = repo->storage;
    for (size_t i = 0; i < n; i++)
        c->slots[i].fd = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    repo->bundles = c;
    return 0;
}

void wd_repo_bundles_end(walden_repo *repo)
{
    wd_bundle_cache *c = repo->bundles;
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        assert(c->slots[i].refs == 0);
        if (c->slots[i].fd >= 0)
            close(c->slots[i].fd);
        wd_free(c->slots[i].object);
    }
    if (c->fetched)
        wd_log_debug("%" PRIu64 " bundles fetched", c->fetched);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    wd_free(c->slots);
    wd_free(c);
    repo->bundles = NULL;
}

uint64_t wd_repo_bundles_fetched(const walden_repo *repo)
{
    return repo->bundles ? repo->bundles->fetched : 0;
}

/* A private temporary file, already unlinked. */
static int temp_file(int *out)
{
    const char *dir = getenv("TMPDIR");
    char *path = wd_asprintf("%s/walden-bundle-XXXXXX", dir && *dir ? dir : "/tmp");
    if (!path)
        return WALDEN_ENOMEM;
    int fd = mkstemp(path);
    int rc = fd < 0 ? wd_error_set_errno(errno, "cannot create a temporary file '%s'", path) : 0;
    if (fd >= 0)
        unlink(path);
    wd_free(path);
    *out = fd;
    return rc;
}

/* The whole bundle into `fd`; *size its length. */
static int fetch(wd_storage *st, const char *object, int fd, uint64_t *size)
{
    wd_source *src = NULL;
    int rc = wd_storage_open_read(st, object, &src);
    if (rc)
        return rc;
    uint8_t *buf = wd_malloc(256 * 1024);
    *size = 0;
    if (!buf)
        rc = WALDEN_ENOMEM;
    while (!rc) {
        size_t n = 0;
        if ((rc = wd_source_read(src, buf, 256 * 1024, &n)) || n == 0)
            break;
        if (*size + n > WD_BUNDLE_MAX) {
            rc = wd_error_set(WALDEN_ECORRUPT, "bundle '%s' is larger than %" PRIu64 " bytes",
                              object, (uint64_t)WD_BUNDLE_MAX);
            break;
        }
        for (size_t done = 0; done < n && !rc;) {
            ssize_t k = pwrite(fd, buf + done, n - done, (off_t)(*size + done));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                rc = wd_error_set_errno(k < 0 ? errno : EIO,
                                        "cannot write the temporary copy of '%s'", object);
            else
                done += (size_t)k;
        }
        *size += n;
    }
    wd_free(buf);
    wd_source_close(src);
    return rc;
}

/* A slot holding `object`, referenced (fetched first when needed). */
static int acquire(wd_bundle_cache *c, const char *object, slot **out)
{
    pthread_mutex_lock(&c->mu);
    for (;;) {
        slot *hit = NULL, *free_slot = NULL;
        bool loading = false;
        for (size_t i = 0; i < c->n; i++) {
            slot *s = &c->slots[i];
            if (s->object && strcmp(s->object, object) == 0) {
                hit = s;
                loading = s->loading;
                break;
            }
            if (s->refs == 0 && !s->loading &&
                (!free_slot || (free_slot->object && (!s->object || s->used < free_slot->used))))
                free_slot = s;
        }
        if (hit && !loading) {
            hit->refs++;
            hit->used = ++c->tick;
            pthread_mutex_unlock(&c->mu);
            *out = hit;
            return 0;
        }
        if (hit || !free_slot) { /* being fetched, or every slot in use */
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        slot *s = free_slot;
        if (s->fd >= 0)
            close(s->fd);
        wd_free(s->object);
        s->fd = -1;
        s->size = 0;
        s->object = wd_strdup(object);
        if (!s->object) {
            pthread_mutex_unlock(&c->mu);
            return WALDEN_ENOMEM;
        }
        s->loading = true;
        s->refs = 1;
        c->fetched++;
        pthread_mutex_unlock(&c->mu);
        int fd = -1;
        uint64_t size = 0;
        int rc = temp_file(&fd);
        if (!rc)
            rc = fetch(c->st, object, fd, &size);
        pthread_mutex_lock(&c->mu);
        s->loading = false;
        if (rc) { /* the slot is empty again; a waiter fetches it itself */
            if (fd >= 0)
                close(fd);
            wd_free(s->object);
            s->object = NULL;
            s->refs = 0;
        } else {
            s->fd = fd;
            s->size = size;
            s->used = ++c->tick;
        }
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        if (!rc)
            *out = s;
        return rc;
    }
}

static void release(wd_bundle_cache *c, slot *s)
{
    pthread_mutex_lock(&c->mu);
    s->refs--;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

typedef struct member_source {
    wd_source base;
    wd_bundle_cache *c;
    slot *s;
    uint64_t pos, end;
} member_source;

static int member_read(wd_source *src, uint8_t *buf, size_t cap, size_t *n)
{
    member_source *m = (member_source *)src;
    *n = 0;
    if (m->pos >= m->end)
        return 0;
    size_t want = m->end - m->pos < cap ? (size_t)(m->end - m->pos) : cap;
    for (;;) {
        ssize_t k = pread(m->s->fd, buf, want, (off_t)m->pos);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return wd_error_set_errno(k < 0 ? errno : EIO, "cannot read the temporary copy of '%s'",
                                      m->s->object);
        m->pos += (uint64_t)k;
        *n = (size_t)k;
        return 0;
    }
}

static void member_close(wd_source *src)
{
    member_source *m = (member_source *)src;
    release(m->c, m->s);
    wd_free(m);
}

int wd_bundle_member_open(walden_repo *repo, const char *object, uint64_t offset, uint64_t len,
                          wd_source **out)
{
    wd_bundle_cache *c = repo->bundles;
    if (offset > WD_BUNDLE_MAX || len > WD_BUNDLE_MAX - offset)
        return wd_error_set(WALDEN_ECORRUPT,
                            "a member of bundle '%s' lies beyond %" PRIu64 " bytes", object,
                            (uint64_t)WD_BUNDLE_MAX);
    if (!c)
        return wd_storage_open_read_range(repo->storage, object, offset, len, out);
    slot *s = NULL;
    int rc = acquire(c, object, &s);
    if (rc)
        return rc;
    if (offset + len > s->size) {
        release(c, s);
        return wd_error_set(WALDEN_ECORRUPT,
                            "bundle '%s' has %" PRIu64 " bytes, a member ends at %" PRIu64, object,
                            s->size, offset + len);
    }
    member_source *m = wd_calloc(1, sizeof(*m));
    if (!m) {
        release(c, s);
        return WALDEN_ENOMEM;
    }
    m->base.read = member_read;
    m->base.close = member_close;
    m->c = c;
    m->s = s;
    m->pos = offset;
    m->end = offset + len;
    *out = &m->base;
    return 0;
}
