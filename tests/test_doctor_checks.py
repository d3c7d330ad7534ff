"""The doctor's verdicts as tables, without servers: the folder plan over LIST replies, the
first-sync estimate, file modes, the systemd unit's states, INBOX's room for the summary,
the runner's skipping, DNS with an injected resolver, and clean lines."""

from __future__ import annotations

import socket
import stat
import threading
from pathlib import Path

import pytest
from helpers import write_config
from servers import free_port

from kithkin.daemon.doctor import Context, Result, exit_code, run_doctor
from kithkin.daemon.doctor.estimate import PER_MESSAGE, duration, first_sync_seconds
from kithkin.daemon.doctor.files import config_mode_verdict, store_verdict
from kithkin.daemon.doctor.folders import (
    ALWAYS,
    BY_ALL,
    BY_NAME,
    BY_SENT,
    CONFIGURED,
    plan_folders,
)
from kithkin.daemon.doctor.imap import delivery_verdict, folders_verdict
from kithkin.daemon.doctor.results import fail, ok, warn
from kithkin.daemon.doctor.runner import Step, run_steps
from kithkin.daemon.doctor.service import UnitState, check_service, service_verdict
from kithkin.daemon.mail.folders import choose_folders
from kithkin.daemon.mail.inspection import AppendRoom
from kithkin.daemon.store import Store

DOVECOT = [((b"\\HasNoChildren", b"\\Sent"), b".", "Sent"), ((b"\\HasNoChildren",), b".", "INBOX")]
GMAIL = [
    ((b"\\HasNoChildren",), b"/", "INBOX"),
    ((b"\\Noselect", b"\\HasChildren"), b"/", "[Gmail]"),
    ((b"\\All", b"\\HasNoChildren"), b"/", "[Gmail]/All Mail"),
    ((b"\\HasNoChildren", b"\\SENT"), b"/", "[Gmail]/Sent Mail"),
]
NO_SPECIAL_USE = [((), b".", "INBOX"), ((), b".", "INBOX.Drafts"), ((), b".", "INBOX.Sent Items")]
NO_SENT = [((), b"/", "INBOX"), ((), b"/", "Archive")]


# --- folders -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listing", "expected", "sent_found"),
    [
        (DOVECOT, [("INBOX", ALWAYS), ("Sent", BY_SENT)], True),
        (GMAIL, [("[Gmail]/All Mail", BY_ALL)], True),
        (NO_SPECIAL_USE, [("INBOX", ALWAYS), ("INBOX.Sent Items", BY_NAME)], True),
        (NO_SENT, [("INBOX", ALWAYS)], False),
    ],
    ids=["dovecot", "gmail", "no-special-use", "no-sent"],
)
def test_the_folder_plan_says_how_each_folder_was_found(listing, expected, sent_found) -> None:
    plan = plan_folders(listing, None)
    assert [(c.name, c.found_by) for c in plan.chosen] == expected
    assert [c.name for c in plan.chosen] == choose_folders(listing)  # the sync's own choice
    assert plan.ok and plan.sent_found is sent_found


@pytest.mark.parametrize(
    ("configured", "missing", "suggestions"),
    [
        (("INBOX", "Sent"), (), ()),
        (("inbox", "Sent"), (), ()),  # INBOX is INBOX in any case
        (("INBOX", "sent"), ("sent",), (("sent", "Sent"),)),  # other names are case-sensitive
        (("INBOX", "Sent Items"), ("Sent Items",), (("Sent Items", "Sent"),)),  # the \Sent one
        (("INBOX", "Snet"), ("Snet",), (("Snet", "Sent"),)),  # a typo
        (("INBOX", "Junk"), ("Junk",), ()),
        (("Archive",), ("Archive",), ()),
    ],
)
def test_a_configured_folder_must_exist(configured, missing, suggestions) -> None:
    plan = plan_folders(DOVECOT, configured)
    assert plan.missing == missing
    assert plan.suggestions == suggestions
    assert plan.ok is (not missing)
    assert [c.name for c in plan.chosen] == [n for n in configured if n not in missing]
    assert all(choice.found_by == CONFIGURED for choice in plan.chosen)


