/*
 * objstore_fake.c - see objstore_test.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "objstore_test.h"
#include "storage/storage.h"
#include "testutil.h"

char fake_log[1 << 16];
int fake_requests;
int fake_connections;
static size_t log_len;
static fake_step script[32];
static size_t nscript;
static int listen_fd = -1;
static volatile int stopping;
static pthread_t thread;
/* connection threads still running: fake_stop waits for them, so that a
 * test may free what its script points to once fake_stop returns */
static int live;
static int live_fds[256]; /* their sockets, -1 when free: fake_stop shuts them */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_cv = PTHREAD_COND_INITIALIZER;

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Serves one connection until the client closes it or a step closes it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void serve(int fd, char *buf, size_t bufsize)
{
    size_t have = 0;
    for (;;) {
        char *end;
        while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
            if (have == bufsize)
                return;
            ssize_t r = recv(fd, buf + have, bufsize - have, 0);
            if (r <= 0)
                return;
            have += (size_t)r;
        }
        size_t head = (size_t)(end - buf) + 4;
        size_t body = 0;
        for (char *p = buf; p < end; p = strstr(p, "\r\n") + 2)
            if (strncasecmp(p, "Content-Length:", 15) == 0)
                body = strtoul(p + 15, NULL, 10);
        pthread_mutex_lock(&lock);
        if (log_len + head < sizeof(fake_log)) {
            memcpy(fake_log + log_len, buf, head);
            log_len += head;
            fake_log[log_len] = '\0';
        }
        pthread_mutex_unlock(&lock);
        /* drop the body as it comes */
        size_t in = have - head < body ? have - head : body;
        size_t rest = body - in;
        memmove(buf, buf + head + in, have - head - in);
        have -= head + in;
        while (rest) {
            char tmp[65536];
            ssize_t r = recv(fd, tmp, rest < sizeof(tmp) ? rest : sizeof(tmp), 0);
            if (r <= 0)
                return;
            rest -= (size_t)r;
        }
        fake_step st = {FAKE_RESPOND, 200, NULL, NULL};
        pthread_mutex_lock(&lock);
        if ((size_t)fake_requests < nscript)
            st = script[fake_requests];
        fake_requests++;
        pthread_mutex_unlock(&lock);
        const char *b = st.body ? st.body : "";
        const char *extra = st.headers ? st.headers : "";
        /* the step's own ETag replaces the default one */
        bool etag = strncasecmp(extra, "ETag:", 5) == 0 || strcasestr(extra, "\nETag:");
        char hdr[512];
        int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s%s\r\n",
                         st.status, strlen(b), etag ? "" : "ETag: \"e\"\r\n", extra);
        switch (st.action) {
        case FAKE_CLOSE:
            return;
        case FAKE_HANG: {
            /* wait for the client to give up (EOF) or fake_stop (shutdown) */
            struct pollfd p = {.fd = fd, .events = POLLIN};
            char tmp[4096];
            while (poll(&p, 1, 10000) > 0 && recv(fd, tmp, sizeof(tmp), 0) > 0)
                ;
            return;
        }
        case FAKE_STALL:
            n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\nContent-Length: 1000\r\n\r\n",
                         st.status);
            send_all(fd, hdr, (size_t)n);
            sleep(3);
            return;
        case FAKE_TRUNCATE:
            send_all(fd, hdr, (size_t)n);
            send_all(fd, b, strlen(b) / 2);
            return;
        case FAKE_SLOW:
            sleep(1);
            /* fall through */
        case FAKE_RESPOND:
            send_all(fd, hdr, (size_t)n);
            send_all(fd, b, strlen(b));
            break;
        }
    }
}

static void *conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    size_t size = 1 << 20;
    char *buf = malloc(size);
    if (buf)
        serve(fd, buf, size);
    free(buf);
    pthread_mutex_lock(&live_mu);
    for (size_t i = 0; i < sizeof(live_fds) / sizeof(live_fds[0]); i++)
        if (live_fds[i] == fd)
            live_fds[i] = -1;
    close(fd);
    if (--live == 0)
        pthread_cond_broadcast(&live_cv);
    pthread_mutex_unlock(&live_mu);
    return NULL;
}

