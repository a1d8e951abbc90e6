/*
 * fuzz_frame.c - the encryption framing check without the key
 * (wd_cipher_frame_filter_new), which `walden verify` runs on encrypted
 * WAL files when no passphrase is given.
 */
#include <stdlib.h>

#include "crypto/crypto.h"
#include "fuzz_util.h"
#include "io/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wd_filter *f;
    if (wd_cipher_frame_filter_new(&f))
        abort();
    fz_run_filter(f, data, size);
    return 0;
}
