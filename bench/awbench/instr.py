"""Instructions per operation, plugin on vs off, counted by callgrind.

Timing on a shared 2-core machine is noisy; instruction counts are not.
perf's hardware counters are not available in this VM ("perf stat -e
instructions" says <not supported>), so the mail processes themselves run
under callgrind: each private Dovecot's lmtp and imap services get
"executable = valgrind --tool=callgrind ..." and service_count = 1, so one
connection is one process and its instruction total is written when it
ends. A session of 1 operation and one of 1 + N operations give the cost
of N operations without the process's start; on vs off gives the ratio.
The counts vary a little with the mailbox's state (Maildir file names are
random, so hash tables differ) and grow with its size, so each pair of
sessions runs three times, repeat i of "on" is compared with repeat i of
"off" (same mailbox sizes), and the median of the three ratios counts.
LMTP deliveries rotate over ten users; IMAP loops run on the first.
dovecot-lda is one process per message, so its whole run is counted; it
reads its config from the instance's config socket (-c base_dir/config),
since with a config file it would exec itself through doveconf and
callgrind would lose it.

Callgrind writes its file at exit under the uid the process then has
(vmail), so the output files are created beforehand owned by vmail.

A third Dovecot loads, instead of alertwall, floor-plugin.c: a mail
plugin of alertwall's shape (a user context, the same five mailbox vfuncs
wrapped) that does nothing. Its cost is what Dovecot charges any such
plugin; alertwall's instructions above it are alertwall's own."""

import glob
import os
import shutil
import subprocess

from .common import (BENCH_BIN, PrivateDovecot, bench_load, log, median,
                     mime, wait_until)
from awtest import vmail_ids

VALGRIND = "/usr/bin/valgrind"
CALLGRIND_EXE = "callgrind-amd64-linux"
TARGET = 1.01
REPEATS = 3


def _service_conf(outdir, tag):
    blocks = []
    for svc in ("lmtp", "imap"):
        blocks.append(
            "service %s {\n"
            "  executable = %s -q --vgdb=no --tool=callgrind "
            "--callgrind-out-file=%s/%s.%s /usr/lib/dovecot/%s\n"
            "  service_count = 1\n"
            "}\n" % (svc, VALGRIND, outdir, tag, svc, svc))
    return "".join(blocks)


FLOOR_MODULE = os.path.join(BENCH_BIN, ".libs", "lib95_awfloor_plugin.so")


def _floor_conf(dc):
    """Dovecot's own mail plugins and the floor plugin in a private
    mail_plugin_dir, the floor plugin loaded after quota."""
    if not os.path.exists(FLOOR_MODULE):
        raise RuntimeError("%s is missing: run bench/run-dovecot without "
                           "--no-build, or make -C %s "
                           "lib95_awfloor_plugin.la" % (FLOOR_MODULE,
                                                        BENCH_BIN))
    moddir = os.path.join(dc.root, "floor-modules")
    os.makedirs(moddir)
    for so in glob.glob("/usr/lib/dovecot/modules/*.so"):
        if "alertwall" not in os.path.basename(so):
            os.symlink(so, os.path.join(moddir, os.path.basename(so)))
    # a copy: the build tree may not be readable by the mail processes
    shutil.copy(FLOOR_MODULE, os.path.join(moddir, "lib95_awfloor_plugin.so"))
    os.chmod(dc.root, 0o755)
    os.chmod(moddir, 0o755)
    return ("mail_plugin_dir = %s\n"
            "mail_plugins = $mail_plugins awfloor\n" % moddir)


