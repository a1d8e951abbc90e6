/*
 * test_pipe.c - io/pipe.c, the pipeline runner: data order through transform
 * and observe filters, many small passes, flushing at finish, end() order,
 * error latching with the sink aborted exactly once (never committed),
 * no-progress detection, copy() from a source, and no allocation while data
 * flows.
 *
 * The filters, sources and sinks here are test-local so that each property
 * can be provoked: a transform that emits at most a few bytes per call, one
 * that holds bytes back until finish, one that expands, one that is stuck,
 * one that fails; a sink that records, fails, and counts commit/abort.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "io/stream.h"
#include "testutil.h"

/* ---- a recording sink ---- */

/* Lives in the test (the sink itself is freed by commit/abort). */
typedef struct sink_log {
    uint8_t *data; /* malloc'ed copy of everything written */
    size_t len;
    int writes, commits, aborts;
    int fail_write_at; /* 0-based write that fails with WALDEN_EIO; -1: none */
    int commit_rc;     /* what commit returns */
} sink_log;

typedef struct rec_sink {
    wd_sink base;
    sink_log *log;
} rec_sink;

static int rec_write(wd_sink *s, const uint8_t *buf, size_t len)
{
    sink_log *l = ((rec_sink *)s)->log;
    assert_true(len > 0); /* the runner never writes nothing */
    if (l->writes++ == l->fail_write_at)
        return wd_error_set(WALDEN_EIO, "cannot write 'test sink': injected failure");
    uint8_t *d = realloc(l->data, l->len + len);
    assert_non_null(d);
    memcpy(d + l->len, buf, len);
    l->data = d;
    l->len += len;
    return 0;
}

static int rec_commit(wd_sink *s)
{
    sink_log *l = ((rec_sink *)s)->log;
    l->commits++;
    free(s);
    if (l->commit_rc)
        return wd_error_set(l->commit_rc, "cannot commit 'test sink': injected failure");
    return 0;
}

static void rec_abort(wd_sink *s)
{
    ((rec_sink *)s)->log->aborts++;
    free(s);
}

static wd_sink *rec_sink_new(sink_log *l)
{
    memset(l, 0, sizeof(*l));
    l->fail_write_at = -1;
    rec_sink *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->base.write = rec_write;
    s->base.commit = rec_commit;
    s->base.abort = rec_abort;
    s->log = l;
    return &s->base;
}

/* ---- test filters ---- */

/* What a test filter did; lives in the test, the filter is freed by the
 * pipe. */
typedef struct probe {
    int process_calls, finish_calls, observe_calls, end_calls, frees;
    int end_seq;        /* order in which end() ran (1-based), 0: never */
    uint8_t seen[4096]; /* observe: the first bytes seen */
    size_t seen_len;
    uint64_t seen_total;
    int fail_after;    /* process/observe fails with WALDEN_EIO once this many
                          bytes went in; -1: never */
    int end_rc;        /* what end() returns */
    int stuck_at;      /* process: 0 consumed, 0 produced from this call on
                          (-1: never) */
    bool stuck_finish; /* process(finish): returns 0 without producing */
} probe;

static int end_counter;

typedef struct test_filter {
    wd_filter base;
    probe *pr;
    size_t max_out; /* at most this many bytes out per call */
    /* bytes taken in but not yet put out */
    uint8_t held[64];
    size_t held_len;
    /* expand: how many copies of `expand_byte` are still owed */
    size_t owed;
    uint8_t expand_byte;
    uint64_t in_total;
} test_filter;

static void probe_init(probe *pr)
{
    memset(pr, 0, sizeof(*pr));
    pr->fail_after = -1;
    pr->stuck_at = -1;
}

static int tf_end(wd_filter *f)
{
    probe *pr = ((test_filter *)f)->pr;
    pr->end_calls++;
    pr->end_seq = ++end_counter;
    return pr->end_rc ? wd_error_set(pr->end_rc, "filter test: end failed") : 0;
}

static void tf_free(wd_filter *f)
{
    ((test_filter *)f)->pr->frees++;
    free(f);
}

