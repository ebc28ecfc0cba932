"""Issue 7's fault matrix on a real Dovecot: alertwall's own dependencies
break (its sidecar log, the admin mailbox, the state store, the rules file,
the process raising an alert), and for each one:

- mail keeps flowing: delivered, or deferred with the 4xx the sender gets
  anyway (LMTP replies and the maildir are checked);
- the plugin logs a clear error at most once a minute per process (the
  error lines are counted per pid in Dovecot's log);
- nothing crashes (no Panic, Fatal or killed-by-signal line);
- what was lost is recovered once the fault clears, or stays where an
  admin finds it, never silently dropped.

What the sidecar queue guarantees (alertwall-sidecar.h): a record that
cannot be written waits in the memory of the process that raised it (256
records at most, oldest dropped and counted) and is written, in order,
before that process's next record. A process that exits while the log is
still broken says in Dovecot's log how many records it lost; no other
process can write them. A record cut short by a filling disk leaves its
start as a line of its own (not JSON: readers skip it) and is written
again whole. Each alert's mail is spooled independently of the
sidecar log, so the walls get it either way.

Already proven elsewhere, not repeated here: many concurrent failures of
one object (test_sidecar, test_escalation, test_shared_state), a full or
unreadable admin mailbox (test_rules_admin), a broken rules file at start
(test_rules_admin).
"""

import fcntl
import glob
import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest
import unittest.mock

from awtest import mime
from awtest.dovecot import DovecotError, DovecotTestCase, PrivateDovecot, \
    _smtp_body, vmail_ids
from test_escalation import CODE, QUOTA_FULL, mailbox_state, \
    rule_retry_limit
from test_shared_state import Redis

# alert delivery waits for the deliver service: the issue allows 5 s
WALL_TIMEOUT = 10.0
# a deferred alert mail is retried by the clock, 2, 4, 8, 16 s apart
RETRY_TIMEOUT = 20.0
# quota_max_mail_size of the users whose mail is too large (a userdb
# field, so that other recipients of the same mail are not limited)
MAX_MAIL_SIZE = "64k"
BIG = 100 * 1024
# the file store's lock timeout (ALERTWALL_STORE_LOCK_TIMEOUT_SECS) and
# the redis store's default timeout (REDIS_DEFAULT_TIMEOUT_MSECS)
FILE_STORE_TIMEOUT = 2.0
REDIS_TIMEOUT = 0.5
# what a delivery may take on top of the store's one timeout: scheduling
SLACK = 0.5

# a log line: "Nov 26 20:06:37 lmtp(u1)<16153><session>: Error: ..." or
# "Nov 26 20:06:37 lmtp(16153): Error: ..."
LOG_LINE_RE = re.compile(r"^(?P<time>\w{3} [ \d]\d \d\d:\d\d:\d\d) "
                         r"(?P<service>[\w-]+)\((?P<paren>[^)]*)\)"
                         r"(?:<(?P<pid>\d+)>)?")
# lines no fault may cause
CRASH_RE = re.compile(r"\b(Panic|Fatal):|killed with signal")


def log_pid(line):
    """The pid of the process that logged line, or None."""
    m = LOG_LINE_RE.match(line)
    if not m:
        return None
    if m.group("pid"):
        return int(m.group("pid"))
    return int(m.group("paren")) if m.group("paren").isdigit() else None


def log_time(line):
    """Seconds since the start of the year of a log line's timestamp."""
    t = time.strptime(LOG_LINE_RE.match(line).group("time"),
                      "%b %d %H:%M:%S")
    return ((t.tm_yday * 24 + t.tm_hour) * 60 + t.tm_min) * 60 + t.tm_sec


def lines_matching(dc, pattern, since=None):
    regex = re.compile(pattern)
    return [ln for ln in dc.log_text("all", since).splitlines()
            if regex.search(ln)]


def big_message(user, **kwargs):
    return mime.make_message(to="%s@example.test" % user, size=BIG,
                             subject="fault matrix", **kwargs)


def wall_ids(dc, user, folder):
    if folder not in dc.imap_list(user):
        return []
    return [mime.header(m, "X-Alertwall-Id")
            for m in dc.imap_fetch_all(user, folder)]


def inbox_ids(dc, user):
    return [mime.message_id(m) for m in dc.imap_fetch_all(user)]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def spool_names(dc, subdir):
    path = os.path.join(dc.alertwall_spool, subdir)
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


# dovecot-lda deferring an alert mail to the admin's full mailbox
ADMIN_DEFERRALS = r"lda\(admin\).*save failed to Alerts/Errors: Quota"


def lock_holders(dc):
    """Pids of the processes that have the spool's lock open: the deliver
    service locks its cur/ directory."""
    lock = os.path.join(dc.alertwall_spool, "cur")
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % entry)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink("/proc/%s/fd/%s" % (entry, fd))
            except OSError:
                continue
            if target == lock:
                pids.append(int(entry))
                break
    return pids


