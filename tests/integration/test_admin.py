"""The admin's doveadm commands for alert state, on a real Dovecot.

- A permanent mailbox-level fault suspends deliveries (451 4.2.1, the mail
  is not stored and stays with the sender). `doveadm alertwall enable -u`
  tests the mailbox with a save into INBOX that is rolled back: while the
  fault persists it fails with a non-zero exit and the suspension stays;
  once healed it lifts the suspension, logs "enabled", mails "tested and
  enabled" to the admin's Alerts/Info, and the next delivery is stored.
  The test message itself is never kept.
- `enable -p PROFILE` does the same for the users with open alerts of one
  profile, and only those.
- `dismiss ID` closes one alert: `list` no longer shows it and the next
  failure raises a new alert with a new id.
- `list -f json`, `show -f json` and `status -f json` carry the state
  field by field; `show` includes the alert's sidecar history.
- Unknown ids, users and profiles fail with EX_NOUSER; bad arguments with
  EX_USAGE.
"""

import calendar
import json
import os
import re
import shutil
import tempfile
import time
import unittest

from awtest import faults, mime
from awtest.dovecot import DovecotTestCase, PrivateDovecot, SRCDIR

# alert delivery waits for the deliver service: the issue allows 5 s
WALL_TIMEOUT = 10.0

# sysexits.h
EX_USAGE = 64
EX_NOUSER = 67

PROFILE = "nfs-a"
USERS = {
    # quota: a 40 KiB message fails with 552 5.2.2 (transient, open)
    "alice": {"quota_rule": "*:storage=10K"},
    "quinn": {"quota_rule": "*:storage=10K"},
    # unreadable Maildirs: permanent, suspended
    "bob": {},
    "carol": {"alertwall_profile": PROFILE},
    "dave": {"alertwall_profile": PROFILE},
    "erin": {},
    "admin": {},
}

ID_RE = re.compile(r"^[0-9a-z]{26}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
LIST_FIELDS = ["id", "code", "status", "nature", "scope", "user", "mailbox",
               "profile", "attempts", "total", "first_seen", "last_seen",
               "suspended"]


def rules_with_profile(path):
    """The shipped rules with the commented nfs-a profile switched on
    (matched by the userdb field alertwall_profile=nfs-a)."""
    with open(os.path.join(SRCDIR, "conf.d", "alertwall.yaml")) as f:
        text = f.read()
    block = ("  # - name: nfs-a\n"
             "  #   owner: storage-team@example.org\n"
             "  #   notify_mailbox_owners: no\n"
             "  #   match:\n"
             "  #     path_prefix: /srv/nfs-a/\n"
             "  #     userdb: alertwall_profile=nfs-a\n")
    if block not in text:
        raise AssertionError("the shipped rules no longer have the "
                             "commented nfs-a profile this test enables")
    text = text.replace(block, "  - name: nfs-a\n"
                               "    owner: admin\n"
                               "    notify_mailbox_owners: no\n"
                               "    match:\n"
                               "      userdb: alertwall_profile=nfs-a\n")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


def record_seconds(rec_time):
    """Epoch seconds of a sidecar time ("2026-11-26T19:04:05.123Z")."""
    return calendar.timegm(time.strptime(rec_time[:19], "%Y-%m-%dT%H:%M:%S"))


def list_seconds(value):
    return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))


