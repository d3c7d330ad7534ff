"""Reading for `kithkin suggest` on the in-memory mailbox (beside the Dovecot tests in
test_suggest.py): a server that cannot search SINCE, a message whose FETCH always breaks
the connection, a folder that cannot be opened, long header sections, hostile names; and
the store opened read-only."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mailbuilder import encoded_word, make_message
from memorysource import MemoryMailbox, MemorySource

from kithkin.daemon import book
from kithkin.daemon.core.suggestions import Correspondence
from kithkin.daemon.errors import StoreError
from kithkin.daemon.store import Store
from kithkin.daemon.store.readonly import open_read_only
from kithkin.daemon.suggest.reading import ReadReport, read_correspondence
from kithkin.parsers.text import is_clean

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ME = "me@home.example"
FRIEND = "Fay Friend <fay@friends.example>"


def filled(days_ago: list[float], *, other: str = FRIEND, **kw: Any) -> MemoryMailbox:
    box = MemoryMailbox()
    for n, age in enumerate(days_ago):
        when = NOW - timedelta(days=age)
        box.append("Sent", make_message(from_=ME, to=other, date=when, **kw), when)
        if n % 2 == 0:
            box.append("INBOX", make_message(from_=other, to=ME, date=when, **kw), when)
    return box


def read(source: MemorySource, days: int = 730) -> tuple[Correspondence, ReadReport]:
    into = Correspondence(now=NOW, start=NOW - timedelta(days=days), me=[ME])
    return into, read_correspondence(source, into)


def test_without_search_every_header_is_read_and_old_mail_left_out_by_date() -> None:
    source = MemorySource(filled([1, 10, 20, 900, 1000]))
    into, report = read(source)
    assert any(c.startswith("UID SEARCH SINCE") for c in source.commands)  # refused there
    assert report.messages == 8
    assert into.counts.outside == 3
    [friend] = into.suggestions()
    assert (friend.sent, friend.received) == (3, 2)


def test_a_message_whose_fetch_always_fails_is_passed_over() -> None:
    box = filled([1, 2, 3, 4])
    source = MemorySource(box)
    source.fail_fetching("Sent", box.uids("Sent")[1])
    into, report = read(source)
    assert report.unreadable == 1
    [friend] = into.suggestions()
    assert (friend.sent, friend.received) == (3, 2)


def test_a_folder_that_cannot_be_opened_is_named_and_the_others_read() -> None:
    source = MemorySource(filled([1, 2]), folders=["Gone", "INBOX", "Sent"])
    into, report = read(source)
    assert len(report.unavailable) == 1 and "Gone" in report.unavailable[0]
    assert report.folders == {"INBOX": 1, "Sent": 2}
    assert into.suggestions()[0].sent == 2


def test_long_header_sections_are_read_again_in_full() -> None:
    """Mail to the friend with a 30 KB Cc (past the first 16 KB read) still counts."""
    crowd = [f"Member Number{n} <member{n}@crowd.example>" for n in range(600)]
    source = MemorySource(filled([1, 2], cc=crowd))
    into, _ = read(source)
    fay = next(s for s in into.suggestions() if s.emails == ("fay@friends.example",))
    assert (fay.sent, fay.received) == (2, 1)
    assert any("<0.262144>" in c for c in source.commands)


def test_hostile_names_come_out_clean() -> None:
    name = encoded_word("Fay \x1b[31mFriend\x07\u202e")
    source = MemorySource(filled([1, 2], other=f"{name} <fay@friends.example>"))
    into, _ = read(source)
    [friend] = into.suggestions()
    assert is_clean(friend.name) and "\x1b" not in friend.name and "Fay" in friend.name


def test_the_store_is_opened_read_only(tmp_path: Path) -> None:
    path = tmp_path / "kithkin.db"
    assert open_read_only(path) is None and not path.exists()  # none yet: none created
    with Store.open(path) as store:
        book.add_contact(store, "Ada Lovelace", ["ada@example.org"], now=NOW)
    before = path.read_bytes()
    store = open_read_only(path)
    assert store is not None
    try:
        assert store.contacts.address_book() == {"ada@example.org": 1}
        with pytest.raises(sqlite3.OperationalError), store.atomic():
            store.meta.set("anything", "x")
    finally:
        store.close()
    assert path.read_bytes() == before

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 1")
    with pytest.raises(StoreError, match="older Kithkin; run `kithkin contacts list`"):
        open_read_only(path)
    text = tmp_path / "text.db"
    text.write_text("not a database")
    with pytest.raises(StoreError, match="not a SQLite database"):
        open_read_only(text)
