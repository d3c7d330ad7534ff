"""Which folders a sync would read and how each was found, from the server's LIST reply:
a pure function, so the doctor and its tests need no server to read a listing. The choice
itself is mail/folders.py's (`choose_folders`), the one the sync makes."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from kithkin.daemon.mail.folders import (
    ALL_ATTRIBUTE,
    NOSELECT,
    SENT_ATTRIBUTE,
    SENT_NAMES,
    choose_folders,
    folded,
)

CONFIGURED = "set in [imap] folders"
ALWAYS = "always read"
BY_ALL = "by its \\All attribute: all mail, nothing else needed"
BY_SENT = "by its \\Sent attribute"
BY_NAME = "by its name: no folder is marked \\Sent"


@dataclass(frozen=True)
class FolderChoice:
    name: str
    found_by: str  # CONFIGURED, "INBOX", "the \\Sent attribute", BY_NAME, ...


@dataclass(frozen=True)
class FolderPlan:
    chosen: tuple[FolderChoice, ...]  # what a sync reads, in order
    missing: tuple[str, ...] = ()  # configured, but not on the server
    unselectable: tuple[str, ...] = ()  # configured, but \Noselect (a folder of folders)
    suggestions: tuple[tuple[str, str], ...] = ()  # (missing, a listed name like it)
    sent_found: bool = True  # a folder of sent mail is among those read

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unselectable


def plan_folders(
    listing: list[tuple[Any, Any, str]], configured: tuple[str, ...] | None
) -> FolderPlan:
    """The folders of `listing` ((attributes, delimiter, name) triples, as LIST gives them)
    a sync reads: `configured` (each must exist and be selectable), else choose_folders'."""
    attributes = {name: folded(flags) for flags, _delimiter, name in listing}
    if configured:
        return _configured(attributes, configured)
    chosen = []
    for name in choose_folders(listing):
        found = attributes.get(name, frozenset())
        if name == "INBOX":
            how = ALWAYS
        elif ALL_ATTRIBUTE in found:
            how = BY_ALL
        elif SENT_ATTRIBUTE in found:
            how = BY_SENT
        else:
            how = BY_NAME
        chosen.append(FolderChoice(name, how))
    sent_found = len(chosen) > 1 or any(choice.found_by == BY_ALL for choice in chosen)
    return FolderPlan(tuple(chosen), sent_found=sent_found)


def _configured(attributes: dict[str, frozenset[bytes]], configured: tuple[str, ...]) -> FolderPlan:
    by_name = {_key(name): name for name in attributes}
    chosen, missing, unselectable, suggestions = [], [], [], []
    for wanted in configured:
        listed = by_name.get(_key(wanted))
        if listed is None and _key(wanted) != "INBOX":
            missing.append(wanted)
            if (like := similar(wanted, attributes)) is not None:
                suggestions.append((wanted, like))
        elif listed is not None and NOSELECT in attributes[listed]:
            unselectable.append(wanted)
        else:
            chosen.append(FolderChoice(wanted, CONFIGURED))
    return FolderPlan(tuple(chosen), tuple(missing), tuple(unselectable), tuple(suggestions))


def _key(name: str) -> str:
    """Folder names are case-sensitive, but for INBOX (RFC 3501 §5.1)."""
    return "INBOX" if name.upper() == "INBOX" else name


def similar(wanted: str, attributes: dict[str, frozenset[bytes]]) -> str | None:
    """A listed name that `wanted` was probably meant to be: the same but for case, the same
    last part ("INBOX.Sent" for "Sent"), one a few letters away, or, for a usual name of sent
    mail ("Sent Items"), the folder the server marks \\Sent."""
    names = list(attributes)
    folded_wanted = wanted.casefold()
    for name in names:
        if name.casefold() == folded_wanted:
            return name
    for name in names:
        if any(name.casefold().endswith(sep + folded_wanted) for sep in "./"):
            return name
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.75)
    if close:
        return close[0]
    if folded_wanted in SENT_NAMES or "sent" in folded_wanted.split():
        marked = [name for name, found in attributes.items() if SENT_ATTRIBUTE in found]
        return marked[0] if marked else None
    return None
