/*
 * test_manifest.c - catalog/manifest.c: [files] lines, path checks, the
 * summary text, and the line sink.
 */
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/manifest.h"
#include "common/common.h"
#include "testutil.h"

static void test_entry_round_trip(void **state)
{
    (void)state;
    const char *paths[] = {"base/5/16384", "a b/c",       "tab\there",
                           "new\nline",    "back\\slash", "ünïcødé/файл"};
    for (size_t i = 0; i < WD_ARRAY_LEN(paths); i++) {
        wd_manifest_entry e = {.type = 'f',
                               .mode = 0640,
                               .size = 123456789012ull,
                               .mtime = -5,
                               .stored_size = 42,
                               .bad_pages = 3,
                               .path = paths[i],
                               .link = ""};
        tu_fill(e.raw_sha256, 32, (uint32_t)i, 0);
        tu_fill(e.stored_sha256, 32, (uint32_t)i + 100, 0);
        char line[8192];
        int n = wd_manifest_entry_format(&e, line, sizeof(line));
        assert_true(n > 0);
        assert_int_equal(line[n - 1], '\n');
        line[n - 1] = '\0';
        assert_null(strchr(line, '\n')); /* one line whatever the name */
        wd_manifest_entry back;
        assert_ok(wd_manifest_entry_parse(line, &back));
        assert_int_equal(back.type, 'f');
        assert_int_equal(back.mode, 0640);
        assert_int_equal(back.size, 123456789012ull);
        assert_int_equal(back.mtime, -5);
        assert_int_equal(back.stored_size, 42);
        assert_int_equal(back.bad_pages, 3);
        assert_memory_equal(back.raw_sha256, e.raw_sha256, 32);
        assert_memory_equal(back.stored_sha256, e.stored_sha256, 32);
        assert_string_equal(back.path, paths[i]);
        assert_string_equal(back.link, "");
    }
    wd_manifest_entry p = {
        .type = 'p', .mode = 0600, .size = 67108864, .path = "base/5/16384", .link = "", .part = 7};
    char pline[8192];
    int pn = wd_manifest_entry_format(&p, pline, sizeof(pline));
    assert_true(pn > 0);
    pline[pn - 1] = '\0';
    wd_manifest_entry pback;
    assert_ok(wd_manifest_entry_parse(pline, &pback));
    assert_int_equal(pback.type, 'p');
    assert_int_equal(pback.part, 7);
    assert_int_equal(pback.size, 67108864);
    assert_string_equal(pback.path, "base/5/16384");
    wd_manifest_entry l = {
        .type = 'l', .mode = 0777, .path = "pg_tblspc/16385", .link = "/srv/ts\tone"};
    char line[8192];
    int n = wd_manifest_entry_format(&l, line, sizeof(line));
    line[n - 1] = '\0';
    wd_manifest_entry back;
    assert_ok(wd_manifest_entry_parse(line, &back));
    assert_int_equal(back.type, 'l');
    assert_string_equal(back.link, "/srv/ts\tone");
}

static void test_bad_lines(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "x\t0600\t1\t1\t-\t-\t0\t0\tpath",
        "f\t0600\t1\t1\tnothex\t-\t0\t0\tpath",
        "d\t0600\t1\t1\t-\t-\t0\t0",               /* no path */
        "d\t9999\t1\t1\t-\t-\t0\t0\tpath",         /* mode not octal */
        "d\t0700\tx\t1\t-\t-\t0\t0\tpath",         /* size */
        "l\t0777\t0\t0\t-\t-\t0\t0\tpg_tblspc/1",  /* link without target */
        "p\t0600\t1\t1\t-\t-\t0\t0\tbase/1",       /* part without number */
        "d\t0700\t0\t0\t-\t-\t0\t0\tpath\textra",  /* extra field */
        "d\t0700\t0\t0\t-\t-\t0\t0\tbad\\xescape", /* unknown escape */
        "d\t0700\t0\t0\t-\t-\t0\t0\t../up",        /* unsafe paths */
        "d\t0700\t0\t0\t-\t-\t0\t0\t/abs",
        "d\t0700\t0\t0\t-\t-\t0\t0\ta//b",
        "d\t0700\t0\t0\t-\t-\t0\t0\ta/./b",
        "d\t0700\t0\t0\t-\t-\t0\t0\ta/..",
        "d\t0700\t0\t0\t-\t-\t0\t0\tnew\\n..", /* fine name... */
    };
    for (size_t i = 0; i + 1 < WD_ARRAY_LEN(bad); i++) {
        char line[256];
        snprintf(line, sizeof(line), "%s", bad[i]);
        wd_manifest_entry e;
        assert_rc(wd_manifest_entry_parse(line, &e), WALDEN_ECORRUPT);
    }
    /* an escaped newline followed by dots is a name, not ".." */
    char line[256];
    snprintf(line, sizeof(line), "%s", bad[WD_ARRAY_LEN(bad) - 1]);
    wd_manifest_entry e;
    assert_ok(wd_manifest_entry_parse(line, &e));
    assert_string_equal(e.path, "new\n..");
}

