"""One survey's full analysis as a pure function: responses + definition in, tidy tables
and a JSON-ready summary out. No catalog, no files: it runs as well on a public data
set in a notebook as on the bank's ingested responses."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.survey.definition import SurveyDefinition, check_responses
from pipeline.survey.reliability import reliability
from pipeline.survey.scores import (
    NETWORK,
    NPS_COLUMNS,
    group_means,
    ipa,
    nps_table,
    recode,
    respondent_scores,
    servqual_gaps,
)

TABLE_NAMES = ("reliability", "items", "dimensions", "nps", "ipa", "servqual", "linkage")
LINKAGE_COLUMNS = ["group_type", "group", "n_overall", "satisfaction_mean", "n_nps", "nps",
                   "nps_ci_low", "nps_ci_high"]


@dataclass(frozen=True)
class SurveyResult:
    """Tables keyed by TABLE_NAMES (each with a leading `survey` column) and the summary."""

    tables: dict[str, pd.DataFrame]
    summary: dict[str, Any]


def analyse_survey(
    responses: pd.DataFrame,
    definition: SurveyDefinition,
    *,
    min_group_size: int,
    alpha_threshold: float,
    group_by: Sequence[str] = (),
    groups: pd.DataFrame | None = None,
    linked_groups: Sequence[str] = (),
    linkage_note: dict | None = None,
    confidence: float = 0.95,
    source: str = "responses",
) -> SurveyResult:
    """Reliability, dimension scores, NPS, IPA, SERVQUAL gaps and linkage for one survey.

    `group_by` names the breakdowns (e.g. branch_id, tier); their values come from
    `groups` (aligned with `responses`) or, when it is None, from `responses` itself.
    `linked_groups` are the breakdowns that come from linking customers (tier, churn
    band, ...): they also form the linkage table. Any figure on fewer than
    `min_group_size` responses is left out and listed under `suppressed`.
    """
    check_responses(responses, definition, source)
    group_by = list(group_by)
    groups = responses[group_by] if groups is None else groups
    missing = [g for g in group_by if g not in groups.columns]
    if missing:
        raise ValueError(f"group_by column(s) {missing} not in the groups frame")
    recoded = recode(responses, definition)
    scores = respondent_scores(recoded, definition)

    rel, items, scale = reliability(recoded, definition, alpha_threshold=alpha_threshold,
                                    min_group_size=min_group_size, confidence=confidence)
    dims, suppressed = group_means(scores, groups, group_by, min_group_size)
    if definition.nps_item is not None:
        nps, s = nps_table(recoded[definition.nps_item], groups, group_by, min_group_size,
                           confidence)
        suppressed += s
    else:
        nps = pd.DataFrame(columns=NPS_COLUMNS)
    ipa_table, ipa_note, s = ipa(scores, definition, groups, group_by, min_group_size)
    suppressed += s
    gaps, s = servqual_gaps(recoded, definition, groups, group_by, min_group_size)
    suppressed += s
    linkage = _linkage_table(dims, nps, definition, list(linked_groups))

    tables = {
        "reliability": rel, "items": items, "dimensions": dims, "nps": nps,
        "ipa": ipa_table, "servqual": gaps, "linkage": linkage,
    }
    tables = {name: _with_survey(t, definition.name) for name, t in tables.items()}
    n = len(responses)
    # No customer_id column (staff surveys, public data sets): anonymity does not apply.
    n_anonymous = int(responses["customer_id"].isna().sum()) if "customer_id" in responses \
        else None
    summary = {
        "name": definition.name,
        "title": definition.title,
        "table": definition.table,
        "scale": {"min": definition.scale_min, "max": definition.scale_max},
        # JSON keys are sorted: these lists give the definition's order for display
        "dimension_order": list(definition.dimensions),
        "driver_dimensions": definition.driver_dimensions,
        "dimension_labels": definition.dimension_labels,
        "nps_item": definition.nps_item,
        "overall_item": definition.overall_item,
        "n_responses": n,
        "n_anonymous": n_anonymous,
        "share_anonymous": n_anonymous / n if n and n_anonymous is not None else None,
        "min_group_size": min_group_size,
        "alpha_threshold": alpha_threshold,
        "reliability": _reliability_summary(rel),
        "flagged_dimensions": sorted(rel.loc[rel["below_threshold"].fillna(False), "dimension"]),
        "scale_adequacy": scale,
        "nps": _nps_summary(nps, definition),
        "dimensions": _nested(dims, ["group_type", "group", "measure"], ["n", "mean", "std"]),
        "ipa": {**ipa_note, "points": _nested(ipa_table, ["group_type", "group", "dimension"],
                                              ["n", "importance", "performance", "quadrant"])},
        "servqual": _servqual_summary(gaps, definition),
        "linkage": {**(linkage_note or {}),
                    "by_group": _nested(linkage, ["group_type", "group"], LINKAGE_COLUMNS[2:])},
        "suppressed": sorted({tuple(sorted(d.items())): d for d in suppressed}.values(),
                             key=lambda d: (d["group_type"], d["group"], d["what"])),
    }
    return SurveyResult(tables=tables, summary=json_ready(summary))


def _with_survey(table: pd.DataFrame, name: str) -> pd.DataFrame:
    out = table.reset_index(drop=True).copy()
    out.insert(0, "survey", name)
    return out


def _linkage_table(dims: pd.DataFrame, nps: pd.DataFrame, definition: SurveyDefinition,
                   linked: list[str]) -> pd.DataFrame:
    """Satisfaction (overall item mean) and NPS per linked group (churn band, CLV decile,
    tier, RFM segment): what customers say beside what they do."""
    keys = ["group_type", "group"]
    sat = dims.loc[dims["group_type"].isin(linked) & (dims["measure"] == definition.overall_item),
                   [*keys, "n", "mean"]].rename(columns={"n": "n_overall",
                                                         "mean": "satisfaction_mean"})
    promo = nps.loc[nps["group_type"].isin(linked),
                    [*keys, "n", "nps", "nps_ci_low", "nps_ci_high"]].rename(columns={"n": "n_nps"})
    table = sat.merge(promo, on=keys, how="outer", sort=False)
    order = {g: i for i, g in enumerate(linked)}
    table["_rank"] = table["group_type"].map(order)
    table["_num"] = pd.to_numeric(table["group"], errors="coerce")
    table = table.sort_values(["_rank", "_num", "group"], kind="stable")
    table = table.drop(columns=["_rank", "_num"]).reset_index(drop=True)
    table["n_overall"] = table["n_overall"].astype("Int64")
    table["n_nps"] = table["n_nps"].astype("Int64")
    return table[LINKAGE_COLUMNS]


def _nested(table: pd.DataFrame, keys: list[str], values: list[str]) -> dict:
    """{key1: {key2: ... {value columns}}} from a long table."""
    out: dict = {}
    for row in table[keys + values].itertuples(index=False):
        node = out
        for k in row[: len(keys) - 1]:
            node = node.setdefault(str(k), {})
        node[str(row[len(keys) - 1])] = dict(zip(values, row[len(keys):], strict=True))
    return out


def _reliability_summary(rel: pd.DataFrame) -> dict:
    return {
        r.dimension: {"alpha": r.alpha, "alpha_ci": [r.alpha_ci_low, r.alpha_ci_high],
                      "n_items": r.n_items, "n_complete": r.n_complete,
                      "below_threshold": None if pd.isna(r.below_threshold)
                      else bool(r.below_threshold), "status": r.status}
        for r in rel.itertuples(index=False)
    }


def _nps_summary(nps: pd.DataFrame, definition: SurveyDefinition) -> dict:
    if definition.nps_item is None:
        return {"status": "not available: the survey has no NPS item"}
    cols = ["n", "promoters", "passives", "detractors", "nps", "nps_ci_low", "nps_ci_high"]
    nested = _nested(nps, ["group_type", "group"], cols)
    network = nested.pop(NETWORK, {}).get("all")
    return {"status": "ok" if network else "suppressed: fewer answers than min_group_size",
            "network": network, "by_group": nested}


def _servqual_summary(gaps: pd.DataFrame, definition: SurveyDefinition) -> dict:
    if not definition.expectation_perception:
        return {"status": "not available: the survey has no expectation-perception pairs"}
    network = gaps[gaps["group_type"] == NETWORK]
    by_dim = network.groupby("dimension", sort=True)["gap"].mean()
    return {"status": "ok" if len(network) else "suppressed: fewer answers than min_group_size",
            "dimension_gap": {d: float(g) for d, g in by_dim.items()},
            "pairs": _nested(gaps, ["group_type", "group", "perception_item"],
                             ["expectation_item", "n", "perception_mean", "expectation_mean",
                              "gap"])}


def json_ready(obj: Any) -> Any:
    """Plain JSON types: NaN / NA -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj
