#!/usr/bin/env python3
"""drill_check.py - strict readers of walden drill's outputs, for the tests.

  drill_check.py metrics FILE            parses a Prometheus textfile strictly
                                         and prints "name{labels} value" lines
  drill_check.py report FILE KEY...      parses the JSON report, checks its
                                         required keys, prints KEY=value lines
                                         (a.b for nested keys, json-encoded)

Exits 1 with a message on the first violation.
"""
import json
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
VALUE = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|NaN|[+-]Inf"
SAMPLE = re.compile(rf"^({NAME})(\{{{LABEL}(?:,{LABEL})*\}})? ({VALUE})(?: -?[0-9]+)?$")
HELP = re.compile(rf"^# HELP ({NAME}) (.+)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")


def die(msg):
    print(f"drill_check: {msg}", file=sys.stderr)
    sys.exit(1)


def metrics(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        die("the metrics file does not end with a newline")
    helps, types, done, samples = {}, {}, set(), {}
    current = None
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if m := HELP.match(line):
            name = m.group(1)
            if name in helps:
                die(f"line {n}: second HELP for {name}")
            helps[name] = m.group(2)
            continue
        if m := TYPE.match(line):
            name = m.group(1)
            if name in types:
                die(f"line {n}: second TYPE for {name}")
            if name in done or name == current:
                die(f"line {n}: TYPE for {name} after its samples")
            types[name] = m.group(2)
            continue
        if line.startswith("#"):
            die(f"line {n}: a comment that is neither HELP nor TYPE: {line!r}")
        m = SAMPLE.match(line)
        if not m:
            die(f"line {n}: not a sample: {line!r}")
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if name not in helps or name not in types:
            die(f"line {n}: {name} has no HELP or TYPE line before its samples")
        if name != current:
            if name in done:
                die(f"line {n}: samples of {name} are not together")
            if current:
                done.add(current)
            current = name
        key = name + labels
        if key in samples:
            die(f"line {n}: duplicate sample {key}")
        samples[key] = float(value)
    for name in set(helps) | set(types):
        if name not in helps or name not in types:
            die(f"{name} lacks HELP or TYPE")
    for key, value in samples.items():
        print(f"{key} {value}")


REQUIRED = ["status", "backup_id", "rto_seconds", "rpo_seconds", "rto_target_seconds",
            "rpo_target_seconds", "phases", "checks", "started_at", "finished_at"]


def report(path, keys):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    for k in REQUIRED:
        if k not in doc:
            die(f"the report has no key {k}")
    for p in ("restore", "replay", "startup", "checks"):
        if not isinstance(doc["phases"].get(p), (int, float)) or doc["phases"][p] < 0:
            die(f"phases.{p} is not a duration: {doc['phases'].get(p)!r}")
    for c in doc["checks"]:
        if not {"name", "result"} <= set(c) or c["result"] not in ("pass", "fail", "skip"):
            die(f"a check without name or result: {c!r}")
    if doc["status"] not in ("passed", "failed", "targets-missed"):
        die(f"unknown status {doc['status']!r}")
    for k in keys:
        v = doc
        for part in k.split("."):
            v = v[int(part)] if isinstance(v, list) else v.get(part)
        print(f"{k}={json.dumps(v)}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "metrics":
        metrics(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3:])
    else:
        die("usage: drill_check.py metrics FILE | report FILE [KEY...]")