static int kv(const char *name, const char *value, int line, void *ctx)
{
    (void)line;
    return wd_backup_meta_set(ctx, name, value);
}

static void test_summary_round_trip(void **state)
{
    (void)state;
    wd_backup_meta m = {0};
    snprintf(m.id, sizeof(m.id), "20261123T101502Z");
    snprintf(m.type, sizeof(m.type), "full");
    snprintf(m.status, sizeof(m.status), "errors");
    snprintf(m.start_wal, sizeof(m.start_wal), "000000010000000000000004");
    snprintf(m.stop_wal, sizeof(m.stop_wal), "000000010000000000000006");
    snprintf(m.compress, sizeof(m.compress), "zstd");
    snprintf(m.walden_version, sizeof(m.walden_version), "0.1.0");
    m.pgdata = wd_strdup("/var/lib/postgresql/15/main");
    m.owner = wd_strdup("postgres");
    m.data_checksums = 1;
    m.pub.system_id = 7300000000000000001ull;
    m.pub.pg_version = 150020;
    m.pub.encrypted = 1;
    m.pub.timeline = 3;
    m.pub.start_lsn = 0x4000028;
    m.pub.stop_lsn = 0x100000138ull;
    m.pub.start_time_ms = 1795000000123;
    m.pub.stop_time_ms = 1795000009999;
    m.pub.file_count = 986;
    m.pub.size = 55000000;
    m.pub.stored_size = 4700000;
    m.pub.page_errors = 2;
    snprintf(m.reference, sizeof(m.reference), "20261205T010203Z");
    m.blockmap_size = 123456;
    memset(m.blockmap_sha256, 0xab, 32);
    wd_backup_meta_link(&m);
    char *text = wd_backup_meta_text(&m);
    assert_non_null(text);
    assert_non_null(strstr(text, "start-lsn = 0/4000028\n"));
    assert_non_null(strstr(text, "stop-lsn = 1/138\n"));
    wd_backup_meta back = {0};
    assert_ok(wd_kv_parse(text, strlen(text), "test", kv, &back));
    assert_true(back.complete);
    assert_string_equal(back.pub.id, m.id);
    assert_string_equal(back.pub.status, "errors");
    assert_string_equal(back.pub.start_wal, m.start_wal);
    assert_string_equal(back.pub.stop_wal, m.stop_wal);
    assert_string_equal(back.pgdata, m.pgdata);
    assert_string_equal(back.owner, "postgres");
    assert_int_equal(back.pub.system_id, m.pub.system_id);
    assert_int_equal(back.pub.pg_version, 150020);
    assert_int_equal(back.pub.timeline, 3);
    assert_int_equal(back.pub.start_lsn, m.pub.start_lsn);
    assert_int_equal(back.pub.stop_lsn, m.pub.stop_lsn);
    assert_int_equal(back.pub.start_time_ms, m.pub.start_time_ms);
    assert_int_equal(back.pub.stop_time_ms, m.pub.stop_time_ms);
    assert_int_equal(back.pub.file_count, 986);
    assert_int_equal(back.pub.size, 55000000);
    assert_int_equal(back.pub.stored_size, 4700000);
    assert_int_equal(back.pub.page_errors, 2);
    assert_true(back.pub.encrypted);
    assert_true(back.data_checksums);
    assert_int_equal(back.format, WD_MANIFEST_FORMAT);
    assert_string_equal(back.pub.reference, "20261205T010203Z");
    assert_int_equal(back.blockmap_size, 123456);
    assert_memory_equal(back.blockmap_sha256, m.blockmap_sha256, 32);
    /* a newer format is refused, not misread */
    assert_rc(wd_backup_meta_set(&back, "format", "3"), WALDEN_EVERSION);
    assert_rc(wd_backup_meta_set(&back, "format", "0"), WALDEN_ECORRUPT);
    assert_rc(wd_backup_meta_set(&back, "start-lsn", "nonsense"), WALDEN_ECORRUPT);
    assert_ok(wd_backup_meta_set(&back, "some-future-field", "x"));
    wd_free(text);
    wd_backup_meta_clear(&m);
    wd_backup_meta_clear(&back);
}

