"""`kithkin init` looking the settings up, against a real DNS server and a real HTTPS server
on 127.0.0.1 (tests/lookupservers.py): the order (preset, SRV, autoconfig, MX), hostile
answers, --no-lookup opening no socket, and the config written end to end."""

from __future__ import annotations

import random
import socket
import stat

import pytest
from dnslib import QTYPE, RR, SRV
from lookupservers import LOOPBACK, Page

from kithkin.daemon.config import load_config
from kithkin.daemon.setup.discover import Server, discover
from kithkin.daemon.setup.network import Network, make_network

AUTOCONFIG_PATH = "/mail/config-v1.1.xml"
WELL_KNOWN_PATH = "/.well-known/autoconfig/mail/config-v1.1.xml"


def xml(host: str, port: int = 993, socket_type: str = "SSL", smtp: str = "") -> bytes:
    outgoing = (
        f'<outgoingServer type="smtp"><hostname>{smtp}</hostname><port>465</port>'
        "<socketType>SSL</socketType><username>%EMAILADDRESS%</username></outgoingServer>"
        if smtp
        else ""
    )
    return (
        '<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="x">'
        "<displayName>Test Mail</displayName>"
        f'<incomingServer type="imap"><hostname>{host}</hostname><port>{port}</port>'
        f"<socketType>{socket_type}</socketType><username>%EMAILLOCALPART%</username>"
        f"</incomingServer>{outgoing}</emailProvider></clientConfig>"
    ).encode()


@pytest.fixture
def lookups(dns_server, https_server):
    """(zone, https server, a Network that asks them)."""

    def network(**options: object) -> Network:
        return make_network(dns_server.nameserver, https_port=https_server.port,
                            ca_file=https_server.tls.ca_file, timeout=2, **options)  # type: ignore[arg-type]  # fmt: skip

    return dns_server.zone, https_server, network


def web_host(zone, name: str) -> None:
    zone.add(f"{name}. 60 IN A {LOOPBACK}")


def srv(zone, name: str, priority: int, weight: int, port: int, target: str) -> None:
    zone.add_rr(RR(name, QTYPE.SRV, rdata=SRV(priority, weight, port, target), ttl=60))


def everything(zone, https, domain: str) -> None:
    """SRV, an autoconfig file and a Google MX, each naming another server."""
    srv(zone, f"_imaps._tcp.{domain}", 0, 0, 993, f"srv-imap.{domain}.")
    web_host(zone, f"autoconfig.{domain}")
    https.serve(f"autoconfig.{domain}", AUTOCONFIG_PATH, xml(f"xml-imap.{domain}"))
    web_host(zone, domain)
    https.serve(domain, WELL_KNOWN_PATH, xml(f"wellknown-imap.{domain}"))
    zone.add(f"{domain}. 60 IN MX 10 aspmx.l.google.com.")


def test_a_preset_beats_everything_and_asks_no_server(lookups, dns_server) -> None:
    zone, https, network = lookups
    everything(zone, https, "fastmail.com")  # even if fastmail.com said otherwise
    found = discover("ada@fastmail.com", network())
    assert found.imap.host == "imap.fastmail.com" and found.source == 'preset "Fastmail"'
    assert dns_server.queries == [] and https.connections == 0


def test_srv_beats_autoconfig_and_mx(lookups, dns_server) -> None:
    zone, https, network = lookups
    everything(zone, https, "order.test")
    found = discover("ada@order.test", network(), random.Random(0))
    assert found.imap == Server("srv-imap.order.test", 993, "tls", "ada@order.test")
    assert found.source == "SRV record _imaps._tcp.order.test"
    assert https.requests == []
    assert ("order.test.", "MX") not in dns_server.queries


def test_autoconfig_beats_mx_and_autoconfig_host_beats_well_known(lookups, dns_server) -> None:
    zone, https, network = lookups
    everything(zone, https, "xml.test")
    zone.records.pop(("_imaps._tcp.xml.test.", "SRV"))
    found = discover("ada@xml.test", network())
    assert found.imap == Server("xml-imap.xml.test", 993, "tls", "ada")
    assert found.source == f'autoconfig https://autoconfig.xml.test{AUTOCONFIG_PATH} ("Test Mail")'
    assert https.requests == [("autoconfig.xml.test", AUTOCONFIG_PATH)]
    assert ("xml.test.", "MX") not in dns_server.queries


