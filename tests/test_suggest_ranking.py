"""`kithkin suggest` without a server: the ranking, what it leaves out, how it groups one
person's addresses, the bounds on memory, the role table, periods, and the prompt loop.
Each table row is one constructed history with the verdict a person would give."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from mailbuilder import make_message

from kithkin.daemon.cli.suggest import ask_each
from kithkin.daemon.core.lookback import lookback_start
from kithkin.daemon.core.suggestions import (
    MAX_CANDIDATES,
    Correspondence,
    Suggestion,
    name_from_address,
)
from kithkin.daemon.errors import UsageError
from kithkin.parsers.correspondents import alias_key, is_role_address, loose_name
from kithkin.parsers.headers import parse_headers

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ME = "me@home.example"
ALIAS = "me.alias@old-job.example"
OWNER = f"Sam Owner <{ME}>"


def message(
    *,
    out: bool,
    other: str | list[str],
    days_ago: float,
    cc: Iterable[str] = (),
    headers: dict[str, str] | None = None,
    owner: str = OWNER,
    message_id: str | None = None,
) -> bytes:
    """One message between the owner and `other`: from the owner (`out`) or to them."""
    others = [other] if isinstance(other, str) else other
    date = NOW - timedelta(days=days_ago)
    if out:
        return make_message(from_=owner, to=others, cc=list(cc), date=date,
                            headers=headers or {}, message_id=message_id)  # fmt: skip
    return make_message(from_=others[0], to=owner, cc=list(cc), date=date,
                        headers=headers or {}, message_id=message_id)  # fmt: skip


def exchange(
    other: str, *, out: int, into: int, every: float, since: float = 0, **kw
) -> list[bytes]:
    """`out` messages to `other` and `into` from them, one each `every` days from `since`."""
    sent = [message(out=True, other=other, days_ago=since + i * every, **kw) for i in range(out)]
    got = [message(out=False, other=other, days_ago=since + i * every + 0.5, **kw)
           for i in range(into)]  # fmt: skip
    return sent + got


def rank(
    messages: Iterable[bytes],
    *,
    contacts: Iterable[str] = (),
    contact_names: Iterable[str] = (),
    start: datetime | None = None,
    max_candidates: int = MAX_CANDIDATES,
) -> tuple[list[Suggestion], Correspondence]:
    correspondence = Correspondence(
        now=NOW,
        start=start or NOW - timedelta(days=730),
        me=[ME, ALIAS],
        contacts=contacts,
        contact_names=contact_names,
        max_candidates=max_candidates,
    )
    for raw in messages:
        correspondence.observe(parse_headers(raw))
    return correspondence.suggestions(), correspondence


def first_emails(found: list[Suggestion]) -> list[str]:
    return [suggestion.emails[0] for suggestion in found]


# --- which of two people ranks first ------------------------------------------------------

A = "Ann Arbor <ann@a.example>"
B = "Bob Burr <bob@b.example>"
CROWD = [f"Crowd {n} <crowd{n}@c.example>" for n in range(20)]

ABOVE = [
    # (the history, who ranks first)
    ("both ways beats only you writing, same number of messages",
     exchange(A, out=5, into=5, every=7) + exchange(B, out=10, into=0, every=7), "ann"),
    ("recent beats old, same exchange",
     exchange(A, out=6, into=6, every=7) + exchange(B, out=6, into=6, every=7, since=500), "ann"),
    ("personal beats the same count of mail to twenty people",
     exchange(A, out=6, into=6, every=7)
     + exchange(B, out=6, into=6, every=7, cc=CROWD), "ann"),
    ("a friend with three exchanges beats a sender of forty you answered once",
     exchange(A, out=3, into=3, every=7) + exchange(B, out=1, into=40, every=2), "ann"),
    ("more beats fewer, alike otherwise",
     exchange(A, out=12, into=12, every=7) + exchange(B, out=3, into=3, every=7), "ann"),
    ("a lot of mail only you wrote beats one old exchange",
     exchange(A, out=40, into=0, every=7) + exchange(B, out=1, into=1, every=1, since=400),
     "ann"),
    ("an exchange last month beats the same one two years ago, even three times as much",
     exchange(A, out=4, into=4, every=3, since=30)
     + exchange(B, out=12, into=12, every=3, since=680), "ann"),
]  # fmt: skip


@pytest.mark.parametrize("history, first", [row[1:] for row in ABOVE], ids=[r[0] for r in ABOVE])
def test_who_ranks_first(history: list[bytes], first: str) -> None:
    found, _ = rank(history)
    people = [s for s in found if not s.emails[0].startswith("crowd")]
    assert [s.emails[0].split("@")[0] for s in people] == [
        first,
        "ann" if first == "bob" else "bob",
    ]


def test_a_constructed_mailbox_ranks_close_friends_first() -> None:
    mailbox = (
        exchange("Cleo Close <cleo@friends.example>", out=30, into=28, every=5)
        + exchange("Dan Dear <dan@friends.example>", out=20, into=22, every=8)
        + exchange("Old Colleague <old@work.example>", out=15, into=15, every=10, since=600)
        + exchange("Mum <mum@family.example>", out=12, into=0, every=20)
        + exchange("Big Group <g1@group.example>", out=10, into=10, every=10, cc=CROWD)
    )
    found, _ = rank(mailbox)
    # an old exchange both ways, then mail to twenty, then mail only you wrote
    assert first_emails(found)[:5] == [
        "cleo@friends.example",
        "dan@friends.example",
        "old@work.example",
        "g1@group.example",
        "mum@family.example",
    ]
    assert all(email.startswith("crowd") for email in first_emails(found)[5:])
    assert found[0].sent == 30 and found[0].received == 28
    assert found[0].last_exchange == NOW
    assert found[0].name == "Cleo Close"


# --- what is left out -----------------------------------------------------------------------

FRIEND = "Fay Friend <fay@friends.example>"
LEFT_OUT = [
    # (the history, the address that must not be suggested)
    ("only ever wrote to you (a newsletter without List-Id)",
     exchange("Weekly Deals <deals@shop.example>", out=0, into=50, every=2), "deals@shop.example"),
    ("mailing list traffic, List-Id",
     exchange("Pat Poster <pat@p.example>", out=0, into=10, every=3,
              headers={"List-Id": "Dev <dev.lists.example.org>"}), "pat@p.example"),
    ("your posts to a list, whose List-Id says it is one",
     exchange("dev@lists.example.org", out=8, into=0, every=3)
     + exchange("Pat Poster <pat@p.example>", out=0, into=3, every=3,
                headers={"List-Id": "<dev.lists.example.org>"}), "dev@lists.example.org"),
    ("Precedence: bulk, both ways",
     exchange("Bulk Sender <bulk@b.example>", out=3, into=3, every=3,
              headers={"Precedence": "bulk"}), "bulk@b.example"),
    ("Auto-Submitted: auto-replied",
     exchange("Away Person <away@a.example>", out=0, into=3, every=3,
              headers={"Auto-Submitted": "auto-replied"})
     + exchange("Away Person <away@a.example>", out=1, into=0, every=3,
                headers={"Auto-Submitted": "auto-generated"}), "away@a.example"),
    ("noreply@", exchange("noreply@x.example", out=2, into=5, every=3), "noreply@x.example"),
    ("no-reply@", exchange("no-reply@x.example", out=2, into=5, every=3), "no-reply@x.example"),
    ("donotreply@", exchange("donotreply@x.example", out=2, into=5, every=3),
     "donotreply@x.example"),
    ("mailer-daemon@", exchange("MAILER-DAEMON@x.example", out=2, into=5, every=3),
     "mailer-daemon@x.example"),
    ("postmaster@", exchange("postmaster@x.example", out=2, into=5, every=3),
     "postmaster@x.example"),
    ("info@, both ways", exchange("Shop Info <info@shop.example>", out=4, into=4, every=3),
     "info@shop.example"),
    ("support+ticket@, both ways",
     exchange("Help Desk <support+4711@shop.example>", out=4, into=4, every=3),
     "support+4711@shop.example"),
    ("billing@", exchange("billing@shop.example", out=3, into=3, every=3), "billing@shop.example"),
    ("notifications-x@", exchange("notifications-x@shop.example", out=3, into=3, every=3),
     "notifications-x@shop.example"),
    ("your other [me] address", exchange(ALIAS, out=5, into=5, every=3), ALIAS),
    ("your address with a +tag", exchange("me+lists@home.example", out=5, into=5, every=3),
     "me+lists@home.example"),
    ("your own name on an address not in [me]",
     exchange("Sam Owner <sam@elsewhere.example>", out=5, into=5, every=3),
     "sam@elsewhere.example"),
    ("dated before the period", exchange("Vic Old <vic@old.example>", out=5, into=5, every=3,
                                         since=800), "vic@old.example"),
    ("dated after now", [message(out=True, other="Fut Ure <fut@f.example>", days_ago=-3)],
     "fut@f.example"),
]  # fmt: skip


@pytest.mark.parametrize(
    "history, address", [r[1:] for r in LEFT_OUT], ids=[r[0] for r in LEFT_OUT]
)
def test_left_out(history: list[bytes], address: str) -> None:
    """Each row beside an ordinary friend: the friend is suggested, the row's address not."""
    found, _ = rank(history + exchange(FRIEND, out=2, into=2, every=3))
    emails = [email for s in found for email in s.emails]
    assert "fay@friends.example" in emails
    assert address not in emails