def nudge(dc):
    """Wake the deliver service as a mail process does after spooling."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(os.path.join(dc.base_dir, "alertwall-deliver"))
        sock.sendall(b"VERSION\tscript\t4\t0\nnoreply\n\n")
    finally:
        sock.close()


class MatrixTestCase(DovecotTestCase):

    def assertNoCrash(self, dc):
        crashes = [ln for ln in dc.log_text("all").splitlines()
                   if CRASH_RE.search(ln)]
        self.assertEqual(crashes, [], "crash lines in the Dovecot log")

    def assertRateLimited(self, dc, pattern, since=None):
        """Lines matching pattern: at most one a minute per process.
        Returns them."""
        lines = lines_matching(dc, pattern, since)
        by_pid = {}
        for ln in lines:
            pid = log_pid(ln)
            self.assertIsNotNone(pid, "no pid in %r" % ln)
            by_pid.setdefault(pid, []).append(log_time(ln))
        for pid, times in by_pid.items():
            gaps = [b - a for a, b in zip(times, times[1:])]
            self.assertTrue(all(g >= 60 for g in gaps),
                            "pid %d logged %r %d times within a minute:\n%s"
                            % (pid, pattern, len(times), "\n".join(lines)))
        return lines

    def timed_send(self, lmtp, rcpts, msg):
        start = time.monotonic()
        replies = lmtp.send(rcpts, msg)
        return replies, time.monotonic() - start

    def fail_rq(self, lmtp):
        """A delivery to rq's full mailbox; (Message-ID, seconds)."""
        msg = mime.make_message(to="rq@example.test", size=40 * 1024)
        replies, secs = self.timed_send(lmtp, ["rq"], msg)
        self.assertEqual((replies["rq"].code, replies["rq"].enhanced_status),
                         (552, "5.2.2"), "refused: %r" % (replies,))
        return mime.message_id(msg), secs

    def events(self, dc, message_ids):
        return [(r["event"], r["message_id"]) for r in dc.sidecar_records()
                if r.get("user") == "rq" and r["message_id"] in message_ids]

    def escalate_from(self, dc, lmtp, attempts):
        """Failures from attempts counted up to the retry limit: exactly
        the last one escalates."""
        limit = rule_retry_limit(dc)
        self.assertLess(attempts, limit)
        sent = [self.fail_rq(lmtp)[0] for _ in range(limit - attempts)]
        escalated = [m for e, m in self.events(dc, sent) if e == "escalated"]
        self.assertEqual(escalated, sent[-1:], "escalated at attempt %d"
                         % limit)
        state = mailbox_state(dc, "rq")
        self.assertEqual((state["status"], state["suspended"]),
                         ("permanent", "yes"))


