"""The files: the config (there, valid, private) and the store (writable, directory too).

Nothing is written: the store is looked at with stat() and access(), and its first 100
bytes (SQLite's header) read; a store that does not exist yet is not created.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from kithkin.daemon.config import default_config_path, load_config
from kithkin.daemon.doctor.results import Result, fail, ok, warn
from kithkin.daemon.doctor.runner import Context
from kithkin.daemon.store import schema
from kithkin.daemon.store.connection import SQLITE_MAGIC

# The system service's ConfigurationDirectory=: its DynamicUser must be able to read the file.
SYSTEM_CONFIG_DIR = Path("/etc/kithkin")
USER_VERSION_AT = slice(60, 64)  # in SQLite's 100-byte file header, big-endian


def config_path(context: Context) -> Path:
    return context.config_path or default_config_path()


def check_config_file(context: Context) -> Result:
    path = config_path(context)
    try:
        info = path.stat()
    except FileNotFoundError:
        return fail(
            "config file",
            f"no config file at {path}",
            "run `kithkin init --email you@example.org` to write one",
        )
    except OSError as exc:
        return fail("config file", f"{path}: cannot look at it: {exc.strerror}")
    if not stat.S_ISREG(info.st_mode):
        return fail("config file", f"{path} is not a file")
    if not os.access(path, os.R_OK):
        return fail(
            "config file",
            f"{path} is not readable by you ({_mode(info.st_mode)})",
            f"chmod u+r {shlex.quote(str(path))}",
        )
    return config_mode_verdict(path, info.st_mode, system=_is_system_config(path))


def config_mode_verdict(path: Path, mode: int, *, system: bool) -> Result:
    """Writable by others: fail (whoever can change it can set password_command, a program
    run as you). Readable by others: a warning (it holds no password, but names your server,
    your login and how the password is fetched), except for the system service's config,
    which its DynamicUser= must read."""
    quoted = shlex.quote(str(path))
    private = "644" if system else "600"
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        return fail(
            "config file",
            f"{path} can be changed by other users ({_mode(mode)}): "
            "they could make password_command run any program as you",
            f"chmod {private} {quoted}",
        )
    if mode & (stat.S_IRGRP | stat.S_IROTH) and not system:
        return warn(
            "config file",
            f"{path} can be read by other users ({_mode(mode)}); it "
            "holds no password, but names your server, login and password command",
            f"chmod 600 {quoted}",
        )
    if system:
        return ok("config file", f"{path} ({_mode(mode)}; the system service reads it)")
    return ok("config file", f"{path} ({_mode(mode)}, only you can read it)")


def _is_system_config(path: Path) -> bool:
    return path.absolute().parent == SYSTEM_CONFIG_DIR


def _mode(mode: int) -> str:
    return f"mode {stat.S_IMODE(mode):04o}"


def check_config(context: Context) -> Result:
    config = load_config(config_path(context))  # a ConfigError is this check's failure
    imap = config.require_imap()
    context.config = config
    delivery = config.summary.delivery
    return ok(
        "config",
        f"valid: IMAP {imap.username} at {imap.host}:{imap.port} "
        f"({imap.security}), summary by {delivery} to {config.summary_recipient()}",
    )


def check_store(context: Context) -> Result:
    path = context.loaded().store_path
    try:
        exists = path.exists()
    except OSError as exc:
        return fail("store", f"{path}: cannot look at it: {exc.strerror}")
    if not exists:
        return _new_store(path)
    if not path.is_file():
        return fail("store", f"{path} is not a file", "set [store] path to a file")
    return store_verdict(path)


def _new_store(path: Path) -> Result:
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return fail(
            "store",
            f"{path} cannot be created: {ancestor} is not writable by you",
            "set [store] path to a place you can write",
        )
    return ok("store", f"{path} does not exist yet; the first sync creates it (mode 0600)")


def store_verdict(path: Path) -> Result:
    """An existing store: a Kithkin database, writable, in a writable directory (SQLite's
    write-ahead log puts its -wal and -shm files beside it), and private."""
    quoted, folder = shlex.quote(str(path)), shlex.quote(str(path.parent))
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError as exc:
        return fail("store", f"{path}: cannot read it: {exc.strerror}", f"chmod u+rw {quoted}")
    if header and not header.startswith(SQLITE_MAGIC):
        return fail(
            "store",
            f"{path} is not a SQLite database; Kithkin will not touch it",
            "move it away, or set [store] path to another file",
        )
    version = int.from_bytes(header[USER_VERSION_AT], "big") if len(header) == 100 else 0
    if version > schema.schema_version():
        return fail(
            "store", f"{path} was written by a newer Kithkin (schema {version})", "upgrade Kithkin"
        )
    if not os.access(path, os.R_OK | os.W_OK):
        return fail("store", f"{path} is not writable by you", f"chmod u+rw {quoted}")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return fail(
            "store",
            f"{path.parent} is not writable by you: SQLite's write-ahead log "
            "needs to create files beside the database",
            f"chmod u+rwx {folder}",
        )
    files = [path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))]
    files = [file for file in files if file.exists()]
    for extra in files[1:]:
        if not os.access(extra, os.R_OK | os.W_OK):
            return fail(
                "store", f"{extra} is not writable by you", f"chmod u+rw {shlex.quote(str(extra))}"
            )
    shared = [file for file in files if file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)]
    if shared:
        return warn(
            "store",
            f"{path} can be read by other users; it holds your contacts and who you write to",
            "chmod 600 " + " ".join(shlex.quote(str(f)) for f in shared),
        )
    size = path.stat().st_size
    return ok("store", f"{path} ({size / 1e6:.1f} MB), writable, and its directory too")
