"""The files of one source, listed and read within bounds.

A vdir is listed without reading anything: every regular file whose name ends in `.vcf`
(any case), not starting with "." (vdirsyncer's and khard's temporary files either start with
a dot or do not end in `.vcf`); subdirectories are not entered. A source that is missing, or
a vdir with more than MAX_FILES cards, is unavailable as a whole: nothing of it changes, so a
disk that is not mounted never removes anyone. A file is read only if it is a regular file
(a FIFO or a device is refused without blocking) of at most MAX_CARD_FILE bytes in a vdir or
MAX_BOOK_FILE as a single file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kithkin.daemon.config.contacts import ContactSource
from kithkin.daemon.store.sources import FileState

MAX_CARD_FILE = 1 << 20  # bytes: one card of a vdir (a photo included) is far smaller
MAX_BOOK_FILE = 20 << 20  # bytes: a whole address book in one file (about 100,000 cards)
MAX_FILES = 20_000  # .vcf files in one vdir
SUFFIX = ".vcf"

Reader = Callable[[Path, int], tuple[bytes, FileState]]


class SourceUnavailable(Exception):
    """The source as a whole cannot be read now (its message says why, in a few words)."""


class FileUnreadable(Exception):
    """One file cannot be read (its message says why); the others are."""


@dataclass(frozen=True)
class Entry:
    name: str  # the file's name: what the store keys its state by
    path: Path
    state: FileState


@dataclass
class Listing:
    vdir: bool
    entries: list[Entry] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # why some names were passed over
    subdirectories: int = 0


def state_of(info: os.stat_result) -> FileState:
    return FileState(info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


def list_source(source: ContactSource) -> Listing:
    """The files of `source` with their state; SourceUnavailable if it cannot be listed."""
    try:
        info = os.stat(source.path)
    except FileNotFoundError:
        raise SourceUnavailable("not found") from None
    except OSError as exc:
        raise SourceUnavailable(f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    if stat.S_ISDIR(info.st_mode):
        return _list_vdir(source.path)
    if source.directory:
        raise SourceUnavailable("is not a directory")
    if not stat.S_ISREG(info.st_mode):
        raise SourceUnavailable("is neither a directory nor a regular file")
    return Listing(vdir=False, entries=[Entry(source.path.name, source.path, state_of(info))])


def _list_vdir(path: Path) -> Listing:
    listing = Listing(vdir=True)
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                _add_entry(listing, path, entry)
                if len(listing.entries) > MAX_FILES:
                    raise SourceUnavailable(
                        f"holds more than {MAX_FILES:,} .vcf files; none was read"
                    )
    except OSError as exc:
        raise SourceUnavailable(f"cannot be listed: {exc.strerror or type(exc).__name__}") from None
    listing.entries.sort(key=lambda entry: entry.name)
    return listing


def _add_entry(listing: Listing, directory: Path, entry: os.DirEntry[str]) -> None:
    name = entry.name
    if name.startswith("."):
        return
    try:
        info = entry.stat()  # follows a symbolic link: its target must be a regular file
    except OSError:
        listing.ignored.append(f"{_shown(name)}: cannot be read (a broken link?)")
        return
    if stat.S_ISDIR(info.st_mode):
        listing.subdirectories += 1
        return
    if not name.lower().endswith(SUFFIX):
        return
    if not stat.S_ISREG(info.st_mode):
        listing.ignored.append(f"{_shown(name)}: not a regular file")
        return
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        listing.ignored.append(f"{_shown(name)}: the name is not UTF-8")
        return
    listing.entries.append(Entry(name, directory / name, state_of(info)))


def _shown(name: str) -> str:
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def read_capped(path: Path, limit: int) -> tuple[bytes, FileState]:
    """The bytes of a regular file of at most `limit` bytes, and its state as read."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileUnreadable(f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileUnreadable("not a regular file")
        if info.st_size > limit:
            raise FileUnreadable(_too_large(info.st_size, limit))
        data = file.read(limit + 1)
    if len(data) > limit:
        raise FileUnreadable(_too_large(len(data), limit))
    return data, state_of(info)


def _too_large(size: int, limit: int) -> str:
    return f"{size:,} bytes, more than the {limit:,} a file may have here; not read"
