"""The domain's records: who a contact is, what one interaction is, where a folder's sync
stands, which message was set aside. Plain frozen data; nothing here speaks SQL or IMAP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    emails: tuple[str, ...]
    every_days: int | None = None
    tags: tuple[str, ...] = ()
    birthday: str | None = None
    snoozed_until: str | None = None
    muted: bool = False
    remind_days: int | None = None  # how long before their birthday; None: [analysis] default
    nickname: str | None = None

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "name": self.name,
            "emails": list(self.emails),
            "every_days": self.every_days,
            "tags": list(self.tags),
            "birthday": self.birthday,
        }
        if self.remind_days is not None:
            shown["remind_days"] = self.remind_days
        if self.nickname is not None:
            shown["nickname"] = self.nickname
        return shown


@dataclass(frozen=True)
class Interaction:
    """One interaction to log: an email matched to a contact, a call or meeting logged by
    hand (kind != "email", audience 1), or a meeting from the calendar (core/meetings.py)."""

    contact_id: int
    direction: str | None  # "in", "out"; None for what was logged by hand
    date: datetime
    message_key: str | None
    message_id: str | None
    subject: str | None
    audience: int = 1
    kind: str = "email"
    note: str | None = None


@dataclass(frozen=True)
class FolderState:
    """Where the sync of one folder stands: its cursor and what it has counted."""

    name: str
    uidvalidity: int | None = None
    last_uid: int = 0
    uidnext: int | None = None
    last_sync_at: str | None = None
    messages_seen: int = 0
    interactions_logged: int = 0
    last_error: str | None = None
    mailbox: str = ""  # its `[[mailbox]]` name; "" for the single `[imap]` form


@dataclass(frozen=True)
class SetAside:
    """A message that could not be processed: where it is, never what it says."""

    folder: str
    uidvalidity: int
    uid: int
    stage: str  # "fetch": the server could not send it; "process": reading it failed
    attempts: int
    first_at: str
    last_at: str
    mailbox: str = ""

    def as_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"mailbox": self.mailbox} if self.mailbox else {}
        return shown | {
            "folder": self.folder,
            "uidvalidity": self.uidvalidity,
            "uid": self.uid,
            "stage": self.stage,
            "attempts": self.attempts,
            "first_at": self.first_at,
            "last_at": self.last_at,
        }
