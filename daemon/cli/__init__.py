"""`kithkin`: the command line. Each command parses, calls one function, and prints.

    setup.py, contacts.py, sync.py, people.py, report.py, service.py, suggest.py
                                       the command groups
    output.py, progress.py, files.py   what is printed and written, made safe

Every failure a user can fix arrives here as a `KithkinError` and leaves as one line on
stderr with a non-zero exit status; anything else is a bug, and one line too. The only
package that prints; it may import every other.
"""

from __future__ import annotations

import importlib
import logging
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any, ClassVar

import click

from kithkin.daemon import __version__
from kithkin.daemon.app import App, utc_now
from kithkin.daemon.errors import KithkinError, StoreError, frames, unexpected
from kithkin.daemon.store import database_failure
from kithkin.parsers.text import clean_line, printable

log = logging.getLogger("kithkin")


# Each command's module, imported only when that command runs (or help lists them all): a
# `kithkin sync` does not load the summary's templates, nor `kithkin report` the IMAP session.
COMMANDS = {
    "init": "setup", "credentials": "setup", "contacts": "contacts", "sync": "sync",
    "interactions": "sync", "log": "people", "unlog": "people", "note": "people",
    "show": "people", "report": "report", "summary": "report", "run": "service",
    "status": "service", "doctor": "doctor", "suggest": "suggest", "calendar": "calendar",
}  # fmt: skip


class KithkinGroup(click.Group):
    """Loads commands when asked for; turns known errors into one line and an exit status."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(f"kithkin.daemon.cli.{module}").register(self)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KithkinError as exc:
            fail(str(exc), exc.exit_code)
        except sqlite3.DatabaseError as exc:
            store = ctx.obj._store if isinstance(ctx.obj, App) else None
            fail(str(database_failure(exc, store.path if store else None)), StoreError.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: usage errors, --help, Ctrl-C at a prompt
        except Exception as exc:  # noqa: BLE001 - a bug: one line, never the exception's text
            log.debug("%s at:\n%s", type(exc).__name__, frames(exc))
            fail(f"{unexpected(exc)} (a bug in Kithkin; `-vv` shows where)", 1)
        finally:
            if isinstance(ctx.obj, App):
                ctx.obj.close()


def fail(message: str, code: int) -> None:
    click.echo(f"kithkin: error: {clean_line(message)}", err=True)
    sys.exit(code)


# `kithkin run` logs at INFO without -v: a start line and each poll that did something. Its
# every-poll lines go to this logger, heard from -v on (service/logbook.py logs to it).
SERVICE_DETAIL = "kithkin.service.detail"


def setup_logging(verbose: int, *, service: bool = False) -> None:
    quiet = logging.INFO if service else logging.WARNING
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else quiet
    detail = logging.WARNING if service and not verbose else logging.NOTSET
    logging.getLogger(SERVICE_DETAIL).setLevel(detail)
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"):
        handler.setFormatter(JournalFormatter())  # journald adds its own timestamps
    else:
        handler.setFormatter(
            SafeFormatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
        )
    root = logging.getLogger("kithkin")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class SafeFormatter(logging.Formatter):
    """Log lines hold text from mail servers and stored mail: no control character or
    escape sequence of it reaches the terminal or the journal."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


class JournalFormatter(SafeFormatter):
    """`<N>message`: journald reads the syslog priority from the prefix."""

    PRIORITY: ClassVar[dict[int, int]] = {
        logging.DEBUG: 7,
        logging.INFO: 6,
        logging.WARNING: 4,
        logging.ERROR: 3,
        logging.CRITICAL: 2,
    }

    def format(self, record: logging.LogRecord) -> str:
        return f"<{self.PRIORITY.get(record.levelno, 6)}>{super().format(record)}"


@click.group(cls=KithkinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=True, readable=False),
    envvar="KITHKIN_CONFIG",
    show_envvar=True,
    help="Config file. Default: $XDG_CONFIG_HOME/kithkin/config.toml.",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More log output: -v what each step did (`run`: every poll), -vv debug lines too.",
)
@click.version_option(__version__, prog_name="kithkin")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """Kithkin keeps up with the people you care about.

    It reads your own mailbox (read-only), logs the mail you exchange with the people in its
    contact book, and tells you once a week who you have not written to for longer than usual.

    \b
    Start here:
      kithkin init                      write a config file
      kithkin contacts add "Ada Lovelace" --email ada@example.org --every 30d
      kithkin contacts import contacts.vcf
      kithkin sync                      log your mail with them
      kithkin report                    who is fading, who waits for a reply
    """
    setup_logging(verbose, service=ctx.invoked_subcommand == "run")
    # A caller may hand in the clock as the context object (tests: `invoke(..., obj=clock)`).
    clock = ctx.obj if callable(ctx.obj) else utc_now
    ctx.obj = App(config_path=config_path, clock=clock)


def main() -> None:
    cli(prog_name="kithkin")
