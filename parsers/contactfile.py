"""Contact files (vCard or CSV) -> `ContactRecord`s, plus a `Problem` for each line that failed.

A bad entry never stops the rest: the reader records the line number and the reason and goes
on. Which reader runs is decided by the content, not the file name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from kithkin.parsers.text import decode_file

_BIRTHDAY = re.compile(r"^(?:(\d{4})|--)-?(\d{2})-?(\d{2})$")


@dataclass(frozen=True)
class ContactRecord:
    """One person as read from a file; addresses are normalised, the birthday validated."""

    name: str
    emails: tuple[str, ...]
    birthday: str | None = None  # "YYYY-MM-DD" or "--MM-DD"
    tags: tuple[str, ...] = ()
    line: int = 0  # where the entry starts, 1-based


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


MAX_NAME = 500  # characters: a longer "name" is garbage, not a person


def read_contact_file(data: bytes) -> tuple[list[ContactRecord], list[Problem]]:
    """Decode `data` (UTF-8, UTF-16 with BOM, or Windows-1252) and parse it as vCard or CSV."""
    from kithkin.parsers import csvfile, vcard

    text = decode_file(data)
    if vcard.looks_like_vcard(text):
        records, problems = vcard.parse_vcards(text)
    else:
        records, problems = csvfile.parse_csv(text)
    kept = []
    for record in records:
        if len(record.name) > MAX_NAME:
            problems.append(Problem(record.line, name_too_long(record.name)))
        else:
            kept.append(record)
    return kept, sorted(problems, key=lambda problem: problem.line)


def name_too_long(name: str) -> str:
    return f"name is {len(name)} characters long (at most {MAX_NAME})"


def normalise_birthday(text: str) -> str | None:
    """`YYYY-MM-DD`, `YYYYMMDD`, `--MM-DD` or `--MMDD` -> `YYYY-MM-DD` / `--MM-DD`; else None.

    A time part (`1990-03-15T00:00:00Z`, as some vCard exporters write) is ignored. Year 1604
    (Apple's "no year" marker) counts as no year.
    """
    cleaned = text.strip().split("T", 1)[0]
    match = _BIRTHDAY.match(cleaned)
    if not match:
        return None
    year, month, day = match.groups()
    if year == "1604":
        year = None
    try:
        date(int(year) if year else 2000, int(month), int(day))  # 2000 is a leap year
    except ValueError:
        return None
    return f"{year}-{month}-{day}" if year else f"--{month}-{day}"
