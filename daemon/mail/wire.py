"""Commands sent and their replies read straight off imaplib's connection, several at a time.

imaplib reads a reply line by line through regular expressions, a dictionary of untagged
responses and a debug hook per line: about 40 µs a message of a header FETCH, more than all
of Kithkin's own work. Here a command is written with a tag of imaplib's sequence and its
reply read with two calls per message (the line announcing the literal, and the literal),
into the very shapes imaplib hands over: `(head, literal)` tuples and `bytes` tails of the
untagged responses of the types asked for, so the reply readers of responses.py serve both.

Commands can be pipelined: `send` several, then `collect` each reply in order (RFC 3501
§5.5: a server answers in order whatever it does meanwhile). That hides the round trip of a
distant server behind the transfer of the replies before it. Those sent `corked` go in one
write: one segment, not one per command (Nagle's algorithm may hold the later ones back
until the first is acknowledged). `turns` counts the times the client waited for the
server after sending: the round trips a distant server costs.

Failures are imaplib's: `IMAP4.abort` for a broken connection (EOF, BYE, a line that is not
IMAP, one longer than MAX_LINE), `IMAP4.error` for a NO or BAD. After an abort the replies
still outstanding are lost with the connection: the caller reconnects. After a NO or BAD
the connection is fine and the replies after it can still be collected.
"""

from __future__ import annotations

import imaplib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from kithkin.daemon.mail.responses import FETCH_LINE, FETCH_TAIL_LINE, UsualFetch

MAX_LINE = 1_000_000  # bytes of one reply line outside literals, as imaplib's _MAXLINE
MAX_LITERAL = 64 * 1024 * 1024  # bytes of one literal; a header is read up to 256 KB
MAX_PEEK = 1 << 16  # bytes looked at in the connection's buffer at once (it holds 8 KB)
_LITERAL = re.compile(rb"\{(\d+)\}\r\n$")
_UNTAGGED = re.compile(rb"\* (\d+ )?([A-Za-z-]+)\b ?")


@dataclass
class Reply:
    """A command's untagged responses of the types asked for, kind -> data in imaplib's
    shapes (`* 3 EXISTS` is `b"3"`), and the text of its tagged OK (`[READ-ONLY] ...`)."""

    untagged: dict[bytes, list[Any]] = field(default_factory=dict)
    text: bytes = b""

    def of(self, kind: bytes) -> list[Any]:
        return self.untagged.get(kind, [])


