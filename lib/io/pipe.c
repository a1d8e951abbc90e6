/*
 * pipe.c - the pipeline runner (see stream.h).
 *
 * Data is pushed stage by stage: what a transform filter produces into its
 * own fixed buffer is pushed into the next stage at once, so at most one
 * buffer per stage is in flight and memory does not depend on the size of
 * the stream. Observe filters see the bytes where they stand, uncopied.
 *
 * Invariants: the first error latches (p->err) and every later call returns
 * it; the sink is either committed once or aborted once, never both.
 */
#include <string.h>

#include "common/common.h"
#include "io/stream.h"

typedef struct stage {
    wd_filter *f;
    uint8_t *buf; /* transform filters only */
} stage;

struct wd_pipe {
    wd_sink *sink; /* NULL once committed or aborted */
    stage *stages;
    size_t n, cap;
    int err;
    bool finished;
};

void wd_filter_free(wd_filter *f)
{
    if (f)
        f->ops->free(f);
}

int wd_pipe_new(wd_pipe **out, wd_sink *sink)
{
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
    if (p->err || p->finished) {
        wd_filter_free(f);
        return p->err ? p->err : wd_error_set(WALDEN_ERROR, "pipeline already finished");
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        stage *s = wd_realloc(p->stages, cap * sizeof(*s));
        if (!s) {
            wd_filter_free(f);
            return p->err = WALDEN_ENOMEM;
        }
        p->stages = s;
        p->cap = cap;
    }
    uint8_t *buf = NULL;
    if (f->ops->process && !(buf = wd_malloc(WD_PIPE_BUFFER))) {
        wd_filter_free(f);
        return p->err = WALDEN_ENOMEM;
    }
    p->stages[p->n++] = (stage){f, buf};
    return 0;
}

static int no_progress(const wd_filter *f)
{
    return wd_error_set(WALDEN_ERROR, "filter %s made no progress", f->ops->name);
}

/* Pushes len bytes into stage i (i == n: the sink). */
static int push(wd_pipe *p, size_t i, const uint8_t *data, size_t len)
{
    for (; i < p->n && !p->stages[i].f->ops->process; i++) {
        wd_filter *f = p->stages[i].f;
        int rc = len ? f->ops->observe(f, data, len) : 0;
        if (rc)
            return rc;
    }
    if (i == p->n)
        return len ? p->sink->write(p->sink, data, len) : 0;

    stage *s = &p->stages[i];
    while (len > 0) {
        size_t consumed = 0, produced = 0;
        int rc = s->f->ops->process(s->f, data, len, &consumed, s->buf, WD_PIPE_BUFFER, &produced,
                                    false);
        if (rc < 0)
            return rc;
        if (consumed == 0 && produced == 0)
            return no_progress(s->f);
        if (produced && (rc = push(p, i + 1, s->buf, produced)))
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
        return p->err = wd_error_set(WALDEN_ERROR, "write after the pipeline finished");
    int rc = push(p, 0, data, len);
    if (rc)
        p->err = rc;
    return rc;
}

static void abort_sink(wd_pipe *p)
{
    if (p->sink) {
        p->sink->abort(p->sink);
        p->sink = NULL;
    }
}

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
            if (produced && (rc = push(p, i + 1, s->buf, produced)) != 0)
                return rc;
            if (st == WD_FILTER_DONE)
                break;
            if (produced == 0)
                return no_progress(s->f);
        }
    }
    for (size_t i = 0; i < p->n; i++) {
        wd_filter *f = p->stages[i].f;
        if (f->ops->end && (rc = f->ops->end(f)))
            return rc;
    }
    return 0;
}

int wd_pipe_finish(wd_pipe *p)
{
    if (p->finished)
        return p->err ? p->err : wd_error_set(WALDEN_ERROR, "pipeline finished twice");
    p->finished = true;
    int rc = p->err ? p->err : finish_stages(p);
    if (rc) {
        p->err = rc;
        abort_sink(p);
        return rc;
    }
    wd_sink *sink = p->sink;
    p->sink = NULL;
    if ((rc = sink->commit(sink)))
        p->err = rc;
    return rc;
}

#define COPY_BUFFER (256 * 1024)

int wd_pipe_copy(wd_pipe *p, wd_source *src)
{
    uint8_t *buf = wd_malloc(COPY_BUFFER);
    int rc = buf ? 0 : WALDEN_ENOMEM;
    while (!rc) {
        size_t n = 0;
        if ((rc = wd_source_read(src, buf, COPY_BUFFER, &n)))
            break;
        if (n == 0)
            break;
        rc = wd_pipe_write(p, buf, n);
    }
    wd_free(buf);
    if (rc) {
        p->err = p->err ? p->err : rc;
        p->finished = true;
        abort_sink(p);
        return rc;
    }
    return wd_pipe_finish(p);
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
