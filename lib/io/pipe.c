/*
 * pipe.c - the pipeline runner (see stream.h and docs/internals/pipeline.md).
 *
 * Data is pushed stage by stage: what a transform filter produces into its
 * own fixed WD_PIPE_BUFFER is pushed into the next stage at once, before the
 * filter is asked for more, so each buffer is reused as soon as it has been
 * passed on and memory does not depend on the size of the stream. Observe
 * filters see the bytes where they stand, uncopied. Buffers are allocated
 * by wd_pipe_add, never while data flows.
 *
 * finish() flushes stage 0 to WD_FILTER_DONE (its output pushed onward as
 * usual), then stage 1, and so on: a stage is finished only when no more
 * input can reach it. Then end() runs on every filter in data order, then
 * the sink is committed.
 *
 * Invariants:
 * - the first error latches in p->err; every later call returns it;
 * - the sink is committed once or aborted once, never both: p->sink is
 *   cleared before either call. It is aborted as soon as an error latches,
 *   so a temporary file or upload does not outlive the failure;
 * - a filter that makes no progress is an error, never an endless loop.
 */
#include <assert.h>
#include <string.h>

#include "common/common.h"
#include "io/stream.h"

typedef struct stage {
    wd_filter *f;
    uint8_t *buf; /* WD_PIPE_BUFFER bytes, transform filters only */
} stage;

struct wd_pipe {
    wd_sink *sink; /* NULL once committed or aborted */
    stage *stages;
    size_t n, cap;
    int err;       /* the first error, latched */
    bool finished; /* finish() was called */
};

void wd_filter_free(wd_filter *f)
{
    if (f)
        f->ops->free(f);
}

static void abort_sink(wd_pipe *p)
{
    wd_sink *sink = p->sink;
    p->sink = NULL;
    if (sink)
        sink->abort(sink);
}

/* Latches rc (a negative code) unless an error latched before, and aborts
 * the sink. Returns the latched error. */
static int fail(wd_pipe *p, int rc)
{
    if (!p->err)
        p->err = rc;
    abort_sink(p);
    return p->err;
}

int wd_pipe_new(wd_pipe **out, wd_sink *sink)
{
    *out = NULL;
    wd_pipe *p = wd_calloc(1, sizeof(*p));
    if (!p) {
        sink->abort(sink);
        return WALDEN_ENOMEM;
    }
    p->sink = sink;
    *out = p;
    return 0;
}

int wd_pipe_add(wd_pipe *p, wd_filter *f)
{
    assert(f && f->ops && (f->ops->process || f->ops->observe));
    if (p->err || p->finished) {
        int rc = p->err;
        if (!rc)
            rc = fail(p,
                      wd_error_set(WALDEN_ERROR, "cannot add filter %s: the pipeline has finished",
                                   f->ops->name));
        wd_filter_free(f);
        return rc;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        stage *s = wd_realloc(p->stages, cap * sizeof(*s));
        if (!s) {
            wd_filter_free(f);
            return fail(p, WALDEN_ENOMEM);
        }
        p->stages = s;
        p->cap = cap;
    }
    uint8_t *buf = NULL;
    if (f->ops->process && !(buf = wd_malloc(WD_PIPE_BUFFER))) {
        wd_filter_free(f);
        return fail(p, WALDEN_ENOMEM);
    }
    p->stages[p->n++] = (stage){f, buf};
    return 0;
}

static int no_progress(const wd_filter *f)
{
    return wd_error_set(WALDEN_ERROR, "filter %s made no progress", f->ops->name);
}

/* Pushes len bytes into stage i and on (i == p->n: the sink). Recursion
 * depth is the number of stages. */
static int push(wd_pipe *p, size_t i, const uint8_t *data, size_t len)
{
    int rc;
    if (len == 0)
        return 0;
    for (; i < p->n && !p->stages[i].f->ops->process; i++) {
        wd_filter *f = p->stages[i].f;
        if ((rc = f->ops->observe(f, data, len)) < 0)
            return rc;
    }
    if (i == p->n)
        return p->sink->write(p->sink, data, len);

    stage *s = &p->stages[i];
    while (len > 0) {
        size_t consumed = 0, produced = 0;
        rc = s->f->ops->process(s->f, data, len, &consumed, s->buf, WD_PIPE_BUFFER, &produced,
                                false);
        if (rc < 0)
            return rc;
        assert(consumed <= len && produced <= WD_PIPE_BUFFER);
        if (consumed == 0 && produced == 0)
            return no_progress(s->f);
        if ((rc = push(p, i + 1, s->buf, produced)) < 0)
            return rc;
        data += consumed;
        len -= consumed;
    }
    return 0;
}

