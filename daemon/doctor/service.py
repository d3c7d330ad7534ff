"""The service: is a kithkin unit installed, enabled and running, as your `systemctl --user`
unit or the system's? Where systemd does not run (a container, another init), that is a
note, not a failure: `kithkin run` can be kept up by anything else."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from kithkin.daemon.doctor.results import Result, fail, info, ok, warn
from kithkin.daemon.doctor.runner import Context, Systemctl

UNIT = "kithkin.service"
SYSTEMCTL_TIMEOUT = 10.0
RUNNING_ENABLED = (
    "enabled",
    "enabled-runtime",
    "static",
    "linked",
    "linked-runtime",
    "alias",
    "generated",
    "indirect",
)
USER_INSTALL = (
    "cp systemd/kithkin-user.service ~/.config/systemd/user/kithkin.service && "
    "systemctl --user daemon-reload && systemctl --user enable --now kithkin"
)


@dataclass(frozen=True)
class UnitState:
    """What `systemctl [--user] is-enabled` and `is-active` said of kithkin.service."""

    scope: str  # "user" or "system"
    enabled: str  # "enabled", "disabled", "masked", ..., "not-found"
    active: str  # "active", "inactive", "failed", "activating", ...

    @property
    def installed(self) -> bool:
        return self.enabled != "not-found"

    def command(self, verb: str) -> str:
        user = " --user" if self.scope == "user" else ""
        sudo = "sudo " if self.scope == "system" else ""
        if verb == "journal":
            return f"journalctl{user} -u kithkin -e"
        return f"{sudo}systemctl{user} {verb} kithkin"


def run_systemctl(args: list[str]) -> tuple[int, str] | None:
    """`systemctl ARGS...` -> (exit status, its first line of output); None if it cannot run."""
    try:
        done = subprocess.run(
            ["systemctl", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=SYSTEMCTL_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.returncode, (done.stdout.strip().splitlines() or [""])[0][:100]


def systemd_booted() -> bool:
    """sd_booted(): systemd is the init of this machine."""
    return os.path.isdir("/run/systemd/system") and shutil.which("systemctl") is not None


def unit_state(systemctl: Systemctl, scope: str) -> UnitState | None:
    prefix = ["--user"] if scope == "user" else []
    enabled = systemctl([*prefix, "is-enabled", UNIT])
    active = systemctl([*prefix, "is-active", UNIT])
    if enabled is None or active is None:
        return None
    return UnitState(scope, enabled[1] or "not-found", active[1] or "unknown")


def check_service(context: Context) -> Result:
    booted = context.systemd_booted if context.systemd_booted is not None else systemd_booted()
    if not booted:
        return info(
            "service",
            "systemd not available here; keep `kithkin run` running "
            "some other way for the weekly summary",
        )
    systemctl = context.systemctl or run_systemctl
    states = [s for s in (unit_state(systemctl, scope) for scope in ("user", "system")) if s]
    return service_verdict(states)


def service_verdict(states: list[UnitState]) -> Result:
    name = "service"
    installed = [state for state in states if state.installed]
    if not installed:
        return warn(
            name,
            f"no {UNIT} installed, for you or the system: the summary is "
            "only sent while `kithkin run` runs",
            USER_INSTALL,
        )
    if len(installed) > 1:
        return warn(
            name,
            f"{UNIT} is installed both for you and for the system: two "
            "services would read the same mailbox",
            f"keep one: {installed[0].command('disable --now')}, or "
            f"{installed[1].command('disable --now')}",
        )
    unit = installed[0]
    said = f"{unit.scope} unit {UNIT}: {unit.enabled}, {unit.active}"
    if unit.enabled == "masked":
        return warn(name, said, unit.command("unmask") + " && " + unit.command("enable --now"))
    if unit.active == "failed":
        return fail(
            name, said, f"see why: {unit.command('journal')}; then {unit.command('restart')}"
        )
    if unit.active in ("active", "reloading", "activating"):
        if unit.enabled in RUNNING_ENABLED:
            return ok(name, said)
        return warn(name, said + "; it will not start again after a reboot", unit.command("enable"))
    if unit.enabled in RUNNING_ENABLED:
        return warn(name, said + "; not running now", unit.command("start"))
    return warn(name, said + "; neither enabled nor running", unit.command("enable --now"))
