"""Sync throughput: `kithkin sync` from an empty store against a raw imapclient header fetch.

Run: `python tests/bench/bench_sync.py [--messages N] [--rounds R] [--profile]`
(default 100,000 messages, 2 rounds). Needs Dovecot (`apt-get install dovecot-imapd`).

A private Dovecot (tests/servers.py) gets N generated messages written straight into the
Maildir `cur/` directories of INBOX and Sent (about 10% exchanged with ~200 contacts, the rest
strangers, mailing lists and automatic mail; encoded words and raw Latin-1 headers included).
Dovecot indexes them and a full header fetch warms its cache. Then, R times, side by side:

1. raw: a subprocess that logs in with imapclient, EXAMINEs each folder, lists its UIDs and
   fetches `BODY.PEEK[HEADER.FIELDS (...)]` (kithkin's own field list) plus INTERNALDATE
   in batches of 500 integer UIDs, and does nothing with the result;
2. sync: the real CLI, `python -m kithkin.daemon --config X sync -q`, into a fresh store with
   the contacts imported beforehand (not timed).

Both are timed as whole processes (start-up and login included) and their CPU time and peak
RSS come from `os.wait4`, i.e. the child's own, not this script's. Targets (issue): sync rate
>= 0.6 x raw rate, sync peak RSS <= 150 MB. PASS/FAIL is informational; the exit status is 0
unless something crashed. `--profile` adds one sync run under cProfile and prints hotspots.
This is a script, not a test.
"""

from __future__ import annotations