static int tf_check(test_filter *t, size_t in_len)
{
    probe *pr = t->pr;
    if (pr->fail_after >= 0 && t->in_total + in_len > (uint64_t)pr->fail_after)
        return wd_error_set(WALDEN_EIO, "filter test: injected failure");
    return 0;
}

/* upper: upper-cases, at most max_out bytes per call, holds nothing */
static int upper_process(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                         uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    test_filter *t = (test_filter *)f;
    probe *pr = t->pr;
    pr->process_calls++;
    *consumed = *produced = 0;
    if (finish) {
        pr->finish_calls++;
        assert_int_equal(in_len, 0);
        return pr->stuck_finish ? 0 : WD_FILTER_DONE;
    }
    if (pr->stuck_at >= 0 && pr->process_calls > pr->stuck_at)
        return 0;
    int rc = tf_check(t, in_len);
    if (rc)
        return rc;
    size_t n = in_len < t->max_out ? in_len : t->max_out;
    n = n < out_cap ? n : out_cap;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)toupper(in[i]);
    t->in_total += n;
    *consumed = *produced = n;
    return 0;
}

/* doubler: every byte comes out twice; it takes in up to sizeof(held) bytes
 * before it puts anything out, and puts out at most max_out per call, so
 * finish has bytes to flush over several calls */
static int doubler_process(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                           uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    test_filter *t = (test_filter *)f;
    t->pr->process_calls++;
    if (finish)
        t->pr->finish_calls++;
    *consumed = *produced = 0;
    /* take in while there is room */
    size_t take = sizeof(t->held) - t->held_len;
    take = take < in_len ? take : in_len;
    if (take)
        memcpy(t->held + t->held_len, in, take);
    t->held_len += take;
    *consumed = take;
    /* put out only when full or finishing: pairs of bytes */
    if (t->held_len == sizeof(t->held) || finish) {
        size_t pairs = t->max_out / 2;
        pairs = pairs < out_cap / 2 ? pairs : out_cap / 2;
        pairs = pairs < t->held_len ? pairs : t->held_len;
        for (size_t i = 0; i < pairs; i++)
            out[2 * i] = out[2 * i + 1] = t->held[i];
        memmove(t->held, t->held + pairs, t->held_len - pairs);
        t->held_len -= pairs;
        *produced = 2 * pairs;
    }
    return finish && t->held_len == 0 ? WD_FILTER_DONE : 0;
}

/* expander: every byte comes out 100000 times, as much as fits: one input
 * byte fills more than one stage buffer */
#define EXPAND 100000
static int expander_process(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed,
                            uint8_t *out, size_t out_cap, size_t *produced, bool finish)
{
    test_filter *t = (test_filter *)f;
    t->pr->process_calls++;
    *consumed = *produced = 0;
    if (t->owed == 0 && in_len > 0) {
        t->expand_byte = in[0];
        t->owed = EXPAND;
        *consumed = 1;
    }
    size_t n = t->owed < out_cap ? t->owed : out_cap;
    memset(out, t->expand_byte, n);
    t->owed -= n;
    *produced = n;
    return finish && t->owed == 0 ? WD_FILTER_DONE : 0;
}

/* observer: records what passes */
static int observer_observe(wd_filter *f, const uint8_t *in, size_t len)
{
    test_filter *t = (test_filter *)f;
    probe *pr = t->pr;
    pr->observe_calls++;
    assert_true(len > 0);
    int rc = tf_check(t, len);
    if (rc)
        return rc;
    size_t room = sizeof(pr->seen) - pr->seen_len;
    size_t n = len < room ? len : room;
    memcpy(pr->seen + pr->seen_len, in, n);
    pr->seen_len += n;
    pr->seen_total += len;
    t->in_total += len;
    return 0;
}

static const wd_filter_ops upper_ops = {
    .name = "upper", .process = upper_process, .end = tf_end, .free = tf_free};
static const wd_filter_ops doubler_ops = {
    .name = "doubler", .process = doubler_process, .end = tf_end, .free = tf_free};
static const wd_filter_ops expander_ops = {
    .name = "expander", .process = expander_process, .end = tf_end, .free = tf_free};
static const wd_filter_ops observer_ops = {
    .name = "observer", .observe = observer_observe, .end = tf_end, .free = tf_free};

