"""The TOML config file -> the frozen dataclasses of model.py, validated completely before
anything runs.

Every mistake becomes one `ConfigError` line naming the key and the file. Secrets never live
here: the file names a `password_command`, and credentials.py finds the rest.
"""

from __future__ import annotations

import ipaddress
import math
import os
import shlex
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, TypeVar, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kithkin.daemon.config.calendar import calendar_config
from kithkin.daemon.config.model import (
    AUTH_CHOICES,
    DELIVERY_CHOICES,
    SECURITY_CHOICES,
    Config,
    DaemonConfig,
    ImapConfig,
    ServerConfig,
    SummaryConfig,
)
from kithkin.daemon.config.paths import default_config_path, default_store_path
from kithkin.daemon.core.analysis import AnalysisConfig
from kithkin.daemon.core.dates import parse_duration
from kithkin.daemon.core.timing import WEEKDAYS
from kithkin.daemon.errors import ConfigError, KithkinError
from kithkin.parsers.addresses import normalise_address

_T = TypeVar("_T")
_U = TypeVar("_U")


def load_config(path: Path | None = None) -> Config:
    """Read and validate `path` (default: the XDG location). A missing file gives defaults."""
    source = Path(path) if path else default_config_path()
    if not source.exists():
        if path is not None:
            raise ConfigError(f"{source}: no such config file")
        return Config(source=source, exists=False)
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read: {_reason(exc)}") from None
    return _build(_Reader(raw, source))


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


class _Reader:
    """Takes keys out of one TOML table, checking types; whatever is left over is unknown."""

    def __init__(self, table: dict[str, Any], source: Path, prefix: str = "") -> None:
        self.table = dict(table)
        self.source = source
        self.prefix = prefix

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.prefix}{key} {message}")

    def section(self, name: str) -> _Reader | None:
        if name not in self.table:
            return None
        value = self.table.pop(name)
        if not isinstance(value, dict):
            raise self.error(name, "must be a table, like [" + name + "]")
        return _Reader(value, self.source, prefix=f"[{name}] ")

    @overload
    def take(self, key: str, kind: type[_T], default: _T, *, required: bool = False) -> _T: ...
    @overload
    def take(
        self, key: str, kind: type[_T], default: None = None, *, required: Literal[True]
    ) -> _T: ...
    @overload
    def take(
        self, key: str, kind: type[_T], default: None = None, *, required: bool = False
    ) -> _T | None: ...
    @overload
    def take(self, key: str, kind: tuple[type[_T], type[_U]], default: _T | _U) -> _T | _U: ...
    @overload
    def take(
        self, key: str, kind: tuple[type[_T], type[_U]], default: None = None
    ) -> _T | _U | None: ...
    def take(
        self,
        key: str,
        kind: type | tuple[type, ...],
        default: object = None,
        *,
        required: bool = False,
    ) -> object:
        """The value of `key`, which must be of type `kind` (or one of them), else `default`."""
        if key not in self.table:
            if required:
                raise self.error(key, "is missing")
            return default
        value = self.table.pop(key)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"must be {_kind_name(kinds)}, not a boolean")
        if not isinstance(value, kinds):
            raise self.error(key, f"must be {_kind_name(kinds)}, not {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, "must be a finite number")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.take(key, str, default)
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(repr(c) for c in choices)}")
        return value

    def strings(self, key: str, *, required: bool = False) -> tuple[str, ...] | None:
        value = self.take(key, list, None, required=required)
        if value is None:
            return None
        if not all(isinstance(item, str) and item.strip() for item in value):
            raise self.error(key, "must be a list of non-empty strings")
        return tuple(item.strip() for item in value)

    def finish(self) -> None:
        for key in self.table:
            raise self.error(key, "is not a known setting")


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _build(root: _Reader) -> Config:
    imap = _server(root, "imap", default_ports={"tls": 993, "starttls": 143, "none": 143})
    smtp = _server(root, "smtp", default_ports={"tls": 465, "starttls": 587, "none": 25})
    me = _me(root)
    summary = _summary(root, smtp)
    if summary.to is not None:
        to = normalise_address(summary.to)
        if to is None:
            raise root.error("[summary] to", f"is not an email address: {summary.to!r}")
        if to not in me:
            raise root.error(
                "[summary] to", "must be one of [me] addresses: Kithkin only ever writes to you"
            )
        summary = replace(summary, to=to)
    analysis = _analysis(root)
    daemon = _daemon(root)
    calendar = calendar_config(root.section("calendar"))
    store_path = default_store_path()
    if (store := root.section("store")) is not None:
        raw_path = store.take("path", str)
        if raw_path is not None:
            store_path = Path(os.path.expandvars(raw_path)).expanduser()
            if not store_path.is_absolute():
                store_path = (root.source.parent / store_path).resolve()
        store.finish()
    root.finish()
    return Config(
        source=root.source,
        imap=imap,
        me=me,
        smtp=smtp,
        summary=summary,
        analysis=analysis,
        daemon=daemon,
        store_path=store_path,
        calendar=calendar,
    )


