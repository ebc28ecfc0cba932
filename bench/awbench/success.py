"""Success-path overhead: how much throughput alertwall costs when nothing
fails. Two private Dovecots with the same config, one with alertwall, one
without, run side by side, and bench-load drives them two ways:

- alternated: each in turn (a b b a per round), so that a drift of the
  machine's load within a round hits both alike; one ratio per round;
- together: both at once for the same seconds, each with its own clients;
  they share the CPUs at every moment, so what else runs on the machine
  slows both alike, and the one that needs more CPU per operation gets
  fewer done.

Each way reports the throughput ratio and the ratio of CPU time per
operation (all processes of each Dovecot, from /proc), which depends less
on what else runs on the machine.

LMTP: parallel clients deliver 4 KiB messages over TCP, one recipient per
transaction, spread over many users. IMAP: each client logs in as its own
user (50 messages) and loops over SELECT, FETCH 1:* flags, FETCH of one
header, STORE \\Seen and NOOP.

With opts.calibrate both Dovecots run without alertwall (an A/A test):
the ratios then show the method's own noise and bias."""

from .common import (PrivateDovecot, abba_rounds, bench_load,
                     bench_load_together, instance_cpu_secs, log, median,
                     spread)

IMAP_MESSAGES = 50
TARGET = 0.99


def _check(dc, proto, result):
    if result["errors"]:
        raise RuntimeError("%s on %s: %d errors" % (proto, dc.instance_name,
                                                    result["errors"]))
    if proto == "lmtp" and set(result["codes"]) != {250}:
        raise RuntimeError("%s on %s: replies %r" % (
            proto, dc.instance_name, result["codes"]))


def _load_args(opts, dc, proto):
    if proto == "lmtp":
        return ("lmtp", dc.lmtp_port, opts.clients, "bench%u",
                opts.lmtp_users)
    return ("imap", dc.imap_port, opts.clients, "imap%u", opts.clients)


def _summary(report, what, method, rounds, label):
    """rounds: [((rate_a, cpu_a), (rate_b, cpu_b))]"""
    calibrate = label != "on/off"
    ratios = [a[0] / b[0] for a, b in rounds]
    cpu_ratios = [a[1] / b[1] for a, b in rounds]
    med = median(ratios)
    report.add("%s %s, %s" % (what, label, method),
               "ratio %.3f (median of %d rounds, spread %s; %.0f/s vs "
               "%.0f/s); CPU per operation %.3f (spread %s; %.2f vs %.2f "
               "ms)" % (med, len(ratios), spread(ratios),
                        median([a[0] for a, _ in rounds]),
                        median([b[0] for _, b in rounds]),
                        median(cpu_ratios), spread(cpu_ratios),
                        median([a[1] for a, _ in rounds]) * 1000,
                        median([b[1] for _, b in rounds]) * 1000),
               None if calibrate else med >= TARGET,
               None if calibrate else "throughput >= %.2f" % TARGET)


def run(opts, report):
    calibrate = getattr(opts, "calibrate", False)
    users = {"bench%d" % i: {} for i in range(opts.lmtp_users)}
    users.update({"imap%d" % i: {} for i in range(opts.clients)})
    a = PrivateDovecot(alertwall=not calibrate, users=users,
                       name="awbench-a")
    b = PrivateDovecot(alertwall=False, users=users, name="awbench-b")
    label = "A/A (both without alertwall)" if calibrate else "on/off"
    names = {id(a): "A" if calibrate else "on",
             id(b): "B" if calibrate else "off"}
    try:
        for dc in (a, b):
            dc.start()
        for dc in (a, b):
            r = bench_load("lmtp", dc.lmtp_port, clients=2,
                           count=IMAP_MESSAGES * opts.clients,
                           user_fmt="imap%u", users=opts.clients)
            _check(dc, "lmtp", r)
            # warm-up: processes started, mailboxes created
            for proto in ("lmtp", "imap"):
                p, port, clients, fmt, n = _load_args(opts, dc, proto)
                _check(dc, proto, bench_load(p, port, clients=clients,
                                             secs=1, user_fmt=fmt, users=n))

        for proto, what in (("lmtp", "LMTP deliveries/s"),
                            ("imap", "IMAP loops/s")):
            def measure(dc):
                p, port, clients, fmt, n = _load_args(opts, dc, proto)
                cpu = instance_cpu_secs(dc)
                r = bench_load(p, port, clients=clients,
                               secs=opts.slice_secs, user_fmt=fmt, users=n)
                cpu = instance_cpu_secs(dc) - cpu
                _check(dc, proto, r)
                return r["rate"], cpu / max(r["ops"], 1)

            log("%s %s, alternated: %d rounds of a b b a, %.0f s slices, "
                "%d clients" % (what, label, opts.rounds, opts.slice_secs,
                                opts.clients))
            rounds = abba_rounds(opts.rounds, measure, a, b)
            for i, (ra, rb) in enumerate(rounds, 1):
                log("  round %d: %s %.1f/s %s %.1f/s ratio %.3f, CPU per "
                    "op %.3f" % (i, names[id(a)], ra[0], names[id(b)],
                                 rb[0], ra[0] / rb[0], ra[1] / rb[1]))
            _summary(report, what, "alternated", rounds, label)

            log("%s %s, together: %d rounds of %.0f s, %d clients each" % (
                what, label, opts.rounds, 2 * opts.slice_secs, opts.clients))
            rounds = []
            for i in range(opts.rounds):
                cpu_a, cpu_b = instance_cpu_secs(a), instance_cpu_secs(b)
                ra, rb = bench_load_together(
                    [_load_args(opts, a, proto), _load_args(opts, b, proto)],
                    2 * opts.slice_secs)
                cpu_a = instance_cpu_secs(a) - cpu_a
                cpu_b = instance_cpu_secs(b) - cpu_b
                _check(a, proto, ra)
                _check(b, proto, rb)
                rounds.append(((ra["rate"], cpu_a / max(ra["ops"], 1)),
                               (rb["rate"], cpu_b / max(rb["ops"], 1))))
                log("  round %d: %s %.1f/s %s %.1f/s ratio %.3f, CPU per "
                    "op %.3f" % (i + 1, names[id(a)], ra["rate"],
                                 names[id(b)], rb["rate"],
                                 ra["rate"] / rb["rate"],
                                 rounds[-1][0][1] / rounds[-1][1][1]))
            _summary(report, what, "together", rounds, label)

        # nothing failed, so nothing may have been alerted
        alerts = [r for r in a.sidecar_records()
                  if str(r.get("level")).lower() != "info"]
        for dc in (a, b):
            errors = dc.errors_in_log()
            if errors:
                raise RuntimeError("%s logged errors: %s" % (
                    dc.instance_name, errors[:3]))
        if alerts:
            raise RuntimeError("the success path raised alerts: %r"
                               % alerts[:2])
    finally:
        for dc in (a, b):
            dc.close()
