"""What the summary shows besides the report: what the owner's last replies did, the
command reminder, each person's latest note, and how many messages could not be read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from kithkin.daemon.steering.journal import shown_reply
from kithkin.daemon.store import Store

# The reply commands, short enough that no line wraps on a phone (at most 24 characters);
# parsers/replies.py reads them (tests/test_summary_layout.py checks each one parses).
COMMANDS = (
    "snooze NAME 3w",
    "mute NAME / unmute NAME",
    "every NAME 14d",
    "called NAME / met NAME",
    "note NAME some text",
)


@dataclass
class SummaryExtras:
    applied: list[str] = field(default_factory=list)
    not_understood: list[tuple[str, str]] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    notes: dict[int, tuple[str, str]] = field(default_factory=dict)  # contact id -> (date, text)
    reply_keys: list[str] = field(default_factory=list)  # replies reported in this summary
    set_aside: int = 0  # messages set aside since the last summary (they could not be read)


def summary_extras(store: Store, as_of: date) -> SummaryExtras:
    """Results of replies since the last summary, the command reminder, and latest notes."""
    replies = store.replies.unreported()
    applied: list[str] = []
    not_understood: list[tuple[str, str]] = []
    for reply in replies:
        shown = shown_reply(store, reply)
        applied += shown["applied"]
        not_understood += [(line, reason) for line, reason in shown["not_understood"]]
        if shown.get("ignored"):
            not_understood.append(("(a message from your address)", shown["ignored"]))
    return SummaryExtras(
        applied=applied,
        not_understood=not_understood,
        commands=list(COMMANDS),
        notes=store.notes.latest(as_of),
        reply_keys=[reply["message_key"] for reply in replies],
        set_aside=store.set_aside.unreported(),
    )
