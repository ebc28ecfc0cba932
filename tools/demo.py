#!/usr/bin/env python3
"""alertwall demo: a private Dovecot with alertwall loaded, real failures
injected, then the sidecar records and the admin's walls.

Run through tools/demo (which builds and installs first). AW_KEEP=always
keeps the instance's temp tree for a look around.
"""

import os
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from awtest import faults, mime  # noqa: E402
from awtest.dovecot import PrivateDovecot  # noqa: E402

USERS = {
    "alice": {"quota_rule": "*:storage=10K"},  # quota full
    "bob": {},       # unreadable mailbox directory
    "carol": {},     # corrupted index
    "dave": {},      # message over the size limit
    "erin": {},      # ENOSPC on a tiny tmpfs
    "frank": {},     # healthy
    "admin": {},
}


def show(title):
    print("\n== %s" % title)


def deliver(dc, user, size=None, subject=None):
    msg = mime.make_message(subject=subject or "demo mail for %s" % user,
                            to="%s@example.test" % user, size=size)
    reply = dc.lmtp_send([user], msg)[user]
    print("  LMTP to %-6s -> %d %s %s" % (user, reply.code,
                                         reply.enhanced_status or "",
                                         (reply.text or "")[:70]))
    return reply


def main():
    dc = PrivateDovecot(users=USERS, alertwall=True,
                        plugin=faults.PLUGIN_SETTINGS,
                        extra_conf=faults.EXTRA_CONF, name="awdemo")
    with dc:
        print("private Dovecot in %s (imap 127.0.0.1:%d, lmtp 127.0.0.1:%d)"
              % (dc.root, dc.imap_port, dc.lmtp_port))
        print(dc.doveadm(["alertwall", "rules", "check"]).stdout.strip())

        show("injecting real failures")
        deliver(dc, "frank")
        deliver(dc, "alice", size=40 * 1024, subject="too big for the quota")
        faults.unreadable_maildir(dc, "bob")
        deliver(dc, "bob")
        faults.corrupt_index(dc, "carol")
        imap = dc.imap_login("carol")
        imap.select("INBOX")
        imap.logout()
        deliver(dc, "dave", size=200 * 1024, subject="over the size limit")
        faults.tiny_tmpfs(dc, "erin")
        deliver(dc, "erin", size=16 * 1024, subject="disk is full")

        show("sidecar log %s" % dc.alertwall_log)
        records = dc.sidecar_records()
        for r in records:
            print("  %s %-7s %-9s %-8s %-30s user=%s mailbox=%s" % (
                r["event"], r["level"], r["nature"], r["scope"], r["code"],
                r["user"], r["mailbox"]))

        show("admin's alert walls over IMAP (waiting for the deliveries)")
        deadline = time.time() + 15
        folders = {}
        while time.time() < deadline:
            folders = {}
            for name in ("Alerts/Errors", "Alerts/Warnings", "Alerts/Info"):
                try:
                    folders[name] = dc.imap_fetch_all("admin", name)
                except Exception:
                    folders[name] = []
            if sum(len(v) for v in folders.values()) >= len(
                    [r for r in records if r["user"] != "admin"]):
                break
            time.sleep(0.5)
        for name, msgs in folders.items():
            print("  %s: %d message(s)" % (name, len(msgs)))
            for raw in msgs:
                m = mime.parse(raw)
                print("    Subject: %s" % m["Subject"])
        print("\ndone; the instance stops now (AW_KEEP=always keeps %s)"
              % dc.root)


if __name__ == "__main__":
    main()
