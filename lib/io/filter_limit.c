/*
 * filter_limit.c - the byte-limit observe filter (see stream.h).
 *
 * What is read back from a repository is authenticated only once it has
 * been read whole, and a forged object can decompress to any size. This
 * filter stops the stream as soon as more bytes pass than the object may
 * have: the error latches in the pipeline before the bytes reach the next
 * stage, so the sink holds at most `max` bytes when it is aborted. With
 * `exact` set, end() also refuses a stream that ended short of `max`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "io/stream.h"

typedef struct limit_filter {
    wd_filter base;
    uint64_t max, bytes;
    int code;
    bool exact;
    char what[]; /* the message's beginning: names the object, whole */
} limit_filter;

static int limit_observe(wd_filter *f, const uint8_t *in, size_t len)
{
    limit_filter *l = (limit_filter *)f;
    (void)in;
    if (len > l->max - l->bytes)
        return wd_error_set(l->code, "%s: more than %" PRIu64 " bytes, the most it may have",
                            l->what, l->max);
    l->bytes += len;
    return 0;
}

static int limit_end(wd_filter *f)
{
    limit_filter *l = (limit_filter *)f;
    if (l->exact && l->bytes != l->max)
        return wd_error_set(l->code, "%s: %" PRIu64 " bytes, it must have exactly %" PRIu64,
                            l->what, l->bytes, l->max);
    return 0;
}

static void limit_free(wd_filter *f)
{
    wd_free(f);
}

static const wd_filter_ops limit_ops = {
    .name = "limit", .observe = limit_observe, .end = limit_end, .free = limit_free};

int wd_limit_filter_new(wd_filter **out, uint64_t max, bool exact, int code, const char *what)
{
    *out = NULL;
    size_t len = strlen(what);
    limit_filter *l = wd_calloc(1, sizeof(*l) + len + 1);
    if (!l)
        return WALDEN_ENOMEM;
    l->base.ops = &limit_ops;
    l->max = max;
    l->code = code;
    l->exact = exact;
    memcpy(l->what, what, len + 1);
    *out = &l->base;
    return 0;
}

uint64_t wd_limit_filter_bytes(const wd_filter *f)
{
    return ((const limit_filter *)f)->bytes;
}
