"""Edges of the sync engine that no server is needed for, on tests/memorysource.py: a batch
split after a failing FETCH, a folder skipped as unchanged, set-aside records of other
folders and old UIDVALIDITYs, store failures (the message's or the machine's), totals over
several batches, and a reply to a summary read in INBOX. Each test pins a mutant that
survived mutation testing (named in its docstring), and an engine bug found on the way (a
narrowing that ended on a failure left the connection broken for the next folder)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import ME, ME_ALIAS
from mailbuilder import make_message
from memorysource import MemoryMailbox, MemorySource

from kithkin.daemon.steering.tokens import summary_message_id
from kithkin.daemon.store import Store
from kithkin.daemon.sync import Sync, SyncReport
from kithkin.daemon.sync.report import FolderReport
from kithkin.parsers.addresses import normalise_address

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OWNER = frozenset(a for a in map(normalise_address, (ME, ME_ALIAS)) if a)
ADA, BOB, STRANGER = "ada@example.org", "bob@example.net", "zed@strangers.example"
TOKEN = "0123456789abcdef0123456789abcdef"

Fault = Callable[[str, str, int], None]


def mail(n: int, sender: str = ADA, **fields: object) -> bytes:
    """Message number `n` (Subject `m<n>`) from `sender` to the owner."""
    defaults: dict[str, object] = {"to": ME, "subject": f"m{n}", "date": T0 + timedelta(hours=n),
                                   "message_id": f"<m{n}@kithkin.test>"}  # fmt: skip
    return make_message(from_=sender, **{**defaults, **fields})  # type: ignore[arg-type]


def filled(inbox: Sequence[bytes], sent: Sequence[bytes] = ()) -> MemoryMailbox:
    mailbox = MemoryMailbox()
    for raw in inbox:
        mailbox.append("INBOX", raw)
    for raw in sent:
        mailbox.append("Sent", raw)
    return mailbox


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "kithkin.db") as opened:
        with opened.atomic():
            opened.contacts.add("Ada", [ADA], now=T0)
            opened.contacts.add("Bob", [BOB], now=T0)
        yield opened


def run(
    source: MemorySource, store: Store, *, retry: bool = False, fault: Fault | None = None
) -> SyncReport:
    sync = Sync(source, store, OWNER, clock=lambda: NOW, fault=fault)
    return sync.run(retry_set_aside=retry)


def folder(report: SyncReport, name: str) -> FolderReport:
    return next(f for f in report.folders if f.name == name)


def subjects(store: Store) -> list[str]:
    return sorted(row["subject"] for row in store.interactions.list())


def set_aside(store: Store) -> list[tuple[str, int, int, str]]:
    return [(r.folder, r.uidvalidity, r.uid, r.stage) for r in store.set_aside.all()]


def failing(table: dict[int, Exception], stage: str = "store") -> Fault:
    def fault(at: str, name: str, uid: int) -> None:
        if at == stage and uid in table:
            raise table[uid]

    return fault


# --- 1. narrowing: a batch split after a failing FETCH keeps both halves ---------------------


@pytest.mark.parametrize("bad", [1, 2, 3, 4])
def test_a_batch_split_after_a_failing_fetch_logs_every_other_message(
    store: Store, bad: int
) -> None:
    """narrowing.py `fetched += more` -> `fetched = more`: the headers fetched before a
    part that failed again must be kept."""
    mailbox = filled([mail(n) for n in range(1, 6)])
    source = MemorySource(mailbox)
    source.fail_fetching("INBOX", bad)
    report = run(source, store)
    assert subjects(store) == [f"m{n}" for n in range(1, 6) if n != bad]
    assert folder(report, "INBOX").logged == 4 and report.set_aside == 1
    uidvalidity = mailbox.folders["INBOX"].uidvalidity
    assert set_aside(store) == [("INBOX", uidvalidity, bad, "fetch")]


def test_a_poisoned_newest_message_does_not_stop_the_next_folder(store: Store) -> None:
    """Seen with Dovecot and the fault proxy too: `kithkin sync` exits 1 with `EXAMINE Sent:
    connection lost` when the poisoned message is the last of its batch."""
    mailbox = filled([mail(n) for n in range(1, 6)], [mail(6, sender=ME, to=BOB)])
    source = MemorySource(mailbox)
    source.fail_fetching("INBOX", 5)
    report = run(source, store)
    assert subjects(store) == ["m1", "m2", "m3", "m4", "m6"] and report.set_aside == 1


# --- 2. a folder unchanged since the last sync ------------------------------------------------


def test_an_unchanged_folder_is_skipped_without_examine_and_reported_unchanged(
    store: Store,
) -> None:
    """engine.py `_unchanged`: `state.uidnext is not None and` -> `is None and`; and the
    skip's `report.unchanged = True` -> False."""
    mailbox = filled([mail(1), mail(2)], [mail(3, sender=ME, to=BOB)])
    first = run(MemorySource(mailbox), store)
    assert [f.unchanged for f in first.folders] == [False, False] and first.logged == 3
    source = MemorySource(mailbox)
    again = run(source, store)
    assert [c.split()[0] for c in source.commands] == ["STATUS", "STATUS", "LIST"]
    assert [(f.name, f.unchanged) for f in again.folders] == [("INBOX", True), ("Sent", True)]
    assert again.messages == 0 and again.logged == 0
    mailbox.append("INBOX", mail(4))  # a new UIDNEXT: examined and read
    source = MemorySource(mailbox)
    third = run(source, store)
    assert "EXAMINE INBOX" in source.commands and "EXAMINE Sent" not in source.commands
    assert [f.unchanged for f in third.folders] == [False, True] and third.logged == 1


