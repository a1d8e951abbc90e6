/*
 * common.h - what every libwalden module uses: error reporting, allocation,
 * logging and small string helpers. Internal: not installed.
 *
 * Errors: a failing function sets the per-thread last error where the
 * failure happens (wd_error_set) and returns the code; callers pass the code
 * up without touching the message, so the message names the root cause.
 */
#ifndef WD_COMMON_H
#define WD_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "walden/walden.h"

#define WD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define WD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors ---- */

/* Sets the last error of this thread and returns `code`. */
int wd_error_set(int code, const char *fmt, ...) WD_PRINTF(2, 3);
/* Like wd_error_set, appending ": strerror(errnum)"; the code is derived
 * from errnum (ENOENT: ENOTFOUND, ENOSPC: ENOSPC, EACCES/EPERM/EROFS: EPERM,
 * ENOMEM: ENOMEM, else EIO). */
int wd_error_set_errno(int errnum, const char *fmt, ...) WD_PRINTF(2, 3);
/* Like wd_error_set, appending the first entry of OpenSSL's error queue
 * (which it clears). */
int wd_error_set_openssl(int code, const char *fmt, ...) WD_PRINTF(2, 3);
/* Sets "<formatted text>: <previous message>" as the last error with `code`:
 * adds context to an error from a lower layer without losing its cause. */
int wd_error_wrap(int code, const char *fmt, ...) WD_PRINTF(2, 3);
/* Maps an errno value to a walden_error_code. */
int wd_errno_code(int errnum);

/* ---- the public API's contracts (walden.h's header comment) ---- */

/* Checks the version of a struct the caller allocated (its first field,
 * set with the struct's _INIT macro) and clears every other field: 0, or
 * WALDEN_EINVAL naming `type` when the version is 0 or newer than `known`.
 * When a release adds fields, `size` becomes the size of the caller's
 * version and the library writes the new fields only for callers of that
 * version. */
#define WD_RESULT_START(s, known, type)                                                            \
    wd_result_start((s), &(s)->version, sizeof(*(s)), (known), (type))
int wd_result_start(void *s, unsigned int *version, size_t size, unsigned int known,
                    const char *type);
/* A caller's callback returned `rc`: 0 goes on; a negative code is
 * returned as it is (the callback's failure, its message left alone); a
 * positive value becomes WALDEN_EUSER with a message, so that no public
 * function returns a positive value. */
int wd_callback_rc(int rc);

/* ---- allocation: one wrapper, so tests can make it fail ---- */

void *wd_malloc(size_t size);
void *wd_calloc(size_t n, size_t size);
void *wd_realloc(void *p, size_t size);
char *wd_strdup(const char *s);
char *wd_strndup(const char *s, size_t n);
void wd_free(void *p);
/* Frees a buffer that held a secret after wiping it. */
void wd_free_secret(void *p, size_t size);
/* Called whenever a secret (a passphrase, a private key, a secret option)
 * comes into memory: makes the process non-dumpable for the rest of its
 * life (prctl PR_SET_DUMPABLE 0), so a crash writes no core file with the
 * secret and other processes of the same user cannot ptrace it or read its
 * /proc/PID/mem and environ. */
void wd_secret_held(void);
/* Test hook: after `n` more successful allocations, fail them (-1: never). */
void wd_alloc_fail_after(long n);

/* Room for element `n` of an array of `cap` elements of `elem` bytes:
 * returns `v` when n < *cap, else the array grown to twice its size (at
 * least `first` elements) with *cap updated; NULL when out of memory (`v`
 * is then unchanged and still the caller's). */
void *wd_array_grow(void *v, size_t *cap, size_t n, size_t elem, size_t first);

/* malloc'ed printf; NULL (with the error set) when out of memory. */
char *wd_asprintf(const char *fmt, ...) WD_PRINTF(1, 2);

/* ---- a growing text buffer (buf.c) ---- */

/* The first allocation failure sticks: later calls do nothing and
 * wd_buf_take reports it. Start from {0}. */
