"""A contact file's bytes -> `ContactRecord`s and `Problem`s, by whichever reader fits.

A bad entry never stops the rest: the reader records the line number and the reason and goes
on. Which reader runs is decided by the content, not the file name.
"""

from __future__ import annotations

from kithkin.parsers.contacts.binary import unsupported_format
from kithkin.parsers.contacts.csvfile import parse_csv
from kithkin.parsers.contacts.records import MAX_NAME, ContactRecord, Problem, name_too_long
from kithkin.parsers.contacts.vcard import looks_like_vcard, parse_vcards
from kithkin.parsers.text import decode_file


def read_contact_file(data: bytes) -> tuple[list[ContactRecord], list[Problem]]:
    """Decode `data` (UTF-8, UTF-16 with BOM, or Windows-1252) and parse it as vCard or CSV.

    A spreadsheet or archive is one problem saying what it is (`unsupported_format`)."""
    unsupported = unsupported_format(data)
    if unsupported is not None:
        return [], [Problem(1, unsupported)]
    text = decode_file(data)
    if looks_like_vcard(text):
        return _named(*parse_vcards(text))
    return _named(*parse_csv(text))


def read_vcard_file(data: bytes) -> tuple[list[ContactRecord], list[Problem]]:
    """Like `read_contact_file`, for a file that must be vCard (an address book's): anything
    else is one problem at line 1."""
    text = decode_file(data)
    if not looks_like_vcard(text):
        return [], [Problem(1, "not a vCard (no BEGIN:VCARD at the start); skipped", True)]
    return _named(*parse_vcards(text))


def _named(
    records: list[ContactRecord], problems: list[Problem]
) -> tuple[list[ContactRecord], list[Problem]]:
    """Records whose name is too long become problems."""
    kept = []
    for record in records:
        if len(record.name) > MAX_NAME:
            problems.append(
                Problem(record.line, name_too_long(record.name), skipped=True, uid=record.uid)
            )
        else:
            kept.append(record)
    return kept, sorted(problems, key=lambda problem: problem.line)
