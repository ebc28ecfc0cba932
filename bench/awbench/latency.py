"""Failure-path latency: from a failed delivery's LMTP reply to the alert
mail in the admin's Alerts folder.

A private Dovecot with alertwall. Profile correlation is switched off
here (alertwall_correlate_mailboxes = 0): with it, the 10th failing
mailbox would fold the later ones into one profile alert and they would
never be mailed, which is right in production but leaves nothing to
time. A thread watches the admin's Maildir folders (new/ and cur/ of every
.Alerts.* folder) every 2 ms and notes when each user's alert mail
appears. Three runs, one after the other on the same Dovecot:

- admin only: a message over quota_max_mail_size (451 4.2.0,
  MESSAGE_TOO_LARGE, an email-level alert that goes to the admin alone),
  one failure at a time (the next after the previous alert arrived);
- the same as a burst: that many failures sent at once by 5 clients;
- full mailboxes: every user has a 1 KiB quota, so a 2 KiB message fails
  with 552 5.2.2 and raises MAILBOX_QUOTA_EXCEEDED, a mailbox-level alert
  mailed to the admin and to the owner (whose copy goes in over the
  quota, alertwall_over_quota); one failure at a time;
- a burst of such failures: the admin's copies share the deliver service
  with as many owner copies."""

import os
import re
import threading
import time

from .common import PrivateDovecot, log, median, mime, percentile

TARGET_SECS = 5.0
POLL_SECS = 0.002
BURST_CLIENTS = 5
_USER_RE = re.compile(rb"^Subject:.*?\b((?:big|bigburst|lat|burst)\d+)/",
                      re.M)
MAX_MAIL_SIZE = "64k"
BIG_SIZE = 100 * 1024


class AdminWatcher:
    """Polls the admin's alert folders; arrivals maps user -> monotonic
    time its first alert mail was seen."""

    def __init__(self, dc):
        self.maildir = dc.user_maildir("admin")
        self.arrivals = {}
        self.seen = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _scan(self):
        now = time.monotonic()
        try:
            folders = [f for f in os.listdir(self.maildir)
                       if f.startswith(".Alerts")]
        except FileNotFoundError:
            return
        for folder in folders:
            for sub in ("new", "cur"):
                d = os.path.join(self.maildir, folder, sub)
                try:
                    names = os.listdir(d)
                except FileNotFoundError:
                    continue
                for name in names:
                    base = name.split(":", 1)[0]
                    if base in self.seen:
                        continue
                    self.seen.add(base)
                    try:
                        with open(os.path.join(d, name), "rb") as f:
                            head = f.read(4096)
                    except FileNotFoundError:
                        # moved from new/ to cur/ meanwhile
                        self.seen.discard(base)
                        continue
                    m = _USER_RE.search(head)
                    if m:
                        self.arrivals.setdefault(m.group(1).decode(), now)

    def _run(self):
        while not self._stop.is_set():
            self._scan()
            time.sleep(POLL_SECS)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()


def _fail_one(dc, user, msg):
    """Deliver msg to user; returns (time before, time of the reply)."""
    t0 = time.monotonic()
    r = dc.lmtp_send([user], msg)[user]
    t1 = time.monotonic()
    if r.code // 100 == 2:
        raise RuntimeError("delivery to %s did not fail: %r" % (user, r))
    return t0, t1


def _summary(report, what, lat, lat_from_start, met_target=True):
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    report.add("alert latency, %s" % what,
               "p50 %.3f s, p99 %.3f s, max %.3f s over %d alerts "
               "(from the start of the delivery: p50 %.3f s)" % (
                   p50, p99, max(lat), len(lat),
                   median(lat_from_start)),
               p99 <= TARGET_SECS if met_target else None,
               "p99 <= %.0f s" % TARGET_SECS if met_target else None)


def _one_at_a_time(dc, watcher, prefix, n, msg):
    lat, lat0 = [], []
    for i in range(n):
        user = "%s%d" % (prefix, i)
        t0, t1 = _fail_one(dc, user, msg)
        deadline = t1 + 60
        while user not in watcher.arrivals:
            if time.monotonic() > deadline:
                raise RuntimeError("no alert mail for %s in 60 s" % user)
            time.sleep(POLL_SECS)
        lat.append(watcher.arrivals[user] - t1)
        lat0.append(watcher.arrivals[user] - t0)
    log("  %s, one at a time: %s" % (prefix, " ".join("%.2f" % x
                                                      for x in lat)))
    return lat, lat0


def _burst(report, dc, watcher, prefix, n, msg, what):
    times = {}
    errors = []

    def client(k):
        try:
            for i in range(k, n, BURST_CLIENTS):
                user = "%s%d" % (prefix, i)
                times[user] = _fail_one(dc, user, msg)
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=client, args=(k,))
               for k in range(BURST_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    deadline = time.monotonic() + 120
    while not all(u in watcher.arrivals for u in times):
        if time.monotonic() > deadline:
            missing = [u for u in times if u not in watcher.arrivals]
            raise RuntimeError("no alert mail for %d %s users in 120 s"
                               % (len(missing), prefix))
        time.sleep(0.05)
    lat = [watcher.arrivals[u] - t1 for u, (t0, t1) in times.items()]
    lat0 = [watcher.arrivals[u] - t0 for u, (t0, t1) in times.items()]
    log("  %s: sent in %.2f s from %d clients" % (
        prefix, max(t1 for _, t1 in times.values()) -
        min(t0 for t0, _ in times.values()), BURST_CLIENTS))
    _summary(report, what, lat, lat0)


def run(opts, report):
    n = opts.alerts
    users = {"big%d" % i: {} for i in range(n)}
    users.update({"bigburst%d" % i: {} for i in range(n)})
    users.update({"lat%d" % i: {"quota_rule": "*:storage=1K"}
                  for i in range(n)})
    users.update({"burst%d" % i: {"quota_rule": "*:storage=1K"}
                  for i in range(n)})
    users["admin"] = {}
    dc = PrivateDovecot(alertwall=True, users=users,
                        plugin={"alertwall_correlate_mailboxes": "0",
                                "quota_max_mail_size": MAX_MAIL_SIZE},
                        name="awbench-latency")
    watcher = AdminWatcher(dc)
    try:
        dc.start()
        watcher.start()
        lat, lat0 = _one_at_a_time(dc, watcher, "big", n,
                                   mime.make_message(size=BIG_SIZE))
        _summary(report, "admin-only alerts one at a time", lat, lat0)

        _burst(report, dc, watcher, "bigburst", n,
               mime.make_message(size=BIG_SIZE),
               "burst of %d admin-only alerts" % n)

        msg = mime.make_message(size=2048)
        lat, lat0 = _one_at_a_time(dc, watcher, "lat", n, msg)
        _summary(report, "full mailboxes one at a time (and owner "
                 "copies)", lat, lat0)

        _burst(report, dc, watcher, "burst", n, msg,
               "burst of %d full mailboxes (and %d owner copies)"
               % (n, n))
        errors = dc.errors_in_log(allow=r"alertwall: .*(raised|escalated)")
        if errors:
            log("  log errors: %s" % errors[:3])
    finally:
        watcher.stop()
        dc.close()
