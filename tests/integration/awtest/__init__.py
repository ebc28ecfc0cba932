"""awtest: the integration harness for alertwall.

It runs real, private Dovecot instances (own config, base_dir, loopback
ports and temp root) and talks to them over LMTP, IMAP, POP3, dovecot-lda
and doveadm. Tests under tests/integration/ import it; tests/integration/run
discovers and runs them. Stdlib only.
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
    vmail_ids,
)
from . import mime  # noqa: F401
