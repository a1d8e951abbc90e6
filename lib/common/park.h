/*
 * park.h - at most one object of each kind kept per thread for reuse.
 *
 * Some objects cost more to make than the work done with them on a small
 * file (a zstd context allocates and clears its window and tables; loading
 * an X25519 private key computes its public key). A thread that needs one
 * per file takes the one it parked when it finished the previous file,
 * and parks it again when done: one object of each kind per thread, never
 * more, so memory stays what one file in flight needs.
 *
 * The owner of a kind decides what makes a parked object safe to hand out
 * again (a reset, a check that it is the same key) and states it there;
 * this module only keeps and destroys. Parked objects are destroyed when
 * their thread ends, when the process exits (for the thread that calls
 * exit), and on wd_park_drain.
 */
#ifndef WD_COMMON_PARK_H
#define WD_COMMON_PARK_H

/* One per kind of object, static in its owner: its address is the kind. */
typedef struct wd_park_kind {
    void (*destroy)(void *obj);
} wd_park_kind;

/* The calling thread's parked object of `kind` (now the caller's), or NULL. */
void *wd_park_take(const wd_park_kind *kind);
/* Parks `obj` (NULL: nothing) for the calling thread; an object of the kind
 * already parked is destroyed. When the thread cannot park (no thread key,
 * all slots in use by other kinds), `obj` is destroyed at once. */
void wd_park_put(const wd_park_kind *kind, void *obj);
/* Destroys the calling thread's parked object of `kind` (NULL: of every
 * kind). */
void wd_park_drain(const wd_park_kind *kind);

#endif
