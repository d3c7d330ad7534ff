"""What `kithkin init`'s lookups may use: a DNS resolver, a TLS context, timeouts, a budget.

Everything is injected, so tests point the resolver at a DNS server on 127.0.0.1 and the
HTTPS fetches at a local server with a test CA. Only `kithkin init` builds one; the service
never looks anything up (tests/test_walls.py checks that it never imports this package).
"""

from __future__ import annotations

import ipaddress
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.resolver

from kithkin.daemon.errors import UsageError

TIMEOUT = 5.0  # seconds for one DNS query or one network read
BUDGET = 30.0  # seconds for all the lookups of one `kithkin init`
MAX_RECORDS = 32  # answers used of one DNS query


@dataclass
class Network:
    resolver: dns.resolver.Resolver | None  # None: no DNS server known (see `problem`)
    ssl_context: ssl.SSLContext
    https_port: int = 443  # where https:// URLs without a port are fetched from
    timeout: float = TIMEOUT
    budget: float = BUDGET
    clock: Callable[[], float] = time.monotonic
    problem: str | None = None
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float:
        return self.budget - (self.clock() - self.started)

    def query(self, name: str, rdtype: str, notes: list[str]) -> list[Any] | None:
        """The answers of one query (at most MAX_RECORDS); [] when the name or type does not
        exist; None (with a note why) when DNS could not be asked."""
        if self.resolver is None:
            return None
        left = min(self.timeout, self.remaining())
        if left <= 0:
            notes.append(f"{name} {rdtype}: not asked, the lookups took {self.budget:g} s")
            return None
        try:
            answer = self.resolver.resolve(
                name, rdtype, search=False, raise_on_no_answer=False, lifetime=left
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout:
            notes.append(f"{name} {rdtype}: no answer within {left:.3g} s")
            return None
        except dns.exception.DNSException as exc:
            notes.append(f"{name} {rdtype}: {type(exc).__name__}")
            return None
        return list(answer)[:MAX_RECORDS]


def make_network(
    nameserver: str | None = None,
    *,
    https_port: int = 443,
    ca_file: Path | None = None,
    timeout: float = TIMEOUT,
    budget: float = BUDGET,
) -> Network:
    """A Network asking `nameserver` ("ADDRESS" or "ADDRESS:PORT", "[v6]:PORT"), else the
    system's resolvers (/etc/resolv.conf); trusting `ca_file` alone, else the system's CAs."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    problem = None
    resolver: dns.resolver.Resolver | None
    if nameserver is not None:
        address, port = parse_nameserver(nameserver)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [address]
        resolver.port = port
    else:
        try:
            resolver = dns.resolver.Resolver()
        except dns.exception.DNSException:
            resolver, problem = None, "no DNS server configured (/etc/resolv.conf)"
    if resolver is not None:
        resolver.timeout = resolver.lifetime = timeout
    return Network(
        resolver=resolver,
        ssl_context=context,
        https_port=https_port,
        timeout=timeout,
        budget=budget,
        problem=problem,
    )


def parse_nameserver(text: str) -> tuple[str, int]:
    """ "192.0.2.1", "192.0.2.1:5353", "2001:db8::1", "[2001:db8::1]:5353" -> (address, port)."""
    raw = text.strip()
    port_text: str | None = None
    host = raw
    if raw.startswith("["):
        host, bracket, rest = raw[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            host = ""
        port_text = rest[1:] if rest else None
    elif raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        raise UsageError(f"--nameserver must be an IP address (and :PORT), not {raw!r}") from None
    port = 53 if port_text is None else int(port_text) if port_text.isdigit() else 0
    if not 0 < port < 65536:
        raise UsageError(f"--nameserver port must be between 1 and 65535, not {port_text!r}")
    return address, port
