"""From/To/Cc/Bcc text -> `Address` records: display names decoded, addresses normalised.

**Our own address-list reader.** A regex fast path takes the usual `addr`, `Name <addr>` and
`"Name" <addr>` lists; anything else goes through one tokenizing regex and a small state
machine (groups, comments, quoted pairs, routes, missing commas). `getaddresses` on
From/To/Cc alone costs about what the whole of `parse_headers` does, splits on a comma inside
an encoded word, and changed its behaviour on hostile input between CPython patch releases
(CVE-2023-27043). Results for short address fields are cached: the owner's and regular
correspondents' lines recur. At most `MAX_ADDRESSES` are kept per field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.headers.encoded_words import display_text
from kithkin.parsers.text import clean_line

MAX_ADDRESSES = 1000  # kept per address field
_MAX_ADDRESS_LENGTH = 512  # characters; longer entries are dropped as garbage
_CACHED_ADDRESS_TEXT = 256  # address fields up to this long are cached, results shared


@dataclass(frozen=True, slots=True)
class Address:
    """One address: `name` decoded and cleaned ("" if none), `address` from `normalise_address`."""

    name: str
    address: str


def read_addresses(text: str) -> tuple[Address, ...]:
    """Each address once (normalised), in order; the first non-empty name is kept."""
    if not text:
        return ()
    if len(text) <= _CACHED_ADDRESS_TEXT:
        return _cached_addresses(text)
    return _read_addresses(text)


@lru_cache(maxsize=8192)
def _cached_addresses(text: str) -> tuple[Address, ...]:
    """The same From/To text recurs across a mailbox (the owner, regular correspondents)."""
    return _read_addresses(text)


def _read_addresses(text: str) -> tuple[Address, ...]:
    if "@" not in text:
        return ()  # `undisclosed-recipients:;`, or nothing that could be an address
    pairs = _usual_address_list(text)
    if pairs is None:
        pairs = parse_address_list(text)
    found: dict[str, str] = {}
    for name, raw_address in pairs:
        if len(raw_address) > _MAX_ADDRESS_LENGTH:
            continue  # garbage: a real address is at most 254 octets (RFC 5321)
        address = normalise_address(_address_text(raw_address))
        if address is not None and not found.get(address):
            found[address] = name
    return tuple([Address(name, address) for address, name in found.items()])


_CONTROL_ONLY = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _address_text(raw: str) -> str:
    """An address as written, made clean: controls removed (`a<NUL>n@x` is `an@x`), then
    `clean_line` for what is left (bidi marks, separators, lone surrogates)."""
    return raw if raw.isprintable() else clean_line(_CONTROL_ONLY.sub("", raw))


# --- the fast path ---------------------------------------------------------------------------

_USUAL_ITEM = re.compile(
    r"""
    [ \t]*
    (?:(?:"([^"\\]*)"|((?:[^\s"(),;:<>\\]+[ \t]*){0,10}+))[ \t]*<([^<>]*)>  # Name <address>
      |([^\s"(),;:<>\\]+))                                             # bare address
    [ \t]*(?:,|\Z)
    """,
    re.VERBOSE,
)


def _usual_address_list(text: str, limit: int = MAX_ADDRESSES) -> list[tuple[str, str]] | None:
    """The fast path of `parse_address_list`: None unless every entry is a plain
    `addr`, `Name <addr>` or `"Name" <addr>` (no comments, groups, escapes or stray commas)."""
    pairs: list[tuple[str, str]] = []
    position, end = 0, len(text)
    while position < end and len(pairs) < limit:
        match = _USUAL_ITEM.match(text, position)
        if match is None or match.end() == position:
            return None
        quoted, atoms, angle, bare = match.groups()
        if bare is not None:
            if "@" not in bare or "=?" in bare:
                return None  # garbage, or an encoded word cut at a comma
            pairs.append(("", bare))
        else:
            name = quoted if quoted is not None else atoms
            pairs.append((display_text(name) if name else "", _strip_route(angle)))
        position = match.end()
    return pairs


# --- everything else -------------------------------------------------------------------------

_ADDRESS_TOKEN = re.compile(
    r"""
    (?:"([^"\\]*)"|((?:[^\s"(),;:<>\\]+[ \t]*){0,10}+))[ \t]*<([^<>]*)>  # 1-3 usual mailbox
    |(=\?[^?\s]*\?[QqBb]\?[^?\s]*\?=)                       # 4 encoded word
    |("(?:[^"\\]+|\\.)*"?)                                 # 5 quoted string
    |(\((?:[^()\\]+|\\.|\((?:[^()\\]+|\\.)*\)?)*\)?)       # 6 comment, one level nested
    |(<[^<>]*>?)                                           # 7 angle address
    |([,;:])                                               # 8 separator or group syntax
    |([\s\x00-\x1f\x7f]+)                                  # 9 whitespace and controls
    |([^\s\x00-\x1f\x7f"(),;:<>]+|.)                       # 10 atom, or one stray character
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ENCODED, _QUOTED, _COMMENT, _ANGLE, _SPECIAL, _SPACE, _ATOM = range(4, 11)
_USUAL_ANGLE = 3


class _Entry:
    """One mailbox being read: words of the phrase, comments, and an `<angle>` address."""

    __slots__ = ("angle", "comments", "joined", "words")

    def __init__(self) -> None:
        self.words: list[list[tuple[int, str]]] = []
        self.comments: list[str] = []
        self.angle: str | None = None
        self.joined = False  # the next token continues the last word (no space between)

    def add(self, kind: int, token: str) -> None:
        if self.joined and self.words:
            self.words[-1].append((kind, token))
        else:
            self.words.append([(kind, token)])
        self.joined = True


def parse_address_list(text: str, limit: int = MAX_ADDRESSES) -> list[tuple[str, str]]:
    """`(display name, address)` pairs as written, names decoded; garbage kept for the caller.

    Commas inside quotes, comments, angle brackets and encoded words do not split. A group
    (`friends: a@x, b@y;`) yields its members; its name is dropped.
    """
    pairs: list[tuple[str, str]] = []
    entry = _Entry()
    in_group = False
    for match in _ADDRESS_TOKEN.finditer(text):
        kind = match.lastindex or _ATOM
        token = match.group(kind)
        if kind == _USUAL_ANGLE:
            _add_usual(entry, match)
        elif kind == _SPECIAL:
            if token == ":" and not in_group and entry.angle is None:
                in_group, entry = True, _Entry()  # the group's display name is dropped
                continue
            if token == ":":
                entry.add(_ATOM, token)
                continue
            in_group = in_group and token != ";"
            pairs.extend(_finish(entry))
            entry = _Entry()
            if len(pairs) >= limit:
                return pairs[:limit]
        elif kind == _SPACE:
            entry.joined = False
        elif kind == _COMMENT:
            entry.comments.append(_unescape(token[1:].removesuffix(")")))
            entry.joined = False
        elif kind == _ANGLE:
            if entry.angle is None:
                entry.angle = token[1:].removesuffix(">")
            entry.joined = False
        else:
            entry.add(kind, token)
    pairs.extend(_finish(entry))
    return pairs[:limit]


def _add_usual(entry: _Entry, match: re.Match[str]) -> None:
    """`Name <address>` or `"Name" <address>`, read by one regex match."""
    quoted, atoms, angle = match.group(1, 2, 3)
    if quoted is not None:
        entry.add(_QUOTED, f'"{quoted}"')
    elif atoms:
        entry.add(_ATOM, atoms.rstrip())
    if entry.angle is None:
        entry.angle = angle
    entry.joined = False


def _finish(entry: _Entry) -> list[tuple[str, str]]:
    if entry.angle is not None:
        return [(_phrase(entry.words) or _comment_name(entry), _strip_route(entry.angle))]
    texts = ["".join(token for _, token in word) for word in entry.words]
    found = [index for index, text in enumerate(texts) if _looks_like_address(text)]
    if not found:  # `john . doe @ example.org` (obsolete spacing) or garbage
        return [(_comment_name(entry), "".join(texts))] if texts else []
    if len(found) > 1:  # `a@x b@y`: a missing comma
        return [("", texts[index]) for index in found]
    rest = entry.words[: found[0]] + entry.words[found[0] + 1 :]
    return [(_phrase(rest) or _comment_name(entry), texts[found[0]])]


def _looks_like_address(word: str) -> bool:
    local, at, domain = word.rpartition("@")
    return bool(at and local and domain)


def _phrase(words: list[list[tuple[int, str]]]) -> str:
    parts = []
    for word in words:
        parts.append(
            "".join(
                _unescape(token[1:].removesuffix('"')) if kind == _QUOTED else token
                for kind, token in word
            )
        )
    return display_text(" ".join(parts))


def _comment_name(entry: _Entry) -> str:
    return display_text(" ".join(entry.comments))


def _unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text) if "\\" in text else text


def _strip_route(address: str) -> str:
    """`<@relay.example:ann@example.org>` (obsolete source route) -> `ann@example.org`."""
    if address.lstrip().startswith("@") and ":" in address:
        return address.rpartition(":")[2]
    return address
