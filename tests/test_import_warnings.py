"""An entry imported without one bad value (a birthday that is not a date, one address of
several) is a warning naming its line: counted once, as added, and the import exits 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CSV = "Name,E-mail Address,Birthday\nAda,ada@example.org,31/12/1999\nBob,bob@example.org,\n"
VCARD = (
    "BEGIN:VCARD\nVERSION:3.0\nFN:Ada\nEMAIL:ada@example.org\nBDAY:31/12/1999\nEND:VCARD\n"
    "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nEMAIL:bob@example.org\nEND:VCARD\n"
)


def book(run_cli) -> dict[str, dict]:
    listed = run_cli("contacts", "list", "--json")
    return {contact["name"]: contact for contact in json.loads(listed.stdout)}


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [("people.csv", CSV, 2), ("people.vcf", VCARD, 5)],
    ids=["csv", "vcard"],
)
def test_an_unreadable_birthday_is_one_warning_and_the_contact_is_imported(
    run_cli, tmp_path: Path, name: str, text: str, line: int
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = run_cli("contacts", "import", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Imported {name}: 2 added, 0 updated, 0 unchanged, 0 skipped; 1 warning\n"
    )
    assert result.stderr == (
        f"{path}:{line}: warning: not a birthday: '31/12/1999'; imported without it\n"
    )
    people = book(run_cli)
    assert sorted(people) == ["Ada", "Bob"]
    assert people["Ada"]["birthday"] is None and people["Ada"]["emails"] == ["ada@example.org"]


def test_warnings_and_skipped_rows_are_counted_apart(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "Name,Email,Email 2,Birthday\n"
        "Ada,ada@example.org,ada at home,1815-12-10\n"  # one bad address of two: a warning each
        "Bob,,,1990-02-30\n"  # no address: skipped, and its birthday no warning
        "Cy,cy@example.org,,March 3\n",
        encoding="utf-8",
    )
    result = run_cli("contacts", "import", str(path))
    assert result.exit_code == 1
    assert result.stdout == (
        "Imported people.csv: 2 added, 0 updated, 0 unchanged, 1 skipped; 4 warnings\n"
    )
    assert result.stderr.splitlines() == [
        f"{path}:2: warning: not an email address: 'ada'",
        f"{path}:2: warning: not an email address: 'at'",
        f"{path}:2: warning: not an email address: 'home'",
        f"{path}:3: no valid email address for 'Bob'; row skipped",
        f"{path}:4: warning: not a birthday: 'March 3'; imported without it",
    ]
    assert book(run_cli)["Ada"]["birthday"] == "1815-12-10"
