"""One contract for every `MailSource`: Dovecot, pymap and GNU imap4d through `ImapSession`,
and tests/memorysource.py's `MemorySource`, given the same mailbox (by IMAP APPEND for the
real servers, directly for the memory one).

Where real servers differ in ways the engine tolerates, the contract asserts what the engine
relies on, not the incidental: UIDs ascend and UIDNEXT lies above them (pymap numbers from
101), INBOX and the sent folder are found (imap4d by name, having no SPECIAL-USE), header
sections are compared with field names folded to lower case (imap4d sends them upper-cased
as asked), and a body fetch holds the message (imap4d's mbox adds its X-UID headers).
The last tests run the engine itself over each source and compare the interactions logged.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import ME, ME_ALIAS, write_config
from mailbuilder import make_message
from mailutils_server import MailutilsServer, require_mailutils
from memorysource import MemoryMailbox, MemorySource, header_fields
from servers import (
    DovecotServer,
    ImapServer,
    PymapPool,
    create_folder,
    imap_client,
    require_dovecot,
)

from kithkin.daemon.config import load_config
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail import listing as listing_module
from kithkin.daemon.mail.records import FolderUnavailable, SearchRefused
from kithkin.daemon.mail.session import (
    BODY_LIMIT,
    FIRST_READ,
    HEADER_LIMIT,
    ImapSession,
)
from kithkin.daemon.store import Store
from kithkin.daemon.sync import MailSource, Sync, SyncReport
from kithkin.daemon.sync.backfill import search_addresses
from kithkin.daemon.sync.planner import PlanWorker
from kithkin.parsers.addresses import normalise_address
from kithkin.parsers.headers import HEADER_FIELDS, parse_headers

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
ADA = "ada@example.org"
GRACE = "grace@bücher.example"
GRACE_IDNA = "grace@xn--bcher-kva.example"
STRANGER = "zed@strangers.example"
# A To: of 300 KB in 150 addresses (pymap's SEARCH takes seconds over 10,000 short ones).
CROWD = [f'"Reader {n} {"x" * 2000}" <reader{n:03d}@crowd.example>' for n in range(150)]
CONTACTS = {"Ada Lovelace": ADA, "Grace Hopper": GRACE}
OWNER = frozenset(a for a in map(normalise_address, (ME, ME_ALIAS)) if a)
OTHER_FIELDS = [name for name in HEADER_FIELDS if name not in ("FROM", "TO", "CC", "BCC")]


@dataclass(frozen=True)
class Mail:
    key: str  # the subject
    folder: str
    fields: dict[str, Any]
    hour: int  # sent at T0 plus this many hours, arrived five minutes later

    @property
    def raw(self) -> bytes:
        return make_message(date=T0 + timedelta(hours=self.hour), subject=self.key,
                            message_id=f"<{self.message_id}>", **self.fields)  # fmt: skip

    @property
    def message_id(self) -> str:
        return re.sub(r"[^a-z]+", "-", self.key) + "@kithkin.test"

    @property
    def arrived(self) -> datetime:
        return T0 + timedelta(hours=self.hour, minutes=5)


MAILBOX = {
    key: Mail(key, folder, fields, hour)
    for hour, (key, folder, fields) in enumerate([
        ("in from ada", "INBOX", {"from_": f"Ada Lovelace <{ADA}>", "to": ME,
         "headers": {"X-Secret": "hidden-field"}, "body": "secret body text\n"}),
        ("in from grace", "INBOX", {"from_": f"Grace Hopper <{GRACE}>", "to": ME}),
        ("stranger, cc ada", "INBOX", {"from_": STRANGER, "to": ME, "cc": ADA.upper()}),
        ("ada's list mail", "INBOX", {"from_": ADA, "to": ME,
         "headers": {"List-Id": "<friends.example>"}}),
        ("huge", "INBOX", {"from_": ADA, "to": [ME, *CROWD]}),
        ("long body", "INBOX", {"from_": STRANGER, "to": ME, "body": "x" * 300_000 + "\n"}),
        ("grace, idna, to my alias", "INBOX", {"from_": GRACE_IDNA, "to": ME_ALIAS}),
        ("out to ada", "Sent", {"from_": f"Me <{ME}>", "to": "ADA@example.org"}),
        ("out bcc grace", "Sent", {"from_": ME, "to": STRANGER, "bcc": GRACE_IDNA}),
        ("out to grace", "Sent", {"from_": ME, "to": f"Grace <{GRACE}>"}),
        ("out to a stranger", "Sent", {"from_": ME, "to": STRANGER}),
    ])
}  # fmt: skip
FOLDERS = ("INBOX", "Sent", "Empty")

EXPECTED_ROWS = sorted([
    ("Ada Lovelace", "in", "in from ada"),
    ("Ada Lovelace", "in", "huge"),
    ("Ada Lovelace", "out", "out to ada"),
    ("Grace Hopper", "in", "in from grace"),
    ("Grace Hopper", "in", "grace, idna, to my alias"),
    ("Grace Hopper", "out", "out bcc grace"),
    ("Grace Hopper", "out", "out to grace"),
])  # fmt: skip


# --- the backends ------------------------------------------------------------------------------


@dataclass
class RealBackend:
    server: ImapServer
    directory: Path
    uids: dict[str, int] = field(default_factory=dict)  # filled by `load`

    def put(self, mail: Mail) -> None:
        with imap_client(self.server) as client:
            client.append(mail.folder, mail.raw, msg_time=mail.arrived)

    @contextmanager
    def session(self) -> Iterator[ImapSession]:
        config = load_config(write_config(self.directory, self.server))
        mailbox = ImapSession.connect(config.require_imap(), self.server.password)
        try:
            yield mailbox
        finally:
            mailbox.logout()

    def renew_uidvalidity(self, folder: str, old: int) -> None:
        """Delete and create the folder until its UIDVALIDITY is no longer `old` (imap4d
        takes the current second for an mbox never written to: it may take a second)."""
        deadline = time.monotonic() + 5
        with imap_client(self.server) as client:
            while True:
                client.delete_folder(folder)
                client.create_folder(folder)
                now = int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])
                if now != old or time.monotonic() > deadline:
                    return
                time.sleep(0.05)


@dataclass
class MemoryBackend:
    mailbox: MemoryMailbox = field(default_factory=MemoryMailbox)
    uids: dict[str, int] = field(default_factory=dict)

    def put(self, mail: Mail) -> None:
        self.mailbox.append(mail.folder, mail.raw, mail.arrived)

    @contextmanager
    def session(self) -> Iterator[MemorySource]:
        yield MemorySource(self.mailbox)

    def renew_uidvalidity(self, folder: str, old: int) -> None:
        self.mailbox.reset_uidvalidity(folder)


AnyBackend = RealBackend | MemoryBackend
SOURCES = [
    pytest.param("dovecot", marks=pytest.mark.dovecot),
    "pymap",
    pytest.param("mailutils", marks=pytest.mark.mailutils),
    "memory",
]


@contextmanager
def started(kind: str, pool: PymapPool) -> Iterator[ImapServer | None]:
    """A fresh server of `kind` (None for the memory source)."""
    if kind == "dovecot":
        require_dovecot()
        dovecot = DovecotServer()
        try:
            dovecot.start()
            yield dovecot
        finally:
            dovecot.close(wait=False)
    elif kind == "pymap":
        pymap = pool.take()
        try:
            yield pymap
        finally:
            pymap.close()
    elif kind == "mailutils":
        require_mailutils()
        with MailutilsServer() as mailutils:
            yield mailutils
    else:
        yield None


def backend_for(server: ImapServer | None, directory: Path) -> AnyBackend:
    if server is None:
        backend = MemoryBackend()
        backend.mailbox.create("Empty")
        return backend
    create_folder(server, "Empty")
    return RealBackend(server, directory)


def load(backend: AnyBackend) -> AnyBackend:
    """Put MAILBOX into the backend and learn the UIDs it gave each message."""
    for mail in MAILBOX.values():
        backend.put(mail)
    with backend.session() as source:
        for folder in ("INBOX", "Sent"):
            source.examine(folder)
            uids = [uid for window in source.uids_above(0) for uid in window]
            keys = [mail.key for mail in MAILBOX.values() if mail.folder == folder]
            backend.uids.update(zip(keys, uids, strict=True))
    return backend


@pytest.fixture(scope="module", params=SOURCES)
def filled(
    request: pytest.FixtureRequest,
    _pymap_pool: PymapPool,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AnyBackend]:
    """One mailbox holding MAILBOX per source, shared by the module's read-only tests."""
    with started(request.param, _pymap_pool) as server:
        yield load(backend_for(server, tmp_path_factory.mktemp("contract")))