import argparse
import base64
import compileall
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
FETCH_BATCH = 500  # as kithkin.daemon.sync.batches.FETCH_BATCH
SEARCH_WINDOW = 50_000  # UIDs per UID SEARCH window of the raw fetch (as kithkin's listing)
FOLDERS = ("INBOX", "Sent")
INBOX_SHARE = 0.7  # the rest goes to Sent
CONTACT_SHARE = 0.10  # messages exchanged with a contact, in each folder
END = datetime(2024, 6, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
TARGET_RATIO = 0.6
TARGET_RSS_MB = 150.0

# fmt: off
FIRST = ["Ann", "Bob", "Carla", "Dmitri", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jonas",
         "Kofi", "Lena", "Marta", "Nils", "Olga"]
ACCENTED = ["Chloé", "François", "Jürgen", "Inès", "Søren", "Zoë", "Agnès", "José"]
LAST = ["Smith", "Müller", "O'Neil", "Nakamura", "Dubois", "Kowalski", "Okafor", "Lind",
        "García", "Novak", "Rossi", "Weiß"]
DOMAINS = ["example.org", "mail.example.com", "corp.example.net", "uni.example.edu",
           "xn--bcher-kva.example", "post.example.de"]
WORDS = ["lunch", "report", "draft", "invoice", "trip", "photos", "meeting", "budget", "notes",
         "plans", "weekend", "question", "update", "slides", "tickets", "dinner"]
# fmt: on
LATIN1_SUBJECTS = ["café crème", "Grüße aus Köln", "reçu n° 12", "naïve façade", "señor año"]
ZONES = [UTC, *(timezone(timedelta(hours=h)) for h in (1, 2, -5, 9))]
MAILERS = ["Thunderbird 115.3", "Apple Mail (2.3731)", "Roundcube 1.6", "K-9 Mail 6.7"]


# --- people --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    emails: tuple[str, ...]


def make_people(rng: random.Random, count: int, prefix: str) -> list[Person]:
    people = []
    for index in range(count):
        first = rng.choice(ACCENTED if index % 7 == 0 else FIRST)
        last = rng.choice(LAST)
        local = f"{first[0]}.{last}".lower().encode("ascii", "ignore").decode()
        local = re.sub(r"[^a-z.]", "", local) + f".{prefix}{index}"
        emails = [f"{local}@{DOMAINS[index % len(DOMAINS)]}"]
        if index % 10 == 0:  # a second address, used now and then
            emails.append(f"{local}@old.{DOMAINS[(index + 1) % len(DOMAINS)]}")
        people.append(Person(f"{first} {last}", tuple(emails)))
    return people


def vcard(people: list[Person]) -> str:
    cards = []
    for person in people:
        first, last = person.name.split(" ", 1)
        lines = ["BEGIN:VCARD", "VERSION:3.0", f"FN:{person.name}", f"N:{last};{first};;;"]
        lines += [f"EMAIL;TYPE=INTERNET:{email}" for email in person.emails]
        lines.append("END:VCARD")
        cards.append("\r\n".join(lines))
    return "\r\n".join(cards) + "\r\n"


# --- messages ------------------------------------------------------------------------------


def _encoded_word(text: str, rng: random.Random) -> str:
    """`text` as one RFC 2047 word: Q-encoded UTF-8 or B-encoded Latin-1, at random."""
    if rng.random() < 0.5:
        body = "".join(
            chr(b) if b < 128 and chr(b).isalnum() else "_" if b == 32 else f"={b:02X}"
            for b in text.encode()
        )
        return f"=?utf-8?q?{body}?="
    return f"=?iso-8859-1?b?{base64.b64encode(text.encode('latin-1')).decode()}?="


@dataclass
class Composer:
    """Builds one message (bytes, LF line ends as in a Maildir) and its INTERNALDATE."""

    rng: random.Random
    me: tuple[str, ...]
    contacts: list[Person]
    strangers: list[Person]
    lists: list[str]
    contact_share: float = CONTACT_SHARE  # of the messages in each folder
    fetched_bytes: int = 0  # bytes of the fields kithkin fetches, summed over all messages
    count: int = 0

    def mailbox(self, person: Person, latin1: bool) -> str:
        address = person.emails[0] if self.rng.random() < 0.8 else self.rng.choice(person.emails)
        style = self.rng.random()
        if latin1 or style < 0.15:
            return address if not latin1 else f"{person.name} <{address}>"
        if not person.name.isascii():
            return f"{_encoded_word(person.name, self.rng)} <{address}>"
        if style < 0.3:
            return f'"{person.name.split()[1]}, {person.name.split()[0]}" <{address}>'
        return f"{person.name} <{address}>"

    def me_mailbox(self) -> str:
        return f"Me Myself <{self.me[0] if self.rng.random() < 0.85 else self.me[1]}>"

    def subject(self, reply: bool, latin1: bool) -> str:
        text = " ".join(self.rng.sample(WORDS, self.rng.randint(2, 5)))
        if latin1:
            text = f"{self.rng.choice(LATIN1_SUBJECTS)} {text}"
        elif self.rng.random() < 0.12:
            text = f"{_encoded_word('Ré: ' + text.split()[0] + ' ça va', self.rng)} {text}"
        return ("Re: " if reply else "") + text.capitalize()

    def message_id(self) -> str:
        return f"<{self.rng.getrandbits(64):016x}.{self.count}@{self.rng.choice(DOMAINS)}>"

    def compose(
        self,
        sender: str,
        to: list[str],
        cc: list[str],
        extra: list[tuple[str, str]],
        *,
        latin1: bool,
    ) -> tuple[bytes, float]:
        self.count += 1
        when = END - SPAN * self.rng.random()
        reply = self.rng.random() < 0.4
        fetched = [
            ("Date", format_datetime(when.astimezone(self.rng.choice(ZONES)))),
            ("From", sender),
            ("To", ", ".join(to)),
        ]
        if cc:
            fetched.append(("Cc", ", ".join(cc)))
        fetched += [("Subject", self.subject(reply, latin1)), ("Message-ID", self.message_id())]
        if reply:
            parents = [self.message_id() for _ in range(self.rng.randint(1, 4))]
            fetched += [("In-Reply-To", parents[-1]), ("References", " ".join(parents))]
        charset = "iso-8859-1" if latin1 else "utf-8"
        fetched.append(("Content-Type", f'text/plain; charset="{charset}"; format=flowed'))
        fetched += extra
        block = "\n".join(f"{name}: {value}" for name, value in fetched) + "\n"
        self.fetched_bytes += len(block) + block.count("\n")  # served with CRLF
        other = (
            f"Return-Path: <{sender.rsplit('<', 1)[-1].rstrip('>')}>\n"
            f"Received: from mx.example.net (mx.example.net [192.0.2.{self.count % 250}])\n"
            f"\tby mail.home.example (Postfix) with ESMTPS id {self.rng.getrandbits(40):X}\n"
            f"\tfor <{self.me[0]}>; {format_datetime(when)}\n"
            f"MIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n"
            f"X-Mailer: {self.rng.choice(MAILERS)}\n"
        )
        body = "Hello,\n\n" + " ".join(self.rng.choices(WORDS, k=self.rng.randint(10, 80)))
        text = other + block + "\n" + body + "\n"
        data = text.encode("latin-1" if latin1 else "utf-8")
        return data, (when + timedelta(seconds=self.rng.randint(5, 600))).timestamp()

    def some(self, people: list[Person], low: int, high: int, latin1: bool) -> list[str]:
        return [
            self.mailbox(p, latin1) for p in self.rng.sample(people, self.rng.randint(low, high))
        ]

    def inbox(self) -> tuple[bytes, float]:
        rng = self.rng
        latin1 = rng.random() < 0.10
        me = [self.me_mailbox()]
        if rng.random() < self.contact_share:  # from a contact
            sender = self.mailbox(rng.choice(self.contacts), latin1)
            shape = rng.random()
            if shape < 0.7:
                return self.compose(sender, me, [], [], latin1=latin1)
            if shape < 0.9:
                cc = self.some(self.contacts, 0, 1, latin1) + self.some(self.strangers, 0, 1, False)
                return self.compose(sender, me, cc, [], latin1=latin1)
            crowd = self.some(self.strangers, 4, 39, False)
            return self.compose(sender, crowd[:3] + me, crowd[3:], [], latin1=latin1)
        kind = rng.random()
        if kind < 0.45:  # a stranger writes
            sender = self.mailbox(rng.choice(self.strangers), latin1)
            return self.compose(
                sender, me, self.some(self.strangers, 0, 2, False), [], latin1=latin1
            )
        if kind < 0.80:  # a mailing list (sometimes a contact posting to it)
            people = self.contacts if rng.random() < 0.1 else self.strangers
            name = rng.choice(self.lists)
            extra = [("List-Id", f"{name.title()} discussion <{name}.lists.example.org>")]
            extra += [("Precedence", "list")] if rng.random() < 0.5 else []
            sender = self.mailbox(rng.choice(people), latin1)
            return self.compose(sender, [f"<{name}@lists.example.org>"], [], extra, latin1=latin1)
        extra = [("Auto-Submitted", "auto-generated")] if rng.random() < 0.5 else []
        extra += [("Precedence", "bulk")] if not extra else []
        sender = f"Notifications <noreply@{rng.choice(DOMAINS)}>"
        return self.compose(sender, me, [], extra, latin1=latin1)

    def sent(self) -> tuple[bytes, float]:
        rng = self.rng
        latin1 = rng.random() < 0.10
        me = self.me_mailbox()
        if rng.random() < self.contact_share:  # to contacts
            shape = rng.random()
            if shape < 0.7:  # now and then with a Bcc, which a Sent copy keeps
                bcc = [("Bcc", self.mailbox(rng.choice(self.contacts), False))]
                extra = bcc if rng.random() < 0.05 else []
                to = self.some(self.contacts, 1, 1, latin1)
                return self.compose(me, to, [], extra, latin1=latin1)
            if shape < 0.9:
                to = self.some(self.contacts, 1, 2, latin1)
                return self.compose(
                    me, to, self.some(self.strangers, 0, 1, False), [], latin1=latin1
                )
            to = self.some(self.contacts, 1, 3, latin1) + self.some(self.strangers, 2, 10, False)
            return self.compose(me, to, self.some(self.strangers, 2, 27, False), [], latin1=latin1)
        to = self.some(self.strangers, 1, 3, latin1)
        return self.compose(me, to, self.some(self.strangers, 0, 2, False), [], latin1=latin1)


# --- the server ----------------------------------------------------------------------------


def servers_module() -> Any:
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    import helpers
    import servers

    return servers, helpers


def folder_dir(server: Any, folder: str) -> Path:
    return server.maildir if folder == "INBOX" else server.maildir / f".{folder}"


def create_mailboxes(server: Any) -> None:
    """One login makes Dovecot create the Maildir and the auto-created Sent folder."""
    servers, _ = servers_module()
    with servers.imap_client(server) as client:
        client.list_folders()
        for folder in FOLDERS:
            client.select_folder(folder, readonly=True)
    for folder in FOLDERS:
        if not (folder_dir(server, folder) / "cur").is_dir():
            raise RuntimeError(f"Dovecot did not create {folder_dir(server, folder)}/cur")


def write_messages(directory: Path, messages: Iterator[tuple[bytes, float]]) -> int:
    """Drop files into `cur/` owned like the Maildir (Dovecot picks them up at the next sync).

    Unique names in Maildir's `time.MnPpid.host,S=size:2,flags` shape: Dovecot takes the size
    from the name and assigns UIDs in date order, as a real mailbox would have them.
    """
    owner = directory.stat()
    cur = directory / "cur"
    pid = os.getpid()
    count = 0
    for count, (data, internaldate) in enumerate(messages, 1):
        flags = "S" if count % 5 else ""
        path = cur / f"{int(internaldate)}.M{count}P{pid}.bench,S={len(data)}:2,{flags}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fchown(fd, owner.st_uid, owner.st_gid)
        finally:
            os.close(fd)
        os.utime(path, (internaldate, internaldate))  # Dovecot's INTERNALDATE for Maildir
    return count


def composer_for(
    seed: int, contacts: int, share: float = CONTACT_SHARE
) -> tuple[list[Person], Composer]:
    """The contacts and the message composer of a seed: the same in every process."""
    _, helpers = servers_module()
    rng = random.Random(seed)
    people = make_people(rng, contacts, "c")
    composer = Composer(
        rng,
        me=(helpers.ME, helpers.ME_ALIAS),
        contacts=people,
        strangers=make_people(rng, 5000, "s"),
        lists=[f"{word}-list" for word in WORDS],
        contact_share=share,
    )
    return people, composer


def fill_child(spec: dict[str, Any]) -> tuple[dict[str, int], int]:
    """In a child process: the messages written into the Maildir; (counts, fetched bytes)."""
    _, composer = composer_for(spec["seed"], spec["contacts"], spec.get("share", CONTACT_SHARE))
    if spec.get("part"):  # a later part of a mailbox filled in parts: other mail
        composer.rng.seed(spec["part"] * 7919 + spec["seed"])
    maildir = Path(spec["maildir"])
    directories = {"INBOX": maildir, "Sent": maildir / ".Sent"}
    inbox = round(spec["messages"] * INBOX_SHARE)
    counts = {}
    for folder, count, make in (
        ("INBOX", inbox, composer.inbox),
        ("Sent", spec["messages"] - inbox, composer.sent),
    ):
        counts[folder] = write_messages(directories[folder], (make() for _ in range(count)))
    return counts, composer.fetched_bytes


# --- the raw fetch (runs in a child process) ------------------------------------------------


def raw_fetch(spec: dict[str, Any]) -> dict[str, Any]:
    """Log in, EXAMINE, list UIDs, fetch kithkin's header fields plus INTERNALDATE; count."""
    import socket

    from imapclient import IMAPClient

    started = time.perf_counter()
    client = IMAPClient(spec["host"], spec["port"], ssl=False, timeout=spec["timeout"])
    client.normalise_times = False
    client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.login(spec["username"], Path(spec["password_file"]).read_text().rstrip("\n"))
    item = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(spec["fields"]))
    messages = header_bytes = 0
    for folder in spec["folders"]:
        status = client.select_folder(folder, readonly=True)
        top = int(status[b"UIDNEXT"]) - 1
        uids: list[int] = []
        for start in range(1, top + 1, SEARCH_WINDOW):
            end = min(start + SEARCH_WINDOW - 1, top)
            uids += sorted(u for u in client.search(["UID", f"{start}:{end}"]) if u <= end)
        for index in range(0, len(uids), FETCH_BATCH):
            response = client.fetch(uids[index : index + FETCH_BATCH], [item, "INTERNALDATE"])
            for data in response.values():
                messages += 1
                header_bytes += sum(
                    len(v) for k, v in data.items() if k.startswith(b"BODY[HEADER.FIELDS")
                )
    client.logout()
    return {
        "messages": messages,
        "header_bytes": header_bytes,
        "seconds": time.perf_counter() - started,
    }


