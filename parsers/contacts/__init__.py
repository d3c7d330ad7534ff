"""Contact files (vCard 2.1/3.0/4.0 or CSV) -> `ContactRecord`s, plus a `Problem` per bad line.

`read_contact_file` (in `sniff`) decodes the bytes and picks the reader; `vcard` and
`csvfile` read one format each; `records` holds what they return and share; `binary` names
the spreadsheets and archives that are neither.
"""

from kithkin.parsers.birthdays import normalise_birthday
from kithkin.parsers.contacts.binary import unsupported_format
from kithkin.parsers.contacts.csvfile import parse_csv
from kithkin.parsers.contacts.records import (
    MAX_NAME,
    MAX_NOTE,
    ContactRecord,
    Problem,
    name_too_long,
)
from kithkin.parsers.contacts.sniff import read_contact_file, read_vcard_file
from kithkin.parsers.contacts.vcard import looks_like_vcard, parse_vcards

__all__ = [
    "MAX_NAME",
    "MAX_NOTE",
    "ContactRecord",
    "Problem",
    "looks_like_vcard",
    "name_too_long",
    "normalise_birthday",
    "parse_csv",
    "parse_vcards",
    "read_contact_file",
    "read_vcard_file",
    "unsupported_format",
]
