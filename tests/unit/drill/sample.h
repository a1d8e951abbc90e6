/*
 * sample.h - a drill result for the tests of the record and the reports:
 * a failed drill whose strings need escaping in every format.
 */
#ifndef TEST_DRILL_SAMPLE_H
#define TEST_DRILL_SAMPLE_H

#include "walden/walden.h"

static const walden_drill_check checks[] = {
    {"connect", "app", "pass", "accepts connections", 0.01},
    {"sql", "postgres", "fail", "statement 2 failed: ERROR:  \"x\"\tdoes not exist", 0.5},
};

static inline walden_drill_result sample(void)
{
    walden_drill_result r = {0};
    r.id = "20261129T045002Z";
    r.cluster = "ma\"in\\";
    r.kind = "backup";
    r.backup_id = "20261129T040000Z";
    r.status = WALDEN_DRILL_FAILED;
    r.error = "check sql in 'postgres' failed: statement 2 failed";
    r.started_at_ms = 1795356187123;
    r.finished_at_ms = 1795356200456;
    r.restore_seconds = 1.5;
    r.replay_seconds = 2.25;
    r.startup_seconds = 0.125;
    r.checks_seconds = 0.5;
    r.rto_seconds = 4.375;
    r.rpo_seconds = 61.5;
    r.recovered_to_ms = 1795356125623;
    r.last_xact_ms = 1795356125623;
    r.rto_target_seconds = 3600;
    r.rpo_target_seconds = 900;
    r.rto_met = 1;
    r.rpo_met = 1;
    r.checks = checks;
    r.n_checks = 2;
    r.checks_passed = 1;
    r.checks_failed = 1;
    r.scratch_dir = "";
    r.last_archived_wal = "";
    r.source_lsn = 0x1A000028;
    r.replayed_lsn = 0x100000000ull + 0x1B000000;
    return r;
}

#endif