static wd_filter *tf_new(const wd_filter_ops *ops, probe *pr, size_t max_out)
{
    probe_init(pr);
    test_filter *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->base.ops = ops;
    t->pr = pr;
    t->max_out = max_out;
    return &t->base;
}

static void write_in_pieces(wd_pipe *p, const uint8_t *data, size_t len, size_t piece)
{
    for (size_t off = 0; off < len; off += piece)
        assert_ok(wd_pipe_write(p, data + off, len - off < piece ? len - off : piece));
}

static const char text[] = "the quick brown fox jumps over the lazy dog, 0123456789!";

/* ---- tests ---- */

static void test_no_filters_passes_bytes_through(void **state)
{
    (void)state;
    sink_log l;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    write_in_pieces(p, (const uint8_t *)text, strlen(text), 5);
    assert_ok(wd_pipe_write(p, NULL, 0)); /* nothing is fine */
    assert_ok(wd_pipe_finish(p));
    wd_pipe_free(p);
    assert_int_equal(l.len, strlen(text));
    assert_memory_equal(l.data, text, strlen(text));
    assert_int_equal(l.commits, 1);
    assert_int_equal(l.aborts, 0);
    free(l.data);
}

/* observe filters see the bytes at their place; a transform that emits
 * 3 bytes per call needs many passes; end() runs in data order after all
 * data */
static void test_transform_and_observers_in_order(void **state)
{
    (void)state;
    sink_log l;
    probe before, up, after;
    wd_pipe *p;
    end_counter = 0;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &before, 0)));
    assert_ok(wd_pipe_add(p, tf_new(&upper_ops, &up, 3)));
    assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &after, 0)));
    size_t n = strlen(text);
    assert_ok(wd_pipe_write(p, (const uint8_t *)text, n));
    assert_true(up.process_calls >= (int)(n / 3)); /* many passes */
    assert_int_equal(before.end_calls, 0);
    assert_ok(wd_pipe_finish(p));

    char upper[sizeof(text)];
    for (size_t i = 0; i < n; i++)
        upper[i] = (char)toupper((unsigned char)text[i]);
    assert_int_equal(before.seen_len, n);
    assert_memory_equal(before.seen, text, n);
    assert_int_equal(after.seen_len, n);
    assert_memory_equal(after.seen, upper, n);
    assert_int_equal(l.len, n);
    assert_memory_equal(l.data, upper, n);
    assert_int_equal(up.finish_calls, 1);
    assert_int_equal(before.end_calls, 1);
    assert_int_equal(up.end_calls, 1);
    assert_int_equal(after.end_calls, 1);
    assert_int_equal(before.end_seq, 1);
    assert_int_equal(up.end_seq, 2);
    assert_int_equal(after.end_seq, 3);
    assert_int_equal(l.commits, 1);
    assert_int_equal(l.aborts, 0);
    wd_pipe_free(p);
    assert_int_equal(before.frees, 1);
    assert_int_equal(up.frees, 1);
    assert_int_equal(after.frees, 1);
    free(l.data);
}

/* a filter that holds bytes back must be flushed at finish over several
 * calls, its output going through the later stages, before those finish */
static void test_finish_flushes_stage_by_stage(void **state)
{
    (void)state;
    sink_log l;
    probe d1, d2, up, obs;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    assert_ok(wd_pipe_add(p, tf_new(&doubler_ops, &d1, 6)));
    assert_ok(wd_pipe_add(p, tf_new(&upper_ops, &up, 5)));
    assert_ok(wd_pipe_add(p, tf_new(&doubler_ops, &d2, 4)));
    assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &obs, 0)));
    uint8_t in[1000];
    tu_fill(in, sizeof(in), 7, 0);
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)('a' + in[i] % 26);
    for (size_t piece = 1, off = 0; off < sizeof(in); off += piece, piece = piece % 13 + 1)
        assert_ok(wd_pipe_write(p, in + off, sizeof(in) - off < piece ? sizeof(in) - off : piece));
    assert_ok(wd_pipe_finish(p));
    assert_true(d1.finish_calls > 1); /* it had held bytes to flush */
    assert_true(d2.finish_calls > 1);
    assert_int_equal(l.len, 4 * sizeof(in));
    for (size_t i = 0; i < sizeof(in); i++)
        for (size_t k = 0; k < 4; k++)
            assert_int_equal(l.data[4 * i + k], toupper(in[i]));
    assert_int_equal(obs.seen_total, 4 * sizeof(in));
    assert_int_equal(l.commits, 1);
    assert_int_equal(l.aborts, 0);
    wd_pipe_free(p);
    free(l.data);
}

