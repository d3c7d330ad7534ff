"""The repository layout and both install modes, as the design card fixes them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_top_level_is_exactly_the_design_card() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if tracked.returncode != 0 or not tracked.stdout:
        pytest.skip("not a git checkout")
    top = {line.split("/", 1)[0] for line in tracked.stdout.splitlines()}
    assert top == {
        ".ci", ".gitignore", "daemon", "parsers", "templates", "systemd", "tests",
        "pyproject.toml", "README.md", "Makefile",
    }  # fmt: skip
    assert (ROOT / "tests" / "bench").is_dir()


def _probe(code: str, cwd: Path, extra_path: Path | None = None) -> str:
    env = {"PATH": "/usr/bin:/bin"}
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return result.stdout.strip()


PROBE = (
    "import importlib.util as u, kithkin.daemon, kithkin.parsers;"
    "print(u.find_spec('daemon') is None, u.find_spec('parsers') is None)"
)


def test_the_installed_environment_exposes_only_kithkin(tmp_path: Path) -> None:
    # This test suite runs from `pip install -e .`: check it from a neutral directory.
    assert _probe(PROBE, cwd=tmp_path) == "True True"


def test_a_built_wheel_installs_kithkin_and_nothing_named_daemon_or_parsers(tmp_path) -> None:
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheel_dir), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = wheel_dir.glob("kithkin-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    (data_dir,) = {top for top in tops if top.endswith(".data")}  # data files: the README
    assert {top for top in tops if not top.endswith((".dist-info", ".data"))} == {"kithkin"}
    data = {name for name in names if name.startswith(data_dir + "/")}
    assert data == {f"{data_dir}/data/share/doc/kithkin/README.md"}  # <prefix>/share/doc/...
    for package in ("cli", "config", "core", "mail", "service", "steering", "store", "summary",
                    "sync"):  # fmt: skip
        assert f"kithkin/daemon/{package}/__init__.py" in names
    assert "kithkin/parsers/headers/__init__.py" in names
    assert "kithkin/parsers/contacts/__init__.py" in names
    assert "kithkin/templates/summary.txt.j2" in names
    assert "kithkin/templates/summary.html.j2" in names
    assert not any(name.startswith("kithkin/tests") for name in names)
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    assert _probe(PROBE, cwd=tmp_path, extra_path=target) == "True True"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "kithkin = kithkin.daemon.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_templates_are_found_from_the_package(tmp_path: Path) -> None:
    code = (
        "from kithkin.daemon.summary.environment import template_dir;"
        "print(sorted(p.name for p in template_dir().glob('*.j2')))"
    )
    listed = _probe(code, cwd=tmp_path)
    assert "summary.html.j2" in listed and "summary.txt.j2" in listed
