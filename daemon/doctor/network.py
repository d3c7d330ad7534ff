"""The way to each server: DNS, TCP, TLS; for IMAP and, with `delivery = "smtp"`, SMTP.
Each failure says what to change: the host, the port, `security`, or `ca_file`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from kithkin.daemon.config import Config, ServerConfig
from kithkin.daemon.doctor.results import Result, fail, info, ok, warn
from kithkin.daemon.doctor.runner import Context
from kithkin.daemon.mail.probes import (
    Certificate,
    ProbeFailure,
    connect_tcp,
    imap_tls,
    resolve,
    smtp_tls,
    where,
)

EXPIRY_WARNING = timedelta(days=14)
USUAL_PORTS = {"imap": {"tls": 993, "starttls": 143}, "smtp": {"tls": 465, "starttls": 587}}


def server_of(config: Config, kind: str) -> ServerConfig:
    return config.require_imap() if kind == "imap" else config.require_smtp()


def dns_check(kind: str) -> Callable[[Context], Result]:
    name = f"{kind} dns"

    def check(context: Context) -> Result:
        server = context.bounded(server_of(context.loaded(), kind))
        try:
            addresses = resolve(server.host, server.port, server.timeout, context.resolver)
        except ProbeFailure as exc:
            return fail(name, str(exc), f"check [{kind}] host")
        context.addresses[kind] = addresses
        return ok(name, f"{server.host} resolves to {', '.join(addresses[:6])}")

    return check


def tcp_check(kind: str) -> Callable[[Context], Result]:
    name = f"{kind} tcp"

    def check(context: Context) -> Result:
        server = context.bounded(server_of(context.loaded(), kind))
        try:
            address = connect_tcp(context.addresses.get(kind, []), server.port, server.timeout)
        except ProbeFailure as exc:
            return fail(name, str(exc), _port_hint(kind, server, exc.reason))
        return ok(name, f"connected to {where(address, server.port)}")

    return check


def _port_hint(kind: str, server: ServerConfig, reason: str) -> str:
    usual = USUAL_PORTS[kind]
    ports = f'{kind.upper()} is usually on {usual["tls"]} (security = "tls") or '
    ports += f'{usual["starttls"]} ("starttls")'
    if reason == "refused":
        return f"nothing listens on port {server.port}: check [{kind}] port; {ports}"
    if reason == "timeout":
        return f"a firewall may drop port {server.port}, or the host is down; {ports}"
    return f"check the network, and [{kind}] host and port"


def tls_check(kind: str) -> Callable[[Context], Result]:
    name = f"{kind} tls"

    def check(context: Context) -> Result:
        server = context.bounded(server_of(context.loaded(), kind))
        if server.security == "none":
            return info(name, 'security = "none": no TLS (allowed only for a loopback host)')
        try:
            certificate = imap_tls(server) if kind == "imap" else smtp_tls(server)
        except ProbeFailure as exc:
            return fail(name, str(exc), tls_hint(kind, server, exc.reason))
        return certificate_verdict(name, server, certificate, context)

    return check


def certificate_verdict(
    name: str, server: ServerConfig, certificate: Certificate, context: Context
) -> Result:
    trusted_by = f"ca_file {server.ca_file}" if server.ca_file else "the system's CAs"
    line = f"certificate for {server.host} trusted ({trusted_by}; issued by {certificate.issuer}"
    if certificate.not_after is not None:
        line += f", valid until {certificate.not_after.date().isoformat()}"
        if certificate.not_after - context.clock() < EXPIRY_WARNING:
            return warn(
                name,
                line + f"; {certificate.protocol})",
                "the certificate expires soon: renew it on the server",
            )
    return ok(name, line + f"; {certificate.protocol})")


def tls_hint(kind: str, server: ServerConfig, reason: str) -> str | None:
    """What to change for a TLS failure of `reason` (see probes.REASONS)."""
    usual = USUAL_PORTS[kind]
    if reason == "untrusted":
        if server.ca_file:
            return f'[{kind}] ca_file = "{server.ca_file}" does not sign this certificate'
        return (
            f'if the server uses its own CA (self-hosted), set [{kind}] ca_file = "/path/to/ca.pem"'
        )
    if reason == "wrong-name":
        return f"set [{kind}] host to a name the certificate is for"
    if reason == "expired":
        return "the certificate has expired: renew it on the server"
    if reason == "plaintext":
        return (
            f'port {server.port} speaks plain text first: use security = "starttls" '
            f'(usually port {usual["starttls"]}), or port {usual["tls"]} for "tls"'
        )
    if reason == "no-greeting":
        return (
            f"port {server.port} may expect TLS from the first byte: use security = "
            f'"tls" (usually port {usual["tls"]})'
        )
    if reason == "no-starttls":
        return f'use security = "tls" (usually port {usual["tls"]})'
    if reason in ("refused", "timeout"):
        return _port_hint(kind, server, reason)
    return None
