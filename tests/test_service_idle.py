"""Push instead of poll: `kithkin run` waits in IDLE on INBOX between polls (RFC 2177), so a
reply to the summary is applied within seconds, not at the next `poll_interval` (an hour
here). Against Dovecot, through the real process and its signals; a proxy hides IDLE or
breaks the connection. Nothing asserts on speed: the poll interval is an hour, so anything
that happens within the deadline happened because of IDLE."""

from __future__ import annotations

import signal
import threading
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faultproxy import BYE, C2S, S2C, FaultProxy, Inject
from helpers import ME, write_config
from mailbuilder import make_message
from notifysocket import NotifySocket
from servers import append
from test_replies import Owner
from test_service import DEADLINE, Daemon, FakeClock, logged, wait_until

from kithkin.daemon.app import App
from kithkin.daemon.config import ImapConfig
from kithkin.daemon.mail.idle import Idle
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.service import push as push_module
from kithkin.daemon.service.loop import Service, _connect
from kithkin.daemon.service.notify import Notifier

ENTERED = "waiting for new mail with IDLE on INBOX"
HOUR = {"daemon": {"poll_interval": "1h"}}
# What the service may say to a server: read-only commands, and IDLE/DONE (they only listen).
READ_ONLY = {"CAPABILITY", "LOGIN", "LIST", "NAMESPACE", "EXAMINE", "STATUS", "UID SEARCH",
             "FETCH", "UID FETCH", "NOOP", "LOGOUT", "IDLE", "DONE", "(reconnect)"}  # fmt: skip


def start_daemon(config: Path, home: Path, tmp_path: Path) -> types.SimpleNamespace:
    notify = NotifySocket(tmp_path / "notify.sock")
    return types.SimpleNamespace(config=config, notify=notify, daemon=Daemon(config, home, notify))


def finish(d: types.SimpleNamespace) -> None:
    if d.daemon.proc.poll() is None:
        d.daemon.proc.kill()
        d.daemon.proc.wait()
    d.notify.close()


@pytest.fixture
def idling(dovecot, tmp_path: Path, kithkin_home: Path, run_cli):
    """`kithkin run` with poll_interval 1h against Dovecot, once it idles; Ada is a contact."""
    config = write_config(tmp_path / "k", dovecot, sections=HOUR)
    assert run_cli("--config", str(config), "contacts", "add", "Ada",
                   "--email", "ada@example.org").exit_code == 0  # fmt: skip
    d = start_daemon(config, kithkin_home, tmp_path)
    d.server = dovecot
    wait_until(lambda: ENTERED in d.daemon.log(), "IDLE entered")
    yield d
    finish(d)


def test_a_reply_to_the_summary_is_applied_while_idling(
    dovecot, tmp_path: Path, kithkin_home: Path, run_cli
) -> None:
    owner = Owner(dovecot, tmp_path, run_cli)  # a summary sent into INBOX, a sync done
    with owner.config.open("a") as config:
        config.write('\n[daemon]\npoll_interval = "1h"\n')
    d = start_daemon(owner.config, kithkin_home, tmp_path)
    try:
        wait_until(lambda: ENTERED in d.daemon.log(), "IDLE entered")
        assert owner.muted() == set()
        owner.reply("mute Bob\r\nnote Ada Lovelace moved to Lyon\r\n", folder="INBOX")
        wait_until(lambda: owner.muted() == {"Bob"}, "the reply applied while idling")
        assert "new mail: IDLE on INBOX" in owner.cli("status").stdout  # while it runs
        assert d.daemon.stop() == 0
    finally:
        finish(d)
    log = d.daemon.log()
    assert log.count(ENTERED) == 1, log  # said once, not per IDLE
    status = owner.status()["service"]
    assert status["waiting"] == "IDLE on INBOX"


def test_sigterm_and_sighup_act_at_once_while_idling_and_the_watchdog_is_fed(
    idling, run_cli
) -> None:
    d = idling
    d.notify.collect()
    seen = len(d.notify.messages)
    time.sleep(2.0)  # idling; WATCHDOG_USEC is 1 s: a ping every half second
    d.notify.collect()
    assert d.notify.messages[seen:].count("WATCHDOG=1") >= 2, d.notify.messages[seen:]
    d.daemon.proc.send_signal(signal.SIGHUP)
    d.notify.wait_for(lambda m: m.startswith("READY=1"), "READY=1 after the reload")
    # Still idling after the reload: new mail is read at once, the poll is an hour away.
    append(d.server, "INBOX", make_message(from_="ada@example.org", to=ME, subject="after hup"))
    wait_until(lambda: logged(d.config, run_cli) == ["after hup"], "new mail after SIGHUP")
    started = time.monotonic()
    d.daemon.proc.send_signal(signal.SIGTERM)
    assert d.daemon.proc.wait(timeout=DEADLINE) == 0
    # A wait that ignored SIGTERM would last until the loop's next minute.
    assert time.monotonic() - started < 20, "SIGTERM did not end the IDLE wait"
    assert "kithkin stopped" in d.daemon.log()


