"""No message can stop the sync of the mail after it.

A message whose processing raises (the engine's fault seam makes chosen UIDs fail at a chosen
stage) and a message the server cannot send (the fault proxy cuts the connection, or answers
garbage, whenever a chosen UID is fetched) are set aside: recorded by folder, UIDVALIDITY and
UID only, listed by `kithkin status`, counted in the summary; every other message is logged
exactly once, and `kithkin sync --retry-skipped` reads them again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from faultproxy import FaultProxy, PoisonFetch
from helpers import ME, write_config
from mailbuilder import make_message
from notifysocket import NotifySocket
from servers import DovecotServer, ImapServer, append, imap_client

from kithkin.daemon.config import load_config
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.store import Store
from kithkin.daemon.sync import Sync, SyncReport

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CONTACTS = {"Ada": "ada@example.org", "Grace": "grace@example.org"}
STRANGER = "stranger@elsewhere.example"


@dataclass
class Mail:
    """A folder of 24 messages: from Ada or Grace to me, and a few from a stranger."""

    server: ImapServer
    config: Path
    run: Callable
    uids: dict[str, int]  # subject -> UID

    @property
    def db(self) -> Path:
        return self.config.parent / "kithkin.db"

    def sync(self, *, fault: Callable[[str, str, int], None] | None = None) -> SyncReport:
        config = load_config(self.config)
        with Store.open(config.store_path) as store:
            mailbox = ImapSession.connect(config.require_imap(), self.server.password)
            try:
                return Sync(mailbox, store, config.me, clock=lambda: NOW, fault=fault).run()
            finally:
                mailbox.logout()

    def cli(self, *args: str) -> tuple[int, str, str]:
        result = self.run("--config", str(self.config), *args)
        return result.exit_code, result.stdout, result.stderr

    def logged(self) -> Counter[str]:
        code, out, err = self.cli("interactions", "--json")
        assert code == 0, err
        return Counter(row["subject"] for row in json.loads(out))

    def status(self) -> dict:
        code, out, err = self.cli("status", "--json")
        assert code == 0, err
        return json.loads(out)

    def contact_subjects(self, *, without: tuple[str, ...] = ()) -> Counter[str]:
        return Counter(s for s in self.uids if not s.startswith("stranger") and s not in without)


def fill(server: ImapServer, tmp_path: Path, run_cli: Callable, port: int | None = None) -> Mail:
    config = write_config(tmp_path / "k", server, imap={"port": port} if port else None)
    for name, address in CONTACTS.items():
        assert run_cli("--config", str(config), "contacts", "add", name,
                       "--email", address).exit_code == 0  # fmt: skip
    subjects = []
    for n in range(24):
        sender = STRANGER if n % 6 == 5 else list(CONTACTS.values())[n % 2]
        subject = f"stranger {n}" if sender == STRANGER else f"m{n:02d}"
        append(server, "INBOX", make_message(from_=sender, to=ME, subject=subject))
        subjects.append(subject)
    with imap_client(server) as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
    return Mail(server, config, run_cli, dict(zip(subjects, uids, strict=True)))


@pytest.fixture
def mail(imap_server: ImapServer, tmp_path: Path, run_cli: Callable) -> Mail:
    return fill(imap_server, tmp_path, run_cli)


def failing(stage: str, *uids: int) -> Callable[[str, str, int], None]:
    def fault(at: str, folder: str, uid: int) -> None:
        if at == stage and uid in uids:
            raise RuntimeError(f"injected failure at {stage} of UID {uid}")

    return fault


# --- processing that raises -------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["plan", "store"])
def test_a_message_whose_processing_raises_is_set_aside(mail: Mail, stage: str) -> None:
    bad = mail.uids["m07"]
    report = mail.sync(fault=failing(stage, bad))
    assert report.set_aside == 1
    assert "1 message(s) could not be read and were set aside" in report.summary()
    assert mail.logged() == mail.contact_subjects(without=("m07",))  # all others, once each
    status = mail.status()
    assert [(r["folder"], r["uid"], r["stage"]) for r in status["set_aside"]] == [
        ("INBOX", bad, "process")
    ]
    assert set(status["set_aside"][0]) == {
        "folder", "uidvalidity", "uid", "stage", "attempts", "first_at", "last_at",
    }  # fmt: skip
    inbox = next(folder for folder in status["folders"] if folder["name"] == "INBOX")
    assert inbox["last_error"] is None
    assert b"m07" not in mail.db.read_bytes()  # nothing of its content is kept

    assert mail.sync().set_aside == 0  # the cursor moved past it: not read again
    assert mail.logged() == mail.contact_subjects(without=("m07",))
    code, out, err = mail.cli("sync", "--retry-skipped")
    assert code == 0, err
    assert "1 set-aside message(s) read after all" in out
    assert mail.logged() == mail.contact_subjects()
    assert mail.status()["set_aside"] == []


def test_a_failing_message_that_involves_no_contact_leaves_nothing(mail: Mail) -> None:
    report = mail.sync(fault=failing("plan", mail.uids["stranger 5"]))
    assert report.set_aside == 1  # counted in the report...
    assert mail.status()["set_aside"] == []  # ...but not recorded
    assert STRANGER.encode() not in mail.db.read_bytes()
    assert mail.logged() == mail.contact_subjects()


def test_several_failures_in_one_batch_and_the_status_text(mail: Mail) -> None:
    bad = [mail.uids["m00"], mail.uids["m12"], mail.uids["m22"]]
    report = mail.sync(fault=failing("plan", *bad))
    assert report.set_aside == 3
    assert mail.logged() == mail.contact_subjects(without=("m00", "m12", "m22"))
    code, out, _ = mail.cli("status")
    assert code == 0
    assert "3 message(s) could not be read and were set aside" in out
    for uid in bad:
        assert f"INBOX UID {uid} " in out
    # Still failing on a retry (the bug is not fixed yet): recorded again, nothing lost.
    config = load_config(mail.config)
    with Store.open(config.store_path) as store:
        mailbox = ImapSession.connect(config.require_imap(), mail.server.password)
        try:
            Sync(mailbox, store, config.me, clock=lambda: NOW,
                 fault=failing("plan", bad[1])).run(retry_set_aside=True)  # fmt: skip
        finally:
            mailbox.logout()
        records = store.set_aside.all()
    assert [(r.uid, r.attempts) for r in records] == [(bad[1], 2)]
    assert mail.logged() == mail.contact_subjects(without=("m12",))


def test_the_summary_says_how_many_could_not_be_read(mail: Mail, tmp_path: Path) -> None:
    mail.sync(fault=failing("plan", mail.uids["m03"], mail.uids["m04"]))
    code, out, err = mail.cli("summary", "--preview", str(tmp_path / "preview"))
    assert code == 0, err
    assert "2 messages could not be read; `kithkin status` lists them." in out
    html = next((tmp_path / "preview").rglob("summary.html")).read_text()
    assert "2 messages could not be read" in html


# --- a FETCH that fails every time ------------------------------------------------------------


@pytest.fixture
def proxied(dovecot: DovecotServer, tmp_path: Path, run_cli: Callable) -> Iterator[tuple]:
    with FaultProxy(dovecot.host, dovecot.port) as proxy:
        yield fill(dovecot, tmp_path, run_cli, port=proxy.port), proxy


@pytest.mark.parametrize("then", ["cut", "garbage"])
def test_a_message_the_server_cannot_send_is_found_and_set_aside(proxied, then: str) -> None:
    """The proxy cuts the connection (or answers garbage) whenever UID m13's header is
    fetched: the batch is narrowed down to it, it is set aside after three tries, and every
    other message is logged exactly once."""
    mail, proxy = proxied
    bad = mail.uids["m13"]
    proxy.poison = PoisonFetch(frozenset({bad}), then=then)
    code, out, err = mail.cli("sync")
    assert code == 0, err
    assert "1 message(s) could not be read and were set aside" in out
    assert mail.logged() == mail.contact_subjects(without=("m13",))
    records = mail.status()["set_aside"]
    assert [(r["uid"], r["stage"]) for r in records] == [(bad, "fetch")]
    single = [s for s in proxy.sessions if s.poisoned]
    assert sum(s.poisoned for s in single) >= 3  # the whole batch, halves..., then 3 tries alone

    proxy.poison = None  # "after an upgrade" of the server, say
    code, out, err = mail.cli("sync", "--retry-skipped")
    assert code == 0, err
    assert mail.logged() == mail.contact_subjects()
    assert mail.status()["set_aside"] == []


def test_a_poisoned_newest_message_leaves_a_connection_the_next_folder_can_use(proxied) -> None:
    """The last message of the folder is the one the server cannot send: its last try is
    the narrowing's last FETCH, and the sync goes on to Sent on a fresh connection."""
    mail, proxy = proxied
    newest = max(mail.uids.values())
    proxy.poison = PoisonFetch(frozenset({newest}), then="cut")
    code, out, err = mail.cli("sync")
    assert code == 0, err
    assert "1 message(s) could not be read and were set aside" in out
    assert mail.logged() == mail.contact_subjects()  # the newest is a stranger's
    assert [r["uid"] for r in mail.status()["set_aside"]] == [newest]
    assert {folder["name"] for folder in mail.status()["folders"]} >= {"INBOX", "Sent"}


