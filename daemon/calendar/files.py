"""The files of a calendar source: an .ics file, or a vdir (a directory of .ics files, one
event each, as vdirsyncer writes them), or a directory of vdirs (one per calendar).

Listing is cheap (names, sizes, modification times), so a source is read again only when
that listing changed. Reading is bounded: at most MAX_FILE_BYTES of a file, only regular
files (a FIFO or a device named `x.ics` is never opened for reading), at most MAX_FILES
files a source.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILES = 100_000
SUFFIX = ".ics"


class FileProblem(Exception):
    """A file or source that cannot be read; the text says why, in our words."""


@dataclass(frozen=True)
class CalendarFile:
    path: Path
    size: int
    mtime_ns: int
    inode: int = 0  # vdirsyncer replaces a file by renaming a new one over it

    @property
    def signature(self) -> tuple[int, int, int]:
        return (self.size, self.mtime_ns, self.inode)


@dataclass(frozen=True)
class Listing:
    files: tuple[CalendarFile, ...]
    problem: str | None = None  # the source itself: missing, unreadable, too many files


def list_source(source: Path) -> Listing:
    try:
        info = os.stat(source)
    except FileNotFoundError:
        return Listing((), "does not exist")
    except OSError as exc:
        return Listing((), f"cannot be read: {_reason(exc)}")
    if stat.S_ISREG(info.st_mode):
        return Listing((CalendarFile(source, info.st_size, info.st_mtime_ns, info.st_ino),))
    if not stat.S_ISDIR(info.st_mode):
        return Listing((), "is neither a file nor a directory")
    found: list[CalendarFile] = []
    problem = None
    try:
        for directory in [source, *_collections(source)]:
            found.extend(_ics_files(directory))
            if len(found) > MAX_FILES:
                found = found[:MAX_FILES]
                problem = f"has more than {MAX_FILES:,} .ics files: only the first are read"
                break
    except OSError as exc:
        return Listing((), f"cannot be read: {_reason(exc)}")
    return Listing(tuple(found), problem)


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; FileProblem otherwise."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileProblem(f"cannot be read: {_reason(exc)}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileProblem("is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise FileProblem(f"cannot be read: {_reason(exc)}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise FileProblem(f"is larger than {limit // (1024 * 1024)} MB: not read")
    return data


def _collections(source: Path) -> list[Path]:
    """The vdirs inside a directory of them (vdirsyncer's `path` with one per calendar)."""
    with os.scandir(source) as entries:
        return sorted(
            Path(entry.path)
            for entry in entries
            if not entry.name.startswith(".") and entry.is_dir()
        )


def _ics_files(directory: Path) -> list[CalendarFile]:
    found = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.lower().endswith(SUFFIX):
                continue  # hidden: a temporary file being written, or vdirsyncer's state
            try:
                info = entry.stat()
            except OSError:
                continue  # gone meanwhile
            if stat.S_ISREG(info.st_mode):
                found.append(
                    CalendarFile(Path(entry.path), info.st_size, info.st_mtime_ns, info.st_ino)
                )
    return sorted(found, key=lambda item: item.path)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