typedef struct wd_buf {
    char *s;
    size_t len, cap;
    bool failed;
} wd_buf;
void wd_buf_printf(wd_buf *b, const char *fmt, ...) WD_PRINTF(2, 3);
/* A JSON string, escaped; NULL is null. */
void wd_buf_json_str(wd_buf *b, const char *s);
/* An ISO 8601 UTC time with milliseconds from Unix ms; <= 0 is null. */
void wd_buf_json_time(wd_buf *b, int64_t ms);
/* A Prometheus label value, escaped (\\, \", \n), without the quotes. */
void wd_buf_prom_label(wd_buf *b, const char *v);
/* The text (the caller frees it), or NULL with WALDEN_ENOMEM set when an
 * allocation failed; the buffer is empty afterwards. */
char *wd_buf_take(wd_buf *b);

/* ---- modes of the files walden creates (docs/security-local.md) ----
 * Set exactly, whatever the umask: a file created is fchmod'ed to its mode. */
#define WD_MODE_REPO_FILE 0640    /* repository objects (posix storage) */
#define WD_MODE_REPO_DIR 0750     /* repository folders (posix storage) */
#define WD_MODE_LOG_FILE 0640     /* log-file, when walden creates it */
#define WD_MODE_METRICS_FILE 0644 /* for node_exporter's textfile collector */
#define WD_MODE_REPORT_FILE 0640  /* the drill's JSON report */

/* ---- logging ---- */

void wd_log(walden_log_level level, const char *fmt, ...) WD_PRINTF(2, 3);
bool wd_log_enabled(walden_log_level level);
#define wd_log_error(...) wd_log(WALDEN_LOG_ERROR, __VA_ARGS__)
#define wd_log_warn(...) wd_log(WALDEN_LOG_WARN, __VA_ARGS__)
#define wd_log_info(...) wd_log(WALDEN_LOG_INFO, __VA_ARGS__)
#define wd_log_debug(...) wd_log(WALDEN_LOG_DEBUG, __VA_ARGS__)

/* ---- versions ---- */

/* "walden X.Y.Z" and the versions of zstd, zlib and OpenSSL, one per line,
 * into out (cut to fit); returns the length written. */
size_t wd_version_libraries(char *out, size_t cap);

/* ---- strings ---- */

/* Writes 2*len lowercase hex digits and a NUL into out (2*len+1 bytes). */
void wd_hex_encode(const uint8_t *in, size_t len, char *out);
/* Decodes exactly 2*len hex digits; WALDEN_EINVAL on anything else. */
int wd_hex_decode(const char *in, uint8_t *out, size_t len);
/* Joins a and b with exactly one '/' between them; NULL when out of memory. */
char *wd_path_join(const char *a, const char *b);
bool wd_str_starts_with(const char *s, const char *prefix);
/* Whether path is relative, '/'-separated, and has no empty, "." or ".."
 * element: it cannot name anything outside the folder it is joined to. */
bool wd_path_is_contained(const char *path);
/* Creates `path` and its missing parents with `mode`; an existing folder is
 * fine, anything else in the way is WALDEN_EINVAL. `path` is modified
 * temporarily. */
int wd_mkdir_p(char *path, unsigned mode);
bool wd_str_ends_with(const char *s, const char *suffix);
/* Parses a whole decimal string into an int64 within [min, max]. */
int wd_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Parses a whole decimal or 0x-hex string into a uint64. */
int wd_parse_uint64(const char *s, uint64_t *out);

/* ---- key = value text (config files and repository metadata) ---- */

/* Calls cb for each `name = value` line of text; blank lines and lines
 * starting with '#' are skipped; surrounding blanks are trimmed; a value may
 * be enclosed in double quotes. A line without '=' is WALDEN_EINVAL naming
 * `origin` and the line number. cb's non-zero return stops the walk. */
typedef int (*wd_kv_cb)(const char *name, const char *value, int line, void *ctx);
int wd_kv_parse(const char *text, size_t len, const char *origin, wd_kv_cb cb, void *ctx);

/* Reads a whole small file (at most max bytes) into a NUL-terminated buffer. */
int wd_file_read_all(const char *path, size_t max, char **out, size_t *len);

#endif
