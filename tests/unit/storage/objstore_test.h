/*
 * objstore_test.h - what the s3 and azure unit tests share: a scripted
 * HTTP server on 127.0.0.1 (a thread of the test) that records every
 * request and answers each with the next step of a script, to check what
 * walden sends (Content-Length, never chunked) and how it retries.
 */
#ifndef WALDEN_TEST_OBJSTORE_H
#define WALDEN_TEST_OBJSTORE_H

#include <stddef.h>

enum fake_action {
    FAKE_RESPOND,  /* status + body */
    FAKE_CLOSE,    /* read the request, close without answering */
    FAKE_STALL,    /* send the status line and headers (1000 bytes announced), then
                    * nothing for 3 s */
    FAKE_TRUNCATE, /* announce the body's length, send half, close */
    FAKE_SLOW      /* status + body after 1 s (the request read whole first) */
};

typedef struct fake_step {
    enum fake_action action;
    int status;
    const char *body;    /* NULL: empty */
    const char *headers; /* extra header lines, each ended by \r\n; NULL: none */
} fake_step;

/* Starts the server with a script (copied); returns its port. Requests
 * past the script's end get 200 with an empty body. */
int fake_start(const fake_step *steps, size_t n);
/* Stops it; the recorded request heads ("METHOD /path HTTP/1.1\r\n"
 * headers, each request ended by an empty line) stay in fake_log until the
 * next start. */
void fake_stop(void);
extern char fake_log[1 << 16];
extern int fake_requests;

#endif
