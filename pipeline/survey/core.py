"""The survey stage's computation: one audience's responses analysed for a period.

Customer surveys break down by branch and the linked customer attributes (tier, RFM
segment, churn band, CLV decile; pipeline.survey.linkage); staff surveys by branch and
role. The analysis itself (reliability, dimension scores, NPS, importance-performance,
SERVQUAL gaps) is pipeline.survey.analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.errors import ConfigError
from pipeline.periods import as_of_date, previous_period
from pipeline.survey.analysis import SurveyResult, analyse_survey
from pipeline.survey.definition import SurveyDefinition, check_responses
from pipeline.survey.linkage import LINKED_GROUPS, link_customers, responses_in_window
from pipeline.survey.scores import nps_table

# audience -> (config key of its definition, prefix of its output files)
SURVEYS = {"customer": "", "staff": "staff_"}  # audience -> prefix of its output files


@dataclass(frozen=True)
class SurveySettings:
    """The `survey` section of the config, read once at the stage's edge."""

    customer_definition: str
    staff_definition: str
    min_group_size: int
    alpha_threshold: float
    window_months: int
    history_months: int = 12  # features.history_months: the months of NPS trend

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> SurveySettings:
        c = cfg["survey"]
        if not 0 < c["alpha_threshold"] < 1:
            raise ConfigError(
                f"survey.alpha_threshold: must be between 0 and 1, got {c['alpha_threshold']}"
            )
        return cls(
            customer_definition=str(c["customer_definition"]),
            staff_definition=str(c["staff_definition"]),
            min_group_size=int(c["min_group_size"]),
            alpha_threshold=float(c["alpha_threshold"]),
            window_months=int(c["window_months"]),
            history_months=int(cfg["features"]["history_months"]),
        )

    def definition(self, audience: str) -> str:
        """The configured definition name (or path) of `audience`'s survey."""
        return self.customer_definition if audience == "customer" else self.staff_definition


def output_name(audience: str, table: str) -> str:
    """`dimensions` -> survey_dimensions (customer) / survey_staff_dimensions (staff)."""
    return f"{SURVEYS[audience]}{table}"


def analyse_audience(
    audience: str, responses: pd.DataFrame, definition: SurveyDefinition,
    features: pd.DataFrame | None, scores: pd.DataFrame | None, s: SurveySettings, source: str,
) -> SurveyResult:
    """Customer surveys break down by branch and the linked customer attributes;
    staff surveys by branch and role."""
    common = {"min_group_size": s.min_group_size, "alpha_threshold": s.alpha_threshold,
              "source": source}
    if audience == "staff":
        group_by = [c for c in ("branch_id", "role") if c in responses.columns]
        return analyse_survey(responses, definition, group_by=group_by, **common)
    groups, note = link_customers(responses, features, scores)
    linked = [g for g in LINKED_GROUPS if g in groups.columns]
    return analyse_survey(responses, definition, group_by=["branch_id", *linked], groups=groups,
                          linked_groups=linked, linkage_note=note, **common)


def nps_history(
    responses: pd.DataFrame,
    definition: SurveyDefinition,
    period: str,
    s: SurveySettings,
    source: str = "responses",
) -> dict[str, Any] | None:
    """NPS month by month for the trend: for each of the s.history_months months ending
    with `period`, the NPS over the responses of the survey.window_months ending that
    month -- the figure the report of that month shows -- network-wide and per branch
    (null where fewer than survey.min_group_size answered). None without an NPS item.
    Every NPS answer is checked as the period's are (check_responses), older ones too:
    an answer out of 0-10 would otherwise count as a promoter or a detractor."""
    if definition.nps_item is None:
        return None
    check_responses(responses, definition, source, [definition.nps_item])
    months = [previous_period(period, k) for k in range(s.history_months - 1, -1, -1)]
    network: list[float | None] = []
    branches = sorted(responses["branch_id"].dropna().astype(str).unique())
    by_branch: dict[str, list[float | None]] = {b: [] for b in branches}
    for month in months:
        window = responses_in_window(responses, as_of_date(month), s.window_months)
        answers = pd.to_numeric(window[definition.nps_item], errors="coerce")
        groups = pd.DataFrame({"branch_id": window["branch_id"].astype(str)})
        table, _ = nps_table(answers, groups, ["branch_id"], s.min_group_size)
        values = {(r.group_type, r.group): float(r.nps) for r in table.itertuples()}
        network.append(values.get(("network", "all")))
        for b in branches:
            by_branch[b].append(values.get(("branch_id", b)))
    return {"months": months, "network": network, "by_branch": by_branch,
            "window_months": s.window_months}


def summary_line(audience: str, s: dict) -> str:
    """The line `crm survey` prints for one audience."""
    nps = (s["nps"].get("network") or {}).get("nps") if "network" in s["nps"] else None
    flagged = ", ".join(s["flagged_dimensions"]) or "none"
    anonymous = "" if s["share_anonymous"] is None else f" ({s['share_anonymous']:.0%} anonymous)"
    text = (f"{audience} survey {s['name']}: {s['n_responses']} responses{anonymous}, "
            f"alpha < {s['alpha_threshold']}: {flagged}")
    if nps is not None:
        text += f", NPS {nps:+.1f}"
    missing = s["linkage"].get("not_available") or {}
    if missing:
        text += "; " + "; ".join(sorted({f"{v}" for v in missing.values()}))
    return text
