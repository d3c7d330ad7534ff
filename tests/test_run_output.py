"""What `kithkin run` prints on stderr (the journal, under systemd), against Dovecot: without
-v one start line and a line for each poll that did something; -v adds a line for every
poll and the IDLE it waits in; -vv adds the sync's debug lines. No password, no stranger."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest
from helpers import ME, write_config
from mailbuilder import make_message
from notifysocket import NotifySocket
from servers import DovecotServer, append
from test_service import Daemon, logged, wait_until

from kithkin.daemon.cli import SERVICE_DETAIL
from kithkin.daemon.service import logbook

ADA = "ada@example.org"
STRANGER = "zebulon@strangers.example"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR) (.*)$")


@pytest.fixture
def service(dovecot: DovecotServer, tmp_path: Path, kithkin_home: Path, run_cli):
    config = write_config(tmp_path / "k", dovecot, sections={"daemon": {"poll_interval": "1s"}})
    assert run_cli("--config", str(config), "contacts", "add", "Ada", "--email", ADA).exit_code == 0
    notify = NotifySocket(tmp_path / "notify.sock")
    notify.listen()
    started: list[Daemon] = []

    def start(*verbosity: str) -> Daemon:
        started.append(Daemon(config, kithkin_home, notify, verbosity))
        return started[-1]

    yield types.SimpleNamespace(config=config, server=dovecot, notify=notify, start=start)
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
    notify.close()


def polls(s: types.SimpleNamespace) -> int:
    return sum(message.startswith("STATUS=ok at") for message in s.notify.messages)


def wait_for_polls(s: types.SimpleNamespace, more: int) -> None:
    target = polls(s) + more
    wait_until(lambda: polls(s) >= target, f"{more} more poll(s)")


def mail_and_polls(s: types.SimpleNamespace, run_cli) -> None:
    """Two polls that log one interaction each (and one stranger's mail), idle polls between."""
    wait_for_polls(s, 1)
    append(s.server, "INBOX", make_message(from_=STRANGER, to=ME, subject="from a stranger"))
    append(s.server, "INBOX", make_message(from_=ADA, to=ME, subject="first"))
    wait_until(lambda: logged(s.config, run_cli) == ["first"], "the first logged")
    wait_for_polls(s, 2)
    append(s.server, "Sent", make_message(from_=ME, to=ADA, subject="second"))
    wait_until(lambda: sorted(logged(s.config, run_cli)) == ["first", "second"], "the second")
    wait_for_polls(s, 2)


def records(daemon: Daemon) -> list[tuple[str, str]]:
    lines = daemon.log().splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines  # every line is a log record: no stray output
    return [(match.group(1), match.group(2)) for match in parsed if match]


def assert_private(s: types.SimpleNamespace, text: str) -> None:
    assert s.server.password not in text
    assert STRANGER not in text and "from a stranger" not in text


def test_without_v_a_start_line_and_the_polls_that_logged(service, run_cli) -> None:
    daemon = service.start()
    mail_and_polls(service, run_cli)
    assert daemon.stop() == 0
    said = records(daemon)
    store = service.config.parent / "kithkin.db"
    assert said[0] == ("INFO", (
        f"kithkin {logbook.version()} started: config {service.config}, store {store}, "
        f"mailbox 127.0.0.1:{service.server.port} (none), poll every 1s, IDLE where offered"
    ))  # fmt: skip
    assert [level for level, _ in said[1:]] == ["INFO", "INFO", "INFO"], said
    assert re.fullmatch(r"sync: 2 folder\(s\), [12] new message\(s\) read, "
                        r"1 interaction\(s\) logged", said[1][1]), said  # fmt: skip
    assert said[2][1] == "sync: 2 folder(s), 1 new message(s) read, 1 interaction(s) logged"
    assert said[3][1] == "kithkin stopped"
    assert polls(service) >= 6  # the idle polls between said nothing
    assert_private(service, daemon.log())


def test_v_adds_every_poll_and_the_idle(service, run_cli) -> None:
    daemon = service.start("-v")
    mail_and_polls(service, run_cli)
    assert daemon.stop() == 0
    said = records(daemon)
    messages = [message for _, message in said]
    assert messages[0].startswith("kithkin ") and " started: config " in messages[0]
    assert "waiting for new mail with IDLE on INBOX" in messages
    syncs = [message for message in messages if message.startswith("sync: ")]
    assert sum("1 interaction(s) logged" in m for m in syncs) == 2
    assert sum("0 interaction(s) logged" in m for m in syncs) >= 4, messages
    assert "DEBUG" not in {level for level, _ in said}
    assert_private(service, daemon.log())


def test_vv_adds_the_sync_debug_lines(service, run_cli) -> None:
    daemon = service.start("-vv")
    mail_and_polls(service, run_cli)
    assert daemon.stop() == 0
    debug = [message for level, message in records(daemon) if level == "DEBUG"]
    examined = (
        r"INBOX: examined: UIDVALIDITY \d+, [12] message\(s\), UIDNEXT [23], cursor at UID [01]"
    )
    assert any(re.fullmatch(examined, m) for m in debug), debug
    assert "Sent: new batch of 1 message(s): 1 interaction(s) added, 0 set aside" in debug
    assert "INBOX: unchanged since the last sync (STATUS)" in debug
    assert_private(service, daemon.log())


def test_other_commands_keep_quiet_without_v_and_say_debug_with_vv(service, run_cli) -> None:
    append(service.server, "INBOX", make_message(from_=ADA, to=ME, subject="one"))
    quiet = run_cli("--config", str(service.config), "sync", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr
    append(service.server, "INBOX", make_message(from_=STRANGER, to=ME, subject="from a stranger"))
    loud = run_cli("--config", str(service.config), "-vv", "sync", "-q")
    assert loud.exit_code == 0
    assert "DEBUG INBOX: new batch of 1 message(s): 0 interaction(s) added" in loud.stderr
    assert_private(service, loud.stderr)


def test_the_detail_logger_is_the_one_the_cli_tunes() -> None:
    assert logbook.detail.name == SERVICE_DETAIL


@pytest.mark.parametrize(("seconds", "text"), [(1, "1s"), (90, "90s"), (300, "5m"),
                                               (3600, "1h"), (5400, "90m")])  # fmt: skip
def test_the_poll_interval_is_written_as_in_the_config(seconds: int, text: str) -> None:
    assert logbook.duration(seconds) == text
