"""Raw header bytes in, a small immutable `MessageFacts` record out.

The sync fetches `BODY.PEEK[HEADER.FIELDS (...)]` for every message and calls
`parse_headers(raw, internaldate)`. That runs for every message of a 100,000-message
mailbox, so it has to keep pace with imapclient's own parsing of the FETCH response.

What was chosen, and why. Measured with `tests/bench/bench_parse.py` (Python 3.11.7,
10,000 distinct ~480-byte blocks of 10 fields, caches cleared before each run):

    kithkin parse_headers                                     ~31 µs/message
    stdlib compat32 BytesHeaderParser + getaddresses
      + decode_header + parsedate                            ~112 µs  (3.5x)
    mailparser.parse_from_bytes + reading the same fields    ~410 µs  (13x)
    imapclient parse_fetch_response (UID FLAGS INTERNALDATE
      + this header block), for scale                         ~34 µs

- **Our own splitter, not `email.parser`.** The block is cut at the first blank line,
  unfolded with two `bytes.replace` calls, decoded once (when it is valid UTF-8), split into
  lines, and only the fields in `HEADER_FIELDS` are kept (the first colon ends the name).
- **Our own address-list reader.** A regex fast path takes the usual `addr`, `Name <addr>`
  and `"Name" <addr>` lists; anything else goes through one tokenizing regex and a small state
  machine (groups, comments, quoted pairs, routes, missing commas). `getaddresses` on
  From/To/Cc alone costs about what this whole function does, splits on a comma inside an
  encoded word, and changed its behaviour on hostile input between CPython patch releases
  (CVE-2023-27043). Results for short address fields are cached: the owner's and regular
  correspondents' lines recur.
- **Our own RFC 2047 decoder** (`binascii.a2b_qp` / `a2b_base64`): adjacent encoded words
  are joined, bad base64 padding is repaired, unknown or mislabelled charsets fall back to
  UTF-8 and then windows-1252, and it never raises. Only real text charsets are honoured
  (`text.charset_codec`): a label such as `unicode_escape` or `base64` counts as unknown.
- **8-bit bytes are never dropped.** Each value is UTF-8 when valid, else decoded with the
  `charset=` of Content-Type when that is a known text charset, else windows-1252
  (`text.decode_bytes`).
  mail-parser silently drops such bytes (`café` -> `caf`), stdlib gives `caf` + U+FFFD.
- **Dates**: one regex for RFC 5322 dates (with the obsolete two-digit years and named
  zones), `email.utils.parsedate_tz` for anything else. A date that does not parse, has a zone
  beyond ±14 h, lies before 1970, or lies more than two days after INTERNALDATE is replaced by
  INTERNALDATE (`date_from_header=False`).
- **Bounded work**: at most `_MAX_LINES` lines, `_MAX_VALUE` bytes of a text field,
  `_MAX_ADDRESS_BYTES` and `_MAX_ADDRESSES` per address field, and only a window at each end
  of a long References; a 1 MB header block parses in 2-70 ms whatever its shape.

Every text field goes through `text.clean_line`: control characters (CR, LF, NUL, tabs,
C0/C1) in the subject and display names become spaces, so an encoded `=0D=0A` can never turn
into a header line break further down; escape sequences and bidi overrides are removed, lone
surrogates (UTF-7 can make them) repaired. Ids lose every space as well.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_tz
from functools import lru_cache
from typing import AnyStr

from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.text import charset_codec, clean_line, decode_bytes

HEADER_FIELDS: tuple[str, ...] = (
    "FROM",
    "TO",
    "CC",
    "BCC",
    "DATE",
    "MESSAGE-ID",
    "IN-REPLY-TO",
    "REFERENCES",
    "SUBJECT",
    "LIST-ID",
    "AUTO-SUBMITTED",
    "PRECEDENCE",
    "CONTENT-TYPE",
    "X-KITHKIN-SUMMARY",
)

_MAX_LINES = 10_000  # header lines looked at (a real block has a few dozen at most)
_MAX_VALUE = 16 * 1024  # characters kept of a text field (bytes, before decoding non-UTF-8)
_MAX_ADDRESS_BYTES = 64 * 1024  # the same for an address field, occurrences combined
_MAX_ADDRESSES = 1000  # mailboxes kept per address field
_MAX_REFERENCES = 50  # References keeps its first id plus this many from the end
_MAX_IN_REPLY_TO = 50
_MAX_ADDRESS_LENGTH = 512  # characters; longer entries are dropped as garbage
_CACHED_ADDRESS_TEXT = 256  # address fields up to this long are cached, results shared
_REFERENCE_WINDOW = 16 * 1024  # kept at each end of a long References
_MAX_DATE_AHEAD = timedelta(days=2)
_MAX_ZONE = 14 * 3600

_ADDRESS_FIELDS = frozenset({"to", "cc", "bcc"})


@dataclass(frozen=True, slots=True)
class Mailbox:
    """One address: `name` decoded and cleaned ("" if none), `address` from `normalise_address`."""

    name: str
    address: str


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What Kithkin keeps of one message's header.

    Address fields hold each normalised address once, garbage dropped. `date` is aware UTC:
    the Date header when believable (`date_from_header`), else INTERNALDATE, else None. Ids
    are without `<>` and whitespace. Every string is clean (`text.is_clean`); `subject`, names
    and `kithkin_summary` have single spaces. `auto_submitted` and `precedence` are the
    lowercased first token. `raw_date` is the Date header's text, cleaned ("" if none).
    """

    from_: tuple[Mailbox, ...]
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    bcc: tuple[Mailbox, ...]
    date: datetime | None
    date_from_header: bool
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    list_id: str | None
    auto_submitted: str | None
    precedence: str | None
    kithkin_summary: str | None
    raw_date: str

    @property
    def message_key(self) -> str:
        """`<message-id>`, or a hash of sender, Date and Subject when there is no Message-ID."""
        if self.message_id:
            return f"<{self.message_id}>"
        senders = ",".join(mailbox.address for mailbox in self.from_)
        text = f"{senders}|{self.raw_date}|{self.subject}"
        digest = hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()
        return f"sha256:{digest}"

    @property
    def recipients(self) -> tuple[Mailbox, ...]:
        """To, Cc and Bcc, each address once, in that order."""
        return _unique(self.to + self.cc + self.bcc)


