"""Names as people type them: folded (case, accents, ø and ß), found by nickname, first name,
start of a name or address, the closest names for a typo, and two people of one name told
apart by address. Pure tables on the index, then the command line."""

from __future__ import annotations

import json

import pytest

from kithkin.daemon.core.names import NameIndex, edit_distance, fold
from kithkin.daemon.core.records import Contact

BOOK = [
    Contact(1, "José García", ("jose@example.org",), nickname="Pepe"),
    Contact(2, "Jürgen Müller", ("jm@example.org",)),
    Contact(3, "Hans Christian Ørsted", ("hco@example.org",)),
    Contact(4, "Ada Lovelace", ("ada@example.org",)),
    Contact(5, "Adam Smith", ("adam@example.org",)),
    Contact(6, "Lena Fischer", ("lena@example.org",)),
    Contact(7, "Ana Silva", ("silva@example.org",)),
    Contact(8, "Ana Souza", ("souza@example.org",)),
    Contact(9, "Jean-Luc Picard", ("jl@example.org",)),
    Contact(10, "Grete Straße", ("grete@example.org",), nickname="Gigi"),
    Contact(11, "Łukasz Żółw", ("lz@example.org",)),
]


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("José", "jose"),
        ("JOSÉ", "jose"),
        ("Müller", "muller"),
        ("Ørsted", "orsted"),
        ("ørsted", "orsted"),
        ("Straße", "strasse"),
        ("STRASSE", "strasse"),
        ("Łukasz Żółw", "lukasz zolw"),
        ("Đorđe", "dorde"),
        ("Æsa Þór", "aesa thor"),
        ("İlkay", "ilkay"),
        ("ＡＤＡ", "ada"),  # fullwidth
        ("Zoe\u0308", "zoe"),  # e + combining diaeresis
        ("Zoë\u200d", "zoe"),  # a zero-width joiner pasted along
        ("  Ada   LOVELACE ", "ada lovelace"),
        ("Jean-Luc", "jean luc"),
        ("Jean‑Luc", "jean luc"),  # a non-breaking hyphen
        ("O'Neil", "oneil"),
        ("O’Neil", "oneil"),
        ("Lovelace, A.", "lovelace a"),
    ],
)
def test_folding(typed: str, folded: str) -> None:
    assert fold(typed) == folded


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("José García", [1]),
        ("jose garcia", [1]),  # case and accents aside
        ("JOSE", [1]),  # the first name, unambiguous
        ("pepe", [1]),  # the nickname
        ("Pep", [1]),  # the start of the nickname
        ("garcia", [1]),  # a word of the name
        ("muller", [2]),
        ("jurgen müller", [2]),
        ("orsted", [3]),
        ("Ørsted", [3]),
        ("hans christian", [3]),
        ("ada", [4]),  # the first name beats the start of "Adam"
        ("Ad", [4, 5]),  # only the start of two names
        ("ana", [7, 8]),  # a first name two people have
        ("ana so", [8]),
        ("luc", [9]),  # a part of a hyphenated name
        ("jean-luc", [9]),
        ("Jean Luc", [9]),
        ("strasse", [10]),
        ("gigi", [10]),
        ("lukasz", [11]),
        ("zolw", [11]),
        ("lina", []),
        ("", []),
    ],
)
def test_finding_by_name(query: str, found: list[int]) -> None:
    assert [contact.id for contact in NameIndex(BOOK).find(query)] == found


def test_the_whole_name_beats_a_nickname_and_a_nickname_a_first_name() -> None:
    book = [
        Contact(1, "Sam", ("sam@example.org",)),
        Contact(2, "Samantha Jones", ("sj@example.org",), nickname="Sam"),
        Contact(3, "Samantha Berg", ("sb@example.org",), nickname="Sammy"),
        Contact(4, "Sammy Davis", ("sd@example.org",)),
    ]
    index = NameIndex(book)
    assert [c.id for c in index.find("sam")] == [1]
    assert [c.id for c in index.find("sammy")] == [3]  # her nickname, his first name
    assert [c.id for c in index.find("samantha")] == [2, 3]


@pytest.mark.parametrize(
    ("query", "suggested"),
    [
        ("Lina", [6]),  # "did you mean Lena Fischer?"
        ("Lena Fisher", [6]),
        ("fischr", [6]),
        ("jsoe", [1]),  # two letters swapped
        ("Peppe", [1]),  # by nickname
        ("Mueller", [2]),  # two edits: close enough for seven letters
        ("Smiht", [5]),
        ("Adma", [4, 5]),  # one edit from "ada" and from "adam"
        ("Zed", []),  # nothing close
        ("Xy", []),  # too short to guess
        ("Lovelace Ada", []),
    ],
)
def test_the_closest_names(query: str, suggested: list[int]) -> None:
    assert [contact.id for contact in NameIndex(BOOK).closest(query)] == suggested


