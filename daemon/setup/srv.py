"""RFC 6186 SRV records: `_imaps._tcp.<domain>` and friends name a domain's mail servers.

Implicit TLS (`_imaps`, `_submissions`) is preferred to STARTTLS (`_imap`, `_submission`),
as RFC 8314 asks. Within one service, records are ordered as RFC 2782 says: by priority, and
among equal priorities by a random draw weighted by `weight`; a single record with the
target "." says the service is not offered at all. Targets that are not host names are
ignored with a note. The ordering is a pure function (`order_records`) with its random
numbers injected.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from kithkin.daemon.setup.network import Network
from kithkin.daemon.setup.presets import Endpoint
from kithkin.parsers.hostnames import host_name, quoted

# kind -> (service label, security) in order of preference
SERVICES = {
    "imap": (("_imaps._tcp", "tls"), ("_imap._tcp", "starttls")),
    "smtp": (("_submissions._tcp", "tls"), ("_submission._tcp", "starttls")),
}


@dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str  # as DNS gave it, the root as "."


@dataclass(frozen=True)
class SrvAnswer:
    endpoint: Endpoint
    record_name: str  # the name whose SRV records gave it, e.g. _imaps._tcp.example.org


def order_records(records: Sequence[SrvRecord], rng: random.Random) -> list[SrvRecord]:
    """RFC 2782's order: lowest priority first; within a priority, repeatedly draw one
    record with probability proportional to its weight. The RFC's draw from 0 to the sum
    inclusive would favour the first record (1 and 3 would come first 2 and 3 times in 5);
    drawing from 1 keeps the proportion exact, and leaves weight 0 for when nothing else is
    left (in the order listed)."""
    ordered: list[SrvRecord] = []
    by_priority = sorted(records, key=lambda r: r.priority)
    for _, group in groupby(by_priority, key=lambda r: r.priority):
        left = sorted(group, key=lambda r: r.weight != 0)  # weight 0 first, as the RFC says
        while left:
            total = sum(r.weight for r in left)
            draw = rng.randint(1, total) if total else 0
            running = 0
            for index, record in enumerate(left):
                running += record.weight
                if running >= draw:
                    ordered.append(left.pop(index))
                    break
    return ordered


def usable_targets(
    records: Sequence[SrvRecord], name: str, notes: list[str]
) -> tuple[list[SrvRecord], bool]:
    """The records whose target is a host name and port a port, and whether the records say
    "no such service here" (the target ".")."""
    if any(r.target in (".", "") for r in records):
        notes.append(f"SRV {name}: the target '.' says the domain offers no such service")
        return [], True
    usable = []
    for record in records:
        host = host_name(record.target)
        if host is None:
            notes.append(f"SRV {name}: target {quoted(record.target)} is not a host name: "
                         "ignored")  # fmt: skip
        elif not 0 < record.port < 65536:
            notes.append(f"SRV {name}: target {host} has port {record.port}: ignored")
        else:
            usable.append(SrvRecord(record.priority, record.weight, record.port, host))
    return usable, False


def from_rdata(rdata: Any) -> SrvRecord | None:
    """One dnspython SRV answer as an SrvRecord; None for an answer of another type."""
    try:
        target = rdata.target
        text = "." if len(target.labels) <= 1 else target.to_text(omit_final_dot=True)
        return SrvRecord(int(rdata.priority), int(rdata.weight), int(rdata.port), text)
    except (AttributeError, TypeError, ValueError):
        return None


def lookup_srv(
    network: Network, domain: str, kind: str, notes: list[str], rng: random.Random
) -> SrvAnswer | None:
    """The preferred server for `kind` ("imap" or "smtp") from `domain`'s SRV records."""
    for label, security in SERVICES[kind]:
        name = f"{label}.{domain}"
        answers = network.query(name, "SRV", notes)
        if not answers:
            continue
        records = [r for r in map(from_rdata, answers) if r is not None]
        usable, refused = usable_targets(records, name, notes)
        if refused or not usable:
            continue
        best = order_records(usable, rng)[0]
        return SrvAnswer(Endpoint(best.target, best.port, security), name)
    return None
