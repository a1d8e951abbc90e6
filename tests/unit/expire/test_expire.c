/*
 * test_expire.c - expire/expire.c: the catalogue handed to the retention
 * engine with each backup's type and reference, and the plan applied, on a
 * real area in a temporary directory whose backups are written by hand
 * (a signed backup.info and an empty manifest: expire reads nothing more).
 * Nothing a kept backup depends on goes; a chain whose full is gone stays
 * while inside the window and says so; a damaged full, or an incr that
 * names no reference, stops expire before anything is deleted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog.h"
#include "common/common.h"
#include "repo/repo.h"
#include "testutil.h"
#include "walden/walden.h"

static const uint64_t SYSID = 7312345678901234567ull;
#define DAY_MS (86400 * INT64_C(1000))
/* 2026-11-29T00:00:00Z */
#define NOW_S INT64_C(1795910400)
#define NOW_MS (NOW_S * 1000)

typedef struct fixture {
    tu_area a;
    walden_repo *r;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tu_area_setup(&f->a, SYSID);
    assert_ok(walden_config_set(f->a.cfg, "retention", "7d", WALDEN_SOURCE_FLAG));
    assert_ok(walden_config_set(f->a.cfg, "retention-full-min", "1", WALDEN_SOURCE_FLAG));
    assert_ok(walden_repo_open(&f->r, f->a.cfg));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    walden_repo_close(f->r);
    tu_area_teardown(&f->a);
    free(f);
    return 0;
}

/* A backup of `type` referring to `ref` ("" for a full) that stopped
 * `days_ago` days before NOW. */
static void put_backup(fixture *f, const char *id, const char *type, const char *ref, int days_ago)
{
    tu_put_backup(f->r, f->a.repo, id, type, ref, NOW_MS - days_ago * DAY_MS);
}

static bool exists(fixture *f, const char *id)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof(path), "%s/main/backup/%s", f->a.repo, id);
    return stat(path, &st) == 0;
}

/* The decisions heard, one line each: "ID keep|expire: REASON". */
typedef struct heard {
    char text[8192];
} heard;

static int hear(const walden_expire_item *it, void *ctx)
{
    heard *h = ctx;
    if (strcmp(it->kind, "backup") == 0) {
        size_t len = strlen(h->text);
        snprintf(h->text + len, sizeof(h->text) - len, "%s %s: %s\n", it->id,
                 it->expire ? "expire" : "keep", it->reason);
    }
    return 0;
}

static void has_line(const heard *h, const char *id, const char *action, const char *words)
{
    char head[128];
    snprintf(head, sizeof(head), "%s %s: ", id, action);
    const char *line = strstr(h->text, head);
    if (!line || !strstr(line, words) || strstr(line, words) > strchr(line, '\n')) {
        print_error("no '%s...%s' in:\n%s", head, words, h->text);
        fail();
    }
}

/* F0 old, F1 older than the window with its incrementals, the newest
 * incremental inside: the window wants F1 and I1 gone but I2 needs them. */
static void test_kept_chain(void **state)
{
    fixture *f = *state;
    /* F1 stays for the chain alone, not as the newest full */
    assert_ok(walden_config_set(f->a.cfg, "retention-full-min", "0", WALDEN_SOURCE_FLAG));
    put_backup(f, "20261101T000000Z", "full", "", 28);
    put_backup(f, "20261110T000000Z", "full", "", 19);
    put_backup(f, "20261111T000000Z", "incr", "20261110T000000Z", 18);
    put_backup(f, "20261112T000000Z", "diff", "20261110T000000Z", 17);
    put_backup(f, "20261113T000000Z", "incr", "20261112T000000Z", 16);
    put_backup(f, "20261125T000000Z", "incr", "20261113T000000Z", 4);

    heard h = {{0}};
    walden_expire_result res = WALDEN_EXPIRE_RESULT_INIT;
    assert_ok(walden_expire(f->r, f->a.cfg, NOW_S, 1, hear, &h, &res));
    has_line(&h, "20261101T000000Z", "expire", "older than the 7d window");
    has_line(&h, "20261110T000000Z", "keep", "needed by kept backup 20261112T000000Z");
    has_line(&h, "20261111T000000Z", "expire", "older than the 7d window");
    has_line(&h, "20261112T000000Z", "keep", "needed by kept backup 20261113T000000Z");
    has_line(&h, "20261113T000000Z", "keep", "newest backup older than the 7d window");
    has_line(&h, "20261125T000000Z", "keep", "inside the 7d window");
    assert_int_equal(res.backups_expired, 2);
    assert_int_equal(res.backups_kept, 4);
    assert_true(exists(f, "20261101T000000Z")); /* dry run */

    assert_ok(walden_expire(f->r, f->a.cfg, NOW_S, 0, NULL, NULL, &res));
    assert_false(exists(f, "20261101T000000Z"));
    assert_false(exists(f, "20261111T000000Z"));
    assert_true(exists(f, "20261110T000000Z"));
    assert_true(exists(f, "20261112T000000Z"));
    assert_true(exists(f, "20261113T000000Z"));
    assert_true(exists(f, "20261125T000000Z"));
}

