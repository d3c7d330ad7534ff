"""Several mailboxes, one owner: `[[mailbox]]` tables, each synced with its own cursors, one
that is down never stopping the others, mail seen in two logged once, the backfill done in
each, and a store synced with the single `[imap]` form carried over.

Two Dovecot users play two accounts ("home" and "work"); a closed port plays a third that
is down."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import ME, ME_ALIAS, toml_value, write_config
from mailboxes import imap_client
from mailbuilder import make_message
from servers import DovecotServer

from kithkin.daemon.app import App
from kithkin.daemon.config import load_config
from kithkin.daemon.errors import ConfigError
from kithkin.daemon.service.loop import Service
from kithkin.daemon.service.notify import Notifier
from kithkin.daemon.store import Store

WORK_USER = "work"
DAY = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def put(server: DovecotServer, user: str, password: str, message: bytes) -> None:
    with imap_client(server, username=user, password=password) as client:
        client.append("INBOX", message)


def from_ada(subject: str, to: str = ME) -> bytes:
    return make_message(from_="Ada <ada@example.org>", to=to, subject=subject, date=DAY)


def mailbox_table(directory: Path, name: str, port: int, user: str, password: str) -> str:
    secret = directory / f"{name}-password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    fields = {"name": name, "host": "127.0.0.1", "port": port, "security": "none",
              "username": user, "password_command": ["cat", str(secret)]}  # fmt: skip
    return "[[mailbox]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in fields.items())


def several(directory: Path, *tables: str, summary: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(
        "".join(tables)
        + f"[me]\naddresses = {toml_value([ME, ME_ALIAS])}\n"
        + f"[store]\npath = {toml_value(str(directory / 'kithkin.db'))}\n"
        + summary
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def accounts(dovecot: DovecotServer, tmp_path: Path):
    """A config with "home" (the fixture's user) and "work" (a second user) on one Dovecot."""
    work_password = dovecot.add_user(WORK_USER)
    config = several(
        tmp_path / "k",
        mailbox_table(tmp_path, "home", dovecot.port, dovecot.username, dovecot.password),
        mailbox_table(tmp_path, "work", dovecot.port, WORK_USER, work_password),
    )
    return config, work_password


def logged(config: Path) -> list[tuple[str, str]]:
    with Store.open(load_config(config).store_path) as store:
        rows = store.db.execute(
            "SELECT c.name, i.subject FROM interactions i JOIN contacts c ON c.id = i.contact_id "
            "ORDER BY i.subject"
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


def add_ada(run_cli, config: Path) -> None:
    result = run_cli("--config", str(config), "contacts", "add", "Ada", "--email",
                     "ada@example.org")  # fmt: skip
    assert result.exit_code == 0, result.output


# --- the config ------------------------------------------------------------------------------


def test_mailbox_tables_are_read_in_order_and_the_first_takes_the_summary(tmp_path) -> None:
    config = load_config(several(
        tmp_path,
        mailbox_table(tmp_path, "home", 143, "me", "x"),
        mailbox_table(tmp_path, "work", 993, "me@work.example", "y"),
    ))  # fmt: skip
    assert [(m.name, m.kind, m.port) for m in config.mailboxes] == [
        ("home", "imap-home", 143), ("work", "imap-work", 993)]  # fmt: skip
    assert config.imap == config.mailboxes[0]


def test_summary_mailbox_chooses_where_the_summary_goes(tmp_path) -> None:
    config = load_config(several(
        tmp_path,
        mailbox_table(tmp_path, "home", 143, "me", "x"),
        mailbox_table(tmp_path, "work", 993, "me@work.example", "y"),
        summary='[summary]\nmailbox = "Work"\n',
    ))  # fmt: skip
    assert config.imap is not None and config.imap.name == "work"


def test_the_single_imap_form_is_one_unnamed_mailbox(dovecot, tmp_path) -> None:
    config = load_config(write_config(tmp_path / "k", dovecot))
    assert config.mailboxes == (config.imap,)
    assert config.imap is not None and config.imap.name == "" and config.imap.kind == "imap"


SERVER = 'host = "h"\nusername = "u"\n'
A = '[[mailbox]]\nname = "a"\n' + SERVER


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[imap]\n" + SERVER + A, "cannot both be used"),
        (A + '[[mailbox]]\nname = "A"\n' + SERVER, "name of an earlier"),
        ('[[mailbox]]\nname = "a b"\n' + SERVER, "letters, digits"),
        ("[[mailbox]]\n" + SERVER, "name is missing"),
        (A + "foo = 1\n", "[[mailbox]] number 1: foo is not a known setting"),
        (A + '[summary]\nmailbox = "b"\ndelivery = "imap"\n', "names no [[mailbox]]"),
        ("mailbox = 3\n", "must be tables"),
    ],
)
def test_mailbox_mistakes_are_one_line(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


# --- the sync --------------------------------------------------------------------------------


def test_two_mailboxes_sync_side_by_side_and_mail_in_both_is_logged_once(
    dovecot, accounts, run_cli
) -> None:
    config, work_password = accounts
    add_ada(run_cli, config)
    put(dovecot, dovecot.username, dovecot.password, from_ada("to home", to=ME))
    put(dovecot, WORK_USER, work_password, from_ada("to work", to=ME_ALIAS))
    both = make_message(from_="Ada <ada@example.org>", to=[ME, ME_ALIAS], subject="to both",
                        date=DAY, message_id="<both@example.org>")  # fmt: skip
    put(dovecot, dovecot.username, dovecot.password, both)
    put(dovecot, WORK_USER, work_password, both)
    result = run_cli("--config", str(config), "sync", "-q")
    assert result.exit_code == 0, result.output
    assert "Synced home:" in result.stdout and "Synced work:" in result.stdout
    assert logged(config) == [("Ada", "to both"), ("Ada", "to home"), ("Ada", "to work")]
    status = json.loads(run_cli("--config", str(config), "status", "--json").stdout)
    assert {(f.get("mailbox"), f["name"]) for f in status["folders"]} >= {
        ("home", "INBOX"), ("work", "INBOX")}  # fmt: skip
    again = run_cli("--config", str(config), "sync", "-q")
    assert again.exit_code == 0
    assert "0 new message(s) read" in again.stdout


def test_a_mailbox_that_is_down_never_stops_the_others(dovecot, tmp_path, run_cli) -> None:
    config = several(
        tmp_path / "k",
        mailbox_table(tmp_path, "gone", closed_port(), "x", "y"),
        mailbox_table(tmp_path, "home", dovecot.port, dovecot.username, dovecot.password),
    )
    add_ada(run_cli, config)
    put(dovecot, dovecot.username, dovecot.password, from_ada("hello", to=ME))
    result = run_cli("--config", str(config), "sync", "-q")
    assert result.exit_code == 1
    assert "Synced home:" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("kithkin: error:")]
    assert len(errors) == 1 and "gone" in errors[0] and "cannot connect" in errors[0]
    assert logged(config) == [("Ada", "hello")]