/* output larger than a stage buffer from a single input byte */
static void test_expanding_filter_fills_buffers(void **state)
{
    (void)state;
    sink_log l;
    probe ex, obs;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    assert_ok(wd_pipe_add(p, tf_new(&expander_ops, &ex, 0)));
    assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &obs, 0)));
    assert_ok(wd_pipe_write(p, (const uint8_t *)"xyz", 3));
    assert_ok(wd_pipe_finish(p));
    wd_pipe_free(p);
    assert_int_equal(l.len, 3 * EXPAND);
    assert_int_equal(obs.seen_total, 3 * EXPAND);
    for (size_t i = 0; i < l.len; i++)
        assert_int_equal(l.data[i], "xyz"[i / EXPAND]);
    assert_true(l.writes >= 3 * EXPAND / WD_PIPE_BUFFER);
    free(l.data);
}

/* a sink whose write fails: the error comes back, latches, and the sink is
 * aborted once and never committed */
static void test_failing_sink_aborts_once(void **state)
{
    (void)state;
    sink_log l;
    probe up;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    l.fail_write_at = 4;
    assert_ok(wd_pipe_add(p, tf_new(&upper_ops, &up, 3)));
    int rc = 0;
    for (size_t i = 0; i < 10 && rc == 0; i++)
        rc = wd_pipe_write(p, (const uint8_t *)text, strlen(text));
    assert_int_equal(rc, WALDEN_EIO);
    assert_string_equal(walden_error_last()->message, "cannot write 'test sink': injected failure");
    assert_int_equal(l.writes, 5);
    int calls = up.process_calls;
    walden_error_clear();
    /* latched: nothing runs any more, the same code comes back */
    assert_rc(wd_pipe_write(p, (const uint8_t *)text, 4), WALDEN_EIO);
    assert_rc(wd_pipe_finish(p), WALDEN_EIO);
    assert_rc(wd_pipe_finish(p), WALDEN_EIO);
    assert_int_equal(up.process_calls, calls);
    assert_int_equal(up.end_calls, 0);
    wd_pipe_free(p);
    assert_int_equal(l.writes, 5);
    assert_int_equal(l.aborts, 1);
    assert_int_equal(l.commits, 0);
    assert_int_equal(up.frees, 1);
    free(l.data);
}

/* a sink that fails only when finish flushes into it */
static void test_failing_sink_during_finish(void **state)
{
    (void)state;
    sink_log l;
    probe d;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    assert_ok(wd_pipe_add(p, tf_new(&doubler_ops, &d, 8)));
    assert_ok(wd_pipe_write(p, (const uint8_t *)"abc", 3)); /* held back */
    assert_int_equal(l.writes, 0);
    l.fail_write_at = 0;
    assert_rc(wd_pipe_finish(p), WALDEN_EIO);
    assert_int_equal(l.aborts, 1);
    assert_int_equal(l.commits, 0);
    assert_int_equal(d.end_calls, 0); /* end() only after a full flush */
    wd_pipe_free(p);
    assert_int_equal(l.aborts, 1);
    free(l.data);
}

