"""The wiring every entry point shares (the commands and the service): the config path,
the clock, and the config and store opened lazily."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from kithkin.daemon.config import Config, load_config
from kithkin.daemon.core.dates import local_date
from kithkin.daemon.store import Store


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