class SidecarFaultTest(MatrixTestCase):
    """The sidecar log's directory missing, read-only, owned by root, full,
    or its path a planted symlink."""

    # the fault, and the error alertwall logs for it
    FAULTS = [
        ("missing", "open() failed: No such file or directory"),
        ("read-only", "open() failed: Permission denied"),
        ("root-owned", "open() failed: Permission denied"),
        ("symlink", "open() refused: the path is a symlink"),
        # last: the tmpfs stays mounted over the directory
        ("full", "write() failed: No space left on device"),
    ]

    def start(self, name):
        dc = PrivateDovecot(users={"big": {"quota_max_mail_size":
                                           MAX_MAIL_SIZE},
                                   "ok": {}, "admin": {}},
                            alertwall=True, name=name)
        self.addCleanup(self._close_dovecot, dc)
        self.logdir = os.path.join(dc.root, "sidecar")
        self.make_logdir(dc)
        dc.plugin["alertwall_log"] = os.path.join(self.logdir, "alerts.log")
        dc.start()
        return dc

    def make_logdir(self, dc):
        os.makedirs(self.logdir)
        os.chown(self.logdir, dc.uid, dc.gid)
        os.chmod(self.logdir, 0o770)

    def rotate(self, dc, fault):
        """Move the log out of the directory (as logrotate does), so that
        the writer must create a new file; returns where it went."""
        log = dc.plugin["alertwall_log"]
        away = os.path.join(dc.root, "rotated-%s.log" % fault)
        if os.path.exists(log):
            os.rename(log, away)
        return away

    def inject(self, dc, fault):
        """Break the log for fault; returns (heal, files that must not
        change)."""
        log = dc.plugin["alertwall_log"]
        untouched = []
        if fault == "missing":
            os.rename(self.logdir, os.path.join(dc.root, "sidecar-gone"))

            def heal():
                self.make_logdir(dc)
        elif fault == "read-only":
            self.rotate(dc, fault)
            os.chmod(self.logdir, 0o555)

            def heal():
                os.chmod(self.logdir, 0o770)
        elif fault == "root-owned":
            self.rotate(dc, fault)
            os.chown(self.logdir, 0, 0)
            os.chmod(self.logdir, 0o755)

            def heal():
                os.chown(self.logdir, dc.uid, dc.gid)
                os.chmod(self.logdir, 0o770)
        elif fault == "symlink":
            self.rotate(dc, fault)
            # a file the mail uid could write, were the link followed
            target = os.path.join(dc.root, "symlink-target")
            with open(target, "w") as f:
                f.write("not a log\n")
            os.chown(target, dc.uid, dc.gid)
            os.chmod(target, 0o666)
            os.symlink(target, log)
            untouched.append(target)

            def heal():
                os.unlink(log)
        elif fault == "full":
            self.rotate(dc, fault)
            subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=64k,mode=0770,uid=%d,gid=%d"
                            % (dc.uid, dc.gid), "awtest-sidecar",
                            self.logdir], check=True)
            dc.add_cleanup(lambda: subprocess.run(
                ["umount", "-l", self.logdir], check=False))
            heal = self.fill_logdir()
        else:
            raise ValueError(fault)
        return heal, {p: read_bytes(p) for p in untouched}

    def fill_logdir(self):
        """Fill the tmpfs mounted on the log's directory; returns the
        function that makes room again."""
        filler = os.path.join(self.logdir, "filler")
        try:
            with open(filler, "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
        except OSError:
            pass  # full
        return lambda: os.unlink(filler)

    def all_log_files(self, dc):
        log = dc.plugin["alertwall_log"]
        paths = glob.glob(os.path.join(dc.root, "rotated-*.log"))
        paths.append(os.path.join(dc.root, "sidecar-gone", "alerts.log"))
        if os.path.isfile(log) and not os.path.islink(log):
            paths.append(log)
        return [p for p in paths if os.path.exists(p)]

    def delivery_ids(self, dc, path):
        return [r["message_id"] for r in dc.sidecar_records(path)
                if r["event"] == "raised" and r["source"] == "delivery"]

    def send(self, lmtp, dc):
        """One mail too large for big, fine for ok: big's delivery is
        deferred, ok's stored. Returns the Message-ID."""
        msg = big_message("big")
        replies = lmtp.send(["big", "ok"], msg)
        self.assertEqual((replies["big"].code, replies["big"].enhanced_status),
                         (451, "4.2.0"), "deferred: %r" % (replies,))
        self.assertEqual(replies["ok"].code, 250, replies)
        return mime.message_id(msg)

    def test_log_faults_queue_in_the_process_and_flush_after_the_fix(self):
        dc = self.start("awsidefault")
        log = dc.plugin["alertwall_log"]
        sent = []
        for fault, error in self.FAULTS:
            with self.subTest(fault=fault):
                # a connection of its own, held open: the next fault's
                # connection gets another lmtp process, whose error
                # line is not hidden by this one's rate limit
                lmtp = dc.lmtp_connect()
                self.addCleanup(lmtp.close)
                first = self.send(lmtp, dc)
                pid = dc.connection_pid(lmtp.sock, "lmtp")
                self.assertEqual(self.delivery_ids(dc, log)[-1:], [first],
                                 "written before the fault")
                heal, untouched = self.inject(dc, fault)
                mark = dc.log_mark()
                queued = [self.send(lmtp, dc) for _ in range(2)]
                sent += [first] + queued

                # nothing reached any file, not even a symlink's target
                written = [i for p in self.all_log_files(dc)
                           for i in self.delivery_ids(dc, p)]
                self.assertEqual([i for i in queued if i in written], [])
                for path, content in untouched.items():
                    self.assertEqual(read_bytes(path), content,
                                     "%s was written through the symlink"
                                     % path)
                # one clear error from this process, not one per alert
                errors = lines_matching(dc, "alertwall: sidecar log",
                                        since=mark)
                self.assertEqual(len(errors), 1, errors)
                self.assertEqual(log_pid(errors[0]), pid)
                self.assertIn("Error: alertwall: sidecar log %s: %s"
                              % (log, error), errors[0])

                # fixed: the same process's next alert writes the queued
                # records first, in order
                heal()
                last = self.send(lmtp, dc)
                sent.append(last)
                self.assertEqual(dc.connection_pid(lmtp.sock, "lmtp"), pid)
                self.assertEqual(self.delivery_ids(dc, log),
                                 queued + [last])
                self.assertEqual(lines_matching(dc, "alertwall: sidecar log",
                                                since=mark), errors,
                                 "no error after the fix")

        # every failed delivery has exactly one record, across all files
        written = [i for p in self.all_log_files(dc)
                   for i in self.delivery_ids(dc, p)]
        self.assertEqual(sorted(written), sorted(sent))
        # the walls never depended on the sidecar log: every alert is
        # there, and every mail for ok was stored
        ids = sorted(r["id"] for p in self.all_log_files(dc)
                     for r in dc.sidecar_records(p)
                     if r["event"] == "raised")
        self.assertEqual(len(ids), len(sent))
        dc.wait_for(lambda: sorted(wall_ids(dc, "admin", "Alerts/Errors"))
                    == ids, WALL_TIMEOUT, "all %d alerts in the admin's "
                    "wall" % len(ids), interval=0.3)
        self.assertEqual(sorted(inbox_ids(dc, "ok")), sorted(sent))
        self.assertRateLimited(dc, "alertwall: sidecar log")
        self.assertNoCrash(dc)

    def test_disk_filling_up_mid_record_keeps_records_whole(self):
        # the disk fills while the log is in use: a record that does not
        # fit in the last page is written in part
        dc = self.start("awsideshort")
        log = dc.plugin["alertwall_log"]
        subprocess.run(["mount", "-t", "tmpfs", "-o",
                        "size=64k,mode=0770,uid=%d,gid=%d"
                        % (dc.uid, dc.gid), "awtest-sidecar", self.logdir],
                       check=True)
        dc.add_cleanup(lambda: subprocess.run(["umount", "-l", self.logdir],
                                              check=False))
        # an older record that leaves 150 bytes of its page free
        pad = b'{"pad":"' + b"p" * (4096 - 150 - 11) + b'"}\n'
        with open(log, "wb") as f:
            f.write(pad)
        os.chown(log, dc.uid, dc.gid)
        os.chmod(log, 0o660)
        heal = self.fill_logdir()

        lmtp = dc.lmtp_connect()
        self.addCleanup(lmtp.close)
        mark = dc.log_mark()
        queued = [self.send(lmtp, dc) for _ in range(2)]
        self.assertEqual(os.path.getsize(log), 4096, "150 bytes written")
        errors = lines_matching(dc, "alertwall: sidecar log", since=mark)
        self.assertEqual(len(errors), 1, errors)
        self.assertRegex(errors[0], r"sidecar log %s: write\(\) wrote only "
                         r"150 of \d+ bytes" % re.escape(log))
        heal()
        last = self.send(lmtp, dc)

        # the torn part is a line of its own; every record follows whole
        with open(log, "rb") as f:
            lines = f.read().split(b"\n")
        self.assertEqual(lines[0] + b"\n", pad)
        torn, rest = lines[1], [ln for ln in lines[2:] if ln]
        self.assertEqual(len(torn), 150)
        self.assertTrue(rest[0].startswith(torn), "the torn line is the "
                        "start of the record retried whole")
        ids = [json.loads(ln)["message_id"] for ln in rest]
        self.assertEqual(ids, queued + [last])
        self.assertNoCrash(dc)

    def test_exiting_process_reports_the_records_it_could_not_write(self):
        # dovecot-lda is one process per delivery: its queue dies with it
        dc = self.start("awsidelda")
        heal, _ = self.inject(dc, "missing")
        msg = big_message("big")
        rc, output = dc.lda_deliver("big", msg)
        self.assertEqual(rc, 75, "deferred (EX_TEMPFAIL): %s" % output)
        self.assertNotIn(mime.message_id(msg), inbox_ids(dc, "big"))
        self.assertEqual(self.all_log_files(dc), [])
        log = dc.plugin["alertwall_log"]
        lost = lines_matching(dc, "alertwall: sidecar log %s: 1 records "
                              "lost at close" % re.escape(log))
        self.assertEqual(len(lost), 1, "the loss is logged, not silent")
        # besides the loss, one rate-limited error line
        errors = self.assertRateLimited(dc, r"alertwall: sidecar log .*: "
                                        r"open\(\) failed")
        self.assertEqual([log_pid(ln) for ln in errors],
                         [log_pid(lost[0])])
        # the alert itself is not lost: its mail was spooled as usual
        raised = re.search(r"raised error MESSAGE_TOO_LARGE .*id=(\w+)",
                           dc.log_text("error"))
        self.assertIsNotNone(raised, "the alert's Dovecot log line")
        dc.wait_for(lambda: wall_ids(dc, "admin", "Alerts/Errors") ==
                    [raised.group(1)], WALL_TIMEOUT,
                    "the alert mail in the admin's wall", interval=0.2)

        # a fresh process cannot recover another's memory; after the fix
        # the next alert is written
        heal()
        msg = big_message("big")
        rc, output = dc.lda_deliver("big", msg)
        self.assertEqual(rc, 75, output)
        self.assertEqual(self.delivery_ids(dc, log), [mime.message_id(msg)])
        self.assertEqual(len(lines_matching(dc, "lost at close")), 1)
        self.assertNoCrash(dc)


class AdminMailboxFaultTest(MatrixTestCase):
    """The admin mailbox missing or corrupted (a full or unreadable one:
    test_rules_admin)."""

    # where alertwall would write with no settings at all: a process that
    # lost its configuration must not fall back to them
    SYSTEM_PATHS = ("/var/spool/alertwall", "/var/log/dovecot/alertwall.jsonl")

    def system_paths_state(self):
        out = {}
        for path in self.SYSTEM_PATHS:
            out[path] = sorted(os.listdir(os.path.join(path, "new"))) \
                if os.path.isdir(os.path.join(path, "new")) else \
                os.path.getsize(path) if os.path.isfile(path) else None
        return out

    def start(self, name):
        dc = self.start_dovecot(users={"big": {"quota_max_mail_size":
                                               MAX_MAIL_SIZE},
                                       "admin": {}},
                                alertwall=True, name=name)
        return dc

    def too_large(self, dc):
        """An email-level alert (admin only); returns its record."""
        msg = big_message("big")
        reply = dc.lmtp_send(["big"], msg)["big"]
        self.assertEqual((reply.code, reply.enhanced_status), (451, "4.2.0"))
        recs = [r for r in dc.sidecar_records()
                if r["event"] == "raised" and
                r.get("message_id") == mime.message_id(msg)]
        self.assertEqual(len(recs), 1, recs)
        return recs[0]

    def admin_copy_waiting(self, name):
        """A Dovecot whose admin mailbox is full, with the quota enforced
        for alert mails, and one email-level alert whose admin copy the
        deliver service deferred twice: the first try and the first retry
        (2 s later), so the next retry is due 4 s after that. Returns
        (dc, the alert's record)."""
        dc = self.start_dovecot(
            users={"big": {"quota_max_mail_size": MAX_MAIL_SIZE},
                   "admin": {"quota_rule": "*:storage=1K"}},
            alertwall=True, plugin={"alertwall_over_quota": "no"},
            name=name)
        a = self.too_large(dc)
        dc.wait_for(lambda: len(lines_matching(dc, ADMIN_DEFERRALS)) >= 2,
                    WALL_TIMEOUT, "the admin's copy deferred twice",
                    interval=0.1)
        return dc, a

    def test_missing_admin_ends_in_failed_once_without_loops(self):
        dc = self.start("awadmgone")
        before = self.system_paths_state()
        # the admin is removed from the userdb (passwd-file looks at the
        # file again in the next second)
        del dc.users["admin"]
        dc.write_users()
        time.sleep(1.1)

        a = self.too_large(dc)
        dc.wait_for(lambda: spool_names(dc, "failed"), WALL_TIMEOUT,
                    "the admin's copy given up", interval=0.1)
        # a loop would show up right after the give-up
        time.sleep(1.0)
        [failed] = spool_names(dc, "failed")
        self.assertEqual(failed.rsplit(".", 1)[0], a["id"])
        kept = read_bytes(os.path.join(dc.alertwall_spool, "failed", failed))
        self.assertEqual(mime.header(kept, "X-Alertwall-Id"), a["id"],
                         "the alert mail is kept where the admin finds it")
        self.assertEqual(spool_names(dc, "new") + spool_names(dc, "cur") +
                    spool_names(dc, "retry"), [])
        recs = dc.sidecar_records()
        self.assertEqual([(r["event"], r["id"]) for r in recs],
                         [("raised", a["id"]), ("undeliverable", a["id"])],
                         "one undeliverable record, no alert about the "
                         "alert's delivery")
        self.assertEqual((recs[1]["recipient"], recs[1]["status"]),
                         ("admin", 67), "EX_NOUSER")
        given_up = lines_matching(dc, "alertwall-deliver: alert %s for admin "
                                  "undeliverable" % a["id"])
        self.assertEqual(len(given_up), 1, given_up)
        self.assertEqual(self.system_paths_state(), before)

        # the admin is back: the next alert arrives
        dc.add_user("admin")
        time.sleep(1.1)
        b = self.too_large(dc)
        dc.wait_for(lambda: wall_ids(dc, "admin", "Alerts/Errors") ==
                    [b["id"]], WALL_TIMEOUT, "the next alert in the wall",
                    interval=0.2)
        self.assertEqual(spool_names(dc, "failed"), [failed])
        self.assertNoCrash(dc)

    def test_waiting_alert_mail_is_not_replaced_by_its_followup(self):
        # the admin's mailbox is full while an alert is raised and then
        # resolved: both mails of the one alert id wait in the spool
        dc = self.start_dovecot(
            users={"q": {"quota_rule": "*:storage=20K"},
                   "admin": {"quota_rule": "*:storage=1K"}},
            alertwall=True, plugin={"alertwall_resolve_hold": "0",
                                    "alertwall_over_quota": "no"},
            name="awadmwait")
        msg = mime.make_message(to="q@example.test", size=40 * 1024)
        reply = dc.lmtp_send(["q"], msg)["q"]
        self.assertEqual(reply.code, 552)
        [rec] = [r for r in dc.sidecar_records() if r["event"] == "raised"]
        dc.wait_for(lambda: lines_matching(dc, r"lda\(admin\).*save failed "
                                           r"to Alerts/Warnings: Quota"),
                    WALL_TIMEOUT, "the admin's copy deferred", interval=0.1)
        # the mailbox works again: the alert resolves (no hold-down)
        reply = dc.lmtp_send(["q"], mime.make_message(
            to="q@example.test"))["q"]
        self.assertEqual(reply.code, 250)
        self.assertEqual([r["event"] for r in dc.sidecar_records()
                          if r["id"] == rec["id"]], ["raised", "resolved"])
        dc.wait_for(lambda: lines_matching(dc, r"lda\(admin\).*save failed "
                                           r"to Alerts/Info: Quota"),
                    WALL_TIMEOUT, "the admin's second copy deferred",
                    interval=0.1)
        # deferred copies wait in retry/ (in cur/ while one is retried)
        def waiting():
            try:
                return sorted(mime.header(read_bytes(os.path.join(
                    dc.alertwall_spool, "retry", name)), "X-Alertwall-Folder")
                    for name in spool_names(dc, "retry"))
            except FileNotFoundError:
                return None
        dc.wait_for(lambda: waiting() == ["Alerts/Info", "Alerts/Warnings"],
                    WALL_TIMEOUT, "both of the admin's mails wait in retry/",
                    interval=0.1)

        # room again: both arrive
        dc.add_user("admin", quota_rule="*:storage=100M")
        time.sleep(1.1)
        nudge(dc)
        for folder in ("Alerts/Warnings", "Alerts/Info"):
            dc.wait_for(lambda: wall_ids(dc, "admin", folder) == [rec["id"]],
                        WALL_TIMEOUT, "the alert's mail in %s" % folder,
                        interval=0.2)
        self.assertNoCrash(dc)

    def test_waiting_alert_mail_sleeps_until_due_or_nudged(self):
        # the admin's mailbox is full: the deliver run that holds the
        # deferred copy sleeps until its retry is due, in one sleep
        # process (polling for nudges started a sleep and a date five
        # times a second, for as long as an hour), and a new alert's
        # nudge ends that sleep at once
        dc, a = self.admin_copy_waiting("awadmsleep")
        sleeps = set()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.0:
            for pid in dc.instance_pids():
                try:
                    with open("/proc/%d/comm" % pid) as f:
                        comm = f.read().strip()
                except OSError:
                    continue
                if comm in ("sleep", "date"):
                    sleeps.add((pid, comm))
            time.sleep(0.02)
        self.assertLessEqual(len(sleeps), 3, "the waiting run polls: %s"
                             % sorted(sleeps))
        self.assertEqual(len(spool_names(dc, "retry")), 1)

        # after the next retry (the third deferral) the one after is 8 s
        # away; room again, and a new alert: its nudge wakes the run
        dc.wait_for(lambda: len(lines_matching(dc, ADMIN_DEFERRALS)) >= 3,
                    WALL_TIMEOUT, "the admin's copy deferred again",
                    interval=0.1)
        dc.add_user("admin", quota_rule="*:storage=100M")
        time.sleep(1.1)
        b = self.too_large(dc)
        t1 = time.monotonic()
        dc.wait_for(lambda: b["id"] in wall_ids(dc, "admin", "Alerts/Errors"),
                    WALL_TIMEOUT, "the new alert in the wall", interval=0.1)
        self.assertLess(time.monotonic() - t1, 3.0,
                        "the nudge did not end the wait for the retry")
        # and the waiting one by the clock
        dc.wait_for(lambda: a["id"] in wall_ids(dc, "admin", "Alerts/Errors"),
                    RETRY_TIMEOUT, "the deferred alert in the wall",
                    interval=0.2)
        self.assertNoCrash(dc)

    def test_stopped_dovecot_leaves_no_deliver_process_behind(self):
        # Dovecot's master stops the deliver service with SIGQUIT to its
        # shell alone: the shell must end its retry wait's sleep, which
        # otherwise held the spool lock for up to a minute after the stop
        # (and, had it died inside a command substitution, left that
        # command writing into a closed pipe). It marks the waiting mail,
        # and after a restart the first mail process sends it on.
        dc, a = self.admin_copy_waiting("awadmstop")
        self.assertNotEqual(lock_holders(dc), [], "the waiting run")

        os.kill(dc.master_pid, signal.SIGTERM)
        dc.proc.wait(timeout=10)
        # the next retry is 4 s away: a sleep left behind would still be
        # there
        dc.wait_for(lambda: lock_holders(dc) == [], 2.0,
                    "nothing holds the spool lock after the stop",
                    interval=0.1)
        self.assertEqual(len(spool_names(dc, "retry")), 1,
                         "the deferred copy waits in retry/")
        pending = os.path.join(dc.alertwall_spool, ".pending")
        self.assertTrue(os.path.isdir(pending), "the stopped run marks "
                        "the waiting mail")
        self.assertNoLogErrors(dc, allow=[ADMIN_DEFERRALS,
                                          r"alertwall: raised "
                                          r"error MESSAGE_TOO_LARGE"])
        dc.stop()

        # after the restart the first mail process (here a healthy
        # delivery) sends it on, with no new alert to nudge the service
        dc.add_user("admin", quota_rule="*:storage=100M")
        dc.start()
        reply = dc.lmtp_send(["admin"], mime.make_message(to="admin"))
        self.assertEqual(reply["admin"].code, 250)
        dc.wait_for(lambda: a["id"] in wall_ids(dc, "admin", "Alerts/Errors"),
                    WALL_TIMEOUT, "the deferred alert in the wall after the "
                    "restart", interval=0.2)
        dc.wait_for(lambda: not os.path.lexists(pending), WALL_TIMEOUT,
                    "the run removes the mark", interval=0.1)
        b = self.too_large(dc)
        dc.wait_for(lambda: {a["id"], b["id"]} <=
                    set(wall_ids(dc, "admin", "Alerts/Errors")),
                    WALL_TIMEOUT, "the deferred and the new alert in the "
                    "wall", interval=0.2)
        self.assertEqual(sorted(wall_ids(dc, "admin", "Alerts/Errors")),
                         sorted([a["id"], b["id"]]), "each once")
        self.assertNoCrash(dc)

    def test_planted_note_link_is_not_written_through(self):
        # The nudge that finds a run waiting leaves it a note in the 1733
        # spool, where any mail uid may put a link in the note's name
        # while it is free. Root wrote the note with a redirection, and
        # so truncated whatever the link pointed to.
        from test_security import as_uid
        dc, a = self.admin_copy_waiting("awadmnote")
        victim = os.path.join(dc.root, "root-owned")
        with open(victim, "w") as f:
            f.write("precious\n")
        vuid, vgid = vmail_ids()
        note = os.path.join(dc.alertwall_spool, ".again")
        self.assertEqual(as_uid(vuid, vgid,
                                lambda: os.symlink(victim, note)), "None")
        self.too_large(dc)
        # the nudge ended the wait: the new alert's copy was tried too
        dc.wait_for(lambda: len(lines_matching(dc, ADMIN_DEFERRALS)) >= 3,
                    WALL_TIMEOUT, "the waiting run went on", interval=0.1)
        with open(victim) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertNoCrash(dc)

    def test_corrupted_admin_index_is_rebuilt_and_not_mailed(self):
        dc = self.start("awadmidx")
        a = self.too_large(dc)
        dc.wait_for(lambda: wall_ids(dc, "admin", "Alerts/Errors") ==
                    [a["id"]], WALL_TIMEOUT, "the first alert", interval=0.2)
        # junk over the header of the wall's index
        folder = os.path.join(dc.user_maildir("admin"), ".Alerts.Errors")
        path = os.path.join(folder, "dovecot.index")
        if not os.path.exists(path):
            path = os.path.join(folder, "dovecot.index.log")
        with open(path, "r+b") as f:
            f.seek(2)
            f.write(b"\xff\xff")
        mark = dc.log_mark()

        b = self.too_large(dc)
        # watched on disk: IMAP must not meet the corruption first
        dc.wait_for(lambda: lines_matching(dc, r"lda\(admin\).*saved mail",
                                           since=mark) and
                    not spool_names(dc, "new") + spool_names(dc, "cur") +
                    spool_names(dc, "retry"),
                    WALL_TIMEOUT, "the alert after the corruption delivered",
                    interval=0.1)
        # the corruption was real, met by the deliver service's lda
        corrupted = lines_matching(dc, r"lda\(admin\).*Corrupted", since=mark)
        self.assertNotEqual(corrupted, [])
        # caught and logged, never mailed into the mailbox it is about
        time.sleep(1.0)
        walls = [i for f in ("Alerts/Errors", "Alerts/Warnings",
                             "Alerts/Info")
                 for i in wall_ids(dc, "admin", f)]
        self.assertEqual(sorted(walls), sorted([a["id"], b["id"]]))
        for sub in ("new", "cur", "retry", "failed"):
            self.assertEqual(spool_names(dc, sub), [], sub)
        about_admin = [r for r in dc.sidecar_records()
                       if r.get("user") == "admin"]
        self.assertTrue(all(r["service"] == "lda" for r in about_admin),
                        about_admin)
        self.assertNoCrash(dc)


class StateFaultTest(MatrixTestCase):
    """The state store down, hung or unwritable: deliveries wait for it at
    most one timeout, alerts degrade to one raise per failure with one
    error line a minute per process, and state works again after."""

    USERS = {"rq": {"quota_rule": QUOTA_FULL}, "ok": {}, "admin": {}}
    STATE_ERROR = "Error: alertwall: alertwall_state: "

    @classmethod
    def setUpClass(cls):
        cls.redis = Redis()
        try:
            cls.redis.start()
        except Exception:
            cls.redis.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.redis.close()

    def healthy(self, dc, lmtp):
        msg = mime.make_message(to="ok@example.test")
        replies, secs = self.timed_send(lmtp, ["ok"], msg)
        self.assertEqual(replies["ok"].code, 250, replies)
        self.assertIn(mime.message_id(msg), inbox_ids(dc, "ok"))
        return secs

    def degraded(self, dc, lmtp, baseline, timeout, why):
        """While the store is broken: on a fresh process (lmtp), two
        failures and a healthy delivery, none held for more than one
        store timeout; each failure raised as new; one error line."""
        mark = dc.log_mark()
        pid = dc.connection_pid(lmtp.sock, "lmtp")
        sent = []
        for _ in range(2):
            message_id, secs = self.fail_rq(lmtp)
            sent.append(message_id)
            # held by the store for one timeout at most (the file store's
            # lock wait is the whole timeout), not one per operation
            self.assertLess(secs - baseline, timeout + SLACK,
                            "one store timeout per delivery, not one per "
                            "operation")
        secs = self.healthy(dc, lmtp)
        self.assertLess(secs, timeout + SLACK)
        self.assertEqual(self.events(dc, sent),
                         [("raised", m) for m in sent],
                         "without state every failure is a new alert")
        # this process's one line (others that met the store, such as
        # the deliver service's lda, log their own)
        errors = [ln for ln in lines_matching(dc, self.STATE_ERROR,
                                              since=mark)
                  if log_pid(ln) == pid]
        self.assertEqual(len(errors), 1, errors)
        self.assertRegex(errors[0], why)
        self.assertIn("(alerts are raised without state until it works "
                      "again)", errors[0])

    def test_redis_hung_then_stopped(self):
        prefix = "awtest%s:" % os.urandom(6).hex()
        dc = self.start_dovecot(users=self.USERS, alertwall=True, plugin={
            "alertwall_state": "redis:host=127.0.0.1:port=%d:prefix=[%s]"
                               % (self.redis.port, prefix)},
            name="awredisdown")
        lmtp = dc.lmtp_connect()
        self.addCleanup(lmtp.close)
        times = [self.fail_rq(lmtp)[1] for _ in range(3)]
        baseline = max(times)
        self.assertEqual(mailbox_state(dc, "rq")["total"], 3)

        # hung: the kernel still accepts, nobody answers
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        try:
            # held open: the stopped phase below gets another process
            hung = dc.lmtp_connect()
            self.addCleanup(hung.close)
            self.degraded(dc, hung, baseline, REDIS_TIMEOUT,
                          r"redis 127\.0\.0\.1:\d+: Timeout after 500 ms")
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        # nothing of the hung updates was applied late; counting goes on
        # where it stopped
        self.assertEqual(mailbox_state(dc, "rq")["total"], 3)
        self.escalate_from(dc, lmtp, 3)

        # stopped: a suspended mailbox is not refused for want of state
        port = self.redis.port
        self.redis.stop()
        with dc.lmtp_connect() as other:
            self.degraded(dc, other, baseline, REDIS_TIMEOUT,
                          r"redis 127\.0\.0\.1:\d+: .*Connection refused")
        # back, empty (no persistence): state is kept again
        with unittest.mock.patch("test_shared_state._free_port",
                                 return_value=port):
            self.redis.start()
        message_id, _ = self.fail_rq(lmtp)
        self.assertEqual(self.events(dc, [message_id]),
                         [("raised", message_id)])
        self.fail_rq(lmtp)
        self.assertEqual(mailbox_state(dc, "rq")["total"], 2)
        self.assertRateLimited(dc, self.STATE_ERROR)
        self.assertNoCrash(dc)

    def test_file_state_unwritable_then_fixed(self):
        dc = self.start_dovecot(users=self.USERS, alertwall=True,
                                name="awstatero")
        lmtp = dc.lmtp_connect()
        self.addCleanup(lmtp.close)
        baseline = max(self.fail_rq(lmtp)[1] for _ in range(3))

        os.chmod(dc.alertwall_state, 0)
        try:
            with dc.lmtp_connect() as other:
                self.degraded(dc, other, baseline, 0.0,
                              r"Permission denied")
        finally:
            os.chmod(dc.alertwall_state, 0o770)
        self.assertEqual(mailbox_state(dc, "rq")["total"], 3)
        self.escalate_from(dc, lmtp, 3)
        self.assertRateLimited(dc, self.STATE_ERROR)
        self.assertNoCrash(dc)

    def test_stuck_lock_holder_costs_one_timeout(self):
        dc = self.start_dovecot(users=self.USERS, alertwall=True,
                                name="awstatelock")
        lmtp = dc.lmtp_connect()
        self.addCleanup(lmtp.close)
        baseline = max(self.fail_rq(lmtp)[1] for _ in range(3))
        self.healthy(dc, lmtp)
        # a process stuck while holding every state file's lock (a hung
        # lock manager makes every lock wait so)
        fds = []
        for path in glob.glob(os.path.join(dc.alertwall_state, "*", "*")):
            fd = os.open(path, os.O_RDWR)
            fds.append(fd)
            fcntl.lockf(fd, fcntl.LOCK_EX)
        self.assertGreaterEqual(len(fds), 3)
        try:
            with dc.lmtp_connect() as other:
                self.degraded(dc, other, baseline, FILE_STORE_TIMEOUT,
                              r"Timeout locking ")
        finally:
            for fd in fds:
                os.close(fd)
        self.assertEqual(mailbox_state(dc, "rq")["total"], 3)
        self.escalate_from(dc, lmtp, 3)
        self.assertNoCrash(dc)


class RulesFileFaultTest(MatrixTestCase):
    """The rules file deleted, truncated, replaced and rewritten while
    processes run: each process looks at the file again at most every
    second and uses what it finds, or the built-in rules."""

    def send(self, lmtp):
        """Too large for big, fine for ok; the code big's alert got."""
        msg = big_message("big")
        replies = lmtp.send(["big", "ok"], msg)
        self.assertEqual((replies["big"].code, replies["big"].enhanced_status),
                         (451, "4.2.0"), replies)
        self.assertEqual(replies["ok"].code, 250, replies)
        self.sent.append(mime.message_id(msg))
        recs = [r for r in self.dc.sidecar_records()
                if r["event"] == "raised" and
                r["message_id"] == mime.message_id(msg)]
        self.assertEqual(len(recs), 1, recs)
        return recs[0]["code"]

    def invalid_lines(self, since):
        return lines_matching(self.dc, r"alertwall: Invalid rules file "
                              + re.escape(self.rules), since)

    def change(self, write):
        """Change the file, wait out the re-stat interval; returns a log
        mark."""
        mark = self.dc.log_mark()
        write()
        time.sleep(1.1)
        return mark

    def test_deleted_truncated_replaced_rewritten(self):
        dc = PrivateDovecot(users={"big": {"quota_max_mail_size":
                                           MAX_MAIL_SIZE},
                                   "ok": {}, "admin": {}, "postmaster": {}},
                            alertwall=True, name="awrulesmid")
        self.addCleanup(self._close_dovecot, dc)
        self.dc, self.sent = dc, []
        self.rules = os.path.join(dc.root, "rules.yaml")
        with open(os.path.join(dc.rules)) as f:
            shipped = f.read()
        with open(self.rules, "w") as f:
            f.write(shipped)
        dc.rules = self.rules
        dc.start()
        lmtp = dc.lmtp_connect()
        self.addCleanup(lmtp.close)
        self.assertEqual(self.send(lmtp), "MESSAGE_TOO_LARGE")
        pid = dc.connection_pid(lmtp.sock, "lmtp")

        # deleted: the built-in rules, and the invalid-rules alert
        mark = self.change(lambda: os.unlink(self.rules))
        for _ in range(2):
            self.assertEqual(self.send(lmtp), "MESSAGE_TOO_LARGE")
        invalid = [r for r in dc.sidecar_records()
                   if r["code"] == "ALERTWALL_RULES_INVALID"]
        self.assertEqual([(r["event"], r["service"]) for r in invalid],
                         [("raised", "lmtp")])
        self.assertIn(self.rules, invalid[0]["text"])
        self.assertIn("No such file or directory", invalid[0]["text"])
        lines = self.invalid_lines(mark)
        self.assertEqual([log_pid(ln) for ln in lines], [pid],
                         "one line while the file stays deleted")

        # truncated in the middle of a rule: still the built-in rules,
        # its errors logged once, the alert not raised again
        cut = shipped.index("    nature: permanent",
                            shipped.index("code: MESSAGE_TOO_LARGE"))

        def truncate():
            with open(self.rules, "w") as f:
                f.write(shipped[:cut])
        mark = self.change(truncate)
        for _ in range(2):
            self.assertEqual(self.send(lmtp), "MESSAGE_TOO_LARGE")
        lines = self.invalid_lines(mark)
        self.assertEqual([log_pid(ln) for ln in lines], [pid], lines)
        self.assertRegex(dc.log_text("error", mark),
                         r"Error: alertwall: %s:\d+:\d+: " %
                         re.escape(self.rules))
        self.assertEqual(len([r for r in dc.sidecar_records()
                              if r["code"] == "ALERTWALL_RULES_INVALID" and
                              r["event"] == "raised"]), 1,
                         "deduplicated")

        # replaced (a new file renamed over it): its rule takes effect
        def replace():
            tmp = self.rules + ".new"
            with open(tmp, "w") as f:
                f.write(shipped.replace("code: MESSAGE_TOO_LARGE",
                                        "code: OVERSIZE_REPLACED"))
            os.rename(tmp, self.rules)
        mark = self.change(replace)
        self.assertEqual(self.send(lmtp), "OVERSIZE_REPLACED")
        # rewritten in place (same inode)
        ino = os.stat(self.rules).st_ino

        def rewrite():
            with open(self.rules, "w") as f:
                f.write(shipped.replace("code: MESSAGE_TOO_LARGE",
                                        "code: OVERSIZE_REWRITTEN"))
        self.change(rewrite)
        self.assertEqual(os.stat(self.rules).st_ino, ino)
        self.assertEqual(self.send(lmtp), "OVERSIZE_REWRITTEN")
        self.assertEqual(dc.connection_pid(lmtp.sock, "lmtp"), pid,
                         "one long-lived process saw every change")
        self.assertEqual(self.invalid_lines(mark), [],
                         "a valid file logs nothing")
        # another process reads the same file
        with dc.lmtp_connect() as other:
            self.assertNotEqual(dc.connection_pid(other.sock, "lmtp"), pid)
            self.assertEqual(self.send(other), "OVERSIZE_REWRITTEN")

        # no delivery was lost: big's are deferred, ok's stored
        self.assertEqual(sorted(inbox_ids(dc, "ok")), sorted(self.sent))
        self.assertEqual(inbox_ids(dc, "big"), [])
        dc.wait_for(lambda: invalid[0]["id"] in
                    wall_ids(dc, "admin", "Alerts/Errors"), WALL_TIMEOUT,
                    "the invalid-rules alert in the admin's wall",
                    interval=0.2)
        self.assertEqual(wall_ids(dc, "postmaster", "Alerts/Errors"),
                         [invalid[0]["id"]])
        self.assertNoCrash(dc)


class KilledRaiseTest(MatrixTestCase):
    """An lmtp process killed with SIGKILL while it raises an alert (held
    in the state store's lock)."""

    def test_sigkill_while_raising_leaves_no_stale_lock(self):
        dc = self.start_dovecot(users={"rq": {"quota_rule": QUOTA_FULL},
                                       "admin": {}},
                                alertwall=True, name="awkill")
        with dc.lmtp_connect() as lmtp:
            self.fail_rq(lmtp)
        objects = []
        for path in glob.glob(os.path.join(dc.alertwall_state, "*", "*")):
            # a state file starts with its key: the object's is its code's
            with open(path, "rb") as f:
                if f.readline().startswith(CODE.encode()):
                    objects.append(path)
        self.assertEqual(len(objects), 1, objects)
        # the lock a stuck process would hold (closing any descriptor of
        # the file drops it)
        fd = os.open(objects[0], os.O_RDWR)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
            inode = os.fstat(fd).st_ino
            lmtp = dc.lmtp_connect()
            self.addCleanup(lmtp.close)
            pid = dc.connection_pid(lmtp.sock, "lmtp")
            msg = mime.make_message(to="rq@example.test", size=40 * 1024)
            self.assertEqual(lmtp.mail_from("sender@example.test").code, 250)
            self.assertEqual(lmtp.rcpt_to("rq").code, 250)
            self.assertEqual(lmtp.command("DATA").code, 354)
            lmtp.sock.sendall(_smtp_body(msg))

            def waiting():
                with open("/proc/locks") as f:
                    return any("->" in ln and " %d " % pid in ln and
                               ":%d " % inode in ln for ln in f)
            dc.wait_for(waiting, FILE_STORE_TIMEOUT - 0.5,
                        "the lmtp process waits for the state lock",
                        interval=0.01)
            os.kill(pid, signal.SIGKILL)
        finally:
            # the stuck holder goes away too
            os.close(fd)

        # the sender got no reply for the transaction: it keeps the mail
        with self.assertRaisesRegex(DovecotError, "connection closed"):
            lmtp.read_reply()
        dc.wait_for(lambda: lines_matching(dc, r"child %d killed with "
                                           r"signal 9" % pid),
                    5.0, "the master saw the kill")

        # its retry is handled normally, with no stale lock in the way
        with dc.lmtp_connect() as retry:
            replies, secs = self.timed_send(retry, ["rq"], msg)
            self.assertEqual((replies["rq"].code,
                              replies["rq"].enhanced_status),
                             (552, "5.2.2"))
            self.assertLess(secs, 1.0)
            self.assertNotIn(mime.message_id(msg), inbox_ids(dc, "rq"))
            # the killed raise wrote nothing: the state is whole and
            # counts on to one escalation at the retry limit
            self.assertEqual(mailbox_state(dc, "rq")["total"], 2)
            self.escalate_from(dc, retry, 2)
        self.assertEqual(lines_matching(dc, "alertwall_state"), [],
                         "no store error after the kill")
        crashes = [ln for ln in dc.log_text("all").splitlines()
                   if CRASH_RE.search(ln) and
                   "child %d killed with signal 9" % pid not in ln]
        self.assertEqual(crashes, [], "only the process killed here")


if __name__ == "__main__":
    unittest.main()
