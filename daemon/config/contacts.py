"""`[contacts]`: address books kept elsewhere, read into the contact book on every poll.

    [contacts]
    sources = ["~/.contacts/friends/", "~/family.vcf"]

Each source is a vdir (a directory of .vcf files, one card each: what vdirsyncer and khard
keep in sync with a CardDAV server) or a single vCard file. A path ending in "/" is always a
directory; otherwise what is on disk decides when it is read, so a source may be configured
before its first sync creates it. `~` and `$VARS` are expanded; a relative path is relative to
the config file's directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kithkin.daemon.errors import ConfigError

MAX_SOURCES = 50


@dataclass(frozen=True)
class ContactSource:
    path: Path  # absolute and normalised: what the store keys this source's cards by
    shown: str  # as written in the config: how messages name it
    directory: bool  # written with a trailing "/": a vdir even before it exists

    @property
    def key(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class ContactsConfig:
    sources: tuple[ContactSource, ...] = ()

    def shown(self, key: str) -> str:
        """How to name the source stored as `key`: as configured, else its path."""
        for source in self.sources:
            if source.key == key:
                return source.shown
        return key


class SectionReader(Protocol):
    """What this module needs of loading.py's reader of one TOML table."""

    def section(self, name: str) -> SectionReader | None: ...
    def strings(self, key: str, *, required: bool = False) -> tuple[str, ...] | None: ...
    def error(self, key: str, message: str) -> ConfigError: ...
    def finish(self) -> None: ...


def contacts_config(root: SectionReader, config_dir: Path) -> ContactsConfig:
    """`[contacts]` of the file whose directory is `config_dir`; defaults without it."""
    section = root.section("contacts")
    if section is None:
        return ContactsConfig()
    raw = section.strings("sources") or ()
    if len(raw) > MAX_SOURCES:
        raise section.error("sources", f"lists {len(raw)} sources; at most {MAX_SOURCES}")
    sources: dict[str, ContactSource] = {}
    for item in raw:
        if not item.isprintable():
            raise section.error("sources", f"has {item!r}, which holds control characters")
        expanded = Path(os.path.expandvars(item)).expanduser()
        if not expanded.is_absolute():
            expanded = config_dir / expanded
        source = ContactSource(
            path=Path(os.path.normpath(os.path.abspath(expanded))),
            shown=item,
            directory=item.endswith(("/", os.sep)),
        )
        if source.key in sources:
            raise section.error(
                "sources", f"names {source.path} twice ({sources[source.key].shown!r}, {item!r})"
            )
        sources[source.key] = source
    section.finish()
    return ContactsConfig(tuple(sources.values()))
