"""Hostile input reaching alertwall through a real Dovecot (issue 7): what
a mailbox name, an error text or a Message-ID can carry must come out of
the sidecar log as valid JSON lines of at most 4000 bytes, escaped and
capped, and out of the alert mails with no raw control byte, no bare CR or
LF, no line over 998 bytes and no header of its own. A clock that jumps
backwards and forwards must not make windows negative or break escalation.

Where Dovecot itself refuses the input before alertwall sees it, the test
says so and checks what does happen:
- "../" and names over 4096 bytes fail Dovecot's name check before any
  storage call, and an invalid UTF-8 name cannot even be given to
  dovecot-lda (invalid UTF-8 reaches alertwall through headers instead:
  the Message-ID test);
- Dovecot refuses control characters in new mailbox names, so the
  hostile folder is planted on disk, as an older server or a migration
  leaves it, and named with UTF-8 storage names;
- a mailbox name is at most what the filesystem allows (PATH_MAX): the
  longest real one here is about 3.5 KB (LAYOUT=fs), not 10 KB;
- the 1 MB error text is real: Dovecot puts quota_exceeded_message into
  the storage error; doveadm alertwall rules test -t can only take what one
  argv string holds (128 KiB). The renderers' handling of arbitrary input
  is also covered by the fuzz harnesses (fuzz/: rules, classify, record,
  report, state).
"""

import os
import glob
import re
import subprocess
import unittest

from awtest import mime
from awtest.dovecot import (DEFAULT_MODULEDIR, DOVECOT_LDA, PRELOAD,
                            DovecotTestCase)
from test_escalation import QUOTA_FULL, mailbox_state, rule_retry_limit

WALL_TIMEOUT = 10.0
RECORD_MAX = 4000
MARKER = "\u2026"
EX_TEMPFAIL = 75
# preloaded directly: the faketime wrapper makes a semaphore named after
# its pid and leaves it in /dev/shm, so a later wrapper that gets the same
# pid fails ("sem_open: File exists")
LIBFAKETIME = (glob.glob("/usr/lib/*/faketime/libfaketime.so.1") or
               ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"])[0]
CRASH_RE = re.compile(r"\b(Panic|Fatal):|killed with signal")

# a folder name that tries to end the Subject and start a header of its
# own, with terminal escapes and DEL
EVIL_NAME = "Evil\r\nX-Injected: yes\x01\x1b[31m\x7f"
# the longest name a LAYOUT=fs Maildir holds here: levels of 200 bytes
LONG_LEVELS = 17
LONG_NAME = "/".join(("%02d" % i) + "L" * 198 for i in range(LONG_LEVELS))


def raised(dc, **fields):
    return [r for r in dc.sidecar_records()
            if r["event"] == "raised" and
            all(r.get(k) == v for k, v in fields.items())]


def record_lines(dc):
    with open(dc.alertwall_log, "rb") as f:
        return f.read().split(b"\n")[:-1]


def wall_mails(dc, user, folder):
    if folder not in dc.imap_list(user):
        return []
    return dc.imap_fetch_all(user, folder)


class HostileTestCase(DovecotTestCase):

    def assertSafeRecords(self, dc):
        """Every sidecar line is one JSON object (sidecar_records raises
        otherwise), valid UTF-8, with no raw control byte, at most
        RECORD_MAX bytes with its newline."""
        dc.sidecar_records()
        for line in record_lines(dc):
            self.assertLessEqual(len(line) + 1, RECORD_MAX)
            self.assertIsNone(re.search(rb"[\x00-\x1f\x7f]", line), line)
            line.decode("utf-8")

    def assertSafeMail(self, raw):
        """No raw control byte but CRLF and tab, no bare CR or LF, no
        line over 998 bytes, and the header block holds only fields and
        their continuations, none of them injected."""
        self.assertIsNone(re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]",
                                    raw), "raw control byte")
        self.assertIsNone(re.search(rb"\r(?!\n)|(?<!\r)\n", raw),
                          "bare CR or LF")
        lines = raw.split(b"\r\n")
        self.assertLessEqual(max(len(ln) for ln in lines), 998)
        head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        for ln in head:
            self.assertRegex(ln, rb"^([!-9;-~]+:|[ \t])", "header line")
        names = [ln.split(b":", 1)[0].lower() for ln in head
                 if ln[:1] not in (b" ", b"\t")]
        self.assertNotIn(b"x-injected", names)
        self.assertIsNone(mime.parse(raw)["X-Injected"])

    def assertNoCrash(self, dc):
        crashes = [ln for ln in dc.log_text("all").splitlines()
                   if CRASH_RE.search(ln)]
        self.assertEqual(crashes, [])

    def wait_mails(self, dc, user, folder, alert_ids):
        """The raw mails of the alert ids in user's folder, once each."""
        def look():
            mails = {mime.header(m, "X-Alertwall-Id"): m
                     for m in wall_mails(dc, user, folder)}
            return mails if all(i in mails for i in alert_ids) else None
        mails = dc.wait_for(look, WALL_TIMEOUT, "alerts %r in %s's %s" %
                            (alert_ids, user, folder), interval=0.2)
        ids = [mime.header(m, "X-Alertwall-Id")
               for m in wall_mails(dc, user, folder)]
        for alert_id in alert_ids:
            self.assertEqual(ids.count(alert_id), 1)
        return [mails[i] for i in alert_ids]


