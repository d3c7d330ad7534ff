"""Kithkin against a third real IMAP server: GNU Mailutils' imap4d (tests/mailutils_server.py).

imap4d differs from Dovecot and pymap where it matters to Kithkin: no SPECIAL-USE (Sent is
found by name), `NIL` as INBOX's delimiter, header field names sent back upper-cased as
requested (`FROM: ...`), no UIDPLUS, and mbox files whose bytes show any write.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import ME, ME_ALIAS, CliResult, write_config
from imapclient.response_parser import parse_fetch_response
from mailbuilder import encoded_word, make_message
from mailutils_server import MailutilsServer
from servers import append, create_folder, flags_snapshot, imap_client

from kithkin.daemon.config import load_config
from kithkin.daemon.mail.responses import _from_parsed, fast_fetch_headers
from kithkin.daemon.mail.session import HEADER_ITEM, ImapSession
from kithkin.parsers.headers import parse_headers

ADA = "Ada Lovelace <ada@example.org>"
GRACE = "Grace Hopper <grace@example.net>"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

# What imap4d may hear from a read-only client: no SELECT, STORE, COPY, APPEND, EXPUNGE...
READ_ONLY_COMMANDS = {"CAPABILITY", "LOGIN", "LIST", "NAMESPACE", "EXAMINE", "STATUS", "UID SEARCH",
                      "FETCH", "UID FETCH", "NOOP", "LOGOUT"}  # fmt: skip
# FETCH items that set \Seen (RFC 3501 6.4.5): BODY[...] without .PEEK, RFC822, RFC822.TEXT.
SETS_SEEN = re.compile(r"\bBODY\[|\bRFC822(?:\.TEXT)?(?![.\w])", re.IGNORECASE)
_COMMAND = re.compile(r"^imap4d: C: \S+ (.*)$", re.MULTILINE)


@contextmanager
def connected(server: MailutilsServer, directory: Path) -> Iterator[ImapSession]:
    config = load_config(write_config(directory, server))
    mailbox = ImapSession.connect(config.require_imap(), server.password)
    try:
        yield mailbox
    finally:
        mailbox.logout()


def client_commands(server: MailutilsServer, since: int) -> list[str]:
    """Every command a client sent since byte `since` of imap4d's transcript log."""
    with server.log_file.open("rb") as log:
        log.seek(since)
        text = log.read().decode("utf-8", "replace")
    return _COMMAND.findall(text)


def disk_snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """{path: (size, mtime_ns, sha256)} of every file under `root`."""
    snapshot = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            snapshot[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns, digest)
    return snapshot


@dataclass
class Cli:
    server: MailutilsServer
    config: Path
    run: Callable[..., CliResult]

    def __call__(self, *args: str) -> str:
        result = self.run("--config", str(self.config), *args)
        assert result.exit_code == 0, result.output
        return result.stdout

    def add(self, name: str, *emails: str) -> None:
        self("contacts", "add", name, *[arg for email in emails for arg in ("--email", email)])

    def interactions(self) -> list[tuple]:
        rows = json.loads(self("interactions", "--json"))
        return sorted(
            (r["contact"], r["direction"], r["subject"], r["date"], r["message_id"]) for r in rows
        )


@pytest.fixture
def cli(mailutils: MailutilsServer, tmp_path: Path, run_cli) -> Cli:
    return Cli(mailutils, write_config(tmp_path / "k", mailutils), run_cli)


# --- (a) folders ---------------------------------------------------------------------------


def test_folders_are_found_by_name_as_imap4d_has_no_special_use(
    mailutils: MailutilsServer, tmp_path: Path
) -> None:
    for name in ("Archive", "Lists/Friends", "Sent Items"):
        create_folder(mailutils, name)
    with imap_client(mailutils) as client:
        capabilities = set(client.capabilities())
        listing = {name: flags for flags, _delimiter, name in client.list_folders()}
    assert b"SPECIAL-USE" not in capabilities and b"IMAP4REV1" in capabilities
    assert set(listing) == {"INBOX", "Sent", "Archive", "Lists", "Lists/Friends", "Sent Items"}
    assert not any(flag.lower() in (b"\\sent", b"\\all") for f in listing.values() for flag in f)
    with connected(mailutils, tmp_path / "k") as mailbox:
        folders = mailbox.folders_to_sync()
        commands = list(mailbox.commands)
    # No \Sent anywhere: Sent is taken by its name; `Sent Items`, `Archive` and the
    # \NoSelect `Lists` are not synced, and finding that out took nothing but LIST.
    assert folders == ["INBOX", "Sent"]
    assert commands and all(command.startswith("LIST") for command in commands), commands


# --- (b) the header FETCH ------------------------------------------------------------------


