"""The weekly summary as rendered: content, safety, headers, templates, and a real browser."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path

import pytest
from chromium import distinct_colours, mean_brightness, render

from kithkin.daemon.core.findings import (
    Awaiting,
    Birthday,
    Cadence,
    Fading,
    OneSided,
    Report,
)
from kithkin.daemon.core.records import Contact
from kithkin.daemon.steering.tokens import summary_message_id
from kithkin.daemon.summary.extras import COMMANDS, SummaryExtras
from kithkin.daemon.summary.render import (
    SUMMARY_HEADER,
    build_message,
    one_line,
    render_summary,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OWNER = "me@home.example"
HOSTILE_NAME = 'Eve <script>alert("x")</script> & "Co"'
HOSTILE_SUBJECT = "Re: hi\r\nBcc: victim@evil.example\r\n\r\n<img src=http://evil.example/p.gif>"


def contact(n: int, name: str | None = None) -> Contact:
    return Contact(n, name or f"Person {n}", (f"p{n}@example.org",))


def fading(n: int, name: str | None = None, subject: str | None = "lunch?") -> Fading:
    return Fading(
        contact=contact(n, name),
        last_interaction="2026-10-01T10:00:00Z",
        last_kind="email",
        last_direction="out",
        days_since=53,
        cadence=Cadence(21, "learned", 32, 17.0, date(2025, 3, 2), 30),
        overdue_ratio=53 / 32,
        closeness=17.0,
        last_subject=subject,
    )


def full_report() -> Report:
    return Report(
        as_of=date(2026, 11, 23),
        fading=[fading(1, HOSTILE_NAME, HOSTILE_SUBJECT)] + [fading(n) for n in range(2, 11)],
        awaiting_reply=[Awaiting(contact(20, "Ada"), "2026-11-15T10:00:00Z", 8, HOSTILE_SUBJECT)],
        one_sided=[OneSided(contact(21, "Bob"), 3, "2026-10-01T10:00:00Z", "2026-11-01T10:00Z")],
        birthdays=[Birthday(contact(22, "Cy"), "1990-11-30", date(2026, 11, 30), 7, 36)],
    )


def rendered(report: Report | None = None, **kwargs):
    return render_summary(report or full_report(), owner=OWNER, max_people=7,
                          token="ab" * 16, **kwargs)  # fmt: skip


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("href", "src", "action", "background", "poster", "srcset", "data"):
                self.urls.append(value or "")


def assert_no_tracking(html: str) -> None:
    """No remote images, no pixels, no URLs other than mailto: — in any rendered summary."""
    parser = Links()
    parser.feed(html)
    assert all(url.startswith("mailto:") for url in parser.urls), parser.urls
    assert not {"img", "script", "iframe", "link", "object", "embed", "form"} & set(parser.tags)
    assert not re.search(r"url\s*\(|@import|[a-z]+://", html, re.IGNORECASE), html


def test_the_summary_lists_people_with_what_is_usual_and_a_way_to_write() -> None:
    summary = rendered()
    assert summary.subject == (
        "Kithkin: 1 waiting for your reply, 11 people to write to, 1 birthday"
    )  # 13 people, each counted once by what to do (10 fading, 1 not answering)
    text = summary.text
    assert "\nWrite to Person 2 <p2@example.org>\n" in text
    assert "    You are usually in touch every 3 weeks; it has been 8.\n" in text
    assert "    Last subject: \u201clunch?\u201d\n" in text
    assert "And 6 more: `kithkin report`." in text  # 13 people, max_people = 7
    assert "Person 8" not in text and "Cy" not in text and "Bob" not in text
    assert text.index("Reply to Ada") < text.index("Write to Eve")  # replies first
    assert "    Waiting for your reply for 8 days: \u201cRe: hi Bcc: victim@evil.example" in text
    assert 'href="mailto:p2@example.org"' in summary.html
    assert 'href="mailto:p20@example.org?subject=Re%3A%20hi%20Bcc' in summary.html


def test_html_is_escaped_and_text_has_no_control_characters() -> None:
    summary = rendered()
    assert "<script>" not in summary.html
    assert "&lt;script&gt;" in summary.html
    assert "\r" not in summary.text and "Bcc: victim" in summary.text  # one line, no break
    assert "\nBcc:" not in summary.text
    assert_no_tracking(summary.html)


@pytest.mark.parametrize(
    "report",
    [
        full_report(),
        Report(as_of=date(2026, 11, 23)),
        Report(as_of=date(2026, 11, 23), birthdays=full_report().birthdays),
    ],
    ids=["full", "empty", "birthdays-only"],
)
def test_every_summary_has_no_tracking_and_only_mailto(report: Report) -> None:
    assert_no_tracking(rendered(report).html)


def test_an_empty_week_says_all_good() -> None:
    summary = rendered(Report(as_of=date(2026, 11, 23)))
    assert summary.empty
    assert summary.subject == "Kithkin: all good this week"
    assert "All good" in summary.text and "All good" in summary.html


def test_the_message_has_only_our_headers_whatever_the_subjects_say() -> None:
    message = build_message(rendered(), owner=OWNER, now=NOW)
    raw = message.as_bytes(policy=policy.SMTP)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert sorted(parsed.keys()) == sorted([
        "From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", SUMMARY_HEADER,
        "MIME-Version", "Content-Type",
    ])  # fmt: skip
    assert parsed["To"] == OWNER
    assert parsed["From"] == f"Kithkin <{OWNER}>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Message-ID"] == summary_message_id("ab" * 16)
    assert parsed[SUMMARY_HEADER] == "ab" * 16
    assert b"victim@evil.example" not in raw.split(b"\r\n\r\n", 1)[0]
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]


def test_one_line_removes_every_control_character_and_defangs_urls() -> None:
    assert one_line("a\r\nb\x00c\td\u2028e\x85f") == "a b c d e f"
    assert one_line("see https://x.example/a") == "see https:\u2060//x.example/a"


def test_the_owner_can_override_a_template(tmp_path: Path) -> None:
    (tmp_path / "summary.txt.j2").write_text("Custom: {{ fading | length }} fading\n")
    summary = rendered(template_dir=tmp_path)
    assert summary.text == "Custom: 7 fading\n"
    assert 'class="card"' in summary.html  # not overridden: the shipped one


def test_the_default_user_template_directory_is_used(kithkin_home: Path) -> None:
    directory = kithkin_home / "config" / "kithkin" / "templates"
    directory.mkdir(parents=True)
    (directory / "summary.html.j2").write_text("<p>{{ owner }} {{ '<b>' }}</p>")
    assert rendered().html == "<p>me@home.example &lt;b&gt;</p>"


def test_preview_command_writes_the_three_files(run_cli, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[me]\naddresses = ["{OWNER}"]\n[store]\npath = "{tmp_path / "k.db"}"\n')
    out = tmp_path / "preview"
    result = run_cli("--config", str(config), "summary", "--preview", str(out),
                     "--as-of", "2026-11-23")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["summary.eml", "summary.html", "summary.txt"]
    assert "All good" in (out / "summary.txt").read_text()
    assert f"HTML preview: {out / 'summary.html'}" in result.stdout
    both = run_cli("--config", str(config), "summary")
    assert both.exit_code == 2 and "--preview DIR or --send" in both.stderr


def test_chromium_catches_console_errors(tmp_path: Path) -> None:
    """The check below can fail: a page with a script error is reported."""
    page = tmp_path / "broken.html"
    page.write_text("<p>x</p><script>console.error('boom'); nope();</script>")
    result = render(page, tmp_path / "broken.png")
    assert any("boom" in line for line in result.console)


@pytest.mark.parametrize("report", [full_report(), Report(as_of=date(2026, 11, 23))],
                         ids=["full", "empty"])  # fmt: skip
def test_the_html_renders_in_chromium_light_and_dark(tmp_path: Path, report: Report) -> None:
    page = tmp_path / "summary.html"
    page.write_text(rendered(report).html, encoding="utf-8")
    light = render(page, tmp_path / "light.png")
    dark = render(page, tmp_path / "dark.png", dark=True)
    assert light.console == [] and dark.console == []
    assert mean_brightness(light.png) > 200  # a light page...
    assert mean_brightness(dark.png) < 80  # ...and a dark one, both actually drawn
    assert distinct_colours(light.png) > 3 and distinct_colours(dark.png) > 3


def busy_extras() -> SummaryExtras:
    return SummaryExtras(
        applied=["muted Bob", "snoozed Person 2 until 2026-12-14"],
        not_understood=[
            (
                "snooze Ad 3w",
                (
                    "'Ad' matches several contacts: Ada Lovelace <ada@example.org>; "
                    "Adam Smith <adam@example.org>; say more"
                ),
            )
        ],
        commands=list(COMMANDS),
        notes={2: ("2026-11-01", "new job at the museum, and the kids started school " * 3)},
        set_aside=3,
    )  # fmt: skip


@pytest.mark.parametrize("long", ["", "x" * 200], ids=["ordinary", "a 200-character word"])
def test_the_text_part_reads_well_at_80_columns(long: str) -> None:
    report = full_report()
    if long:  # waiting for a reply: first in the list, with a long name, address and subject
        someone = Contact(30, f"Someone {long}", (f"{long}@example.org",))
        report.awaiting_reply.insert(0, Awaiting(someone, "2026-11-01T10:00:00Z", 22, long))
    summary = rendered(report, extras=busy_extras())
    if long:  # shown, broken over lines rather than cut
        assert long in summary.text.replace("\n", "").replace(" ", "")
    too_long = [line for line in summary.text.splitlines() if len(line) > 78]
    assert not too_long, too_long
    assert "new job at the museum" in summary.text  # wrapped, not cut
    assert summary.text.count("Note (2026-11-01)") == 1


def test_the_text_part_ends_with_a_signature_separator() -> None:
    """RFC 3676 4.3: dash dash space on a line of its own; the footer comes after it."""
    message = build_message(rendered(extras=busy_extras()), owner=OWNER, now=NOW)
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    text = parsed.get_body(("plain",)).get_content()
    lines = text.splitlines()
    assert lines.count("-- ") == 1
    after = lines[lines.index("-- ") + 1 :]
    assert after[-1] == "Sent by Kithkin on your own server, to you only. Nobody was tracked."
    assert "3 messages could not be read; `kithkin status` lists them." in after
    assert not any(line.rstrip() == "--" and line != "-- " for line in lines)


def test_each_person_appears_once() -> None:
    ada = contact(20, "Ada")
    report = Report(
        as_of=date(2026, 11, 23),
        fading=[fading(20, "Ada")],
        awaiting_reply=[Awaiting(ada, "2026-11-15T10:00:00Z", 8, "Can you help?")],
        one_sided=[OneSided(ada, 3, "2026-10-01T10:00:00Z", "2026-11-01T10:00Z")],
        birthdays=[Birthday(ada, "1990-11-30", date(2026, 11, 30), 7, 36)],
    )
    summary = rendered(report, extras=busy_extras())
    assert summary.subject == "Kithkin: 1 waiting for your reply"
    assert summary.text.count("Ada <p20@example.org>") == 1
    assert summary.html.count('<h2 class="text"') == 2  # Ada's card and "From your last reply"
    for words in ("Waiting for your reply for 8 days", "Birthday on Monday 30 November",
                  "every 3 weeks", "Your last 3 messages"):  # fmt: skip
        assert summary.text.count(words) == 1 and summary.html.count(words) == 1, words
    for phrase in ("learned:", "weighted", "exchanges"):
        assert phrase not in summary.text and phrase not in summary.html


def test_the_reply_command_help_is_short() -> None:
    text = rendered(extras=busy_extras()).text
    help_lines = text.split("one command per line:\n")[1].split("\n\n")[0].splitlines()
    assert [line.strip() for line in help_lines] == list(COMMANDS)
    assert max(len(line) for line in help_lines) <= 30
