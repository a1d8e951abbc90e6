/*
 * fuzz_drill_record.c - a restore drill's record in the repository
 * (drill/<id>.info, wd_drill_record_parse), and its JSON and metrics
 * rendering of what was parsed (walden info and drill show them).
 */
#include "common/common.h"
#include "drill/drill.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walden_drill_result *r = NULL;
    if (wd_drill_record_parse((const char *)data, size, "drill.info", &r) == 0) {
        wd_free(wd_drill_report_json(r));
        wd_free(wd_drill_metrics_text(r));
        wd_free(wd_drill_record_text(r));
        walden_drill_result_free(r);
    }
    walden_error_clear();
    return 0;
}
