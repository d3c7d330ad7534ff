"""The contact book through the CLI: add, import, list, edit, forget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "contacts"

VCARD = """BEGIN:VCARD
VERSION:3.0
FN:Ada Lovelace
EMAIL;TYPE=INTERNET:Ada@Example.org
EMAIL:ada@work.example
BDAY:1815-12-10
CATEGORIES:friends,science
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Grace Hopper
EMAIL:grace@xn--bcher-kva.example
BDAY:--12-09
END:VCARD
"""


def contacts_json(run_cli) -> list[dict]:
    result = run_cli("contacts", "list", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_add_then_list_as_json(run_cli) -> None:
    result = run_cli(
        "contacts", "add", "Ada Lovelace", "--email", " <Ada@Example.ORG> ",
        "--email", "ada@work.example", "--every", "3w", "--tag", "friends",
        "--birthday", "--12-10",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert contacts_json(run_cli) == [
        {
            "name": "Ada Lovelace",
            "emails": ["ada@example.org", "ada@work.example"],
            "every_days": 21,
            "tags": ["friends"],
            "birthday": "--12-10",
        }
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "not-an-address"], "not an email address"),
        (["--email", "a@b.org", "--every", "often"], "not a duration"),
        (["--email", "a@b.org", "--birthday", "1990-02-30"], "not a birthday"),
        (["--email", "a@b.org", "--birthday", "yesterday"], "not a birthday"),
    ],
)
def test_add_rejects_bad_input_with_one_line(run_cli, args, message) -> None:
    result = run_cli("contacts", "add", "Someone", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert contacts_json(run_cli) == []


def test_an_address_belongs_to_one_contact_whatever_its_spelling(run_cli) -> None:
    assert run_cli("contacts", "add", "Grace", "--email", "grace@bücher.example").exit_code == 0
    result = run_cli("contacts", "add", "Imposter", "--email", "GRACE@xn--bcher-kva.example")
    assert result.exit_code == 2
    assert "already belongs to Grace" in result.stderr


def test_import_is_idempotent(run_cli, tmp_path: Path) -> None:
    card = tmp_path / "people.vcf"
    card.write_text(VCARD, encoding="utf-8")
    first = run_cli("contacts", "import", str(card))
    assert first.exit_code == 0, first.stderr
    assert "2 added" in first.stdout
    before = contacts_json(run_cli)
    second = run_cli("contacts", "import", str(card))
    assert second.exit_code == 0
    assert "0 added, 0 updated, 2 unchanged" in second.stdout
    assert contacts_json(run_cli) == before
    assert before[0]["emails"] == ["ada@example.org", "ada@work.example"]
    assert before[0]["tags"] == ["friends", "science"]
    assert before[1]["emails"] == ["grace@bücher.example"]
    assert before[1]["birthday"] == "--12-09"


def test_import_adds_new_addresses_without_overwriting_edits(run_cli, tmp_path: Path) -> None:
    assert run_cli("contacts", "add", "Ada L.", "--email", "ada@example.org").exit_code == 0
    card = tmp_path / "people.vcf"
    card.write_text(VCARD, encoding="utf-8")
    result = run_cli("contacts", "import", str(card))
    assert "1 added, 1 updated" in result.stdout
    ada = contacts_json(run_cli)[0]
    assert ada["name"] == "Ada L."  # the name the owner chose stays
    assert ada["emails"] == ["ada@example.org", "ada@work.example"]
    assert ada["birthday"] == "1815-12-10"


def test_import_reports_bad_entries_by_line_and_imports_the_rest(run_cli, tmp_path) -> None:
    broken = tmp_path / "broken.vcf"
    broken.write_text("BEGIN:VCARD\nVERSION:3.0\nFN:No Mail\nEND:VCARD\n" + VCARD, encoding="utf-8")
    result = run_cli("contacts", "import", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:1:" in result.stderr
    assert [c["name"] for c in contacts_json(run_cli)] == ["Ada Lovelace", "Grace Hopper"]


def test_import_of_an_unreadable_file_is_one_line(run_cli, tmp_path: Path) -> None:
    result = run_cli("contacts", "import", str(tmp_path / "missing.vcf"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_edit_by_prefix_and_forget(run_cli) -> None:
    run_cli("contacts", "add", "Ada Lovelace", "--email", "ada@example.org")
    run_cli("contacts", "add", "Adam Smith", "--email", "adam@example.org")
    ambiguous = run_cli("contacts", "edit", "Ad", "--every", "2w")
    assert ambiguous.exit_code == 2
    assert "Ada Lovelace" in ambiguous.stderr and "Adam Smith" in ambiguous.stderr
    result = run_cli(
        "contacts", "edit", "ada l", "--every", "2w", "--tag", "x", "--add-email",
        "ada@new.example", "--remove-email", "ada@example.org", "--birthday", "1815-12-10",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    ada = next(c for c in contacts_json(run_cli) if c["name"] == "Ada Lovelace")
    assert ada == {
        "name": "Ada Lovelace",
        "emails": ["ada@new.example"],
        "every_days": 14,
        "tags": ["x"],
        "birthday": "1815-12-10",
    }
    cleared = run_cli("contacts", "edit", "ada@new.example", "--no-every", "--no-birthday")
    assert cleared.exit_code == 0
    ada = next(c for c in contacts_json(run_cli) if c["name"] == "Ada Lovelace")
    assert (ada["every_days"], ada["birthday"]) == (None, None)
    forgotten = run_cli("contacts", "forget", "Adam Smith", "--yes")
    assert forgotten.exit_code == 0
    assert [c["name"] for c in contacts_json(run_cli)] == ["Ada Lovelace"]


def test_removing_the_last_address_is_refused(run_cli) -> None:
    run_cli("contacts", "add", "Ada", "--email", "ada@example.org")
    result = run_cli("contacts", "edit", "Ada", "--remove-email", "ada@example.org")
    assert result.exit_code == 2
    assert "at least one email address" in result.stderr
    assert contacts_json(run_cli)[0]["emails"] == ["ada@example.org"]


def test_unknown_name_is_a_clear_error(run_cli) -> None:
    result = run_cli("contacts", "forget", "Nobody", "--yes")
    assert result.exit_code == 2
    assert "no contact 'Nobody' (see `kithkin contacts list`)" in result.stderr


@pytest.mark.parametrize("sample", sorted(DATA.glob("*.vcf")) + sorted(DATA.glob("*.csv")))
def test_every_sample_file_imports_twice_to_the_same_book(run_cli, sample: Path) -> None:
    run_cli("contacts", "import", str(sample))
    once = contacts_json(run_cli)
    run_cli("contacts", "import", str(sample))
    assert contacts_json(run_cli) == once
