"""IDLE (RFC 2177): wait on the examined folder until the server says something changed.

The service idles on INBOX between polls, so new mail (a reply to the summary above all) is
read within seconds instead of at the next poll. One `Idle` is one IDLE command on a
session's connection: `Idle.start(session)` sends it and reads up to the server's `+`
continuation; the caller then waits until `fileno()` is readable (beside its own wake-up
pipe, so a signal ends the wait at once) and calls `changes()`, which reads what has arrived
without blocking and says whether the folder changed (EXISTS, RECENT, EXPUNGE, FETCH);
`done()` ends the command (DONE, then the tagged OK). RFC 2177 asks a client to end IDLE
and send it again at least every 29 minutes, before a server's inactivity logout; when, is
the caller's business.

IDLE changes nothing on the server: it is sent on a folder opened with EXAMINE, and only
listens. Lines are read with wire.py's bounds (MAX_LINE; a literal of at most MAX_LITERAL,
say in an untagged FETCH of flags); a BYE, EOF, a timeout, a line that is not IMAP or a
refused IDLE raises MailboxError naming the server, and the connection is then not to be
used again: the caller reconnects.
"""

from __future__ import annotations

import imaplib
import re
import select
import ssl

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.mail.wire import read_line, read_literal

# Untagged responses that mean the examined folder changed (RFC 2177 §3, RFC 3501 §7.3-7.4).
CHANGES = frozenset({b"EXISTS", b"RECENT", b"EXPUNGE", b"FETCH"})
_UNTAGGED = re.compile(rb"\* (?:\d+ )?([A-Za-z-]+)")
_LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


class Idle:
    """One IDLE command in progress on `session`'s connection."""

    def __init__(self, session: ImapSession) -> None:
        self.session = session
        self.imap: imaplib.IMAP4 = session.wire.imap
        self.tag: bytes | None = None  # while the command runs
        self.changed = False  # a change was reported since start

    @classmethod
    def start(cls, session: ImapSession) -> Idle:
        """Send IDLE on the examined folder; returns once the server has said `+`."""
        session.headers.drain()  # nothing of an earlier command may still be on its way
        idle = cls(session)
        idle.tag = session.send("IDLE", b"IDLE")
        with session.guard("IDLE"):
            while True:
                kind, line = idle._response()
                if kind == b"+":
                    return idle
                if kind == b"TAGGED":  # NO or BAD: the server will not idle after all
                    idle.tag = None
                    text = line.rstrip(b"\r\n").decode("ascii", "replace")[:160]
                    raise MailboxError(f"{session.where}: IDLE refused: {text}")

    def fileno(self) -> int:
        """The socket to wait on: readable when the server has said something."""
        return self.imap.sock.fileno()

    def pending(self) -> bool:
        """Whether a reply has begun to arrive (already buffered, or on the socket), without
        blocking. A socket at EOF counts: reading it then raises."""
        sock = self.imap.sock
        timeout = sock.gettimeout()
        sock.settimeout(0.0)  # the buffer is filled only from what has arrived
        peek = getattr(self.imap.file, "peek", None)  # a BufferedReader's, as imaplib makes
        try:
            if peek is not None and peek(1):
                return True
        except (BlockingIOError, ssl.SSLWantReadError):
            pass
        except OSError:
            return True  # let the read that follows raise it
        finally:
            sock.settimeout(timeout)
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)

    @property
    def over(self) -> bool:
        """The command has ended (DONE answered, or the server ended it with its OK)."""
        return self.tag is None

    def changes(self) -> bool:
        """Read what has arrived, without waiting for more; True if the folder changed since
        the command was sent. MailboxError if the connection broke or the server left. A
        server may end the IDLE itself with its tagged OK: then `over` is true."""
        with self.session.guard("IDLE"):
            while not self.over and self.pending():
                kind, line = self._response()
                if kind == b"+":
                    raise imaplib.IMAP4.abort(f"unexpected reply during IDLE: {line[:80]!r}")
                if kind == b"TAGGED":
                    self.tag = None
                    self._check_ok(line)
        return self.changed

    def done(self, *, timeout: float | None = None) -> bool:
        """End the command: DONE, then its tagged OK (what arrives before it still counts as
        a change). True if the folder changed while idling. `timeout`: seconds for the
        reply, instead of the connection's (a service stopping does not wait long)."""
        if self.tag is None:
            return self.changed
        self.session.commands.append("DONE")
        sock = self.imap.sock
        previous = sock.gettimeout()
        with self.session.guard("DONE"):
            if timeout is not None:
                sock.settimeout(timeout)
            try:
                self.imap.send(b"DONE\r\n")
                while True:
                    kind, line = self._response()
                    if kind == b"TAGGED":
                        break
                    if kind == b"+":
                        raise imaplib.IMAP4.abort(f"unexpected reply to DONE: {line[:80]!r}")
            finally:
                self.tag = None
                if timeout is not None:
                    sock.settimeout(previous)
        self._check_ok(line)
        return self.changed

    def _check_ok(self, tagged: bytes) -> None:
        if [word.upper() for word in tagged.split(b" ", 2)[1:2]] != [b"OK"]:
            text = tagged.rstrip(b"\r\n").decode("ascii", "replace")[:160]
            raise MailboxError(f"{self.session.where}: IDLE ended badly: {text}")

    # --- reading --------------------------------------------------------------------------

    def _response(self) -> tuple[bytes, bytes]:
        """One whole response (with any literals in it): its kind (`+`, TAGGED, or the
        untagged kind) and its first line. Notes a change; raises on BYE or garbage."""
        line = self._line()
        head, rest = line, line
        while (literal := _LITERAL.search(rest)) is not None:
            read_literal(self.imap, int(literal.group(1)))
            rest = self._line()
        if head.startswith(b"+"):
            return b"+", head
        if self.tag is not None and head.startswith(self.tag + b" "):
            return b"TAGGED", head
        match = _UNTAGGED.match(head)
        if match is None:
            raise imaplib.IMAP4.abort(f"unexpected line: {head[:80]!r}")
        kind = match.group(1).upper()
        if kind == b"BYE":
            raise imaplib.IMAP4.abort(f"server said BYE: {head[:120]!r}")
        if kind in CHANGES:
            self.changed = True
        return kind, head

    def _line(self) -> bytes:
        return read_line(self.imap)
