"""Running the checks in order: each a small function of the `Context` returning one
`Result`; a check whose prerequisite failed (or was skipped) is not run but reported as
"skipped: needs <that check>". What a check finds that a later one needs (the config, the
secret, the addresses, the logged-in connection) it leaves in the context."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import TypeVar

from imapclient import IMAPClient

from kithkin.daemon.config import Config, ServerConfig
from kithkin.daemon.doctor.results import Result, fail, skipped
from kithkin.daemon.errors import KithkinError, frames, unexpected
from kithkin.daemon.mail.connect import close_quietly
from kithkin.daemon.mail.credentials import FoundSecret
from kithkin.daemon.mail.probes import Resolver, system_resolver

log = logging.getLogger("kithkin.doctor")
STEP_TIMEOUT = 10.0  # seconds for each network step, unless [imap] timeout is shorter
S = TypeVar("S", bound=ServerConfig)
# `systemctl ARGS...` -> (exit status, stdout), or None where systemctl cannot be run.
Systemctl = Callable[[list[str]], "tuple[int, str] | None"]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    """What the checks are given, and what they find for the ones after them."""

    config_path: Path | None
    timeout: float | None = None  # --timeout: every network step, instead of the default
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    resolver: Resolver = system_resolver
    clock: Callable[[], datetime] = utc_now
    monotonic: Callable[[], float] = monotonic
    systemctl: Systemctl | None = None  # None: the real one (service.py)
    systemd_booted: bool | None = None  # None: look (/run/systemd/system)
    # found by the checks
    config: Config | None = None
    secrets: dict[str, FoundSecret | None] = field(default_factory=dict)  # by server kind
    addresses: dict[str, list[str]] = field(default_factory=dict)  # by server kind
    client: IMAPClient | None = None
    capabilities: frozenset[str] = frozenset()
    folders: list[str] = field(default_factory=list)

    def loaded(self) -> Config:
        if self.config is None:
            raise KithkinError("the config did not load")
        return self.config

    def connection(self) -> IMAPClient:
        """The logged-in connection of the `imap login` check (which the caller needs)."""
        if self.client is None:
            raise KithkinError("not logged in")
        return self.client

    def bounded(self, server: S) -> S:
        """`server` with the doctor's timeout: --timeout, else [imap] timeout up to 10 s."""
        timeout = self.timeout if self.timeout is not None else min(server.timeout, STEP_TIMEOUT)
        return replace(server, timeout=timeout)

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            close_quietly(client)


@dataclass(frozen=True)
class Step:
    """One check: its name, what it needs, and whether it applies to this config."""

    name: str
    run: Callable[[Context], Result]
    needs: tuple[str, ...] = ()
    applies: Callable[[Config], bool] | None = None  # None: always; False: left out


def run_steps(
    steps: Iterable[Step], context: Context, on_result: Callable[[Result], None] | None = None
) -> list[Result]:
    """Every step that applies, in order, each result also handed to `on_result` as soon as
    it is known; the context's connection closed afterwards."""
    results: dict[str, Result] = {}
    try:
        for step in steps:
            if step.applies is not None and (
                context.config is None or not step.applies(context.config)
            ):
                continue
            missing = next(
                (
                    need
                    for need in step.needs
                    if need in results and results[need].status in ("fail", "skip")
                ),
                None,
            )
            result = skipped(step.name, missing) if missing else _run(step, context)
            results[step.name] = result
            if on_result is not None:
                on_result(result)
    finally:
        context.close()
    return list(results.values())


def _run(step: Step, context: Context) -> Result:
    try:
        return step.run(context)
    except KithkinError as exc:
        return fail(step.name, str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        log.debug("%s in %s at:\n%s", type(exc).__name__, step.name, frames(exc))
        return fail(step.name, f"{unexpected(exc)} (a bug in Kithkin; `-vv` shows where)")


def secret_of(context: Context, kind: str) -> str | None:
    found = context.secrets.get(kind)
    return found.value if found is not None else None
