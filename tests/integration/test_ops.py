"""The admin's operations on a real Dovecot: summary, silences, digests,
Dovecot's stats and log.

- `summary -f json` counts the period's sidecar records by event, the
  alerts raised or escalated in it by level, scope and code, and the open
  alerts, suspended mailboxes and silences of the state store, row by row.
- A silence keeps the mails of the alerts it selects out of every folder
  (the deliver service had time: a later unsilenced alert arrived) while
  the sidecar log and Dovecot's log still have them; it expires by itself,
  survives a Dovecot restart, and `silence remove` ends it.
- `digest` mails the admin (and the owner of a profile, about that
  profile only) a digest in Alerts/Digest that lists the open alert codes,
  the suspended mailboxes and the new alerts; the next digest starts where
  this one ended, and delivering digests raises nothing.
- The shipped `metric alertwall_alerts` example, enabled as is, makes
  `doveadm stats dump` count the alert events by code and level exactly as
  the sidecar log has them; Dovecot's log has one line per raised alert.
- Bad arguments exit 64, unknown ids, profiles and admins 67.
"""

import calendar
import collections
import json
import os
import re
import shutil
import tempfile
import time

from awtest import faults, mime
from awtest.dovecot import DovecotTestCase, SRCDIR

WALL_TIMEOUT = 10.0
# the engine reads the silences again at most this often
# (ALERTWALL_SILENCE_CACHE_SECS)
SILENCE_CACHE_SECS = 3

EX_USAGE = 64
EX_NOUSER = 67

BIG = 40 * 1024
PROFILE = "nfs-a"
OWNER = "storage"

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ID_RE = re.compile(r"^[0-9a-z]{26}$")


def seconds(value):
    """Epoch seconds of an RFC 3339 UTC time ("2026-11-26T19:04:05Z")."""
    return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))


def rules_with_profile(path, owner):
    """The shipped rules with the commented nfs-a profile switched on for
    the userdb field alertwall_profile=nfs-a, owned by owner; the default
    profile is owned by the admin."""
    with open(os.path.join(SRCDIR, "conf.d", "alertwall.yaml")) as f:
        text = f.read()
    block = ("  # - name: nfs-a\n"
             "  #   owner: storage-team@example.org\n"
             "  #   notify_mailbox_owners: no\n"
             "  #   match:\n"
             "  #     path_prefix: /srv/nfs-a/\n"
             "  #     userdb: alertwall_profile=nfs-a\n")
    default = ("  - name: default\n"
               "    owner: postmaster\n")
    for part in (block, default):
        if part not in text:
            raise AssertionError("the shipped rules changed: %r" % part)
    text = text.replace(block, "  - name: nfs-a\n"
                               "    owner: %s\n"
                               "    notify_mailbox_owners: no\n"
                               "    match:\n"
                               "      userdb: alertwall_profile=nfs-a\n"
                        % owner)
    text = text.replace(default, "  - name: default\n"
                                 "    owner: admin\n")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


def shipped_metric():
    """The commented metric example of conf.d/90-alertwall.conf, as an
    admin enables it: the block with its '#' taken away."""
    with open(os.path.join(SRCDIR, "conf.d", "90-alertwall.conf")) as f:
        lines = f.read().splitlines()
    start = lines.index("#metric alertwall_alerts {")
    end = lines.index("#}", start)
    return "\n".join(line[1:] for line in lines[start:end + 1]) + "\n"


