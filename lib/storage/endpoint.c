/*
 * endpoint.c - where an object store is (see objstore.h): the endpoint
 * options (s3-endpoint, azure-endpoint) split into scheme, host and path,
 * and the repository location ("s3://BUCKET/PREFIX",
 * "azure://CONTAINER/PREFIX") into container and prefix, the same way for
 * both drivers.
 */
#include <string.h>

#include "common/common.h"
#include "storage/objstore.h"

int wd_objstore_parse_endpoint(const char *url, const char *option, char **scheme, char **host,
                               char **path)
{
    const char *sep = strstr(url, "://");
    if (!sep || !((sep - url == 4 && strncmp(url, "http", 4) == 0) ||
                  (sep - url == 5 && strncmp(url, "https", 5) == 0)))
        return wd_error_set(WALDEN_EINVAL,
                            "invalid value for option '%s': '%s' (expected http:// or https://)",
                            option, url);
    const char *h = sep + 3;
    size_t hl = strcspn(h, "/?#");
    if (hl == 0 || memchr(h, '@', hl))
        return wd_error_set(WALDEN_EINVAL, "invalid value for option '%s': '%s'", option, url);
    const char *p = h + hl;
    size_t pl = strlen(p);
    while (pl && p[pl - 1] == '/')
        pl--;
    *scheme = wd_strndup(url, (size_t)(sep - url));
    *host = wd_strndup(h, hl);
    *path = wd_strndup(p, pl);
    if (!*scheme || !*host || !*path)
        return WALDEN_ENOMEM;
    return 0;
}

int wd_objstore_parse_location(const char *loc, size_t scheme_len, char **container, char **prefix)
{
    const char *b = loc + scheme_len;
    size_t bl = strcspn(b, "/");
    if (bl == 0)
        return wd_error_set(WALDEN_EINVAL, "invalid repository '%s': no bucket or container", loc);
    const char *p = b + bl;
    while (*p == '/')
        p++;
    size_t pl = strlen(p);
    while (pl && p[pl - 1] == '/')
        pl--;
    *container = wd_strndup(b, bl);
    *prefix = wd_strndup(p, pl);
    if (!*container || !*prefix)
        return WALDEN_ENOMEM;
    /* the prefix obeys the path rules of the storage front (storage.c) */
    if (**prefix && !wd_path_is_contained(*prefix))
        return wd_error_set(WALDEN_EINVAL, "invalid repository '%s'", loc);
    return 0;
}