def test_the_well_known_file_when_there_is_no_autoconfig_host(lookups) -> None:
    zone, https, network = lookups
    web_host(zone, "wellknown.test")
    config = xml("imap.wellknown.test", 143, "STARTTLS", smtp="smtp.wellknown.test")
    https.serve("wellknown.test", WELL_KNOWN_PATH, config)
    found = discover("ada@wellknown.test", network())
    assert found.imap == Server("imap.wellknown.test", 143, "starttls", "ada")
    assert found.smtp == Server("smtp.wellknown.test", 465, "tls", "ada@wellknown.test")
    assert any("autoconfig.wellknown.test" in n for n in found.notes)  # tried, no address


@pytest.mark.parametrize(
    ("mx", "preset", "imap_host"),
    [
        ("aspmx.l.google.com", "Google (Gmail, Google Workspace)", "imap.gmail.com"),
        ("mx-test.mail.protection.outlook.com", "Microsoft 365 (Exchange Online)",
         "outlook.office365.com"),
        ("mx.zoho.eu", "Zoho Mail (your own domain, EU)", "imappro.zoho.eu"),
    ],
    ids=["google-workspace", "microsoft-365", "zoho-eu"],
)  # fmt: skip
def test_mx_names_the_provider_of_a_domain_of_ones_own(lookups, mx, preset, imap_host) -> None:
    zone, _, network = lookups
    zone.add(f"mx.test. 60 IN MX 20 backup.mx.test.\nmx.test. 60 IN MX 10 {mx}.")
    found = discover("ada@mx.test", network())
    assert found.preset is not None and found.preset.name == preset
    assert found.imap.host == imap_host and found.imap.username == "ada@mx.test"
    assert found.source == f'MX record {mx} -> preset "{preset}"'


def test_nothing_found_is_a_guess_saying_what_was_tried(lookups) -> None:
    zone, _, network = lookups
    zone.add("example.test. 60 IN MX 10 mx.example.test.")
    found = discover("ada@example.test", network())
    assert not found.found and found.imap.host == "imap.example.test"
    assert "no preset, SRV record, autoconfig file or known MX host" in found.source
    assert any("mx.example.test is no provider Kithkin knows" in n for n in found.notes)


def test_hostile_answers_are_ignored_with_a_note_and_the_next_source_used(lookups) -> None:
    zone, https, network = lookups
    srv(zone, "_imaps._tcp.hostile.test", 0, 0, 993, "bad\\032target.hostile.test.")
    zone.add('hostile.test. 60 IN TXT "not an MX"')
    web_host(zone, "autoconfig.hostile.test")
    https.serve("autoconfig.hostile.test", AUTOCONFIG_PATH,
                b'<!DOCTYPE x [<!ENTITY a "aaaa">]><clientConfig>&a;</clientConfig>')  # fmt: skip
    web_host(zone, "hostile.test")
    https.serve("hostile.test", WELL_KNOWN_PATH, xml("imap.hostile.test;reboot"))
    zone.add("hostile.test. 60 IN MX 10 mx01.mail.icloud.com.")
    found = discover("ada@hostile.test", network())
    assert found.preset is not None and found.preset.name == "iCloud Mail"
    notes = "\n".join(found.notes)
    assert "not a host name" in notes and "DOCTYPE" in notes
    assert "imap.hostile.test;reboot" in notes  # shown, quoted, as the ignored value
    assert all(n.isprintable() for n in found.notes)


def test_ten_megabytes_of_xml_are_not_read(lookups) -> None:
    zone, https, network = lookups
    ten_mb = b"<clientConfig>" + b" " * (10 * 1024 * 1024) + b"</clientConfig>"
    web_host(zone, "autoconfig.big.test")
    https.serve("autoconfig.big.test", AUTOCONFIG_PATH, ten_mb)  # with Content-Length
    web_host(zone, "big.test")
    https.serve("big.test", WELL_KNOWN_PATH,
                Page(body=(b" " * 65536 for _ in range(160)), length=False))  # fmt: skip
    found = discover("ada@big.test", network())
    assert not found.found
    notes = [n for n in found.notes if "autoconfig" in n]
    assert f"{len(ten_mb):,} bytes, more than the 262,144 allowed" in notes[0]
    assert "more than the 262,144 bytes allowed" in notes[1]


