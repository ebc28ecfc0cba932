"""Storm: many failing deliveries over many mailboxes of one profile.

Two private Dovecots with the same users (storm0 .. stormM-1, every one
with a 1 KiB quota, all in the default profile), one with alertwall and
one without. bench-load sends 2 KiB messages that all fail (552 5.2.2;
with alertwall the 10th failure of a mailbox escalates and suspends it,
and later ones get 451 4.2.1). The attempts go out in slices, each slice
once to every mailbox; the two Dovecots take turns per slice (a b, b a,
...), so the machine's changing load hits both alike. Reported:

- delivery attempts/s, on vs off (from the slices' times);
- that every attempt got a 4xx or 5xx reply (nothing accepted, nothing
  lost to an error);
- admin mails: thanks to profile correlation (alertwall_correlate_mailboxes,
  default 10) at most that many mailbox alerts reach the admin before one
  profile-level alert takes over and the rest are only logged;
- sidecar lines by event, and the distinct alerts they name;
- peak RSS of the lmtp processes (sum and largest one), sampled from /proc
  every 50 ms during each Dovecot's slices;
- CPU time per attempt of each Dovecot (all its processes, the alert
  deliveries included), from its start to the end of the storm: less
  sensitive than throughput to what else the machine runs."""

import os
import re
import time

from .common import (PrivateDovecot, RssSampler, bench_load, code_classes,
                     instance_cpu_secs, log, median, service_cpu_secs,
                     spread)

CORRELATE_MAILBOXES = 10  # alertwall_correlate_mailboxes, the default
TARGET_RATIO = 0.95
_SUBJECT_RE = re.compile(rb"^Subject: (.*)$", re.M)
_RCPT_RE = re.compile(rb"^X-Alertwall-Recipient: *(\S+)", re.M)


def _spool_pending(dc, recipient):
    """Spool files still waiting for recipient."""
    n = 0
    for raw in dc.spool_mails():
        m = _RCPT_RE.search(raw[:8192])
        if m and m.group(1).decode() == recipient:
            n += 1
    return n


def _admin_mails(dc):
    """[(folder, subject)] of the admin's alert mails."""
    maildir = dc.user_maildir("admin")
    out = []
    try:
        folders = [f for f in os.listdir(maildir) if f.startswith(".Alerts")]
    except FileNotFoundError:
        return out
    for folder in folders:
        for sub in ("new", "cur"):
            d = os.path.join(maildir, folder, sub)
            for name in os.listdir(d) if os.path.isdir(d) else []:
                with open(os.path.join(d, name), "rb") as f:
                    m = _SUBJECT_RE.search(f.read(8192))
                out.append((folder[1:], m.group(1).decode("utf-8", "replace")
                            .strip() if m else "?"))
    return sorted(out)


