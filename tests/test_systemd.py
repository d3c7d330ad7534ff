"""The unit files, checked by systemd's own tools where they exist."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import missing_tool

UNITS = Path(__file__).resolve().parent.parent / "systemd"
KITHKIN = Path(sys.executable).parent / "kithkin"

ROOT = UNITS.parent


@pytest.fixture
def analyze() -> None:
    """systemd-analyze, or a skip (a failure where CI sets KITHKIN_REQUIRE_SYSTEMD=1)."""
    if shutil.which("systemd-analyze") is None:
        missing_tool("systemd-analyze not installed (apt-get install systemd)",
                     "KITHKIN_REQUIRE_SYSTEMD")  # fmt: skip


def installed_copy(unit: str, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this environment's `kithkin`, as an install would."""
    text = (UNITS / unit).read_text()
    text = text.replace("/opt/kithkin/bin/kithkin", str(KITHKIN))
    text = text.replace("%h/.local/bin/kithkin", str(KITHKIN))
    path = tmp_path / unit
    path.write_text(text)
    return path


def manager_env(tmp_path: Path) -> dict[str, str]:
    """What `systemd-analyze --user` needs to stand in for a user manager."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(runtime)}


def stated_exposure() -> dict[tuple[str, str], tuple[float, float]]:
    """README's table of exposure levels: (unit, how measured) -> (before, now)."""
    rows = re.findall(r"^\| `(kithkin[\w-]*\.service)` \| ([^|]+?) \| (\d+\.\d) \| (\d+\.\d) \|$",
                      (ROOT / "README.md").read_text(), re.MULTILINE)  # fmt: skip
    return {(unit, how): (float(before), float(now)) for unit, how, before, now in rows}


MEASURED = [  # (unit, how README names the measurement, extra systemd-analyze arguments)
    ("kithkin.service", "system manager", []),
    ("kithkin-user.service", "user manager (`--user`)", ["--user"]),
    ("kithkin-user.service", "read as a system unit", []),
]


def test_readme_states_every_measured_exposure() -> None:
    assert set(stated_exposure()) == {(unit, how) for unit, how, _ in MEASURED}


@pytest.mark.parametrize(("unit", "how", "extra"), MEASURED)
def test_exposure_is_at_most_what_readme_states(
    analyze: None, tmp_path: Path, unit: str, how: str, extra: list[str]
) -> None:
    _, stated = stated_exposure()[(unit, how)]
    path = installed_copy(unit, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "security", *extra, "--offline=true", "--threshold=100", str(path)],
        capture_output=True, text=True, check=False, env=manager_env(tmp_path),
    )  # fmt: skip
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= stated, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("unit", ["kithkin.service", "kithkin-user.service"])
def test_units_verify_cleanly(analyze: None, tmp_path: Path, unit: str) -> None:
    path = installed_copy(unit, tmp_path)
    args = ["systemd-analyze", "verify", str(path)]
    if unit == "kithkin-user.service":
        args.insert(2, "--user")
    result = subprocess.run(
        args, capture_output=True, text=True, check=False, env=manager_env(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_the_user_unit_holds_only_what_a_user_manager_can_apply() -> None:
    lines = set((UNITS / "kithkin-user.service").read_text().splitlines())
    for line in ("NoNewPrivileges=yes", "PrivateUsers=yes", "ProtectSystem=strict",
                 "ProtectHome=read-only", "ReadWritePaths=%h/.local/share/kithkin",
                 "PrivateTmp=yes", "PrivateDevices=yes", "ProtectClock=yes",
                 "ProtectKernelTunables=yes", "ProtectKernelModules=yes",
                 "ProtectKernelLogs=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
                 "RestrictNamespaces=yes", "RestrictRealtime=yes", "LockPersonality=yes",
                 "MemoryDenyWriteExecute=yes", "SystemCallFilter=@system-service"):  # fmt: skip
        assert line in lines, line
    # A user manager fails the start on these (218/CAPABILITIES) or cannot apply them.
    for key in ("CapabilityBoundingSet=", "AmbientCapabilities=", "ProtectControlGroups=",
                "ProtectProc=", "ProcSubset=", "RemoveIPC=", "DynamicUser=", "User=",
                "IPAddressDeny=", "PrivateNetwork="):  # fmt: skip
        assert not any(line.startswith(key) for line in lines), key


def test_the_system_unit_keeps_what_the_daemon_needs() -> None:
    text = (UNITS / "kithkin.service").read_text()
    for line in ("Type=notify", "DynamicUser=yes", "StateDirectory=kithkin",
                 "ConfigurationDirectory=kithkin", "LoadCredential=imap-password:",
                 "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "ExecReload=",
                 "WatchdogSec="):  # fmt: skip
        assert line in text, line
    assert "PrivateNetwork=yes" not in text


# --- Documentation=: the README where `pip install` puts it ------------------------------------

README_PATH = "share/doc/kithkin/README.md"  # under the install prefix: the venv, for pip


def unit_values(unit: str, key: str) -> list[str]:
    lines = (UNITS / unit).read_text().splitlines()
    return [
        word
        for line in lines
        if line.startswith(f"{key}=")
        for word in line[len(key) + 1 :].split()
    ]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This tree built as a wheel and installed under a fresh prefix, as pip does into a
    venv (its data files go to <prefix>/share)."""
    root = UNITS.parent
    work = tmp_path_factory.mktemp("install")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(work / "wheel"), str(root)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (work / "wheel").glob("kithkin-*.whl")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--ignore-installed",  # else pip uninstalls this environment's kithkin first
         "--prefix", str(work / "prefix"), str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return work / "prefix"


def test_the_system_unit_documents_the_readme_of_its_own_install(installed: Path) -> None:
    (start,) = [word for word in unit_values("kithkin.service", "ExecStart") if "/bin/" in word]
    prefix = start.removesuffix("/bin/kithkin")
    assert unit_values("kithkin.service", "Documentation") == [f"file://{prefix}/{README_PATH}"]
    assert (installed / "bin" / "kithkin").is_file()  # ExecStart= under the prefix...
    readme = installed / README_PATH  # ...and Documentation= beside it
    assert readme.read_text() == (UNITS.parent / "README.md").read_text()


def test_the_user_unit_documents_the_readme_of_a_pipx_install(installed: Path) -> None:
    pipx_venvs = ["%h/.local/share/pipx/venvs/kithkin", "%h/.local/pipx/venvs/kithkin"]
    assert unit_values("kithkin-user.service", "Documentation") == [
        f"file://{venv}/{README_PATH}" for venv in pipx_venvs
    ]
    assert (installed / README_PATH).is_file()  # a pipx venv is the prefix pip installs into


def test_documentation_links_are_files_or_the_projects_own_urls() -> None:
    import tomllib

    project = tomllib.loads((UNITS.parent / "pyproject.toml").read_text())["project"]
    urls = set(project.get("urls", {}).values())
    for unit in ("kithkin.service", "kithkin-user.service"):
        for link in unit_values(unit, "Documentation"):
            assert link.startswith(("file:///", "file://%h/")) or link in urls
            assert not link.startswith("man:")  # no man page is installed