/* a filter failing in process or observe latches its error */
static void test_failing_filter_latches(void **state)
{
    (void)state;
    for (int observe = 0; observe < 2; observe++) {
        sink_log l;
        probe f, later;
        wd_pipe *p;
        assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
        assert_ok(wd_pipe_add(p, tf_new(observe ? &observer_ops : &upper_ops, &f, 1000)));
        assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &later, 0)));
        f.fail_after = 100;
        assert_ok(wd_pipe_write(p, (const uint8_t *)text, 50));
        assert_ok(wd_pipe_write(p, (const uint8_t *)text, 50));
        assert_rc(wd_pipe_write(p, (const uint8_t *)text, 1), WALDEN_EIO);
        assert_string_equal(walden_error_last()->message, "filter test: injected failure");
        assert_int_equal(l.aborts, 1); /* at once, not only at finish */
        int seen = (int)later.seen_total;
        assert_rc(wd_pipe_write(p, (const uint8_t *)text, 1), WALDEN_EIO);
        assert_rc(wd_pipe_finish(p), WALDEN_EIO);
        assert_int_equal(later.seen_total, seen);
        assert_int_equal(later.end_calls, 0);
        wd_pipe_free(p);
        assert_int_equal(l.aborts, 1);
        assert_int_equal(l.commits, 0);
        free(l.data);
    }
}

/* end() failing (a decompressor whose frame did not end, a digest that does
 * not verify) aborts the sink: nothing becomes visible */
static void test_failing_end_aborts(void **state)
{
    (void)state;
    sink_log l;
    probe a, b, c;
    wd_pipe *p;
    end_counter = 0;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &a, 0)));
    assert_ok(wd_pipe_add(p, tf_new(&upper_ops, &b, 9)));
    assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &c, 0)));
    b.end_rc = WALDEN_ECORRUPT;
    assert_ok(wd_pipe_write(p, (const uint8_t *)text, strlen(text)));
    assert_rc(wd_pipe_finish(p), WALDEN_ECORRUPT);
    assert_int_equal(a.end_calls, 1);
    assert_int_equal(b.end_calls, 1);
    assert_int_equal(c.end_calls, 0);
    assert_int_equal(l.aborts, 1);
    assert_int_equal(l.commits, 0);
    assert_rc(wd_pipe_finish(p), WALDEN_ECORRUPT);
    wd_pipe_free(p);
    assert_int_equal(l.aborts, 1);
    free(l.data);
}

/* a commit that fails: its error is returned and latched; the sink freed
 * itself, so there is no abort */
static void test_failing_commit(void **state)
{
    (void)state;
    sink_log l;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    l.commit_rc = WALDEN_ENOSPC;
    assert_ok(wd_pipe_write(p, (const uint8_t *)text, 10));
    assert_rc(wd_pipe_finish(p), WALDEN_ENOSPC);
    assert_rc(wd_pipe_finish(p), WALDEN_ENOSPC);
    assert_rc(wd_pipe_write(p, (const uint8_t *)text, 1), WALDEN_ENOSPC);
    wd_pipe_free(p);
    assert_int_equal(l.commits, 1);
    assert_int_equal(l.aborts, 0);
    free(l.data);
}

static void check_no_progress(probe *pr, const wd_filter_ops *ops, bool at_finish)
{
    sink_log l;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    assert_ok(wd_pipe_add(p, tf_new(ops, pr, 4)));
    if (at_finish) {
        pr->stuck_finish = true;
        assert_ok(wd_pipe_write(p, (const uint8_t *)text, 10));
        assert_rc(wd_pipe_finish(p), WALDEN_ERROR);
    } else {
        pr->stuck_at = 2;
        assert_rc(wd_pipe_write(p, (const uint8_t *)text, 20), WALDEN_ERROR);
        assert_int_equal(pr->process_calls, 3);
        assert_rc(wd_pipe_finish(p), WALDEN_ERROR);
    }
    assert_string_equal(walden_error_last()->message, "filter upper made no progress");
    assert_int_equal(l.aborts, 1);
    assert_int_equal(l.commits, 0);
    wd_pipe_free(p);
    free(l.data);
}

/* a filter that neither consumes nor produces is an error, not a hang */
static void test_no_progress_is_an_error(void **state)
{
    (void)state;
    probe pr;
    check_no_progress(&pr, &upper_ops, false);
    check_no_progress(&pr, &upper_ops, true);
    assert_int_equal(pr.finish_calls, 1);
}

static void test_free_without_finish_aborts(void **state)
{
    (void)state;
    sink_log l;
    probe up;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    assert_ok(wd_pipe_add(p, tf_new(&upper_ops, &up, 100)));
    assert_ok(wd_pipe_write(p, (const uint8_t *)text, 10));
    wd_pipe_free(p);
    assert_int_equal(l.aborts, 1);
    assert_int_equal(l.commits, 0);
    assert_int_equal(up.frees, 1);
    free(l.data);
    wd_pipe_free(NULL);
}

