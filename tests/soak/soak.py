#!/usr/bin/env python3
"""tests/soak/soak.py: no mail lost, no alert lost, no memory growth.

usage: tests/soak/soak.py [--minutes M] [--clients N] [--rate R]
                          [--seed S] [--keep]

Runs a real private Dovecot with alertwall (tests/integration/awtest) for
M minutes (default 10; tools/test runs 2) while N parallel LMTP clients
(default 6, each about R transactions a second, default 4) deliver a mix
of messages, some to several recipients, to healthy mailboxes and to
mailboxes whose faults are switched on and off during the run:

  q1 q2   a full quota, broken and healed by a config reload (the config
          names one of two userdb files)
  p1 p2   chmod 000 on the Maildir (permanent: the mailbox is suspended
          until the healing admin runs doveadm alertwall enable); switched
          between deliveries to the mailbox, not during one: Dovecot's
          maildir save, with or without alertwall, leaves a message in
          new/ when the directory turns unwritable between its rename and
          its commit (451 and stored: a duplicate when the MTA retries)
  l1 l2   an fcntl lock held on the INBOX transaction log; also switched
          between deliveries: taken or let go while a save waits for it,
          it leaves the message in new/ with a 451 the same way

Reloads keep the old processes' clients (shutdown_clients = no): with
Dovecot's default a reload kills an LMTP session older than 6 s with 421
after DATA, some recipients already stored, whatever the plugins.

Every LMTP reply is recorded per recipient and Message-ID. When the load
stops, every fault is healed, the suspended mailboxes are enabled and the
deliver service drains the spool; then it checks, reading the Maildirs
directly:

  - every message answered 2xx is in the recipient's INBOX exactly once,
    every message answered 4xx/5xx is in no mailbox, and no mailbox holds
    a message nobody sent;
  - every alert the sidecar log shows as mailed by design (raised,
    escalated, resolved, enabled; not repeats, suspensions, alerts muted by
    profile inhibition or about the admin's own mailbox) is in the
    admin's Alerts folders exactly once (by X-Alertwall-Id and
    X-Alertwall-Event), mailbox-level ones also in the owner's; no alert
    mail is there twice or without a sidecar record; the spool is empty;
  - the resident memory of every Dovecot process that lived long enough
    (master, log, stats, anvil, auth, the reused lmtp processes, ...;
    a reload replaces all but master and anvil, so each process is
    judged over its own life) stays flat: after its first 15 s (the
    first deliveries load modules and rules), the average of the last
    third of its samples is less than 10% above the first third's;
  - Dovecot logged no Panic or Fatal, except the Fatal that ends a
    dovecot-lda run whose userdb lookup a reload cut off (its own
    "Disconnected unexpectedly" comes first; the alert is retried and
    must still be in the walls).

A run needs about a minute of load before the memory of a process can be
judged; a shorter one reports that as a violation.

The last line is always
    soak: sent N, delivered N, deferred N, lost N, alerts raised N, alerts mailed N
and the exit code is non-zero on any violation. Needs root.
"""

import argparse
import collections
import fcntl
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("AW_SRCDIR", os.path.abspath(os.path.join(HERE, "..",
                                                                "..")))

from awtest import mime  # noqa: E402
from awtest.dovecot import DovecotError, PrivateDovecot  # noqa: E402

HEALTHY = ("h1", "h2", "h3", "h4")
QUOTA = ("q1", "q2")
PERM = ("p1", "p2")
LOCK = ("l1", "l2")
ADMIN = "admin"
USERS = HEALTHY + QUOTA + PERM + LOCK
QUOTA_FULL = "*:storage=10K"
QUOTA_OK = "*:storage=1G"
# message sizes: most fit a healed quota easily, all overflow a full one
SIZES = (1024, 2048, 3000, 4096, 6000, 12000)

