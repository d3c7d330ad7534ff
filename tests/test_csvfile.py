"""The CSV reader, and `read_contact_file` choosing between it and the vCard reader."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kithkin.parsers.contacts import ContactRecord, Problem, parse_csv, read_contact_file

DATA = Path(__file__).parent / "data" / "contacts"


def sample(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def only_record(text: str) -> ContactRecord:
    records, problems = parse_csv(text)
    assert problems == []
    assert len(records) == 1
    return records[0]


# --- columns ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Name,Email\nAnn Lee,ann@example.org\n", ContactRecord("Ann Lee", ("ann@example.org",))),
        (
            "FULL NAME,E-MAIL\nAnn Lee,ann@example.org\n",
            ContactRecord("Ann Lee", ("ann@example.org",)),
        ),
        (
            "display_name,email address\nAnn,ann@example.org\n",
            ContactRecord("Ann", ("ann@example.org",)),
        ),
        (
            "First Name,Last Name,Email\nAnn,Lee,ann@example.org\n",
            ContactRecord("Ann Lee", ("ann@example.org",)),
        ),
        (
            "given name,middle name,family name,mail\nAnn,M.,Lee,ann@example.org\n",
            ContactRecord("Ann M. Lee", ("ann@example.org",)),
        ),
        (
            "First,Surname,Email\nAnn,,ann@example.org\n",
            ContactRecord("Ann", ("ann@example.org",)),
        ),
        (
            "Name,First Name,Email\n,Ann,ann@example.org\n",
            ContactRecord("Ann", ("ann@example.org",)),
        ),
        ("Email\nAnn.Lee@Example.org\n", ContactRecord("ann.lee", ("ann.lee@example.org",))),
        (
            "Email,Email 2,email3,Work Mail\na@x.example,B@X.example,,a@x.example\n",
            ContactRecord("a", ("a@x.example", "b@x.example")),
        ),
        (
            "E-mail Address,E-mail Type,E-mail Display Name\na@x.example,SMTP,Ann (a@x.example)\n",
            ContactRecord("a", ("a@x.example",)),
        ),
        (
            'Email\n"mailto:a@x.example ::: <b@x.example>; c@x.example, d@x.example"\n',
            ContactRecord("a", ("a@x.example", "b@x.example", "c@x.example", "d@x.example")),
        ),
        (
            "Email,Birthday,Tags\na@x.example,1990-03-15,Friends\n",
            ContactRecord("a", ("a@x.example",), birthday="1990-03-15", tags=("Friends",)),
        ),
        (
            "Email,BDAY,Categories\na@x.example,--0315,Friends\n",
            ContactRecord("a", ("a@x.example",), birthday="--03-15", tags=("Friends",)),
        ),
        (
            "Email,Birth Date,Groups\na@x.example,19900315,Friends\n",
            ContactRecord("a", ("a@x.example",), birthday="1990-03-15", tags=("Friends",)),
        ),
        (
            "Email,Labels,Unknown Column\na@x.example,Friends,ignored\n",
            ContactRecord("a", ("a@x.example",), tags=("Friends",)),
        ),
    ],
)
def test_columns_are_recognised_by_header_case_insensitively(
    text: str, expected: ContactRecord
) -> None:
    assert only_record(text) == ContactRecord(
        expected.name, expected.emails, expected.birthday, expected.tags, line=2
    )


@pytest.mark.parametrize(
    ("cell", "tags"),
    [
        ("Friends", ("Friends",)),
        ("Friends, Work", ("Friends", "Work")),
        ("Friends;Work", ("Friends", "Work")),
        ("Friends ::: Work", ("Friends", "Work")),
        ("* myContacts ::: Friends ::: * starred", ("Friends",)),
        ("* My Contacts ::: * Starred", ()),
        ("* Friends ::: Friends", ("Friends",)),
        (" Friends ,, Friends ,  ", ("Friends",)),
        ("myContacts", ("myContacts",)),
        ("", ()),
    ],
)
def test_tags_are_split_and_google_system_groups_dropped(cell: str, tags: tuple[str, ...]) -> None:
    text = f'Email,Tags\na@x.example,"{cell}"\n'
    assert only_record(text).tags == tags


@pytest.mark.parametrize(
    ("cell", "birthday"),
    [
        ("1990-03-15", "1990-03-15"),
        ("19900315", "1990-03-15"),
        ("--03-15", "--03-15"),
        (" --03-15", "--03-15"),
        ("--0315", "--03-15"),
        ("1604-03-15", "--03-15"),
        ("", None),
        ("0/0/00", None),
        ("0000-00-00", None),
    ],
)
def test_birthday_forms(cell: str, birthday: str | None) -> None:
    assert only_record(f"Email,Birthday\na@x.example,{cell}\n").birthday == birthday


@pytest.mark.parametrize("cell", ["15/03/1990", "March 15", "1990-02-30", "1990"])
def test_a_bad_birthday_is_a_problem_and_the_row_imports_without_it(cell: str) -> None:
    assert parse_csv(f"Name,Email,Birthday\nAnn,a@x.example,{cell}\n") == (
        [ContactRecord("Ann", ("a@x.example",), line=2)],
        [Problem(2, f"not a birthday: {cell!r}; imported without it", warning=True)],
    )


def test_a_byte_order_mark_before_the_header_is_ignored() -> None:
    text = '\ufeff"Name","Email"\nAnn,ann@example.org\n'
    assert only_record(text) == ContactRecord("Ann", ("ann@example.org",), line=2)


# --- delimiters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Name,Email,Tags\nLee; Ann,ann@example.org,a;b\n",
        'Name;Email;Tags\n"Lee; Ann";ann@example.org;"a,b"\n',
        "Name\tEmail\tTags\nLee; Ann\tann@example.org\ta,b\n",
        '"Notes, misc, more, stuff";Name;Email;Tags\n"x, y";"Lee; Ann";ann@example.org;a ::: b\n',
    ],
)
def test_delimiter_is_sniffed_from_the_header(text: str) -> None:
    assert only_record(text) == ContactRecord(
        "Lee; Ann", ("ann@example.org",), tags=("a", "b"), line=2
    )


# --- problems and line numbers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("Name,Phone\nAnn,555\n", [Problem(1, "no email column found in the header row")]),
        ("\n\nName,Phone\nAnn,555\n", [Problem(3, "no email column found in the header row")]),
        ("Name,Email Type\nAnn,home\n", [Problem(1, "no email column found in the header row")]),
        ("", [Problem(1, "no header row found: the file has no data")]),
        (" \n\n,,\n", [Problem(1, "no header row found: the file has no data")]),
        ("hello world\n", [Problem(1, "no email column found in the header row")]),
    ],
)
def test_a_file_without_an_email_column_gives_one_problem(
    text: str, problems: list[Problem]
) -> None:
    assert parse_csv(text) == ([], problems)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Ann,", "no valid email address for 'Ann'; row skipped"),
        (",", "no valid email address; row skipped"),
        ("Ann,nobody", "no valid email address for 'Ann' (not an address: 'nobody'); row skipped"),
        (
            'Ann,"x@ ::: @y"',
            "no valid email address for 'Ann' (not an address: 'x@', '@y'); row skipped",
        ),
    ],
)
def test_a_row_without_a_valid_email_is_skipped_with_a_problem(row: str, message: str) -> None:
    text = f"Name,Email,Tags\n{row},x\nBob,bob@example.org\n"
    assert parse_csv(text) == (
        [ContactRecord("Bob", ("bob@example.org",), line=3)],
        [Problem(2, message)],
    )


def test_an_invalid_email_next_to_a_valid_one_is_a_problem_and_the_row_imports() -> None:
    assert parse_csv("Name,Email,Email 2\nAnn,ann@example.org,ann at home\n") == (
        [ContactRecord("Ann", ("ann@example.org",), line=2)],
        [
            Problem(2, "not an email address: 'ann'", warning=True),
            Problem(2, "not an email address: 'at'", warning=True),
            Problem(2, "not an email address: 'home'", warning=True),
        ],
    )


def test_rows_are_numbered_by_the_physical_line_they_start_on() -> None:
    text = (
        "Name,Email,Notes\n"
        'Ann,ann@example.org,"one\ntwo\r\nthree"\n'
        "\n"
        'Bob,bob@example.org,"x\ry"\n'
        "Cy,nobody,\n"
    )
    records, problems = parse_csv(text)
    assert [(record.name, record.line) for record in records] == [("Ann", 2), ("Bob", 6)]
    assert problems == [
        Problem(8, "no valid email address for 'Cy' (not an address: 'nobody'); row skipped")
    ]


def test_an_unreadable_row_is_a_problem_and_reading_goes_on() -> None:
    text = 'Name,Email\nAnn,ann@example.org\nBob,"' + "x" * 200_000 + '"\nCy,cy@example.org\n'
    records, problems = parse_csv(text)
    assert [record.name for record in records] == ["Ann", "Cy"]
    assert [problem.line for problem in problems] == [3]
    assert problems[0].message.startswith("unreadable CSV row: field larger than field limit")


# --- sample files ----------------------------------------------------------------------------


def test_google_csv_old_format() -> None:
    assert parse_csv(sample("google-old.csv")) == (
        [
            ContactRecord(
                "Ann Lee",
                ("ann.lee@example.com", "ann.lee@work.example"),
                birthday="1990-03-15",
                tags=("Friends",),
                line=2,
            ),
            ContactRecord(
                "Bartholomew J. Simpson",
                ("bart@springfield.example",),
                birthday="--05-09",
                line=4,
            ),
            ContactRecord(
                "Zoë Kravitz", ("zoe@example.com",), birthday="1988-12-01", tags=("Film",), line=6
            ),
        ],
        [Problem(5, "no valid email address for 'Café Owner'; row skipped")],
    )


def test_google_csv_new_format() -> None:
    assert parse_csv(sample("google-new.csv")) == (
        [
            ContactRecord(
                "Grace Brewster Hopper",
                ("grace@navy.example", "grace@example.com"),
                birthday="1906-12-09",
                tags=("Navy",),
                line=2,
            ),
            ContactRecord(
                "Linus Torvalds",
                ("linus@kernel.example",),
                birthday="--12-28",
                tags=("Kernel",),
                line=5,
            ),
            ContactRecord("someone", ("someone@example.net",), line=6),
            ContactRecord("Bad Date", ("bad.date@example.net",), line=7),
        ],
        [Problem(7, "not a birthday: '28/12/1969'; imported without it", warning=True)],
    )


def test_generic_semicolon_separated_csv() -> None:
    assert parse_csv(sample("generic-semicolon.csv")) == (
        [
            ContactRecord(
                "Müller, Jürgen",
                ("juergen@example.de",),
                birthday="1965-07-04",
                tags=("Family", "Berlin"),
                line=2,
            ),
            ContactRecord(
                "Ann Lee",
                ("ann@example.com", "ann.lee@work.example"),
                birthday="--03-15",
                tags=("friends", "climbing"),
                line=3,
            ),
            ContactRecord("Tomás Ó Súilleabháin", ("tom@example.ie",), line=4),
        ],
        [],
    )


BROKEN_RECORDS = [
    ContactRecord("Alice", ("alice@example.com",), "1990-01-01", ("friends",), line=2),
    ContactRecord("Carol with a newline in her name", ("carol@example.com",), line=4),
    ContactRecord("Erin", ("erin@example.com",), tags=("work",), line=8),
    ContactRecord("Frank", ("frank@example.com",), line=9),
    ContactRecord('Gina "G" Smith', ("gina@example.com",), line=10),
    ContactRecord("Hank", ("hank@example.com",), line=12),
]
BROKEN_PROBLEMS = [
    Problem(3, "no valid email address for 'Bob'; row skipped"),
    Problem(6, "no valid email address for 'Dave' (not an address: 'not-an-address'); row skipped"),
    Problem(8, "not a birthday: '31/12/1999'; imported without it", warning=True),
    Problem(9, "not an email address: 'frank.example.com'", warning=True),
    Problem(12, "not a birthday: '2001-02-29'; imported without it", warning=True),
]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_broken_file_reports_exact_lines_and_imports_the_rest(newline: str) -> None:
    text = sample("broken.csv").replace("\n", newline)
    assert parse_csv(text) == (BROKEN_RECORDS, BROKEN_PROBLEMS)


# --- read_contact_file -----------------------------------------------------------------------

VCARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jürgen Müller\r\nEMAIL:j@example.de\r\nEND:VCARD\r\n"
CSV = "Name;E-Mail\r\nJürgen Müller;j@example.de\r\n"
JUERGEN = ContactRecord("Jürgen Müller", ("j@example.de",), line=1)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(VCARD.encode("utf-8"), JUERGEN, id="vcard utf-8"),
        pytest.param(b"\xef\xbb\xbf" + VCARD.encode("utf-8"), JUERGEN, id="vcard utf-8 bom"),
        pytest.param(VCARD.encode("cp1252"), JUERGEN, id="vcard cp1252"),
        pytest.param(VCARD.encode("utf-16"), JUERGEN, id="vcard utf-16"),
        pytest.param(
            b"\r\n\r\n" + VCARD.encode("utf-8"), replace(JUERGEN, line=3), id="vcard late"
        ),
        pytest.param(CSV.encode("utf-8"), replace(JUERGEN, line=2), id="csv utf-8"),
        pytest.param(b"\xef\xbb\xbf" + CSV.encode("utf-8"), replace(JUERGEN, line=2), id="csv bom"),
        pytest.param(CSV.encode("cp1252"), replace(JUERGEN, line=2), id="csv cp1252"),
        pytest.param(CSV.encode("utf-16"), replace(JUERGEN, line=2), id="csv utf-16"),
    ],
)
def test_read_contact_file_decodes_and_picks_the_reader_by_content(
    data: bytes, expected: ContactRecord
) -> None:
    assert read_contact_file(data) == ([expected], [])


def test_read_contact_file_reads_the_sample_files_like_the_readers_do() -> None:
    google = (DATA / "google-old.csv").read_bytes()
    apple = (DATA / "apple.vcf").read_bytes()
    assert read_contact_file(google) == parse_csv(google.decode("utf-8"))
    assert [record.name for record in read_contact_file(apple)[0]] == [
        "Johnny Appleseed",
        "Marie Curie",
    ]


# --- robustness ------------------------------------------------------------------------------

# fmt: off
_PIECES = [
    ",", ";", "\t", '"', "\n", "\r\n", "\r", " ", ":::", "* myContacts", "Name", "Email",
    "E-mail 1 - Value", "Birthday", "Labels", "First Name", "a@b.example", "@", "mailto:",
    "--03-15", "1990-02-30", "0/0/00", "\x00", "\ufeff", "é", "[", "<", "x",
]
# fmt: on


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)))
def test_never_raises_and_every_line_number_is_in_the_text(text: str) -> None:
    records, problems = parse_csv(text)
    last_line = len(text.splitlines()) + 1
    assert all(record.emails and 1 <= record.line <= last_line for record in records)
    assert all(1 <= problem.line <= last_line for problem in problems)


@settings(max_examples=100, deadline=None)
@given(st.binary())
def test_read_contact_file_never_raises(data: bytes) -> None:
    records, problems = read_contact_file(data)
    assert isinstance(records, list)
    assert isinstance(problems, list)