def parse_headers(raw: bytes, internaldate: datetime | None = None) -> MessageFacts:
    """The facts of one header block. Never raises for any bytes (short of MemoryError)."""
    return read_block(raw).facts(internaldate)


@dataclass(frozen=True, slots=True)
class HeaderBlock:
    """A header block split into fields, with only the addresses read so far.

    The sync reads this much of every message and decides from the addresses alone whether
    the message concerns a contact; only those (and the owner's possible replies to a
    summary) go on to `facts()`, which decodes dates, ids and the subject. Mail of strangers
    is never decoded further than its addresses.
    """

    fields: dict[str, str]
    from_: tuple[Mailbox, ...]
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    bcc: tuple[Mailbox, ...]

    def raw(self, name: str) -> str:
        """A field's text as written (undecoded, unfolded); "" when absent."""
        return self.fields.get(name, "")

    def addresses_capped(self) -> bool:
        """Whether an address field was longer than is read (`_MAX_ADDRESS_BYTES`, or
        `_MAX_ADDRESSES` addresses): the rest of that list was not parsed."""
        return any(
            len(self.fields.get(name, "")) >= _MAX_ADDRESS_BYTES * 0.99
            or len(mailboxes) >= _MAX_ADDRESSES
            for name, mailboxes in (
                ("from", self.from_), ("to", self.to), ("cc", self.cc), ("bcc", self.bcc)
            )
        )  # fmt: skip

    def facts(self, internaldate: datetime | None = None) -> MessageFacts:
        get = self.fields.get
        raw_date = clean_line(get("date", ""))
        date, from_header = _choose_date(raw_date, _as_utc(internaldate))
        summary = get("x-kithkin-summary")
        return MessageFacts(
            self.from_,
            self.to,
            self.cc,
            self.bcc,
            date,
            from_header,
            _message_id(get("message-id", "")),
            _ids(get("in-reply-to", ""))[:_MAX_IN_REPLY_TO],
            _references(get("references", "")),
            _display(get("subject", "")),
            _list_id(get("list-id", "")),
            _first_token(get("auto-submitted", "")),
            _first_token(get("precedence", "")),
            (clean_line(summary) or None) if summary else None,
            raw_date,
        )


def read_block(raw: bytes) -> HeaderBlock:
    """Split the block and read its address fields; the cheap first half of parse_headers."""
    fields = _fields(bytes(raw))
    get = fields.get
    return HeaderBlock(
        fields,
        _mailboxes(get("from", "")),
        _mailboxes(get("to", "")),
        _mailboxes(get("cc", "")),
        _mailboxes(get("bcc", "")),
    )


