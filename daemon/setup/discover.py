"""An email address -> the IMAP (and SMTP) settings for it, and where they came from.

In this order, the first that names an IMAP server wins:
  1. a preset, by the address's domain (no network at all);
  2. the domain's RFC 6186 SRV records;
  3. the domain's autoconfig file;
  4. its MX hosts, when a provider with a preset runs them (Google Workspace, Microsoft 365).
Without a Network (`--no-lookup`) only the presets are asked. Nothing found: `imap.<domain>`,
marked as a guess.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from kithkin.daemon.setup.autoconfig import lookup_autoconfig
from kithkin.daemon.setup.mx import lookup_mx
from kithkin.daemon.setup.network import Network
from kithkin.daemon.setup.presets import Endpoint, Preset, preset_for_domain, username_for
from kithkin.daemon.setup.srv import lookup_srv
from kithkin.parsers.hostnames import ascii_domain
from kithkin.parsers.mailconfig import ServerEntry


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    security: str  # "tls" or "starttls"
    username: str
    auth: str = "password"


@dataclass(frozen=True)
class Discovery:
    imap: Server
    smtp: Server | None
    source: str  # where the settings came from, for the config's comments
    preset: Preset | None = None  # the provider, for its password advice
    found: bool = True  # False: nothing was found, `imap` is a guess
    oauth2: bool = False  # the servers want OAuth2 (auth = "xoauth2")
    enable_url: str | None = None  # where IMAP must be switched on (an autoconfig file's)
    notes: tuple[str, ...] = ()  # what was tried and what was ignored, one line each


def discover(address: str, network: Network | None, rng: random.Random | None = None) -> Discovery:
    domain = address.rpartition("@")[2]
    notes: list[str] = []
    preset = preset_for_domain(domain)
    if preset is not None:
        return _from_preset(preset, address, f'preset "{preset.name}"', address_domain=True)
    if network is None:
        return _guess(address, "--no-lookup: nothing was looked up", notes)
    if network.resolver is None:
        return _guess(address, f"nothing looked up: {network.problem}", notes)
    dns_domain = ascii_domain(domain)
    if dns_domain is None:
        return _guess(address, f"nothing looked up: {domain!r} is not a domain name", notes)
    found = (
        _from_srv(network, dns_domain, address, notes, rng or random.Random())
        or _from_autoconfig(network, dns_domain, address, notes)
        or _from_mx(network, dns_domain, address, notes)
    )
    if found is None:
        return _guess(address, "no preset, SRV record, autoconfig file or known MX host", notes)
    return _with_notes(found, notes)


def _from_preset(preset: Preset, address: str, source: str, *, address_domain: bool) -> Discovery:
    login = username_for(preset, address) if address_domain else address
    return Discovery(
        imap=_server(preset.imap, login, preset.auth),
        smtp=_server(preset.smtp, address, preset.auth),
        source=source,
        preset=preset,
        oauth2=preset.auth == "xoauth2",
    )


def _from_srv(
    network: Network, domain: str, address: str, notes: list[str], rng: random.Random
) -> Discovery | None:
    imap = lookup_srv(network, domain, "imap", notes, rng)
    if imap is None:
        return None
    smtp = lookup_srv(network, domain, "smtp", notes, rng)
    return Discovery(
        imap=_server(imap.endpoint, address),
        smtp=_server(smtp.endpoint, address) if smtp else None,
        source=f"SRV record {imap.record_name}" + (f" (and {smtp.record_name})" if smtp else ""),
    )


def _from_autoconfig(
    network: Network, domain: str, address: str, notes: list[str]
) -> Discovery | None:
    answer = lookup_autoconfig(network, domain, address, notes)
    if answer is None or answer.config.imap is None:
        return None
    config, imap = answer.config, answer.config.imap
    name = f' ("{config.provider}")' if config.provider else ""
    return Discovery(
        imap=_entry(imap),
        smtp=_entry(config.smtp) if config.smtp else None,
        source=f"autoconfig {answer.url}{name}",
        oauth2=imap.auth == "xoauth2",
        enable_url=config.enable_url,
    )


def _from_mx(network: Network, domain: str, address: str, notes: list[str]) -> Discovery | None:
    match, first_host = lookup_mx(network, domain, notes)
    if match is None:
        if first_host:
            notes.append(f"MX {domain}: {first_host} is no provider Kithkin knows")
        return None
    source = f'MX record {match.host} -> preset "{match.preset.name}"'
    return _from_preset(match.preset, address, source, address_domain=False)


def _guess(address: str, why: str, notes: list[str]) -> Discovery:
    domain = address.rpartition("@")[2]
    return Discovery(
        imap=Server(f"imap.{domain}", 993, "tls", address),
        smtp=None,
        source=why,
        found=False,
        notes=tuple(notes),
    )


def _with_notes(found: Discovery, notes: list[str]) -> Discovery:
    return replace(found, notes=tuple(notes))


def _server(endpoint: Endpoint, username: str, auth: str = "password") -> Server:
    return Server(endpoint.host, endpoint.port, endpoint.security, username, auth)


def _entry(entry: ServerEntry) -> Server:
    return Server(entry.host, entry.port, entry.security, entry.username, entry.auth)
