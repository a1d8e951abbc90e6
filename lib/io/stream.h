/*
 * stream.h - sources, sinks, filters and the pipeline that joins them.
 *
 * A source produces bytes (read), a sink consumes them and makes them
 * visible only at commit (write, commit, abort). Between them a pipeline
 * runs filters that all share one interface:
 *
 *   - a transform filter (compress, decompress, encrypt, decrypt) implements
 *     process(): it consumes from `in` and produces into `out`, never
 *     allocating per chunk; with `finish` set no more input will come and
 *     it flushes, returning WD_FILTER_DONE once everything is out;
 *   - an observe filter (hash, byte count) implements observe() and end():
 *     it sees the bytes that pass its place in the pipeline without copying.
 *
 * The pipeline owns one fixed output buffer per transform filter, so memory
 * does not depend on the size of what flows through. It is push-driven:
 * callers write() data in, as it arrives (a file read loop, a curl callback,
 * a pipe from pg_dump), then finish(). The first error latches: later calls
 * return it, and the sink is aborted (temp file removed, upload aborted).
 *
 * Store order (see docs/internals/pipeline.md): hash+size of raw bytes,
 * compress, encrypt, hash+size of stored bytes, sink.
 */
#ifndef WD_IO_STREAM_H
#define WD_IO_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- sources and sinks ---- */

typedef struct wd_source wd_source;
struct wd_source {
    /* Reads up to cap bytes; *n = 0 means end of stream. */
    int (*read)(wd_source *src, uint8_t *buf, size_t cap, size_t *n);
    /* Releases the source. */
    void (*close)(wd_source *src);
    /* Optional (NULL): a hint that the whole source will be read soon, so
     * its reading may start in the background (a local file's page cache
     * is filled while other sources are read). */
    void (*prefetch)(wd_source *src);
};

typedef struct wd_sink wd_sink;
struct wd_sink {
    int (*write)(wd_sink *sink, const uint8_t *buf, size_t len);
    /* Makes everything written durable and visible, then frees the sink.
     * On failure nothing becomes visible and the sink is freed as well. */
    int (*commit)(wd_sink *sink);
    /* Discards everything written and frees the sink. Never fails. */
    void (*abort)(wd_sink *sink);
    /* Like commit, but makes the data visible under `name`, a file name in
     * the folder given at open, chosen only now (archive-push names a WAL
     * file after the SHA-256 it learns while streaming). Every storage
     * driver's sinks implement it; NULL in sinks that have no name. */
    int (*commit_as)(wd_sink *sink, const char *name);
};

static inline int wd_source_read(wd_source *s, uint8_t *buf, size_t cap, size_t *n)
{
    return s->read(s, buf, cap, n);
}
static inline void wd_source_close(wd_source *s)
{
    if (s)
        s->close(s);
}
static inline void wd_source_prefetch(wd_source *s)
{
    if (s->prefetch)
        s->prefetch(s);
}

/* A local file read with a plain fd. */
int wd_file_source_open(wd_source **out, const char *path);
/* Like wd_file_source_open, for a file that must be a regular file: a
 * fifo, device, socket or folder at `path` is WALDEN_ECORRUPT at once,
 * without waiting (a fifo is opened non-blocking). */
int wd_file_source_open_regular(wd_source **out, const char *path);
/* Opens `path` read-only into *fd the same way (a plain blocking fd). */
int wd_file_open_regular(const char *path, int *fd);
/* A sink writing to a temp file next to `path` (same directory), fsync'd
 * and renamed over `path` at commit, then the directory fsync'd. */
int wd_file_sink_open(wd_sink **out, const char *path);
/* Flags of wd_file_sink_open_ex. */
#define WD_FILE_NOSYNC                                                                             \
    1u /* no fsync at commit: the caller syncs the file                                            \
        * system later (syncfs) before reporting success */
#define WD_FILE_DIRECT                                                                             \
    2u /* write `path` in place, created exclusively and                                           \
        * never through a symlink; abort removes it */
#define WD_FILE_WRITEBACK                                                                          \
    4u /* start the disk writing every few MiB (with                                               \
        * NOSYNC: the final sync has little left) */
#define WD_FILE_PART                                                                               \
    8u /* with DIRECT: one part of a file written by several                                       \
        * sinks: opened without O_EXCL, written from `offset`,                                     \
        * never removed */