def test_a_dropped_idle_falls_back_to_polling_and_reconnects(idling, run_cli) -> None:
    d = idling
    d.server.kill()  # every connection drops, mid-IDLE
    d.notify.wait_for(lambda m: "STATUS=failing" in m, "a failing STATUS")
    d.notify.wait_for(lambda m: "STATUS=failing (2x)" in m, "a retry at the backoff")
    d.server.restart()
    append(d.server, "INBOX", make_message(from_="ada@example.org", to=ME, subject="meanwhile"))
    wait_until(lambda: logged(d.config, run_cli) == ["meanwhile"], "reconnected and synced")
    wait_until(lambda: d.daemon.log().count(ENTERED) == 2, "IDLE entered again")
    append(d.server, "INBOX", make_message(from_="ada@example.org", to=ME, subject="pushed"))
    wait_until(lambda: logged(d.config, run_cli) == ["pushed", "meanwhile"], "idling again")
    assert d.daemon.stop() == 0
    log = d.daemon.log()
    assert "IDLE failed (" in log and "recovered after" in log, log
    assert d.server.password not in log


def test_a_bye_during_idle_is_a_reconnect_not_a_failure(
    dovecot, tmp_path: Path, kithkin_home: Path, run_cli
) -> None:
    """The server ends the IDLE with BYE (a restart for maintenance) and closes, then takes
    the next connection: the service polls at once on a new one and idles again."""
    with FaultProxy(dovecot.host, dovecot.port) as proxy:
        proxy.arm(Inject(after=b"+ idling\r\n", direction=S2C, data=BYE, then="cut"))
        config = write_config(tmp_path / "k", dovecot, imap={"port": proxy.port}, sections=HOUR)
        run_cli("--config", str(config), "contacts", "add", "Ada", "--email", "ada@example.org")
        d = start_daemon(config, kithkin_home, tmp_path)
        try:
            wait_until(lambda: d.daemon.log().count(ENTERED) == 2, "IDLE entered again")
            assert len(proxy.sessions) == 2 and proxy.sessions[0].fired.is_set()
            append(dovecot, "INBOX", make_message(from_="ada@example.org", to=ME, subject="x"))
            wait_until(lambda: logged(config, run_cli) == ["x"], "read on the new connection")
            assert d.daemon.stop() == 0
        finally:
            finish(d)
    log = d.daemon.log()
    assert "IDLE failed (" in log and "BYE" in log, log
    assert "ERROR" not in log, log  # a dropped IDLE is not a failed poll


@pytest.mark.parametrize("how", ["server without IDLE", "idle = false"])
def test_without_idle_the_service_polls_as_before(
    how: str, dovecot, tmp_path: Path, kithkin_home: Path, run_cli
) -> None:
    with FaultProxy(dovecot.host, dovecot.port, record=True) as proxy:
        if how == "server without IDLE":
            proxy.rewrite = ((b" IDLE ", b" XIDLE "),)  # gone from every CAPABILITY
        sections = {"daemon": {"poll_interval": "1s", "idle": how != "idle = false"}}
        config = write_config(tmp_path / "k", dovecot, imap={"port": proxy.port},
                              sections=sections)  # fmt: skip
        run_cli("--config", str(config), "contacts", "add", "Ada", "--email", "ada@example.org")
        d = start_daemon(config, kithkin_home, tmp_path)
        try:
            d.notify.wait_for(lambda m: "STATUS=ok" in m, "a first poll")
            append(dovecot, "INBOX", make_message(from_="ada@example.org", to=ME, subject="p"))
            wait_until(lambda: logged(config, run_cli) == ["p"], "read at a poll")
            assert d.daemon.stop() == 0
        finally:
            finish(d)
        sent = b"".join(session.transcript.stream(C2S) for session in proxy.sessions)
    assert b" IDLE\r\n" not in sent and b"NOOP" in sent
    log = d.daemon.log()
    assert ENTERED not in log
    said = "the server offers no IDLE"
    assert (said in log) == (how == "server without IDLE"), log


# --- in-process, on the service's clock -----------------------------------------------------


