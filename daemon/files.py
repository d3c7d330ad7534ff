"""Files Kithkin writes: private (0600 in a 0700 directory), replaced atomically."""

from __future__ import annotations

import os
from pathlib import Path

from kithkin.daemon.errors import UsageError


def write_private(path: Path, content: str | bytes) -> None:
    """Write `content` to `path` atomically with mode 0600, creating a 0700 directory."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise UsageError(f"{path}: cannot write: {exc.strerror or exc}") from None