CONTACT_ROWS = [
    ("a contact's address", "Ada Lovelace <ada@example.org>", ["ada@example.org"], []),
    ("a contact's Gmail address with dots", "Ada <a.da@gmail.com>", ["ada@gmail.com"], []),
    ("a contact's address with a +tag", "Ada <ada+news@example.org>", ["ada@example.org"], []),
    ("a contact's name, on a new address", '"Lovelace, Ada" <ada@newjob.example>',
     ["ada@example.org"], ["Ada Lovelace"]),
]  # fmt: skip


@pytest.mark.parametrize("other, contacts, names", [r[1:] for r in CONTACT_ROWS],
                         ids=[r[0] for r in CONTACT_ROWS])  # fmt: skip
def test_contacts_are_left_out(other: str, contacts: list[str], names: list[str]) -> None:
    history = exchange(other, out=5, into=5, every=3) + exchange(FRIEND, out=1, into=1, every=3)
    found, _ = rank(history, contacts=contacts, contact_names=names)
    assert first_emails(found) == ["fay@friends.example"]


def test_a_message_in_two_folders_counts_once() -> None:
    copy = message(out=True, other=FRIEND, days_ago=1, message_id="<one@kithkin.test>")
    found, correspondence = rank([copy, copy])
    assert found[0].sent == 1
    assert correspondence.counts.copies == 1


