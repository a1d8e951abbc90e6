/*
 * pool.c - worker threads behind a bounded queue (see pool.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "common/pool.h"
#include "common/queue.h"

#define MAX_WORKERS 64

struct wd_pool {
    wd_queue *queue;
    wd_pool_fn fn;
    void *ctx;
    size_t item_size, scratch_size;
    pthread_t threads[MAX_WORKERS];
    int started;
    bool finished;

    pthread_mutex_t mu;  /* guards what follows */
    pthread_cond_t idle; /* signalled when the last worker ends */
    int running;
    int error;
    char message[1024];
};

static void keep_error(wd_pool *p, int rc)
{
    pthread_mutex_lock(&p->mu);
    if (!p->error) {
        p->error = rc;
        snprintf(p->message, sizeof(p->message), "%s", walden_error_last()->message);
    }
    pthread_mutex_unlock(&p->mu);
    wd_queue_cancel(p->queue);
}

static void *work(void *arg)
{
    wd_pool *p = arg;
    void *item = wd_malloc(p->item_size);
    void *scratch = p->scratch_size ? wd_calloc(1, p->scratch_size) : NULL;
    if (!item || (p->scratch_size && !scratch))
        keep_error(p, WALDEN_ENOMEM);
    else
        while (wd_queue_pop(p->queue, item)) {
            int rc = p->fn(item, scratch, p->ctx);
            if (rc) {
                keep_error(p, rc);
                break;
            }
        }
    wd_free(item);
    wd_free(scratch);
    pthread_mutex_lock(&p->mu);
    if (--p->running == 0)
        pthread_cond_signal(&p->idle);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int wd_pool_start(wd_pool **out, int workers, size_t item_size, size_t queue_depth,
                  size_t scratch_size, wd_pool_fn fn, void *ctx)
{
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    wd_pool *p = wd_calloc(1, sizeof(*p));
    if (!p)
        return WALDEN_ENOMEM;
    int rc = wd_queue_new(&p->queue, item_size, queue_depth);
    if (rc) {
        wd_free(p);
        return rc;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->fn = fn;
    p->ctx = ctx;
    p->item_size = item_size;
    p->scratch_size = scratch_size;
    p->running = workers;
    for (; p->started < workers; p->started++)
        if (pthread_create(&p->threads[p->started], NULL, work, p) != 0)
            break;
    pthread_mutex_lock(&p->mu);
    p->running -= workers - p->started;
    pthread_mutex_unlock(&p->mu);
    if (p->started == 0) {
        rc = wd_error_set(WALDEN_ENOMEM, "cannot start worker threads");
        p->finished = true;
        wd_pool_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

bool wd_pool_push(wd_pool *p, const void *item)
{
    return wd_queue_push(p->queue, item);
}

int wd_pool_finish(wd_pool *p, bool cancel, void (*tick)(void *), void *tick_ctx)
{
    if (!p->finished) {
        if (cancel)
            wd_queue_cancel(p->queue);
        else
            wd_queue_close(p->queue);
        /* the workers' end wakes us at once; `tick` runs now and about
         * every 200 ms meanwhile */
        if (tick)
            tick(tick_ctx);
        pthread_mutex_lock(&p->mu);
        while (p->running > 0) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200 * 1000 * 1000;
            if (until.tv_nsec >= 1000 * 1000 * 1000) {
                until.tv_sec++;
                until.tv_nsec -= 1000 * 1000 * 1000;
            }
            if (pthread_cond_timedwait(&p->idle, &p->mu, &until) != 0 && p->running > 0 && tick) {
                pthread_mutex_unlock(&p->mu);
                tick(tick_ctx);
                pthread_mutex_lock(&p->mu);
            }
        }
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->started; i++)
            pthread_join(p->threads[i], NULL);
        p->finished = true;
    }
    if (p->error)
        return wd_error_set(p->error, "%s", p->message);
    return 0;
}

void wd_pool_free(wd_pool *p)
{
    if (!p)
        return;
    if (!p->finished)
        (void)wd_pool_finish(p, true, NULL, NULL);
    wd_queue_free(p->queue);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->mu);
    wd_free(p);
}
