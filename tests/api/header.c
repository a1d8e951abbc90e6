/*
 * header.c - the public header alone, as a third party's C program uses it
 * (check_header.sh compiles it as C99 and C11, -pedantic, every warning an
 * error): nothing but <walden/walden.h>, which must bring what it needs.
 */
#include <walden/walden.h>

static int on_wal(const walden_wal_entry *e, void *ctx);
static void on_log(walden_log_level level, const char *message, void *ctx);

static int on_wal(const walden_wal_entry *e, void *ctx)
{
    (void)ctx;
    return e->stored_size > 0 ? 0 : WALDEN_ERROR;
}

static void on_log(walden_log_level level, const char *message, void *ctx)
{
    (void)level;
    (void)message;
    (void)ctx;
}

int walden_header_c(walden_repo *repo, const walden_config *cfg);

int walden_header_c(walden_repo *repo, const walden_config *cfg)
{
    walden_push_result push = WALDEN_PUSH_RESULT_INIT;
    walden_restore_result restore = WALDEN_RESTORE_RESULT_INIT;
    walden_expire_result expire = WALDEN_EXPIRE_RESULT_INIT;
    walden_verify_result verify = WALDEN_VERIFY_RESULT_INIT;
    walden_upgrade_result upgrade = WALDEN_UPGRADE_RESULT_INIT;
    walden_archiver_state archiver = WALDEN_ARCHIVER_STATE_INIT;
    walden_push_failure failure = WALDEN_PUSH_FAILURE_INIT;
    walden_wal_cb wal_cb = on_wal;
    walden_log_set_callback(on_log, NULL);
    int rc = walden_archive_push(repo, "000000010000000000000001", &push);
    if (!rc)
        rc = walden_archive_list(repo, wal_cb, NULL);
    if (!rc)
        rc = walden_restore(repo, cfg, "true", NULL, NULL, &restore);
    if (!rc)
        rc = walden_expire(repo, cfg, 0, 1, NULL, NULL, &expire);
    if (!rc)
        rc = walden_verify(repo, cfg, NULL, NULL, NULL, NULL, &verify);
    if (!rc)
        rc = walden_repo_upgrade(cfg, NULL, NULL, &upgrade);
    if (!rc)
        rc = walden_archiver_state_get(cfg, &archiver);
    if (!rc)
        rc = walden_push_failure_get(cfg, &failure);
    return rc == WALDEN_EUSER ? 1 : rc;
}
