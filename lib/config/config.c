/*
 * config.c - option values and where they came from.
 *
 * Each option holds at most one value with its source; a value from a
 * source of lower precedence never replaces one of higher precedence
 * (flag > environment > file > default), whatever the order of the calls.
 * Values are checked when set. Secret values are never formatted into a
 * message and are wiped when replaced or freed.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/common.h"

/* one value and source per option of options.c, by its index there */
struct walden_config {
    int n;
    char **values;
    walden_config_source *sources;
};

static int option_index(const char *name)
{
    const walden_option_info *list = walden_option_list();
    for (int i = 0; list[i].name; i++)
        if (strcmp(list[i].name, name) == 0)
            return i;
    return -1;
}

int walden_config_new(walden_config **out)
{
    walden_config *cfg = wd_calloc(1, sizeof(*cfg));
    if (!cfg)
        return WALDEN_ENOMEM;
    for (const walden_option_info *o = walden_option_list(); o->name; o++)
        cfg->n++;
    cfg->values = wd_calloc((size_t)cfg->n, sizeof(*cfg->values));
    cfg->sources = wd_calloc((size_t)cfg->n, sizeof(*cfg->sources));
    if (!cfg->values || !cfg->sources) {
        walden_config_free(cfg);
        return WALDEN_ENOMEM;
    }
    *out = cfg;
    return 0;
}

static void drop_value(walden_config *cfg, int i)
{
    if (!cfg->values[i])
        return;
    if (walden_option_list()[i].secret)
        wd_free_secret(cfg->values[i], strlen(cfg->values[i]));
    else
        wd_free(cfg->values[i]);
    cfg->values[i] = NULL;
}

void walden_config_free(walden_config *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; cfg->values && i < cfg->n; i++)
        drop_value(cfg, i);
    wd_free(cfg->values);
    wd_free(cfg->sources);
    wd_free(cfg);
}

int walden_duration_parse(const char *text, int64_t *seconds)
{
    const char *p = text;
    int64_t n = 0;
    if (!isdigit((unsigned char)*p))
        goto bad;
    for (; isdigit((unsigned char)*p); p++) {
        if (n > (INT64_MAX - 9) / 10)
            goto bad;
        n = n * 10 + (*p - '0');
    }
    int64_t unit;
    switch (*p) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    case 'w':
        unit = 604800;
        break;
    default:
        goto bad;
    }
    if (p[1] != '\0' || n > INT64_MAX / unit)
        goto bad;
    *seconds = n * unit;
    return 0;
bad:
    return wd_error_set(WALDEN_EINVAL,
                        "invalid duration '%s': expected a whole number and a unit s, m, h, d or "
                        "w (e.g. 90s, 15m, 1h, 30d, 2w)",
                        text);
}

static bool enum_has(const char *choices, const char *value)
{
    size_t vl = strlen(value);
    for (const char *p = choices; *p;) {
        size_t n = strcspn(p, "|");
        if (n == vl && strncmp(p, value, n) == 0)
            return true;
        p += n;
        if (*p == '|')
            p++;
    }
    return false;
}

