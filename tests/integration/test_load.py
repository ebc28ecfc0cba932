"""alertwall loads where it should, and only there, in a real Dovecot.

A private Dovecot with conf.d/90-alertwall.conf included: doveconf accepts
the config and shows the settings; the core module is mapped into live
imap, pop3 and lmtp processes serving our connections and is loaded by
dovecot-lda and doveadm; each delivery module only in its own binary; the
doveadm module answers `alertwall rules check`; the engine module is not
loaded by a clean run; mail flows normally and the log stays free of
errors.
"""

import os
import re
import unittest

from awtest import DovecotTestCase, MODULEDIR, SRCDIR, mime

CORE = "lib90_alertwall_plugin.so"
LMTP_MOD = "lib91_alertwall_lmtp_plugin.so"
LDA_MOD = "lib91_alertwall_lda_plugin.so"
DOVEADM_MOD = "lib10_doveadm_alertwall_plugin.so"
# loaded by the core module when it first needs it: never on a clean run
ENGINE = "lib_alertwall_engine.so"
DOVEADM_MODULEDIR = "/usr/lib/dovecot/modules/doveadm"


def module_loaded_lines(text):
    """Basenames from Dovecot's debug lines 'Module loaded: PATH'."""
    return {os.path.basename(m) for m in
            re.findall(r"Module loaded: (\S+)", text)}