def _totals(path):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("totals:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return None


def _prepare(path):
    uid, gid = vmail_ids()
    with open(path, "w"):
        pass
    os.chown(path, uid, gid)


def _collect(path, what, timeout=300):
    total = wait_until(lambda: _totals(path), timeout, 0.2)
    if total is None:
        raise RuntimeError("callgrind wrote no totals for %s to %s"
                           % (what, path))
    return total


LMTP_USERS = 10
# failing deliveries: over-quota users, each failing at most 7 times in
# all (a warm-up, then 2 per repeat for f0, 1 for the others), below the
# 10 that escalate MAILBOX_QUOTA_EXCEEDED and suspend the mailbox
FAIL_USERS = 100


def _session(dc, path, proto, count, failing=False, offset=0):
    # the previous process (or the start's port probe) must be gone: it
    # would write the same file
    wait_until(lambda: not dc.service_pids(CALLGRIND_EXE), 120, 0.2)
    _prepare(path)
    port = dc.lmtp_port if proto == "lmtp" else dc.imap_port
    if failing:
        r = bench_load(proto, port, clients=1, count=count, user_fmt="f%u",
                       users=FAIL_USERS, offset=offset, size=2048)
        ok = {552}
    else:
        r = bench_load(proto, port, clients=1, count=count, user_fmt="u%u",
                       users=LMTP_USERS if proto == "lmtp" else 1)
        ok = {250} if proto == "lmtp" else None
    if r["errors"] or (ok is not None and set(r["codes"]) != ok):
        raise RuntimeError("%s session under callgrind: %r" % (proto, r))
    return _collect(path, "%s %s" % (dc.instance_name, proto))


def _lda_run(dc, path, msg):
    _prepare(path)
    p = subprocess.run([VALGRIND, "-q", "--vgdb=no", "--tool=callgrind",
                        "--callgrind-out-file=" + path,
                        "/usr/lib/dovecot/dovecot-lda", "-c",
                        os.path.join(dc.base_dir, "config"),
                        "-d", "u0"], input=msg, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    if p.returncode != 0:
        raise RuntimeError("dovecot-lda under callgrind exited %d: %s" % (
            p.returncode, p.stderr.decode("utf-8", "replace")[-500:]))
    return _collect(path, "dovecot-lda")


def _failing(dc, tag, outdir):
    """Instructions per failing delivery (a repeat of an open alert)."""
    # the lmtp service's callgrind file
    path = os.path.join(outdir, "%s.lmtp" % tag)
    _session(dc, path, "lmtp", FAIL_USERS, failing=True)
    per_op, ones = [], []
    for i in range(REPEATS):
        one = _session(dc, path, "lmtp", 1, failing=True, offset=1 + i)
        many = _session(dc, path, "lmtp", 1 + FAIL_USERS, failing=True)
        per_op.append((many - one) / FAIL_USERS)
        ones.append(one)
        log("  %-5s failing lmtp: %d instructions for 1, %d for %d: "
            "%.0f per failure" % (tag, one, many, 1 + FAIL_USERS,
                                  per_op[-1]))
    return per_op, ones


def run(opts, report):
    n = opts.instr_ops
    results = {}
    for tag, alertwall in (("off", False), ("floor", False), ("on", True)):
        users = {"u%d" % i: {} for i in range(LMTP_USERS)}
        users.update({"f%d" % i: {"quota_rule": "*:storage=1K"}
                      for i in range(FAIL_USERS)})
        # the failures raise a profile-level alert, mailed to the
        # profile's owner too
        users["admin"] = users["postmaster"] = {}
        dc = PrivateDovecot(alertwall=alertwall, users=users,
                            name="awbench-cg-" + tag)
        outdir = os.path.join(dc.root, "callgrind")
        os.makedirs(outdir)
        os.chmod(outdir, 0o777)
        dc.extra_conf = _service_conf(outdir, tag)
        if tag == "floor":
            dc.extra_conf += _floor_conf(dc)
        try:
            dc.start(timeout=60)
            res = {}
            for proto in ("lmtp", "imap"):
                path = os.path.join(outdir, "%s.%s" % (tag, proto))
                per_op, ones = [], []
                for i in range(REPEATS):
                    one = _session(dc, path, proto, 1)
                    many = _session(dc, path, proto, 1 + n)
                    per_op.append((many - one) / n)
                    ones.append(one)
                    log("  %-5s %s: %d instructions for 1, %d for %d: "
                        "%.0f per operation" % (tag, proto, one, many, 1 + n,
                                                per_op[-1]))
                res[proto] = (per_op, ones)
            # failing deliveries, every one a repeat of an open alert (the
            # storm's common case): a warm-up session raises them; the
            # floor only tells the success path
            if tag != "floor":
                res["fail"] = _failing(dc, tag, outdir)
            msg = mime.make_message(size=4096, to="u0@example.test")
            lda = []
            for i in range(REPEATS):
                lda.append(_lda_run(dc, os.path.join(
                    outdir, "%s.lda.%d" % (tag, i)), msg))
            res["lda"] = (lda, None)
            log("  %-5s dovecot-lda: %s instructions per run" % (tag, lda))
            errors = dc.errors_in_log(allow=r"==\d+==")
            if errors:
                raise RuntimeError("%s logged errors: %s" % (
                    dc.instance_name, errors[:3]))
        finally:
            dc.close()
        results[tag] = res

    for key, what in (("lmtp", "instructions per LMTP delivery"),
                      ("imap", "instructions per IMAP loop"),
                      ("lda", "instructions per dovecot-lda run"),
                      ("fail", "instructions per failing LMTP delivery "
                       "(repeat of an open alert)")):
        on, off = results["on"][key][0], results["off"][key][0]
        ratio = median([a / b for a, b in zip(on, off)])
        text = "on/off %.4f (median of %d; %.0f vs %.0f, +%.0f)" % (
            ratio, len(on), median(on), median(off),
            median(on) - median(off))
        if results["on"][key][1] is not None:
            s_on = median(results["on"][key][1])
            s_off = median(results["off"][key][1])
            text += "; process start + first op %.0f vs %.0f (+%.0f)" % (
                s_on, s_off, s_on - s_off)
        if key == "fail":
            # no target: the failure path does real work; it tells what a
            # storm of repeats costs the lmtp process
            report.add(what, text)
        else:
            report.add(what, text, ratio <= TARGET, "<= %.2f" % TARGET)
            floor = results["floor"][key][0]
            f_ratio = median([a / b for a, b in zip(floor, off)])
            report.add(what + ", a plugin of alertwall's shape that does "
                       "nothing (floor-plugin.c)",
                       "floor/off %.4f (%+.0f); alertwall above the floor "
                       "%+.0f" % (f_ratio, median(floor) - median(off),
                                  median(on) - median(floor)))