def test_at_most_three_suggestions_the_closest_first() -> None:
    book = [Contact(n, name, (f"{n}@example.org",)) for n, name in
            enumerate(["Hanna", "Anne", "Anni", "Anna", "Ann", "Zara"], 1)]  # fmt: skip
    assert [c.name for c in NameIndex(book).closest("Annaa")] == ["Anna", "Hanna", "Anne"]


@pytest.mark.parametrize(
    ("a", "b", "bound", "distance"),
    [
        ("lena", "lina", 1, 1),
        ("jose", "jsoe", 1, 1),
        ("kitten", "sitting", 3, 3),
        ("kitten", "sitting", 2, None),
        ("abc", "abc", 0, 0),
        ("a" * 10_000, "b", 3, None),  # bounded: the lengths alone rule it out
    ],
)
def test_edit_distance(a: str, b: str, bound: int, distance: int | None) -> None:
    assert edit_distance(a, b, bound) == distance


# --- the command line -------------------------------------------------------------------------


def add(run_cli, name: str, address: str, *more: str):
    return run_cli("contacts", "add", name, "--email", address, *more)


def names(run_cli) -> list[tuple[str, str]]:
    listed = json.loads(run_cli("contacts", "list", "--json").stdout)
    return [(c["name"], c["emails"][0]) for c in listed]


