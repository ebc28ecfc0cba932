"""Real faults for a PrivateDovecot: each injector breaks one user's mail
storage the way production breaks it, and returns a function that heals it.

Used by the integration tests and by tools/demo. Everything happens under the
instance's own temp root; nothing here touches the system's Dovecot.
"""

import fcntl
import os
import subprocess

from . import mime
from .dovecot import PASSWORD

# plugin {} settings the faults need; pass as PrivateDovecot(plugin=...)
PLUGIN_SETTINGS = {
    # a message over this size is refused (quota plugin)
    "quota_max_mail_size": "64k",
}
# config the faults need; pass as PrivateDovecot(extra_conf=...)
EXTRA_CONF = """\
# short lock waits so a held lock fails within the test's patience
mail_max_lock_timeout = 2s
"""


def _deliver_ok(dc, user):
    """Deliver one message so the user's Maildir and indexes exist."""
    msg = mime.make_message(subject="setup", to="%s@example.test" % user)
    replies = dc.lmtp_send([user], msg)
    if replies[user].code != 250:
        raise AssertionError("setup delivery to %s failed: %r" %
                             (user, replies[user]))


def quota_full(dc, user, limit="10K"):
    """Give the user a tiny storage quota; a larger message then fails."""
    fields = dict(dc.users.get(user, {}))
    old = dict(fields)
    fields["quota_rule"] = "*:storage=%s" % limit
    dc.add_user(user, **fields)

    def heal():
        dc.add_user(user, **old)
    return heal


def unreadable_maildir(dc, user):
    """chmod 000 the user's Maildir: every open fails with EACCES."""
    _deliver_ok(dc, user)
    path = dc.user_maildir(user)
    mode = os.stat(path).st_mode & 0o7777
    os.chmod(path, 0)

    def heal():
        os.chmod(path, mode)
    return heal


def corrupt_index(dc, user):
    """Overwrite the header of the user's INBOX dovecot.index with junk.
    Dovecot logs "Corrupted index file" at the next open and rebuilds."""
    _deliver_ok(dc, user)
    imap = dc.imap_login(user)
    try:
        imap.select("INBOX")
        imap.noop()
    finally:
        imap.logout()
    maildir = dc.user_maildir(user)
    path = os.path.join(maildir, "dovecot.index")
    if not os.path.exists(path):
        # small mailboxes keep everything in the transaction log
        path = os.path.join(maildir, "dovecot.index.log")
    # keep the version bytes (else Dovecot just rebuilds quietly) and make
    # the header size impossible
    with open(path, "r+b") as f:
        f.seek(2)
        f.write(b"\xff\xff")

    def heal():
        pass  # Dovecot rebuilds the index itself
    return heal


def held_lock(dc, user):
    """Hold an fcntl write lock on the user's INBOX transaction log, as a
    stuck process would; Dovecot times out waiting for it."""
    _deliver_ok(dc, user)
    path = os.path.join(dc.user_maildir(user), "dovecot.index.log")
    fd = os.open(path, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX)

    def heal():
        fcntl.lockf(fd, fcntl.LOCK_UN)
        os.close(fd)
    return heal


def tiny_tmpfs(dc, user, size="256k"):
    """Mount a tiny tmpfs as the user's home and fill it: the next
    delivery fails with ENOSPC."""
    home = dc.user_home(user)
    subprocess.run(["mount", "-t", "tmpfs", "-o",
                    "size=%s,mode=0700,uid=%d,gid=%d" % (size, dc.uid, dc.gid),
                    "alertwall-test", home], check=True)
    _deliver_ok(dc, user)
    filler = os.path.join(home, "filler")
    try:
        with open(filler, "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass  # full: that is the point

    def heal():
        try:
            os.unlink(filler)
        finally:
            pass
    dc.add_cleanup(lambda: subprocess.run(["umount", "-l", home],
                                          check=False))
    return heal


def bad_userdb(dc, user):
    """Give the user a userdb uid Dovecot refuses: user init fails."""
    fields = dict(dc.users.get(user, {}))
    old = dict(fields)
    fields["uid"] = "1"
    dc.add_user(user, **fields)

    def heal():
        dc.add_user(user, **old)
    return heal


def unreadable_userdb(dc, user):
    """Serve the user from a userdb of their own that the auth process may
    not read, as a userdb backend that fails does: every lookup of the
    user ends in an internal error (LMTP answers 451 4.3.0, dovecot-lda
    exits 75), while the other users are served by the main userdb.
    Call before dc.start(): it adds a userdb {} block. The user must not
    be in dc.users (the main userdb would answer for them)."""
    if dc.proc is not None:
        raise ValueError("unreadable_userdb() must come before start()")
    if user in dc.users:
        raise ValueError("%s is in the main userdb" % user)
    userdb_dir = os.path.join(dc.root, "userdb.d")
    os.makedirs(userdb_dir, mode=0o755, exist_ok=True)
    os.chmod(userdb_dir, 0o755)
    home = dc.user_home(user)
    os.makedirs(home, exist_ok=True)
    os.chown(home, dc.uid, dc.gid)
    path = os.path.join(userdb_dir, user)
    with open(path, "w") as f:
        f.write("%s::%d:%d::%s::\n" % (user, dc.uid, dc.gid, home))
    # auth runs as the unprivileged default_internal_user: open() fails
    os.chmod(path, 0)
    # a passdb of their own, so that the user can log in once healed
    passdb = os.path.join(userdb_dir, "passdb")
    with open(passdb, "a") as f:
        f.write("%s:{PLAIN}%s::::::\n" % (user, PASSWORD))
    os.chmod(passdb, 0o644)
    block = ("passdb {\n  driver = passwd-file\n"
             "  args = scheme=PLAIN username_format=%%u %s\n}\n"
             "userdb {\n  driver = passwd-file\n"
             "  args = username_format=%%u %s/%%u\n}\n"
             % (passdb, userdb_dir))
    if block not in dc.extra_conf:
        dc.extra_conf = dc.extra_conf + "\n" + block

    def heal():
        # passwd-file looks at the file again in the next second
        os.chmod(path, 0o644)
    return heal
