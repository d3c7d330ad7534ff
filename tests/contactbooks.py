"""Address books on disk for the `[contacts] sources` tests: a vdir and a single vCard file
written by the test, a config naming both, the store, and a reader that counts what it reads."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from helpers import toml_value

from kithkin.daemon.config import Config, load_config
from kithkin.daemon.core.records import Contact
from kithkin.daemon.sources import SourceReport, refresh_sources
from kithkin.daemon.sources.files import read_capped
from kithkin.daemon.store import Store
from kithkin.daemon.store.sources import FileState

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def vcard(name: str, *emails: str, uid: str | None = None, extra: tuple[str, ...] = ()) -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{name}"]
    lines += [f"UID:{uid}"] if uid else []
    lines += [f"EMAIL;TYPE=INTERNET:{email}" for email in emails]
    return "\r\n".join([*lines, *extra, "END:VCARD", ""])


class Books:
    """`friends/` (a vdir) and `family.vcf` beside `config.toml`, with the store `k.db`."""

    def __init__(self, directory: Path, *, sources: list[str] | None = None) -> None:
        self.directory = directory
        self.vdir = directory / "friends"
        self.vdir.mkdir(parents=True, exist_ok=True)
        self.single = directory / "family.vcf"
        self.config_path = directory / "config.toml"
        named = sources if sources is not None else [f"{self.vdir}/", str(self.single)]
        self.config_path.write_text(
            f"[contacts]\nsources = {toml_value(named)}\n"
            f"[store]\npath = {toml_value(directory / 'k.db')}\n"
        )
        self.config: Config = load_config(self.config_path)
        self.store = Store.open(directory / "k.db")
        self.reads: list[str] = []
        self._tick = 1_700_000_000_000_000_000

    def close(self) -> None:
        self.store.close()

    # --- files ------------------------------------------------------------------------------

    def write(self, path: Path | str, text: str | bytes) -> Path:
        """Write a file (a bare name: in the vdir) with an mtime of its own: files written in
        the same clock tick with the same size would otherwise look unchanged."""
        target = self.vdir / path if isinstance(path, str) else path
        if isinstance(text, str):
            target.write_text(text, encoding="utf-8")
        else:
            target.write_bytes(text)
        self._tick += 1_000_000
        os.utime(target, ns=(self._tick, self._tick))
        return target

    def reader(self, path: Path, limit: int) -> tuple[bytes, FileState]:
        self.reads.append(path.name)
        return read_capped(path, limit)

    # --- reading ----------------------------------------------------------------------------

    def refresh(self, *, now: datetime = NOW, **options: bool) -> list[SourceReport]:
        self.reads.clear()
        return refresh_sources(
            self.store,
            self.config.contacts,
            now=now,
            today=now.date(),
            reader=self.reader,
            **options,
        )

    def people(self) -> dict[str, Contact]:
        return {contact.name: contact for contact in self.store.contacts.all()}

    def active(self) -> set[str]:
        return {contact.name for contact in self.store.contacts.active()}
