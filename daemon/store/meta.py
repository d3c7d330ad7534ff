"""Small key/value state: when the service first ran, its last state, counters."""

from __future__ import annotations

from kithkin.daemon.store.connection import Subject


class Meta(Subject):
    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str | None) -> None:
        self._writing()
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def increment(self, key: str) -> None:
        """Add one to the counter `key` (0 if unset)."""
        self._writing()
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) "
            "DO UPDATE SET value = CAST(COALESCE(CAST(value AS INTEGER), 0) + 1 AS TEXT)",
            [key],
        )
