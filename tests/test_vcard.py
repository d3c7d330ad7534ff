"""The vCard reader: what each kind of line turns into, and where each problem is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kithkin.parsers.contacts import ContactRecord, Problem, looks_like_vcard, parse_vcards

DATA = Path(__file__).parent / "data" / "contacts"


def card(*lines: str, newline: str = "\r\n") -> str:
    """One vCard around `lines`; BEGIN:VCARD is line 1, so the first of `lines` is line 2."""
    return newline.join(["BEGIN:VCARD", *lines, "END:VCARD"]) + newline


def only_record(text: str) -> ContactRecord:
    records, problems = parse_vcards(text)
    assert problems == []
    assert len(records) == 1
    return records[0]


def sample(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


# --- detection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BEGIN:VCARD\r\nVERSION:3.0\r\n", True),
        ("begin:vcard\n", True),
        ("\n\n  \r\nBEGIN:VCARD  \n", True),
        ("\ufeffBEGIN:VCARD\n", True),
        ("name,email\nBEGIN:VCARD\n", False),
        ("BEGIN:VCALENDAR\n", False),
        ("", False),
        ("   \n\n", False),
    ],
)
def test_looks_like_vcard_checks_the_first_non_blank_line(text: str, expected: bool) -> None:
    assert looks_like_vcard(text) is expected


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "name"),
    [
        (["FN:Ann Lee", "N:Other;Name;;;", "EMAIL:ann@example.org"], "Ann Lee"),
        (["N:Lee;Ann;Marie;Dr.;PhD", "EMAIL:ann@example.org"], "Ann Lee"),
        (["N:Lee;Ann,Marie;;;", "EMAIL:ann@example.org"], "Ann Marie Lee"),
        (["N:Lee", "EMAIL:ann@example.org"], "Lee"),
        (["FN:", "N:;;;;", "EMAIL:Ann.Lee@Example.org"], "ann.lee"),
        (["EMAIL:ann@example.org"], "ann"),
        (["FN:  Ann \\n  Lee  ", "EMAIL:ann@example.org"], "Ann Lee"),
        (["FN:Lee\\, Ann", "EMAIL:ann@example.org"], "Lee, Ann"),
        (["FN:Ann \\\\o/ Lee", "EMAIL:ann@example.org"], "Ann \\o/ Lee"),
        (["N:O\\;Brien;Siobhán;;;", "EMAIL:ann@example.org"], "Siobhán O;Brien"),
        (["fn:Ann Lee", "email:ann@example.org"], "Ann Lee"),
        (["FN:First", "FN:Second", "EMAIL:ann@example.org"], "First"),
    ],
)
def test_name_is_fn_else_given_and_family_from_n_else_the_email_local_part(
    lines: list[str], name: str
) -> None:
    assert only_record(card(*lines)).name == name


# --- emails ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "emails"),
    [
        (["EMAIL:ann@example.org"], ("ann@example.org",)),
        (["EMAIL;TYPE=INTERNET:Ann@Example.ORG"], ("ann@example.org",)),
        (["EMAIL;TYPE=INTERNET,HOME;TYPE=pref:ann@example.org"], ("ann@example.org",)),
        (["EMAIL;INTERNET;PREF:ann@example.org"], ("ann@example.org",)),
        (["EMAIL:mailto:ann@example.org"], ("ann@example.org",)),
        (["EMAIL;VALUE=uri:MAILTO:ann@example.org"], ("ann@example.org",)),
        (["item1.EMAIL;type=INTERNET:ann@example.org"], ("ann@example.org",)),
        (["Email;Type=Work:ann@example.org"], ("ann@example.org",)),
        (['EMAIL;X-LABEL="a:b;c":ann@example.org'], ("ann@example.org",)),
        (["EMAIL:ann@xn--bcher-kva.example"], ("ann@bücher.example",)),
        (
            ["EMAIL:b@example.org", "EMAIL:a@example.org", "EMAIL:B@EXAMPLE.ORG"],
            ("b@example.org", "a@example.org"),
        ),
        (["EMAIL;TYPE=INTERNET:", "EMAIL:  ", "EMAIL:ann@example.org"], ("ann@example.org",)),
    ],
)
def test_every_email_line_counts_normalised_without_repeats_in_order(
    lines: list[str], emails: tuple[str, ...]
) -> None:
    assert only_record(card("FN:Ann", *lines)).emails == emails


def test_an_invalid_email_is_a_problem_on_its_line_but_the_card_still_imports() -> None:
    text = card("FN:Ann", "EMAIL:not an address", "EMAIL:ann@example.org", "EMAIL:<x@y>z")
    assert parse_vcards(text) == (
        [ContactRecord("Ann", ("ann@example.org",), line=1)],
        [
            Problem(3, "not an email address: 'not an address'", warning=True),
            Problem(5, "not an email address: '<x@y>z'", warning=True),
        ],
    )


@pytest.mark.parametrize(
    ("lines", "problems"),
    [
        (
            ["FN:Ann Lee", "TEL:+1 555 0100"],
            [Problem(1, "no valid email address for 'Ann Lee'; skipped")],
        ),
        (["N:Lee;Ann;;;"], [Problem(1, "no valid email address for 'Ann Lee'; skipped")]),
        (["VERSION:3.0"], [Problem(1, "no valid email address; skipped")]),
        (
            ["FN:Ann", "EMAIL:nobody", "EMAIL:x@"],
            [
                Problem(
                    1, "no valid email address for 'Ann' (not an address: 'nobody', 'x@'); skipped"
                )
            ],
        ),
        (  # no warning: nothing of the card was imported
            ["FN:Ann", "BDAY:circa 1800"],
            [Problem(1, "no valid email address for 'Ann'; skipped")],
        ),
    ],
)
def test_a_card_without_a_valid_email_is_skipped_with_a_problem_at_begin(
    lines: list[str], problems: list[Problem]
) -> None:
    assert parse_vcards("\n\n" + card(*lines)) == (
        [],
        [Problem(p.line + 2, p.message) for p in problems],
    )


# --- birthdays -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "birthday"),
    [
        ("BDAY:1990-03-15", "1990-03-15"),
        ("BDAY:19900315", "1990-03-15"),
        ("BDAY:--03-15", "--03-15"),
        ("BDAY:--0315", "--03-15"),
        ("BDAY:1990-03-15T00:00:00Z", "1990-03-15"),
        ("BDAY;VALUE=date:1990-03-15", "1990-03-15"),
        ("BDAY;VALUE=text:1990-03-15", "1990-03-15"),
        ("BDAY;X-APPLE-OMIT-YEAR=1604:1604-03-15", "--03-15"),
        ("BDAY:2000-02-29", "2000-02-29"),
        ("BDAY:", None),
        ("bday:1990-03-15", "1990-03-15"),
    ],
)
def test_birthday_forms(line: str, birthday: str | None) -> None:
    assert only_record(card("FN:Ann", "EMAIL:ann@example.org", line)).birthday == birthday


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("BDAY;VALUE=text:circa 1800", "'circa 1800'"),
        ("BDAY:1990-02-30", "'1990-02-30'"),
        ("BDAY:15.03.1990", "'15.03.1990'"),
        ("BDAY:1990", "'1990'"),
    ],
)
def test_a_birthday_that_is_not_a_date_is_a_problem_and_the_card_imports_without_it(
    line: str, shown: str
) -> None:
    assert parse_vcards(card("FN:Ann", "EMAIL:ann@example.org", line)) == (
        [ContactRecord("Ann", ("ann@example.org",), birthday=None, line=1)],
        [Problem(4, f"not a birthday: {shown}; imported without it", warning=True)],
    )


def test_the_first_valid_birthday_wins() -> None:
    text = card("EMAIL:ann@example.org", "BDAY:1990-03-15", "BDAY:1991-04-16")
    assert only_record(text).birthday == "1990-03-15"


# --- categories ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "tags"),
    [
        (["CATEGORIES:Friends"], ("Friends",)),
        (["CATEGORIES: Friends , Work,,  ,Friends"], ("Friends", "Work")),
        (["CATEGORIES:Friends", "CATEGORIES:Climbing,Friends"], ("Friends", "Climbing")),
        (["CATEGORIES:Physics\\, Condensed Matter,Work"], ("Physics, Condensed Matter", "Work")),
        (["categories:a;b"], ("a;b",)),
        (["CATEGORIES:"], ()),
    ],
)
def test_categories_become_tags(lines: list[str], tags: tuple[str, ...]) -> None:
    assert only_record(card("EMAIL:ann@example.org", *lines)).tags == tags


# --- folding and encodings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("BEGIN:VCARD\r\nFN:Ann\r\n  Lee\r\nEMAIL:a@b.example\r\nEND:VCARD\r\n", "Ann Lee"),
        ("BEGIN:VCARD\nFN:Ann\n\t Lee\nEMAIL:a@b.example\nEND:VCARD\n", "Ann Lee"),
        ("BEGIN:VCARD\rFN:Ann \r Lee\rEMAIL:a@b.example\rEND:VCARD\r", "Ann Lee"),
        ("BEGIN:VCARD\nFN:Jo\n hn\nEMAIL:a@b.example\nEND:VCARD", "John"),
        ("BEGIN:VCARD\nF\n N:Ann\nEMAIL:a@b.\n example\nEND:VCARD", "Ann"),
    ],
)
def test_folded_lines_are_unfolded(text: str, name: str) -> None:
    record = only_record(text)
    assert (record.name, record.emails) == (name, ("a@b.example",))


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:J=FCrgen M=FCller", "Jürgen Müller"),
        ("FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen", "Jürgen"),
        ("FN;ENCODING=QUOTED-PRINTABLE;CHARSET=utf-8:=E5=B1=B1=E7=94=B0", "山田"),
        ("FN;QUOTED-PRINTABLE;CHARSET=ISO-8859-1:Fran=E7oise", "Françoise"),
        ("FN;CHARSET=WINDOWS-1252;QUOTED-PRINTABLE:=80 Euro", "€ Euro"),
        ("FN;CHARSET=KOI8-R;QUOTED-PRINTABLE:=F0=D5=DB=CB=C9=CE", "Пушкин"),
        ('FN;CHARSET="koi8-r";ENCODING="Quoted-Printable":=F0=D5=DB=CB=C9=CE', "Пушкин"),
        ("FN;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:=C3=A9", "Ã©"),
        ("FN;ENCODING=quoted-printable:J=C3=BCrgen", "Jürgen"),
        ("FN;ENCODING=QUOTED-PRINTABLE:J=FCrgen", "Jürgen"),
        ("FN;CHARSET=X-NO-SUCH;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen", "Jürgen"),
        ("FN;ENCODING=QUOTED-PRINTABLE:a=3Db =ZZ c", "a=b =ZZ c"),
        ("FN:J=FCrgen", "J=FCrgen"),
        ("N;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:M=FCller;J=FCrgen;;;", "Jürgen Müller"),
    ],
)
def test_quoted_printable_values_are_decoded_with_their_charset(line: str, name: str) -> None:
    assert only_record(card(line, "EMAIL:j@example.de")).name == name


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_a_quoted_printable_soft_line_break_joins_the_next_physical_line(newline: str) -> None:
    text = card(
        "FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Fran=E7oise d'Aubign=",
        "=E9 de la =",
        " Fert=E9",
        "EMAIL:f@example.fr",
        "this line has no colon",
        newline=newline,
    )
    assert parse_vcards(text) == (
        [ContactRecord("Françoise d'Aubigné de la Ferté", ("f@example.fr",), line=1)],
        [Problem(6, "malformed line (no colon): 'this line has no colon'")],
    )


def test_a_soft_line_break_never_swallows_end_vcard() -> None:
    text = card("EMAIL:a@example.org", "FN;ENCODING=QUOTED-PRINTABLE:Ann=")
    text += card("EMAIL:b@example.org")
    assert parse_vcards(text) == (
        [
            ContactRecord("Ann", ("a@example.org",), line=1),
            ContactRecord("b", ("b@example.org",), line=5),
        ],
        [],
    )


def test_a_byte_order_mark_before_the_first_card_is_ignored() -> None:
    text = "\ufeff" + card("EMAIL:ann@example.org")
    assert parse_vcards(text) == ([ContactRecord("ann", ("ann@example.org",), line=1)], [])


def test_only_quoted_printable_lines_have_soft_line_breaks() -> None:
    text = card("FN:Ann=", "EMAIL:a@example.org")
    assert only_record(text) == ContactRecord("Ann=", ("a@example.org",), line=1)


# --- broken structure ------------------------------------------------------------------------

GOOD = card("FN:Good", "EMAIL:good@example.org", newline="\n")


@pytest.mark.parametrize(
    ("text", "names", "problems"),
    [
        pytest.param(
            "stray\n\n" + GOOD + "also stray\n" + GOOD,
            ["Good", "Good"],
            [
                Problem(1, "text outside a vCard: 'stray'"),
                Problem(7, "text outside a vCard: 'also stray'"),
            ],
            id="stray lines between cards",
        ),
        pytest.param(
            "BEGIN:VCARD\nFN:Cut\nEMAIL:cut@example.org\n" + GOOD,
            ["Good"],
            [Problem(1, "vCard has no END:VCARD; skipped")],
            id="missing END before the next card",
        ),
        pytest.param(
            GOOD + "BEGIN:VCARD\nFN:Cut\nEMAIL:cut@example.org\n",
            ["Good"],
            [Problem(5, "vCard has no END:VCARD; skipped")],
            id="missing END at the end of the file",
        ),
        pytest.param(
            "BEGIN:VCARD\nFN:Ann\nnonsense here\nEMAIL:ann@example.org\nEND:VCARD\n",
            ["Ann"],
            [Problem(3, "malformed line (no colon): 'nonsense here'")],
            id="malformed line inside a card",
        ),
        pytest.param(
            "END:VCARD\n" + GOOD,
            ["Good"],
            [Problem(1, "END:VCARD without BEGIN:VCARD")],
            id="END without BEGIN",
        ),
        pytest.param(
            "BEGIN:VCARD\nEMAIL:ann@example.org\n\n  \nEND:VCARD\n",
            ["ann"],
            [],
            id="blank lines inside a card are fine",
        ),
        pytest.param(
            "x" * 100 + "\n" + GOOD,
            ["Good"],
            [Problem(1, "text outside a vCard: '" + "x" * 40 + "…'")],
            id="long lines are shortened in messages",
        ),
    ],
)
def test_broken_structure_is_reported_by_line_and_the_rest_imports(
    text: str, names: list[str], problems: list[Problem]
) -> None:
    records, found = parse_vcards(text)
    assert [record.name for record in records] == names
    assert found == problems


# --- sample files ----------------------------------------------------------------------------


def test_outlook_2_1_file_with_quoted_printable_latin_1() -> None:
    assert parse_vcards(sample("outlook-2.1.vcf")) == (
        [
            ContactRecord(
                "Jürgen Müller", ("juergen.mueller@example.de",), birthday="1965-07-04", line=1
            ),
            ContactRecord(
                "Françoise d'Aubigné de la Ferté",
                ("francoise@example.fr", "f.aubigne@example.org"),
                tags=("Famille", "Lyon"),
                line=9,
                note="Rencontrée à Lyon. Aime le thé vert.",
            ),
            ContactRecord("Élodie Dupré", ("elodie@example.fr",), birthday="--03-15", line=21),
        ],
        [],
    )


def test_thunderbird_3_0_file() -> None:
    assert parse_vcards(sample("thunderbird-3.0.vcf")) == (
        [
            ContactRecord(
                "Dr. Siobhán O'Brien",
                ("siobhan.obrien@tcd.example", "siobhan@example.ie"),
                birthday="1982-11-30",
                tags=("Work", "Physics, Condensed Matter"),
                line=1,
                note="Met at the 2019 conference. Likes long walks.",
            ),
            ContactRecord(
                "Chidi Okafor", ("chidi.okafor@example.ng",), birthday="1990-03-15", line=17
            ),
            ContactRecord("noname.person", ("noname.person@example.com",), line=26),
        ],
        [],
    )


def test_4_0_file() -> None:
    assert parse_vcards(sample("contacts-4.0.vcf")) == (
        [
            ContactRecord(
                "山田 太郎",
                ("taro.yamada@example.jp", "taro@bücher.example"),
                birthday="--04-12",
                tags=("Japan", "Colleagues"),
                line=1,
            ),
            ContactRecord("Ada Lovelace", ("ada@analytical.example",), line=12),
            ContactRecord("Grace Hopper", ("grace@navy.example",), birthday="1906-12-09", line=18),
        ],
        [Problem(16, "not a birthday: 'circa 1815'; imported without it", warning=True)],
    )


def test_apple_file_with_grouped_emails_and_a_birthday_without_year() -> None:
    assert parse_vcards(sample("apple.vcf")) == (
        [
            ContactRecord(
                "Johnny Appleseed",
                ("johnny@orchard.example", "j.appleseed@example.com"),
                birthday="--03-15",
                tags=("Friends", "Orchard"),
                line=1,
            ),
            ContactRecord(
                "Marie Curie", ("marie@sorbonne.example",), birthday="1867-11-07", line=16
            ),
        ],
        [],
    )


BROKEN_RECORDS = [
    ContactRecord("Alice Good", ("alice@example.com",), line=1),
    ContactRecord("Bob Broken", ("bob@example.com",), line=8),
    ContactRecord("Erin Fine", ("erin@example.com",), line=26),
]
BROKEN_PROBLEMS = [
    Problem(6, "text outside a vCard: 'this line should not be here'"),
    Problem(11, "malformed line (no colon): 'this line has no colon'"),
    Problem(13, "not an email address: 'not-an-address'", warning=True),
    Problem(14, "not a birthday: '1990-02-30'; imported without it", warning=True),
    Problem(16, "vCard has no END:VCARD; skipped"),
    Problem(20, "no valid email address for 'Dave No Mail'; skipped"),
    Problem(25, "END:VCARD without BEGIN:VCARD"),
    Problem(31, "vCard has no END:VCARD; skipped"),
]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_broken_file_reports_exact_lines_and_imports_the_rest(newline: str) -> None:
    text = sample("broken.vcf").replace("\n", newline)
    assert parse_vcards(text) == (BROKEN_RECORDS, BROKEN_PROBLEMS)


# --- robustness ------------------------------------------------------------------------------

# fmt: off
_PIECES = [
    "BEGIN:VCARD", "END:VCARD", "\r\n", "\n", "\r", " ", "\t", "=", "=C3", "=A9", "=\r\n", ":",
    ";", ",", '"', "\\", "\\n", "EMAIL", "item1.", "FN", "N", "BDAY", "CATEGORIES",
    "ENCODING=QUOTED-PRINTABLE", "QUOTED-PRINTABLE", "CHARSET=", "idna", "base64", "utf-16",
    "TYPE=", "VALUE=text", "a@b.example", "@", "mailto:", "--0315", "1604-03-15", "xn--", "\x00",
    "\ufeff", "é", "\u2028", "[", "<",
]
# fmt: on


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)))
def test_never_raises_and_every_line_number_is_in_the_text(text: str) -> None:
    records, problems = parse_vcards(text)
    last_line = len(text.splitlines()) + 1
    assert all(record.emails and 1 <= record.line <= last_line for record in records)
    assert all(1 <= problem.line <= last_line for problem in problems)
    assert looks_like_vcard(text) in (True, False)
