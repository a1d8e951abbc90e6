/*
 * test_dumps.c - catalog/dumps.c: the dump manifest written and read
 * back, and what a reader refuses.
 */
#include <stdio.h>
#include <string.h>

#include "catalog/catalog.h"
#include "common/common.h"
#include "testutil.h"

static void fill(wd_dump_meta *m)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->id, sizeof(m->id), "20261129T041502Z-other_db");
    snprintf(m->kind, sizeof(m->kind), "database");
    m->database = wd_strdup("other \"db\"");
    snprintf(m->status, sizeof(m->status), "failed");
    m->error = wd_strdup("pg_dump of database 'other \"db\"' failed:\nline two");
    snprintf(m->pg_dump_version, sizeof(m->pg_dump_version), "pg_dump (PostgreSQL) 15.8");
    snprintf(m->compress, sizeof(m->compress), "gzip");
    snprintf(m->walden_version, sizeof(m->walden_version), "0.1.0");
    m->pub.system_id = 7445566778899001122ull;
    m->pub.pg_version = 150008;
    m->pub.encrypted = 1;
    m->pub.start_time_ms = 1795000000123;
    m->pub.stop_time_ms = 1795000009876;
    m->pub.size = 123456789;
    m->pub.stored_size = 2345678;
    for (int i = 0; i < 32; i++) {
        m->raw_sha256[i] = (uint8_t)i;
        m->stored_sha256[i] = (uint8_t)(255 - i);
    }
    wd_dump_meta_link(m);
}

static void test_round_trip(void **state)
{
    (void)state;
    wd_dump_meta a, b;
    fill(&a);
    char *text = wd_dump_meta_text(&a);
    assert_non_null(text);
    memset(&b, 0, sizeof(b));
    assert_ok(wd_dump_meta_parse(&b, text, strlen(text), a.id));
    assert_string_equal(b.pub.id, a.id);
    assert_string_equal(b.pub.kind, "database");
    assert_string_equal(b.pub.database, "other \"db\"");
    assert_string_equal(b.pub.status, "failed");
    /* one line: the newline became a blank */
    assert_string_equal(b.pub.error, "pg_dump of database 'other \"db\"' failed: line two");
    assert_string_equal(b.pub.pg_dump_version, "pg_dump (PostgreSQL) 15.8");
    assert_string_equal(b.pub.compress, "gzip");
    assert_true(b.pub.system_id == a.pub.system_id);
    assert_int_equal(b.pub.pg_version, 150008);
    assert_int_equal(b.pub.encrypted, 1);
    assert_true(b.pub.start_time_ms == a.pub.start_time_ms);
    assert_true(b.pub.stop_time_ms == a.pub.stop_time_ms);
    assert_true(b.pub.size == 123456789);
    assert_true(b.pub.stored_size == 2345678);
    assert_memory_equal(b.raw_sha256, a.raw_sha256, 32);
    assert_memory_equal(b.stored_sha256, a.stored_sha256, 32);
    wd_free(text);
    wd_dump_meta_clear(&a);
    wd_dump_meta_clear(&b);
}

/* Replaces the first `from` in the manifest text with `to`, parses it. */
static int parse_edited(const char *from, const char *to, const char *id)
{
    wd_dump_meta a, b;
    fill(&a);
    char *text = wd_dump_meta_text(&a);
    char *at = strstr(text, from);
    assert_non_null(at);
    char *edited = wd_asprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    memset(&b, 0, sizeof(b));
    int rc = wd_dump_meta_parse(&b, edited, strlen(edited), id);
    wd_free(edited);
    wd_free(text);
    wd_dump_meta_clear(&a);
    wd_dump_meta_clear(&b);
    return rc;
}

static void test_refused(void **state)
{
    (void)state;
    const char *id = "20261129T041502Z-other_db";
    assert_ok(parse_edited("kind = database", "kind = database", id));
    /* unfinished: no final line */
    assert_rc(parse_edited("complete = yes\n", "", id), WALDEN_ECORRUPT);
    assert_non_null(strstr(walden_error_last()->message, "incomplete"));
    /* a manifest copied from another dump */
    assert_rc(parse_edited("", "", "20261129T041502Z-app"), WALDEN_ECORRUPT);
    assert_non_null(strstr(walden_error_last()->message, "names dump"));
    assert_rc(parse_edited("kind = database", "kind = table", id), WALDEN_ECORRUPT);
    assert_rc(parse_edited("format = 1", "format = 99", id), WALDEN_EVERSION);
    assert_rc(parse_edited("size = 123456789", "size = lots", id), WALDEN_ECORRUPT);
    assert_rc(parse_edited("raw-sha256 = 00", "raw-sha256 = zz", id), WALDEN_ECORRUPT);
    assert_rc(parse_edited("complete = yes\n", "complete = yes\nsize = 1\n", id), WALDEN_ECORRUPT);
    /* names a newer walden may add are skipped */
    assert_ok(parse_edited("complete = yes", "future-field = 1\ncomplete = yes", id));
}

static void test_object_path(void **state)
{
    (void)state;
    walden_repo repo;
    memset(&repo, 0, sizeof(repo));
    repo.cluster = "main";
    wd_dump_meta m;
    fill(&m);
    char *p = wd_dump_object(&repo, &m);
    assert_string_equal(p, "main/dump/20261129T041502Z-other_db/dump.pgdump.gz");
    wd_free(p);
    snprintf(m.kind, sizeof(m.kind), "globals");
    snprintf(m.compress, sizeof(m.compress), "zstd");
    p = wd_dump_object(&repo, &m);
    assert_string_equal(p, "main/dump/20261129T041502Z-other_db/globals.sql.zst");
    wd_free(p);
    snprintf(m.compress, sizeof(m.compress), "lz9");
    assert_null(wd_dump_object(&repo, &m));
    wd_dump_meta_clear(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_object_path),
    };
    walden_log_set_level(WALDEN_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
