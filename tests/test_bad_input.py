"""Bad input everywhere but mail: contact files, config files, database files, a read-only
store and a full disk. Each goes through the real CLI and must give one clear line on stderr
(no traceback), a non-zero exit status, and leave the data already there as it was.

Root ignores permission bits, so "read-only" and "unreadable" are made real here with a
read-only bind mount, `chattr +i`, or by dropping CAP_DAC_OVERRIDE; "disk full" is a small
tmpfs in a private mount namespace (`unshare -m`), and "file too large" is RLIMIT_FSIZE.
Each case skips, with its reason, where the sandbox does not allow its mechanism.
"""

from __future__ import annotations

import hashlib
import os
import random
import resource
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Protocol

import pytest
from helpers import ME, CliResult, write_config
from mailbuilder import make_message
from servers import DovecotServer, free_port, imap_client

from kithkin.daemon.core.records import Interaction
from kithkin.daemon.store import Store, schema

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KITHKIN = [sys.executable, "-m", "kithkin.daemon"]
TRACEBACK = "Traceback (most recent call last)"


# --- running the CLI -------------------------------------------------------------------------


def run_subprocess(
    argv: list[str], env: dict[str, str], preexec: Callable[[], None] | None = None
) -> CliResult:
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, errors="replace", check=False,
        stdin=subprocess.DEVNULL, preexec_fn=preexec, timeout=300,
    )  # fmt: skip
    return CliResult(done.returncode, done.stdout, done.stderr)


class Outcome(Protocol):
    """A finished CLI run: `CliResult` here, or conftest's `CliResult` from `run_cli`."""

    exit_code: int
    stdout: str
    stderr: str


def assert_one_line_error(result: Outcome, *fragments: str, code: int | None = None) -> str:
    """Non-zero exit (or exactly `code`), no traceback, and exactly one line on stderr."""
    assert result.exit_code != 0, result
    if code is not None:
        assert result.exit_code == code, result
    assert TRACEBACK not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- a home with a populated store -----------------------------------------------------------


@dataclass
class Home:
    """A config (IMAP at a closed port: nothing here needs a server) and a store holding
    two contacts and forty interactions."""

    directory: Path
    config: Path
    store: Path
    env: dict[str, str]

    def cli(self, *args: str, preexec: Callable[[], None] | None = None) -> CliResult:
        return run_subprocess([*KITHKIN, "--config", str(self.config), *args], self.env, preexec)


def populate(store_path: Path) -> None:
    with Store.open(store_path) as store:
        with store.atomic():
            ada = store.contacts.add("Ada Lovelace", ["ada@example.org"], every_days=30, now=NOW)
        with store.atomic():
            grace = store.contacts.add(
                "Grace Hopper", ["grace@bücher.example"], tags=["navy"], now=NOW
            )
        rows = [
            Interaction(
                contact_id=(ada, grace)[n % 2],
                direction=("in", "out")[n % 3 % 2],
                date=NOW - timedelta(days=n),
                message_key=f"<m{n}@example.org>",
                message_id=f"m{n}@example.org",
                subject=f"subject {n} Grüße",
            )
            for n in range(40)
        ]
        with store.atomic():
            store.interactions.add(rows)


def cli_env(home: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
    }
    for name in ("KITHKIN_CONFIG", "CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET"):
        env.pop(name, None)
    return env


@pytest.fixture
def home(tmp_path: Path, kithkin_home: Path) -> Home:
    dummy = SimpleNamespace(host="127.0.0.1", port=free_port(), username="me", password="unused")
    config = write_config(tmp_path / "k", dummy)
    store = tmp_path / "k" / "kithkin.db"
    populate(store)
    return Home(tmp_path / "k", config, store, cli_env(kithkin_home))


