#!/usr/bin/env python3
"""Builds a `promtool test rules` file from real `walden metrics` output.

usage: promtool_series.py RULES OUTDIR FAILED IDLE DRILL BUSY PUSHFAIL > tests.yml

Each metrics file, taken by test_monitoring.sh at a known moment, becomes the
input series of one test group, on promtool's clock: time 0 is when the
metrics were taken (every *_timestamp_seconds is shifted by that moment, so
that time() - timestamp means what it means live). The series model what
follows when nothing new happens: the metrics timer renews the file every
step (walden_metrics_timestamp_seconds and every *_age_seconds grow by the
step), no backup, dump or drill runs, and WAL that was not archived stays
so (a non-zero walden_wal_exposure_seconds grows; 0 stays 0: no writes).
"stale" groups model a metrics timer that stopped: the values stay as they
were. The expectations say which alerts fire, from what each moment of the
test is known to be (a failed drill, an idle cluster, unarchived WAL, ...).
Rules are evaluated every 5 minutes, as often as the series have samples
(and as the metrics timer runs). The output is JSON, which YAML readers
take.
"""
import json
import re
import sys

import yaml

SAMPLE = re.compile(r'^(\w+)\{(.*)\} (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
EXTRA = {"instance": "db1:9100", "job": "node"}


def unescape(v):
    return v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def samples(path):
    out = []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        m = SAMPLE.match(line.strip())
        if not m:
            raise SystemExit("%s: not a sample: %r" % (path, line))
        labels = {k: unescape(v) for k, v in LABEL.findall(m.group(2))}
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def series_text(labels, name):
    body = ",".join('%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
                    for k, v in sorted(labels.items()))
    return "%s{%s}" % (name, body)


def group(path, step, steps, refreshed=True):
    s = samples(path)
    t0 = [v for n, _, v in s if n == "walden_metrics_timestamp_seconds"][0]
    series = []
    for name, labels, v in s:
        grow = 0
        if name.endswith("_timestamp_seconds"):
            v -= t0
            if name == "walden_metrics_timestamp_seconds" and refreshed:
                grow = step
        elif refreshed and (name.endswith("_age_seconds") or
                            (name == "walden_wal_exposure_seconds" and v > 0)):
            grow = step
        series.append({"series": series_text(dict(labels, **EXTRA), name),
                       "values": "%r+%rx%d" % (v, grow, steps)})
    return {"interval": "%ds" % step, "input_series": series, "alert_rule_test": []}, s


def main():
    rules_file, _outdir, failed, idle, _drill, busy, pushfail = sys.argv[1:8]
    rules = {r["alert"]: r for g in yaml.safe_load(open(rules_file))["groups"] for r in g["rules"]}

    def render(text, labels):
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)

    def expect(g, s, at, alert, metric=None, where=None):
        """`alert` fires at `at` for every sample of `metric` (default: its
        rule's first metric) matching `where`; None: it does not fire."""
        rule = rules[alert]
        exp = []
        if metric is not False:
            metric = metric or re.search(r"\bwalden_\w+", rule["expr"]).group(0)
            for name, labels, _v in s:
                if name == metric and all(labels.get(k) == v for k, v in (where or {}).items()):
                    lab = dict(labels, **EXTRA)
                    lab.update(rule.get("labels", {}))
                    exp.append({"exp_labels": lab,
                                "exp_annotations": {k: render(v, lab) for k, v in
                                                    rule.get("annotations", {}).items()}})
            if not exp:
                raise SystemExit("%s: no sample of %s" % (alert, metric))
        g["alert_rule_test"].append({"eval_time": at, "alertname": alert, "exp_alerts": exp})

    tests = []
    # A: after a failed drill (its server never came up), a young repository
    g, s = group(failed, 300, 340)
    expect(g, s, "2h", "WaldenDrillFailed")
    expect(g, s, "2h", "WaldenRecoveryWindowShort")
    for a in ("WaldenBackupTooOld", "WaldenMetricsStale", "WaldenNoBackup", "WaldenWalGap",
              "WaldenNothingRestorable", "WaldenDrillTooOld", "WaldenArchiverUnknown",
              "WaldenBackupPageErrors", "WaldenDumpFailed"):
        expect(g, s, "2h", a, metric=False)
    expect(g, s, "27h", "WaldenBackupTooOld")
    tests.append(g)
    # A, the metrics timer stopped
    g, s = group(failed, 300, 60, refreshed=False)
    expect(g, s, "1h", "WaldenMetricsStale", metric=False)
    expect(g, s, "3h", "WaldenMetricsStale")
    tests.append(g)
    # B: an idle cluster, everything archived: its newest segment ages,
    # nothing is at risk
    g, s = group(idle, 300, 40)
    expect(g, s, "3h", "WaldenWalArchiveLagging", metric=False)
    expect(g, s, "3h", "WaldenArchiverFailing", metric=False)
    tests.append(g)
    # C: WAL written and not archived (archive_timeout off)
    g, s = group(busy, 60, 60)
    expect(g, s, "5m", "WaldenWalArchiveLagging", metric=False)
    expect(g, s, "30m", "WaldenWalArchiveLagging")
    expect(g, s, "30m", "WaldenDrillFailed", metric=False)  # the idle drill passed
    tests.append(g)
    # D: archive-push failed; the last drill missed its RPO target
    g, s = group(pushfail, 60, 30)
    expect(g, s, "2m", "WaldenArchivePushFailing", metric=False)
    expect(g, s, "10m", "WaldenArchivePushFailing")
    expect(g, s, "10m", "WaldenDrillTargetsMissed")
    tests.append(g)
    # E: a week and more without a drill (samples 5 minutes apart: a `for`
    # needs one within Prometheus' lookback at every evaluation)
    g, s = group(pushfail, 300, 2700)
    expect(g, s, "7d", "WaldenDrillTooOld", metric=False)
    expect(g, s, "9d", "WaldenDrillTooOld")
    tests.append(g)

    json.dump({"rule_files": [rules_file], "evaluation_interval": "5m", "tests": tests},
              sys.stdout, indent=1)


main()
