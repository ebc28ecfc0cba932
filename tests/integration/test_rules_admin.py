"""The admin's side of alertwall on a real Dovecot.

- When the admin's mailbox cannot take mail, alert mails wait in the spool
  (never in failed/, never lost) and arrive in the walls exactly once when
  it heals, woken by the next alert or by the deliver service's retry.
- A broken rules file takes no mail down: deliveries go on, failures are
  classified by the built-in rules, the errors are logged with
  file:line:column, and ALERTWALL_RULES_INVALID reaches the walls.
- doveadm alertwall rules check/test give admins the same answers, with
  sysexits exit codes.
"""

import json
import os
import re
import time
import unittest

from awtest import faults, mime
from awtest.dovecot import DovecotTestCase, PrivateDovecot, SRCDIR

# alert delivery waits for the deliver service: the issue allows 5 s
WALL_TIMEOUT = 10.0
# the deliver service retries a deferred alert after 2, 4, 8 ... s
RETRY_TIMEOUT = 20.0

# sysexits.h
EX_USAGE = 64
EX_DATAERR = 65

# a rules file with three errors; every other line is valid
BROKEN_RULES = """\
version: 1
rules:
  - code: QUOTA_IS_FULL
    match:
      text: "Quota exceeded"
    nature: sometimes
    scope: mailbox
    level: warning
    summary: "the file's own quota rule, which must never be used"
    action: "none"
  - code: NO_SUMMARY
    nature: permanent
    scope: everywhere
    level: error
    action: "none"
"""
# (line, column, message) of each error in BROKEN_RULES
BROKEN_RULES_ERRORS = [
    (6, 13, "invalid nature 'sometimes' (expected transient or permanent)"),
    (11, 5, "missing required key 'summary' in rule NO_SUMMARY"),
    (13, 12, "invalid scope 'everywhere' (expected email, mailbox or "
             "profile)"),
]
# not YAML at all: an unclosed flow sequence
UNPARSABLE_RULES = """\
version: 1
rules: [
  - code: X
"""
UNPARSABLE_RULES_ERROR = (3, 3, "invalid YAML: did not find expected node "
                                "content (while parsing a flow node at line "
                                "3, column 3)")

QUOTA_TEXT = "Quota exceeded (mailbox for user is full)"


def wall_messages(dc, user, folder):
    """Every alert mail in user's folder ([] while the folder is missing)."""
    if folder not in dc.imap_list(user):
        return []
    return dc.imap_fetch_all(user, folder)


def wall_ids(dc, user, folder):
    return [mime.header(m, "X-Alertwall-Id")
            for m in wall_messages(dc, user, folder)]


def spool_files(dc, subdir=None):
    """[(recipient, alert id)] of the spool files in subdir; by default
    those still waiting (queued, deferred or being delivered)."""
    mails = dc.spool_mails((subdir,)) if subdir else dc.spool_mails()
    return [(mime.header(raw, "X-Alertwall-Recipient"),
             mime.header(raw, "X-Alertwall-Id")) for raw in mails]


def files_containing(top, needle):
    """Files under top (read as root) whose bytes contain needle."""
    found = []
    for dirpath, _, names in os.walk(top):
        for name in names:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    if needle in f.read():
                        found.append(path)
            except OSError:
                continue
    return found


