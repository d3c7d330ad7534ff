"""The SQLite file: created private, migrated forward, and never touched when it is not ours."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils
from sqlite_utils import Database

from kithkin.daemon import book
from kithkin.daemon.core.records import FolderState, Interaction
from kithkin.daemon.errors import StoreError, UsageError
from kithkin.daemon.store import BULK_CACHE_KIB, Store, schema
from kithkin.daemon.store.readonly import open_read_only

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def schema_of(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(
            conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name NOT LIKE '_sqlite_migrations%'"
            ).fetchall()
        )
    finally:
        conn.close()


def test_a_new_store_is_private_wal_and_at_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "new" / "kithkin.db"
    with Store.open(path) as store:
        with store.atomic():
            store.contacts.add("Ann", ["ann@example.org"], now=NOW)
        assert store.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        for file in path.parent.iterdir():  # the db, and its -wal and -shm while open
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.schema_version()


def test_a_sync_has_a_larger_page_cache_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    with Store.open(tmp_path / "kithkin.db") as store:

        def cache() -> int:
            return int(store.db.conn.execute("PRAGMA cache_size").fetchone()[0])

        before = cache()
        with store.bulk():
            assert cache() == -BULK_CACHE_KIB != before
            with store.atomic():
                store.contacts.add("Ann", ["ann@example.org"], now=NOW)
        assert cache() == before


class _Plugin:
    """A sqlite-utils plugin, as any package installed beside Kithkin could register."""

    def __init__(self) -> None:
        self.handed: list[sqlite3.Connection] = []

    @sqlite_utils.hookimpl
    def prepare_connection(self, conn: sqlite3.Connection) -> None:
        self.handed.append(conn)


def test_no_sqlite_utils_plugin_is_handed_the_stores_connection(tmp_path: Path) -> None:
    plugin = _Plugin()
    sqlite_utils.plugins.pm.register(plugin)
    try:
        Database(memory=True)  # any other sqlite-utils database hands it over
        assert len(plugin.handed) == 1
        path = tmp_path / "kithkin.db"
        with Store.open(path) as store, store.atomic():
            store.contacts.add("Ann", ["ann@example.org"], now=NOW)
        reader = open_read_only(path)
        assert reader is not None
        reader.close()
        schema.schema_version()
        assert len(plugin.handed) == 1
    finally:
        sqlite_utils.plugins.pm.unregister(plugin)


@pytest.mark.parametrize("stop_before", schema.migration_names())
def test_every_earlier_version_migrates_forward_to_the_same_schema(
    tmp_path: Path, stop_before: str
) -> None:
    fresh = tmp_path / "fresh.db"
    Store.open(fresh).close()

    old = tmp_path / "old.db"
    db = Database(old)
    schema.migrations.apply(db, stop_before=stop_before)
    applied = len(schema.migrations.applied(db))
    db.execute(f"PRAGMA user_version = {applied}")
    db.conn.close()

    Store.open(old).close()
    assert schema_of(old) == schema_of(fresh)
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.schema_version()


def test_data_survives_reopening_and_migration(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    with Store.open(path) as store, store.atomic():
        contact_id = store.contacts.add("Ann", ["ann@example.org"], every_days=30, now=NOW)
    with Store.open(path) as store:
        assert store.contacts.get(contact_id).every_days == 30


def test_a_file_that_is_not_sqlite_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "kithkin.db"
    path.write_bytes(b"these are my notes, not a database\n" * 100)
    before = digest(path)
    with pytest.raises(StoreError, match="is not a SQLite database"):
        Store.open(path)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kithkin.db"]


def test_a_foreign_sqlite_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.execute("INSERT INTO recipes VALUES ('soup')")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(StoreError, match="not a Kithkin one"):
        Store.open(path)
    assert digest(path) == before


def test_a_database_from_a_newer_kithkin_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.schema_version() + 1}")
    conn.close()
    before = digest(path)
    with pytest.raises(StoreError, match="newer Kithkin"):
        Store.open(path)
    assert digest(path) == before


def test_a_truncated_database_gives_one_line(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    with Store.open(path) as store:
        for n in range(200):
            with store.atomic():
                store.contacts.add(f"P{n}", [f"p{n}@example.org"], now=NOW)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(StoreError) as caught:
        Store.open(path).contacts.all()
    assert "\n" not in str(caught.value)


def test_one_address_belongs_to_one_contact(tmp_path: Path) -> None:
    with Store.open(tmp_path / "k.db") as store:
        with store.atomic():
            store.contacts.add("Ann", ["ann@example.org"], now=NOW)
        with pytest.raises(UsageError, match="already belongs to Ann"), store.atomic():
            store.contacts.add("Other", ["x@example.org", "ann@example.org"], now=NOW)
        assert [c.name for c in store.contacts.all()] == ["Ann"]  # nothing half-added


def test_a_batch_and_its_cursor_commit_together(tmp_path: Path) -> None:
    with Store.open(tmp_path / "k.db") as store:
        with store.atomic():
            ann = store.contacts.add("Ann", ["ann@example.org"], now=NOW)
        row = Interaction(ann, "in", NOW, "<m1@x>", "m1@x", "hi")
        bad = Interaction(ann, "sideways", NOW, "<m2@x>", "m2@x", "hi")  # violates CHECK
        cursor = FolderState("INBOX", uidvalidity=1, last_uid=10)
        with pytest.raises(sqlite3.IntegrityError), store.atomic():
            store.interactions.add([row, bad])
            with store.atomic():
                store.folders.save(cursor)
        assert store.interactions.list() == []
        assert store.folders.get("INBOX").last_uid == 0
        with store.atomic():
            assert store.interactions.add([row, row]) == 1
            with store.atomic():
                store.folders.save(cursor)
        assert store.folders.get("INBOX").last_uid == 10


def test_forget_removes_the_contact_and_everything_logged_with_them(tmp_path: Path) -> None:
    with Store.open(tmp_path / "k.db") as store:
        with store.atomic():
            ann = store.contacts.add("Ann", ["ann@example.org"], tags=["x"], now=NOW)
        with store.atomic():
            bob = store.contacts.add("Bob", ["bob@example.org"], now=NOW)
        with store.atomic():
            store.interactions.add(
                [
                    Interaction(ann, "in", NOW, "<a@x>", "a@x", "secret plans"),
                    Interaction(bob, "out", NOW, "<b@x>", "b@x", "lunch"),
                ]
            )
        assert book.forget(store, store.contacts.get(ann)) == 1
        assert [r["contact"] for r in store.interactions.list()] == ["Bob"]
        assert store.contacts.owner_of("ann@example.org") is None
        assert store.backfill.pending() == ["bob@example.org"]
    # secure_delete: the forgotten subject is overwritten, not left in free pages
    assert b"secret plans" not in (tmp_path / "k.db").read_bytes()
