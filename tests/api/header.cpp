/*
 * header.cpp - the public header alone in a C++ program (check_header.sh
 * compiles it as C++11 and C++20, -pedantic, every warning an error),
 * the versioned structs' _INIT macros included.
 */
#include <walden/walden.h>

namespace
{

int on_check(const walden_check_item *item, void *ctx)
{
    static_cast<void>(ctx);
    return item->ok ? 0 : WALDEN_ERROR;
}

} // namespace

int walden_header_cxx(walden_repo *repo, const walden_config *cfg);

int walden_header_cxx(walden_repo *repo, const walden_config *cfg)
{
    walden_verify_result verify = WALDEN_VERIFY_RESULT_INIT;
    walden_push_result push = WALDEN_PUSH_RESULT_INIT;
    walden_archiver_state archiver = WALDEN_ARCHIVER_STATE_INIT;
    int problems = 0;
    int rc = walden_verify(repo, cfg, nullptr, nullptr, nullptr, nullptr, &verify);
    if (!rc)
        rc = walden_archive_push(repo, "000000010000000000000001", &push);
    if (!rc)
        rc = walden_check(cfg, on_check, nullptr, &problems);
    if (!rc)
        rc = walden_archiver_state_get(cfg, &archiver);
    return rc;
}
