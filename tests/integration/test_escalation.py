"""The life of an alert on a real Dovecot (issue 4): a repeated failure is
one alert with repeats, escalates once at the rule's retry limit to a
permanent alert with the same code, suspends deliveries to the mailbox,
resolves after a hold-down of successes (not while it flaps), folds many
mailboxes of one profile into one profile-level alert, counts concurrent
failures exactly once each and keeps its state across a Dovecot restart.
Alert mails themselves are no deliveries of the mailbox: they reach a
suspended owner, and their retries count as no attempt.

Everything is checked where a user sees it: the LMTP replies, the sidecar
records, the alert mails in the admin's (and owner's) walls read over IMAP,
the stored state, and whether the message was stored.
"""

import json
import os
import re
import threading
import time
import unittest

from awtest import DovecotTestCase, mime

CODE = "MAILBOX_QUOTA_EXCEEDED"
QUOTA_FULL = "*:storage=10K"
BIG = 40 * 1024
SMALL = 1024
# alert delivery waits for the deliver service: the issue allows 5 s
WALL_TIMEOUT = 10.0
WALLS = ("Alerts/Info", "Alerts/Warnings", "Alerts/Errors")
# alertwall logs errors at error level; these lines are expected
ALERTWALL_ERROR_LINE = (r"Error: alertwall: (escalated|suspended|repeated) "
                        r"error %s \(user=" % CODE)


# ---- helpers shared with test_shared_state ----

def rule_retry_limit(dc):
    """The retry limit of the rule a full quota on delivery matches, as
    `doveadm alertwall rules test` reports it for the instance's rules."""
    p = dc.doveadm(["alertwall", "rules", "test", "-s", "delivery",
                    "-e", "NOQUOTA", "-c", "552", "-S", "5.2.2", "-t",
                    "Quota exceeded (mailbox for user is full)"], check=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.strip()]
    header, row = lines[0].split(), lines[1].split()
    if row[header.index("code")] != CODE:
        raise AssertionError("a full quota is not %s: %r" % (CODE, lines))
    return int(row[header.index("retry_limit")])


def deliver(dc, user, size=BIG, unix=False):
    """One LMTP delivery; returns (Message-ID, reply)."""
    msg = mime.make_message(to="%s@example.test" % user, size=size,
                            subject="escalation test for %s" % user)
    return mime.message_id(msg), dc.lmtp_send([user], msg, unix=unix)[user]


def records(dc, user=None, event=None):
    """Sidecar records (in log order) of user and/or event."""
    return [r for r in dc.sidecar_records()
            if (user is None or r.get("user") == user) and
            (event is None or r.get("event") == event)]


def wall(dc, user, folder):
    """[(X-Alertwall-Id, X-Alertwall-Event, Subject)] of the mails in the
    user's folder, [] while the folder does not exist."""
    if folder not in dc.imap_list(user):
        return []
    return [(mime.header(m, "X-Alertwall-Id"),
             mime.header(m, "X-Alertwall-Event"), mime.header(m, "Subject"))
            for m in dc.imap_fetch_all(user, folder)]


def spool_pending(dc):
    """Alert mails still waiting in the spool (being written, queued or
    being delivered)."""
    pending = []
    for sub in ("tmp", "new", "cur", "retry"):
        d = os.path.join(dc.alertwall_spool, sub)
        if os.path.isdir(d):
            pending += [os.path.join(sub, f) for f in os.listdir(d)]
    return pending


def wait_walls(dc, expect):
    """Wait until every (user, folder, alert id) in expect is there."""
    def look():
        return all(any(i == alert_id for i, _, _ in wall(dc, u, f))
                   for u, f, alert_id in expect)
    dc.wait_for(look, WALL_TIMEOUT, "alert mails %r did not arrive" %
                (expect,), interval=0.2)


def wait_walls_settled(dc, expect):
    """wait_walls(), then wait until the spool is empty, so that counting
    mails afterwards is final."""
    wait_walls(dc, expect)
    dc.wait_for(lambda: not spool_pending(dc), WALL_TIMEOUT,
                "alert mails stay in the spool: %r" % (spool_pending(dc),),
                interval=0.2)
    failed = os.path.join(dc.alertwall_spool, "failed")
    if os.path.isdir(failed) and os.listdir(failed):
        raise AssertionError("undeliverable alert mails: %r"
                             % os.listdir(failed))