def test_past_mail_of_a_new_contact_is_looked_up_in_each_mailbox_even_one_down_at_first(
    dovecot, accounts, tmp_path, run_cli
) -> None:
    config, work_password = accounts
    put(dovecot, dovecot.username, dovecot.password, from_ada("old home", to=ME))
    put(dovecot, WORK_USER, work_password, from_ada("old work", to=ME))
    assert run_cli("--config", str(config), "sync", "-q").exit_code == 0  # cursors past both
    add_ada(run_cli, config)
    work_down = tmp_path / "work-down.toml"
    work = f'security = "none"\nusername = "{WORK_USER}"'
    text = config.read_text()
    work_down.write_text(
        text.replace(f"port = {dovecot.port}\n{work}", f"port = {closed_port()}\n{work}")
    )
    assert work_down.read_text() != text
    down = run_cli("--config", str(work_down), "sync", "-q")
    assert down.exit_code == 1
    assert logged(config) == [("Ada", "old home")]
    with Store.open(load_config(config).store_path) as store:
        assert store.db.execute("SELECT count(*) FROM pending_backfill").fetchone()[0] == 1
    up = run_cli("--config", str(config), "sync", "-q")
    assert up.exit_code == 0, up.output
    assert logged(config) == [("Ada", "old home"), ("Ada", "old work")]
    with Store.open(load_config(config).store_path) as store:
        assert store.db.execute("SELECT count(*) FROM pending_backfill").fetchone()[0] == 0
        assert store.db.execute("SELECT count(*) FROM backfill_done").fetchone()[0] == 0


