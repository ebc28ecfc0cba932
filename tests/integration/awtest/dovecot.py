"""A private, real Dovecot for integration tests.

PrivateDovecot writes its own dovecot.conf into a fresh temp root, runs the
master in the foreground as a child of the test process (its own session,
so every process of the instance can be killed at once), and offers clients
for LMTP (raw socket, one reply per recipient), IMAP, POP3, dovecot-lda,
doveadm and doveconf. Several instances can run at once: each has its own
base_dir, state_dir, instance_name and loopback ports.

Run as root (Dovecot drops to the vmail user for mail access).
Environment: AW_SRCDIR (repo top, default derived from this file),
AW_KEEP=1 keeps the temp root of a failed test, AW_KEEP=always keeps all.
"""

import atexit
import errno
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import imaplib
import poplib
from collections import namedtuple

SRCDIR = os.path.abspath(os.environ.get("AW_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

DOVECOT = os.environ.get("AW_DOVECOT", "/usr/sbin/dovecot")
DOVEADM = os.environ.get("AW_DOVEADM", "/usr/bin/doveadm")
DOVECONF = os.environ.get("AW_DOVECONF", "/usr/bin/doveconf")
DOVECOT_LDA = os.environ.get("AW_DOVECOT_LDA", "/usr/lib/dovecot/dovecot-lda")
DEFAULT_MODULEDIR = "/usr/lib/dovecot/modules"
# another dir (a build tree) becomes mail_plugin_dir; doveadm modules are
# still read from the installed DEFAULT_MODULEDIR/doveadm
MODULEDIR = os.environ.get("AW_MODULEDIR", DEFAULT_MODULEDIR)
# AW_PRELOAD: libraries (sanitizer runtimes, for a sanitized plugin in
# AW_MODULEDIR) preloaded into every Dovecot process and into the Dovecot
# tools run here. The instance then passes LD_PRELOAD and the sanitizer
# options on to its processes and sets no vsz limit: ASan reserves
# terabytes of address space for its shadow memory.
PRELOAD = os.environ.get("AW_PRELOAD", "")

PASSWORD = "pass"
MAIL_USER = "vmail"
DEFAULT_USERS = ("alice", "bob", "admin")
DEFAULT_FROM = "sender@example.test"
# services whose processes the master replaces on reload (idle ones exit)
RELOAD_RESTARTED = ("config", "auth", "auth-worker", "lmtp", "imap-login",
                    "pop3-login", "dict", "dict-async")
LOG_PROBLEM_RE = re.compile(r"\b(Error|Fatal|Panic):")

_live = set()
_live_lock = threading.Lock()
_counter = 0


class DovecotError(Exception):
    """The private Dovecot failed to start, stop or answer as expected."""


LMTPReply = namedtuple("LMTPReply", "code enhanced_status text")
LMTPReply.__doc__ = """One (possibly multi-line) LMTP reply.

code is the int reply code, enhanced_status the RFC 3463 code ("2.0.0") or
None, text the reply text without code and enhanced code (lines joined by
newlines). Compares equal to the plain tuple (code, enhanced, text).
"""

_ENHANCED_RE = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)")


def vmail_ids():
    """(uid, gid) of the mail user; tools/install-deps creates it."""
    try:
        pw = pwd.getpwnam(MAIL_USER)
    except KeyError:
        raise DovecotError("system user %r is missing: run tools/install-deps "
                           "as root" % MAIL_USER) from None
    return pw.pw_uid, pw.pw_gid


def _free_ports(count):
    # bind them all at once so one call never hands out the same port twice;
    # another process may still take one before dovecot binds it, which
    # start() handles by retrying with new ports
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_until(predicate, timeout, interval=0.1):
    """Poll predicate until it returns a true value (returned) or timeout
    passes (returns None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def port_accepts(port):
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _cleanup_all():
    with _live_lock:
        instances = list(_live)
    for dc in instances:
        try:
            dc.close(failed=True)
        except Exception as e:  # at exit: report, go on with the others
            print("awtest: cleanup of %s failed: %s" % (dc.root, e),
                  file=sys.stderr)


def _on_sigterm(signum, frame):
    # as Ctrl-C: unittest stops the run on KeyboardInterrupt (it would
    # record SystemExit as one test's error and go on); atexit then kills
    # the instances
    raise KeyboardInterrupt("SIGTERM")


atexit.register(_cleanup_all)
if (threading.current_thread() is threading.main_thread() and
        signal.getsignal(signal.SIGTERM) == signal.SIG_DFL):
    signal.signal(signal.SIGTERM, _on_sigterm)


def _userdb_value(user, key, value):
    value = str(value)
    # passwd-file splits extra fields on spaces and lines on newlines
    if re.search(r"[\s]", value) or re.search(r"[\s=:]", key) or not key:
        raise ValueError("user %s: field %r=%r may not contain whitespace "
                         "(key: nor '=' or ':')" % (user, key, value))
    return value


class LMTPClient:
    """A minimal raw-socket LMTP client (RFC 2033).

    Unlike smtplib.LMTP it reads one reply per accepted recipient after the
    final dot, so each recipient's own delivery outcome is visible. Use as a
    context manager, or call quit()/close().
    """

    def __init__(self, host="127.0.0.1", port=24, timeout=30.0,
                 lhlo="client.example.test", path=None):
        if path is not None:
            # a unix socket (Dovecot's lmtp listener in base_dir)
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection((host, port),
                                                 timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.transcript = []
        self.greeting = self.read_reply()
        if self.greeting.code != 220:
            raise DovecotError("LMTP greeting: %r" % (self.greeting,))
        self.lhlo_reply = self.command("LHLO " + lhlo)
        if self.lhlo_reply.code != 250:
            raise DovecotError("LHLO: %r" % (self.lhlo_reply,))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()

    def _send(self, data):
        self.sock.sendall(data)

    def read_reply(self):
        """Read one reply; returns LMTPReply."""
        code = None
        lines = []
        while True:
            raw = self.file.readline()
            if not raw:
                raise DovecotError("LMTP connection closed (so far: %r)"
                                   % (self.transcript[-6:],))
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.transcript.append("S: " + line)
            if len(line) < 3 or not line[:3].isdigit():
                raise DovecotError("bad LMTP reply line %r" % line)
            code = int(line[:3])
            lines.append(line[4:])
            if line[3:4] != "-":
                break
        enhanced = None
        m = _ENHANCED_RE.match(lines[0])
        if m:
            enhanced = m.group(1)
            lines = [_ENHANCED_RE.sub("", ln, count=1) for ln in lines]
        return LMTPReply(code, enhanced, "\n".join(lines))

    def command(self, line):
        self.transcript.append("C: " + line)
        self._send(line.encode("utf-8") + b"\r\n")
        return self.read_reply()

    def mail_from(self, address, params=""):
        return self.command("MAIL FROM:<%s>%s" % (
            address, (" " + params) if params else ""))

    def rcpt_to(self, address, params=""):
        return self.command("RCPT TO:<%s>%s" % (
            address, (" " + params) if params else ""))

    def data(self, msg_bytes, accepted):
        """Send DATA and the message; returns one reply per accepted rcpt."""
        reply = self.command("DATA")
        if reply.code != 354:
            raise DovecotError("DATA: %r" % (reply,))
        self._send(_smtp_body(msg_bytes))
        self.transcript.append("C: <message %d bytes>" % len(msg_bytes))
        return [self.read_reply() for _ in range(accepted)]

    def quit(self):
        if self.sock is None:
            return
        try:
            self.command("QUIT")
        except (OSError, DovecotError):
            pass
        self.close()

    def close(self):
        if self.sock is not None:
            self.file.close()
            self.sock.close()
            self.sock = None

    def send(self, rcpts, msg_bytes, mail_from=DEFAULT_FROM):
        """One transaction. Returns {rcpt: LMTPReply}: the RCPT reply for a
        refused recipient, the DATA reply for an accepted one."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        reply = self.mail_from(mail_from)
        if reply.code != 250:
            raise DovecotError("MAIL FROM:<%s>: %r" % (mail_from, reply))
        results = {}
        accepted = []
        for rcpt in rcpts:
            reply = self.rcpt_to(rcpt)
            if reply.code == 250:
                accepted.append(rcpt)
            results[rcpt] = reply
        if not accepted:
            self.command("RSET")
            return results
        for rcpt, reply in zip(accepted, self.data(msg_bytes, len(accepted))):
            results[rcpt] = reply
        return results


def _smtp_body(msg_bytes):
    """CRLF line ends, dot-stuffing and the terminating dot."""
    if isinstance(msg_bytes, str):
        msg_bytes = msg_bytes.encode("utf-8")
    lines = re.split(rb"\r?\n", msg_bytes)
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for line in lines:
        if line.startswith(b"."):
            line = b"." + line
        out.append(line + b"\r\n")
    out.append(b".\r\n")
    return b"".join(out)


def _imap_quote(name):
    if not all(32 <= ord(c) < 127 for c in name):
        raise ValueError("only ASCII mailbox names are supported: %r" % name)
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


_LIST_RE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<sep>"(?:[^"\\]|\\.)*"|NIL) '
                      rb'(?P<name>.*)$')