def mailbox_state(dc, user, code=CODE):
    """The stored state of the code on the user's mailbox, as the admin
    reads it: `doveadm -f json alertwall list` with any status."""
    p = dc.doveadm(["-f", "json", "alertwall", "list", "-s", "all",
                    "-S", "mailbox", "-c", code], user=user, check=True)
    alerts = json.loads(p.stdout)
    if len(alerts) != 1:
        raise AssertionError("one stored %s alert on %s expected: %r"
                             % (code, user, alerts))
    return alerts[0]


class EscalationTest(DovecotTestCase):

    def start(self, users, **plugin):
        users = dict(users)
        users.setdefault("admin", {})
        dc = self.start_dovecot(users=users, alertwall=True, plugin=plugin,
                                name="awesc")
        self.addCleanup(self.assertNoLogErrors, dc, ALERTWALL_ERROR_LINE)
        return dc

    def assert_quota_failure(self, reply):
        self.assertEqual((reply.code, reply.enhanced_status),
                         (552, "5.2.2"), "full quota: %r" % (reply,))

    def assert_suspended(self, reply, alert_id):
        self.assertEqual((reply.code, reply.enhanced_status),
                         (451, "4.2.1"), "suspended: %r" % (reply,))
        self.assertIn(CODE, reply.text)
        self.assertIn(alert_id, reply.text)

    def assert_nothing_stored(self, dc, user, message_ids):
        stored = {mime.header(m, "Message-ID")
                  for m in dc.imap_fetch_all(user, "INBOX")}
        self.assertEqual(stored & set(message_ids), set(),
                         "refused or deferred mail must not be stored")

    def test_escalates_once_at_the_retry_limit(self):
        # suspension off: the deliveries after the escalation reach the
        # full mailbox and fail again, which must only count as repeats
        dc = self.start({"carol": {"quota_rule": QUOTA_FULL}},
                        alertwall_suspend="no",
                        alertwall_repeat_log_interval="0")
        limit = rule_retry_limit(dc)
        self.assertGreaterEqual(limit, 3, "the test needs repeats")
        sent = []
        for _ in range(limit + 2):
            message_id, reply = deliver(dc, "carol")
            self.assert_quota_failure(reply)
            sent.append(message_id)

        recs = records(dc, "carol")
        self.assertEqual(
            [r["event"] for r in recs],
            ["raised"] + ["repeated"] * (limit - 2) + ["escalated"] +
            ["repeated"] * 2, "one record per delivery, in order")
        self.assertEqual([r["message_id"] for r in recs], sent)
        raised, escalated = recs[0], recs[limit - 1]
        self.assertEqual((raised["code"], raised["nature"], raised["level"],
                          raised["scope"]),
                         (CODE, "transient", "warning", "mailbox"))
        # the seed: a new permanent alert with the same code, raised by
        # exactly the attempt that reaches the limit
        self.assertEqual((escalated["code"], escalated["nature"],
                          escalated["level"], escalated["scope"]),
                         (CODE, "permanent", "error", "mailbox"))
        self.assertNotEqual(escalated["id"], raised["id"])
        for r in recs[1:limit - 1]:
            self.assertEqual((r["id"], r["nature"], r["level"]),
                             (raised["id"], "transient", "warning"))
        for r in recs[limit:]:
            self.assertEqual((r["id"], r["code"], r["nature"], r["level"]),
                             (escalated["id"], CODE, "permanent", "error"))

        wait_walls_settled(dc, [
            ("admin", "Alerts/Warnings", raised["id"]),
            ("admin", "Alerts/Errors", escalated["id"]),
            ("carol", "Alerts/Warnings", raised["id"]),
            ("carol", "Alerts/Errors", escalated["id"])])
        for user in ("admin", "carol"):
            warnings = wall(dc, user, "Alerts/Warnings")
            errors = wall(dc, user, "Alerts/Errors")
            self.assertEqual([(i, e) for i, e, _ in warnings],
                             [(raised["id"], "raised")], user)
            self.assertEqual([(i, e) for i, e, _ in errors],
                             [(escalated["id"], "escalated")], user)
            self.assertIn(CODE, warnings[0][2])
            self.assertIn(CODE, errors[0][2])
            # repeats are logged, never mailed
            self.assertEqual(wall(dc, user, "Alerts/Info"), [], user)
        state = mailbox_state(dc, "carol")
        self.assertEqual((state["status"], state["nature"], state["total"],
                          state["suspended"]),
                         ("permanent", "permanent", limit + 2, "no"))
        self.assertEqual(state["id"], escalated["id"])
        self.assert_nothing_stored(dc, "carol", sent)

    def test_escalation_suspends_deliveries_not_imap(self):
        dc = self.start({"dan": {"quota_rule": QUOTA_FULL}})
        limit = rule_retry_limit(dc)
        sent = []
        for _ in range(limit):
            message_id, reply = deliver(dc, "dan")
            self.assert_quota_failure(reply)
            sent.append(message_id)
        escalated = records(dc, "dan", "escalated")
        self.assertEqual(len(escalated), 1, escalated)
        escalated = escalated[0]
        self.assertEqual(escalated["message_id"], sent[-1])
        self.assertEqual([r["id"] for r in records(dc, "dan", "suspended")],
                         [escalated["id"]])

        # the next delivery is deferred (4xx: the sender keeps it), even a
        # small one the quota would take, over TCP and the unix socket
        for size, unix in ((BIG, False), (SMALL, False), (SMALL, True)):
            message_id, reply = deliver(dc, "dan", size=size, unix=unix)
            self.assert_suspended(reply, escalated["id"])
            sent.append(message_id)
            self.assertEqual([r for r in dc.sidecar_records()
                              if r.get("message_id") == message_id], [],
                             "a suspended delivery is no new failure")
        # dovecot-lda defers too (EX_TEMPFAIL)
        msg = mime.make_message(to="dan@example.test", size=SMALL)
        rc, out = dc.lda_deliver("dan", msg)
        self.assertEqual(rc, 75, out)
        sent.append(mime.message_id(msg))

        # the owner and the admin are told why in Alerts/Errors
        wait_walls_settled(dc, [("admin", "Alerts/Errors", escalated["id"]),
                                ("dan", "Alerts/Errors", escalated["id"])])
        self.assertEqual([(i, e) for i, e, _ in
                          wall(dc, "dan", "Alerts/Errors")],
                         [(escalated["id"], "escalated")])
        # suspension is about delivery only: the owner still reads mail
        with dc.imap_login("dan") as imap:
            typ, _ = imap.select("INBOX")
            self.assertEqual(typ, "OK")
        self.assert_nothing_stored(dc, "dan", sent)
        self.assertEqual(mailbox_state(dc, "dan")["suspended"], "yes")

    def test_resolves_after_hold_down_not_while_flapping(self):
        dc = self.start({"rita": {"quota_rule": QUOTA_FULL}},
                        alertwall_resolve_hold="1s",
                        alertwall_repeat_log_interval="0")
        _, reply = deliver(dc, "rita")
        self.assert_quota_failure(reply)
        raised = records(dc, "rita", "raised")
        self.assertEqual(len(raised), 1, raised)
        alert_id = raised[0]["id"]
        wait_walls_settled(dc, [("admin", "Alerts/Warnings", alert_id)])

        # flapping: a success, a failure before the hold passed, a
        # success after it: the failure restarts the hold-down
        _, reply = deliver(dc, "rita")
        self.assert_quota_failure(reply)
        _, reply = deliver(dc, "rita", size=SMALL)
        self.assertEqual(reply.code, 250, reply)
        time.sleep(1.1)
        _, reply = deliver(dc, "rita")
        self.assert_quota_failure(reply)
        _, reply = deliver(dc, "rita", size=SMALL)
        self.assertEqual(reply.code, 250, reply)
        self.assertEqual(records(dc, "rita", "resolved"), [],
                         "a failure inside the hold-down keeps it open")

        # the fix: a larger quota (auth rereads a changed passwd-file at
        # most once a second; a reload makes a new auth process read it)
        dc.add_user("rita", quota_rule="*:storage=100M")
        dc.reload()
        fixed = []
        for _ in range(2):
            message_id, reply = deliver(dc, "rita")
            self.assertEqual(reply.code, 250, reply)
            fixed.append(message_id)
            time.sleep(1.1)
        resolved = records(dc, "rita", "resolved")
        self.assertEqual(len(resolved), 1, resolved)
        self.assertEqual((resolved[0]["id"], resolved[0]["code"],
                          resolved[0]["level"]), (alert_id, CODE, "info"))
        # more successes resolve nothing more
        _, reply = deliver(dc, "rita")
        self.assertEqual(reply.code, 250, reply)
        self.assertEqual(len(records(dc, "rita", "resolved")), 1)

        wait_walls_settled(dc, [("admin", "Alerts/Info", alert_id),
                                ("rita", "Alerts/Info", alert_id)])
        for user in ("admin", "rita"):
            self.assertEqual([(i, e) for i, e, _ in
                              wall(dc, user, "Alerts/Info")],
                             [(alert_id, "resolved")], user)
        self.assertEqual([i for i, _, _ in
                          wall(dc, "admin", "Alerts/Warnings")], [alert_id])
        self.assertEqual(wall(dc, "admin", "Alerts/Errors"), [])
        stored = {mime.header(m, "Message-ID")
                  for m in dc.imap_fetch_all("rita", "INBOX")}
        self.assertLessEqual(set(fixed), stored)
        self.assertEqual(mailbox_state(dc, "rita")["status"],
                         "resolved")

    def test_owner_of_a_full_mailbox_gets_the_alert(self):
        # a mailbox too full even for the alert mail: the alert goes in
        # all the same, as Dovecot's quota warnings do (the quota root is
        # given noenforcing for it), while mail is still refused
        dc = self.start({"hal": {"quota_rule": "*:storage=2K"}},
                        alertwall_repeat_log_interval="0")
        message_id, reply = deliver(dc, "hal")
        self.assert_quota_failure(reply)
        raised = records(dc, "hal")
        self.assertEqual([r["event"] for r in raised], ["raised"])
        # settled: the spool is empty, the owner's copy delivered (hal's
        # mailbox is read over IMAP only at the end: a session of the
        # owner that works is a success of the mailbox)
        wait_walls_settled(dc, [("admin", "Alerts/Warnings",
                                 raised[0]["id"])])
        self.assertEqual(re.findall(r"lda\(hal\).*save failed",
                                    dc.log_text("info")), [],
                         "delivered at the first try")
        # the alert mail's own delivery into the mailbox is no success
        # of the mailbox: the failure still counts as consecutive
        shown = json.loads(dc.doveadm(["-f", "json", "alertwall", "show",
                                       raised[0]["id"]], check=True).stdout)
        self.assertEqual([(s["attempts"], s["consecutive"], s["status"])
                          for s in shown], [(1, 1, "open")])
        # mail is still refused
        second, reply = deliver(dc, "hal")
        self.assert_quota_failure(reply)
        self.assertEqual([r["event"] for r in records(dc, "hal")],
                         ["raised", "repeated"])
        state = mailbox_state(dc, "hal")
        self.assertEqual((state["attempts"], state["status"]), (2, "open"))
        # the mailbox is over its quota now
        quota = dc.doveadm(["-f", "flow", "quota", "get"], user="hal",
                           check=True).stdout
        used, limit = re.search(r"Type=STORAGE Value=(\d+) Limit=(\d+)",
                                quota).groups()
        self.assertGreater(int(used), int(limit), quota)
        wait_walls(dc, [("hal", "Alerts/Warnings", raised[0]["id"])])
        self.assert_nothing_stored(dc, "hal", [message_id, second])

    def test_alert_mail_retries_are_no_attempts(self):
        # a mailbox too full even for the alert mail, with the quota
        # enforced for alert mails too: the deliver service defers the
        # owner's copy and retries it (first after 2 s)
        dc = self.start({"gus": {"quota_rule": "*:storage=2K"}},
                        alertwall_repeat_log_interval="0",
                        alertwall_over_quota="no")
        message_id, reply = deliver(dc, "gus")
        self.assert_quota_failure(reply)
        raised = records(dc, "gus")
        self.assertEqual([r["event"] for r in raised], ["raised"])
        wait_walls(dc, [("admin", "Alerts/Warnings", raised[0]["id"])])
        tries = re.compile(r"lda\(gus\).*save failed to Alerts/Warnings: "
                           r"Quota exceeded")
        dc.wait_for(lambda: len(tries.findall(dc.log_text("info"))) >= 2,
                    WALL_TIMEOUT, "the deliver service retries the "
                    "owner's alert mail", interval=0.2)
        # the retries of alertwall's own mail are not the mailbox failing
        # again: one real delivery is one attempt
        self.assertEqual(records(dc, "gus"), raised)
        state = mailbox_state(dc, "gus")
        self.assertEqual((state["total"], state["attempts"],
                          state["status"]), (1, 1, "open"))
        self.assertNotEqual(spool_pending(dc), [],
                            "the owner's copy waits in the spool")
        self.assert_nothing_stored(dc, "gus", [message_id])

    def test_profile_correlation_inhibits_mailbox_mails(self):
        users = {"u%d" % i: {"quota_rule": QUOTA_FULL} for i in range(1, 6)}
        # the default profile's owner
        users["postmaster"] = {}
        dc = self.start(users, alertwall_correlate_mailboxes="3",
                        alertwall_correlate_window="1h")
        for i in range(1, 6):
            _, reply = deliver(dc, "u%d" % i)
            self.assert_quota_failure(reply)

        raised = records(dc, event="raised")
        mailbox = {r["user"]: r["id"] for r in raised
                   if r["scope"] == "mailbox"}
        self.assertEqual(sorted(mailbox), ["u1", "u2", "u3", "u4", "u5"],
                         "every mailbox's alert is in the sidecar")
        profile = [r for r in raised if r["scope"] == "profile"]
        self.assertEqual(len(profile), 1, profile)
        profile = profile[0]
        self.assertEqual((profile["code"], profile["profile"]),
                         (CODE, "default"))
        order = [r["id"] for r in raised]
        self.assertLess(order.index(mailbox["u2"]),
                        order.index(profile["id"]))
        self.assertLess(order.index(profile["id"]),
                        order.index(mailbox["u4"]),
                        "raised when the 3rd mailbox failed")

        wait_walls_settled(dc, [
            ("postmaster", "Alerts/Warnings", profile["id"]),
            ("admin", "Alerts/Warnings", profile["id"]),
            ("admin", "Alerts/Warnings", mailbox["u3"])])
        self.assertEqual([(i, e) for i, e, _ in
                          wall(dc, "postmaster", "Alerts/Warnings")],
                         [(profile["id"], "raised")])
        admin = [i for f in WALLS for i, _, _ in wall(dc, "admin", f)]
        self.assertEqual(sorted(admin), sorted(
            [mailbox["u1"], mailbox["u2"], mailbox["u3"], profile["id"]]),
            "the 4th and 5th mailboxes are folded into the profile alert")
        for user in ("u4", "u5"):
            self.assertEqual([f for f in dc.imap_list(user)
                              if f.startswith("Alerts")], [], user)

    def test_concurrent_failures_count_once_each(self):
        dc = self.start({"erik": {"quota_rule": QUOTA_FULL}},
                        alertwall_suspend="no")
        limit = rule_retry_limit(dc)
        clients = 8
        rounds = -(-(limit + 3) // clients)
        replies = []
        lock = threading.Lock()

        def one(barrier):
            msg = mime.make_message(to="erik@example.test", size=BIG)
            with dc.lmtp_connect() as c:
                self.assertEqual(c.mail_from("sender@example.test").code,
                                 250)
                self.assertEqual(c.rcpt_to("erik").code, 250)
                barrier.wait(timeout=30)
                reply = c.data(msg, 1)[0]
            with lock:
                replies.append((mime.message_id(msg), reply))

        for _ in range(rounds):
            barrier = threading.Barrier(clients)
            threads = [threading.Thread(target=one, args=(barrier,))
                       for _ in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        self.assertEqual(len(replies), clients * rounds)
        for _, reply in replies:
            self.assert_quota_failure(reply)

        state = mailbox_state(dc, "erik")
        self.assertEqual(state["total"], clients * rounds,
                         "every failed delivery counted exactly once")
        self.assertEqual(state["status"], "permanent")
        # repeats are logged at most once a minute: one raise, one
        # escalation and nothing else
        self.assertEqual(sorted(r["event"] for r in records(dc, "erik")),
                         ["escalated", "raised"])
        escalated = records(dc, "erik", "escalated")
        self.assertIn(escalated[0]["message_id"],
                      [m for m, _ in replies])
        wait_walls_settled(dc, [("admin", "Alerts/Errors",
                                 escalated[0]["id"])])
        self.assertEqual([i for i, _, _ in wall(dc, "admin",
                                                 "Alerts/Errors")],
                         [escalated[0]["id"]])

    def test_state_survives_a_restart(self):
        dc = self.start({"fay": {"quota_rule": QUOTA_FULL}})
        limit = rule_retry_limit(dc)
        half = limit // 2
        sent = []
        for _ in range(half):
            message_id, reply = deliver(dc, "fay")
            self.assert_quota_failure(reply)
            sent.append(message_id)
        dc.stop()
        dc.start()
        for _ in range(limit - half):
            message_id, reply = deliver(dc, "fay")
            self.assert_quota_failure(reply)
            sent.append(message_id)

        raised = records(dc, "fay", "raised")
        self.assertEqual([r["message_id"] for r in raised], sent[:1],
                         "after the restart the failures are repeats")
        escalated = records(dc, "fay", "escalated")
        self.assertEqual([r["message_id"] for r in escalated], sent[-1:],
                         "escalated exactly at attempt %d" % limit)
        state = mailbox_state(dc, "fay")
        self.assertEqual((state["total"], state["status"]),
                         (limit, "permanent"))
        _, reply = deliver(dc, "fay", size=SMALL)
        self.assert_suspended(reply, escalated[0]["id"])


if __name__ == "__main__":
    unittest.main()
