"""SMTP, for `[summary] delivery = "smtp"`: the login, then QUIT. Nothing is ever sent: no
MAIL FROM, no RCPT TO, no DATA."""

from __future__ import annotations

from kithkin.daemon.doctor.results import Result, fail, ok
from kithkin.daemon.doctor.runner import Context, secret_of
from kithkin.daemon.mail.probes import ProbeFailure, smtp_login


def check_smtp_login(context: Context) -> Result:
    smtp = context.bounded(context.loaded().require_smtp())
    secret = secret_of(context, "smtp")
    try:
        smtp_login(smtp, secret)
    except ProbeFailure as exc:
        return fail("smtp login", str(exc), _hint(exc.reason, smtp.username, context))
    if secret is None:
        return ok("smtp login", "connected without logging in (no SMTP password); QUIT")
    return ok("smtp login", f"logged in as {smtp.username}, then QUIT without sending")


def _hint(reason: str, username: str, context: Context) -> str | None:
    found = context.secrets.get("smtp")
    if reason == "login-refused":
        source = found.source if found is not None else "its source"
        return f'check [smtp] username ("{username}") and the password from {source}'
    if reason == "no-auth":
        return "the server offers AUTH only over TLS, or not at all: check [smtp] security and port"
    return None


def check_smtp_delivery(context: Context) -> Result:
    to = context.loaded().summary_recipient()
    return ok("summary delivery", f"the summary can go by SMTP to {to} (nothing was sent)")
