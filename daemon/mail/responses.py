"""The replies of the commands the sync sends, read from imaplib's raw data: bytes in,
values out, no I/O. Tested as tables of reply shapes (tests/test_imap_fetch.py).

- header FETCH replies: the usual shape (one header literal per message, in any order of
  items) by a fast reader; anything else by imapclient's general parser;
- `FETCH n:m (UID)` lines and ESEARCH replies, listing the UIDs of a folder.
"""

from __future__ import annotations

import re
from typing import Any

from imapclient.response_parser import parse_fetch_response

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.connect import MALFORMED, NETWORK_ERRORS
from kithkin.daemon.mail.records import FetchedHeader

MAX_UID = 2**32  # RFC 3501: UIDs and UIDVALIDITY are 32-bit


_LISTED_UID = re.compile(rb"^\d+ \(.*?\bUID (\d+)", re.IGNORECASE)
_FETCH_HEAD = re.compile(rb"\d+ \((.*)\{(\d+)\}", re.DOTALL)
_FETCH_UID = re.compile(rb"\bUID (\d+)")
_FETCH_DATE = re.compile(rb'\bINTERNALDATE "([^"]*)"')


def fast_fetch_headers(data: list[Any], wanted: set[int]) -> list[FetchedHeader] | None:
    """Read `(head, literal), tail` items of a header FETCH without imapclient's lexer.

    Returns None as soon as anything looks unusual (no literal, a literal that is not the
    header section, no UID), so the caller can use the general parser instead.
    """
    found: dict[int, FetchedHeader] = {}
    index = 0
    while index < len(data):
        item = data[index]
        if not isinstance(item, tuple) or len(item) != 2:
            return None
        head, literal = item
        match = _FETCH_HEAD.fullmatch(head)
        if match is None:
            return None
        before = match.group(1).rstrip()
        if not before.endswith((b"]", b"]<0>")) or before.rfind(b"BODY[HEADER.FIELDS") < 0:
            return None
        tail = data[index + 1] if index + 1 < len(data) else b""
        if not isinstance(tail, bytes) or b"{" in tail:
            return None
        attributes = before + b" " + tail
        uid = _FETCH_UID.search(attributes)
        if uid is None:
            return None
        date = _FETCH_DATE.search(attributes)
        number = int(uid.group(1))
        if number in wanted:
            found[number] = FetchedHeader(number, literal, date.group(1) if date else None)
        index += 2
    return [found[uid] for uid in sorted(found)]


_ESEARCH_ALL = re.compile(rb"\bALL\s+([0-9:,]+)", re.IGNORECASE)


def esearch_uids(lines: list[Any], where: str, most: int) -> list[int]:
    """`* ESEARCH (TAG "a") UID ALL 1:5,7` -> [1, 2, 3, 4, 5, 7]; no ALL: none found. More
    than `most` UIDs is a garbled reply (`1:4294967295` must not fill the memory)."""
    uids: list[int] = []
    for line in lines:
        if not isinstance(line, bytes):
            raise MailboxError(f"{where}: UID SEARCH: malformed reply")
        found = _ESEARCH_ALL.search(line)
        for part in found.group(1).split(b",") if found else ():
            first, _, last = part.partition(b":")
            try:
                low, high = sorted((int(first), int(last or first)))
            except ValueError:
                raise MailboxError(f"{where}: UID SEARCH: malformed reply") from None
            if high > MAX_UID or len(uids) + high - low >= most:
                raise MailboxError(f"{where}: UID SEARCH: malformed reply")
            uids.extend(range(low, high + 1))
    return uids


def parse_unusual(data: list[Any], wanted: set[int], where: str) -> list[FetchedHeader]:
    """imapclient's general parser, for reply shapes the fast reader does not know; any way
    it fails on a garbled reply is one MailboxError."""
    try:
        return _from_parsed(parse_fetch_response(data, False, True), wanted)
    except (*NETWORK_ERRORS, *MALFORMED, IndexError, KeyError, TypeError, AttributeError):
        raise MailboxError(f"{where}: UID FETCH: malformed reply") from None


def _from_parsed(response: dict[int, Any], wanted: set[int]) -> list[FetchedHeader]:
    fetched = []
    for uid in sorted(uid for uid in response if uid in wanted):
        data = response[uid]
        header = next(
            (
                value
                for key, value in data.items()
                if isinstance(key, bytes) and key.startswith(b"BODY[HEADER.FIELDS")
            ),
            None,
        )
        fetched.append(FetchedHeader(uid, header, data.get(b"INTERNALDATE")))
    return fetched


def listed_uids(lines: list[Any], where: str) -> list[int]:
    """`1 (UID 7)` lines of a `FETCH n:m (UID)` reply -> [7, ...]."""
    uids = []
    for line in lines:
        text = line[0] if isinstance(line, tuple) else line
        match = _LISTED_UID.search(text) if isinstance(text, bytes) else None
        if match is None:
            raise MailboxError(f"{where}: FETCH (UID): malformed reply")
        uids.append(int(match.group(1)))
    return uids
