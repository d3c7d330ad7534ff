"""The store opened read-only, for a command that must write nothing (`kithkin suggest`).

The file is checked as `connection.connect` checks it (a SQLite file, a Kithkin one, not
from a newer version) but never created, configured or migrated: opened with SQLite's
`mode=ro` and `query_only`, so no statement can change it. None when there is no file yet.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from kithkin.daemon.errors import StoreError
from kithkin.daemon.store import Store, schema
from kithkin.daemon.store.connection import _check_identity, _check_magic, database_failure


def open_read_only(path: Path) -> Store | None:
    """The store at `path` for reading only; None when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    _check_magic(path)
    uri = f"{path.absolute().as_uri()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise database_failure(exc, path) from None
    try:
        conn.execute("PRAGMA query_only = ON")
        db = Database(conn, execute_plugins=False)
        _check_identity(db, path, fresh=False)
        if conn.execute("PRAGMA user_version").fetchone()[0] < schema.schema_version():
            raise StoreError(
                f"{path}: written by an older Kithkin; run `kithkin contacts list` once to "
                "upgrade it, then try again"
            )
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise database_failure(exc, path) from None
    except StoreError:
        conn.close()
        raise
    return Store(db, path)
