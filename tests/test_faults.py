"""Kithkin loses nothing when the IMAP connection breaks, stalls or turns to garbage.

A seeded 2,000-message mailbox (INBOX and Sent, a few hundred messages with contacts) is
stored once in a module-wide Dovecot and only read afterwards. Every test syncs it through
`FaultProxy` into a fresh store: first with a fault armed (a cut after N bytes, a stall, a BYE
or garbage from the "server"), which must fail with one error naming host:port and commit
nothing wrong; then again through a clean proxy, which must end with exactly the rows and
folder cursors of a clean sync: nothing lost, nothing twice.

Cut points are taken from a recorded clean session: in and right after every command the
client sends, in and after every kind of server reply (greeting, LOGIN, LIST, EXAMINE,
the listing of new UIDs, FETCH literals, tagged replies), and evenly over the whole byte
range. A broken FETCH of headers is fetched again on a new connection within the same sync.

The last section garbles single values in otherwise well-formed replies (a UIDVALIDITY, an
EXISTS, an INTERNALDATE, a UIDNEXT): each must be an error or harmless, never a crash, a
skipped folder or an endless loop.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from faultproxy import (
    BYE,
    C2S,
    CONTACTS,
    GARBAGE,
    S2C,
    TOTAL,
    BackfillMailbox,
    Cut,
    Fault,
    FaultProxy,
    Inject,
    ProxySession,
    Stall,
    Transcript,
    folder_cursors,
    interaction_table,
    skip_without_dovecot,
)
from helpers import write_config
from servers import DovecotServer

from kithkin.daemon.cli import cli
from kithkin.daemon.config import ImapConfig, load_config
from kithkin.daemon.errors import MailboxError
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.store import Store
from kithkin.daemon.sync import Sync

pytestmark = pytest.mark.dovecot

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SHORT_TIMEOUT = 2  # [imap] timeout for stalls: a stall must become a "timed out" error
SEED = 4711
DEADLINE = 60.0  # generous bound for waiting on a condition; nothing asserts on speed
LITERAL = b"]<0> {"  # where a header literal starts in a FETCH reply (partial fetch)
LISTING = b"* ESEARCH"  # Dovecot's answer to the listing of UIDs (RFC 4731)


# --- the shared mailbox and its clean sync ----------------------------------------------------


@dataclass
class World:
    """The module's Dovecot with the mailbox, the proxy in front of it, and the clean sync."""

    server: DovecotServer
    proxy: FaultProxy
    mailbox: BackfillMailbox
    transcript: Transcript  # the clean sync's session, byte for byte
    clean_rows: list[str]
    clean_folders: list[tuple]
    clean_config: Path
    root: Path
    cases: int = 0

    def new_case(
        self, name: str, *, backfill: bool = False, sections: dict | None = None, **imap: object
    ) -> Case:
        """A fresh store with the contacts and a config through the proxy.

        The contacts' backfill queue is emptied unless `backfill`: then only the folder
        cursors decide what a resync reads, so a cursor that ran ahead of the logged mail
        would lose that mail for good (a pending backfill search would find it again)."""
        self.cases += 1
        directory = self.root / f"{self.cases:03d}-{name}"
        config = write_config(
            directory, self.server, imap={"port": self.proxy.port, **imap}, sections=sections
        )
        with Store.open(directory / "kithkin.db") as store:
            for person in CONTACTS:
                with store.atomic():
                    store.contacts.add(person.name, person.emails, now=NOW)
            if not backfill:
                with store.atomic():
                    store.backfill.clear(store.backfill.pending())
        return Case(self, config)


