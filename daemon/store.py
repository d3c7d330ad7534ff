"""The SQLite file: opening it safely, and every query Kithkin runs. Nothing else speaks SQL.

Opening refuses anything that is not a Kithkin database (a foreign SQLite file, a corrupt
file, a file from a newer Kithkin) before writing a single byte to it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from sqlite_utils import Database

from kithkin.daemon import schema
from kithkin.daemon.dates import EPOCH, as_utc, day_number, parse_utc_iso, utc_iso
from kithkin.daemon.errors import StoreError, UsageError

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    emails: tuple[str, ...]
    every_days: int | None = None
    tags: tuple[str, ...] = ()
    birthday: str | None = None
    snoozed_until: str | None = None
    muted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "emails": list(self.emails),
            "every_days": self.every_days,
            "tags": list(self.tags),
            "birthday": self.birthday,
        }


@dataclass(frozen=True)
class FolderState:
    name: str
    uidvalidity: int | None = None
    last_uid: int = 0
    uidnext: int | None = None
    last_sync_at: str | None = None
    messages_seen: int = 0
    interactions_logged: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class SetAside:
    """A message that could not be processed: where it is, never what it says."""

    folder: str
    uidvalidity: int
    uid: int
    stage: str  # "fetch": the server could not send it; "process": reading it failed
    attempts: int
    first_at: str
    last_at: str

    def as_json(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "uidvalidity": self.uidvalidity,
            "uid": self.uid,
            "stage": self.stage,
            "attempts": self.attempts,
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


@dataclass(frozen=True)
class NewInteraction:
    """One row for `interactions`, as matching.py produces it."""

    contact_id: int
    direction: str | None
    date: datetime
    message_key: str | None
    message_id: str | None
    subject: str | None
    audience: int = 1
    kind: str = "email"
    note: str | None = None


@contextmanager
def _private_umask() -> Iterator[None]:
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0]


class Store:
    """One open Kithkin database. Use `Store.open(path)`; close it when done."""

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> Store:
        path = Path(path)
        fresh = not path.exists() or path.stat().st_size == 0
        if not fresh:
            _check_magic(path)
        else:
            _create_private_file(path)
        try:
            with _private_umask():
                conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open database: {_describe(exc)}") from None
        db = Database(conn)
        store = cls(db, path)
        try:
            store._check_identity(fresh)
            with _private_umask():
                store._configure()
                store._migrate()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise database_failure(exc, path) from None
        except StoreError:
            conn.close()
            raise
        return store

    def _check_identity(self, fresh: bool) -> None:
        conn = self.db.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if version > schema.schema_version():
            raise StoreError(
                f"{self.path}: written by a newer Kithkin (schema {version}; this version "
                f"knows up to {schema.schema_version()}); upgrade Kithkin, the file is untouched"
            )
        if fresh or not tables - {"_sqlite_migrations"}:
            return
        known = (
            "_sqlite_migrations" in tables
            and conn.execute(
                "SELECT count(*) FROM _sqlite_migrations WHERE migration_set = ?",
                [schema.MIGRATION_SET],
            ).fetchone()[0]
        )
        if not known:
            raise StoreError(
                f"{self.path}: is a SQLite database but not a Kithkin one; refusing to touch it"
            )

    def _configure(self) -> None:
        conn = self.db.conn
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")  # forgotten data is overwritten, not left free
        self.db.enable_wal()
        conn.execute("PRAGMA synchronous = NORMAL")

    def _migrate(self) -> None:
        if schema.migrations.pending(self.db):
            schema.migrations.apply(self.db)
        version = schema.schema_version()
        if self.db.conn.execute("PRAGMA user_version").fetchone()[0] != version:
            self.db.conn.execute(f"PRAGMA user_version = {version:d}")

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def atomic(self) -> AbstractContextManager[Database]:
        return self.db.atomic()

    # --- contacts -----------------------------------------------------------------------

    def contacts(self) -> list[Contact]:
        return self._contacts("1", [])

    def contact(self, contact_id: int) -> Contact:
        found = self._contacts("c.id = ?", [contact_id])
        if not found:
            raise UsageError(f"no contact with id {contact_id}")
        return found[0]

    def _contacts(self, where: str, params: list[Any]) -> list[Contact]:
        rows = self.db.execute(
            f"""SELECT c.id, c.name, c.every_days, c.birthday, c.snoozed_until, c.muted,
                   (SELECT json_group_array(address) FROM
                      (SELECT address FROM addresses WHERE contact_id = c.id ORDER BY rowid)),
                   (SELECT json_group_array(tag) FROM
                      (SELECT tag FROM contact_tags WHERE contact_id = c.id ORDER BY tag))
                FROM contacts c WHERE {where} ORDER BY c.name COLLATE NOCASE, c.id""",
            params,
        ).fetchall()
        return [
            Contact(
                id=row[0],
                name=row[1],
                every_days=row[2],
                birthday=row[3],
                snoozed_until=row[4],
                muted=bool(row[5]),
                emails=tuple(json.loads(row[6])),
                tags=tuple(json.loads(row[7])),
            )
            for row in rows
        ]

    def owner_of(self, address: str) -> int | None:
        row = self.db.execute(
            "SELECT contact_id FROM addresses WHERE address = ?", [address]
        ).fetchone()
        return row[0] if row else None

    def address_book(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT address, contact_id FROM addresses").fetchall())

    def add_contact(
        self,
        name: str,
        emails: Iterable[str],
        *,
        every_days: int | None = None,
        tags: Iterable[str] = (),
        birthday: str | None = None,
        now: datetime,
    ) -> int:
        """Insert a contact; every address must be free. Returns the new id."""
        emails = list(dict.fromkeys(emails))
        with self.db.atomic():
            self._claim_addresses(None, emails)
            cursor = self.db.execute(
                "INSERT INTO contacts (name, every_days, birthday, created_at) VALUES (?,?,?,?)",
                [name, every_days, birthday, utc_iso(now)],
            )
            contact_id = cursor.lastrowid
            self._add_addresses(contact_id, emails, now)
            self._add_tags(contact_id, tags)
        return contact_id

    def update_contact(
        self,
        contact_id: int,
        *,
        name: str | None = None,
        add_emails: Iterable[str] = (),
        remove_emails: Iterable[str] = (),
        every_days: int | None | bool = False,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        birthday: str | None | bool = False,
        now: datetime,
    ) -> None:
        """Change one contact; `False` means "leave as is" for the nullable fields."""
        add_emails = list(dict.fromkeys(add_emails))
        with self.db.atomic():
            self._claim_addresses(contact_id, add_emails)
            if name is not None:
                self.db.execute("UPDATE contacts SET name = ? WHERE id = ?", [name, contact_id])
            if every_days is not False:
                self.db.execute(
                    "UPDATE contacts SET every_days = ? WHERE id = ?", [every_days, contact_id]
                )
            if birthday is not False:
                self.db.execute(
                    "UPDATE contacts SET birthday = ? WHERE id = ?", [birthday, contact_id]
                )
            for address in remove_emails:
                self.db.execute(
                    "DELETE FROM addresses WHERE address = ? AND contact_id = ?",
                    [address, contact_id],
                )
            self._add_addresses(contact_id, add_emails, now)
            self._add_tags(contact_id, add_tags)
            for tag in remove_tags:
                self.db.execute(
                    "DELETE FROM contact_tags WHERE contact_id = ? AND tag = ?", [contact_id, tag]
                )
            remaining = self.db.execute(
                "SELECT count(*) FROM addresses WHERE contact_id = ?", [contact_id]
            ).fetchone()[0]
            if remaining == 0:
                raise UsageError("a contact needs at least one email address")

    def set_attention(
        self,
        contact_id: int,
        *,
        snoozed_until: str | None | bool = False,
        muted: bool | None = None,
    ) -> None:
        with self.db.atomic():
            if snoozed_until is not False:
                self.db.execute(
                    "UPDATE contacts SET snoozed_until = ? WHERE id = ?",
                    [snoozed_until, contact_id],
                )
            if muted is not None:
                self.db.execute(
                    "UPDATE contacts SET muted = ? WHERE id = ?", [int(muted), contact_id]
                )

    def forget_contact(self, contact_id: int) -> int:
        """Delete a contact with everything about them. Returns the interactions removed.

        That includes what the record of replies to summaries says about them, and the old
        pages in the WAL (secure_delete zeroes freed pages of the database file, not WAL frames).
        """
        contact = self.contact(contact_id)
        with self.db.atomic():
            removed = self.db.execute(
                "SELECT count(*) FROM interactions WHERE contact_id = ?", [contact_id]
            ).fetchone()[0]
            for table in self._contact_tables():
                self.db.execute(f"DELETE FROM [{table}] WHERE contact_id = ?", [contact_id])
            self.db.execute(
                "DELETE FROM pending_backfill WHERE address NOT IN (SELECT address FROM addresses)"
            )
            self.db.execute("DELETE FROM contacts WHERE id = ?", [contact_id])
            self._scrub_replies(contact_id, [contact.name, *contact.emails])
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def _scrub_replies(self, contact_id: int, mentions: list[str]) -> None:
        """Drop what the record of replies says about a contact; keep the rows (they are
        what makes each reply apply only once). Records by contact id lose the entries about
        them and the lines not understood that could refer to them; the text records of
        earlier versions get a placeholder for every line with one of `mentions` (their name,
        their addresses) in it."""
        rows = self.db.execute("SELECT message_key, results FROM replies").fetchall()
        for key, text in rows:
            results = json.loads(text)
            if results.get("format") == 2:  # steering.py's records by contact id
                scrubbed = self._reply_without_contact(results, contact_id)
            else:
                scrubbed = self._reply_without_mentions(results, mentions)
            if scrubbed != results:
                self.db.execute(
                    "UPDATE replies SET results = ? WHERE message_key = ?",
                    [json.dumps(scrubbed), key],
                )

    @staticmethod
    def _reply_without_contact(results: dict[str, Any], contact_id: int) -> dict[str, Any]:
        return {
            **results,
            "done": [i for i in results.get("done", []) if i.get("contact_id") != contact_id],
            "not_understood": [
                item
                for item in results.get("not_understood", [])
                if contact_id not in item.get("contact_ids", [])
            ],
        }

    @staticmethod
    def _reply_without_mentions(results: dict[str, Any], mentions: list[str]) -> dict[str, Any]:
        folded = [mention.casefold() for mention in mentions if mention]
        placeholder = "(about a forgotten contact)"

        def names(text: str) -> bool:
            return any(mention in text.casefold() for mention in folded)

        return {
            **results,
            "applied": [
                placeholder if names(line) else line for line in results.get("applied", [])
            ],
            "not_understood": [
                [placeholder, ""] if names(" ".join(item)) else item
                for item in results.get("not_understood", [])
            ],
        }

    def _contact_tables(self) -> list[str]:
        return [
            row[0]
            for row in self.db.execute(
                "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS "
                "(SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'contact_id')"
            ).fetchall()
        ]

    def _claim_addresses(self, contact_id: int | None, emails: list[str]) -> None:
        for address in emails:
            owner = self.owner_of(address)
            if owner is not None and owner != contact_id:
                other = self.db.execute(
                    "SELECT name FROM contacts WHERE id = ?", [owner]
                ).fetchone()[0]
                raise UsageError(f"{address} already belongs to {other}")

    def _add_addresses(self, contact_id: int, emails: list[str], now: datetime) -> None:
        for address in emails:
            inserted = self.db.execute(
                "INSERT OR IGNORE INTO addresses (address, contact_id) VALUES (?, ?)",
                [address, contact_id],
            ).rowcount
            if inserted:
                self.db.execute(
                    "INSERT OR IGNORE INTO pending_backfill (address, queued_at) VALUES (?, ?)",
                    [address, utc_iso(now)],
                )

    def _add_tags(self, contact_id: int, tags: Iterable[str]) -> None:
        for tag in tags:
            self.db.execute(
                "INSERT OR IGNORE INTO contact_tags (contact_id, tag) VALUES (?, ?)",
                [contact_id, tag],
            )

    # --- backfill queue -----------------------------------------------------------------

    def pending_backfill(self) -> list[str]:
        return [
            row[0]
            for row in self.db.execute(
                "SELECT address FROM pending_backfill ORDER BY address"
            ).fetchall()
        ]

    def clear_backfill(self, addresses: Iterable[str]) -> None:
        with self.db.atomic():
            for address in addresses:
                self.db.execute("DELETE FROM pending_backfill WHERE address = ?", [address])

    # --- folders and interactions -------------------------------------------------------

    def folder(self, name: str) -> FolderState:
        row = self.db.execute(
            "SELECT name, uidvalidity, last_uid, uidnext, last_sync_at, messages_seen, "
            "interactions_logged, last_error FROM folders WHERE name = ?",
            [name],
        ).fetchone()
        return FolderState(*row) if row else FolderState(name=name)

    def folders(self) -> list[FolderState]:
        rows = self.db.execute(
            "SELECT name, uidvalidity, last_uid, uidnext, last_sync_at, messages_seen, "
            "interactions_logged, last_error FROM folders ORDER BY name"
        ).fetchall()
        return [FolderState(*row) for row in rows]

    def save_folder(self, state: FolderState) -> None:
        self.db.execute(
            """INSERT INTO folders (name, uidvalidity, last_uid, uidnext, last_sync_at,
                   messages_seen, interactions_logged, last_error)
               VALUES (?,?,?,?,?,?,?,?)
               ON CONFLICT (name) DO UPDATE SET uidvalidity = excluded.uidvalidity,
                   last_uid = excluded.last_uid, uidnext = excluded.uidnext,
                   last_sync_at = excluded.last_sync_at, messages_seen = excluded.messages_seen,
                   interactions_logged = excluded.interactions_logged,
                   last_error = excluded.last_error""",
            [
                state.name,
                state.uidvalidity,
                state.last_uid,
                state.uidnext,
                state.last_sync_at,
                state.messages_seen,
                state.interactions_logged,
                state.last_error,
            ],
        )

    def add_interactions(self, rows: Iterable[NewInteraction]) -> int:
        """Insert, skipping any (contact, message) already logged. Returns how many were new."""
        added = 0
        for row in rows:
            added += self.db.execute(
                """INSERT INTO interactions (contact_id, kind, direction, date, day,
                       message_key, message_id, subject, audience, note)
                   SELECT ?,?,?,?,?,?,?,?,?,? WHERE EXISTS (SELECT 1 FROM contacts WHERE id = ?)
                   ON CONFLICT (contact_id, message_key) DO NOTHING""",
                [
                    row.contact_id,
                    row.kind,
                    row.direction,
                    utc_iso(row.date),
                    utc_day_number(row.date),
                    row.message_key,
                    row.message_id,
                    row.subject,
                    max(1, row.audience),
                    row.note,
                    row.contact_id,
                ],
            ).rowcount
        return added

    # --- messages set aside --------------------------------------------------------------
    # Where a message is (folder, UIDVALIDITY, UID) and the stage that failed; nothing else.

    def set_aside(self, folder: str, uidvalidity: int, uid: int, stage: str, now: datetime) -> None:
        """Record (or count again) a message whose processing failed; caller's transaction."""
        self.db.execute(
            """INSERT INTO set_aside (folder, uidvalidity, uid, stage, first_at, last_at)
               VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (folder, uidvalidity, uid) DO UPDATE SET
                   stage = excluded.stage, attempts = attempts + 1, last_at = excluded.last_at""",
            [folder, uidvalidity, uid, stage, utc_iso(now), utc_iso(now)],
        )

    def set_aside_messages(self) -> list[SetAside]:
        rows = self.db.execute(
            "SELECT folder, uidvalidity, uid, stage, attempts, first_at, last_at "
            "FROM set_aside ORDER BY folder, uidvalidity, uid"
        ).fetchall()
        return [SetAside(*row) for row in rows]

    def clear_set_aside(self, folder: str, uidvalidity: int, uids: Iterable[int]) -> None:
        """Forget set-aside records of messages read after all, or gone (caller's transaction)."""
        for uid in uids:
            self.db.execute(
                "DELETE FROM set_aside WHERE folder = ? AND uidvalidity = ? AND uid = ?",
                [folder, uidvalidity, uid],
            )

    def clear_stale_set_aside(self, folder: str, uidvalidity: int) -> None:
        """Records of a folder under an older UIDVALIDITY name messages that no longer exist
        by those UIDs (the folder is read again from the start)."""
        self.db.execute(
            "DELETE FROM set_aside WHERE folder = ? AND uidvalidity != ?", [folder, uidvalidity]
        )

    def unreported_set_aside(self) -> int:
        return int(
            self.db.execute("SELECT count(*) FROM set_aside WHERE reported_in IS NULL").fetchone()[
                0
            ]
        )

    def mark_set_aside_reported(self, token: str) -> None:
        self.db.execute("UPDATE set_aside SET reported_in = ? WHERE reported_in IS NULL", [token])

    def interactions(
        self, contact_id: int | None = None, limit: int = 0, until: date | None = None
    ) -> list[dict[str, Any]]:
        """Newest first; one person's or everyone's; none after the day `until`."""
        bound = _day_bound(day_number(until)) if until else "9999"
        where, params = "WHERE i.date < ?", [bound]
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
        keys = (
            "id",
            "contact",
            "date",
            "direction",
            "message_id",
            "subject",
            "kind",
            "note",
            "audience",
        )
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def interaction(self, interaction_id: int) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT id, contact_id, kind, date, message_key FROM interactions WHERE id = ?",
            [interaction_id],
        ).fetchone()
        keys = ("id", "contact_id", "kind", "date", "message_key")
        return dict(zip(keys, row, strict=True)) if row else None

    def delete_interaction(self, interaction_id: int) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM interactions WHERE id = ?", [interaction_id])

    def interaction_counts(self, contact_id: int, until: date) -> dict[str, int]:
        """How many interactions of each kind up to `until`: email_in, email_out, call..."""
        rows = self.db.execute(
            """SELECT CASE WHEN kind = 'email' THEN 'email_' || direction ELSE kind END, count(*)
               FROM interactions WHERE contact_id = ? AND date < ? GROUP BY 1""",
            [contact_id, _day_bound(day_number(until))],
        ).fetchall()
        return dict(rows)

    # --- notes --------------------------------------------------------------------------

    def add_note(self, contact_id: int, text: str, day: date, now: datetime) -> int:
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO notes (contact_id, date, text, created_at) VALUES (?, ?, ?, ?)",
                [contact_id, day.isoformat(), text, utc_iso(now)],
            )
        return cursor.lastrowid

    def notes(self, contact_id: int, until: date | None = None) -> list[dict[str, Any]]:
        """Newest first; none dated after `until`."""
        rows = self.db.execute(
            "SELECT id, date, text FROM notes WHERE contact_id = ? AND date <= ? "
            "ORDER BY date DESC, id DESC",
            [contact_id, until.isoformat() if until else "9999"],
        ).fetchall()
        return [dict(zip(("id", "date", "text"), row, strict=True)) for row in rows]

    def latest_notes(self, until: date) -> dict[int, tuple[str, str]]:
        """contact_id -> (date, text) of their newest note dated on or before `until`."""
        rows = self.db.execute(
            """SELECT contact_id, date, text FROM notes n WHERE id = (
                   SELECT id FROM notes WHERE contact_id = n.contact_id AND date <= ?
                   ORDER BY date DESC, id DESC LIMIT 1)""",
            [until.isoformat()],
        ).fetchall()
        return {row[0]: (row[1], row[2]) for row in rows}

    # --- replies to summaries -------------------------------------------------------------

    def reply_seen(self, message_key: str) -> bool:
        return bool(
            self.db.execute("SELECT 1 FROM replies WHERE message_key = ?", [message_key]).fetchone()
        )

    def record_reply(
        self,
        message_key: str,
        token: str | None,
        received: datetime,
        results: dict[str, Any],
        now: datetime,
    ) -> None:
        self.db.execute(
            "INSERT INTO replies (message_key, token, received_at, applied_at, results) "
            "VALUES (?, ?, ?, ?, ?)",
            [message_key, token, utc_iso(received), utc_iso(now), json.dumps(results)],
        )

    def unreported_replies(self) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT message_key, received_at, results FROM replies WHERE reported_in IS NULL "
            "ORDER BY received_at, message_key"
        ).fetchall()
        return [
            {"message_key": row[0], "received_at": row[1], **json.loads(row[2])} for row in rows
        ]

    def recent_replies(self, limit: int = 5) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT received_at, results FROM replies ORDER BY received_at DESC LIMIT ?", [limit]
        ).fetchall()
        return [{"received_at": row[0], **json.loads(row[1])} for row in rows]

    def summary_created_at(self, token: str) -> datetime | None:
        """When the summary carrying `token` was made: a reply must be written after it."""
        row = self.db.execute(
            "SELECT created_at FROM summaries WHERE token = ?", [token]
        ).fetchone()
        return parse_utc_iso(row[0]) if row else None

    def mark_replies_reported(self, message_keys: Iterable[str], token: str) -> None:
        with self.db.atomic():
            for key in message_keys:
                self.db.execute(
                    "UPDATE replies SET reported_in = ? WHERE message_key = ?", [token, key]
                )

    # --- analysis aggregates -----------------------------------------------------------
    # A message's weight is min(1, 3 / audience): mail to at most three people counts fully,
    # mail to N > 3 people counts 3/N. Manual entries have audience 1.

    def history_stats(
        self, first_day: int, last_day: int, *, weighted: bool = True
    ) -> dict[int, tuple[int, int, float]]:
        """contact_id -> (first day, last day, weighted days with contact) in the window.

        A day's weight is the sum of its interactions' weights, capped at 1 (or simply 1 with
        weighted=False).
        """
        weight = "MIN(1.0, SUM(MIN(1.0, 3.0 / audience)))" if weighted else "1.0"
        rows = self.db.execute(
            f"""WITH days AS (
                   SELECT contact_id, day, {weight} AS weight
                   FROM interactions WHERE day BETWEEN ? AND ? GROUP BY contact_id, day)
               SELECT contact_id, MIN(day), MAX(day), SUM(weight) FROM days GROUP BY contact_id""",
            [first_day, last_day],
        ).fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def latest_interactions(self, last_day: int) -> dict[int, dict[str, Any]]:
        """contact_id -> the newest interaction on or before `last_day`.

        Written as one indexed lookup per contact (contact_id, date): a GROUP BY over the
        whole table would visit every row (about 1.3 s for a million interactions).
        """
        rows = self.db.execute(
            """SELECT c.id, i.date, i.day, i.direction, i.kind, i.subject, i.audience
               FROM contacts c JOIN interactions i ON i.id = (
                   SELECT id FROM interactions
                   WHERE contact_id = c.id AND date < ?
                   ORDER BY date DESC, id DESC LIMIT 1)""",
            [_day_bound(last_day)],
        ).fetchall()
        keys = ("date", "day", "direction", "kind", "subject", "audience")
        return {row[0]: dict(zip(keys, row[1:], strict=True)) for row in rows}

    def latest_subjects(self, last_day: int) -> dict[int, str]:
        """contact_id -> subject of the newest email with one, on or before `last_day`."""
        rows = self.db.execute(
            """SELECT c.id, i.subject FROM contacts c JOIN interactions i ON i.id = (
                   SELECT id FROM interactions
                   WHERE contact_id = c.id AND date < ? AND kind = 'email'
                     AND subject IS NOT NULL AND subject != ''
                   ORDER BY date DESC, id DESC LIMIT 1)""",
            [_day_bound(last_day)],
        ).fetchall()
        return dict(rows)

    def unanswered_runs(self, last_day: int, minimum: int) -> dict[int, tuple[int, str, str]]:
        """contact_id -> (count, first, last) of personal emails sent since their last reply.

        A reply is any incoming email or any interaction logged by hand; "personal" means
        addressed to at most three people. CROSS JOIN keeps SQLite from scanning the whole
        interactions table first.
        """
        bound = _day_bound(last_day)
        rows = self.db.execute(
            """WITH replies AS (
                   SELECT c.id AS contact_id,
                          (SELECT r.date FROM interactions r
                           WHERE r.contact_id = c.id AND r.date < ?
                             AND (r.direction = 'in' OR r.kind != 'email')
                           ORDER BY r.date DESC LIMIT 1) AS date
                   FROM contacts c)
               SELECT i.contact_id, COUNT(*), MIN(i.date), MAX(i.date)
               FROM replies r CROSS JOIN interactions i
                 ON i.contact_id = r.contact_id AND i.date > COALESCE(r.date, '')
                    AND i.date < ?
               WHERE i.direction = 'out' AND i.kind = 'email' AND i.audience <= 3
               GROUP BY i.contact_id HAVING COUNT(*) >= ?""",
            [bound, bound, minimum],
        ).fetchall()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    # --- summaries ----------------------------------------------------------------------

    def new_summary(self, week: str, token: str, trigger: str, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO summaries (week, token, trigger, created_at) VALUES (?, ?, ?, ?)",
            [week, token, trigger, utc_iso(now)],
        )

    def mark_summary_sent(self, token: str, now: datetime) -> None:
        self.db.execute("UPDATE summaries SET sent_at = ? WHERE token = ?", [utc_iso(now), token])

    def summary_for_week(self, week: str, trigger: str) -> dict[str, Any] | None:
        """The newest summary of `week` made by `trigger`, sent or still pending."""
        row = self.db.execute(
            "SELECT token, created_at, sent_at FROM summaries WHERE week = ? AND trigger = ? "
            "ORDER BY id DESC LIMIT 1",
            [week, trigger],
        ).fetchone()
        return dict(zip(("token", "created_at", "sent_at"), row, strict=True)) if row else None

    def last_summary(self) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT week, token, trigger, created_at, sent_at FROM summaries "
            "WHERE sent_at IS NOT NULL ORDER BY sent_at DESC, id DESC LIMIT 1"
        ).fetchone()
        keys = ("week", "token", "trigger", "created_at", "sent_at")
        return dict(zip(keys, row, strict=True)) if row else None

    def summary_tokens_since(self, since: datetime) -> set[str]:
        rows = self.db.execute(
            "SELECT token FROM summaries WHERE created_at >= ?", [utc_iso(since)]
        ).fetchall()
        return {row[0] for row in rows}

    # --- small key/value state ----------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str | None) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def increment_meta(self, key: str) -> None:
        """Add one to the counter `key` (0 if unset); caller's transaction."""
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT (key) "
            "DO UPDATE SET value = CAST(COALESCE(CAST(value AS INTEGER), 0) + 1 AS TEXT)",
            [key],
        )


