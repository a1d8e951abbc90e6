/*
 * objstore_test.h - what the s3 and azure unit tests share: a scripted
 * HTTP server on 127.0.0.1 (a thread of the test) that records every
 * request and answers each with the next step of a script, to check what
 * walden sends (Content-Length, never chunked) and how it retries.
 */
#ifndef WALDEN_TEST_OBJSTORE_H
#define WALDEN_TEST_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "walden/walden.h"

enum fake_action {
    FAKE_RESPOND,  /* status + body */
    FAKE_CLOSE,    /* read the request, close without answering */
    FAKE_STALL,    /* send the status line and headers (1000 bytes announced), then
                    * nothing for 3 s */
    FAKE_TRUNCATE, /* announce the body's length, send half, close */
    FAKE_SLOW,     /* status + body after 1 s (the request read whole first) */
    FAKE_HANG      /* read the request, answer nothing; close when the client does
                    * (or after 10 s) */
};

typedef struct fake_step {
    enum fake_action action;
    int status;
    const char *body;    /* NULL: empty */
    const char *headers; /* extra header lines, each ended by \r\n; NULL: none. Every
                          * answer has ETag: "e" unless these hold an ETag */
} fake_step;

/* Starts the server with a script (copied); returns its port. Requests
 * past the script's end get 200 with an empty body. A server still running
 * (a failed test) is stopped first. */
int fake_start(const fake_step *steps, size_t n);
/* Stops it; the recorded request heads ("METHOD /path HTTP/1.1\r\n"
 * headers, each request ended by an empty line) stay in fake_log until the
 * next start. */
void fake_stop(void);
extern char fake_log[1 << 16];
extern int fake_requests;
extern int fake_connections; /* accepted since fake_start */
/* The value of header `name` (any case) in the request head that starts
 * at `req` (a pointer into fake_log), copied into out; false: no such
 * header. */
bool fake_header(const char *req, const char *name, char *out, size_t cap);

/* Unsets the environment variables `names` (at most WD_FAKE_ENV_MAX) for
 * tests that set their own; fake_env_restore puts back what they held. */
#define WD_FAKE_ENV_MAX 16
void fake_env_clear(const char *const *names, size_t n);
void fake_env_restore(void);

/* Opens a storage as the CLI does (wd_storage_open) from a configuration of
 * `flags` (name, value, ...: command-line flags) and `opts` (the same, from
 * a file, so flags beat them), with net-timeout 5s and net-retry-time 2s;
 * asks whether "x" exists (one HEAD to the scripted server, which answers
 * 200), then frees the storage and stops the server. */
void fake_head_x(const char *const *flags, size_t nflags, const char *const *opts, size_t nopts);

#endif
