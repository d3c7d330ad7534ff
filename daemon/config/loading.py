"""The TOML config file -> the frozen dataclasses of model.py, validated completely before
anything runs.

Every mistake becomes one `ConfigError` line naming the key and the file. Secrets never live
here: the file names a `password_command`, and credentials.py finds the rest.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kithkin.daemon.config.calendar import calendar_config
from kithkin.daemon.config.contacts import contacts_config
from kithkin.daemon.config.mailboxes import delivery_mailbox, read_mailboxes
from kithkin.daemon.config.model import (
    DELIVERY_CHOICES,
    Config,
    DaemonConfig,
    ServerConfig,
    SummaryConfig,
)
from kithkin.daemon.config.paths import default_config_path, default_store_path
from kithkin.daemon.config.reader import TableReader
from kithkin.daemon.config.servers import is_loopback, read_smtp
from kithkin.daemon.core.dates import parse_duration
from kithkin.daemon.core.thresholds import AnalysisConfig
from kithkin.daemon.core.timing import WEEKDAYS
from kithkin.daemon.errors import ConfigError, KithkinError
from kithkin.parsers.addresses import normalise_address

__all__ = ["is_loopback", "load_config"]


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
    return _build(TableReader(raw, source))


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _build(root: TableReader) -> Config:
    mailboxes = read_mailboxes(root)
    smtp_section = root.section("smtp")
    smtp = read_smtp(smtp_section) if smtp_section is not None else None
    me = _me(root)
    summary = _summary(root, smtp)
    imap = delivery_mailbox(root, summary.mailbox, mailboxes)
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
    contacts = contacts_config(root, root.source.parent)
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
        mailboxes=mailboxes,
        me=me,
        smtp=smtp,
        summary=summary,
        analysis=analysis,
        daemon=daemon,
        store_path=store_path,
        contacts=contacts,
        calendar=calendar,
    )


def _me(root: TableReader) -> tuple[str, ...]:
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


def _summary(root: TableReader, smtp: ServerConfig | None) -> SummaryConfig:
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
    mailbox = section.take("mailbox", str)
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
        mailbox=mailbox,
    )


def _authserv_ids(section: TableReader) -> tuple[str, ...]:
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


def _schedule(section: TableReader, text: str) -> tuple[str, str]:
    parts = text.lower().split()
    if len(parts) != 2 or parts[0] not in WEEKDAYS:
        raise section.error("schedule", f'must look like "monday 08:00", not {text!r}')
    hour, _, minute = parts[1].partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise section.error("schedule", f'must look like "monday 08:00", not {text!r}')
    return parts[0], f"{int(hour):02d}:{int(minute):02d}"


def _analysis(root: TableReader) -> AnalysisConfig:
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


def _daemon(root: TableReader) -> DaemonConfig:
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
