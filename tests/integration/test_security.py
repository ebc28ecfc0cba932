"""What a hostile local user can and cannot do to alertwall on a real
Dovecot (doc/security.md cites these tests).

- The alertwall-deliver service runs as root and its socket is open to
  everyone (mode 0666). Dovecot's script service appends a client's
  arguments to the executable line's, so the script takes no arguments
  at all when it runs for the service: a client asking for
  "-c /tmp/evil.conf" gets the Dovecot's own config, whether the
  executable line names one or not.
- A file dropped into the spool by hand is delivered only when it is a
  regular file (no symlink, no second hard link), owned by root or a uid
  Dovecot may run mail processes as, and only into an Alerts folder;
  everything else goes to failed/ and the sidecar log, never into a
  mailbox.
- The files alertwall creates have the documented modes: sidecar log and
  state files 0660, spool directories 1733, spool files 0600, the deliver
  service's cur/ and failed/ 0700 root; another local user (not the mail
  uid) can touch none of them where the directories are set up as
  README says, and can only wake the deliver service.
- A subdirectory of the state store replaced with a symlink is refused:
  doveadm, run as root, never creates or reads files where it points.
- A hostile sender gets one alert mail to the admin per oversized message
  (email-level alerts are per Message-ID) until the admin silences the
  code; then they are logged only.
"""

import os
import socket
import stat
import time
import unittest

from awtest import faults, mime
from awtest.dovecot import DovecotTestCase, vmail_ids
from test_fault_matrix import lines_matching

# alert delivery waits for the deliver service: the issue allows 5 s
WALL_TIMEOUT = 10.0
DELIVER = os.environ.get("AW_DELIVER", "/usr/lib/dovecot/alertwall-deliver")
# the executable line of the shipped conf.d/90-alertwall.conf: no -c
SHIPPED_DELIVER_SERVICE = """\
service alertwall-deliver {
  executable = script %s
}
""" % DELIVER


def spool_mail(recipient, folder, alert_id, subject="spooled by hand"):
    """A spool file as alertwall-spool.c writes one: the envelope headers,
    then an alert-like mail."""
    return ("X-Alertwall-Recipient: %s\r\n"
            "X-Alertwall-Folder: %s\r\n"
            "From: alertwall <MAILER-DAEMON@mx.example.test>\r\n"
            "To: %s\r\n"
            "Subject: %s\r\n"
            "Message-ID: <%s.admin.0@alertwall>\r\n"
            "Auto-Submitted: auto-generated\r\n"
            "X-Alertwall-Id: %s\r\n"
            "\r\n"
            "not a real alert\r\n" % (recipient, folder, recipient, subject,
                                      alert_id, alert_id)).encode("ascii")


def make_spool(dc):
    """The spool as the first alert creates it (1733 dirs)."""
    for sub in ("", "tmp", "new"):
        path = os.path.join(dc.alertwall_spool, sub)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, 0o1733)


