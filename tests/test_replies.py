"""Steering Kithkin by replying to its summary, against Dovecot: what is applied (once), what
is refused, and that no other body is ever read and no flag ever changes."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
from helpers import ME, ME_ALIAS, write_config
from mailbuilder import make_message
from servers import append, flags_snapshot, imap_client

from kithkin.daemon.config import load_config
from kithkin.daemon.imap import Mailbox
from kithkin.daemon.store import Store
from kithkin.daemon.sync import Sync
from kithkin.parsers.replies import command_lines, html_to_text

AS_OF = "2026-11-23"
REPLY_DATE = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
QUOTED = (
    "\r\n\r\nOn Mon, 23 Nov 2026 at 08:00, Kithkin <me@home.example>\r\nwrote:\r\n"
    "> Fading: time to write\r\n> snooze Adam Smith 3w\r\n"
)
SIGNATURE = "\r\n-- \r\nMe\r\nmute Adam Smith\r\n"


class Owner:
    def __init__(self, server, tmp_path: Path, run_cli) -> None:
        self.server = server
        self.config = write_config(
            tmp_path / "k", server, sections={"summary": {"delivery": "imap"}}
        )
        self.run_cli = run_cli
        people = [("Ada Lovelace", "ada@example.org"), ("Adam Smith", "adam@example.org"),
                  ("Bob", "bob@example.org")]  # fmt: skip
        for name, address in people:
            assert self.cli("contacts", "add", name, "--email", address).exit_code == 0
        old = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
        for address in ("ada@example.org", "adam@example.org", "bob@example.org"):
            append(server, "Sent", make_message(from_=ME, to=address, subject="hi", date=old))
        assert self.cli("sync", "-q").exit_code == 0
        assert self.cli("summary", "--send", "--as-of", AS_OF).exit_code == 0
        self.token, self.message_id = self._summary()

    def cli(self, *args: str):
        return self.run_cli("--config", str(self.config), *args)

    def _summary(self) -> tuple[str, str]:
        with imap_client(self.server) as client:
            client.select_folder("INBOX", readonly=True)
            (uid,) = client.search(["HEADER", "X-Kithkin-Summary", ""])
            raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
        message = email.message_from_bytes(raw, policy=policy.default)
        return str(message["X-Kithkin-Summary"]), str(message["Message-ID"])

    def reply(self, body: str, *, sender: str = ME, in_reply_to: str | None = "summary",
              subject: str = "Re: Kithkin: 3 people to write to", folder: str = "Sent",
              html: bool = False) -> bytes:  # fmt: skip
        headers: dict[str, str] = {}
        if in_reply_to == "summary":
            headers["In-Reply-To"] = self.message_id
            headers["References"] = self.message_id
        elif in_reply_to:
            headers["In-Reply-To"] = in_reply_to
        if html:
            headers["Content-Type"] = "text/html; charset=utf-8"
        raw = make_message(from_=sender, to=ME, subject=subject, date=REPLY_DATE,
                           headers=headers, body=body)  # fmt: skip
        append(self.server, folder, raw)
        return raw

    def contacts(self) -> dict[str, dict]:
        listed = json.loads(self.cli("contacts", "list", "--json").stdout)
        return {c["name"]: c for c in listed}

    def store(self) -> Store:
        return Store.open(load_config(self.config).store_path)

    def status(self) -> dict:
        return json.loads(self.cli("status", "--json").stdout)


@pytest.fixture
def owner(dovecot, tmp_path: Path, run_cli) -> Owner:
    return Owner(dovecot, tmp_path, run_cli)


def test_every_command_is_applied_once(owner: Owner) -> None:
    owner.reply(
        "snooze Ada Lovelace 3w\r\nmute Bob\r\nevery Adam Smith 14d\r\n"
        "called Adam 2026-11-20\r\nmet Ada Lovelace\r\nnote Ada Lovelace new job at the museum\r\n"
        + QUOTED
        + SIGNATURE
    )
    assert owner.cli("sync", "-q").exit_code == 0
    people = owner.contacts()
    store = owner.store()
    ada = next(c for c in store.contacts() if c.name == "Ada Lovelace")
    assert ada.snoozed_until == "2026-12-14"
    assert next(c for c in store.contacts() if c.name == "Bob").muted
    assert people["Adam Smith"]["every_days"] == 14
    assert store.notes(ada.id) == [{"id": 1, "date": "2026-11-23", "text": "new job at the museum"}]
    manual = [(r["contact"], r["kind"], r["date"][:10]) for r in store.interactions()
              if r["kind"] != "email"]  # fmt: skip
    assert sorted(manual) == [("Ada Lovelace", "meeting", "2026-11-23"),
                              ("Adam Smith", "call", "2026-11-20")]  # fmt: skip
    store.close()
    # The quoted "snooze Adam Smith 3w" and the signature's "mute Adam Smith" were ignored.
    assert people["Adam Smith"]["every_days"] == 14
    adam = next(c for c in owner.store().contacts() if c.name == "Adam Smith")
    assert adam.snoozed_until is None and not adam.muted
    # Seen again (the same reply in INBOX too, and a re-sync): nothing applied twice.
    with imap_client(owner.server) as client:
        client.select_folder("Sent", readonly=True)
        uid = client.search(["HEADER", "In-Reply-To", owner.message_id])[0]
        raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    append(owner.server, "INBOX", raw)
    owner.cli("sync", "-q")
    owner.cli("sync", "--backfill", "-q")
    store = owner.store()
    assert len([r for r in store.interactions() if r["kind"] != "email"]) == 2
    assert len(store.notes(ada.id)) == 1
    store.close()
    status = owner.status()
    assert status["replies"][0]["applied"] == [
        "snoozed Ada Lovelace until 2026-12-14",
        "muted Bob",
        "every 14 days with Adam Smith",
        "logged a call with Adam Smith on 2026-11-20",
        "logged a meeting with Ada Lovelace on 2026-11-23",
        "noted for Ada Lovelace: new job at the museum",
    ]


def test_results_appear_at_the_top_of_the_next_summary(owner: Owner, tmp_path: Path) -> None:
    owner.reply("mute Bob\r\nsnooze Zed 3w\r\nthanks!\r\n")
    owner.cli("sync", "-q")
    assert owner.cli("summary", "--send", "--as-of", AS_OF).exit_code == 0
    with imap_client(owner.server) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["HEADER", "X-Kithkin-Summary", ""])
        raw = client.fetch([max(uids)], ["BODY.PEEK[]"])[max(uids)][b"BODY[]"]
    text = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
    top = text.split("Fading")[0]
    assert "done: muted Bob" in top
    assert "not understood: snooze Zed 3w (no contact matches 'Zed'" in top
    assert "not understood: thanks! (not a command" in top
    # Reported once: the summary after that does not repeat them.
    out = tmp_path / "again"
    owner.cli("summary", "--preview", str(out), "--as-of", AS_OF)
    assert "muted Bob" not in (out / "summary.txt").read_text()


def test_an_html_only_reply_from_an_alias_is_applied(owner: Owner) -> None:
    body = (
        "<div dir='ltr'>snooze Ada Lovelace until 2027-01-15<br>mute Bob</div>"
        "<div class='gmail_quote'><div>On Mon, Kithkin wrote:</div>"
        "<blockquote>unmute Bob<br>every Bob 7d</blockquote></div>"
    )
    owner.reply(body, sender=f"Me <{ME_ALIAS}>", html=True)
    owner.cli("sync", "-q")
    store = owner.store()
    people = {c.name: c for c in store.contacts()}
    assert people["Ada Lovelace"].snoozed_until == "2027-01-15"
    assert people["Bob"].muted and people["Bob"].every_days is None
    store.close()


def test_the_token_in_the_subject_works_like_in_reply_to(owner: Owner) -> None:
    owner.reply("snooze Ada Lovelace 3w", in_reply_to=None,
                subject=f"Re: Kithkin [{owner.token}]")  # fmt: skip
    owner.cli("sync", "-q")
    assert owner.contacts()  # listable
    store = owner.store()
    assert {c.name: c for c in store.contacts()}["Ada Lovelace"].snoozed_until == "2026-12-14"
    store.close()


@pytest.mark.parametrize(
    ("sender", "in_reply_to", "subject"),
    [
        (ME, "<summary.00000000000000000000000000000000@kithkin.invalid>", "Re: Kithkin"),
        (ME, None, "Re: Kithkin [ffffffffffffffffffffffffffffffff]"),
        ("mallory@evil.example", "summary", "Re: Kithkin"),  # right token, forged From
        (ME, "<lunch-123@example.org>", "Re: lunch"),  # the owner replying to other mail
    ],
    ids=["forged-token", "forged-subject-token", "wrong-sender", "other-reply"],
)
def test_without_the_owner_and_a_valid_token_nothing_happens(owner, sender, in_reply_to,
                                                             subject) -> None:  # fmt: skip
    owner.reply("mute Bob\r\nmute Ada Lovelace", sender=sender, in_reply_to=in_reply_to,
                subject=subject, folder="INBOX")  # fmt: skip
    owner.cli("sync", "-q")
    assert not any(c.muted for c in owner.store().contacts())
    replies = owner.status()["replies"]
    if sender == ME and "kithkin" in subject.lower():
        assert replies and "no valid token" in replies[0]["ignored"]  # reported
    else:
        assert replies == []


def test_replies_change_no_flag_and_no_other_body_is_read(owner: Owner) -> None:
    for n in range(5):
        append(owner.server, "INBOX",
               make_message(from_="ada@example.org", to=ME, subject=f"private {n}"))  # fmt: skip
    append(owner.server, "INBOX", make_message(from_=ME, to=ME, subject="Re: lunch",
                                               headers={"In-Reply-To": "<x@y>"}))  # fmt: skip
    owner.reply("mute Bob", folder="INBOX")
    before = flags_snapshot(owner.server)
    config = load_config(owner.config)
    store = owner.store()
    mailbox = Mailbox.connect(config.require_imap(), owner.server.password)
    try:
        Sync(mailbox, store, config.me, clock=lambda: REPLY_DATE).run()
    finally:
        mailbox.logout()
    body_fetches = [c for c in mailbox.commands if "BODY.PEEK[]" in c]
    with imap_client(owner.server) as client:
        client.select_folder("INBOX", readonly=True)
        (reply_uid,) = client.search(["HEADER", "In-Reply-To", owner.message_id])
    assert body_fetches == [f"UID FETCH {reply_uid} (BODY.PEEK[]<0.262144>)"]
    assert not [c for c in mailbox.commands if "BODY[]" in c or "RFC822" in c]
    assert {c.name: c for c in store.contacts()}["Bob"].muted
    store.close()
    assert flags_snapshot(owner.server) == before


def test_a_token_older_than_thirty_days_is_not_accepted(owner: Owner) -> None:
    store = owner.store()
    store.db.execute("UPDATE summaries SET created_at = '2026-09-01T08:00:00Z'")
    store.close()
    owner.reply("mute Bob")
    owner.cli("sync", "-q")
    assert not any(c.muted for c in owner.store().contacts())
    assert "no valid token" in owner.status()["replies"][0]["ignored"]


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("mute Bob\n\nThanks!\n> mute Ada\n", ["mute Bob", "Thanks!"]),
        ("mute Bob\nOn Mon, 23 Nov 2026 Kithkin <k@x>\nwrote:\nmute Ada\n", ["mute Bob"]),
        ("mute Bob\nAm 23.11.2026 schrieb Kithkin:\nmute Ada", ["mute Bob"]),
        ("mute Bob\n-- \nMe\nmute Ada", ["mute Bob"]),
        ("mute Bob\n-----Original Message-----\nmute Ada", ["mute Bob"]),
        ("\u200bmute Bob\r\n", ["mute Bob"]),
    ],
)
def test_quoted_history_and_signatures_are_ignored(text: str, lines: list[str]) -> None:
    assert command_lines(text) == lines


def test_html_reduced_to_text_drops_quotes_and_scripts() -> None:
    html = (
        "<html><head><style>p{}</style></head><body><p>mute&nbsp;Bob</p>"
        "<script>mute('x')</script><blockquote>mute Ada</blockquote></body></html>"
    )
    assert command_lines(html_to_text(html)) == ["mute Bob"]


def test_an_impossible_command_is_reported_and_never_blocks_the_sync(owner: Owner) -> None:
    owner.reply("snooze Ada Lovelace 99999y\r\nevery Bob 999999999d\r\nmute Bob")
    append(owner.server, "INBOX", make_message(from_="ada@example.org", to=ME, subject="hi!"))
    assert owner.cli("sync", "-q").exit_code == 0
    reply = owner.status()["replies"][0]
    assert reply["applied"] == ["muted Bob"]
    assert [reason.split(":")[0] for _line, reason in reply["not_understood"]] == [
        "duration too long", "duration too long",
    ]  # fmt: skip
    assert "hi!" in owner.cli("interactions", "Ada Lovelace").stdout  # the batch went through


def test_owner_mail_to_someone_else_is_never_taken_for_a_reply(owner: Owner) -> None:
    owner.reply("mute Bob", subject="Re: my Kithkin deck for Friday", in_reply_to=None,
                folder="Sent")  # fmt: skip
    to_stranger = make_message(from_=ME, to="stranger@else.example",
                               subject="Re: my Kithkin deck", body="mute Bob")  # fmt: skip
    append(owner.server, "Sent", to_stranger)
    owner.cli("sync", "-q")
    replies = owner.status()["replies"]
    assert len(replies) == 1 and "no valid token" in replies[0]["ignored"]  # only the first
    raw = b"".join(p.read_bytes() for p in owner.config.parent.glob("kithkin.db*"))
    assert b"stranger@else.example" not in raw


def test_forgetting_someone_removes_them_from_reply_records_too(owner: Owner) -> None:
    owner.reply("note Ada Lovelace is seeing a cardiologist\r\nmute Bob")
    owner.cli("sync", "-q")
    assert owner.cli("contacts", "forget", "Ada Lovelace", "--yes").exit_code == 0
    raw = b"".join(p.read_bytes() for p in owner.config.parent.glob("kithkin.db*"))
    assert b"cardiologist" not in raw and b"Ada Lovelace" not in raw
    applied = owner.status()["replies"][0]["applied"]
    assert applied == ["(about a forgotten contact)", "muted Bob"]