@dataclass
class Case:
    world: World
    config: Path

    @property
    def db(self) -> Path:
        return self.config.parent / "kithkin.db"

    @property
    def imap(self) -> ImapConfig:
        return load_config(self.config).require_imap()

    def sync(self, *, timeout: float | None = None) -> None:
        """One in-process sync through the proxy, as `kithkin sync` runs it."""
        imap = self.imap if timeout is None else replace(self.imap, timeout=timeout)
        me = load_config(self.config).me
        with Store.open(self.db) as store:
            mailbox = ImapSession.connect(imap, self.world.server.password)
            try:
                Sync(mailbox, store, me, clock=lambda: NOW).run()
            finally:
                mailbox.logout()

    def rows(self) -> list[str]:
        with Store.open(self.db) as store:
            return interaction_table(store)

    def folders(self) -> list[tuple]:
        with Store.open(self.db) as store:
            return folder_cursors(store)

    def pending_backfill(self) -> list[str]:
        with Store.open(self.db) as store:
            return store.backfill.pending()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    skip_without_dovecot()
    root = tmp_path_factory.mktemp("faults")
    server = DovecotServer()
    try:
        server.start()
        mailbox = BackfillMailbox()
        mailbox.fill(server)
        with FaultProxy(server.host, server.port, record=True) as proxy:
            world = World(server, proxy, mailbox, Transcript(), [], [], Path(), root)
            clean = world.new_case("clean")
            clean.sync()
            proxy.record = False
            world.transcript = proxy.sessions[-1].transcript or Transcript()
            world.clean_rows, world.clean_folders = clean.rows(), clean.folders()
            world.clean_config = clean.config
            yield world
    finally:
        server.close(wait=False)


def test_a_clean_sync_logs_exactly_the_generated_interactions(world: World) -> None:
    """The baseline every fault is compared with is itself right: each contact's
    interactions, by Message-ID, as the generator made them (lists and strangers left out,
    copies in two folders once); both folders complete."""
    with Store.open(world.clean_config.parent / "kithkin.db") as store:
        logged = Counter((row["contact"], row["message_id"]) for row in store.interactions.list())
    assert logged == world.mailbox.expected
    assert 250 <= sum(logged.values()) <= 500
    assert [(f[0], f[2], f[4]) for f in world.clean_folders] == [
        ("INBOX", len(world.mailbox.inbox), len(world.mailbox.inbox)),
        ("Sent", len(world.mailbox.sent), len(world.mailbox.sent)),
    ]
    assert world.transcript.size(S2C) > 500_000  # the headers of 2,000 messages went through