int wd_pipe_write(wd_pipe *p, const uint8_t *data, size_t len)
{
    if (p->err)
        return p->err;
    if (p->finished)
        return fail(p, wd_error_set(WALDEN_ERROR, "cannot write: the pipeline has finished"));
    int rc = push(p, 0, data, len);
    return rc < 0 ? fail(p, rc) : 0;
}

/* Flushes every transform stage in order, then calls every end(). */
static int finish_stages(wd_pipe *p)
{
    int rc;
    for (size_t i = 0; i < p->n; i++) {
        stage *s = &p->stages[i];
        if (!s->f->ops->process)
            continue;
        for (;;) {
            size_t consumed = 0, produced = 0;
            int st = s->f->ops->process(s->f, NULL, 0, &consumed, s->buf, WD_PIPE_BUFFER, &produced,
                                        true);
            if (st < 0)
                return st;
            assert(consumed == 0 && produced <= WD_PIPE_BUFFER);
            if ((rc = push(p, i + 1, s->buf, produced)) < 0)
                return rc;
            if (st == WD_FILTER_DONE)
                break;
            /* a flush that yields nothing and is not done would loop */
            if (produced == 0)
                return no_progress(s->f);
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        wd_filter *f = p->stages[i].f;
        if (f->ops->end && (rc = f->ops->end(f)) < 0)
            return rc;
    }
    return 0;
}

int wd_pipe_end(wd_pipe *p)
{
    if (p->err)
        return p->err;
    if (p->finished)
        return fail(p, wd_error_set(WALDEN_ERROR, "the pipeline was finished twice"));
    p->finished = true;
    int rc = finish_stages(p);
    return rc < 0 ? fail(p, rc) : 0;
}

int wd_pipe_commit(wd_pipe *p, const char *name)
{
    if (p->err)
        return p->err;
    if (!p->finished || !p->sink)
        return fail(p, wd_error_set(WALDEN_ERROR, "commit of a pipeline that has not ended"));
    wd_sink *sink = p->sink;
    p->sink = NULL; /* commit frees the sink, also when it fails */
    int rc;
    if (!name)
        rc = sink->commit(sink);
    else if (sink->commit_as)
        rc = sink->commit_as(sink, name);
    else {
        sink->abort(sink);
        rc = wd_error_set(WALDEN_ERROR, "this storage cannot name a file at commit");
    }
    if (rc < 0)
        p->err = rc;
    return rc;
}

int wd_pipe_finish(wd_pipe *p)
{
    int rc = wd_pipe_end(p);
    return rc < 0 ? rc : wd_pipe_commit(p, NULL);
}

/* Read size of wd_pipe_copy: as large as a stage buffer, so that one read
 * is one pass through the pipeline. */
#define COPY_BUFFER (256 * 1024)

int wd_pipe_copy(wd_pipe *p, wd_source *src)
{
    if (p->err)
        return p->err;
    uint8_t *buf = wd_malloc(COPY_BUFFER);
    if (!buf)
        return fail(p, WALDEN_ENOMEM);
    int rc;
    for (;;) {
        size_t n = 0;
        if ((rc = wd_source_read(src, buf, COPY_BUFFER, &n)) < 0) {
            rc = fail(p, rc);
            break;
        }
        if (n == 0) {
            rc = wd_pipe_finish(p);
            break;
        }
        if ((rc = wd_pipe_write(p, buf, n)) < 0)
            break;
    }
    wd_free(buf);
    return rc;
}

void wd_pipe_free(wd_pipe *p)
{
    if (!p)
        return;
    abort_sink(p);
    for (size_t i = 0; i < p->n; i++) {
        wd_filter_free(p->stages[i].f);
        wd_free(p->stages[i].buf);
    }
    wd_free(p->stages);
    wd_free(p);
}
