"""Which folders are read: `[imap] folders`, else the \\All folder (Gmail), else INBOX plus
every \\Sent folder. Attributes are compared case-insensitively (RFC 3501 §9: `\\sent` is
`\\Sent`); without any \\Sent attribute, a folder with a usual name for sent mail is taken.

`missing_folders` says which of the configured folders a LIST reply does not hold, with the
names closest to each: pure, for the sync and for any check of the config."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kithkin.parsers.text import clean_line

NOSELECT = b"\\noselect"
NONEXISTENT = b"\\nonexistent"  # RFC 5258
ALL_ATTRIBUTE = b"\\all"
SENT_ATTRIBUTE = b"\\sent"
# Names servers without SPECIAL-USE give the sent-mail folder (imapclient's list, and more).
SENT_NAMES = ("sent", "sent items", "sent messages", "sent mail", "inbox.sent")


def folded(flags: Any) -> frozenset[bytes]:
    """Mailbox attributes, lowercased: they are case-insensitive."""
    return frozenset(
        (flag if isinstance(flag, bytes) else str(flag).encode("utf-8", "replace")).lower()
        for flag in flags or ()
    )


def sent_by_name(folders: list[tuple[Any, str]]) -> list[str]:
    """The first folder whose name, or last name part, is a usual name for sent mail."""
    for wanted in SENT_NAMES:
        for delimiter, name in folders:
            separator = delimiter.decode("utf-8", "replace") if isinstance(delimiter, bytes) else ""
            last = name.rsplit(separator, 1)[-1] if separator else name
            if name.casefold() == wanted or last.casefold() == wanted:
                return [name]
    return []


def choose_folders(listing: list[tuple[Any, Any, str]]) -> list[str]:
    """The folders to sync from a LIST reply: (attributes, delimiter, name) triples."""
    selectable = [
        (attributes, delimiter, name)
        for flags, delimiter, name in listing
        if NOSELECT not in (attributes := folded(flags))
    ]
    all_mail = [name for attributes, _, name in selectable if ALL_ATTRIBUTE in attributes]
    if all_mail:
        return all_mail[:1]
    sent = [name for attributes, _, name in selectable if SENT_ATTRIBUTE in attributes]
    if not sent:
        sent = sent_by_name([(delimiter, name) for _, delimiter, name in selectable])
    return ["INBOX", *[name for name in sent if name.upper() != "INBOX"]]


SIMILAR_SHOWN = 3
MOST_NAMES = 10_000  # folder names compared; a LIST of more is compared in part
NAME_COMPARED = 200  # characters of each name compared


@dataclass(frozen=True)
class MissingFolder:
    """A configured folder the server cannot open, and the listed names closest to it."""

    name: str
    similar: tuple[str, ...] = ()
    listed: bool = False  # listed, but \\Noselect: it holds other folders, never mail

    def describe(self) -> str:
        """One line, naming the folder (names are the server's or the owner's: cleaned)."""
        name = clean_line(self.name)
        if self.listed:
            text = f'folder "{name}" in [imap] folders holds no mail on the server (\\Noselect)'
        else:
            text = f'folder "{name}" in [imap] folders does not exist on the server'
        if self.similar:
            text += "; similar: " + ", ".join(f'"{clean_line(n)}"' for n in self.similar)
        return text


def missing_folders(
    configured: Iterable[str], listing: list[tuple[Any, Any, str]]
) -> list[MissingFolder]:
    """The configured folders that a LIST reply's (attributes, delimiter, name) triples do not
    show as selectable, in the order given. INBOX is matched in any case (RFC 3501 §5.1);
    other names exactly, as the server does."""
    selectable: list[tuple[Any, str]] = []
    unselectable: set[str] = set()
    for flags, delimiter, name in listing[:MOST_NAMES]:
        if not isinstance(name, str):
            continue
        attributes = folded(flags)
        if NOSELECT in attributes or NONEXISTENT in attributes:
            unselectable.add(name)
        else:
            selectable.append((delimiter, name))
    present = {name for _, name in selectable}
    if any(name.upper() == "INBOX" for name in present):
        present.add("INBOX")
    missing = []
    for name in dict.fromkeys(configured):
        wanted = "INBOX" if name.upper() == "INBOX" else name
        if wanted not in present:
            similar = _similar(name, selectable)
            missing.append(MissingFolder(name, similar, listed=name in unselectable))
    return missing


def _similar(name: str, selectable: list[tuple[Any, str]]) -> tuple[str, ...]:
    """Up to SIMILAR_SHOWN names like `name`: the same in another case or as the last part
    of a name (`INBOX.Archive` for `Archive`) first, then by difflib's ratio (case folded)."""
    wanted = name.casefold()
    first = [
        listed
        for delimiter, listed in selectable
        if listed.casefold() == wanted or _last_part(delimiter, listed).casefold() == wanted
    ]
    by_folded: dict[str, str] = {}
    for _, listed in selectable:
        by_folded.setdefault(listed.casefold()[:NAME_COMPARED], listed)
    close = difflib.get_close_matches(
        wanted[:NAME_COMPARED], list(by_folded), n=SIMILAR_SHOWN, cutoff=0.6
    )
    found = dict.fromkeys([*first, *(by_folded[key] for key in close)])
    found.pop(name, None)
    return tuple(found)[:SIMILAR_SHOWN]


def _last_part(delimiter: Any, name: str) -> str:
    separator = delimiter.decode("utf-8", "replace") if isinstance(delimiter, bytes) else ""
    return name.rsplit(separator, 1)[-1] if separator else name
