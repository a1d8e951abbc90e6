/*
 * archive_push.c - libwalden on its own: archives one WAL segment into a
 * repository through the public API, as `walden archive-push` does.
 *
 *   cc archive_push.c $(pkg-config --cflags --libs walden) -o archive_push
 *   ./archive_push /var/lib/walden pg_wal/000000010000000000000001 [SIGN_KEY_FILE]
 *
 * The repository must exist (walden init), and this host must hold the
 * area's signing key file (option sign-key-file; default
 * /etc/walden/main.sign-key). Exit status 0 once the segment is durable in
 * the repository.
 */
#include <stdio.h>

#include <walden/walden.h>

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s REPOSITORY WAL_FILE [SIGN_KEY_FILE]\n", argv[0]);
        return 2;
    }
    walden_config *cfg = NULL;
    walden_repo *repo = NULL;
    walden_push_result res = WALDEN_PUSH_RESULT_INIT;
    int rc = walden_config_new(&cfg);
    if (!rc)
        rc = walden_config_set(cfg, "repo", argv[1], WALDEN_SOURCE_FLAG);
    if (!rc && argc == 4)
        rc = walden_config_set(cfg, "sign-key-file", argv[3], WALDEN_SOURCE_FLAG);
    if (!rc)
        rc = walden_repo_open(&repo, cfg);
    if (!rc)
        rc = walden_archive_push(repo, argv[2], &res);
    if (rc)
        fprintf(stderr, "archive_push: %s\n", walden_error_last()->message);
    else
        printf("%s: %llu bytes, %llu stored%s\n", argv[2], (unsigned long long)res.raw_size,
               (unsigned long long)res.stored_size,
               res.already_archived ? " (archived already)" : "");
    walden_repo_close(repo);
    walden_config_free(cfg);
    return rc ? 1 : 0;
}
