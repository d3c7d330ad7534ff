"""Where Kithkin's files live: XDG directories, or systemd's ConfigurationDirectory= and
StateDirectory= under the system service."""

from __future__ import annotations

import os
from pathlib import Path


def config_home() -> Path:
    configured = os.environ.get("CONFIGURATION_DIRECTORY")  # systemd's ConfigurationDirectory=
    if configured:
        return Path(configured.split(":")[0])
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kithkin"


def data_home() -> Path:
    state = os.environ.get("STATE_DIRECTORY")  # set by systemd's StateDirectory=
    if state:
        return Path(state.split(":")[0])
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "kithkin"


def default_config_path() -> Path:
    return config_home() / "config.toml"


def default_store_path() -> Path:
    return data_home() / "kithkin.db"
