"""The rhythm that learns like a person (core/rhythm.py), shown to be better than the old
rule, not just different: constructed histories, each with the verdict a person would give,
run through a real store against the old rule and the new one. README's "How fading is
decided" shows the same table (a test below checks it is this one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from test_analysis import AS_OF, SETTINGS, Book

from kithkin.daemon.core.analysis import WINDOW_DAYS, cadence_for
from kithkin.daemon.core.dates import day_number
from kithkin.daemon.core.findings import Cadence
from kithkin.daemon.core.records import Contact
from kithkin.daemon.core.rhythm import ContactDays, learn, weighted_quantile, whole_days
from kithkin.daemon.core.wording import every
from kithkin.daemon.summary.inputs import report_for

README = Path(__file__).resolve().parent.parent / "README.md"
TODAY = day_number(AS_OF)


def old_learn_cadence_before_issue_15(
    contact: Contact, stats: tuple[int, int, float] | None, default_days: int
) -> int:
    """The rule before issue 15, kept to compare with (was core/analysis.py learn_cadence):
    the span between the first and last day with contact in two years, divided by the
    weighted days with contact minus one, clamped to 7-365; fading at days since / cadence
    >= fading_ratio."""
    if contact.every_days:
        return contact.every_days
    if stats is None:
        return default_days
    first, last, weighted = stats
    if weighted < 3.0 or last <= first:
        return default_days
    return min(365, max(7, round((last - first) / (weighted - 1))))


@dataclass(frozen=True)
class Row:
    history: str  # in words, for README
    since: int  # days since the last contact, as of AS_OF
    fading: bool  # the verdict a person would give
    old: bool  # what the old rule says (checked below, so README's column is true)
    days_ago: Callable[[], list[int]]  # the days with contact, counted back from AS_OF
    audience: int = 1
    every_days: int | None = None


@pytest.fixture
def book(tmp_path: Path):
    opened = Book(tmp_path / "k.db")
    yield opened
    opened.store.close()


def weekly(first: int, last: int, gap: int = 7) -> list[int]:
    return list(range(last, first + 1, gap))


def monthly_with_a_long_gap(last: int) -> list[int]:
    days = [last + 30 * k for k in range(23)]
    return [day for day in days if not last + 270 < day < last + 390]  # four months missing


def exchanges(last: int) -> list[int]:
    """A four-day back-and-forth every month."""
    return [start + n for start in range(last, 700, 30) for n in range(4)]


def group_posts(last: int) -> list[int]:
    return [last + 7 * week + day for week in range(100) for day in (0, 2, 4)]


ROWS = [
    Row("steady weekly for a year", 10, False, True, lambda: weekly(365, 10)),
    Row("steady weekly for a year", 28, True, True, lambda: weekly(365, 28)),
    Row("every 9 days for a year", 9, False, True, lambda: weekly(365, 9, gap=9)),
    Row("daily for a year", 21, True, True, lambda: weekly(365, 21, gap=1)),
    Row("monthly for two years, once four months without", 40, False, True,
        lambda: monthly_with_a_long_gap(40)),
    Row("monthly for two years, once four months without", 70, True, True,
        lambda: monthly_with_a_long_gap(70)),
    Row("a four-day back-and-forth every month", 35, False, True, lambda: exchanges(35)),
    Row("a four-day back-and-forth every month", 49, True, True, lambda: exchanges(49)),
    Row("weekly two years ago, monthly this past year", 35, False, True,
        lambda: weekly(730, 365) + weekly(335, 35, gap=30)),
    Row("weekly, then a year and a half without, weekly again for three months", 21, True,
        False, lambda: weekly(730, 640) + weekly(111, 21)),
    Row("a burst: eight days in a row, then nothing", 21, False, True, lambda: weekly(28, 21, 1)),
    Row("a burst: eight days in a row, then nothing", 150, True, True,
        lambda: weekly(157, 150, 1)),
    Row("only group threads (40 people), three days a week for two years", 21, False, False,
        lambda: group_posts(21), audience=40),
    Row("a new contact: two messages", 21, False, False, lambda: [25, 21]),
    Row("you set every 14 days; weekly mail until then", 15, True, True,
        lambda: weekly(365, 15), every_days=14),
]  # fmt: skip
IDS = [f"{row.history} ({row.since} days)" for row in ROWS]


def build(book: Book, row: Row) -> int:
    contact = book.person("Row Person", every_days=row.every_days)
    for n, days_ago in enumerate(sorted(set(row.days_ago()), reverse=True)):
        book.mail(contact, days_ago, "in" if n % 2 else "out", audience=row.audience)
    return contact


def new_verdict(book: Book) -> tuple[bool, str]:
    """Fading or not under the new rule, and what it learned, in words."""
    report = report_for(book.store, AS_OF, SETTINGS)
    contact = book.store.contacts.all()[0]
    days = book.store.history.days(TODAY - WINDOW_DAYS, TODAY, [contact.id]).get(contact.id)
    used = cadence_for(contact, days, TODAY, SETTINGS.default_cadence_days)
    if used.source == "set":
        learned = f"set: every {used.days} days"
    elif used.source == "default":
        learned = f"too little history: the default, {used.days} days"
    else:
        learned = f"usually {every(used.days)}, overdue after {used.overdue_days} days"
    return bool(report.fading), learned


def old_verdict(book: Book, row: Row) -> bool:
    contact = book.store.contacts.all()[0]
    stats = book.store.history.stats(TODAY - 730, TODAY).get(contact.id)
    cadence = old_learn_cadence_before_issue_15(contact, stats, SETTINGS.default_cadence_days)
    return row.since / cadence >= SETTINGS.fading_ratio


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_the_new_rule_agrees_with_every_row(book: Book, row: Row) -> None:
    build(book, row)
    fading, learned = new_verdict(book)
    assert fading == row.fading, (row.history, row.since, learned)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_the_old_rule_says_what_the_table_says(book: Book, row: Row) -> None:
    build(book, row)
    assert old_verdict(book, row) == row.old


def test_the_old_rule_got_a_third_of_the_rows_wrong() -> None:
    wrong = [row for row in ROWS if row.old != row.fading]
    assert len(wrong) >= len(ROWS) // 3
    assert any(row.fading and not row.old for row in wrong)  # not only more lenient


def markdown_table(tmp_path: Path) -> str:
    lines = [
        (
            "| history | days since | a person says | old rule | new rule "
            "| what the new rule learned |"
        ),
        "|---|---|---|---|---|---|",
    ]
    word = {True: "fading", False: "not fading"}
    for n, row in enumerate(ROWS):
        book = Book(tmp_path / f"row{n}.db")
        try:
            build(book, row)
            fading, learned = new_verdict(book)
            old = old_verdict(book, row)
        finally:
            book.store.close()
        mark = "" if old == row.fading else " ✗"
        lines.append(
            f"| {row.history} | {row.since} | {word[row.fading]} | {word[old]}{mark} | "
            f"{word[fading]} | {learned} |"
        )
    return "\n".join(lines) + "\n"


def test_readme_shows_this_table(tmp_path: Path) -> None:
    table = markdown_table(tmp_path)
    assert table in README.read_text(), "README's table is out of date; it should be:\n" + table


# --- the rule's parts, one by one ----------------------------------------------------------


def days(whole: list[int], fractions: list[tuple[int, float]] = ()) -> ContactDays:
    fractions = list(fractions)
    return ContactDays(whole, fractions, len(whole) + sum(w for _d, w in fractions))


def test_fractions_add_up_to_whole_days() -> None:
    # 3/40 a day: the 14th post makes a whole day, the 27th the next (float sums included).
    posts = [(day, 3 / 40) for day in range(100, 140)]
    assert whole_days(days([], posts)) == [113, 126, 139]
    assert whole_days(days([105, 120], [(110, 0.5), (130, 0.5)])) == [105, 120, 130]


def test_weighted_quantile() -> None:
    assert weighted_quantile([1, 2, 3], [1.0, 1.0, 1.0], 0.5) == 2
    assert weighted_quantile([1, 27, 1, 1], [1.0, 27.0, 1.0, 1.0], 0.5) == 27  # time-weighted
    assert weighted_quantile([30, 7], [0.0, 1.0], 0.9) == 7


@pytest.mark.parametrize(
    ("whole", "expected"),
    [
        ([], (None, None)),
        ([700, 707, 714], (None, None)),  # two gaps: too little
        ([700, 707, 714, 721], (None, None)),  # three gaps, but only three weeks of them
        ([700, 707, 714, 721, 728], (7, 11)),  # four weeks: a weekly rhythm
        (list(range(0, 730, 2)), (7, 11)),  # every other day: at least 7 and 11
        ([400, 500, 600, 700], (None, None)),  # three gaps of 100 days: 300 < 4 x 100
        (list(range(0, 730, 100)) + [729], (100, 150)),
        ([0, 400, 500, 600, 650, 729], (100, 300)),  # a long gap, but at most 3 x typical
        # every 50 days, once 100, and the latest gap 129: the recent long one counts most
        ([0, 50, 100, 150, 200, 300, 350, 400, 450, 500, 550, 600, 729], (50, 129)),
    ],
)
def test_the_learned_rhythm_and_its_bounds(whole: list[int], expected: tuple) -> None:
    learned = learn(days(sorted(whole)), today=729)
    assert (learned.typical, learned.overdue) == expected


def test_older_gaps_count_less() -> None:
    """The same two halves, once with the weekly half recent, once with the monthly one."""
    weekly_then_monthly = list(range(0, 365, 7)) + list(range(372, 730, 30))
    monthly_then_weekly = list(range(0, 365, 30)) + list(range(365, 730, 7))
    assert learn(days(weekly_then_monthly), 729).typical == 30
    assert learn(days(monthly_then_weekly), 729).typical == 7


def test_the_window_is_two_years(book: Book) -> None:
    old = book.person("Old Friend")
    for days_ago in range(800, 2000, 7):  # weekly, but all of it more than two years ago
        book.mail(old, days_ago, "in")
    report = report_for(book.store, AS_OF, SETTINGS)
    assert report.fading[0].cadence.source == "default"
    assert report.fading[0].why() == (
        "It has been 2 years; Kithkin reminds you every 2 months until it knows your rhythm."
    )


def test_why_in_plain_words() -> None:
    assert Cadence(21, "learned", 32).why(49) == (
        "You are usually in touch every 3 weeks; it has been 7."
    )
    assert Cadence(10, "learned", 15).why(21) == (
        "You are usually in touch every 10 days; it has been 3 weeks."
    )
    assert Cadence(14, "set").why(20) == "You set every 14 days; it has been 20 days."
    for text in (Cadence(21, "learned", 32).why(49), Cadence(60, "default").why(90)):
        assert "learned" not in text and "weighted" not in text


# --- fading_ratio: a multiplier over the overdue gap ---------------------------------------


@pytest.mark.parametrize(
    ("ratio", "every_days", "since", "fading"),
    [
        (1.0, None, 10, False),  # weekly for a year: overdue after 11 days
        (1.0, None, 11, True),
        (2.0, None, 21, False),  # twice the overdue gap: 22 days
        (2.0, None, 22, True),
        (0.5, None, 5, False),  # half of it: 5.5 days
        (0.5, None, 6, True),
        (2.0, 14, 27, False),  # the `every` you set is the overdue gap: 2 x 14
        (2.0, 14, 28, True),
    ],
)
def test_fading_ratio_multiplies_the_overdue_gap(
    book: Book, ratio: float, every_days: int | None, since: int, fading: bool
) -> None:
    contact = book.person("Weekly", every_days=every_days)
    for days_ago in weekly(365, since):
        book.mail(contact, days_ago, "out")
    report = report_for(book.store, AS_OF, replace(SETTINGS, fading_ratio=ratio))
    assert bool(report.fading) == fading, report.fading
    if fading:
        (item,) = report.fading
        assert item.cadence.overdue_days == (every_days or 11)
        assert item.overdue_ratio == pytest.approx(since / (every_days or 11))


def test_fading_ratio_with_too_little_history(book: Book) -> None:
    contact = book.person("New")
    for days_ago in (125, 121):
        book.mail(contact, days_ago, "in")
    settings = replace(SETTINGS, fading_ratio=2.0)  # the default, 60 days, twice: 120
    assert report_for(book.store, AS_OF, settings).fading
    assert not report_for(book.store, AS_OF - timedelta(days=6), settings).fading


def test_show_says_when_fading_starts_with_the_ratio(run_cli, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[me]\naddresses = ["me@home.example"]\n[store]\npath = "{tmp_path / "k.db"}"\n'
        "[analysis]\nfading_ratio = 2.0\n"
    )

    def cli(*args: str):
        result = run_cli("--config", str(config), *args)
        assert result.exit_code == 0, result.stderr
        return result.stdout

    cli("contacts", "add", "Ada Lovelace", "--email", "ada@example.org")
    for days_ago in weekly(365, 10):
        cli("log", "Ada", "--date", (AS_OF - timedelta(days=days_ago)).isoformat())
    shown = cli("show", "Ada", "--as-of", AS_OF.isoformat())
    assert "usually every 7 days, fading after 22 days without contact" in shown  # 2 x 11
    cli("contacts", "edit", "Ada", "--every", "14d", "--birthday", "--12-01", "--remind", "0d")
    shown = cli("show", "Ada", "--as-of", AS_OF.isoformat())
    assert "set by you: every 14 days, fading after 28 days" in shown
    assert "(reminded on the day)" in shown


def test_describe_and_fading_after() -> None:
    learned = Cadence(21, "learned", 32, gaps=30, since=date(2025, 3, 2))
    assert learned.fading_after() == 32 and learned.fading_after(1.1) == 36
    assert learned.describe() == (
        "usually every 3 weeks, fading after 32 days without contact (learned from 30 gaps "
        "since 2025-03)"
    )
    assert Cadence(10, "set").describe() == "set by you: every 10 days"
    assert Cadence(10, "set").fading_after(1.1) == 11  # 1.1 x 10 is 11, not 12
    assert Cadence(60, "default").describe(1.5) == (
        "default: every 2 months, fading after 90 days (too little history to learn from)"
    )


def test_why_after_every_year_keeps_the_unit() -> None:
    assert Cadence(365, "learned", 730).why(800) == (
        "You are usually in touch every year; it has been 2 years."
    )
