"""daemon/store `Store.bulk()`: a sync's many commits copy the WAL back into the database less
often, and the usual setting is back afterwards, whatever happened inside."""

from __future__ import annotations

from pathlib import Path

import pytest

from kithkin.daemon.store import BULK_CHECKPOINT_PAGES, CHECKPOINT_PAGES, Store


def setting(store: Store) -> int:
    return int(store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0])


def test_bulk_writes_checkpoint_less_often_and_only_inside(tmp_path: Path) -> None:
    with Store.open(tmp_path / "kithkin.db") as store:
        assert setting(store) == CHECKPOINT_PAGES
        with store.bulk():
            assert setting(store) == BULK_CHECKPOINT_PAGES > CHECKPOINT_PAGES
            with store.atomic():
                store.meta.set("k", "v")
            assert store.meta.get("k") == "v"
        assert setting(store) == CHECKPOINT_PAGES
        with pytest.raises(RuntimeError), store.bulk():
            raise RuntimeError("a sync that stops")
        assert setting(store) == CHECKPOINT_PAGES
