"""The journal of the owner's replies to summaries: each reply applied once (by its message
key), what it did, and in which summary that was reported."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.store.connection import Subject

FORGOTTEN = "(about a forgotten contact)"


class ReplyJournal(Subject):
    def seen(self, message_key: str) -> bool:
        row = self.db.execute("SELECT 1 FROM replies WHERE message_key = ?", [message_key])
        return row.fetchone() is not None

    def record(
        self,
        message_key: str,
        token: str | None,
        received: datetime,
        results: dict[str, Any],
        now: datetime,
    ) -> None:
        self._writing()
        self.db.execute(
            "INSERT INTO replies (message_key, token, received_at, applied_at, results) "
            "VALUES (?, ?, ?, ?, ?)",
            [message_key, token, utc_iso(received), utc_iso(now), json.dumps(results)],
        )

    def unreported(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT message_key, received_at, results FROM replies WHERE reported_in IS NULL "
            "ORDER BY received_at, message_key"
        ).fetchall()
        return [
            {"message_key": row[0], "received_at": row[1], **json.loads(row[2])} for row in rows
        ]

    def recent(self, limit: int = 5) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT received_at, results FROM replies ORDER BY received_at DESC LIMIT ?", [limit]
        ).fetchall()
        return [{"received_at": row[0], **json.loads(row[1])} for row in rows]

    def mark_reported(self, message_keys: Iterable[str], token: str) -> None:
        self._writing()
        for key in message_keys:
            self.db.execute(
                "UPDATE replies SET reported_in = ? WHERE message_key = ?", [token, key]
            )

    def forget(self, contact_id: int, mentions: list[str]) -> None:
        """Drop what the journal says about a contact; keep the rows (they are what makes
        each reply apply only once). Records by contact id lose the entries about them and
        the lines not understood that could refer to them; the text records of earlier
        versions get a placeholder for every line with one of `mentions` (their name, their
        addresses) in it."""
        self._writing()
        rows = self.db.execute("SELECT message_key, results FROM replies").fetchall()
        for key, text in rows:
            results = json.loads(text)
            if results.get("format") == 2:  # records by contact id (steering/journal.py)
                scrubbed = _without_contact(results, contact_id)
            else:
                scrubbed = _without_mentions(results, mentions)
            if scrubbed != results:
                self.db.execute(
                    "UPDATE replies SET results = ? WHERE message_key = ?",
                    [json.dumps(scrubbed), key],
                )


def _without_contact(results: dict[str, Any], contact_id: int) -> dict[str, Any]:
    return {
        **results,
        "done": [i for i in results.get("done", []) if i.get("contact_id") != contact_id],
        "not_understood": [
            item
            for item in results.get("not_understood", [])
            if contact_id not in item.get("contact_ids", [])
        ],
    }


def _without_mentions(results: dict[str, Any], mentions: list[str]) -> dict[str, Any]:
    folded = [mention.casefold() for mention in mentions if mention]

    def names(text: str) -> bool:
        return any(mention in text.casefold() for mention in folded)

    return {
        **results,
        "applied": [FORGOTTEN if names(line) else line for line in results.get("applied", [])],
        "not_understood": [
            [FORGOTTEN, ""] if names(" ".join(item)) else item
            for item in results.get("not_understood", [])
        ],
    }