# --- running and measuring children --------------------------------------------------------


@dataclass(frozen=True)
class Run:
    label: str
    wall: float
    cpu: float  # user + system of the child (and any children it waited for)
    max_rss_mb: float
    server_cpu: float | None
    stdout: str

    def rate(self, messages: int) -> float:
        return messages / self.wall


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat fields after the command name: state ppid pgrp ... utime stime ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def master_cpu(server: Any) -> float | None:
    """CPU seconds of Dovecot's reaped children (its imap processes), from the master's stat.

    Waits (briefly) for the imap processes still running to exit and be reaped first.
    """
    try:
        master = int((server.directory / "run" / "master.pid").read_text().split()[0])
        deadline = time.monotonic() + 5
        while _imap_children(master) and time.monotonic() < deadline:
            time.sleep(0.01)
        fields = _stat(master)
    except (OSError, ValueError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[13]) + int(fields[14])) / ticks  # cutime, cstime


def _imap_children(master: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if _stat(int(entry))[1] == str(master) and Path(
                    f"/proc/{entry}/comm"
                ).read_text().startswith("imap"):
                    found.append(int(entry))
            except (OSError, IndexError):
                continue
    return found


# Started fresh (python -S: no site packages, a few MB), it forks and execs the measured
# command and reports that child's rusage: Linux keeps a process's high-water RSS across
# exec, so a command forked straight from this script would count this script's memory too.
RUSAGE_WRAPPER = """
import json, os, sys
out, command = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execv(command[0], command)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as handle:
    json.dump([status, usage.ru_utime + usage.ru_stime, usage.ru_maxrss], handle)
"""


def run_child(label: str, command: list[str], server: Any, stderr: Path) -> Run:
    """Run `command` and reap it with wait4 (through RUSAGE_WRAPPER), so CPU and peak RSS
    are the command's own."""
    before = master_cpu(server)
    usage_file = stderr.with_name(stderr.name + ".rusage")
    wrapped = [sys.executable, "-S", "-c", RUSAGE_WRAPPER, str(usage_file), *command]
    with stderr.open("ab") as err:
        started = time.perf_counter()
        proc = subprocess.run(wrapped, stdout=subprocess.PIPE, stderr=err, check=False)
        wall = time.perf_counter() - started
    status, cpu, max_rss = json.loads(usage_file.read_text())
    code = os.waitstatus_to_exitcode(status)
    out = proc.stdout.decode()
    if code != 0:
        said = stderr.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{label} exited {code}; its stderr ends:\n{said}\n{out}")
    after = master_cpu(server)
    server_cpu = after - before if before is not None and after is not None else None
    return Run(label, wall, cpu, max_rss / 1024, server_cpu, out)


def environment(servers: Any) -> str:
    compile_kithkin()
    dovecot = servers.find_binary("dovecot") or "dovecot"
    version = subprocess.run([dovecot, "--version"], capture_output=True, text=True, check=False)
    cli = startup([sys.executable, "-m", "kithkin.daemon", "--version"])
    imapclient = startup([sys.executable, "-c", "import imapclient"])
    return (
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, Dovecot "
        f"{version.stdout.strip() or '?'}\nprocess start-up alone: `kithkin --version` "
        f"{cli:.2f} s, `python -c 'import imapclient'` {imapclient:.2f} s "
        "(kithkin's bytecode compiled)"
    )


def compile_kithkin() -> None:
    """Kithkin's modules compiled to bytecode first, as pip leaves an installed package and as
    a first run leaves an editable one, so no run below compiles them again (where
    PYTHONDONTWRITEBYTECODE is set, each would: the libraries it is compared with have theirs
    from pip)."""
    import kithkin.daemon
    import kithkin.parsers

    packages = [Path(package.__file__).parent for package in (kithkin.daemon, kithkin.parsers)]
    if not all(compileall.compile_dir(package, quiet=1) for package in packages):
        raise RuntimeError(f"compileall failed on {packages}")


def startup(command: list[str], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def kithkin(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "kithkin.daemon", "--config", str(config), *args]


@dataclass
class Bench:
    server: Any
    workdir: Path
    vcf: Path
    messages: int
    raw_spec: dict[str, Any]
    rounds_done: int = 0
    import_line: str = ""

    def fresh_config(self) -> Path:
        _, helpers = servers_module()
        self.rounds_done += 1
        config = helpers.write_config(
            self.workdir / f"sync{self.rounds_done}", self.server, imap={"timeout": 300}
        )
        result = subprocess.run(
            kithkin(config, "contacts", "import", "--allow-duplicate", str(self.vcf)),
            capture_output=True,
            text=True,
            check=True,
        )
        self.import_line = result.stdout.strip().splitlines()[-1]
        return config

    def raw(self) -> Run:
        command = [sys.executable, __file__, "--raw-child", json.dumps(self.raw_spec)]
        run = run_child("raw fetch", command, self.server, self.workdir / "raw.err")
        if json.loads(run.stdout)["messages"] != self.messages:
            raise RuntimeError(f"raw fetch saw {run.stdout.strip()}, expected {self.messages}")
        return run

    def sync(self, *, profile: Path | None = None) -> tuple[Run, int]:
        config = self.fresh_config()
        command = kithkin(config, "sync", "-q")
        if profile is not None:
            command[1:1] = ["-m", "cProfile", "-o", str(profile)]
        run = run_child("kithkin sync", command, self.server, self.workdir / "sync.err")
        match = re.search(r"(\d+) new message\(s\) read, (\d+) interaction", run.stdout)
        if not match or int(match.group(1)) != self.messages:
            raise RuntimeError(f"sync printed {run.stdout.strip()!r}, expected {self.messages}")
        with sqlite3.connect(config.parent / "kithkin.db") as db:
            stored = db.execute("SELECT count(*) FROM interactions").fetchone()[0]
        return run, stored


# --- where the sync's time goes (in this process, stage by stage) ----------------------------


class StageTimer:
    """Wraps callables so the seconds spent in each are summed per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        self.seconds.setdefault(stage, 0.0)
        seconds, clock = self.seconds, time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[stage] += clock() - started

        return timed

    def wrap_context(self, stage: str, factory: Callable[[], Any]) -> Callable[[], Any]:
        """A context manager factory whose enter and exit (BEGIN, COMMIT) count to `stage`."""
        enter, leave = self.wrap(stage, lambda cm: cm.__enter__()), self.wrap(stage, _exit)

        @contextmanager
        def timed() -> Iterator[Any]:
            manager = factory()
            value = enter(manager)
            try:
                yield value
            except BaseException as exc:
                if not leave(manager, exc):
                    raise
            else:
                leave(manager, None)

        return timed


def _exit(manager: Any, exc: BaseException | None) -> bool:
    if exc is None:
        return bool(manager.__exit__(None, None, None))
    return bool(manager.__exit__(type(exc), exc, exc.__traceback__))


def breakdown(config_path: Path) -> tuple[float, dict[str, float]]:
    """One real `Sync.run()` in this process, its stages timed by wrapping what it calls:
    `Mailbox.fetch_headers`, the sieve over raw bytes (`read_plain`, every message),
    `read_block` (blocks that are not plain), the facts (`HeaderBlock.facts` and
    `PlainBlock.facts`: only mail that concerns a contact), `match`, and the store's writes
    (BEGIN, inserts, cursor, COMMIT). Returns (total seconds, seconds per stage)."""
    from kithkin.daemon.config import load_config
    from kithkin.daemon.mail.credentials import get_secret
    from kithkin.daemon.mail.session import ImapSession
    from kithkin.daemon.store import Store
    from kithkin.daemon.sync import Sync
    from kithkin.daemon.sync import plan as engine
    from kithkin.parsers.headers import HeaderBlock
    from kithkin.parsers.headers.plain import PlainBlock

    config = load_config(config_path)
    imap = config.require_imap()
    store = Store.open(config.store_path)
    mailbox = ImapSession.connect(imap, get_secret(imap))
    timer = StageTimer()
    originals = {"read_plain": engine.read_plain, "read_block": engine.read_block,
                 "match": engine.match}  # fmt: skip
    stage_names = {"read_plain": "sieve (raw bytes)"}
    facts, plain_facts = HeaderBlock.facts, PlainBlock.facts
    try:
        mailbox.fetch_headers = timer.wrap("fetch_headers", mailbox.fetch_headers)
        for name, fn in originals.items():
            setattr(engine, name, timer.wrap(stage_names.get(name, name), fn))
        HeaderBlock.facts = timer.wrap("facts (contacts only)", facts)  # type: ignore[method-assign]
        PlainBlock.facts = timer.wrap("facts (contacts only)", plain_facts)  # type: ignore[method-assign]
        store.atomic = timer.wrap_context("store writes", store.atomic)
        store.interactions.add = timer.wrap("store writes", store.interactions.add)
        store.folders.save = timer.wrap("store writes", store.folders.save)
        sync = Sync(mailbox, store, config.me, clock=lambda: datetime.now(UTC))
        started = time.perf_counter()
        sync.run()
        total = time.perf_counter() - started
    finally:
        for name, fn in originals.items():
            setattr(engine, name, fn)
        HeaderBlock.facts = facts  # type: ignore[method-assign]
        PlainBlock.facts = plain_facts  # type: ignore[method-assign]
        mailbox.logout()
        store.close()
    return total, timer.seconds


# --- output --------------------------------------------------------------------------------


def describe(run: Run, messages: int) -> str:
    server = f"{run.server_cpu:6.1f}" if run.server_cpu is not None else "     ?"
    return (
        f"{run.label:<14} {run.wall:8.2f} {run.rate(messages):9.0f} "
        f"{run.cpu / messages * 1e6:9.0f} {server} {run.max_rss_mb:8.1f}"
    )


def print_profile(path: Path, limit: int = 25) -> None:
    import pstats

    stats = pstats.Stats(str(path))
    stats.strip_dirs()
    for order in ("tottime", "cumulative"):
        print(f"\n--- cProfile of one sync run, top {limit} by {order} ---")
        stats.sort_stats(order).print_stats(limit)


def print_breakdown(bench: Bench, raws: list[Run]) -> None:
    n = bench.messages
    total, stages = breakdown(bench.fresh_config())
    raw_cpu = min(run.cpu for run in raws) / n * 1e6
    print("\nWhere a sync's time goes: one Sync.run() in-process, stages timed, µs per message")
    for stage, seconds in stages.items():
        print(f"  {stage:<16} {seconds / n * 1e6:7.1f}")
    other = total - sum(stages.values())
    print(f"  {'everything else':<16} {other / n * 1e6:7.1f}   (engine, steering check, timers)")
    print(f"  {'total':<16} {total / n * 1e6:7.1f}   (raw fetch process CPU: {raw_cpu:.1f})")
    extra = (total - stages["fetch_headers"]) / n * 1e6
    budget = raw_cpu * (1 / TARGET_RATIO - 1)
    print(f"  after the fetch: {extra:.1f} µs/msg; a {TARGET_RATIO} ratio leaves about ", end="")
    print(f"{budget:.1f} µs/msg for that when the fetch is CPU-bound")


def warm_up(server: Any, bench: Bench) -> None:
    """First SELECT indexes the dropped files; one full header fetch fills Dovecot's cache."""
    from imapclient import IMAPClient

    started = time.perf_counter()
    client = IMAPClient(server.host, server.port, ssl=False, timeout=600)
    client.login(server.username, server.password)
    for folder in FOLDERS:  # (no SEARCH ALL: a million UIDs are a reply line over 1 MB)
        client.select_folder(folder, readonly=True)
    client.logout()
    indexed = time.perf_counter() - started
    warm = bench.raw()
    print(f"warm-up: first SELECT of both folders {indexed:.1f} s; ", end="")
    print(f"first header fetch {warm.wall:.1f} s ({warm.rate(bench.messages):.0f} msg/s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=100_000, help="total, INBOX + Sent")
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="raw/sync pairs, alternated")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--profile", action="store_true", help="add one sync under cProfile")
    parser.add_argument(
        "--no-breakdown",
        dest="breakdown",
        action="store_false",
        help="skip the in-process per-stage timing",
    )
    parser.add_argument("--raw-child", metavar="JSON", help=argparse.SUPPRESS)
    parser.add_argument("--fill-child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.raw_child:
        print(json.dumps(raw_fetch(json.loads(args.raw_child))))
        return 0
    if args.fill_child:
        print(json.dumps(fill_child(json.loads(args.fill_child))))
        return 0

    from kithkin.parsers.headers import HEADER_FIELDS

    servers, _helpers = servers_module()
    if not servers.dovecot_available():
        print("bench_sync: skipped, Dovecot is not installed (apt-get install dovecot-imapd)")
        return 0
    contacts, _ = composer_for(args.seed, args.contacts)
    print(environment(servers))
    with servers.DovecotServer() as server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        create_mailboxes(server)
        started = time.perf_counter()
        # Written by a child: memory this process held before a fork counts in the peak RSS
        # of every child measured after it (Linux keeps the high-water mark across exec).
        fill_spec = {"seed": args.seed, "contacts": args.contacts, "messages": args.messages,
                     "maildir": str(server.maildir)}  # fmt: skip
        filled = subprocess.run(
            [sys.executable, __file__, "--fill-child", json.dumps(fill_spec)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        counts, fetched_bytes = json.loads(filled.stdout)
        print(
            f"wrote {counts} messages in {time.perf_counter() - started:.1f} s; fetched header "
            f"fields average {fetched_bytes / args.messages:.0f} bytes; "
            f"{args.contacts} contacts"
        )
        vcf = workdir / "contacts.vcf"
        vcf.write_text(vcard(contacts), encoding="utf-8")
        secret = workdir / "imap-password"
        secret.write_text(server.password + "\n")
        spec = {
            "host": server.host,
            "port": server.port,
            "username": server.username,
            "password_file": str(secret),
            "folders": list(FOLDERS),
            "fields": list(HEADER_FIELDS),
            "timeout": 300,
        }
        bench = Bench(server, workdir, vcf, args.messages, spec)
        warm_up(server, bench)
        report(bench, args)
    return 0


def report(bench: Bench, args: argparse.Namespace) -> None:
    n = bench.messages
    raws: list[Run] = []
    syncs: list[Run] = []
    logged: set[int] = set()
    for _ in range(args.rounds):
        raws.append(bench.raw())
        run, stored = bench.sync()
        syncs.append(run)
        logged.add(stored)
    print(f"contacts: {bench.import_line}")
    print(f"\n{n} messages; wall and rates are whole processes (start-up and login included)")
    header = (
        f"{'run':<14} {'wall s':>8} {'msg/s':>9} {'cpu µs/msg':>9} {'dovecot':>6} {'RSS MB':>8}"
    )
    print(header + "\n" + "-" * len(header))
    for index, (raw, sync) in enumerate(zip(raws, syncs, strict=True), 1):
        print(describe(raw, n) + f"   round {index}")
        print(describe(sync, n) + f"   round {index}, ratio {sync.rate(n) / raw.rate(n):.2f}")
    print("(cpu: the client process's user+system; dovecot: CPU s of its imap process)")
    best_raw = max(run.rate(n) for run in raws)
    best_sync = max(run.rate(n) for run in syncs)
    ratio = best_sync / best_raw
    peak = max(run.max_rss_mb for run in syncs)
    ratios = [s.rate(n) / r.rate(n) for r, s in zip(raws, syncs, strict=True)]
    print(f"\nraw fetch, best:   {best_raw:8.0f} msg/s")
    print(f"kithkin sync, best: {best_sync:7.0f} msg/s, {sorted(logged)} interaction(s) logged")
    median = statistics.median(ratios)
    print(f"ratio sync/raw: {ratio:.2f} (best vs best; median of the rounds' ratios {median:.2f})")
    print(f"sync peak RSS: {peak:.1f} MB (raw fetch: {max(r.max_rss_mb for r in raws):.1f} MB)")
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"{verdict}: sync/raw {ratio:.2f} (target >= {TARGET_RATIO})")
    verdict = "PASS" if peak <= TARGET_RSS_MB else "FAIL"
    print(f"{verdict}: sync peak RSS {peak:.1f} MB (target <= {TARGET_RSS_MB:.0f} MB)")
    if args.breakdown:
        print_breakdown(bench, raws)
    if args.profile:
        profile = bench.workdir / "sync.prof"
        run, _ = bench.sync(profile=profile)
        print(f"\nsync under cProfile: {run.wall:.1f} s ({run.rate(n):.0f} msg/s, inflated)")
        print_profile(profile)


if __name__ == "__main__":
    sys.exit(main())