# --- one fault, then recovery ---------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One fault to try, and what the sync must make of it: "error" (one line naming
    host:port, nothing wrong committed), "recovered" (a broken FETCH is fetched again on a
    new connection: no error, everything logged in the same run), "either" (where a point
    can land in a FETCH or elsewhere) or "complete" (the sync was done already: in LOGOUT)."""

    label: str
    fault: Fault
    expect: str = "error"
    error: str | None = None  # a fragment the error line must contain


@dataclass
class Outcome:
    point: Point
    problems: list[str]
    partial: int  # interactions committed before the fault (or in the run that recovered)
    recovered: bool = False  # no error: the broken FETCH was fetched again


def try_point(world: World, point: Point, *, timeout: float | None = None) -> Outcome:
    """Sync with the fault armed, check the failure and what it left, then recover through a
    clean proxy and compare with the clean sync."""
    case = world.new_case("point")
    problems: list[str] = []
    before = len(world.proxy.sessions)
    world.proxy.arm(point.fault)
    error: MailboxError | None = None
    try:
        case.sync(timeout=timeout)
    except MailboxError as exc:
        error = exc
    finally:
        world.proxy.disarm()
    session = world.proxy.sessions[before]
    problems += check_failure(world, point, session, error)
    partial = case.rows()
    if error is None and point.expect != "complete":
        if partial != world.clean_rows or case.folders() != world.clean_folders:
            problems.append(f"recovered, but {len(partial)} rows, clean has "
                            f"{len(world.clean_rows)}")  # fmt: skip
        if len(world.proxy.sessions) < before + 2:
            problems.append("recovered without a new connection")
    with Store.open(case.db) as store:
        missing, ahead = world.mailbox.against_cursors(store)
    if missing or ahead:
        problems.append(f"below the cursors but missing: {missing[:3]}; ahead: {ahead[:3]}")
    extra = Counter(partial) - Counter(world.clean_rows)
    if extra:
        problems.append(f"committed rows a clean sync does not have: {list(extra)[:2]}")
    case.sync()
    if case.rows() != world.clean_rows:
        problems.append(f"after recovery: {len(case.rows())} rows, clean has "
                        f"{len(world.clean_rows)}")  # fmt: skip
    if case.folders() != world.clean_folders:
        problems.append(f"after recovery: cursors {case.folders()} != {world.clean_folders}")
    if case.pending_backfill():
        problems.append("after recovery: the backfill queue is not empty")
    return Outcome(point, problems, len(partial), recovered=error is None)


def check_failure(
    world: World, point: Point, session: ProxySession, error: MailboxError | None
) -> list[str]:
    problems = []
    if not session.fired.is_set():
        problems.append("the fault never fired (the point is beyond the session)")
    if point.expect == "error" and error is None:
        problems.append("the sync succeeded despite the fault")
    if point.expect in ("recovered", "complete") and error is not None:
        problems.append(f"the sync failed instead of recovering: {error}")
    if error is not None:
        text = str(error)
        if not text.startswith(f"127.0.0.1:{world.proxy.port}: ") or "\n" in text:
            problems.append(f"not one line naming host:port: {text!r}")
        if point.error and point.error not in text:
            problems.append(f"{point.error!r} not in {text!r}")
    return problems


def try_all(world: World, points: list[Point], **kwargs: float) -> list[Outcome]:
    outcomes = [try_point(world, point, **kwargs) for point in points]
    failed = [f"{o.point.label}: {'; '.join(o.problems)}" for o in outcomes if o.problems]
    assert not failed, f"{len(failed)} of {len(points)} fault points:\n" + "\n".join(failed)
    return outcomes


# --- where to cut ---------------------------------------------------------------------------


def command_name(line: bytes) -> str:
    words = line.split(b" ")[1:3]  # after the tag; never the LOGIN arguments
    return " ".join(w.decode() for w in (words if words[0] == b"UID" else words[:1]))


def client_command_points(transcript: Transcript) -> list[Point]:
    """In the middle of every command the client sends, and right after it (the server
    gets it, the reply never comes back). A FETCH cut in the middle is tried again on a new
    connection; right after a command, its reply may still slip through before the cut, and
    then the next command breaks instead: where either is a FETCH of headers, the sync may
    recover or fail ("either"). Only LOGOUT comes after the sync is done."""
    points = []
    commands = transcript.commands()
    for number, (offset, line) in enumerate(commands, 1):
        name = command_name(line)
        expect = {"LOGOUT": "complete", "UID FETCH": "recovered"}.get(name, "error")
        following = command_name(commands[number][1]) if number < len(commands) else ""
        after = "either" if "UID FETCH" in (name, following) else expect
        points.append(Point(f"C2S in #{number} {name}", Cut(offset + len(line) // 2, C2S),
                            expect))  # fmt: skip
        points.append(Point(f"C2S after #{number} {name}", Cut(offset + len(line) + 2, C2S),
                            after))  # fmt: skip
    return points


def nth_after(stream: bytes, needle: bytes, marker: bytes, marker_nth: int = 1) -> int:
    """Which occurrence of `needle` is the first after the `marker_nth` `marker` (tags and
    timings differ between sessions; the order of replies does not)."""
    position = -1
    for _ in range(marker_nth):
        position = stream.index(marker, position + 1)
    return stream.count(needle, 0, position) + 1


def server_reply_points(transcript: Transcript) -> list[Point]:
    """In and after each kind of server reply, found by what the server says (exact offsets
    drift a little between runs: tagged replies carry timings)."""
    s2c = transcript.stream(S2C)
    literals, fetches = s2c.count(LITERAL), s2c.count(b"Fetch completed")
    done = b"Fetch completed"
    first_batch = nth_after(s2c, done, LITERAL)  # the listing's FETCHes come before
    sent_listing = nth_after(s2c, LISTING, b"Examine completed", 2)
    return [
        Point("before the greeting", Cut(0)),
        Point("in the greeting", Cut(b"* OK", plus=20)),
        Point("after the greeting", Cut(b"ready.\r\n")),
        Point("in the LOGIN reply", Cut(b"Logged")),  # `OK [CAPABILITY ...] Logged in`
        Point("after the LOGIN reply", Cut(b"Logged in", align="line")),
        Point("in the LIST reply", Cut(b"* LIST", plus=4)),
        Point("in EXAMINE INBOX", Cut(b" EXISTS")),
        Point("after EXAMINE INBOX", Cut(b"Examine completed", align="line")),
        Point("in the INBOX listing", Cut(LISTING, plus=20)),
        Point("in the first FETCH literal", Cut(LITERAL, plus=60), "recovered"),
        Point("between FETCH replies", Cut(LITERAL, nth=250, align="line"), "recovered"),
        Point("FETCH batch 1 but its last CRLF", Cut(done, nth=first_batch, plus=25),
              "recovered"),
        Point("after FETCH batch 1", Cut(done, nth=first_batch, align="line"), "recovered"),
        Point("RST in FETCH batch 2", Cut(LITERAL, nth=700, plus=100, reset=True), "recovered"),
        Point("in EXAMINE Sent", Cut(b" EXISTS", nth=2)),
        Point("in the Sent listing", Cut(LISTING, nth=sent_listing, plus=20)),
        Point("RST in a Sent FETCH literal", Cut(LITERAL, nth=1500, plus=10, reset=True),
              "recovered"),
        Point("in the last FETCH literal", Cut(LITERAL, nth=literals, plus=100), "recovered"),
        Point("the last FETCH but its CRLF", Cut(b"Fetch completed", nth=fetches, plus=25),
              "recovered"),
        Point("in LOGOUT's BYE", Cut(b"* BYE", plus=3), "complete"),
    ]  # fmt: skip


def sweep_end(transcript: Transcript) -> int:
    """A TOTAL offset safely before the last FETCH's tagged reply (later, the sync is done)."""
    last_reply = transcript.stream(S2C).rfind(b"Fetch completed")
    return transcript.to_total(S2C, last_reply) - 2_000