def one_error(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kithkin: error: "), result.stderr
    return lines[0]


@pytest.fixture
def book(run_cli):
    for name, address, *more in [
        ("José García", "jose@example.org", "--nickname", "Pepe"),
        ("Jürgen Müller", "jm@example.org"),
        ("Hans Ørsted", "hans@example.org"),
        ("Lena Fischer", "lena@example.org"),
        ("Ada Lovelace", "ada@example.org"),
        ("Adam Smith", "adam@example.org"),
    ]:
        assert add(run_cli, name, address, *more).exit_code == 0
    return run_cli


@pytest.mark.parametrize(
    ("typed", "who"),
    [("jose", "José García"), ("pepe", "José García"), ("muller", "Jürgen Müller"),
     ("orsted", "Hans Ørsted"), ("ada", "Ada Lovelace"), ("LENA@example.ORG", "Lena Fischer")],
)  # fmt: skip
def test_every_command_finds_names_as_typed(book, typed: str, who: str) -> None:
    result = book("contacts", "edit", typed, "--tag", "found")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(who)
    logged = book("log", typed, "--date", "2026-11-01")
    assert logged.stdout == f"Logged a call with {who} on 2026-11-01.\n"


def test_an_unknown_name_says_which_names_are_close(book) -> None:
    line = one_error(book("log", "Lina"))
    assert line == "kithkin: error: no contact 'Lina' — did you mean Lena Fischer?"
    line = one_error(book("show", "jurgen mueller"))
    assert line.endswith("did you mean Jürgen Müller?")
    line = one_error(book("contacts", "forget", "Zed", "--yes"))
    assert line == "kithkin: error: no contact 'Zed' (see `kithkin contacts list`)"
    line = one_error(book("log", "<Lena@Example.NET>"))
    assert line == "kithkin: error: no contact has the address 'lena@example.net'"
    line = one_error(book("log", "Lena Fischer <lena@example.net>"))
    assert line == "kithkin: error: no contact has the address 'lena@example.net'"


def test_a_name_another_has_is_refused_unless_allowed(run_cli) -> None:
    assert add(run_cli, "José García", "jose@example.org").exit_code == 0
    line = one_error(add(run_cli, "jose garcia", "other@example.org"))
    assert "already a contact named José García <jose@example.org>" in line
    assert "--allow-duplicate" in line
    assert names(run_cli) == [("José García", "jose@example.org")]
    allowed = add(run_cli, "Jose Garcia", "other@example.org", "--allow-duplicate")
    assert allowed.exit_code == 0, allowed.stderr
    assert names(run_cli) == [("Jose Garcia", "other@example.org"),
                              ("José García", "jose@example.org")]  # fmt: skip


def test_renaming_onto_another_name_is_refused_unless_allowed(run_cli) -> None:
    add(run_cli, "Ada Lovelace", "ada@example.org")
    add(run_cli, "Ada King", "king@example.org")
    line = one_error(run_cli("contacts", "edit", "king@example.org", "--name", "ADA LOVELACE"))
    assert "already a contact named Ada Lovelace <ada@example.org>" in line
    own = run_cli("contacts", "edit", "Ada Lovelace", "--name", "Ada LOVELACE")
    assert own.exit_code == 0, own.stderr  # her own name, spelt anew
    allowed = run_cli("contacts", "edit", "king@example.org", "--name", "Ada Lovelace",
                      "--allow-duplicate")  # fmt: skip
    assert allowed.exit_code == 0, allowed.stderr
    assert sorted(names(run_cli)) == [("Ada LOVELACE", "ada@example.org"),
                                      ("Ada Lovelace", "king@example.org")]  # fmt: skip


def test_two_people_of_one_name_are_told_apart_by_address(run_cli) -> None:
    add(run_cli, "Ana Silva", "ana@home.example")
    add(run_cli, "Ana Silva", "ana@work.example", "--allow-duplicate")
    line = one_error(run_cli("log", "ana silva", "--date", "2026-11-01"))
    assert line == (
        "kithkin: error: 'ana silva' matches several contacts: Ana Silva <ana@home.example>; "
        "Ana Silva <ana@work.example>; use one of the addresses"
    )
    assert one_error(run_cli("log", "Ana")).endswith("use one of the addresses")
    logged = run_cli("log", "ana@work.example", "--date", "2026-11-01")
    assert logged.exit_code == 0, logged.stderr
    listed = run_cli("log", "Ana Silva <ana@work.example>", "--date", "2026-11-02")
    assert listed.exit_code == 0, listed.stderr  # as the error listed her
    rows = json.loads(run_cli("interactions", "ana@work.example", "--json").stdout)
    assert [row["date"][:10] for row in rows] == ["2026-11-02", "2026-11-01"]
    assert json.loads(run_cli("interactions", "ana@home.example", "--json").stdout) == []


VCARDS = """BEGIN:VCARD
VERSION:3.0
FN:Jose Garcia
EMAIL:jose@new.example
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:José García
EMAIL:jose@example.org
EMAIL:jose@second.example
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Ana Silva
EMAIL:ana@home.example
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:ANA SILVA
EMAIL:ana@work.example
END:VCARD
"""


def test_an_import_adds_no_second_person_of_a_name_unless_allowed(run_cli, tmp_path) -> None:
    add(run_cli, "José García", "jose@example.org")
    cards = tmp_path / "people.vcf"
    cards.write_text(VCARDS, encoding="utf-8")
    result = run_cli("contacts", "import", str(cards))
    assert result.exit_code == 1
    problems = result.stderr.splitlines()
    advice = (
        "and these addresses are not theirs; add them with `kithkin contacts edit NAME "
        "--add-email`, or import with --allow-duplicate"
    )
    assert problems == [
        f"{cards}:1: Jose Garcia: a contact of that name exists (José García <jose@example.org>) "
        + advice,
        f"{cards}:17: ANA SILVA: a contact of that name exists (Ana Silva <ana@home.example>) "
        + advice,
    ]
    assert "1 added, 1 updated, 0 unchanged, 2 skipped" in result.stdout
    listed = json.loads(run_cli("contacts", "list", "--json").stdout)
    assert [(c["name"], c["emails"]) for c in listed] == [
        ("Ana Silva", ["ana@home.example"]),
        ("José García", ["jose@example.org", "jose@second.example"]),  # matched by address
    ]
    allowed = run_cli("contacts", "import", str(cards), "--allow-duplicate")
    assert allowed.exit_code == 0, allowed.stderr
    assert "2 added, 0 updated, 2 unchanged, 0 skipped" in allowed.stdout
    again = run_cli("contacts", "import", str(cards), "--allow-duplicate")
    assert "0 added, 0 updated, 4 unchanged" in again.stdout  # still keyed on addresses


@pytest.mark.parametrize(
    "query",
    ["Ada\x1b[31m", "Ada\x00", "Ada\x07Lovelace", "Ada\tLovelace", "\x9b31mAda", "a" * 10_000,
     "é" * 10_000, "   "],
)  # fmt: skip
def test_a_hostile_name_query_is_one_clean_line(book, query: str) -> None:
    for args in (("log", query), ("contacts", "edit", query, "--tag", "x"), ("show", query)):
        line = one_error(book(*args))
        assert "\x1b" not in line and "\x00" not in line and "\x07" not in line
        assert len(line) < 200