class AdminTestCase(DovecotTestCase):

    def raised(self, dc, **fields):
        return [r for r in dc.sidecar_records()
                if r.get("event") == "raised" and
                all(r.get(k) == v for k, v in fields.items())]

    def quota_alert(self, dc, user):
        """Deliver a message over user's quota; the raised record."""
        msg = mime.make_message(to="%s@example.test" % user,
                                subject="over quota", size=40 * 1024)
        reply = dc.lmtp_send([user], msg)[user]
        self.assertEqual((reply.code, reply.enhanced_status),
                         (552, "5.2.2"))
        recs = self.raised(dc, user=user, source="delivery",
                           message_id=mime.message_id(msg))
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual(recs[0]["code"], "MAILBOX_QUOTA_EXCEEDED")
        return recs[0]

    def wait_wall(self, dc, user, folder, alert_ids, timeout=WALL_TIMEOUT):
        """Wait until every id is in the folder; then each must be there
        exactly once. Returns the parsed mails by id."""
        def look():
            ids = wall_ids(dc, user, folder)
            return ids if all(i in ids for i in alert_ids) else None
        ids = dc.wait_for(look, timeout, "alerts %s in %s's %s (there: %r)"
                          % (alert_ids, user, folder,
                             wall_ids(dc, user, folder)), interval=0.2)
        for alert_id in alert_ids:
            self.assertEqual(ids.count(alert_id), 1, "exactly one copy of "
                             "%s in %s's %s" % (alert_id, user, folder))
        return {mime.header(m, "X-Alertwall-Id"): mime.parse(m)
                for m in wall_messages(dc, user, folder)
                if mime.header(m, "X-Alertwall-Id") in alert_ids}

    def lda_attempts(self, dc, user, folder, why):
        """How often dovecot-lda failed to save into user's folder."""
        pattern = re.compile(r"lda\(%s\).*: save failed to (open mailbox )?"
                             r"%s: .*%s" % (re.escape(user), re.escape(folder),
                                            why))
        return len(pattern.findall(dc.log_text("info")))

    def assertSpoolWaiting(self, dc, expect):
        """The spool holds just these mails; polled, since a file being
        retried is between retry/ and cur/ for a moment."""
        dc.wait_for(lambda: sorted(spool_files(dc)) == sorted(expect), 5.0,
                    "the spool does not hold just %r" % (expect,),
                    interval=0.1)

    def assertSpoolSettled(self, dc):
        for subdir in ("new", "cur", "retry", "failed"):
            self.assertEqual(spool_files(dc, subdir), [],
                             "spool %s/ is not empty" % subdir)


