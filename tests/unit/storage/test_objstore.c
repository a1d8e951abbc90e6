/*
 * test_objstore.c - the object-store sink (storage/objstore.c) at its seam
 * with the drivers (wd_objstore_ops), through a fake driver that counts the
 * parts on their way at the same moment:
 *   - parts of the first size: WD_OBJSTORE_PARTS_IN_FLIGHT upload together
 *     (the fake holds the first ones until that many are in, so the
 *     count is reached, not hoped for), never more;
 *   - growing parts: a part of size S starts only while fewer than
 *     wd_objstore_parts_in_flight(S) are on their way, so the bytes in
 *     flight stay within WD_OBJSTORE_PARTS_IN_FLIGHT first parts (or one
 *     part, when a single part is larger than that);
 *   - either way the parts arrive numbered, with the schedule's sizes, and
 *     hold the bytes written, in order; the upload is completed once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "storage/objstore.h"
#include "testutil.h"

#define MAX_FAKE_PARTS 64

typedef struct fake_os {
    wd_objstore os;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int hold;          /* parts numbered up to `hold` wait until that many were in flight */
    bool held;         /* at once (or 2 s: an implementation allowing fewer fails, not hangs) */
    useconds_t linger; /* every part stays this long */
    int in_flight;     /* parts inside mp_part now */
    int max_in_flight; /* the most at once */
    size_t bytes;      /* their bytes */
    size_t max_bytes;  /* the most at once */
    int over_limit;    /* parts that started with more on their way than their size allows */
    size_t sizes[MAX_FAKE_PARTS];
    uint8_t *got; /* the parts' bytes, placed by number */
    size_t got_cap;
    int completed;       /* mp_complete calls */
    int completed_parts; /* nparts given to the last one */
    int aborted;
} fake_os;

static fake_os *fake_of(wd_objstore *os)
{
    return (fake_os *)os;
}

static int fake_mp_begin(wd_objstore *os, const char *key, char **upload)
{
    (void)os, (void)key;
    *upload = wd_strdup("upload-1");
    return *upload ? 0 : WALDEN_ENOMEM;
}

/* where part `number` starts in the object: the sum of the sizes before it */
static size_t part_offset(const wd_objstore *os, int number)
{
    size_t off = 0;
    for (int i = 0; i < number - 1; i++)
        off += wd_objstore_part_size(os, i);
    return off;
}

static int fake_mp_part(wd_objstore *os, const char *key, const char *upload, int number,
                        const uint8_t *data, size_t len, char **etag)
{
    (void)key, (void)upload;
    fake_os *f = fake_of(os);
    pthread_mutex_lock(&f->mu);
    f->in_flight++;
    f->bytes += len;
    if (f->in_flight > wd_objstore_parts_in_flight(os, len))
        f->over_limit++;
    if (f->in_flight > f->max_in_flight)
        f->max_in_flight = f->in_flight;
    if (f->bytes > f->max_bytes)
        f->max_bytes = f->bytes;
    if (f->in_flight >= f->hold)
        f->held = true; /* a latch: the first to leave must not hold back the others */
    pthread_cond_broadcast(&f->cv);
    if (number <= f->hold) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 2;
        while (!f->held && pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&f->mu);
    if (f->linger)
        usleep(f->linger);
    size_t off = part_offset(os, number);
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    if (number > MAX_FAKE_PARTS || off + len > f->got_cap)
        rc = wd_error_set(WALDEN_EIO, "fake: part %d out of range", number);
    else {
        f->sizes[number - 1] = len;
        memcpy(f->got + off, data, len);
    }
    f->in_flight--;
    f->bytes -= len;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (!rc && !(*etag = wd_strdup("etag")))
        rc = WALDEN_ENOMEM;
    return rc;
}

static int fake_mp_complete(wd_objstore *os, const char *key, const char *upload, char **etags,
                            int nparts)
{
    (void)key, (void)upload;
    fake_os *f = fake_of(os);
    for (int i = 0; i < nparts; i++)
        if (!etags[i])
            return wd_error_set(WALDEN_EIO, "fake: part %d has no etag", i + 1);
    f->completed++;
    f->completed_parts = nparts;
    return 0;
}

static void fake_mp_abort(wd_objstore *os, const char *key, const char *upload)
{
    (void)key, (void)upload;
    fake_of(os)->aborted++;
}

static int fake_put(wd_objstore *os, const char *key, const uint8_t *data, size_t len)
{
    (void)os, (void)key, (void)data, (void)len;
    return wd_error_set(WALDEN_EIO, "fake: a single PUT was not expected");
}

static int fake_del_many(wd_objstore *os, const char *const *keys, size_t n)
{
    (void)os, (void)keys, (void)n;
    return wd_error_set(WALDEN_EIO, "fake: no deletes here");
}

static void fake_free(wd_objstore *os)
{
    (void)os; /* the test owns it */
}

