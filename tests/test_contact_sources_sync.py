"""`[contacts] sources` read before the mail: by `kithkin sync` and by each poll of the
service, so a person new on a card has their mail (past and new) logged in the same run, and
a person whose card was removed has new mail no longer logged. Against Dovecot."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from contactbooks import vcard
from helpers import ME, write_config
from mailbuilder import make_message
from servers import append

from kithkin.daemon.app import App
from kithkin.daemon.service.loop import Service
from kithkin.daemon.service.notify import Notifier


def subjects(run_cli, config) -> list[str]:
    rows = json.loads(run_cli("--config", str(config), "interactions", "--json").stdout)
    return sorted(row["subject"] for row in rows)


def mail(server, sender: str, subject: str) -> None:
    day = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    append(server, "INBOX", make_message(from_=sender, to=ME, subject=subject, date=day))


def test_kithkin_sync_reads_the_cards_first(dovecot, tmp_path, run_cli) -> None:
    vdir = tmp_path / "friends"
    vdir.mkdir()
    config = write_config(tmp_path / "k", dovecot, sections={"contacts": {"sources": [f"{vdir}/"]}})
    mail(dovecot, "Ada <ada@example.org>", "from ada")
    mail(dovecot, "Stranger <x@example.org>", "from a stranger")
    (vdir / "ada.vcf").write_text(vcard("Ada", "ada@example.org", uid="ada"))
    result = run_cli("--config", str(config), "sync")
    assert result.exit_code == 0, result.output
    assert f"{vdir}/: 1 added (Ada); 1 card(s)" in result.stdout
    assert subjects(run_cli, config) == ["from ada"]
    # Her card removed: mail from her after it is no longer logged; what was logged stays.
    os.remove(vdir / "ada.vcf")
    mail(dovecot, "Ada <ada@example.org>", "after removal")
    result = run_cli("--config", str(config), "sync", "-q")
    assert result.exit_code == 0 and "removed" not in result.stdout
    assert subjects(run_cli, config) == ["from ada"]
    # Back on the card: the mail she sent meanwhile is looked up.
    (vdir / "ada.vcf").write_text(vcard("Ada", "ada@example.org", uid="ada"))
    result = run_cli("--config", str(config), "sync")
    assert "1 back (Ada)" in result.stdout
    assert subjects(run_cli, config) == ["after removal", "from ada"]


def test_each_poll_of_the_service_reads_the_cards_before_the_mail(dovecot, tmp_path, run_cli):
    book = tmp_path / "family.vcf"
    config = write_config(tmp_path / "k", dovecot, sections={"contacts": {"sources": [str(book)]}})
    mail(dovecot, "Bob <bob@example.org>", "from bob")
    service = Service(App(config_path=config), notifier=Notifier(None))
    try:
        service.poll()  # the book does not exist yet: the mail is synced all the same
        assert service.health.state == "ok"
        assert subjects(run_cli, config) == []
        book.write_text(vcard("Bob", "bob@example.org"))
        service.poll()
        assert subjects(run_cli, config) == ["from bob"]
    finally:
        service._disconnect()
        service.app.close()
    status = run_cli("--config", str(config), "status").stdout
    assert f"Contacts from {book}: 1 card(s), read " in status
