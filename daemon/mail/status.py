"""The replies that say what a folder holds, read from a `Wire` reply: EXAMINE's, STATUS's,
and LIST's lines. Bytes in, values out, no I/O; tested as tables (tests/test_status_replies.py).

A number that is missing, out of range or not a number is None here; what that means (a
folder that cannot be synced, an UIDNEXT to ignore) is the session's to say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from imapclient.imap_utf7 import decode as decode_utf7
from imapclient.response_parser import parse_response

from kithkin.daemon.mail.records import MALFORMED
from kithkin.daemon.mail.responses import MAX_UID
from kithkin.daemon.mail.wire import Reply

_CODE = re.compile(rb"^\[([A-Za-z-]+)(?: ([^\]]*))?\]")
_STATUS_ITEMS = re.compile(rb"\(([A-Za-z0-9 \t]*)\)\s*$")


@dataclass(frozen=True)
class Examined:
    """What an EXAMINE reply said: each number None when missing or invalid."""

    uidvalidity: int | None
    uidnext: int | None
    uidnext_sent: bool  # an UIDNEXT was there, valid or not
    exists: int | None
    read_only: bool


@dataclass(frozen=True)
class Status:
    """A STATUS reply's MESSAGES, UIDNEXT and UIDVALIDITY (None when missing or invalid)."""

    messages: int | None
    uidnext: int | None
    uidvalidity: int | None


def number(value: object, low: int, high: int) -> int | None:
    """A count or id from a reply, if it is a whole number in range."""
    if isinstance(value, bytes):
        value = value.strip()
    if not isinstance(value, bytes | str | int) or (
        not isinstance(value, int) and not value.isdigit()
    ):
        return None
    try:
        found = int(value)
    except MALFORMED:
        return None
    return found if low <= found <= high else None


def examined(reply: Reply) -> Examined:
    """`* 3 EXISTS`, `* OK [UIDVALIDITY 7]`, `* OK [UIDNEXT 9]` and `OK [READ-ONLY]`."""
    codes: dict[bytes, bytes] = {}
    for text in [*reply.of(b"OK"), reply.text]:
        if isinstance(text, bytes) and (code := _CODE.match(text)):
            codes.setdefault(code.group(1).upper(), code.group(2) or b"")
    exists = [item for item in reply.of(b"EXISTS") if isinstance(item, bytes)]
    return Examined(
        uidvalidity=number(codes.get(b"UIDVALIDITY"), 1, MAX_UID - 1),
        uidnext=number(codes.get(b"UIDNEXT"), 1, MAX_UID),
        uidnext_sent=b"UIDNEXT" in codes,
        exists=number(exists[-1], 0, MAX_UID) if exists else None,
        read_only=b"READ-ONLY" in codes,
    )


def statuses(data: list[Any]) -> dict[str, Status]:
    """STATUS responses (`"Sent" (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 7)`, the name maybe a
    literal), by folder name decoded from modified UTF-7. The first one of a name counts:
    a server may answer pipelined STATUS commands in any order, so names, not places, say
    which is whose."""
    found: dict[str, Status] = {}
    index = 0
    while index < len(data):
        item = data[index]
        if isinstance(item, tuple):  # `{5}` + `INBOX`, then ` (MESSAGES ...)`
            raw_name = item[1]
            tail = data[index + 1] if index + 1 < len(data) else b""
            index += 2
        else:
            raw_name, tail = b"", item
            index += 1
        if not isinstance(tail, bytes) or not isinstance(raw_name, bytes):
            continue
        items = _STATUS_ITEMS.search(tail)
        if items is None:
            continue
        if not raw_name:
            raw_name = _unquoted(tail[: items.start()].strip())
        try:
            name = decode_utf7(raw_name)
        except (*MALFORMED, UnicodeError):
            continue
        found.setdefault(name, _status_items(items.group(1)))
    return found


def _unquoted(text: bytes) -> bytes:
    if len(text) >= 2 and text[:1] == b'"' and text[-1:] == b'"':
        return re.sub(rb"\\(.)", rb"\1", text[1:-1])
    return text


def _status_items(text: bytes) -> Status:
    values: dict[bytes, bytes] = {}
    words = text.split()
    for key, value in zip(words[::2], words[1::2], strict=False):
        values.setdefault(key.upper(), value)
    return Status(
        messages=number(values.get(b"MESSAGES"), 0, MAX_UID),
        uidnext=number(values.get(b"UIDNEXT"), 1, MAX_UID),
        uidvalidity=number(values.get(b"UIDVALIDITY"), 1, MAX_UID - 1),
    )


def listed_folders(reply: Reply) -> list[tuple[Any, Any, str]]:
    """LIST lines -> (attributes, delimiter, name) triples, names decoded from modified
    UTF-7 (RFC 3501 §5.1.3), as imapclient's list_folders gives them. Each response is read
    on its own: what follows its name (an extended LIST's data items, RFC 5258 §3) is
    passed over and never taken for the next folder."""
    folders = []
    for response in _responses(reply.of(b"LIST")):
        parsed = parse_response([item for item in response if item not in (b"", None)])
        if len(parsed) < 3:
            continue
        flags, delimiter, name = parsed[:3]
        if isinstance(name, int):
            name = str(name)  # a quoted number, parsed as one
        elif isinstance(name, bytes):
            name = decode_utf7(name)
        folders.append((flags, delimiter, name))
    return folders


def _responses(items: list[Any]) -> list[list[Any]]:
    """A reply's untagged items, one list per response: a response's literals come as
    (head, literal) pairs and it ends with the bytes after its last literal (wire.py)."""
    responses, current = [], []
    for item in items:
        current.append(item)
        if not isinstance(item, tuple):
            responses.append(current)
            current = []
    if current:
        responses.append(current)
    return responses
