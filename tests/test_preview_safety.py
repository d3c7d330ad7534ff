"""`kithkin summary --preview DIR` where other users can write (a /tmp-like directory, a
group-writable one, one owned by someone else): nothing is written into DIR itself, a fresh
0700 directory inside it holds the preview, and links or files an attacker planted at the
final names or at guessable temporary names are never followed, written or truncated.

The summary names a contact; afterwards that name is in no file outside the private
directory (and the store). Runs in-process, so the process id Kithkin once used in its
temporary names is the test's own, and an attacker's guess is exact.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from kithkin.daemon.cli.files import write_private

NAME = "Zebulon Quarkwright"  # in the summary; distinctive enough for a byte search
FILES = ("summary.eml", "summary.html", "summary.txt")
PREFIX = "kithkin-preview-"
KITHKIN = [sys.executable, "-m", "kithkin.daemon"]
PRECIOUS = b"the victim's own file, never to be touched\n"


@dataclass
class Scene:
    """A config with one fading contact, an attacker's readable file and a victim's file."""

    root: Path
    config: Path
    victim: Path  # must never be written or truncated
    loot: Path  # readable by the attacker: the summary must never land in it

    def preview(self, run_cli, directory: Path):
        return run_cli("--config", str(self.config), "summary", "--preview", str(directory),
                       "--as-of", "2026-11-23")  # fmt: skip

    def targets(self) -> dict[Path, bytes]:
        return {path: path.read_bytes() for path in (self.victim, self.loot)}


@pytest.fixture
def scene(tmp_path: Path, run_cli) -> Scene:
    config = tmp_path / "k" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        f'[me]\naddresses = ["me@home.example"]\n[store]\npath = "{tmp_path / "k" / "k.db"}"\n'
    )
    for args in (["contacts", "add", NAME, "--email", "zq@example.org"],
                 ["log", NAME, "--date", "2026-01-01"]):  # fmt: skip
        assert run_cli("--config", str(config), *args).exit_code == 0
    victim = tmp_path / "victim" / "precious.txt"
    loot = tmp_path / "attacker" / "loot.txt"
    for path in (victim, loot):
        path.parent.mkdir()
        path.write_bytes(PRECIOUS)
    loot.chmod(0o644)
    as_attacker(loot.parent, loot)
    return Scene(tmp_path, config, victim, loot)


def as_attacker(*paths: Path) -> None:
    """Hand `paths` to `nobody` when we can (as root); otherwise they stay ours."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in paths:
            os.chown(path, nobody.pw_uid, nobody.pw_gid, follow_symlinks=False)


def old_temporary_names() -> list[str]:
    """The names Kithkin's temporary files used to have: guessable from the process id."""
    return [f".{name}.tmp{os.getpid()}" for name in FILES]


def plant(directory: Path, scene: Scene) -> dict[Path, str]:
    """Symlinks at every final and guessable temporary name (to the victim's file and to
    the attacker's readable one) and one pre-created temporary file; {path: what it is}."""
    temporaries = old_temporary_names()
    links = {
        directory / "summary.txt": scene.victim,
        directory / "summary.html": scene.loot,
        directory / "summary.eml": scene.victim,
        directory / temporaries[0]: scene.loot,
        directory / temporaries[2]: scene.victim,
    }
    for link, target in links.items():
        link.symlink_to(target)
    planted = {link: f"link -> {target}" for link, target in links.items()}
    precreated = directory / temporaries[1]
    precreated.write_bytes(b"")
    precreated.chmod(0o666)
    as_attacker(*links, precreated)
    planted[precreated] = "file: b''"
    return planted


def inventory(directory: Path) -> dict[Path, str]:
    found = {}
    for path in directory.iterdir():
        if path.is_symlink():
            found[path] = f"link -> {os.readlink(path)}"
        elif path.is_file():
            found[path] = f"file: {path.read_bytes()!r}"
    return found


def files_holding_the_summary(root: Path, *, allowed: Path | None = None) -> list[Path]:
    """Regular files under `root` (not following links) that contain the contact's name,
    leaving out the store and `allowed` (the private directory)."""
    found = []
    for directory, subdirectories, names in os.walk(root):
        if allowed is not None and Path(directory) == allowed:
            subdirectories.clear()
            continue
        for name in names:
            path = Path(directory, name)
            if path.name.startswith("k.db") or not stat.S_ISREG(path.lstat().st_mode):
                continue
            if NAME.encode() in path.read_bytes():
                found.append(path)
    return found


def private_directory_in(shared: Path, stdout: str) -> Path:
    """The one fresh `kithkin-preview-*` directory in `shared`, as the output names it."""
    made = [p for p in shared.iterdir() if p.name.startswith(PREFIX)]
    assert len(made) == 1, sorted(p.name for p in shared.iterdir())
    private = made[0]
    message = f"{shared} is shared with other users; wrote the preview into {private}/"
    assert message in stdout
    info = private.lstat()
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert sorted(p.name for p in private.iterdir()) == list(FILES)
    assert {stat.S_IMODE(p.lstat().st_mode) for p in private.iterdir()} == {0o600}
    assert NAME in (private / "summary.txt").read_text()
    assert f"HTML preview: {private / 'summary.html'}" in stdout
    return private


