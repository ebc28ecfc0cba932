"""State scale: bench-state against the file store and against real
redis-servers, one store per size in opts.state_sizes (bench-state fills
each and times them taking turns). The redis servers are started here on
free loopback ports, without persistence, and stopped afterwards; the
plain round trip of the first (redis-benchmark GET, one client) is
reported as the baseline of the redis figures.

A loopback round trip on this VM costs 15 to 100 us depending on where
the scheduler wakes the server up, and that differs from one server
process to the next; so every redis-server runs on the second CPU and
the clients (bench-state, redis-benchmark) on the first, the same for
all sizes."""

import os
import shutil
import socket
import subprocess
import tempfile

from awtest import port_accepts
from awtest.dovecot import root_dir

from .common import bench_program, log, run_summary, wait_until

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_BENCHMARK = "/usr/bin/redis-benchmark"
TASKSET = "/usr/bin/taskset"
SERVER_CPU, CLIENT_CPU = "1", "0"


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _bench_state(report, name, uris, opts, pin=False):
    cmd = ([TASKSET, "-c", CLIENT_CPU] if pin else []) + [
        bench_program("bench-state"), "-c", str(opts.state_calls),
           "-s", ",".join(str(n) for n in opts.state_sizes)] + uris
    log("$ " + " ".join(cmd))
    # "bench-state file: ...; target flat (...): met"
    last = run_summary(report, name, cmd, 3600)
    if last is None:
        return
    head, _, rest = last.partition(": ")
    text, _, verdict = rest.rpartition("; target ")
    target, _, outcome = verdict.rpartition(": ")
    report.add(name, text, outcome == "met", target)


def run(opts, report):
    tmp = tempfile.mkdtemp(prefix="awbench-state-", dir=root_dir())
    try:
        _bench_state(report, "state scale, file store",
                     ["file:" + os.path.join(tmp, "store%d" % n)
                      for n in opts.state_sizes], opts)
    finally:
        # a million files: rm -rf is much faster than shutil here
        subprocess.run(["rm", "-rf", tmp], check=False)

    servers = []
    rdir = tempfile.mkdtemp(prefix="awbench-redis-", dir=root_dir())
    try:
        ports = []
        for n in opts.state_sizes:
            port = _free_port()
            ports.append(port)
            servers.append(subprocess.Popen(
                [TASKSET, "-c", SERVER_CPU, REDIS_SERVER, "--port",
                 str(port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", rdir,
                 "--dbfilename", "dump-%d.rdb" % port],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not all(wait_until(lambda: port_accepts(p), 10) for p in ports):
            report.failed("state scale, redis", "redis-server did not start")
            return
        p = subprocess.run([TASKSET, "-c", CLIENT_CPU, REDIS_BENCHMARK,
                            "-p", str(ports[0]), "-c", "1",
                            "-n", "5000", "-t", "get", "--csv"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True, timeout=120)
        for line in p.stdout.splitlines():
            if line.startswith('"GET"'):
                fields = [f.strip('"') for f in line.split(",")]
                # "test","rps","avg_latency_ms","min","p50",...
                report.add("redis baseline", "one GET round trip p50 %s "
                           "ms (redis-benchmark, 1 client)" % fields[4])
        _bench_state(report, "state scale, redis store",
                     ["redis:host=127.0.0.1:port=%d" % p for p in ports],
                     opts, pin=True)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        shutil.rmtree(rdir, ignore_errors=True)
