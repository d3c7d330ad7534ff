"""The addresses of a plain header block, read straight off its bytes: no decoding.

A first sync reads every message of the mailbox, and most are mail of strangers, which is
never decoded. `plain_addresses` says which addresses a block's From, To, Cc and Bcc name
when the block is plain (ASCII addresses, `addr`, `Name <addr>` or `"Name" <addr>` lists, no
comments, groups, escapes, controls, 8-bit bytes or IDNA labels in those fields), in a few
regex calls, so the sync can pass over a stranger's message without `read_block`.

It is a sieve, so it must never hide an address `read_block` would find: for a plain block
it returns every address-like token of those fields (the addresses `read_block` reads, in
their normal form, and maybe a few more: one written as a display name), and for anything
else None, which sends the block to `read_block`. tests/test_plain_headers.py holds it to
that on generated hostile blocks.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kithkin.parsers.addresses import normalise_address

PLAIN_LIMIT = 4096  # bytes of a header block read here; longer ones go to read_block
_ADDRESS_KEYS = {
    spelling: key
    for key in (b"from", b"to", b"cc", b"bcc")
    for spelling in (key, key.upper(), key.title(), key.capitalize())
}
_OTHER_FIELDS = (b"date", b"message-id", b"in-reply-to", b"references", b"subject",
                 b"list-id", b"auto-submitted", b"precedence", b"content-type",
                 b"x-kithkin-summary")  # fmt: skip
_OTHER_NAMES = frozenset(
    spelling
    for name in _OTHER_FIELDS
    for spelling in (name, name.upper(), name.title(), name.title().replace(b"-Id", b"-ID"))
)
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # after unfolding: no CR, LF or worse

_LOCAL = rb"[a-z0-9!#$%&'*+/=^_`{|}~.-]+"
_DOMAIN = rb"[a-z0-9-]+(?:\.[a-z0-9-]+)*+"
_ADDRESS = _LOCAL + rb"@" + _DOMAIN
_ATOM = rb"[^\x00-\x20\"(),;:<>\\\x7f-\xff]++"
_PHRASE = rb'(?:"[^"\\\x00-\x1f\x7f-\xff]*+"|' + _ATOM + rb"(?:[ \t]++" + _ATOM + rb"){0,9}+)?+"
_ITEM = rb"[ \t]*+(?:" + _PHRASE + rb"[ \t]*+<" + _ADDRESS + rb">|" + _ADDRESS + rb")[ \t]*+"
# What address_list's fast path reads as it is (of lowercased ASCII): items, one comma apart.
_PLAIN_LIST = re.compile(_ITEM + rb"(?:," + _ITEM + rb")*+,?")
_ONE_ITEM = re.compile(
    rb"[ \t]*+(?:" + _PHRASE + rb"[ \t]*+<(" + _ADDRESS + rb")>|(" + _ADDRESS + rb"))[ \t]*+,?"
)
_TOKEN = re.compile(rb"(?<![a-z0-9!#$%&'*+/=^_`{|}~.-])" + _ADDRESS)


def plain_addresses(raw: bytes) -> tuple[set[bytes], set[bytes]] | None:
    """(From addresses, To/Cc/Bcc addresses) of a plain block in normal form (`normalise_
    address`), UTF-8 encoded; None when the block is not plain and only `read_block` can tell."""
    if len(raw) > PLAIN_LIMIT:
        return None
    block = raw.replace(b"\r\n", b"\n")
    end = block.find(b"\n\n")
    if end >= 0:
        block = block[:end]
    if b"\n " in block or b"\n\t" in block:
        block = block.replace(b"\n ", b" ").replace(b"\n\t", b"\t")
    senders: set[bytes] = set()
    recipients: set[bytes] = set()
    for line in block.split(b"\n"):
        name, colon, value = line.partition(b":")
        key = _ADDRESS_KEYS.get(name)
        if key is None:
            if name in _OTHER_NAMES or not colon:
                continue
            if not name.isascii() or _CONTROL.search(name):
                return None  # read_block strips Unicode spaces off names: it may be From
            key = _ADDRESS_KEYS.get(name.strip().lower())
            if key is None:
                continue
        if b"@" not in value:
            continue  # read_block finds no address in it either
        value = value.lower()
        one = _ONE_ITEM.fullmatch(value)
        if one is not None:
            found = [one.group(1) or one.group(2)]
        elif _PLAIN_LIST.fullmatch(value):
            found = _TOKEN.findall(value)
        else:
            return None
        if b"xn--" in value:
            found = [_normal_form(a) if b"xn--" in a else a for a in found]
        (senders if key == b"from" else recipients).update(found)
    return senders, recipients


@lru_cache(maxsize=4096)  # the same few correspondents' addresses, message after message
def _normal_form(address: bytes) -> bytes:
    """An address with IDNA labels, in normal form (their Unicode), as read_block has it."""
    normal = normalise_address(address.decode("ascii"))
    return normal.encode("utf-8") if normal is not None else address