def fingerprint(store: Path) -> dict[str, str]:
    """sha256 of the database file and of its -wal unless empty (-shm is an index that
    readers rewrite; an empty -wal holds nothing)."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in (store, store.with_name(store.name + "-wal"))
        if path.is_file() and (path == store or path.stat().st_size)
    }


def contents(store: Path, scratch: Path) -> dict[str, list[tuple]]:
    """Every row of every table, read from a copy (the original is never opened here), and
    the copy's integrity check."""
    scratch.mkdir(parents=True, exist_ok=True)
    copy = scratch / "copy.db"
    for suffix in ("", "-wal"):
        source = store.with_name(store.name + suffix)
        target = copy.with_name(copy.name + suffix)
        target.unlink(missing_ok=True)
        if source.is_file():
            shutil.copyfile(source, target)
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {t: sorted(conn.execute(f"SELECT * FROM [{t}]"), key=repr) for t in tables}
    finally:
        conn.close()


def assert_kept(
    before: dict[str, list[tuple]], after: dict[str, list[tuple]], tables: tuple[str, ...] = ()
) -> None:
    """Every row that was in `tables` (default: all) is still there, unchanged; new rows may
    have been added."""
    for table in tables or tuple(before):
        lost = set(before[table]) - set(after.get(table, []))
        assert not lost, f"{table}: lost or changed {sorted(lost, key=repr)[:5]}"


# --- contact files ---------------------------------------------------------------------------


def vcard(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode()


CONTACT_FILES = {
    "binary_garbage.vcf": random.Random(20260301).randbytes(20_000),
    "truncated.vcf": vcard("BEGIN:VCARD", "VERSION:3.0", "FN:Cut Short")[:-2] + b"\r\nEMAIL:cut",
    "utf16_without_bom.vcf": vcard(
        "BEGIN:VCARD", "VERSION:3.0", "FN:Wide Chars", "EMAIL:wide@example.org", "END:VCARD"
    )
    .decode()
    .encode("utf-16-le"),
    "empty.csv": b"",
    "bom_only.csv": b"\xef\xbb\xbf",
    "header_only_no_email_column.csv": b"name,phone\nAda,123\n",
}


@pytest.mark.parametrize("name", list(CONTACT_FILES))
def test_a_broken_contact_file_is_one_line_and_imports_nothing(home: Home, name: str) -> None:
    """Garbage, a truncated vCard, the wrong encoding, an empty file: one line naming the
    file, exit 1, and the store is byte for byte what it was."""
    path = home.directory / name
    path.write_bytes(CONTACT_FILES[name])
    before = fingerprint(home.store)
    result = home.cli("contacts", "import", str(path))
    assert_one_line_error(result, name, code=1)
    assert "0 added, 0 updated" in result.stdout
    assert fingerprint(home.store) == before


@pytest.fixture
def fifty_megabytes(tmp_path: Path) -> Path:
    """One 50 MB line of `x` without a line break (written once per test, deleted after)."""
    path = tmp_path / "one_line.csv"
    with path.open("wb") as handle:
        for _ in range(50):
            handle.write(b"x" * 1_000_000)
    return path


def test_a_50_megabyte_single_line_csv_is_one_line(home: Home, fifty_megabytes: Path) -> None:
    """A 50 MB line with no line break: one problem line, not two, and nothing imported."""
    before = fingerprint(home.store)
    result = home.cli("contacts", "import", str(fifty_megabytes))
    assert_one_line_error(result, "one_line.csv:1:", code=1)
    assert fingerprint(home.store) == before


def test_a_vcard_with_a_50_megabyte_name_is_refused(home: Home, tmp_path: Path) -> None:
    """A 50 MB FN line is not a name: the card is reported and skipped, nothing is stored."""
    path = tmp_path / "huge_name.vcf"
    path.write_bytes(
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:" + b"y" * 50_000_000
        + b"\r\nEMAIL:huge@example.org\r\nEND:VCARD\r\n"
    )  # fmt: skip
    before = fingerprint(home.store)
    result = home.cli("contacts", "import", str(path))
    assert_one_line_error(result, "huge_name.vcf:", code=1)
    assert fingerprint(home.store) == before


# --- config files ----------------------------------------------------------------------------

GOOD_IMAP = '[imap]\nhost = "127.0.0.1"\nsecurity = "none"\nusername = "me"\n'
CONFIGS: dict[str, tuple[bytes, str]] = {
    "unknown key": (GOOD_IMAP.encode() + b'colour = "blue"\n', "[imap] colour is not a known"),
    "unknown section": (b'[colour]\nname = "blue"\n', "colour is not a known setting"),
    "wrong type": (GOOD_IMAP.encode() + b'port = "993"\n', "[imap] port must be an integer"),
    "wrong type in a list": (b"[me]\naddresses = [1, 2]\n", "[me] addresses must be a list of"),
    "missing required key": (b'[imap]\nhost = "127.0.0.1"\n', "[imap] username is missing"),
    "invalid TOML": (b"[imap\nhost = \n", "not valid TOML"),
    "NUL in TOML": (GOOD_IMAP.encode() + b"timeout = 6\x000\n", "not valid TOML"),
    "not UTF-8": (b'[me]\naddresses = ["caf\xe9@example.org"]\n', "cannot read"),
    "a password in the file": (
        GOOD_IMAP.encode() + b'password = "Config-Pw-Never-Echo-4711"\n',
        "password is not allowed",
    ),
}


@pytest.mark.parametrize("case", list(CONFIGS))
def test_each_kind_of_config_mistake_is_one_line_and_changes_nothing(
    home: Home, run_cli, case: str
) -> None:
    """Unknown key or section, wrong type, missing key, invalid TOML, NUL, bad encoding, a
    password: exit 2, one line naming the file and the key, config and store untouched, and
    a password written in the file is not repeated."""
    text, message = CONFIGS[case]
    home.config.write_bytes(text)
    before = (home.config.read_bytes(), fingerprint(home.store))
    for args in (["sync"], ["contacts", "add", "New Person", "--email", "new@example.org"]):
        result = run_cli("--config", str(home.config), *args)
        line = assert_one_line_error(result, str(home.config), message, code=2)
        assert "Config-Pw-Never-Echo-4711" not in line
    assert (home.config.read_bytes(), fingerprint(home.store)) == before


def test_a_directory_given_as_config_is_one_line(home: Home, run_cli) -> None:
    """`--config DIR`: one `kithkin: error:` line with exit 2, like every other config
    mistake (not click's three-line usage message)."""
    result = run_cli("--config", str(home.directory), "sync")
    assert_one_line_error(result, "kithkin: error:", str(home.directory), code=2)


@cache
def setpriv_drops_dac() -> bool:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return False
    probe = subprocess.run(
        [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "true"],
        capture_output=True, check=False,
    )  # fmt: skip
    return probe.returncode == 0


def as_unprivileged(argv: list[str]) -> list[str]:
    """`argv` so that permission bits apply: as is for a normal user; for root, through
    setpriv without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (skips if that is impossible)."""
    if os.geteuid() != 0:
        return argv
    if not setpriv_drops_dac():
        pytest.skip("running as root, and setpriv cannot drop CAP_DAC_OVERRIDE here: "
                    "chmod 000 does not stop root")  # fmt: skip
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *argv]