def drop(dc, name, data, uid=None, gid=None):
    """Write a file into spool/new as uid (default the mail uid)."""
    make_spool(dc)
    vuid, vgid = vmail_ids()
    path = os.path.join(dc.alertwall_spool, "new", name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    os.chown(path, vuid if uid is None else uid, vgid if gid is None else gid)
    return path


def nudge(dc, args=()):
    """Wake the deliver service over the script protocol, as a mail
    process does, appending args as a client can."""
    path = os.path.join(dc.base_dir, "alertwall-deliver")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(10)
        s.connect(path)
        s.sendall(("VERSION\tscript\t4\t0\nnoreply\n" +
                   "".join(a + "\n" for a in args) + "\n").encode())
    finally:
        s.close()


def maildir_files(dc, user):
    out = []
    for top, _, files in os.walk(dc.user_maildir(user)):
        out += [os.path.join(top, f) for f in files
                if os.path.basename(top) in ("cur", "new")]
    return out


def stored_alert_ids(dc, user):
    """{folder dir name: [X-Alertwall-Id]} of the mails in user's maildir,
    read as root (also from folders IMAP would not show)."""
    out = {}
    for path in maildir_files(dc, user):
        with open(path, "rb") as f:
            alert_id = mime.header(f.read(), "X-Alertwall-Id")
        folder = os.path.basename(os.path.dirname(os.path.dirname(path)))
        out.setdefault(folder, []).append(alert_id)
    return out


class DeliverArgumentsTest(DovecotTestCase):

    def evil_config(self, dc):
        """A config that, if the deliver script used it, would drain a spool
        of its own (creating cur/ there: the marker) and run dovecot-lda
        with it."""
        evil = os.path.join(dc.root, "evil")
        os.makedirs(os.path.join(evil, "spool", "new"))
        with open(os.path.join(evil, "spool", "new", "x.0"), "wb") as f:
            f.write(spool_mail("alice", "Alerts/Info", "EVIL"))
        conf = os.path.join(evil, "evil.conf")
        with open(conf, "w") as f:
            f.write("base_dir = %s/run\nlog_path = %s/lda.log\n"
                    "plugin {\n  alertwall_spool = %s/spool\n"
                    "  alertwall_log = %s/alertwall.log\n}\n"
                    % (evil, evil, evil, evil))
        return evil, conf

    def check_ignored(self, dc):
        evil, conf = self.evil_config(dc)
        # a real spool file, so that the right config shows by a delivery
        drop(dc, "GOOD.0", spool_mail("alice", "Alerts/Info", "GOOD"))
        nudge(dc, ["-c", conf])
        dc.wait_for(lambda: "GOOD" in stored_alert_ids(dc, "alice").get(
            ".Alerts.Info", []), WALL_TIMEOUT,
            "the nudge with client arguments did not deliver the spool "
            "of the instance's own config")
        self.assertFalse(os.path.exists(os.path.join(evil, "spool", "cur")),
                         "the deliver script used the client's -c")
        self.assertTrue(os.path.exists(
            os.path.join(evil, "spool", "new", "x.0")))
        self.assertFalse(os.path.exists(os.path.join(evil, "lda.log")))
        self.assertNotIn("EVIL", sum(stored_alert_ids(dc, "alice").values(),
                                     []))

    def test_client_arguments_ignored_with_the_shipped_executable_line(self):
        dc = self.start_dovecot(users={"alice": {}, "admin": {}},
                                alertwall=True, name="awsecargs",
                                extra_conf=SHIPPED_DELIVER_SERVICE)
        self.assertEqual(dc.doveconf(["-h", "service/alertwall-deliver/"
                                      "executable"]).stdout.strip(),
                         "script " + DELIVER)
        self.check_ignored(dc)

    def test_client_arguments_ignored_after_the_lines_own_c(self):
        # the harness's executable line names the instance's config
        dc = self.start_dovecot(users={"alice": {}, "admin": {}},
                                alertwall=True, name="awsecargc")
        self.assertIn(" -c " + dc.conf, dc.doveconf(
            ["-h", "service/alertwall-deliver/executable"]).stdout)
        self.check_ignored(dc)


class ForgedSpoolTest(DovecotTestCase):

    def start(self):
        dc = self.start_dovecot(users={"alice": {}, "admin": {}},
                                alertwall=True, name="awsecspool")
        # alice's mailbox exists, with one message in INBOX
        r = dc.lmtp_send(["alice"], mime.make_message(to="alice"))
        self.assertEqual(r["alice"].code, 250)
        return dc

    def settle(self, dc, names):
        """Nudge, then wait until every named file left spool/new."""
        nudge(dc)
        new = os.path.join(dc.alertwall_spool, "new")
        dc.wait_for(lambda: not any(os.path.lexists(os.path.join(new, n))
                                    for n in names), WALL_TIMEOUT,
                    "spool files %r were not taken" % (names,))
        # cur/ empties when the run is done with them
        dc.wait_for(lambda: not os.listdir(os.path.join(dc.alertwall_spool,
                                                        "cur")),
                    WALL_TIMEOUT, "spool cur/ does not empty")

    def failed(self, dc):
        d = os.path.join(dc.alertwall_spool, "failed")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def undeliverable_ids(self, dc):
        return [r.get("id") for r in dc.sidecar_records()
                if r.get("event") == "undeliverable"]

    def test_spool_file_cannot_target_inbox(self):
        dc = self.start()
        before = len(maildir_files(dc, "alice"))
        drop(dc, "INBOXFORGE.0", spool_mail("alice", "INBOX", "INBOXFORGE"))
        drop(dc, "DOTFORGE.0",
             spool_mail("alice", "Alerts/../INBOX", "DOTFORGE"))
        drop(dc, "OK.0", spool_mail("alice", "Alerts/Warnings", "OK"))
        self.settle(dc, ["INBOXFORGE.0", "DOTFORGE.0", "OK.0"])
        self.assertEqual(self.failed(dc), ["DOTFORGE.0", "INBOXFORGE.0"])
        self.assertEqual(sorted(self.undeliverable_ids(dc)),
                         ["DOTFORGE", "INBOXFORGE"])
        ids = stored_alert_ids(dc, "alice")
        self.assertEqual(ids.get(".Alerts.Warnings"), ["OK"])
        self.assertEqual(len(maildir_files(dc, "alice")), before + 1)

    def test_foreign_run_dir_is_not_written(self):
        # the mail uid made spool/run before the deliver service did, with
        # a link where the waiting run's sleep pid goes: root must neither
        # write through it nor kill a pid it names; delivery goes on
        dc = self.start()
        make_spool(dc)
        run = os.path.join(dc.alertwall_spool, "run")
        os.mkdir(run, 0o755)
        vuid, vgid = vmail_ids()
        os.chown(run, vuid, vgid)
        target = os.path.join(dc.root, "target")
        with open(target, "w") as f:
            f.write("untouched\n")
        os.symlink(target, os.path.join(run, "sleeper"))
        drop(dc, "OK.0", spool_mail("alice", "Alerts/Warnings", "OK"))
        self.settle(dc, ["OK.0"])
        self.assertEqual(stored_alert_ids(dc, "alice").get(
            ".Alerts.Warnings"), ["OK"])
        with open(target) as f:
            self.assertEqual(f.read(), "untouched\n")
        st = os.lstat(run)
        self.assertEqual(st.st_uid, vuid, "left as it was")
        dc.wait_for(lambda: lines_matching(
            dc, "run is not a directory of root's alone"),
            WALL_TIMEOUT, "the refusal in Dovecot's log")

    def test_foreign_claim_dir_stops_delivery_until_removed(self):
        # the mail uid made spool/retry before the deliver service did, as
        # a link: root would move claimed alert mails where it points.
        # Nothing is delivered and nothing lost: the alert waits in new/
        # until the admin removes it
        dc = self.start()
        make_spool(dc)
        retry = os.path.join(dc.alertwall_spool, "retry")
        elsewhere = os.path.join(dc.root, "elsewhere")
        os.mkdir(elsewhere)
        os.symlink(elsewhere, retry)
        vuid, vgid = vmail_ids()
        os.lchown(retry, vuid, vgid)
        drop(dc, "OK.0", spool_mail("alice", "Alerts/Warnings", "OK"))
        nudge(dc)
        dc.wait_for(lambda: lines_matching(
            dc, "retry is not a directory of root's alone"),
            WALL_TIMEOUT, "the refusal in Dovecot's log")
        self.assertTrue(os.path.exists(os.path.join(
            dc.alertwall_spool, "new", "OK.0")), "the alert waits in new/")
        self.assertNotIn(".Alerts.Warnings", stored_alert_ids(dc, "alice"))
        self.assertEqual(os.listdir(elsewhere), [])

        # the admin removes it: the next nudge delivers
        os.unlink(retry)
        self.settle(dc, ["OK.0"])
        self.assertEqual(stored_alert_ids(dc, "alice").get(
            ".Alerts.Warnings"), ["OK"])
        self.assertEqual(os.listdir(elsewhere), [])

    def test_spool_symlink_is_not_followed(self):
        dc = self.start()
        # a file root can read and the dropper cannot: its header block
        # names the dropper as recipient
        secret = os.path.join(dc.root, "secret")
        with open(secret, "wb") as f:
            f.write(spool_mail("alice", "Alerts/Info", "SECRET"))
        os.chmod(secret, 0o600)
        make_spool(dc)
        link = os.path.join(dc.alertwall_spool, "new", "LINK.0")
        os.symlink(secret, link)
        vuid, vgid = vmail_ids()
        os.lchown(link, vuid, vgid)
        self.settle(dc, ["LINK.0"])
        self.assertEqual(self.failed(dc), ["LINK.0"])
        self.assertNotIn("SECRET", sum(stored_alert_ids(dc, "alice").values(),
                                       []))

    def test_spool_hard_link_is_refused(self):
        dc = self.start()
        other = os.path.join(dc.root, "other")
        with open(other, "wb") as f:
            f.write(spool_mail("alice", "Alerts/Info", "HARDLINK"))
        vuid, vgid = vmail_ids()
        os.chown(other, vuid, vgid)
        make_spool(dc)
        os.link(other, os.path.join(dc.alertwall_spool, "new", "HARD.0"))
        self.settle(dc, ["HARD.0"])
        self.assertEqual(self.failed(dc), ["HARD.0"])
        self.assertNotIn("HARDLINK",
                         sum(stored_alert_ids(dc, "alice").values(), []))

    def test_spool_file_of_a_foreign_uid_is_refused(self):
        dc = self.start()
        vuid, _ = vmail_ids()
        # uid 1 (daemon) is below first_valid_uid: no mail process runs
        # as it, so a file it owns was not spooled by alertwall
        self.assertGreater(vuid, 1)
        drop(dc, "FOREIGN.0", spool_mail("alice", "Alerts/Info", "FOREIGN"),
             uid=1, gid=1)
        drop(dc, "ROOT.0", spool_mail("alice", "Alerts/Info", "ROOT"),
             uid=0, gid=0)
        self.settle(dc, ["FOREIGN.0", "ROOT.0"])
        self.assertEqual(self.failed(dc), ["FOREIGN.0"])
        ids = stored_alert_ids(dc, "alice")
        self.assertEqual(ids.get(".Alerts.Info"), ["ROOT"])


class FileModesTest(DovecotTestCase):

    def test_modes_of_log_state_and_spool(self):
        dc = self.start_dovecot(users={"alice": {"quota_rule":
                                                 "*:storage=10K"},
                                       "admin": {}},
                                alertwall=True, name="awsecmodes")
        # the admin's copy of the alert waits in the spool for a look
        heal = faults.unreadable_maildir(dc, "admin")
        self.addCleanup(heal)
        r = dc.lmtp_send(["alice"], mime.make_message(to="alice",
                                                      size=40 * 1024))
        self.assertEqual(r["alice"].code, 552)
        rec = dc.wait_for(dc.sidecar_records, WALL_TIMEOUT, "no alert")[0]

        def waiting():
            """[(name, lstat)] of the spool files of the alert; they move
            between new/, cur/ and retry/ while the service retries"""
            out = []
            for sub in ("new", "cur", "retry"):
                d = os.path.join(dc.alertwall_spool, sub)
                try:
                    names = os.listdir(d)
                except FileNotFoundError:
                    continue
                for name in names:
                    if not name.startswith(rec["id"]):
                        continue
                    try:
                        out.append((name, os.lstat(os.path.join(d, name))))
                    except FileNotFoundError:
                        pass
            return out
        # the deliver service has run (its own dirs exist) and a copy waits
        own = ("cur", "retry", "failed", "run")
        dc.wait_for(lambda: all(os.path.isdir(os.path.join(
            dc.alertwall_spool, sub)) for sub in own),
            WALL_TIMEOUT, "the deliver service did not run")
        spooled = dc.wait_for(waiting, WALL_TIMEOUT, "no spool file")

        def mode(path):
            return stat.S_IMODE(os.lstat(path).st_mode)
        vuid, _ = vmail_ids()
        self.assertEqual(mode(dc.alertwall_log), 0o660)
        state = [os.path.join(top, name)
                 for top, dirs, files in os.walk(dc.alertwall_state)
                 for name in dirs + files]
        self.assertNotEqual(state, [])
        for path in state:
            self.assertEqual(mode(path), 0o770 if os.path.isdir(path)
                             else 0o660, path)
        # made by the first mail process, given to root by the deliver
        # service: no mail uid may rename root's entries in them
        for sub in ("", "tmp", "new"):
            st = os.lstat(os.path.join(dc.alertwall_spool, sub))
            self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid),
                             (0o1733, 0), "spool/" + sub)
        for name, st in spooled:
            self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid),
                             (0o600, vuid), name)
        # the deliver service's claims, give-ups and the waiting run's
        # sleep pid: root's alone
        for sub in own:
            st = os.lstat(os.path.join(dc.alertwall_spool, sub))
            self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid),
                             (0o700, 0), "spool/" + sub)


