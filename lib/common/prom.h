/*
 * prom.h - Prometheus' text exposition format, written once for every
 * metrics text walden makes (walden metrics, the drill's metrics file):
 * the HELP and TYPE lines, and samples whose labels are escaped.
 *
 * Every sample carries the label cluster="..." first; other labels follow
 * in the order given. The value is printed with the writer's format
 * ("%.15g" for walden metrics, "%.3f" for the drill's file): those bytes
 * are part of what the two commands promise, so the format is the
 * caller's.
 */
#ifndef WD_COMMON_PROM_H
#define WD_COMMON_PROM_H

#include "common/common.h"

typedef struct wd_prom {
    wd_buf b;            /* the text so far: take it with wd_buf_take */
    const char *prefix;  /* of every metric name, e.g. "walden_" */
    const char *cluster; /* the cluster label's value */
    int decimals;        /* of every value ("%.*f"); < 0: "%.15g" */
} wd_prom;

/* "# HELP <prefix><name> <help>" and "# TYPE <prefix><name> gauge". */
void wd_prom_head(wd_prom *m, const char *name, const char *help);
/* One sample: "<prefix><name>{cluster="...",k="v",...} <value>". `labels`
 * holds name, value pairs and ends with a NULL name; may be NULL. */
void wd_prom_sample(wd_prom *m, const char *name, const char *const *labels, double v);
/* A head and its one sample without extra labels. */
void wd_prom_gauge(wd_prom *m, const char *name, const char *help, double v);

#endif