class OpsTest(DovecotTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="awops-rules-")
        os.chmod(cls.tmp, 0o755)
        cls.rules = os.path.join(cls.tmp, "alertwall.yaml")
        rules_with_profile(cls.rules, OWNER)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ----

    def start(self, extra_conf=""):
        users = {
            "alice": {"quota_rule": "*:storage=10K"},
            "dave": {"quota_rule": "*:storage=10K"},
            "bob": {},
            "carol": {"alertwall_profile": PROFILE,
                      "quota_rule": "*:storage=10K"},
            "admin": {},
            OWNER: {},
        }
        self.dc = self.start_dovecot(
            users=users, alertwall=True, rules=self.rules,
            plugin=faults.PLUGIN_SETTINGS,
            extra_conf=faults.EXTRA_CONF + extra_conf, name="awops")
        return self.dc

    def doveadm(self, *args):
        return self.dc.doveadm(list(args))

    def doveadm_json(self, *args):
        p = self.dc.doveadm(["-f", "json"] + list(args))
        self.assertEqual(p.returncode, 0, "doveadm %s: %s" % (args, p.stderr))
        return json.loads(p.stdout)

    def deliver(self, user, size=None):
        msg = mime.make_message(to="%s@example.test" % user, size=size,
                                subject="ops test for %s" % user)
        return self.dc.lmtp_send([user], msg)[user]

    def over_quota(self, user):
        """One delivery over the user's quota: MAILBOX_QUOTA_EXCEEDED.
        Returns the sidecar record of the alert it raised."""
        before = len(self.records(user, "raised"))
        reply = self.deliver(user, size=BIG)
        self.assertEqual((reply.code, reply.enhanced_status), (552, "5.2.2"))
        raised = self.records(user, "raised")
        self.assertEqual(len(raised), before + 1, raised)
        self.assertEqual(raised[-1]["code"], "MAILBOX_QUOTA_EXCEEDED")
        return raised[-1]

    def suspend(self, user):
        """An unreadable Maildir: PERMISSION_DENIED, suspended. Returns the
        raised record and the heal function."""
        heal = faults.unreadable_maildir(self.dc, user)
        self.addCleanup(heal)
        reply = self.deliver(user)
        self.assertEqual(reply.code // 100, 4, reply)
        raised = self.records(user, "raised")
        self.assertEqual([r["code"] for r in raised], ["PERMISSION_DENIED"])
        self.assertEqual(len(self.records(user, "suspended")), 1)
        return raised[0], heal

    def records(self, user=None, event=None):
        return [r for r in self.dc.sidecar_records()
                if (user is None or r.get("user") == user) and
                (event is None or r["event"] == event)]

    def folder(self, user, folder):
        try:
            return self.dc.imap_fetch_all(user, folder)
        except Exception:
            return []  # the first mail creates the folder

    def mails_with_id(self, user, alert_id):
        """Every mail in any of the user's folders with this
        X-Alertwall-Id."""
        found = []
        for name in self.dc.imap_list(user):
            for m in self.folder(user, name):
                if mime.header(m, "X-Alertwall-Id") == alert_id:
                    found.append((name, m))
        return found

    def wall_mail(self, user, folder, alert_id):
        found = []

        def look():
            found[:] = [m for m in self.folder(user, folder)
                        if mime.header(m, "X-Alertwall-Id") == alert_id]
            return found
        self.dc.wait_for(look, timeout=WALL_TIMEOUT,
                         message="alert %s in %s's %s" % (alert_id, user,
                                                          folder))
        self.assertEqual(len(found), 1, "exactly one copy")
        return mime.parse(found[0])

    def spool_names(self):
        names = []
        for sub in ("new", "cur", "retry", "failed"):
            d = os.path.join(self.dc.alertwall_spool, sub)
            if os.path.isdir(d):
                names += os.listdir(d)
        return names

    def silence(self, *args):
        rows = self.doveadm_json("alertwall", "silence", *args)
        self.assertEqual(len(rows), 1, rows)
        self.assertRegex(rows[0]["id"], ID_RE)
        return rows[0]

    def assert_muted(self, rec, users):
        """No mail of the alert reached anybody, and none waits in the
        spool; the sidecar log and Dovecot's log have the alert."""
        for user in users:
            self.assertEqual(self.mails_with_id(user, rec["id"]), [],
                             "a silenced alert was mailed to %s" % user)
        self.assertFalse([n for n in self.spool_names()
                          if n.startswith(rec["id"])],
                         "a silenced alert was spooled")
        self.assertIn(rec["id"], self.dc.log_text("error"))

    def sync_deliver_service(self):
        """An unsilenced alert, and wait for its mail: the deliver service
        has then drained everything spooled before it."""
        rec, _ = self.suspend("bob")
        self.wall_mail("admin", "Alerts/Errors", rec["id"])
        return rec

    # ---- summary ----

    def test_summary_field_by_field(self):
        self.start()
        quota = self.over_quota("alice")
        # a repeat within the minute: no second record, no second alert
        self.assertEqual(self.deliver("alice", size=BIG).code, 552)
        denied, _ = self.suspend("bob")
        records = self.dc.sidecar_records()
        self.assertEqual([(r["event"], r["code"]) for r in records],
                         [("raised", "MAILBOX_QUOTA_EXCEEDED"),
                          ("raised", "PERMISSION_DENIED"),
                          ("suspended", "PERMISSION_DENIED")])

        rows = self.doveadm_json("alertwall", "summary")
        for row in rows:
            self.assertEqual(list(row), ["section", "name", "count",
                                         "detail"], row)
        got = [(r["section"], r["name"], r["count"]) for r in rows]
        period = rows[0]
        self.assertEqual((period["section"], period["count"]),
                         ("period", 3))
        self.assertRegex(period["name"], TIME_RE)
        self.assertRegex(period["detail"], r"^until \d{4}-")
        # the default period is the last 24 hours
        self.assertEqual(seconds(period["detail"][6:]) -
                         seconds(period["name"]), 24 * 3600)
        self.assertEqual(got[1:], [
            ("total", "alerts", 2),
            ("total", "open", 2),
            ("total", "suspended", 1),
            ("total", "silences", 0),
            ("event", "raised", 2),
            ("event", "repeated", 0),
            ("event", "escalated", 0),
            ("event", "suspended", 1),
            ("event", "resolved", 0),
            ("event", "dismissed", 0),
            ("event", "enabled", 0),
            ("event", "undeliverable", 0),
            ("level", "error", 1),
            ("level", "warning", 1),
            ("level", "info", 0),
            ("scope", "email", 0),
            ("scope", "mailbox", 2),
            ("scope", "profile", 0),
            ("code", "MAILBOX_QUOTA_EXCEEDED", 1),
            ("code", "PERMISSION_DENIED", 1),
            ("open", "MAILBOX_QUOTA_EXCEEDED", 1),
            ("open", "PERMISSION_DENIED", 1),
            ("suspended", "bob", 1),
        ])
        self.assertEqual(rows[-1]["detail"], "PERMISSION_DENIED " +
                         denied["id"])

        # a dismissed alert is no longer open, and its record counts
        p = self.doveadm("alertwall", "dismiss", quota["id"])
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = self.doveadm_json("alertwall", "summary", "-s", "1h")
        counts = {(r["section"], r["name"]): r["count"] for r in rows}
        self.assertEqual(counts[("event", "dismissed")], 1)
        self.assertEqual(counts[("total", "open")], 1)
        self.assertNotIn(("open", "MAILBOX_QUOTA_EXCEEDED"), counts)
        self.assertEqual(rows[0]["count"], 4)

        # an RFC 3339 SINCE after every record: nothing in the period,
        # the store's view unchanged
        time.sleep(1.1)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        time.sleep(1.1)
        rows = self.doveadm_json("alertwall", "summary", "-s", now)
        counts = {(r["section"], r["name"]): r["count"] for r in rows}
        self.assertEqual(rows[0]["name"], now)
        self.assertEqual(rows[0]["count"], 0)
        self.assertEqual(counts[("total", "alerts")], 0)
        self.assertEqual(counts[("event", "raised")], 0)
        self.assertFalse([r for r in rows if r["section"] == "code"])
        self.assertEqual(counts[("total", "open")], 1)
        self.assertEqual(counts[("suspended", "bob")], 1)
        # an offset is understood
        rows = self.doveadm_json("alertwall", "summary", "-s",
                                 "2000-01-01T01:00:00+01:00")
        self.assertEqual(rows[0]["name"], "2000-01-01T00:00:00Z")
        self.assertEqual(rows[0]["count"], 4)

        # the table has the same columns
        p = self.doveadm("alertwall", "summary")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["section", "name", "count",
                                            "detail"])
        self.assertIn(["code", "PERMISSION_DENIED", "1"],
                      [ln.split() for ln in lines])

        for bad in ("yesterday", "2026-13-45T00:00:00Z", "",
                    "2999-01-01T00:00:00Z"):
            p = self.doveadm("alertwall", "summary", "-s", bad)
            self.assertEqual(p.returncode, EX_USAGE,
                             "%r: %s" % (bad, p.stderr))

    def test_summary_reads_rotated_logs(self):
        # logrotate's way: the log renamed (and compressed, for the older
        # one), the next record written to a new file
        import gzip
        dc = self.start()
        log = dc.alertwall_log
        first = self.over_quota("alice")
        with open(log, "rb") as src, \
                gzip.open(log + ".2.gz", "wb") as dst:
            dst.write(src.read())
        os.unlink(log)
        old = time.time() - 60
        os.utime(log + ".2.gz", (old, old))
        second = self.over_quota("dave")
        os.rename(log, log + ".1")
        third = self.over_quota("carol")
        self.assertEqual([r["id"] for r in dc.sidecar_records()],
                         [third["id"]], "the current file holds the last")
        # a symlink named like a rotated file is not followed: root would
        # read what it points to
        planted = os.path.join(self.tmp, "planted.jsonl")
        with open(planted, "w") as f:
            f.write(json.dumps(dict(first, id="x" * 26,
                                    code="PLANTED")) + "\n")
        os.symlink(planted, log + ".3")

        rows = self.doveadm_json("alertwall", "summary")
        counts = {(r["section"], r["name"]): r["count"] for r in rows}
        self.assertEqual(rows[0]["count"], 3, rows[0])
        self.assertEqual(counts[("event", "raised")], 3)
        self.assertEqual(counts[("code", "MAILBOX_QUOTA_EXCEEDED")], 3)
        self.assertNotIn(("code", "PLANTED"), counts)
        # a period that began after a rotated file was last written: the
        # file is not opened (a record in it now, plain text, would count)
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(old + 1))
        with open(log + ".2.gz", "w") as f:
            f.write(json.dumps(dict(second, code="NOT_OPENED")) + "\n")
        os.utime(log + ".2.gz", (old, old))
        rows = self.doveadm_json("alertwall", "summary", "-s", since)
        counts = {(r["section"], r["name"]): r["count"] for r in rows}
        self.assertEqual(rows[0]["count"], 2, rows[0])
        self.assertNotIn(("code", "NOT_OPENED"), counts)
        # and without the period it is read, plain or compressed
        rows = self.doveadm_json("alertwall", "summary", "-s", "1d")
        counts = {(r["section"], r["name"]): r["count"] for r in rows}
        self.assertEqual(counts[("code", "NOT_OPENED")], 1)

    def test_summary_refuses_a_log_that_is_no_regular_file(self):
        # the log's directory is the mail uids': a FIFO in the log's place
        # must not hang root's doveadm, nor a link make it read elsewhere
        dc = self.start()
        log = dc.alertwall_log
        self.over_quota("alice")
        os.rename(log, log + ".1")
        os.mkfifo(log)
        p = dc.doveadm(["-f", "json", "alertwall", "summary", "-s", "1d"],
                       timeout=20)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("%s is not a regular file" % log, p.stderr)
        os.unlink(log)
        planted = os.path.join(self.tmp, "planted.jsonl")
        with open(planted, "w") as f:
            f.write(json.dumps({"time": time.strftime(
                "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "event": "raised", "code": "PLANTED"}) + "\n")
        os.symlink(planted, log)
        p = dc.doveadm(["-f", "json", "alertwall", "summary", "-s", "1d"],
                       timeout=20)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("open(%s) failed" % log, p.stderr)
        self.assertNotIn("PLANTED", p.stdout)

    # ---- silences ----

    def test_silence_mutes_mail_not_logs(self):
        dc = self.start()
        added = self.silence("MAILBOX_QUOTA_EXCEEDED", "--for", "1h",
                             "-r", "moving quotas")
        self.assertEqual((added["selector"], added["reason"]),
                         ("code=MAILBOX_QUOTA_EXCEEDED", "moving quotas"))
        self.assertRegex(added["expires"], TIME_RE)

        rec = self.over_quota("alice")
        self.sync_deliver_service()
        self.assert_muted(rec, ["admin", "alice"])
        # Dovecot's log line names the silence
        line = [ln for ln in dc.log_text("error").splitlines()
                if rec["id"] in ln]
        self.assertEqual(len(line), 1, line)
        self.assertIn("raised warning MAILBOX_QUOTA_EXCEEDED", line[0])
        self.assertIn("silenced=" + added["id"], line[0])

        listed = self.doveadm_json("alertwall", "silence", "list")
        self.assertEqual(len(listed), 1)
        self.assertEqual(
            {k: listed[0][k] for k in ("id", "selector", "expires",
                                       "reason")},
            {k: added[k] for k in ("id", "selector", "expires", "reason")})
        self.assertRegex(listed[0]["created"], TIME_RE)
        self.assertTrue(3500 < listed[0]["remaining"] <= 3600,
                        listed[0])
        # the alerts list view of what is silenced
        self.assertEqual([r["id"] for r in self.doveadm_json(
            "alertwall", "list", "-s", "silenced")], [rec["id"]])
        counts = {(r["section"], r["name"]): (r["count"], r["detail"])
                  for r in self.doveadm_json("alertwall", "summary")}
        self.assertEqual(counts[("silence", "code=MAILBOX_QUOTA_EXCEEDED")],
                         (1, "%s until %s: moving quotas" % (
                             added["id"], added["expires"])))

        # removed: the next alert of the code is mailed again (after the
        # mail processes' cache interval)
        p = self.doveadm("alertwall", "silence", "remove", added["id"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("result=removed", p.stdout)
        self.assertEqual(self.doveadm_json("alertwall", "silence", "list"),
                         [])
        self.assertEqual(self.doveadm_json("alertwall", "list", "-s",
                                           "silenced"), [])
        time.sleep(SILENCE_CACHE_SECS + 1)
        rec2 = self.over_quota("dave")
        self.wall_mail("admin", "Alerts/Warnings", rec2["id"])
        self.wall_mail("dave", "Alerts/Warnings", rec2["id"])
        self.assertNotIn("silenced=", [ln for ln in
                                       dc.log_text("error").splitlines()
                                       if rec2["id"] in ln][0])
        p = self.doveadm("alertwall", "silence", "remove", added["id"])
        self.assertEqual(p.returncode, EX_NOUSER, p.stderr)

    def test_silence_by_user_expires(self):
        self.start()
        # alice's alert fills the lmtp process's cache before the silence
        first = self.over_quota("alice")
        self.wall_mail("admin", "Alerts/Warnings", first["id"])
        added = self.silence("user=dave", "--for", "10s")
        time.sleep(SILENCE_CACHE_SECS + 1)
        muted = self.over_quota("dave")
        # another user's alert of the same code is not silenced
        p = self.doveadm("alertwall", "dismiss", first["id"])
        self.assertEqual(p.returncode, 0, p.stderr)
        other = self.over_quota("alice")
        self.wall_mail("admin", "Alerts/Warnings", other["id"])
        self.assert_muted(muted, ["admin", "dave"])

        # expired: ignored by the engine, gone from the list
        wait = seconds(added["expires"]) - time.time() + 1
        if wait > 0:
            time.sleep(wait)
        self.assertEqual(self.doveadm_json("alertwall", "silence", "list"),
                         [])
        p = self.doveadm("alertwall", "dismiss", muted["id"])
        self.assertEqual(p.returncode, 0, p.stderr)
        time.sleep(SILENCE_CACHE_SECS)
        again = self.over_quota("dave")
        self.wall_mail("admin", "Alerts/Warnings", again["id"])
        self.wall_mail("dave", "Alerts/Warnings", again["id"])
        # and the muted one never arrived late
        self.assertEqual(self.mails_with_id("admin", muted["id"]), [])

    def test_silences_survive_a_restart(self):
        dc = self.start()
        by_profile = self.silence("profile=" + PROFILE, "--for", "1h")
        by_code = self.silence("code=PERMISSION_DENIED", "--for", "2h",
                               "-r", "disk swap")
        before = sorted(r["id"] for r in
                        self.doveadm_json("alertwall", "silence", "list"))
        self.assertEqual(before, sorted([by_profile["id"], by_code["id"]]))
        dc.stop()
        dc.start()
        listed = self.doveadm_json("alertwall", "silence", "list")
        self.assertEqual(sorted(r["id"] for r in listed), before)
        self.assertEqual({r["selector"]: r["reason"] for r in listed},
                         {"profile=" + PROFILE: "",
                          "code=PERMISSION_DENIED": "disk swap"})
        # both still mute after the restart
        carol = self.over_quota("carol")
        self.assertEqual(carol["profile"], PROFILE)
        denied, _ = self.suspend("bob")
        alice = self.over_quota("alice")
        self.wall_mail("admin", "Alerts/Warnings", alice["id"])
        self.assert_muted(carol, ["admin", OWNER, "carol"])
        self.assert_muted(denied, ["admin", "bob"])

    def test_silence_errors(self):
        self.start()
        bad = [
            # no --for, bad durations
            ("alertwall", "silence", "MAILBOX_QUOTA_EXCEEDED"),
            ("alertwall", "silence", "MAILBOX_QUOTA_EXCEEDED", "--for",
             "soon"),
            ("alertwall", "silence", "MAILBOX_QUOTA_EXCEEDED", "--for", "0"),
            ("alertwall", "silence", "MAILBOX_QUOTA_EXCEEDED", "--for",
             "400d"),
            # bad selectors
            ("alertwall", "silence", "--for", "1h"),
            ("alertwall", "silence", "mailbox=INBOX", "--for", "1h"),
            ("alertwall", "silence", "not-a-code", "--for", "1h"),
            ("alertwall", "silence", "user=", "--for", "1h"),
            # a malformed id, extra arguments
            ("alertwall", "silence", "remove", "not-an-id!"),
            ("alertwall", "silence", "remove"),
            ("alertwall", "silence", "list", "extra"),
            ("alertwall", "list", "-s", "muted"),
        ]
        for args in bad:
            p = self.doveadm(*args)
            self.assertEqual(p.returncode, EX_USAGE,
                             "%s: %s" % (args, p.stderr))
        p = self.doveadm("alertwall", "silence", "profile=nosuchprofile",
                         "--for", "1h")
        self.assertEqual(p.returncode, EX_NOUSER, p.stderr)
        self.assertIn("Unknown profile 'nosuchprofile'", p.stderr)
        p = self.doveadm("alertwall", "silence", "remove", "0" * 25 + "z")
        self.assertEqual(p.returncode, EX_NOUSER, p.stderr)
        self.assertIn("Unknown silence id", p.stderr)
        # nothing was added by the refused commands
        self.assertEqual(self.doveadm_json("alertwall", "silence", "list"),
                         [])

    # ---- digests ----

    def digest_mail(self, user, digest_id):
        msg = self.wall_mail(user, "Alerts/Digest", digest_id)
        self.assertEqual(msg["Auto-Submitted"], "auto-generated")
        self.assertEqual(msg["X-Alertwall-Event"], "digest")
        part = mime.part_of_type(msg, "application/json")
        self.assertIsNotNone(part)
        # the parts travel with CRLF line ends
        text = mime.text_of(msg).replace("\r\n", "\n")
        return msg, text, json.loads(part.get_content())

    def test_digest(self):
        self.start()
        denied, _ = self.suspend("bob")
        quota = self.over_quota("alice")
        carol = self.over_quota("carol")
        self.assertEqual(carol["profile"], PROFILE)
        records_before = len(self.dc.sidecar_records())

        rows = self.doveadm_json("alertwall", "digest", "--hourly")
        self.assertEqual([(r["recipient"], r["profiles"], r["open"],
                           r["suspended"], r["new"], r["result"])
                          for r in rows],
                         [("admin", "", 3, 1, 3, "spooled"),
                          (OWNER, PROFILE, 1, 0, 1, "spooled")])
        msg, text, data = self.digest_mail("admin", rows[0]["id"])
        self.assertEqual(msg["X-Alertwall-Digest"], "hourly")
        self.assertEqual(msg["Subject"], "[alertwall] hourly digest: "
                         "3 open, 1 suspended, 3 new")
        # the text lists the open codes and the suspended mailbox
        self.assertIn("Open alerts: 3\n", text)
        for code in ("PERMISSION_DENIED", "MAILBOX_QUOTA_EXCEEDED"):
            self.assertRegex(text, r"\n  %s (open|permanent) mailbox "
                             % code)
        self.assertIn("Suspended mailboxes: 1\n  bob PERMISSION_DENIED "
                      "(alert %s)\n" % denied["id"], text)
        self.assertIn("(no earlier digest)", text)
        # and the JSON part says the same, field by field
        self.assertEqual((data["digest"], data["recipient"],
                          data["profiles"], data["since_last"]),
                         ("hourly", "admin", None, False))
        self.assertEqual(sorted((o["code"], o["user"], o["status"],
                                 o["suspended"]) for o in data["open"]),
                         [("MAILBOX_QUOTA_EXCEEDED", "alice", "open", False),
                          ("MAILBOX_QUOTA_EXCEEDED", "carol", "open", False),
                          ("PERMISSION_DENIED", "bob", "permanent", True)])
        self.assertEqual(data["suspended"],
                         [{"user": "bob", "code": "PERMISSION_DENIED",
                           "id": denied["id"]}])
        self.assertEqual(sorted(n["id"] for n in data["new"]),
                         sorted([denied["id"], quota["id"], carol["id"]]))
        self.assertEqual(data["new_total"], 3)
        self.assertEqual(data["top_codes"],
                         [{"code": "MAILBOX_QUOTA_EXCEEDED", "count": 2},
                          {"code": "PERMISSION_DENIED", "count": 1}])

        # the profile owner hears of the profile's alerts only
        msg, text, data = self.digest_mail(OWNER, rows[1]["id"])
        self.assertEqual(data["profiles"], [PROFILE])
        self.assertEqual([(o["code"], o["user"]) for o in data["open"]],
                         [("MAILBOX_QUOTA_EXCEEDED", "carol")])
        self.assertEqual(data["suspended"], [])
        self.assertNotIn("bob", text)
        self.assertNotIn("alice", text)
        self.assertIn("Covers: the alerts of profile(s) %s" % PROFILE, text)

        # delivering digests raised nothing (no loop), and the digest
        # folder was created in the admin's mailbox
        self.assertEqual(len(self.dc.sidecar_records()), records_before)
        self.assertIn("Alerts/Digest", self.dc.imap_list("admin"))

        # the next digest starts where this one ended: nothing new, the
        # same open alerts
        time.sleep(1.1)
        rows = self.doveadm_json("alertwall", "digest", "--hourly")
        self.assertEqual([(r["recipient"], r["open"], r["new"])
                          for r in rows], [("admin", 3, 0), (OWNER, 1, 0)])
        _, text, data = self.digest_mail("admin", rows[0]["id"])
        self.assertTrue(data["since_last"])
        self.assertEqual((data["new"], data["new_total"], data["top_codes"]),
                         ([], 0, []))
        self.assertIn("(since the last digest)", text)
        self.assertEqual(len(self.folder("admin", "Alerts/Digest")), 2)
        # a daily digest keeps its own time: it has never run
        rows = self.doveadm_json("alertwall", "digest")
        _, _, data = self.digest_mail("admin", rows[0]["id"])
        self.assertEqual((data["digest"], data["since_last"],
                          data["new_total"]), ("daily", False, 3))

    def test_digest_errors(self):
        self.start()
        p = self.doveadm("alertwall", "digest", "--hourly", "--daily")
        self.assertEqual(p.returncode, EX_USAGE, p.stderr)
        p = self.dc.doveadm(["-o", "plugin/alertwall_admin=nosuchadmin",
                             "alertwall", "digest"])
        self.assertEqual(p.returncode, EX_NOUSER, p.stderr)
        self.assertIn("Unknown admin user nosuchadmin", p.stderr)
        p = self.dc.doveadm(["-o", "plugin/alertwall_state=",
                             "alertwall", "digest"])
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("state store", p.stderr)
        # nothing was spooled by the refused runs
        self.assertEqual(self.spool_names(), [])

    # ---- Dovecot's stats and log ----

    def test_stats_and_log(self):
        metric = shipped_metric()
        self.assertIn("filter = event=alertwall_alert", metric)
        self.assertIn("group_by = code level", metric)
        # and one that counts only raised alerts, as the comment says
        raised_only = ("metric alertwall_raised {\n"
                       "  filter = event=alertwall_alert AND "
                       "alert_event=raised\n"
                       "}\n")
        dc = self.start(extra_conf=metric + raised_only)
        self.assertIn("metric alertwall_alerts {", dc.doveconf_n())

        quota = self.over_quota("alice")
        self.over_quota("dave")
        denied, _ = self.suspend("bob")
        # Dovecot's own log: one concise line per raised alert
        for rec, level in ((quota, "warning"), (denied, "error")):
            # the log process writes it a moment after the reply
            def raised_lines(rec=rec):
                return [ln for ln in dc.log_text("error").splitlines()
                        if ("id=%s " % rec["id"]) in ln and "raised" in ln]
            lines = dc.wait_for(raised_lines, 5.0,
                                "no log line for %s" % rec["id"])
            self.assertEqual(len(lines), 1, lines)
            self.assertRegex(lines[0], r"alertwall: raised %s %s \(user=%s "
                             r"mailbox=INBOX profile=default id=%s count=1\): "
                             % (level, rec["code"], rec["user"], rec["id"]))

        # stats count exactly what the sidecar log has, by code and level
        expected = collections.Counter(
            (r["code"], r["level"]) for r in dc.sidecar_records())
        self.assertEqual(expected[("MAILBOX_QUOTA_EXCEEDED", "warning")], 2)
        self.assertEqual(expected[("PERMISSION_DENIED", "error")], 2)
        want = {"alertwall_alerts": sum(expected.values()),
                "alertwall_raised": 3}
        for (code, level), n in expected.items():
            want["alertwall_alerts_%s_%s" % (code, level)] = n
        got = {}

        def dump():
            p = dc.doveadm(["stats", "dump"])
            self.assertEqual(p.returncode, 0, p.stderr)
            got.clear()
            for line in p.stdout.splitlines()[1:]:
                fields = line.split("\t")
                if fields[0].startswith("alertwall_") and \
                        fields[1] == "duration":
                    got[fields[0]] = int(fields[2])
            return all(got.get(k) == v for k, v in want.items())
        try:
            dc.wait_for(dump, timeout=10)
        except AssertionError:
            self.fail("stats dump %r, wanted %r" % (got, want))
        # the per-code totals too
        self.assertEqual(got["alertwall_alerts_MAILBOX_QUOTA_EXCEEDED"], 2)
        self.assertEqual(got["alertwall_alerts_PERMISSION_DENIED"], 2)


if __name__ == "__main__":
    import unittest
    unittest.main()
