"""Kithkin loses nothing when its process is killed (SIGKILL) at any moment.

- `kithkin sync` of a seeded 2,000-message mailbox, killed at seeded random moments spread
  over a whole sync, right after each progress line (each is printed after a batch and its
  cursor were committed), and inside every transaction at chosen SQL statements (mbsync's
  method: enumerate the commit points and crash at each): the database is never corrupt,
  exactly the committed transactions survive, a cursor never passes mail that is not
  logged, and a resync always ends with exactly the interactions of a clean sync.
- `kithkin run` killed before, during and after sending the weekly summary by SMTP: the
  summary reaches the owner exactly once (counted at the SMTP server and in the INBOX by
  Message-ID), at the latest at the next start.

The sync goes through `FaultProxy` throttled to a slow line, so a sync lasts long enough for
random kill times to land in every phase; the throttle changes timing only, never bytes.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faultproxy import (
    C2S,
    CONTACTS,
    BackfillMailbox,
    FaultProxy,
    Stall,
    folder_cursors,
    interaction_table,
    skip_without_dovecot,
)
from helpers import ME, write_config
from mailbuilder import make_message
from notifysocket import NotifySocket
from servers import DovecotServer, SmtpServer, append, imap_client

from kithkin.daemon.config import load_config
from kithkin.daemon.core.dates import utc_iso
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.steering.tokens import summary_message_id
from kithkin.daemon.store import Store
from kithkin.daemon.sync import Sync

pytestmark = pytest.mark.dovecot

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SEED = 1123
RANDOM_KILLS = 24
THROTTLE = 800_000  # bytes per second from the server: a sync takes a second or two
DEADLINE = 60.0  # generous bound for waiting on a condition; nothing asserts on speed


def wait_until(check: Callable[[], object], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.02)


def kithkin_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "KITHKIN_CONFIG"):
        if name not in extra:
            env.pop(name, None)
    return env


def database_health(db: Path) -> tuple[str, list]:
    """`PRAGMA integrity_check` and the foreign-key violations of a file a process left."""
    conn = sqlite3.connect(db)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        return check, conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()


# --- the mailbox, a clean sync, and one run -------------------------------------------------


@dataclass
class SyncWorld:
    server: DovecotServer
    proxy: FaultProxy
    mailbox: BackfillMailbox
    clean_rows: list[str]
    clean_folders: list[tuple]
    root: Path
    duration: float = 0.0  # of one clean `kithkin sync` process through the throttled proxy
    runs: int = 0

    def new_run(self, *, backfill: bool = False, env: dict[str, str] | None = None) -> Run:
        """A fresh store with the contacts, a config through the throttled proxy (`slow`)
        and one straight to Dovecot (`fast`, for resyncs). The contacts' backfill queue is
        emptied unless `backfill`, so that only the cursors decide what a resync reads."""
        self.runs += 1
        directory = self.root / f"run{self.runs:02d}"
        store = {"store": {"path": str(directory / "kithkin.db")}}
        slow = write_config(directory / "slow", self.server, imap={"port": self.proxy.port},
                            sections=store)  # fmt: skip
        fast = write_config(directory / "fast", self.server, sections=store)
        with Store.open(directory / "kithkin.db") as db, db.atomic():
            for person in CONTACTS:
                db.contacts.add(person.name, person.emails, now=NOW)
            if not backfill:
                db.backfill.clear(db.backfill.pending())
        return Run(self, directory, slow, fast, env or {})


@dataclass
class Run:
    world: SyncWorld
    directory: Path
    slow: Path
    fast: Path
    env: dict[str, str]  # for the `kithkin sync` process

    @property
    def db(self) -> Path:
        return self.directory / "kithkin.db"

    def spawn(
        self, *, stderr: int | None = None, fast: bool = False, **env: str
    ) -> subprocess.Popen[bytes]:
        """The real `kithkin sync`, as its own process, through the throttled proxy (or
        straight to Dovecot with `fast`)."""
        config = self.fast if fast else self.slow
        return subprocess.Popen(
            [sys.executable, "-m", "kithkin.daemon", "--config", str(config), "sync"],
            env=kithkin_env(self.directory / "home", **{**self.env, **env}),
            stdout=subprocess.DEVNULL,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
        )

    def kill_after(self, seconds: float) -> bool:
        """Run `kithkin sync`; SIGKILL it `seconds` after the start unless it finished.
        Returns whether it was killed."""
        proc = self.spawn()
        try:
            returncode = proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        assert returncode == 0, f"sync exited {returncode} without being killed"
        return False

    def kill_at_line(self, line_number: int, delay: float) -> bool:
        """Run `kithkin sync`; SIGKILL it `delay` seconds after its Nth progress line (see
        `FOLDER_LINE`, `BATCH_LINE`) unless it finished. Returns whether it was killed."""
        proc = self.spawn(stderr=subprocess.PIPE)
        assert proc.stderr is not None
        seen = 0
        try:
            for line in proc.stderr:
                seen += bool(FOLDER_LINE.match(line) or BATCH_LINE.match(line))
                if seen == line_number:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=delay)
                    break
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait()
            proc.stderr.close()
        if proc.returncode == -signal.SIGKILL:
            return True
        assert proc.returncode == 0, f"sync exited {proc.returncode} without being killed"
        return False

    def after_kill(self) -> list[str]:
        """What must hold whenever a kill just happened; returns the problems found."""
        problems = []
        check, foreign = database_health(self.db)
        if check != "ok" or foreign:
            problems.append(f"database damaged: {check} {foreign[:3]}")
        with Store.open(self.db) as store:
            rows = interaction_table(store)
            missing, ahead = self.world.mailbox.against_cursors(store)
        if missing or ahead:
            problems.append(f"below the cursors but missing: {missing[:3]}; ahead: {ahead[:3]}")
        extra = Counter(rows) - Counter(self.world.clean_rows)
        if extra:
            problems.append(f"rows a clean sync does not have, or twice: {list(extra)[:2]}")
        return problems

    def resync(self, run_cli: Callable) -> list[str]:
        result = run_cli("--config", str(self.fast), "sync", "-q")
        if result.exit_code != 0:
            return [f"resync failed: {result.output}"]
        with Store.open(self.db) as store:
            rows, folders = interaction_table(store), folder_cursors(store)
            pending = store.backfill.pending()
        problems = []
        if rows != self.world.clean_rows:
            problems.append(f"after resync {len(rows)} rows, clean {len(self.world.clean_rows)}")
        if folders != self.world.clean_folders:
            problems.append(f"after resync cursors {folders}")
        if pending:
            problems.append(f"after resync still pending: {pending}")
        return problems


def clean_sync(world: SyncWorld) -> Run:
    run = world.new_run()
    config = load_config(run.fast)
    with Store.open(run.db) as store:
        mailbox = ImapSession.connect(config.require_imap(), world.server.password)
        try:
            Sync(mailbox, store, config.me, clock=lambda: NOW).run()
        finally:
            mailbox.logout()
        world.clean_rows, world.clean_folders = interaction_table(store), folder_cursors(store)
    return run


def calibrate(world: SyncWorld) -> float:
    """How long one whole `kithkin sync` process takes here (not asserted: it only spreads
    the kill times); its result must be the clean table."""
    run = world.new_run()
    started = time.monotonic()
    assert run.kill_after(DEADLINE) is False
    duration = time.monotonic() - started
    with Store.open(run.db) as store:
        assert interaction_table(store) == world.clean_rows
    return duration


@pytest.fixture(scope="module")
def sync_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncWorld]:
    skip_without_dovecot()
    server = DovecotServer()
    try:
        server.start()
        mailbox = BackfillMailbox()
        mailbox.fill(server)
        with FaultProxy(server.host, server.port) as proxy:
            proxy.throttle = THROTTLE
            world = SyncWorld(server, proxy, mailbox, [], [], tmp_path_factory.mktemp("crash"))
            clean_sync(world)
            world.duration = min(calibrate(world) for _ in range(2))
            yield world
    finally:
        server.close(wait=False)


def test_the_clean_sync_is_the_generated_mailbox(sync_world: SyncWorld) -> None:
    """The baseline is right, and a whole `kithkin sync` process produces exactly it."""
    assert len(sync_world.clean_rows) == sum(sync_world.mailbox.expected.values())
    assert [f[2] for f in sync_world.clean_folders] == [
        len(sync_world.mailbox.inbox),
        len(sync_world.mailbox.sent),
    ]


def test_sync_killed_at_random_moments_loses_nothing(sync_world: SyncWorld, run_cli) -> None:
    """24 seeded kill times spread over a whole sync (process start, login, search, every
    fetch and commit); a third of the runs are killed a second time during the recovery
    sync; every fourth run has its contacts' backfill still pending. After every kill the
    database is intact, nothing wrong or doubled is stored and no cursor passes unlogged
    mail; a final resync gives exactly the clean table and cursors."""
    problems, killed, partial = kill_at_random(
        sync_world, run_cli, random.Random(SEED), RANDOM_KILLS, sync_world.duration, again=True
    )
    assert not problems, "\n".join(problems)
    assert killed >= 20  # the moments fell inside a sync...
    assert len(partial) >= 4  # ...and they fell between different committed batches


def kill_at_random(
    world: SyncWorld,
    run_cli: Callable,
    rng: random.Random,
    runs: int,
    duration: float,
    *,
    again: bool = False,
    env: dict[str, str] | None = None,
    lines: int = 0,
) -> tuple[list[str], int, set[int]]:
    """`runs` syncs, each SIGKILLed at a seeded moment within `duration` (`again`: a third of
    them a second time, during the recovery sync), every fourth with its backfill pending.
    With `lines` (the progress lines of a whole sync), every other run is killed instead a
    seeded moment after its Nth progress line, N spread over 1..`lines`, so that kills land
    between and inside commits however they bunch in time. After each kill and each resync,
    what must hold. Returns (problems, how many were killed, the distinct numbers of
    interactions the kills left)."""
    problems, killed, partial = [], 0, set()
    for number in range(runs):
        run = world.new_run(backfill=number % 4 == 3, env=env)
        if lines and number % 2:
            line = 1 + (number // 2) * lines // (runs // 2)
            delay = rng.uniform(0.0, 0.05)
            killed += run.kill_at_line(line, delay)
            what = [f"{delay:.2f}s after progress line {line}"]
        else:
            moments = [rng.uniform(0.0, 0.95 * duration)]
            if again and rng.random() < 1 / 3:
                moments.append(rng.uniform(0.0, duration))
            what = []
            for moment in moments:
                killed += run.kill_after(moment)
                what.append(f"at {moment:.2f}s")
        for when in what:
            problems += [f"run {number} killed {when}: {p}" for p in run.after_kill()]
        with Store.open(run.db) as store:
            partial.add(len(store.interactions.list()))
        problems += [f"run {number}: {p}" for p in run.resync(run_cli)]
    return problems, killed, partial


FOLDER_LINE = re.compile(rb"^(INBOX|Sent): \d+ message\(s\) to read")
BATCH_LINE = re.compile(rb"^(INBOX|Sent): (\d+)/\d+ read")


@pytest.mark.parametrize("line_number", range(1, 8))
def test_sync_killed_right_after_a_progress_line_keeps_that_batch(
    sync_world: SyncWorld, run_cli, line_number: int
) -> None:
    """Kill right after the Nth progress line ("INBOX: 1039 message(s) to read", then one
    line per committed batch, "INBOX: 500/1039 read, ..."): a batch reported as read is in
    the database after the kill (its cursor and its interactions), and the resync completes
    it exactly."""
    run = sync_world.new_run()
    proc = run.spawn(stderr=subprocess.PIPE)
    assert proc.stderr is not None
    seen: list[bytes] = []
    try:
        for line in proc.stderr:
            if FOLDER_LINE.match(line) or BATCH_LINE.match(line):
                seen.append(line)
                if len(seen) == line_number:
                    proc.send_signal(signal.SIGKILL)
                    break
    finally:
        proc.wait()
        proc.stderr.close()
    assert len(seen) == line_number, f"the sync ended after {seen}"
    assert proc.returncode == -signal.SIGKILL
    problems = run.after_kill()
    if batch := BATCH_LINE.match(seen[-1]):
        with Store.open(run.db) as store:
            state = store.folders.get(batch.group(1).decode())
        assert state.messages_seen >= int(batch.group(2)), (seen[-1], state)
    assert not problems, problems
    assert not run.resync(run_cli)


# Loaded by the `kithkin sync` process through PYTHONPATH: its batches planned by a child
# process (daemon/sync/planner.py) as a long first sync's are, however short the sync, and
# in batches of 200 (not 2,000), so that there are many to kill between.
CHILD_HOOK = """
import kithkin.daemon.sync.batches as _batches
import kithkin.daemon.sync.pipeline as _pipeline
_pipeline.WORKER_THRESHOLD = 0
_batches.LONG_BATCH = 200
"""


def site_hook(tmp_path_factory: pytest.TempPathFactory, name: str, code: str) -> dict[str, str]:
    """The environment that makes a `kithkin sync` process load `code` as sitecustomize."""
    directory = tmp_path_factory.mktemp(name)
    (directory / "sitecustomize.py").write_text(code)
    path = os.pathsep.join(p for p in (str(directory), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path}


@pytest.fixture(scope="module")
def child_hook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return site_hook(tmp_path_factory, "childhook", CHILD_HOOK)


def test_a_sync_planned_by_a_child_killed_at_random_moments_loses_nothing(
    sync_world: SyncWorld, child_hook: dict[str, str], run_cli
) -> None:
    """The same as above with a child process planning, each batch fetched before the one
    before it is committed (planner.py): nothing lost, wrong or doubled after any kill. The
    commits bunch once the child has started (the fetches ran ahead meanwhile), so half the
    kills come a seeded moment after a progress line rather than at a moment of the run."""
    calibration = sync_world.new_run(env=child_hook)
    started = time.monotonic()
    proc = calibration.spawn(stderr=subprocess.PIPE)
    _, stderr = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, stderr[-500:]
    duration = time.monotonic() - started  # longer: the hook imports the engine at start
    lines = sum(bool(FOLDER_LINE.match(line) or BATCH_LINE.match(line))
                for line in stderr.splitlines(keepends=True))  # fmt: skip
    assert lines >= 8, stderr[-500:]  # 200-message batches: a line for each, and per folder
    problems, killed, partial = kill_at_random(
        sync_world, run_cli, random.Random(SEED + 1), RANDOM_KILLS // 2, duration,
        env=child_hook, lines=lines,
    )  # fmt: skip
    assert not problems, "\n".join(problems)
    assert killed >= RANDOM_KILLS // 2 - 3
    assert len(partial) >= 4


# --- a kill inside every transaction -------------------------------------------------------

# Loaded by the `kithkin sync` process through PYTHONPATH: every SQL statement Kithkin runs
# is numbered and written to a trace file (with its parameters), and the process freezes
# just before statement number KITHKIN_TEST_SQL_PAUSE, so the test can SIGKILL it at exactly
# that point. Test instrumentation only; Kithkin's code is unchanged.
SQL_HOOK = """
import os, sqlite3, time

