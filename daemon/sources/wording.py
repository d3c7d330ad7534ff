"""A read of a source in words, for the command line and the service's log."""

from __future__ import annotations

import shlex

from kithkin.daemon.sources.refresh import SourceReport

NAMES_SHOWN = 10  # names listed per kind of change; then "and N more"
PROBLEMS_LOGGED = 20  # problems the service logs per read; then how many more


def names(people: list[str]) -> str:
    shown = ", ".join(people[:NAMES_SHOWN])
    more = len(people) - NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def change_line(report: SourceReport) -> str:
    """ "~/.contacts/friends/: 2 added (Ada, Bob), 1 removed (Dan); 118 cards"."""
    if report.error:
        return f"{report.source}: {report.error}; nothing changed"
    parts = [
        f"{len(people)} {kind} ({names(people)})"
        for kind, people in (
            ("added", report.added),
            ("updated", report.updated),
            ("taken over", report.adopted),
            ("back", report.restored),
            ("removed", report.removed),
        )
        if people
    ]
    if report.problems:
        parts.append(f"{len(report.problems)} problem(s)")
    if not parts:
        parts.append("no change")
    return f"{report.source}: {', '.join(parts)}; {report.cards} card(s)"


def removed_line(name: str, source: str, day: str) -> str:
    """What `status` and `contacts list` say of a contact whose card was removed."""
    return (
        f"removed from {source} on {day}; history kept until "
        f"`kithkin contacts forget {shlex.quote(name)}`"
    )
