"""The sidecar log under load and under logrotate, on a real Dovecot.

Many LMTP processes failing at once each append whole JSON lines (the
harness refuses a torn or interleaved line), one record per failed
delivery, and no delivery is lost: every reply is 4xx or 5xx. Failures of
one mailbox arriving at once raise one alert, not one per process. A log
renamed away by logrotate keeps its lines, and the next record lands in a
new file at the configured path, written by the same long-lived process.
"""

import collections
import os
import stat
import threading
import unittest

from awtest import mime
from awtest.dovecot import DovecotError, DovecotTestCase

# parallel LMTP clients, and failing deliveries each
CLIENTS = 8
PER_CLIENT = 3
# the deliver service delivers two mails per alert (admin and owner)
WALL_TIMEOUT = 30.0

# ALERTWALL_SIDECAR_FILE_MODE
SIDECAR_MODE = 0o660


def wall_ids(dc, user, folder):
    if folder not in dc.imap_list(user):
        return []
    return [mime.header(m, "X-Alertwall-Id")
            for m in dc.imap_fetch_all(user, folder)]


class SidecarTest(DovecotTestCase):

    def parallel_deliveries(self, dc, rcpts_per_client):
        """Each client opens its own LMTP connection (its own lmtp
        process), waits for the others, then sends one over-quota message
        per recipient in its list. Returns [(rcpt, message id, reply)]."""
        barrier = threading.Barrier(len(rcpts_per_client))
        results, errors = [], []
        lock = threading.Lock()

        def client(rcpts):
            try:
                with dc.lmtp_connect() as lmtp:
                    barrier.wait(timeout=30)
                    for rcpt in rcpts:
                        msg = mime.make_message(
                            to="%s@example.test" % rcpt, size=40 * 1024,
                            subject="parallel failure")
                        reply = lmtp.send([rcpt], msg)[rcpt]
                        with lock:
                            results.append((rcpt, mime.message_id(msg),
                                            reply))
            except Exception as e:  # reported by the test thread
                with lock:
                    errors.append(repr(e))
                barrier.abort()

        threads = [threading.Thread(target=client, args=(rcpts,))
                   for rcpts in rcpts_per_client]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(errors, [], "an LMTP client failed")
        self.assertFalse(any(t.is_alive() for t in threads),
                         "an LMTP client hangs")
        return results

    def start_many(self, name, **kwargs):
        """A Dovecot with CLIENTS * PER_CLIENT quota-full users; the user
        lists of the parallel clients, one mailbox per delivery."""
        users = ["u%02d" % i for i in range(CLIENTS * PER_CLIENT)]
        dc = self.start_dovecot(
            users=dict({u: {"quota_rule": "*:storage=10K"} for u in users},
                       admin={}),
            alertwall=True, name=name, **kwargs)
        return dc, [users[c * PER_CLIENT:(c + 1) * PER_CLIENT]
                    for c in range(CLIENTS)]

    def test_parallel_failures_leave_one_whole_record_each(self):
        # without profile correlation each mailbox's alert is mailed
        dc, lists = self.start_many("awconc", plugin={
            "alertwall_correlate_mailboxes": "0"})
        users = sum(lists, [])
        results = self.parallel_deliveries(dc, lists)
        self.assertEqual(len(results), len(users))
        self.assertEqual(
            collections.Counter((r.code, r.enhanced_status)
                                for _, _, r in results),
            {(552, "5.2.2"): len(users)}, "every delivery refused, none "
            "lost or accepted")

        # every line is one whole JSON object (sidecar_records raises)
        recs = [r for r in dc.sidecar_records()
                if r["event"] == "raised" and r["source"] == "delivery"]
        self.assertEqual(len(recs), len(results),
                         "one record per failed delivery: %s" % "\n".join(
                             repr(r) for r in recs))
        self.assertEqual(sorted((r["user"], r["message_id"]) for r in recs),
                         sorted((u, m) for u, m, _ in results))
        for rec in recs:
            self.assertEqual((rec["code"], rec["smtp"], rec["service"]),
                             ("MAILBOX_QUOTA_EXCEEDED", "552 5.2.2", "lmtp"))
        self.assertEqual(len({r["id"] for r in recs}), len(recs),
                         "alert ids are unique")
        with open(dc.alertwall_log, "rb") as f:
            lines = f.read().split(b"\n")[:-1]
        self.assertEqual(len(lines), len(dc.sidecar_records()))
        self.assertTrue(all(ln.startswith(b"{") and ln.endswith(b"}")
                            for ln in lines))

        # every alert reaches the admin's wall exactly once
        want = sorted(r["id"] for r in recs)
        seen = []

        def arrived():
            seen[:] = wall_ids(dc, "admin", "Alerts/Warnings")
            return sorted(set(seen)) == want
        try:
            dc.wait_for(arrived, WALL_TIMEOUT, interval=0.5)
        except AssertionError:
            spool = {sub: sorted(os.listdir(os.path.join(
                dc.alertwall_spool, sub)))
                for sub in ("new", "cur", "retry", "failed")
                if os.path.isdir(os.path.join(dc.alertwall_spool, sub))}
            missing = sorted(set(want) - set(seen))
            # where they went: the admin's other folders, and every log
            # line that names them or is not a raised alert
            elsewhere = {}
            for folder in dc.imap_list("admin"):
                try:
                    found = [i for i in wall_ids(dc, "admin", folder)
                             if i in missing]
                except DovecotError:
                    continue  # a \\Noselect parent such as "Alerts"
                if found and folder != "Alerts/Warnings":
                    elsewhere[folder] = found
            lines = [ln for ln in dc.log_text("all").splitlines()
                     if any(i in ln for i in missing) or
                     ("raised warning" not in ln and
                      ("Error" in ln or "Warning" in ln or
                       "alertwall" in ln or "lda(admin)" in ln))]
            self.fail("%d of %d alerts in the admin's wall after %.0f s; "
                      "missing %r; in other folders %r; spool %r; "
                      "log:\n%s" % (
                          len(set(seen)), len(want), WALL_TIMEOUT,
                          missing, elsewhere, spool,
                          "\n".join(lines)[-8000:]))
        self.assertEqual(sorted(seen), want, "each alert exactly once")

    def test_parallel_failures_of_many_mailboxes_correlate_once(self):
        dc, lists = self.start_many("awcorr")
        results = self.parallel_deliveries(dc, lists)
        self.assertTrue(all(r.code == 552 for _, _, r in results))
        raised = collections.Counter(
            r["scope"] for r in dc.sidecar_records()
            if r["event"] == "raised" and
            r["code"] == "MAILBOX_QUOTA_EXCEEDED")
        # alertwall_correlate_mailboxes (10) of one profile within the
        # hour: one profile-level alert, however many processes saw it
        self.assertEqual(raised, {"mailbox": len(results), "profile": 1})

    def test_parallel_failures_of_one_mailbox_raise_one_alert(self):
        dc = self.start_dovecot(users={"hot": {"quota_rule": "*:storage=10K"},
                                       "admin": {}},
                                alertwall=True, name="awhot")
        results = self.parallel_deliveries(dc, [["hot"] * 2] * CLIENTS)
        replies = collections.Counter((r.code, r.enhanced_status)
                                      for _, _, r in results)
        # MAILBOX_QUOTA_EXCEEDED escalates at its 10th failure and then
        # suspends the mailbox: later deliveries are deferred unread
        refused = replies[(552, "5.2.2")]
        self.assertGreaterEqual(refused, 10, replies)
        # (all may be refused: those already past the suspension check
        # when the escalation came; a Counter ignores a count of 0)
        self.assertEqual(replies, collections.Counter({
            (552, "5.2.2"): refused,
            (451, "4.2.1"): len(results) - refused}),
            "every delivery refused or deferred")

        events = collections.Counter(
            (r["event"], r["code"]) for r in dc.sidecar_records()
            if r["user"] == "hot")
        self.assertEqual(events[("raised", "MAILBOX_QUOTA_EXCEEDED")], 1,
                         "concurrent first failures raise one alert: %r"
                         % events)
        self.assertEqual(events[("escalated", "MAILBOX_QUOTA_EXCEEDED")], 1,
                         events)
        self.assertEqual(events[("suspended", "MAILBOX_QUOTA_EXCEEDED")], 1,
                         events)

    def test_rotated_log_is_reopened_by_the_same_process(self):
        users = {u: {"quota_rule": "*:storage=10K"}
                 for u in ("r1", "r2", "r3")}
        dc = self.start_dovecot(users=dict(users, admin={}), alertwall=True,
                                name="awrotate")
        log = dc.alertwall_log

        def fail(lmtp, user):
            msg = mime.make_message(to="%s@example.test" % user,
                                    size=40 * 1024, subject="rotation")
            self.assertEqual(lmtp.send([user], msg)[user].code, 552)
            return mime.message_id(msg)

        def delivery_records(path):
            return [(r["user"], r["message_id"])
                    for r in dc.sidecar_records(path)
                    if r["event"] == "raised" and r["source"] == "delivery"]

        with dc.lmtp_connect() as lmtp:
            m1 = fail(lmtp, "r1")
            pid = dc.connection_pid(lmtp.sock, "lmtp")
            self.assertEqual(delivery_records(log), [("r1", m1)])
            first_ino = os.stat(log).st_ino

            # logrotate without copytruncate: rename, no new file
            os.rename(log, log + ".1")
            with open(log + ".1", "rb") as f:
                rotated = f.read()
            m2 = fail(lmtp, "r2")
            self.assertEqual(dc.connection_pid(lmtp.sock, "lmtp"), pid,
                             "the same lmtp process wrote both records")
            self.assertEqual(delivery_records(log), [("r2", m2)],
                             "the new record is in a new file at the path")
            st = os.stat(log)
            self.assertNotEqual(st.st_ino, first_ino)
            self.assertEqual(stat.S_IMODE(st.st_mode), SIDECAR_MODE)
            self.assertEqual((st.st_uid, st.st_gid), (dc.uid, dc.gid))
            with open(log + ".1", "rb") as f:
                self.assertEqual(f.read(), rotated,
                                 "the rotated file keeps its lines, and "
                                 "only those")

            # logrotate's create: rename, then an empty file in its place
            os.rename(log, log + ".2")
            with open(log, "wb"):
                pass
            os.chown(log, dc.uid, dc.gid)
            os.chmod(log, SIDECAR_MODE)
            m3 = fail(lmtp, "r3")
            self.assertEqual(delivery_records(log), [("r3", m3)])
            self.assertEqual(delivery_records(log + ".2"), [("r2", m2)])
            self.assertEqual(delivery_records(log + ".1"), [("r1", m1)])


if __name__ == "__main__":
    unittest.main()
