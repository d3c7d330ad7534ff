"""The thresholds of `[analysis]`: who is fading, waits for a reply, never answers, or has a
birthday near. Apart from analysis.py, which applies them, so that reading a config (every
command does) loads none of the analysis."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnalysisConfig:
    """The thresholds of `[analysis]` (config/loading.py reads and checks them)."""

    default_cadence_days: int = 60
    fading_ratio: float = 1.0
    awaiting_reply_days: int = 3
    one_sided_count: int = 3
    birthday_days: int = 14
