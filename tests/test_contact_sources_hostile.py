"""`[contacts] sources` fed crafted files: control characters, huge files, 10,000 cards, FIFOs,
links, odd names, too many files; and the `[contacts]` section's own mistakes."""

from __future__ import annotations

import os
import time

import pytest
from contactbooks import Books, vcard

from kithkin.daemon.config import load_config
from kithkin.daemon.config.starter import starter_config
from kithkin.daemon.errors import ConfigError
from kithkin.daemon.sources import files as files_module
from kithkin.daemon.sources.files import MAX_BOOK_FILE, MAX_CARD_FILE, FileUnreadable
from kithkin.parsers.text import is_clean


@pytest.fixture
def books(tmp_path):
    opened = Books(tmp_path / "books")
    yield opened
    opened.close()


def test_control_characters_never_reach_the_store(books: Books) -> None:
    nasty = "\x1b[31m\x07\u202e\x00"
    books.write(
        "x.vcf",
        vcard(
            f"Mal{nasty}lory",
            "mallory@example.org",
            uid=f"u{nasty}1",
            extra=(f"NICKNAME:Mal{nasty}", f"CATEGORIES:a{nasty}b,{nasty}",
                   f"NOTE:line one\\nline{nasty} two"),
        ),
    )  # fmt: skip
    (report, _) = books.refresh()
    assert report.added == ["Mal lory"]  # escapes removed, other controls a space
    mallory = books.people()["Mal lory"]
    assert (mallory.nickname, mallory.tags) == ("Mal", ("a b",))
    [note] = books.store.notes.list(mallory.id)
    assert note["text"] == "line one line two"
    stored = books.store.contact_sources.origin(mallory.id)
    assert stored is not None and stored.key == "uid:u 1"
    for value in (*mallory.emails, mallory.name, *map(str, stored.card.values())):
        assert is_clean(value)


def test_a_huge_file_is_one_problem_and_the_rest_is_read(books: Books) -> None:
    books.write("ada.vcf", vcard("Ada", "ada@example.org", uid="a"))
    books.refresh()
    huge = ("X:" + "y" * MAX_CARD_FILE,)
    books.write("ada.vcf", vcard("Ada", "ada@example.org", uid="a", extra=huge))
    books.write("bob.vcf", vcard("Bob", "bob@example.org", uid="b"))
    (report, _) = books.refresh()
    assert report.added == ["Bob"] and report.removed == []
    [problem] = report.problems
    assert problem.where.endswith("/ada.vcf") and problem.line == 0
    assert "more than the 1,048,576 a file may have here; not read" in problem.message
    assert books.active() == {"Ada", "Bob"}
    assert books.refresh()[0].problems == []  # not tried again until it changes
    # A single file may be larger, up to its own bound.
    big = vcard("Cy", "cy@example.org", extra=("X:" + "z" * (2 * MAX_CARD_FILE),))
    books.write(books.single, big)
    assert books.refresh()[1].added == ["Cy"]
    books.write(books.single, big + "X" * MAX_BOOK_FILE)
    (_, single) = books.refresh()
    assert "more than the 20,971,520" in single.problems[0].message
    assert "Cy" in books.active()


def test_ten_thousand_cards_in_one_file(books: Books) -> None:
    cards = "".join(
        vcard(f"Person {n}", f"p{n}@example.org", uid=f"id-{n}", extra=(f"CATEGORIES:g{n % 7}",))
        for n in range(10_000)
    )
    books.write(books.single, cards)
    started = time.perf_counter()
    (_, single) = books.refresh()
    first = time.perf_counter() - started
    assert len(single.added) == 10_000 and single.cards == 10_000
    changed = cards.replace("FN:Person 5000\r\n", "FN:Person Five Thousand\r\n")
    books.write(books.single, changed)
    started = time.perf_counter()
    (_, single) = books.refresh()
    second = time.perf_counter() - started
    assert single.updated == ["Person Five Thousand"] and single.unchanged == 9_999
    print(f"10,000 cards: first read {first:.2f} s, re-read with one change {second:.2f} s")


def test_ten_thousand_files_in_a_vdir_are_stat_ed_not_read(books: Books) -> None:
    for n in range(10_000):
        (books.vdir / f"{n}.vcf").write_text(vcard(f"P{n}", f"p{n}@example.org", uid=str(n)))
    (report, _) = books.refresh()
    assert len(report.added) == 10_000
    started = time.perf_counter()
    (report, _) = books.refresh()
    idle = time.perf_counter() - started
    assert books.reads == [] and not report.changed
    print(f"an idle re-read of 10,000 files: {idle * 1000:.0f} ms")


def test_too_many_files_leave_the_source_as_it_was(books: Books, monkeypatch) -> None:
    monkeypatch.setattr(files_module, "MAX_FILES", 3)
    for n in range(3):
        books.write(f"{n}.vcf", vcard(f"P{n}", f"p{n}@example.org", uid=str(n)))
    books.refresh()
    books.write("3.vcf", vcard("P3", "p3@example.org", uid="3"))
    books.write("4.vcf", vcard("P4", "p4@example.org", uid="4"))
    os.remove(books.vdir / "0.vcf")
    (report, _) = books.refresh()
    assert report.error == "holds more than 3 .vcf files; none was read"
    assert books.active() == {"P0", "P1", "P2"}


