"""Faults that do not come from a full or broken Maildir, on a real Dovecot:
a lock another process holds, a userdb that cannot answer, and a full
quota met by dovecot-lda instead of LMTP. Each test checks what people
see: the sidecar record, the alert mails in the walls of the admin, the
profile owner and the mailbox owner, and that the mail itself was
deferred (or refused with the reply the sender gets) and never lost."""

import os
import time
import unittest

from awtest import faults, mime
from awtest.dovecot import MODULEDIR, DovecotTestCase, PrivateDovecot

# alert delivery waits for the deliver service: the issue allows 5 s
WALL_TIMEOUT = 10.0
# a spooled alert whose recipient was down waits for the deliver
# service's backoff (2, 4, 8 s ...) after the recipient heals
RETRY_TIMEOUT = 20.0

# log lines that no fault may cause: crashes, and alertwall failing to
# write its sidecar log, spool or state
TROUBLE = ("Panic:", "killed with signal", "alertwall: sidecar log",
           "alertwall: alertwall_state:", "alertwall: open(",
           "alertwall: write(", "alertwall: close(", "alertwall: rename(",
           "alertwall: mkdir(", "alertwall: net_connect_unix(")

# dovecot-lda exit statuses (sysexits.h)
EX_TEMPFAIL = 75
EX_NOPERM = 77


def wall_messages(dc, user, folder):
    """Every alert mail in user's folder ([] while the folder is missing)."""
    if folder not in dc.imap_list(user):
        return []
    return dc.imap_fetch_all(user, folder)


def wall_ids(dc, user, folder):
    return [mime.header(m, "X-Alertwall-Id")
            for m in wall_messages(dc, user, folder)]


def spooled(dc, alert_id):
    """{recipient: count} of the alert's mails still in the spool."""
    found = {}
    for raw in dc.spool_mails():
        if mime.header(raw, "X-Alertwall-Id") == alert_id:
            rcpt = mime.header(raw, "X-Alertwall-Recipient")
            found[rcpt] = found.get(rcpt, 0) + 1
    return found