class LoadTest(DovecotTestCase):

    def setUp(self):
        missing = [p for p in (os.path.join(MODULEDIR, CORE),
                               os.path.join(MODULEDIR, "alertwall", ENGINE),
                               os.path.join(MODULEDIR, LMTP_MOD),
                               os.path.join(MODULEDIR, LDA_MOD),
                               os.path.join(DOVEADM_MODULEDIR, DOVEADM_MOD))
                   if not os.path.exists(p)]
        self.assertEqual(missing, [], "alertwall modules not installed "
                         "(run make install as root)")
        self.dc = self.start_dovecot(alertwall=True)
        self.log_allow = []

    def tearDown(self):
        # runs before the instance is closed (cleanups come after)
        self.assertNoLogErrors(self.dc, allow=self.log_allow)
        for rec in self.dc.sidecar_records():
            self.assertEqual(str(rec.get("level")).lower(), "info",
                             "a clean run raised an alert: %r" % (rec,))

    def assertModules(self, pid, present, absent, what):
        mapped = self.dc.mapped_modules(pid)
        for mod in present:
            self.assertIn(mod, mapped, "%s (pid %d, %s) does not map %s; "
                          "mapped: %s" % (what, pid,
                                          self.dc.process_title(pid), mod,
                                          sorted(mapped)))
        for mod in absent:
            self.assertNotIn(mod, mapped, "%s (pid %d) maps %s, which "
                             "belongs to another binary" % (what, pid, mod))

    def assertInbox(self, user, msg):
        ids = [mime.message_id(m) for m in self.dc.imap_fetch_all(user)]
        self.assertIn(mime.message_id(msg), ids,
                      "delivered message is not in %s's INBOX" % user)

    def test_doveconf_accepts_and_shows_alertwall(self):
        dc = self.dc
        p = dc.doveconf(["-n"], check=False)
        self.assertEqual(p.returncode, 0, "doveconf -n failed with "
                         "90-alertwall.conf included:\n%s" % p.stderr)
        self.assertNotRegex(p.stderr, r"(Warning|Error|Fatal):",
                            "doveconf complains about the config")
        conf = p.stdout
        for line in ("alertwall_log = " + dc.alertwall_log,
                     "alertwall_rules = " + dc.rules,
                     "alertwall_admin = admin",
                     "alertwall_spool = " + dc.alertwall_spool):
            self.assertIn(line, conf, "doveconf -n lacks %r" % line)
        self.assertRegex(conf, r"(?m)^service alertwall-deliver \{",
                         "the deliver service of 90-alertwall.conf is "
                         "missing from doveconf -n")
        expect = {
            "imap": ({"quota", "alertwall"}, {"alertwall_lmtp",
                                               "alertwall_lda"}),
            "pop3": ({"quota", "alertwall"}, {"alertwall_lmtp",
                                               "alertwall_lda"}),
            "lmtp": ({"quota", "alertwall", "alertwall_lmtp"},
                     {"alertwall_lda"}),
            "lda": ({"quota", "alertwall", "alertwall_lda"},
                    {"alertwall_lmtp"}),
            "doveadm": ({"quota", "alertwall"}, {"alertwall_lmtp",
                                                  "alertwall_lda"}),
        }
        for proto, (present, absent) in expect.items():
            plugins = dc.setting("mail_plugins", proto).split()
            self.assertTrue(present <= set(plugins),
                            "mail_plugins for %s is %r, wants %s"
                            % (proto, plugins, sorted(present)))
            self.assertFalse(absent & set(plugins),
                             "mail_plugins for %s is %r, must not have %s"
                             % (proto, plugins, sorted(absent)))
            # no uniqueness check: 90-alertwall.conf names alertwall again
            # in protocol lmtp/lda on purpose, because an earlier protocol
            # block (e.g. sieve in 20-lmtp.conf) hides the global value and
            # alertwall_lmtp without alertwall would stop lmtp from starting;
            # Dovecot loads a module named twice once

    def test_imap_maps_core_module(self):
        dc = self.dc
        imap = dc.imap_login("alice")
        try:
            typ, data = imap.select("INBOX")
            self.assertEqual(typ, "OK", "SELECT INBOX: %r" % (data,))
            pid = dc.connection_pid(imap.sock, "imap")
            self.assertModules(pid, [CORE], [LMTP_MOD, LDA_MOD, ENGINE],
                               "imap process of alice")
        finally:
            imap.logout()
        dc.wait_for(lambda: re.search(r"imap\(alice\).*Logged out",
                                      dc.log_text()), 5,
                    "imap logout of alice not logged")

    def test_pop3_maps_core_module(self):
        dc = self.dc
        self.assertEqual(dc.lmtp_send("bob", mime.make_message())["bob"]
                         .code, 250)
        pop = dc.pop3_login("bob")
        try:
            count, _ = pop.stat()
            self.assertEqual(count, 1, "bob's INBOX over POP3")
            pid = dc.connection_pid(pop.sock, "pop3")
            self.assertModules(pid, [CORE], [LMTP_MOD, LDA_MOD],
                               "pop3 process of bob")
        finally:
            pop.quit()

    def test_lmtp_maps_core_and_lmtp_module(self):
        dc = self.dc
        msg = mime.make_message(subject="load over lmtp")
        with dc.lmtp_connect() as c:
            replies = c.send(["alice"], msg)
            self.assertEqual(replies["alice"][:2], (250, "2.0.0"),
                             "LMTP delivery to alice: %r" % (replies,))
            pid = dc.connection_pid(c.sock, "lmtp")
            self.assertModules(pid, [CORE, LMTP_MOD], [LDA_MOD, ENGINE],
                               "lmtp process")
        self.assertInbox("alice", msg)

    def test_lda_loads_core_and_lda_module(self):
        dc = self.dc
        msg = mime.make_message(subject="load over lda")
        mark = dc.log_mark()
        rc, out = dc.lda_deliver("alice", msg, ["-o", "mail_debug=yes"])
        self.assertEqual(rc, 0, "dovecot-lda -d alice failed: %s" % out)
        loaded = module_loaded_lines(dc.log_text("all", since=mark) + out)
        for mod in (CORE, LDA_MOD):
            self.assertIn(mod, loaded, "dovecot-lda did not log 'Module "
                          "loaded' for %s; loaded: %s" % (mod,
                                                          sorted(loaded)))
        self.assertNotIn(LMTP_MOD, loaded, "dovecot-lda loaded the lmtp "
                         "module")
        self.assertInbox("alice", msg)

    def test_doveadm_loads_modules_and_checks_rules(self):
        dc = self.dc
        p = dc.doveadm("mailbox list", user="alice", debug=True)
        self.assertEqual(p.returncode, 0, "doveadm mailbox list: %s"
                         % p.stderr[-2000:])
        self.assertIn("INBOX", p.stdout.split())
        loaded = module_loaded_lines(p.stderr + p.stdout)
        for mod in (CORE, DOVEADM_MOD):
            self.assertIn(mod, loaded, "doveadm -D did not load %s; "
                          "loaded: %s" % (mod, sorted(loaded)))
        for mod in (LMTP_MOD, LDA_MOD):
            self.assertNotIn(mod, loaded, "doveadm loaded %s" % mod)

        p = dc.doveadm("alertwall rules check")
        self.assertEqual(p.returncode, 0, "doveadm alertwall rules check "
                         "(configured rules %s): %s%s"
                         % (dc.rules, p.stdout, p.stderr))
        shipped = os.path.join(SRCDIR, "conf.d", "alertwall.yaml")
        p = dc.doveadm(["alertwall", "rules", "check", shipped])
        self.assertEqual(p.returncode, 0, "rules check of the shipped %s: "
                         "%s%s" % (shipped, p.stdout, p.stderr))

        # the check must be able to fail: a broken file is refused
        bad = os.path.join(dc.root, "bad-rules.yaml")
        with open(bad, "w") as f:
            f.write("version: 1\nrules:\n  - code: [unclosed\n")
        mark = dc.log_mark()
        p = dc.doveadm(["alertwall", "rules", "check", bad])
        self.assertNotEqual(p.returncode, 0, "rules check accepted a "
                            "broken file: %s%s" % (p.stdout, p.stderr))
        self.assertIn("bad-rules.yaml", p.stdout + p.stderr +
                      dc.log_text(since=mark), "the refusal names the file")
        # doveadm may log its refusal: that one error line is expected
        self.log_allow = [r"doveadm.*bad-rules\.yaml"]


if __name__ == "__main__":
    unittest.main()
