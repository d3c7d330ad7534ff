"""Shared test helpers: a config file for a test server, and the owner's addresses."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

ME = "me@home.example"
ME_ALIAS = "Me.Alias@Old-Job.example"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(str(value))


def write_config(
    directory: Path,
    server: Any,
    *,
    me: tuple[str, ...] = (ME, ME_ALIAS),
    imap: dict[str, Any] | None = None,
    sections: dict[str, dict[str, Any]] | None = None,
    password: str | None = None,
) -> Path:
    """A config for `server` (plain IMAP on loopback), the password in a 0600 file read by
    password_command. Returns the config path; the store goes to `directory/kithkin.db`."""
    directory.mkdir(parents=True, exist_ok=True)
    secret = directory / "imap-password"
    secret.touch(mode=0o600)
    secret.write_text((password if password is not None else server.password) + "\n")
    values: dict[str, dict[str, Any]] = {
        "imap": {
            "host": server.host,
            "port": server.port,
            "security": "none",
            "username": server.username,
            "password_command": ["cat", str(secret)],
            "timeout": 20,
            **(imap or {}),
        },
        "me": {"addresses": list(me)},
        "store": {"path": str(directory / "kithkin.db")},
    }
    for name, entries in (sections or {}).items():
        values.setdefault(name, {}).update(entries)
    text = ""
    for name, entries in values.items():
        text += f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in entries.items())
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class CliResult:
    """What one `kithkin ...` run gave: exit status and the two streams."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def missing_tool(message: str, required_by: str) -> NoReturn:
    """Skip for want of a tool, or fail when `$required_by=1` (CI sets it: nothing may skip)."""
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{message}; {required_by}=1 requires it")
    pytest.skip(message)