def test_mail_neither_from_nor_to_the_owner_is_not_counted() -> None:
    raw = make_message(from_=FRIEND, to="Someone <someone@else.example>", date=NOW)
    found, correspondence = rank([raw])
    assert found == [] and correspondence.counts.unrelated == 1


# --- one person, several addresses ----------------------------------------------------------

GROUPED = [
    ("the same name in other case, accents and spacing",
     ["Zoë  Ångström <zoe@home.example>", "zoe angstrom <z.angstrom@work.example>"]),
    ("the same name, last name first", ["Zoe Angstrom <zoe@home.example>",
                                        '"Angstrom, Zoe" <za@work.example>']),
    ("one mailbox with and without a +tag", ["Zoe <zoe@home.example>",
                                             "Zoe <zoe+work@home.example>"]),
    ("one Gmail mailbox, with and without dots", ["zoe.angstrom@gmail.com",
                                                  "zoeangstrom@googlemail.com"]),
]  # fmt: skip


@pytest.mark.parametrize("spellings", [r[1] for r in GROUPED], ids=[r[0] for r in GROUPED])
def test_one_person_is_one_suggestion(spellings: list[str]) -> None:
    history = [m for other in spellings for m in exchange(other, out=3, into=2, every=4)]
    found, _ = rank(history)
    assert len(found) == 1
    assert sorted(found[0].emails) == sorted(parse_headers(make_message(from_=s)).from_[0].address
                                             for s in spellings)  # fmt: skip
    assert (found[0].sent, found[0].received) == (6, 4)


def test_one_word_names_do_not_make_two_people_one() -> None:
    history = exchange("Tom <tom@work.example>", out=3, into=3, every=4) + exchange(
        "Tom <tom@football.example>", out=2, into=2, every=4
    )
    found, _ = rank(history)
    assert len(found) == 2


# --- bounded ---------------------------------------------------------------------------------


