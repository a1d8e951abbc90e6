/*
 * manifest.h - the manifest of a backup and its summary.
 *
 * A backup BACKUP_ID lives in <cluster>/backup/BACKUP_ID/:
 *   data/PATH<ext>    every non-empty file, through the store pipeline
 *   parts/PATH/N<ext> part N of a file larger than part-size: large files
 *                     are stored in parts so that workers share them
 *   backup.manifest<ext> the list of everything, through the store pipeline
 *                     (compressed, encrypted); written last: a backup
 *                     without it does not exist and is removed later
 *   backup.stored     in clear text, the SHA-256 and size of every object
 *                     as stored (the manifest among them), so that verify
 *                     checks them without the key; written before the
 *                     manifest is committed, so every backup that has a
 *                     manifest has it (backups of older waldens excepted)
 *   backup.info       the summary in clear text (listing needs no key);
 *                     written after the manifest, rebuilt from it if lost
 *
 * The manifest is text (docs/repository-format.md):
 *   [backup]           name = value lines known at the start
 *   [files]            one line per directory, file or tablespace link:
 *                      TYPE MODE SIZE MTIME RAW_SHA256 STORED_SHA256
 *                      STORED_SIZE BAD_PAGES PATH [LINK | PART], tab-
 *                      separated, PATH and LINK escaped (\\ \t \n); a
 *                      file in parts has one 'p' line per part; format 2
 *                      adds HASH LAYERS MAP to file and part lines
 *                      (catalog/layers.h)
 *   delta/PATH<ext>, delta-parts/PATH/N<ext>
 *                      diff and incr: the blocks of a file or part that
 *                      changed since the backup referred to
 *   backup.blockmap<ext> format 2: the SHA-256 of every block of every
 *                      relation file, for the next diff or incr
 *   [end]              name = value lines known at the stop,
 *                      ending with "complete = yes"
 * Lines are written as files finish, so memory does not depend on the
 * number of files, and read back as a stream.
 */
#ifndef WD_CATALOG_MANIFEST_H
#define WD_CATALOG_MANIFEST_H
#include <stdbool.h>
#include <stdint.h>

#include "io/stream.h"
#include "walden/walden.h"

/* 2: incremental backups (references, layers, block maps) */
#define WD_MANIFEST_FORMAT 2
#define WD_BACKUP_DIR "backup"
/* followed by the compression's extension */
#define WD_MANIFEST_NAME "backup.manifest"
/* room for an escaped path */
#define PATH_MAX_ESCAPED 4096
/* the longest layer list and block map text a manifest line may have */
#define WD_LAYERS_TEXT_MAX 2048
#define WD_MAP_TEXT_MAX 16384
/* the longest [files] line */
#define WD_MANIFEST_LINE_MAX (3 * PATH_MAX_ESCAPED + WD_LAYERS_TEXT_MAX + WD_MAP_TEXT_MAX + 512)
/* The most a manifest may have (its text, before compression and
 * encryption): read back, it is spooled before its signature is checked,
 * and a longer one is refused as failing authentication. 1 GiB is some
 * 5 million files at 200 bytes a line; backup refuses to write more. */
#define WD_MANIFEST_MAX (1024ull * 1024 * 1024)

/* The summary: a walden_backup_info whose strings it owns. */
typedef struct wd_backup_meta {
    walden_backup_info pub;
    char id[32];
    char type[16];
    char status[16];
    char start_wal[25], stop_wal[25];
    char compress[16];
    char walden_version[32];
    char *pgdata;
    char *owner; /* user name owning the data directory */
    int data_checksums;
    uint64_t part_size; /* files larger than this are stored in parts */
    /* every transaction whose id (epoch-qualified) is below it had ended
     * before the backup's end; 0: not recorded (older backups) */
    uint64_t end_xmin;
    int format; /* the manifest's format: 1 (no block maps) or 2 */
    /* diff and incr: the backup this one refers to ("" for a full) */
    char reference[32];
    /* format 2: the block map's raw SHA-256 and size (0: none) */
    uint8_t blockmap_sha256[32];
    uint64_t blockmap_size;
    int complete;
} wd_backup_meta;

/* Points the public struct's strings at the meta's buffers. */
void wd_backup_meta_link(wd_backup_meta *m);
void wd_backup_meta_clear(wd_backup_meta *m);
/* Writes the [backup] (start) or [end] (stop) name = value lines. */
int wd_backup_meta_write_start(wd_pipe *p, const wd_backup_meta *m);
int wd_backup_meta_write_end(wd_pipe *p, const wd_backup_meta *m);
/* Applies one name = value line of either section; unknown names are
 * ignored (newer writers may add some). */
