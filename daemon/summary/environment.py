"""The jinja2 environment for the summary: package templates, overridable by the owner.

Templates are looked up first in `$XDG_CONFIG_HOME/kithkin/templates/`, then in the ones
shipped with Kithkin. HTML templates are autoescaped; undefined names are errors.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from urllib.parse import quote

import jinja2

from kithkin.daemon.config import config_home
from kithkin.daemon.core import wording


def template_dir() -> Path:
    """`templates/` as installed: beside `daemon/` (kithkin/templates, the package data) in
    normal and editable installs alike."""
    return Path(__file__).resolve().parents[2] / "templates"


def user_template_dir() -> Path:
    return config_home() / "templates"


def mailto(address: str, subject: str | None = None, body: str | None = None) -> str:
    """A `mailto:` URL; every part percent-encoded so nothing can break out of it."""
    query = []
    if subject:
        query.append("subject=" + quote(subject, safe=""))
    if body:
        query.append("body=" + quote(body, safe=""))
    return "mailto:" + quote(address, safe="@") + ("?" + "&".join(query) if query else "")


TEXT_WIDTH = 78  # the plain-text part: no line longer, for terminal mail clients


def wrap(text: str, indent: str = "", hanging: str = "  ") -> str:
    """`text` as lines of at most TEXT_WIDTH characters, each starting with `indent` (the
    lines after the first with `hanging` more); a word longer than a line is broken."""
    return textwrap.fill(
        text,
        width=TEXT_WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + hanging,
        break_long_words=True,
        break_on_hyphens=False,
    )


def environment(user_dir: Path | None = None) -> jinja2.Environment:
    directories = [str(d) for d in (user_dir or user_template_dir(), template_dir()) if d]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directories),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2", "html"),
            disabled_extensions=("txt.j2", "txt"),
            default_for_string=True,
            default=True,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(ago=wording.ago, every=wording.every, duration=wording.duration, wrap=wrap)
    env.globals.update(mailto=mailto)
    return env
