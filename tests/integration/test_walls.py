"""Real faults on a real Dovecot end up as scoped alerts: in the sidecar log,
in the admin's walls read over IMAP, and for mailbox-level alerts in the
owner's own Alerts folder; the mail itself is deferred or refused, never
lost."""

import os
import unittest

from awtest import faults, mime
from awtest.dovecot import DovecotTestCase, PrivateDovecot

USERS = {
    "alice": {"quota_rule": "*:storage=10K"},
    "bob": {},
    "dave": {},
    "erin": {},
    "frank": {},
    "admin": {},
}

# alert delivery waits for the deliver service: the issue allows 5 s
WALL_TIMEOUT = 10.0


class WallsTest(DovecotTestCase):

    @classmethod
    def setUpClass(cls):
        cls.dc = PrivateDovecot(users=USERS, alertwall=True,
                                plugin=faults.PLUGIN_SETTINGS,
                                extra_conf=faults.EXTRA_CONF, name="awwalls")
        cls.dc.start()

    @classmethod
    def tearDownClass(cls):
        cls.dc.close()

    def deliver(self, user, size=None):
        msg = mime.make_message(to="%s@example.test" % user, size=size,
                                subject="wall test for %s" % user)
        return mime.message_id(msg), self.dc.lmtp_send([user], msg)[user]

    def record_for(self, user, message_id):
        recs = [r for r in self.dc.sidecar_records()
                if r.get("user") == user and r.get("source") == "delivery"
                and r.get("event") == "raised"]
        self.assertEqual(len(recs), 1, "delivery records for %s: %r"
                         % (user, recs))
        rec = recs[0]
        self.assertEqual(rec["message_id"], message_id)
        self.assertEqual(rec["event"], "raised")
        self.assertEqual(rec["mailbox"], "INBOX")
        self.assertEqual(rec["service"], "lmtp")
        return rec

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
        msg = mime.parse(found[0])
        self.assertEqual(msg["Auto-Submitted"], "auto-generated")
        self.assertEqual(msg.get_content_type(), "multipart/report")
        return msg

    def assert_not_stored(self, user, message_id):
        for raw in self.dc.imap_fetch_all(user, "INBOX"):
            self.assertNotEqual(mime.header(raw, "Message-ID"), message_id,
                                "deferred mail must not be stored")

    def test_quota_full_is_transient_mailbox_level(self):
        message_id, reply = self.deliver("alice", size=40 * 1024)
        self.assertEqual((reply.code, reply.enhanced_status), (552, "5.2.2"))
        rec = self.record_for("alice", message_id)
        self.assertEqual(rec["code"], "MAILBOX_QUOTA_EXCEEDED")
        self.assertEqual((rec["nature"], rec["scope"], rec["level"]),
                         ("transient", "mailbox", "warning"))
        self.assertEqual(rec["smtp"], "552 5.2.2")
        msg = self.wall_mail("admin", "Alerts/Warnings", rec["id"])
        self.assertIn("MAILBOX_QUOTA_EXCEEDED", msg["Subject"])
        # mailbox-level: the owner is told in their own Alerts folder
        self.wall_mail("alice", "Alerts/Warnings", rec["id"])
        self.assert_not_stored("alice", message_id)

    def test_unreadable_maildir_is_permanent(self):
        faults.unreadable_maildir(self.dc, "bob")
        message_id, reply = self.deliver("bob")
        self.assertEqual(reply.code // 100, 4, "deferred, not lost")
        rec = self.record_for("bob", message_id)
        self.assertEqual(rec["code"], "PERMISSION_DENIED")
        self.assertEqual((rec["nature"], rec["scope"], rec["errno"]),
                         ("permanent", "mailbox", "EACCES"))
        msg = self.wall_mail("admin", "Alerts/Errors", rec["id"])
        self.assertIn("PERMISSION_DENIED", msg["Subject"])
        # permanent and mailbox-level: deliveries to bob are suspended
        suspended = [r for r in self.dc.sidecar_records()
                     if r.get("event") == "suspended" and r["user"] == "bob"]
        self.assertEqual([r["id"] for r in suspended], [rec["id"]])
        message_id, reply = self.deliver("bob")
        self.assertEqual((reply.code, reply.enhanced_status), (451, "4.2.1"))
        self.assertIn("PERMISSION_DENIED", reply.text)

    def test_too_large_is_permanent_email_level_with_headers_only(self):
        message_id, reply = self.deliver("dave", size=200 * 1024)
        self.assertEqual(reply.code, 451)
        rec = self.record_for("dave", message_id)
        self.assertEqual(rec["code"], "MESSAGE_TOO_LARGE")
        self.assertEqual((rec["nature"], rec["scope"]),
                         ("permanent", "email"))
        msg = self.wall_mail("admin", "Alerts/Errors", rec["id"])
        headers = mime.part_of_type(msg, "text/rfc822-headers")
        self.assertIsNotNone(headers, "email-level alert has the headers")
        text = headers.get_payload(decode=True).decode("utf-8", "replace")
        self.assertIn(message_id, text)
        self.assertNotIn("x" * 78, text, "never the body")
        actions = [b["action"] for b in mime.report_fields(msg)
                   if "action" in b]
        self.assertEqual(actions, ["failed"], "permanent: Action failed")
        # email-level: only the admin, not the owner
        self.assertEqual(self.dc.imap_fetch_all("dave", "INBOX"), [])

    def test_enospc_is_profile_level(self):
        faults.tiny_tmpfs(self.dc, "erin")
        message_id, reply = self.deliver("erin", size=16 * 1024)
        self.assertEqual(reply.code // 100, 4)
        rec = self.record_for("erin", message_id)
        self.assertEqual(rec["code"], "STORAGE_DISK_FULL")
        self.assertEqual((rec["scope"], rec["errno"], rec["profile"]),
                         ("profile", "ENOSPC", "default"))
        self.wall_mail("admin", "Alerts/Warnings", rec["id"])

    def test_healthy_delivery_raises_nothing(self):
        message_id, reply = self.deliver("frank")
        self.assertEqual(reply.code, 250)
        self.assertEqual([r for r in self.dc.sidecar_records()
                          if r.get("user") == "frank"], [])


class PrefixedNamespaceTest(DovecotTestCase):
    """A Courier-style inbox namespace ("INBOX." and "."): the walls are
    INBOX.Alerts.Warnings, not INBOX, where dovecot-lda puts a mail whose
    folder is in no namespace."""

    def test_walls_are_under_the_inbox_prefix(self):
        dc = self.start_dovecot(
            users={"alice": {"quota_rule": "*:storage=10K"}, "admin": {}},
            alertwall=True, name="awprefix",
            extra_conf="namespace inbox {\n  separator = .\n"
                       "  prefix = INBOX.\n}\n")
        msg = mime.make_message(to="alice@example.test", size=40 * 1024,
                                subject="over quota")
        self.assertEqual(dc.lmtp_send(["alice"], msg)["alice"].code, 552)
        rec = dc.wait_for(lambda: [r for r in dc.sidecar_records()
                                   if r.get("event") == "raised"],
                          WALL_TIMEOUT, "no alert raised")[0]

        def wall_ids(user, folder="INBOX.Alerts.Warnings"):
            try:
                msgs = dc.imap_fetch_all(user, folder)
            except Exception:
                return []
            return [mime.header(m, "X-Alertwall-Id") for m in msgs]
        for user in ("admin", "alice"):
            dc.wait_for(lambda: wall_ids(user) == [rec["id"]], WALL_TIMEOUT,
                        "%s's INBOX.Alerts.Warnings lacks %s"
                        % (user, rec["id"]))

        # doveadm's mails too: a digest
        p = dc.doveadm(["alertwall", "digest", "--hourly"], check=True)
        self.assertIn("spooled", p.stdout)
        dc.wait_for(lambda: len(wall_ids("admin", "INBOX.Alerts.Digest")) == 1,
                    WALL_TIMEOUT, "no digest in INBOX.Alerts.Digest")
        for user in ("admin", "alice"):
            inbox = [m for m in dc.imap_fetch_all(user, "INBOX")
                     if mime.header(m, "X-Alertwall-Id")
                     or mime.header(m, "X-Alertwall-Digest")]
            self.assertEqual(inbox, [],
                             "alertwall mail in %s's INBOX" % user)
        dc.wait_for(lambda: dc.spool_mails() == [], WALL_TIMEOUT,
                    "the spool keeps %r" % (dc.spool_mails(),))

    def test_folder_only_needs_the_deliver_services_mute(self):
        """alertwall_alert_folder_only keeps a mail out of INBOX only in
        the deliver service's muted runs; set for an MTA's dovecot-lda it
        changes nothing (it would skip every user's Sieve script)."""
        dc = self.start_dovecot(
            users={"bob": {}, "admin": {}}, alertwall=True, name="awfonly",
            extra_conf="namespace inbox {\n  separator = .\n"
                       "  prefix = INBOX.\n}\n")
        # "Alerts.Warnings" is in no namespace here: it cannot be created
        args = ["-m", "Alerts.Warnings", "-o", "lda_mailbox_autocreate=yes",
                "-o", "plugin/alertwall_alert_folder_only=yes"]
        muted = mime.make_message(to="bob@example.test", subject="muted")
        code, out = dc.lda_deliver("bob", muted, args + [
            "-o", "plugin/alertwall_mute=yes"])
        self.assertEqual(code, 75, out)
        self.assertEqual(dc.imap_fetch_all("bob", "INBOX"), [])
        plain = mime.make_message(to="bob@example.test", subject="plain")
        code, out = dc.lda_deliver("bob", plain, args)
        self.assertEqual(code, 0, out)
        self.assertEqual([mime.message_id(m)
                          for m in dc.imap_fetch_all("bob", "INBOX")],
                         [mime.message_id(plain)])


class ProfileAlarmShareTest(DovecotTestCase):
    """The seed's profile alarm: more than alarm_percent (50) of the
    mailboxes a profile declares fail with one code within the hour."""

    def test_more_than_half_of_a_small_profile_raises_its_alarm(self):
        users = {u: {"quota_rule": "*:storage=10K"}
                 for u in ("p1", "p2", "p3", "p4")}
        users["admin"] = users["postmaster"] = {}
        dc = PrivateDovecot(users=users, alertwall=True, name="awshare")
        self.addCleanup(dc.close)
        with open(dc.rules) as f:
            text = f.read()
        marker = "    owner: postmaster\n"
        self.assertIn(marker, text)
        rules = os.path.join(dc.root, "share.yaml")
        with open(rules, "w") as f:
            f.write(text.replace(marker, marker + "    mailboxes: 4\n", 1))
        os.chmod(rules, 0o644)
        dc.rules = rules
        dc.start()

        def profile_alerts():
            return [r for r in dc.sidecar_records()
                    if r["event"] == "raised" and r["scope"] == "profile"]

        for n, user in enumerate(("p1", "p2", "p3"), 1):
            msg = mime.make_message(to="%s@example.test" % user,
                                    size=40 * 1024, subject="full")
            self.assertEqual(dc.lmtp_send([user], msg)[user].code, 552)
            dc.wait_for(lambda: len([r for r in dc.sidecar_records()
                                     if r["event"] == "raised" and
                                     r.get("user") == user]) >= 1,
                        WALL_TIMEOUT, "no alert for %s" % user)
            if n == 2:
                # 2 of 4 is not more than half (and far below
                # alertwall_correlate_mailboxes, 10)
                self.assertEqual(profile_alerts(), [])
        alarm = dc.wait_for(profile_alerts, WALL_TIMEOUT,
                            "no profile alarm after 3 of 4 mailboxes")
        self.assertEqual(len(alarm), 1, alarm)
        self.assertEqual((alarm[0]["code"], alarm[0]["profile"]),
                         ("MAILBOX_QUOTA_EXCEEDED", "default"))
        self.assertIn("3 mailboxes of profile default", alarm[0]["summary"])


if __name__ == "__main__":
    unittest.main()
