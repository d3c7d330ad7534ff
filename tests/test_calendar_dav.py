"""End to end: meetings on a real CalDAV server (Radicale), pulled into a vdir by the real
vdirsyncer, read by `kithkin calendar read`: a recurring meeting with a moved occurrence, a
declined one, a future one and one without contacts, and an event added on the server later.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from davserver import DavServer, Vdirsyncer
from helpers import toml_value
from icsbuilder import ME, calendar, event

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ADA = "ada@example.org"


@pytest.fixture
def dav() -> Iterator[DavServer]:
    with DavServer() as server:
        yield server


def put(dav: DavServer, href: str, *events: str) -> None:
    dav.put_event("work", href, calendar(*events).decode("utf-8"))


def meetings(run_cli, config: Path) -> list[tuple[str, str]]:
    shown = run_cli("--config", str(config), "interactions", "--json")
    rows = json.loads(shown.stdout)
    return sorted((row["date"][:10], row["kind"]) for row in rows)


def test_radicale_to_vdirsyncer_to_kithkin_meetings(dav: DavServer, tmp_path: Path, run_cli):
    dav.make_calendar("work")
    weekly = event("standup", datetime(2026, 11, 2, 10, 0, tzinfo=UTC), attendees=[ADA],
                   rrule="FREQ=WEEKLY;COUNT=4", summary="Standup")  # fmt: skip
    moved = event("standup", datetime(2026, 11, 10, 15, 0, tzinfo=UTC), attendees=[ADA],
                  recurrence_id=datetime(2026, 11, 9, 10, 0, tzinfo=UTC),
                  summary="Standup")  # fmt: skip
    put(dav, "standup.ics", weekly, moved)
    put(dav, "declined.ics", event("declined", datetime(2026, 11, 4, 9, 0, tzinfo=UTC),
                                   attendees=[(ADA, "DECLINED")]))  # fmt: skip
    put(dav, "future.ics", event("future", datetime(2026, 12, 20, 9, 0, tzinfo=UTC),
                                 attendees=[ADA]))  # fmt: skip
    put(dav, "dentist.ics", event("dentist", datetime(2026, 11, 5, 9, 0, tzinfo=UTC),
                                  attendees=["stranger@clinic.example"],
                                  summary="Dentist Zorro"))  # fmt: skip
    vdirsyncer = Vdirsyncer(tmp_path / "vdirsyncer", dav)
    vdirsyncer.pairs(contacts=False, calendars=True)
    vdirsyncer.discover()
    vdirsyncer.sync()
    vdir = vdirsyncer.calendars / "work"
    assert len(list(vdir.glob("*.ics"))) == 4

    config = tmp_path / "config.toml"
    config.write_text(
        f"[me]\naddresses = {toml_value([ME])}\n"
        f"[calendar]\nsources = {toml_value([f'{vdir}/'])}\n"
        f"[store]\npath = {toml_value(tmp_path / 'k.db')}\n"
    )
    added = run_cli("--config", str(config), "contacts", "add", "Ada", "--email", ADA)
    assert added.exit_code == 0, added.output
    read = run_cli("--config", str(config), "calendar", "read", now=NOW)
    assert read.exit_code == 0, read.output
    assert "4 meetings logged" in read.stdout
    # Nov 9's occurrence moved to the 10th; the declined and the future ones do not count.
    assert meetings(run_cli, config) == [
        ("2026-11-02", "meeting"), ("2026-11-10", "meeting"),
        ("2026-11-16", "meeting"), ("2026-11-23", "meeting"),
    ]  # fmt: skip
    for name in ("k.db", "k.db-wal", "k.db-shm"):
        path = tmp_path / name
        data = path.read_bytes() if path.exists() else b""
        assert b"Dentist Zorro" not in data and b"stranger@clinic" not in data

    # An event added on the server (as a phone would), then synced again: only it is new.
    put(dav, "lunch.ics", event("lunch", datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
                                attendees=[ADA], summary="Lunch"))  # fmt: skip
    vdirsyncer.sync()
    again = run_cli("--config", str(config), "calendar", "read", now=NOW)
    assert again.exit_code == 0, again.output
    assert "1 meeting logged" in again.stdout
    assert ("2026-11-24", "meeting") in meetings(run_cli, config)
    assert len(meetings(run_cli, config)) == 5
    idle = run_cli("--config", str(config), "calendar", "read", now=NOW)
    assert "0 meetings logged" in idle.stdout and "unchanged" in idle.stdout