class AdminTest(DovecotTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="awadmin-rules-")
        os.chmod(cls.tmp, 0o755)
        rules = os.path.join(cls.tmp, "alertwall.yaml")
        rules_with_profile(rules)
        cls.dc = PrivateDovecot(users=USERS, alertwall=True, rules=rules,
                                plugin=faults.PLUGIN_SETTINGS,
                                extra_conf=faults.EXTRA_CONF,
                                name="awadmin")
        cls.dc.start()

    @classmethod
    def tearDownClass(cls):
        cls.dc.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers ----

    def doveadm(self, *args, user=None):
        return self.dc.doveadm(list(args), user=user)

    def doveadm_json(self, *args, user=None):
        p = self.dc.doveadm(["-f", "json"] + list(args), user=user)
        self.assertEqual(p.returncode, 0, "doveadm %s: %s" % (args, p.stderr))
        return json.loads(p.stdout)

    def deliver(self, user, size=None):
        msg = mime.make_message(to="%s@example.test" % user, size=size,
                                subject="admin test for %s" % user)
        return mime.message_id(msg), self.dc.lmtp_send([user], msg)[user]

    def records(self, user, event=None):
        return [r for r in self.dc.sidecar_records()
                if r.get("user") == user and
                (event is None or r["event"] == event)]

    def listed(self, *args):
        return self.doveadm_json("alertwall", "list", *args)

    def status(self, user):
        rows = self.doveadm_json("alertwall", "status", "-u", user)
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["username"], user)
        return rows[0]

    def inbox_ids(self, user):
        return [mime.header(m, "Message-ID")
                for m in self.dc.imap_fetch_all(user, "INBOX")]

    def inbox_subjects(self, user):
        return [mime.header(m, "Subject")
                for m in self.dc.imap_fetch_all(user, "INBOX")]

    def suspend(self, user):
        """Break the user's Maildir and deliver once: the permanent
        PERMISSION_DENIED alert suspends the mailbox. Returns (heal, alert
        id, message ids that were refused)."""
        heal = faults.unreadable_maildir(self.dc, user)
        message_id, reply = self.deliver(user)
        self.assertEqual(reply.code // 100, 4, "deferred, not lost")
        raised = self.records(user, "raised")
        self.assertEqual([r["code"] for r in raised], ["PERMISSION_DENIED"])
        self.assertEqual([r["id"] for r in self.records(user, "suspended")],
                         [raised[0]["id"]])
        return heal, raised[0]["id"], [message_id]

    def assert_suspended_reply(self, user):
        message_id, reply = self.deliver(user)
        self.assertEqual((reply.code, reply.enhanced_status), (451, "4.2.1"),
                         "suspended: %r" % (reply,))
        self.assertIn("PERMISSION_DENIED", reply.text)
        return message_id

    def wall_mail(self, user, folder, alert_id):
        found = []

        def look():
            try:
                msgs = self.dc.imap_fetch_all(user, folder)
            except Exception:
                return False  # the folder is created by the first alert
            found[:] = [m for m in msgs
                        if mime.header(m, "X-Alertwall-Id") == alert_id]
            return found
        self.dc.wait_for(look, timeout=WALL_TIMEOUT,
                         message="alert %s in %s's %s" % (alert_id, user,
                                                          folder))
        self.assertEqual(len(found), 1, "exactly one copy")
        return mime.parse(found[0])

    # ---- tests ----

    def test_enable_only_after_the_fault_is_healed(self):
        heal, alert_id, refused = self.suspend("bob")
        refused.append(self.assert_suspended_reply("bob"))

        st = self.status("bob")
        self.assertEqual(st["status"], "suspended")
        self.assertEqual(st["reason"],
                         "PERMISSION_DENIED (alert %s)" % alert_id)
        self.assertEqual(st["open"], 1)
        self.assertIn(alert_id + " PERMISSION_DENIED permanent", st["alerts"])
        self.assertEqual(st["last_error_code"], "PERMISSION_DENIED")

        # the fault persists: the test save fails, nothing changes
        p = self.doveadm("alertwall", "enable", "-u", "bob")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("Permission denied", p.stderr)
        self.assertIn("failed", p.stdout)
        self.assertEqual(self.records("bob", "enabled"), [])
        self.assertEqual(self.status("bob")["status"], "suspended")
        refused.append(self.assert_suspended_reply("bob"))

        heal()
        p = self.doveadm("alertwall", "enable", "-u", "bob")
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = self.doveadm_json("alertwall", "enable", "-u", "bob")
        # a second enable of a healthy mailbox closes nothing more
        self.assertEqual(rows, [{"username": "bob", "result": "enabled",
                                 "closed": 0, "error": ""}])
        enabled = self.records("bob", "enabled")
        self.assertEqual(len(enabled), 2, enabled)
        self.assertEqual(enabled[0]["code"], "MAILBOX_TESTED_AND_ENABLED")
        self.assertIn("1 alert(s) closed", enabled[0]["summary"])
        self.assertIn("0 alert(s) closed", enabled[1]["summary"])
        msg = self.wall_mail("admin", "Alerts/Info", enabled[0]["id"])
        self.assertIn("tested and enabled", mime.text_of(msg))
        self.assertIn("MAILBOX_TESTED_AND_ENABLED", msg["Subject"])

        st = self.status("bob")
        self.assertEqual((st["status"], st["reason"], st["open"]),
                         ("active", "", 0))
        self.assertEqual(self.listed("-u", "bob"), [])

        message_id, reply = self.deliver("bob")
        self.assertEqual(reply.code, 250, reply)
        ids = self.inbox_ids("bob")
        self.assertIn(message_id, ids)
        for mid in refused:
            self.assertNotIn(mid, ids, "a refused mail was stored")
        # the test saves were rolled back
        self.assertNotIn("alertwall test and enable",
                         self.inbox_subjects("bob"))

    def test_enable_profile_enables_only_its_healed_users(self):
        heal_carol, carol_id, _ = self.suspend("carol")
        heal_dave, dave_id, _ = self.suspend("dave")
        heal_erin, erin_id, _ = self.suspend("erin")
        self.addCleanup(heal_erin)
        for user, alert_id in (("carol", carol_id), ("dave", dave_id)):
            rows = self.listed("-u", user)
            self.assertEqual([(r["id"], r["profile"]) for r in rows],
                             [(alert_id, PROFILE)])
        self.assertEqual(sorted(r["user"] for r in
                                self.listed("-p", PROFILE)),
                         ["carol", "dave"])

        # dave is still broken: carol is enabled, dave is not
        heal_carol()
        p = self.doveadm("alertwall", "enable", "-p", PROFILE)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertRegex(p.stdout, r"carol\s+enabled\s+1")
        self.assertRegex(p.stdout, r"dave\s+failed")
        self.assertNotIn("erin", p.stdout)
        self.assertEqual(self.status("carol")["status"], "active")
        self.assertEqual(self.status("dave")["status"], "suspended")

        heal_dave()
        p = self.doveadm("alertwall", "enable", "-p", PROFILE)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"dave\s+enabled\s+1")
        self.assertNotIn("carol", p.stdout, "carol has no open alert left")
        for user in ("carol", "dave"):
            self.assertEqual(self.deliver(user)[1].code, 250)
        # erin is in the default profile: still suspended
        self.assertEqual(self.status("erin")["status"], "suspended")
        self.assert_suspended_reply("erin")
        self.assertEqual([r["user"] for r in self.records("erin", "enabled")],
                         [])

        # nothing left to enable in the profile
        p = self.doveadm("alertwall", "enable", "-p", PROFILE)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("nothing to enable", p.stderr)

    def test_list_show_dismiss(self):
        message_id, reply = self.deliver("alice", size=40 * 1024)
        self.assertEqual((reply.code, reply.enhanced_status), (552, "5.2.2"))
        raised = self.records("alice", "raised")
        self.assertEqual(len(raised), 1)
        rec = raised[0]
        first = rec["id"]
        self.assertRegex(first, ID_RE)

        rows = self.listed("-u", "alice")
        self.assertEqual(len(rows), 1, rows)
        row = rows[0]
        self.assertEqual(list(row), LIST_FIELDS)
        self.assertEqual(row["id"], first)
        self.assertEqual(row["code"], "MAILBOX_QUOTA_EXCEEDED")
        self.assertEqual(row["status"], "open")
        self.assertEqual(row["nature"], "transient")
        self.assertEqual(row["scope"], "mailbox")
        self.assertEqual(row["user"], "alice")
        self.assertEqual(row["mailbox"], "INBOX")
        self.assertEqual(row["profile"], "default")
        self.assertEqual(row["attempts"], 1)
        self.assertEqual(row["total"], 1)
        self.assertRegex(row["first_seen"], TIME_RE)
        self.assertLessEqual(abs(list_seconds(row["first_seen"]) -
                                 record_seconds(rec["time"])), 1)
        self.assertEqual(row["last_seen"], row["first_seen"])
        self.assertEqual(row["suspended"], "no")
        # the filters
        self.assertEqual([r["id"] for r in self.listed(
            "-c", "MAILBOX_QUOTA_EXCEEDED", "-S", "mailbox", "-u", "alice",
            "-p", "default", "-s", "open")], [first])
        self.assertEqual(self.listed("-u", "alice", "-S", "email"), [])
        self.assertEqual(self.listed("-u", "alice", "-s", "permanent"), [])
        self.assertEqual(self.listed("-u", "alice", "-c", "NO_SUCH_CODE"), [])
        # level: a transient quota alert is a warning until it escalates
        self.assertEqual([r["id"] for r in self.listed(
            "-u", "alice", "-l", "warning")], [first])
        self.assertEqual(self.listed("-u", "alice", "-l", "error"), [])
        # since: seen within the last hour, not within the last 0 s ago
        self.assertEqual([r["id"] for r in self.listed(
            "-u", "alice", "-t", "1h")], [first])
        # times are whole seconds: 2.1 s is surely more than "1s" ago
        time.sleep(2.1)
        self.assertEqual(self.listed("-u", "alice", "-t", "1s"), [])
        for bad in (("-l", "loud"), ("-t", "soon")):
            p = self.doveadm("alertwall", "list", *bad)
            self.assertEqual(p.returncode, 64, (bad, p.stderr))
        # the table has the same fields as its header
        p = self.doveadm("alertwall", "list", "-u", "alice")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), LIST_FIELDS)
        self.assertEqual(lines[1].split()[:3],
                         [first, "MAILBOX_QUOTA_EXCEEDED", "open"])

        # a repeat counts on the same alert
        self.assertEqual(self.deliver("alice", size=40 * 1024)[1].code, 552)
        row = self.listed("-u", "alice")[0]
        self.assertEqual((row["id"], row["attempts"], row["total"]),
                         (first, 2, 2))

        p = self.doveadm("alertwall", "dismiss", first)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(first, p.stdout)
        self.assertIn("result=dismissed", p.stdout)
        self.assertIn("code=MAILBOX_QUOTA_EXCEEDED", p.stdout)
        self.assertIn("user=alice", p.stdout)
        self.assertEqual(self.listed("-u", "alice"), [])
        closed = self.listed("-u", "alice", "-s", "dismissed")
        self.assertEqual([(r["id"], r["status"], r["attempts"])
                          for r in closed], [(first, "dismissed", 0)])
        self.assertEqual([r["id"] for r in self.records("alice",
                                                        "dismissed")],
                         [first])
        # twice changes nothing
        p = self.doveadm("alertwall", "dismiss", first)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("result=already dismissed", p.stdout)
        self.assertEqual(len(self.records("alice", "dismissed")), 1)

        # the next failure is a new alert with a new id
        self.assertEqual(self.deliver("alice", size=40 * 1024)[1].code, 552)
        raised = self.records("alice", "raised")
        self.assertEqual(len(raised), 2, raised)
        second = raised[1]["id"]
        self.assertNotEqual(second, first)
        rows = self.listed("-u", "alice")
        self.assertEqual([(r["id"], r["attempts"], r["total"])
                          for r in rows], [(second, 1, 3)])

        # show: the state and the sidecar history, in order; the first
        # alert is closed and its object has a newer one, so its fields
        # come from its last record
        shown = self.doveadm_json("alertwall", "show", first)
        self.assertEqual(len(shown), 1)
        shown = shown[0]
        self.assertEqual((shown["id"], shown["status"], shown["code"],
                          shown["user"], shown["scope"]),
                         (first, "dismissed", "MAILBOX_QUOTA_EXCEEDED",
                          "alice", "mailbox"))
        history = [json.loads(ln) for ln in
                   shown["history"].splitlines()]
        self.assertEqual([h["event"] for h in history],
                         ["raised", "dismissed"])
        self.assertEqual(history[0]["message_id"], message_id)
        self.assertEqual({h["id"] for h in history}, {first})
        shown = self.doveadm_json("alertwall", "show", second)[0]
        for key in ("code", "status", "nature", "scope", "user", "mailbox",
                    "profile"):
            self.assertEqual(shown[key], rows[0][key], key)
        self.assertEqual((shown["attempts"], shown["consecutive"],
                          shown["total"], shown["suspended"]),
                         (1, 1, 3, "no"))
        self.assertIn("Quota exceeded", shown["text"])
        self.assertEqual([json.loads(ln)["event"] for ln in
                          shown["history"].splitlines()], ["raised"])
        # the default output names the fields, one a line
        p = self.doveadm("alertwall", "show", second)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("id: %s\n" % second, p.stdout)
        self.assertIn("code: MAILBOX_QUOTA_EXCEEDED\n", p.stdout)
        self.assertRegex(p.stdout, r"history:\n\{.*\"event\":\"raised\"")

    def test_status_of_a_healthy_user(self):
        quinn_msg, reply = self.deliver("quinn")
        self.assertEqual(reply.code, 250)
        st = self.status("quinn")
        self.assertEqual({k: st[k] for k in ("status", "reason", "open",
                                             "alerts", "last_error_code")},
                         {"status": "active", "reason": "", "open": 0,
                          "alerts": "", "last_error_code": ""})

    def test_unknown_ids_users_and_profiles(self):
        unknown = "0" * 25 + "z"
        for cmd in ("dismiss", "show"):
            p = self.doveadm("alertwall", cmd, unknown)
            self.assertEqual(p.returncode, EX_NOUSER, p.stderr)
            self.assertIn("Unknown alert id " + unknown, p.stderr)
            p = self.doveadm("alertwall", cmd, "not-an-id!")
            self.assertEqual(p.returncode, EX_USAGE, p.stderr)
        for cmd in ("status", "enable"):
            p = self.doveadm("alertwall", cmd, "-u", "nosuchuser")
            self.assertEqual(p.returncode, EX_NOUSER,
                             "%s: %s" % (cmd, p.stderr))
        p = self.doveadm("alertwall", "enable", "-p", "nosuchprofile")
        self.assertEqual(p.returncode, EX_NOUSER, p.stderr)
        self.assertIn("Unknown profile 'nosuchprofile'", p.stderr)
        before = len(self.dc.sidecar_records())
        p = self.doveadm("alertwall", "enable", "-p", PROFILE, "-u", "bob")
        self.assertEqual(p.returncode, EX_USAGE, p.stderr)
        self.assertIn("cannot be combined", p.stderr)
        self.assertEqual(self.dc.sidecar_records()[before:], [],
                         "a refused command changes nothing")
        for args in (("-s", "bogus"), ("-S", "everywhere")):
            p = self.doveadm("alertwall", "list", *args)
            self.assertEqual(p.returncode, EX_USAGE, p.stderr)


if __name__ == "__main__":
    unittest.main()
