"""`kithkin report` on a fresh install, with nobody in the book yet, says how to add people."""

from __future__ import annotations

import json

HOW_TO_ADD = [
    "No contacts yet, so there is nothing to report. Add the people you want to keep up with:",
    "  kithkin contacts add NAME --email ADDRESS",
    "  kithkin contacts import FILE    (a vCard or CSV file, e.g. exported from your phone)",
    "  kithkin suggest                 (people you exchange mail with, to choose from)",
]


def test_report_without_contacts_says_how_to_add_some(run_cli) -> None:
    result = run_cli("report", "--as-of", "2026-11-23")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["As of 2026-11-23", *HOW_TO_ADD]
    assert result.stderr == ""


def test_report_with_contacts_does_not(run_cli) -> None:
    assert run_cli("contacts", "add", "Ada", "--email", "ada@example.org").exit_code == 0
    assert run_cli("contacts", "add", "Bob", "--email", "bob@example.org").exit_code == 0
    assert run_cli("contacts", "mute", "Bob").exit_code == 0
    shown = run_cli("report", "--as-of", "2026-11-23").stdout
    assert "No contacts yet" not in shown and "Nothing logged yet with: Ada" in shown
    assert run_cli("contacts", "forget", "Ada", "--yes").exit_code == 0
    shown = run_cli("report", "--as-of", "2026-11-23").stdout  # only a muted one left
    assert shown.splitlines() == [
        "As of 2026-11-23",
        "All good: nobody is fading, nobody is waiting for you.",
    ]


def test_report_json_without_contacts_is_the_empty_shape(run_cli) -> None:
    result = run_cli("report", "--json", "--as-of", "2026-11-23")
    assert json.loads(result.stdout) == {
        "as_of": "2026-11-23", "fading": [], "awaiting_reply": [], "one_sided": [],
        "birthdays": [], "never_in_touch": [],
    }  # fmt: skip
