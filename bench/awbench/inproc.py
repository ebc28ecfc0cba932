"""The in-process benchmarks that make bench already runs: bench-raise
(what raising an alert costs the failing operation) and bench-classify
(classifications per second). Their own last lines are the summary,
with their own target verdicts."""

from .common import bench_program, run_summary


def _run(report, name, program, args=()):
    # the program's own summary line, its target verdict included
    text = run_summary(report, name, [bench_program(program)] + list(args),
                       1800)
    if text is None:
        return
    if text.startswith(program + ": "):
        text = text[len(program) + 2:]
    report.add(name, text)


def run(opts, report):
    _run(report, "bench-raise", "bench-raise")
    _run(report, "bench-classify", "bench-classify")
