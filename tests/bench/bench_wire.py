"""Sync at the speed of the wire: kithkin's first sync beside what the wire allows.

Run: `python tests/bench/bench_wire.py [--messages N] [--scale 300000,1000000] [--rounds R]`
(defaults: 100,000 messages, scale points 300,000 and 1,000,000, 3 rounds; 15 to 30 minutes
with the million). `--scale ""` leaves the scale points out. Needs Dovecot.

On private Dovecots filled by bench_sync.py's generator (INBOX 70%, Sent 30%), side by side,
each a child process whose CPU and peak RSS come from `os.wait4`:

1. For a mailbox with 10% of its mail exchanged with contacts, then one with a third:
   - socket: a bare socket logs in, EXAMINEs each folder and sends one `UID FETCH 1:*` of
     kithkin's own items, counting bytes and FETCH replies and parsing nothing;
   - imapclient: bench_sync.py's raw header fetch (UIDs listed, batches of 500);
   - kithkin sync into a fresh store, on loopback and through a relay on 127.0.0.1 that
     delays each direction by 25 ms (tests/faultproxy.py), keeping the throughput.
2. An idle `kithkin sync` (nothing changed) of the 100,000-message mailbox and of a
   1,000-message one, run in turn (the best of 3 each); and the round trips (after login)
   of an idle poll of 20 folders, and of one after two of them changed, counted by the
   session itself.
3. Scale: the 10% mailbox grown to each `--scale` point; a first sync's time per message (the
   best of the rounds, as at 100,000) and peak RSS (the highest of the rounds) at each.

Targets (issue 16): sync >= 2x imapclient and >= 0.25x socket; relay <= 1.25x loopback; idle
poll <= 2 round trips per changed folder, about 1 for all unchanged; idle sync of 100k within
1.2x of 1k; peak RSS <= 64 MB at 1M and time per message there within 1.3x of 100k.
PASS/FAIL is informational; the exit status is 0 unless something crashed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sync as base

LATENCY = 0.025  # seconds, each direction, through the relay
SHARES = (0.10, 1 / 3)
EXTRA_FOLDERS = 18  # beside INBOX and Sent: 20 folders for the idle poll
TARGETS = {"imapclient": 2.0, "socket": 0.25, "relay": 1.25, "idle": 1.2, "scale": 1.3}
TARGET_RSS_MB = 64.0


# --- the bare-socket reference (a child process) ---------------------------------------------


def socket_fetch(spec: dict[str, Any]) -> dict[str, Any]:
    """LOGIN, then per folder EXAMINE and one `UID FETCH 1:*`; bytes and replies counted."""
    started = time.perf_counter()
    sock = socket.create_connection((spec["host"], spec["port"]), timeout=spec["timeout"])
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    counts = {"bytes": 0, "replies": 0}
    tags = iter(range(1, 1000))

    def until(end: bytes) -> None:
        tail = b"\r\n"  # the end of the reply before: a tagged line may be the first
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            counts["bytes"] += len(chunk)
            window = tail + chunk
            counts["replies"] += window.count(b" FETCH (") - tail.count(b" FETCH (")
            if end in window:
                return
            tail = window[-64:]

    def command(text: str) -> None:
        tag = f"A{next(tags)}".encode()
        sock.sendall(tag + b" " + text.encode() + b"\r\n")
        until(b"\r\n" + tag + b" ")

    until(b"\r\n")
    password = Path(spec["password_file"]).read_text().rstrip("\n")
    quoted = '"' + password.replace("\\", "\\\\").replace('"', '\\"') + '"'
    command(f"LOGIN {spec['username']} {quoted}")
    counts["bytes"] = counts["replies"] = 0
    for folder in spec["folders"]:
        command(f"EXAMINE {folder}")
        command(f"UID FETCH 1:* ({spec['item']} INTERNALDATE)")
    command("LOGOUT")
    return {**counts, "seconds": time.perf_counter() - started}


# --- one mailbox, its runs ---------------------------------------------------------------------


class Mailbox:
    """A private Dovecot with generated mail, and the runs measured on it."""

    def __init__(self, workdir: Path, messages: int, share: float, args: argparse.Namespace):
        self.servers, self.helpers = base.servers_module()
        self.server = self.servers.DovecotServer()
        self.server.__enter__()
        self.workdir = workdir
        workdir.mkdir(parents=True)
        self.share, self.seed, self.contacts = share, args.seed, args.contacts
        self.messages = self.parts = 0
        base.create_mailboxes(self.server)
        people, _ = base.composer_for(args.seed, args.contacts, share)
        vcf = workdir / "contacts.vcf"
        vcf.write_text(base.vcard(people), encoding="utf-8")
        secret = workdir / "imap-password"
        secret.write_text(self.server.password + "\n")
        from kithkin.daemon.mail.headers import FIRST_READ, HEADER_ITEM
        from kithkin.parsers.headers import HEADER_FIELDS

        spec = {"host": self.server.host, "port": self.server.port, "timeout": 600,
                "username": self.server.username, "password_file": str(secret),
                "folders": list(base.FOLDERS), "fields": list(HEADER_FIELDS),
                "item": f"{HEADER_ITEM}<0.{FIRST_READ}>"}  # fmt: skip
        self.bench = base.Bench(self.server, workdir, vcf, 0, spec)
        self.grow(messages)

    def grow(self, total: int) -> None:
        """Add generated mail up to `total` messages (written by a child), then warm up."""
        started = time.perf_counter()
        spec = {"seed": self.seed, "contacts": self.contacts, "share": self.share,
                "messages": total - self.messages, "part": self.parts,
                "maildir": str(self.server.maildir)}  # fmt: skip
        subprocess.run([sys.executable, base.__file__, "--fill-child", json.dumps(spec)],
                       capture_output=True, check=True)  # fmt: skip
        self.parts += 1
        self.messages = self.bench.messages = total
        written = time.perf_counter() - started
        os.sync()  # else the syncs measured pay for writing back this mail (fsyncs wait on it)
        started = time.perf_counter()
        self.socket()  # Dovecot indexes the new files and fills its cache
        print(
            f"  ({total} messages, {self.share:.0%} with contacts; written in {written:.0f} s, "
            f"indexed and read once in {time.perf_counter() - started:.0f} s)"
        )

    def socket(self) -> base.Run:
        command = [sys.executable, __file__, "--socket-child", json.dumps(self.bench.raw_spec)]
        run = base.run_child("socket", command, self.server, self.workdir / "socket.err")
        if json.loads(run.stdout)["replies"] != self.messages:
            raise RuntimeError(f"the socket read {run.stdout.strip()}, not {self.messages}")
        return run

    def sync(self, *, latency: float = 0.0) -> tuple[base.Run, Path]:
        """A first sync into a fresh store (directly, or through the delaying relay)."""
        config = self.bench.fresh_config()
        proxy = None
        if latency:
            proxy = self.faultproxy().FaultProxy(self.server.host, self.server.port)
            proxy.latency = latency
            proxy.start()
            text = config.read_text().replace(f"port = {self.server.port}", f"port = {proxy.port}")
            config.write_text(text)
        cpu = time.process_time()  # this process only relays meanwhile
        try:
            label = "relay sync" if latency else "kithkin sync"
            run = base.run_child(label, base.kithkin(config, "sync", "-q"), self.server,
                                 self.workdir / "sync.err")  # fmt: skip
        finally:
            if proxy is not None:
                proxy.close()
        if proxy is not None:
            relay_cpu = time.process_time() - cpu
            print(f"  (a relayed sync ran; the relay's own CPU: {relay_cpu:.2f} s)")
        if f"{self.messages} new message(s)" not in run.stdout:
            raise RuntimeError(f"{label} printed {run.stdout!r}, not {self.messages} messages")
        return run, config

    def idle(self, config: Path, repeat: int = 3) -> base.Run:
        """The best of `repeat` syncs with nothing new (after a first sync with `config`)."""
        command = base.kithkin(config, "sync", "-q")
        err = self.workdir / "idle.err"
        runs = [base.run_child("idle", command, self.server, err) for _ in range(repeat)]
        return min(runs, key=lambda run: run.wall)

    @staticmethod
    def faultproxy() -> Any:
        import faultproxy

        return faultproxy

    def close(self) -> None:
        self.server.__exit__(None, None, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def idle_side_by_side(
    small: Mailbox, small_config: Path, big: Mailbox, big_config: Path, repeat: int = 3
) -> tuple[base.Run, base.Run]:
    """The best of `repeat` idle syncs of each mailbox, run in turn: the two are measured
    in the same minute, not minutes apart (this machine's speed drifts between minutes)."""
    smalls, bigs = [], []
    for _ in range(repeat):
        smalls.append(small.idle(small_config, repeat=1))
        bigs.append(big.idle(big_config, repeat=1))
    return min(smalls, key=lambda run: run.wall), min(bigs, key=lambda run: run.wall)


# --- the idle poll of 20 folders -------------------------------------------------------------


def poll_turns(box: Mailbox) -> tuple[int, int, int]:
    """(folders, round trips of an idle poll, round trips once two folders changed), counted
    by the session (login not included), in this process."""
    from datetime import UTC, datetime

    from mailbuilder import make_message

    from kithkin.daemon.config import load_config
    from kithkin.daemon.mail.session import ImapSession
    from kithkin.daemon.store import Store
    from kithkin.daemon.sync import Sync

    names = [f"Project{n:02d}" for n in range(EXTRA_FOLDERS)]
    with box.servers.imap_client(box.server) as client:
        for name in names:
            client.create_folder(name)
            for n in range(3):
                client.append(name, make_message(from_=f"p{n}@example.org", subject=f"{n}"))
    folders = [*base.FOLDERS, *names]
    config_path = box.helpers.write_config(box.workdir / "folders", box.server,
                                           imap={"folders": folders})  # fmt: skip
    config = load_config(config_path)
    store = Store.open(config.store_path)

    def turns() -> int:
        session = ImapSession.connect(config.require_imap(), box.server.password)
        try:
            Sync(session, store, config.me, clock=lambda: datetime.now(UTC)).run()
        finally:
            session.logout()
        return session.turns

    turns()  # the first sync
    idle = turns()
    with box.servers.imap_client(box.server) as client:
        for name in names[:2]:
            client.append(name, make_message(from_="new@example.org", subject="new"))
    changed = turns()
    store.close()
    return len(folders), idle, changed


# --- the report --------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def compare(box: Mailbox, rounds: int) -> dict[str, float]:
    """Socket, imapclient, sync and relayed sync, alternated; the best of each, by wall time."""
    n = box.messages
    best: dict[str, base.Run] = {}
    print(f"{'run':<14} {'wall s':>8} {'msg/s':>9} {'cpu µs/msg':>9} {'dovecot':>6} {'RSS MB':>8}")
    for index in range(1, rounds + 1):
        runs = {"socket": box.socket(), "imapclient": box.bench.raw(), "sync": box.sync()[0],
                "relay": box.sync(latency=LATENCY)[0]}  # fmt: skip
        for label, run in runs.items():
            print(base.describe(run, n) + f"   {label}, round {index}")
            if label not in best or run.wall < best[label].wall:
                best[label] = run
    sync = best["sync"]
    figures = {
        "imapclient": best["imapclient"].wall / sync.wall,
        "socket": best["socket"].wall / sync.wall,
        "relay": best["relay"].wall / sync.wall,
        "rss": sync.max_rss_mb,
        "per_message": sync.wall / n * 1e6,
    }
    print(f"sync/imapclient {figures['imapclient']:.2f}x  "
          f"{verdict(figures['imapclient'] >= TARGETS['imapclient'])} (>= 2)")  # fmt: skip
    print(f"sync/socket     {figures['socket']:.2f}x  "
          f"{verdict(figures['socket'] >= TARGETS['socket'])} (>= 0.25)")  # fmt: skip
    print(f"relay/loopback  {figures['relay']:.2f}x  "
          f"{verdict(figures['relay'] <= TARGETS['relay'])} (<= 1.25, {LATENCY * 1e3:.0f} ms "
          "each way)")  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--scale", default="300000,1000000", help="mailbox sizes to grow to")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip", default="", help="parts left out: small, compare (e.g. for a "
                        "scale run alone)")  # fmt: skip
    parser.add_argument("--contacts", type=int, default=200)
    shares = ",".join(f"{share:.4f}" for share in SHARES)
    parser.add_argument(
        "--shares", default=shares, help="of the mail with contacts, a mailbox each"
    )
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--socket-child", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.socket_child:
        print(json.dumps(socket_fetch(json.loads(args.socket_child))))
        return 0
    servers, _ = base.servers_module()
    if not servers.dovecot_available():
        print("bench_wire: skipped, Dovecot is not installed (apt-get install dovecot-imapd)")
        return 0
    print(base.environment(servers))
    scale = [int(point) for point in args.scale.split(",") if point]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        skip = set(args.skip.split(","))
        if "small" not in skip:
            print("\n== a 1,000-message mailbox: idle sync, and an idle poll of 20 folders")
            small = stack.enter_context(Mailbox(workdir / "small", 1000, SHARES[0], args))
            _, small_config = small.sync()
            folders, idle_turns, changed_turns = poll_turns(small)
            print(f"idle poll of {folders} folders: {idle_turns} round trip(s) "
                  f"{verdict(idle_turns <= 2)} (about 1); two changed: {changed_turns} "
                  f"{verdict(changed_turns - idle_turns <= 4)} (<= 2 more each)")  # fmt: skip
        figures = {}
        shares = [float(share) for share in args.shares.split(",")]
        for index, share in enumerate(shares if "compare" not in skip else shares[:1]):
            print(f"\n== {args.messages} messages, {share:.0%} with contacts")
            with Mailbox(workdir / f"share{index}", args.messages, share, args) as box:
                if "compare" in skip:
                    run, config = box.sync()
                    figures[share] = {"per_message": run.wall / box.messages * 1e6,
                                      "rss": run.max_rss_mb}  # fmt: skip
                else:
                    figures[share] = compare(box, args.rounds)
                if index == 0 and "small" not in skip:
                    _, config = box.sync()
                    idle_small, idle_big = idle_side_by_side(small, small_config, box, config)
                    ratio = idle_big.wall / idle_small.wall
                    print(f"idle sync: {idle_big.wall:.2f} s at {args.messages}, "
                          f"{idle_small.wall:.2f} s at 1000: {ratio:.2f}x "
                          f"{verdict(ratio <= TARGETS['idle'])} (<= 1.2)")  # fmt: skip
                if index == 0:
                    points = {args.messages: (figures[share]["per_message"], figures[share]["rss"])}
                    for point in scale:
                        box.grow(point)
                        runs = []
                        for round_ in range(1, args.rounds + 1):
                            runs.append(box.sync()[0])
                            print(base.describe(runs[-1], point) + f"   sync, round {round_}")
                        best = min(runs, key=lambda run: run.wall)  # as at 100k: like with like
                        peak = max(run.max_rss_mb for run in runs)
                        points[point] = (best.wall / point * 1e6, peak)
        if scale:
            print("\n== scale: a first sync, 10% with contacts")
            print(f"{'messages':>10} {'µs/msg':>8} {'peak RSS MB':>12}")
            for point, (per_message, rss) in points.items():
                print(f"{point:>10} {per_message:>8.1f} {rss:>12.1f}")
            top = max(points)
            slower = points[top][0] / points[args.messages][0]
            print(f"time per message at {top} / at {args.messages}: {slower:.2f}x "
                  f"{verdict(slower <= TARGETS['scale'])} (<= 1.3); peak RSS "
                  f"{points[top][1]:.1f} MB {verdict(points[top][1] <= TARGET_RSS_MB)} "
                  "(<= 64)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