def shared_directory(scene: Scene, kind: str) -> Path:
    directory = scene.root / kind
    directory.mkdir()
    if kind == "sticky-world-writable":
        directory.chmod(0o1777)
    elif kind == "group-writable":
        directory.chmod(0o770)
    elif kind == "someone-elses":
        if os.geteuid() != 0:
            pytest.skip("only root can give a directory to another user")
        directory.chmod(0o755)
        as_attacker(directory)
    return directory


@pytest.mark.parametrize("kind", ["sticky-world-writable", "group-writable", "someone-elses"])
def test_a_shared_directory_gets_a_private_one_and_planted_names_are_left_alone(
    scene: Scene, run_cli, kind: str
) -> None:
    shared = shared_directory(scene, kind)
    planted = plant(shared, scene)
    targets = scene.targets()
    result = scene.preview(run_cli, shared)
    assert result.exit_code == 0, result.output
    private = private_directory_in(shared, result.stdout)
    assert inventory(shared) == planted
    assert scene.targets() == targets
    assert files_holding_the_summary(scene.root, allowed=private) == []


def test_in_your_own_directory_links_at_guessable_temporary_names_are_not_followed(
    scene: Scene, run_cli
) -> None:
    """DIR private to you, but with links left at the names temporary files once had: the
    preview is written into DIR itself and the links' targets stay as they were."""
    own = scene.root / "own"
    own.mkdir(mode=0o700)
    temporaries = old_temporary_names()
    for name, target in zip(temporaries, (scene.victim, scene.loot, scene.victim), strict=True):
        (own / name).symlink_to(target)
    targets = scene.targets()
    result = scene.preview(run_cli, own)
    assert result.exit_code == 0, result.output
    assert "shared" not in result.stdout
    assert scene.targets() == targets
    assert all((own / name).is_symlink() for name in temporaries)
    for name in FILES:
        info = (own / name).lstat()
        assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600
    assert files_holding_the_summary(scene.root, allowed=own) == []


def test_a_missing_directory_is_made_private_even_inside_a_shared_one(
    scene: Scene, run_cli
) -> None:
    shared = shared_directory(scene, "sticky-world-writable")
    new = shared / "new" / "preview"
    result = scene.preview(run_cli, new)
    assert result.exit_code == 0, result.output
    assert "shared" not in result.stdout
    assert stat.S_IMODE(new.stat().st_mode) == 0o700
    assert sorted(p.name for p in new.iterdir()) == list(FILES)


def test_a_symlink_given_as_the_directory_is_refused(scene: Scene, run_cli) -> None:
    """/tmp/preview planted as a link into someone's home: not followed, one line."""
    shared = shared_directory(scene, "sticky-world-writable")
    elsewhere = scene.root / "victim"
    link = shared / "preview"
    link.symlink_to(elsewhere, target_is_directory=True)
    before = inventory(elsewhere)
    result = scene.preview(run_cli, link)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(link) in lines[0] and "symbolic link" in lines[0]
    assert inventory(elsewhere) == before
    assert NAME not in result.stdout


def without_dac_override(argv: list[str]) -> list[str]:
    """`argv` so that permission bits apply to it, even as root (or skip)."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    drop = ["--bounding-set", "-dac_override,-dac_read_search"]
    if setpriv is None or subprocess.run([setpriv, *drop, "true"], check=False).returncode:
        pytest.skip("running as root, and setpriv cannot drop CAP_DAC_OVERRIDE here")
    return [setpriv, *drop, *argv]


def test_a_shared_directory_without_room_for_a_private_one_is_one_line(
    scene: Scene, kithkin_home: Path
) -> None:
    """Group-writable but not writable by you: no private directory can be made in it, so
    one line, a non-zero exit, and nothing written, nothing shown."""
    shared = scene.root / "no-room"
    shared.mkdir()
    shared.chmod(0o575)
    argv = [*KITHKIN, "--config", str(scene.config), "summary", "--preview", str(shared)]
    done = subprocess.run(
        without_dac_override(argv), capture_output=True, text=True, check=False,
        stdin=subprocess.DEVNULL, env=dict(os.environ), timeout=120,
    )  # fmt: skip
    shared.chmod(0o700)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kithkin: error:"), done.stderr
    assert str(shared) in lines[0] and "shared with other users" in lines[0]
    assert list(shared.iterdir()) == []
    assert NAME not in done.stdout


def test_write_private_replaces_a_link_at_its_name_without_following_it(tmp_path: Path) -> None:
    """What `kithkin init` relies on: a link at the final name is replaced, not written
    through; the file is 0600 whatever the umask."""
    target = tmp_path / "target"
    target.write_bytes(PRECIOUS)
    (tmp_path / "dir").mkdir()
    path = tmp_path / "dir" / "config.toml"
    path.symlink_to(target)
    previous = os.umask(0)
    try:
        write_private(path, "new = 1\n")
    finally:
        os.umask(previous)
    assert target.read_bytes() == PRECIOUS
    assert not path.is_symlink() and path.read_text() == "new = 1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]


def test_write_private_follows_a_directory_that_is_a_symlink(tmp_path: Path) -> None:
    """A config directory kept with one's dotfiles (stow) is a symlink: `init` still works."""
    real = tmp_path / "dotfiles" / "kithkin"
    real.mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "kithkin").symlink_to(real, target_is_directory=True)
    write_private(tmp_path / "config" / "kithkin" / "config.toml", "a = 1\n")
    assert (real / "config.toml").read_text() == "a = 1\n"
