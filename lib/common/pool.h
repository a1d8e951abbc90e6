/*
 * pool.h - worker threads fed through a bounded queue, for the parallel
 * commands (backup, restore): one producer pushes items, `workers` threads
 * pop them and call `fn`. The first failure is kept with its message and
 * cancels the queue; the producer learns of it when a push returns false,
 * and wd_pool_finish hands it to the calling thread as its last error, so
 * the message names the root cause.
 */
#ifndef WD_COMMON_POOL_H
#define WD_COMMON_POOL_H
#include <stdbool.h>
#include <stddef.h>

typedef struct wd_pool wd_pool;

/* Called in a worker for each item, with that worker's scratch buffer
 * (scratch_size bytes, allocated zeroed once per worker; NULL when 0). */
typedef int (*wd_pool_fn)(void *item, void *scratch, void *ctx);

int wd_pool_start(wd_pool **out, int workers, size_t item_size, size_t queue_depth,
                  size_t scratch_size, wd_pool_fn fn, void *ctx);
/* Copies item into the queue; false once a worker failed (or cancel). */
bool wd_pool_push(wd_pool *p, const void *item);
/* Stops taking items: without `cancel` the workers drain the queue first.
 * Waits for them, calling `tick` (when not NULL) at once and about every
 * 200 ms meanwhile, then returns the first failure (message set in this thread)
 * or 0. */
int wd_pool_finish(wd_pool *p, bool cancel, void (*tick)(void *), void *tick_ctx);
/* Frees a finished pool (finishing it with cancel first if needed). */
void wd_pool_free(wd_pool *p);
#endif
