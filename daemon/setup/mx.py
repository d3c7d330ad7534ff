"""A domain of one's own, hosted by a provider with a preset, recognised by its MX hosts:
`aspmx.l.google.com` is Google's, `*.mail.protection.outlook.com` Microsoft 365's, and so
on (each preset's `mx_suffixes`). The matching is pure (`preset_for_mx_hosts`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kithkin.daemon.setup.network import Network
from kithkin.daemon.setup.presets import PRESETS, Preset
from kithkin.parsers.hostnames import host_name, quoted


@dataclass(frozen=True)
class MxMatch:
    preset: Preset
    host: str  # the MX host that matched


def mx_hosts(records: Sequence[tuple[int, str]], domain: str, notes: list[str]) -> list[str]:
    """The MX host names, most preferred first; a null MX ("." , RFC 7505) and names that
    are not host names left out (the latter with a note)."""
    hosts = []
    for _, exchange in sorted(records, key=lambda r: r[0]):
        if exchange in (".", ""):
            continue
        host = host_name(exchange)
        if host is None:
            notes.append(f"MX {domain}: {quoted(exchange)} is not a host name: ignored")
        else:
            hosts.append(host)
    return hosts


def preset_for_mx_hosts(hosts: Sequence[str]) -> MxMatch | None:
    """The preset of the first (most preferred) MX host that a provider runs."""
    for host in hosts:
        for preset in PRESETS:
            if any(host == s or host.endswith("." + s) for s in preset.mx_suffixes):
                return MxMatch(preset, host)
    return None


def from_rdata(rdata: Any) -> tuple[int, str] | None:
    try:
        exchange = rdata.exchange
        text = "." if len(exchange.labels) <= 1 else exchange.to_text(omit_final_dot=True)
        return int(rdata.preference), text
    except (AttributeError, TypeError, ValueError):
        return None


def lookup_mx(network: Network, domain: str, notes: list[str]) -> tuple[MxMatch | None, str]:
    """The preset hosting `domain`'s mail, if any, and the first MX host (for the notes)."""
    answers = network.query(domain, "MX", notes) or []
    records = [r for r in map(from_rdata, answers) if r is not None]
    hosts = mx_hosts(records, domain, notes)
    return preset_for_mx_hosts(hosts), hosts[0] if hosts else ""