def test_a_configured_folder_is_found_by_its_last_name_part_and_must_be_selectable() -> None:
    assert plan_folders(NO_SPECIAL_USE, ("INBOX", "Drafts")).suggestions == (
        ("Drafts", "INBOX.Drafts"),
    )
    plan = plan_folders(GMAIL, ("[Gmail]",))
    assert plan.unselectable == ("[Gmail]",) and not plan.ok and not plan.chosen


def test_the_folders_line_names_what_is_missing_and_what_is_there() -> None:
    result = folders_verdict(
        plan_folders(DOVECOT, ("INBOX", "Sent Items", "Junk")), ["INBOX", "Sent"]
    )
    assert result.status == "fail"
    assert result.message == (
        "[imap] folders: 'Sent Items' is not on the server; 'Junk' is not on the server"
    )
    assert result.hint == "did you mean 'Sent' for 'Sent Items'? the server has: INBOX, Sent"
    no_sent = folders_verdict(plan_folders(NO_SENT, None), ["Archive", "INBOX"])
    assert no_sent.status == "warn"
    assert "no folder of sent mail found" in no_sent.message
    listed = [f"F{n:02d}" for n in range(20)]
    many = folders_verdict(plan_folders(NO_SENT, ("Nope",)), listed)
    assert many.hint == "the server has: " + ", ".join(listed[:12]) + ", ..."


def test_a_folder_name_from_the_server_reaches_the_line_clean() -> None:
    hostile = "Sent\x1b[2J\x1b]0;owned\x07\u202e"
    result = folders_verdict(
        plan_folders([((), b"/", "INBOX"), ((), b"/", hostile)], ("INBOX", "Missing\r\nFAIL x")),
        ["INBOX", hostile],
    )
    for text in (result.message, result.hint or ""):
        assert text.isprintable(), text
    chosen = folders_verdict(plan_folders([((b"\\Sent",), b"/", hostile)], None), [hostile])
    assert chosen.message == "reads INBOX (always read), Sent (by its \\Sent attribute)"


# --- the estimate ------------------------------------------------------------------------------


def test_the_first_sync_estimate_counts_messages_and_round_trips() -> None:
    assert PER_MESSAGE == 60e-6
    # 100,000 messages: 6 s of work; 2 folders x 3 + 200 batches / 8 in flight = 31 trips
    assert first_sync_seconds(100_000, 2, 0.05) == pytest.approx(6.0 + 31 * 0.05)
    assert first_sync_seconds(0, 2, 0.0) == 0
    assert first_sync_seconds(1, 1, 0.1) == pytest.approx(60e-6 + 4 * 0.1)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.2, "under a second"),
        (1.2, "about 1 second"),
        (40, "about 40 seconds"),
        (89.4, "about 89 seconds"),
        (100, "about 2 minutes"),
        (420, "about 7 minutes"),
        (9000, "about 2.5 hours"),
    ],
)
def test_durations_read_at_a_glance(seconds, words) -> None:
    assert duration(seconds) == words


# --- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "system", "status", "hint"),
    [
        (0o600, False, "ok", None),
        (0o400, False, "ok", None),
        (0o640, False, "warn", "chmod 600 '/home/a b/config.toml'"),
        (0o644, False, "warn", "chmod 600 '/home/a b/config.toml'"),
        (0o620, False, "fail", "chmod 600 '/home/a b/config.toml'"),
        (0o602, False, "fail", "chmod 600 '/home/a b/config.toml'"),
        (0o644, True, "ok", None),  # the system service's DynamicUser must read it
        (0o664, True, "fail", "chmod 644 '/home/a b/config.toml'"),
    ],
)
def test_config_modes(mode, system, status, hint) -> None:
    result = config_mode_verdict(Path("/home/a b/config.toml"), stat.S_IFREG | mode, system=system)
    assert (result.status, result.hint) == (status, hint)
    assert f"mode {mode:04o}" in result.message


def test_a_store_readable_by_others_gets_the_chmod_line(tmp_path) -> None:
    path = tmp_path / "kithkin.db"
    Store.open(path).close()
    assert store_verdict(path).status == "ok"
    path.chmod(0o644)
    result = store_verdict(path)
    assert result.status == "warn"
    assert result.hint is not None and result.hint.startswith(f"chmod 600 {path}")


