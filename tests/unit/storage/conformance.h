/*
 * conformance.h - the storage conformance suite: what every storage driver
 * must do, written against the driver table only. A driver's test file
 * calls storage_conformance_run with a factory that returns a fresh, empty
 * storage for each test.
 */
#ifndef WALDEN_TEST_CONFORMANCE_H
#define WALDEN_TEST_CONFORMANCE_H

#include "storage/storage.h"

typedef wd_storage *(*storage_factory)(void);

/* Runs every conformance test; returns the number that failed. */
int storage_conformance_run(const char *driver, storage_factory make);

#endif
