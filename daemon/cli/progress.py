"""Progress of a sync, shown to a person: a bar per folder on a terminal, plain lines in a log
or a pipe."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from kithkin.parsers.text import clean_line

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar  # click.progressbar()'s type, named nowhere public


class TerminalProgress:
    """A progress bar per folder, with counts, for a person watching a terminal."""

    def __init__(self, counted: str = "logged") -> None:
        self.bar: ProgressBar[int] | None = None
        self.logged = 0
        self.counted = counted  # what the second count is: "logged", "counted"

    def folder(self, name: str, total: int) -> None:
        self.close()
        self.logged = 0
        self.bar = click.progressbar(
            length=max(total, 1),
            label=f"{clean_line(name):<16}",
            file=sys.stderr,
            show_pos=True,
            item_show_func=lambda _: f"{self.logged} {self.counted}",
        )
        self.bar.__enter__()

    def advance(self, messages: int, logged: int) -> None:
        self.logged += logged
        if self.bar is not None:
            self.bar.update(messages, current_item=self.logged)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class LineProgress:
    """Plain lines, about one per tenth of a folder, for logs and pipes."""

    def __init__(self, counted: str = "logged") -> None:
        self.name, self.total, self.done, self.logged, self.next_report = "", 0, 0, 0, 0
        self.counted = counted

    def folder(self, name: str, total: int) -> None:
        self.name, self.total, self.done, self.logged = clean_line(name), total, 0, 0
        self.next_report = max(total // 10, 1)
        if total:
            click.echo(f"{self.name}: {total} message(s) to read", err=True)

    def advance(self, messages: int, logged: int) -> None:
        self.done += messages
        self.logged += logged
        if self.done >= self.next_report or self.done >= self.total:
            click.echo(
                f"{self.name}: {self.done}/{self.total} read, {self.logged} {self.counted}",
                err=True,
            )
            self.next_report = self.done + max(self.total // 10, 1)

    def close(self) -> None:
        pass
