"""The store: the one SQLite file, and the only code that speaks SQL.

    connection.py    opening safely, pragmas, migrating; the transaction rule
    schema.py        the schema as forward migrations (sqlite-utils Migrations)
    contacts.py      contacts, addresses, tags; the backfill queue
    interactions.py  the interaction log
    folders.py       folder cursors; messages set aside
    notes.py         dated notes
    replies.py       the journal of replies to summaries
    summaries.py     summaries prepared and sent
    sources.py       address books kept elsewhere: cards, files read, removals
    meta.py          small key/value state
    history.py       the aggregates the analysis works from

Transactions belong to the caller: a write outside `Store.atomic()` raises
(connection.OutsideTransaction). May import: core, errors, sqlite-utils; nothing above it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Self

from sqlite_utils import Database

from kithkin.daemon.store.connection import OutsideTransaction, connect, database_failure
from kithkin.daemon.store.contacts import Backfill, Contacts
from kithkin.daemon.store.folders import Folders, SetAsideLog
from kithkin.daemon.store.history import History
from kithkin.daemon.store.interactions import Interactions
from kithkin.daemon.store.meta import Meta
from kithkin.daemon.store.notes import Notes
from kithkin.daemon.store.replies import ReplyJournal
from kithkin.daemon.store.sources import ContactSources
from kithkin.daemon.store.summaries import Summaries

__all__ = ["OutsideTransaction", "Store", "database_failure"]
CHECKPOINT_PAGES = 1000  # SQLite's default wal_autocheckpoint
BULK_CHECKPOINT_PAGES = 10_000  # in `Store.bulk()`: a WAL of up to 40 MB
BULK_CACHE_KIB = 4096  # in `Store.bulk()`: SQLite's page cache (its default is 2,000 KiB)


class Store:
    """One open Kithkin database, by subject. Use `Store.open(path)`; close it when done."""

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path
        self.contacts = Contacts(db)
        self.backfill = Backfill(db)
        self.interactions = Interactions(db)
        self.folders = Folders(db)
        self.set_aside = SetAsideLog(db)
        self.notes = Notes(db)
        self.replies = ReplyJournal(db)
        self.summaries = Summaries(db)
        self.meta = Meta(db)
        self.history = History(db)
        self.contact_sources = ContactSources(db)

    @classmethod
    def open(cls, path: Path) -> Store:
        path = Path(path)
        return cls(connect(path), path)

    def of_mailbox(self, mailbox: str, mailboxes: tuple[str, ...] = ()) -> Store:
        """This store with the folder cursors, set-aside records and backfill queue of one
        mailbox (its `[[mailbox]]` name; "" for the `[imap]` form), one of `mailboxes`:
        what one mailbox's sync reads and writes through."""
        view = copy.copy(self)
        view.folders = Folders(self.db, mailbox)
        view.set_aside = SetAsideLog(self.db, mailbox)
        view.backfill = Backfill(self.db, mailbox, mailboxes or (mailbox,))
        return view

    def atomic(self) -> AbstractContextManager[Database]:
        """One transaction (a savepoint when nested): all of it is committed, or none."""
        return self.db.atomic()

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Many write transactions in a row (a sync): the WAL is copied back into the
        database every BULK_CHECKPOINT_PAGES pages instead of SQLite's 1,000, so an index
        page written by many commits is copied (and synced) once, not once per two commits.
        Afterwards the first commit copies it back as usual.

        The page cache is BULK_CACHE_KIB meanwhile: the index pages a sync inserts into are
        spread over the whole index, and with SQLite's 2,000 KiB they were read again from
        the WAL commit after commit (inserting a first sync's 35,000 rows in 50
        transactions took 0.44 s of CPU instead of 0.58, median of 5; 8 MiB saved little
        more, and peak RSS at a million messages must stay under 64 MB). Afterwards it is
        what it was."""
        conn = self.db.conn
        cache = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES:d}")
        conn.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB:d}")
        try:
            yield
        finally:
            conn.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES:d}")
            conn.execute(f"PRAGMA cache_size = {int(cache):d}")

    def checkpoint(self) -> None:
        """Copy the WAL into the database file and truncate it, outside any transaction:
        after `forget`, so deleted pages do not linger in the WAL (secure_delete zeroes
        freed pages of the database file, not WAL frames)."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