class HostileMailboxNameTest(HostileTestCase):

    def plant_folder(self, dc, user, name):
        """A Maildir++ folder made on disk, past Dovecot's checks for new
        names (as an older server or a migration leaves them)."""
        path = os.path.join(dc.user_maildir(user), "." + name)
        for sub in ("", "cur", "new", "tmp"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
            os.chown(os.path.join(path, sub), dc.uid, dc.gid)

    def lda(self, dc, user, folder):
        msg = mime.make_message(to="%s@example.test" % user,
                                size=40 * 1024)
        rc, output = dc.lda_deliver(user, msg, [
            "-m", folder, "-o", "quota_full_tempfail=yes"])
        self.assertEqual(rc, EX_TEMPFAIL, "deferred: %s" % output)
        self.assertNotIn(mime.message_id(msg),
                         [mime.message_id(m) for m in
                          dc.imap_fetch_all(user)])

    def test_mailbox_names(self):
        utf8 = "maildir:~/Maildir:UTF-8"
        users = {u: {"quota_rule": QUOTA_FULL}
                 for u in ("hevil", "hdots", "hhuge")}
        users["hevil"]["mail"] = utf8
        users["hlong"] = {"quota_rule": QUOTA_FULL,
                          "mail": "maildir:~/Maildir:LAYOUT=fs"}
        users["hbad"] = {}
        users["admin"] = {}
        dc = self.start_dovecot(users=users, alertwall=True,
                                name="awhostname")
        for user in users:
            self.assertEqual(dc.lmtp_send([user], mime.make_message(
                to="%s@example.test" % user))[user].code, 250)

        # control bytes and a CRLF header injection, in a real folder
        self.plant_folder(dc, "hevil", EVIL_NAME)
        self.assertIn(EVIL_NAME, dc.doveadm(["mailbox", "list"],
                                            user="hevil").stdout)
        self.lda(dc, "hevil", EVIL_NAME)
        [evil] = raised(dc, user="hevil")
        self.assertEqual(evil["mailbox"], EVIL_NAME, "escaped, not altered")

        # about 3.5 KB, the longest the filesystem takes: capped
        p = dc.doveadm(["mailbox", "create", LONG_NAME], user="hlong")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.lda(dc, "hlong", LONG_NAME)
        [long_rec] = raised(dc, user="hlong")
        self.assertTrue(long_rec["mailbox"].startswith(LONG_NAME[:1000]))
        self.assertTrue(long_rec["mailbox"].endswith(MARKER),
                        "cut with the marker")
        self.assertLess(len(long_rec["mailbox"]), len(LONG_NAME))

        # "../" and 10 KB: Dovecot refuses the name before any storage
        # call, so the failure alertwall sees is INBOX's
        for user, name in (("hdots", "../../etc"), ("hhuge", "H" * 10240)):
            self.lda(dc, user, name)
            [rec] = raised(dc, user=user)
            self.assertEqual(rec["mailbox"], "INBOX")
        self.assertEqual(sorted(os.listdir(dc.home_root)), sorted(users),
                         "nothing was created outside the homes")
        # invalid UTF-8 cannot be named to dovecot-lda at all: the mail
        # is deferred before a user exists (test_message_id_injection
        # brings invalid UTF-8 to alertwall through a header)
        msg = mime.make_message(to="hbad@example.test")
        rc, output = dc.lda_deliver("hbad", msg, ["-m", "Bad\udcff"])
        self.assertEqual(rc, EX_TEMPFAIL, output)
        self.assertIn("Mailbox name not UTF-8", output)
        self.assertEqual(raised(dc, user="hbad"), [])

        self.assertSafeRecords(dc)
        recs = [evil, long_rec] + [raised(dc, user=u)[0]
                                   for u in ("hdots", "hhuge")]
        mails = self.wait_mails(dc, "admin", "Alerts/Warnings",
                                [r["id"] for r in recs])
        for raw in mails:
            self.assertSafeMail(raw)
        subject = str(mime.parse(mails[0])["Subject"])
        self.assertTrue(subject.startswith("[alertwall] WARNING "
                                           "MAILBOX_QUOTA_EXCEEDED: "
                                           "hevil/Evil"), subject)
        self.assertIn("X-Injected: yes", subject, "text inside the Subject")
        self.assertLess(len(str(mime.parse(mails[1])["Subject"])), 300,
                        "the long name is cut in the Subject")
        self.assertNoCrash(dc)


class HostileTextTest(HostileTestCase):

    def test_megabyte_error_text(self):
        # a real 1 MB error text: Dovecot puts quota_exceeded_message into
        # the storage error and the LMTP reply; lmtp only, so that the
        # config dovecot-lda gets (the deliver service) stays small
        huge = "Q" * (1024 * 1024)
        dc = self.start_dovecot(
            users={"hq": {"quota_rule": QUOTA_FULL}, "admin": {}},
            alertwall=True, name="awhostmb",
            extra_conf="protocol lmtp {\n  plugin {\n"
                       "    quota_exceeded_message = %s\n  }\n}\n" % huge)
        msg = mime.make_message(to="hq@example.test", size=40 * 1024)
        reply = dc.lmtp_send(["hq"], msg)["hq"]
        self.assertEqual((reply.code, reply.enhanced_status),
                         (552, "5.2.2"))
        self.assertGreater(len(reply.text), len(huge), "Dovecot's reply")
        [rec] = raised(dc, user="hq")
        self.assertTrue(rec["text"].startswith("Q" * 1000))
        self.assertTrue(rec["text"].endswith(MARKER))
        self.assertSafeRecords(dc)
        # alertwall's own log lines stay short
        ours = [ln for ln in dc.log_text("all").splitlines()
                if "alertwall:" in ln]
        self.assertNotEqual(ours, [])
        self.assertLess(max(len(ln) for ln in ours), 1000)

        [raw] = self.wait_mails(dc, "admin", "Alerts/Warnings", [rec["id"]])
        self.assertSafeMail(raw)
        self.assertLess(len(raw), 32 * 1024, "the mail carries no megabyte")
        text = mime.text_of(mime.parse(raw))
        details = [ln for ln in text.splitlines()
                   if ln.startswith("Details:")]
        self.assertEqual(len(details), 1)
        self.assertLess(len(details[0]), 1100)
        self.assertIn("QQQQ", details[0])

        # doveadm alertwall rules test takes what one argv string can hold
        big = "Quota exceeded " + "q" * (120 * 1024)
        p = dc.doveadm(["-f", "tab", "alertwall", "rules", "test",
                        "-s", "delivery", "-e", "NOQUOTA", "-t", big])
        self.assertEqual(p.returncode, 0, p.stderr[-500:])
        header, row = p.stdout.rstrip("\n").split("\n")
        fields = dict(zip(header.split("\t"), row.split("\t")))
        self.assertEqual(fields["code"], "MAILBOX_QUOTA_EXCEEDED")
        self.assertLess(len(p.stdout), 4096)
        self.assertNoCrash(dc)

    def test_message_id_injection(self):
        dc = self.start_dovecot(users={"hm": {"quota_max_mail_size": "64k"},
                                       "admin": {}},
                                alertwall=True, name="awhostmid")
        folded = b"<" + b"\r\n ".join([b"M" * 900] * 1200) + b"@x>"
        attacks = [
            # (raw Message-ID value, what the record must hold)
            (b"<fold@x>\r\nX-Injected: yes", "<fold@x>"),
            (b"<fold@x>\r\n X-Injected: yes", "<fold@x>\n X-Injected: yes"),
            (b"=?utf-8?q?<a=0D=0AX-Injected:_yes@x>?=",
             "=?utf-8?q?<a=0D=0AX-Injected:_yes@x>?="),
            (b"<cr\rX-Injected: yes@x>", None),
            (b"<bad\xff\xfe\x01\x1b@x>", None),
            (folded, None),
        ]
        ids = []
        for i, (value, expect) in enumerate(attacks):
            with self.subTest(case=i):
                head = (b"From: a@example.test\r\nTo: hm@example.test\r\n"
                        b"Subject: attack %d\r\nMessage-ID: " % i + value +
                        b"\r\n\r\n")
                raw = mime._pad(head + b"body\r\n",
                                max(100 * 1024, len(head) + 1024))
                reply = dc.lmtp_send(["hm"], raw)["hm"]
                self.assertEqual((reply.code, reply.enhanced_status),
                                 (451, "4.2.0"), "deferred")
                recs = raised(dc, user="hm")
                self.assertEqual(len(recs), i + 1, "one alert per mail")
                rec = recs[-1]
                self.assertEqual(rec["code"], "MESSAGE_TOO_LARGE")
                if expect is not None:
                    self.assertEqual(rec["message_id"], expect)
                ids.append(rec["id"])
        self.assertTrue(raised(dc, user="hm")[-1]["message_id"].endswith(
            MARKER), "the megabyte Message-ID is cut")
        self.assertSafeRecords(dc)
        for raw in self.wait_mails(dc, "admin", "Alerts/Errors", ids):
            self.assertSafeMail(raw)
        self.assertEqual(dc.imap_fetch_all("hm"), [], "nothing stored")
        self.assertNoCrash(dc)


class ClockJumpTest(HostileTestCase):
    """dovecot-lda under faketime: the same mailbox fails at the real
    time, a day before it and two days after it, then at the real time
    again."""

    def lda(self, dc, shift=None):
        msg = mime.make_message(to="hc@example.test", size=40 * 1024)
        cmd = [DOVECOT_LDA, "-c", dc.conf, "-d", "hc",
               "-o", "quota_full_tempfail=yes"]
        env = dc._env()
        if shift is not None:
            env["FAKETIME"] = shift
            # libfaketime and the ASan runtime deadlock when both are
            # preloaded: the shifted runs use the installed plugin
            env["LD_PRELOAD"] = LIBFAKETIME
            if PRELOAD:
                cmd += ["-o", "mail_plugin_dir=" + DEFAULT_MODULEDIR]
        p = subprocess.run(cmd, input=msg, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30, env=env)
        self.assertEqual(p.returncode, EX_TEMPFAIL, p.stdout)
        return mime.message_id(msg)

    def events(self, dc, message_id):
        return [r["event"] for r in dc.sidecar_records()
                if r.get("message_id") == message_id]

    def test_clock_jumps_backwards_and_forwards(self):
        dc = self.start_dovecot(
            users={"hc": {"quota_rule": QUOTA_FULL}, "admin": {}},
            alertwall=True, name="awclock",
            # dovecot-lda re-executes itself with this environment only
            extra_conf="import_environment = $import_environment "
                       "LD_PRELOAD FAKETIME\n")
        limit = rule_retry_limit(dc)
        first = self.lda(dc)
        self.assertEqual(self.events(dc, first), ["raised"])
        start = mailbox_state(dc, "hc")

        # a day back: counted, nothing logged, no time goes backwards
        back = self.lda(dc, "-1d")
        self.assertEqual(self.events(dc, back), [])
        state = mailbox_state(dc, "hc")
        self.assertEqual((state["attempts"], state["total"]), (2, 2))
        self.assertEqual((state["first_seen"], state["last_seen"]),
                         (start["first_seen"], start["last_seen"]))

        # two days on: past the rule's one-day window, so the count
        # starts again, and a reminder is due
        ahead = self.lda(dc, "+2d")
        [rec] = [r for r in dc.sidecar_records()
                 if r.get("message_id") == ahead]
        self.assertEqual(rec["event"], "repeated")
        self.assertGreater(rec["time"], start["last_seen"])
        state = mailbox_state(dc, "hc")
        self.assertEqual((state["attempts"], state["total"]), (1, 3))
        self.assertGreater(state["last_seen"], state["first_seen"])

        # back to the real time: the stored future is not undone, the
        # count goes on and escalates exactly at the limit
        sent = [self.lda(dc) for _ in range(limit - 1)]
        escalated = [m for m in sent
                     if "escalated" in self.events(dc, m)]
        self.assertEqual(escalated, sent[-1:])
        state = mailbox_state(dc, "hc")
        self.assertEqual((state["status"], state["attempts"],
                          state["total"]), ("permanent", limit, limit + 2))
        self.assertLessEqual(state["first_seen"], state["last_seen"])
        self.assertEqual(state["last_seen"], rec["time"][:19] + "Z")

        # the walls: the raise, the reminder and the escalation
        walls = [(mime.header(m, "X-Alertwall-Event"),
                  mime.header(m, "X-Alertwall-Code"))
                 for f in ("Alerts/Warnings", "Alerts/Errors")
                 for m in self.wait_until_mails(dc, f)]
        self.assertEqual(sorted(walls),
                         [("escalated", "MAILBOX_QUOTA_EXCEEDED"),
                          ("raised", "MAILBOX_QUOTA_EXCEEDED"),
                          ("repeated", "MAILBOX_QUOTA_EXCEEDED")])
        self.assertSafeRecords(dc)
        self.assertNoCrash(dc)

    def wait_until_mails(self, dc, folder):
        want = {"Alerts/Warnings": 2, "Alerts/Errors": 1}[folder]
        return dc.wait_for(lambda: (lambda m: m if len(m) >= want else None)(
            wall_mails(dc, "admin", folder)), WALL_TIMEOUT,
            "%d alert mails in %s" % (want, folder), interval=0.2)


if __name__ == "__main__":
    unittest.main()