def test_fifos_links_odd_names_and_temporary_files(books: Books, tmp_path) -> None:
    os.mkfifo(books.vdir / "pipe.vcf")
    outside = tmp_path / "outside.vcf"
    outside.write_text(vcard("Linked", "linked@example.org", uid="l"))
    os.symlink(outside, books.vdir / "link.vcf")
    os.symlink(tmp_path / "nowhere", books.vdir / "dangling.vcf")
    os.symlink("/dev/zero", books.vdir / "zero.vcf")
    for name in (".hidden.vcf", "ada.vcf.tmp", "ada.vcfX3kq9", "notes.txt"):
        (books.vdir / name).write_text(vcard("Temp", "temp@example.org"))
    odd = os.fsencode(books.vdir) + b"/caf\xe9.vcf"
    with open(odd, "wb") as file:
        file.write(vcard("Odd", "odd@example.org").encode())
    (books.vdir / "UPPER.VCF").write_text(vcard("Upper", "upper@example.org"))
    (report, _) = books.refresh()  # no FIFO is opened: this would block
    assert sorted(report.added) == ["Linked", "Upper"]
    assert sorted(report.notes) == [
        f"{books.vdir}/caf\ufffd.vcf: the name is not UTF-8; passed over",
        f"{books.vdir}/dangling.vcf: cannot be read (a broken link?); passed over",
        f"{books.vdir}/pipe.vcf: not a regular file; passed over",
        f"{books.vdir}/zero.vcf: not a regular file; passed over",
    ]


def test_a_fifo_as_the_single_file_is_refused(tmp_path) -> None:
    os.mkfifo(tmp_path / "book.vcf")
    books = Books(tmp_path, sources=[str(tmp_path / "book.vcf")])
    try:
        (report,) = books.refresh()
    finally:
        books.close()
    assert report.error == "is neither a directory nor a regular file"


def test_an_unreadable_file_is_read_again_once_made_readable(books: Books, monkeypatch) -> None:
    path = books.write("ada.vcf", vcard("Ada", "ada@example.org", uid="a"))
    path.chmod(0)
    if os.geteuid() == 0:  # root reads it all the same: refuse the way the kernel would

        def refuse(target, limit):
            raise FileUnreadable("cannot be read: Permission denied")

        monkeypatch.setattr(books, "reader", refuse)
    (report, _) = books.refresh()
    assert report.problems[0].message == "cannot be read: Permission denied"
    assert books.refresh()[0].problems == []  # the same file: not tried at every poll
    monkeypatch.undo()
    path.chmod(0o600)  # only its ctime changes: read again without `contacts sources`
    assert books.refresh()[0].added == ["Ada"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"~/x"', "[contacts] sources must be a list, not str"),
        ('["a", 1]', "[contacts] sources must be a list of non-empty strings"),
        ('["a\\u0007"]', "[contacts] sources has 'a\\x07', which holds control characters"),
        ('["a/", "a"]', "names"),
    ],
)
def test_mistakes_in_the_contacts_section(tmp_path, value: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[contacts]\nsources = {value}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert message in str(raised.value) and str(config) in str(raised.value)


def test_unknown_keys_and_paths_of_the_contacts_section(tmp_path, monkeypatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[contacts]\nsource = []\n")
    with pytest.raises(ConfigError, match=r"\[contacts\] source is not a known setting"):
        load_config(config)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BOOKS", "/srv/books")
    config.write_text('[contacts]\nsources = ["~/.contacts/friends/", "rel.vcf", "$BOOKS//x/"]\n')
    sources = load_config(config).contacts.sources
    assert [str(s.path) for s in sources] == [
        f"{tmp_path}/home/.contacts/friends",
        f"{tmp_path}/rel.vcf",
        "/srv/books/x",
    ]
    assert [(s.shown, s.directory) for s in sources] == [
        ("~/.contacts/friends/", True),
        ("rel.vcf", False),
        ("$BOOKS//x/", True),
    ]
    assert load_config(tmp_path / "config.toml").contacts.shown("/srv/books/x") == "$BOOKS//x/"


def test_the_starter_configs_contacts_section_reads(tmp_path) -> None:
    text = starter_config(
        address="me@example.org", host="imap.example.org", username="me",
        password_command=None, store_path=str(tmp_path / "k.db"),
    )  # fmt: skip
    head, contacts = text.split("# [contacts]", 1)
    text = head + "[contacts]" + contacts.replace("# sources =", "sources =", 1)
    config = tmp_path / "config.toml"
    config.write_text(text)
    assert [s.shown for s in load_config(config).contacts.sources] == [
        "~/.contacts/friends/",
        "~/family.vcf",
    ]