def as_uid(uid, gid, func):
    """Run func() in a child process as uid:gid; returns what it returned
    (an exception's class name for an exception)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            try:
                out = repr(func())
            except Exception as e:
                out = type(e).__name__
            os.write(w, out.encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    os.waitpid(pid, 0)
    return out


class LocalUserTest(DovecotTestCase):

    def test_another_local_user_reaches_only_the_socket(self):
        dc = self.start_dovecot(users={"alice": {"quota_rule":
                                                 "*:storage=10K"},
                                       "admin": {}},
                                alertwall=True, name="awseclocal")
        r = dc.lmtp_send(["alice"], mime.make_message(to="alice",
                                                      size=40 * 1024))
        self.assertEqual(r["alice"].code, 552)
        rec = dc.wait_for(dc.sidecar_records, WALL_TIMEOUT, "no alert")[0]
        dc.wait_for(lambda: rec["id"] in stored_alert_ids(dc, "admin").get(
            ".Alerts.Warnings", []), WALL_TIMEOUT, "the alert mail")
        nobody = 65534
        state_file = [os.path.join(t, f)
                      for t, _, fs in os.walk(dc.alertwall_state)
                      for f in fs][0]

        def append(path):
            return lambda: open(path, "ab").close()
        attempts = {
            "sidecar": append(dc.alertwall_log),
            "state": append(state_file),
            "new state": append(os.path.join(dc.alertwall_state, "x")),
            "spool": append(os.path.join(dc.alertwall_spool, "new",
                                         "FORGED.0")),
            "read admin mail": lambda: os.listdir(dc.user_maildir("admin")),
        }
        for what, func in attempts.items():
            self.assertEqual(as_uid(nobody, nobody, func), "PermissionError",
                             what)
        # the socket is everyone's: a connection only wakes the service
        self.assertEqual(as_uid(nobody, nobody, lambda: nudge(dc)), "None")


class StateDirTest(DovecotTestCase):

    def test_root_doveadm_follows_no_symlink_in_the_state_dir(self):
        # what the mail uid can do to the state dir: replace its
        # subdirectories with symlinks to a directory only root may write
        dc = self.start_dovecot(users={"alice": {}, "admin": {}},
                                alertwall=True, name="awsecstate")
        target = os.path.join(dc.root, "rootonly")
        os.makedirs(target)
        os.chmod(target, 0o755)
        vuid, vgid = vmail_ids()
        for i in range(256):
            link = os.path.join(dc.alertwall_state, "%02x" % i)
            os.symlink(target, link)
            os.lchown(link, vuid, vgid)
        for args in (["alertwall", "silence", "user=nobody", "--for", "1h"],
                     ["alertwall", "digest"],
                     ["alertwall", "list", "-s", "all"]):
            p = dc.doveadm(args)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn("is not a directory (a symlink?): refused",
                          p.stdout + p.stderr, args)
        self.assertEqual(os.listdir(target), [],
                         "root created files where the links point")


class HostileSenderTest(DovecotTestCase):

    def test_oversized_messages_mail_the_admin_until_silenced(self):
        # email-level alerts are per message: each message over
        # quota_max_mail_size is one alert mail for the admin
        dc = self.start_dovecot(users={"alice": {}, "admin": {}},
                                alertwall=True, name="awsecflood",
                                plugin=faults.PLUGIN_SETTINGS)
        for _ in range(5):
            r = dc.lmtp_send(["alice"], mime.make_message(
                to="alice", size=100 * 1024))
            self.assertEqual(r["alice"].code, 451)
        raised = dc.wait_for(lambda: [
            x["id"] for x in dc.sidecar_records()
            if x["event"] == "raised" and x["code"] == "MESSAGE_TOO_LARGE"]
            if len(dc.sidecar_records()) >= 5 else None, WALL_TIMEOUT,
            "five alerts")
        self.assertEqual(len(raised), 5)
        dc.wait_for(lambda: sorted(stored_alert_ids(dc, "admin").get(
            ".Alerts.Errors", [])) == sorted(raised), WALL_TIMEOUT,
            "one mail per oversized message for the admin")
        # the admin silences the code: logged, not mailed
        p = dc.doveadm(["alertwall", "silence", "MESSAGE_TOO_LARGE",
                        "--for", "1h"], check=True)
        self.assertEqual(p.returncode, 0)
        # mail processes read the silences at most every 3 s
        time.sleep(3.5)
        for _ in range(3):
            r = dc.lmtp_send(["alice"], mime.make_message(
                to="alice", size=100 * 1024))
            self.assertEqual(r["alice"].code, 451)
        dc.wait_for(lambda: len(dc.sidecar_records()) >= 8, WALL_TIMEOUT,
                    "three more alerts logged")
        # a healthy delivery to the owner, then an unsilenced alert
        # mail, so that the deliver service has drained what was before
        r = dc.lmtp_send(["alice"], mime.make_message(to="alice"))
        self.assertEqual(r["alice"].code, 250)
        drop(dc, "SYNC.0", spool_mail("admin", "Alerts/Info", "SYNC"))
        nudge(dc)
        dc.wait_for(lambda: "SYNC" in stored_alert_ids(dc, "admin").get(
            ".Alerts.Info", []), WALL_TIMEOUT, "the sync mail")
        self.assertEqual(sorted(stored_alert_ids(dc, "admin").get(
            ".Alerts.Errors", [])), sorted(raised))
        self.assertEqual(stored_alert_ids(dc, "alice").get(".Alerts.Errors"),
                         None, "email-level: never the owner")


if __name__ == "__main__":
    unittest.main()
