"""Steering Kithkin by replying to its summary, against Dovecot: what is applied (once), what
is refused (and leaves no trace), what a forgotten contact leaves behind (nothing), and that
no other body is ever read and no flag ever changes."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from helpers import ME, ME_ALIAS, write_config
from mailbuilder import make_message
from servers import append, flags_snapshot, imap_client
from sqlite_utils import Database

from kithkin.daemon.config import load_config
from kithkin.daemon.core.dates import add_days, parse_utc_iso
from kithkin.daemon.errors import ConfigError
from kithkin.daemon.mail.session import ImapSession
from kithkin.daemon.store import Store, schema
from kithkin.daemon.sync import Sync
from kithkin.parsers.replies import command_lines, html_to_text
from kithkin.parsers.text import is_clean

AS_OF = "2026-11-23"
QUOTED = (
    "\r\n\r\nOn Mon, 23 Nov 2026 at 08:00, Kithkin <me@home.example>\r\nwrote:\r\n"
    "> Fading: time to write\r\n> snooze Adam Smith 3w\r\n"
)
SIGNATURE = "\r\n-- \r\nMe\r\nmute Adam Smith\r\n"
AUTHSERV = "mx.home.example"
PASSING = f"{AUTHSERV}; dkim=pass header.d=home.example header.s=s1; spf=none"


class Owner:
    """Three contacts, one sent summary; replies are dated a minute after the summary was
    made (the clock is the real one), in UTC."""

    def __init__(self, server, tmp_path: Path, run_cli, **summary: Any) -> None:
        self.server = server
        self.config = write_config(
            tmp_path / "k",
            server,
            sections={"summary": {"delivery": "imap", "timezone": "UTC", **summary}},
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
        with self.store() as store:
            created = store.db.execute("SELECT created_at FROM summaries").fetchone()[0]
        self.reply_date = parse_utc_iso(created) + timedelta(minutes=1)
        self.day = self.reply_date.date()

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
              html: bool = False, date: datetime | None = None,
              message_id: str | None = None, headers: dict[str, str] | None = None,
              auth: list[str] = ()) -> bytes:  # fmt: skip
        fields: list[tuple[str, str]] = [("Authentication-Results", value) for value in auth]
        if in_reply_to == "summary":
            fields += [("In-Reply-To", self.message_id), ("References", self.message_id)]
        elif in_reply_to:
            fields.append(("In-Reply-To", in_reply_to))
        if html:
            fields.append(("Content-Type", "text/html; charset=utf-8"))
        fields += list((headers or {}).items())
        raw = make_message(from_=sender, to=ME, subject=subject, date=date or self.reply_date,
                           message_id=message_id, headers=fields, body=body)  # fmt: skip
        append(self.server, folder, raw)
        return raw

    def contacts(self) -> dict[str, dict]:
        listed = json.loads(self.cli("contacts", "list", "--json").stdout)
        return {c["name"]: c for c in listed}

    def store(self) -> Store:
        return Store.open(load_config(self.config).store_path)

    def status(self) -> dict:
        return json.loads(self.cli("status", "--json").stdout)

    def muted(self) -> set[str]:
        with self.store() as store:
            return {c.name for c in store.contacts.all() if c.muted}

    def traces(self, *needles: str) -> list[str]:
        """Which needles occur (case-insensitively) in the database, its WAL and -shm, or in
        `kithkin status` and `status --json`."""
        found = []
        places = {p.name: p.read_bytes() for p in self.config.parent.glob("kithkin.db*")}
        places["status"] = self.cli("status").stdout.encode()
        places["status --json"] = self.cli("status", "--json").stdout.encode()
        for where, data in places.items():
            found += [f"{n!r} in {where}" for n in needles if n.lower().encode() in data.lower()]
        return found


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
    day, until = owner.day.isoformat(), add_days(owner.day, timedelta(weeks=3)).isoformat()
    ada = next(c for c in store.contacts.all() if c.name == "Ada Lovelace")
    assert ada.snoozed_until == until
    assert next(c for c in store.contacts.all() if c.name == "Bob").muted
    assert people["Adam Smith"]["every_days"] == 14
    assert store.notes.list(ada.id) == [{"id": 1, "date": day, "text": "new job at the museum"}]
    manual = [(r["contact"], r["kind"], r["date"][:10]) for r in store.interactions.list()
              if r["kind"] != "email"]  # fmt: skip
    assert sorted(manual) == [("Ada Lovelace", "meeting", day),
                              ("Adam Smith", "call", "2026-11-20")]  # fmt: skip
    store.close()
    # The quoted "snooze Adam Smith 3w" and the signature's "mute Adam Smith" were ignored.
    assert people["Adam Smith"]["every_days"] == 14
    adam = next(c for c in owner.store().contacts.all() if c.name == "Adam Smith")
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
    assert len([r for r in store.interactions.list() if r["kind"] != "email"]) == 2
    assert len(store.notes.list(ada.id)) == 1
    store.close()
    status = owner.status()
    assert status["replies"][0]["applied"] == [
        f"snoozed Ada Lovelace until {until}",
        "muted Bob",
        "every 14 days with Adam Smith",
        "logged a call with Adam Smith on 2026-11-20",
        f"logged a meeting with Ada Lovelace on {day}",
        "noted for Ada Lovelace: new job at the museum",
    ]


def test_results_appear_at_the_top_of_the_next_summary(owner: Owner, tmp_path: Path) -> None:
    owner.reply("mute Bob\r\nsnooze Zed 3w\r\nsnooze Ad 3w\r\nthanks!\r\n")
    owner.cli("sync", "-q")
    assert owner.cli("summary", "--send", "--force", "--as-of", AS_OF).exit_code == 0
    with imap_client(owner.server) as client:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["HEADER", "X-Kithkin-Summary", ""])
        raw = client.fetch([max(uids)], ["BODY.PEEK[]"])[max(uids)][b"BODY[]"]
    text = email.message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
    top = " ".join(text.split("Fading")[0].split())
    assert "done: muted Bob" in top
    assert "not understood: snooze Zed 3w (no contact 'Zed'" in top
    assert (
        "not understood: snooze Ad 3w ('Ad' matches several contacts: "
        "Ada Lovelace <ada@example.org>; Adam Smith <adam@example.org>;" in top
    )
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
    people = {c.name: c for c in store.contacts.all()}
    assert people["Ada Lovelace"].snoozed_until == "2027-01-15"
    assert people["Bob"].muted and people["Bob"].every_days is None
    store.close()


def test_hidden_html_in_a_reply_is_not_applied(owner: Owner) -> None:
    body = (
        "<html><head><style>.pre{display:none}</style><title>mute Adam Smith</title></head>"
        "<body><div class=pre>every Bob 7d</div>mute Bob"
        "<span style='DISPLAY: None !important'>mute Ada Lovelace</span>"
        "<div hidden>unmute Bob</div><p style='font-size:0px'>snooze Bob 3w</p>"
        "<p style='opacity:0'>note Bob secret</p><template>mute Adam Smith</template>"
        "</body></html>"
    )
    owner.reply(body, html=True)
    owner.cli("sync", "-q")
    assert owner.muted() == {"Bob"}
    bob = owner.contacts()["Bob"]
    assert bob["every_days"] is None
    assert owner.status()["replies"][0]["applied"] == ["muted Bob"]


def test_the_token_in_the_subject_works_like_in_reply_to(owner: Owner) -> None:
    owner.reply("snooze Ada Lovelace 3w", in_reply_to=None,
                subject=f"Re: Kithkin [{owner.token}]")  # fmt: skip
    owner.cli("sync", "-q")
    assert owner.contacts()  # listable
    store = owner.store()
    until = add_days(owner.day, timedelta(weeks=3)).isoformat()
    assert {c.name: c for c in store.contacts.all()}["Ada Lovelace"].snoozed_until == until
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
    assert owner.muted() == set()
    status = owner.status()
    assert status["replies"] == []
    counted = 1 if sender == ME and "kithkin" in subject.lower() else 0
    assert status["replies_ignored"]["no_valid_token"] == counted


def test_a_forged_reply_without_a_token_leaves_no_trace(owner: Owner) -> None:
    owner.reply(
        "mute Bob",
        in_reply_to="<summary.0123456789abcdef0123456789abcdef@kithkin.invalid>",
        subject="Re: Kithkin forged-subject-7f3a",
        message_id="<forged-7f3a@evil.example>",
        date=datetime(2026, 11, 27, 13, 37, 11, tzinfo=UTC),
        folder="INBOX",
    )
    assert owner.cli("sync", "-q").exit_code == 0
    assert owner.muted() == set()
    assert owner.traces("forged-7f3a", "forged-subject-7f3a", "13:37:11") == []
    with owner.store() as store:
        assert store.db.execute("SELECT count(*) FROM replies").fetchone()[0] == 0
    assert owner.status()["replies_ignored"]["no_valid_token"] == 1
    assert "1 without a valid token" in owner.cli("status").stdout


def test_a_reply_dated_before_its_summary_is_not_applied_and_leaves_no_trace(
    owner: Owner,
) -> None:
    owner.reply(
        "mute Bob",
        message_id="<replayed-51c9@home.example>",
        date=owner.reply_date - timedelta(hours=2),
    )
    owner.cli("sync", "-q")
    assert owner.muted() == set()
    assert owner.traces("replayed-51c9") == []
    status = owner.status()
    assert status["replies"] == [] and status["replies_ignored"]["before_summary"] == 1
    assert "1 dated before its summary" in owner.cli("status").stdout
    owner.reply("mute Bob")  # one dated after it: applied
    owner.cli("sync", "-q")
    assert owner.muted() == {"Bob"}


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
    mailbox = ImapSession.connect(config.require_imap(), owner.server.password)
    try:
        Sync(mailbox, store, config.me, clock=lambda: owner.reply_date).run()
    finally:
        mailbox.logout()
    body_fetches = [c for c in mailbox.commands if "BODY.PEEK[]" in c]
    with imap_client(owner.server) as client:
        client.select_folder("INBOX", readonly=True)
        (reply_uid,) = client.search(["HEADER", "In-Reply-To", owner.message_id])
    assert body_fetches == [f"UID FETCH {reply_uid} (BODY.PEEK[]<0.262144>)"]
    assert not [c for c in mailbox.commands if "BODY[]" in c or "RFC822" in c]
    assert {c.name: c for c in store.contacts.all()}["Bob"].muted
    store.close()
    assert flags_snapshot(owner.server) == before


def test_a_token_older_than_thirty_days_is_not_accepted(owner: Owner) -> None:
    store = owner.store()
    store.db.execute("UPDATE summaries SET created_at = '2026-09-01T08:00:00Z'")
    store.close()
    owner.reply("mute Bob")
    owner.cli("sync", "-q")
    assert owner.muted() == set()
    status = owner.status()
    assert status["replies"] == [] and status["replies_ignored"]["no_valid_token"] == 1


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
    status = owner.status()
    assert status["replies"] == []
    assert status["replies_ignored"]["no_valid_token"] == 1  # only the first was looked at
    assert owner.traces("stranger@else.example", "my Kithkin deck") == []


def test_control_characters_and_escapes_in_a_reply_are_never_stored(owner: Owner) -> None:
    owner.reply(
        "note Ada Lovelace new=1B[31mjob=1B]0;pwned=07 at=00 the=7F museum=1B[2J\r\n"
        "mute=0B Bob\r\n",
        headers={"MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8",
                 "Content-Transfer-Encoding": "quoted-printable"},
    )  # fmt: skip
    owner.cli("sync", "-q")
    with owner.store() as store:
        ada = next(c for c in store.contacts.all() if c.name == "Ada Lovelace")
        assert [n["text"] for n in store.notes.list(ada.id)] == ["newjob at the museum"]
        journal = store.db.execute("SELECT results FROM replies").fetchone()[0]
    assert owner.muted() == {"Bob"}
    assert is_clean(journal) and "\\u001b" not in journal and "pwned" not in journal
    status = owner.cli("status").stdout
    assert "noted for Ada Lovelace: newjob at the museum" in status and is_clean(status)


# --- contacts forget: no trace in the reply journal --------------------------------------------


def test_forgetting_someone_leaves_no_trace_of_them_in_the_reply_journal(owner: Owner) -> None:
    assert (
        owner.cli("contacts", "edit", "Ada Lovelace", "--add-email", "ada@x.example").exit_code == 0
    )
    owner.reply(
        "snooze Lovel 3w\r\nevery ada@x.example 10d\r\nsnooze Ada 99999y\r\nsnooze Ad 2w\r\n"
        "note Ada Lovelace is seeing a cardiologist\r\nmute Bob\r\n"
    )
    owner.cli("sync", "-q")
    assert owner.cli("contacts", "edit", "Ada Lovelace", "--name", "Ada King").exit_code == 0
    until = add_days(owner.day, timedelta(weeks=3)).isoformat()
    reply = owner.status()["replies"][0]
    assert reply["applied"] == [  # shown with the name she has now
        f"snoozed Ada King until {until}",
        "every 10 days with Ada King",
        "noted for Ada King: is seeing a cardiologist",
        "muted Bob",
    ]
    assert [line for line, _ in reply["not_understood"]] == ["snooze Ada 99999y", "snooze Ad 2w"]
    assert "Ada King <ada@" in reply["not_understood"][1][1]
    assert "; Adam Smith <adam@example.org>;" in reply["not_understood"][1][1]

    assert owner.cli("contacts", "forget", "Ada King", "--yes").exit_code == 0
    assert owner.traces("Ada Lovelace", "Ada King", "Lovel", "snooze Ada", "snooze Ad 2w",
                        "ada@x.example", "ada@example.org", "cardiologist") == []  # fmt: skip
    reply = owner.status()["replies"][0]
    assert reply["applied"] == ["muted Bob"] and reply["not_understood"] == []
    assert "Adam Smith" in owner.contacts()  # whom the ambiguous line also named: still there
    with owner.store() as store:
        assert store.db.execute("SELECT count(*) FROM replies").fetchone()[0] == 1  # kept


def test_reply_records_of_earlier_versions_still_show_and_are_scrubbed(owner: Owner) -> None:
    old = {
        "applied": ["snoozed Ada Lovelace until 2026-12-14", "muted Bob"],
        "not_understood": [["snooze Ada Lovelace 99999y", "duration too long"],
                           ["every ada@example.org 99999d", "duration too long"],
                           ["thanks!", "not a command"]],
    }  # fmt: skip
    with owner.store() as store, store.atomic():
        store.db.execute(
            "INSERT INTO replies (message_key, token, received_at, applied_at, results) "
            "VALUES ('<old@home.example>', ?, '2026-11-23T09:00:00Z', '2026-11-23T09:05:00Z', ?)",
            [owner.token, json.dumps(old)],
        )
    reply = owner.status()["replies"][0]
    assert reply["applied"] == old["applied"]
    assert reply["not_understood"] == old["not_understood"]
    assert "done: snoozed Ada Lovelace until 2026-12-14" in owner.cli("status").stdout
    assert owner.cli("contacts", "forget", "Ada Lovelace", "--yes").exit_code == 0
    reply = owner.status()["replies"][0]
    assert reply["applied"] == ["(about a forgotten contact)", "muted Bob"]
    assert reply["not_understood"] == [["(about a forgotten contact)", ""]] * 2 + [
        ["thanks!", "not a command"]
    ]
    assert owner.traces("Ada Lovelace", "ada@example.org") == []


def test_ignored_replies_recorded_by_earlier_versions_are_dropped_and_counted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    db = Database(path)
    schema.migrations.apply(db, stop_before="0006_drop_ignored_replies")
    ignored = {"applied": [], "not_understood": [], "ignored": "no valid token"}
    applied = {"applied": ["muted Bob"], "not_understood": []}
    for key, results in (("<forged-77@evil.example>", ignored), ("<ok@home.example>", applied)):
        db.execute(
            "INSERT INTO replies (message_key, token, received_at, applied_at, results) "
            "VALUES (?, NULL, '2026-11-23T09:00:00Z', '2026-11-23T09:00:00Z', ?)",
            [key, json.dumps(results)],
        )
    db.execute(f"PRAGMA user_version = {len(schema.migrations.applied(db))}")
    db.conn.commit()
    db.conn.close()
    with Store.open(path) as store:
        keys = [row[0] for row in store.db.execute("SELECT message_key FROM replies")]
        assert keys == ["<ok@home.example>"]
        assert store.meta.get("replies.ignored.no_valid_token") == "1"


# --- Authentication-Results: [summary] reply_authserv_id -------------------------------------


@pytest.fixture
def checking_owner(dovecot, tmp_path: Path, run_cli) -> Owner:
    return Owner(dovecot, tmp_path, run_cli, reply_authserv_id=AUTHSERV)


@pytest.mark.parametrize(
    "auth",
    [
        [],
        ["other.example; dkim=pass header.d=home.example"],
        [f"{AUTHSERV}; dkim=fail header.d=home.example; spf=softfail smtp.mailfrom=home.example"],
        [f"{AUTHSERV}; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=evil.example"],
        [f"{AUTHSERV}; dkim=fail (dkim=pass header.d=home.example) header.d=home.example"],
    ],
    ids=["none", "foreign-server", "failing", "other-domain", "pass-in-a-comment"],
)
def test_with_reply_authserv_id_a_reply_must_pass_at_the_owners_server(
    checking_owner: Owner, auth: list[str]
) -> None:
    checking_owner.reply("mute Bob", auth=auth, folder="INBOX",
                         message_id="<unchecked-93d1@home.example>")  # fmt: skip
    checking_owner.cli("sync", "-q")
    assert checking_owner.muted() == set()
    assert checking_owner.traces("unchecked-93d1") == []
    status = checking_owner.status()
    assert status["replies"] == [] and status["replies_ignored"]["unauthenticated"] == 1
    assert "1 failing the Authentication-Results check" in checking_owner.cli("status").stdout


def test_a_reply_failing_the_check_in_sent_is_applied_when_it_passes_in_inbox(
    checking_owner: Owner,
) -> None:
    sent = checking_owner.reply("mute Bob\r\nsnooze Ada Lovelace 3w", folder="Sent")
    checking_owner.cli("sync", "-q")
    assert checking_owner.muted() == set()
    append(checking_owner.server, "INBOX", f"Authentication-Results: {PASSING}\r\n".encode() + sent)
    checking_owner.cli("sync", "-q")
    assert checking_owner.muted() == {"Bob"}
    status = checking_owner.status()
    until = add_days(checking_owner.day, timedelta(weeks=3)).isoformat()
    assert status["replies"][0]["applied"] == ["muted Bob", f"snoozed Ada Lovelace until {until}"]
    assert status["replies_ignored"]["unauthenticated"] == 1  # the copy in Sent


def test_spf_pass_for_the_owners_domain_is_enough(checking_owner: Owner) -> None:
    checking_owner.reply(
        "mute Bob",
        folder="INBOX",
        auth=[
            "other.example; dkim=fail",
            f"{AUTHSERV.upper()} 1; dkim=none; spf=pass (SPF ok) smtp.mailfrom=me@home.example",
        ],
    )
    checking_owner.cli("sync", "-q")
    assert checking_owner.muted() == {"Bob"}


def test_without_reply_authserv_id_authentication_results_are_not_needed(owner: Owner) -> None:
    owner.reply("mute Bob", auth=[f"{AUTHSERV}; dkim=fail header.d=home.example"])
    owner.cli("sync", "-q")
    assert owner.muted() == {"Bob"}


def test_reply_authserv_id_in_the_config(tmp_path: Path) -> None:
    from kithkin.daemon.steering.policy import ReplyPolicy, reply_policy

    def config(value: Any) -> Path:
        path = tmp_path / "config.toml"
        text = 'me = {addresses = ["me@home.example", "me@Old-Job.example"]}\n'
        path.write_text(f"{text}summary = {{reply_authserv_id = {json.dumps(value)}}}\n")
        return path

    loaded = load_config(config("MX.home.example"))
    assert loaded.summary.reply_authserv_ids == ("mx.home.example",)
    assert reply_policy(loaded) == ReplyPolicy(
        frozenset({"mx.home.example"}), frozenset({"home.example", "old-job.example"})
    )
    loaded = load_config(config(["mx1.home.example", "mx2.home.example"]))
    assert loaded.summary.reply_authserv_ids == ("mx1.home.example", "mx2.home.example")
    assert reply_policy(load_config()) == ReplyPolicy()
    for bad in (3, "", ["ok.example", ""], "two words", "semi;colon"):
        with pytest.raises(ConfigError, match=r"\[summary\] reply_authserv_id"):
            load_config(config(bad))


# --- what a mail client would not show is not read -----------------------------------------

HIDDEN_HTML = [
    ('<div style="display:none">mute Ada</div>mute Bob', ["mute Bob"]),
    ('<div style="DISPLAY : NONE !important">mute Ada</div>mute Bob', ["mute Bob"]),
    ('<span style="color:red;display:\tnone;">mute Ada</span><p>mute Bob</p>', ["mute Bob"]),
    ("<div style='display:/* sneaky */none'>mute Ada</div>mute Bob", ["mute Bob"]),
    ('<div style="display:n\\6f ne">mute Ada</div>mute Bob', ["mute Bob"]),
    ("<div hidden>mute Ada</div>mute Bob", ["mute Bob"]),
    ('<div HIDDEN="hidden">mute Ada</div>mute Bob', ["mute Bob"]),
    ('<p style="visibility:hidden">mute Ada</p>mute Bob', ["mute Bob"]),
    ('<p style="Visibility: Collapse">mute Ada</p>mute Bob', ["mute Bob"]),
    ('<span style="font-size:0">mute Ada</span>mute Bob', ["mute Bob"]),
    ('<span style="font-size: 0px">mute Ada</span>mute Bob', ["mute Bob"]),
    ('<span style="font-size:0pt">mute Ada</span>mute Bob', ["mute Bob"]),
    ('<span style="font-size:0em">mute Ada</span>mute Bob', ["mute Bob"]),
    ('<span style="font-size:0%">mute Ada</span>mute Bob', ["mute Bob"]),
    ('<span style="font-size:0.0rem !IMPORTANT">mute Ada</span>mute Bob', ["mute Bob"]),
    ('<span style="font-size:0.2px">mute Ada</span>mute Bob', ["mute Bob"]),
    ('<span style="opacity:0">mute Ada</span>mute Bob', ["mute Bob"]),
    ('<span style="opacity: 0.0">mute Ada</span>mute Bob', ["mute Bob"]),
    ('<span style="opacity:0%">mute Ada</span>mute Bob', ["mute Bob"]),
    ('<div style="mso-hide:all">mute Ada</div>mute Bob', ["mute Bob"]),
    ('<div style="max-height:0;overflow:hidden">mute Ada</div>mute Bob', ["mute Bob"]),
    # inside a hidden element everything is hidden, even a visible-looking child
    ('<div style="display:none"><p style="display:block">mute Ada</p></div>mute Bob', ["mute Bob"]),
    # a stray end tag does not end the hidden element
    ('<div style="display:none"></span></p>mute Ada</div>mute Bob', ["mute Bob"]),
    # head, style, script, title, template
    ("<head><title>mute Ada</title></head><body>mute Bob</body>", ["mute Bob"]),
    ("<html><head><meta charset=utf-8>mute Ada</head>mute Bob</html>", ["mute Bob"]),
    ("<style>mute Ada</style>mute Bob", ["mute Bob"]),
    ("<script>mute Ada</script>mute Bob", ["mute Bob"]),
    ("<template><p>mute Ada</p></template>mute Bob", ["mute Bob"]),
    ("<title>mute Ada</title>mute Bob", ["mute Bob"]),
    # a class hidden by a style sheet
    (
        "<style>.pre, #x { display: none }</style><div class='a pre'>mute Ada</div>mute Bob",
        ["mute Bob"],
    ),
    (
        "<style>@media all { div#x {font-size:0} }</style><div id=x>mute Ada</div>mute Bob",
        ["mute Bob"],
    ),
    # a <head> left open ends at <body>
    ("<html><head><title>t</title><body>mute Bob</body></html>", ["mute Bob"]),
    # visible: ordinary styles, a font size that is not zero, opacity that is not zero
    ('<div style="display:block;font-size:10px;opacity:1">mute Bob</div>', ["mute Bob"]),
    ('<div style="font-size:0.9em">mute Bob</div>', ["mute Bob"]),
    ('<div style="opacity:0.8">mute Bob</div>', ["mute Bob"]),
    ('<div style="visibility:visible">mute Bob</div>', ["mute Bob"]),
    ("<div style=\"content:'display:none'\">mute Bob</div>", ["mute Bob"]),
    ("<div data-hidden='1'>mute Bob</div>", ["mute Bob"]),
    ("<style>.other { display: none }</style><div class='pre'>mute Bob</div>", ["mute Bob"]),
]


@pytest.mark.parametrize(("html", "lines"), HIDDEN_HTML)
def test_html_that_a_mail_client_would_not_show_is_not_read(html: str, lines: list[str]) -> None:
    assert command_lines(html_to_text(html)) == lines