class AdminMailboxDownTest(AdminTestCase):

    def test_full_admin_mailbox_defers_alerts_until_it_heals(self):
        users = {u: {"quota_rule": "*:storage=10K"}
                 for u in ("q1", "q2", "q3")}
        # every alert mail is larger than the admin's whole quota, which
        # is enforced for alert mails too
        users["admin"] = {"quota_rule": "*:storage=1K"}
        dc = self.start_dovecot(users=users, alertwall=True,
                                plugin={"alertwall_over_quota": "no"},
                                name="awadmq")

        a = self.quota_alert(dc, "q1")
        # the owner's copy arrives: the deliver service ran ...
        self.wait_wall(dc, "q1", "Alerts/Warnings", [a["id"]])
        # ... and dovecot-lda deferred the admin's copy instead of
        # rejecting (and so dropping) it
        dc.wait_for(lambda: self.lda_attempts(dc, "admin", "Alerts/Warnings",
                                              "Quota exceeded") >= 1,
                    WALL_TIMEOUT, "no delivery attempt to the admin")
        self.assertNotRegex(dc.log_text("info"),
                            r"lda\(admin\).*: (rejected|Auto-submitted "
                            r"message discarded)")
        self.assertSpoolWaiting(dc, [("admin", a["id"])])
        self.assertEqual(spool_files(dc, "failed"), [])
        self.assertNotIn(a["id"], wall_ids(dc, "admin", "Alerts/Warnings"))

        # while the deliver service waits to retry the admin's copy, a new
        # alert is not held back behind it
        dc.wait_for(lambda: self.lda_attempts(dc, "admin", "Alerts/Warnings",
                                              "Quota exceeded") >= 3,
                    RETRY_TIMEOUT, "the deliver service does not retry")
        start = time.monotonic()
        b = self.quota_alert(dc, "q2")
        self.wait_wall(dc, "q2", "Alerts/Warnings", [b["id"]], timeout=4.0)
        self.assertLess(time.monotonic() - start, 4.0)
        self.assertSpoolWaiting(dc, [("admin", a["id"]), ("admin", b["id"])])
        self.assertEqual(wall_ids(dc, "admin", "Alerts/Warnings"), [])

        # the admin gets room (a limit of its own: maildir++ quota keeps
        # the old one from maildirsize when userdb sets none); the next
        # alert wakes the deliver service
        dc.add_user("admin", quota_rule="*:storage=100M")
        # passwd-file is looked at again in the next second
        time.sleep(1.1)
        c = self.quota_alert(dc, "q3")
        mails = self.wait_wall(dc, "admin", "Alerts/Warnings",
                               [a["id"], b["id"], c["id"]])
        self.assertEqual(len(wall_ids(dc, "admin", "Alerts/Warnings")), 3)
        for rec in (a, b, c):
            self.assertEqual(str(mails[rec["id"]]["Subject"]),
                             "[alertwall] WARNING MAILBOX_QUOTA_EXCEEDED: "
                             "%s/INBOX" % rec["user"])
        self.wait_wall(dc, "q3", "Alerts/Warnings", [c["id"]])
        self.assertSpoolSettled(dc)

    def test_unreadable_admin_maildir_is_retried_with_backoff(self):
        dc = self.start_dovecot(users={"q1": {"quota_rule": "*:storage=10K"},
                                       "admin": {}},
                                alertwall=True, name="awadmp")
        heal = faults.unreadable_maildir(dc, "admin")

        a = self.quota_alert(dc, "q1")
        self.wait_wall(dc, "q1", "Alerts/Warnings", [a["id"]])
        dc.wait_for(lambda: self.lda_attempts(dc, "admin", "Alerts/Warnings",
                                              "Permission denied") >= 1,
                    WALL_TIMEOUT, "no delivery attempt to the admin")
        self.assertSpoolWaiting(dc, [("admin", a["id"])])
        self.assertEqual(spool_files(dc, "failed"), [])
        # not in the walls: IMAP cannot open the mailbox, root can look
        self.assertEqual(files_containing(dc.user_maildir("admin"),
                                          a["id"].encode()), [])

        # healed; no other alert comes: the retry delivers it
        heal()
        mails = self.wait_wall(dc, "admin", "Alerts/Warnings", [a["id"]],
                               timeout=RETRY_TIMEOUT)
        self.assertEqual(mails[a["id"]]["X-Alertwall-Code"],
                         "MAILBOX_QUOTA_EXCEEDED")
        self.assertEqual(wall_ids(dc, "admin", "Alerts/Warnings"), [a["id"]])
        self.assertSpoolSettled(dc)

    def test_unopenable_alert_folder_defers_instead_of_inbox(self):
        """dovecot-lda saves a mail to INBOX when it cannot open the -m
        folder with a lasting error (here a file where the folder's
        directory belongs: "no such mailbox", and creating it "exists");
        an alert mail waits for its folder instead."""
        dc = self.start_dovecot(users={"q1": {"quota_rule": "*:storage=10K"},
                                       "admin": {}},
                                alertwall=True, name="awadmf")
        setup = mime.make_message(to="admin@example.test", subject="setup")
        self.assertEqual(dc.lmtp_send(["admin"], setup)["admin"].code, 250)
        blocker = os.path.join(dc.user_maildir("admin"), ".Alerts.Warnings")
        with open(blocker, "w") as f:
            f.write("not a folder\n")

        a = self.quota_alert(dc, "q1")
        dc.wait_for(lambda: self.lda_attempts(dc, "admin", "Alerts/Warnings",
                                              "") >= 1,
                    WALL_TIMEOUT, "no delivery attempt to the admin")
        self.assertSpoolWaiting(dc, [("admin", a["id"])])
        self.assertEqual([i for i in wall_ids(dc, "admin", "INBOX") if i], [])

        os.unlink(blocker)
        self.wait_wall(dc, "admin", "Alerts/Warnings", [a["id"]],
                       timeout=RETRY_TIMEOUT)
        self.assertEqual([i for i in wall_ids(dc, "admin", "INBOX") if i], [])
        self.assertSpoolSettled(dc)