def test_redirects_only_to_https(lookups) -> None:
    zone, https, network = lookups
    web_host(zone, "autoconfig.redirect.test")
    https.serve("autoconfig.redirect.test", AUTOCONFIG_PATH,
                Page(301, headers={"Location": "http://redirect.test/plain.xml"}))  # fmt: skip
    web_host(zone, "redirect.test")
    https.serve("redirect.test", WELL_KNOWN_PATH,
                Page(302, headers={"Location": "/moved/config.xml"}))  # fmt: skip
    https.serve("redirect.test", "/moved/config.xml", xml("imap.redirect.test"))
    found = discover("ada@redirect.test", network())
    assert found.imap.host == "imap.redirect.test"
    assert "https://redirect.test/.well-known" in found.source
    assert any("not https://" in n for n in found.notes)
    assert ("redirect.test", "/plain.xml") not in https.requests


def test_a_certificate_the_system_does_not_trust_is_refused(lookups, dns_server) -> None:
    zone, https, _ = lookups
    web_host(zone, "autoconfig.xml.test")
    https.serve("autoconfig.xml.test", AUTOCONFIG_PATH, xml("imap.xml.test"))
    untrusting = make_network(dns_server.nameserver, https_port=https.port, timeout=2)
    found = discover("ada@xml.test", untrusting)
    assert not found.found
    assert any("certificate not trusted" in n for n in found.notes)


def test_the_lookups_stop_when_their_budget_is_spent(lookups, dns_server) -> None:
    zone, https, network = lookups
    everything(zone, https, "slow.test")
    ticks = iter(range(40, 10_000, 40))  # 40 s after the start, and 40 s more at every look
    slow = network(budget=30.0)
    slow.clock = lambda: float(next(ticks))
    slow.started = 0.0
    found = discover("ada@slow.test", slow)
    assert not found.found
    assert dns_server.queries == [] and https.connections == 0
    assert any("not asked, the lookups took 30 s" in n for n in found.notes)


def test_a_dns_server_that_does_not_answer(https_server) -> None:
    quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never read
    quiet.bind((LOOPBACK, 0))
    try:
        network = make_network(f"{LOOPBACK}:{quiet.getsockname()[1]}", timeout=0.2)
        found = discover("ada@example.test", network)
    finally:
        quiet.close()
    assert not found.found
    assert any("no answer within" in n for n in found.notes)


# --- the command ---------------------------------------------------------------------------


def comments(path) -> str:
    """The config file's comments as one line (they are wrapped at 94 columns)."""
    lines = path.read_text().splitlines()
    return " ".join(line[2:] for line in lines if line.startswith("# "))


def init_args(path, dns_server, https_server, *more: str) -> list[str]:
    return ["--config", str(path), "init", "--nameserver", dns_server.nameserver,
            "--https-port", str(https_server.port), "--https-ca-file",
            str(https_server.tls.ca_file), *more]  # fmt: skip


def test_init_end_to_end_writes_a_config_that_loads(
    tmp_path, run_cli, dns_server, https_server
) -> None:
    zone = dns_server.zone
    srv(zone, "_imaps._tcp.example.test", 0, 0, 993, "mail.example.test.")
    srv(zone, "_submissions._tcp.example.test", 0, 0, 465, "mail.example.test.")
    srv(zone, "_imap._tcp.example.test", 0, 0, 143, label_text := "bad\\007.example.test.")
    path = tmp_path / "kithkin" / "config.toml"
    result = run_cli(*init_args(path, dns_server, https_server, "--email", "X@Example.test"))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_config(path)
    assert config.imap is not None
    assert (config.imap.host, config.imap.port, config.imap.security, config.imap.username) == (
        "mail.example.test", 993, "tls", "x@example.test")  # fmt: skip
    assert config.me == ("x@example.test",) and config.summary.delivery == "imap"
    text = path.read_text()
    assert "# Where these came from: SRV record _imaps._tcp.example.test (and" in text
    assert '# host = "mail.example.test"\n# port = 465\n# security = "tls"' in text
    assert "[imap] mail.example.test:993 (tls), login x@example.test: SRV record" in result.stdout
    assert "kithkin credentials set imap" in result.stdout
    assert "kithkin doctor" in result.stdout
    assert label_text not in text  # the _imap record was never needed