def run(opts, report):
    mailboxes, attempts = opts.storm_mailboxes, opts.storm_attempts
    slices = attempts // mailboxes
    if slices * mailboxes != attempts or slices < 2:
        raise ValueError("storm: attempts must be a multiple (>= 2) of "
                         "mailboxes")
    users = {"storm%d" % i: {"quota_rule": "*:storage=1K"}
             for i in range(mailboxes)}
    users["admin"] = users["postmaster"] = {}  # the profile owner
    on = PrivateDovecot(alertwall=True, users=users, name="awbench-storm-on")
    off = PrivateDovecot(alertwall=False, users=users,
                         name="awbench-storm-off")
    names = {id(on): "on", id(off): "off"}
    totals = {id(on): [0, 0.0], id(off): [0, 0.0]}
    codes = {id(on): {}, id(off): {}}
    errors = {id(on): 0, id(off): 0}
    rss = {id(on): [0, 0], id(off): [0, 0]}
    pair_ratios = []
    cpu = {}
    lmtp_cpu = {}
    try:
        for dc in (on, off):
            dc.start(timeout=30)
            cpu[id(dc)] = -instance_cpu_secs(dc)
        log("storm: %d failing deliveries over %d mailboxes, %d slices, "
            "%d clients" % (attempts, mailboxes, slices, opts.clients))
        for k in range(slices):
            order = (on, off) if k % 2 == 0 else (off, on)
            rates = {}
            for dc in order:
                with RssSampler(dc, "lmtp") as sampler:
                    r = bench_load("lmtp", dc.lmtp_port,
                                   clients=opts.clients, count=mailboxes,
                                   user_fmt="storm%u", users=mailboxes,
                                   offset=k * mailboxes, size=2048)
                key = id(dc)
                totals[key][0] += r["ops"]
                totals[key][1] += r["secs"]
                errors[key] += r["errors"]
                for code, n in r["codes"].items():
                    codes[key][code] = codes[key].get(code, 0) + n
                rss[key][0] = max(rss[key][0], sampler.peak_sum)
                rss[key][1] = max(rss[key][1], sampler.peak_one)
                rates[key] = r["ops"] / r["secs"]
                log("  slice %2d %-3s %7.1f attempts/s  %s" % (
                    k + 1, names[key], rates[key],
                    ",".join("%d:%d" % c for c in sorted(r["codes"]
                                                         .items()))))
            pair_ratios.append(rates[id(on)] / rates[id(off)])
        storm_secs = totals[id(on)][1]

        # the alert mails for the admin, once the deliver service is done
        t0 = time.monotonic()
        while _spool_pending(on, "admin") and time.monotonic() - t0 < 300:
            time.sleep(0.5)
        pending = _spool_pending(on, "admin")
        for dc in (on, off):
            cpu[id(dc)] += instance_cpu_secs(dc)
            lmtp_cpu[id(dc)] = service_cpu_secs(dc, "lmtp")
        mails = _admin_mails(on)
        records = on.sidecar_records()
    finally:
        for dc in (on, off):
            dc.close()

    for dc in (on, off):
        key = id(dc)
        log("  %-3s: %d attempts in %.1f s, replies %s, errors %d, peak "
            "lmtp RSS %d KiB (largest process %d KiB)" % (
                names[key], totals[key][0], totals[key][1],
                ",".join("%d:%d" % c for c in sorted(codes[key].items())),
                errors[key], rss[key][0], rss[key][1]))
    rate_on = totals[id(on)][0] / totals[id(on)][1]
    rate_off = totals[id(off)][0] / totals[id(off)][1]
    ratio = rate_on / rate_off
    report.add("storm attempts/s on/off",
               "ratio %.3f (%.0f vs %.0f/s; per slice pair median %.3f, "
               "spread %s); %d attempts over %d mailboxes took %.1f s with "
               "alertwall" % (ratio, rate_on, rate_off, median(pair_ratios),
                              spread(pair_ratios), attempts, mailboxes,
                              storm_secs),
               ratio >= TARGET_RATIO, ">= %.2f" % TARGET_RATIO)

    cpu_on = cpu[id(on)] / attempts * 1000
    cpu_off = cpu[id(off)] / attempts * 1000
    report.add("storm CPU per attempt",
               "on %.2f ms, off %.2f ms: ratio %.2f (every process of each "
               "Dovecot, alert deliveries included)" % (
                   cpu_on, cpu_off, cpu_on / cpu_off))
    # where the difference goes: the lmtp processes' user and kernel time
    # (alertwall's classification and state files), and the rest (mostly
    # the deliver service's dovecot-lda and doveadm runs for the alert
    # mails, a cost per mail, not per attempt)
    split = {}
    for dc in (on, off):
        user, system = lmtp_cpu[id(dc)]
        split[id(dc)] = (user / attempts * 1000, system / attempts * 1000,
                         cpu[id(dc)] / attempts * 1000 -
                         (user + system) / attempts * 1000)
    report.add("storm CPU per attempt, split",
               "lmtp user %.2f vs %.2f ms, lmtp kernel %.2f vs %.2f ms, "
               "other processes %.2f vs %.2f ms (on vs off)" % (
                   split[id(on)][0], split[id(off)][0],
                   split[id(on)][1], split[id(off)][1],
                   split[id(on)][2], split[id(off)][2]))

    lost = []
    for dc in (on, off):
        key = id(dc)
        classes = code_classes(codes[key])
        answered = classes["4xx"] + classes["5xx"]
        if classes["2xx"] or answered != attempts or errors[key]:
            lost.append("%s: %d of %d answered 4xx/5xx, %d 2xx, %d errors"
                        % (names[key], answered, attempts, classes["2xx"],
                           errors[key]))
    report.add("storm replies", "every attempt got 4xx/5xx (on: %s; off: "
               "%s)" % tuple(",".join("%d:%d" % c for c in
                                      sorted(codes[id(x)].items()))
                             for x in (on, off))
               if not lost else "; ".join(lost),
               not lost, "nothing lost")

    events = {}
    for rec in records:
        events[rec.get("event")] = events.get(rec.get("event"), 0) + 1
    alert_ids = {rec.get("id") for rec in records
                 if rec.get("event") in ("raised", "escalated")}
    profile_ids = {rec.get("id") for rec in records
                   if rec.get("event") == "raised" and
                   rec.get("scope") == "profile"}
    profile_mails = [m for m in mails if ": profile " in m[1]]
    for folder, subject in mails:
        log("  admin %-16s %s" % (folder, subject))
    limit = CORRELATE_MAILBOXES + 1
    report.add("storm admin mails",
               "%d (%d profile-level, %d mailbox-level; %d still spooled) "
               "for %d distinct alerts (%d profile-level) of %d mailboxes"
               % (len(mails), len(profile_mails),
                  len(mails) - len(profile_mails), pending, len(alert_ids),
                  len(profile_ids), mailboxes),
               len(mails) <= limit and len(profile_mails) == 1 and
               not pending,
               "<= %d mailbox alerts before correlation + 1 profile alert"
               % CORRELATE_MAILBOXES)
    report.add("storm sidecar",
               "%d lines (%s)" % (len(records), ", ".join(
                   "%s %d" % (e, n) for e, n in sorted(events.items()))))
    report.add("storm peak lmtp RSS",
               "on %d KiB, off %d KiB (sum over lmtp processes; largest "
               "one %d vs %d KiB)" % (rss[id(on)][0], rss[id(off)][0],
                                     rss[id(on)][1], rss[id(off)][1]))
