/*
 * objstore.c - the storage contract on top of an object store's requests
 * (wd_objstore_ops, see objstore.h), shared by the s3 and azure drivers.
 *
 * Writing: a sink buffers what is written, growing its buffer up to the
 * first part size. An object that fits is sent in one PUT at commit, so it
 * becomes visible whole, only then, and directly under its final name, also
 * with commit_as (archive-push). A larger one is sent as a multipart upload
 * (S3) or a block list (Azure): each full buffer is one part, handed to a
 * thread of its own that uploads it (its own curl handle, from the HTTP
 * layer's pool) while the sink fills the next buffer. Parts grow as the
 * stream goes on (wd_objstore_part_size) and fewer of them are on their
 * way at once as they grow (wd_objstore_parts_in_flight), so a sink holds
 * at most that many part buffers plus the one it fills (recycled; smaller
 * ones freed once parts outgrow them). A stream longer than the store's
 * parts or its largest object can hold fails as soon as it is, and its
 * upload is aborted.
 * commit waits for every part and completes the upload, which makes the
 * object visible whole. abort (or a failure of any part) waits for the
 * parts on their way, then aborts the multipart upload: nothing appears.
 * commit_as after a multipart upload costs a server-side copy and a
 * delete, because a multipart upload's key is fixed when it starts (see
 * docs/internals/object-storage.md).
 *
 * Reading a whole object: one streaming GET run by a thread into a ring
 * buffer (at most WD_OBJSTORE_STREAM_BUF); a transfer cut short resumes
 * with a Range from the byte reached and If-Match, so an object replaced
 * while being read is an error, not a mix of two versions. Range reads
 * (open_read_range) fetch ranges of WD_OBJSTORE_READ_CHUNK bytes, each one
 * request with its own retries, with the same ETag check.
 *
 * Paths were checked by the storage front (storage.c), the same for every
 * driver. Object stores have no directories: a "directory" is a common
 * prefix in a listing.
 */
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "storage/objstore.h"

/* The full key of a path (checked by the storage front); NULL when out of
 * memory, with the error set. */
static char *key_of(wd_objstore *os, const char *path)
{
    char *k = *os->prefix ? wd_path_join(os->prefix, path) : wd_strdup(path);
    if (!k)
        wd_error_set(WALDEN_ENOMEM, "out of memory");
    return k;
}

/* ---- reading ---- */

typedef struct obj_source {
    wd_source base;
    wd_objstore *os;
    char *key;
    uint8_t *buf;
    size_t len, pos;
    uint64_t next;  /* offset of the next fetch */
    uint64_t total; /* the object's size */
    uint64_t end;   /* where the range read ends (UINT64_MAX: the object's end) */
    char etag[128];
} obj_source;

/* The end of what the source delivers: the object's or the range's. */
static uint64_t src_limit(const obj_source *s)
{
    return s->end < s->total ? s->end : s->total;
}

static int fetch(obj_source *s)
{
    uint64_t left = src_limit(s) - s->next;
    size_t cap = left < WD_OBJSTORE_READ_CHUNK ? (size_t)left : WD_OBJSTORE_READ_CHUNK;
    uint64_t total = 0;
    size_t n = 0;
    int rc = s->os->ops->get(s->os, s->key, s->next, s->buf, cap, &n, &total, s->etag);
    if (rc)
        return rc;
    if (total != s->total || (n == 0 && cap > 0))
        return wd_error_set(WALDEN_EIO, "'%s' changed while being read", s->key);
    s->len = n;
    s->pos = 0;
    s->next += n;
    return 0;
}

static int src_read(wd_source *src, uint8_t *buf, size_t cap, size_t *n)
{
    obj_source *s = (obj_source *)src;
    *n = 0;
    if (s->pos == s->len) {
        if (s->next >= src_limit(s))
            return 0;
        int rc = fetch(s);
        if (rc)
            return rc;
    }
    size_t k = s->len - s->pos < cap ? s->len - s->pos : cap;
    memcpy(buf, s->buf + s->pos, k);
    s->pos += k;
    *n = k;
    return 0;
}

static void src_close(wd_source *src)
{
    obj_source *s = (obj_source *)src;
    wd_free(s->buf);
    wd_free(s->key);
    wd_free(s);
}