/* misuse after finish is refused; a filter added then is still freed */
static void test_use_after_finish(void **state)
{
    (void)state;
    sink_log l;
    probe pr;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    assert_ok(wd_pipe_finish(p));
    assert_int_equal(l.commits, 1);
    assert_rc(wd_pipe_add(p, tf_new(&upper_ops, &pr, 1)), WALDEN_ERROR);
    assert_int_equal(pr.frees, 1);
    assert_rc(wd_pipe_write(p, (const uint8_t *)"x", 1), WALDEN_ERROR);
    assert_rc(wd_pipe_finish(p), WALDEN_ERROR);
    wd_pipe_free(p);
    assert_int_equal(l.commits, 1);
    assert_int_equal(l.aborts, 0);
    free(l.data);
}

/* stage buffers are allocated by add: while data flows and at finish the
 * runner allocates nothing (every allocation would fail here) */
static void test_no_allocation_while_flowing(void **state)
{
    (void)state;
    sink_log l;
    probe a, b, c, d;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &a, 0)));
    assert_ok(wd_pipe_add(p, tf_new(&doubler_ops, &b, 64)));
    assert_ok(wd_pipe_add(p, tf_new(&expander_ops, &c, 0)));
    assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &d, 0)));
    wd_alloc_fail_after(0);
    write_in_pieces(p, (const uint8_t *)text, 20, 3);
    int rc = wd_pipe_finish(p);
    wd_alloc_fail_after(-1);
    assert_ok(rc);
    assert_int_equal(l.len, 40 * EXPAND);
    assert_int_equal(d.seen_total, 40 * EXPAND);
    wd_pipe_free(p);
    free(l.data);
}

/* an allocation failure in add latches, frees the filter and aborts */
static void test_add_failure(void **state)
{
    (void)state;
    sink_log l;
    probe a, b;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    wd_alloc_fail_after(0);
    int rc = wd_pipe_add(p, tf_new(&upper_ops, &a, 1));
    wd_alloc_fail_after(-1);
    assert_int_equal(rc, WALDEN_ENOMEM);
    assert_int_equal(a.frees, 1);
    assert_int_equal(l.aborts, 1);
    assert_rc(wd_pipe_add(p, tf_new(&observer_ops, &b, 0)), WALDEN_ENOMEM);
    assert_int_equal(b.frees, 1);
    assert_rc(wd_pipe_finish(p), WALDEN_ENOMEM);
    wd_pipe_free(p);
    assert_int_equal(l.aborts, 1);
    assert_int_equal(l.commits, 0);
}

/* ---- a test source ---- */

typedef struct test_source {
    wd_source base;
    const uint8_t *data;
    size_t len, pos;
    size_t piece;   /* returns at most this much per read */
    size_t max_cap; /* the largest cap it was asked for */
    size_t fail_at; /* fails with WALDEN_EIO once pos reaches this */
    int reads_after_end;
} test_source;

static int ts_read(wd_source *s, uint8_t *buf, size_t cap, size_t *n)
{
    test_source *t = (test_source *)s;
    t->max_cap = cap > t->max_cap ? cap : t->max_cap;
    if (t->pos >= t->fail_at)
        return wd_error_set(WALDEN_EIO, "cannot read 'test source': injected failure");
    if (t->pos == t->len)
        t->reads_after_end++;
    size_t k = t->len - t->pos;
    k = k < cap ? k : cap;
    k = k < t->piece ? k : t->piece;
    memcpy(buf, t->data + t->pos, k);
    t->pos += k;
    *n = k;
    return 0;
}

static void ts_close(wd_source *s)
{
    (void)s; /* test_source lives on the stack */
}

static test_source ts_make(const uint8_t *data, size_t len, size_t piece)
{
    test_source t = {{ts_read, ts_close, NULL}, data, len, 0, piece, 0, SIZE_MAX, 0};
    return t;
}