@pytest.fixture(params=SOURCES)
def fresh(
    request: pytest.FixtureRequest, _pymap_pool: PymapPool, tmp_path: Path
) -> Iterator[AnyBackend]:
    """An empty mailbox per test (INBOX, Sent, Empty), for tests that change it."""
    with started(request.param, _pymap_pool) as server:
        yield backend_for(server, tmp_path / "k")


def uids_of(filled: AnyBackend, folder: str) -> list[int]:
    return [filled.uids[key] for key, mail in MAILBOX.items() if mail.folder == folder]


def listed(windows: Iterator[list[int]]) -> list[int]:
    return [uid for window in windows for uid in window]


def lower_names(section: bytes) -> bytes:
    """Header field names lower-cased (imap4d sends them as asked: upper case)."""
    return re.sub(rb"(?m)^([!-9;-~]+):", lambda m: m.group(1).lower() + b":", section)


# --- folders and listing -----------------------------------------------------------------------


def test_folders_to_sync_are_inbox_and_sent(filled: AnyBackend) -> None:
    with filled.session() as source:
        assert source.folders_to_sync() == ["INBOX", "Sent"]


def test_survey_gives_the_folders_and_the_status_examine_would(filled: AnyBackend) -> None:
    with filled.session() as source:
        survey = source.survey(["INBOX", "Sent", "Empty", "Gone Folder"])
        first = source.survey([])  # a first sync's: none known (Dovecot: LIST-STATUS)
        examined = {folder: source.examine(folder) for folder in FOLDERS}
        bare = source.survey([], status=False)
    assert survey.folders == bare.folders == first.folders == ["INBOX", "Sent"]
    assert first.status == survey.status
    assert set(survey.status) == {"INBOX", "Sent"}  # asked for, or to sync; and there
    for folder, status in survey.status.items():
        assert status == examined[folder]
    assert bare.status == {}


