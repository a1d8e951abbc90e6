/*
 * prom.c - the Prometheus text writer (see prom.h).
 */
#include "common/prom.h"

void wd_prom_head(wd_prom *m, const char *name, const char *help)
{
    wd_buf_printf(&m->b, "# HELP %s%s %s\n# TYPE %s%s gauge\n", m->prefix, name, help, m->prefix,
                  name);
}

void wd_prom_sample(wd_prom *m, const char *name, const char *const *labels, double v)
{
    wd_buf_printf(&m->b, "%s%s{cluster=\"", m->prefix, name);
    wd_buf_prom_label(&m->b, m->cluster);
    for (size_t i = 0; labels && labels[i]; i += 2) {
        wd_buf_printf(&m->b, "\",%s=\"", labels[i]);
        wd_buf_prom_label(&m->b, labels[i + 1]);
    }
    if (m->decimals < 0)
        wd_buf_printf(&m->b, "\"} %.15g\n", v);
    else
        wd_buf_printf(&m->b, "\"} %.*f\n", m->decimals, v);
}

void wd_prom_gauge(wd_prom *m, const char *name, const char *help, double v)
{
    wd_prom_head(m, name, help);
    wd_prom_sample(m, name, NULL, v);
}