class RulesInvalidTest(AdminTestCase):

    def test_broken_rules_file_takes_no_mail_down(self):
        dc = PrivateDovecot(users={"alice": {"quota_rule": "*:storage=10K"},
                                   "bob": {}, "admin": {}, "postmaster": {}},
                            alertwall=True, name="awrules")
        self.addCleanup(self._close_dovecot, dc)
        rules = os.path.join(dc.root, "broken.yaml")
        with open(rules, "w") as f:
            f.write(BROKEN_RULES)
        os.chmod(rules, 0o644)
        dc.rules = rules
        dc.start()

        # a healthy delivery goes on ...
        healthy = mime.make_message(to="bob@example.test", subject="fine")
        reply = dc.lmtp_send(["bob"], healthy)["bob"]
        self.assertEqual(reply.code, 250)
        self.assertEqual([mime.message_id(m)
                          for m in dc.imap_fetch_all("bob")],
                         [mime.message_id(healthy)])
        # ... and a failing one is classified by the built-in rules, not
        # by the broken file's own quota rule
        rec = self.quota_alert(dc, "alice")
        self.assertEqual((rec["nature"], rec["scope"], rec["smtp"]),
                         ("transient", "mailbox", "552 5.2.2"))

        invalid = self.raised(dc, code="ALERTWALL_RULES_INVALID")
        self.assertEqual(len(invalid), 1, invalid)
        inv = invalid[0]
        self.assertEqual((inv["nature"], inv["scope"], inv["level"]),
                         ("permanent", "profile", "error"))
        self.assertEqual((inv["source"], inv["service"], inv["profile"]),
                         ("other", "lmtp", "default"))
        for line, col, message in BROKEN_RULES_ERRORS:
            self.assertIn("%s:%d:%d: %s" % (rules, line, col, message),
                          inv["text"])
        self.assertNotIn("QUOTA_IS_FULL",
                         json.dumps(dc.sidecar_records()))

        # Dovecot's log has every error with its position, and what
        # alertwall does about them
        log = dc.log_text("error")
        for line, col, message in BROKEN_RULES_ERRORS:
            self.assertRegex(log, r"(?m)Error: alertwall: %s$" % re.escape(
                "%s:%d:%d: %s" % (rules, line, col, message)))
        self.assertIn("alertwall: Invalid rules file %s: running on the "
                      "built-in rules until it is fixed" % rules, log)

        # profile-level error: the admin's and the profile owner's walls
        for user in ("admin", "postmaster"):
            msg = self.wait_wall(dc, user, "Alerts/Errors",
                                 [inv["id"]])[inv["id"]]
            self.assertEqual(str(msg["Subject"]), "[alertwall] ERROR "
                             "ALERTWALL_RULES_INVALID: profile default")
            self.assertEqual(msg["X-Alertwall-Level"], "error")
            self.assertEqual(msg.get_param("report-type"),
                             "alertwall-record")
            self.assertIn("%s:6:13" % rules, mime.text_of(msg))
            record = mime.part_of_type(msg, "application/json")
            self.assertIsNotNone(record, "the record travels as JSON")
            got = json.loads(record.get_payload(decode=True))
            self.assertEqual((got["id"], got["code"]),
                             (inv["id"], "ALERTWALL_RULES_INVALID"))
        # the quota alert went to the walls too, classified as built in
        self.wait_wall(dc, "admin", "Alerts/Warnings", [rec["id"]])