def test_a_store_that_is_not_kithkins_or_is_newer_fails(tmp_path) -> None:
    foreign = tmp_path / "notes.txt"
    foreign.write_text("my notes, not a database")
    assert store_verdict(foreign).message == (
        f"{foreign} is not a SQLite database; Kithkin will not touch it"
    )
    newer = tmp_path / "newer.db"
    Store.open(newer).close()
    header = bytearray(newer.read_bytes())
    header[60:64] = (9999).to_bytes(4, "big")
    newer.write_bytes(bytes(header))
    assert store_verdict(newer).message == (f"{newer} was written by a newer Kithkin (schema 9999)")
    assert foreign.read_text() == "my notes, not a database"  # looked at, never written


# --- summary delivery by APPEND ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("room", "status", "words"),
    [
        (AppendRoom(None, None, None), "ok", "no ACL, APPENDLIMIT or QUOTA to ask"),
        (
            AppendRoom("lrswipkxtecda", 35_000_000, (10, 1000)),
            "ok",
            "rights lrswipkxtecda, messages up to 35,000,000 bytes, 990 KiB free",
        ),
        (AppendRoom("lr", None, None), "fail", "you may not add messages to INBOX"),
        (
            AppendRoom(None, None, None, ("MYRIGHTS", "GETQUOTAROOT")),
            "warn",
            "would not answer MYRIGHTS and GETQUOTAROOT for INBOX",
        ),
        (AppendRoom(None, 100_000, None), "fail", "at most 100,000 bytes (APPENDLIMIT)"),
        (AppendRoom(None, None, (999_900, 1_000_000)), "fail", "INBOX has 100 KiB free of its"),
        (AppendRoom(None, None, (1_000_100, 1_000_000)), "fail", "INBOX has 0 KiB free of its"),
    ],
)
def test_inbox_delivery_is_judged_from_what_the_server_says(room, status, words) -> None:
    result = delivery_verdict(room)
    assert result.status == status and words in result.message


# --- the service ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "status", "words"),
    [
        (
            [UnitState("user", "enabled", "active"), UnitState("system", "not-found", "inactive")],
            "ok",
            "user unit kithkin.service: enabled, active",
        ),
        (
            [UnitState("user", "not-found", "inactive"), UnitState("system", "enabled", "active")],
            "ok",
            "system unit kithkin.service: enabled, active",
        ),
        ([UnitState("user", "not-found", "inactive")], "warn", "no kithkin.service installed"),
        ([UnitState("user", "enabled", "failed")], "fail", "enabled, failed"),
        ([UnitState("user", "disabled", "active")], "warn", "will not start again"),
        ([UnitState("user", "enabled", "inactive")], "warn", "not running now"),
        ([UnitState("system", "disabled", "inactive")], "warn", "neither enabled nor running"),
        ([UnitState("user", "masked", "inactive")], "warn", "masked"),
        (
            [UnitState("user", "enabled", "active"), UnitState("system", "enabled", "active")],
            "warn",
            "installed both for you and for the system",
        ),
    ],
)
def test_the_service_verdict(states, status, words) -> None:
    result = service_verdict(states)
    assert result.status == status and words in result.message


def test_failed_unit_hints_point_at_the_right_journal() -> None:
    assert service_verdict([UnitState("user", "enabled", "failed")]).hint == (
        "see why: journalctl --user -u kithkin -e; then systemctl --user restart kithkin"
    )
    assert service_verdict([UnitState("system", "enabled", "failed")]).hint == (
        "see why: journalctl -u kithkin -e; then sudo systemctl restart kithkin"
    )


def test_systemd_missing_is_a_note_and_systemctl_is_asked_for_both_scopes() -> None:
    absent = check_service(Context(config_path=None, systemd_booted=False))
    assert (absent.status, absent.message.split(";")[0]) == ("info", "systemd not available here")
    asked: list[list[str]] = []
    answers = {"is-enabled": (0, "enabled"), "is-active": (0, "active")}

    def systemctl(args: list[str]) -> tuple[int, str]:
        asked.append(args)
        if "--user" not in args:
            return (1, "") if args[0] == "is-enabled" else (3, "inactive")
        return answers[args[-2]]

    result = check_service(Context(config_path=None, systemd_booted=True, systemctl=systemctl))
    assert result.message == "user unit kithkin.service: enabled, active"
    assert asked == [
        ["--user", "is-enabled", "kithkin.service"],
        ["--user", "is-active", "kithkin.service"],
        ["is-enabled", "kithkin.service"],
        ["is-active", "kithkin.service"],
    ]