@pytest.mark.parametrize("how", ["--config", "default location"])
def test_an_unreadable_config_file_is_one_line(home: Home, how: str) -> None:
    """A config file that cannot be read (mode 000): one line, exit 2, file untouched."""
    if how == "--config":
        config, args = home.config, ["--config", str(home.config)]
    else:
        config = Path(home.env["XDG_CONFIG_HOME"]) / "kithkin" / "config.toml"
        config.parent.mkdir(parents=True)
        shutil.copyfile(home.config, config)
        args = []
    before = config.read_bytes()
    config.chmod(0o000)
    try:
        result = run_subprocess(as_unprivileged([*KITHKIN, *args, "sync"]), home.env)
    finally:
        config.chmod(0o600)
    assert_one_line_error(result, "kithkin: error:", str(config), code=2)
    assert config.read_bytes() == before


# --- database files --------------------------------------------------------------------------


def foreign_sqlite(path: Path) -> None:
    path.unlink()
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT, title TEXT);"
        "INSERT INTO moz_places (url, title) VALUES ('https://example.org/', 'Example');"
    )
    conn.close()


def newer_kithkin(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.schema_version() + 1}")
    conn.close()


def corrupt_a_page(path: Path) -> None:
    """Overwrite the interactions table's root page; the header and schema stay readable."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    page = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'interactions'"
    ).fetchone()[0]
    conn.close()
    with path.open("r+b") as handle:
        handle.seek((page - 1) * page_size)
        handle.write(b"\xde\xad\xbe\xef" * (page_size // 4))


def truncate_to_half(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def replace_with_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


READ = (["interactions", "--json"], ["report", "--as-of", "2026-03-01"])
WRITE = (["contacts", "add", "New Person", "--email", "new@example.org"],)
# case: (how the populated store is spoiled, the message, the commands that must fail)
DATABASES: dict[str, tuple[Callable[[Path], None], str, tuple[list[str], ...]]] = {
    "text file": (
        lambda p: p.write_text("name,email\nAda,ada@example.org\n"),
        "not a SQLite",
        READ + WRITE,
    ),
    "random bytes": (
        lambda p: p.write_bytes(random.Random(7).randbytes(8192)),
        "not a SQLite",
        READ + WRITE,
    ),
    "SQLite from another app": (foreign_sqlite, "not a Kithkin one", READ + WRITE),
    "from a newer Kithkin": (newer_kithkin, "newer Kithkin", READ + WRITE),
    "truncated to half": (truncate_to_half, "malformed", READ + WRITE),
    # Only what reads the broken page can notice (SQLite checks pages as it reads them).
    "a page overwritten": (corrupt_a_page, "malformed", READ),
    "a directory": (replace_with_directory, "kithkin.db", READ + WRITE),
}


@pytest.mark.parametrize("case", list(DATABASES))
def test_a_database_that_is_not_ours_or_is_broken_is_one_line_and_untouched(
    home: Home, case: str
) -> None:
    """Readers and writers alike: one line naming the file, exit 1, and the file (and any
    -wal) byte for byte as it was; nothing was created next to a file that is not ours."""
    spoil, message, commands = DATABASES[case]
    spoil(home.store)
    before = fingerprint(home.store) if home.store.is_file() else {}
    siblings = sorted(p.name for p in home.store.parent.iterdir())
    for args in commands:
        assert_one_line_error(home.cli(*args), "kithkin: error:", message, code=1)
    assert (fingerprint(home.store) if home.store.is_file() else {}) == before
    assert sorted(p.name for p in home.store.parent.iterdir()) == siblings


def test_a_torn_wal_file_is_ignored_and_the_data_is_intact(home: Home, tmp_path: Path) -> None:
    """Garbage in the -wal (a torn write) is not a transaction: SQLite ignores it by its
    checksums, and everything committed before is still there."""
    before = contents(home.store, tmp_path / "before")
    home.store.with_name("kithkin.db-wal").write_bytes(random.Random(3).randbytes(10_000))
    result = home.cli("interactions", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout.count('"contact"') == 40
    assert contents(home.store, tmp_path / "after") == before


# --- read-only store -------------------------------------------------------------------------


@cache
def mount_namespaces() -> str | None:
    """None when `unshare -m` with tmpfs and bind mounts works here, else why not."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "no unshare binary"
    with tempfile.TemporaryDirectory() as scratch:
        d = shlex.quote(scratch)
        probe = subprocess.run(
            [unshare, "-m", "sh", "-c",
             f"mount -t tmpfs -o size=64k tmpfs {d} && mount --bind -o ro {d} {d}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    if probe.returncode != 0:
        return f"unshare -m / mount not permitted here: {probe.stderr.strip()[:200]}"
    return None


def needs_mounts() -> None:
    reason = mount_namespaces()
    if reason:
        pytest.skip(reason)


def in_mount_namespace(
    setup: str, commands: list[list[str] | str], env: dict[str, str]
) -> list[CliResult]:
    """CliResult `setup` (shell: mounts) and then each command (an argv, or a line of shell) in one
    private mount namespace; the mounts vanish with it. Returns each command's result."""
    results_dir = Path(env["XDG_DATA_HOME"]) / f"results-{os.getpid()}-{id(commands)}"
    results_dir.mkdir(parents=True)
    lines = ["set -u", setup]
    for n, argv in enumerate(commands):
        out = shlex.quote(str(results_dir / str(n)))
        line = argv if isinstance(argv, str) else shlex.join(argv)
        lines.append(f"{{ {line}; }} >{out}.out 2>{out}.err; echo $? >{out}.rc")
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", "\n".join(lines)],
        env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = []
    for n in range(len(commands)):
        base = results_dir / str(n)
        results.append(
            CliResult(
                int(Path(f"{base}.rc").read_text()),
                Path(f"{base}.out").read_text(errors="replace"),
                Path(f"{base}.err").read_text(errors="replace"),
            )
        )
    shutil.rmtree(results_dir)
    return results


def test_a_read_only_store_directory_is_one_line_and_untouched(home: Home, tmp_path) -> None:
    """The data directory bind-mounted read-only: a write is one line and exit 1, a read is
    either correct or one line; nothing changes."""
    needs_mounts()
    before, digest = contents(home.store, tmp_path / "before"), fingerprint(home.store)
    directory = shlex.quote(str(home.directory))
    write, read = in_mount_namespace(
        f"mount --bind -o ro {directory} {directory}",
        [
            [*KITHKIN, "--config", str(home.config), "contacts", "add", "N", "--email", "n@x.org"],
            [*KITHKIN, "--config", str(home.config), "interactions", "--json"],
        ],
        home.env,
    )
    assert_one_line_error(write, "kithkin: error:", str(home.store), code=1)
    if read.exit_code != 0:
        assert_one_line_error(read, "kithkin: error:", str(home.store))
    else:
        assert read.stdout.count('"contact"') == 40
    assert fingerprint(home.store) == digest
    assert contents(home.store, tmp_path / "after") == before


@pytest.fixture
def immutable(home: Home):
    """`chattr +i` on the database file (root cannot write it either); undone afterwards."""
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("no chattr binary")
    made = subprocess.run(
        [chattr, "+i", str(home.store)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"chattr +i not supported here: {made.stderr.strip()[:200]}")
    try:
        yield home.store
    finally:
        subprocess.run([chattr, "-i", str(home.store)], check=True)


def test_an_immutable_database_file_is_one_line_and_untouched(
    home: Home, immutable: Path, tmp_path: Path
) -> None:
    """A database file nobody may write (`chattr +i`): writes are one line and exit 1,
    reads still work, and the file is unchanged."""
    digest = fingerprint(home.store)
    write = home.cli("contacts", "add", "New Person", "--email", "new@example.org")
    assert_one_line_error(write, "kithkin: error:", str(home.store), "readonly", code=1)
    read = home.cli("interactions", "--json")
    assert read.exit_code == 0, read.output
    assert read.stdout.count('"contact"') == 40
    assert fingerprint(home.store) == digest


# --- a full disk -----------------------------------------------------------------------------


def full_disk_setup(home: Home, size: str, free_kib: int) -> str:
    """Shell: a tmpfs of `size` over the data directory, holding a copy of the store, then
    filled up until `free_kib` KiB are left. Defines `copy_out`, a function that copies the
    store to `out/` beside the data directory, so the test can read it after the mounts go."""
    d = shlex.quote(str(home.directory))
    seed = shlex.quote(str(home.directory.parent / "seed"))
    out = shlex.quote(str(home.directory.parent / "out"))
    return f"""
mkdir -p {seed} {out} && cp -a {d}/. {seed}/
mount -t tmpfs -o size={size},mode=0700 tmpfs {d}
cp -a {seed}/. {d}/
avail=$(df -k --output=avail {d} | tail -1)
if [ "$avail" -gt {free_kib} ]; then
  head -c $(( (avail - {free_kib}) * 1024 )) /dev/zero > {d}/filler 2>/dev/null || true
fi
copy_out() {{ cp -a {d}/kithkin.db* {out}/ 2>/dev/null; }}
"""


def test_a_full_disk_is_one_line_and_the_store_is_intact(home: Home, tmp_path: Path) -> None:
    """With no space left at all, adding a contact is one line and exit 1, and every row
    already stored is still there."""
    needs_mounts()
    before = contents(home.store, tmp_path / "before")
    config = str(home.config)
    add, _ = in_mount_namespace(
        full_disk_setup(home, "2m", 0),
        [[*KITHKIN, "--config", config, "contacts", "add", "New", "--email", "new@example.org"],
         "copy_out"],
        home.env,
    )  # fmt: skip
    assert_one_line_error(add, "kithkin: error:", str(home.store), code=1)
    after = contents(tmp_path / "out" / "kithkin.db", tmp_path / "after")
    assert after == before


def many_contacts_csv(path: Path, count: int) -> Path:
    lines = ["name,email"] + [f"Person {n} {'z' * 80},person{n}@many.example" for n in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_import_that_fills_the_disk_is_one_line_and_the_store_is_intact(
    home: Home, tmp_path: Path
) -> None:
    """An import of 3,000 contacts into a store with about 150 KB left: one line, exit 1,
    and every row stored before is still there (the database is not corrupted)."""
    needs_mounts()
    before = contents(home.store, tmp_path / "before")
    csv = many_contacts_csv(tmp_path / "many.csv", 3000)
    result, _ = in_mount_namespace(
        full_disk_setup(home, "4m", 150),
        [[*KITHKIN, "--config", str(home.config), "contacts", "import", str(csv)],
         "copy_out"],
        home.env,
    )  # fmt: skip
    assert_one_line_error(result, "kithkin: error:", str(home.store), code=1)
    assert_kept(before, contents(tmp_path / "out" / "kithkin.db", tmp_path / "after"))


def test_a_sync_that_fills_the_disk_fails_cleanly_and_resumes(
    dovecot: DovecotServer, tmp_path: Path, kithkin_home: Path
) -> None:
    """A sync whose batch does not fit on the disk: one line, exit 1, nothing half-written;
    after space is freed the next sync logs every message exactly once."""
    needs_mounts()
    config = write_config(tmp_path / "k", dovecot)
    store = tmp_path / "k" / "kithkin.db"
    populate(store)
    home = Home(tmp_path / "k", config, store, cli_env(kithkin_home))
    before = contents(store, tmp_path / "before")
    with imap_client(dovecot) as client:
        for n in range(200):
            subject = f"big {n:03d} " + "w" * 8000
            client.append("INBOX", make_message(from_="ada@example.org", to=ME, subject=subject))
    sync = [*KITHKIN, "--config", str(config), "sync", "-q"]
    full, freed, _ = in_mount_namespace(
        full_disk_setup(home, "4m", 300),
        [sync, f"rm {shlex.quote(str(home.directory))}/filler && {shlex.join(sync)}", "copy_out"],
        home.env,
    )  # fmt: skip
    assert_one_line_error(full, "kithkin: error:", code=1)
    assert freed.exit_code == 0, freed.output
    assert "200 new message(s) read, 200 interaction(s) logged" in freed.stdout
    copy = tmp_path / "out" / "kithkin.db"
    # The sync consumes the backfill queue and moves folder cursors: the people and what
    # was logged about them must all still be there.
    people = ("contacts", "addresses", "contact_tags", "interactions")
    assert_kept(before, contents(copy, tmp_path / "after"), people)
    conn = sqlite3.connect(copy)
    query = "SELECT subject FROM interactions WHERE subject LIKE 'big %'"
    subjects = [row[0] for row in conn.execute(query)]
    conn.close()
    assert sorted(s[:7] for s in subjects) == [f"big {n:03d}" for n in range(200)]


def test_a_file_size_limit_is_one_line_and_the_store_is_intact(home: Home, tmp_path) -> None:
    """RLIMIT_FSIZE (SIGXFSZ ignored, so writes fail with EFBIG): no mount needed, works for
    any user. An import that needs more is one line, exit 1, earlier rows intact."""
    before = contents(home.store, tmp_path / "before")
    limit = home.store.stat().st_size + 16 * 1024

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    csv = many_contacts_csv(tmp_path / "many.csv", 3000)
    result = home.cli("contacts", "import", str(csv), preexec=limited)
    assert_one_line_error(result, "kithkin: error:", str(home.store), code=1)
    assert_kept(before, contents(home.store, tmp_path / "after"))
