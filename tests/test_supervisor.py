"""The service never hangs on its supervisor: sd_notify never blocks, and the watchdog is fed
during every step that can take long (searches, backfill, big batches), even on a distant
server. The real `kithkin run` process, a notify socket of our own, Dovecot behind a proxy."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from helpers import ME, write_config
from mailbuilder import make_message
from notifysocket import NotifySocket
from servers import DovecotServer, append

from kithkin.daemon.store import Store

DEADLINE = 60.0  # generous: nothing here asserts on speed
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def first_poll_done(message: str) -> bool:
    return "STATUS=ok" in message and "300 interaction" in message


def start_daemon(config: Path, home: Path, notify: NotifySocket, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "NOTIFY_SOCKET": str(notify.path),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    environment.pop("WATCHDOG_PID", None)
    return subprocess.Popen(
        [sys.executable, "-m", "kithkin.daemon", "--config", str(config), "-v", "run"],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def stop(proc: subprocess.Popen) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, stderr = proc.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        proc.kill()  # hung: the test fails on its exit status
        _, stderr = proc.communicate()
    return proc.returncode, stderr.decode(errors="replace")


def service_state(run_cli, config: Path) -> str | None:
    result = run_cli("--config", str(config), "status", "--json")
    return json.loads(result.stdout)["service"]["state"] if result.exit_code == 0 else None


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    socket = NotifySocket(tmp_path / "notify.sock")
    yield socket
    socket.close()


def test_a_full_notify_socket_never_freezes_the_service(
    dovecot: DovecotServer, tmp_path: Path, kithkin_home: Path, notify: NotifySocket, run_cli
) -> None:
    """Nobody reads the notify socket and its queue is full: the service still syncs, polls
    and stops on SIGTERM; once the queue has room, READY=1 arrives after all."""
    config = write_config(tmp_path / "k", dovecot, sections={"daemon": {"poll_interval": "1s"}})
    assert run_cli("--config", str(config), "contacts", "add", "Ada",
                   "--email", "ada@example.org").exit_code == 0  # fmt: skip
    append(dovecot, "INBOX", make_message(from_="ada@example.org", to=ME, subject="hello"))
    assert notify.fill() >= 1
    proc = start_daemon(config, kithkin_home, notify, WATCHDOG_USEC="2000000")
    try:
        deadline = time.monotonic() + DEADLINE
        while service_state(run_cli, config) != "ok":
            assert proc.poll() is None, "the daemon exited"
            assert time.monotonic() < deadline, "the daemon never finished a poll"
            time.sleep(0.2)
        notify.drain()  # room again: the READY=1 that could not be queued follows
        notify.wait_for("READY=1", alive=lambda: proc.poll() is None)
    finally:
        code, stderr = stop(proc)
    assert code == 0, stderr
    result = run_cli("--config", str(config), "interactions", "--json")
    assert [row["subject"] for row in json.loads(result.stdout)] == ["hello"]


def test_the_watchdog_is_fed_during_long_searches_and_batches(
    dovecot: DovecotServer, tmp_path: Path, kithkin_home: Path, notify: NotifySocket
) -> None:
    """With a 4 s watchdog, a server 0.5 s away (a delay line in each direction) and a first
    poll that runs 16 targeted backfill searches and a batch of a few hundred messages (8 s
    and more of commands in a row), WATCHDOG=1 never pauses as long as systemd waits."""
    watchdog_usec = 4_000_000
    for n in range(300):
        append(dovecot, "INBOX", make_message(from_=f"p{n % 60}@people.example", to=ME,
                                              subject=f"m{n}"))  # fmt: skip
    with FaultProxy(dovecot.host, dovecot.port) as proxy:
        config = write_config(tmp_path / "k", dovecot, imap={"port": proxy.port})
        with Store.open(tmp_path / "k" / "kithkin.db") as store, store.atomic():
            store.folders.save(store.folders.get("INBOX"))  # created; the contacts come later
        first = subprocess.run(
            [sys.executable, "-m", "kithkin.daemon", "--config", str(config), "sync", "-q"],
            env={**os.environ, "XDG_CONFIG_HOME": str(kithkin_home / "config")},
            capture_output=True, check=False,
        )  # fmt: skip
        assert first.returncode == 0, first.stderr
        with Store.open(tmp_path / "k" / "kithkin.db") as store:  # 60 new: backfill searches
            for n in range(60):
                with store.atomic():
                    store.contacts.add(f"Person {n}", [f"p{n}@people.example"], now=NOW)
        proxy.latency = 0.25
        notify.listen()
        proc = start_daemon(config, kithkin_home, notify, WATCHDOG_USEC=str(watchdog_usec))
        try:
            notify.wait_for("READY=1", alive=lambda: proc.poll() is None)
            notify.wait_for(first_poll_done, "the first poll's STATUS",
                            alive=lambda: proc.poll() is None)  # fmt: skip
        finally:
            code, stderr = stop(proc)
    assert code == 0, stderr
    arrivals = list(notify.arrivals)
    ready = next(t for t, m in arrivals if "READY=1" in m)
    done = next(t for t, m in arrivals if first_poll_done(m))
    pings = [t for t, m in arrivals if "WATCHDOG=1" in m and ready <= t <= done]
    assert done - ready > watchdog_usec / 1e6, "the poll was too quick to show anything"
    moments = [ready, *pings, done]
    longest = max(later - earlier for earlier, later in itertools.pairwise(moments))
    assert longest < watchdog_usec / 1e6, f"no WATCHDOG=1 for {longest:.1f} s"