@pytest.mark.parametrize(
    ("inbox", "retry"),
    [
        ([], False),  # never synced, empty: examined, nothing to read
        ([1, 2], True),  # retrying set-aside mail (none): examined, the same UIDNEXT
    ],
)
def test_an_examined_folder_without_new_mail_is_reported_unchanged(
    store: Store, inbox: list[int], retry: bool
) -> None:
    """engine.py: `report.unchanged = True` after EXAMINE (nothing there, or the same
    UIDNEXT) -> False."""
    mailbox = filled([mail(n) for n in inbox])
    if inbox:
        run(MemorySource(mailbox), store)
    source = MemorySource(mailbox)
    report = run(source, store, retry=retry)
    assert "EXAMINE INBOX" in source.commands
    assert folder(report, "INBOX").unchanged and folder(report, "Sent").unchanged
    assert not any(c.startswith("UID FETCH") for c in source.commands)


# --- 3 and 5. set-aside records of other folders and of an old UIDVALIDITY -------------------


def test_set_aside_records_of_another_folder_are_not_retried_here(store: Store) -> None:
    """engine.py `_retry_set_aside`: `record.folder == state.name and record.uidvalidity ==
    state.uidvalidity` -> `or`."""
    mailbox = filled([mail(1), mail(2), mail(3)])
    run(MemorySource(mailbox), store)
    inbox = mailbox.folders["INBOX"].uidvalidity
    with store.atomic():  # UIDVALIDITY is per folder: another's may be the same number
        store.set_aside.record("Archive", inbox, 2, "process", T0)
        store.set_aside.record("INBOX", inbox, 3, "process", T0)
    source = MemorySource(mailbox)
    report = run(source, store, retry=True)
    assert folder(report, "INBOX").retried == 1  # UID 3 only
    assert set_aside(store) == [("Archive", inbox, 2, "process")]
    assert "UID FETCH 1 messages (BODY.PEEK[HEADER.FIELDS" in " ".join(source.commands)


def test_a_uidvalidity_reset_clears_the_old_set_aside_records(store: Store) -> None:
    """engine.py `clear_stale(folder, status.uidvalidity)` -> `clear_stale(folder, None)`."""
    mailbox = filled([mail(1), mail(2), mail(3)])
    source = MemorySource(mailbox)
    source.fail_fetching("INBOX", 2)
    run(source, store)
    old = mailbox.folders["INBOX"].uidvalidity
    assert set_aside(store) == [("INBOX", old, 2, "fetch")]
    mailbox.expunge("INBOX", 1)
    new = mailbox.reset_uidvalidity("INBOX")  # m2 is UID 1 now, m3 UID 2
    report = run(MemorySource(mailbox), store, retry=True)
    assert folder(report, "INBOX").uidvalidity_reset and folder(report, "INBOX").retried == 0
    assert set_aside(store) == [] and new != old
    assert subjects(store) == ["m1", "m2", "m3"]


# --- 4. a store failure: the message's sets it aside, the machine's stops the sync -----------


DISK = sqlite3.OperationalError("disk I/O error")


