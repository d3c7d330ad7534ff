"""`kithkin suggest` against Dovecot: a generated Sent folder and INBOX with close friends,
a weaker acquaintance, one-way mail, newsletters, a list, no-reply and role addresses, the
owner's alias, an existing contact and old mail. The friends rank first, the rest is left
out, the mailbox is only read (EXAMINE, BODY.PEEK; no flag changes), nothing of anyone is
written to the database or its -wal/-shm (byte search), `--add-top 2` adds exactly the top
two, and `--add` asks on a real terminal (a pty) and refuses without one."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import ME, ME_ALIAS, CliResult, write_config
from mailboxes import flags_snapshot, imap_client
from mailbuilder import make_message
from servers import DovecotServer, ImapServer

from kithkin.daemon.config import load_config
from kithkin.daemon.core.suggestions import Correspondence
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.suggest.reading import read_correspondence

AS_OF = "2026-06-01"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OWNER = f"Sam Owner <{ME}>"
CONTACT = ("Ada Lovelace", "ada@example.org")

# Everyone below except Ada is a stranger to the store: none of these may reach its files.
CLEO = "Cleo Quillfeather"
DAN = "Dunstan Marrowby"
STRANGER_NEEDLES = {
    "friend 1": b"cleo.quill@friends.example", "friend 1 (phone)": b"cq-phone@mobile.example",
    "friend 1 name": CLEO.encode(), "friend 2": b"dunstan@friends.example",
    "friend 2 name": DAN.encode(), "acquaintance": b"evander@acquaint.example",
    "one-way": b"mumsy@family.example", "newsletter": b"deals@shopzilla.example",
    "list": b"dev@lists.zorblist.example", "poster": b"poster@zorblist-people.example",
    "noreply": b"noreply@shopzilla.example", "support": b"support@shopzilla.example",
    "bounce": b"mailer-daemon@bounce.example", "old friend": b"fossil@oldtimes.example",
    "a stranger's subject": b"Quillfeather-Topic",
}  # fmt: skip


def day(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


def mail(
    folder: str, *, out: bool, other: str, days_ago: float, **kw
) -> tuple[str, bytes, datetime]:
    when = day(days_ago)
    if out:
        raw = make_message(from_=OWNER, to=other, date=when, **kw)
    else:
        raw = make_message(from_=other, to=OWNER, date=when, **kw)
    return folder, raw, when


def both_ways(other: str, sent: int, received: int, every: float, since: float = 0, **kw):
    return [mail("Sent", out=True, other=other, days_ago=since + i * every, **kw)
            for i in range(sent)] + [
        mail("INBOX", out=False, other=other, days_ago=since + i * every + 0.3, **kw)
        for i in range(received)
    ]  # fmt: skip


def mailbox() -> list[tuple[str, bytes, datetime]]:
    return [
        *both_ways(f"{CLEO} <cleo.quill@friends.example>", 14, 12, 6,
                   subject="Quillfeather-Topic dinner"),
        *both_ways("cleo quillfeather <cq-phone@mobile.example>", 0, 3, 9),
        *both_ways(f"{DAN} <dunstan@friends.example>", 8, 8, 12),
        *both_ways("Evander Acquaint <evander@acquaint.example>", 2, 1, 90),
        *both_ways("Mumsy <mumsy@family.example>", 5, 0, 30),
        *both_ways("Shopzilla Deals <deals@shopzilla.example>", 0, 40, 3),
        *both_ways("dev@lists.zorblist.example", 6, 0, 20),
        *both_ways("Pat Poster <poster@zorblist-people.example>", 0, 20, 5,
                   headers={"List-Id": "Zorb dev <dev.lists.zorblist.example>"}),
        *both_ways("noreply@shopzilla.example", 0, 15, 7),
        *both_ways("Shopzilla Support <support@shopzilla.example>", 4, 4, 10),
        *both_ways("mailer-daemon@bounce.example", 0, 3, 30,
                   headers={"Auto-Submitted": "auto-replied"}),
        *both_ways(ME_ALIAS, 5, 5, 11),
        *both_ways(f"{CONTACT[0]} <{CONTACT[1]}>", 9, 9, 8),
        *both_ways("Fossil Friend <fossil@oldtimes.example>", 20, 20, 5, since=3 * 365),
    ]  # fmt: skip


@dataclass
class Setup:
    server: DovecotServer
    config: Path
    store: Path
    run: Callable[..., CliResult]

    def kithkin(self, *args: str, input: str | None = None) -> CliResult:
        return self.run("--config", str(self.config), *args, input=input)

    def db_bytes(self) -> dict[str, bytes]:
        files = sorted(self.store.parent.glob(self.store.name + "*"))
        return {p.name: p.read_bytes() for p in files if p.is_file()}


def fill(server: ImapServer, messages: list[tuple[str, bytes, datetime]]) -> None:
    with imap_client(server) as client:
        for folder, raw, when in messages:
            client.append(folder, raw, msg_time=when)


@pytest.fixture
def setup(dovecot: DovecotServer, tmp_path: Path, run_cli: Callable[..., CliResult]) -> Setup:
    config = write_config(tmp_path / "k", dovecot, sections={"summary": {"timezone": "UTC"}})
    fill(dovecot, mailbox())
    s = Setup(dovecot, config, tmp_path / "k" / "kithkin.db", run_cli)
    added = s.kithkin("contacts", "add", CONTACT[0], "--email", CONTACT[1])
    assert added.exit_code == 0, added.output
    return s


def places(found: dict[str, bytes]) -> list[str]:
    return [f"{what} in {name}" for name, data in found.items()
            for what, needle in STRANGER_NEEDLES.items() if needle in data]  # fmt: skip


def test_friends_rank_first_the_rest_is_left_out_and_nothing_is_written(setup: Setup) -> None:
    flags = flags_snapshot(setup.server)
    before = setup.db_bytes()
    assert CONTACT[1].encode() in before["kithkin.db"]  # the byte search finds what is there

    listed = setup.kithkin("suggest", "--as-of", AS_OF)
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    rows = [line for line in lines if line[:3].strip().isdigit()]
    assert CLEO in rows[0] and "cleo.quill@friends.example" in rows[0]
    assert DAN in rows[1]
    assert "Evander" in rows[2] and "Mumsy" in rows[3] and len(rows) == 4
    # Cleo's phone address (same name, other case) is hers, listed under her row
    assert "cq-phone@mobile.example" in lines[lines.index(rows[0]) + 1]
    assert "14" in rows[0] and "15" in rows[0] and "2026-06-01" in rows[0]
    for left_out in (b"deals@", b"lists.zorblist", b"poster@", b"noreply@", b"support@",
                     b"mailer-daemon", b"old-job", b"ada@", b"fossil@"):  # fmt: skip
        assert left_out.decode() not in listed.stdout.lower()
    assert (
        f"Read {len(mailbox()) - 40} message(s) since 2024-06-01 in INBOX, Sent." in listed.stderr
    )

    as_json = setup.kithkin("suggest", "--as-of", AS_OF, "--json", "--limit", "2", "-q")
    assert as_json.exit_code == 0, as_json.output
    people = json.loads(as_json.stdout)
    assert [p["name"] for p in people] == [CLEO, DAN]
    assert people[0]["emails"] == ["cleo.quill@friends.example", "cq-phone@mobile.example"]
    assert (people[0]["sent"], people[0]["received"]) == (14, 15)
    assert people[0]["last_exchange"] == "2026-06-01T12:00:00Z"
    assert as_json.stderr == ""

    after = setup.db_bytes()
    assert not places(after)
    assert after["kithkin.db"] == before["kithkin.db"]
    assert flags_snapshot(setup.server) == flags


def test_add_top_two_adds_exactly_those_two(setup: Setup) -> None:
    added = setup.kithkin("suggest", "--as-of", AS_OF, "--add-top", "2", "-q")
    assert added.exit_code == 0, added.output
    assert "Added 2 contact(s)." in added.stdout
    book = json.loads(setup.kithkin("contacts", "list", "--json").stdout)
    assert sorted((c["name"], tuple(c["emails"])) for c in book) == [
        (CONTACT[0], (CONTACT[1],)),
        (CLEO, ("cleo.quill@friends.example", "cq-phone@mobile.example")),
        (DAN, ("dunstan@friends.example",)),
    ]
    left = {k: v for k, v in STRANGER_NEEDLES.items() if not k.startswith("friend")}
    found = setup.db_bytes()
    assert b"cq-phone@mobile.example" in b"".join(found.values())
    assert [f"{what} in {name}" for name, data in found.items() for what, needle in left.items()
            if needle in data] == []  # fmt: skip
    again = setup.kithkin("suggest", "--as-of", AS_OF, "--json", "-q")
    assert [p["emails"][0] for p in json.loads(again.stdout)] == [
        "evander@acquaint.example", "mumsy@family.example"
    ]  # fmt: skip


def test_add_without_a_terminal_is_refused_in_one_line(setup: Setup) -> None:
    refused = setup.kithkin("suggest", "--add", input="y\n")
    assert refused.exit_code == 2
    assert refused.stderr.count("\n") == 1
    assert "needs a terminal" in refused.stderr and "--add-top" in refused.stderr
    for args in (["--add", "--add-top", "2"], ["--json", "--add-top", "1"], ["--since", "6m"]):
        wrong = setup.kithkin("suggest", *args)
        assert wrong.exit_code == 2 and wrong.stderr.startswith("kithkin: error: "), args


def test_add_asks_on_a_terminal(setup: Setup, kithkin_home: Path) -> None:
    """On a pty: edit the first suggestion's name, pass the second, add the third, quit."""
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "kithkin.daemon", "--config", str(setup.config), "suggest",
         "--add", "--as-of", AS_OF, "-q"],
        stdin=terminal, stdout=terminal, stderr=subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    os.close(terminal)
    os.write(main, b"e\nCleo from Choir\nn\ny\nq\n")
    output = b""
    while True:
        ready, _, _ = select.select([main], [], [], 120)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    text = output.decode()
    assert f"1/4  {CLEO} <cleo.quill@friends.example, cq-phone@mobile.example>" in text
    assert "Name [" in text and "Added Cleo from Choir" in text and "Added 2 contact(s)." in text
    book = json.loads(setup.kithkin("contacts", "list", "--json").stdout)
    assert sorted(c["name"] for c in book) == [CONTACT[0], "Cleo from Choir", "Evander Acquaint"]


