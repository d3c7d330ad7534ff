"""What every command shares: the config path, the clock, a lazily opened store, and printing.

Stored text is printed only through `sanitised` (or `print_json`, which uses it): a store
written by an older version, or by hand, may hold control characters, terminal escape
sequences or bidi overrides in names, subjects, notes and tags.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from kithkin.daemon.config import Config, load_config
from kithkin.daemon.dates import local_date
from kithkin.daemon.store import Store
from kithkin.parsers.text import clean_line


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    """What every command shares: the config path, and the config and store opened lazily."""

    config_path: Path | None
    clock: Callable[[], datetime] = utc_now
    _config: Config | None = None
    _store: Store | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.config.store_path)
            self.closers.append(self._store.close)
        return self._store

    def today(self) -> date:
        """The owner's calendar day now, in their time zone."""
        return local_date(self.clock(), self.config.owner_zone())

    def reload_config(self) -> Config:
        self._config = load_config(self.config_path)
        return self._config

    def close(self) -> None:
        while self.closers:
            self.closers.pop()()


pass_app = click.make_pass_decorator(App)


def sanitised(value: Any) -> Any:
    """A copy of `value` with every string in it through `clean_line`: safe to print. Walks
    dicts (keys too), lists, tuples and dataclass instances; anything else is kept as it is."""
    if isinstance(value, str):
        return clean_line(value)
    if isinstance(value, dict):
        return {sanitised(key): sanitised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [sanitised(item) for item in value]
    if isinstance(value, tuple):
        return tuple(sanitised(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        changes = {f.name: sanitised(getattr(value, f.name)) for f in fields if f.init}
        return dataclasses.replace(value, **changes)
    return value


def print_json(value: Any) -> None:
    """`value` as indented JSON, every string in it sanitised."""
    click.echo(json.dumps(sanitised(value), indent=2, ensure_ascii=False))
