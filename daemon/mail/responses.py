"""The replies of the commands the sync sends, as `Wire` (wire.py) hands them over in imaplib's
shapes: bytes in, values out, no I/O. Tested as tables of reply shapes
(tests/test_fetch_reader.py, tests/test_imap_fetch.py).

- header FETCH replies: the usual shape (one header literal per message, in any order of
  items) by a fast reader; anything else by imapclient's general parser;
- `FETCH n:m (UID)` lines and ESEARCH replies, listing the UIDs of a folder.

A FETCH item without UID is no answer for any UID: for a UID command the server must send
the UID (RFC 3501 6.4.8), so one without is an unsolicited update (7.4.2) of flags, say,
keyed by a message number that says nothing of a UID.
"""

from __future__ import annotations

import re
from typing import Any

from imapclient.response_parser import parse_response

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.connect import NETWORK_ERRORS
from kithkin.daemon.mail.records import MALFORMED, FetchedHeader

MAX_UID = 2**32  # RFC 3501: UIDs and UIDVALIDITY are 32-bit, 1 <= UID < MAX_UID


def _valid_uid(uid: int) -> bool:
    return 0 < uid < MAX_UID


# The fast reader's grammar of the usual shape, strict enough that what it reads the general
# parser reads alike (and what it does not know goes there): the items are `name value` pairs
# apart by one space, a value an atom, a quoted string without escapes, or a list of atoms;
# no control characters, no `%`, `{` or brackets but in the header section's name. UID and
# INTERNALDATE are taken when spelt upper-case, other spellings left to the general parser.
_ATOM = rb'[^\x00-\x20\x7f(){}"\[\]%]++'
_QUOTED = rb'"[^\x00-\x1f\x7f"\\]*+"'
_LIST = rb'\([^\x00-\x1f\x7f(){}"\[\]%]*+\)'
_OTHER = rb"(?!(?i:UID|INTERNALDATE|NIL) )[A-Za-z][A-Za-z0-9.\-]*+ (?:%s|%s|%s)" % (
    _ATOM,
    _QUOTED,
    _LIST,
)
_ITEM = rb"(?:UID (?P<uid>[0-9]++)|INTERNALDATE (?P<date>%s|NIL)|%s)" % (_QUOTED, _OTHER)
_SECTION = rb"BODY\[HEADER\.FIELDS[^\]\x00-\x1f\x7f]*+\](?:<0>)?"
_FETCH_HEAD = re.compile(rb"[0-9]++ \((?:%s )*+%s \{[0-9]++\}" % (_ITEM, _SECTION))
_FETCH_TAIL = re.compile(rb"(?: %s)*+\)" % _ITEM)


# The same shape on the wire, a whole response line and the tail line after its literal, for
# `Wire.collect_headers`, which reads the usual responses straight off the connection's buffer
# into `UsualFetch` items: what imaplib would hand over as `(head, literal), tail`.
FETCH_LINE = re.compile(
    rb"\* (?P<number>[0-9]++) FETCH (?P<rest>\((?:%s )*+%s \{(?P<size>[0-9]++)\})\r\n"
    % (_ITEM, _SECTION)
)
FETCH_TAIL_LINE = re.compile(rb"(?P<tail>(?: %s)*+\))\r*+\n" % _ITEM)


class UsualFetch:
    """One response of the usual shape read off the wire (`FETCH_LINE`, the literal and
    `FETCH_TAIL_LINE`), in place of imaplib's two items."""

    __slots__ = ("head", "literal", "tail")

    def __init__(self, head: re.Match[bytes], literal: bytes, tail: re.Match[bytes]) -> None:
        self.head, self.literal, self.tail = head, literal, tail

    def imaplib_items(self) -> list[Any]:
        """`(head, literal), tail`, as imaplib (and `Wire.collect`) hands the response over."""
        head = self.head
        return [(head["number"] + b" " + head["rest"], self.literal), self.tail["tail"]]


def imaplib_shapes(data: list[Any]) -> list[Any]:
    """The data with every `UsualFetch` in imaplib's shapes."""
    shaped: list[Any] = []
    for item in data:
        if type(item) is UsualFetch:
            shaped += item.imaplib_items()
        else:
            shaped.append(item)
    return shaped


def fast_fetch_headers(data: list[Any], wanted: set[int]) -> list[FetchedHeader] | None:
    """Read `(head, literal), tail` items (and `UsualFetch` items, already matched) of a
    header FETCH without imapclient's lexer.

    Returns None as soon as anything looks unusual (no literal, a literal that is not the
    header section, no UID, a UID twice, anything outside the grammar above), so the caller
    can use the general parser instead.
    """
    found: dict[int, FetchedHeader] = {}
    index, count = 0, len(data)
    while index < count:
        item = data[index]
        if type(item) is UsualFetch:
            start, literal, end = item.head, item.literal, item.tail
            index += 1
        else:
            if type(item) is not tuple or len(item) != 2:
                return None
            head, literal = item
            if type(head) is not bytes or type(literal) is not bytes:
                return None
            matched = _FETCH_HEAD.fullmatch(head)
            tail = data[index + 1] if index + 1 < count else b""
            if matched is None or type(tail) is not bytes:
                return None
            ended = _FETCH_TAIL.fullmatch(tail)
            if ended is None:
                return None
            start, end = matched, ended
            index += 2
        uid = end["uid"] or start["uid"]  # the last one sent, as the general parser has it
        if uid is None:
            return None
        number = int(uid)
        if number in wanted:
            if number in found:
                return None  # the general parser merges the items of one UID
            date = end["date"] or start["date"]
            value = date[1:-1] if date is not None and date != b"NIL" else None
            found[number] = FetchedHeader(number, literal, value)
    return [found[uid] for uid in sorted(found)]


