"""Per folder: the sync's cursor (UIDVALIDITY, last UID, UIDNEXT) and counters, and the
messages set aside because they could not be processed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple
from datetime import datetime

from sqlite_utils import Database

from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.core.records import FolderState, SetAside
from kithkin.daemon.store.connection import Subject

_STATE = ("name, uidvalidity, last_uid, uidnext, last_sync_at, messages_seen, "
          "interactions_logged, last_error, mailbox")  # fmt: skip


class Folders(Subject):
    """The folders of one mailbox (its `[[mailbox]]` name; "" for the `[imap]` form)."""

    def __init__(self, db: Database, mailbox: str = "") -> None:
        super().__init__(db)
        self.mailbox = mailbox

    def get(self, name: str) -> FolderState:
        row = self.db.execute(
            f"SELECT {_STATE} FROM folders WHERE mailbox = ? AND name = ?", [self.mailbox, name]
        ).fetchone()
        return FolderState(*row) if row else FolderState(name=name, mailbox=self.mailbox)

    def all(self) -> list[FolderState]:
        rows = self.db.execute(
            f"SELECT {_STATE} FROM folders WHERE mailbox = ? ORDER BY name", [self.mailbox]
        ).fetchall()
        return [FolderState(*row) for row in rows]

    def everywhere(self) -> list[FolderState]:
        """The folders of every mailbox, by mailbox and name: for `status`."""
        rows = self.db.execute(f"SELECT {_STATE} FROM folders ORDER BY mailbox, name").fetchall()
        return [FolderState(*row) for row in rows]

    def save(self, state: FolderState) -> None:
        self._writing()
        self.db.execute(
            """INSERT INTO folders (name, uidvalidity, last_uid, uidnext, last_sync_at,
                   messages_seen, interactions_logged, last_error, mailbox)
               VALUES (?,?,?,?,?,?,?,?,?)
               ON CONFLICT (mailbox, name) DO UPDATE SET uidvalidity = excluded.uidvalidity,
                   last_uid = excluded.last_uid, uidnext = excluded.uidnext,
                   last_sync_at = excluded.last_sync_at, messages_seen = excluded.messages_seen,
                   interactions_logged = excluded.interactions_logged,
                   last_error = excluded.last_error""",
            [*astuple(state)[:-1], self.mailbox],
        )

    def adopt_unnamed(self) -> bool:
        """Take over what the single `[imap]` form synced (mailbox ""), when this mailbox
        has nothing yet: for the first `[[mailbox]]` after a switch to that form."""
        self._writing()
        if (
            not self.mailbox
            or self.db.execute("SELECT 1 FROM folders WHERE mailbox = ?", [self.mailbox]).fetchone()
        ):
            return False
        moved = self.db.execute("UPDATE folders SET mailbox = ? WHERE mailbox = ''", [self.mailbox])
        self.db.execute("UPDATE set_aside SET mailbox = ? WHERE mailbox = ''", [self.mailbox])
        return moved.rowcount > 0


class SetAsideLog(Subject):
    """Where each set-aside message is and the stage that failed; nothing of its content.
    Records are written and cleared within one mailbox; read and reported across all."""

    def __init__(self, db: Database, mailbox: str = "") -> None:
        super().__init__(db)
        self.mailbox = mailbox

    def record(self, folder: str, uidvalidity: int, uid: int, stage: str, now: datetime) -> None:
        """Record a message whose processing failed, or count another failure of it."""
        self._writing()
        self.db.execute(
            """INSERT INTO set_aside (mailbox, folder, uidvalidity, uid, stage, first_at,
                   last_at)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (mailbox, folder, uidvalidity, uid) DO UPDATE SET
                   stage = excluded.stage, attempts = attempts + 1, last_at = excluded.last_at""",
            [self.mailbox, folder, uidvalidity, uid, stage, utc_iso(now), utc_iso(now)],
        )

    def all(self) -> list[SetAside]:
        rows = self.db.execute(
            "SELECT folder, uidvalidity, uid, stage, attempts, first_at, last_at, mailbox "
            "FROM set_aside ORDER BY mailbox, folder, uidvalidity, uid"
        ).fetchall()
        return [SetAside(*row) for row in rows]

    def uids(self, folder: str, uidvalidity: int | None) -> list[int]:
        """The set-aside messages of one folder of this mailbox, by UID."""
        rows = self.db.execute(
            "SELECT uid FROM set_aside WHERE mailbox = ? AND folder = ? AND uidvalidity = ? "
            "ORDER BY uid",
            [self.mailbox, folder, uidvalidity],
        )
        return [int(row[0]) for row in rows]

    def clear(self, folder: str, uidvalidity: int, uids: Iterable[int]) -> None:
        """Forget records of messages read after all, or gone."""
        self._writing()
        for uid in uids:
            self.db.execute(
                "DELETE FROM set_aside "
                "WHERE mailbox = ? AND folder = ? AND uidvalidity = ? AND uid = ?",
                [self.mailbox, folder, uidvalidity, uid],
            )

    def clear_stale(self, folder: str, uidvalidity: int) -> None:
        """Records under an older UIDVALIDITY name messages that no longer exist by those
        UIDs (the folder is read again from the start)."""
        self._writing()
        self.db.execute(
            "DELETE FROM set_aside WHERE mailbox = ? AND folder = ? AND uidvalidity != ?",
            [self.mailbox, folder, uidvalidity],
        )

    def unreported(self) -> int:
        row = self.db.execute("SELECT count(*) FROM set_aside WHERE reported_in IS NULL")
        return int(row.fetchone()[0])

    def mark_reported(self, token: str) -> None:
        self._writing()
        self.db.execute("UPDATE set_aside SET reported_in = ? WHERE reported_in IS NULL", [token])