# events whose alert mail goes out by design (alertwall-engine.c)
MAILED_EVENTS = ("raised", "escalated", "resolved", "enabled")
# resident memory may grow this much from the first to the last third
RSS_GROWTH_MAX = 0.10
# a process is judged on at least this many samples over this long,
# after its warm-up
RSS_WARMUP_SECONDS = 15.0
RSS_MIN_SAMPLES = 12
RSS_MIN_SECONDS = 20.0
DRAIN_TIMEOUT = 240.0
LOG_CRASH_RE = re.compile(r"\b(Panic|Fatal):|killed with signal")
# a reload ends the deliver service's run with SIGTERM when it waits to
# retry; its claims are taken up again by the next run. The run traps the
# signal and exits cleanly, so this counts only a run that was killed
# before its trap was set.
LOG_RELOAD_KILL_RE = re.compile(r"service\(alertwall-deliver\): child \d+ "
                                r"killed with signal 15")
# a reload stops the auth process under a dovecot-lda run's userdb
# lookup; dovecot-lda (any, not only the deliver service's) then ends
# with this Fatal and EX_TEMPFAIL, and the deliver service retries.
# Only a Fatal that follows its own process's disconnect counts so.
LOG_LOOKUP_CUT_RE = re.compile(r"\blda\([^)]*\)<(\d+)><[^>]*>: Error: "
                               r"auth-master: userdb lookup\([^)]*\): "
                               r"Disconnected unexpectedly")
LOG_LOOKUP_FATAL_RE = re.compile(r"\blda\((\d+)\): Fatal: Internal error "
                                 r"occurred\. Refer to server log")

EXTRA_CONF = """\
# held locks fail deliveries within the soak's patience
mail_max_lock_timeout = 2s
# a reload lets the old processes finish their clients
shutdown_clients = no
# lmtp processes are reused, one client at a time, as in production
service lmtp {
  service_count = 0
  client_limit = 1
}
"""
PLUGIN = {
    # transient alerts resolve within the run, so resolve mails are soaked
    "alertwall_resolve_hold": "10s",
    "alertwall_repeat_log_interval": "5s",
}


def log(fmt, *args):
    print("soak: " + (fmt % args if args else fmt), flush=True)


class Violations:
    def __init__(self):
        self.items = []
        self.lock = threading.Lock()

    def add(self, fmt, *args):
        with self.lock:
            self.items.append(fmt % args if args else fmt)