int wd_backup_meta_set(wd_backup_meta *m, const char *name, const char *value);
/* backup.info: both sections' lines as one text (malloc'ed). */
char *wd_backup_meta_text(const wd_backup_meta *m);

typedef struct wd_manifest_entry {
    char type; /* 'f' file, 'p' part of a file, 'd' folder, 'l' tablespace link */
    unsigned mode;
    uint64_t size;
    int64_t mtime;
    uint8_t raw_sha256[32];
    uint8_t stored_sha256[32];
    uint64_t stored_size;
    uint64_t bad_pages;
    const char *path;
    const char *link; /* "" unless 'l' */
    uint32_t part;    /* 'p': the part's number; it starts at part * part-size */
    /* format 2 ('f' and 'p'; 0 in format 1 lines): 'w' when raw_sha256 is
     * the SHA-256 of the content, 'b' when it is the SHA-256 of the
     * concatenated SHA-256 of every 8 KiB block (catalog/layers.h) */
    char hash;
    /* format 2: where the content comes from: "-" (this backup's own whole
     * object) or a layer list, and the block map ("-" or runs); see
     * catalog/layers.h. Point into the parsed line. */
    const char *layers;
    const char *map;
} wd_manifest_entry;

/* Where a file (part < 0) or a part of it is stored: "<backup>/data/PATH<ext>"
 * or "<backup>/parts/PATH/PART<ext>", `backup` being
 * "<cluster>/backup/<id>". Malloc'ed; NULL when out of memory. */
char *wd_backup_object(const char *backup, const char *path, int64_t part, wd_compress c);

/* Where a diff or incr stores the changed blocks of a file (part < 0) or a
 * part: "<backup>/delta/PATH<ext>" or "<backup>/delta-parts/PATH/PART<ext>".
 * Malloc'ed; NULL when out of memory. */
char *wd_backup_delta_object(const char *backup, const char *path, int64_t part, wd_compress c);

/* The same, relative to the backup's folder: "data/PATH<ext>" or
 * "parts/PATH/PART<ext>". Malloc'ed; NULL when out of memory. */
char *wd_backup_object_rel(const char *path, int64_t part, wd_compress c);

/* backup.stored (docs/repository-format.md):
 *   # comment, then name = value lines (format, id, encrypted)
 *   [objects]   STORED_SHA256 TAB STORED_SIZE TAB OBJECT, OBJECT relative to
 *               the backup's folder and escaped like manifest paths; in the
 *               order of the manifest's [files] lines that have an object,
 *               then the manifest itself
 *   [end]       complete = yes
 */
#define WD_STORED_NAME "backup.stored"
#define WD_STORED_FORMAT 1
/* Formats one [objects] line (with its newline); the length, or -1 when it
 * does not fit. */
int wd_stored_line_format(const uint8_t sha256[32], uint64_t size, const char *object, char *buf,
                          size_t cap);
/* Parses an [objects] line (without newline) in place: *object points into
 * `line`. WALDEN_ECORRUPT when it is not one or the object leaves the
 * backup's folder. */
int wd_stored_line_parse(char *line, uint8_t sha256[32], uint64_t *size, const char **object);

/* Formats one [files] line (with its newline) into buf; the length, or -1
 * when it does not fit. */
int wd_manifest_entry_format(const wd_manifest_entry *e, char *buf, size_t cap);
/* Parses a [files] line (without newline) in place: path and link point
 * into `line`. WALDEN_ECORRUPT when it is not one. */
int wd_manifest_entry_parse(char *line, wd_manifest_entry *e);
/* Checks a path from a manifest: relative, '/'-separated, no empty, "."
 * or ".." element. WALDEN_ECORRUPT naming it otherwise. */
int wd_manifest_path_check(const char *path);

/* A sink that splits what is written into lines and calls `cb` for each
 * (without the newline, NUL-terminated, writable). Lines longer than
 * `max_line` are WALDEN_ECORRUPT. The last line must end with a newline.
 * commit returns cb's first non-zero return, or 0. */
typedef int (*wd_line_cb)(char *line, size_t len, void *ctx);
int wd_line_sink_open(wd_sink **out, size_t max_line, wd_line_cb cb, void *ctx);
#endif