def test_init_end_to_end_with_autoconfig_and_its_notes(
    tmp_path, run_cli, dns_server, https_server
) -> None:
    zone = dns_server.zone
    web_host(zone, "autoconfig.xml.test")
    https_server.serve("autoconfig.xml.test", AUTOCONFIG_PATH,
                       xml("imap.xml.test", smtp="smtp.xml.test"))  # fmt: skip
    srv(zone, "_imaps._tcp.xml.test", 0, 0, 993, "evil\\027[2J.xml.test.")
    path = tmp_path / "config.toml"
    result = run_cli(*init_args(path, dns_server, https_server, "--email", "ada@xml.test"))
    assert result.exit_code == 0, result.output
    config = load_config(path)
    assert config.imap is not None and config.imap.host == "imap.xml.test"
    assert config.imap.username == "ada"
    assert "looked up: SRV _imaps._tcp.xml.test: target" in result.stdout
    assert "\x1b" not in result.stdout and "\x1b" not in path.read_text()


def test_init_with_mx_gives_the_providers_password_step(
    tmp_path, run_cli, dns_server, https_server
) -> None:
    dns_server.zone.add("mx.test. 60 IN MX 10 aspmx.l.google.com.")
    path = tmp_path / "config.toml"
    result = run_cli(*init_args(path, dns_server, https_server, "--email", "ada@mx.test"))
    assert result.exit_code == 0, result.output
    assert "https://myaccount.google.com/apppasswords" in result.stdout
    assert "https://myaccount.google.com/apppasswords" in path.read_text()
    assert load_config(path).imap.host == "imap.gmail.com"  # type: ignore[union-attr]


def test_no_lookup_opens_no_socket(tmp_path, run_cli, dns_server, https_server, monkeypatch):
    everything(dns_server.zone, https_server, "example.test")
    opened: list[str] = []

    def refuse(name):
        def refused(self, *args, **kwargs):
            opened.append(name)
            raise OSError(f"test: {name} refused")

        return refused

    for name in ("connect", "connect_ex", "sendto", "sendmsg"):
        monkeypatch.setattr(socket.socket, name, refuse(name))
    path = tmp_path / "config.toml"
    result = run_cli(*init_args(path, dns_server, https_server, "--email", "ada@example.test",
                                "--no-lookup"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert opened == [] and dns_server.queries == [] and https_server.connections == 0
    assert "is a guess (--no-lookup: nothing was looked up)" in comments(path)
    assert load_config(path).imap.host == "imap.example.test"  # type: ignore[union-attr]
    # The same command without --no-lookup does try (so the guard above could have seen it).
    again = run_cli(*init_args(path, dns_server, https_server, "--email", "ada@example.test",
                               "--force"))  # fmt: skip
    assert again.exit_code == 0 and opened


def test_an_existing_config_is_kept_and_nothing_looked_up(
    tmp_path, run_cli, dns_server, https_server
) -> None:
    everything(dns_server.zone, https_server, "order.test")
    path = tmp_path / "config.toml"
    path.write_text("# mine\n")
    result = run_cli(*init_args(path, dns_server, https_server, "--email", "ada@order.test"))
    assert result.exit_code == 2 and "already exists (use --force" in result.stderr
    assert path.read_text() == "# mine\n"
    assert dns_server.queries == [] and https_server.connections == 0
    forced = run_cli(*init_args(path, dns_server, https_server, "--email", "ada@order.test",
                                "--force"))  # fmt: skip
    assert forced.exit_code == 0
    assert load_config(path).imap.host == "srv-imap.order.test"  # type: ignore[union-attr]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("bad", ["mydns", "127.0.0.1:0", "127.0.0.1:99999", "[::1", "[::1]:"])
def test_a_bad_nameserver_is_one_line(tmp_path, run_cli, bad) -> None:
    result = run_cli("--config", str(tmp_path / "c.toml"), "init", "--email", "a@b.test",
                     "--nameserver", bad)  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith("kithkin: error: --nameserver")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "c.toml").exists()