@pytest.mark.parametrize(
    ("faults", "logged", "aside", "raised"),
    [
        ({2: ValueError("bad row")}, ["m1", "m3", "m4"], [2], None),
        ({2: sqlite3.IntegrityError("x"), 4: KeyError(4)}, ["m1", "m3"], [2, 4], None),
        ({3: DISK}, [], [], sqlite3.OperationalError),  # the batch at once
        ({2: ValueError("bad row"), 3: DISK}, [], [], sqlite3.OperationalError),  # one by one
        ({1: OSError("no space left")}, [], [], OSError),
    ],
)
def test_a_store_failure_sets_the_message_aside_or_stops_the_sync(
    store: Store,
    faults: dict[int, Exception],
    logged: list[str],
    aside: list[int],
    raised: type[Exception] | None,
) -> None:
    """engine.py `_store_rows`: `if not caused_by_the_message(exc):` -> `if
    caused_by_the_message(exc):` (either of the two)."""
    mailbox = filled([mail(n) for n in range(1, 5)])
    source = MemorySource(mailbox)
    if raised is None:
        report = run(source, store, fault=failing(faults))
        assert report.set_aside == len(aside)
    else:
        with pytest.raises(raised):
            run(source, store, fault=failing(faults))
        assert store.folders.get("INBOX").last_uid == 0  # nothing of the batch committed
    uidvalidity = mailbox.folders["INBOX"].uidvalidity
    assert subjects(store) == logged
    assert set_aside(store) == [("INBOX", uidvalidity, uid, "process") for uid in aside]


# --- 6. totals over several batches -----------------------------------------------------------


def crowded(n: int) -> bytes:
    """From Ada to the owner and more addresses than are read: counted as capped."""
    crowd = [ME, *(f"p{i}@crowd.example" for i in range(1000))]
    return mail(n, to=crowd)


def undated(mailbox: MemoryMailbox, n: int) -> None:
    """From Ada with a bogus Date and no INTERNALDATE: unparseable."""
    mailbox.append("INBOX", mail(n, date="not a date"), None)  # type: ignore[arg-type]


def test_the_report_adds_up_every_batch(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """engine.py `_process`: `report.logged +=`, `report.unparseable +=`, `report.capped +=`
    -> `=` (the last batch's count only)."""
    monkeypatch.setattr("kithkin.daemon.sync.batches.FETCH_BATCH", 2)
    mailbox = MemoryMailbox()
    mailbox.append("INBOX", mail(1))  # batches: [logged, unparseable], [capped, logged],
    undated(mailbox, 2)  # [unparseable, capped], [logged, stranger]
    mailbox.append("INBOX", crowded(3))
    mailbox.append("INBOX", mail(4))
    undated(mailbox, 5)
    mailbox.append("INBOX", crowded(6))
    mailbox.append("INBOX", mail(7))
    mailbox.append("INBOX", mail(8, sender=STRANGER))
    report = run(MemorySource(mailbox), store)
    inbox = folder(report, "INBOX")
    assert (inbox.messages, inbox.logged, inbox.unparseable, inbox.capped) == (8, 5, 2, 2)
    assert (report.logged, report.unparseable, report.capped) == (5, 2, 2)
    assert subjects(store) == ["m1", "m3", "m4", "m6", "m7"]


def test_set_aside_mail_retried_in_several_batches_is_counted_in_all(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """engine.py `_process`: `report.retried += len(read)` -> `=`."""
    monkeypatch.setattr("kithkin.daemon.sync.batches.FETCH_BATCH", 2)
    mailbox = filled([mail(n) for n in range(1, 7)])
    broken = {uid: RuntimeError(f"UID {uid}") for uid in (1, 2, 3, 5, 6)}
    first = run(MemorySource(mailbox), store, fault=failing(broken, stage="plan"))
    assert first.set_aside == 5 and subjects(store) == ["m4"]
    again = run(MemorySource(mailbox), store, retry=True)
    assert folder(again, "INBOX").retried == 5 and again.retried == 5
    assert set_aside(store) == [] and subjects(store) == [f"m{n}" for n in range(1, 7)]


# --- 7. a reply to a summary, found in INBOX --------------------------------------------------


def test_a_reply_to_a_summary_in_inbox_is_read_and_applied(store: Store) -> None:
    """replies.py `read_replies`: `fresh = [...]` -> `fresh = None` / `[]`."""
    made = NOW - timedelta(days=2)
    with store.atomic():
        store.summaries.new("2026-W22", TOKEN, "manual", made)
    reply = make_message(from_=ME, to=ME, subject="Re: Kithkin: 2 people to write to",
                         date=made + timedelta(minutes=5), message_id="<r1@home.example>",
                         headers={"In-Reply-To": summary_message_id(TOKEN)},
                         body="mute Bob\r\n")  # fmt: skip
    mailbox = filled([mail(1)])
    mailbox.append("INBOX", reply, made + timedelta(minutes=6))  # INBOX: as delivered
    source = MemorySource(mailbox)
    run(source, store)
    assert any(c.startswith("UID FETCH 2 (BODY.PEEK[]") for c in source.commands)
    muted = {c.name for c in store.contacts.all() if c.muted}
    assert muted == {"Bob"}
    assert len(store.replies.recent()) == 1
    assert subjects(store) == ["m1"]
