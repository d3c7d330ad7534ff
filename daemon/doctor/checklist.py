"""The checks of `kithkin doctor`, in the order a connection is made, each with what it needs.
With several `[[mailbox]]` tables, the IMAP checks run for each ("imap work login"), the
mailbox the summary goes to last, so that the delivery check has its connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

from kithkin.daemon.config import Config, ImapConfig
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


IMAP_STEPS = tuple(step for step in STEPS if step.name.startswith("imap "))


def run_doctor(context: Context, on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Every check that applies, in order; network steps bounded by the context's timeout."""
    return run_steps(_steps(context), context, on_result)


def _steps(context: Context) -> Iterator[Step]:
    """STEPS, with the IMAP ones once per mailbox when there are several (decided once the
    `config` step has loaded the config: the steps are taken one at a time)."""
    before, after = STEPS[:2], STEPS[2:]
    yield from before
    config = context.config
    if config is None or config.imap is None or len(config.mailboxes) <= 1:
        yield from after
        return
    delivery = config.imap
    for mailbox in [m for m in config.mailboxes if m != delivery] + [delivery]:
        for step in IMAP_STEPS:
            yield _in_mailbox(step, mailbox, config)
    for step in after:
        if step not in IMAP_STEPS:
            yield replace(step, needs=tuple(_named(need, delivery) for need in step.needs))


def _named(check: str, mailbox: ImapConfig) -> str:
    return check.replace("imap ", f"imap {mailbox.name} ", 1) if check in _IMAP_NAMES else check


_IMAP_NAMES = {step.name for step in IMAP_STEPS}


def _in_mailbox(step: Step, mailbox: ImapConfig, config: Config) -> Step:
    name = _named(step.name, mailbox)

    def run(context: Context) -> Result:
        if step is IMAP_STEPS[0]:  # a new mailbox: what the last one found is not its
            context.close()
            context.secrets.pop("imap", None)
            context.addresses.pop("imap", None)
            context.capabilities, context.folders = frozenset(), []
        context.config = replace(config, imap=mailbox)
        try:
            return replace(step.run(context), name=name)
        finally:
            context.config = config

    return Step(name, run, tuple(_named(need, mailbox) for need in step.needs), step.applies)