_ESEARCH_ALL = re.compile(rb"\bALL\s+([0-9:,]+)", re.IGNORECASE)
_CORRELATOR = re.compile(rb'\(TAG "([^"\\]*)"\)', re.IGNORECASE)  # RFC 4731's search-correlator


def esearch_of(
    tag: bytes, lines: list[Any], others: set[bytes]
) -> tuple[list[Any], dict[bytes, list[Any]]]:
    """(ESEARCH lines of the command `tag`, those of the commands `others` by tag), told
    apart by their (TAG "...") correlator: with searches pipelined, a server may answer a
    later one before the tagged end of an earlier one. A line that names no other command
    (or none) is `tag`'s."""
    mine: list[Any] = []
    theirs: dict[bytes, list[Any]] = {}
    for line in lines:
        named = _CORRELATOR.match(line) if isinstance(line, bytes) else None
        owner = named.group(1) if named is not None else None
        if owner is not None and owner != tag and owner in others:
            theirs.setdefault(owner, []).append(line)
        else:
            mine.append(line)
    return mine, theirs


def esearch_uids(lines: list[Any], where: str, most: int) -> list[int]:
    """`* ESEARCH (TAG "a") UID ALL 1:5,7` -> [1, 2, 3, 4, 5, 7]; no ALL: none found. More
    than `most` UIDs is a garbled reply (`1:4294967295` must not fill the memory), and so is
    a UID outside 1..2**32-1."""
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
            if low < 1 or high >= MAX_UID or len(uids) + high - low >= most:
                raise MailboxError(f"{where}: UID SEARCH: malformed reply")
            uids.extend(range(low, high + 1))
    return uids


def parse_unusual(data: list[Any], wanted: set[int], where: str) -> list[FetchedHeader]:
    """imapclient's general parser, for reply shapes the fast reader does not know; any way
    it fails on a garbled reply is one MailboxError."""
    try:
        return _from_parsed(_by_uid(imaplib_shapes(data)), wanted)
    except (*NETWORK_ERRORS, *MALFORMED, IndexError, KeyError, TypeError, AttributeError):
        raise MailboxError(f"{where}: UID FETCH: malformed reply") from None


def _by_uid(data: list[Any]) -> dict[int, dict[bytes, Any]]:
    """imapclient's `parse_fetch_response(data, uid_is_key=True)` on its lexer, but for two
    things: an item without UID is dropped, not keyed by its message number; INTERNALDATE is
    kept as sent (bytes, or None for NIL or anything not a string), parsed when asked for as
    the fast reader's is, so that a date that is none (OverflowError) does not refuse the
    reply. Other items are kept as the lexer made them (ENVELOPE, BODY... unconverted)."""
    parsed = parse_response(data)
    if len(parsed) % 2:
        raise ValueError("a message number without its items")
    response: dict[int, dict[bytes, Any]] = {}
    for index in range(0, len(parsed), 2):
        int(parsed[index])  # the message number
        items = parsed[index + 1]
        if not isinstance(items, tuple) or len(items) % 2:
            raise ValueError("FETCH items not in name-value pairs")
        fields: dict[bytes, Any] = {}
        uid: int | None = None
        for at in range(0, len(items), 2):
            name, value = items[at], items[at + 1]
            if not isinstance(name, bytes):
                raise TypeError("a FETCH item name that is not an atom")
            word = name.upper()
            if word == b"UID":
                uid = int(value)
            elif word == b"INTERNALDATE":
                fields[word] = value if isinstance(value, bytes) else None
            else:
                fields[word] = value
        if uid is not None:
            response.setdefault(uid, {}).update(fields)
    return response


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
        if header is not None and not isinstance(header, bytes):
            raise TypeError("a header section that is not a string")  # `... 123`, `(...)`
        fetched.append(FetchedHeader(uid, header, data.get(b"INTERNALDATE")))
    return fetched


_LISTED_UID = re.compile(rb"^\d+ \((?:.*? )?UID (\d+)", re.IGNORECASE)  # an item, not X-UID
# An unsolicited flag update (RFC 3501 7.4.2; CONDSTORE adds MODSEQ), which a server may send
# amid any reply: no UID, so nothing to list.
_FLAG_ITEM = rb"(?:FLAGS \([^()\x00]*\)|MODSEQ \(\d+\))"
_FLAG_UPDATE = re.compile(rb"\d+ \(%s(?: %s)*\)" % (_FLAG_ITEM, _FLAG_ITEM), re.IGNORECASE)


def listed_uids(lines: list[Any], where: str) -> list[int]:
    """`1 (UID 7)` lines of a `FETCH n:m (UID)` reply -> [7, ...]; a flag update without
    UID is passed over; a UID outside 1..2**32-1 is a garbled reply."""
    uids = []
    for line in lines:
        text = line[0] if isinstance(line, tuple) else line
        match = _LISTED_UID.search(text) if isinstance(text, bytes) else None
        if match is None:
            if isinstance(line, bytes) and _FLAG_UPDATE.fullmatch(line):
                continue
            raise MailboxError(f"{where}: FETCH (UID): malformed reply")
        uid = int(match.group(1))
        if not _valid_uid(uid):
            raise MailboxError(f"{where}: FETCH (UID): malformed reply")
        uids.append(uid)
    return uids