static const wd_objstore_ops fake_ops = {
    .put = fake_put,
    .mp_begin = fake_mp_begin,
    .mp_part = fake_mp_part,
    .mp_complete = fake_mp_complete,
    .mp_abort = fake_mp_abort,
    .del_many = fake_del_many,
    .free = fake_free,
};

static void fake_init(fake_os *f, size_t part_size, size_t max_part_size, int max_parts,
                      size_t object)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->os.ops = &fake_ops;
    static char prefix[] = "", location[] = "s3://fake";
    f->os.prefix = prefix;
    f->os.base.location = location;
    f->os.part_size = part_size;
    f->os.max_part_size = max_part_size;
    f->os.max_parts = max_parts;
    wd_objstore_init(&f->os);
    f->got_cap = object;
    f->got = calloc(1, object);
    assert_non_null(f->got);
}

static void fake_done(fake_os *f)
{
    free(f->got);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
}

/* Writes `len` bytes of a pattern in pieces of `piece` and commits. */
static uint8_t *upload(fake_os *f, size_t len, size_t piece)
{
    uint8_t *data = malloc(len);
    assert_non_null(data);
    tu_fill(data, len, 7, 0);
    wd_sink *sink;
    assert_ok(wd_storage_open_write(&f->os.base, "obj", &sink));
    for (size_t off = 0; off < len; off += piece)
        assert_ok(sink->write(sink, data + off, len - off < piece ? len - off : piece));
    assert_ok(sink->commit(sink));
    return data;
}

/* The parts arrived with the schedule's sizes (the last one the rest) and
 * hold the bytes written. */
static void check_parts(fake_os *f, const uint8_t *data, size_t len, int nparts)
{
    assert_int_equal(f->completed, 1);
    assert_int_equal(f->completed_parts, nparts);
    assert_int_equal(f->aborted, 0);
    size_t sum = 0;
    for (int i = 0; i < nparts; i++) {
        if (i < nparts - 1)
            assert_int_equal(f->sizes[i], wd_objstore_part_size(&f->os, i));
        sum += f->sizes[i];
    }
    assert_int_equal(sum, len);
    assert_memory_equal(f->got, data, len);
}

/* Parts of the first size: exactly WD_OBJSTORE_PARTS_IN_FLIGHT at once. */
static void test_parts_in_flight_first_size(void **state)
{
    (void)state;
    fake_os f;
    const size_t part = 1024, len = 20 * 1024 + 100; /* 21 parts */
    fake_init(&f, part, part, 100, len);
    f.hold = WD_OBJSTORE_PARTS_IN_FLIGHT; /* the first parts wait for each other */
    f.linger = 50 * 1000;                 /* then stay 50 ms: time for a part too many to start */
    uint8_t *data = upload(&f, len, 3000);
    assert_int_equal(f.over_limit, 0);
    assert_int_equal(f.max_in_flight, WD_OBJSTORE_PARTS_IN_FLIGHT);
    assert_true(f.max_bytes <= WD_OBJSTORE_PARTS_IN_FLIGHT * part);
    check_parts(&f, data, len, 21);
    free(data);
    fake_done(&f);
}

/* Growing parts (10 parts: each twice the one before, up to 16 KiB): fewer
 * at once as they grow; never more bytes in flight than the first parts
 * held together, or than one part. */
static void test_parts_in_flight_growing(void **state)
{
    (void)state;
    fake_os f;
    const size_t part = 1024, len = 1024 + 2048 + 4096 + 8192 + 16384 + 16384 + 5000;
    fake_init(&f, part, 16 * 1024, 10, len);
    f.linger = 20 * 1000; /* each part takes 20 ms: the next ones start meanwhile */
    uint8_t *data = upload(&f, len, 777);
    assert_int_equal(f.over_limit, 0);
    assert_true(f.max_bytes <= 16 * 1024);
    assert_true(f.max_in_flight <= WD_OBJSTORE_PARTS_IN_FLIGHT);
    check_parts(&f, data, len, 7);
    free(data);
    fake_done(&f);
}

/* What the sink allows, from the sizes alone: 4 first parts, 2 of twice
 * the size, 1 of four times or more. */
static void test_parts_in_flight_schedule(void **state)
{
    (void)state;
    fake_os f;
    fake_init(&f, 1024, 16 * 1024, 10, 1);
    assert_int_equal(wd_objstore_parts_in_flight(&f.os, 1024), WD_OBJSTORE_PARTS_IN_FLIGHT);
    assert_int_equal(wd_objstore_parts_in_flight(&f.os, 2048), WD_OBJSTORE_PARTS_IN_FLIGHT / 2);
    assert_int_equal(wd_objstore_parts_in_flight(&f.os, 16 * 1024), 1);
    fake_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parts_in_flight_schedule),
        cmocka_unit_test(test_parts_in_flight_first_size),
        cmocka_unit_test(test_parts_in_flight_growing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
