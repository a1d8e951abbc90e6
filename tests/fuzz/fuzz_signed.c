/*
 * fuzz_signed.c - the signature check in front of every signed text of the
 * repository (wd_repo_read_signed, wd_sign_text_check), on unsigned input:
 * fuzz_backup_info with the input written as it comes. Only an input whose
 * last line signs everything before it with the repository's key
 * (FZ_SIGN_KEY) passes the check and reaches the parser.
 */
#define FZ_UNSIGNED 1
#include "fuzz_backup_info.c"