_trace = os.environ.get("KITHKIN_TEST_SQL_TRACE")
if _trace:
    _pause = int(os.environ.get("KITHKIN_TEST_SQL_PAUSE", "0"))
    _out = open(_trace, "a", buffering=1)
    _count = 0
    _connect = sqlite3.connect

    def _statement(sql):
        global _count
        _count += 1
        _out.write(f"{_count}\\t{' '.join(sql.split())}\\n")
        if _count == _pause:
            _out.write("PAUSED\\n")
            time.sleep(3600)

    def _traced(*args, **kwargs):
        conn = _connect(*args, **kwargs)
        conn.set_trace_callback(_statement)
        return conn

    sqlite3.connect = _traced
"""
FOLDER_SAVE = re.compile(r"INSERT INTO folders .*? VALUES \('([^']+)',\d+,(\d+),")


@pytest.fixture(scope="module")
def sql_hook(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return site_hook(tmp_path_factory, "sqlhook", SQL_HOOK)


def traced_statements(trace: Path) -> list[str]:
    """Statement number n is element n - 1."""
    return [line.split("\t", 1)[1] for line in trace.read_text().splitlines() if "\t" in line]


def commit_points(statements: list[str]) -> list[tuple[int, str]]:
    """(statement number, label) for a kill inside each batch transaction: before its first
    row, in the middle of its rows, before its cursor, before COMMIT, and just after COMMIT;
    and before and after each folder's final save (UIDNEXT), outside a transaction."""
    points: dict[int, str] = {}
    batches: Counter[str] = Counter()
    begin = None
    for number, sql in enumerate(statements, 1):
        saved = FOLDER_SAVE.match(sql)
        if sql == "BEGIN":
            begin = number
        elif sql == "COMMIT" and begin is not None:
            saves = [
                (n, found.group(1))
                for n in range(begin + 1, number)
                if (found := FOLDER_SAVE.match(statements[n - 1]))
            ]
            folder = saves[-1][1] if saves else "?"
            batches[folder] += 1
            batch = f"{folder} batch {batches[folder]}"
            points[begin + 1] = f"{batch}: before its first row"
            if saves:
                points[(begin + saves[-1][0]) // 2] = f"{batch}: among its rows"
                points[saves[-1][0]] = f"{batch}: rows written, before its cursor"
            points[number] = f"{batch}: all written, before COMMIT"
            points[number + 1] = f"{batch}: just after COMMIT"
            begin = None
        elif begin is None and saved:
            points[number] = f"{saved.group(1)}: before the final save"
            points[number + 1] = f"{saved.group(1)}: after the final save"
    return sorted((n, label) for n, label in points.items() if n <= len(statements))


def committed_cursors(statements: list[str], before: int) -> dict[str, int]:
    """Each folder's last_uid as the committed statements before number `before` left it."""
    cursors: dict[str, int] = {}
    pending: dict[str, int] = {}
    in_transaction = False
    for sql in statements[: before - 1]:
        if sql == "BEGIN":
            in_transaction, pending = True, {}
        elif sql == "COMMIT":
            in_transaction = False
            cursors.update(pending)
        elif saved := FOLDER_SAVE.match(sql):
            target = pending if in_transaction else cursors
            target[saved.group(1)] = int(saved.group(2))
    return cursors


def test_sync_killed_inside_every_transaction_keeps_exactly_the_committed_ones(
    sync_world: SyncWorld, sql_hook: dict[str, str], run_cli
) -> None:
    """mbsync's method: enumerate the commit points of a sync and kill at each. The sync
    process is frozen just before a chosen SQL statement (before a batch's first row, among
    its rows, before its cursor, before COMMIT, just after COMMIT, around the final folder
    saves) and killed there. Each time exactly the committed transactions survive: every
    folder cursor is where the last COMMIT left it, and the interactions are exactly those
    of the mail at or below the cursors; the resync then completes the clean table."""
    traced = sync_world.new_run()
    trace = traced.directory / "trace.log"
    proc = traced.spawn(fast=True, KITHKIN_TEST_SQL_TRACE=str(trace), **sql_hook)
    assert proc.wait(timeout=DEADLINE) == 0
    statements = traced_statements(trace)
    points = commit_points(statements)
    assert len(points) >= 20, points
    problems = []
    for number, label in points:
        run = sync_world.new_run()
        trace = run.directory / "trace.log"
        proc = run.spawn(fast=True, KITHKIN_TEST_SQL_TRACE=str(trace),
                         KITHKIN_TEST_SQL_PAUSE=str(number), **sql_hook)  # fmt: skip
        try:
            wait_until(lambda: trace.exists() and "PAUSED" in trace.read_text(),  # noqa: B023
                       f"the sync to reach statement {number}")  # fmt: skip
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        found = [f"{label}: {p}" for p in run.after_kill()]
        with Store.open(run.db) as store:
            cursors = {f.name: f.last_uid for f in store.folders.all() if f.last_uid}
        expected = {k: v for k, v in committed_cursors(statements, number).items() if v}
        if cursors != expected:
            found.append(f"{label}: cursors {cursors}, committed {expected}")
        problems += found + [f"{label}: {p}" for p in run.resync(run_cli)]
    assert not problems, "\n".join(problems)


# --- the daemon and the weekly summary --------------------------------------------------------


@dataclass
class SummaryWorld:
    dovecot: DovecotServer
    smtp: SmtpServer
    imap_proxy: FaultProxy
    smtp_proxy: FaultProxy
    root: Path
    runs: int = 0

    def new_store(self) -> Path:
        """A config whose weekly summary is due now (scheduled 3.5 days ago, Kithkin first
        started 8 days ago, nothing sent), with IMAP and SMTP through the proxies."""
        self.runs += 1
        directory = self.root / f"daemon{self.runs:02d}"
        secret = directory / "smtp-password"
        directory.mkdir(parents=True)
        secret.write_text(self.smtp.password + "\n")
        now = datetime.now(UTC)
        due = now - timedelta(days=3, hours=12)  # far from the next scheduled moment, too
        config = write_config(directory, self.dovecot, imap={"port": self.imap_proxy.port},
                              sections={
            "daemon": {"poll_interval": "1h"},
            "summary": {"schedule": f"{due:%A} {due:%H:%M}".lower(), "timezone": "UTC",
                        "delivery": "smtp"},
            "smtp": {"host": self.smtp_proxy.host, "port": self.smtp_proxy.port,
                     "security": "none", "username": self.smtp.username,
                     "password_command": ["cat", str(secret)]},
        })  # fmt: skip
        with Store.open(directory / "kithkin.db") as store:
            with store.atomic():
                store.contacts.add("Ada Lovelace", ["ada@example.org"], now=now)
            with store.atomic():
                store.meta.set("service.started_at", utc_iso(now - timedelta(days=8)))
        return config


class Daemon:
    """`kithkin run` as a process of its own, with a notify socket and a watchdog."""

    def __init__(self, config: Path, number: int) -> None:
        self.notify = NotifySocket(config.parent / f"notify{number}.sock")
        self.log_path = config.parent / f"daemon{number}.log"
        env = kithkin_env(config.parent / "home", NOTIFY_SOCKET=str(self.notify.path),
                          WATCHDOG_USEC="1000000")  # fmt: skip
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kithkin.daemon", "--config", str(config), "-v", "run"],
                env=env, stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.notify.close()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=DEADLINE)
        finally:
            self.notify.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def summaries(config: Path) -> list[tuple[str, str | None]]:
    """(token, sent_at) of every summary the store knows."""
    conn = sqlite3.connect(config.parent / "kithkin.db")
    try:
        return conn.execute("SELECT token, sent_at FROM summaries ORDER BY id").fetchall()
    finally:
        conn.close()