/* The full of a chain is gone: its members inside the window stay (with
 * the older one they need), and say why; nothing of it counts as usable,
 * so the older full stays too. */
static void test_full_missing(void **state)
{
    fixture *f = *state;
    put_backup(f, "20261101T000000Z", "full", "", 28);
    put_backup(f, "20261119T000000Z", "incr", "20261118T000000Z", 10);
    put_backup(f, "20261125T000000Z", "incr", "20261119T000000Z", 4);
    put_backup(f, "20261126T000000Z", "incr", "20261125T000000Z", 3);

    heard h = {{0}};
    walden_expire_result res = WALDEN_EXPIRE_RESULT_INIT;
    assert_ok(walden_expire(f->r, f->a.cfg, NOW_S, 0, hear, &h, &res));
    has_line(&h, "20261101T000000Z", "keep", "newest backup older than the 7d window");
    has_line(&h, "20261119T000000Z", "keep",
             "cannot be restored (prior 20261118T000000Z missing): kept with backup "
             "20261125T000000Z of its chain");
    has_line(&h, "20261125T000000Z", "keep",
             "cannot be restored (prior 20261119T000000Z not usable): kept while inside the 7d "
             "window");
    has_line(&h, "20261126T000000Z", "keep", "cannot be restored");
    assert_int_equal(res.backups_expired, 0);
    assert_true(exists(f, "20261119T000000Z"));

    /* a month later the broken chain is older than the window: it goes,
     * the full stays */
    memset(&h, 0, sizeof(h));
    assert_ok(walden_expire(f->r, f->a.cfg, NOW_S + 30 * 86400, 0, hear, &h, &res));
    has_line(&h, "20261126T000000Z", "expire",
             "not usable: prior 20261125T000000Z not usable; older than the 7d window");
    has_line(&h, "20261101T000000Z", "keep", "newest backup older");
    assert_int_equal(res.backups_expired, 3);
    assert_true(exists(f, "20261101T000000Z"));
    assert_false(exists(f, "20261126T000000Z"));
}

/* A damaged full stops expire, naming the backups that refer to it. */
static void test_full_damaged(void **state)
{
    fixture *f = *state;
    put_backup(f, "20261101T000000Z", "full", "", 28);
    put_backup(f, "20261110T000000Z", "full", "", 19);
    put_backup(f, "20261111T000000Z", "incr", "20261110T000000Z", 18);
    put_backup(f, "20261125T000000Z", "incr", "20261111T000000Z", 4);
    assert_int_equal(tu_system("sed -i 's/status = ok/status = xx/' "
                               "'%s/main/backup/20261110T000000Z/backup.info'",
                               f->a.repo),
                     0);
    walden_expire_result res = WALDEN_EXPIRE_RESULT_INIT;
    assert_rc(walden_expire(f->r, f->a.cfg, NOW_S, 0, NULL, NULL, &res), WALDEN_EAUTH);
    const char *msg = walden_error_last()->message;
    assert_non_null(strstr(msg, "backup 20261111T000000Z refers to a damaged backup"));
    assert_non_null(strstr(msg, "20261110T000000Z"));
    assert_true(exists(f, "20261101T000000Z"));
    assert_true(exists(f, "20261111T000000Z"));
}

/* An incremental whose summary names no reference cannot be judged. */
static void test_incr_without_reference(void **state)
{
    fixture *f = *state;
    put_backup(f, "20261101T000000Z", "full", "", 28);
    put_backup(f, "20261125T000000Z", "incr", "", 4);
    walden_expire_result res = WALDEN_EXPIRE_RESULT_INIT;
    assert_rc(walden_expire(f->r, f->a.cfg, NOW_S, 0, NULL, NULL, &res), WALDEN_ECORRUPT);
    assert_non_null(strstr(walden_error_last()->message,
                           "backup 20261125T000000Z is an incr backup without a reference"));
    assert_true(exists(f, "20261101T000000Z"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kept_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incr_without_reference, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
