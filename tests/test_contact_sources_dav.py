"""End to end: an address book on a real CardDAV server (Radicale), pulled into a vdir by the
real vdirsyncer, read by Kithkin; a card changed or deleted on the server reaches Kithkin at
the next vdirsyncer sync. And the calendar half of tests/davserver.py, for the CalDAV tests
that reuse it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from davserver import DavServer, Vdirsyncer, event_text, vcard_text
from helpers import toml_value

from kithkin.daemon.app import App
from kithkin.daemon.cli.sources import read_sources


@pytest.fixture
def dav() -> Iterator[DavServer]:
    with DavServer() as server:
        yield server


def kithkin_config(directory: Path, *sources: str) -> Path:
    config = directory / "config.toml"
    config.write_text(
        f"[contacts]\nsources = {toml_value(list(sources))}\n"
        f"[store]\npath = {toml_value(directory / 'k.db')}\n"
    )
    return config


def contacts(run_cli, config: Path) -> dict[str, dict]:
    listed = run_cli("--config", str(config), "contacts", "list", "--json")
    return {person["name"]: person for person in json.loads(listed.stdout)}


def test_radicale_to_vdirsyncer_to_kithkin(dav: DavServer, tmp_path: Path, run_cli) -> None:
    dav.make_addressbook("friends")
    ada = ("NICKNAME:Addie", "CATEGORIES:friends,math", "BDAY:1815-12-10")
    first = vcard_text("ada-1", "Ada Lovelace", "ada@example.org", extra=ada)
    dav.put_vcard("friends", "ada.vcf", first)
    dav.put_vcard("friends", "bob.vcf", vcard_text("bob-1", "Bob Smith", "bob@example.org"))
    assert dav.hrefs("friends") == ["ada.vcf", "bob.vcf"]
    vdirsyncer = Vdirsyncer(tmp_path / "vdirsyncer", dav)
    vdirsyncer.pairs()
    vdirsyncer.discover()
    vdirsyncer.sync()
    vdir = vdirsyncer.contacts / "friends"
    assert len(list(vdir.glob("*.vcf"))) == 2
    config = kithkin_config(tmp_path, f"{vdir}/")

    read = run_cli("--config", str(config), "contacts", "sources")
    assert read.exit_code == 0, read.output
    assert "2 added (Ada Lovelace, Bob Smith); 2 card(s)" in read.stdout
    people = contacts(run_cli, config)
    assert people["Ada Lovelace"]["nickname"] == "Addie"
    assert people["Ada Lovelace"]["tags"] == ["friends", "math"]
    assert people["Ada Lovelace"]["birthday"] == "1815-12-10"

    # Changed and deleted on the server (as a phone would), then synced again.
    dav.put_vcard("friends", "ada.vcf", vcard_text("ada-1", "Ada King", "ada@new.example",
                                                   extra=("CATEGORIES:math",)))  # fmt: skip
    dav.delete("friends", "bob.vcf")
    dav.put_vcard("friends", "cy.vcf", vcard_text("cy-1", "Cy Young", "cy@example.org"))
    vdirsyncer.sync()
    read = run_cli("--config", str(config), "contacts", "sources")
    assert read.exit_code == 0, read.output
    assert "1 added (Cy Young), 1 updated (Ada King), 1 removed (Bob Smith); 2 card(s)" in (
        read.stdout
    )
    people = contacts(run_cli, config)
    assert people["Ada King"]["emails"] == ["ada@new.example"]
    assert people["Ada King"]["tags"] == ["math"]
    assert "removed_at" in people["Bob Smith"] and "removed_at" not in people["Ada King"]
    status = run_cli("--config", str(config), "status").stdout
    assert f"Bob Smith: removed from {vdir}/ on " in status

    # Nothing new on the server: vdirsyncer changes no file, Kithkin reads none.
    vdirsyncer.sync()
    quiet = run_cli("--config", str(config), "status", "--json")
    before = json.loads(quiet.stdout)["contact_sources"][0]["read_at"]
    app = App(config_path=config)
    try:
        (report,) = read_sources(app)  # in-process: the incremental read of each poll
    finally:
        app.close()
    assert (report.files_read, report.changed) == (0, False)
    after = json.loads(run_cli("--config", str(config), "status", "--json").stdout)
    assert after["contact_sources"][0]["read_at"] == before


def test_a_calendar_collection_synced_by_vdirsyncer(dav: DavServer, tmp_path: Path) -> None:
    dav.make_calendar("work")
    start = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)
    event = event_text("call-1", "Call with Ada", start, start + timedelta(hours=1),
                       attendees=("ada@example.org",))  # fmt: skip
    dav.put_event("work", "call-1.ics", event)
    assert dav.hrefs("work") == ["call-1.ics"]
    vdirsyncer = Vdirsyncer(tmp_path / "vdirsyncer", dav)
    vdirsyncer.pairs(contacts=False, calendars=True)
    vdirsyncer.discover()
    vdirsyncer.sync()
    [synced] = (vdirsyncer.calendars / "work").glob("*.ics")
    text = synced.read_text()
    assert "SUMMARY:Call with Ada" in text and "DTSTART:20261103T140000Z" in text
    assert "mailto:ada@example.org" in text
