/*
 * fuzz_keyfile.c - key.conf, the repository's wrapped key pair, as walden
 * reads it at every open of an encrypted repository (wd_key_load_public:
 * the same parse wd_key_unwrap runs before its scrypt, which is left out:
 * the file chooses its cost).
 */
#include <string.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wd_keypair k;
    wd_key_meta meta;
    memset(&k, 0, sizeof(k));
    memset(&meta, 0, sizeof(meta));
    wd_key_load_public((const char *)data, size, &k, &meta);
    walden_error_clear();
    return 0;
}
