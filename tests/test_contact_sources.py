"""`[contacts] sources`: a vdir and a single vCard file, read into the contact book; changes
applied, removals marked with history kept, the owner's settings surviving every re-read."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

import pytest
from contactbooks import NOW, Books, vcard

from kithkin.daemon import book
from kithkin.daemon.sources import refresh_sources
from kithkin.daemon.sources.merge import Merge


@pytest.fixture
def books(tmp_path):
    opened = Books(tmp_path / "books")
    yield opened
    opened.close()


def cli(books: Books, run_cli, *args: str):
    return run_cli("--config", str(books.config_path), *args)


# --- adding and changing -----------------------------------------------------------------------


def test_cards_of_a_vdir_and_a_single_file_become_contacts(books: Books) -> None:
    books.write(
        "ada.vcf",
        vcard(
            "Ada Lovelace",
            "Ada@Example.org",
            uid="ada-1",
            extra=("NICKNAME:Addie", "BDAY:1815-12-10", "CATEGORIES:friends,math",
                   "NOTE:Likes engines\\nand poems"),
        ),
    )  # fmt: skip
    books.write(books.single, vcard("Bob B", "bob@example.org") + vcard("Cy", "cy@example.org"))
    vdir, single = books.refresh()
    assert (vdir.added, single.added) == (["Ada Lovelace"], ["Bob B", "Cy"])
    ada = books.people()["Ada Lovelace"]
    assert ada.emails == ("ada@example.org",)
    assert (ada.nickname, ada.birthday, ada.tags) == ("Addie", "1815-12-10", ("friends", "math"))
    notes = books.store.notes.list(ada.id)
    assert [n["text"] for n in notes] == ["Likes engines and poems"]
    pending = ["ada@example.org", "bob@example.org", "cy@example.org"]
    assert books.store.backfill.pending() == pending
    assert (vdir.cards, single.cards) == (1, 2)


def test_a_changed_card_updates_addresses_names_birthday_nickname_tags_and_note(
    books: Books,
) -> None:
    first = ("NICKNAME:Addie", "BDAY:1815-12-10", "CATEGORIES:friends,math", "NOTE:engines")
    books.write("ada.vcf", vcard("Ada Lovelace", "ada@example.org", uid="ada-1", extra=first))
    books.refresh()
    contact_id = books.people()["Ada Lovelace"].id
    later = ("NICKNAME:Countess", "BDAY:--12-11", "CATEGORIES:math,poetry", "NOTE:poems")
    books.write("ada.vcf", vcard("Ada King", "ada@new.example", uid="ada-1", extra=later))
    (report, _) = books.refresh()
    assert report.updated == ["Ada King"]
    ada = books.store.contacts.get(contact_id)
    assert ada.name == "Ada King"
    assert ada.emails == ("ada@new.example",)
    assert (ada.nickname, ada.birthday, ada.tags) == ("Countess", "--12-11", ("math", "poetry"))
    assert [n["text"] for n in books.store.notes.list(contact_id)] == ["poems"]
    assert "ada@new.example" in books.store.backfill.pending()
    books.write("ada.vcf", vcard("Ada King", "ada@new.example", uid="ada-1"))
    books.refresh()
    ada = books.store.contacts.get(contact_id)
    assert (ada.nickname, ada.birthday, ada.tags) == (None, None, ())
    assert books.store.notes.list(contact_id) == []


def test_settings_made_in_kithkin_survive_every_re_read(books: Books, run_cli) -> None:
    books.write("ada.vcf", vcard("Ada", "ada@example.org", uid="a", extra=("CATEGORIES:card",)))
    books.refresh()
    for args in (
        ("contacts", "edit", "Ada", "--every", "3w", "--tag", "mine", "--remind", "2d"),
        ("contacts", "snooze", "Ada", "--until", "2027-01-01"),
        ("contacts", "mute", "Ada"),
        ("note", "Ada", "met at the museum", "--date", "2026-10-01"),
    ):
        assert cli(books, run_cli, *args).exit_code == 0
    extra = ("CATEGORIES:card2", "BDAY:1815-12-10")
    emails = ("ada@example.org", "a2@example.org")
    books.write("ada.vcf", vcard("Ada L", *emails, uid="a", extra=extra))
    assert books.refresh(full=True)[0].updated == ["Ada L"]
    ada = books.people()["Ada L"]
    assert (ada.every_days, ada.remind_days, ada.muted, ada.snoozed_until) == (
        21,
        2,
        True,
        "2027-01-01",
    )
    assert ada.tags == ("card2", "mine")  # the card's tag replaced, the owner's kept
    assert ada.emails == ("ada@example.org", "a2@example.org")
    assert [n["text"] for n in books.store.notes.list(ada.id)] == ["met at the museum"]
    # The owner renames her and removes a card tag; a re-read of the same card keeps both.
    assert cli(books, run_cli, "contacts", "edit", "Ada", "--name", "Lady A", "--untag", "card2")
    books.refresh(full=True)
    assert books.people()["Lady A"].tags == ("mine",)


def test_unchanged_files_are_not_parsed_again(books: Books) -> None:
    for index in range(5):
        books.write(f"{index}.vcf", vcard(f"P{index}", f"p{index}@example.org", uid=f"u{index}"))
    books.write(books.single, vcard("Bob", "bob@example.org"))
    books.refresh()
    assert len(books.reads) == 6
    reports = books.refresh()
    assert books.reads == []
    assert [r.files_read for r in reports] == [0, 0]
    books.write("3.vcf", vcard("P3 renamed", "p3@example.org", uid="u3"))
    (vdir, single) = books.refresh()
    assert books.reads == ["3.vcf"]
    assert vdir.updated == ["P3 renamed"] and single.files_read == 0
    # Touched but the same card: read, and nothing changes.
    books.write("3.vcf", vcard("P3 renamed", "p3@example.org", uid="u3"))
    (vdir, _) = books.refresh()
    assert (books.reads, vdir.changed, vdir.unchanged) == (["3.vcf"], False, 1)
    # `kithkin contacts sources` reads everything, and changes nothing either.
    reports = books.refresh(full=True)
    assert len(books.reads) == 6 and not any(r.changed for r in reports)


def test_the_uid_survives_a_rename_of_the_file(books: Books) -> None:
    books.write("ada.vcf", vcard("Ada", "ada@example.org", uid="ada-uid"))
    books.refresh()
    contact_id = books.people()["Ada"].id
    os.rename(books.vdir / "ada.vcf", books.vdir / "0b1c-server-name.vcf")
    (report, _) = books.refresh()
    assert (report.removed, report.added, report.unchanged) == ([], [], 1)
    assert books.people()["Ada"].id == contact_id
    assert books.store.contact_sources.origin(contact_id).file == "0b1c-server-name.vcf"
    # A copy of the file beside it is the same card twice: one problem, nothing else.
    (books.vdir / "copy.vcf").write_text(vcard("Ada", "ada@example.org", uid="ada-uid"))
    (report, _) = books.refresh()
    assert len(report.problems) == 1 and "same card" in report.problems[0].message
    assert report.problems[0].where.endswith("friends/copy.vcf")
    assert books.active() == {"Ada"}


def test_a_card_without_uid_is_keyed_by_its_file_name_or_first_address(books: Books) -> None:
    books.write("x.vcf", vcard("No Uid", "nouid@example.org"))
    books.write(books.single, vcard("Single", "s1@example.org", "s2@example.org"))
    books.refresh()
    ids = {name: c.id for name, c in books.people().items()}
    books.write("x.vcf", vcard("No Uid Renamed", "other@example.org"))
    books.write(books.single, vcard("Single Renamed", "s1@example.org"))
    books.refresh()
    people = books.people()
    assert people["No Uid Renamed"].id == ids["No Uid"]
    assert people["No Uid Renamed"].emails == ("other@example.org",)
    assert people["Single Renamed"].id == ids["Single"]
    assert people["Single Renamed"].emails == ("s1@example.org",)


# --- removing ------------------------------------------------------------------------------------


def test_a_removed_card_is_marked_removed_with_its_history_kept(books: Books, run_cli) -> None:
    books.write("dan.vcf", vcard("Dan Brown", "dan@example.org", uid="dan"))
    books.write("eve.vcf", vcard("Eve", "eve@example.org", uid="eve"))
    books.refresh()
    assert cli(books, run_cli, "log", "Dan", "--date", "2026-09-01").exit_code == 0
    assert cli(books, run_cli, "note", "Dan", "new job").exit_code == 0
    os.remove(books.vdir / "dan.vcf")
    later = NOW + timedelta(days=1)
    (report, _) = books.refresh(now=later)
    assert report.removed == ["Dan Brown"]
    assert books.active() == {"Eve"}
    assert "dan@example.org" not in books.store.contacts.active_address_book()
    assert books.store.contacts.address_book()["dan@example.org"] == books.people()["Dan Brown"].id
    dan = books.people()["Dan Brown"]
    assert len(books.store.interactions.list(dan.id)) == 1  # the history is kept
    said = (
        f"removed from {books.vdir}/ on 2026-11-03; "
        "history kept until `kithkin contacts forget 'Dan Brown'`"
    )
    status = cli(books, run_cli, "status")
    assert f"Dan Brown: {said}" in status.stdout
    listed = cli(books, run_cli, "contacts", "list")
    assert said in listed.stdout
    as_json = json.loads(cli(books, run_cli, "contacts", "list", "--json").stdout)
    assert {p["name"]: p.get("removed_at") for p in as_json} == {"Dan Brown": "2026-11-03",
                                                                 "Eve": None}  # fmt: skip
    status_json = json.loads(cli(books, run_cli, "status", "--json").stdout)
    assert [p["name"] for p in status_json["removed_contacts"]] == ["Dan Brown"]
    # Not in the analysis: Eve (never in touch) is, Dan is not.
    analysed = cli(books, run_cli, "report", "--json", "--as-of", "2027-06-01")
    report_json = json.loads(analysed.stdout)
    assert "Eve" in report_json["never_in_touch"]
    assert "Dan Brown" not in json.dumps(report_json)
    # Forget drops him and everything about him.
    forgot = cli(books, run_cli, "contacts", "forget", "Dan Brown", "--yes")
    assert forgot.exit_code == 0 and "1 logged interaction" in forgot.stdout
    assert "still in" not in forgot.stdout
    assert set(books.people()) == {"Eve"}
    assert books.store.contact_sources.origins().keys() == {books.people()["Eve"].id}
    assert "Dan" not in cli(books, run_cli, "status").stdout


def test_a_card_taken_out_of_the_single_file_is_removed_and_comes_back(books: Books) -> None:
    books.write(books.single, vcard("Bob", "bob@example.org", uid="b") + vcard("Cy", "cy@e.org"))
    books.refresh()
    bob_id = books.people()["Bob"].id
    books.write(books.single, vcard("Cy", "cy@e.org"))
    (_, report) = books.refresh()
    assert report.removed == ["Bob"]
    assert books.active() == {"Cy"}
    with books.store.atomic():
        books.store.backfill.clear(books.store.backfill.pending())
    books.write(books.single, vcard("Bob", "bob@example.org", uid="b") + vcard("Cy", "cy@e.org"))
    (_, report) = books.refresh()
    assert report.restored == ["Bob"]
    assert books.people()["Bob"].id == bob_id and books.active() == {"Bob", "Cy"}
    assert books.store.backfill.pending() == ["bob@example.org"]  # mail while away looked up


def test_a_removed_contact_comes_back_by_its_addresses_under_a_new_uid(books: Books) -> None:
    books.write("dan.vcf", vcard("Dan", "dan@example.org", uid="old"))
    books.refresh()
    dan_id = books.people()["Dan"].id
    os.remove(books.vdir / "dan.vcf")
    books.refresh()
    books.write("new.vcf", vcard("Dan", "dan@example.org", uid="recreated"))
    (report, _) = books.refresh()
    assert (report.restored, report.added) == (["Dan"], [])
    assert books.people()["Dan"].id == dan_id
    # A new UID in the same file, in one read, is the same person too.
    books.write("new.vcf", vcard("Dan", "dan@example.org", uid="third"))
    (report, _) = books.refresh()
    assert (report.removed, report.added, report.updated) == ([], [], [])
    assert books.active() == {"Dan"}


def test_a_missing_source_changes_nothing(books: Books) -> None:
    books.write("ada.vcf", vcard("Ada", "ada@example.org", uid="a"))
    books.refresh()
    os.rename(books.vdir, books.directory / "unmounted")
    (report, single) = books.refresh()
    assert report.error == "not found" and report.error_is_new
    assert single.error == "not found"
    assert books.active() == {"Ada"}
    (report, _) = books.refresh()
    assert report.error == "not found" and not report.error_is_new
    os.rename(books.directory / "unmounted", books.vdir)
    (report, _) = books.refresh()
    assert report.error is None and books.active() == {"Ada"}
    assert books.store.contact_sources.last_read(str(books.vdir))[1] is None


def test_forgetting_a_contact_whose_card_is_still_there(books: Books, run_cli) -> None:
    books.write("ada.vcf", vcard("Ada", "ada@example.org", uid="a"))
    books.refresh()
    forgot = cli(books, run_cli, "contacts", "forget", "Ada", "--yes")
    assert "Their card is still in" in forgot.stdout
    assert books.people() == {}
    (report, _) = books.refresh()
    assert report.added == ["Ada"]


# --- conflicts -----------------------------------------------------------------------------------


def test_an_address_of_a_contact_added_in_kithkin_skips_the_card(books: Books) -> None:
    book.add_contact(books.store, "Ada (mine)", ["ada@example.org"], every_days=30, now=NOW)
    books.write("ada.vcf", vcard("Ada Card", "ada@example.org", uid="a"))
    books.write("bob.vcf", vcard("Bob", "bob@example.org", uid="b"))
    (report, _) = books.refresh()
    assert report.added == ["Bob"]
    [problem] = report.problems
    assert problem.where == f"{books.vdir}/ada.vcf" and problem.line == 1
    assert "ada@example.org belongs to Ada (mine), a contact added in Kithkin" in problem.message
    assert "--adopt" in problem.message
    assert set(books.people()) == {"Ada (mine)", "Bob"}
    (report, _) = books.refresh(adopt=True)
    assert report.adopted == ["Ada Card"] and report.problems == []
    ada = books.people()["Ada Card"]
    assert ada.every_days == 30
    os.remove(books.vdir / "ada.vcf")
    assert books.refresh()[0].removed == ["Ada Card"]


def test_two_cards_with_one_address_the_second_is_skipped(books: Books) -> None:
    books.write("a.vcf", vcard("First", "same@example.org", uid="1"))
    books.write("b.vcf", vcard("Second", "same@example.org", uid="2"))
    books.write("c.vcf", vcard("Third", "third@example.org", uid="3"))
    (report, _) = books.refresh()
    assert report.added == ["First", "Third"]
    [problem] = report.problems
    assert problem.where.endswith("/b.vcf")
    assert "same@example.org is already First's, from" in problem.message
    assert problem.message.endswith("a.vcf; card skipped")
    # A changed card taking an address of another: skipped, nothing of it applied.
    books.write("c.vcf", vcard("Third Renamed", "third@example.org", "same@example.org", uid="3"))
    (report, _) = books.refresh()
    assert "same@example.org already belongs to First" in report.problems[0].message
    assert books.people()["Third"].emails == ("third@example.org",)
    problems = books.store.contact_sources.problem_files()[str(books.vdir)]
    assert problems == {"b.vcf": (1,), "c.vcf": (1,)}


def test_the_same_card_in_two_sources_is_one_contact(books: Books) -> None:
    card = vcard("Ada", "ada@example.org", uid="a")
    books.write("ada.vcf", card)
    books.write(books.single, card)
    (vdir, single) = books.refresh()
    assert vdir.added == ["Ada"] and single.added == []
    assert "already Ada's" in single.problems[0].message


# --- the sources' own mistakes ---------------------------------------------------------------


def test_a_broken_card_is_one_problem_and_its_contact_is_kept(books: Books) -> None:
    books.write("ada.vcf", vcard("Ada", "ada@example.org", uid="a"))
    books.write("bob.vcf", vcard("Bob", "bob@example.org", uid="b"))
    books.refresh()
    books.write("ada.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:Ada\r\nEMAIL:broken\r\n")
    books.write("bob.vcf", vcard("Bob B", "bob@example.org", uid="b"))
    books.write("cy.vcf", "this is not a vcard")
    (report, _) = books.refresh()
    assert report.updated == ["Bob B"] and report.removed == []
    assert [str(p) for p in report.problems] == [
        f"{books.vdir}/ada.vcf:1: vCard has no END:VCARD; skipped",
        f"{books.vdir}/cy.vcf:1: not a vCard (no BEGIN:VCARD at the start); skipped",
    ]
    assert books.active() == {"Ada", "Bob B"}
    # In a single file, a broken card with a UID keeps its contact too.
    books.write(books.single, vcard("Zed", "zed@example.org", uid="z") + vcard("Yo", "yo@e.org"))
    books.refresh()
    broken = vcard("Zed", "not-an-address", uid="z") + vcard("Yo", "yo@e.org")
    books.write(books.single, broken)
    (_, single) = books.refresh()
    assert single.removed == [] and "Zed" in books.active()
    assert [p.line for p in single.problems] == [1]  # one problem for the card it skipped


def test_a_source_whose_change_fails_midway_changes_nothing(books: Books, monkeypatch) -> None:
    for name in "abc":
        books.write(f"{name}.vcf", vcard(name.upper(), f"{name}@example.org", uid=name))
    calls = []
    apply = Merge.apply

    def failing(self, card):
        calls.append(card.key)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return apply(self, card)

    monkeypatch.setattr(Merge, "apply", failing)
    with pytest.raises(RuntimeError):
        refresh_sources(books.store, books.config.contacts, now=NOW, today=NOW.date())
    assert books.people() == {}
    assert books.store.contact_sources.files(str(books.vdir)) == {}
    monkeypatch.setattr(Merge, "apply", apply)
    assert books.refresh()[0].added == ["A", "B", "C"]


def test_kithkin_contacts_sources_prints_what_changed(books: Books, run_cli) -> None:
    books.write("ada.vcf", vcard("Ada", "ada@example.org", uid="a"))
    books.write("bad.vcf", vcard("Bad", "nope", uid="x"))
    result = cli(books, run_cli, "contacts", "sources")
    assert result.exit_code == 1
    assert f"{books.vdir}/: 1 added (Ada), 1 problem(s); 1 card(s)" in result.stdout
    assert (
        f"{books.vdir}/bad.vcf:1: no valid email address for 'Bad' (not an address: 'nope'); "
        "skipped" in result.stderr
    )
    assert f"{books.single}: not found; nothing changed" in result.stdout
    status = cli(books, run_cli, "status").stdout
    assert f"Contacts from {books.vdir}/: 1 card(s), read " in status
    assert "problems at its last read: bad.vcf line 1 (`kithkin contacts sources`" in status
    assert f"Contacts from {books.single}: not found; nothing changed" in status
    os.remove(books.vdir / "bad.vcf")
    books.write(books.single, vcard("Bob", "bob@example.org"))
    result = cli(books, run_cli, "contacts", "sources")
    assert result.exit_code == 0, result.output
    assert f"{books.vdir}/: no change; 1 card(s)" in result.stdout
    assert f"{books.single}: 1 added (Bob); 1 card(s)" in result.stdout


def test_kithkin_contacts_sources_without_sources_is_one_line(run_cli, tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "k.db"}"\n')
    result = run_cli("--config", str(config), "contacts", "sources")
    assert result.exit_code == 2
    assert result.stderr.startswith("kithkin: error: no [contacts] sources in ")
    assert len(result.stderr.splitlines()) == 1


def test_a_parent_of_collections_gets_a_hint(tmp_path, run_cli) -> None:
    (tmp_path / "contacts" / "friends").mkdir(parents=True)
    books = Books(tmp_path, sources=[f"{tmp_path}/contacts/"])
    try:
        result = cli(books, run_cli, "contacts", "sources")
    finally:
        books.close()
    assert "no .vcf files, but 1 folder(s): name the address book's own folder" in result.stderr


def test_a_card_noted_today_is_dated_by_the_owners_day(books: Books) -> None:
    books.write("ada.vcf", vcard("Ada", "ada@example.org", uid="a", extra=("NOTE:hello",)))
    books.refresh()
    [note] = books.store.notes.list(books.people()["Ada"].id)
    assert note["date"] == date(2026, 11, 2).isoformat()


def test_a_card_moved_to_a_source_read_before_its_old_one(tmp_path) -> None:
    books = Books(tmp_path)
    books.close()
    books = Books(tmp_path, sources=[str(books.single), f"{books.vdir}/"])
    try:
        books.write("dan.vcf", vcard("Dan", "dan@example.org", uid="dan"))
        books.refresh()
        dan_id = books.people()["Dan"].id
        os.remove(books.vdir / "dan.vcf")
        books.write(books.single, vcard("Dan", "dan@example.org", uid="dan"))
        (single, vdir) = books.refresh()
        assert vdir.removed == ["Dan"]
        assert single.restored == ["Dan"] and single.problems == []
        assert books.active() == {"Dan"} and books.people()["Dan"].id == dan_id
        assert books.store.contact_sources.origin(dan_id).source == str(books.single)
        assert books.store.contact_sources.problem_files() == {}
    finally:
        books.close()