class Ledger:
    """Every recipient's reply, by (user, Message-ID)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.replies = {}     # (user, msgid) -> (code, enhanced, text)
        self.unknown = []     # (user, msgid, why): no reply was read
        self.transactions = 0

    def record(self, user, msgid, reply):
        with self.lock:
            key = (user, msgid)
            if key in self.replies:
                raise AssertionError("Message-ID reused: %r" % (key,))
            self.replies[key] = (reply.code, reply.enhanced_status,
                                 reply.text)

    def lost_reply(self, user, msgid, why):
        with self.lock:
            self.unknown.append((user, msgid, why))


class Soak:

    def __init__(self, args):
        self.args = args
        self.rand = random.Random(args.seed)
        self.stop = threading.Event()
        self.ledger = Ledger()
        self.violations = Violations()
        self.rss = collections.defaultdict(list)   # pid -> [(t, kB)]
        self.rss_names = {}
        self.fault_log = collections.Counter()
        self.locks = {}                            # user -> fd
        self.broken_perm = {}                      # user -> old mode
        # a chmod waits for the delivery to the mailbox in progress
        # held by a delivery to the user and by a switch of its fault
        self.switch_locks = {u: threading.Lock() for u in PERM + LOCK}
        self.quota_broken = False
        self.reloads = 0
        self.alert_detail = (0, 0, 0, 0)
        self.load_start = time.monotonic()
        self.reload_kills = 0
        self.reload_lookups = 0
        self.stranded = 0
        users = {u: {} for u in USERS}
        for u in QUOTA:
            users[u] = {"quota_rule": QUOTA_OK}
        users[ADMIN] = {}
        self.dc = PrivateDovecot(users=users, alertwall=True, plugin=PLUGIN,
                                 extra_conf=EXTRA_CONF, name="awsoak")
        # the config names one of two userdb files; a reload switches
        self.users_ok = self.dc.users_file + ".ok"
        self.users_full = self.dc.users_file + ".full"
        self.dc.users_file = self.users_ok
        self.dc.write_users()

    # ---- faults ----

    def set_quota(self, broken):
        """Break or heal the quota users by a config reload."""
        for u in QUOTA:
            self.dc.users[u] = {"quota_rule": QUOTA_FULL if broken
                                else QUOTA_OK}
        self.dc.users_file = self.users_full if broken else self.users_ok
        self.dc.write_users()
        self.dc.write_config()
        self.dc.doveadm(["reload"], check=True)
        self.reloads += 1
        self.quota_broken = broken
        self.fault_log["quota " + ("broken" if broken else "healed")] += 1
        if not broken:
            for u in QUOTA:
                self.enable(u)

    def set_perm(self, user, broken):
        path = self.dc.user_maildir(user)
        with self.switch_locks[user]:
            if broken:
                self.broken_perm[user] = os.stat(path).st_mode & 0o7777
                os.chmod(path, 0)
            else:
                os.chmod(path, self.broken_perm.pop(user))
        if not broken:
            self.enable(user)
        self.fault_log["chmod " + ("000" if broken else "back")] += 1

    def set_lock(self, user, broken):
        with self.switch_locks[user]:
            if broken:
                path = os.path.join(self.dc.user_maildir(user),
                                    "dovecot.index.log")
                fd = os.open(path, os.O_RDWR)
                fcntl.lockf(fd, fcntl.LOCK_EX)
                self.locks[user] = fd
            else:
                fd = self.locks.pop(user)
                fcntl.lockf(fd, fcntl.LOCK_UN)
                os.close(fd)
        if not broken:
            self.enable(user)
        self.fault_log["lock " + ("held" if broken else "released")] += 1

    def enable(self, user):
        """The admin's Test & Enable after healing: lifts a suspension."""
        p = self.dc.doveadm(["alertwall", "enable"], user=user, timeout=60)
        if p.returncode != 0:
            self.violations.add("doveadm alertwall enable -u %s after "
                                "healing exited %d: %s", user, p.returncode,
                                (p.stdout + p.stderr).strip()[-300:])

    def toggle_one(self, since_quota):
        """Switch one fault; the config reload at most every fifth of
        the run (and 40 s), so that processes live long enough to have
        their memory judged."""
        choices = ["perm", "lock"]
        if since_quota >= max(40.0, self.args.minutes * 60 / 5):
            choices.append("quota")
        kind = self.rand.choice(choices)
        if kind == "quota":
            self.set_quota(not self.quota_broken)
            return True
        if kind == "perm":
            user = self.rand.choice(PERM)
            self.set_perm(user, user not in self.broken_perm)
        else:
            user = self.rand.choice(LOCK)
            self.set_lock(user, user not in self.locks)
        return False

    def heal_all(self):
        if self.quota_broken:
            self.set_quota(False)
        for u in list(self.broken_perm):
            self.set_perm(u, False)
        for u in list(self.locks):
            self.set_lock(u, False)

    def faults_thread(self, deadline):
        last_quota = time.monotonic()
        try:
            while not self.stop.wait(self.rand.uniform(4, 10)):
                if time.monotonic() >= deadline:
                    break
                if self.toggle_one(time.monotonic() - last_quota):
                    last_quota = time.monotonic()
        except Exception as e:
            self.violations.add("fault switcher failed: %r", e)
            self.stop.set()

    # ---- load ----

    def pick_rcpts(self, rand):
        n = rand.choice((1, 1, 1, 1, 2, 3))
        pool = list(USERS) + list(HEALTHY)  # healthy ones twice as often
        rcpts = []
        while len(rcpts) < n:
            u = rand.choice(pool)
            if u not in rcpts:
                rcpts.append(u)
        return rcpts

    def client_thread(self, n):
        rand = random.Random("%s-%d" % (self.args.seed, n))
        interval = 1.0 / self.args.rate
        while not self.stop.is_set():
            try:
                lmtp = self.dc.lmtp_connect(unix=rand.random() < 0.5)
            except (OSError, DovecotError):
                # a reload: an old lmtp process may refuse new clients
                time.sleep(0.2)
                continue
            try:
                for _ in range(rand.randint(1, 15)):
                    if self.stop.is_set():
                        break
                    if not self.transaction(lmtp, rand):
                        break
                    time.sleep(rand.uniform(0, 2 * interval))
            finally:
                lmtp.quit()

    def transaction(self, lmtp, rand):
        """One LMTP transaction; False when the connection is unusable."""
        rcpts = self.pick_rcpts(rand)
        locks = [self.switch_locks[u] for u in sorted(rcpts)
                 if u in self.switch_locks]
        for lock in locks:
            lock.acquire()
        try:
            return self.transaction_locked(lmtp, rand, rcpts)
        finally:
            for lock in reversed(locks):
                lock.release()

    def transaction_locked(self, lmtp, rand, rcpts):
        msg = mime.make_message(to=", ".join("%s@example.test" % r
                                             for r in rcpts),
                                subject="soak", size=rand.choice(SIZES))
        msgid = mime.message_id(msg)
        sent = []
        try:
            reply = lmtp.mail_from("soak@example.test")
            if reply.code != 250:
                return False
            for r in rcpts:
                reply = lmtp.rcpt_to(r)
                if reply.code == 250:
                    sent.append(r)
                else:
                    self.ledger.record(r, msgid, reply)
            if not sent:
                lmtp.command("RSET")
                return True
            replies = lmtp.data(msg, len(sent))
        except (OSError, DovecotError) as e:
            for r in sent:
                self.ledger.lost_reply(r, msgid, repr(e)[:200])
            return False
        for r, reply in zip(sent, replies):
            self.ledger.record(r, msgid, reply)
        with self.ledger.lock:
            self.ledger.transactions += 1
        return True

    # ---- memory ----

    def rss_thread(self):
        while not self.stop.wait(1.0):
            self.rss_sample()

    def rss_sample(self):
        now = time.monotonic()
        pids = [self.dc.master_pid] + self.dc.instance_pids()
        for pid in pids:
            try:
                exe = os.path.basename(os.readlink("/proc/%d/exe" % pid))
                with open("/proc/%d/status" % pid) as f:
                    status = f.read()
            except OSError:
                continue
            # Dovecot's own processes; not the deliver script's children
            if exe in ("sh", "dash", "bash", "dovecot-lda", "doveadm",
                       "script", "doveconf", "flock", "sed", "head", "tr",
                       "mv", "rm", "sleep", "cat", "date", "awk", "mawk",
                       "stat", "find", "readlink", "cut", "mkdir"):
                continue
            m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            if m:
                self.rss[pid].append((now, int(m.group(1))))
                self.rss_names[pid] = exe

    def rss_report(self):
        """Judge each process that lived long enough; returns the lines."""
        lines = []
        judged = collections.Counter()
        for pid, samples in sorted(self.rss.items()):
            name = self.rss_names[pid]
            warm = max(samples[0][0], self.load_start) + RSS_WARMUP_SECONDS
            samples = [s for s in samples if s[0] >= warm]
            if not samples:
                continue
            span = samples[-1][0] - samples[0][0]
            if len(samples) < RSS_MIN_SAMPLES or span < RSS_MIN_SECONDS:
                continue
            third = len(samples) // 3
            first = sum(kb for _, kb in samples[:third]) / third
            last = sum(kb for _, kb in samples[-third:]) / third
            growth = last / first - 1.0
            judged[name] += 1
            bad = growth >= RSS_GROWTH_MAX
            lines.append("rss %-10s pid %-7d %6.0f -> %6.0f kB (%+5.1f%%) "
                         "over %3.0fs, %d samples%s" % (
                             name, pid, first, last, growth * 100, span,
                             len(samples), "  GROWS" if bad else ""))
            if bad:
                self.violations.add("resident memory of %s (pid %d) grew "
                                    "%.1f%%: %.0f -> %.0f kB", name, pid,
                                    growth * 100, first, last)
        for name in ("dovecot", "log", "anvil", "lmtp"):
            if judged[name] == 0:
                self.violations.add("no long-lived %s process to judge the "
                                    "memory of", name)
        return lines

    # ---- the end ----

    def nudge(self):
        """Wake the deliver service as a mail process does."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.settimeout(5)
            s.connect(os.path.join(self.dc.base_dir, "alertwall-deliver"))
            s.sendall(b"VERSION\tscript\t4\t0\nnoreply\n\n")
        except OSError:
            pass
        finally:
            s.close()

    def spool_pending(self):
        out = []
        for sub in ("tmp", "new", "cur", "retry"):
            d = os.path.join(self.dc.alertwall_spool, sub)
            if os.path.isdir(d):
                out += [sub + "/" + f for f in os.listdir(d)
                        if not f.startswith(".")]
        return out

    def drainer_alive(self):
        for pid in self.dc.instance_pids():
            if "alertwall-deliver" in self.dc.process_title(pid):
                return True
        return False

    def drain(self):
        """Wait until the deliver service emptied the spool. A file that
        waits while no run of the service is alive waits for the next
        alert's nudge (a reload ended the run that would have retried
        it): counted, and nudged as the next alert would."""
        deadline = time.monotonic() + DRAIN_TIMEOUT
        idle_since = None
        while time.monotonic() < deadline:
            if not self.spool_pending():
                # a last run may still be between its files
                time.sleep(1.0)
                if not self.spool_pending():
                    return True
                continue
            if self.drainer_alive():
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= 3.0:
                self.stranded += 1
                log("%d alert mails wait in the spool and no deliver run "
                    "is alive: nudging", len(self.spool_pending()))
                self.nudge()
                idle_since = None
            time.sleep(0.5)
        self.violations.add("the spool did not drain in %.0fs: %r",
                            DRAIN_TIMEOUT, self.spool_pending()[:10])
        return False

    # ---- checks ----

    @staticmethod
    def read_headers(path, names):
        """{lower name: value} of the named headers of a message file."""
        with open(path, "rb") as f:
            head = f.read(65536).split(b"\r\n\r\n", 1)[0]
        head = head.split(b"\n\n", 1)[0].replace(b"\r\n", b"\n")
        # unfold
        head = re.sub(rb"\n[ \t]+", b" ", head)
        out = {}
        for line in head.split(b"\n"):
            name, sep, value = line.partition(b":")
            key = name.strip().lower().decode("ascii", "replace")
            if sep and key in names and key not in out:
                out[key] = value.strip().decode("utf-8", "replace")
        return out

    def maildir_messages(self, user, folder_dir):
        d = os.path.join(self.dc.user_maildir(user), folder_dir)
        paths = []
        for sub in ("cur", "new"):
            p = os.path.join(d, sub)
            if os.path.isdir(p):
                paths += [os.path.join(p, f) for f in os.listdir(p)]
        return paths

    def alert_folders(self, user):
        top = self.dc.user_maildir(user)
        if not os.path.isdir(top):
            return []
        return [d for d in os.listdir(top) if d.startswith(".Alerts")]

    def check_mail(self):
        """Returns (delivered, deferred, lost)."""
        stored = collections.Counter()   # (user, msgid)
        for user in USERS:
            for path in self.maildir_messages(user, ""):
                msgid = self.read_headers(path, ("message-id",)).get(
                    "message-id")
                stored[(user, msgid)] += 1
        delivered = deferred = lost = 0
        for (user, msgid), (code, enh, text) in self.ledger.replies.items():
            n = stored.pop((user, msgid), 0)
            if 200 <= code < 300:
                delivered += 1
                if n == 0:
                    lost += 1
                    self.violations.add("LOST: %s to %s was answered %d %s "
                                        "but is not in the mailbox", msgid,
                                        user, code, enh)
                elif n > 1:
                    self.violations.add("DUPLICATE: %s is %d times in %s's "
                                        "INBOX", msgid, n, user)
            else:
                deferred += 1
                if n > 0:
                    self.violations.add("%s to %s was answered %d %s %s but "
                                        "is stored", msgid, user, code, enh,
                                        text[:80])
        for user, msgid, why in self.ledger.unknown:
            n = stored.pop((user, msgid), 0)
            self.violations.add("no reply for %s to %s (%s; stored %d "
                                "times)", msgid, user, why, n)
        for (user, msgid), n in stored.items():
            self.violations.add("%s's INBOX holds %s (%d times) that no "
                                "reply accounts for", user, msgid, n)
        return delivered, deferred, lost

    def check_alerts(self):
        """Returns (alerts raised, alerts mailed to the admin)."""
        try:
            records = self.dc.sidecar_records()
        except DovecotError as e:
            self.violations.add("sidecar log: %s", e)
            return 0, 0
        # profile-level alerts inhibit their mailboxes' mails of the code
        inhibiting = {(r.get("code"), r.get("profile")) for r in records
                      if r.get("scope") == "profile" and
                      r.get("event") in ("raised", "escalated")}
        expected = collections.defaultdict(set)  # user -> {(id, event)}
        known = set()
        raised = muted = 0
        for r in records:
            event = r.get("event")
            if event == "undeliverable":
                self.violations.add("an alert mail was undeliverable: %r", r)
                continue
            key = (r.get("id"), event)
            known.add(key)
            if event in ("raised", "escalated"):
                raised += 1
            if event not in MAILED_EVENTS:
                continue
            if r.get("user") == ADMIN:
                muted += 1
                continue
            if (event in ("raised", "escalated") and
                    r.get("scope") != "profile" and
                    (r.get("code"), r.get("profile")) in inhibiting):
                muted += 1
                continue
            expected[ADMIN].add(key)
            if r.get("scope") == "mailbox" and r.get("user"):
                expected[r["user"]].add(key)
        mailed = 0
        for user in (ADMIN,) + USERS:
            found = collections.Counter()
            for folder in self.alert_folders(user):
                for path in self.maildir_messages(user, folder):
                    h = self.read_headers(path, ("x-alertwall-id",
                                                 "x-alertwall-event"))
                    found[(h.get("x-alertwall-id"),
                           h.get("x-alertwall-event"))] += 1
            for key in expected.get(user, ()):
                n = found.get(key, 0)
                if n != 1:
                    self.violations.add("alert %s (%s) is %d times in %s's "
                                        "Alerts folders", key[0], key[1], n,
                                        user)
                elif user == ADMIN and key[1] in ("raised", "escalated"):
                    mailed += 1
            for key, n in found.items():
                if key not in known:
                    self.violations.add("%s has an alert mail %r without a "
                                        "sidecar record", user, key)
                elif key not in expected.get(user, ()) and n > 0 and \
                        user == ADMIN:
                    self.violations.add("the admin has a mail of %r, which "
                                        "is muted by design", key)
        self.alert_detail = (len(records), raised, muted,
                             sum(len(v) for v in expected.values()))
        failed = os.path.join(self.dc.alertwall_spool, "failed")
        if os.path.isdir(failed) and os.listdir(failed):
            self.violations.add("spool failed/ holds %r",
                                os.listdir(failed)[:10])
        return raised, mailed

    def check_log(self):
        cut = set()
        for line in self.dc.log_text("all").splitlines():
            m = LOG_LOOKUP_CUT_RE.search(line)
            if m:
                cut.add(m.group(1))
                continue
            m = LOG_LOOKUP_FATAL_RE.search(line)
            if m and m.group(1) in cut and self.reloads > 0:
                cut.discard(m.group(1))
                self.reload_lookups += 1
            elif LOG_RELOAD_KILL_RE.search(line):
                self.reload_kills += 1
            elif LOG_CRASH_RE.search(line):
                self.violations.add("Dovecot log: %s", line[:300])

    # ---- run ----

    def setup(self):
        self.dc.start()
        # every mailbox exists before its faults: one recorded delivery each
        for user in USERS + (ADMIN,):
            msg = mime.make_message(to="%s@example.test" % user,
                                    subject="soak setup")
            with self.dc.lmtp_connect() as lmtp:
                reply = lmtp.send([user], msg)[user]
            if user != ADMIN:
                self.ledger.record(user, mime.message_id(msg), reply)
            if reply.code != 250:
                raise DovecotError("setup delivery to %s: %r" % (user, reply))

    def run(self):
        args = self.args
        self.setup()
        log("Dovecot %s: %d clients at ~%g transactions/s each for %g "
            "min (seed %s)", self.dc.root, args.clients, args.rate,
            args.minutes, args.seed)
        start = self.load_start = time.monotonic()
        deadline = start + args.minutes * 60
        threads = [threading.Thread(target=self.client_thread, args=(n,),
                                    daemon=True)
                   for n in range(args.clients)]
        threads.append(threading.Thread(target=self.faults_thread,
                                        args=(deadline,), daemon=True))
        rss = threading.Thread(target=self.rss_thread, daemon=True)
        rss.start()
        for t in threads:
            t.start()
        next_report = start + 30
        while time.monotonic() < deadline and not self.stop.is_set():
            time.sleep(1.0)
            if time.monotonic() >= next_report:
                next_report += 30
                with self.ledger.lock:
                    n = len(self.ledger.replies)
                log("%3.0fs: %d replies, %d reloads, faults %s",
                    time.monotonic() - start, n, self.reloads,
                    dict(self.fault_log))
        self.stop.set()
        for t in threads:
            t.join(timeout=120)
            if t.is_alive():
                self.violations.add("a client thread hangs")
        self.rss_sample()
        log("load stopped after %.0fs; healing and draining",
            time.monotonic() - start)
        self.heal_all()
        self.drain()

        delivered, deferred, lost = self.check_mail()
        raised, mailed = self.check_alerts()
        self.check_log()
        for line in self.rss_report():
            log(line)
        records, _, muted, expected = self.alert_detail
        sent = len(self.ledger.replies) + len(self.ledger.unknown)
        log("%d transactions, %d reloads, faults %s", self.ledger.transactions,
            self.reloads, dict(self.fault_log))
        log("%d sidecar records, %d alert mails expected in the walls, "
            "%d alerts muted by design", records, expected, muted)
        log("deliver runs ended by a reload: %d; dovecot-lda userdb lookups "
            "cut by a reload: %d; spool left waiting for a nudge: %d times",
            self.reload_kills, self.reload_lookups, self.stranded)
        for v in self.violations.items[:50]:
            log("VIOLATION: %s", v)
        if len(self.violations.items) > 50:
            log("... and %d more violations", len(self.violations.items) - 50)
        log("sent %d, delivered %d, deferred %d, lost %d, alerts raised %d, "
            "alerts mailed %d", sent, delivered, deferred, lost, raised,
            mailed)
        return 1 if self.violations.items else 0

    def save_rss(self):
        """The samples, for a look at a kept run: pid name t kB."""
        with open(os.path.join(self.dc.root, "rss.tsv"), "w") as f:
            for pid, samples in sorted(self.rss.items()):
                for t, kb in samples:
                    f.write("%d\t%s\t%.1f\t%d\n" % (
                        pid, self.rss_names[pid], t - self.load_start, kb))

    def close(self):
        for fd in self.locks.values():
            os.close(fd)
        if self.args.keep and self.rss:
            self.save_rss()
        failed = bool(self.violations.items)
        if self.args.keep:
            os.environ["AW_KEEP"] = "always"
        self.dc.close(failed=failed)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--rate", type=float, default=4.0,
                   help="transactions a second per client (about)")
    p.add_argument("--seed", default=str(int(time.time())))
    p.add_argument("--keep", action="store_true",
                   help="keep the Dovecot's temp root")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("soak: must run as root (Dovecot drops to the vmail user)")
        print("soak: sent 0, delivered 0, deferred 0, lost 0, "
              "alerts raised 0, alerts mailed 0")
        return 1
    soak = Soak(args)
    try:
        return soak.run()
    except KeyboardInterrupt:
        soak.stop.set()
        print("soak: interrupted")
        return 130
    except Exception:
        # the summary line is promised even when the run breaks
        soak.stop.set()
        traceback.print_exc(file=sys.stdout)
        log("VIOLATION: the run broke off")
        log("sent %d, delivered 0, deferred 0, lost 0, alerts raised 0, "
            "alerts mailed 0", len(soak.ledger.replies))
        return 1
    finally:
        soak.stop.set()
        soak.close()


if __name__ == "__main__":
    sys.exit(main())