MESSAGES = [
    {"from_": ADA, "to": ME, "subject": "plain"},
    {"from_": "Jürgen Groß <jg@example.de>", "to": ME, "subject": encoded_word("Grüße aus Köln")},
    {"from_": ME, "to": ["a@example.org", "b@example.org"], "subject": "Grüße, raw 8-bit",
     "headers": [("To", "c@example.org"), ("Cc", "A Long Display Name\r\n <d@example.org>")]},
    {"from_": ADA, "to": ME, "subject": '{3} "quoted" {braces}\r\n folded', "message_id": False},
    {"from_": ADA, "to": ME, "subject": "Re: all",
     "headers": {"In-Reply-To": "<a@x>", "References": "<r@x> <a@x>", "List-Id": "<l.example>",
                 "Auto-Submitted": "no", "Precedence": "list", "X-Kithkin-Summary": "abc"}},
    {"from_": ADA, "subject": None, "date": False},
]  # fmt: skip
"""Header shapes worth a look: 8-bit and encoded words, folding, repeated fields, braces
and quotes (literal-like text), no Message-ID, every wanted field, and hardly any."""

# The two header items Kithkin asks for: the whole section, and the first FIRST_READ bytes.
HEADER_ITEMS = [HEADER_ITEM, f"{HEADER_ITEM}<0.16384>"]


@pytest.mark.parametrize("item", HEADER_ITEMS, ids=["whole", "partial"])
def test_header_fetch_shape_is_read_by_the_fast_path_and_agrees_with_imapclient(
    mailutils: MailutilsServer, tmp_path: Path, item: str
) -> None:
    arrived = [datetime(2026, 2, day, 8, 15, tzinfo=UTC) for day in range(1, 7)]
    raws = [make_message(**{"date": T0, **message}) for message in MESSAGES]
    for raw, when in zip(raws, arrived, strict=True):
        assert append(mailutils, "INBOX", raw, msg_time=when) is None  # no UIDPLUS
    with imap_client(mailutils) as client:
        client.normalise_times = False  # aware datetimes, as Kithkin reads them
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        # imaplib's untagged FETCH data: what Kithkin's fast reader is given.
        typ, data = client._imap.uid("FETCH", "1:*", f"({item} INTERNALDATE)")
        reference = client.fetch(uids, [item, "INTERNALDATE"])
    assert typ == "OK" and uids == [1, 2, 3, 4, 5, 6]

    # imap4d's shape: `N (UID n BODY[HEADER.FIELDS (...)]<0> {size}`, the literal, then
    # ` INTERNALDATE "...")`; the partial fetch only adds `<0>` to the section name.
    head, literal = data[0]
    origin = rb"<0>" if item.endswith(">") else rb""
    assert re.fullmatch(rb"1 \(UID 1 BODY\[HEADER\.FIELDS \(FROM TO .* X-KITHKIN-SUMMARY\)\]"
                        + origin + rb" \{\d+\}", head), head  # fmt: skip
    assert re.fullmatch(rb' INTERNALDATE "01-Feb-2026 08:15:00 \+0000"\)', data[1]), data[1]
    # Field names come back upper-cased as asked for, in the message's order.
    assert literal.startswith(b"DATE: ") and b"\r\nFROM: Ada Lovelace" in literal, literal

    fast = fast_fetch_headers(data, set(uids))
    assert fast is not None, data[:2]  # the fast path reads imap4d's shape, no fallback
    general = _from_parsed(parse_fetch_response(data, False, True), set(uids))
    assert [(f.uid, f.header, f.internaldate) for f in fast] == [
        (g.uid, g.header, g.internaldate) for g in general
    ]  # and the imapclient fallback would read the same
    for fetched in fast:
        expected = reference[fetched.uid]
        header = next(v for k, v in expected.items() if k.startswith(b"BODY[HEADER.FIELDS"))
        assert fetched.header == header
        assert fetched.internaldate == expected[b"INTERNALDATE"]
    assert [fetched.internaldate for fetched in fast] == arrived  # APPEND's date-time
    # Despite the renamed fields, Kithkin reads from each exactly what the message says.
    for fetched, raw, when in zip(fast, raws, arrived, strict=True):
        assert parse_headers(fetched.header, fetched.internaldate) == parse_headers(raw, when)


def test_fetch_headers_reads_imap4d(mailutils: MailutilsServer, tmp_path: Path) -> None:
    raws = [make_message(**{"date": T0, **message}) for message in MESSAGES]
    for raw in raws:
        append(mailutils, "INBOX", raw)
    with connected(mailutils, tmp_path / "k") as mailbox:
        mailbox.examine("INBOX")
        fetched = mailbox.fetch_headers([1, 2, 3, 4, 5, 6])
    assert [item.uid for item in fetched] == [1, 2, 3, 4, 5, 6]
    assert all(item.internaldate is not None for item in fetched)
    for item, raw in zip(fetched, raws, strict=True):
        facts = parse_headers(item.header or b"", item.internaldate)
        assert facts == parse_headers(raw, item.internaldate)


