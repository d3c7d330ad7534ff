"""`kithkin status` says whether the service runs: "not running (stopped at …)" after a clean
stop, "not running (last seen at …)" after kill -9, "not responding" when its process is
there but its heartbeat is old; every time in the owner's zone, the zone named once."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from helpers import ME, write_config
from mailbuilder import make_message
from notifysocket import NotifySocket
from servers import DovecotServer, append
from test_service import Daemon, logged, run_service, wait_until

from kithkin.daemon.cli.times import parse_moment, shown, zone_name
from kithkin.daemon.errors import UsageError
from kithkin.daemon.service import liveness
from kithkin.daemon.service.liveness import Liveness, assess, kithkin_alive
from kithkin.daemon.store import Store

TOKYO = ZoneInfo("Asia/Tokyo")
T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STALE = timedelta(minutes=4)
MULTI = re.MULTILINE
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


RAN = {liveness.PID: "4242", liveness.STATE: "ok", liveness.RUN_STARTED: iso(T),
       liveness.HEARTBEAT: iso(T + timedelta(minutes=10))}  # fmt: skip


@pytest.mark.parametrize(
    ("records", "pid_alive", "now", "expected"),
    [
        ({}, True, T, None),  # never ran here
        ({**RAN, liveness.STOPPED: iso(T + timedelta(minutes=11))}, True, T,
         Liveness("stopped", T + timedelta(minutes=11))),
        ({**RAN, liveness.STOPPED: iso(T - timedelta(days=1))}, True,  # a stop before this run
         T + timedelta(minutes=11), Liveness("running", T + timedelta(minutes=10))),
        (RAN, True, T + timedelta(minutes=12), Liveness("running", T + timedelta(minutes=10))),
        (RAN, False, T + timedelta(minutes=12), Liveness("gone", T + timedelta(minutes=10))),
        (RAN, True, T + timedelta(minutes=15), Liveness("not responding",
                                                        T + timedelta(minutes=10))),
        (RAN, None, T + timedelta(minutes=15), Liveness("gone", T + timedelta(minutes=10))),
        (RAN, None, T + timedelta(minutes=12), Liveness("running", T + timedelta(minutes=10))),
        ({liveness.PID: "4242", liveness.STATE: "ok",  # written before the heartbeat existed
          liveness.LAST_POLL: iso(T)}, False, T, Liveness("gone", T)),
        ({liveness.PID: "nonsense", liveness.HEARTBEAT: "garbage", liveness.STATE: "ok"}, True, T,
         Liveness("gone", None)),
    ],
)  # fmt: skip
def test_liveness_from_the_records(records, pid_alive, now, expected) -> None:
    asked: list[int] = []

    def alive(pid: int) -> bool | None:
        asked.append(pid)
        return pid_alive

    assert assess(records, now, alive=alive, stale=STALE) == expected
    assert set(asked) <= {4242}


def started(*command: str) -> subprocess.Popen[bytes]:
    """A process that has said "ready" (so it runs, its command line set)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process


def test_a_pid_counts_only_while_it_is_a_kithkin_process(tmp_path: Path) -> None:
    import os

    assert kithkin_alive(os.getpid()) is False  # `kithkin status` itself is not the service
    done = subprocess.Popen(["true"])
    done.wait()
    assert kithkin_alive(done.pid) is False
    other = started("sh", "-c", "echo ready; sleep 60")
    ours = started(sys.executable, "-c", "print('ready', flush=True); import time; time.sleep(60)",
                   "kithkin")  # fmt: skip
    try:
        assert kithkin_alive(other.pid) is False  # a pid reused by another program
        assert kithkin_alive(ours.pid) is True
        ours.kill()
        zombie = Path(f"/proc/{ours.pid}/stat")  # killed, not yet reaped
        wait_until(lambda: zombie.read_bytes().rpartition(b")")[2].split()[0] == b"Z", "a zombie")
        assert kithkin_alive(ours.pid) is False
    finally:
        for process in (other, ours):
            process.kill()
            process.wait()
    assert kithkin_alive(ours.pid) is False


def test_times_are_shown_in_the_owner_zone() -> None:
    assert shown("2026-03-01T23:30:00Z", TOKYO) == "2026-03-02 08:30"
    assert shown(None, TOKYO) == "never"
    assert shown("not a time", TOKYO) == "not a time"
    assert zone_name(TOKYO, T) == "Asia/Tokyo"
    assert parse_moment("2026-03-01T21:00", TOKYO) == T
    assert parse_moment("2026-03-01T12:00:00Z", TOKYO) == T
    assert parse_moment("2026-03-02", TOKYO) == datetime(2026, 3, 1, 15, 0, tzinfo=UTC)
    with pytest.raises(UsageError, match="not a moment"):
        parse_moment("yesterday", TOKYO)


