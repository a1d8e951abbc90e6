/*
 * version.c - walden_version_text: walden's version, the libraries'
 * (common's wd_version_libraries) and libpq's, loaded at run time.
 *
 * The text is made once (pthread_once), so any thread may ask for it.
 */
#include <pthread.h>
#include <stdio.h>

#include "common/common.h"
#include "pg/libpq.h"

static char version_text[512];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void make_text(void)
{
    size_t n = wd_version_libraries(version_text, sizeof(version_text));
    const wd_libpq *lib = wd_libpq_get();
    int pq = lib ? lib->libVersion() : 0;
    snprintf(version_text + n, sizeof(version_text) - n, "libpq %d.%d%s\n", pq / 10000, pq % 100,
             lib ? "" : " (not loadable)");
}

const char *walden_version_text(void)
{
    pthread_once(&version_once, make_text);
    return version_text;
}