class DoveadmRulesTest(AdminTestCase):

    @classmethod
    def setUpClass(cls):
        cls.dc = PrivateDovecot(alertwall=True, name="awdoveadm")
        cls.dc.start()
        cls.broken = os.path.join(cls.dc.root, "broken.yaml")
        cls.unparsable = os.path.join(cls.dc.root, "unparsable.yaml")
        for path, text in ((cls.broken, BROKEN_RULES),
                           (cls.unparsable, UNPARSABLE_RULES)):
            with open(path, "w") as f:
                f.write(text)

    @classmethod
    def tearDownClass(cls):
        cls.dc.close()

    def rules(self, *args):
        return self.dc.doveadm(["alertwall", "rules"] + list(args))

    def assertPositioned(self, stderr, path, errors):
        """Each error on a line of its own, starting with path:line:col."""
        for line, col, message in errors:
            self.assertRegex(stderr, r"(?m)^%s$" % re.escape(
                "%s:%d:%d: %s" % (path, line, col, message)))

    def test_check_reports_every_error_with_its_position(self):
        p = self.rules("check", self.broken)
        self.assertEqual(p.returncode, EX_DATAERR, p.stderr)
        self.assertPositioned(p.stderr, self.broken, BROKEN_RULES_ERRORS)
        self.assertEqual(p.stdout, "")

        p = self.rules("check", self.unparsable)
        self.assertEqual(p.returncode, EX_DATAERR, p.stderr)
        self.assertPositioned(p.stderr, self.unparsable,
                              [UNPARSABLE_RULES_ERROR])

    def test_check_accepts_the_configured_shipped_rules(self):
        # no file: the configured alertwall_rules, the shipped file here
        p = self.rules("check")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^%s: OK, \d+ rules$" % re.escape(
            os.path.join(SRCDIR, "conf.d", "alertwall.yaml")))

    def test_rules_test_classifies_a_full_quota(self):
        args = ["test", "-s", "delivery", "-e", "NOQUOTA", "-c", "552",
                "-S", "5.2.2", "-t", QUOTA_TEXT]
        # the default table formatter
        p = self.rules(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        header, row = p.stdout.splitlines()
        self.assertEqual(header.split()[:5],
                         ["rule", "code", "nature", "scope", "level"])
        self.assertEqual(row.split()[1:5], ["MAILBOX_QUOTA_EXCEEDED",
                                            "transient", "mailbox",
                                            "warning"])
        # tab: one exact field per column
        p = self.dc.doveadm(["-f", "tab", "alertwall", "rules"] + args)
        self.assertEqual(p.returncode, 0, p.stderr)
        header, row = p.stdout.rstrip("\n").split("\n")
        fields = dict(zip(header.split("\t"), row.split("\t")))
        self.assertEqual((fields["code"], fields["nature"], fields["scope"],
                          fields["level"], fields["profile"]),
                         ("MAILBOX_QUOTA_EXCEEDED", "transient", "mailbox",
                          "warning", "default"))
        self.assertEqual((fields["retry_limit"], fields["retry_window"]),
                         ("10", "86400"))
        self.assertEqual(fields["summary"],
                         "Mailbox of - is over quota (552 5.2.2)")
        # flow
        p = self.dc.doveadm(["-f", "flow", "alertwall", "rules"] + args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"\bcode=MAILBOX_QUOTA_EXCEEDED "
                         r"nature=transient scope=mailbox level=warning\b")

    def test_rules_test_refuses_bad_input(self):
        cases = [
            # (arguments, exit status, error text)
            (["-s", "delivery", "-e", "NOSUCH"], EX_USAGE,
             "Unknown mail-error 'NOSUCH'"),
            (["-s", "nowhere"], EX_USAGE, "Unknown source 'nowhere'"),
            (["-c", "999"], EX_USAGE, "smtp-code must be 200..599"),
            (["-F", self.broken, "-s", "delivery"], EX_DATAERR,
             "%s is invalid" % self.broken),
        ]
        for i, (args, status, error) in enumerate(cases):
            with self.subTest(case=i, args=args):
                p = self.rules("test", *args)
                self.assertEqual(p.returncode, status,
                                 "case %d: %r" % (i, p))
                self.assertIn(error, p.stderr)
                self.assertEqual(p.stdout, "", "nothing classified")
        # the broken file's errors are shown where they are
        p = self.rules("test", "-F", self.broken, "-s", "delivery")
        self.assertPositioned(p.stderr, self.broken, BROKEN_RULES_ERRORS)


if __name__ == "__main__":
    unittest.main()