def test_many_strangers_keep_memory_bounded_and_the_friend_first() -> None:
    """5,000 people written to once each, among a friend's mail: at most 200 tallied at any
    time (as asked), the weakest dropped, the friend still first."""
    friend = exchange(FRIEND, out=10, into=10, every=30)
    correspondence = Correspondence(
        now=NOW, start=NOW - timedelta(days=730), me=[ME], max_candidates=200
    )
    most = 0
    for n in range(5000):
        if n % 500 == 0:
            for raw in friend[n // 500 * 2 : n // 500 * 2 + 2]:
                correspondence.observe(parse_headers(raw))
        other = f"Stranger {n} <s{n}@strangers.example>"
        correspondence.observe(parse_headers(message(out=True, other=other, days_ago=n / 10)))
        most = max(most, len(correspondence.tallies))
    assert most <= 201
    assert correspondence.counts.dropped > 4000
    assert first_emails(correspondence.suggestions(3))[0] == "fay@friends.example"


# --- tables: roles, names, periods ----------------------------------------------------------

ROLES = {
    "noreply@x.example": True, "no-reply@x.example": True, "no_reply@x.example": True,
    "donotreply@x.example": True, "do-not-reply@x.example": True, "info@x.example": True,
    "support@x.example": True, "support+123@x.example": True, "billing@x.example": True,
    "notifications@github.example": True, "notification-abc@x.example": True,
    "mailer-daemon@x.example": True, "postmaster@x.example": True, "dev-request@x.example": True,
    "calendar-noreply@x.example": True, "newsletter@x.example": True,
    "ann@x.example": False, "information.desk.ann@x.example": False,
    "supporter.joe@x.example": False, "reply.all.ann@x.example": False,
    "noreen@x.example": False, "infoann@x.example": False,
}  # fmt: skip


@pytest.mark.parametrize("address, role", ROLES.items())
def test_role_addresses(address: str, role: bool) -> None:
    assert is_role_address(address) is role


def test_alias_keys_and_loose_names() -> None:
    assert alias_key("a.n.n+x@googlemail.com") == "ann@gmail.com"
    assert alias_key("a.n.n+x@example.org") == "a.n.n@example.org"
    assert loose_name("  Zoë   ÅNGSTRÖM ") == loose_name("Angstrom, Zoe") == "angstrom zoe"
    assert loose_name("Zoe") == "" and loose_name("zoe@x.example z") == ""
    assert name_from_address("ada.lovelace@x.example") == "Ada Lovelace"
    assert name_from_address("ada_l@x.example") == "Ada L"
    assert name_from_address("x42@x.example") == "x42@x.example"


PERIODS = {
    "30d": datetime(2026, 5, 2, 12, 0, tzinfo=UTC),
    "2w": datetime(2026, 5, 18, 12, 0, tzinfo=UTC),
    "6mo": datetime(2025, 12, 1, 12, 0, tzinfo=UTC),
    "2y": datetime(2024, 6, 1, 12, 0, tzinfo=UTC),
    " 1 Y ": datetime(2025, 6, 1, 12, 0, tzinfo=UTC),
}


@pytest.mark.parametrize("text, start", PERIODS.items())
def test_periods(text: str, start: datetime) -> None:
    assert lookback_start(text, NOW) == start


def test_month_ends_are_clamped() -> None:
    end_of_august = datetime(2026, 8, 31, tzinfo=UTC)
    assert lookback_start("6mo", end_of_august) == datetime(2026, 2, 28, tzinfo=UTC)


@pytest.mark.parametrize("text", ["6m", "0d", "2", "y", "-3d", "101y", "2 years", ""])
def test_bad_periods_are_one_line_errors(text: str) -> None:
    with pytest.raises(UsageError) as raised:
        lookback_start(text, NOW)
    assert "\n" not in str(raised.value)
    if text == "6m":
        assert "6mo for months" in str(raised.value)


# --- the prompt loop ------------------------------------------------------------------------


def suggestion(name: str, email: str) -> Suggestion:
    return Suggestion(name, (email,), 3, 2, NOW, NOW, 1.0)


def test_the_prompt_loop_adds_passes_renames_and_quits() -> None:
    found = [suggestion(f"Person {n}", f"p{n}@x.example") for n in range(6)]
    answers = iter(["y", "n", "what?", "E", "Renamed Three", "e", "", "q", "y"])
    said: list[str] = []
    added: list[tuple[str, str]] = []

    def ask(prompt: str) -> str:
        said.append(prompt)
        return next(answers)

    def add(s: Suggestion, name: str) -> str:
        added.append((s.emails[0], name))
        return f"Added {name}"

    count = ask_each(found, ask=ask, say=said.append, add=add, day=lambda m: m.date().isoformat())
    assert added == [("p0@x.example", "Person 0"), ("p2@x.example", "Renamed Three"),
                     ("p3@x.example", "Person 3")]  # fmt: skip
    assert count == 3
    assert "Please answer y, n, e or q." in said
    assert any("Person 4" in line for line in said) and not any("Person 5" in s for s in said)


def test_the_prompt_loop_stops_at_the_end_of_input_and_survives_refusals() -> None:
    found = [suggestion("Taken", "t@x.example"), suggestion("Free", "f@x.example")]
    answers = iter(["y", "n", "y"])
    said: list[str] = []

    def ask(prompt: str) -> str:
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    def add(s: Suggestion, name: str) -> str:
        if s.name == "Taken":
            raise UsageError("address already belongs to Someone")
        return f"Added {name}"

    count = ask_each(found, ask=ask, say=said.append, add=add, day=lambda m: "day")
    assert count == 1
    assert "Not added: address already belongs to Someone" in said
    assert said[-1] == "Added Free"
