"""The log of interactions: synced emails and what the owner logged by hand."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from kithkin.daemon.core.dates import EPOCH, as_utc, day_number
from kithkin.daemon.core.records import Interaction
from kithkin.daemon.core.stored import StoredRow, stored_row
from kithkin.daemon.store.connection import Subject

_INSERT = """INSERT INTO interactions (contact_id, kind, direction, date, day,
                   message_key, message_id, subject, audience, note)
               SELECT ?,?,?,?,?,?,?,?,?,? WHERE EXISTS (SELECT 1 FROM contacts WHERE id = ?)
               ON CONFLICT (contact_id, message_key) DO NOTHING"""

_LISTED = ("id", "contact", "date", "direction", "message_id", "subject", "kind", "note",
           "audience")  # fmt: skip


class Interactions(Subject):
    def add(self, rows: Iterable[Interaction]) -> int:
        """Insert, skipping any (contact, message) already logged and any contact forgotten
        meanwhile. Returns how many were new."""
        return self.add_stored(stored_row(row) for row in rows)

    def add_stored(self, rows: Iterable[StoredRow]) -> int:
        """`add` of rows in their stored form (core/stored.py).

        Raw SQL rather than sqlite-utils' insert_all: the row must be skipped, not refused,
        when its contact is gone (a `forget` during a sync), which `INSERT ... SELECT ...
        WHERE EXISTS` says in one statement, and the count of rows added is needed."""
        self._writing()
        cursor = self.db.conn.executemany(_INSERT, rows)
        return max(0, cursor.rowcount)  # executemany sums the rows each statement changed

    def list(
        self, contact_id: int | None = None, limit: int = 0, until: date | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; one person's or everyone's; none after the day `until`."""
        bound = day_bound(day_number(until)) if until else "9999"
        where = "WHERE i.date < ?"
        params: list[str | int] = [bound]
        if contact_id:
            where, params = where + " AND i.contact_id = ?", [bound, contact_id]
        limit_sql = f"LIMIT {int(limit)}" if limit > 0 else ""
        rows = self.db.execute(
            f"""SELECT i.id, c.name, i.date, i.direction, i.message_id, i.subject, i.kind,
                   i.note, i.audience
                FROM interactions i JOIN contacts c ON c.id = i.contact_id {where}
                ORDER BY i.date DESC, i.id DESC {limit_sql}""",
            params,
        ).fetchall()
        return [dict(zip(_LISTED, row, strict=True)) for row in rows]

    def get(self, interaction_id: int) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT id, contact_id, kind, date, message_key FROM interactions WHERE id = ?",
            [interaction_id],
        ).fetchone()
        keys = ("id", "contact_id", "kind", "date", "message_key")
        return dict(zip(keys, row, strict=True)) if row else None

    def delete(self, interaction_id: int) -> None:
        self._writing()
        self.db.execute("DELETE FROM interactions WHERE id = ?", [interaction_id])

    def counts(self, contact_id: int, until: date) -> dict[str, int]:
        """How many interactions of each kind up to `until`: email_in, email_out, call..."""
        rows = self.db.execute(
            """SELECT CASE WHEN kind = 'email' THEN 'email_' || direction ELSE kind END, count(*)
               FROM interactions WHERE contact_id = ? AND date < ? GROUP BY 1""",
            [contact_id, day_bound(day_number(until))],
        ).fetchall()
        return dict(rows)


def day_bound(last_day: int) -> str:
    """The first stored date string after day `last_day` ends (dates sort as text)."""
    return (EPOCH + timedelta(days=last_day + 1)).strftime("%Y-%m-%dT00:00:00Z")


def utc_day_number(moment: datetime) -> int:
    """The UTC day of a moment, as days since 1970-01-01."""
    return day_number(as_utc(moment).date())
