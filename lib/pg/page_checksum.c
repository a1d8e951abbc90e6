/*
 * page_checksum.c - PostgreSQL's data page checksum, from the header that
 * PostgreSQL ships for external programs (storage/checksum_impl.h, Debian
 * package postgresql-server-dev-15), so walden computes exactly what the
 * server does. This file alone sees PostgreSQL's server headers.
 */
#include "postgres_fe.h"

#include "storage/checksum.h"
#include "storage/checksum_impl.h"

uint16_t wd_pg_checksum_page_impl(char *page, uint32_t blkno);

uint16_t wd_pg_checksum_page_impl(char *page, uint32_t blkno)
{
    return pg_checksum_page(page, blkno);
}
