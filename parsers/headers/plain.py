"""A plain header block read straight off its bytes: the addresses, and nothing decoded.

A first sync reads every message of the mailbox, and most are mail of strangers, which is
never decoded. `read_plain` reads a block whose From, To, Cc and Bcc are plain (ASCII
addresses, `addr`, `Name <addr>` or `"Name" <addr>` lists, no comments, groups, escapes,
controls, 8-bit bytes or IDNA labels written in Unicode in those fields) in one pass over
its lines and a regex call a field, so the sync can pass over a stranger's message without
`read_block`, and match a contact's without splitting the block again (`PlainBlock.facts`).

Its addresses are exactly those `read_block` reads, in their normal form, per field, in
order, each once; for anything else it returns None, which sends the block to `read_block`.
tests/test_plain_headers.py holds it to that on tables and generated hostile blocks, and
to `PlainBlock.facts` being `read_block(raw).facts()` without the display names.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.headers.address_list import MAX_ADDRESSES, Address
from kithkin.parsers.headers.facts import MessageFacts, facts_of
from kithkin.parsers.headers.fields import HEADER_FIELDS, charset_hint
from kithkin.parsers.text import decode_bytes

PLAIN_LIMIT = 4096  # bytes of a header block read here; longer ones go to read_block
_MAX_ADDRESS_LENGTH = 512  # as address_list's: a longer entry is dropped as garbage
_KEYS = {
    spelling: key
    for key in (field.lower() for field in HEADER_FIELDS)
    for spelling in (
        spelling.encode("ascii")
        for spelling in (key, key.upper(), key.title(), key.title().replace("-Id", "-ID"))
    )
}
_RECIPIENT_FIELDS = frozenset(("to", "cc", "bcc"))
_CACHED_VALUE = 256  # address fields up to this long are cached: the same few recur
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # after unfolding: no CR, LF or worse
_FOLDED = re.compile(rb"\n[ \t]")  # a line folded onto the next (after CRLF or a bare LF)

_LOCAL = rb"[a-z0-9!#$%&'*+/=^_`{|}~.-]+"
_DOMAIN = rb"[a-z0-9-]+(?:\.[a-z0-9-]+)*+"
_ADDRESS = _LOCAL + rb"@" + _DOMAIN
_ATOM = rb"[^\x00-\x20\"(),;:<>\\\x7f-\xff]++"
_PHRASE = rb'(?:"[^"\\\x00-\x1f\x7f-\xff]*+"|' + _ATOM + rb"(?:[ \t]++" + _ATOM + rb"){0,9}+)?+"
# What address_list's fast path reads as it is (of lowercased ASCII): `addr`, `Name <addr>` or
# `"Name" <addr>` items, one comma apart (a last comma allowed). One item and its comma, the
# address in group 1 (`Name <addr>`) or 2 (a bare `addr`):
_ONE_ITEM = re.compile(
    rb"[ \t]*+(?:" + _PHRASE + rb"[ \t]*+<(" + _ADDRESS + rb")>|(" + _ADDRESS + rb"))[ \t]*+,?"
)


class PlainBlock:
    """The addresses of a plain block's fields (normal form, UTF-8: `read_block`'s, each
    once, in order) and the raw values of its other wanted fields (unfolded, first one)."""

    __slots__ = ("bcc", "cc", "from_", "to", "values")

    def __init__(
        self,
        from_: tuple[bytes, ...],
        to: tuple[bytes, ...],
        cc: tuple[bytes, ...],
        bcc: tuple[bytes, ...],
        values: dict[str, bytes],
    ) -> None:
        self.from_, self.to, self.cc, self.bcc, self.values = from_, to, cc, bcc, values

    def recipients(self) -> tuple[bytes, ...]:
        """To, Cc and Bcc (an address may be in more than one)."""
        return self.to + self.cc + self.bcc

    def text(self, key: str) -> str:
        """A field's value as text, as split_fields decodes it (whether or not the whole
        block is UTF-8); "" when absent."""
        value = self.values.get(key)
        if value is None:
            return ""
        if value.isascii():
            return value.decode("ascii")
        hint = charset_hint(self.values.get("content-type", b""))
        return decode_bytes(value, hint, prefer_utf8=True)

    def facts(self, internaldate: datetime | None = None) -> MessageFacts:
        """`read_block(raw).facts(internaldate)` for this block, but for the display names,
        which are not decoded (every name is "")."""
        return facts_of(
            {key: self.text(key) for key in self.values},
            _nameless(self.from_),
            _nameless(self.to),
            _nameless(self.cc),
            _nameless(self.bcc),
            internaldate,
        )


def read_plain(raw: bytes) -> PlainBlock | None:
    """The block's addresses and field values when it is plain; None when only
    `read_block` can tell."""
    if len(raw) > PLAIN_LIMIT:
        return None
    lines = raw.split(b"\r\n")
    if raw.count(b"\n") != len(lines) - 1:  # a bare LF: LF is the newline
        lines = raw.replace(b"\r\n", b"\n").split(b"\n")
    if b"" in lines:  # the block ends at its first empty line
        del lines[lines.index(b"") :]
    if _FOLDED.search(raw):
        lines = _unfolded(lines)
    values: dict[str, bytes] = {}
    key_of = _KEYS.get
    for line in lines:
        name, colon, value = line.partition(b":")
        key = key_of(name)
        if key is None or not colon:
            if not colon:
                continue
            if not name.isascii() or _CONTROL.search(name):
                return None  # read_block strips Unicode spaces off names: it may be From
            key = key_of(name.strip().lower())
            if key is None:
                continue
        if key not in values:
            values[key] = value
        elif key in _RECIPIENT_FIELDS:  # read_block joins them with commas
            values[key] += b"," + value
    from_ = _field(values.pop("from", None))
    to = _field(values.pop("to", None))
    cc = _field(values.pop("cc", None))
    bcc = _field(values.pop("bcc", None))
    if from_ is None or to is None or cc is None or bcc is None:
        return None
    return PlainBlock(from_, to, cc, bcc, values)


def _unfolded(lines: list[bytes]) -> list[bytes]:
    """Each line that starts with a space or tab joined to the one before it (without the
    newline), as read_block unfolds; the first line stays as it is."""
    joined = lines[:1]
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            joined[-1] += line
        else:
            joined.append(line)
    return joined


def _field(value: bytes | None) -> tuple[bytes, ...] | None:
    if value is None:
        return ()
    return _cached_addresses(value) if len(value) <= _CACHED_VALUE else _addresses(value)


def _addresses(value: bytes) -> tuple[bytes, ...] | None:
    """The addresses of one field's value as read_block reads them; None if not plain."""
    if b"@" not in value:
        return ()  # read_block finds no address in it either
    value = value.lower()
    found: list[bytes] | None
    if b"," not in value:
        one = _ONE_ITEM.fullmatch(value)
        found = [one.group(1) or one.group(2)] if one is not None else None
    else:
        found = _listed(value)
    if found is None:
        return None
    if len(value) > _MAX_ADDRESS_LENGTH:
        found = [address for address in found if len(address) <= _MAX_ADDRESS_LENGTH]
    if b"xn--" in value:
        normal = [_normal_form(address) if b"xn--" in address else address for address in found]
        found = [address for address in normal if address is not None]
    return tuple(dict.fromkeys(found)) if len(found) > 1 else tuple(found)