typedef struct lines {
    char got[8][64];
    int n;
} lines;

static int on_line(char *line, size_t len, void *ctx)
{
    lines *l = ctx;
    assert_int_equal(strlen(line), len);
    snprintf(l->got[l->n++], 64, "%s", line);
    return 0;
}

static void test_line_sink(void **state)
{
    (void)state;
    const char *text = "one\ntwo\n\nthree four\n";
    /* written in every split, the same lines come out */
    for (size_t step = 1; step <= strlen(text); step++) {
        lines l = {0};
        wd_sink *s;
        assert_ok(wd_line_sink_open(&s, 32, on_line, &l));
        for (size_t off = 0; off < strlen(text); off += step) {
            size_t n = strlen(text) - off < step ? strlen(text) - off : step;
            assert_ok(s->write(s, (const uint8_t *)text + off, n));
        }
        assert_ok(s->commit(s));
        assert_int_equal(l.n, 4);
        assert_string_equal(l.got[0], "one");
        assert_string_equal(l.got[2], "");
        assert_string_equal(l.got[3], "three four");
    }
    lines l = {0};
    wd_sink *s;
    assert_ok(wd_line_sink_open(&s, 32, on_line, &l));
    assert_ok(s->write(s, (const uint8_t *)"partial", 7));
    assert_rc(s->commit(s), WALDEN_ECORRUPT); /* no final newline: truncated */
    assert_ok(wd_line_sink_open(&s, 4, on_line, &l));
    assert_rc(s->write(s, (const uint8_t *)"toolong\n", 8), WALDEN_ECORRUPT);
    s->abort(s);
}

/* backup.stored lines: objects named as the backup names them, escaped,
 * and nothing that leaves the backup's folder. */
static void test_stored_lines(void **state)
{
    (void)state;
    const char *paths[] = {"base/5/16384", "tab\there", "new\nline", "back\\slash"};
    for (size_t i = 0; i < WD_ARRAY_LEN(paths); i++) {
        for (int64_t part = -1; part < 2; part++) {
            char *rel = wd_backup_object_rel(paths[i], part, WD_COMPRESS_ZSTD);
            char *full = wd_backup_object("main/backup/X", paths[i], part, WD_COMPRESS_ZSTD);
            assert_non_null(rel);
            assert_non_null(full);
            assert_true(strlen(full) > strlen(rel));
            assert_string_equal(full + strlen(full) - strlen(rel), rel);
            uint8_t sha[32], got_sha[32];
            tu_fill(sha, 32, (uint32_t)i, 0);
            char line[8192];
            int n = wd_stored_line_format(sha, 987654321ull, rel, line, sizeof(line));
            assert_true(n > 0);
            assert_int_equal(line[n - 1], '\n');
            assert_int_equal(strchr(line, '\n'), line + n - 1); /* one line */
            line[n - 1] = '\0';
            uint64_t size = 0;
            const char *obj = NULL;
            assert_ok(wd_stored_line_parse(line, got_sha, &size, &obj));
            assert_memory_equal(got_sha, sha, 32);
            assert_int_equal(size, 987654321ull);
            assert_string_equal(obj, rel);
            wd_free(rel);
            wd_free(full);
        }
    }
    char tiny[16];
    uint8_t sha[32] = {0};
    assert_int_equal(wd_stored_line_format(sha, 1, "data/x", tiny, sizeof(tiny)), -1);
    const char *bad[] = {
        "",
        "abc\t1\tdata/x",
        "0000000000000000000000000000000000000000000000000000000000000000\tx\tdata/x",
        "0000000000000000000000000000000000000000000000000000000000000000\t1",
        "0000000000000000000000000000000000000000000000000000000000000000\t1\tdata/x\textra",
        "0000000000000000000000000000000000000000000000000000000000000000\t1\t../escape",
        "0000000000000000000000000000000000000000000000000000000000000000\t1\t/etc/passwd",
        "0000000000000000000000000000000000000000000000000000000000000000\t1\tdata/../../x",
        "0000000000000000000000000000000000000000000000000000000000000000\t1\t",
        "0000000000000000000000000000000000000000000000000000000000000000\t1\tbad\\qescape",
    };
    for (size_t i = 0; i < WD_ARRAY_LEN(bad); i++) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", bad[i]);
        uint64_t size;
        const char *obj;
        assert_int_equal(wd_stored_line_parse(buf, sha, &size, &obj), WALDEN_ECORRUPT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entry_round_trip),   cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_summary_round_trip), cmocka_unit_test(test_line_sink),
        cmocka_unit_test(test_stored_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
