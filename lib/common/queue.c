/*
 * queue.c - a bounded multi-producer, multi-consumer queue of fixed-size
 * items, copied in and out. Parallel commands (backup, restore) put one
 * producer (a directory walk, a manifest read) in front of their workers
 * through it: the producer blocks when the workers fall behind, so memory
 * stays at capacity * item_size however many files there are.
 */
#include <pthread.h>
#include <string.h>

#include "common/common.h"
#include "common/queue.h"

struct wd_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    size_t item_size, cap, head, count;
    bool closed, cancelled;
    uint8_t *items;
};

int wd_queue_new(wd_queue **out, size_t item_size, size_t capacity)
{
    wd_queue *q = wd_calloc(1, sizeof(*q));
    if (!q)
        return WALDEN_ENOMEM;
    q->items = wd_malloc(item_size * capacity);
    if (!q->items) {
        wd_free(q);
        return WALDEN_ENOMEM;
    }
    q->item_size = item_size;
    q->cap = capacity;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    *out = q;
    return 0;
}

void wd_queue_free(wd_queue *q)
{
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    wd_free(q->items);
    wd_free(q);
}

bool wd_queue_push(wd_queue *q, const void *item)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == q->cap && !q->cancelled)
        pthread_cond_wait(&q->not_full, &q->mu);
    bool ok = !q->cancelled;
    if (ok) {
        memcpy(q->items + ((q->head + q->count) % q->cap) * q->item_size, item, q->item_size);
        q->count++;
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

bool wd_queue_pop(wd_queue *q, void *item)
{
    pthread_mutex_lock(&q->mu);
    while (q->count == 0 && !q->closed && !q->cancelled)
        pthread_cond_wait(&q->not_empty, &q->mu);
    bool ok = q->count > 0 && !q->cancelled;
    if (ok) {
        memcpy(item, q->items + q->head * q->item_size, q->item_size);
        q->head = (q->head + 1) % q->cap;
        q->count--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

void wd_queue_close(wd_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

void wd_queue_cancel(wd_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->cancelled = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

bool wd_queue_cancelled(wd_queue *q)
{
    pthread_mutex_lock(&q->mu);
    bool c = q->cancelled;
    pthread_mutex_unlock(&q->mu);
    return c;
}
