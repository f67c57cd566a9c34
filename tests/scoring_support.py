"""Settings for the score stage's functions from a config dict, for the tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pipeline.scoring.settings import ChurnSettings, ClvSettings, ScoreSettings


def clv_settings(cfg: dict[str, Any], time_unit: str | None = None) -> ClvSettings:
    """The config's CLV settings, in `time_unit` when given."""
    s = ClvSettings.from_config(cfg)
    return s if time_unit is None else replace(s, time_unit=time_unit)


def churn_settings(cfg: dict[str, Any]) -> ChurnSettings:
    return ChurnSettings.from_config(cfg)


def score_settings(cfg: dict[str, Any]) -> ScoreSettings:
    return ScoreSettings.from_config(cfg)