def test_a_server_that_fails_every_fetch_sets_nothing_aside(proxied) -> None:
    """When no FETCH works at all, it is the server, not a message: one error line, exit 1,
    nothing set aside, and the next sync (server fixed) logs everything."""
    mail, proxy = proxied
    proxy.poison = PoisonFetch(frozenset(mail.uids.values()))
    code, _out, err = mail.cli("sync")
    assert code == 1
    assert err.count("kithkin: error:") == 1 and f"127.0.0.1:{proxy.port}" in err
    assert mail.status()["set_aside"] == []
    proxy.poison = None
    assert mail.cli("sync")[0] == 0
    assert mail.logged() == mail.contact_subjects()


def test_the_service_keeps_running_and_is_not_failing(proxied, kithkin_home: Path) -> None:
    """`kithkin run` with a poisoned message: it logs the rest, sets that one aside, and its
    state is "ok", not "failing"."""
    mail, proxy = proxied
    proxy.poison = PoisonFetch(frozenset({mail.uids["m02"]}))
    notify = NotifySocket(kithkin_home.parent / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path), "PYTHONUNBUFFERED": "1",
           "XDG_CONFIG_HOME": str(kithkin_home / "config"),
           "XDG_DATA_HOME": str(kithkin_home / "data")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "kithkin.daemon", "--config", str(mail.config), "run"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        notify.wait_for(
            lambda m: "STATUS=ok" in m, "a STATUS=ok", alive=lambda: proc.poll() is None
        )
        status = mail.status()
        assert status["service"]["state"] == "ok"
        assert [r["uid"] for r in status["set_aside"]] == [mail.uids["m02"]]
        assert mail.logged() == mail.contact_subjects(without=("m02",))
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        notify.close()
    assert proc.returncode == 0, stderr.decode(errors="replace")