def test_a_store_synced_with_the_imap_form_carries_over_to_the_first_mailbox(
    dovecot, tmp_path, run_cli
) -> None:
    single = write_config(tmp_path / "k", dovecot)
    add_ada(run_cli, single)
    put(dovecot, dovecot.username, dovecot.password, from_ada("before", to=ME))
    assert run_cli("--config", str(single), "sync", "-q").exit_code == 0
    store_path = load_config(single).store_path
    table = mailbox_table(tmp_path, "home", dovecot.port, dovecot.username, dovecot.password)
    single.write_text(
        table + f"[me]\naddresses = {toml_value([ME])}\n"
        f"[store]\npath = {toml_value(str(store_path))}\n"
    )
    put(dovecot, dovecot.username, dovecot.password, from_ada("after", to=ME))
    result = run_cli("--config", str(single), "sync", "-q")
    assert result.exit_code == 0, result.output
    assert "1 new message(s) read" in result.stdout  # not everything again
    assert logged(single) == [("Ada", "after"), ("Ada", "before")]
    with Store.open(store_path) as store:
        assert {row[0] for row in store.db.execute("SELECT mailbox FROM folders")} == {"home"}


# --- the service and the doctor --------------------------------------------------------------


def test_the_service_polls_each_mailbox_and_says_which_is_failing(
    dovecot, tmp_path, run_cli
) -> None:
    config = several(
        tmp_path / "k",
        mailbox_table(tmp_path, "home", dovecot.port, dovecot.username, dovecot.password),
        mailbox_table(tmp_path, "gone", closed_port(), "x", "y"),
        summary='[summary]\ndelivery = "imap"\n',
    )
    add_ada(run_cli, config)
    put(dovecot, dovecot.username, dovecot.password, from_ada("hello", to=ME))
    service = Service(App(config_path=config), notifier=Notifier(None))
    try:
        service.poll()
        assert service.health.state == "ok"
        assert [a.health.state for a in service.others] == ["failing"]
        assert "failing: gone" in service.status_line()
    finally:
        service._disconnect_all()
        service.app.close()
    assert logged(config) == [("Ada", "hello")]
    status = json.loads(run_cli("--config", str(config), "status", "--json").stdout)
    (error,) = status["service"]["failing_mailboxes"].values()
    assert "gone" in error and "cannot connect" in error


def test_the_doctor_checks_each_mailbox(dovecot, tmp_path, run_cli) -> None:
    config = several(
        tmp_path / "k",
        mailbox_table(tmp_path, "gone", closed_port(), "x", "y"),
        mailbox_table(tmp_path, "home", dovecot.port, dovecot.username, dovecot.password),
        summary='[summary]\ndelivery = "imap"\nmailbox = "home"\n',
    )
    result = run_cli("--config", str(config), "doctor", "--json")
    checks = {check["name"]: check["status"] for check in json.loads(result.stdout)["checks"]}
    assert result.exit_code == 1
    assert checks["imap gone tcp"] == "fail"
    assert checks["imap gone login"] == "skip"
    assert checks["imap home login"] == "ok"
    assert checks["imap home folders"] == "ok"
    assert checks["summary delivery"] in ("ok", "warn")


def inbox_count(server: DovecotServer, user: str, password: str) -> int:
    with imap_client(server, username=user, password=password) as client:
        client.select_folder("INBOX", readonly=True)
        return len(client.search(["HEADER", "X-Kithkin-Summary", ""]))


def test_the_summary_goes_to_the_mailbox_chosen_for_it(dovecot, accounts, tmp_path, run_cli):
    config, work_password = accounts
    config.write_text(config.read_text() + '[summary]\ndelivery = "imap"\nmailbox = "work"\n')
    add_ada(run_cli, config)
    sent = run_cli("--config", str(config), "summary", "--send", "--as-of", "2026-11-23")
    assert sent.exit_code == 0, sent.output
    assert inbox_count(dovecot, WORK_USER, work_password) == 1
    assert inbox_count(dovecot, dovecot.username, dovecot.password) == 0
