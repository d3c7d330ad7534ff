"""Opening the SQLite file safely, and the one rule for transactions.

Opening refuses anything that is not a Kithkin database (a foreign SQLite file, a corrupt
file, a file from a newer Kithkin) before writing a single byte to it; a new file is created
0600 in a 0700 directory. Pragmas: WAL, synchronous=NORMAL, foreign keys, secure_delete.
sqlite-utils' plugins are not run: no package installed beside Kithkin is handed the
connection to the owner's data (and finding them read every installed package's entry
points, 38 ms at each start).

Transactions belong to the caller: every method of the store that writes must run inside
`Store.atomic()` (it raises otherwise), and never begins or commits one itself. So a caller
composes several writes (a batch of interactions and its folder cursor, a reply and its
effects) into one transaction, and a kill -9 leaves all of it or none. Nested `atomic()`
blocks are savepoints.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from kithkin.daemon.errors import StoreError
from kithkin.daemon.store import schema

SQLITE_MAGIC = b"SQLite format 3\x00"


class OutsideTransaction(RuntimeError):
    """A store write was called outside `Store.atomic()`: a bug in the caller."""


class Subject:
    """One subject's queries (contacts, folders, ...) on the shared connection."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _writing(self) -> None:
        if not self.db.conn.in_transaction:
            raise OutsideTransaction(f"{type(self).__name__}: write outside Store.atomic()")


def connect(path: Path) -> Database:
    """The database at `path`, checked, configured and migrated; StoreError if it cannot be."""
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
    db = Database(conn, execute_plugins=False)
    try:
        _check_identity(db, path, fresh)
        with _private_umask():
            _configure(db)
            _migrate(db)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise database_failure(exc, path) from None
    except StoreError:
        conn.close()
        raise
    return db


def _check_identity(db: Database, path: Path, fresh: bool) -> None:
    conn = db.conn
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version > schema.schema_version():
        raise StoreError(
            f"{path}: written by a newer Kithkin (schema {version}; this version "
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
            f"{path}: is a SQLite database but not a Kithkin one; refusing to touch it"
        )


def _configure(db: Database) -> None:
    conn = db.conn
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")  # forgotten data is overwritten, not left free
    db.enable_wal()
    conn.execute("PRAGMA synchronous = NORMAL")


def _migrate(db: Database) -> None:
    if schema.migrations.pending(db):
        schema.migrations.apply(db)
    version = schema.schema_version()
    if db.conn.execute("PRAGMA user_version").fetchone()[0] != version:
        db.conn.execute(f"PRAGMA user_version = {version:d}")


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