@overload
def _server(
    root: _Reader, name: Literal["imap"], default_ports: dict[str, int]
) -> ImapConfig | None: ...
@overload
def _server(
    root: _Reader, name: Literal["smtp"], default_ports: dict[str, int]
) -> ServerConfig | None: ...
def _server(root: _Reader, name: str, default_ports: dict[str, int]) -> ServerConfig | None:
    section = root.section(name)
    if section is None:
        return None
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
        "kind": name,
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
    if name == "imap":
        folders = section.strings("folders")
        section.finish()
        return ImapConfig(**fields, folders=folders)
    section.finish()
    return ServerConfig(**fields)


def _command(section: _Reader) -> tuple[str, ...] | None:
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


def _me(root: _Reader) -> tuple[str, ...]:
    section = root.section("me")
    if section is None:
        return ()
    raw = section.strings("addresses", required=True) or ()
    addresses = []
    for item in raw:
        address = normalise_address(item)
        if address is None:
            raise section.error("addresses", f"has {item!r}, which is not an email address")
        addresses.append(address)
    if not addresses:
        raise section.error("addresses", "must list at least one address")
    section.finish()
    return tuple(dict.fromkeys(addresses))


def _summary(root: _Reader, smtp: ServerConfig | None) -> SummaryConfig:
    section = root.section("summary")
    if section is None:
        return SummaryConfig(delivery="smtp" if smtp else "imap")
    to = section.take("to", str)
    schedule = section.take("schedule", str, "monday 08:00")
    weekday, time = _schedule(section, schedule)
    timezone = section.take("timezone", str)
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise section.error("timezone", f"is not a known time zone: {timezone!r}") from None
    delivery = section.choice("delivery", DELIVERY_CHOICES, "smtp" if smtp else "imap")
    send_when_empty = section.take("send_when_empty", bool, True)
    max_people = section.take("max_people", int, 7)
    if max_people < 1:
        raise section.error("max_people", "must be at least 1")
    reply_authserv_ids = _authserv_ids(section)
    section.finish()
    if delivery == "smtp" and smtp is None:
        raise root.error("[smtp]", 'is missing, but [summary] delivery = "smtp" needs it')
    return SummaryConfig(
        to=to,
        weekday=weekday,
        time=time,
        timezone=timezone,
        delivery=delivery,
        send_when_empty=send_when_empty,
        max_people=max_people,
        reply_authserv_ids=reply_authserv_ids,
    )


def _authserv_ids(section: _Reader) -> tuple[str, ...]:
    """`reply_authserv_id`: one server name or a list of them, lowercased."""
    key = "reply_authserv_id"
    value = section.take(key, (str, list))
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not items:
        raise section.error(key, "must name at least one server")
    found = []
    for item in items:
        text = item.strip() if isinstance(item, str) else ""
        if not text or any(c.isspace() or c in ';()"\\' or not c.isprintable() for c in text):
            raise section.error(
                key, 'must be the name your mail server writes there, like "mx.example.org"'
            )
        found.append(text.lower())
    return tuple(dict.fromkeys(found))


def _schedule(section: _Reader, text: str) -> tuple[str, str]:
    parts = text.lower().split()
    if len(parts) != 2 or parts[0] not in WEEKDAYS:
        raise section.error("schedule", f'must look like "monday 08:00", not {text!r}')
    hour, _, minute = parts[1].partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise section.error("schedule", f'must look like "monday 08:00", not {text!r}')
    return parts[0], f"{int(hour):02d}:{int(minute):02d}"


def _analysis(root: _Reader) -> AnalysisConfig:
    section = root.section("analysis")
    if section is None:
        return AnalysisConfig()
    values = AnalysisConfig(
        default_cadence_days=section.take("default_cadence_days", int, 60),
        fading_ratio=float(section.take("fading_ratio", (int, float), 1.0)),
        awaiting_reply_days=section.take("awaiting_reply_days", int, 3),
        one_sided_count=section.take("one_sided_count", int, 3),
        birthday_days=section.take("birthday_days", int, 14),
    )
    for key in ("default_cadence_days", "fading_ratio", "one_sided_count"):
        if getattr(values, key) <= 0:
            raise section.error(key, "must be positive")
    for key in ("awaiting_reply_days", "birthday_days"):
        if getattr(values, key) < 0:
            raise section.error(key, "must not be negative")
    section.finish()
    return values


def _daemon(root: _Reader) -> DaemonConfig:
    section = root.section("daemon")
    if section is None:
        return DaemonConfig()
    raw = section.take("poll_interval", (str, int), 300)
    try:
        seconds = int(parse_duration(str(raw), default_unit="s").total_seconds())
    except KithkinError:
        raise section.error("poll_interval", f'must be a duration like "5m", not {raw!r}') from None
    idle = section.take("idle", bool, True)
    section.finish()
    return DaemonConfig(poll_interval=seconds, idle=idle)


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
