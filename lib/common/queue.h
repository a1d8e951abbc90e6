/*
 * queue.h - a bounded queue between one producer and parallel workers.
 *
 * push blocks while the queue is full; pop blocks while it is empty and
 * not closed. close: the producer is done, pop drains what is left and then
 * returns false. cancel (a worker failed): push and pop return false at
 * once, also in threads blocked in them, and queued items are dropped.
 */
#ifndef WD_COMMON_QUEUE_H
#define WD_COMMON_QUEUE_H
#include <stdbool.h>
#include <stddef.h>

typedef struct wd_queue wd_queue;

int wd_queue_new(wd_queue **out, size_t item_size, size_t capacity);
void wd_queue_free(wd_queue *q);
/* Copies item in; false when the queue was cancelled. */
bool wd_queue_push(wd_queue *q, const void *item);
/* Copies the oldest item out; false when closed and drained, or cancelled. */
bool wd_queue_pop(wd_queue *q, void *item);
void wd_queue_close(wd_queue *q);
void wd_queue_cancel(wd_queue *q);
bool wd_queue_cancelled(wd_queue *q);
#endif
