"""`[calendar]`: the calendar files whose meetings with your contacts are logged.

    [calendar]
    sources = ["~/.calendars/work/", "~/Downloads/team.ics"]   # .ics files or vdirs
    max_attendees = 100   # events with more people than this (besides you) are left out

A source is an .ics file, or a directory of them (a vdir, as vdirsyncer writes it: one
event per file; a directory of such directories is read too). Paths may use `~` and
`$VARS`; a relative one is relative to the config file. A source that does not exist yet
is not an error here: reading it says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kithkin.daemon.errors import ConfigError

MAX_ATTENDEES = 100
MAX_ATTENDEES_LIMIT = 10_000  # what the parser reads at most (parsers.calendar)


@dataclass(frozen=True)
class CalendarConfig:
    sources: tuple[Path, ...] = ()
    max_attendees: int = MAX_ATTENDEES


class _Section(Protocol):
    """What loading.py's reader of one TOML table offers (not imported: it imports us)."""

    source: Path

    def take(self, key: str, kind: Any, default: Any = None) -> Any: ...
    def strings(self, key: str, *, required: bool = False) -> tuple[str, ...] | None: ...
    def error(self, key: str, message: str) -> ConfigError: ...
    def finish(self) -> None: ...


def calendar_config(section: _Section | None) -> CalendarConfig:
    """The `[calendar]` table (None: there is none) -> CalendarConfig."""
    if section is None:
        return CalendarConfig()
    raw = section.strings("sources", required=True) or ()
    if not raw:
        raise section.error("sources", "must list at least one .ics file or directory")
    sources = tuple(dict.fromkeys(_path(item, section.source) for item in raw))
    max_attendees = section.take("max_attendees", int, MAX_ATTENDEES)
    if not 1 <= max_attendees <= MAX_ATTENDEES_LIMIT:
        raise section.error("max_attendees", f"must be between 1 and {MAX_ATTENDEES_LIMIT}")
    section.finish()
    return CalendarConfig(sources=sources, max_attendees=max_attendees)


def _path(text: str, config_file: Path) -> Path:
    path = Path(os.path.expandvars(text)).expanduser()
    if not path.is_absolute():
        path = config_file.parent / path
    return Path(os.path.normpath(path))
