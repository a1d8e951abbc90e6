/*
 * open.c - wd_storage_open: the storage driver for the `repo` option,
 * chosen by its scheme (s3://, azure://, else a local directory), with the
 * object stores' settings read from the configuration and, where the
 * options are unset, from the environment variables that AWS's and Azure's
 * own tools use.
 */
#include <string.h>

#include "common/common.h"
#include "storage/objstore.h"
#include "storage/storage.h"

static const char *opt(const walden_config *cfg, const char *name)
{
    const char *v = walden_config_get(cfg, name);
    return v && *v ? v : NULL;
}

static long duration(const walden_config *cfg, const char *name, long dflt)
{
    int64_t s = walden_config_seconds(cfg, name, dflt);
    if (s <= 0)
        return dflt;
    return s > 86400 ? 86400 : (long)s;
}

int wd_storage_open(wd_storage **out, const walden_config *cfg, bool create)
{
    const char *repo = opt(cfg, "repo");
    if (!repo)
        return wd_error_set(WALDEN_EINVAL, "option 'repo' is not set");
    bool s3 = wd_str_starts_with(repo, "s3://");
    bool azure = wd_str_starts_with(repo, "azure://");
    if (!s3 && !azure) {
        if (strstr(repo, "://"))
            return wd_error_set(WALDEN_EINVAL,
                                "invalid repository '%s': expected a directory, s3://BUCKET/PREFIX "
                                "or azure://CONTAINER/PREFIX",
                                repo);
        return wd_storage_posix_new(out, repo, create);
    }
    long timeout = duration(cfg, "net-timeout", 60);
    /* 1 to WD_S3_MAX_PARTS, checked when set (options.c) */
    int64_t max_parts = s3 ? walden_config_int(cfg, "s3-max-parts", 0) : 0;
    wd_objstore_cfg oc = {
        .location = repo,
        .s3_endpoint = opt(cfg, "s3-endpoint"),
        .s3_region = opt(cfg, "s3-region"),
        .s3_uri_style = opt(cfg, "s3-uri-style"),
        .s3_key = opt(cfg, "s3-key"),
        .s3_secret = opt(cfg, "s3-key-secret"),
        .s3_token = opt(cfg, "s3-token"),
        .az_account = opt(cfg, "azure-account"),
        .az_key = opt(cfg, "azure-key"),
        .az_sas = opt(cfg, "azure-sas"),
        .az_endpoint = opt(cfg, "azure-endpoint"),
        .http =
            {
                .ca_file = opt(cfg, s3 ? "s3-ca-file" : "azure-ca-file"),
                .verify_tls = walden_config_bool(cfg, s3 ? "s3-verify-tls" : "azure-verify-tls"),
                .connect_timeout = timeout < 30 ? timeout : 30,
                .stall_timeout = timeout,
                .retry_time_ms = duration(cfg, "net-retry-time", 60) * 1000,
            },
        .max_parts = (int)max_parts,
    };
    return s3 ? wd_storage_s3_new(out, &oc, create) : wd_storage_azure_new(out, &oc, create);
}
