"""What the read-only session hands the sync engine: a folder's status and a message's
fetched header section, and the failures the engine handles apart from the others."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.folders import MissingFolder
from kithkin.daemon.mail.internaldate import parse_internaldate

MALFORMED = (ValueError, OverflowError)  # a number or date in a reply that is not one


@dataclass(frozen=True)
class FolderStatus:
    name: str
    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True)
class FetchedHeader:
    uid: int
    header: bytes | None  # None when the server sent no header section for this UID
    internaldate_value: datetime | bytes | None  # bytes: as sent, parsed only when needed
    long: bool = False  # the section filled the bytes asked for: there may be more
    cut: bool = False  # the section was longer than HEADER_LIMIT: cut there

    @property
    def internaldate(self) -> datetime | None:
        value = self.internaldate_value
        if isinstance(value, bytes):
            try:
                parsed = parse_internaldate(value)
                parsed.utcoffset()  # an offset past ±24 h (`+9999`) raises only here
            except MALFORMED:
                return None
            return parsed
        return value


class FolderUnavailable(MailboxError):
    """One folder cannot be opened (deleted, renamed, no permission); the others still sync."""


class SearchRefused(MailboxError):
    """The server cannot run a search; the connection itself is still fine."""


@dataclass(frozen=True)
class Survey:
    """The folders to sync, and the STATUS of those that answered it in full: a folder whose
    UIDVALIDITY and UIDNEXT did not change since the last sync need not be examined; and the
    configured folders the server does not have (not examined either)."""

    folders: list[str]
    status: dict[str, FolderStatus]
    missing: tuple[MissingFolder, ...] = ()
