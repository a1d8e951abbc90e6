/*
 * park.c - per-thread parking of reusable objects (contract in park.h).
 *
 * The slots are thread-local. A pthread key, whose value is set the first
 * time a thread parks something, makes its destructor run when that thread
 * ends: it destroys what the thread parked, so a pool's workers leave
 * nothing behind (AddressSanitizer's leak check sees no leak). Key
 * destructors do not run for the thread that calls exit(): an atexit
 * handler destroys that thread's objects.
 *
 * Order at exit matters: objects that hold OpenSSL keys must be destroyed
 * before OpenSSL's own atexit cleanup frees its providers. Handlers run in
 * the reverse order of their registration, so OpenSSL is initialised (which
 * registers its cleanup) before this module registers its handler.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "common/park.h"

#define SLOTS 4 /* kinds a thread may park at once; more than walden has */

typedef struct slot {
    const wd_park_kind *kind;
    void *obj;
} slot;

static _Thread_local slot slots[SLOTS];
static _Thread_local bool registered; /* the key's value is set */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static bool key_ok;

static void drain_slots(slot *s, const wd_park_kind *kind)
{
    for (int i = 0; i < SLOTS; i++) {
        if (!s[i].kind || (kind && s[i].kind != kind))
            continue;
        void *obj = s[i].obj;
        const wd_park_kind *k = s[i].kind;
        s[i].kind = NULL;
        s[i].obj = NULL;
        k->destroy(obj);
    }
}

static void thread_end(void *value)
{
    drain_slots(value, NULL);
    /* the key's value is NULL now: an object parked by a later destructor
     * sets it again, so that it is destroyed too */
    registered = false;
}

static void process_end(void)
{
    drain_slots(slots, NULL);
}

static void init(void)
{
    key_ok = pthread_key_create(&key, thread_end) == 0;
    (void)OPENSSL_init_crypto(0, NULL);
    if (key_ok && atexit(process_end) != 0)
        key_ok = false;
}

void *wd_park_take(const wd_park_kind *kind)
{
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].kind == kind) {
            void *obj = slots[i].obj;
            slots[i].kind = NULL;
            slots[i].obj = NULL;
            return obj;
        }
    }
    return NULL;
}

void wd_park_put(const wd_park_kind *kind, void *obj)
{
    if (!obj)
        return;
    pthread_once(&once, init);
    if (key_ok && !registered)
        registered = pthread_setspecific(key, slots) == 0;
    slot *free_slot = NULL;
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].kind == kind) {
            kind->destroy(slots[i].obj);
            slots[i].obj = obj;
            return;
        }
        if (!slots[i].kind && !free_slot)
            free_slot = &slots[i];
    }
    if (!registered || !free_slot) {
        kind->destroy(obj);
        return;
    }
    free_slot->kind = kind;
    free_slot->obj = obj;
}

void wd_park_drain(const wd_park_kind *kind)
{
    drain_slots(slots, kind);
}
