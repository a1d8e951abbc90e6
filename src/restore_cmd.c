/*
 * restore_cmd.c - the restore_command a restored server runs (restore and
 * drill): this walden's archive-get with the same repository, cluster and
 * config file.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Appends ' arg' to buf, single-quoted for the shell when needed. A '%'
 * becomes "%%": PostgreSQL replaces %f, %p, %r and %% in restore_command
 * (and, from version 16, refuses any other %x), so a literal one must be
 * doubled. */
static int shell_arg(char *buf, size_t cap, const char *arg)
{
    size_t n = strlen(buf);
    int plain = *arg != '\0';
    for (const char *p = arg; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-=:+,", *p))
            plain = 0;
    if (plain)
        return snprintf(buf + n, cap - n, " %s", arg) < (int)(cap - n) ? 0 : -1;
    if (n + 3 >= cap)
        return -1;
    buf[n++] = ' ';
    buf[n++] = '\'';
    for (const char *p = arg; *p; p++) {
        const char *piece = *p == '\'' ? "'\\''" : *p == '%' ? "%%" : NULL;
        size_t len = piece ? strlen(piece) : 1;
        if (n + len + 2 >= cap)
            return -1;
        if (piece)
            memcpy(buf + n, piece, len);
        else
            buf[n] = *p;
        n += len;
    }
    buf[n++] = '\'';
    buf[n] = '\0';
    return 0;
}

static int build(const walden_config *cfg, char *buf, size_t cap);

int cli_restore_command(const walden_config *cfg, walden_repo *repo, const char *server, char *buf,
                        size_t cap)
{
    if (build(cfg, buf, cap)) {
        cli_error("the restore_command would be too long");
        return -1;
    }
    walden_config_source src = walden_config_source_of(cfg, "encrypt-passphrase");
    if (walden_repo_get_info(repo)->encrypted &&
        (src == WALDEN_SOURCE_ENV || src == WALDEN_SOURCE_FLAG))
        cli_error("warning: the passphrase was given by %s; the %s's restore_command will not "
                  "have it: put encrypt-passphrase-file in the config file",
                  src == WALDEN_SOURCE_ENV ? "environment" : "flag", server);
    return 0;
}

/* How the restored server runs archive-get: this binary with the same
 * repository, cluster and config file. */
static int build(const walden_config *cfg, char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        snprintf(exe, sizeof(exe), "walden");
    else
        exe[n] = '\0';
    buf[0] = '\0';
    /* the placeholders go in as they are: %f, then "%p" */
    size_t len;
    if (shell_arg(buf, cap, exe) || shell_arg(buf, cap, "archive-get") ||
        (len = strlen(buf)) + sizeof(" %f \"%p\"") > cap)
        return -1;
    memcpy(buf + len, " %f \"%p\"", sizeof(" %f \"%p\""));
    static const char *const carry[] = {"config", "repo", "cluster", "encrypt-passphrase-file",
                                        NULL};
    for (int i = 0; carry[i]; i++) {
        const char *v = walden_config_get(cfg, carry[i]);
        if (!v || !*v)
            continue;
        if (strcmp(carry[i], "config") == 0 &&
            walden_config_source_of(cfg, "config") == WALDEN_SOURCE_DEFAULT && access(v, R_OK) != 0)
            continue;
        char opt[64];
        snprintf(opt, sizeof(opt), "--%s", carry[i]);
        if (shell_arg(buf, cap, opt) || shell_arg(buf, cap, v))
            return -1;
    }
    memmove(buf, buf + 1, strlen(buf)); /* shell_arg put a blank first */
    return 0;
}
