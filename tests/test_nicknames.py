"""Nicknames: set by hand (`--nickname`) or read from a vCard's NICKNAME, kept across imports."""

from __future__ import annotations

import json

import pytest

from kithkin.parsers.contacts import parse_vcards


def card(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCARD", "VERSION:3.0", *lines, "END:VCARD", ""])


@pytest.mark.parametrize(
    ("lines", "nickname"),
    [
        (["NICKNAME:Jim"], "Jim"),
        (["NICKNAME:Jim,Jimmie"], "Jim"),
        (["NICKNAME:,Jimmie"], "Jimmie"),
        (["NICKNAME:Ji\\,m"], "Ji,m"),
        (["NICKNAME:Jim\x07\x1b[31m"], "Jim"),
        (["NICKNAME:" + "x" * 501], None),
        (["NICKNAME:"], None),
        ([], None),
        (["NICKNAME:First", "NICKNAME:Second"], "First"),
    ],
)
def test_the_first_clean_nickname_is_read(lines: list[str], nickname: str | None) -> None:
    records, _ = parse_vcards(card("FN:James Doe", "EMAIL:jim@example.org", *lines))
    assert [r.nickname for r in records] == [nickname]


def contacts_json(run_cli) -> list[dict]:
    result = run_cli("contacts", "list", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_add_and_edit_a_nickname(run_cli) -> None:
    added = run_cli(
        "contacts", "add", "James Doe", "--email", "jim@example.org", "--nickname", "Jim"
    )
    assert added.exit_code == 0, added.stderr
    assert contacts_json(run_cli)[0]["nickname"] == "Jim"
    assert "nickname Jim" in run_cli("contacts", "list").stdout
    assert run_cli("contacts", "edit", "James", "--nickname", "Jimbo").exit_code == 0
    assert contacts_json(run_cli)[0]["nickname"] == "Jimbo"
    assert run_cli("contacts", "edit", "James", "--no-nickname").exit_code == 0
    assert "nickname" not in contacts_json(run_cli)[0]
    both = run_cli("contacts", "edit", "James", "--nickname", "J", "--no-nickname")
    assert both.exit_code != 0
    assert "not both" in both.stderr


def test_an_import_sets_a_nickname_only_where_none_is_set(run_cli, tmp_path) -> None:
    first = tmp_path / "a.vcf"
    first.write_text(card("FN:James Doe", "EMAIL:jim@example.org", "NICKNAME:Jim"))
    assert run_cli("contacts", "import", str(first)).exit_code == 0
    assert contacts_json(run_cli)[0]["nickname"] == "Jim"
    run_cli("contacts", "edit", "James", "--nickname", "Jimbo")
    again = tmp_path / "b.vcf"
    again.write_text(card("FN:James Doe", "EMAIL:jim@example.org", "NICKNAME:Jimmie"))
    assert run_cli("contacts", "import", str(again)).exit_code == 0
    assert contacts_json(run_cli)[0]["nickname"] == "Jimbo"
    run_cli("contacts", "edit", "James", "--no-nickname")
    assert run_cli("contacts", "import", str(again)).exit_code == 0
    assert contacts_json(run_cli)[0]["nickname"] == "Jimmie"
