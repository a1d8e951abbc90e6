/*
 * libpq.c - loads libpq on first use (see libpq.h). Thread-safe through
 * pthread_once; the library stays loaded until the process ends. A table a
 * unit test installed (wd_libpq_set) is handed out instead.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "common/common.h"
#include "pg/libpq.h"

static wd_libpq pq;
static int pq_loaded;
static char pq_error[256];
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static const wd_libpq *pq_fake;

static void load(void)
{
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(pq_error, sizeof(pq_error), "%s", dlerror());
        return;
    }
    struct {
        void **slot;
        const char *name;
    } syms[] = {
        {(void **)&pq.connectdbParams, "PQconnectdbParams"},
        {(void **)&pq.status, "PQstatus"},
        {(void **)&pq.errorMessage, "PQerrorMessage"},
        {(void **)&pq.exec, "PQexec"},
        {(void **)&pq.execParams, "PQexecParams"},
        {(void **)&pq.resultStatus, "PQresultStatus"},
        {(void **)&pq.ntuples, "PQntuples"},
        {(void **)&pq.nfields, "PQnfields"},
        {(void **)&pq.getvalue, "PQgetvalue"},
        {(void **)&pq.getisnull, "PQgetisnull"},
        {(void **)&pq.clear, "PQclear"},
        {(void **)&pq.finish, "PQfinish"},
        {(void **)&pq.libVersion, "PQlibVersion"},
        {(void **)&pq.serverVersion, "PQserverVersion"},
        {(void **)&pq.sendQuery, "PQsendQuery"},
        {(void **)&pq.getResult, "PQgetResult"},
        {(void **)&pq.ftype, "PQftype"},
        {(void **)&pq.pingParams, "PQpingParams"},
        {(void **)&pq.resultErrorMessage, "PQresultErrorMessage"},
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(syms); i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(pq_error, sizeof(pq_error), "libpq.so.5 has no %s", syms[i].name);
            return;
        }
    }
    pq_loaded = 1;
}

void wd_libpq_set(const wd_libpq *fake)
{
    pq_fake = fake;
}

const wd_libpq *wd_libpq_get(void)
{
    if (pq_fake)
        return pq_fake;
    pthread_once(&pq_once, load);
    if (!pq_loaded) {
        wd_error_set(WALDEN_EPG, "cannot load libpq: %s", pq_error);
        return NULL;
    }
    return &pq;
}
