"""The mailboxes to read: the single `[imap]` table, or several `[[mailbox]]` tables, each
with the `[imap]` keys and a `name` (which `status` and errors show, and cursors are kept by).
"""

from __future__ import annotations

import re

from kithkin.daemon.config.model import ImapConfig
from kithkin.daemon.config.reader import TableReader
from kithkin.daemon.config.servers import read_imap

MAX_MAILBOXES = 20
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


def read_mailboxes(root: TableReader) -> tuple[ImapConfig, ...]:
    tables = root.table.pop("mailbox", None)
    single = root.section("imap")
    if tables is None:
        return (read_imap(single),) if single is not None else ()
    if single is not None:
        raise root.error("[imap]", "and [[mailbox]] tables cannot both be used: pick one form")
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise root.error("mailbox", "must be tables, each starting with [[mailbox]]")
    if not 0 < len(tables) <= MAX_MAILBOXES:
        raise root.error("[[mailbox]]", f"must be between 1 and {MAX_MAILBOXES} tables")
    mailboxes: list[ImapConfig] = []
    for number, table in enumerate(tables, start=1):
        section = TableReader(table, root.source, prefix=f"[[mailbox]] number {number}: ")
        name = section.take("name", str, required=True).strip()
        if not _NAME.fullmatch(name):
            raise section.error(
                "name", "must be 1 to 32 letters, digits, - or _ (it names the mailbox)"
            )
        if any(other.name.casefold() == name.casefold() for other in mailboxes):
            raise section.error("name", f"{name!r} is the name of an earlier [[mailbox]]")
        mailboxes.append(read_imap(section, kind=f"imap-{name}", name=name))
    return tuple(mailboxes)


def delivery_mailbox(
    root: TableReader, chosen: str | None, mailboxes: tuple[ImapConfig, ...]
) -> ImapConfig | None:
    """The mailbox the summary is stored in and replies are read from: `[summary] mailbox`,
    else the first."""
    if chosen is None:
        return mailboxes[0] if mailboxes else None
    for mailbox in mailboxes:
        if mailbox.name and mailbox.name.casefold() == chosen.casefold():
            return mailbox
    names = ", ".join(repr(m.name) for m in mailboxes if m.name) or "none: there is no [[mailbox]]"
    raise root.error("[summary] mailbox", f"names no [[mailbox]] (the names are {names})")