def test_examine_reports_uidvalidity_exists_and_uidnext(filled: AnyBackend) -> None:
    with filled.session() as source:
        for folder in FOLDERS:
            status = source.examine(folder)
            uids = uids_of(filled, folder)
            assert status.name == folder
            assert status.exists == len(uids)
            assert status.uidvalidity >= 1
            assert status.uidnext is not None and status.uidnext > max(uids, default=0)
            if uids:  # imap4d gives an mbox never written to the current second as UIDVALIDITY
                assert source.examine(folder).uidvalidity == status.uidvalidity
        assert uids_of(filled, "INBOX") == sorted(uids_of(filled, "INBOX"))


@pytest.mark.parametrize("windows", ["default", "small"])
def test_uids_above_and_up_to_any_cursor(
    filled: AnyBackend, windows: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if windows == "small":  # several listing commands, going backwards
        monkeypatch.setattr(listing_module, "FIRST_LIST_WINDOW", 2)
        monkeypatch.setattr(listing_module, "LIST_WINDOW", 3)
    uids = uids_of(filled, "INBOX")
    middle = uids[3]
    with filled.session() as source:
        source.examine("INBOX")
        assert listed(source.uids_above(0)) == uids
        assert listed(source.uids_above(middle)) == uids[4:]
        assert listed(source.uids_above(middle - 1)) == uids[3:]
        assert listed(source.uids_above(uids[-1])) == []
        assert listed(source.uids_above(uids[-1] + 1000)) == []
        assert listed(source.uids_up_to(0)) == []
        assert listed(source.uids_up_to(middle)) == uids[:4]
        assert listed(source.uids_up_to(uids[-1] + 1000)) == uids
        source.examine("Empty")
        assert listed(source.uids_above(0)) == []
        assert listed(source.uids_up_to(100)) == []


@pytest.mark.parametrize("windows", ["default", "small"])
def test_examine_with_its_status_sends_the_first_listing_with_it(
    filled: AnyBackend, windows: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if windows == "small":
        monkeypatch.setattr(listing_module, "FIRST_LIST_WINDOW", 2)
        monkeypatch.setattr(listing_module, "LIST_WINDOW", 3)
    uids = uids_of(filled, "INBOX")
    with filled.session() as source:
        status = source.survey(["INBOX"]).status["INBOX"]
        assert source.examine("INBOX", status) == status
        sent = len(source.commands)
        assert listed(source.uids_above(uids[-2])) == uids[-1:]
        assert len(source.commands) == sent  # answered with the EXAMINE: no command more
        source.examine("INBOX", status)
        assert listed(source.uids_above(0)) == uids
        empty = source.examine("Empty")
        again = source.examine("Empty", empty)
        # imap4d gives a folder never written to a new UIDVALIDITY (the current second) at
        # each open, so only the counts are the same there
        assert (again.exists, again.uidnext) == (empty.exists, empty.uidnext)
        assert listed(source.uids_above(0)) == []


def test_existing_tells_which_uids_are_still_there(filled: AnyBackend) -> None:
    uids = uids_of(filled, "Sent")
    with filled.session() as source:
        source.examine("Sent")
        assert source.existing([*uids, uids[-1] + 7]) == set(uids)
        assert source.existing([uids[-1] + 7]) == set()
        assert source.existing([]) == set()


# --- header sections ---------------------------------------------------------------------------


def test_fetch_headers_reads_only_the_wanted_fields_with_internaldate(filled: AnyBackend) -> None:
    mails = [mail for mail in MAILBOX.values() if mail.folder == "INBOX" and mail.key != "huge"]
    absent = max(filled.uids.values()) + 50
    with filled.session() as source:
        source.examine("INBOX")
        fetched = source.fetch_headers([filled.uids[mail.key] for mail in mails] + [absent])
    assert [item.uid for item in fetched] == [filled.uids[mail.key] for mail in mails]
    for item, mail in zip(fetched, mails, strict=True):
        assert item.header is not None and not item.long and not item.cut
        assert lower_names(item.header) == lower_names(header_fields(mail.raw, HEADER_FIELDS))
        assert b"hidden-field" not in item.header and b"secret body" not in item.header
        assert item.internaldate == mail.arrived
        assert parse_headers(item.header, item.internaldate) == parse_headers(
            mail.raw, mail.arrived
        )


def test_prefetched_batches_are_read_in_any_order_as_if_fetched_then(
    filled: AnyBackend,
) -> None:
    uids = uids_of(filled, "INBOX")
    batches = [uids[:2], uids[2:4], uids[4:]]
    with filled.session() as source:
        source.examine("INBOX")
        alone = [source.fetch_headers(batch) for batch in batches]
        for batch in batches:
            source.prefetch_headers(batch)
        sent = len(source.commands)
        later = source.fetch_headers(batches[1])
        assert source.existing(uids[:1]) == set(uids[:1])  # another command in between
        first, last = source.fetch_headers(batches[0]), source.fetch_headers(batches[2])
        assert len(source.commands) == sent + 1  # only `existing` was sent after them
        assert source.fetch_headers(batches[1]) == alone[1]  # read once; now fetched anew
    assert [first, later, last] == alone


def test_a_300_kb_header_is_read_in_part_then_cut_with_its_other_fields_first(
    filled: AnyBackend,
) -> None:
    huge, small = MAILBOX["huge"], MAILBOX["in from ada"]
    with filled.session() as source:
        source.examine("INBOX")
        (first,) = source.fetch_headers([filled.uids["huge"]])
        whole = source.fetch_whole_headers([filled.uids["huge"], filled.uids[small.key]])
    assert first.long and not first.cut and first.header is not None
    assert (
        lower_names(first.header)
        == lower_names(header_fields(huge.raw, HEADER_FIELDS))[:FIRST_READ]
    )
    assert [(item.uid, item.long, item.cut) for item in whole] == [
        (filled.uids[small.key], False, False),
        (filled.uids["huge"], False, True),
    ]  # fmt: skip, in UID order
    others = header_fields(huge.raw, OTHER_FIELDS).rstrip(b"\r\n") + b"\r\n"
    all_fields = header_fields(huge.raw, HEADER_FIELDS)[:HEADER_LIMIT]
    assert whole[1].header is not None
    assert lower_names(whole[1].header) == lower_names(others + all_fields)
    facts = parse_headers(whole[1].header, whole[1].internaldate)
    expected = parse_headers(huge.raw, huge.arrived)
    assert (facts.subject, facts.message_id, facts.date) == (
        expected.subject, expected.message_id, expected.date,
    )  # fmt: skip
    assert lower_names(whole[0].header or b"") == lower_names(
        header_fields(small.raw, HEADER_FIELDS)
    )


def test_fetch_bodies_reads_the_first_256_kb_of_the_asked_messages(filled: AnyBackend) -> None:
    short, long = filled.uids["in from ada"], filled.uids["long body"]
    with filled.session() as source:
        source.examine("INBOX")
        bodies = source.fetch_bodies([short, long])
    assert set(bodies) == {short, long}
    assert bodies[short].endswith(b"\r\n\r\nsecret body text\r\n")
    assert b"\r\nSubject: in from ada\r\n" in bodies[short]
    assert len(bodies[long]) == BODY_LIMIT and bodies[long].endswith(b"xxxx")


# --- searching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "address", "expected"),
    [
        ("INBOX", ADA, ["in from ada", "stranger, cc ada", "ada's list mail", "huge"]),
        ("INBOX", GRACE, ["in from grace", "grace, idna, to my alias"]),
        ("Sent", ADA, ["out to ada"]),
        ("Sent", GRACE, ["out bcc grace", "out to grace"]),
        ("Sent", "nobody@nowhere.example", []),
    ],
    ids=["inbox-ascii", "inbox-non-ascii", "sent-ascii", "sent-non-ascii", "nobody"],
)
def test_the_backfill_search_finds_mail_from_and_to_an_address(
    filled: AnyBackend, folder: str, address: str, expected: list[str]
) -> None:
    uids = uids_of(filled, folder)
    with filled.session() as source:
        source.examine(folder)
        found = search_addresses(source, [address], uids[-1], lambda: None)
        below_the_second = search_addresses(source, [address], uids[1], lambda: None)
    assert found == [filled.uids[key] for key in expected]
    assert below_the_second == [uid for uid in found if uid <= uids[1]]


def test_a_search_the_source_cannot_do_is_refused_and_the_session_goes_on(
    filled: AnyBackend,
) -> None:
    with filled.session() as source:
        source.examine("INBOX")
        with pytest.raises(SearchRefused):
            source.search_uids(["NOSUCHKEY", "x"])
        assert listed(source.uids_above(0)) == uids_of(filled, "INBOX")


# --- the connection ----------------------------------------------------------------------------


def test_reconnect_keeps_the_examined_folder(filled: AnyBackend) -> None:
    with filled.session() as source:
        source.examine("INBOX")
        source.examine("Sent")
        source.reconnect()
        assert listed(source.uids_above(0)) == uids_of(filled, "Sent")
        (item,) = source.fetch_headers([filled.uids["out to ada"]])
        assert parse_headers(item.header or b"", item.internaldate).subject == "out to ada"
        assert "(reconnect)" in source.commands


def test_a_missing_folder_is_unavailable_and_the_session_goes_on(filled: AnyBackend) -> None:
    with filled.session() as source:
        source.examine("INBOX")
        with pytest.raises(FolderUnavailable, match="No Such Folder"):
            source.examine("No Such Folder")
        with pytest.raises(MailboxError):  # nothing is examined any more
            source.uids_above(0)
        assert source.examine("Sent").exists == len(uids_of(filled, "Sent"))


def test_reconnect_refuses_a_folder_whose_uidvalidity_changed(fresh: AnyBackend) -> None:
    fresh.put(MAILBOX["out to ada"])
    with fresh.session() as source:
        status = source.examine("Sent")
        fresh.renew_uidvalidity("Sent", status.uidvalidity)
        with pytest.raises(MailboxError, match="UIDVALIDITY changed"):
            source.reconnect()


# --- the engine over each source ---------------------------------------------------------------


def open_store(path: Path, contacts: dict[str, str]) -> Store:
    store = Store.open(path)
    add_contacts(store, contacts)
    return store


def add_contacts(store: Store, contacts: dict[str, str]) -> None:
    with store.atomic():
        for name, address in contacts.items():
            store.contacts.add(name, [normalise_address(address) or address], now=T0)


def logged(store: Store) -> list[tuple[str, str, str]]:
    return sorted((row["contact"], row["direction"], row["subject"])
                  for row in store.interactions.list())  # fmt: skip


def rows_in_full(store: Store) -> list[tuple]:
    """Every interaction row but its id: what two syncs of the same mailbox must agree on."""
    return sorted(
        tuple(v for k, v in row.items() if k != "id") for row in store.interactions.list()
    )


def sync(backend: AnyBackend, store: Store) -> tuple[SyncReport, list[str]]:
    """One run of the engine on a fresh session; (its report, the commands it sent)."""
    with backend.session() as source:
        return run_on(source, store), list(source.commands)


@pytest.fixture(scope="module")
def memory_table(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    """The interactions a clean sync of MAILBOX from the memory source logs, in full."""
    with open_store(tmp_path_factory.mktemp("memory") / "kithkin.db", CONTACTS) as store:
        sync(load(backend_for(None, Path())), store)
        return rows_in_full(store)


def test_a_sync_logs_the_same_interactions_from_every_source(
    filled: AnyBackend, tmp_path: Path, memory_table: list[tuple]
) -> None:
    with open_store(tmp_path / "kithkin.db", CONTACTS) as store:
        report, _ = sync(filled, store)
        assert report.messages == len(MAILBOX)
        assert report.logged == len(EXPECTED_ROWS)
        assert logged(store) == EXPECTED_ROWS
        assert rows_in_full(store) == memory_table  # dates, ids, audience: all alike
        assert {row["message_id"] for row in store.interactions.list()} == {
            MAILBOX[subject].message_id for _, _, subject in EXPECTED_ROWS
        }
        again, commands = sync(filled, store)
        assert again.logged == 0 and all(folder.unchanged for folder in again.folders)
        assert [c.split()[0] for c in commands] == ["STATUS", "STATUS", "LIST"]  # no EXAMINE
        assert commands[0].split()[1].strip('"') == "INBOX"  # first: see ImapSession.survey


@pytest.mark.parametrize("batch", [500, 2, 1])
def test_a_sync_planned_by_a_child_process_logs_the_same_interactions(
    filled: AnyBackend,
    tmp_path: Path,
    memory_table: list[tuple],
    batch: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As a long first sync runs: the batches planned by a child process (planner.py), the
    next one fetched while the one before is committed."""
    monkeypatch.setattr("kithkin.daemon.sync.batches.FETCH_BATCH", batch)
    started = ready_workers(monkeypatch)
    with open_store(tmp_path / "kithkin.db", CONTACTS) as store, filled.session() as source:
        report = Sync(source, store, OWNER, clock=lambda: T0, plan_in_child=True).run()
        assert report.messages == len(MAILBOX)
        assert rows_in_full(store) == memory_table
    assert len(started) == 1 and started[0].by_child > 0 and not started[0].failed


def ready_workers(monkeypatch: pytest.MonkeyPatch) -> list[PlanWorker]:
    """The planning children a sync starts, each waited for until it is ready (so that even
    a short sync uses it)."""
    started: list[PlanWorker] = []

    def started_worker(book: dict[str, int], me: frozenset[str]) -> PlanWorker:
        worker = PlanWorker(book, me)
        deadline = time.monotonic() + 30
        while not (worker.ready or worker.failed) and time.monotonic() < deadline:
            worker._check_ready()
            time.sleep(0.01)
        started.append(worker)
        return worker

    monkeypatch.setattr("kithkin.daemon.sync.pipeline.PlanWorker", started_worker)
    return started


@dataclass
class Steps:
    """The messages of each `advance`: one per transaction of batches."""

    messages: dict[str, list[int]] = field(default_factory=dict)
    current: str = ""

    def folder(self, name: str, total: int) -> None:
        self.current = name
        self.messages[name] = []

    def advance(self, messages: int, logged: int) -> None:
        self.messages[self.current].append(messages)


def test_the_batches_a_child_plans_are_committed_a_group_at_a_time(
    filled: AnyBackend, tmp_path: Path, memory_table: list[tuple], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 2 committed two at a time, the cursor after them; the same interactions
    logged as ever."""
    monkeypatch.setattr("kithkin.daemon.sync.batches.LONG_BATCH", 2)
    started = ready_workers(monkeypatch)
    steps = Steps()
    with open_store(tmp_path / "kithkin.db", CONTACTS) as store, filled.session() as source:
        engine = Sync(source, store, OWNER, clock=lambda: T0, plan_in_child=True, progress=steps)
        assert engine.run().messages == len(MAILBOX)
        assert rows_in_full(store) == memory_table
        cursors = {state.name: state.last_uid for state in store.folders.all()}
    assert started and started[0].by_child > 0
    for folder, counts in steps.messages.items():
        assert counts and all(count == 4 for count in counts[:-1]), (folder, counts)
        assert 1 <= counts[-1] <= 4 and cursors[folder] > 0, (folder, counts)
    assert max(len(counts) for counts in steps.messages.values()) >= 2


@pytest.mark.parametrize("batch", [500, 1])
def test_a_contact_added_later_is_backfilled_alike_from_every_source(
    filled: AnyBackend, tmp_path: Path, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kithkin.daemon.sync.batches.FETCH_BATCH", batch)  # 1: FETCHes pipelined
    with open_store(tmp_path / "kithkin.db", {"Ada Lovelace": ADA}) as store:
        sync(filled, store)
        assert [row[0] for row in logged(store)] == ["Ada Lovelace"] * 3
        add_contacts(store, {"Grace Hopper": GRACE})
        report, commands = sync(filled, store)
        assert report.messages == 0 and report.logged == 4
        assert logged(store) == EXPECTED_ROWS
        assert store.backfill.pending() == []
        searches = [c for c in commands if c.startswith("UID SEARCH") and " FROM " in c]
        assert len(searches) == 2 and all("OR FROM" in c for c in searches)  # no rescan
        with open_store(tmp_path / "clean.db", CONTACTS) as clean:
            sync(filled, clean)
            assert rows_in_full(store) == rows_in_full(clean)


# --- the memory source's switches, through the engine ------------------------------------------


@pytest.fixture
def memory() -> MemoryBackend:
    backend = load(backend_for(None, Path()))
    assert isinstance(backend, MemoryBackend)
    return backend


def run_on(source: MailSource, store: Store, *, retry: bool = False) -> SyncReport:
    return Sync(source, store, OWNER, clock=lambda: T0).run(retry_set_aside=retry)


def test_a_uid_left_out_of_a_fetch_reply_is_noticed_and_fetched_again(
    memory: MemoryBackend, tmp_path: Path
) -> None:
    uid = memory.uids["in from ada"]
    source = MemorySource(memory.mailbox)
    source.leave_out("INBOX", uid)
    with open_store(tmp_path / "kithkin.db", CONTACTS) as store:
        run_on(source, store)
        assert logged(store) == EXPECTED_ROWS
    assert f"UID FETCH {uid} (UID)" in source.commands  # `existing` said it is still there


def test_a_message_expunged_between_listing_and_fetch_is_skipped(
    memory: MemoryBackend, tmp_path: Path
) -> None:
    source = MemorySource(memory.mailbox)
    source.expunge_after_listing("INBOX", memory.uids["in from ada"])
    with open_store(tmp_path / "kithkin.db", CONTACTS) as store:
        report = run_on(source, store)
        assert logged(store) == [r for r in EXPECTED_ROWS if r[2] != "in from ada"]
        assert report.set_aside == 0 and store.set_aside.all() == []
    assert memory.uids["in from ada"] not in memory.mailbox.uids("INBOX")


def test_a_fetch_that_breaks_the_connection_once_is_fetched_again(
    memory: MemoryBackend, tmp_path: Path
) -> None:
    source = MemorySource(memory.mailbox)
    source.fail_at(1, counting="UID FETCH")
    with open_store(tmp_path / "kithkin.db", CONTACTS) as store:
        run_on(source, store)
        assert logged(store) == EXPECTED_ROWS
    assert "(reconnect)" in source.commands


@pytest.mark.parametrize("counting", ["", "UID FETCH"], ids=["the-list", "a-fetch"])
def test_a_server_that_stays_down_stops_the_sync_and_the_next_one_logs_all(
    tmp_path: Path, counting: str
) -> None:
    """No backfill pending (it would find lost mail again): only the cursor keeps it."""
    backend = backend_for(None, Path())
    assert isinstance(backend, MemoryBackend)
    with open_store(tmp_path / "kithkin.db", CONTACTS) as store:
        run_on(MemorySource(backend.mailbox), store)  # the contacts' past: none
        assert store.backfill.pending() == []
        load(backend)
        source = MemorySource(backend.mailbox)
        source.fail_at(1, stay_down=True, counting=counting)
        with pytest.raises(MailboxError):
            run_on(source, store)
        assert source.down and logged(store) == []
        run_on(MemorySource(backend.mailbox), store)
        assert logged(store) == EXPECTED_ROWS


def test_a_message_whose_fetch_always_fails_is_set_aside_then_read(
    memory: MemoryBackend, tmp_path: Path
) -> None:
    uid = memory.uids["out to ada"]
    source = MemorySource(memory.mailbox)
    source.fail_fetching("Sent", uid)
    with open_store(tmp_path / "kithkin.db", CONTACTS) as store:
        assert run_on(source, store).set_aside == 1
        assert [(r.folder, r.uid, r.stage) for r in store.set_aside.all()] == [
            ("Sent", uid, "fetch")
        ]
        assert logged(store) == [r for r in EXPECTED_ROWS if r[2] != "out to ada"]
        assert run_on(MemorySource(memory.mailbox), store, retry=True).retried == 1
        assert logged(store) == EXPECTED_ROWS and store.set_aside.all() == []


def test_a_uidvalidity_reset_renumbers_and_the_rescan_logs_nothing_twice(
    memory: MemoryBackend, tmp_path: Path
) -> None:
    with open_store(tmp_path / "kithkin.db", CONTACTS) as store:
        run_on(MemorySource(memory.mailbox), store)
        before = memory.mailbox.folders["Sent"].uidvalidity
        assert memory.mailbox.reset_uidvalidity("Sent") != before
        assert memory.mailbox.uids("Sent") == [1, 2, 3, 4]
        report = run_on(MemorySource(memory.mailbox), store)
        sent = next(folder for folder in report.folders if folder.name == "Sent")
        assert sent.uidvalidity_reset and sent.messages == 4 and report.logged == 0
        assert logged(store) == EXPECTED_ROWS
