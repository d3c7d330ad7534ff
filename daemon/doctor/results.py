"""What one check says: a name, a status, one line of message and, where something is to be
changed, one line of advice. Every line is clean text (no control character, no escape
sequence): messages can hold what a server said (a folder's name, a refusal)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from kithkin.parsers.text import clean_line

Status = Literal["ok", "warn", "fail", "skip", "info"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail", "skip", "info")
MAX_LINE = 1000  # characters of a message or hint at most


@dataclass(frozen=True)
class Result:
    """One check's verdict. `fail`: Kithkin will not work until it is fixed; `warn`: it works,
    but something should change; `info`: worth knowing, nothing to change; `skip`: not
    checked, because a check it needs failed."""

    name: str
    status: Status
    message: str
    hint: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", clean_line(self.message)[:MAX_LINE])
        if self.hint is not None:
            object.__setattr__(self, "hint", clean_line(self.hint)[:MAX_LINE] or None)

    def as_json(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "hint": self.hint,
        }


def ok(name: str, message: str) -> Result:
    return Result(name, "ok", message)


def info(name: str, message: str, hint: str | None = None) -> Result:
    return Result(name, "info", message, hint)


def warn(name: str, message: str, hint: str | None = None) -> Result:
    return Result(name, "warn", message, hint)


def fail(name: str, message: str, hint: str | None = None) -> Result:
    return Result(name, "fail", message, hint)


def skipped(name: str, needs: str) -> Result:
    return Result(name, "skip", f"skipped: needs {needs}")


WARNED = 3  # works, but something is to change: not "all is well"


def exit_code(results: Iterable[Result]) -> int:
    """0 only when all is well (notes allowed); 1 when something failed; else WARNED, when a
    check warned. A check is only skipped because another failed, so a skip never stands
    alone."""
    statuses = {result.status for result in results}
    return 1 if "fail" in statuses else WARNED if "warn" in statuses else 0
