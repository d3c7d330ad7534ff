"""pymap (pure Python, in-memory) as a test IMAP server, and a pool that starts the next one
while a test runs. Needs only pymap and imapclient, so `make demo` can use it too."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Self

from mailboxes import imap_client
from processes import (
    LOOPBACK,
    Process,
    ServerError,
    end_process_group,
    free_port,
    tail,
    wait_for_port,
)

# pymap hashes passwords with PBKDF2, which makes every LOGIN cost about 0.1 s. Its config
# also accepts pysasl's Cleartext hash (like Dovecot's {PLAIN} scheme): use that when the
# hook exists, and pymap's default otherwise.
_PYMAP_MAIN = """
import pymap.config, pysasl.hashing
if hasattr(pymap.config.IMAPConfig, "_get_hash_context"):
    pymap.config.IMAPConfig._get_hash_context = classmethod(
        lambda cls, passlib_cfg: pysasl.hashing.Cleartext()
    )
from pymap.main import main
main()
"""


class PymapServer:
    """pymap's in-memory `dict` backend in a subprocess: one user, empty INBOX and `Sent`.

    pymap has no SPECIAL-USE, so `Sent` is a plain folder. Its data lives in memory and is
    lost on stop; there is no restart.
    """

    def __init__(self, *, username: str = "kithkin", folders: Iterable[str] = ("Sent",)):
        self.host = LOOPBACK
        self.port = 0
        self.username = username
        self.password = secrets.token_urlsafe(18)
        self.folders = tuple(folders)
        self.directory = Path(tempfile.mkdtemp(prefix="kithkin-pymap-"))
        self.log_file = self.directory / "pymap.log"
        self._proc: Process | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if not self.running:
            self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Launch the process on a fresh port without waiting for it (see `wait_ready`)."""
        self.port = free_port()
        # Arguments go through pymap's "@file" support so the password is not in `ps`.
        args_file = self.directory / "args"
        args_file.touch(mode=0o600)
        args = [f"--host={self.host}", f"--port={self.port}", "--no-tls", "dict"]
        args += [f"--demo-user={self.username}", f"--demo-password={self.password}"]
        args_file.write_text("\n".join(args) + "\n")
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _PYMAP_MAIN, f"@{args_file}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self) -> None:
        """Wait for the greeting (respawning if the port was taken), then create `folders`."""
        for attempt in range(3):
            proc = self._proc
            assert proc is not None, "spawn() first"
            try:
                wait_for_port(
                    self.host,
                    self.port,
                    expect=b"* OK",
                    alive=lambda: proc.poll() is None,  # noqa: B023 (called within the loop)
                    what="pymap",
                )
                break
            except ServerError as exc:
                self.stop()
                if "address already in use" not in tail(self.log_file).lower() or attempt == 2:
                    raise ServerError(f"{exc}\n--- pymap log ---\n{tail(self.log_file)}") from exc
                self.spawn()
        with imap_client(self) as client:
            existing = {name for _flags, _delimiter, name in client.list_folders()}
            for folder in self.folders:
                if folder not in existing:
                    client.create_folder(folder)

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
        end_process_group(proc)
        self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PymapServer {self.host}:{self.port} user={self.username}>"


class PymapPool:
    """Hands out started PymapServers and launches the next one at once, so a test does not
    wait for pymap's start-up (about a third of a second, mostly imports) while the previous
    test ran long enough to cover it."""

    def __init__(self) -> None:
        self._next: PymapServer | None = None

    def take(self) -> PymapServer:
        server, self._next = self._next, None
        if server is None:
            server = PymapServer()
            server.spawn()
        try:
            server.wait_ready()
        except BaseException:
            server.close()
            raise
        self._next = PymapServer()
        self._next.spawn()
        return server

    def close(self) -> None:
        if self._next is not None:
            self._next.close()
            self._next = None
