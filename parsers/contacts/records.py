"""What every contact-file reader returns and shares: `ContactRecord`, `Problem`, the check
on a name (birthdays: parsers/birthdays.py), and how a bad value is quoted in a problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_NAME = 500  # characters: a longer "name" is garbage, not a person
MAX_NOTE = 2000  # characters of a card's NOTE kept; the rest is cut
LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PREVIEW = 40  # characters of a bad value quoted in a problem


@dataclass(frozen=True)
class ContactRecord:
    """One person as read from a file; addresses are normalised, the birthday validated."""

    name: str
    emails: tuple[str, ...]
    birthday: str | None = None  # "YYYY-MM-DD" or "--MM-DD"
    tags: tuple[str, ...] = ()
    line: int = 0  # where the entry starts, 1-based
    nickname: str | None = None
    uid: str | None = None  # a vCard's UID: what keeps a card the same card across edits
    note: str | None = None  # a vCard's NOTE, on one line, at most MAX_NOTE characters


@dataclass(frozen=True)
class Problem:
    """Something wrong at `line`. A warning's entry was imported all the same (without the
    bad value: a birthday that is not a date, one address of several); else it was not."""

    line: int
    message: str
    # For readers of address books (daemon/sources/), not part of what the problem says:
    skipped: bool = field(default=False, compare=False)  # a whole entry was left out
    uid: str | None = field(default=None, compare=False)  # the left-out vCard's UID, if any
    warning: bool = False  # a value left out; the entry itself was read

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def name_too_long(name: str) -> str:
    return f"name is {len(name)} characters long (at most {MAX_NAME})"


def preview(text: str) -> str:
    """A value quoted in a problem: stripped, cut at `_PREVIEW` characters, in quotes."""
    text = text.strip()
    return repr(text if len(text) <= _PREVIEW else text[:_PREVIEW] + "…")


def first_line(text: str) -> str:
    """The first non-blank line (leading whitespace removed): a file's header or marker."""
    return LINE_BREAK.split(text.lstrip(), maxsplit=1)[0]
