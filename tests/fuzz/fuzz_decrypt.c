/*
 * fuzz_decrypt.c - the encryption framing and decryption of a stored file
 * (wd_decrypt_filter_new) with a fixed test key: the key of the repository
 * the seed corpus was made from (tests/fuzz/decrypt-key.conf, passphrase
 * "fuzz"), so that seeds decrypt and mutations reach every record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "fuzz_util.h"
#include "io/stream.h"

static wd_keypair key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char *text;
    size_t len;
    if (wd_file_read_all(WALDEN_FUZZ_DIR "/decrypt-key.conf", 1 << 16, &text, &len) ||
        wd_key_unwrap(text, len, "fuzz", &key, NULL)) {
        fprintf(stderr, "fuzz_decrypt: %s\n", walden_error_last()->message);
        abort();
    }
    wd_free(text);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wd_filter *f;
    if (wd_decrypt_filter_new(&f, &key))
        abort();
    fz_run_filter(f, data, size);
    return 0;
}
