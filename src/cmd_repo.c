/*
 * cmd_repo.c - init, repo-passphrase and repo-upgrade.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_init(cli_ctx *ctx)
{
    int rc = walden_repo_init(ctx->cfg);
    if (rc)
        return cli_fail(rc);
    walden_repo *repo;
    if ((rc = walden_repo_open(&repo, ctx->cfg)))
        return cli_fail(rc);
    const walden_repo_info *info = walden_repo_get_info(repo);
    printf("initialized cluster '%s' in repository '%s': system identifier %" PRIu64
           ", PostgreSQL %d, compress %s level %d, %s\n",
           info->cluster, walden_config_get(ctx->cfg, "repo"), info->system_id,
           info->pg_version / 10000, info->compress, info->compress_level,
           info->encrypted ? "encrypted" : "not encrypted");
    char vk[65];
    const char *skf = walden_config_get(ctx->cfg, "sign-key-file");
    const char *pc = skf ? strstr(skf, "%c") : NULL;
    if (walden_repo_verify_key(repo, vk) == 0)
        printf("signing key: '%.*s%s%s' (keep it on this host, mode 0600)\n"
               "verification key: %s (option verify-key, for hosts that only read)\n",
               pc ? (int)(pc - skf) : (int)strlen(skf ? skf : ""), skf ? skf : "",
               pc ? info->cluster : "", pc ? pc + 2 : "", vk);
    walden_repo_close(repo);
    return EXIT_OK;
}

/* Reads the first line of `f` into buf; 0 on success. */
static int read_line(FILE *f, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, f))
        return -1;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] ? 0 : -1;
}

int cmd_repo_passphrase(cli_ctx *ctx)
{
    char pass[4096];
    FILE *f = stdin;
    const char *from = "standard input";
    if (ctx->new_passphrase_file) {
        from = ctx->new_passphrase_file;
        if (!(f = fopen(from, "re"))) {
            cli_error("cannot open '%s' for reading", from);
            return EXIT_FAILURE_;
        }
    }
    int bad = read_line(f, pass, sizeof(pass));
    if (f != stdin)
        fclose(f);
    if (bad) {
        cli_error("no new passphrase on the first line of %s", from);
        return EXIT_USAGE;
    }
    walden_repo *repo;
    int rc = walden_repo_open(&repo, ctx->cfg);
    if (!rc) {
        rc = walden_repo_change_passphrase(repo, pass);
        walden_repo_close(repo);
    }
    explicit_bzero(pass, sizeof(pass));
    if (rc)
        return cli_fail(rc);
    printf("passphrase changed: the repository key is now wrapped under the new passphrase\n");
    return EXIT_OK;
}

static int upgrade_left_out(const char *object, const char *message, void *ctx)
{
    (void)ctx;
    cli_error("not signed: '%s': %s", object, message);
    return 0;
}

int cmd_repo_upgrade(cli_ctx *ctx)
{
    walden_upgrade_result res = WALDEN_UPGRADE_RESULT_INIT;
    int rc = walden_repo_upgrade(ctx->cfg, upgrade_left_out, NULL, &res);
    const char *cluster = walden_config_get(ctx->cfg, "cluster");
    const char *location = walden_config_get(ctx->cfg, "repo");
    if (rc)
        return cli_fail(rc);
    if (res.already) {
        printf("cluster '%s' in repository '%s' has format 2 already: nothing to upgrade\n",
               cluster, location);
        return EXIT_OK;
    }
    if (res.created_sign_key)
        printf("signing key: '%s' (made now: keep it on this host, mode 0600, and copy it to "
               "every host that writes)\n",
               res.sign_key_file);
    if (!res.committed) {
        cli_error("%" PRIu64 " object(s) failed their checks and were not signed: cluster '%s' "
                  "stays format 1; repair or remove them and run repo-upgrade again, or leave "
                  "them out with --drop-unproven",
                  res.unproven, cluster);
        return EXIT_UPGRADE_UNPROVEN;
    }
    printf("upgraded cluster '%s' in repository '%s' to format 2: signed %" PRIu64
           " WAL file(s), %" PRIu64 " backup(s), %" PRIu64 " dump(s), %" PRIu64 " drill record(s)",
           cluster, location, res.wal_signed + res.wal_done, res.backups_signed, res.dumps_signed,
           res.records_signed);
    if (res.unproven)
        printf("; %" PRIu64 " left out, unsigned", res.unproven);
    printf("\nverification key: %s (option verify-key, for hosts that only read)\n"
           "repo-upgrade vouches for the area's contents as they were now, not for who wrote "
           "them before\n",
           res.verify_key);
    return EXIT_OK;
}