# --- splitting the block -------------------------------------------------------------------


def _field_names() -> dict[str, str]:
    """Header name as written -> our key; the usual spellings skip a `.lower()` call."""
    names = {}
    for field in HEADER_FIELDS:
        key = field.lower()
        for spelling in (field, key, key.title(), key.title().replace("-Id", "-ID")):
            names[spelling] = key
    return names


_NAMES = _field_names()
_NAMES_BYTES = {name.encode("ascii"): key for name, key in _NAMES.items()}
_LIMITS = dict.fromkeys(("from", "to", "cc", "bcc"), _MAX_ADDRESS_BYTES)


def _fields(raw: bytes) -> dict[str, str]:
    """Wanted field -> its value as text (see `decode_bytes`), unfolded, not yet stripped.

    The whole block is decoded at once when it is valid UTF-8 (the usual case); otherwise
    each value is decoded on its own, with Content-Type's charset as a hint.
    """
    block = raw.replace(b"\r\n", b"\n")
    end = block.find(b"\n\n")
    if end >= 0:
        block = block[:end]
    if block.startswith(b"\n"):
        return {}
    block = block.replace(b"\n ", b" ").replace(b"\n\t", b"\t")
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        values = _collect(block.split(b"\n", _MAX_LINES), b":", _NAMES_BYTES, b",")
        if len(block) > _MAX_VALUE:
            values = {key: _cap(key, value, b" <> ") for key, value in values.items()}
        hint = _charset_hint(values.get("content-type", b""))
        return {key: decode_bytes(value, hint, prefer_utf8=True) for key, value in values.items()}
    fields = _collect(text.split("\n", _MAX_LINES), ":", _NAMES, ",")
    if len(block) > _MAX_VALUE:
        fields = {key: _cap(key, value, " <> ") for key, value in fields.items()}
    return fields


