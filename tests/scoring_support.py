"""Settings for the score stage's functions from a config dict, for the tests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pipeline.scoring.settings import ChurnSettings, ClvSettings, ScoreSettings


def clv_settings(
    cfg: dict[str, Any], time_unit: str | None = None, event_period: str | None = None
) -> ClvSettings:
    """The config's CLV settings; with `time_unit`, lifetimes' freq of that name (events
    and times in that unit: "week" is freq "W") unless `event_period` says otherwise."""
    s = ClvSettings.from_config(cfg)
    if time_unit is None:
        return s if event_period is None else replace(s, event_period=event_period)
    return replace(s, time_unit=time_unit, event_period=event_period or time_unit)


def churn_settings(cfg: dict[str, Any]) -> ChurnSettings:
    return ChurnSettings.from_config(cfg)


def score_settings(cfg: dict[str, Any]) -> ScoreSettings:
    return ScoreSettings.from_config(cfg)