def test_cuts_in_and_after_every_client_command_lose_nothing(world: World) -> None:
    """A cut in the middle of, or right after, each command Kithkin sends (LOGIN, LIST,
    EXAMINE, SEARCH, each FETCH, LOGOUT; CAPABILITY where the greeting lists none): one
    error line, and a resync ends with the clean table and cursors."""
    points = client_command_points(world.transcript)
    assert len(points) >= 24
    outcomes = try_all(world, points)
    assert any(o.partial for o in outcomes)  # some cuts came after committed batches


def test_cuts_in_and_after_every_kind_of_server_reply_lose_nothing(world: World) -> None:
    """Cuts in the greeting, LOGIN, LIST, EXAMINE, SEARCH, inside FETCH literals, between
    FETCH replies, one CRLF short of a batch's tagged reply, with FIN or RST."""
    try_all(world, server_reply_points(world.transcript))


def test_cuts_swept_over_the_whole_session_lose_nothing(world: World) -> None:
    """20 cut points spread evenly over every byte of a clean session, both directions."""
    end = sweep_end(world.transcript)
    points = [Point(f"TOTAL {n}", Cut(n, TOTAL), "either") for n in range(0, end, end // 20)]
    outcomes = try_all(world, points[:20])
    assert sum(o.recovered for o in outcomes) >= 10  # most of a session is FETCH replies
    assert any(not o.recovered for o in outcomes)


# --- stalls, BYE and garbage ----------------------------------------------------------------


def test_stalls_become_timeouts_and_lose_nothing(world: World) -> None:
    """With `[imap] timeout = 2`, a server (or a line) that goes silent is a "timed out"
    error: before the greeting, with LOGIN held back, in a SEARCH reply, in a FETCH literal."""
    points = [
        Point("greeting withheld", Stall(0), error="timed out"),
        Point("LOGIN held back", Stall(b"LOGIN", C2S), error="timed out"),
        Point("the listing stalls", Stall(LISTING, plus=3), error="timed out"),
        Point("FETCH literal stalls, then RST", Stall(LITERAL, nth=1200, plus=50, reset=True),
              "recovered"),
    ]  # fmt: skip
    try_all(world, points, timeout=SHORT_TIMEOUT)


def test_a_short_stall_is_ridden_out(world: World) -> None:
    """A pause well inside the timeout is no error: the sync completes in one go."""
    case = world.new_case("short-stall")
    world.proxy.arm(Stall(LITERAL, nth=900, seconds=0.5, then="resume"))
    case.sync()
    assert world.proxy.sessions[-1].fired.is_set()
    assert case.rows() == world.clean_rows
    assert case.folders() == world.clean_folders


def test_bye_and_garbage_from_the_server_lose_nothing(world: World) -> None:
    """`* BYE` where a server could send one (as the greeting, after LOGIN, after SEARCH,
    between FETCH replies, with and without closing), garbage lines, and garbage at raw byte
    offsets over the whole reply stream: every one an error, nothing wrong committed."""
    busy = b"* BYE [UNAVAILABLE] Too many connections\r\n"
    s2c = world.transcript.stream(S2C)
    sent_listed = nth_after(s2c, b"Search completed", b"Examine completed", 2)
    points = [
        Point("BYE as the greeting", Inject(0, data=busy, then="cut"), error="Too many"),
        Point("BYE after LOGIN", Inject(b"Logged in", align="line", data=BYE, then="cut")),
        Point("BYE after the Sent listing", Inject(b"Search completed", nth=sent_listed,
                                                    align="line", data=BYE, then="cut")),
        Point("BYE between FETCH replies", Inject(LITERAL, nth=300, align="line", data=BYE,
                                                  then="cut"), "recovered"),
        Point("BYE, then more replies", Inject(LITERAL, nth=1400, align="line", data=BYE),
              "recovered"),
        Point("garbage line after EXAMINE", Inject(b" EXISTS", align="line")),
        Point("garbage line in FETCH", Inject(LITERAL, nth=800, align="line"), "recovered"),
    ]  # fmt: skip
    s2c_end = world.transcript.stream(S2C).rfind(b"Fetch completed") - 2_000
    points += [
        Point(f"garbage at S2C byte {n}", Inject(n, data=GARBAGE), "either")
        for n in range(s2c_end // 12, s2c_end, s2c_end // 6)
    ]
    try_all(world, points)


def test_faults_in_a_row_then_recovery(world: World) -> None:
    """Eight seeded cuts on one store whose contacts are new (their backfill is pending),
    each a few KB into every connection of its sync, so the FETCHes tried again on new
    connections break too: a sync makes some progress in ever smaller parts, or gives up
    with an error, and later cuts land in resyncs, including their targeted backfill SEARCH
    and FETCH. The store never holds a wrong row, nothing is set aside for a fault of the
    line, and one clean sync completes it exactly."""
    rng = random.Random(SEED)
    case = world.new_case("in-a-row", backfill=True)
    fired = 0
    for _ in range(8):
        before = len(world.proxy.sessions)
        cut = Cut(rng.randrange(1, 6_000), TOTAL, reset=rng.random() < 0.3)
        world.proxy.arm(cut, times=None)
        try:
            case.sync()
            failed = False
        except MailboxError:
            failed = True
        world.proxy.disarm()
        sessions = world.proxy.sessions[before:]
        assert not failed or any(session.fired.is_set() for session in sessions)
        fired += any(session.fired.is_set() for session in sessions)
        assert not Counter(case.rows()) - Counter(world.clean_rows)
    assert fired >= 3
    with Store.open(case.db) as store:
        assert store.set_aside.all() == []
    case.sync()
    assert case.rows() == world.clean_rows
    assert case.folders() == world.clean_folders


# --- through the command line ---------------------------------------------------------------


CLI_POINTS = [
    Point("cut in the LIST reply", Cut(b"* LIST", plus=4), error="LIST"),
    Point("RST in the listing", Cut(LISTING, plus=20, reset=True), error="UID SEARCH"),
    Point("stall in the listing", Stall(LISTING, plus=3), error="timed out"),
    Point("BYE after EXAMINE", Inject(b" EXISTS", align="line", data=BYE, then="cut"),
          error="connection lost"),
]  # fmt: skip


def cli_json(run_cli: Callable, config: Path) -> list[str]:
    result = run_cli("--config", str(config), "interactions", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    return sorted(json.dumps({k: v for k, v in r.items() if k != "id"}, sort_keys=True)
                  for r in rows)  # fmt: skip


@pytest.mark.parametrize("point", CLI_POINTS, ids=[p.label for p in CLI_POINTS])
def test_the_cli_reports_a_fault_in_one_line_and_the_next_sync_recovers(
    world: World, point: Point, run_cli: Callable
) -> None:
    """`kithkin sync` under a fault: exit status 1 and one line naming host:port; the next
    `kithkin sync` completes, and `kithkin interactions --json` is the clean sync's."""
    case = world.new_case("cli", timeout=SHORT_TIMEOUT)
    world.proxy.arm(point.fault)
    result = run_cli("--config", str(case.config), "sync")
    world.proxy.disarm()
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("kithkin:")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"kithkin: error: 127.0.0.1:{world.proxy.port}: "), errors[0]
    assert point.error in errors[0]
    write_config(case.config.parent, world.server, imap={"port": world.proxy.port})
    again = run_cli("--config", str(case.config), "sync")
    assert again.exit_code == 0, again.output
    assert cli_json(run_cli, case.config) == cli_json(run_cli, world.clean_config)
    assert case.folders() == world.clean_folders


@pytest.mark.parametrize(
    "fault",
    [Cut(LITERAL, nth=600, plus=40), Stall(LITERAL, nth=100), Inject(LITERAL, nth=900)],
    ids=["cut in a FETCH literal", "stall in FETCH", "garbage in FETCH"],
)
def test_the_cli_rides_out_a_broken_fetch(world: World, fault: Fault, run_cli: Callable) -> None:
    """A FETCH that breaks once is fetched again on a new connection: `kithkin sync` exits
    0 with everything logged in one run, nothing set aside."""
    case = world.new_case("cli-fetch", timeout=SHORT_TIMEOUT)
    before = len(world.proxy.sessions)
    world.proxy.arm(fault)
    result = run_cli("--config", str(case.config), "sync")
    world.proxy.disarm()
    assert result.exit_code == 0, result.output
    assert world.proxy.sessions[before].fired.is_set()
    assert len(world.proxy.sessions) > before + 1  # a new connection took over
    assert cli_json(run_cli, case.config) == cli_json(run_cli, world.clean_config)
    assert case.folders() == world.clean_folders
    with Store.open(case.db) as store:
        assert store.set_aside.all() == []


# --- malformed replies: errors, never crashes, never a skipped folder -----------------------


GARBLED = [
    Point("UIDVALIDITY not a number", Inject(b"[UIDVALIDITY ", data=b"x")),  # EXAMINE's
    Point("junk after EXISTS", Inject(b" EXISTS", data=b" 99999999999999999999")),
    Point(
        "INTERNALDATE overflow", Inject(b'INTERNALDATE "', nth=40, data=b" 99999999999999999999")
    ),
    Point("STATUS UIDVALIDITY not a number", Inject(b"UIDVALIDITY ", data=b"x")),
    Point("STATUS UIDNEXT overflow", Inject(b"UIDNEXT ", data=b"99999999999999999999")),
]


@pytest.mark.parametrize("point", GARBLED, ids=[p.label for p in GARBLED])
def test_a_garbled_value_in_a_reply_is_an_error_or_harmless(world: World, point: Point) -> None:
    """A reply with a malformed number is either a protocol error like any other (exit
    status 1, one line naming host:port) or does no harm (exit 0 and exactly the clean
    table); never a traceback, which in `kithkin run` would stop the service. The next
    sync ends with the clean table either way."""
    case = world.new_case("garbled")
    world.proxy.arm(point.fault)
    result = CliRunner().invoke(cli, ["--config", str(case.config), "sync"], prog_name="kithkin")
    world.proxy.disarm()
    assert world.proxy.sessions[-1].fired.is_set()
    if result.exit_code == 0:
        assert case.rows() == world.clean_rows
    else:
        assert result.exit_code == 1
        assert result.stderr.startswith(f"kithkin: error: 127.0.0.1:{world.proxy.port}: "), (
            f"{result.stderr!r}; exception: {result.exception!r}"
        )
    case.sync()
    assert case.rows() == world.clean_rows
    assert case.folders() == world.clean_folders


def test_the_service_survives_a_garbled_reply(world: World) -> None:
    """`kithkin run` whose first poll gets a malformed reply stays up: it records the
    failure (state "failing", the error naming host:port) and goes on, instead of exiting
    with a traceback before it is even READY (and before any summary is sent)."""
    case = world.new_case("service", sections={"daemon": {"poll_interval": "1s"}})
    world.proxy.arm(GARBLED[0].fault, times=None)  # every poll gets it: it stays failing
    log_path = case.config.parent / "daemon.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kithkin.daemon", "--config", str(case.config), "run"],
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    try:
        wait_until(lambda: proc.poll() is not None or service_meta(case.db, "service.state"),
                   "the first poll to be recorded or the service to exit")  # fmt: skip
        assert proc.poll() is None, log_path.read_text()
        assert service_meta(case.db, "service.state") == "failing"
        error = service_meta(case.db, "service.last_error") or ""
        assert error.startswith(f"127.0.0.1:{world.proxy.port}: ")
    finally:
        world.proxy.disarm()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=DEADLINE)


def service_meta(db: Path, key: str) -> str | None:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def wait_until(check: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {DEADLINE}s")
        time.sleep(0.05)


def test_a_garbled_exists_never_skips_a_folder(world: World) -> None:
    """EXAMINE's `* 1039 EXISTS` arriving garbled (so no EXISTS count at all) must not be
    taken for an empty folder whose cursor may jump to UIDNEXT: after a clean resync every
    INBOX interaction is there."""
    case = world.new_case("no-exists")
    world.proxy.arm(Inject(b" EXISTS", data=b"NIL"))
    with contextlib.suppress(MailboxError):  # refusing the reply is fine; skipping is not
        case.sync()
    world.proxy.disarm()
    assert world.proxy.sessions[-1].fired.is_set()
    case.sync()
    assert len(case.rows()) == len(world.clean_rows)
    assert case.rows() == world.clean_rows
    assert case.folders() == world.clean_folders


def test_an_absurd_uidnext_does_not_send_endless_searches(world: World) -> None:
    """A garbled UIDNEXT (`[UIDNEXT 99999999999991040]`) must be refused or searched with
    a bounded number of commands; the client must not walk 50,000-UID windows up to it
    (which would take centuries). If it sends more than 100 KB of commands, the proxy
    breaks the connection so the test ends."""
    case = world.new_case("uidnext")
    world.proxy.arm(Inject(b"UIDNEXT ", data=b"9999999999999"))
    before = len(world.proxy.sessions)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            case.sync()
        except BaseException as exc:  # noqa: BLE001 - checked below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    session = world.proxy.wait_for_session(before + 1)
    runaway = False
    while thread.is_alive():
        thread.join(0.1)
        if session.counts[C2S] > 100_000:
            runaway = True
            session.break_connection()
    world.proxy.disarm()
    assert not runaway, f"{session.counts[C2S]} bytes of commands for one sync"
    assert session.fired.is_set()
    assert all(isinstance(error, MailboxError) for error in errors), errors
    case.sync()
    assert case.rows() == world.clean_rows