def test_a_reply_body_is_read_with_peek_and_sets_no_flag(
    mailutils: MailutilsServer, tmp_path: Path
) -> None:
    raw = make_message(from_=ME, to=ME, subject="Re: your week", body="snooze Ada 3w\n")
    append(mailutils, "INBOX", raw)
    before = flags_snapshot(mailutils)
    with connected(mailutils, tmp_path / "k") as mailbox:
        mailbox.examine("INBOX")
        bodies = mailbox.fetch_bodies([1])
    # mbox storage shows its bookkeeping headers (X-IMAPbase, X-UID) inside the message.
    assert set(bodies) == {1}
    assert bodies[1].endswith(b"\r\n\r\nsnooze Ada 3w\r\n")
    assert b"Subject: Re: your week\r\n" in bodies[1]
    assert flags_snapshot(mailutils) == before == {("INBOX", 1): frozenset()}


# --- (c) a full sync from the command line -------------------------------------------------


def _fill(server: MailutilsServer) -> None:
    """Two contacts (Ada, Grace) among strangers, in INBOX and Sent, some already flagged."""
    put = [
        ("INBOX", {"from_": ADA, "to": ME, "subject": "in from ada", "date": T0,
                   "message_id": "<in-ada@example.org>"}, [r"\Seen"]),
        ("INBOX", {"from_": GRACE, "to": "team@example.net", "cc": ME_ALIAS,
                   "subject": "grace, cc my alias", "date": T0 + timedelta(hours=1),
                   "message_id": "<in-grace@example.net>"}, []),
        ("INBOX", {"from_": "Zed Stranger <zed@strangers.example>", "to": ME,
                   "subject": "Topsecret stranger", "date": T0}, [r"\Flagged"]),
        ("INBOX", {"from_": ADA, "to": ME, "subject": "ada's list mail", "date": T0,
                   "headers": {"List-Id": "<friends.example>"}}, []),
        ("Sent", {"from_": f"Me <{ME}>", "to": "ADA@EXAMPLE.ORG", "subject": "out to ada",
                  "date": T0 + timedelta(days=1), "message_id": "<out-ada@home.example>"},
         [r"\Seen"]),
        ("Sent", {"from_": ME, "to": "zed@strangers.example", "bcc": GRACE,
                  "subject": "out to zed, bcc grace", "date": T0 + timedelta(days=2),
                  "message_id": "<out-zed@home.example>"}, [r"\Seen", r"\Answered"]),
        ("Sent", {"from_": ME, "to": "nobody@strangers.example", "subject": "Topsecret out",
                  "date": T0}, []),
    ]  # fmt: skip
    for folder, message, flags in put:
        append(server, folder, make_message(**message), flags=flags)


EXPECTED = [
    ("Ada Lovelace", "in", "in from ada", "2026-03-02T09:30:00Z", "in-ada@example.org"),
    ("Ada Lovelace", "out", "out to ada", "2026-03-03T09:30:00Z", "out-ada@home.example"),
    ("Grace Hopper", "in", "grace, cc my alias", "2026-03-02T10:30:00Z", "in-grace@example.net"),
    ("Grace Hopper", "out", "out to zed, bcc grace", "2026-03-04T09:30:00Z",
     "out-zed@home.example"),
]  # fmt: skip


def test_kithkin_sync_logs_exactly_the_interactions_and_a_second_sync_adds_nothing(
    cli: Cli,
) -> None:
    cli.add("Ada Lovelace", "ada@example.org")
    cli.add("Grace Hopper", "grace@example.net")
    _fill(cli.server)
    first = cli("sync")
    assert "2 folder(s), 7 new message(s) read, 4 interaction(s) logged" in first, first
    assert cli.interactions() == EXPECTED
    second = cli("sync")
    assert "2 folder(s), 0 new message(s) read, 0 interaction(s) logged" in second, second
    assert cli.interactions() == EXPECTED
    raw = b"".join(p.read_bytes() for p in cli.config.parent.glob("kithkin.db*"))
    assert b"in from ada" in raw  # the search works...
    for text in (b"zed@strangers", b"Zed Stranger", b"Topsecret", b"nobody@strangers"):
        assert text not in raw, text  # ...and finds nothing of the strangers