def _day_bound(last_day: int) -> str:
    """The first stored date string after day `last_day` ends (dates sort as text)."""
    return (EPOCH + timedelta(days=last_day + 1)).strftime("%Y-%m-%dT00:00:00Z")


def utc_day_number(moment: datetime) -> int:
    """The UTC day of a moment, as days since 1970-01-01."""
    return day_number(as_utc(moment).date())


_SQLITE_HINTS = {
    "SQLITE_FULL": "the disk is full",
    "SQLITE_IOERR": "a disk I/O error (full disk or failing storage?)",
    "SQLITE_READONLY": "the database is read-only",
    "SQLITE_CANTOPEN": "cannot open the database file (is its directory writable?)",
    "SQLITE_CORRUPT": "the database file is damaged; restore a backup (or try "
    "`sqlite3 FILE .recover`)",
    "SQLITE_NOTADB": "not a database file",
}


def database_failure(exc: sqlite3.Error, path: Path | None) -> StoreError:
    """One line for a failure SQLite reports while Kithkin works with its file."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    hint = next((text for key, text in _SQLITE_HINTS.items() if name.startswith(key)), None)
    where = f"{path}: " if path else ""
    detail = _describe(exc)
    return StoreError(f"{where}{hint} ({detail})" if hint else f"{where}database error: {detail}")


def _check_magic(path: Path) -> None:
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror}") from None
    if header != SQLITE_MAGIC:
        raise StoreError(f"{path}: is not a SQLite database; refusing to touch it")


def _create_private_file(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create database: {exc.strerror}") from None
