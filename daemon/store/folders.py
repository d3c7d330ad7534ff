"""Per folder: the sync's cursor (UIDVALIDITY, last UID, UIDNEXT) and counters, and the
messages set aside because they could not be processed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple
from datetime import datetime

from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.core.records import FolderState, SetAside
from kithkin.daemon.store.connection import Subject

_STATE = ("name, uidvalidity, last_uid, uidnext, last_sync_at, messages_seen, "
          "interactions_logged, last_error")  # fmt: skip


class Folders(Subject):
    def get(self, name: str) -> FolderState:
        row = self.db.execute(f"SELECT {_STATE} FROM folders WHERE name = ?", [name]).fetchone()
        return FolderState(*row) if row else FolderState(name=name)

    def all(self) -> list[FolderState]:
        rows = self.db.execute(f"SELECT {_STATE} FROM folders ORDER BY name").fetchall()
        return [FolderState(*row) for row in rows]

    def save(self, state: FolderState) -> None:
        self._writing()
        self.db.execute(
            """INSERT INTO folders (name, uidvalidity, last_uid, uidnext, last_sync_at,
                   messages_seen, interactions_logged, last_error)
               VALUES (?,?,?,?,?,?,?,?)
               ON CONFLICT (name) DO UPDATE SET uidvalidity = excluded.uidvalidity,
                   last_uid = excluded.last_uid, uidnext = excluded.uidnext,
                   last_sync_at = excluded.last_sync_at, messages_seen = excluded.messages_seen,
                   interactions_logged = excluded.interactions_logged,
                   last_error = excluded.last_error""",
            list(astuple(state)),
        )


class SetAsideLog(Subject):
    """Where each set-aside message is and the stage that failed; nothing of its content."""

    def record(self, folder: str, uidvalidity: int, uid: int, stage: str, now: datetime) -> None:
        """Record a message whose processing failed, or count another failure of it."""
        self._writing()
        self.db.execute(
            """INSERT INTO set_aside (folder, uidvalidity, uid, stage, first_at, last_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (folder, uidvalidity, uid) DO UPDATE SET
                   stage = excluded.stage, attempts = attempts + 1, last_at = excluded.last_at""",
            [folder, uidvalidity, uid, stage, utc_iso(now), utc_iso(now)],
        )

    def all(self) -> list[SetAside]:
        rows = self.db.execute(
            "SELECT folder, uidvalidity, uid, stage, attempts, first_at, last_at "
            "FROM set_aside ORDER BY folder, uidvalidity, uid"
        ).fetchall()
        return [SetAside(*row) for row in rows]

    def clear(self, folder: str, uidvalidity: int, uids: Iterable[int]) -> None:
        """Forget records of messages read after all, or gone."""
        self._writing()
        for uid in uids:
            self.db.execute(
                "DELETE FROM set_aside WHERE folder = ? AND uidvalidity = ? AND uid = ?",
                [folder, uidvalidity, uid],
            )

    def clear_stale(self, folder: str, uidvalidity: int) -> None:
        """Records under an older UIDVALIDITY name messages that no longer exist by those
        UIDs (the folder is read again from the start)."""
        self._writing()
        self.db.execute(
            "DELETE FROM set_aside WHERE folder = ? AND uidvalidity != ?", [folder, uidvalidity]
        )

    def unreported(self) -> int:
        row = self.db.execute("SELECT count(*) FROM set_aside WHERE reported_in IS NULL")
        return int(row.fetchone()[0])

    def mark_reported(self, token: str) -> None:
        self._writing()
        self.db.execute("UPDATE set_aside SET reported_in = ? WHERE reported_in IS NULL", [token])
