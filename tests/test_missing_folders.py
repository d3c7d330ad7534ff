"""A folder in `[imap] folders` that the server does not have: named once, with the names
like it, the other folders still synced; `kithkin sync` exits 2, the service records it as
the folder's error and logs it once, not at every poll."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import ME, write_config
from mailbuilder import make_message
from memorysource import MemoryMailbox, MemorySource
from notifysocket import NotifySocket
from servers import DovecotServer, append, create_folder
from test_service import Daemon, logged, wait_until

from kithkin.daemon.mail.folders import MissingFolder, missing_folders
from kithkin.daemon.store import Store
from kithkin.daemon.sync import Sync

ADA = "ada@example.org"
LISTING = [
    ((b"\\HasNoChildren",), b"/", "INBOX"),
    ((b"\\Sent",), b"/", "Sent"),
    ((), b"/", "Archive"),
    ((), b"/", "Archive/2024"),
    ((b"\\Noselect", b"\\HasChildren"), b"/", "Lists"),
    ((), b"/", "Lists/Friends"),
    ((b"\\NonExistent",), b"/", "Gone"),
    ((), b"/", "Work Stuff"),
]


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        (["INBOX", "Sent"], []),
        (["inbox", "Inbox"], []),  # INBOX in any case (RFC 3501)
        (["Archiv"], [MissingFolder("Archiv", ("Archive", "Archive/2024"))]),
        (["sent"], [MissingFolder("sent", ("Sent",))]),  # other names are case-sensitive
        (["Lists"], [MissingFolder("Lists", (), listed=True)]),  # a parent only
        (
            ["Friends", "2024"],
            [
                MissingFolder("Friends", ("Lists/Friends",)),
                MissingFolder("2024", ("Archive/2024",)),
            ],
        ),  # the last part
        (["Gone"], [MissingFolder("Gone", (), listed=True)]),
        (["Nothing Like It"], [MissingFolder("Nothing Like It")]),
        (["Archiv", "INBOX", "Archiv"], [MissingFolder("Archiv", ("Archive", "Archive/2024"))]),
    ],
)
def test_missing_folders_over_a_listing(configured, expected) -> None:
    assert missing_folders(configured, LISTING) == expected


def test_a_missing_folder_is_described_in_one_clean_line() -> None:
    line = MissingFolder("Arch\x1b[31miv", ("Archive\n", "Arc")).describe()
    assert line == (
        'folder "Archiv" in [imap] folders does not exist on the server; similar: "Archive", "Arc"'
    )
    assert "\x1b" not in line and "\n" not in line
    assert "holds no mail" in MissingFolder("Lists", listed=True).describe()


def test_a_huge_listing_is_compared_in_part() -> None:
    listing = [((), b"/", f"Folder {n:05d}") for n in range(50_000)]
    (missing,) = missing_folders(["Folder 4999"], listing)
    assert len(missing.similar) == 3  # bounded, whatever the server lists


# --- the engine, over the in-memory source ---------------------------------------------------


def test_the_engine_never_examines_a_missing_folder(tmp_path: Path) -> None:
    mailbox = MemoryMailbox()
    mailbox.append("INBOX", make_message(from_=ADA, to=ME, subject="hello"))
    source = MemorySource(mailbox, folders=["INBOX", "Archiv"])
    store = Store.open(tmp_path / "k.db")
    with store.atomic():
        store.contacts.add("Ada", [ADA], now=datetime(2026, 1, 1, tzinfo=UTC))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    report = Sync(source, store, [ME], clock=lambda: now).run()
    assert "EXAMINE Archiv" not in source.commands
    assert report.logged == 1
    assert report.errors == ['folder "Archiv" in [imap] folders does not exist on the server']
    assert "1 folder(s) not synced" in report.summary()
    assert store.folders.get("Archiv").last_error == report.errors[0]
    store.close()


# --- `kithkin sync` and `kithkin run` against Dovecot ------------------------------------------


@pytest.fixture
def archiv(dovecot: DovecotServer, tmp_path: Path, run_cli) -> Path:
    """A config naming `Archiv` (a typo: the server has `Archive`) beside INBOX and Sent."""
    create_folder(dovecot, "Archive")
    config = write_config(tmp_path / "k", dovecot, imap={"folders": ["INBOX", "Archiv", "Sent"]},
                          sections={"daemon": {"poll_interval": "1s"}})  # fmt: skip
    assert run_cli("--config", str(config), "contacts", "add", "Ada", "--email", ADA).exit_code == 0
    append(dovecot, "INBOX", make_message(from_=ADA, to=ME, subject="in inbox"))
    append(dovecot, "Sent", make_message(from_=ME, to=ADA, subject="in sent"))
    return config


def test_sync_names_the_missing_folder_once_and_syncs_the_others(archiv: Path, run_cli) -> None:
    for _ in range(2):  # and again the next time: the error is not only said when new
        result = run_cli("--config", str(archiv), "sync")
        assert result.exit_code == 2, result.output
        mentions = [line for line in result.output.splitlines() if "Archiv" in line]
        expected = (
            'kithkin: error: folder "Archiv" in [imap] folders does not exist on the server; '
            'similar: "Archive"'
        )
        assert mentions == [expected], result.output
        assert "3 folder(s), " in result.stdout and "1 folder(s) not synced" in result.stdout
    assert sorted(logged(archiv, run_cli)) == ["in inbox", "in sent"]
    status = json.loads(run_cli("--config", str(archiv), "status", "--json").stdout)
    errors = {folder["name"]: folder["last_error"] for folder in status["folders"]}
    assert errors == {"INBOX": None, "Sent": None, "Archiv": mentions[0][len("kithkin: error: ") :]}


def test_the_service_records_a_missing_folder_and_logs_it_once(
    archiv: Path, kithkin_home: Path, tmp_path: Path, run_cli
) -> None:
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = Daemon(archiv, kithkin_home, notify)
    try:
        wait_until(lambda: sorted(logged(archiv, run_cli)) == ["in inbox", "in sent"], "synced")
        polls = lambda: sum("STATUS=ok at" in m for m in notify.messages)  # noqa: E731
        wait_until(lambda: notify.collect() or polls() >= 4, "four polls")
        assert daemon.stop() == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()
        notify.close()
    mentions = [line for line in daemon.log().splitlines() if "Archiv" in line]
    assert len(mentions) == 1, daemon.log()
    assert re.search(r'WARNING not synced: folder "Archiv" .* similar: "Archive"$', mentions[0])
    assert any("1 folder(s) not synced" in m for m in notify.messages)
    status = run_cli("--config", str(archiv), "status")
    assert 'last error: folder "Archiv" in [imap] folders does not exist' in status.stdout