def copies(world: SummaryWorld, token: str) -> tuple[int, int]:
    """How often the summary with `token` reached the SMTP server, and the INBOX."""
    message_id = summary_message_id(token)
    smtp = sum(message_id.encode() in m.data for m in world.smtp.messages)
    with imap_client(world.dovecot) as client:
        client.select_folder("INBOX", readonly=True)
        inbox = len(client.search(["HEADER", "Message-ID", message_id]))
    return smtp, inbox


@pytest.fixture
def summary_world(
    dovecot: DovecotServer, smtp_server: SmtpServer, tmp_path: Path
) -> Iterator[SummaryWorld]:
    old = make_message(from_="Ada <ada@example.org>", to=ME, subject="a while ago",
                       date=NOW - timedelta(days=90))  # fmt: skip
    append(dovecot, "INBOX", old)
    with (
        FaultProxy(dovecot.host, dovecot.port) as imap_proxy,
        FaultProxy(smtp_server.host, smtp_server.port) as smtp_proxy,
    ):
        yield SummaryWorld(dovecot, smtp_server, imap_proxy, smtp_proxy, tmp_path)


def restart_and_settle(world: SummaryWorld, config: Path) -> Daemon:
    """Start the daemon again, let it finish its start-up poll and summary check, stop it."""
    world.imap_proxy.disarm()
    world.smtp_proxy.disarm()
    daemon = Daemon(config, 2)
    daemon.notify.wait_for("WATCHDOG=1")
    assert daemon.stop() == 0, daemon.log()
    return daemon