/* One thread per connection: a stalled one does not hold up the next. */
static void *run(void *arg)
{
    (void)arg;
    while (!stopping) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            break;
        pthread_t t;
        pthread_mutex_lock(&live_mu);
        live++;
        fake_connections++;
        for (size_t i = 0; i < sizeof(live_fds) / sizeof(live_fds[0]); i++)
            if (live_fds[i] < 0) {
                live_fds[i] = fd;
                break;
            }
        pthread_mutex_unlock(&live_mu);
        if (pthread_create(&t, NULL, conn, (void *)(intptr_t)fd) != 0) {
            pthread_mutex_lock(&live_mu);
            for (size_t i = 0; i < sizeof(live_fds) / sizeof(live_fds[0]); i++)
                if (live_fds[i] == fd)
                    live_fds[i] = -1;
            live--;
            pthread_mutex_unlock(&live_mu);
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

int fake_start(const fake_step *steps, size_t n)
{
    /* a test that failed before its fake_stop left the server running
     * (and maybe a client's connection open): stop it, or the next
     * fake_stop would wait for that connection forever */
    if (listen_fd >= 0)
        fake_stop();
    if (steps)
        memcpy(script, steps, n * sizeof(*steps));
    nscript = n;
    fake_requests = 0;
    fake_connections = 0;
    log_len = 0;
    fake_log[0] = '\0';
    stopping = 0;
    for (size_t i = 0; i < sizeof(live_fds) / sizeof(live_fds[0]); i++)
        live_fds[i] = -1;
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) || listen(listen_fd, 8))
        abort();
    socklen_t al = sizeof(a);
    getsockname(listen_fd, (struct sockaddr *)&a, &al);
    pthread_create(&thread, NULL, run, NULL);
    return ntohs(a.sin_port);
}

void fake_stop(void)
{
    stopping = 1;
    shutdown(listen_fd, SHUT_RDWR);
    close(listen_fd);
    pthread_join(thread, NULL);
    listen_fd = -1;
    /* connections a client keeps open for reuse end now */
    pthread_mutex_lock(&live_mu);
    for (size_t i = 0; i < sizeof(live_fds) / sizeof(live_fds[0]); i++)
        if (live_fds[i] >= 0)
            shutdown(live_fds[i], SHUT_RDWR);
    while (live > 0)
        pthread_cond_wait(&live_cv, &live_mu);
    pthread_mutex_unlock(&live_mu);
}

bool fake_header(const char *req, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *end = strstr(req, "\r\n\r\n");
    const char *p = strstr(req, "\r\n");
    for (; end && p && p < end; p = strstr(p, "\r\n")) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(strstr(v, "\r\n") - v), v);
            return true;
        }
    }
    return false;
}

/* the variables fake_env_clear unset, and their values before */
static const char *const *env_names;
static char *env_saved[WD_FAKE_ENV_MAX];
static size_t env_n;

void fake_env_clear(const char *const *names, size_t n)
{
    env_names = names;
    env_n = n < WD_FAKE_ENV_MAX ? n : WD_FAKE_ENV_MAX;
    for (size_t i = 0; i < env_n; i++) {
        const char *v = getenv(names[i]);
        env_saved[i] = v ? strdup(v) : NULL;
        unsetenv(names[i]);
    }
}

void fake_env_restore(void)
{
    for (size_t i = 0; i < env_n; i++) {
        if (env_saved[i])
            setenv(env_names[i], env_saved[i], 1);
        else
            unsetenv(env_names[i]);
        free(env_saved[i]);
        env_saved[i] = NULL;
    }
    env_n = 0;
}

void fake_head_x(const char *const *flags, size_t nflags, const char *const *opts, size_t nopts)
{
    walden_config *cfg;
    assert_ok(walden_config_new(&cfg));
    assert_ok(walden_config_set(cfg, "net-timeout", "5s", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(cfg, "net-retry-time", "2s", WALDEN_SOURCE_FLAG));
    for (size_t i = 0; i + 1 < nflags; i += 2)
        assert_ok(walden_config_set(cfg, flags[i], flags[i + 1], WALDEN_SOURCE_FLAG));
    for (size_t i = 0; i + 1 < nopts; i += 2)
        assert_ok(walden_config_set(cfg, opts[i], opts[i + 1], WALDEN_SOURCE_FILE));
    wd_storage *st;
    assert_ok(wd_storage_open(&st, cfg, false));
    bool exists;
    assert_ok(wd_storage_exists(st, "x", &exists));
    assert_true(exists);
    wd_storage_free(st);
    walden_config_free(cfg);
    fake_stop();
}
