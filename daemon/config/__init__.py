"""The config: one TOML file, validated completely before anything runs.

    model.py     the settings as frozen dataclasses
    loading.py   the file -> those dataclasses; every mistake one ConfigError line
    paths.py     where the config, the store and the templates live
    starter.py   the commented config `kithkin init` writes

May import: core.dates, core.thresholds, errors, parsers.addresses.
"""

from __future__ import annotations

from kithkin.daemon.config.loading import is_loopback, load_config
from kithkin.daemon.config.model import (
    Config,
    DaemonConfig,
    ImapConfig,
    ServerConfig,
    SummaryConfig,
)
from kithkin.daemon.config.paths import (
    config_home,
    data_home,
    default_config_path,
    default_store_path,
)
from kithkin.daemon.core.thresholds import AnalysisConfig

__all__ = [
    "AnalysisConfig",
    "Config",
    "DaemonConfig",
    "ImapConfig",
    "ServerConfig",
    "SummaryConfig",
    "config_home",
    "data_home",
    "default_config_path",
    "default_store_path",
    "is_loopback",
    "load_config",
]
