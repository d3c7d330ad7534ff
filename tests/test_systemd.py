"""The unit files, checked by systemd's own tools where they exist."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parent.parent / "systemd"
KITHKIN = Path(sys.executable).parent / "kithkin"

analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def installed_copy(unit: str, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's `kithkin`, as an install would."""
    text = (UNITS / unit).read_text()
    text = text.replace("/opt/kithkin/bin/kithkin", str(KITHKIN))
    text = text.replace("%h/.local/bin/kithkin", str(KITHKIN))
    path = tmp_path / unit
    path.write_text(text)
    return path


@analyze
def test_system_unit_exposure_is_at_most_1_5(tmp_path: Path) -> None:
    unit = installed_copy("kithkin.service", tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--threshold=15", str(unit)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 1.5, result.stdout
    assert result.returncode == 0


@analyze
@pytest.mark.parametrize("unit", ["kithkin.service", "kithkin-user.service"])
def test_units_verify_cleanly(tmp_path: Path, unit: str) -> None:
    path = installed_copy(unit, tmp_path)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    args = ["systemd-analyze", "verify", str(path)]
    if unit == "kithkin-user.service":
        args.insert(2, "--user")
    result = subprocess.run(
        args, capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(runtime)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_the_system_unit_keeps_what_the_daemon_needs() -> None:
    text = (UNITS / "kithkin.service").read_text()
    for line in ("Type=notify", "DynamicUser=yes", "StateDirectory=kithkin",
                 "ConfigurationDirectory=kithkin", "LoadCredential=imap-password:",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "ExecReload=",
                 "WatchdogSec="):  # fmt: skip
        assert line in text, line
    assert "PrivateNetwork=yes" not in text
