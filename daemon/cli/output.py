"""What the commands print: stored text only through `sanitised` (or `print_json`, which
uses it), since a store written by an older version, or by hand, may hold control
characters, terminal escape sequences or bidi overrides in names, subjects, notes and tags.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar, cast

import click

from kithkin.daemon.app import App
from kithkin.parsers.text import clean_line

pass_app = click.make_pass_decorator(App)
T = TypeVar("T")


def sanitised(value: T) -> T:
    """A copy of `value` with every string in it through `clean_line`: safe to print. Walks
    dicts (keys too), lists, tuples and dataclass instances; anything else is kept as it is."""
    return cast(T, _sanitised(value))


def _sanitised(value: object) -> object:
    if isinstance(value, str):
        return clean_line(value)
    if isinstance(value, dict):
        return {_sanitised(key): _sanitised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_sanitised(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_sanitised(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        changes = {f.name: _sanitised(getattr(value, f.name)) for f in fields if f.init}
        return dataclasses.replace(value, **changes)
    return value


def print_json(value: Any) -> None:
    """`value` as indented JSON, every string in it sanitised."""
    click.echo(json.dumps(sanitised(value), indent=2, ensure_ascii=False))
