"""What the benchmarks share: paths, the summary, statistics, the bench-load
client and sampling the memory of a Dovecot's processes."""

import math
import os
import subprocess
import sys
import threading

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("AW_BUILD_DIR") or os.path.join(TOP, "build")
BENCH_BIN = os.path.join(BUILD, "bench")

os.environ.setdefault("AW_SRCDIR", TOP)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from awtest import PrivateDovecot, mime, wait_until  # noqa: E402,F401


def log(text=""):
    print(text, flush=True)


def bench_program(name):
    path = os.path.join(BENCH_BIN, name)
    if not os.access(path, os.X_OK):
        raise SystemExit("%s is missing: run bench/run-dovecot without "
                         "--no-build, or make -C %s %s" % (path, BENCH_BIN,
                                                           name))
    return path


class Report:
    """The final summary: one line per figure, with its target verdict."""

    def __init__(self):
        self.lines = []

    def add(self, name, text, met=None, target=None):
        """met: True/False against target (text), None when no target."""
        line = "%s: %s" % (name, text)
        if target is not None:
            line += "; target %s: %s" % (target, "met" if met else "MISSED")
        self.lines.append(line)
        log("  => " + line)

    def failed(self, name, error):
        line = "%s: FAILED (%s)" % (name, error)
        self.lines.append(line)
        log("  => " + line)


# ---- statistics ----

def run_summary(report, name, cmd, timeout):
    """Run a bench program whose last output line is its summary; log the
    lines before it. Returns that line, or None after reporting the run
    failed (non-zero exit or no output)."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=timeout)
    lines = p.stdout.rstrip("\n").splitlines()
    for line in lines[:-1]:
        log("  " + line)
    if p.returncode != 0 or not lines:
        report.failed(name, (lines or ["no output"])[-1])
        return None
    return lines[-1]


def median(values):
    values = sorted(values)
    n = len(values)
    if n == 0:
        return float("nan")
    if n % 2:
        return values[n // 2]
    return (values[n // 2 - 1] + values[n // 2]) / 2


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of values."""
    values = sorted(values)
    if not values:
        return float("nan")
    rank = max(1, int(math.ceil(p / 100.0 * len(values))))
    return values[rank - 1]


def spread(values):
    """'min..max' of values, as ratios are printed."""
    return "%.3f..%.3f" % (min(values), max(values))


# ---- bench-load ----

def _bench_load_cmd(proto, port, clients, secs, count, user_fmt, users,
                    offset, size):
    cmd = [bench_program("bench-load"), proto, "-p", str(port),
           "-c", str(clients), "-u", user_fmt, "-U", str(users),
           "-O", str(offset), "-s", str(size)]
    if count is not None:
        cmd += ["-n", str(count)]
    else:
        cmd += ["-t", str(secs)]
    return cmd


def _bench_load_parse(cmd, returncode, stdout, stderr):
    if returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), stderr.strip()))
    out = {}
    for field in stdout.split():
        key, _, value = field.partition("=")
        out[key] = value
    for key in ("ops", "errors", "clients"):
        out[key] = int(out[key])
    for key in ("secs", "rate"):
        out[key] = float(out[key])
    codes = {}
    if out.get("codes", "-") != "-":
        for item in out["codes"].split(","):
            code, _, n = item.partition(":")
            codes[int(code)] = int(n)
    out["codes"] = codes
    return out


def bench_load(proto, port, clients=4, secs=None, count=None,
               user_fmt="bench%u", users=1, offset=0, size=4096,
               timeout=None):
    """Run bench-load; returns its key=value line as a dict (ops, secs,
    rate, errors as numbers; codes as {code: count})."""
    cmd = _bench_load_cmd(proto, port, clients, secs, count, user_fmt,
                          users, offset, size)
    if timeout is None:
        timeout = (secs or 0) * 3 + 600
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, text=True)
    return _bench_load_parse(cmd, p.returncode, p.stdout, p.stderr)


def bench_load_together(runs, secs):
    """Start one timed bench-load per (proto, port, clients, user_fmt,
    users) in runs at the same moment; returns their results in order."""
    procs = []
    for proto, port, clients, user_fmt, users in runs:
        cmd = _bench_load_cmd(proto, port, clients, secs, None, user_fmt,
                              users, 0, 4096)
        procs.append((cmd, subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    results = []
    for cmd, p in procs:
        out, err = p.communicate(timeout=secs * 3 + 600)
        results.append(_bench_load_parse(cmd, p.returncode, out, err))
    return results


def code_classes(codes):
    """{code: n} -> {"2xx": n, "4xx": n, "5xx": n}"""
    out = {"2xx": 0, "4xx": 0, "5xx": 0}
    for code, n in codes.items():
        key = "%dxx" % (code // 100)
        out[key] = out.get(key, 0) + n
    return out


# ---- alternation ----

def abba_rounds(rounds, measure, a, b):
    """Measure a and b alternately: a b b a in even rounds, b a a b in odd
    ones, so that a drift of the machine's speed within a round hits both
    alike. measure(x) returns a tuple of figures (rate, ...). Returns
    [(figures_a, figures_b)] per round, each the mean of its two slices."""
    results = []
    for r in range(rounds):
        order = (a, b, b, a) if r % 2 == 0 else (b, a, a, b)
        got = {id(a): [], id(b): []}
        for x in order:
            got[id(x)].append(measure(x))
        results.append(tuple(
            tuple(sum(v) / len(v) for v in zip(*got[id(x)]))
            for x in (a, b)))
    return results


# ---- memory ----

def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples the RSS of a Dovecot's processes of one binary every
    interval seconds in a thread; peak_sum is the largest sum seen at one
    time, peak_one the largest single process, peak_count the most
    processes at once."""

    def __init__(self, dc, executable, interval=0.05):
        self.dc = dc
        self.executable = executable
        self.interval = interval
        self.peak_sum = self.peak_one = self.peak_count = 0
        self._stop = threading.Event()
        self._thread = None

    def _run(self):
        while not self._stop.is_set():
            pids = self.dc.service_pids(self.executable)
            sizes = [rss_kib(p) for p in pids]
            self.peak_sum = max(self.peak_sum, sum(sizes))
            self.peak_one = max([self.peak_one] + sizes)
            self.peak_count = max(self.peak_count, len(pids))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_cpu_ticks(pid):
    """(utime, stime, cutime, cstime) of pid in clock ticks: its own and
    its reaped children's CPU; zeros when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return (0, 0, 0, 0)
    # after the comm field: state is fields[0], utime is stat field 14
    return tuple(int(x) for x in fields[11:15])


def service_cpu_secs(dc, service):
    """(user, system) CPU seconds of the live processes of one service
    of a PrivateDovecot. Long-lived processes (lmtp with the default
    service_count) carry their whole time; one that exited is not
    counted."""
    ticks = [_proc_cpu_ticks(pid) for pid in dc.service_pids(service)]
    return (sum(t[0] for t in ticks) / float(_CLK_TCK),
            sum(t[1] for t in ticks) / float(_CLK_TCK))


def instance_cpu_secs(dc):
    """CPU seconds used so far by every process of a PrivateDovecot: the
    master with its reaped children (each with its own reaped children)
    and every live process of the instance. A process that exits between
    two readings moves its time into the master's; close enough for
    differences over seconds of load."""
    pids = [dc.master_pid] + dc.instance_pids()
    return sum(sum(_proc_cpu_ticks(p)) for p in pids) / float(_CLK_TCK)