def assert_sent_exactly_once(
    world: SummaryWorld, config: Path, *, killed_in_data: bool = False
) -> None:
    """One summary recorded, marked sent, and delivered once: one copy in the INBOX and one
    accepted by the SMTP server. With `killed_in_data` the server may have delivered it
    without recording it: aiosmtpd cancels the handler of a client that vanished, and the
    fixture records a message only after its delivery into the INBOX returned."""
    ((token, sent_at),) = summaries(config)
    assert sent_at is not None
    smtp, inbox = copies(world, token)
    assert inbox == 1
    assert smtp == 1 or (killed_in_data and smtp == 0)


def test_daemon_killed_before_the_summary_sends_it_once_at_the_next_start(
    summary_world: SummaryWorld,
) -> None:
    """Killed while its start-up poll waits for the IMAP greeting (before the summary job
    runs): nothing was sent or recorded; the next start sends the summary, once."""
    config = summary_world.new_store()
    summary_world.imap_proxy.arm(Stall(0))
    daemon = Daemon(config, 1)
    session = summary_world.imap_proxy.wait_for_session(1)
    wait_until(session.fired.is_set, "the IMAP greeting held back")
    daemon.kill()
    assert summaries(config) == []
    assert summary_world.smtp.messages == []
    restart_and_settle(summary_world, config)
    assert_sent_exactly_once(summary_world, config)