def _parse_list(data):
    """imaplib LIST data -> [(name, flags)]; handles literals."""
    out = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):
            head, literal = item
            m = _LIST_RE.match(head)
            if not m:
                raise DovecotError("bad LIST reply %r" % (item,))
            name = literal
        else:
            m = _LIST_RE.match(item)
            if not m:
                raise DovecotError("bad LIST reply %r" % (item,))
            name = m.group("name")
            if name.startswith(b'"'):
                name = re.sub(rb'\\(.)', rb'\1', name[1:-1])
        out.append((name.decode("utf-8"),
                    m.group("flags").decode("ascii").split()))
    return out


def root_dir():
    """Where instances (and the benchmarks' stores) live: AW_ROOT_DIR, or
    /tmp. The benchmarks compare /tmp with a directory like a server's
    /var/lib; read at each use, since bench/run-dovecot sets it late."""
    return os.environ.get("AW_ROOT_DIR") or "/tmp"


class PrivateDovecot:
    """One private Dovecot instance in its own temp root.

    users: {"alice": {"quota_rule": "*:storage=1M", ...}, ...}; each value
      holds userdb fields (no whitespace in values), plus the optional key
      "password" (default PASSWORD). Default: alice, bob, admin.
    alertwall: include the repo's conf.d/90-alertwall.conf and set the
      alertwall plugin {} overrides (an "admin" user is added if missing).
    rules: alertwall_rules path (default SRCDIR/conf.d/alertwall.yaml).
    plugin: extra plugin {} settings (dict), written after the defaults.
    extra_conf: config text appended at the end of dovecot.conf.
    mail_debug: set mail_debug = yes (debug lines go to info_log_path).
    """

    def __init__(self, users=None, alertwall=False, rules=None, plugin=None,
                 extra_conf="", mail_debug=False, name="awtest"):
        global _counter
        self.uid, self.gid = vmail_ids()
        if users is None:
            users = {u: {} for u in DEFAULT_USERS}
        self.users = {u: dict(f) for u, f in users.items()}
        self.alertwall = alertwall
        if alertwall and "admin" not in self.users:
            self.users["admin"] = {}
        self.rules = rules or os.path.join(SRCDIR, "conf.d", "alertwall.yaml")
        self.plugin = dict(plugin or {})
        self.extra_conf = extra_conf
        self.mail_debug = mail_debug
        with _live_lock:
            _counter += 1
            n = _counter
        self.instance_name = "%s-%d-%d" % (name, os.getpid(), n)
        self.root = tempfile.mkdtemp(prefix=self.instance_name + "-",
                                     dir=root_dir())
        # login and auth processes run as other users: they must traverse
        os.chmod(self.root, 0o755)
        self.conf = os.path.join(self.root, "dovecot.conf")
        self.base_dir = os.path.join(self.root, "run")
        self.state_dir = os.path.join(self.root, "state")
        self.log_dir = os.path.join(self.root, "log")
        self.log_path = os.path.join(self.log_dir, "dovecot.log")
        self.info_log_path = os.path.join(self.log_dir, "info.log")
        self.master_out = os.path.join(self.log_dir, "master.out")
        self.users_file = os.path.join(self.root, "users")
        self.home_root = os.path.join(self.root, "home")
        self.alertwall_dir = os.path.join(self.root, "alertwall")
        self.alertwall_log = os.path.join(self.alertwall_dir, "alertwall.log")
        self.alertwall_spool = os.path.join(self.alertwall_dir, "spool")
        self.alertwall_state = os.path.join(self.alertwall_dir, "state")
        self.imap_port = self.pop3_port = self.lmtp_port = None
        self.lmtp_socket = os.path.join(self.base_dir, "lmtp")
        self.proc = None
        self.closed = False
        self._reloads_seen = 0
        self._prepare_tree()

    # ---- setup ----

    def _prepare_tree(self):
        for d in (self.base_dir, self.state_dir, self.log_dir,
                  self.home_root):
            os.makedirs(d, exist_ok=True)
        os.chmod(self.home_root, 0o755)
        # dovecot-lda and doveadm may open the logs after dropping to vmail
        for path in (self.log_path, self.info_log_path):
            open(path, "a").close()
            os.chmod(path, 0o666)
        os.chmod(self.log_dir, 0o755)
        # as an admin would set it up for one vmail uid; the log and the
        # spool inside are created by alertwall itself
        os.makedirs(self.alertwall_dir, exist_ok=True)
        os.chown(self.alertwall_dir, self.uid, self.gid)
        os.chmod(self.alertwall_dir, 0o770)
        # the state store: doveadm (root) creates its files as this owner
        os.makedirs(self.alertwall_state, exist_ok=True)
        os.chown(self.alertwall_state, self.uid, self.gid)
        os.chmod(self.alertwall_state, 0o770)
        for user in self.users:
            self._make_home(user)
        self.write_users()

    def _make_home(self, user):
        home = self.user_home(user)
        if not os.path.isdir(home):
            os.makedirs(home)
            os.chown(home, self.uid, self.gid)
            os.chmod(home, 0o700)

    def user_home(self, user):
        return os.path.join(self.home_root, user)

    def user_maildir(self, user):
        return os.path.join(self.user_home(user), "Maildir")

    def add_user(self, user, **fields):
        """Add or replace a user; takes effect at the next auth lookup."""
        self.users[user] = fields
        self._make_home(user)
        self.write_users()

    def write_users(self):
        lines = []
        for user, fields in sorted(self.users.items()):
            if not re.match(r"^[A-Za-z0-9._@+-]+$", user):
                raise ValueError("bad user name %r" % user)
            fields = dict(fields)
            password = fields.pop("password", PASSWORD)
            extra = " ".join("userdb_%s=%s" % (k, _userdb_value(user, k, v))
                             for k, v in sorted(fields.items()))
            lines.append("%s:{PLAIN}%s:%d:%d::%s::%s\n" % (
                user, password, self.uid, self.gid, self.user_home(user),
                extra))
        tmp = self.users_file + ".tmp"
        with open(tmp, "w") as f:
            f.writelines(lines)
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.users_file)

    def config_text(self):
        c = []
        c.append("# generated by tests/integration/awtest/dovecot.py\n")
        c.append("""\
instance_name = %(instance)s
base_dir = %(base_dir)s
state_dir = %(state_dir)s
log_path = %(log_path)s
info_log_path = %(info_log_path)s
debug_log_path = %(info_log_path)s
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_username_format = %%Ln
verbose_proctitle = yes
first_valid_uid = %(uid)d
first_valid_gid = %(gid)d
postmaster_address = postmaster@example.test
hostname = mx.example.test
mail_location = maildir:~/Maildir
mail_plugins = quota
mail_debug = %(mail_debug)s
%(plugin_dir)s%(preload)s
namespace inbox {
  inbox = yes
  separator = /
  prefix =
}

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %(users)s
}
userdb {
  driver = passwd-file
  args = username_format=%%u %(users)s
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %(imap)d
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = %(pop3)d
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = %(lmtp)d
  }
  unix_listener lmtp {
    mode = 0666
  }
}

plugin {
  quota = maildir:User quota
}
""" % {
            "instance": self.instance_name, "base_dir": self.base_dir,
            "state_dir": self.state_dir, "log_path": self.log_path,
            "info_log_path": self.info_log_path, "uid": self.uid,
            "gid": self.gid, "users": self.users_file,
            "mail_debug": "yes" if self.mail_debug else "no",
            "plugin_dir": ("mail_plugin_dir = %s\n" % MODULEDIR
                           if MODULEDIR != DEFAULT_MODULEDIR else ""),
            "preload": ("import_environment = TZ CORE_OUTOFMEM CORE_ERROR "
                        "LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS\n"
                        "default_vsz_limit = 0\n" if PRELOAD else ""),
            "imap": self.imap_port, "pop3": self.pop3_port,
            "lmtp": self.lmtp_port})
        if self.alertwall:
            settings = {
                "alertwall_log": self.alertwall_log,
                "alertwall_rules": self.rules,
                "alertwall_admin": "admin",
                "alertwall_spool": self.alertwall_spool,
                "alertwall_state": "file:" + self.alertwall_state,
            }
            settings.update(self.plugin)
            c.append("\n!include_try %s\n" % os.path.join(
                SRCDIR, "conf.d", "90-alertwall.conf"))
            # the deliver service must use this instance's config
            c.append("service alertwall-deliver {\n"
                     "  executable = script %s -c %s\n}\n" % (
                         os.environ.get("AW_DELIVER",
                                        "/usr/lib/dovecot/alertwall-deliver"),
                         self.conf))
        else:
            settings = dict(self.plugin)
        if settings:
            c.append("\nplugin {\n")
            for k, v in settings.items():
                c.append("  %s = %s\n" % (k, v))
            c.append("}\n")
        if self.extra_conf:
            c.append("\n" + self.extra_conf.rstrip("\n") + "\n")
        return "".join(c)

    def write_config(self):
        with open(self.conf + ".tmp", "w") as f:
            f.write(self.config_text())
        os.chmod(self.conf + ".tmp", 0o644)
        os.rename(self.conf + ".tmp", self.conf)

    # ---- lifecycle ----

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(failed=exc_type is not None)

    def start(self, timeout=10.0):
        """Write the config, start the master, wait until ports accept."""
        if self.closed:
            raise DovecotError("instance already closed")
        if self.proc is not None:
            raise DovecotError("already started")
        with _live_lock:
            _live.add(self)
        for attempt in range(3):
            self.imap_port, self.pop3_port, self.lmtp_port = _free_ports(3)
            self.write_config()
            if self._start_once(timeout):
                return self
            # a port was taken between picking and binding: pick again
        raise DovecotError("could not bind free ports:\n" + self._start_diag())

    def _start_once(self, timeout):
        out = open(self.master_out, "ab")
        try:
            self.proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
                stdout=out, stderr=out, start_new_session=True,
                env=self._env())
        finally:
            out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                diag = self._start_diag()
                self.proc = None
                if "Address already in use" in diag:
                    return False
                raise DovecotError("dovecot exited with %d at start:\n%s"
                                   % (rc, diag))
            if (os.path.exists(os.path.join(self.base_dir, "master.pid")) and
                    all(port_accepts(p) for p in
                        (self.imap_port, self.pop3_port, self.lmtp_port))):
                return True
            time.sleep(0.05)
        diag = self._start_diag()
        self._kill()
        raise DovecotError("dovecot did not come up in %.0fs:\n%s"
                           % (timeout, diag))

    def _start_diag(self):
        parts = []
        for path in (self.master_out, self.log_path):
            try:
                with open(path, errors="replace") as f:
                    text = f.read()[-4000:]
            except OSError:
                continue
            if text.strip():
                parts.append("--- %s\n%s" % (path, text))
        return "\n".join(parts) or "(no output)"

    @property
    def master_pid(self):
        return self.proc.pid if self.proc is not None else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """doveadm stop, wait for the master to exit, kill on timeout."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            # doveadm stop polls until the master pid is gone; the master is
            # our child, so reap it meanwhile or doveadm sees a zombie
            stopper = subprocess.Popen(
                [DOVEADM, "-c", self.conf, "stop"], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=self._env())
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            try:
                stopper.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                stopper.kill()
                stopper.wait()
        self._kill()

    def _kill(self):
        if self.proc is None:
            return
        # the master runs in its own session: this reaches every process
        # of the instance, including any it left behind
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError as e:
            if e.errno != errno.ESRCH:
                raise
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None

    def close(self, failed=False):
        """Stop and remove the temp root (kept per AW_KEEP)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.stop()
        finally:
            # undo what faults did outside the tree (mounts) before rmtree
            for fn in reversed(getattr(self, "_cleanups", [])):
                try:
                    fn()
                except Exception as e:
                    print("awtest: cleanup failed: %s" % e, file=sys.stderr)
            with _live_lock:
                _live.discard(self)
            keep = os.environ.get("AW_KEEP", "")
            if keep == "always" or (failed and keep not in ("", "0")):
                print("awtest: kept %s" % self.root, file=sys.stderr)
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    def add_cleanup(self, fn):
        """Run fn() when the instance is closed, before its tree goes."""
        if not hasattr(self, "_cleanups"):
            self._cleanups = []
        self._cleanups.append(fn)

    def reload(self, timeout=10.0, **changes):
        """Rewrite the config (applying changes to users/plugin/extra_conf/
        rules/mail_debug attributes if given) and reload; waits for the
        master to log the reload."""
        for k, v in changes.items():
            if k not in ("plugin", "extra_conf", "rules", "mail_debug"):
                raise TypeError("reload() cannot change %r" % k)
            setattr(self, k, v)
        self.write_config()
        before = self.log_text("error").count("reloading configuration")
        # processes of the old config that exit on reload: until they are
        # gone an old one may still take a new connection and answer 421
        old = {pid for svc in RELOAD_RESTARTED
               for pid in self.service_pids(svc)}
        self.doveadm(["reload"], check=True)
        self.wait_for(lambda: self.log_text("error").count(
            "reloading configuration") > before, timeout,
            "dovecot did not log the reload")
        self.wait_for(lambda: not any(os.path.exists("/proc/%d" % p)
                                      for p in old), timeout,
                      "old processes did not exit after reload (a client "
                      "still connected?)")

    # ---- logs ----

    def log_mark(self):
        """A mark for log_text(since=...): the current log sizes."""
        return {p: os.path.getsize(p) for p in
                (self.log_path, self.info_log_path)}

    def log_text(self, which="all", since=None):
        """which: "error" (log_path: warnings and worse), "info"
        (info_log_path: info and debug) or "all" (both, error log first)."""
        paths = {"error": [self.log_path], "info": [self.info_log_path],
                 "all": [self.log_path, self.info_log_path]}[which]
        out = []
        for p in paths:
            with open(p, "rb") as f:
                if since is not None:
                    f.seek(since.get(p, 0))
                out.append(f.read().decode("utf-8", "replace"))
        return "".join(out)

    def errors_in_log(self, allow=None, since=None):
        """Lines with Error:/Fatal:/Panic:, minus those matching allow
        (a regex string, compiled pattern or list of them)."""
        if allow is None:
            allow = []
        elif isinstance(allow, (str, re.Pattern)):
            allow = [allow]
        allow = [re.compile(a) if isinstance(a, str) else a for a in allow]
        return [ln for ln in self.log_text("all", since).splitlines()
                if LOG_PROBLEM_RE.search(ln) and
                not any(a.search(ln) for a in allow)]

    def spool_mails(self, subdirs=("new", "retry", "cur")):
        """The bytes of the alert mails in the spool's subdirs (by default
        those still waiting: queued, deferred or being delivered), in name
        order per subdir; a file that moved on while it was listed and
        read is left out."""
        out = []
        for sub in subdirs:
            d = os.path.join(self.alertwall_spool, sub)
            for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                try:
                    with open(os.path.join(d, name), "rb") as f:
                        out.append(f.read())
                except FileNotFoundError:
                    continue
        return out

    def sidecar_records(self, path=None):
        """The alertwall_log as a list of dicts ([] when it does not exist).
        Raises DovecotError on a line that is not one JSON object, and on
        a last line without newline (a torn record)."""
        path = path or self.alertwall_log
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        if data and not data.endswith(b"\n"):
            raise DovecotError("%s: last record lacks its newline: %r"
                               % (path, data[-200:]))
        records = []
        for n, line in enumerate(data.split(b"\n")[:-1], 1):
            try:
                rec = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise DovecotError("%s line %d is not valid JSON (%s): %r"
                                   % (path, n, e, line[:300])) from None
            if not isinstance(rec, dict):
                raise DovecotError("%s line %d is not a JSON object: %r"
                                   % (path, n, line[:300]))
            records.append(rec)
        return records

    @staticmethod
    def wait_for(predicate, timeout=5.0, message=None, interval=0.05):
        """Poll predicate until it returns a true value (returned); on
        timeout raise AssertionError (a test failure, not an error)."""
        value = wait_until(predicate, timeout, interval)
        if not value:
            raise AssertionError(
                message or "condition not met within %.1fs" % timeout)
        return value

    # ---- tools ----

    def _env(self):
        env = dict(os.environ)
        env.pop("POSIXLY_CORRECT", None)  # doveadm relies on permuted getopt
        if PRELOAD:
            env["LD_PRELOAD"] = PRELOAD
        return env

    def doveadm(self, args, user=None, input=None, check=False, debug=False,
                timeout=30):
        """Run doveadm -c CONF [-D] ARGS [-u USER]. args: list or string
        (split on whitespace). -u USER goes at the end (doveadm permutes
        options), or before a "--" in args. Returns CompletedProcess with
        str stdout/stderr; check=True raises DovecotError on non-zero exit."""
        if isinstance(args, str):
            args = args.split()
        args = list(args)
        if user is not None:
            pos = args.index("--") if "--" in args else len(args)
            args[pos:pos] = ["-u", user]
        cmd = [DOVEADM, "-c", self.conf] + (["-D"] if debug else []) + args
        return self._run(cmd, input, check, timeout)

    def doveconf(self, args=(), check=True, timeout=30):
        """Run doveconf -c CONF ARGS; returns CompletedProcess."""
        if isinstance(args, str):
            args = args.split()
        return self._run([DOVECONF, "-c", self.conf] + list(args), None,
                         check, timeout)

    def doveconf_n(self):
        """doveconf -n output (raises DovecotError if doveconf fails)."""
        if not os.path.exists(self.conf):
            self.write_config()
        return self.doveconf(["-n"]).stdout

    def setting(self, name, protocol=None):
        """One setting's value as doveconf sees it (optionally for a
        protocol, e.g. mail_plugins for lmtp)."""
        args = ["-h"]
        if protocol:
            args += ["-f", "protocol=" + protocol]
        return self.doveconf(args + [name]).stdout.strip()

    def _run(self, cmd, input, check, timeout):
        if isinstance(input, str):
            input = input.encode("utf-8")
        p = subprocess.run(cmd, input=input if input is not None else b"",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=self._env())
        p = subprocess.CompletedProcess(
            p.args, p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))
        if check and p.returncode != 0:
            raise DovecotError("%s exited %d\nstdout: %s\nstderr: %s" % (
                " ".join(cmd), p.returncode, p.stdout, p.stderr))
        return p

    def lda_deliver(self, user, msg_bytes, extra_args=(), mail_from=None,
                    timeout=30):
        """dovecot-lda -c CONF -d USER [-f FROM] EXTRA < msg.
        Returns (exit code, stderr text)."""
        if isinstance(msg_bytes, str):
            msg_bytes = msg_bytes.encode("utf-8")
        cmd = [DOVECOT_LDA, "-c", self.conf, "-d", user]
        if mail_from:
            cmd += ["-f", mail_from]
        cmd += list(extra_args)
        p = subprocess.run(cmd, input=msg_bytes, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout,
                           env=self._env())
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    # ---- protocols ----

    def lmtp_connect(self, timeout=30.0, unix=False):
        """An open LMTPClient (after LHLO) on the TCP listener, or with
        unix=True on the unix socket base_dir/lmtp."""
        if unix:
            return LMTPClient(timeout=timeout, path=self.lmtp_socket)
        return LMTPClient("127.0.0.1", self.lmtp_port, timeout)

    def lmtp_send(self, rcpts, msg_bytes, mail_from=DEFAULT_FROM,
                  unix=False):
        """Deliver one message over LMTP. Returns {rcpt: LMTPReply} with the
        per-recipient DATA reply (or the RCPT reply when refused)."""
        with self.lmtp_connect(unix=unix) as c:
            return c.send(rcpts, msg_bytes, mail_from)

    def imap_login(self, user, password=PASSWORD):
        """A logged-in imaplib.IMAP4 (use as context manager to log out)."""
        imap = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=30)
        try:
            imap.login(user, password)
        except Exception:
            imap.shutdown()
            raise
        return imap

    def imap_list(self, user):
        """Names of all of the user's folders ("Alerts/Errors" style)."""
        with self.imap_login(user) as imap:
            typ, data = imap.list('""', "*")
            if typ != "OK":
                raise DovecotError("LIST failed: %r" % (data,))
            return [name for name, _ in _parse_list(data)]

    def imap_fetch_all(self, user, folder="INBOX"):
        """Every message of folder as raw bytes, in UID order."""
        with self.imap_login(user) as imap:
            typ, data = imap.select(_imap_quote(folder), readonly=True)
            if typ != "OK":
                raise DovecotError("SELECT %s for %s failed: %r"
                                   % (folder, user, data))
            if int(data[0]) == 0:
                return []
            typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
            if typ != "OK":
                raise DovecotError("FETCH failed: %r" % (data,))
            msgs = []
            for item in data:
                if isinstance(item, tuple):
                    m = re.search(rb"UID (\d+)", item[0])
                    msgs.append((int(m.group(1)) if m else 0, item[1]))
            return [body for _, body in sorted(msgs)]

    def pop3_login(self, user, password=PASSWORD):
        """A logged-in poplib.POP3 (call quit())."""
        pop = poplib.POP3("127.0.0.1", self.pop3_port, timeout=30)
        try:
            pop.user(user)
            pop.pass_(password)
        except Exception:
            pop.close()
            raise
        return pop

    # ---- processes ----

    def service_pids(self, executable):
        """Live processes of this instance (children of its master) whose
        binary is named executable ("imap", "pop3", "lmtp", ...)."""
        if self.master_pid is None:
            return []
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid != self.master_pid:
                    continue
                exe = os.readlink("/proc/%s/exe" % entry)
            except (OSError, ValueError, IndexError):
                continue
            if os.path.basename(exe) == executable:
                pids.append(int(entry))
        return sorted(pids)

    def process_title(self, pid):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                return f.read().replace(b"\0", b" ").decode().strip()
        except OSError:
            return ""

    def instance_pids(self):
        """All live processes of this instance except the master."""
        if self.master_pid is None:
            return []
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields: state ppid pgrp session ...
            if (int(fields[3]) == self.master_pid and
                    int(entry) != self.master_pid and fields[0] != "Z"):
                pids.append(int(entry))
        return sorted(pids)

    def connection_pids(self, sock, executable=None):
        """Processes of this instance holding the server end of our client
        TCP socket sock (e.g. imaplib's imap.sock), optionally only those
        whose binary is named executable."""
        client = sock.getsockname()
        server = sock.getpeername()
        inode = None
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                lport = int(parts[1].split(":")[1], 16)
                rport = int(parts[2].split(":")[1], 16)
                if lport == server[1] and rport == client[1]:
                    inode = parts[9]
                    break
        if inode is None or inode == "0":
            return []
        target = "socket:[%s]" % inode
        pids = []
        for pid in self.instance_pids():
            try:
                if executable is not None and os.path.basename(
                        os.readlink("/proc/%d/exe" % pid)) != executable:
                    continue
                fds = os.listdir("/proc/%d/fd" % pid)
                if any(os.readlink("/proc/%d/fd/%s" % (pid, fd)) == target
                       for fd in fds):
                    pids.append(pid)
            except OSError:
                continue
        return pids

    def connection_pid(self, sock, executable, timeout=5.0):
        """The one process of binary executable serving client socket sock
        (waits for a login process to hand the connection over)."""
        pids = self.wait_for(lambda: self.connection_pids(sock, executable),
                             timeout, "no %s process holds the server end "
                             "of %r" % (executable, sock))
        if len(pids) != 1:
            raise DovecotError("several %s processes hold one connection: "
                               "%r" % (executable, pids))
        return pids[0]

    @staticmethod
    def mapped_files(pid):
        """Set of file paths mapped into process pid."""
        paths = set()
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    paths.add(parts[5].strip())
        return paths

    @staticmethod
    def mapped_modules(pid):
        """Basenames of the Dovecot modules mapped into process pid."""
        return {os.path.basename(p) for p in
                PrivateDovecot.mapped_files(pid)
                if p.startswith(MODULEDIR + "/")}