def _collect(
    lines: list[AnyStr], colon: AnyStr, names: dict[AnyStr, str], comma: AnyStr
) -> dict[str, AnyStr]:
    """First occurrence of each wanted field; To/Cc/Bcc occurrences joined."""
    fields: dict[str, AnyStr] = {}
    repeated: dict[str, list[AnyStr]] = {}
    for line in lines[:_MAX_LINES]:
        name, separator, value = line.partition(colon)
        if not separator:
            continue
        key = names.get(name) or names.get(name.strip().lower())
        if key is None:
            continue
        if key not in fields:
            fields[key] = value
        elif key in _ADDRESS_FIELDS:
            repeated.setdefault(key, [fields[key]]).append(value)
    for key, values in repeated.items():
        fields[key] = comma.join(values[: _MAX_ADDRESS_BYTES // 8])
    return fields


def _cap(key: str, value: AnyStr, cut: AnyStr) -> AnyStr:
    """Bound a long value; References keeps a window at each end (its first and last ids)."""
    if len(value) <= _MAX_VALUE:
        return value
    if key == "references":
        if len(value) <= 2 * _REFERENCE_WINDOW:
            return value
        return value[:_REFERENCE_WINDOW] + cut + value[-_REFERENCE_WINDOW:]
    return value[: _LIMITS.get(key, _MAX_VALUE)]


# --- bytes -> text ---------------------------------------------------------------------------

_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([^"';\s]+)""", re.IGNORECASE)


def _charset_hint(content_type: bytes) -> str | None:
    """Content-Type's charset, if it can describe raw header bytes at all.

    Header names, colons and addresses are ASCII, so only an ASCII-compatible codec can be
    what 8-bit header bytes were written in; UTF-16, UTF-7 or EBCDIC labels there are mistakes.
    """
    match = _CHARSET_PARAM.search(content_type)
    if not match:
        return None
    codec = charset_codec(match.group(1).decode("ascii", "replace"))
    return codec if codec and _ascii_compatible(codec) else None


@lru_cache(maxsize=256)
def _ascii_compatible(codec: str) -> bool:
    sample = "From: <a@b.c>, x;=?Q?= [+~]"
    try:
        return sample.encode(codec) == sample.encode("ascii")
    except (UnicodeError, LookupError):
        return False


# --- RFC 2047 encoded words ------------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s*]*)(?:\*[^?\s]*)?\?([QqBb])\?([^?\s]*)\?=")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; never raises.

    Whitespace between two encoded words is dropped, and the bytes of adjacent words in one
    charset are decoded together (mailers split multi-byte characters across words).
    Something that only looks like an encoded word (`=?bogus`) is kept as written.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    run = bytearray()  # bytes of adjacent encoded words in `run_charset`
    run_charset = ""
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        position = match.end()
        charset = match.group(1).lower()
        joins = run and (not gap or gap.isspace())
        if run and not (joins and charset == run_charset):
            out.append(decode_bytes(bytes(run), run_charset))
            run.clear()
        if not joins:
            out.append(gap)
        run += _decode_payload(match.group(2), match.group(3))
        run_charset = charset
    if run:
        out.append(decode_bytes(bytes(run), run_charset))
    out.append(text[position:])
    return "".join(out)


def _decode_payload(encoding: str, payload: str) -> bytes:
    """The bytes of a Q or B payload; bad base64 padding and stray characters are repaired."""
    data = payload.encode("utf-8", "replace")
    if encoding in "Qq":
        return binascii.a2b_qp(data, header=True)
    data = _NOT_BASE64.sub(b"", data)
    extra = len(data) % 4
    if extra == 1:
        data = data[:-1]  # six bits cannot make a byte
    elif extra:
        data += b"=" * (4 - extra)
    try:
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        return b""


# --- plain text values -----------------------------------------------------------------------

_CONTROL_ONLY = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FIRST_TOKEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f]*([^\s\x00-\x1f\x7f-\x9f;,(]*)")


def _display(text: str) -> str:
    """A display name or subject as written -> decoded, cleaned text."""
    return clean_line(decode_words(text)) if "=?" in text else clean_line(text)


def _first_token(text: str) -> str | None:
    """`Auto-Replied; x` -> `auto-replied`; None when empty."""
    match = _FIRST_TOKEN.match(text)
    return (clean_line(match.group(1).lower()) or None) if match else None


def _squeeze(text: str) -> str:
    """Clean, with every space removed (ids are one token)."""
    if text.isprintable() and " " not in text:
        return text
    return clean_line(text).replace(" ", "")


def _address_text(raw: str) -> str:
    """An address as written, made clean: controls removed (`a<NUL>n@x` is `an@x`), then
    `clean_line` for what is left (bidi marks, separators, lone surrogates)."""
    return raw if raw.isprintable() else clean_line(_CONTROL_ONLY.sub("", raw))


# --- message ids -----------------------------------------------------------------------------

_BRACKETED = re.compile(r"<([^<>]*)>")
_OPEN_BRACKET = re.compile(r"<([^<>]*)>?")


def _message_id(text: str) -> str | None:
    match = _OPEN_BRACKET.search(text)
    value = match.group(1) if match else text
    return _squeeze(value).strip("<>") or None


def _ids(text: str) -> tuple[str, ...]:
    """Bracketed ids in order, each once; bare `x@y` words when nothing is bracketed."""
    found = _BRACKETED.findall(text) if "<" in text else [w for w in text.split() if "@" in w]
    seen: dict[str, None] = {}
    for candidate in found:
        identifier = _squeeze(candidate).strip("<>")
        if identifier:
            seen.setdefault(identifier, None)
    return tuple(seen)


def _references(text: str) -> tuple[str, ...]:
    """The first id and the last `_MAX_REFERENCES`, order kept."""
    ids = _ids(text)
    if len(ids) <= _MAX_REFERENCES + 1:
        return ids
    return ids[:1] + ids[-_MAX_REFERENCES:]


def _list_id(text: str) -> str | None:
    """`Friends <friends.lists.example>` -> `friends.lists.example`; else the whole value."""
    match = _BRACKETED.search(text)
    value = _squeeze(match.group(1)) if match else clean_line(text)
    return value or None


# --- addresses -------------------------------------------------------------------------------

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


def parse_address_list(text: str, limit: int = _MAX_ADDRESSES) -> list[tuple[str, str]]:
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
    return _display(" ".join(parts))


def _comment_name(entry: _Entry) -> str:
    return _display(" ".join(entry.comments))


def _unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text) if "\\" in text else text


def _strip_route(address: str) -> str:
    """`<@relay.example:ann@example.org>` (obsolete source route) -> `ann@example.org`."""
    if address.lstrip().startswith("@") and ":" in address:
        return address.rpartition(":")[2]
    return address


_USUAL_ITEM = re.compile(
    r"""
    [ \t]*
    (?:(?:"([^"\\]*)"|((?:[^\s"(),;:<>\\]+[ \t]*){0,10}+))[ \t]*<([^<>]*)>  # Name <address>
      |([^\s"(),;:<>\\]+))                                             # bare address
    [ \t]*(?:,|\Z)
    """,
    re.VERBOSE,
)


def _usual_address_list(text: str, limit: int = _MAX_ADDRESSES) -> list[tuple[str, str]] | None:
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
            pairs.append((_display(name) if name else "", _strip_route(angle)))
        position = match.end()
    return pairs


def _mailboxes(text: str) -> tuple[Mailbox, ...]:
    """Each address once (normalised), in order; the first non-empty name is kept."""
    if not text:
        return ()
    if len(text) <= _CACHED_ADDRESS_TEXT:
        return _cached_mailboxes(text)
    return _read_mailboxes(text)


@lru_cache(maxsize=8192)
def _cached_mailboxes(text: str) -> tuple[Mailbox, ...]:
    """The same From/To text recurs across a mailbox (the owner, regular correspondents)."""
    return _read_mailboxes(text)


def _read_mailboxes(text: str) -> tuple[Mailbox, ...]:
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
    return tuple([Mailbox(name, address) for address, name in found.items()])


def _unique(mailboxes: tuple[Mailbox, ...]) -> tuple[Mailbox, ...]:
    seen: set[str] = set()
    kept = []
    for mailbox in mailboxes:
        if mailbox.address not in seen:
            seen.add(mailbox.address)
            kept.append(mailbox)
    return tuple(kept)


# --- dates -----------------------------------------------------------------------------------

_DATE = re.compile(
    r"""
    ^(?:[A-Za-z]+\s*,?\s*)?                                 # day of week
    (\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{1,4})\s+    # day month year
    (\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?            # time
    \s*(?:([+-])(\d{2})(\d{2})|([A-Za-z]+)\b)?              # zone
    """,
    re.VERBOSE | re.ASCII,
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_ZONES = {"est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7}


def _choose_date(text: str, internaldate: datetime | None) -> tuple[datetime | None, bool]:
    """The Date header when it is believable, else INTERNALDATE."""
    parsed = parse_date(text) if text else None
    if parsed is not None and (internaldate is None or not _too_late(parsed, internaldate)):
        return parsed, True
    return internaldate, False


def _too_late(parsed: datetime, internaldate: datetime) -> bool:
    return parsed - internaldate > _MAX_DATE_AHEAD


def parse_date(text: str) -> datetime | None:
    """An RFC 5322 date (obsolete forms included) as aware UTC, or None when bogus."""
    match = _DATE.match(text.strip())
    try:
        moment = _from_match(match) if match else _from_stdlib(text)
    except (ValueError, OverflowError, IndexError, TypeError):
        return None
    if moment is None or moment.year < 1970:
        return None
    return moment


def _from_match(match: re.Match[str]) -> datetime | None:
    day, month_name, year_text, hour, minute, second, sign, zone_hours, zone_minutes, zone_name = (
        match.groups()
    )
    month = _MONTHS.get(month_name.lower())
    year = _full_year(year_text)
    if month is None or year is None:
        return None
    if sign:
        if int(zone_minutes) >= 60:
            return None
        offset = (int(zone_hours) * 3600 + int(zone_minutes) * 60) * (-1 if sign == "-" else 1)
    else:
        offset = _ZONES.get((zone_name or "").lower(), 0) * 3600  # unknown zone: as -0000
    seconds = min(int(second or 0), 59)  # a leap second lands on :59
    return _to_utc(year, month, int(day), int(hour), int(minute), seconds, offset)


def _full_year(text: str) -> int | None:
    """RFC 5322 §4.3: two digits are 1950-2049, three digits add 1900; one digit is bogus."""
    year = int(text)
    if len(text) == 2:
        return year + (2000 if year < 50 else 1900)
    if len(text) == 3:
        return year + 1900
    return year if len(text) == 4 else None


def _from_stdlib(text: str) -> datetime | None:
    parts = parsedate_tz(text)
    if parts is None:
        return None
    year, month, day, hour, minute, second = parts[:6]
    return _to_utc(year, month, day, hour, minute, min(second, 59), parts[9] or 0)


def _to_utc(
    year: int, month: int, day: int, hour: int, minute: int, second: int, offset: int
) -> datetime | None:
    if abs(offset) > _MAX_ZONE:
        return None
    local = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return local - timedelta(seconds=offset)


def _as_utc(moment: datetime | None) -> datetime | None:
    """Aware UTC; a naive datetime is taken to be UTC already; anything else is None."""
    if not isinstance(moment, datetime):
        return None
    try:
        if moment.tzinfo is None or moment.utcoffset() is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