def test_daemon_killed_in_the_middle_of_data_sends_it_once_at_the_next_start(
    summary_world: SummaryWorld,
) -> None:
    """Killed while the summary's DATA is half sent (the SMTP line stalls after the
    headers): the server has no message, the store has the summary pending; the next start
    sends it with the same Message-ID, once."""
    config = summary_world.new_store()
    summary_world.smtp_proxy.arm(Stall(b"\r\n\r\n", C2S))
    daemon = Daemon(config, 1)
    session = summary_world.smtp_proxy.wait_for_session(1)
    wait_until(session.fired.is_set, "the SMTP line stalled in DATA")
    daemon.kill()
    ((token, sent_at),) = summaries(config)
    assert sent_at is None
    assert copies(summary_world, token) == (0, 0)
    again = restart_and_settle(summary_world, config)
    assert "summary for" in again.log() and "sent:" in again.log()
    assert_sent_exactly_once(summary_world, config)


def test_daemon_killed_after_the_server_took_it_does_not_send_it_again(
    summary_world: SummaryWorld,
) -> None:
    """Killed after the SMTP server accepted the summary (and delivered it to the INBOX) but
    before Kithkin heard the 250: the store still says pending, yet the next start finds the
    Message-ID in the INBOX and marks it sent without a second copy."""
    config = summary_world.new_store()
    summary_world.smtp_proxy.arm(Stall(b"\r\n.\r\n", C2S))
    daemon = Daemon(config, 1)
    wait_until(lambda: summary_world.smtp.messages, "the SMTP server to accept the summary")
    daemon.kill()
    ((token, sent_at),) = summaries(config)
    assert sent_at is None
    assert copies(summary_world, token) == (1, 1)
    again = restart_and_settle(summary_world, config)
    assert "was delivered before a restart" in again.log()
    assert_sent_exactly_once(summary_world, config)