static int check_value(const walden_option_info *o, const char *value)
{
    if (!*value)
        return wd_error_set(WALDEN_EINVAL, "option '%s' needs a value", o->name);
    int64_t v;
    switch (o->type) {
    case WALDEN_OPT_INT: {
        int64_t min = o->min, max = o->max;
        if (min == 0 && max == 0)
            max = INT32_MAX;
        if (wd_parse_int64(value, min, max, &v))
            return wd_error_set(WALDEN_EINVAL,
                                "invalid value for option '%s': '%s' (expected a whole number "
                                "from %lld to %lld)",
                                o->name, value, (long long)min, (long long)max);
        return 0;
    }
    case WALDEN_OPT_ENUM:
        if (!enum_has(o->choices, value))
            return wd_error_set(WALDEN_EINVAL,
                                "invalid value for option '%s': '%s' (expected one of %s)", o->name,
                                value, o->choices);
        return 0;
    case WALDEN_OPT_DURATION:
        if (walden_duration_parse(value, &v))
            return wd_error_wrap(WALDEN_EINVAL, "invalid value for option '%s'", o->name);
        return 0;
    case WALDEN_OPT_BOOL:
        if (walden_bool_parse(value) < 0)
            return wd_error_set(
                WALDEN_EINVAL,
                "invalid value for option '%s': '%s' (expected yes or no, on or off, "
                "true or false, 1 or 0)",
                o->name, value);
        return 0;
    default:
        break;
    }
    if (strcmp(o->name, "cluster") == 0) {
        for (const char *p = value; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
                return wd_error_set(WALDEN_EINVAL,
                                    "invalid value for option 'cluster': '%s' (letters, digits, "
                                    "'_', '-' and '.' only)",
                                    value);
        if (value[0] == '.')
            return wd_error_set(WALDEN_EINVAL,
                                "invalid value for option 'cluster': '%s' (must not start with "
                                "'.')",
                                value);
    }
    return 0;
}

int walden_config_set(walden_config *cfg, const char *name, const char *value,
                      walden_config_source source)
{
    int i = option_index(name);
    if (i < 0)
        return wd_error_set(WALDEN_EINVAL, "unknown option '%s'", name);
    const walden_option_info *o = &walden_option_list()[i];
    int rc = check_value(o, value);
    if (rc)
        return rc;
    if (cfg->values[i] && cfg->sources[i] > source)
        return 0; /* a source of higher precedence set it already */
    if (o->secret)
        wd_secret_held();
    char *copy = wd_strdup(value);
    if (!copy)
        return WALDEN_ENOMEM;
    drop_value(cfg, i);
    cfg->values[i] = copy;
    cfg->sources[i] = source;
    return 0;
}

int walden_config_load_env(walden_config *cfg, char *const *envp)
{
    for (; envp && *envp; envp++) {
        const char *e = *envp;
        if (strncmp(e, "WALDEN_", 7) != 0)
            continue;
        const char *eq = strchr(e, '=');
        if (!eq || eq - e - 7 <= 0 || eq - e - 7 >= 64)
            continue;
        char name[64];
        size_t n = (size_t)(eq - e - 7);
        for (size_t k = 0; k < n; k++)
            name[k] = e[7 + k] == '_' ? '-' : (char)tolower((unsigned char)e[7 + k]);
        name[n] = '\0';
        int i = option_index(name);
        if (i < 0 || (walden_option_list()[i].flags & WALDEN_OPTF_FLAG_ONLY)) {
            /* the environment is shared with other tools: not an error */
            wd_log_debug("ignoring environment variable %.*s: no such option", (int)(eq - e), e);
            continue;
        }
        int rc = walden_config_set(cfg, name, eq + 1, WALDEN_SOURCE_ENV);
        if (rc)
            return wd_error_wrap(rc, "environment variable %.*s", (int)(eq - e), e);
    }
    return 0;
}

struct file_ctx {
    walden_config *cfg;
    const char *path;
    bool has_secret;
};

static int file_kv(const char *name, const char *value, int line, void *ctx)
{
    struct file_ctx *fc = ctx;
    const walden_option_info *o = walden_option_find(name);
    if (!o || strcmp(name, "config") == 0)
        return wd_error_set(WALDEN_EINVAL, "%s:%d: unknown option '%s'", fc->path, line, name);
    if (o->flags & WALDEN_OPTF_FLAG_ONLY)
        return wd_error_set(WALDEN_EINVAL, "%s:%d: option '%s' is only taken on the command line",
                            fc->path, line, name);
    if (o->secret)
        fc->has_secret = true;
    int rc = walden_config_set(fc->cfg, name, value, WALDEN_SOURCE_FILE);
    if (rc)
        return wd_error_wrap(rc, "%s:%d", fc->path, line);
    return 0;
}

int walden_config_load_file(walden_config *cfg, const char *path, int required)
{
    char *text;
    size_t len;
    int rc = wd_file_read_all(path, 1024 * 1024, &text, &len);
    if (rc == WALDEN_ENOTFOUND && !required) {
        walden_error_clear();
        return 0;
    }
    if (rc)
        return wd_error_wrap(rc, "cannot read config file '%s'", path);
    struct file_ctx fc = {cfg, path, false};
    rc = wd_kv_parse(text, len, path, file_kv, &fc);
    wd_free_secret(text, len);
    if (rc)
        return rc;
    struct stat st;
    if (fc.has_secret && stat(path, &st) == 0 && (st.st_mode & 044))
        wd_log_warn("config file '%s' holds a secret and is readable by others: chmod 600 it",
                    path);
    return 0;
}

const char *walden_config_get(const walden_config *cfg, const char *name)
{
    int i = option_index(name);
    if (i < 0)
        return NULL;
    return cfg->values[i] ? cfg->values[i] : walden_option_list()[i].default_value;
}

walden_config_source walden_config_source_of(const walden_config *cfg, const char *name)
{
    int i = option_index(name);
    return i >= 0 && cfg->values[i] ? cfg->sources[i] : WALDEN_SOURCE_DEFAULT;
}

int walden_bool_parse(const char *text)
{
    /* the words PostgreSQL's own configuration accepts, in any case */
    static const char *const yes[] = {"y", "yes", "true", "on", "1"}, *const no[] = {"n", "no",
                                                                                     "false", "off",
                                                                                     "0"};
    for (size_t i = 0; text && i < WD_ARRAY_LEN(yes); i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return 1;
        if (strcasecmp(text, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* The option `name`, which must be of type `type` (a caller's bug
 * otherwise). */
static const walden_option_info *typed(const char *name, walden_option_type type)
{
    const walden_option_info *o = walden_option_find(name);
    (void)type; /* unused when assert() is compiled out */
    assert(o && o->type == type);
    return o;
}

int walden_config_bool(const walden_config *cfg, const char *name)
{
    typed(name, WALDEN_OPT_BOOL);
    return walden_bool_parse(walden_config_get(cfg, name)) == 1;
}

int64_t walden_config_int(const walden_config *cfg, const char *name, int64_t unset)
{
    typed(name, WALDEN_OPT_INT);
    const char *v = walden_config_get(cfg, name);
    int64_t n;
    /* checked when set (and the defaults by the unit tests) */
    return v && wd_parse_int64(v, INT64_MIN, INT64_MAX, &n) == 0 ? n : unset;
}

int64_t walden_config_seconds(const walden_config *cfg, const char *name, int64_t unset)
{
    typed(name, WALDEN_OPT_DURATION);
    const char *v = walden_config_get(cfg, name);
    int64_t s;
    /* checked when set (and the defaults by the unit tests) */
    return v && walden_duration_parse(v, &s) == 0 ? s : unset;
}

int walden_config_is(const walden_config *cfg, const char *name, const char *choice)
{
    typed(name, WALDEN_OPT_ENUM);
    const char *v = walden_config_get(cfg, name);
    return v && strcmp(v, choice) == 0;
}

int walden_config_check_command(const walden_config *cfg, const char *command)
{
    const walden_option_info *list = walden_option_list();
    for (int i = 0; list[i].name; i++) {
        const walden_option_info *o = &list[i];
        const char *choices = walden_option_choices(o, command);
        if (!cfg->values[i] || !choices || choices == o->choices ||
            !walden_option_applies(o, command) || enum_has(choices, cfg->values[i]))
            continue;
        /* a config file and the environment serve every command: a value
         * that another command takes (backup's type = full, for restore) is
         * left to that one */
        if (cfg->sources[i] != WALDEN_SOURCE_FLAG && enum_has(o->choices, cfg->values[i]))
            continue;
        return wd_error_set(WALDEN_EINVAL,
                            "invalid value for option '%s' of %s: '%s' (expected one of %s)",
                            o->name, command, cfg->values[i], choices);
    }
    return 0;
}
