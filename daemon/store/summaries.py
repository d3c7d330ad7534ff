"""Every summary prepared: its week, its secret token, and whether it was delivered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kithkin.daemon.core.dates import parse_utc_iso, utc_iso
from kithkin.daemon.store.connection import Subject


class Summaries(Subject):
    def new(self, week: str, token: str, trigger: str, now: datetime) -> None:
        self._writing()
        self.db.execute(
            "INSERT INTO summaries (week, token, trigger, created_at) VALUES (?, ?, ?, ?)",
            [week, token, trigger, utc_iso(now)],
        )

    def mark_sent(self, token: str, now: datetime) -> None:
        self._writing()
        self.db.execute("UPDATE summaries SET sent_at = ? WHERE token = ?", [utc_iso(now), token])

    def for_week(self, week: str, trigger: str) -> dict[str, Any] | None:
        """The newest summary of `week` made by `trigger`, sent or still pending."""
        row = self.db.execute(
            "SELECT token, created_at, sent_at FROM summaries WHERE week = ? AND trigger = ? "
            "ORDER BY id DESC LIMIT 1",
            [week, trigger],
        ).fetchone()
        return dict(zip(("token", "created_at", "sent_at"), row, strict=True)) if row else None

    def sent_in_week(self, week: str, trigger: str) -> dict[str, Any] | None:
        """The newest summary of `week` made by `trigger` and marked sent."""
        row = self.db.execute(
            "SELECT token, created_at, sent_at FROM summaries WHERE week = ? AND trigger = ? "
            "AND sent_at IS NOT NULL ORDER BY sent_at DESC, id DESC LIMIT 1",
            [week, trigger],
        ).fetchone()
        return dict(zip(("token", "created_at", "sent_at"), row, strict=True)) if row else None

    def last_sent(self) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT week, token, trigger, created_at, sent_at FROM summaries "
            "WHERE sent_at IS NOT NULL ORDER BY sent_at DESC, id DESC LIMIT 1"
        ).fetchone()
        keys = ("week", "token", "trigger", "created_at", "sent_at")
        return dict(zip(keys, row, strict=True)) if row else None

    def tokens_since(self, since: datetime) -> set[str]:
        rows = self.db.execute(
            "SELECT token FROM summaries WHERE created_at >= ?", [utc_iso(since)]
        ).fetchall()
        return {row[0] for row in rows}

    def created_at(self, token: str) -> datetime | None:
        """When the summary carrying `token` was made: a reply must be written after it."""
        row = self.db.execute("SELECT created_at FROM summaries WHERE token = ?", [token])
        found = row.fetchone()
        return parse_utc_iso(found[0]) if found else None
