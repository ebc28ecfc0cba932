"""Two Dovecot servers share one alert state in a real redis (issue 4).

A real redis-server runs as a child of the test on a free loopback port.
Two private Dovecots, each with its own root, ports, sidecar log and admin
mailbox, both keep their alert state in it (alertwall_state = redis:...).
Failures of one user's mailbox split across both servers count as one
alert: one raise, one escalation at the rule's retry limit, a suspension
both servers honour, and exact counts when both deliver at once.
"""

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from awtest import DovecotTestCase, mime
from test_escalation import (ALERTWALL_ERROR_LINE, BIG, CODE, QUOTA_FULL,
                             SMALL, deliver, mailbox_state, records,
                             rule_retry_limit, wait_walls_settled, wall)

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
USER = "hana"


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Redis:
    """A private redis-server (no persistence) and a minimal RESP client
    to see it answer and what it holds."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="awtest-redis-", dir="/tmp")
        self.proc = None
        self.port = None
        # also when the run is interrupted before tearDownClass
        atexit.register(self.close)

    def start(self, timeout=10.0):
        for _ in range(3):
            self.port = _free_port()
            log = open(os.path.join(self.dir, "redis.log"), "ab")
            try:
                self.proc = subprocess.Popen(
                    [REDIS_SERVER, "--port", str(self.port),
                     "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--daemonize", "no",
                     "--dir", self.dir],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            finally:
                log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if self.command("PING") == "PONG":
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            # the port was taken meanwhile, or it did not come up
            self.stop()
        raise AssertionError("redis-server did not start: %s" %
                             self.log_tail())

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, "redis.log"),
                      errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def command(self, *args):
        """Send one command; returns str, int, None or a list."""
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a.encode("utf-8") if isinstance(a, str) else a
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=5) as s:
            s.sendall(b"".join(out))
            f = s.makefile("rb")
            return self._reply(f)

    def _reply(self, f):
        line = f.readline()
        if not line.endswith(b"\r\n"):
            raise OSError("redis connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise AssertionError("redis error: %s" % rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)
            return data[:-2].decode("utf-8")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply(f) for _ in range(n)]
        raise AssertionError("bad redis reply %r" % line)


def shared_state(test, dcs, user=USER):
    """The stored state of the code on the user's mailbox as each server's
    doveadm reads it; both must read the same."""
    states = [mailbox_state(dc, user) for dc in dcs]
    test.assertEqual(states[0], states[1], "both servers read one state")
    return states[0]


class SharedStateTest(DovecotTestCase):

    @classmethod
    def setUpClass(cls):
        cls.redis = Redis()
        try:
            cls.redis.start()
        except Exception:
            cls.redis.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.redis.close()

    def start_pair(self, **plugin):
        """Two servers on one redis state, under a prefix of this test's
        own; returns (dcs, prefix)."""
        prefix = "awtest%s:" % os.urandom(6).hex()
        # a value with ':' goes in brackets
        plugin["alertwall_state"] = \
            "redis:host=127.0.0.1:port=%d:prefix=[%s]" % (self.redis.port,
                                                          prefix)
        dcs = []
        for name in ("awshared-a", "awshared-b"):
            dc = self.start_dovecot(
                users={USER: {"quota_rule": QUOTA_FULL}, "admin": {}},
                alertwall=True, plugin=dict(plugin), name=name)
            self.addCleanup(self.assertNoLogErrors, dc, ALERTWALL_ERROR_LINE)
            dcs.append(dc)
        self.assertNotEqual(dcs[0].alertwall_log, dcs[1].alertwall_log)
        return dcs, prefix

    def assert_state_in_redis_only(self, dcs, prefix):
        self.assertNotEqual(self.redis.command("KEYS", prefix + "*"), [])
        for dc in dcs:
            self.assertNotIn("redis state store is not available",
                             dc.log_text())
            # nothing fell back to the file store
            self.assertEqual(os.listdir(dc.alertwall_state), [])

    def test_one_escalation_across_two_servers(self):
        dcs, prefix = self.start_pair()
        limit = rule_retry_limit(dcs[0])
        sent = []
        for i in range(limit):
            message_id, reply = deliver(dcs[i % 2], USER)
            self.assertEqual((reply.code, reply.enhanced_status),
                             (552, "5.2.2"), "server %d: %r" % (i % 2, reply))
            sent.append(message_id)

        recs = records(dcs[0], USER) + records(dcs[1], USER)
        raised = [r for r in recs if r["event"] == "raised"]
        escalated = [r for r in recs if r["event"] == "escalated"]
        self.assertEqual([r["message_id"] for r in raised], sent[:1],
                         "one alert for both servers")
        self.assertEqual([r["message_id"] for r in escalated], sent[-1:],
                         "one escalation, at attempt %d" % limit)
        self.assertEqual((escalated[0]["code"], escalated[0]["nature"],
                          escalated[0]["level"]),
                         (CODE, "permanent", "error"))
        # the escalating server wrote it; the other one saw only repeats
        self.assertEqual(records(dcs[(limit - 1) % 2], USER, "escalated"),
                         escalated)
        state = shared_state(self, dcs)
        self.assertEqual((state["total"], state["status"],
                          state["suspended"], state["id"]),
                         (limit, "permanent", "yes", escalated[0]["id"]))

        # both servers honour the suspension the other one decided
        for dc in dcs:
            message_id, reply = deliver(dc, USER, size=SMALL)
            self.assertEqual((reply.code, reply.enhanced_status),
                             (451, "4.2.1"), reply)
            self.assertIn(escalated[0]["id"], reply.text)
            sent.append(message_id)
        self.assertEqual(shared_state(self, dcs)["total"], limit)

        # each server mails its own admin: one raise and one escalation
        # in all, each in the wall of the server that decided it
        raiser, escalator = dcs[0], dcs[(limit - 1) % 2]
        wait_walls_settled(raiser, [("admin", "Alerts/Warnings",
                                     raised[0]["id"])])
        wait_walls_settled(escalator, [("admin", "Alerts/Errors",
                                        escalated[0]["id"])])
        mails = sorted((i, e) for dc in dcs
                       for f in ("Alerts/Warnings", "Alerts/Errors",
                                 "Alerts/Info")
                       for i, e, _ in wall(dc, "admin", f))
        self.assertEqual(mails, sorted([(raised[0]["id"], "raised"),
                                        (escalated[0]["id"], "escalated")]))
        for dc in dcs:
            stored = {mime.header(m, "Message-ID")
                      for m in dc.imap_fetch_all(USER, "INBOX")}
            self.assertEqual(stored & set(sent), set())
        self.assert_state_in_redis_only(dcs, prefix)

    def test_concurrent_failures_on_both_servers_count_exactly(self):
        dcs, prefix = self.start_pair(alertwall_suspend="no")
        limit = rule_retry_limit(dcs[0])
        clients = 8
        rounds = -(-(limit + 3) // clients)
        replies = []
        lock = threading.Lock()

        def one(dc, barrier):
            msg = mime.make_message(to="%s@example.test" % USER, size=BIG)
            with dc.lmtp_connect() as c:
                self.assertEqual(c.mail_from("sender@example.test").code,
                                 250)
                self.assertEqual(c.rcpt_to(USER).code, 250)
                barrier.wait(timeout=30)
                reply = c.data(msg, 1)[0]
            with lock:
                replies.append((mime.message_id(msg), reply))

        for _ in range(rounds):
            barrier = threading.Barrier(clients)
            threads = [threading.Thread(target=one,
                                        args=(dcs[n % 2], barrier))
                       for n in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        self.assertEqual(len(replies), clients * rounds)
        for _, reply in replies:
            self.assertEqual((reply.code, reply.enhanced_status),
                             (552, "5.2.2"), reply)

        state = shared_state(self, dcs)
        self.assertEqual(state["total"], clients * rounds,
                         "every failed delivery counted exactly once")
        self.assertEqual(state["status"], "permanent")
        recs = records(dcs[0], USER) + records(dcs[1], USER)
        # repeats are logged at most once a minute
        self.assertEqual(sorted(r["event"] for r in recs),
                         ["escalated", "raised"])
        self.assert_state_in_redis_only(dcs, prefix)


if __name__ == "__main__":
    unittest.main()
