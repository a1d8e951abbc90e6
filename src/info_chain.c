/*
 * info_chain.c - the backups `walden info` shows and their chains
 * (info_chain.h).
 */
#include "info_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int info_backups_add(const walden_backup_info *b, void *ctx)
{
    info_backups *r = ctx;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        info_backup *v = realloc(r->v, cap * sizeof(*v));
        if (!v)
            return WALDEN_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    info_backup *x = &r->v[r->n++];
    memset(x, 0, sizeof(*x));
    x->b = *b;
    snprintf(x->id, sizeof(x->id), "%s", b->id ? b->id : "");
    snprintf(x->type, sizeof(x->type), "%s", b->type ? b->type : "");
    snprintf(x->status, sizeof(x->status), "%s", b->status ? b->status : "");
    snprintf(x->reference, sizeof(x->reference), "%s", b->reference ? b->reference : "");
    snprintf(x->start_wal, sizeof(x->start_wal), "%s", b->start_wal ? b->start_wal : "");
    snprintf(x->stop_wal, sizeof(x->stop_wal), "%s", b->stop_wal ? b->stop_wal : "");
    x->b.id = x->id;
    x->b.type = x->type;
    x->b.status = x->status;
    x->b.reference = x->reference;
    x->b.start_wal = x->start_wal;
    x->b.stop_wal = x->stop_wal;
    x->b.compress = x->b.walden_version = "";
    return 0;
}

void info_backups_free(info_backups *r)
{
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
}

static long find_before(const info_backups *r, size_t before, const char *id)
{
    for (size_t j = before; j-- > 0;)
        if (strcmp(r->v[j].id, id) == 0)
            return (long)j;
    return -1;
}

size_t info_chain(const info_backups *r, size_t i, bool damaged, size_t *chain, char *why,
                  size_t why_cap)
{
    /* walk back to the full, writing the members from the end of chain[] */
    size_t n = 0, cur = i;
    why[0] = '\0';
    for (;;) {
        chain[r->n - 1 - n++] = cur;
        const info_backup *c = &r->v[cur];
        if (strcmp(c->type, "full") == 0)
            break;
        const char *who = cur == i ? "" : c->id;
        const char *sep = cur == i ? "" : "'s ";
        if (!*c->reference) {
            snprintf(why, why_cap, "%s%sno reference recorded (damaged summary)", who,
                     cur == i ? "" : ": ");
            break;
        }
        long p = find_before(r, cur, c->reference);
        if (p < 0) {
            bool later = find_before(r, r->n, c->reference) >= 0;
            snprintf(why, why_cap, "%s%sreference %s %s", who, sep, c->reference,
                     later     ? "is not older"
                     : damaged ? "is missing or damaged"
                               : "is missing");
            break;
        }
        cur = (size_t)p; /* older: the walk ends within r->n steps */
    }
    memmove(chain, chain + r->n - n, n * sizeof(*chain));
    return n;
}
