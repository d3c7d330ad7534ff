"""`kithkin run` reads the calendar sources at every poll, whatever the mailbox does: the real
daemon against Dovecot, a vdir written while it runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from helpers import write_config
from icsbuilder import calendar, event, write_vdir

from kithkin.daemon.store import Store

DEADLINE = 60.0  # an upper bound for "within a few polls"; nothing asserts on speed
ADA = "ada@example.org"


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {DEADLINE}s")


def test_the_service_reads_changed_calendars_even_while_the_mailbox_is_down(
    dovecot, tmp_path: Path, kithkin_home: Path, run_cli
) -> None:
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    one = event("one", past, attendees=[ADA], summary="One")
    vdir = write_vdir(tmp_path / "work", {"one": one})
    (vdir / "broken.ics").write_bytes(b"not a calendar")
    config = write_config(
        tmp_path / "k",
        dovecot,
        sections={"daemon": {"poll_interval": "1s"}, "calendar": {"sources": [str(vdir)]}},
    )
    assert run_cli("--config", str(config), "contacts", "add", "Ada", "--email", ADA).exit_code == 0

    def subjects() -> list[str]:
        rows = json.loads(run_cli("--config", str(config), "interactions", "--json").stdout)
        return sorted(row["subject"] for row in rows if row["kind"] == "meeting")

    def last_poll() -> str | None:
        with Store.open(tmp_path / "k" / "kithkin.db") as store:
            return store.meta.get("service.last_poll_at")

    stderr = tmp_path / "daemon.stderr"
    env = {**os.environ, "XDG_CONFIG_HOME": str(kithkin_home / "config"), "PYTHONUNBUFFERED": "1"}
    env.pop("NOTIFY_SOCKET", None)
    with stderr.open("wb") as log:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "kithkin.daemon", "--config", str(config), "-v", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        wait_until(lambda: subjects() == ["One"], "the meeting logged")
        polls = [last_poll()]
        for _ in range(2):  # two more polls, the vdir unchanged: nothing read, nothing said
            wait_until(lambda: last_poll() not in (None, polls[-1]), "another poll")
            polls.append(last_poll())
        assert stderr.read_text().count("broken.ics") == 1
        dovecot.kill()
        (vdir / "two.ics").write_bytes(calendar(event("two", past, attendees=[ADA], summary="Two")))
        wait_until(lambda: subjects() == ["One", "Two"], "the new file read, the mailbox down")
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=DEADLINE)
    log_text = stderr.read_text()
    assert code == 0, log_text
    assert log_text.count("broken.ics") == 1  # of the changed vdir, only two.ics was read
    assert "calendar: 1 meeting logged" in log_text