/* wd_file_sink_open with flags and the mode of the new file. */
int wd_file_sink_open_ex(wd_sink **out, const char *path, unsigned flags, unsigned mode);
/* Gives the file a file sink writes (its temporary file, before commit)
 * owner `uid` and group `gid`. `s` must come from wd_file_sink_open(_ex). */
int wd_file_sink_chown(wd_sink *s, uid_t uid, gid_t gid);
/* A sink writing at `offset` of `path` (flags include WD_FILE_DIRECT |
 * WD_FILE_PART). The file must be a regular file if it exists. */
int wd_file_part_sink_open(wd_sink **out, const char *path, unsigned flags, unsigned mode,
                           uint64_t offset);
/* A WD_FILE_DIRECT sink (implied) writing `name`, one element, in the
 * folder open as `dirfd`: created exclusively and never through a
 * symlink, without walking a path (`display` names it in messages). With
 * WD_FILE_PART as wd_file_part_sink_open. `dirfd` is borrowed: it must stay
 * open until the sink's commit or abort (abort removes `name` there). */
int wd_file_sink_openat(wd_sink **out, int dirfd, const char *name, const char *display,
                        unsigned flags, unsigned mode, uint64_t offset);
/* Creates `name` (one element) in the folder open as `dirfd`, exclusively,
 * never through a symlink, with `mode` whatever the umask; with `part`, a
 * regular file already there is opened instead (the parts of a file share
 * it). The descriptor, open for writing, in *fd. */
int wd_file_create_at(int dirfd, const char *name, const char *display, unsigned mode, bool part,
                      int *fd);
/* Whether one syncfs() of the file system of `fd` makes durable what
 * write() put in it as surely as an fsync of each file would, errors
 * included: a local file system whose syncfs writes everything and waits
 * (ext4, xfs, btrfs; tmpfs), on Linux 5.17 or later, where syncfs reports
 * the write-back errors of the file system that happened after `fd` was
 * opened. Open `fd` before the writes it is to cover. */
int wd_syncfs_usable(int fd, const char *display, bool *usable);
/* syncfs(fd), its failure named after `display`. */
int wd_syncfs(int fd, const char *display);
/* A sink that keeps what is written in memory (tests, small metadata).
 * At commit the buffer is handed over: `*data` (free it with wd_free) and
 * `*len` are set; on abort they stay untouched. */
int wd_memory_sink_open(wd_sink **out, uint8_t **data, size_t *len);
/* fsyncs a directory, so that a rename or a new entry in it is durable. */
int wd_fsync_dir(const char *dir);
/* A sink that discards everything (verification: read, check, drop). */
int wd_null_sink_open(wd_sink **out);
/* Writes a whole text file atomically: temporary name, fsync, rename,
 * fsync of the folder (reports, metrics files). */
int wd_file_write_atomic(const char *path, const char *text, unsigned mode);
/* A sink writing to a descriptor the caller owns and closes (stdout, an
 * unnamed temporary file): commit and abort only free the sink. */
int wd_fd_sink_open(wd_sink **out, int fd);

/* ---- filters ---- */

#define WD_FILTER_DONE 1

typedef struct wd_filter wd_filter;
typedef struct wd_filter_ops {
    const char *name;
    /* Transform filters. Returns 0 (call again / feed more), WD_FILTER_DONE
     * (only with finish: fully flushed) or a negative error. Must make
     * progress: consume something or produce something, unless it is
     * waiting for more input and in_len was 0. */
    int (*process)(wd_filter *f, const uint8_t *in, size_t in_len, size_t *consumed, uint8_t *out,
                   size_t out_cap, size_t *produced, bool finish);
    /* Observe filters (process == NULL). */
    int (*observe)(wd_filter *f, const uint8_t *in, size_t len);
    /* Called once after the last byte: finalize results, or detect a
     * truncated input (e.g. a decompressor whose frame did not end). */
    int (*end)(wd_filter *f);
    void (*free)(wd_filter *f);
} wd_filter_ops;

struct wd_filter {
    const wd_filter_ops *ops;
};

void wd_filter_free(wd_filter *f);

/* One-shot SHA-256 of `len` bytes (what SHA256() gives, without its
 * fetch of the algorithm at every call). */
