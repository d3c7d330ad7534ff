"""`make demo` (tests/demo.py), run as `make demo` runs it: its files are private, and it
leaves nothing behind in the temporary directory but keeps the summary's preview."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).parent / "demo.py"


def run_demo(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """The demo with a temporary directory and an artifacts directory of its own."""
    temporary, artifacts = tmp_path / "tmp", tmp_path / "artifacts"
    temporary.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(temporary),
        "KITHKIN_ARTIFACTS": str(artifacts),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    result = subprocess.run([sys.executable, str(DEMO), *args], env=env, capture_output=True,
                            text=True, timeout=600, check=False)  # fmt: skip
    return result, temporary, artifacts


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_demo_leaves_nothing_behind_but_its_preview(tmp_path: Path) -> None:
    result, temporary, artifacts = run_demo(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "People in the summary: 7, each once" in result.stdout
    assert "Strangers and newsletters in the database: none" in result.stdout
    assert list(temporary.iterdir()) == []  # neither the demo's files nor pymap's
    preview = artifacts / "demo"
    assert f"HTML preview: {preview / 'summary.html'}" in result.stdout
    assert sorted(path.name for path in preview.iterdir()) == [
        "summary.eml", "summary.html", "summary.txt",
    ]  # fmt: skip
    assert mode(preview) == 0o700 and mode(preview / "summary.html") == 0o600


def test_kept_demo_files_are_private(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    result, temporary, _artifacts = run_demo(tmp_path, "--keep", str(kept))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Everything is in {kept} (config.toml, kithkin.db, preview/)." in result.stdout
    assert list(temporary.iterdir()) == []
    assert mode(kept) == 0o700
    for name in ("config.toml", "password", "contacts.vcf", "kithkin.db"):
        assert mode(kept / name) == 0o600, name
    assert 'password_command = ["cat", ' in (kept / "config.toml").read_text()


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask 022", "umask 000"])
def test_the_demo_files_are_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    from demo import write_private

    old = os.umask(umask)
    try:
        write_private(tmp_path / "config.toml", "[imap]\n")
    finally:
        os.umask(old)
    assert mode(tmp_path / "config.toml") == 0o600


def test_keep_refuses_an_existing_directory(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("not the demo's")
    result, temporary, _artifacts = run_demo(tmp_path, "--keep", str(kept))
    assert result.returncode == 2
    assert "--keep needs a new directory" in result.stderr
    assert [path.name for path in kept.iterdir()] == ["mine.txt"]
    assert list(temporary.iterdir()) == []