def test_daemon_killed_after_the_summary_was_sent_does_not_send_it_again(
    summary_world: SummaryWorld,
) -> None:
    """Killed once the store records the summary as sent: the next start sends nothing."""
    config = summary_world.new_store()
    daemon = Daemon(config, 1)
    wait_until(lambda: any(sent for _, sent in summaries(config)), "the summary marked sent")
    daemon.kill()
    assert_sent_exactly_once(summary_world, config)
    restart_and_settle(summary_world, config)
    assert_sent_exactly_once(summary_world, config)


def test_daemon_killed_at_random_moments_sends_the_summary_exactly_once(
    summary_world: SummaryWorld,
) -> None:
    """Eight seeded kill times spread over a start that sends the summary (start-up,
    poll, render, SMTP, marking it sent), each with a fresh store: after the next start the
    summary was delivered exactly once, whenever the kill came."""
    config = summary_world.new_store()
    started = time.monotonic()
    restart_and_settle(summary_world, config)
    duration = time.monotonic() - started
    assert_sent_exactly_once(summary_world, config)
    rng = random.Random(SEED)
    for _ in range(8):
        config = summary_world.new_store()
        daemon = Daemon(config, 1)
        with contextlib.suppress(subprocess.TimeoutExpired):
            daemon.proc.wait(timeout=rng.uniform(0.0, duration))
        daemon.kill()
        wait_until(lambda: all(s.closed.is_set() for s in summary_world.smtp_proxy.sessions),
                   "the SMTP server done with the killed client")  # fmt: skip
        restart_and_settle(summary_world, config)
        assert_sent_exactly_once(summary_world, config, killed_in_data=True)