void wd_sha256(const void *data, size_t len, uint8_t out[32]);
/* SHA-256 and byte count of the bytes passing. */
int wd_hash_filter_new(wd_filter **out);
/* Counts the bytes passing, without a digest (it reads as zeros). */
int wd_count_filter_new(wd_filter **out);
/* Results, valid after the pipeline finished. */
void wd_hash_filter_result(const wd_filter *f, uint8_t sha256[32], uint64_t *bytes);
/* Makes end() fail with WALDEN_ECORRUPT (naming `what`) unless the bytes
 * that passed have this SHA-256: the pipeline then aborts its sink, so a
 * file that does not verify never becomes visible. `what` is copied. */
/* The SHA-256 of the bytes seen so far (the filter goes on): what a
 * signature line appended to the stream signs. */
int wd_hash_filter_peek(const wd_filter *f, uint8_t sha256[32]);
int wd_hash_filter_expect(wd_filter *f, const uint8_t sha256[32], const char *what);

/* Stops the stream with error `code` (a negative WALDEN_ code) as soon as
 * more than `max` bytes would pass, before they reach the next stage: the
 * sink never receives more than `max` bytes. With `exact`, end() also
 * fails unless exactly `max` bytes passed. `what` begins the message and
 * names the object ("archived 'X' failed authentication"); it is copied. */
int wd_limit_filter_new(wd_filter **out, uint64_t max, bool exact, int code, const char *what);
/* The bytes that passed so far. */
uint64_t wd_limit_filter_bytes(const wd_filter *f);
/* The most a stored object may have for `raw_max` bytes of content:
 * compression that cannot shrink (at most 1/64 more) and encryption's
 * framing (a header, then 20 bytes per 64 KiB record), with room to spare. */
static inline uint64_t wd_stored_max(uint64_t raw_max)
{
    return raw_max + raw_max / 64 + (1u << 20);
}

/* zstd: level 1..19 (0: zstd's default); workers > 0 compresses in
 * background threads. The frame carries zstd's content checksum. */
int wd_zstd_compress_new(wd_filter **out, int level, int workers);
int wd_zstd_decompress_new(wd_filter **out);
/* How many zstd contexts (either direction) this process made so far: a
 * freed filter's context is reused by its thread's next filter (tests). */
unsigned long wd_zstd_contexts_made(void);
/* gzip (RFC 1952) via zlib: level 1..9 (0: zlib's default). */
int wd_gzip_compress_new(wd_filter **out, int level);
int wd_gzip_decompress_new(wd_filter **out);

/* Compression types by name: "zstd", "gzip", "none". */
typedef enum { WD_COMPRESS_NONE = 0, WD_COMPRESS_ZSTD = 1, WD_COMPRESS_GZIP = 2 } wd_compress;
int wd_compress_parse(const char *name, wd_compress *out);
const char *wd_compress_name(wd_compress c);
/* The level used when none is configured: zstd 3, gzip 6 (none: 0). */
int wd_compress_default_level(wd_compress c);
/* File name extension with the dot (".zst", ".gz", "" for none). */
const char *wd_compress_ext(wd_compress c);
/* Filter for the type; *out = NULL for none. */
int wd_compress_filter_new(wd_filter **out, wd_compress c, int level);
int wd_decompress_filter_new(wd_filter **out, wd_compress c);

/* ---- the pipeline ---- */

typedef struct wd_pipe wd_pipe;

/* Size of each transform stage's output buffer. */
#define WD_PIPE_BUFFER (256 * 1024)

/* Takes ownership of `sink` (also on failure). */
int wd_pipe_new(wd_pipe **out, wd_sink *sink);
/* Appends a filter (in data order); takes ownership (also on failure). */
int wd_pipe_add(wd_pipe *p, wd_filter *f);
/* Pushes bytes through all filters into the sink. */
int wd_pipe_write(wd_pipe *p, const uint8_t *data, size_t len);
/* Flushes all filters and calls end() on each, leaving the sink open, so
 * the caller can look at the filters' results before committing. On error
 * the sink is aborted. Call once. */
int wd_pipe_end(wd_pipe *p);
/* After wd_pipe_end: commits the sink, under `name` when not NULL (see
 * wd_sink.commit_as). */
int wd_pipe_commit(wd_pipe *p, const char *name);
/* wd_pipe_end, then wd_pipe_commit(p, NULL). Call once. */
int wd_pipe_finish(wd_pipe *p);
/* Reads `src` to its end into the pipe (fixed buffer), then finishes. Does
 * not close src. */
int wd_pipe_copy(wd_pipe *p, wd_source *src);
/* Frees the pipe and its filters; aborts the sink if not committed. */
void wd_pipe_free(wd_pipe *p);

#endif