def _listed(value: bytes) -> list[bytes] | None:
    """The addresses of a list of `_ONE_ITEM`s (the first MAX_ADDRESSES), or None if the
    value is not one: its items must follow one another from its start to its end, each but
    the last ending in its comma."""
    found: list[bytes] = []
    end = 0
    for item in _ONE_ITEM.finditer(value):
        if item.start() != end or (end and value[end - 1] != 44):  # 44: a comma
            return None
        end = item.end()
        found.append(item.group(1) or item.group(2))
    return found[:MAX_ADDRESSES] if end == len(value) else None


# The same From and To lines recur message after message (the owner, regular correspondents).
_cached_addresses = lru_cache(maxsize=4096)(_addresses)


@lru_cache(maxsize=4096)  # the same few correspondents' addresses, message after message
def _normal_form(address: bytes) -> bytes | None:
    """An address with IDNA labels, in normal form (their Unicode), as read_block has it."""
    normal = normalise_address(address.decode("ascii"))
    return normal.encode("utf-8") if normal is not None else None


def _nameless(addresses: tuple[bytes, ...]) -> tuple[Address, ...]:
    return tuple([_address(address) for address in addresses])


@lru_cache(maxsize=65536)
def _address(address: bytes) -> Address:
    return Address("", address.decode("utf-8"))


def plain_addresses(raw: bytes) -> tuple[set[bytes], set[bytes]] | None:
    """(From addresses, To/Cc/Bcc addresses) of a plain block in normal form (`normalise_
    address`), UTF-8 encoded; None when the block is not plain and only `read_block` can tell."""
    block = read_plain(raw)
    if block is None:
        return None
    return set(block.from_), set(block.recipients())
