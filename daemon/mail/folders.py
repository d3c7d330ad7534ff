"""Which folders are read: `[imap] folders`, else the \\All folder (Gmail), else INBOX plus
every \\Sent folder. Attributes are compared case-insensitively (RFC 3501 §9: `\\sent` is
`\\Sent`); without any \\Sent attribute, a folder with a usual name for sent mail is taken."""

from __future__ import annotations

from typing import Any

NOSELECT = b"\\noselect"
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
