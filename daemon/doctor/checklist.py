"""The checks of `kithkin doctor`, in the order a connection is made, each with what it needs."""

from __future__ import annotations

from collections.abc import Callable

from kithkin.daemon.config import Config
from kithkin.daemon.doctor.files import check_config, check_config_file, check_store
from kithkin.daemon.doctor.imap import (
    check_capabilities,
    check_folders,
    check_inbox_delivery,
    check_login,
    check_messages,
    password_check,
)
from kithkin.daemon.doctor.network import dns_check, tcp_check, tls_check
from kithkin.daemon.doctor.results import Result
from kithkin.daemon.doctor.runner import Context, Step, run_steps
from kithkin.daemon.doctor.service import check_service
from kithkin.daemon.doctor.smtp import check_smtp_delivery, check_smtp_login


def _by_smtp(config: Config) -> bool:
    return config.summary.delivery == "smtp"


def _by_imap(config: Config) -> bool:
    return config.summary.delivery == "imap"


STEPS = (
    Step("config file", check_config_file),
    Step("config", check_config, needs=("config file",)),
    Step("imap password", password_check("imap"), needs=("config",)),
    Step("imap dns", dns_check("imap"), needs=("config",)),
    Step("imap tcp", tcp_check("imap"), needs=("imap dns",)),
    Step("imap tls", tls_check("imap"), needs=("imap tcp",)),
    Step("imap login", check_login, needs=("imap tls", "imap password")),
    Step("imap capabilities", check_capabilities, needs=("imap login",)),
    Step("imap folders", check_folders, needs=("imap login",)),
    Step("imap messages", check_messages, needs=("imap folders",)),
    Step("store", check_store, needs=("config",)),
    Step("smtp password", password_check("smtp"), needs=("config",), applies=_by_smtp),
    Step("smtp dns", dns_check("smtp"), needs=("config",), applies=_by_smtp),
    Step("smtp tcp", tcp_check("smtp"), needs=("smtp dns",), applies=_by_smtp),
    Step("smtp tls", tls_check("smtp"), needs=("smtp tcp",), applies=_by_smtp),
    Step("smtp login", check_smtp_login, needs=("smtp tls", "smtp password"), applies=_by_smtp),
    Step("summary delivery", check_inbox_delivery, needs=("imap capabilities",), applies=_by_imap),
    Step("summary delivery", check_smtp_delivery, needs=("smtp login",), applies=_by_smtp),
    Step("service", check_service),
)


def run_doctor(context: Context, on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Every check that applies, in order; network steps bounded by the context's timeout."""
    return run_steps(STEPS, context, on_result)