/* A source of [offset, offset + len) (len WD_RANGE_TO_END: to the end). */
static int open_source(wd_objstore *os, const char *path, uint64_t offset, uint64_t len,
                       wd_source **out)
{
    obj_source *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    s->base.read = src_read;
    s->base.close = src_close;
    s->os = os;
    s->end = len > UINT64_MAX - offset ? UINT64_MAX : offset + len;
    size_t cap = len < WD_OBJSTORE_READ_CHUNK ? (size_t)len : WD_OBJSTORE_READ_CHUNK;
    int rc = 0;
    if (!(s->key = key_of(os, path))) {
        rc = WALDEN_ENOMEM;
    } else if (cap == 0 || offset > (uint64_t)INT64_MAX) {
        /* nothing to read (no object is that large): it must exist all the same */
        bool exists = false;
        if (!(rc = os->ops->head(os, s->key, &exists)) && !exists)
            rc = wd_error_set(WALDEN_ENOTFOUND, "'%s' does not exist", path);
        s->end = s->next = offset;
    } else if (!(s->buf = wd_malloc(cap))) {
        rc = WALDEN_ENOMEM;
    } else {
        rc = os->ops->get(os, s->key, offset, s->buf, cap, &s->len, &s->total, s->etag);
        s->next = offset + s->len;
    }
    if (rc) {
        src_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* ---- reading a whole object: one streaming GET ---- */

/* A thread (the producer) runs the GET and puts the body into a ring
 * buffer as it arrives; read() (the consumer) takes it from there. When a
 * transfer breaks after bytes were delivered, the producer resumes with a
 * Range from the byte reached and If-Match with the first answer's ETag,
 * so an object replaced meanwhile is an error, never a mix of two
 * versions. */

#define STREAM_BUF_MIN (64u * 1024)
/* A waiting reader is woken once this much arrived (or half the buffer, or
 * the end): waking it for every piece curl hands over costs a context
 * switch per 16-64 KiB, which showed in 1 GiB downloads. */
#define STREAM_WAKE (256u * 1024)
/* transfers broken after some bytes, each resumed: more is an error */
#define STREAM_MAX_RESUMES 64

typedef struct obj_stream {
    wd_source base;
    wd_objstore *os;
    char *key;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* any change: data, space, ready, done, cancel */
    uint8_t *ring;
    size_t cap, head, fill; /* fill bytes from head, wrapping at cap */
    bool ready;             /* the first answer arrived (or the producer ended) */
    bool done;              /* the producer ended: error or end of object */
    bool reader_waiting, writer_waiting;
    int error;
    char message[1024];
    int cancel;
    /* the producer's own */
    uint64_t next;       /* offset of the next byte to arrive */
    uint64_t req_offset; /* where the current request started */
    char etag[128];
} obj_stream;

static int stream_data(void *ctx, long status, const uint8_t *data, size_t len)
{
    obj_stream *s = ctx;
    if (status != 200 && status != 206)
        return wd_error_set(WALDEN_EIO, "'%s': unexpected HTTP %ld", s->key, status);
    if (status == 200 && s->req_offset > 0)
        return wd_error_set(WALDEN_EIO, "'%s': the server ignored the range of a resumed read",
                            s->key);
    pthread_mutex_lock(&s->mu);
    if (!s->ready) {
        s->ready = true;
        pthread_cond_broadcast(&s->cond);
    }
    while (len) {
        while (s->fill == s->cap && !s->cancel) {
            if (s->cap < WD_OBJSTORE_STREAM_BUF) {
                /* the reader lags: a larger buffer, its bytes in order */
                size_t cap = s->cap ? s->cap * 2 : STREAM_BUF_MIN;
                uint8_t *nr = wd_malloc(cap);
                if (!nr) {
                    pthread_mutex_unlock(&s->mu);
                    return WALDEN_ENOMEM;
                }
                size_t first = s->cap - s->head < s->fill ? s->cap - s->head : s->fill;
                if (s->fill) {
                    memcpy(nr, s->ring + s->head, first);
                    memcpy(nr + first, s->ring, s->fill - first);
                }
                wd_free(s->ring);
                s->ring = nr;
                s->cap = cap;
                s->head = 0;
            } else {
                s->writer_waiting = true;
                pthread_cond_wait(&s->cond, &s->mu);
                s->writer_waiting = false;
            }
        }
        if (s->cancel) {
            pthread_mutex_unlock(&s->mu);
            return wd_error_set(WALDEN_ERROR, "'%s': the read was closed", s->key);
        }
        size_t tail = (s->head + s->fill) % s->cap;
        size_t room = s->cap - s->fill;
        size_t k = s->cap - tail < room ? s->cap - tail : room;
        if (k > len)
            k = len;
        memcpy(s->ring + tail, data, k);
        s->fill += k;
        s->next += k;
        data += k;
        len -= k;
        if (s->reader_waiting && (s->fill >= STREAM_WAKE || s->fill >= s->cap / 2))
            pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void *stream_main(void *arg)
{
    obj_stream *s = arg;
    wd_objstore *os = s->os;
    uint64_t total = 0;
    int rc = 0;
    for (int resumes = 0;; resumes++) {
        s->req_offset = s->next;
        wd_objstore_stream st = {.on_data = stream_data, .ctx = s, .cancel = &s->cancel};
        if ((rc = os->ops->get_stream(os, s->key, s->next, UINT64_MAX, &st, s->etag)))
            break;
        if (resumes == 0 || total == UINT64_MAX)
            total = st.total; /* UINT64_MAX: a 200 without Content-Length, cut */
        else if (st.total != total) {
            rc = wd_error_set(WALDEN_EIO, "'%s' changed while being read", s->key);
            break;
        }
        if (s->next >= total)
            break; /* all of it */
        if (st.got == 0) {
            rc = wd_error_set(WALDEN_EIO, "'%s': the answer ended at byte %llu of %llu", s->key,
                              (unsigned long long)s->next, (unsigned long long)total);
            break;
        }
        if (resumes == STREAM_MAX_RESUMES) {
            rc =
                wd_error_set(WALDEN_ENET, "'%s': the transfer broke %d times", s->key, resumes + 1);
            break;
        }
        /* cut short (a dropped connection, a truncated answer): go on from
         * the byte reached */
        wd_log_debug("'%s': transfer cut at byte %llu of %llu, resuming", s->key,
                     (unsigned long long)s->next, (unsigned long long)total);
    }
    pthread_mutex_lock(&s->mu);
    if (rc) {
        s->error = rc;
        snprintf(s->message, sizeof(s->message), "%s", walden_error_last()->message);
    }
    s->done = s->ready = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int stream_read(wd_source *src, uint8_t *buf, size_t cap, size_t *n)
{
    obj_stream *s = (obj_stream *)src;
    *n = 0;
    pthread_mutex_lock(&s->mu);
    while (s->fill == 0 && !s->done) {
        s->reader_waiting = true;
        pthread_cond_wait(&s->cond, &s->mu);
        s->reader_waiting = false;
    }
    int rc = 0;
    if (s->fill == 0) {
        if (s->error)
            rc = wd_error_set(s->error, "%s", s->message);
    } else {
        size_t k = s->cap - s->head < s->fill ? s->cap - s->head : s->fill;
        if (k > cap)
            k = cap;
        memcpy(buf, s->ring + s->head, k);
        s->head = (s->head + k) % s->cap;
        s->fill -= k;
        *n = k;
        if (s->writer_waiting && s->fill <= s->cap / 2)
            pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void stream_close(wd_source *src)
{
    obj_stream *s = (obj_stream *)src;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        __atomic_store_n(&s->cancel, 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    wd_free(s->ring);
    wd_free(s->key);
    wd_free(s);
}

static int os_open_read(wd_storage *st, const char *path, wd_source **out)
{
    wd_objstore *os = (wd_objstore *)st;
    if (!os->ops->get_stream)
        return open_source(os, path, 0, WD_RANGE_TO_END, out);
    obj_stream *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    s->base.read = stream_read;
    s->base.close = stream_close;
    s->os = os;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    int rc = 0;
    if (!(s->key = key_of(os, path)))
        rc = WALDEN_ENOMEM;
    else if (pthread_create(&s->thread, NULL, stream_main, s) != 0)
        rc = wd_error_set(WALDEN_ERROR, "cannot start a thread to read '%s'", path);
    else
        s->started = true;
    if (!rc) {
        /* the first answer tells whether the object exists */
        pthread_mutex_lock(&s->mu);
        while (!s->ready)
            pthread_cond_wait(&s->cond, &s->mu);
        if (s->done && s->error && s->fill == 0)
            rc = wd_error_set(s->error, "%s", s->message);
        pthread_mutex_unlock(&s->mu);
    }
    if (rc) {
        stream_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

static int os_open_read_range(wd_storage *st, const char *path, uint64_t offset, uint64_t len,
                              wd_source **out)
{
    return open_source((wd_objstore *)st, path, offset, len, out);
}

/* ---- writing ---- */

/* A part buffer and its size. */
typedef struct part_buf {
    uint8_t *p;
    size_t cap;
} part_buf;

/* A part on its way: uploaded by a thread of its own. */
typedef struct part_job {
    struct obj_sink *sink;
    pthread_t thread;
    int number;
    part_buf buf;
    size_t len;
    bool busy;     /* a thread was started and is not joined yet */
    bool finished; /* its thread is done (to join) */
} part_job;

typedef struct obj_sink {
    wd_sink base;
    wd_objstore *os;
    char *key;
    uint8_t *buf; /* the part being filled */
    size_t len, cap;
    bool mp; /* a multipart upload is under way */
    char *upload;
    char **etags;   /* one per part (max_parts slots once multipart) */
    int nparts;     /* parts handed to threads */
    size_t part;    /* the size of the part being filled */
    uint64_t total; /* bytes written */
    int error;      /* the first error latches */
    /* parts in flight; guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    part_job jobs[WD_OBJSTORE_PARTS_IN_FLIGHT];
    part_buf spare[WD_OBJSTORE_PARTS_IN_FLIGHT + 1]; /* part buffers to reuse */
    int nspare;
    int part_error;
    char part_message[1024];
} obj_sink;

static void *part_main(void *arg)
{
    part_job *j = arg;
    obj_sink *s = j->sink;
    char *etag = NULL;
    int rc = s->os->ops->mp_part(s->os, s->key, s->upload, j->number, j->buf.p, j->len, &etag);
    pthread_mutex_lock(&s->mu);
    if (rc && !s->part_error) {
        s->part_error = rc;
        snprintf(s->part_message, sizeof(s->part_message), "%s", walden_error_last()->message);
    }
    if (!rc)
        s->etags[j->number - 1] = etag;
    s->spare[s->nspare++] = j->buf;
    j->buf = (part_buf){0};
    j->finished = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Joins the finished part threads; mu held. Returns how many still run. */
static int reap_parts(obj_sink *s)
{
    int running = 0;
    for (int i = 0; i < WD_OBJSTORE_PARTS_IN_FLIGHT; i++) {
        part_job *j = &s->jobs[i];
        if (j->busy && j->finished) {
            pthread_join(j->thread, NULL);
            j->busy = j->finished = false;
        }
        running += j->busy;
    }
    return running;
}

/* Waits until no part is in flight; the first part's error, or 0. */
static int wait_parts(obj_sink *s)
{
    pthread_mutex_lock(&s->mu);
    while (reap_parts(s))
        pthread_cond_wait(&s->cond, &s->mu);
    int rc = s->part_error ? wd_error_set(s->part_error, "%s", s->part_message) : 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void sink_free(obj_sink *s)
{
    (void)wait_parts(s);
    for (int i = 0; i < s->nparts; i++)
        wd_free(s->etags[i]);
    wd_free(s->etags);
    for (int i = 0; i < s->nspare; i++)
        wd_free(s->spare[i].p);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    wd_free(s->upload);
    wd_free(s->buf);
    wd_free(s->key);
    wd_free(s);
}

/* A buffer of at least `size` bytes for the next part: a spare one when
 * one is large enough; spares smaller than `size` are freed (parts only
 * grow). Sets s->buf (NULL: none yet) and s->cap; mu held. */
static void take_buffer(obj_sink *s, size_t size)
{
    s->buf = NULL;
    s->cap = 0;
    int kept = 0;
    for (int i = 0; i < s->nspare; i++) {
        part_buf b = s->spare[i];
        if (b.cap < size)
            wd_free(b.p);
        else if (!s->buf) {
            s->buf = b.p;
            s->cap = b.cap;
        } else
            s->spare[kept++] = b;
    }
    s->nspare = kept;
}

/* The error of a stream longer than the store can take. */
static int too_large(obj_sink *s)
{
    wd_objstore *os = s->os;
    if (os->max_object && s->total > os->max_object)
        return wd_error_set(WALDEN_EINVAL,
                            "'%s' is too large for the store: more than its largest object "
                            "(%" PRIu64 " GiB)",
                            s->key, os->max_object >> 30);
    return wd_error_set(WALDEN_EINVAL,
                        "'%s' is too large for the store: more than %d parts, the last ones "
                        "of %zu MiB",
                        s->key, os->max_parts, wd_objstore_part_size(os, os->max_parts - 1) >> 20);
}

/* Hands the buffer to a thread as the next part, once fewer parts than
 * wd_objstore_parts_in_flight allows are on their way, and takes a free
 * buffer. */
static int flush_part(obj_sink *s)
{
    int rc;
    wd_objstore *os = s->os;
    if (!s->mp) {
        if (!(s->etags = wd_calloc((size_t)os->max_parts, sizeof(*s->etags))))
            return WALDEN_ENOMEM;
        if ((rc = os->ops->mp_begin(os, s->key, &s->upload)))
            return rc;
        s->mp = true;
    }
    if (s->nparts >= os->max_parts)
        return too_large(s);
    int limit = wd_objstore_parts_in_flight(os, s->part);
    pthread_mutex_lock(&s->mu);
    part_job *j = NULL;
    while (!s->part_error) {
        if (reap_parts(s) < limit)
            for (int i = 0; !j && i < WD_OBJSTORE_PARTS_IN_FLIGHT; i++)
                if (!s->jobs[i].busy)
                    j = &s->jobs[i];
        if (j)
            break;
        pthread_cond_wait(&s->cond, &s->mu);
    }
    if (s->part_error) {
        rc = wd_error_set(s->part_error, "%s", s->part_message);
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    *j = (part_job){
        .sink = s, .number = s->nparts + 1, .buf = {s->buf, s->cap}, .len = s->len, .busy = true};
    /* after the last part there is no next one: no buffer either */
    size_t next = s->nparts + 1 < os->max_parts ? wd_objstore_part_size(os, s->nparts + 1) : 0;
    if (next)
        take_buffer(s, next);
    else
        s->buf = NULL, s->cap = 0;
    pthread_mutex_unlock(&s->mu);
    if (pthread_create(&j->thread, NULL, part_main, j) != 0) {
        pthread_mutex_lock(&s->mu);
        j->busy = false;
        s->spare[s->nspare++] = j->buf;
        j->buf = (part_buf){0};
        pthread_mutex_unlock(&s->mu);
        return wd_error_set(WALDEN_ERROR, "cannot start a thread to upload '%s'", s->key);
    }
    s->nparts++;
    s->len = 0;
    s->part = next;
    return 0;
}

static int sink_write(wd_sink *sink, const uint8_t *data, size_t len)
{
    obj_sink *s = (obj_sink *)sink;
    if (s->error)
        return s->error;
    while (len) {
        if (s->len == s->part) {
            /* a full part and more to come: send it */
            if ((s->error = flush_part(s)))
                return s->error;
            if (s->nparts >= s->os->max_parts) /* more to come, no part left */
                return s->error = too_large(s);
        }
        if (s->len == s->cap) {
            /* the first buffer grows by doubling (small objects use little
             * memory); after a part went out, a new one is full size */
            size_t cap = s->cap ? s->cap * 2 : s->mp ? s->part : 64 * 1024;
            if (cap > s->part)
                cap = s->part;
            uint8_t *nb = wd_realloc(s->buf, cap);
            if (!nb)
                return s->error = WALDEN_ENOMEM;
            s->buf = nb;
            s->cap = cap;
        }
        size_t room = (s->cap < s->part ? s->cap : s->part) - s->len;
        size_t k = room < len ? room : len;
        memcpy(s->buf + s->len, data, k);
        s->len += k;
        s->total += k;
        if (s->os->max_object && s->total > s->os->max_object)
            return s->error = too_large(s);
        data += k;
        len -= k;
    }
    return 0;
}

static void sink_abort(wd_sink *sink)
{
    obj_sink *s = (obj_sink *)sink;
    (void)wait_parts(s); /* no part may land after the abort */
    if (s->mp)
        s->os->ops->mp_abort(s->os, s->key, s->upload);
    sink_free(s);
}

static int commit_to(obj_sink *s, const char *final)
{
    int rc = s->error;
    if (rc) {
        sink_abort(&s->base);
        return rc;
    }
    wd_objstore *os = s->os;
    if (!s->mp) {
        rc = os->ops->put(os, final, s->buf ? s->buf : (const uint8_t *)"", s->len);
        sink_free(s);
        return rc;
    }
    if ((rc = flush_part(s)) || (rc = wait_parts(s)) ||
        (rc = os->ops->mp_complete(os, s->key, s->upload, s->etags, s->nparts))) {
        sink_abort(&s->base);
        return rc;
    }
    if (strcmp(final, s->key) != 0) {
        /* the upload's key was fixed when it began: move the object */
        rc = os->ops->copy(os, s->key, final);
        int rc2 = os->ops->del(os, s->key);
        if (!rc)
            rc = rc2;
    }
    sink_free(s);
    return rc;
}

static int sink_commit(wd_sink *sink)
{
    obj_sink *s = (obj_sink *)sink;
    char *final = wd_strdup(s->key);
    if (!final) {
        sink_abort(sink);
        return WALDEN_ENOMEM;
    }
    int rc = commit_to(s, final);
    wd_free(final);
    return rc;
}

static int sink_commit_as(wd_sink *sink, const char *name)
{
    obj_sink *s = (obj_sink *)sink;
    if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        int rc = wd_error_set(WALDEN_EINVAL, "invalid file name '%s'", name);
        sink_abort(sink);
        return rc;
    }
    const char *slash = strrchr(s->key, '/');
    char *final = wd_asprintf("%.*s%s", slash ? (int)(slash - s->key + 1) : 0, s->key, name);
    if (!final) {
        sink_abort(sink);
        return WALDEN_ENOMEM;
    }
    int rc = commit_to(s, final);
    wd_free(final);
    return rc;
}

static int os_open_write(wd_storage *st, const char *path, unsigned flags, wd_sink **out)
{
    (void)flags; /* every commit is durable: WD_WRITE_DEFER_SYNC changes nothing */
    wd_objstore *os = (wd_objstore *)st;
    obj_sink *s = wd_calloc(1, sizeof(*s));
    if (!s)
        return WALDEN_ENOMEM;
    s->os = os;
    s->part = wd_objstore_part_size(os, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (!(s->key = key_of(os, path))) {
        int rc = WALDEN_ENOMEM;
        sink_free(s);
        return rc;
    }
    s->base.write = sink_write;
    s->base.commit = sink_commit;
    s->base.abort = sink_abort;
    s->base.commit_as = sink_commit_as;
    *out = &s->base;
    return 0;
}

/* ---- the rest of the table ---- */

typedef struct list_ctx {
    size_t skip; /* length of the listed prefix */
    wd_storage_list_cb cb;
    void *ctx;
} list_ctx;

static int list_entry(const char *key, bool is_prefix, uint64_t size, int64_t mtime_ms, void *ctx)
{
    list_ctx *lc = ctx;
    if (strlen(key) <= lc->skip)
        return 0; /* the prefix itself (a "folder marker" object) */
    char *name = wd_strdup(key + lc->skip);
    if (!name)
        return WALDEN_ENOMEM;
    size_t n = strlen(name);
    if (is_prefix && n && name[n - 1] == '/')
        name[--n] = '\0';
    int rc = 0;
    if (n && !strchr(name, '/')) {
        wd_storage_entry e = {name, is_prefix, is_prefix ? 0 : size, is_prefix ? 0 : mtime_ms};
        rc = lc->cb(&e, lc->ctx);
    }
    wd_free(name);
    return rc;
}

static int os_list(wd_storage *st, const char *dir, wd_storage_list_cb cb, void *ctx)
{
    wd_objstore *os = (wd_objstore *)st;
    char *prefix;
    if (*dir) {
        char *k = key_of(os, dir);
        if (!k)
            return WALDEN_ENOMEM;
        prefix = wd_asprintf("%s/", k);
        wd_free(k);
    } else {
        prefix = *os->prefix ? wd_asprintf("%s/", os->prefix) : wd_strdup("");
    }
    if (!prefix)
        return WALDEN_ENOMEM;
    list_ctx lc = {strlen(prefix), cb, ctx};
    int rc = os->ops->list(os, prefix, list_entry, &lc);
    wd_free(prefix);
    return rc;
}

static int os_remove(wd_storage *st, const char *path)
{
    wd_objstore *os = (wd_objstore *)st;
    char *k = key_of(os, path);
    if (!k)
        return WALDEN_ENOMEM;
    int rc = os->ops->del(os, k);
    wd_free(k);
    return rc;
}

/* Batches of at most WD_OBJSTORE_DELETE_BATCH keys, one request each. */
static int os_remove_many(wd_storage *st, const char *const *paths, size_t n)
{
    wd_objstore *os = (wd_objstore *)st;
    char **keys =
        wd_calloc(n < WD_OBJSTORE_DELETE_BATCH ? n : WD_OBJSTORE_DELETE_BATCH, sizeof(*keys));
    if (!keys)
        return WALDEN_ENOMEM;
    int rc = 0;
    for (size_t done = 0; !rc && done < n;) {
        size_t k = n - done < WD_OBJSTORE_DELETE_BATCH ? n - done : WD_OBJSTORE_DELETE_BATCH;
        size_t made = 0;
        for (; made < k; made++) {
            if (!(keys[made] = key_of(os, paths[done + made]))) {
                rc = WALDEN_ENOMEM;
                break;
            }
        }
        if (!rc)
            rc = os->ops->del_many(os, (const char *const *)keys, k);
        for (size_t i = 0; i < made; i++) {
            wd_free(keys[i]);
            keys[i] = NULL;
        }
        done += k;
    }
    wd_free(keys);
    return rc;
}

static int os_exists(wd_storage *st, const char *path, bool *exists)
{
    wd_objstore *os = (wd_objstore *)st;
    char *k = key_of(os, path);
    if (!k)
        return WALDEN_ENOMEM;
    int rc = os->ops->head(os, k, exists);
    wd_free(k);
    return rc;
}

static int os_sync(wd_storage *st)
{
    (void)st; /* every commit was durable already */
    return 0;
}

static void os_free(wd_storage *st)
{
    wd_objstore *os = (wd_objstore *)st;
    os->ops->free(os);
}

void wd_objstore_init(wd_objstore *os)
{
    static const wd_storage_driver drivers[2] = {
        {.name = "s3",
         .open_read = os_open_read,
         .open_write = os_open_write,
         .list = os_list,
         .remove = os_remove,
         .exists = os_exists,
         .sync = os_sync,
         .free = os_free,
         .remove_many = os_remove_many,
         .open_read_range = os_open_read_range},
        {.name = "azure",
         .open_read = os_open_read,
         .open_write = os_open_write,
         .list = os_list,
         .remove = os_remove,
         .exists = os_exists,
         .sync = os_sync,
         .free = os_free,
         .remove_many = os_remove_many, /* Blob Batch (SharedKey), else one by one */
         .open_read_range = os_open_read_range},
    };
    os->base.driver = wd_str_starts_with(os->base.location, "azure:") ? &drivers[1] : &drivers[0];
    assert(os->base.driver->remove_many == NULL || os->ops->del_many != NULL);
    if (!os->part_size)
        os->part_size = WD_OBJSTORE_PART_SIZE;
    assert(os->max_parts > 0 && os->max_part_size >= os->part_size);
}

size_t wd_objstore_part_size(const wd_objstore *os, int index)
{
    int step = os->max_parts >= 10 ? os->max_parts / 10 : 1;
    size_t size = os->part_size;
    for (int tier = index / step; tier > 0 && size < os->max_part_size; tier--)
        size = size > os->max_part_size / 2 ? os->max_part_size : size * 2;
    return size;
}

int wd_objstore_parts_in_flight(const wd_objstore *os, size_t size)
{
    size_t n = (size_t)WD_OBJSTORE_PARTS_IN_FLIGHT * os->part_size / size;
    return n ? (int)n : 1;
}

void wd_objstore_free_base(wd_objstore *os)
{
    wd_http_free(os->http);
    wd_free(os->prefix);
    wd_free(os->base.location);
}
