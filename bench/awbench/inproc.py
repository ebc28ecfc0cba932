"""The in-process benchmarks that make bench already runs: bench-raise
(what raising an alert costs the failing operation) and bench-classify
(classifications per second). Their own last lines are the summary,
with their own target verdicts."""

import subprocess

from .common import bench_program, log


def _run(report, name, program, args=()):
    p = subprocess.run([bench_program(program)] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=1800)
    lines = p.stdout.rstrip("\n").splitlines()
    for line in lines[:-1]:
        log("  " + line)
    if p.returncode != 0 or not lines:
        report.failed(name, (lines or ["no output"])[-1])
        return
    # the program's own summary line, its target verdict included
    text = lines[-1]
    if text.startswith(program + ": "):
        text = text[len(program) + 2:]
    report.add(name, text)


def run(opts, report):
    _run(report, "bench-raise", "bench-raise")
    _run(report, "bench-classify", "bench-classify")
