"""What the sync engine needs from a mailbox, and how it reports progress: the engine runs on
any `MailSource` (the real one is mail/session.py's ImapSession; tests/memorysource.py holds an
in-memory one that passes the same contract tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.records import FetchedHeader, FolderStatus, Survey

Fault = Callable[[str, str, int], None]  # (stage, folder, uid): the test suite's seam


class MailSource(Protocol):
    """What the engine needs from a mailbox; `mail.session.ImapSession` is the real one."""

    def folders_to_sync(self) -> list[str]: ...
    def survey(self, known: Iterable[str]) -> Survey: ...
    def examine(
        self, folder: str, expect: FolderStatus | None = None, cursor: int | None = None
    ) -> FolderStatus: ...
    def uids_above(self, last_uid: int) -> Iterator[list[int]]: ...
    def uids_up_to(self, last_uid: int) -> Iterator[list[int]]: ...
    def search_uids(self, criteria: list[Any], *, charset: str | None = None) -> list[int]: ...
    def existing(self, uids: list[int]) -> set[int]: ...
    def prefetch_headers(self, uids: list[int]) -> None: ...
    def fetch_headers(self, uids: list[int]) -> list[FetchedHeader]: ...
    def fetch_whole_headers(self, uids: list[int]) -> list[FetchedHeader]: ...
    def fetch_bodies(self, uids: list[int]) -> dict[int, bytes]: ...
    def reconnect(self) -> None: ...


class Progress(Protocol):
    def folder(self, name: str, total: int) -> None: ...
    def advance(self, messages: int, logged: int) -> None: ...


class NoProgress:
    def folder(self, name: str, total: int) -> None:
        pass

    def advance(self, messages: int, logged: int) -> None:
        pass


class Stopped(Exception):
    """Raised between batches when the caller asked the sync to stop (SIGTERM)."""


class FetchIncomplete(MailboxError):
    """The server left out of a FETCH reply messages that still exist."""
