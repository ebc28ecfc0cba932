"""awtest: the integration harness for alertwall.

It runs real, private Dovecot instances (own config, base_dir, loopback
ports and temp root) and talks to them over LMTP, IMAP, POP3, dovecot-lda
and doveadm. Tests under tests/integration/ import it; tests/integration/run
discovers and runs them. Stdlib only.

Writing a test (see test_load.py):

    class MyTest(DovecotTestCase):
        def test_x(self):
            dc = self.start_dovecot(alertwall=True, users={
                "alice": {"quota_rule": "*:storage=1M"},   # userdb fields
                "admin": {}})
            r = dc.lmtp_send(["alice"], mime.make_message(size=5000))
            self.assertEqual(r["alice"][:2], (552, "5.2.2"))
            recs = dc.wait_for(dc.sidecar_records, 5, "no alert")
            self.assertNoLogErrors(dc, allow=r"expected line")

PrivateDovecot(users=None, alertwall=False, rules=None, plugin=None,
extra_conf="", mail_debug=False, name="awtest"); attributes root, conf,
base_dir, log_path, info_log_path, imap_port, pop3_port, lmtp_port,
lmtp_socket, alertwall_log, alertwall_spool, master_pid.
  lifecycle: start() stop() close(failed) reload(**changes) running(),
    context manager; add_user(); add_cleanup(fn)
  mail: lmtp_send(rcpts, msg, mail_from, unix) -> {rcpt: LMTPReply},
    lmtp_connect() -> LMTPClient, lda_deliver(user, msg, extra_args,
    mail_from) -> (rc, output), imap_login(user) -> imaplib.IMAP4,
    imap_list(user), imap_fetch_all(user, folder) -> [bytes],
    pop3_login(user) -> poplib.POP3, user_home(), user_maildir()
  admin: doveadm(args, user, input, check, debug) -> CompletedProcess,
    doveconf(args), doveconf_n(), setting(name, protocol)
  observe: log_mark(), log_text(which, since), errors_in_log(allow, since),
    sidecar_records(), wait_for(pred, timeout, message),
    service_pids(exe), instance_pids(), connection_pid(sock, exe),
    mapped_modules(pid), process_title(pid)
"""

from .dovecot import (  # noqa: F401
    DovecotError,
    DovecotTestCase,
    LMTPClient,
    LMTPReply,
    MODULEDIR,
    PASSWORD,
    PrivateDovecot,
    SRCDIR,
    port_accepts,
    vmail_ids,
    wait_until,
)
from . import mime  # noqa: F401