/* copy() reads to the end with a 256 KiB buffer, then finishes; into the
 * memory sink from lib/io/file.c */
static void test_copy_into_memory_sink(void **state)
{
    (void)state;
    size_t len = 3 * WD_PIPE_BUFFER + 123;
    uint8_t *in = malloc(len);
    assert_non_null(in);
    tu_fill(in, len, 3, 0);
    const size_t pieces[] = {4099, SIZE_MAX};
    for (size_t k = 0; k < WD_ARRAY_LEN(pieces); k++) {
        test_source src = ts_make(in, len, pieces[k]);
        uint8_t *out = NULL;
        size_t out_len = 0;
        wd_sink *sink;
        wd_pipe *p;
        probe d, obs;
        assert_ok(wd_memory_sink_open(&sink, &out, &out_len));
        assert_ok(wd_pipe_new(&p, sink));
        assert_ok(wd_pipe_add(p, tf_new(&doubler_ops, &d, 1 << 20)));
        assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &obs, 0)));
        assert_ok(wd_pipe_copy(p, &src.base));
        assert_int_equal(src.max_cap, 256 * 1024);
        assert_int_equal(src.reads_after_end, 1);
        assert_int_equal(d.end_calls, 1);
        wd_pipe_free(p);
        assert_non_null(out);
        assert_int_equal(out_len, 2 * len);
        for (size_t i = 0; i < len; i++) {
            assert_int_equal(out[2 * i], in[i]);
            assert_int_equal(out[2 * i + 1], in[i]);
        }
        wd_free(out);
    }
    free(in);
}

/* a source that fails: copy returns its error, the sink is aborted */
static void test_copy_source_failure(void **state)
{
    (void)state;
    uint8_t in[5000];
    tu_fill(in, sizeof(in), 1, 1);
    test_source src = ts_make(in, sizeof(in), 1000);
    src.fail_at = 3000;
    sink_log l;
    probe obs;
    wd_pipe *p;
    assert_ok(wd_pipe_new(&p, rec_sink_new(&l)));
    assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &obs, 0)));
    assert_rc(wd_pipe_copy(p, &src.base), WALDEN_EIO);
    assert_string_equal(walden_error_last()->message,
                        "cannot read 'test source': injected failure");
    assert_int_equal(l.aborts, 1);
    assert_int_equal(l.commits, 0);
    assert_int_equal(obs.end_calls, 0);
    assert_rc(wd_pipe_finish(p), WALDEN_EIO);
    wd_pipe_free(p);
    assert_int_equal(l.aborts, 1);
    free(l.data);
}

/* the null sink from lib/io/file.c takes everything and commits */
static void test_null_sink(void **state)
{
    (void)state;
    wd_sink *sink;
    wd_pipe *p;
    probe obs;
    assert_ok(wd_null_sink_open(&sink));
    assert_ok(wd_pipe_new(&p, sink));
    assert_ok(wd_pipe_add(p, tf_new(&observer_ops, &obs, 0)));
    write_in_pieces(p, (const uint8_t *)text, strlen(text), 7);
    assert_ok(wd_pipe_finish(p));
    assert_int_equal(obs.seen_total, strlen(text));
    wd_pipe_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_filters_passes_bytes_through),
        cmocka_unit_test(test_transform_and_observers_in_order),
        cmocka_unit_test(test_finish_flushes_stage_by_stage),
        cmocka_unit_test(test_expanding_filter_fills_buffers),
        cmocka_unit_test(test_failing_sink_aborts_once),
        cmocka_unit_test(test_failing_sink_during_finish),
        cmocka_unit_test(test_failing_filter_latches),
        cmocka_unit_test(test_failing_end_aborts),
        cmocka_unit_test(test_failing_commit),
        cmocka_unit_test(test_no_progress_is_an_error),
        cmocka_unit_test(test_free_without_finish_aborts),
        cmocka_unit_test(test_use_after_finish),
        cmocka_unit_test(test_no_allocation_while_flowing),
        cmocka_unit_test(test_add_failure),
        cmocka_unit_test(test_copy_into_memory_sink),
        cmocka_unit_test(test_copy_source_failure),
        cmocka_unit_test(test_null_sink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
