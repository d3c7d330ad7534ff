"""Reading one TOML table key by key, each value's type checked, and whatever is left over
reported as unknown: the tool every config section is read with."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

from kithkin.daemon.errors import ConfigError

_T = TypeVar("_T")
_U = TypeVar("_U")


class TableReader:
    """Takes keys out of one TOML table, checking types; whatever is left over is unknown."""

    def __init__(self, table: dict[str, Any], source: Path, prefix: str = "") -> None:
        self.table = dict(table)
        self.source = source
        self.prefix = prefix

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.prefix}{key} {message}")

    def section(self, name: str) -> TableReader | None:
        if name not in self.table:
            return None
        value = self.table.pop(name)
        if not isinstance(value, dict):
            raise self.error(name, "must be a table, like [" + name + "]")
        return TableReader(value, self.source, prefix=f"[{name}] ")

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
