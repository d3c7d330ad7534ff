"""The HTML summary on a phone and on a desktop, light and dark, read from the DOM of a real
Chromium (tests/chromium.py drives it; tests/layout_check.js measures inside the page).

Each rendering is also kept as a full-page PNG in tests/artifacts/summary-layout/ (ignored by
git; `$KITHKIN_ARTIFACTS` moves it), with the HTML it shows; a failure names the PNG to look at.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import date, timedelta
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from chromium import Browser

from kithkin.daemon.core.findings import Awaiting, Birthday, Cadence, Fading, OneSided, Report
from kithkin.daemon.core.records import Contact
from kithkin.daemon.summary.extras import COMMANDS, SummaryExtras
from kithkin.daemon.summary.render import render_summary
from kithkin.parsers.replies import parse_command

pytestmark = pytest.mark.chromium

AS_OF = date(2026, 11, 23)
CHECK = (Path(__file__).parent / "layout_check.js").read_text()
WIDTHS = (320, 360, 420, 1200)
PHONE_SCREEN = 740  # CSS px of a phone's screen height (360 x 740, a common Android size)
TOUCH = 44  # px: the smallest comfortable touch target (Apple HIG; WCAG 2.5.5)
LONG = "W" * 120  # one word longer than any phone is wide
ARTIFACTS = Path(os.environ.get("KITHKIN_ARTIFACTS", Path(__file__).parent / "artifacts"))


def person(n: int, name: str, address: str | None = None) -> Contact:
    return Contact(n, name, (address or f"{name.split()[0].lower()}@example.org",))


def fading(contact: Contact, cadence: Cadence, days_since: int, subject: str = "lunch?") -> Fading:
    return Fading(contact, "2026-10-01T10:00:00Z", "email", "out", days_since, cadence,
                  days_since / cadence.overdue_days, 10.0, subject)  # fmt: skip


def busy_report() -> Report:
    """A full week: every kind of reason, people with several, more than fit."""
    ada, bob, cy = person(1, "Ada Lovelace"), person(2, "Bob Example"), person(3, "Cy Young")
    learned = Cadence(21, "learned", 32, 17.0, date(2025, 3, 2), 30)
    everyone = [person(10 + n, f"Friend Number{n}") for n in range(8)]
    return Report(
        as_of=AS_OF,
        birthdays=[
            Birthday(cy, "1990-11-24", AS_OF + timedelta(days=1), 1, 36),
            Birthday(ada, "--12-01", date(2026, 12, 1), 8, None),
        ],
        awaiting_reply=[Awaiting(ada, "2026-11-15T10:00:00Z", 8, "Can you help with the move?")],
        fading=[fading(ada, learned, 49)]
        + [fading(p, learned, 40 + n) for n, p in enumerate(everyone)]
        + [fading(bob, Cadence(14, "set"), 20), fading(cy, Cadence(60, "default"), 90)],
        one_sided=[OneSided(bob, 3, "2026-10-01T10:00:00Z", "2026-11-01T10:00:00Z")],
    )


def hostile_report() -> Report:
    """Names, subjects and addresses with words no phone is wide enough for."""
    eve = person(3, f"Eve {LONG}", f"{'x' * 60}@{'long-domain-' * 6}example")
    return Report(
        as_of=AS_OF,
        awaiting_reply=[Awaiting(eve, "2026-11-15T10:00:00Z", 8, f"Re: {LONG} https://x/{LONG}")],
        fading=[fading(eve, Cadence(7, "learned", 11, 3.0), 30, LONG)],
    )


EXTRAS = SummaryExtras(
    applied=["muted Bob Example", "snoozed Cy Young until 2026-12-14"],
    not_understood=[("snooze Zed 3w", "no contact matches 'Zed'")],
    commands=list(COMMANDS),
    notes={1: ("2026-11-01", "new job at the museum"), 3: ("2026-10-02", "the new baby")},
    set_aside=2,
)
REPORTS = {
    "busy": (busy_report, EXTRAS),
    "hostile": (hostile_report, replace(EXTRAS, notes={3: ("2026-10-02", LONG)})),
    "empty": (lambda: Report(as_of=AS_OF), SummaryExtras(commands=list(COMMANDS))),
}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    with Browser(tmp_path_factory.mktemp("chromium")) as running:
        yield running


@pytest.fixture(scope="module")
def pages() -> dict[str, Path]:
    directory = ARTIFACTS / "summary-layout"
    directory.mkdir(parents=True, exist_ok=True)
    found = {}
    for name, (report, extras) in REPORTS.items():
        html = render_summary(report(), owner="me@home.example", max_people=7,
                              token="ab" * 16, extras=extras).html  # fmt: skip
        found[name] = directory / f"{name}.html"
        found[name].write_text(html, encoding="utf-8")
    return found


def measure(browser: Browser, html: Path, width: int, dark: bool) -> tuple[dict[str, Any], Path]:
    page = browser.open(html, width=width, dark=dark)
    layout = page.evaluate(CHECK)
    layout["errors"] = page.errors()
    png = page.screenshot(html.with_name(f"{html.stem}-{width}-{'dark' if dark else 'light'}.png"))
    return layout, png


def problems(layout: dict[str, Any], width: int, dark: bool) -> list[str]:
    found = []
    if layout["innerWidth"] != width:
        found.append(f"the viewport is {layout['innerWidth']} px wide, not {width}")
    if layout["scrollWidth"] > layout["clientWidth"]:
        found.append(f"scrolls sideways: {layout['scrollWidth']} > {layout['clientWidth']} px")
    found += [f"wider than the viewport: {item}" for item in layout["overflowing"]]
    found += [f"low contrast: {item}" for item in layout["lowContrast"]]
    found += [f"console: {item}" for item in layout["errors"]]
    for command in layout["commands"]:
        if command["lines"] != 1 or command["height"] > 1.5 * command["lineHeight"]:
            found.append(f"command help line wrapped: {command}")
        if command["scrollWidth"] > command["clientWidth"] or command["right"] > width:
            found.append(f"command help line cut off: {command}")
    for link in layout["links"]:
        if not (link["href"] or "").startswith("mailto:"):
            found.append(f"a link that is not mailto: {link}")
        if link["width"] < TOUCH or link["height"] < TOUCH:
            found.append(f"a link too small to touch: {link}")
    if dark != layout["dark"] or (layout["bodyLuminance"] < 0.5) != dark:
        found.append(f"not {'dark' if dark else 'light'}: body luminance {layout['bodyLuminance']}")
    cards = layout["cards"]
    if len({(round(c["left"]), round(c["right"])) for c in cards}) > 1:
        found.append(f"cards not in one column: {cards}")
    if any(later["top"] < earlier["bottom"] for earlier, later in pairwise(cards)):
        found.append("cards overlap")
    return found


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(REPORTS))
def test_the_summary_reads_well_at_every_width_light_and_dark(
    browser: Browser, pages: dict[str, Path], name: str, width: int, dark: bool
) -> None:
    layout, png = measure(browser, pages[name], width, dark)
    found = problems(layout, width, dark)
    assert not found, f"{png}:\n  " + "\n  ".join(found)
    if name != "empty":
        assert len(layout["commands"]) == len(COMMANDS), png
        assert layout["links"], png
    if width >= 1200:  # one readable column in the middle, not a line 1200 px long
        page = layout["page"]
        assert page["width"] <= 600, (png, page)
        assert abs(page["left"] - (layout["clientWidth"] - page["right"])) <= 1, (png, page)


def test_a_busy_week_fits_a_phone_in_about_three_screens(
    browser: Browser, pages: dict[str, Path]
) -> None:
    layout, png = measure(browser, pages["busy"], 360, False)
    print(f"busy summary at 360 px: {layout['height']} px ({layout['height'] / PHONE_SCREEN:.1f} "
          f"screens of {PHONE_SCREEN} px), {png}")  # fmt: skip
    assert len(layout["cards"]) == 7  # the cap
    assert layout["height"] <= 3 * PHONE_SCREEN, png


def test_the_checks_catch_a_broken_layout(browser: Browser, pages: dict[str, Path]) -> None:
    """Each check can fail: a page with every fault is reported for every one of them."""
    page = pages["busy"].with_name("broken.html")
    page.write_text(
        '<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width">'
        '</head><body style="background:#fff">'
        f'<div class="card" style="width:500px">{LONG}</div>'
        '<div class="card" style="margin-left:40px">two</div>'
        '<div class="command" style="width:60px">snooze NAME 3w</div>'
        '<p style="color:#ccc">faint</p>'
        '<a href="https://tracker.example/">tiny</a>'
        "<script>console.error('boom')</script></body></html>"
    )
    layout, _png = measure(browser, page, 360, dark=True)
    found = "\n".join(problems(layout, 360, dark=True))
    for expected in ("scrolls sideways", "wider than the viewport", "low contrast: p",
                     "console: console.error: boom", "command help line wrapped",
                     "not mailto", "too small to touch", "not dark", "one column"):  # fmt: skip
        assert expected in found, (expected, found)


class Styles(HTMLParser):
    """Each element's tag, class and inline style, and whether text follows it directly."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, str, str]] = []
        self.with_text: list[tuple[str, str, str]] = []
        self.open: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        element = (tag, values.get("class") or "", values.get("style") or "")
        self.elements.append(element)
        if tag not in ("meta", "br"):
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1][0] == tag:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and self.open and self.open[-1][0] not in ("style", "title"):
            self.with_text.append(self.open[-1])


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_every_text_has_its_own_colour_and_every_box_its_background(
    pages: dict[str, Path], name: str
) -> None:
    """Clients that drop <style>, or invert colours, still get a readable pair: the colour
    of each text and the background of each box are set inline, not inherited from CSS."""
    parser = Styles()
    parser.feed(pages[name].read_text())
    for tag, classes, style in parser.with_text:
        if tag in ("code",) and not classes:
            continue  # inherits the colour of the sentence it is in
        assert re.search(r"(^|;)color:#[0-9a-f]{6}", style), (tag, classes, style)
    boxes = [e for e in parser.elements if e[0] == "body" or {"page", "card", "help", "button"}
             & set(e[1].split())]  # fmt: skip
    assert boxes
    for tag, classes, style in boxes:
        assert "background-color:#" in style, (tag, classes, style)
    html = pages[name].read_text()
    for dark_class in ("card", "text", "muted", "link", "button", "help"):
        assert re.search(rf"prefers-color-scheme: dark\).*\.{dark_class}\b", html, re.DOTALL)


def test_every_command_in_the_help_is_one_the_reply_reader_understands() -> None:
    for line in COMMANDS:
        assert len(line) <= 24, line  # fits 320 px in 14 px monospace with room to spare
        for example in line.split(" / "):
            typed = example.replace("NAME", "Ada")
            command = parse_command(typed)
            assert command is not None, typed
            assert command.verb == typed.split()[0]