# --- against Dovecot, the service really run ---------------------------------------------------


@pytest.fixture
def tokyo(dovecot: DovecotServer, tmp_path: Path, kithkin_home: Path, run_cli):
    config = write_config(tmp_path / "k", dovecot, sections={
        "daemon": {"poll_interval": "1s"}, "summary": {"timezone": "Asia/Tokyo"}})  # fmt: skip
    assert run_cli("--config", str(config), "contacts", "add", "Ada",
                   "--email", "ada@example.org").exit_code == 0  # fmt: skip
    append(dovecot, "INBOX", make_message(from_="ada@example.org", to=ME, subject="hello"))
    notify = NotifySocket(tmp_path / "notify.sock")
    notify.listen()
    daemon = Daemon(config, kithkin_home, notify)
    wait_until(lambda: logged(config, run_cli) == ["hello"], "the first poll")
    yield types.SimpleNamespace(config=config, daemon=daemon, notify=notify)
    if daemon.proc.poll() is None:
        daemon.proc.kill()
        daemon.proc.wait()
    notify.close()


def meta(config: Path, key: str) -> str:
    with Store.open(config.parent / "kithkin.db") as store:
        value = store.meta.get(key)
    assert value, key
    return value


def status_text(run_cli, config: Path, *args: str) -> str:
    result = run_cli("--config", str(config), "status", *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def in_tokyo(stored: str) -> str:
    return datetime.strptime(stored, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(
        TOKYO).strftime("%Y-%m-%d %H:%M")  # fmt: skip


def soon() -> str:
    return iso(datetime.now(UTC) + timedelta(minutes=1))


def test_running_then_stopped_cleanly(tokyo, run_cli) -> None:
    running = status_text(run_cli, tokyo.config, "--as-of", soon())
    assert re.search(r"^Service: running \(ok\), last poll \S+ \S+, next poll ", running, MULTI)
    assert tokyo.daemon.stop() == 0
    stopped_at = meta(tokyo.config, liveness.STOPPED)
    text = status_text(run_cli, tokyo.config, "--as-of", soon())
    assert f"Service: not running (stopped at {in_tokyo(stopped_at)}), last poll " in text
    assert text.splitlines()[0] == "Times in Asia/Tokyo." and text.count("Asia/Tokyo") == 1
    last_sync = meta_folder(tokyo.config, "INBOX")
    assert f"INBOX                last sync {in_tokyo(last_sync)}, " in text
    assert not ISO_UTC.search(text), text  # no stored UTC moment shown as it is
    data = json.loads(status_text(run_cli, tokyo.config, "--json", "--as-of", soon()))
    assert data["zone"] == "Asia/Tokyo"
    assert data["service"]["running"] is False and data["service"]["liveness"] == "stopped"
    assert data["service"]["stopped_at"] == stopped_at


def meta_folder(config: Path, name: str) -> str:
    with Store.open(config.parent / "kithkin.db") as store:
        value = store.folders.get(name).last_sync_at
    assert value
    return value


def test_killed_is_not_running_since_its_last_heartbeat(tokyo, run_cli) -> None:
    tokyo.daemon.proc.send_signal(signal.SIGKILL)
    tokyo.daemon.proc.wait()
    heartbeat = meta(tokyo.config, liveness.HEARTBEAT)
    text = status_text(run_cli, tokyo.config, "--as-of", soon())
    assert f"Service: not running (last seen at {in_tokyo(heartbeat)}), last poll " in text
    assert "next poll" not in text


def test_a_running_process_with_an_old_heartbeat_is_not_responding(tokyo, run_cli) -> None:
    later = iso(datetime.now(UTC) + timedelta(hours=1))  # as if it had hung for an hour
    text = status_text(run_cli, tokyo.config, "--as-of", later)
    assert re.search(r"^Service: not responding \(last seen at \S+ \S+\), last poll ", text, MULTI)
    assert tokyo.daemon.stop() == 0


def test_the_clock_injected_into_the_service_dates_its_stop(dovecot, tmp_path, run_cli) -> None:
    config = write_config(tmp_path / "k", dovecot, sections={
        "daemon": {"poll_interval": "1h"}, "summary": {"timezone": "Asia/Tokyo"}})  # fmt: skip
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    run_service(config, start, start + timedelta(hours=3))
    stopped_at = meta(config, liveness.STOPPED)
    assert start + timedelta(hours=3) <= parse_moment(stopped_at, UTC) < start + timedelta(hours=4)
    text = status_text(run_cli, config, "--as-of", "2026-11-22T22:00")  # Tokyo: 13:00 UTC
    assert f"Service: not running (stopped at {in_tokyo(stopped_at)}), " in text
    assert "Next summary: 2026-11-23 08:00" in text  # Monday 08:00 in Tokyo