def service_for(config: Path, clock: FakeClock) -> tuple[Service, list[ImapSession]]:
    sessions: list[ImapSession] = []

    def connect(settings: ImapConfig) -> ImapSession:
        sessions.append(_connect(settings))
        return sessions[-1]

    service = Service(App(config_path=config), clock=clock, notifier=Notifier(None),
                      connect=connect)  # fmt: skip
    clock.service = service
    return service, sessions


def test_idle_is_sent_again_before_29_minutes_and_says_only_read_only_things(
    dovecot, tmp_path: Path
) -> None:
    """Two hours of the service's clock with hourly polls: IDLE is ended and sent again
    within every 29 minutes, INBOX is examined for it only after a poll left another folder
    examined, and the server hears nothing that could change a thing."""
    config = write_config(tmp_path / "k", dovecot, sections=HOUR)
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    clock = FakeClock(start, start + timedelta(hours=2))
    service, sessions = service_for(config, clock)
    try:
        assert service.run() == 0
    finally:
        service.app.close()
    (session,) = sessions
    commands = list(session.commands)
    idles = commands.count("IDLE")
    assert idles >= 5, commands  # 120 minutes / 29, and one more after the poll at 60
    assert commands.count("DONE") == idles, commands
    assert commands.count("LIST") == 2, commands  # the polls at start and at 60 min only
    verbs = {" ".join(c.split()[: 2 if c.startswith("UID ") else 1]) for c in commands}
    assert verbs <= READ_ONLY, verbs
    assert commands[-2:] == ["IDLE", "DONE"]  # the stop ends the IDLE before LOGOUT


def test_mail_that_arrived_between_the_sync_and_the_idle_is_not_left_for_the_next_poll(
    dovecot, tmp_path: Path, run_cli
) -> None:
    config = write_config(tmp_path / "k", dovecot, sections=HOUR)
    run_cli("--config", str(config), "contacts", "add", "Ada", "--email", "ada@example.org")
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    clock = FakeClock(start, start + timedelta(days=1))
    service, sessions = service_for(config, clock)
    try:
        service._schedule_jobs()
        service.poll()  # INBOX, then Sent: Sent is left examined
        append(dovecot, "INBOX", make_message(from_="ada@example.org", to=ME, subject="late"))
        assert service._idle(30.0)  # it idles, or knows better ...
        assert "IDLE" not in sessions[0].commands  # ... here: INBOX changed since the sync
        assert service.timetable.idle_seconds() == 0  # the poll is due now
        service.timetable.run_pending()
        assert logged(config, run_cli) == ["late"]
        assert service._idle(30.0) and service.push.active  # nothing new: now it idles
        service._disconnect()
    finally:
        service.app.close()


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_idle_reads_exists_and_ends_with_done(security: str, dovecot_tls, tmp_path: Path) -> None:
    """The protocol piece alone, over plain and TLS connections (whose buffering differs):
    nothing is pending while the folder is quiet, an append is a change, DONE ends it."""
    server = dovecot_tls
    port = server.tls_port if security == "tls" else server.port
    imap = {"security": security, "port": port, "ca_file": str(server.ca_file)}
    config = Service(App(config_path=write_config(tmp_path / "k", server, imap=imap))).config
    session = _connect(config.require_imap())
    try:
        session.examine("INBOX")
        idle = Idle.start(session)
        assert not idle.pending() and not idle.changes()
        append(server, "INBOX", make_message(from_="ada@example.org", to=ME, subject="y"))
        deadline = time.monotonic() + DEADLINE
        while not idle.changes() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert idle.changed
        assert idle.done() is True
        session.noop()  # the connection is usable again
        assert list(session.commands)[-3:] == ["IDLE", "DONE", "NOOP"]
    finally:
        session.logout()


def test_a_shortened_reissue_constant_is_honoured(
    dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REISSUE_SECONDS is read at each wait, so a test (or a stricter server) can shorten it;
    on the real clock, the service re-issues IDLE every second and stops on request."""
    monkeypatch.setattr(push_module, "REISSUE_SECONDS", 1.0)
    config = write_config(tmp_path / "k", dovecot, sections=HOUR)
    sessions: list[ImapSession] = []

    def connect(settings: ImapConfig) -> ImapSession:
        sessions.append(_connect(settings))
        return sessions[-1]

    service = Service(App(config_path=config), notifier=Notifier(None), connect=connect)

    def stop_after_three() -> None:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if sessions and list(sessions[0].commands).count("IDLE") >= 3:
                break
            time.sleep(0.05)
        service.stopping = True
        service.wakeup.poke()

    stopper = threading.Thread(target=stop_after_three)
    stopper.start()
    try:
        assert service.run() == 0
    finally:
        stopper.join()
        service.app.close()
    assert list(sessions[0].commands).count("IDLE") >= 3