# --- the runner ------------------------------------------------------------------------------


def test_a_failed_check_skips_what_needs_it_and_nothing_else() -> None:
    ran: list[str] = []

    def check(name: str, verdict=ok):
        def run(context: Context) -> Result:
            ran.append(name)
            return verdict(name, "said")

        return run

    def broken(context: Context) -> Result:
        raise RuntimeError("a secret in the text of a bug")

    steps = [
        Step("a", check("a")),
        Step("b", check("b", fail), needs=("a",)),
        Step("c", check("c"), needs=("b",)),
        Step("d", check("d"), needs=("c",)),
        Step("e", check("e", warn), needs=("a",)),
        Step("f", check("f"), needs=("e",)),
        Step("g", broken),
        Step("h", check("h"), needs=("g",)),
        Step("i", check("i"), applies=lambda config: True),  # no config: left out
    ]
    seen: list[Result] = []
    results = run_steps(steps, Context(config_path=None), seen.append)
    assert ran == ["a", "b", "e", "f"]
    assert [(r.name, r.status, r.message) for r in results] == [
        ("a", "ok", "said"),
        ("b", "fail", "said"),
        ("c", "skip", "skipped: needs b"),
        ("d", "skip", "skipped: needs c"),
        ("e", "warn", "said"),  # a warning does not stop what needs it
        ("f", "ok", "said"),
        ("g", "fail", "unexpected RuntimeError (a bug in Kithkin; `-vv` shows where)"),
        ("h", "skip", "skipped: needs g"),
    ]
    assert seen == results
    assert exit_code(results) == 1
    assert exit_code([r for r in results if r.status != "fail"]) == 3  # a warning is left
    assert exit_code([r for r in results if r.status not in ("fail", "warn")]) == 0


def test_results_are_clean_lines() -> None:
    result = Result("x", "fail", "bad\x1b[31m red\x07\r\nFAIL forged", "\x00chmod 600\x9b")
    assert result.message == "bad red FAIL forged"
    assert result.hint == "chmod 600"
    assert Result("x", "ok", "m", "\x1b[0m").hint is None


# --- DNS, with the resolver injected ---------------------------------------------------------


def _config(tmp_path: Path) -> Path:
    class Endpoint:
        host, port, username, password = "mail.example.test", free_port(), "me", "x"

    config = write_config(tmp_path / "k", Endpoint, imap={"security": "tls"})
    config.chmod(0o600)
    return config


def _results(config: Path, resolver, **options) -> dict[str, Result]:
    context = Context(config_path=config, resolver=resolver, systemd_booted=False, **options)
    return {result.name: result for result in run_doctor(context)}


def test_dns_says_what_the_host_resolves_to(tmp_path) -> None:
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.1"]

    results = _results(_config(tmp_path), resolver)
    assert results["imap dns"].message == "mail.example.test resolves to 127.0.0.1"
    assert asked and asked[0][0] == "mail.example.test"
    assert results["imap tcp"].status == "fail"  # nothing listens on that port


def test_a_name_that_does_not_resolve_fails_and_skips_the_rest(tmp_path) -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    results = _results(_config(tmp_path), resolver)
    dns = results["imap dns"]
    assert (dns.status, dns.message, dns.hint) == (
        "fail",
        "mail.example.test: host name not found",
        "check [imap] host",
    )
    assert results["imap tcp"].message == "skipped: needs imap dns"
    assert results["imap login"].message == "skipped: needs imap tls"


def test_a_resolver_that_hangs_is_given_up_on(tmp_path) -> None:
    release = threading.Event()

    def resolver(host: str, port: int) -> list[str]:
        release.wait(30)
        return ["127.0.0.1"]

    try:
        results = _results(_config(tmp_path), resolver, timeout=0.2)
    finally:
        release.set()
    assert results["imap dns"].message == "mail.example.test: no answer from the resolver in 0.2 s"
    assert results["imap dns"].status == "fail"