class Wire:
    """The tags and replies of the commands sent over one imaplib connection."""

    def __init__(self, imap: imaplib.IMAP4) -> None:
        self.imap = imap
        self.turns = 0  # how often the client waited for a reply after sending
        self.broken = False  # an abort was raised: nothing more can be read or sent here
        self._sent = False
        self._corks = 0
        self._unsent: list[bytes] = []

    def send(self, command: bytes) -> bytes:
        """Write one command (without tag and line end); returns its tag, for `collect`."""
        tag: bytes = self.imap._new_tag()
        self.imap.tagged_commands.pop(tag, None)
        line = tag + b" " + command + b"\r\n"
        self._sent = True
        if self._corks:
            self._unsent.append(line)
        else:
            self._write(line)
        return tag

    @contextmanager
    def corked(self) -> Iterator[None]:
        """The commands sent within go to the server together, in one write at the end."""
        self._corks += 1
        try:
            yield
        finally:
            self._corks -= 1
            if not self._corks:
                self.flush()

    def flush(self) -> None:
        """Write the commands sent corked and not written yet."""
        if self._unsent:
            data, self._unsent = b"".join(self._unsent), []
            self._write(data)

    def _write(self, data: bytes) -> None:
        try:
            self.imap.send(data)
        except OSError as exc:
            self.broken = True
            raise imaplib.IMAP4.abort(f"socket error: {exc}") from None

    def collect(self, tag: bytes, *wanted: bytes) -> Reply:
        """Read the reply of `tag` (the replies of earlier tags must have been read). Its
        untagged responses of the kinds `wanted` (FETCH, ESEARCH, STATUS, OK...) are kept,
        the others (EXPUNGE, FLAGS...) passed over."""
        self.flush()
        if self._sent:
            self.turns += 1
            self._sent = False
        try:
            return self._reply(tag, wanted)
        except imaplib.IMAP4.abort:
            self.broken = True
            raise

    def collect_headers(self, tag: bytes) -> Reply:
        """`collect(tag, b"FETCH")` of a header FETCH, its responses of the usual shape read
        straight off the connection's buffer as `UsualFetch` items (see `_read_usual`)."""
        self.flush()
        if self._sent:
            self.turns += 1
            self._sent = False
        try:
            return self._reply(tag, (b"FETCH",), usual=True)
        except imaplib.IMAP4.abort:
            self.broken = True
            raise

    def _reply(self, tag: bytes, wanted: tuple[bytes, ...], *, usual: bool = False) -> Reply:
        reply = Reply()
        prefix = tag + b" "
        peek = getattr(self.imap.file, "peek", None) if usual else None
        fetched = reply.untagged.setdefault(b"FETCH", []) if peek is not None else []
        while True:
            if peek is not None:
                self._read_usual(peek, fetched)
            line = self._line()
            if line.startswith(prefix):
                status, _, text = line[len(prefix) :].rstrip(b"\r\n").partition(b" ")
                if status.upper() == b"OK":
                    reply.text = text
                    return reply
                what = (wanted[0] if wanted else b"command").decode("ascii", "replace")
                if status.upper() in (b"NO", b"BAD"):
                    raise imaplib.IMAP4.error(f"{what} failed: {status!r} {text[:160]!r}")
                raise imaplib.IMAP4.abort(f"unexpected tagged reply: {line[:80]!r}")
            match = _UNTAGGED.match(line)
            if match is None:
                raise imaplib.IMAP4.abort(f"unexpected line: {line[:80]!r}")
            kind = match.group(2).upper()
            if kind == b"BYE":
                raise imaplib.IMAP4.abort(f"server said BYE: {line[:120]!r}")
            number = (match.group(1) or b"").rstrip()
            rest = line[match.end() :]
            if number and rest.rstrip(b"\r\n"):
                rest = number + b" " + rest  # `* 1 FETCH (...)` is b"1 (...)", as imaplib has it
            items = self._with_literals(rest if rest.rstrip(b"\r\n") else number)
            if kind in wanted:
                reply.untagged.setdefault(kind, []).extend(items)

    def _with_literals(self, head: bytes) -> list[Any]:
        """One untagged response: `head` up to its first literal, the literal, what follows
        (which may announce another literal), as imaplib splits them."""
        pieces: list[Any] = []
        while True:
            literal = _LITERAL.search(head)
            if literal is None:
                pieces.append(head.rstrip(b"\r\n"))
                return pieces
            body = read_literal(self.imap, int(literal.group(1)))
            pieces.append((head[: literal.end() - 2], body))
            head = self._line()

    def _line(self) -> bytes:
        return read_line(self.imap)

    def _read_usual(self, peek: Any, into: list[Any]) -> None:
        """The usual FETCH responses (`FETCH_LINE`, literal, `FETCH_TAIL_LINE`) that lie whole
        in the connection's buffer, matched in place, then consumed; at the first anything
        else (another line, a response cut by the buffer's end) `_reply` reads on, line by
        line. Nothing past what was matched is consumed."""
        file = self.imap.file
        while True:
            try:
                buffer: bytes = peek(MAX_PEEK)  # one read from the socket if the buffer is empty
            except OSError as exc:
                raise imaplib.IMAP4.abort(f"socket error: {exc}") from None
            position, end = 0, len(buffer)
            while True:
                head = FETCH_LINE.match(buffer, position)
                if head is None:
                    break
                start = head.end()
                stop = start + int(head["size"])
                if stop > end:
                    break
                tail = FETCH_TAIL_LINE.match(buffer, stop)
                if tail is None:
                    break
                into.append(UsualFetch(head, buffer[start:stop], tail))
                position = tail.end()
            if position:
                file.read(position)
            if position < end or not position:
                return


def read_line(imap: imaplib.IMAP4) -> bytes:
    """One reply line of at most MAX_LINE bytes, ending with its line break."""
    try:
        line = cast(bytes, imap.file.readline(MAX_LINE + 1))
    except OSError as exc:
        raise imaplib.IMAP4.abort(f"socket error: {exc}") from None
    if not line:
        raise imaplib.IMAP4.abort("socket error: EOF")
    if len(line) > MAX_LINE:
        raise imaplib.IMAP4.abort(f"a reply line of more than {MAX_LINE} bytes")
    if not line.endswith(b"\n"):
        raise imaplib.IMAP4.abort("socket error: EOF in a line")
    return line


def read_literal(imap: imaplib.IMAP4, size: int) -> bytes:
    """A literal of `size` bytes (at most MAX_LITERAL), read whole."""
    if size > MAX_LITERAL:
        raise imaplib.IMAP4.abort(f"a literal of {size} bytes")
    body = imap.read(size)
    if len(body) < size:
        raise imaplib.IMAP4.abort("socket error: EOF in a literal")
    return body
