"""Address books kept elsewhere, in SQL: which contact came from which card of which source
(and what that card said when it was last applied), the state of every file read, and the
outcome of each source's last read."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.store.connection import Subject

MAX_PROBLEM_LINES = 20  # line numbers kept per file for `kithkin status`


@dataclass(frozen=True)
class TrackedCard:
    """A contact that came from a card: where it was read and what it said then."""

    contact_id: int
    source: str  # the source's key (its absolute path)
    key: str  # the card's key within the source: "uid:...", "file:...", "email:..."
    file: str  # the name of the file it was read from
    card: dict[str, Any]  # the card's fields as last applied (cards.card_fields)
    note_id: int | None  # the note that holds the card's NOTE
    removed_at: str | None  # when the card left its source; None while it is there


@dataclass(frozen=True)
class FileState:
    """What tells a changed file from an unchanged one without reading it."""

    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int  # also changes with the permissions: a file made readable is read again


@dataclass(frozen=True)
class FileRecord:
    state: FileState
    problem_lines: tuple[int, ...]


_CARD_COLUMNS = "contact_id, source, card_key, file, card, note_id, removed_at"


def _tracked(row: Any) -> TrackedCard:
    return TrackedCard(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])


class ContactSources(Subject):
    # --- cards ----------------------------------------------------------------------------

    def cards(self, source: str) -> dict[str, TrackedCard]:
        """The cards of one source, removed ones included, by key."""
        rows = self.db.execute(
            f"SELECT {_CARD_COLUMNS} FROM contact_sources WHERE source = ?", [source]
        ).fetchall()
        return {row[2]: _tracked(row) for row in rows}

    def origin(self, contact_id: int) -> TrackedCard | None:
        row = self.db.execute(
            f"SELECT {_CARD_COLUMNS} FROM contact_sources WHERE contact_id = ?", [contact_id]
        ).fetchone()
        return _tracked(row) if row else None

    def origins(self) -> dict[int, TrackedCard]:
        rows = self.db.execute(f"SELECT {_CARD_COLUMNS} FROM contact_sources").fetchall()
        return {row[0]: _tracked(row) for row in rows}

    def claimable(self, key: str, configured: Iterable[str]) -> TrackedCard | None:
        """A card with this key in another source that may move here: removed from its
        source, or its source no longer configured."""
        sources = list(configured)
        row = self.db.execute(
            f"""SELECT {_CARD_COLUMNS} FROM contact_sources
                WHERE card_key = ? AND (removed_at IS NOT NULL
                      OR source NOT IN (SELECT value FROM json_each(?)))
                ORDER BY removed_at IS NULL DESC, removed_at DESC LIMIT 1""",
            [key, json.dumps(sources)],
        ).fetchone()
        return _tracked(row) if row else None

    def track(
        self,
        contact_id: int,
        source: str,
        key: str,
        file: str,
        card: dict[str, Any],
        note_id: int | None,
        now: datetime,
    ) -> None:
        """Record (or move here) the card a contact comes from; it is no longer removed."""
        self._writing()
        self.db.execute(
            """INSERT INTO contact_sources
                   (contact_id, source, card_key, file, card, note_id, added_at, removed_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
               ON CONFLICT (contact_id) DO UPDATE SET source = excluded.source,
                   card_key = excluded.card_key, file = excluded.file, card = excluded.card,
                   note_id = excluded.note_id, removed_at = NULL""",
            [contact_id, source, key, file, json.dumps(card), note_id, utc_iso(now)],
        )

    def mark_removed(self, contact_id: int, now: datetime) -> None:
        self._writing()
        self.db.execute(
            "UPDATE contact_sources SET removed_at = ? WHERE contact_id = ?",
            [utc_iso(now), contact_id],
        )

    def counts(self) -> dict[str, int]:
        """source -> how many of its cards are there now (not removed)."""
        rows = self.db.execute(
            "SELECT source, count(*) FROM contact_sources WHERE removed_at IS NULL GROUP BY source"
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    # --- files ----------------------------------------------------------------------------

    def files(self, source: str) -> dict[str, FileRecord]:
        rows = self.db.execute(
            "SELECT name, size, mtime_ns, inode, ctime_ns, problem_lines"
            " FROM contact_source_files WHERE source = ?",
            [source],
        ).fetchall()
        return {row[0]: FileRecord(FileState(*row[1:5]), tuple(json.loads(row[5]))) for row in rows}

    def save_file(
        self, source: str, name: str, state: FileState, problem_lines: Iterable[int]
    ) -> None:
        self._writing()
        lines = sorted(set(problem_lines))[:MAX_PROBLEM_LINES]
        self.db.execute(
            """INSERT INTO contact_source_files
                   (source, name, size, mtime_ns, inode, ctime_ns, problem_lines)
               VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (source, name) DO UPDATE SET size = excluded.size,
                   mtime_ns = excluded.mtime_ns, inode = excluded.inode,
                   ctime_ns = excluded.ctime_ns, problem_lines = excluded.problem_lines""",
            [source, name, *astuple(state), json.dumps(lines)],
        )

    def drop_file(self, source: str, name: str) -> None:
        """Forget a file's state: it is gone, or must be read again."""
        self._writing()
        self.db.execute(
            "DELETE FROM contact_source_files WHERE source = ? AND name = ?", [source, name]
        )

    def problem_files(self) -> dict[str, dict[str, tuple[int, ...]]]:
        """source -> file name -> the lines of its problems at its last read."""
        rows = self.db.execute(
            "SELECT source, name, problem_lines FROM contact_source_files "
            "WHERE problem_lines != '[]' ORDER BY source, name"
        ).fetchall()
        found: dict[str, dict[str, tuple[int, ...]]] = {}
        for source, name, lines in rows:
            found.setdefault(source, {})[name] = tuple(json.loads(lines))
        return found

    # --- reads ----------------------------------------------------------------------------

    def last_read(self, source: str) -> tuple[str | None, str | None]:
        """(when its files were last read, the error of its last attempt)."""
        row = self.db.execute(
            "SELECT read_at, error FROM contact_source_reads WHERE source = ?", [source]
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def save_read(self, source: str, *, read_at: datetime | None, error: str | None) -> None:
        """An attempt's outcome: `read_at` when files were read (None keeps the last time)."""
        self._writing()
        self.db.execute(
            """INSERT INTO contact_source_reads (source, read_at, error) VALUES (?, ?, ?)
               ON CONFLICT (source) DO UPDATE SET
                   read_at = COALESCE(excluded.read_at, read_at), error = excluded.error""",
            [source, utc_iso(read_at) if read_at else None, error],
        )
