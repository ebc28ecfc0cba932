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
process can write them. Each alert's mail is spooled independently of the
sidecar log, so the walls get it either way.

Already proven elsewhere, not repeated here: many concurrent failures of
one object (test_sidecar, test_escalation, test_shared_state), a full or
unreadable admin mailbox (test_rules_admin), a broken rules file at start
(test_rules_admin).
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest

from awtest import mime
from awtest.dovecot import DovecotError, DovecotTestCase, PrivateDovecot
from test_escalation import CODE, QUOTA_FULL, mailbox_state, \
    rule_retry_limit
from test_shared_state import Redis

# alert delivery waits for the deliver service: the issue allows 5 s
WALL_TIMEOUT = 10.0
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


def spool_names(dc, subdir):
    path = os.path.join(dc.alertwall_spool, subdir)
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


def chown_tree(path, uid, gid):
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, uid, gid)
        for name in filenames:
            os.chown(os.path.join(dirpath, name), uid, gid)


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
            filler = os.path.join(self.logdir, "filler")
            try:
                with open(filler, "wb") as f:
                    while True:
                        f.write(b"\0" * 4096)
                        f.flush()
            except OSError:
                pass  # full

            def heal():
                os.unlink(filler)
        else:
            raise ValueError(fault)
        return heal, {p: open(p, "rb").read() for p in untouched}

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
                    with open(path, "rb") as f:
                        self.assertEqual(f.read(), content,
                                         "%s was written through the "
                                         "symlink" % path)
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


if __name__ == "__main__":
    unittest.main()
