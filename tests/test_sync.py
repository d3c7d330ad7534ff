"""`kithkin sync` against real IMAP servers (Dovecot and pymap): what it logs, and what not."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import ME, ME_ALIAS, write_config
from mailbuilder import encoded_word, make_message
from servers import ImapServer, append, create_folder, flags_snapshot, recreate_folder

from kithkin.daemon.config import load_config
from kithkin.daemon.mail import listing as listing_module
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.store import Store
from kithkin.daemon.sync import Sync, SyncReport

ADA = "Ada Lovelace <ada@example.org>"
GRACE = "grace@bücher.example"
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@dataclass
class Setup:
    server: ImapServer
    config: Path
    run: Callable

    def sync(self, *args: str) -> dict:
        result = self.run("--config", str(self.config), "sync", *args)
        assert result.exit_code == 0, result.stderr
        return {"stdout": result.stdout, "stderr": result.stderr}

    def interactions(self, *args: str) -> list[dict]:
        result = self.run("--config", str(self.config), "interactions", "--json", *args)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    def add(self, name: str, *emails: str) -> None:
        args = [arg for email in emails for arg in ("--email", email)]
        result = self.run("--config", str(self.config), "contacts", "add", name, *args)
        assert result.exit_code == 0, result.stderr

    def put(self, folder: str, **message) -> None:
        append(self.server, folder, make_message(**message))

    @property
    def db(self) -> Path:
        return self.config.parent / "kithkin.db"

    def engine_run(self, store: Store | None = None) -> tuple[SyncReport, ImapSession]:
        """One `Sync.run()` in this process: its report, and the session (its command record
        and round trips). Into `store` if given (left open), else the store, opened and closed."""
        config = load_config(self.config)
        own = store is None
        store = store or Store.open(self.db)
        mailbox = ImapSession.connect(config.require_imap(), self.server.password)
        try:
            return Sync(mailbox, store, config.me, clock=lambda: T0).run(), mailbox
        finally:
            mailbox.logout()
            if own:
                store.close()


@pytest.fixture
def setup(imap_server: ImapServer, tmp_path: Path, run_cli) -> Setup:
    return Setup(imap_server, write_config(tmp_path / "k", imap_server), run_cli)


def brief(rows: list[dict]) -> list[tuple]:
    return sorted((r["contact"], r["direction"], r["subject"]) for r in rows)


def test_directions_cc_bcc_and_aliases(setup: Setup) -> None:
    setup.add("Ada Lovelace", "ada@example.org")
    setup.add("Grace Hopper", GRACE)
    setup.add("Alan Turing", "alan@example.org")
    setup.put("INBOX", from_=ADA, to=ME, subject="in to me", date=T0)
    setup.put("INBOX", from_=ADA, to="someone@else.example", cc=ME_ALIAS.upper(),
              subject="in, cc to my alias", date=T0)  # fmt: skip
    setup.put("Sent", from_=f"Me <{ME}>", to="ADA@EXAMPLE.ORG", subject="out to ada", date=T0)
    setup.put("Sent", from_=ME, to="x@y.example", cc="grace@xn--bcher-kva.example",
              bcc="Alan <alan@example.org>", subject="out cc and bcc", date=T0)  # fmt: skip
    setup.put("INBOX", from_="alan@example.org", to="list@group.example", subject="not to me")
    output = setup.sync()
    assert "5 new message(s) read, 5 interaction(s) logged" in output["stdout"]
    assert brief(setup.interactions()) == [
        ("Ada Lovelace", "in", "in to me"),
        ("Ada Lovelace", "in", "in, cc to my alias"),
        ("Ada Lovelace", "out", "out to ada"),
        ("Alan Turing", "out", "out cc and bcc"),
        ("Grace Hopper", "out", "out cc and bcc"),
    ]


def test_json_shape_of_interactions(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    setup.put("INBOX", from_=ADA, to=ME, subject=encoded_word("Grüße"), date=T0,
              message_id="<m1@example.org>")  # fmt: skip
    setup.sync()
    rows = setup.interactions()
    assert isinstance(rows[0].pop("id"), int)
    assert rows == [
        {
            "contact": "Ada",
            "date": "2026-03-01T09:30:00Z",
            "direction": "in",
            "message_id": "m1@example.org",
            "subject": "Grüße",
            "kind": "email",
            "note": None,
        }
    ]


def test_lists_auto_replies_bulk_and_summaries_are_not_interactions(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    excluded = [
        {"List-Id": "<friends.lists.example>"},
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"Precedence": "junk"},
        {"X-Kithkin-Summary": "0123456789abcdef"},
    ]
    for headers in excluded:
        setup.put("INBOX", from_=ADA, to=ME, subject=str(headers), headers=headers)
    setup.put("INBOX", from_=ADA, to=ME, subject="a real one", headers={"Auto-Submitted": "no"})
    setup.sync()
    assert brief(setup.interactions()) == [("Ada", "in", "a real one")]


def test_the_same_message_in_two_folders_is_logged_once(setup: Setup) -> None:
    create_folder(setup.server, "Archive")
    config = write_config(setup.config.parent, setup.server,
                          imap={"folders": ["INBOX", "Archive", "Sent"]})  # fmt: skip
    setup.config = config
    setup.add("Ada", "ada@example.org")
    one = make_message(from_=ADA, to=ME, subject="twice", message_id="<dup@example.org>")
    append(setup.server, "INBOX", one)
    append(setup.server, "Archive", one)
    # A message to myself with Ada in Cc, in INBOX and in Sent.
    mine = make_message(from_=ME, to=ME, cc=ADA, subject="to myself", message_id=False,
                        date="Sun, 1 Mar 2026 10:00:00 +0000")  # fmt: skip
    append(setup.server, "INBOX", mine)
    append(setup.server, "Sent", mine)
    setup.sync()
    assert brief(setup.interactions()) == [("Ada", "in", "twice"), ("Ada", "out", "to myself")]


def test_resync_adds_nothing_and_a_new_message_is_picked_up(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    setup.put("INBOX", from_=ADA, to=ME, subject="first")
    setup.sync()
    before = setup.interactions()
    again = setup.sync()
    assert "0 new message(s) read, 0 interaction(s) logged" in again["stdout"]
    assert setup.interactions() == before
    setup.put("INBOX", from_=ADA, to=ME, subject="second")
    setup.sync()
    assert [r["subject"] for r in setup.interactions()].count("second") == 1
    assert len(setup.interactions()) == 2


def test_uidvalidity_reset_rescans_and_adds_nothing(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    sent = [make_message(from_=ME, to=ADA, subject=f"sent {n}") for n in range(3)]
    for raw in sent:
        append(setup.server, "Sent", raw)
    setup.sync()
    assert len(setup.interactions()) == 3
    recreate_folder(setup.server, "Sent")
    for raw in sent:  # the same messages come back under new UIDs
        append(setup.server, "Sent", raw)
    append(setup.server, "Sent", make_message(from_=ME, to=ADA, subject="new after reset"))
    setup.sync()
    assert sorted(r["subject"] for r in setup.interactions()) == [
        "new after reset", "sent 0", "sent 1", "sent 2",
    ]  # fmt: skip


def test_sync_changes_no_flag_on_the_server(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    flags = [(), ("\\Seen",), ("\\Flagged",), ("\\Answered", "\\Seen"), ("$Label1",)]
    for n, flag_set in enumerate(flags):
        append(setup.server, "INBOX", make_message(from_=ADA, to=ME, subject=f"m{n}"), flag_set)
        append(setup.server, "Sent", make_message(from_=ME, to=ADA, subject=f"s{n}"), flag_set)
    before = flags_snapshot(setup.server)
    setup.sync()
    setup.add("Late", "late@example.org")  # a backfill search and fetch, too
    setup.sync("--backfill")
    assert flags_snapshot(setup.server) == before
    assert len(setup.interactions()) == 10


def test_non_contacts_leave_no_trace_in_the_database_file(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    setup.put("INBOX", from_=ADA, to=ME, subject="hello from ada")
    strangers = []
    for n in range(20):
        name, address, subject = f"Zebulon{n} Quux", f"zeb{n}@strangers.example", f"Topsecret{n}"
        strangers += [name, address, subject]
        setup.put("INBOX", from_=f"{name} <{address}>", to=ME, subject=subject)
        setup.put("Sent", from_=ME, to=f"{name} <{address}>", cc=ADA if n == 0 else (),
                  subject=f"Re: {subject}")  # fmt: skip
    setup.sync()
    raw = b"".join(p.read_bytes() for p in setup.db.parent.glob("kithkin.db*"))
    assert b"hello from ada" in raw  # the search works...
    for text in strangers:
        # ...and finds nothing of theirs, except the subject of the one mail Ada was copied on
        if text == "Topsecret0":
            continue
        assert text.encode() not in raw, text
    assert b"Zebulon0" not in raw and b"zeb0@" not in raw


def test_a_contact_added_later_is_backfilled_by_a_targeted_search(setup, tmp_path) -> None:
    setup.add("Ada", "ada@example.org")
    for n in range(30):
        setup.put("INBOX", from_=f"other{n}@example.org", to=ME, subject=f"other {n}")
    setup.put("INBOX", from_="Grace <grace@example.org>", to=ME, subject="from grace")
    setup.put("Sent", from_=ME, to="GRACE@example.org", subject="to grace")
    setup.put("Sent", from_=ME, bcc="grace@example.org", subject="bcc grace")
    setup.sync()
    assert setup.interactions() == []
    setup.add("Grace", "grace@example.org")
    store = Store.open(setup.db)
    assert store.backfill.pending() == ["grace@example.org"]
    report, mailbox = setup.engine_run(store)
    assert report.logged == 3
    searches = [c for c in mailbox.commands if c.startswith("UID SEARCH") and "FROM" in c]
    assert searches, mailbox.commands
    fetched = [c for c in mailbox.commands if c.startswith("UID FETCH")]
    assert all(" 1 messages" in c or " 2 messages" in c for c in fetched), fetched
    assert store.backfill.pending() == []
    store.close()
    assert brief(setup.interactions()) == [
        ("Grace", "in", "from grace"), ("Grace", "out", "bcc grace"), ("Grace", "out", "to grace"),
    ]  # fmt: skip


def test_backfill_falls_back_to_scanning_when_many_addresses_are_new(setup, monkeypatch):
    monkeypatch.setattr("kithkin.daemon.sync.engine.SEARCH_LIMIT", 1)
    setup.put("INBOX", from_=ADA, to=ME, subject="old ada")
    setup.put("INBOX", from_="bob@example.org", to=ME, subject="old bob")
    setup.sync()
    setup.add("Ada", "ada@example.org")
    setup.add("Bob", "bob@example.org")
    setup.sync()
    assert brief(setup.interactions()) == [("Ada", "in", "old ada"), ("Bob", "in", "old bob")]


def test_windows_of_uid_search_cover_everything_exactly_once(setup, monkeypatch) -> None:
    monkeypatch.setattr(listing_module, "LIST_WINDOW", 3)
    monkeypatch.setattr(listing_module, "FIRST_LIST_WINDOW", 2)
    monkeypatch.setattr("kithkin.daemon.sync.batches.FETCH_BATCH", 2)
    setup.add("Ada", "ada@example.org")
    for n in range(11):
        setup.put("INBOX", from_=ADA, to=ME, subject=f"m{n:02d}")
    setup.sync()
    assert sorted(r["subject"] for r in setup.interactions()) == [f"m{n:02d}" for n in range(11)]


def test_a_message_that_cannot_be_read_is_counted_and_skipped(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    setup.put("INBOX", from_=ADA, to=ME, subject="no date at all", date=False)
    setup.put("INBOX", from_=ADA, to=ME, subject="bogus date", date="Someday, 99 Foo 20xx")
    setup.put("INBOX", from_=ADA, to=ME, subject="fine")
    setup.sync()
    # Without a usable Date the server's INTERNALDATE is used, so all three are logged.
    assert sorted(r["subject"] for r in setup.interactions()) == [
        "bogus date", "fine", "no date at all",
    ]  # fmt: skip


def test_progress_is_plain_lines_when_not_on_a_terminal(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    for n in range(3):
        setup.put("INBOX", from_=ADA, to=ME, subject=f"m{n}")
    output = setup.sync()
    assert "INBOX: 3 message(s) to read" in output["stderr"]
    assert "INBOX: 3/3 read, 3 logged" in output["stderr"]


def test_interactions_for_one_person_newest_first(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    setup.add("Bob", "bob@example.org")
    for n, when in enumerate([T0, T0 + timedelta(days=2), T0 + timedelta(days=1)]):
        setup.put("INBOX", from_=ADA, to=ME, subject=f"ada {n}", date=when)
    setup.put("INBOX", from_="bob@example.org", to=ME, subject="bob")
    setup.sync()
    assert [r["subject"] for r in setup.interactions("ada")] == ["ada 1", "ada 2", "ada 0"]


def test_the_cursor_survives_in_the_store(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    setup.put("INBOX", from_=ADA, to=ME, subject="one")
    setup.sync()
    conn = sqlite3.connect(setup.db)
    rows = dict(conn.execute("SELECT name, last_uid FROM folders").fetchall())
    assert set(rows) == {"INBOX", "Sent"}
    assert rows["INBOX"] > 0


def test_gmail_style_all_mail_is_synced_instead_of_inbox_and_sent(dovecot_all_mail, tmp_path,
                                                                  run_cli) -> None:  # fmt: skip
    setup = Setup(dovecot_all_mail, write_config(tmp_path / "k", dovecot_all_mail), run_cli)
    setup.add("Ada", "ada@example.org")
    setup.put("All Mail", from_=ADA, to=ME, subject="in all mail")
    setup.put("All Mail", from_=ME, to=ADA, subject="sent, in all mail")
    setup.put("INBOX", from_=ADA, to=ME, subject="only in inbox")  # a label view on Gmail
    output = setup.sync()
    assert "1 folder(s)" in output["stdout"]
    assert sorted(r["subject"] for r in setup.interactions()) == [
        "in all mail", "sent, in all mail",
    ]  # fmt: skip


def test_folders_setting_overrides_discovery(setup: Setup) -> None:
    create_folder(setup.server, "Friends")
    setup.config = write_config(setup.config.parent, setup.server, imap={"folders": ["Friends"]})
    setup.add("Ada", "ada@example.org")
    setup.put("Friends", from_=ADA, to=ME, subject="filed")
    setup.put("INBOX", from_=ADA, to=ME, subject="not synced")
    setup.sync()
    assert [r["subject"] for r in setup.interactions()] == ["filed"]


def test_an_unchanged_folder_is_skipped_without_search_or_fetch(setup: Setup) -> None:
    setup.add("Ada", "ada@example.org")
    setup.put("INBOX", from_=ADA, to=ME, subject="one")
    setup.sync()
    report, mailbox = setup.engine_run()
    assert all(folder.unchanged for folder in report.folders)
    # STATUS says nothing changed: no EXAMINE, and both STATUS with LIST in one round trip
    assert [c.split()[0] for c in mailbox.commands] == ["STATUS", "STATUS", "LIST"]
    assert mailbox.turns == 1


def test_a_changed_folder_costs_two_round_trips(setup: Setup) -> None:
    """EXAMINE goes with the first listing window, then one FETCH: an idle poll of a
    distant server pays for the folders that changed, and little more."""
    setup.add("Ada", "ada@example.org")
    setup.put("INBOX", from_=ADA, to=ME, subject="one")
    setup.sync()
    setup.put("INBOX", from_=ADA, to=ME, subject="two")
    report, mailbox = setup.engine_run()
    assert [folder.unchanged for folder in report.folders] == [False, True]
    assert report.folders[0].messages == 1
    commands = list(mailbox.commands)
    assert [c.split()[0] for c in commands[:4]] == ["STATUS", "STATUS", "LIST", "EXAMINE"]
    assert commands[4].endswith(("(UID)", "RETURN (ALL) 1:*")), commands  # FETCH or ESEARCH
    assert commands[5].startswith("UID FETCH 1 messages (BODY.PEEK[HEADER"), commands
    assert len(commands) == 6, commands
    assert mailbox.turns == 3  # LIST + STATUS; EXAMINE + listing; FETCH


def test_a_terminal_gets_a_progress_bar_with_counts(setup: Setup) -> None:
    import os
    import pty
    import subprocess
    import sys

    setup.add("Ada", "ada@example.org")
    for n in range(3):
        setup.put("INBOX", from_=ADA, to=ME, subject=f"m{n}")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kithkin.daemon", "--config", str(setup.config), "sync"],
        stdin=follower, stdout=follower, stderr=follower, close_fds=True,
    )  # fmt: skip
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait() == 0
    os.close(leader)
    text = output.decode(errors="replace")
    assert "INBOX" in text and "3/3" in text and "3 logged" in text
    assert "Synced: 2 folder(s), 3 new message(s) read, 3 interaction(s) logged" in text


def test_uids_near_the_top_of_the_range_cost_a_few_commands(dovecot, tmp_path, run_cli) -> None:
    """A folder of 10 messages with UIDNEXT near 4,000,000,000: listing them takes a few
    commands, not a search per window of UIDs up to there (tens of thousands)."""
    setup = Setup(dovecot, write_config(tmp_path / "k", dovecot), run_cli)
    setup.add("Ada", "ada@example.org")
    setup.put("INBOX", from_=ADA, to=ME, subject="before")  # creates the mailbox
    dovecot.doveadm("mailbox", "update", "-u", dovecot.username, "--min-next-uid",
                    "4000000000", "INBOX")  # fmt: skip
    for n in range(10):
        setup.put("INBOX", from_=ADA, to=ME, subject=f"high {n}")
    config = load_config(setup.config)
    with Store.open(config.store_path) as store:
        mailbox = ImapSession.connect(config.require_imap(), dovecot.password)
        try:
            Sync(mailbox, store, config.me, clock=lambda: T0).run()
            assert store.folders.get("INBOX").last_uid >= 4_000_000_000
        finally:
            mailbox.logout()
    listing = [c for c in mailbox.commands if "SEARCH" in c or c.endswith("(UID)")]
    assert len(listing) <= 4, listing
    assert sorted(r["subject"] for r in setup.interactions()) == sorted(
        ["before", *(f"high {n}" for n in range(10))]
    )


def test_huge_address_lists_are_read_in_part_and_the_rest_of_the_header_whole(setup) -> None:
    """Three messages whose To: is 30,000 addresses (700 KB, past every read limit) with
    Subject and Message-ID after it: each is logged once, with its own subject and id (the
    fields beyond the cut are read on their own); the report counts them."""
    setup.add("Ada", "ada@example.org")
    crowd = [f"reader{n:05d}@crowd.example" for n in range(30_000)]
    for n in range(3):
        setup.put("INBOX", from_=ADA, to=[ME, *crowd], subject=f"huge {n}",
                  message_id=f"<huge{n}@example.org>", date=T0 + timedelta(hours=n))  # fmt: skip
    setup.put("INBOX", from_=ADA, to=ME, subject="small", date=T0)
    setup.put("INBOX", from_=ADA, to=[*crowd[:1500], ME], subject="many", date=T0)
    output = setup.sync()
    assert "4 with address lists longer than is read" in output["stdout"]
    rows = {r["subject"]: r["message_id"] for r in setup.interactions()}
    assert rows == {
        "huge 0": "huge0@example.org",
        "huge 1": "huge1@example.org",
        "huge 2": "huge2@example.org",
        "small": rows["small"],
    }  # "many" names me only after the 1,000th address: not read that far
