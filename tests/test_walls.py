"""The walls of the house: who may import whom, read from the source (an import graph).

Each package of `kithkin.daemon` lists the packages it may import; parsers import nothing of
the daemon; the pure core touches no SQL, no socket and no template; the sync engine loads
neither jinja2 nor the summary, even indirectly; and no two modules import each other in a
loop. README's Architecture section says the same in words.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {"kithkin.daemon": ROOT / "daemon", "kithkin.parsers": ROOT / "parsers"}

# Package -> the kithkin packages its modules may import (itself always).
ALLOWED: dict[str, set[str]] = {
    "parsers": set(),
    "daemon.errors": set(),
    "daemon.core": {"parsers", "daemon.errors"},
    "daemon.config": {"daemon.core", "daemon.errors", "parsers"},
    "daemon.store": {"daemon.core", "daemon.errors"},
    "daemon.mail": {"daemon.config", "daemon.core", "daemon.errors", "parsers"},
    "daemon.book": {"daemon.store", "daemon.core", "daemon.errors", "parsers"},
    "daemon.steering": {"daemon.store", "daemon.book", "daemon.config", "daemon.core",
                        "daemon.errors", "parsers"},
    "daemon.sync": {"daemon.mail.records", "daemon.steering", "daemon.store", "daemon.core",
                    "daemon.errors", "parsers"},
    "daemon.suggest": {"daemon.sync", "daemon.mail.records", "daemon.core", "daemon.errors",
                       "parsers"},
    "daemon.summary": {"daemon.mail.delivery", "daemon.mail.credentials", "daemon.steering",
                       "daemon.store", "daemon.config", "daemon.core", "daemon.errors",
                       "parsers"},
    "daemon.sources": {"daemon.store", "daemon.config", "daemon.core", "daemon.errors",
                       "parsers"},
    "daemon.app": {"daemon.store", "daemon.config", "daemon.core"},
    "daemon.doctor": {"daemon.mail", "daemon.config", "daemon.store.schema",
                      "daemon.store.connection", "daemon.sync.engine", "daemon.sync.batches",
                      "daemon.core",
                      "daemon.errors", "parsers"},
    "daemon.calendar": {"daemon.store", "daemon.config", "daemon.core", "daemon.errors",
                        "parsers"},
    "daemon.service": {"daemon.app", "daemon.sync", "daemon.summary", "daemon.mail",
                       "daemon.sources",
                       "daemon.steering", "daemon.store", "daemon.config", "daemon.core",
                       "daemon.errors", "parsers", "daemon.calendar"},
    "daemon.setup": {"daemon.config", "daemon.errors", "parsers"},
    "daemon.cli": {"daemon", "parsers"},
    "daemon": set(),  # the package itself: its version
    "daemon.__main__": {"daemon.cli"},
}  # fmt: skip
# Third-party and standard modules a package must not import.
FORBIDDEN = {
    "parsers": {"sqlite3", "sqlite_utils", "imapclient", "imaplib", "socket", "jinja2", "click"},
    "daemon.core": {"sqlite3", "sqlite_utils", "imapclient", "imaplib", "socket", "jinja2",
                    "click", "smtplib"},
    "daemon.store": {"imapclient", "imaplib", "socket", "jinja2", "click", "smtplib"},
    "daemon.sync": {"sqlite_utils", "imaplib", "socket", "jinja2", "click", "smtplib", "dns"},
    "daemon.steering": {"imaplib", "socket", "jinja2", "click", "smtplib"},
    # Only `kithkin init` looks anything up: the service, the sync and the mail code ask no
    # DNS server and fetch no autoconfig file (nor can they import daemon.setup, above).
    "daemon.service": {"dns", "http", "urllib"},
    "daemon.mail": {"dns", "http", "urllib"},
    # the doctor's network steps are mail/probes.py's: mail/ opens every connection
    "daemon.doctor": {"imaplib", "socket", "ssl", "smtplib", "sqlite3", "jinja2", "click"},
    "daemon.suggest": {"sqlite3", "sqlite_utils", "imaplib", "socket", "jinja2", "click",
                       "smtplib"},
}  # fmt: skip


def modules() -> dict[str, Path]:
    found = {}
    for package, directory in SOURCES.items():
        for path in directory.rglob("*.py"):
            parts = path.relative_to(directory).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


MODULES = modules()


def imports(name: str, path: Path) -> set[str]:
    """Every module `path` imports, as absolute names (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:  # `from package import module` imports that module
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return found


def package_of(name: str) -> str:
    """kithkin.daemon.sync.engine -> daemon.sync; kithkin.daemon.app -> daemon.app."""
    parts = name.removeprefix("kithkin.").split(".")
    if parts[0] == "parsers":
        return "parsers"
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def allowed(importer: str, target: str) -> bool:
    """May a module of package `importer` import kithkin module `target`?"""
    short = target.removeprefix("kithkin.")
    if package_of(target) == importer:
        return True
    return any(short == rule or short.startswith(rule + ".") for rule in ALLOWED[importer])


def test_every_package_has_its_rules() -> None:
    assert {package_of(name) for name in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_stay_within_the_walls(name: str) -> None:
    importer = package_of(name)
    targets = imports(name, MODULES[name])
    inside = {t for t in targets if t.startswith("kithkin.") and t in MODULES}
    crossing = sorted(t for t in inside if not allowed(importer, t))
    assert not crossing, f"{name} ({importer}) may not import {crossing}"
    banned = FORBIDDEN.get(importer, set())
    outside = sorted(t for t in targets if t.split(".")[0] in banned)
    assert not outside, f"{name} ({importer}) may not import {outside}"


def test_no_two_modules_import_each_other_in_a_loop() -> None:
    graph = {
        name: {t for t in imports(name, path) if t in MODULES and t != name}
        for name, path in MODULES.items()
    }
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycle = trail[trail.index(target) :] + [target] if target in trail else [target]
                raise AssertionError("import loop: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_sync_engine_loads_neither_the_summary_nor_jinja2() -> None:
    code = (
        "import sys, kithkin.daemon.sync;"
        "print(sorted(m for m in sys.modules if m == 'jinja2' or "
        "m.startswith('kithkin.daemon.summary') or m == 'kithkin.daemon.mail.session'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert result.stdout.strip() == "[]"


def test_the_service_and_the_sync_load_no_lookup_code() -> None:
    """`kithkin run` and `kithkin sync` (their CLI modules, the service, the engine) load
    neither the autoconfig package nor dnspython, even indirectly: lookups are init's."""
    code = (
        "import sys, kithkin.daemon.cli.service, kithkin.daemon.cli.sync, "
        "kithkin.daemon.service.loop, kithkin.daemon.sync.engine;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'dns' or "
        "m.startswith('kithkin.daemon.setup') or m == 'kithkin.parsers.mailconfig'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert result.stdout.strip() == "[]"
    probe = "import sys, kithkin.daemon.cli.setup; print('kithkin.daemon.setup' in sys.modules)"
    init = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert init.stdout.strip() == "True"  # the probe sees the package where it is loaded


def test_the_walls_test_can_fail() -> None:
    """A made-up crossing is caught (the rules are not vacuous)."""
    assert not allowed("daemon.core", "kithkin.daemon.store.contacts")
    assert not allowed("daemon.sync", "kithkin.daemon.mail.session")
    assert not allowed("parsers", "kithkin.daemon.errors")
    assert allowed("daemon.sync", "kithkin.daemon.mail.records")
    assert not allowed("daemon.service", "kithkin.daemon.setup.discover")
    assert not allowed("daemon.sync", "kithkin.daemon.setup.network")
