"""The command line loads each command's module only when that command runs: the table that
says which module holds which command must name every command the modules register."""

from __future__ import annotations

import importlib
import subprocess
import sys

import click

from kithkin.daemon.cli import COMMANDS


def test_the_table_names_exactly_the_commands_each_module_registers() -> None:
    for module in set(COMMANDS.values()):
        group = click.Group()
        importlib.import_module(f"kithkin.daemon.cli.{module}").register(group)
        assert {name for name, owner in COMMANDS.items() if owner == module} == set(group.commands)


def test_a_sync_does_not_load_the_summary_or_jinja2() -> None:
    code = (
        "import sys; from kithkin.daemon.cli import cli; cli.get_command(None, 'sync'); "
        "print(sorted(m for m in sys.modules if m == 'jinja2' or '.summary' in m))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_lists_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "kithkin.daemon", "--help"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    listed = out.split("Commands:", 1)[1]
    assert all(f"  {name} " in listed for name in COMMANDS)