class DovecotTestCase(unittest.TestCase):
    """TestCase with start_dovecot(): the instance is closed after the
    test, its temp root kept when the test failed and AW_KEEP=1, and its
    error log printed on failure."""

    def start_dovecot(self, **kwargs):
        dc = PrivateDovecot(**kwargs)
        self.addCleanup(self._close_dovecot, dc)
        dc.start()
        return dc

    def _test_failed(self):
        # unittest internals: _outcome.success turns False once the test
        # method failed (python >= 3.11; older ones record errors instead)
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return True
        if hasattr(outcome, "success"):
            return not outcome.success
        return any(exc is not None for _, exc in getattr(outcome, "errors",
                                                         []))

    def _close_dovecot(self, dc):
        failed = self._test_failed()
        if failed:
            try:
                tail = dc.log_text("error")[-3000:]
            except OSError:
                tail = ""
            if tail.strip():
                sys.stderr.write("\n--- %s log (%s) ---\n%s\n" % (
                    dc.instance_name, dc.log_path, tail))
        dc.close(failed=failed)

    def assertNoLogErrors(self, dc, allow=None, since=None):
        errors = dc.errors_in_log(allow, since)
        self.assertEqual(errors, [], "Dovecot log %s has error lines:\n%s"
                         % (dc.log_path, "\n".join(errors)))
