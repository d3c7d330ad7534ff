"""vCard 2.1, 3.0 and 4.0 text -> `ContactRecord`s, and a `Problem` for each line we could not use.

Only what Kithkin needs is read: FN, N, NICKNAME, EMAIL, BDAY, CATEGORIES, NOTE and UID. A bad
line or a broken card is reported with its physical line number and parsing goes on with the
rest. Names, tags and addresses are cleaned (`text.clean_line`); quoted-printable bytes are
decoded with `text.decode_bytes` and the property's CHARSET.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.birthdays import normalise_birthday
from kithkin.parsers.contacts.records import (
    LINE_BREAK,
    MAX_NAME,
    MAX_NOTE,
    ContactRecord,
    Problem,
    first_line,
    preview,
)
from kithkin.parsers.text import clean_line, decode_bytes

_QP_ESCAPES = re.compile(r"(?:=[0-9A-Fa-f]{2})+")
_BARE_ENCODINGS = frozenset({"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"})


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based physical line where this logical (unfolded) line starts
    text: str


@dataclass(frozen=True)
class _Property:
    number: int
    name: str  # upper case, group prefix removed
    params: dict[str, list[str]]  # upper-case names and values
    value: str  # raw: still encoded and escaped


@dataclass
class _Card:
    number: int  # line of BEGIN:VCARD
    properties: list[_Property] = field(default_factory=list)


@dataclass
class _Fields:
    formatted_name: str = ""
    structured_name: str = ""
    nickname: str = ""
    emails: list[str] = field(default_factory=list)
    invalid_emails: list[str] = field(default_factory=list)  # previews, for a skipped card
    birthday: str | None = None
    tags: list[str] = field(default_factory=list)
    uid: str = ""
    note: str = ""
    problems: list[Problem] = field(default_factory=list)


def looks_like_vcard(text: str) -> bool:
    return _marker(first_line(text.lstrip("\ufeff"))) == "BEGIN"


def parse_vcards(text: str) -> tuple[list[ContactRecord], list[Problem]]:
    cards, problems = _split_cards(_logical_lines(text.lstrip("\ufeff")))
    records: list[ContactRecord] = []
    for card in cards:
        record, card_problems = _build_record(card)
        problems.extend(card_problems)
        if record is not None:
            records.append(record)
    problems.sort(key=lambda problem: problem.line)
    return records, problems


# --- lines -----------------------------------------------------------------------------------


def _logical_lines(text: str) -> list[_Line]:
    """Join folded lines (leading space or tab) and quoted-printable soft line breaks."""
    lines: list[_Line] = []
    parts: list[str] = []
    start = 0
    quoted_printable = foldable = False
    for number, physical in enumerate(LINE_BREAK.split(text), start=1):
        if quoted_printable and parts[-1].endswith("=") and _marker(physical) is None:
            parts[-1] = parts[-1][:-1]
            parts.append(physical)
        elif foldable and physical[:1] in (" ", "\t"):
            parts.append(physical[1:])
        else:
            if parts:
                lines.append(_Line(start, "".join(parts)))
            parts, start = [physical.lstrip(" \t")], number
            quoted_printable = _is_quoted_printable(parts[0])
            foldable = bool(parts[0].strip()) and _marker(parts[0]) is None
    if parts:
        lines.append(_Line(start, "".join(parts)))
    return lines


def _is_quoted_printable(line: str) -> bool:
    head, colon, _ = line.partition(":")
    return bool(colon) and "QUOTED-PRINTABLE" in head.upper()


def _marker(line: str) -> str | None:
    upper = line.strip().upper()
    if upper == "BEGIN:VCARD":
        return "BEGIN"
    if upper == "END:VCARD":
        return "END"
    return None


# --- cards and properties --------------------------------------------------------------------


def _split_cards(lines: Iterable[_Line]) -> tuple[list[_Card], list[Problem]]:
    cards: list[_Card] = []
    problems: list[Problem] = []
    current: _Card | None = None
    for line in lines:
        marker = _marker(line.text)
        if marker == "BEGIN":
            if current is not None:
                problems.append(_missing_end(current))
            current = _Card(line.number)
        elif current is None:
            if line.text.strip():
                problems.append(_stray(line, marker))
        elif marker == "END":
            cards.append(current)
            current = None
        elif line.text.strip():
            _add_property(current, line, problems)
    if current is not None:
        problems.append(_missing_end(current))
    return cards, problems


def _stray(line: _Line, marker: str | None) -> Problem:
    if marker == "END":
        return Problem(line.number, "END:VCARD without BEGIN:VCARD")
    return Problem(line.number, f"text outside a vCard: {preview(line.text)}")


def _missing_end(card: _Card) -> Problem:
    fields = _Fields()
    for prop in card.properties:
        if prop.name == "UID":
            _read_uid(fields, prop)
    return Problem(
        card.number, "vCard has no END:VCARD; skipped", skipped=True, uid=fields.uid or None
    )


def _add_property(card: _Card, line: _Line, problems: list[Problem]) -> None:
    prop = _parse_property(line)
    if prop is None:
        problems.append(Problem(line.number, f"malformed line (no colon): {preview(line.text)}"))
    else:
        card.properties.append(prop)


def _parse_property(line: _Line) -> _Property | None:
    colon = _find_outside_quotes(line.text, ":")
    if colon < 0:
        colon = line.text.find(":")
    if colon < 0:
        return None
    head, value = line.text[:colon], line.text[colon + 1 :]
    name, *raw_params = _split_outside_quotes(head, ";")
    name = name.strip().rsplit(".", 1)[-1].upper()
    return _Property(line.number, name, _parse_params(raw_params), value)


def _parse_params(raw_params: list[str]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for raw in raw_params:
        key, equals, values = raw.partition("=")
        if not equals:
            bare = key.strip().upper()
            key, values = ("ENCODING" if bare in _BARE_ENCODINGS else "TYPE"), bare
        for value in _split_outside_quotes(values, ","):
            params.setdefault(key.strip().upper(), []).append(value.strip().strip('"').upper())
    return params


def _find_outside_quotes(text: str, char: str) -> int:
    quoted = False
    for index, current in enumerate(text):
        if current == '"':
            quoted = not quoted
        elif current == char and not quoted:
            return index
    return -1


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    quoted = False
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            pieces.append(text[start:index])
            start = index + 1
    pieces.append(text[start:])
    return pieces


# --- values ----------------------------------------------------------------------------------


def _decoded(prop: _Property) -> str:
    """The value with quoted-printable undone; backslash escapes are still in place."""
    if "QUOTED-PRINTABLE" not in prop.params.get("ENCODING", ()):
        return prop.value
    charsets = prop.params.get("CHARSET")
    charset = charsets[0] if charsets else None
    value = prop.value.removesuffix("=")  # a soft line break with nothing after it
    return _QP_ESCAPES.sub(
        lambda match: decode_bytes(bytes.fromhex(match.group().replace("=", "")), charset), value
    )


def _split_escaped(value: str, separator: str) -> list[str]:
    """Split on `separator` where it is not backslash-escaped, then unescape each piece."""
    pieces: list[str] = []
    current: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            current.append(char + next(chars, ""))
        elif char == separator:
            pieces.append(_unescape("".join(current)))
            current = []
        else:
            current.append(char)
    pieces.append(_unescape("".join(current)))
    return pieces


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", _unescape_one, value, flags=re.DOTALL)


def _unescape_one(match: re.Match[str]) -> str:
    char = match.group(1)
    return "\n" if char in "nN" else char


# --- records ---------------------------------------------------------------------------------


def _build_record(card: _Card) -> tuple[ContactRecord | None, list[Problem]]:
    fields = _Fields()
    for prop in card.properties:
        reader = _READERS.get(prop.name)
        if reader is not None:
            reader(fields, prop)
    emails = list(dict.fromkeys(fields.emails))
    named = fields.formatted_name or fields.structured_name
    if not emails:  # one problem for the card: its warnings would say it was imported
        who = f" for {preview(named)}" if named else ""
        rejected = fields.invalid_emails
        why = f" (not an address: {', '.join(rejected)})" if rejected else ""
        message = f"no valid email address{who}{why}; skipped"
        return None, [Problem(card.number, message, skipped=True, uid=fields.uid or None)]
    record = ContactRecord(
        name=named or emails[0].rpartition("@")[0],
        emails=tuple(emails),
        birthday=fields.birthday,
        tags=tuple(dict.fromkeys(fields.tags)),
        line=card.number,
        nickname=fields.nickname or None,
        uid=fields.uid or None,
        note=fields.note or None,
    )
    return record, fields.problems


def _read_formatted_name(fields: _Fields, prop: _Property) -> None:
    if not fields.formatted_name:
        fields.formatted_name = clean_line(_unescape(_decoded(prop)))


def _read_structured_name(fields: _Fields, prop: _Property) -> None:
    if fields.structured_name:
        return
    family, given, *_ = _split_escaped(_decoded(prop), ";") + ["", ""]
    # A part may list several values separated by commas ("John,Quincy").
    fields.structured_name = clean_line(f"{given} {family}".replace(",", " "))


def _read_nickname(fields: _Fields, prop: _Property) -> None:
    if fields.nickname:
        return
    # NICKNAME may list several ("Jim,Jimmie"): the first is what the owner calls them.
    first = next((n for n in map(clean_line, _split_escaped(_decoded(prop), ",")) if n), "")
    if len(first) <= MAX_NAME:
        fields.nickname = first


def _read_email(fields: _Fields, prop: _Property) -> None:
    raw = clean_line(_unescape(_decoded(prop)))
    if not raw:
        return
    address = normalise_address(raw)
    if address is None:
        message = f"not an email address: {preview(raw)}"
        fields.problems.append(Problem(prop.number, message, warning=True))
        fields.invalid_emails.append(preview(raw))
    else:
        fields.emails.append(address)


def _read_birthday(fields: _Fields, prop: _Property) -> None:
    raw = _unescape(_decoded(prop)).strip()
    if not raw or fields.birthday is not None:
        return
    birthday = normalise_birthday(raw)
    if birthday is None:
        message = f"not a birthday: {preview(raw)}; imported without it"
        fields.problems.append(Problem(prop.number, message, warning=True))
    fields.birthday = birthday


def _read_categories(fields: _Fields, prop: _Property) -> None:
    for raw in _split_escaped(_decoded(prop), ","):
        tag = clean_line(raw)
        if tag:
            fields.tags.append(tag)


def _read_uid(fields: _Fields, prop: _Property) -> None:
    if not fields.uid:
        fields.uid = clean_line(_unescape(_decoded(prop)))


def _read_note(fields: _Fields, prop: _Property) -> None:
    if fields.note:
        return
    note = clean_line(_unescape(_decoded(prop)))
    fields.note = note if len(note) <= MAX_NOTE else note[: MAX_NOTE - 1] + "…"


_READERS: dict[str, Callable[[_Fields, _Property], None]] = {
    "FN": _read_formatted_name,
    "N": _read_structured_name,
    "NICKNAME": _read_nickname,
    "EMAIL": _read_email,
    "BDAY": _read_birthday,
    "CATEGORIES": _read_categories,
    "NOTE": _read_note,
    "UID": _read_uid,
}
