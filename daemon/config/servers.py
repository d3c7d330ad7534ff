"""An `[imap]` or `[smtp]` table (and each `[[mailbox]]`) -> the server settings of model.py."""

from __future__ import annotations

import ipaddress
import shlex
from pathlib import Path
from typing import Any

from kithkin.daemon.config.model import AUTH_CHOICES, SECURITY_CHOICES, ImapConfig, ServerConfig
from kithkin.daemon.config.reader import TableReader

IMAP_PORTS = {"tls": 993, "starttls": 143, "none": 143}
SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}


def read_imap(section: TableReader, *, kind: str = "imap", name: str = "") -> ImapConfig:
    """An `[imap]` table, or one `[[mailbox]]` (`name`: its name; `kind`: its credential
    name, "imap-<name>")."""
    fields = _server_fields(section, kind, IMAP_PORTS)
    folders = section.strings("folders")
    section.finish()
    return ImapConfig(**fields, folders=folders, name=name)


def read_smtp(section: TableReader) -> ServerConfig:
    fields = _server_fields(section, "smtp", SMTP_PORTS)
    section.finish()
    return ServerConfig(**fields)


def _server_fields(
    section: TableReader, kind: str, default_ports: dict[str, int]
) -> dict[str, Any]:
    host = section.take("host", str, required=True).strip()
    if not host:
        raise section.error("host", "must not be empty")
    security = section.choice("security", SECURITY_CHOICES, "tls")
    port = section.take("port", int, default_ports[security])
    if not 0 < port < 65536:
        raise section.error("port", "must be between 1 and 65535")
    if security == "none" and not is_loopback(host):
        raise section.error(
            "security", f'= "none" is only allowed for a loopback host, not {host!r}'
        )
    username = section.take("username", str, required=True)
    password_command = _command(section)
    auth = section.choice("auth", AUTH_CHOICES, "password")
    ca_file = section.take("ca_file", str)
    ca_path = Path(ca_file).expanduser() if ca_file else None
    if ca_path is not None and not ca_path.is_file():
        raise section.error("ca_file", f"points to {ca_path}, which is not a file")
    timeout = float(section.take("timeout", (int, float), 60))
    if not 0 < timeout <= 3600:
        raise section.error("timeout", "must be between 0 and 3600 seconds")
    fields: dict[str, Any] = {
        "kind": kind,
        "host": host,
        "port": port,
        "security": security,
        "username": username,
        "password_command": password_command,
        "auth": auth,
        "ca_file": ca_path,
        "timeout": timeout,
    }
    if "password" in section.table:
        raise section.error(
            "password",
            "is not allowed: never put a password in the config file; use "
            "password_command, systemd LoadCredential= or `kithkin credentials set`",
        )
    return fields


def _command(section: TableReader) -> tuple[str, ...] | None:
    value = section.take("password_command", (str, list))
    if value is None:
        return None
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise section.error("password_command", f"cannot be split into words: {exc}") from None
    else:
        if not all(isinstance(item, str) for item in value):
            raise section.error("password_command", "must be a string or a list of strings")
        argv = list(value)
    if not argv:
        raise section.error("password_command", "must not be empty")
    return tuple(argv)


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
