"""What a sync did, per folder and in all: the line `kithkin sync` prints and the service
logs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FolderReport:
    name: str
    messages: int = 0
    logged: int = 0
    unparseable: int = 0
    capped: int = 0
    set_aside: int = 0
    retried: int = 0
    unchanged: bool = False
    uidvalidity_reset: bool = False
    backfilled: int = 0
    error: str | None = None  # not synced: why, in a line naming the folder
    missing: bool = False  # a configured folder the server does not have


@dataclass
class SyncReport:
    folders: list[FolderReport] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return sum(f.messages for f in self.folders)

    @property
    def logged(self) -> int:
        return sum(f.logged + f.backfilled for f in self.folders)

    @property
    def unparseable(self) -> int:
        return sum(f.unparseable for f in self.folders)

    @property
    def set_aside(self) -> int:
        return sum(f.set_aside for f in self.folders)

    @property
    def capped(self) -> int:
        return sum(f.capped for f in self.folders)

    @property
    def retried(self) -> int:
        return sum(f.retried for f in self.folders)

    def summary(self) -> str:
        text = (
            f"{len(self.folders)} folder(s), {self.messages} new message(s) read, "
            f"{self.logged} interaction(s) logged"
        )
        if self.unparseable:
            text += f", {self.unparseable} unreadable message(s) skipped"
        if self.set_aside:
            text += f", {self.set_aside} message(s) could not be read and were set aside"
        if self.capped:
            text += f", {self.capped} with address lists longer than is read (read in part)"
        if self.retried:
            text += f", {self.retried} set-aside message(s) read after all"
        resets = [f.name for f in self.folders if f.uidvalidity_reset]
        if resets:
            text += f"; UIDVALIDITY changed, rescanned: {', '.join(resets)}"
        if self.errors:
            text += f"; {len(self.errors)} folder(s) not synced"
        return text

    @property
    def errors(self) -> list[str]:
        """A line for each folder not synced, naming it (the summary only counts them)."""
        return [f.error for f in self.folders if f.error]
