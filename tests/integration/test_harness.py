"""Self-tests of the awtest harness on a plain Dovecot (no alertwall).

They prove that what later tests rely on really works: per-recipient LMTP
replies, quota per user, dovecot-lda, IMAP/POP3 access, log scanning,
strict sidecar parsing, reload, two instances at once and that stopping
leaves no process behind.
"""

import os
import time
import unittest

from awtest import DovecotError, DovecotTestCase, PrivateDovecot, mime


def _session_pids(sid):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state, [3] the session id
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


class HarnessTest(DovecotTestCase):

    def test_lmtp_replies_per_recipient(self):
        dc = self.start_dovecot(users={
            "alice": {},
            "bob": {"quota_rule": "*:storage=1k"},
        })
        msg = mime.make_message(size=4000)
        replies = dc.lmtp_send(["alice", "bob@example.test", "nobody"], msg)
        self.assertEqual(replies["alice"][:2], (250, "2.0.0"),
                         "alice has no quota: %r" % (replies["alice"],))
        self.assertEqual(replies["bob@example.test"][:2], (552, "5.2.2"),
                         "4000 bytes exceed bob's 1k quota: %r"
                         % (replies["bob@example.test"],))
        self.assertEqual(replies["nobody"][:2], (550, "5.1.1"),
                         "unknown user is refused at RCPT: %r"
                         % (replies["nobody"],))
        got = dc.imap_fetch_all("alice")
        self.assertEqual([mime.message_id(m) for m in got],
                         [mime.message_id(msg)],
                         "alice's INBOX holds exactly the delivered mail")
        self.assertTrue(got[0].endswith(msg),
                        "message stored unchanged below the trace headers")
        self.assertEqual(dc.imap_fetch_all("bob"), [],
                         "bob's INBOX stays empty after the quota refusal")
        replies = dc.lmtp_send("alice", mime.make_message(), unix=True)
        self.assertEqual(replies["alice"][:2], (250, "2.0.0"),
                         "delivery over the unix socket: %r" % (replies,))
        self.assertEqual(len(dc.imap_fetch_all("alice")), 2)
        self.assertNoLogErrors(dc)

    def test_lda_delivery_pop3_and_folders(self):
        dc = self.start_dovecot()
        msg = mime.make_message(subject="via lda")
        rc, err = dc.lda_deliver("alice", msg)
        self.assertEqual(rc, 0, "dovecot-lda failed: %s" % err)
        # a missing -m folder falls back to INBOX unless autocreate is on
        rc, err = dc.lda_deliver("alice", mime.make_message(), [
            "-m", "Alerts/Errors", "-o", "lda_mailbox_autocreate=yes"])
        self.assertEqual(rc, 0, "dovecot-lda -m failed: %s" % err)
        self.assertIn("Alerts/Errors", dc.imap_list("alice"),
                      "folder with '/' separator created by lda")
        self.assertEqual(len(dc.imap_fetch_all("alice", "Alerts/Errors")), 1)
        pop = dc.pop3_login("alice")
        try:
            count, _ = pop.stat()
        finally:
            pop.quit()
        self.assertEqual(count, 1, "POP3 sees only INBOX")
        self.assertTrue(os.path.isdir(os.path.join(dc.user_maildir("alice"),
                                                   ".Alerts.Errors")),
                        "Maildir++ layout under user_maildir()")

    def test_log_scan_and_allow_list(self):
        dc = self.start_dovecot()
        mark = dc.log_mark()
        self.assertEqual(dc.errors_in_log(), [], "fresh instance logs no "
                         "errors:\n%s" % dc.log_text())
        dc.doveadm("log test", check=True)
        dc.wait_for(lambda: len(dc.errors_in_log(since=mark)) == 2, 5,
                    "doveadm log test gives one Error and one Fatal line")
        self.assertEqual(dc.errors_in_log(allow=r"This is Dovecot's"), [])
        self.assertEqual(len(dc.errors_in_log(allow=[r"error log"])), 1)
        dc.reload()
        self.assertTrue(dc.running(), "master survives reload")
        self.assertEqual(
            dc.lmtp_send("alice", mime.make_message())["alice"].code, 250)

    def test_doveadm_user_and_settings(self):
        dc = self.start_dovecot(users={
            "alice": {"quota_rule": "*:storage=2M", "alertwall_profile": "p1"},
        })
        r = dc.doveadm(["user", "-f", "alertwall_profile", "alice"])
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "p1"),
                         "extra userdb field reaches userdb: %r" % (r,))
        r = dc.doveadm(["quota", "get"], user="alice", check=True)
        self.assertIn("2048", r.stdout, "per-user quota_rule applies")
        self.assertEqual(dc.setting("mail_plugins", "lmtp"), "quota")
        self.assertIn("instance_name = " + dc.instance_name, dc.doveconf_n())

    def test_sidecar_records_strict(self):
        dc = PrivateDovecot()
        self.addCleanup(dc.close)
        self.assertEqual(dc.sidecar_records(), [], "missing log is empty")
        with open(dc.alertwall_log, "wb") as f:
            f.write(b'{"code":"A","n":1}\n{"code":"B"}\n')
        self.assertEqual([r["code"] for r in dc.sidecar_records()],
                         ["A", "B"])
        with open(dc.alertwall_log, "ab") as f:
            f.write(b'{"code":"C"')
        with self.assertRaisesRegex(DovecotError, "newline"):
            dc.sidecar_records()
        with open(dc.alertwall_log, "ab") as f:
            f.write(b' x\n')
        with self.assertRaisesRegex(DovecotError, "line 3 is not valid"):
            dc.sidecar_records()

    def test_two_instances_and_clean_stop(self):
        a = self.start_dovecot(name="awtest-a")
        b = self.start_dovecot(name="awtest-b")
        self.assertNotEqual(a.base_dir, b.base_dir)
        self.assertEqual(len({a.imap_port, a.pop3_port, a.lmtp_port,
                              b.imap_port, b.pop3_port, b.lmtp_port}), 6,
                         "six distinct ports")
        self.assertEqual(a.lmtp_send("alice", mime.make_message())
                         ["alice"].code, 250)
        self.assertEqual(len(a.imap_fetch_all("alice")), 1)
        self.assertEqual(b.imap_fetch_all("alice"), [],
                         "instances share no mail")
        sid = a.master_pid
        imap = a.imap_login("bob")  # a live session while stopping
        a.close()
        imap.shutdown()
        self.assertFalse(os.path.exists(a.root), "temp root removed")
        deadline = time.monotonic() + 5
        while _session_pids(sid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(_session_pids(sid), [],
                         "no process of the stopped instance is left")
        self.assertEqual(b.lmtp_send("bob", mime.make_message())
                         ["bob"].code, 250, "the other instance runs on")


if __name__ == "__main__":
    unittest.main()
