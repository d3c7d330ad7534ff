"""The shipped provider presets: each one found by its address domain (no network), the
domains of one's own recognised by their MX hosts, the config `kithkin init --no-lookup`
writes for each, and README's "Providers" table generated from the same table."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from kithkin.daemon.config import load_config
from kithkin.daemon.setup.discover import Server, discover
from kithkin.daemon.setup.mx import mx_hosts, preset_for_mx_hosts
from kithkin.daemon.setup.presets import PRESETS, Preset, preset_for_domain

README = Path(__file__).resolve().parent.parent / "README.md"

# address -> (imap host, port, security, login, smtp host, port, security, auth); written
# from the providers' own pages, not from presets.py, so a typo there fails here.
BY_ADDRESS = {
    "ada@gmail.com": ("imap.gmail.com", 993, "tls", "ada@gmail.com",
                      "smtp.gmail.com", 465, "tls", "password"),
    "ada@googlemail.com": ("imap.gmail.com", 993, "tls", "ada@googlemail.com",
                           "smtp.gmail.com", 465, "tls", "password"),
    "ada@outlook.com": ("outlook.office365.com", 993, "tls", "ada@outlook.com",
                        "smtp-mail.outlook.com", 587, "starttls", "xoauth2"),
    "ada@hotmail.com": ("outlook.office365.com", 993, "tls", "ada@hotmail.com",
                        "smtp-mail.outlook.com", 587, "starttls", "xoauth2"),
    "ada@contoso.onmicrosoft.com": ("outlook.office365.com", 993, "tls",
                                    "ada@contoso.onmicrosoft.com", "smtp.office365.com", 587,
                                    "starttls", "xoauth2"),
    "ada@fastmail.com": ("imap.fastmail.com", 993, "tls", "ada@fastmail.com",
                         "smtp.fastmail.com", 465, "tls", "password"),
    "ada@fastmail.fm": ("imap.fastmail.com", 993, "tls", "ada@fastmail.fm",
                        "smtp.fastmail.com", 465, "tls", "password"),
    "ada@icloud.com": ("imap.mail.me.com", 993, "tls", "ada",
                       "smtp.mail.me.com", 587, "starttls", "password"),
    "ada@me.com": ("imap.mail.me.com", 993, "tls", "ada",
                   "smtp.mail.me.com", 587, "starttls", "password"),
    "ada@yahoo.com": ("imap.mail.yahoo.com", 993, "tls", "ada@yahoo.com",
                      "smtp.mail.yahoo.com", 465, "tls", "password"),
    "ada@gmx.de": ("imap.gmx.net", 993, "tls", "ada@gmx.de",
                   "mail.gmx.net", 465, "tls", "password"),
    "ada@gmx.com": ("imap.gmx.com", 993, "tls", "ada@gmx.com",
                    "mail.gmx.com", 465, "tls", "password"),
    "ada@web.de": ("imap.web.de", 993, "tls", "ada",
                   "smtp.web.de", 587, "starttls", "password"),
    "ada@mailbox.org": ("imap.mailbox.org", 993, "tls", "ada@mailbox.org",
                        "smtp.mailbox.org", 465, "tls", "password"),
    "ada@posteo.de": ("posteo.de", 993, "tls", "ada@posteo.de",
                      "posteo.de", 465, "tls", "password"),
    "ada@posteo.net": ("posteo.de", 993, "tls", "ada@posteo.net",
                       "posteo.de", 465, "tls", "password"),
    "ada@zoho.com": ("imap.zoho.com", 993, "tls", "ada@zoho.com",
                     "smtp.zoho.com", 465, "tls", "password"),
    "ada@zoho.eu": ("imap.zoho.eu", 993, "tls", "ada@zoho.eu",
                    "smtp.zoho.eu", 465, "tls", "password"),
    "ada@proton.me": ("127.0.0.1", 1143, "starttls", "ada@proton.me",
                      "127.0.0.1", 1025, "starttls", "password"),
    "ada@protonmail.com": ("127.0.0.1", 1143, "starttls", "ada@protonmail.com",
                           "127.0.0.1", 1025, "starttls", "password"),
    "ada@pm.me": ("127.0.0.1", 1143, "starttls", "ada@pm.me",
                  "127.0.0.1", 1025, "starttls", "password"),
}  # fmt: skip


@pytest.mark.parametrize("address", sorted(BY_ADDRESS))
def test_every_preset_is_found_by_its_address_domain_without_any_network(address) -> None:
    host, port, security, login, smtp_host, smtp_port, smtp_security, auth = BY_ADDRESS[address]
    found = discover(address, network=None)
    assert found.found and found.source.startswith("preset ")
    assert found.imap == Server(host, port, security, login, auth)
    assert found.smtp == Server(smtp_host, smtp_port, smtp_security, address, auth)
    assert found.notes == ()


def test_the_table_covers_every_preset_found_by_domain() -> None:
    by_domain = {p.name for p in PRESETS if p.domains}
    tested = {preset_for_domain(a.rpartition("@")[2]).name for a in BY_ADDRESS}  # type: ignore[union-attr]
    assert tested == by_domain


def test_no_domain_belongs_to_two_presets() -> None:
    domains = [d for p in PRESETS for d in p.domains]
    assert len(domains) == len(set(domains))


MX = [
    (["aspmx.l.google.com", "alt1.aspmx.l.google.com"], "Google (Gmail, Google Workspace)"),
    (["smtp.google.com"], "Google (Gmail, Google Workspace)"),
    (["aspmx2.googlemail.com"], "Google (Gmail, Google Workspace)"),
    (["contoso-com.mail.protection.outlook.com"], "Microsoft 365 (Exchange Online)"),
    (["outlook-com.olc.protection.outlook.com"], "Outlook.com (Hotmail, Live)"),
    (["in1-smtp.messagingengine.com", "in2-smtp.messagingengine.com"], "Fastmail"),
    (["mx.zoho.com", "mx2.zoho.com"], "Zoho Mail (your own domain)"),
    (["mx.zoho.eu"], "Zoho Mail (your own domain, EU)"),
    (["mx01.mail.icloud.com", "mx02.mail.icloud.com"], "iCloud Mail"),
    (["mta5.am0.yahoodns.net"], "Yahoo Mail"),
    (["mx00.gmx.net"], "GMX"),
    (["mx-ha03.web.de"], "WEB.DE"),
    (["mxext1.mailbox.org"], "mailbox.org"),
    (["mx01.posteo.de"], "Posteo"),
    (["mail.protonmail.ch", "mailsec.protonmail.ch"], "Proton Mail (through Proton Mail Bridge)"),
    (["mx.own.test", "aspmx.l.google.com"], "Google (Gmail, Google Workspace)"),  # a backup MX
    (["mx.own.test"], None),
    (["google.com.attacker.test"], None),
    (["notgoogle.com"], None),
    (["evilmessagingengine.com"], None),
    ([], None),
]  # fmt: skip


@pytest.mark.parametrize(("hosts", "want"), MX, ids=[",".join(h) or "none" for h, _ in MX])
def test_domains_of_ones_own_are_recognised_by_their_mx_hosts(hosts, want) -> None:
    match = preset_for_mx_hosts(hosts)
    assert (match.preset.name if match else None) == want


def test_mx_hosts_are_ordered_by_preference_without_null_mx_or_junk() -> None:
    notes: list[str] = []
    records = [(20, "alt1.aspmx.l.google.com"), (5, "mx.own.test"), (0, "."),
               (1, "evil\\007host.test"), (10, "ASPMX.L.GOOGLE.COM")]  # fmt: skip
    assert mx_hosts(records, "own.test", notes) == [
        "mx.own.test", "aspmx.l.google.com", "alt1.aspmx.l.google.com"
    ]  # fmt: skip
    assert len(notes) == 1 and "not a host name" in notes[0]


def preset_of(name: str) -> Preset:
    return next(p for p in PRESETS if p.name == name)


@pytest.mark.parametrize("address", sorted(BY_ADDRESS))
def test_init_no_lookup_writes_each_presets_settings_and_password_step(
    tmp_path, run_cli, address
) -> None:
    path = tmp_path / "config.toml"
    result = run_cli("--config", str(path), "init", "--email", address, "--no-lookup")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_config(path)
    want = BY_ADDRESS[address]
    assert config.imap is not None
    assert (config.imap.host, config.imap.port, config.imap.security, config.imap.username,
            config.imap.auth) == (*want[:4], want[7])  # fmt: skip
    assert config.me == (address,)
    text = path.read_text()
    preset = preset_for_domain(address.rpartition("@")[2])
    assert preset is not None
    assert f'# Where these came from: preset "{preset.name}".' in text
    assert preset.password.url and preset.password.url in text
    assert preset.password.url in result.stdout
    assert f'# host = "{want[4]}"' in text and f"# port = {want[5]}" in text
    if preset.ca_file:
        assert f'# ca_file = "{preset.ca_file}"' in text
        assert "Export TLS certificates" in " ".join(
            line.lstrip("# ") for line in text.splitlines()
        )


def providers_table() -> str:
    """README's table, made from PRESETS."""
    steps = {
        "app-password": "app password",
        "account-password": "account password (an app password with two-factor on)",
        "oauth2": 'OAuth2 only: `auth = "xoauth2"`, a token from oama, pizauth or mutt_oauth2.py',
        "bridge": "the password Bridge shows; `ca_file` = Bridge's exported `cert.pem`",
    }
    rows = ["| provider | found by | settings | password step |", "|---|---|---|---|"]
    for p in PRESETS:
        found = []
        if p.domains:
            more = f" and {len(p.domains) - 2} more" if len(p.domains) > 2 else ""
            found.append(", ".join(f"@{d}" for d in p.domains[:2]) + more)
        if p.mx_suffixes:
            found.append("MX " + ", ".join(f"*.{s}" for s in p.mx_suffixes))
        login = "name part of the address" if p.username == "localpart" else "the address"
        imap = f"`{p.imap.host}:{p.imap.port}` {p.imap.security.upper()}"
        smtp = f"`{p.smtp.host}:{p.smtp.port}` {p.smtp.security.upper()}"
        settings = f"IMAP {imap}, SMTP {smtp}, login: {login}"
        step = steps[p.password.kind] + (f" ([how]({p.password.url}))" if p.password.url else "")
        rows.append(f"| {p.name} | {'; '.join(found)} | {settings} | {step} |")
    return "\n".join(rows)


def test_readme_providers_table_is_the_preset_table() -> None:
    section = re.split(
        r"^#", README.read_text().split("\n### Providers\n", 1)[1], flags=re.MULTILINE
    )[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    assert table == providers_table(), "regenerate README's table: see providers_table()"
