"""Test messages in and alert mails out, with the stdlib email package.

make_message() builds a plain message with a unique Message-ID (optionally
padded to a size); parse() and the helpers read fetched alert mails
(multipart/report or plain) back into parts and headers.
"""

import email
import email.policy
import email.utils
import itertools
import os

_seq = itertools.count(1)


def new_message_id(domain="test.example"):
    return "<awtest.%d.%d.%s@%s>" % (os.getpid(), next(_seq),
                                    os.urandom(4).hex(), domain)


def make_message(subject="test message", body="Hello from awtest.\n",
                 sender="sender@example.test", to="alice@example.test",
                 message_id=None, size=None, headers=None):
    """A message as CRLF bytes. size pads the body with ASCII lines so the
    whole message is exactly size bytes (ValueError if it cannot be).
    headers: extra (name, value) pairs or dict. Returns bytes; the
    Message-ID used is in the Message-ID header (see message_id())."""
    message_id = message_id or new_message_id()
    hdrs = [("From", sender), ("To", to), ("Subject", subject),
            ("Date", email.utils.formatdate(localtime=False)),
            ("Message-ID", message_id), ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=us-ascii")]
    if headers:
        hdrs += list(headers.items()) if isinstance(headers, dict) \
            else list(headers)
    head = "".join("%s: %s\r\n" % (k, v) for k, v in hdrs).encode("ascii")
    text = body.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    msg = head + b"\r\n" + text
    if size is not None:
        msg = _pad(msg, size)
    return msg


def _pad(msg, size):
    if not msg.endswith(b"\r\n"):
        msg += b"\r\n"
    missing = size - len(msg)
    if missing < 0:
        raise ValueError("message is already %d bytes > %d" % (len(msg),
                                                                size))
    filler = []
    while missing > 80:
        filler.append(b"x" * 78 + b"\r\n")
        missing -= 80
    if missing >= 2:
        filler.append(b"x" * (missing - 2) + b"\r\n")
    out = msg + b"".join(filler)
    if missing == 1:
        # one byte too few for a line: lengthen the last line instead
        out = out[:-2] + b"x\r\n"
    assert len(out) == size
    return out


def message_id(msg_bytes):
    """The Message-ID header of a raw message, or None."""
    return parse(msg_bytes)["Message-ID"]


def parse(msg_bytes):
    """Raw bytes -> email.message.EmailMessage (modern policy)."""
    return email.message_from_bytes(msg_bytes, policy=email.policy.default)


def header(msg_bytes, name):
    """One decoded header (RFC 2047 undone) as str, or None."""
    value = parse(msg_bytes)[name]
    return None if value is None else str(value)


def parts(msg):
    """All leaf parts of a message (bytes or EmailMessage) in order, as
    (content_type, part)."""
    if isinstance(msg, (bytes, bytearray)):
        msg = parse(bytes(msg))
    return [(p.get_content_type(), p) for p in msg.walk()
            if not p.is_multipart()]


def text_of(msg):
    """The decoded text of the first text/plain part ("" if none)."""
    for ctype, part in parts(msg):
        if ctype == "text/plain":
            return part.get_content()
    return ""


def part_of_type(msg, content_type):
    """The first part (leaf or not) of content_type, or None."""
    if isinstance(msg, (bytes, bytearray)):
        msg = parse(bytes(msg))
    for p in msg.walk():
        if p.get_content_type() == content_type:
            return p
    return None


def report_fields(msg, content_type="message/delivery-status"):
    """The machine-readable fields of a multipart/report part as a list of
    dicts (one per field block: per-message, then per-recipient), keys
    lower case. Works for message/delivery-status and similar
    "Name: value" blocks."""
    part = part_of_type(msg, content_type)
    if part is None:
        return []
    if part.is_multipart() or isinstance(part.get_payload(), list):
        # the email package parses delivery-status into header blocks
        return [{k.lower(): str(v) for k, v in block.items()}
                for block in part.get_payload()]
    raw = part.get_payload(decode=True) or b""
    blocks, cur = [], {}
    for line in raw.decode("utf-8", "replace").splitlines():
        if not line.strip():
            if cur:
                blocks.append(cur)
                cur = {}
            continue
        if line[:1] in " \t" and cur:
            last = list(cur)[-1]
            cur[last] += " " + line.strip()
            continue
        name, _, value = line.partition(":")
        cur[name.strip().lower()] = value.strip()
    if cur:
        blocks.append(cur)
    return blocks
