"""`match`, and the audience rule it shares with the store's SQL, as tables: message facts
plus the address book -> the interactions it makes (or none)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from kithkin.daemon.core.audience import SQL_PERSONAL, SQL_WEIGHT, audience, is_personal, weight
from kithkin.daemon.core.matching import match
from kithkin.parsers.headers import parse_headers

ME = frozenset({"me@home.example", "me@old-job.example"})
BOOK = {"ada@example.org": 1, "bob@example.org": 2, "cy@example.org": 3}
WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def facts(**fields: str) -> object:
    lines = [f"{name.replace('_', '-')}: {value}" for name, value in fields.items()]
    return parse_headers(("\r\n".join(lines) + "\r\n\r\n").encode(), WHEN)


def brief(rows: list) -> list[tuple]:
    return [(row.contact_id, row.direction, row.audience) for row in rows]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # in: a contact writes to one of my addresses (To or Cc); only they are logged
        ({"from": "Ada <ada@example.org>", "to": "me@home.example"}, [(1, "in", 1)]),
        ({"from": "ada@example.org", "to": "x@y.org", "cc": "ME@Old-Job.example"},
         [(1, "in", 2)]),
        ({"from": "ada@example.org", "to": "me@home.example, bob@example.org"},
         [(1, "in", 2)]),  # bob is a recipient, not a sender: nothing with him
        # out: I write to contacts in To, Cc or Bcc; each is an interaction
        ({"from": "me@home.example", "to": "ada@example.org"}, [(1, "out", 1)]),
        ({"from": "me@home.example", "to": "ada@example.org", "cc": "bob@example.org",
          "bcc": "cy@example.org"}, [(1, "out", 3), (2, "out", 3), (3, "out", 3)]),
        # the sender is never counted in the audience, even when also a recipient
        ({"from": "me@home.example", "to": "ada@example.org, me@home.example"},
         [(1, "out", 1)]),
        ({"from": "ada@example.org", "to": "me@home.example, ada@example.org"},
         [(1, "in", 1)]),
        # neither from nor to me: no interaction, whoever is in it
        ({"from": "ada@example.org", "to": "bob@example.org"}, []),
        # strangers only
        ({"from": "s@strangers.example", "to": "me@home.example"}, []),
        # lists, automatic and bulk mail, our own summaries: never interactions
        ({"from": "ada@example.org", "to": "me@home.example", "list_id": "<l.example>"}, []),
        ({"from": "ada@example.org", "to": "me@home.example", "auto_submitted": "auto-replied"},
         []),
        ({"from": "ada@example.org", "to": "me@home.example", "auto_submitted": "no"},
         [(1, "in", 1)]),
        ({"from": "ada@example.org", "to": "me@home.example", "precedence": "bulk"}, []),
        ({"from": "me@home.example", "to": "me@home.example", "x_kithkin_summary": "ab"}, []),
        # a large group: one row per contact, audience = everyone but the sender
        ({"from": "me@home.example",
          "to": ", ".join(f"p{n}@group.example" for n in range(8)) + ", ada@example.org"},
         [(1, "out", 9)]),
    ],
)  # fmt: skip
def test_match(headers: dict[str, str], expected: list[tuple]) -> None:
    assert brief(match(facts(**headers), BOOK, ME)) == expected


def test_an_interaction_carries_the_message_s_facts() -> None:
    message = facts(**{"from": "ada@example.org", "to": "me@home.example",
                       "subject": "Lunch?", "message_id": "<m1@example.org>"})  # fmt: skip
    (row,) = match(message, BOOK, ME)
    assert (row.date, row.message_id, row.message_key, row.subject, row.kind) == (
        WHEN, "m1@example.org", "<m1@example.org>", "Lunch?", "email",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("senders", "recipients", "size"),
    [
        (set(), set(), 1),
        ({"a"}, {"b"}, 1),
        ({"a"}, {"a", "b"}, 1),  # the sender is not their own audience
        ({"a"}, {"b", "c", "d"}, 3),
        ({"a", "b"}, {"b", "c", "d", "e"}, 3),
    ],
)
def test_the_audience_is_the_recipients_but_the_senders(senders, recipients, size) -> None:
    assert audience(senders, recipients) == size


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6, 10, 40, 1000])
def test_the_sql_of_the_audience_rule_agrees_with_the_rule(size: int) -> None:
    """The store aggregates in SQL; its expressions are the same rule."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (audience INTEGER)")
    db.execute("INSERT INTO t VALUES (?)", [size])
    sql_weight, sql_personal = db.execute(f"SELECT {SQL_WEIGHT}, {SQL_PERSONAL} FROM t").fetchone()
    assert sql_weight == pytest.approx(weight(size))
    assert bool(sql_personal) == is_personal(size)
    assert weight(size) == (1.0 if size <= 3 else 3 / size)
