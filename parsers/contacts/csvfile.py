"""CSV contact lists (Google Contacts exports, old and new, or any file with a header row).

Columns are recognised by their header, case-insensitively. Each row that cannot be imported
gives a `Problem` at the physical line where the row starts, and reading goes on. Every cell
that is read is cleaned first (`text.clean_line`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.birthdays import normalise_birthday
from kithkin.parsers.contacts.records import (
    ContactRecord,
    Problem,
    first_line,
    preview,
)
from kithkin.parsers.text import clean_line

_DELIMITERS = (",", ";", "\t")
_HEADER_NOISE = re.compile(r"[\s_\-]+")
_EMAIL_SEPARATORS = re.compile(r":::|[,;\s]+")
_TAG_SEPARATORS = re.compile(r":::|[,;]")
_NO_DATE = re.compile(r"[0\W_]*")  # "0/0/00", "0000-00-00": how some exporters write "none"

_NAME = frozenset({"name", "fullname", "displayname"})
_FIRST = frozenset({"firstname", "first", "forename", "givenname"})
_MIDDLE = frozenset({"middlename", "additionalname"})
_LAST = frozenset({"lastname", "last", "familyname", "surname"})
_BIRTHDAY = frozenset({"birthday", "bday", "birthdate", "dateofbirth"})
_TAGS = frozenset(
    {"tags", "tag", "categories", "category", "groups", "group", "labels", "groupmembership"}
)
# Columns that mention mail but hold something else ("E-mail 1 - Type", "E-mail Display Name").
_NOT_EMAIL = ("type", "label", "display", "mailing")
# Google's built-in groups, which say nothing about the person.
_SYSTEM_GROUPS = frozenset({"mycontacts", "starred"})


@dataclass(frozen=True)
class _Columns:
    name: tuple[int, ...]
    first: tuple[int, ...]
    middle: tuple[int, ...]
    last: tuple[int, ...]
    emails: tuple[int, ...]
    birthday: tuple[int, ...]
    tags: tuple[int, ...]


@dataclass(frozen=True)
class _Row:
    line: int  # physical line where the row starts
    cells: list[str]

    def cell(self, index: int) -> str:
        return clean_line(self.cells[index]) if index < len(self.cells) else ""

    def first(self, indexes: tuple[int, ...]) -> str:
        return next((value for index in indexes if (value := self.cell(index))), "")


def parse_csv(text: str) -> tuple[list[ContactRecord], list[Problem]]:
    text = text.lstrip("\ufeff")
    records: list[ContactRecord] = []
    problems: list[Problem] = []
    columns: _Columns | None = None
    for line, row, error in _read_rows(text):
        if error is not None and columns is None:
            return [], [Problem(line, f"unreadable header row: {error}")]
        if error is not None:
            problems.append(Problem(line, f"unreadable CSV row: {error}"))
        elif row is None or not any(cell.strip() for cell in row):
            continue
        elif columns is None:
            columns = _find_columns(row)
            if not columns.emails:
                return [], [Problem(line, "no email column found in the header row")]
        else:
            record = _build_record(_Row(line, row), columns, problems)
            if record is not None:
                records.append(record)
    if columns is None:
        problems.append(Problem(1, "no header row found: the file has no data"))
    return records, problems


# --- reading ---------------------------------------------------------------------------------


def _read_rows(text: str) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(first physical line, cells, None) per row, or (line, None, reason) for an unreadable one."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield start, None, str(error)
        else:
            yield start, row, None
        start = reader.line_num + 1


def _sniff_delimiter(text: str) -> str:
    header = first_line(text)
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif char in counts and not quoted:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _find_columns(header: list[str]) -> _Columns:
    keys = [_HEADER_NOISE.sub("", cell.strip().lower()) for cell in header]

    def matching(names: frozenset[str]) -> tuple[int, ...]:
        return tuple(index for index, key in enumerate(keys) if key in names)

    return _Columns(
        name=matching(_NAME),
        first=matching(_FIRST),
        middle=matching(_MIDDLE),
        last=matching(_LAST),
        emails=tuple(index for index, key in enumerate(keys) if _is_email_column(key)),
        birthday=matching(_BIRTHDAY),
        tags=matching(_TAGS),
    )


def _is_email_column(key: str) -> bool:
    return "mail" in key and not any(word in key for word in _NOT_EMAIL)


# --- rows ------------------------------------------------------------------------------------


def _build_record(row: _Row, columns: _Columns, problems: list[Problem]) -> ContactRecord | None:
    emails, invalid = _emails(row, columns)
    name = _name(row, columns)
    if not emails:
        who = f" for {preview(name)}" if name else ""
        rejected = f" (not an address: {', '.join(invalid)})" if invalid else ""
        problems.append(Problem(row.line, f"no valid email address{who}{rejected}; row skipped"))
        return None
    for raw in invalid:
        problems.append(Problem(row.line, f"not an email address: {raw}", warning=True))
    return ContactRecord(
        name=name or emails[0].rpartition("@")[0],
        emails=tuple(emails),
        birthday=_birthday(row, columns, problems),
        tags=_tags(row, columns),
        line=row.line,
    )


def _emails(row: _Row, columns: _Columns) -> tuple[list[str], list[str]]:
    """Normalised addresses in column order without repeats, and previews of the invalid ones."""
    valid: dict[str, None] = {}
    invalid: list[str] = []
    for index in columns.emails:
        for raw in _EMAIL_SEPARATORS.split(row.cell(index)):
            if not raw:
                continue
            address = normalise_address(raw)
            if address is None:
                invalid.append(preview(raw))
            else:
                valid[address] = None
    return list(valid), invalid


def _name(row: _Row, columns: _Columns) -> str:
    full = row.first(columns.name)
    if not full:
        parts = (row.first(columns.first), row.first(columns.middle), row.first(columns.last))
        full = " ".join(parts)
    return " ".join(full.split())


def _birthday(row: _Row, columns: _Columns, problems: list[Problem]) -> str | None:
    raw = row.first(columns.birthday)
    if not raw or _NO_DATE.fullmatch(raw):
        return None
    birthday = normalise_birthday(raw)
    if birthday is None:
        message = f"not a birthday: {preview(raw)}; imported without it"
        problems.append(Problem(row.line, message, warning=True))
    return birthday


def _tags(row: _Row, columns: _Columns) -> tuple[str, ...]:
    tags: dict[str, None] = {}
    for index in columns.tags:
        for raw in _TAG_SEPARATORS.split(row.cell(index)):
            tag = _tag(raw)
            if tag:
                tags[tag] = None
    return tuple(tags)


def _tag(raw: str) -> str | None:
    tag = " ".join(raw.split())
    if tag.startswith("*"):  # Google marks its own groups: "* myContacts", "* starred"
        tag = tag[1:].strip()
        if tag.replace(" ", "").lower() in _SYSTEM_GROUPS:
            return None
    return tag or None