def test_a_contact_added_later_is_backfilled_by_searching_imap4d(cli: Cli) -> None:
    cli.add("Ada Lovelace", "ada@example.org")
    _fill(cli.server)
    cli("sync")
    assert [row[0] for row in cli.interactions()] == ["Ada Lovelace", "Ada Lovelace"]
    cli.add("Grace Hopper", "grace@example.net")
    output = cli("sync")
    assert "0 new message(s) read, 2 interaction(s) logged" in output, output
    assert cli.interactions() == EXPECTED
    assert "0 interaction(s) logged" in cli("sync")


def test_new_mail_after_an_expunge_is_read(cli: Cli) -> None:
    """Once UIDs and message numbers part (the owner deleted a message), new mail must still
    be found. imap4d 3.15 matches the UID search key against message numbers, so after
    this expunge `UID SEARCH UID 4` finds nothing while `UID FETCH 4` finds the message."""
    cli.add("Ada Lovelace", "ada@example.org")
    for n in range(3):
        append(cli.server, "INBOX", make_message(from_=ADA, to=ME, subject=f"before {n}"))
    assert "3 interaction(s) logged" in cli("sync")
    with imap_client(cli.server) as client:  # the owner deletes one in their mail client
        client.select_folder("INBOX")
        client.delete_messages([1])
        client.expunge()
    append(cli.server, "INBOX", make_message(from_=ADA, to=ME, subject="after the expunge"))
    output = cli("sync")
    assert "1 new message(s) read, 1 interaction(s) logged" in output, output
    assert sorted(row[2] for row in cli.interactions()) == [
        "after the expunge", "before 0", "before 1", "before 2"
    ]  # fmt: skip


# --- (d) read-only -------------------------------------------------------------------------


def test_sync_changes_no_flag_and_no_byte_on_disk(cli: Cli) -> None:
    cli.add("Ada Lovelace", "ada@example.org")
    cli.add("Grace Hopper", "grace@example.net")
    _fill(cli.server)
    flags_before = flags_snapshot(cli.server)
    disk_before = disk_snapshot(cli.server.home)
    log_offset = cli.server.log_file.stat().st_size
    cli("sync")
    cli("sync", "--backfill")  # the backfill's searches and fetches, too
    commands = client_commands(cli.server, log_offset)
    assert len(cli.interactions()) == len(EXPECTED)
    flags_after = flags_snapshot(cli.server)
    assert flags_after == flags_before
    unseen = {key for key, flags in flags_before.items() if "\\Seen" not in flags}
    assert len(unseen) == 4 and all("\\Seen" not in flags_after[key] for key in unseen)
    assert disk_snapshot(cli.server.home) == disk_before
    assert set(disk_before) == {"INBOX", "Sent"}  # the two mbox files, nothing beside them
    # What imap4d heard from Kithkin: only read-only commands, no FETCH item that sets \Seen.
    verbs = [" ".join(command.upper().split()[:2 if command.upper().startswith("UID ") else 1])
             for command in commands]  # fmt: skip
    assert set(verbs) <= READ_ONLY_COMMANDS, commands
    assert verbs.count("EXAMINE") >= 4, commands  # INBOX and Sent, twice
    fetches = [command for command in commands if "FETCH" in command.upper().split()[:2]]
    assert any("BODY.PEEK[HEADER.FIELDS" in fetch for fetch in fetches), commands
    assert not any(SETS_SEEN.search(fetch) for fetch in fetches), fetches


def test_maildir_new_messages_change_uid_on_every_examine_yet_are_logged_once(
    mailutils_maildir: MailutilsServer, tmp_path: Path, run_cli
) -> None:
    """imap4d 3.15 gives a message in a Maildir's new/ a fresh UID at each read-only open
    (only a read-write open moves it to cur/ with a lasting UID), and then resets the
    folder's UIDVALIDITY to the current second. Kithkin reads such a message again on each
    sync and must still log it once, and must never be what moves or renames a file."""
    cli = Cli(mailutils_maildir, write_config(tmp_path / "k", mailutils_maildir), run_cli)
    cli.add("Ada Lovelace", "ada@example.org")
    cli.add("Grace Hopper", "grace@example.net")
    _fill(mailutils_maildir)
    inbox_new = mailutils_maildir.folder_path("INBOX") / "new"
    assert len(list(inbox_new.iterdir())) == 1  # each APPEND moved the one before to cur/

    def message_files() -> set[str]:  # a flag change in a Maildir renames the file
        return {
            str(path.relative_to(mailutils_maildir.home))
            for path in mailutils_maildir.home.rglob("*")
            if path.is_file() and path.parent.name in ("cur", "new")
        }

    files_before = message_files()
    first = cli("sync")
    assert "7 new message(s) read, 4 interaction(s) logged" in first, first
    for _ in range(2):
        again = cli("sync")
        assert ", 0 interaction(s) logged" in again, again
    assert cli.interactions() == EXPECTED
    assert message_files() == files_before