class FaultsTest(DovecotTestCase):

    def records(self, dc, user, **fields):
        return [r for r in dc.sidecar_records()
                if r.get("event") == "raised" and r.get("user") == user and
                all(r.get(k) == v for k, v in fields.items())]

    def wall_mail(self, dc, user, folder, alert_id, timeout=WALL_TIMEOUT):
        """The one alert mail with alert_id in user's folder, parsed."""
        found = []

        def look():
            found[:] = [m for m in wall_messages(dc, user, folder)
                        if mime.header(m, "X-Alertwall-Id") == alert_id]
            return found
        dc.wait_for(look, timeout, "alert %s in %s's %s" % (alert_id, user,
                                                           folder),
                    interval=0.2)
        self.assertEqual(len(found), 1, "exactly one copy of %s in %s's %s"
                         % (alert_id, user, folder))
        msg = mime.parse(found[0])
        self.assertEqual(msg["Auto-Submitted"], "auto-generated")
        self.assertEqual(msg.get_content_type(), "multipart/report")
        return msg

    def inbox_ids(self, dc, user):
        return [mime.message_id(m) for m in dc.imap_fetch_all(user)]

    def assertNoCrash(self, dc):
        """No process crashed, and alertwall's own sinks and state store
        worked (their failures are logged, not raised)."""
        trouble = [ln for ln in dc.log_text("all").splitlines()
                   if any(t in ln for t in TROUBLE)]
        self.assertEqual(trouble, [], "crashes or alertwall trouble in "
                         "the Dovecot log")

    def test_held_lock_defers_with_lock_timeout_alert(self):
        dc = self.start_dovecot(users={"carl": {}, "admin": {}},
                                alertwall=True, extra_conf=faults.EXTRA_CONF,
                                name="awlock")
        # the lock is held by this test process, as by a stuck process
        heal = faults.held_lock(dc, "carl")
        msg = mime.make_message(to="carl@example.test", subject="locked")
        message_id = mime.message_id(msg)
        start = time.monotonic()
        reply = dc.lmtp_send(["carl"], msg)["carl"]
        waited = time.monotonic() - start
        self.assertEqual((reply.code, reply.enhanced_status),
                         (451, "4.2.0"), "deferred, not refused")
        self.assertGreaterEqual(waited, 2.0, "LMTP waited "
                                "mail_max_lock_timeout for the lock")

        recs = self.records(dc, "carl", service="lmtp")
        self.assertEqual(len(recs), 1, "one alert for one failed delivery: "
                         "%r" % recs)
        rec = recs[0]
        self.assertEqual(rec["code"], "MAILBOX_LOCK_TIMEOUT")
        self.assertEqual((rec["nature"], rec["scope"], rec["level"]),
                         ("transient", "mailbox", "warning"))
        self.assertEqual((rec["source"], rec["mailbox"], rec["message_id"],
                          rec["smtp"]),
                         ("delivery", "INBOX", message_id, "451 4.2.0"))
        # the text names the file and the process holding the lock
        self.assertIn("Timeout (2s) while waiting for lock for transaction "
                      "log file " + os.path.join(dc.user_maildir("carl"),
                                                 "dovecot.index.log"),
                      rec["text"])
        self.assertIn("WRITE lock held by pid %d" % os.getpid(), rec["text"])

        msg = self.wall_mail(dc, "admin", "Alerts/Warnings", rec["id"])
        self.assertEqual(str(msg["Subject"]), "[alertwall] WARNING "
                         "MAILBOX_LOCK_TIMEOUT: carl/INBOX")
        self.assertEqual(msg["X-Alertwall-Code"], "MAILBOX_LOCK_TIMEOUT")
        fields = mime.report_fields(msg)
        self.assertEqual([b.get("action") for b in fields if "action" in b],
                         ["delayed"], "transient: Action delayed")

        # the stuck process goes away: the sender's retry is delivered, and
        # only once (the deferred attempt stored nothing)
        heal()
        reply = dc.lmtp_send(["carl"], mime.make_message(
            to="carl@example.test", subject="locked", message_id=message_id))
        self.assertEqual(reply["carl"].code, 250)
        self.assertEqual(self.inbox_ids(dc, "carl").count(message_id), 1)
        # mailbox-level: the owner is told in their own wall
        self.wall_mail(dc, "carl", "Alerts/Warnings", rec["id"])
        self.assertEqual(len(self.records(dc, "carl", service="lmtp")), 1,
                         "the delivered retry raised nothing")
        self.assertNoCrash(dc)

    def test_failing_userdb_defers_with_profile_alert(self):
        dc = PrivateDovecot(users={"bob": {}, "admin": {}, "postmaster": {}},
                            alertwall=True, name="awuserdb")
        self.addCleanup(self._close_dovecot, dc)
        # the userdb config must exist before start: a passwd-file changed
        # within the second it was read is not read again
        heal = faults.unreadable_userdb(dc, "ursula")
        # each connection in a new lmtp process: its raw mail user is made
        # before the mail plugins are loaded, so no mail user of
        # alertwall's exists when the lookup fails, and the alert must
        # still go to this instance's walls, not to the built-in defaults
        dc.extra_conf += "\nservice lmtp {\n  service_count = 1\n}\n"
        dc.start()

        msg = mime.make_message(to="ursula@example.test", subject="userdb")
        message_id = mime.message_id(msg)
        replies = dc.lmtp_send(["ursula", "bob"], msg)
        self.assertEqual((replies["ursula"].code,
                          replies["ursula"].enhanced_status), (451, "4.3.0"),
                         "a failed user lookup defers the recipient")
        self.assertEqual(replies["bob"].code, 250,
                         "the other recipient of the same mail is delivered")

        # one failure, one alert: the lmtp's own "Failed to lookup user"
        # line after auth-master's is a repeat of the same object
        recs = self.records(dc, "ursula", service="lmtp")
        self.assertEqual(len(recs), 1, recs)
        rec = recs[0]
        self.assertEqual(rec["code"], "USERDB_LOOKUP_FAILED")
        self.assertEqual((rec["nature"], rec["scope"], rec["level"]),
                         ("transient", "profile", "warning"))
        self.assertEqual((rec["source"], rec["profile"]), ("auth", "default"))
        self.assertIn("lookup(ursula)", rec["text"])
        # refused at RCPT: no mailbox was opened, no message read yet
        self.assertIsNone(rec["mailbox"])
        self.assertIsNone(rec["message_id"])
        self.assertEqual(self.records(dc, "bob"), [])

        # profile-level: the profile owner and the admin are told; the
        # impacted owner too, for information, once the userdb answers
        msg = self.wall_mail(dc, "postmaster", "Alerts/Warnings", rec["id"])
        self.assertEqual(str(msg["Subject"]), "[alertwall] WARNING "
                         "USERDB_LOOKUP_FAILED: profile default")
        self.wall_mail(dc, "admin", "Alerts/Warnings", rec["id"])
        dc.wait_for(lambda: spooled(dc, rec["id"]) == {"ursula": 1},
                    WALL_TIMEOUT, "the owner's copy waits in the spool "
                    "while the userdb fails")
        self.assertEqual(os.listdir(os.path.join(dc.alertwall_spool,
                                                 "failed")), [],
                         "a temporary failure is not given up")

        # the userdb answers again: the sender's retry is delivered once,
        # and the waiting owner copies arrive
        heal()
        time.sleep(1.1)
        reply = dc.lmtp_send(["ursula"], mime.make_message(
            to="ursula@example.test", subject="userdb",
            message_id=message_id))["ursula"]
        self.assertEqual(reply.code, 250)
        self.assertEqual(self.inbox_ids(dc, "ursula"), [message_id])
        self.wall_mail(dc, "ursula", "Alerts/Warnings", rec["id"],
                       timeout=RETRY_TIMEOUT)
        self.assertEqual(self.records(dc, "ursula", service="lmtp"), recs,
                         "the delivered retry raised nothing")
        self.assertNoCrash(dc)

    def test_category_rule_matches_a_userdb_failure(self):
        # outside a mail user alertwall sees the Dovecot event that logged
        # the failure: auth-master's lines are in the auth-client category
        with open(os.path.join(os.path.dirname(__file__), "..", "..",
                               "conf.d", "alertwall.yaml")) as f:
            shipped = f.read()
        rule = ("rules:\n"
                "  - code: AUTH_CLIENT_FAILED\n"
                "    match:\n"
                "      category: auth-client\n"
                "    nature: transient\n"
                "    scope: profile\n"
                "    level: warning\n"
                "    summary: \"auth client failed for %{user}\"\n"
                "    action: \"Admin: look at the auth process.\"\n")
        self.assertEqual(shipped.count("\nrules:\n"), 1)
        dc = PrivateDovecot(users={"bob": {}, "admin": {}}, alertwall=True,
                            name="awcategory")
        self.addCleanup(self._close_dovecot, dc)
        rules = os.path.join(dc.root, "rules.yaml")
        with open(rules, "w") as f:
            f.write(shipped.replace("\nrules:\n", "\n" + rule, 1))
        os.chmod(rules, 0o644)
        dc.rules = rules
        faults.unreadable_userdb(dc, "ursula")
        dc.start()
        reply = dc.lmtp_send(["ursula"], mime.make_message(
            to="ursula@example.test"))["ursula"]
        self.assertEqual(reply.code, 451)
        # auth-master's line matches the category; lmtp's own "Failed to
        # lookup user" line after it is not in auth-client, and the
        # shipped rule takes it
        recs = self.records(dc, "ursula", service="lmtp")
        self.assertEqual(sorted((r["code"], r["source"]) for r in recs),
                         [("AUTH_CLIENT_FAILED", "auth"),
                          ("USERDB_LOOKUP_FAILED", "auth")], recs)
        [rec] = [r for r in recs if r["code"] == "AUTH_CLIENT_FAILED"]
        self.assertTrue(rec["text"].startswith(
            "auth-master: userdb lookup(ursula): "), rec["text"])
        self.assertNoCrash(dc)

    def test_missing_engine_is_logged_and_takes_no_mail_down(self):
        # the engine module is loaded on first need, from the "alertwall"
        # directory beside the plugin: a mail_plugin_dir without it
        dc = PrivateDovecot(users={"fred": {"quota_rule": "*:storage=1K"},
                                   "bob": {}, "admin": {}},
                            alertwall=True, name="awnoengine")
        self.addCleanup(self._close_dovecot, dc)
        moddir = os.path.join(dc.root, "modules")
        os.makedirs(moddir)
        for name in os.listdir(MODULEDIR):
            if name.endswith(".so"):
                os.symlink(os.path.join(MODULEDIR, name),
                           os.path.join(moddir, name))
        os.chmod(dc.root, 0o755)
        os.chmod(moddir, 0o755)
        dc.extra_conf += "\nmail_plugin_dir = %s\n" % moddir
        dc.start()
        replies = dc.lmtp_send(["fred", "bob"], mime.make_message(
            to="fred@example.test", size=4096))
        self.assertEqual(replies["fred"].code, 552, "refused as without "
                         "alertwall")
        self.assertEqual(replies["bob"].code, 250)
        self.assertEqual(len(self.inbox_ids(dc, "bob")), 1)
        self.assertEqual(dc.sidecar_records(), [])
        lines = [ln for ln in dc.log_text("error").splitlines()
                 if "Cannot load the alertwall engine" in ln]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(os.path.join(moddir, "alertwall",
                                   "lib_alertwall_engine.so"), lines[0])
        self.assertIn("(failures are not alerted by this process)",
                      lines[0])
        self.assertNotIn("Panic:", dc.log_text("all"))

    def corrupt_and_read(self, dc, user, name, offset, junk):
        """Three deliveries and a read make user's INBOX indexes, then
        junk over the file name at offset; the next IMAP read meets it."""
        for _ in range(3):
            reply = dc.lmtp_send([user], mime.make_message(
                to="%s@example.test" % user))[user]
            self.assertEqual(reply.code, 250)
        self.assertEqual(len(dc.imap_fetch_all(user)), 3)
        path = os.path.join(dc.user_maildir(user), name)
        with open(path, "r+b") as f:
            f.seek(offset)
            f.write(junk)
        mark = dc.log_mark()
        try:
            dc.imap_fetch_all(user)
        except Exception:
            # a broken transaction log fails this SELECT; alertwall raises
            # that failure too, and the next one works on the rebuilt log
            pass
        self.assertEqual(len(dc.imap_fetch_all(user)), 3, "nothing lost")
        return path, mark

    def test_corrupted_cache_met_by_imap_is_raised_for_its_mailbox(self):
        # Dovecot only logs this one (and deletes the cache): alertwall
        # catches it from the user's log lines, and the mailbox's own log
        # line tells which mailbox it was
        dc = self.start_dovecot(users={"dora": {}, "admin": {}},
                                alertwall=True, name="awcache")
        _, mark = self.corrupt_and_read(dc, "dora", "dovecot.index.cache",
                                        8, b"\xff" * 8)
        [rec] = self.records(dc, "dora", code="MAILBOX_CACHE_CORRUPTED")
        self.assertEqual((rec["source"], rec["mailbox"], rec["service"],
                          rec["scope"], rec["nature"]),
                         ("cache", "INBOX", "imap", "mailbox", "transient"))
        self.assertTrue(rec["text"].startswith("Deleting corrupted cache: "),
                        rec["text"])
        # Dovecot's own line is whole: watching it must not change it
        lines = [ln for ln in dc.log_text("error", since=mark).splitlines()
                 if "corrupted cache" in ln]
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r"imap\(dora\)<\d+><[^>]+>: Error: "
                         r"Mailbox INBOX: Deleting corrupted cache: ")
        self.assertNoCrash(dc)

    def test_corrupted_transaction_log_met_by_imap_is_raised(self):
        dc = self.start_dovecot(users={"dora": {}, "admin": {}},
                                alertwall=True, name="awtlog")
        path, mark = self.corrupt_and_read(dc, "dora", "dovecot.index.log",
                                           2, b"\xff\xff")
        [rec] = self.records(dc, "dora",
                             code="MAILBOX_TRANSACTION_LOG_CORRUPTED")
        self.assertEqual((rec["source"], rec["mailbox"], rec["service"]),
                         ("index", "INBOX", "imap"))
        self.assertIn("Corrupted transaction log file " + path, rec["text"])
        self.wall_mail(dc, "admin", "Alerts/Warnings", rec["id"])
        # Dovecot logs one line or two for it (one alert: the second is a
        # repeat of the same object)
        lines = [ln for ln in dc.log_text("error", since=mark).splitlines()
                 if "Corrupted transaction log file" in ln]
        self.assertNotEqual(lines, [])
        for line in lines:
            self.assertIn(": Error: Mailbox INBOX: Corrupted transaction "
                          "log file " + path, line)
        self.assertNoCrash(dc)

    def test_lda_full_quota_is_raised_with_the_smtp_equivalent(self):
        cases = [
            # (user, dovecot-lda arguments, exit status, SMTP equivalent);
            # a user each: a second failure of one mailbox is a repeat
            ("lars", ["-e"], EX_NOPERM, "552 5.2.2"),
            ("lena", ["-o", "quota_full_tempfail=yes"], EX_TEMPFAIL,
             "452 4.2.2"),
        ]
        users = {user: {"quota_rule": "*:storage=10K"}
                 for user, _, _, _ in cases}
        users["admin"] = {}
        dc = self.start_dovecot(users=users, alertwall=True, name="awlda")
        for i, (user, args, status, smtp) in enumerate(cases):
            with self.subTest(case=i, args=args):
                msg = mime.make_message(to="%s@example.test" % user,
                                        subject="lda case %d" % i,
                                        size=40 * 1024)
                message_id = mime.message_id(msg)
                rc, output = dc.lda_deliver(user, msg, args,
                                            mail_from="sender@example.test")
                self.assertEqual(rc, status, output)
                if status == EX_NOPERM:
                    # -e: the reason goes to the MTA that bounces the mail
                    self.assertIn("Quota exceeded (mailbox for user is "
                                  "full)", output)

                recs = self.records(dc, user, message_id=message_id)
                self.assertEqual(len(recs), 1, recs)
                rec = recs[0]
                self.assertEqual(
                    (rec["service"], rec["source"], rec["smtp"], rec["code"]),
                    ("lda", "delivery", smtp, "MAILBOX_QUOTA_EXCEEDED"))
                self.assertEqual((rec["nature"], rec["scope"], rec["level"]),
                                 ("transient", "mailbox", "warning"))
                self.assertEqual((rec["mailbox"], rec["mail_error"]),
                                 ("INBOX", "NOQUOTA"))

                msg = self.wall_mail(dc, "admin", "Alerts/Warnings",
                                     rec["id"])
                self.assertEqual(str(msg["Subject"]), "[alertwall] WARNING "
                                 "MAILBOX_QUOTA_EXCEEDED: %s/INBOX" % user)
                self.assertEqual(msg.get_param("report-type"),
                                 "delivery-status")
                fields = mime.report_fields(msg)
                rcpt = [b for b in fields if "action" in b]
                self.assertEqual(len(rcpt), 1, fields)
                self.assertEqual((rcpt[0]["action"], rcpt[0]["status"],
                                  rcpt[0]["final-recipient"]),
                                 ("delayed", smtp.split()[1],
                                  "rfc822; " + user))
                self.wall_mail(dc, user, "Alerts/Warnings", rec["id"])
                self.assertNotIn(message_id, self.inbox_ids(dc, user))
        self.assertNoCrash(dc)


if __name__ == "__main__":
    unittest.main()