def test_only_headers_are_read_and_only_read_only(setup: Setup) -> None:
    """The session's own record: EXAMINE, never SELECT or STORE; every FETCH a BODY.PEEK of
    header fields; old mail not even fetched (SINCE)."""
    config = load_config(setup.config)
    assert config.imap is not None
    session = ImapSession.connect(config.imap, setup.server.password)
    correspondence = Correspondence(now=NOW, start=NOW - timedelta(days=730), me=config.me)
    try:
        report = read_correspondence(session, correspondence)
    finally:
        session.logout()
    commands = list(session.commands)
    assert any(c.startswith("EXAMINE") for c in commands)
    assert not any(c.split(" ", 1)[0] in ("SELECT", "STORE", "APPEND", "EXPUNGE", "COPY")
                   for c in commands)  # fmt: skip
    fetches = [c for c in commands if c.startswith("UID FETCH")]
    assert fetches and all("BODY.PEEK[HEADER.FIELDS" in c or "(UID)" in c for c in fetches)
    assert any(c.startswith("UID SEARCH SINCE") for c in commands)
    everything = len(mailbox())
    assert report.messages == everything - 40  # the 40 of three years ago are not listed
    assert report.folders.keys() == {"INBOX", "Sent"}


def test_without_a_store_none_is_created(
    dovecot: DovecotServer, tmp_path: Path, run_cli: Callable[..., CliResult]
) -> None:
    config = write_config(tmp_path / "k", dovecot, sections={"summary": {"timezone": "UTC"}})
    fill(dovecot, mailbox()[:40])
    listed = run_cli("--config", str(config), "suggest", "--as-of", AS_OF, "--json", "-q")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)[0]["name"] == CLEO
    assert list((tmp_path / "k").glob("kithkin.db*")) == []
