"""daemon/sync/plan.py `BatchPlan.pack` and daemon/sync/storing.py: a plan's rows in their
stored form (core/stored.py), as the planning child sends them, are stored exactly as the
rows themselves; a message whose rows cannot be put so stays unpacked and is refused alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from kithkin.daemon.core.records import Interaction
from kithkin.daemon.core.stored import stored_row
from kithkin.daemon.store import Store
from kithkin.daemon.sync.plan import BatchPlan
from kithkin.daemon.sync.storing import RowsRefused, store_all, store_each

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ODD = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))  # before year 1 in UTC


def row(contact_id: int, n: int, when: datetime | None = None) -> Interaction:
    moment = when or NOW - timedelta(hours=n)
    return Interaction(contact_id, "in", moment, f"key{n}", f"<{n}@x>", f"subject {n}")


def plan_of(contact_id: int, *, odd: bool = False) -> BatchPlan:
    plan = BatchPlan(rows={n: [row(contact_id, n)] for n in range(1, 6)})
    if odd:
        plan.rows[3] = [row(contact_id, 3, ODD)]
    return plan


def table(store: Store) -> list[tuple[object, ...]]:
    return store.db.execute(
        "SELECT contact_id, kind, direction, date, day, message_key, message_id, subject,"
        " audience, note FROM interactions ORDER BY id"
    ).fetchall()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "kithkin.db")
    with opened.atomic():
        opened.contacts.add("Ada", ["ada@example.org"], now=NOW)
    return opened


def test_packed_rows_are_stored_as_the_rows_themselves(store: Store, tmp_path: Path) -> None:
    contact_id = store.db.execute("SELECT id FROM contacts").fetchone()[0]
    plain, packed = plan_of(contact_id), plan_of(contact_id).pack()
    assert packed.rows == {} and list(packed.stored) == [1, 2, 3, 4, 5]
    assert packed.stored_rows() == plain.stored_rows()
    with store.atomic():
        assert store_all(store, plain, lambda uid: None) == 5
    stored_plain = table(store)
    with Store.open(tmp_path / "other.db") as other:
        with other.atomic():
            other.contacts.add("Ada", ["ada@example.org"], now=NOW)
            assert store_all(other, packed, lambda uid: None) == 5
            assert store_all(other, packed, lambda uid: None) == 0  # already logged
        assert table(other) == stored_plain
    assert stored_plain[0][3:5] == ("2026-11-23T08:00:00Z", 20780)
    assert stored_row(row(contact_id, 1))[-1] == contact_id  # for WHERE EXISTS


def test_a_row_that_cannot_be_packed_is_refused_alone(store: Store) -> None:
    contact_id = store.db.execute("SELECT id FROM contacts").fetchone()[0]
    plan = plan_of(contact_id, odd=True).pack()
    assert list(plan.rows) == [3] and list(plan.stored) == [1, 2, 4, 5]
    with pytest.raises(RowsRefused), store.atomic():
        store_all(store, plan, lambda uid: None)
    assert table(store) == []  # rolled back with the transaction
    with store.atomic():
        assert store_each(store, plan, lambda uid: None) == (4, [3])
    assert [r[6] for r in table(store)] == ["<1@x>", "<2@x>", "<4@x>", "<5@x>"]
