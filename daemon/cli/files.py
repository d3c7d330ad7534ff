"""Files Kithkin writes: private (0600 in a 0700 directory), replaced atomically.

Every file is written relative to an open descriptor of its directory (opened without
following a symlink), into a new temporary file with an unpredictable name (O_CREAT |
O_EXCL | O_NOFOLLOW, mode 0600), which is then renamed over the final name. A symlink or
file planted at either name is never followed or written into, and a directory swapped for
another after it was opened is never written into.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from kithkin.daemon.errors import UsageError

DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
TEMPORARY_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
ATTEMPTS = 100  # fresh random names to try before giving up


@dataclass(frozen=True)
class PrivateDirectory:
    """An open directory to write private files into, and the path it was reached by."""

    fd: int
    path: Path
    inside_shared: bool  # a fresh directory made inside the one asked for, which was shared


def write_private(path: Path, content: str | bytes) -> None:
    """Write `content` to `path` atomically with mode 0600, creating a 0700 directory. The
    directory may be a symlink (a config directory kept with one's dotfiles, say)."""
    with open_directory(path.parent, follow_symlink=True) as directory:
        write_into(directory, path.name, content, shown_as=path)


def write_into(directory: int, name: str, content: str | bytes, *, shown_as: Path) -> None:
    """Write `content` as `name` in the open `directory`, atomically, mode 0600."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        temporary = _write_temporary(directory, name, data)
        try:
            os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
        except BaseException:
            _remove_quietly(directory, temporary)
            raise
    except OSError as exc:
        raise UsageError(f"{shown_as}: cannot write: {_reason(exc)}") from None


@contextmanager
def open_directory(path: Path, *, follow_symlink: bool = False) -> Iterator[int]:
    """A descriptor of directory `path`, made 0700 if it is missing. Unless `follow_symlink`,
    `path` itself must not be a symlink: one planted where a directory was expected."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError:
        pass  # a file or a dangling link: opening it below says which
    except OSError as exc:
        raise UsageError(f"{path}: cannot create directory: {_reason(exc)}") from None
    try:
        fd = os.open(path, DIRECTORY_FLAGS & ~os.O_NOFOLLOW if follow_symlink else DIRECTORY_FLAGS)
    except OSError as exc:
        raise UsageError(f"{path}: cannot open directory: {_reason(exc, path)}") from None
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def private_directory(path: Path, prefix: str) -> Iterator[PrivateDirectory]:
    """Directory `path` (made 0700 if missing) to write private files into; or, if it is
    shared (someone else's, or writable by group or others, like /tmp), a fresh 0700
    directory made inside it, so that nobody else can put or replace anything there."""
    with open_directory(path) as outer:
        if not is_shared(outer):
            yield PrivateDirectory(outer, path, inside_shared=False)
            return
        name = _make_private_subdirectory(outer, path, prefix)
        inner_path = path / name
        try:
            inner = os.open(name, DIRECTORY_FLAGS, dir_fd=outer)
        except OSError as exc:
            raise UsageError(f"{inner_path}: cannot open directory: {_reason(exc)}") from None
        try:
            if is_shared(inner):  # replaced by someone else between mkdir and open
                raise UsageError(f"{inner_path}: was replaced by another user; not writing")
            yield PrivateDirectory(inner, inner_path, inside_shared=True)
        finally:
            os.close(inner)


def is_shared(directory: int) -> bool:
    """Could another user add, replace or remove entries in this open directory?"""
    info = os.fstat(directory)
    return info.st_uid != os.geteuid() or bool(info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _make_private_subdirectory(directory: int, shown_as: Path, prefix: str) -> str:
    """Like tempfile.mkdtemp(prefix=prefix, dir=...), but relative to the open directory."""
    try:
        for _ in range(ATTEMPTS):
            name = f"{prefix}{secrets.token_hex(6)}"
            with suppress(FileExistsError):
                os.mkdir(name, 0o700, dir_fd=directory)
                return name
        raise FileExistsError(errno.EEXIST, "no unused name found")
    except OSError as exc:
        raise UsageError(
            f"{shown_as} is shared with other users, and a private directory cannot be "
            f"made inside it: {_reason(exc)}"
        ) from None


def _write_temporary(directory: int, name: str, data: bytes) -> str:
    """A new temporary file beside `name` holding `data`; returns its name."""
    for _ in range(ATTEMPTS):
        temporary = f".{name}.{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(temporary, TEMPORARY_FLAGS, 0o600, dir_fd=directory)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        except BaseException:
            _remove_quietly(directory, temporary)
            raise
        return temporary
    raise FileExistsError(errno.EEXIST, "no unused temporary name found")


def _remove_quietly(directory: int, name: str) -> None:
    with suppress(OSError):
        os.unlink(name, dir_fd=directory)


def _reason(exc: OSError, path: Path | None = None) -> str:
    if path is not None and exc.errno in (errno.ELOOP, errno.ENOTDIR) and path.is_symlink():
        return "is a symbolic link (not followed; give the directory itself)"
    if exc.errno == errno.ENOTDIR:
        return "not a directory"
    return exc.strerror or type(exc).__name__
