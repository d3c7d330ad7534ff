"""Dated notes about a person ("new job at the museum")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.store.connection import Subject


class Notes(Subject):
    def add(self, contact_id: int, text: str, day: date, now: datetime) -> int:
        self._writing()
        cursor = self.db.execute(
            "INSERT INTO notes (contact_id, date, text, created_at) VALUES (?, ?, ?, ?)",
            [contact_id, day.isoformat(), text, utc_iso(now)],
        )
        return int(cursor.lastrowid or 0)

    def replace(self, note_id: int, text: str, day: date) -> bool:
        """New text and date for a note; False if it is gone."""
        self._writing()
        cursor = self.db.execute(
            "UPDATE notes SET text = ?, date = ? WHERE id = ?", [text, day.isoformat(), note_id]
        )
        return cursor.rowcount > 0

    def remove(self, note_id: int) -> None:
        self._writing()
        self.db.execute("DELETE FROM notes WHERE id = ?", [note_id])

    def list(self, contact_id: int, until: date | None = None) -> list[dict[str, Any]]:
        """Newest first; none dated after `until`."""
        rows = self.db.execute(
            "SELECT id, date, text FROM notes WHERE contact_id = ? AND date <= ? "
            "ORDER BY date DESC, id DESC",
            [contact_id, until.isoformat() if until else "9999"],
        ).fetchall()
        return [dict(zip(("id", "date", "text"), row, strict=True)) for row in rows]

    def text(self, note_id: int) -> str | None:
        row = self.db.execute("SELECT text FROM notes WHERE id = ?", [note_id]).fetchone()
        return str(row[0]) if row else None

    def latest(self, until: date) -> dict[int, tuple[str, str]]:
        """contact_id -> (date, text) of their newest note dated on or before `until`."""
        rows = self.db.execute(
            """SELECT contact_id, date, text FROM notes n WHERE id = (
                   SELECT id FROM notes WHERE contact_id = n.contact_id AND date <= ?
                   ORDER BY date DESC, id DESC LIMIT 1)""",
            [until.isoformat()],
        ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}
