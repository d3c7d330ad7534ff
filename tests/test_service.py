"""`kithkin run`: the daemon as systemd runs it, against Dovecot, plus a fake clock for the
weekly summary."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import types
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import ME, write_config
from mailbuilder import make_message
from notifysocket import NotifySocket
from servers import append

from kithkin.daemon.app import App
from kithkin.daemon.core.timing import last_scheduled, next_scheduled
from kithkin.daemon.service import loop as service_module
from kithkin.daemon.service.loop import Service
from kithkin.daemon.service.notify import Notifier, watchdog_interval
from kithkin.daemon.store import Store

DEADLINE = 60.0  # generous upper bound for "within a few polls"; nothing asserts on speed


class Daemon:
    def __init__(
        self, config: Path, home: Path, notify: NotifySocket, verbosity: tuple[str, ...] = ("-v",)
    ) -> None:
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(notify.path),
            "WATCHDOG_USEC": "1000000",
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("WATCHDOG_PID", None)
        self.stderr_path = config.parent / "daemon.stderr"
        self.stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kithkin.daemon", "--config", str(config), *verbosity, "run"],
            env=env, stdout=subprocess.DEVNULL, stderr=self.stderr,
        )  # fmt: skip

    def log(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=DEADLINE)
        finally:
            self.stderr.close()


def logged(config: Path, run_cli) -> list[str]:
    result = run_cli("--config", str(config), "interactions", "--json")
    return [row["subject"] for row in json.loads(result.stdout or "[]")]


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {DEADLINE}s")


@pytest.fixture
def daemon_setup(dovecot, tmp_path: Path, kithkin_home: Path, run_cli):
    config = write_config(tmp_path / "k", dovecot, sections={"daemon": {"poll_interval": "1s"}})
    assert run_cli("--config", str(config), "contacts", "add", "Ada",
                   "--email", "ada@example.org").exit_code == 0  # fmt: skip
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(config, kithkin_home, notify)
    yield types.SimpleNamespace(config=config, notify=notify, daemon=daemon, server=dovecot)
    if daemon.proc.poll() is None:
        daemon.proc.kill()
        daemon.proc.wait()
    notify.close()


def test_the_daemon_notifies_polls_and_stops_cleanly(daemon_setup, run_cli) -> None:
    s = daemon_setup
    ready = s.notify.wait_for(lambda m: "READY=1" in m, "READY=1")
    assert "STATUS=connected, first sync running" in ready  # READY before the whole sync
    append(s.server, "INBOX", make_message(from_="ada@example.org", to=ME, subject="hello"))
    wait_until(lambda: logged(s.config, run_cli) == ["hello"], "the new message logged")
    s.notify.wait_for(lambda m: m == "WATCHDOG=1", "WATCHDOG=1")
    s.notify.wait_for(lambda m: "STATUS=ok" in m and "1 interaction(s) logged" in m, "STATUS")
    assert s.daemon.stop() == 0
    s.notify.collect()
    assert "STOPPING=1\nSTATUS=stopping" in s.notify.messages
    assert s.server.password not in s.daemon.log()


def test_the_daemon_survives_the_server_going_away(daemon_setup, run_cli) -> None:
    s = daemon_setup
    s.notify.wait_for(lambda m: "READY=1" in m, "READY=1")
    s.server.kill()
    s.notify.wait_for(lambda m: "STATUS=failing" in m, "a failing STATUS")
    s.notify.wait_for(lambda m: "STATUS=failing (2x)" in m, "a second failed attempt")
    s.server.restart()
    append(s.server, "INBOX", make_message(from_="ada@example.org", to=ME, subject="meanwhile"))
    wait_until(lambda: logged(s.config, run_cli) == ["meanwhile"], "recovery")
    assert s.daemon.stop() == 0
    log = s.daemon.log()
    failures = [line for line in log.splitlines() if "ERROR" in line]
    assert len(failures) == 1, log  # logged once per state change, not once per poll
    assert "recovered after" in log


def test_sighup_reloads_the_config_and_keeps_the_old_one_when_broken(daemon_setup) -> None:
    s = daemon_setup
    s.notify.wait_for(lambda m: "READY=1" in m, "READY=1")
    text = s.config.read_text()
    s.config.write_text(text.replace('poll_interval = "1s"', 'poll_interval = "2s"'))
    s.daemon.proc.send_signal(signal.SIGHUP)
    s.notify.wait_for(lambda m: "RELOADING=1" in m, "RELOADING=1")
    s.notify.wait_for(lambda m: m.startswith("READY=1"), "READY=1 after reload")
    s.config.write_text(text + "\n[nonsense]\n")
    s.daemon.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "config not reloaded" in s.daemon.log(), "the broken config reported")
    assert s.daemon.proc.poll() is None  # still running, on the old config
    assert s.daemon.stop() == 0
    assert "config reloaded from" in s.daemon.log()


def test_status_shows_folders_service_and_next_summary(daemon_setup, run_cli) -> None:
    s = daemon_setup
    s.notify.wait_for(lambda m: "READY=1" in m, "READY=1")
    assert s.daemon.stop() == 0
    result = run_cli("--config", str(s.config), "status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [f["name"] for f in data["folders"]] == ["INBOX", "Sent"]
    assert all(f["last_sync_at"] and f["last_error"] is None for f in data["folders"])
    assert data["service"]["state"] == "ok"
    assert data["service"]["next_poll_at"]
    assert data["next_summary_at"]
    assert s.server.password not in result.stdout
    text = run_cli("--config", str(s.config), "status")
    assert "INBOX" in text.stdout and "Next summary:" in text.stdout


# --- the weekly summary, driven by a fake clock -------------------------------------------


class FakeClock:
    """Time that jumps forward whenever the service waits; stops the service at `until`."""

    def __init__(self, start: datetime, until: datetime) -> None:
        self.current = start
        self.until = until
        self.service: Service | None = None

    def now(self) -> datetime:
        return self.current

    def wait(self, seconds: float, wake_fd: int, *more: int) -> None:
        self.current += timedelta(seconds=max(seconds, 1.0))
        if self.current >= self.until and self.service is not None:
            self.service.stopping = True


def run_service(config: Path, start: datetime, until: datetime) -> None:
    clock = FakeClock(start, until)
    service = Service(App(config_path=config), clock=clock, notifier=Notifier(None))
    clock.service = service
    try:
        assert service.run() == 0
    finally:
        service.app.close()


@pytest.fixture
def summary_setup(smtp_server, tmp_path: Path, run_cli):
    secret = tmp_path / "smtp-password"
    secret.write_text(smtp_server.password)
    config = write_config(tmp_path / "k", smtp_server.mailbox, sections={
        "daemon": {"poll_interval": "1h"},
        "summary": {"schedule": "monday 08:00", "timezone": "UTC", "delivery": "smtp"},
        "smtp": {"host": smtp_server.host, "port": smtp_server.port, "security": "none",
                 "username": smtp_server.username, "password_command": ["cat", str(secret)]},
    })  # fmt: skip
    return config


SUNDAY = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_a_fake_week_sends_the_summary_once(summary_setup, smtp_server) -> None:
    run_service(summary_setup, SUNDAY, SUNDAY + timedelta(days=2))
    assert len(smtp_server.messages) == 1
    # Restarted on Tuesday: Monday's summary went out already, so nothing more.
    run_service(summary_setup, SUNDAY + timedelta(days=2), SUNDAY + timedelta(days=3))
    assert len(smtp_server.messages) == 1
    store = Store.open(summary_setup.parent / "kithkin.db")
    assert store.summaries.last_sent()["week"] == "2026-W48"
    store.close()


def test_a_summary_missed_while_off_is_sent_once_at_the_next_start(
    summary_setup, smtp_server
) -> None:
    # First run on Saturday, off over Monday, back on Wednesday.
    saturday = SUNDAY - timedelta(days=1)
    run_service(summary_setup, saturday, saturday + timedelta(hours=3))
    assert smtp_server.messages == []
    wednesday = SUNDAY + timedelta(days=3)
    run_service(summary_setup, wednesday, wednesday + timedelta(hours=3))
    assert len(smtp_server.messages) == 1
    run_service(summary_setup, wednesday + timedelta(hours=4), wednesday + timedelta(hours=8))
    assert len(smtp_server.messages) == 1


def test_no_catch_up_for_a_week_before_kithkin_first_ran(summary_setup, smtp_server):
    wednesday = SUNDAY + timedelta(days=3)
    run_service(summary_setup, wednesday, wednesday + timedelta(hours=3))
    assert smtp_server.messages == []


@pytest.mark.parametrize(
    ("now", "zone", "expected_last", "expected_next"),
    [
        # Monday 08:00 Berlin; just before and just after, across the DST change in March.
        ("2026-03-30T05:59:00+00:00", "Europe/Berlin", "2026-03-23T08:00:00+01:00",
         "2026-03-30T08:00:00+02:00"),
        ("2026-03-30T06:00:00+00:00", "Europe/Berlin", "2026-03-30T08:00:00+02:00",
         "2026-04-06T08:00:00+02:00"),
        ("2026-10-26T07:30:00+00:00", "Europe/Berlin", "2026-10-26T08:00:00+01:00",
         "2026-11-02T08:00:00+01:00"),
        ("2026-11-23T12:00:00+00:00", "UTC", "2026-11-23T08:00:00+00:00",
         "2026-11-30T08:00:00+00:00"),
    ],
)  # fmt: skip
def test_schedule_times_in_the_owner_zone(now, zone, expected_last, expected_next) -> None:
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(now)
    tz = ZoneInfo(zone)
    assert last_scheduled(moment, "monday", "08:00", tz) == datetime.fromisoformat(expected_last)
    assert next_scheduled(moment, "monday", "08:00", tz) == datetime.fromisoformat(expected_next)


def test_a_time_skipped_by_dst_moves_forward() -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Berlin")
    moment = last_scheduled(datetime(2026, 3, 29, 12, 0, tzinfo=UTC), "sunday", "02:30", tz)
    assert moment.astimezone(tz).strftime("%H:%M") == "03:30"


# --- pieces ---------------------------------------------------------------------------------


def test_notifier_speaks_the_sd_notify_protocol(tmp_path: Path) -> None:
    sock = NotifySocket(tmp_path / "n.sock")
    notifier = Notifier.from_env({"NOTIFY_SOCKET": str(sock.path)})
    notifier.ready("ok")
    notifier.watchdog()
    sock.collect()
    assert sock.messages == ["READY=1\nSTATUS=ok", "WATCHDOG=1"]
    Notifier(str(tmp_path / "gone.sock")).ready("x")  # a missing socket is not an error
    sock.close()


def test_watchdog_interval_is_half_the_timeout_and_only_for_us() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "10000000"}) == 5.0
    assert watchdog_interval({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None


def test_backoff_doubles_and_is_capped() -> None:
    health = service_module.Health()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    delays = []
    for _ in range(12):
        health.failed("down", now)
        delays.append((health.retry_at - now).total_seconds())
    assert delays[:4] == [2, 4, 8, 16]
    assert max(delays) == 15 * 60


def test_run_needs_a_config(run_cli) -> None:
    result = run_cli("run")
    assert result.exit_code == 2
    assert "run `kithkin init`" in result.stderr


def test_a_broken_summary_template_never_stops_the_service(summary_setup, smtp_server,
                                                           kithkin_home,
                                                           caplog) -> None:  # fmt: skip
    overrides = kithkin_home / "config" / "kithkin" / "templates"
    overrides.mkdir(parents=True)
    (overrides / "summary.txt.j2").write_text("{{ no_such_variable }}")
    with caplog.at_level("ERROR", logger="kithkin"):
        run_service(summary_setup, SUNDAY, SUNDAY + timedelta(days=2))
    assert smtp_server.messages == []
    failures = [r for r in caplog.records if "summary" in r.getMessage()]
    assert len(failures) == 1, [r.getMessage() for r in failures]  # logged once, then backoff
