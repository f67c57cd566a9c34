"""The templates' view of the network report and the period's index: aggregates per
branch (never a customer row), beside the network's own figures."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from pipeline.report import context_data as cd
from pipeline.report import context_effect as ce
from pipeline.report import context_kpis as kp
from pipeline.report import context_scores as sc
from pipeline.report import context_survey as sv
from pipeline.report import glance
from pipeline.report.context import (
    ReportSettings,
    appendix,
    meta,
    sections,
    survey_section,
)
from pipeline.report.context_drift import drift_table
from pipeline.report.core import ReportInputs, network_history
from pipeline.report.environment import NA, NotAvailable
from pipeline.report.i18n import labels

NETWORK_SECTIONS = (
    ("glance", "sec_network_glance", "glance"),
    ("kpis", "sec_network_kpis", "analysis"),
    ("league", "sec_league", "analysis"),
    ("branch-risk", "sec_branch_risk", "analysis"),
    ("tiers", "sec_tiers", "analysis"),
    ("survey-customer", "sec_survey_customer", "survey"),
    ("survey-staff", "sec_survey_staff", "survey"),
    ("appendix-dq", "sec_appendix_dq", "appendix"),
    ("appendix-model", "sec_appendix_model", "appendix"),
)
# League-table columns: KPI column (or a derived one), label key, kind, higher is better.
# (Short labels: eleven columns share the page's width.)
LEAGUE: tuple[kp.Kpi, ...] = (
    kp.Kpi("league_customers", "customers", "count", True),
    kp.Kpi("league_aum", "aum", "money", True),
    kp.Kpi("league_dormant", "dormant_share", "share", False),
    kp.Kpi("league_products", "products_per_customer", "ratio", True),
    kp.Kpi("league_digital", "digital_adoption", "share", True),
    kp.Kpi("league_rm_coverage", "rm_coverage", "share", True),
    kp.Kpi("league_per_rm", "customers_per_rm", "average", None),
    kp.Kpi("league_attrition", "attrition_rate", "share", False),
    kp.Kpi("league_high_risk", "high_risk_share", "share", False),
    kp.Kpi("league_var_share", "value_at_risk_share", "share", False),
    kp.Kpi("league_nps", "nps", "points", True),
)
# Printed column widths (parts of 100, the branch's column first): money needs the most.
LEAGUE_WIDTHS = {"branch": 8, "league_customers": 9, "league_aum": 11}
LEAGUE_WIDTH = 8  # every other column
# The churn, value-at-risk and RM-load table's columns: the row field each shows, its
# kind (the format: partials/macros.html `fmt`) and width; the RM ones (RMs, customers
# per RM, calls, value the calls save, customers without an RM) need RM data.
BRANCH_RISK_COLUMNS = {
    "active": ("active", "count", 8),
    "high_risk": ("high_risk_share", "share", 7),
    "attrition": ("attrition_rate", "share", 8),
    "var": ("value_at_risk", "money", 10),
    "var_share": ("value_at_risk_share", "share", 8),
    "high_value": ("high_value", "count", 8),
    "rms": ("rms", "count", 6),
    "per_rm": ("customers_per_rm", "average", 7),
    "calls": ("calls", "count", 7),
    "saved": ("value_saved", "money", 10),
    "no_rm": ("unassigned", "count", 14),
}
BRANCH_RISK_WIDTHS = {"branch": 7, **{k: w for k, (_, _, w) in BRANCH_RISK_COLUMNS.items()}}
RM_LOAD = ("rms", "per_rm", "calls", "saved", "no_rm")


def any_known(values: Iterable[Any]) -> bool:
    """Whether any branch has the figure: a column no branch has (no churn model, so no
    high-risk share; no balances, so no attrition) is left out, not a column of n/a (the
    league table asks its frame's column the same)."""
    return any(not isinstance(v, NotAvailable) for v in values)


def column_widths(keys: list[str], widths: dict[str, int], other: int = 0) -> list[str]:
    """CSS percentages of a table's columns, the branch's first, then `keys`' (`other`
    for a key without a width), scaled to the page's width when columns the exports
    cannot give are left out."""
    parts = [widths.get(k, other) for k in ("branch", *keys)]
    return [f"{round(w * 100 / sum(parts), 1):g}" for w in parts]


def _by_branch(frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame[frame["scope"] == "branch"]
    return rows.set_index(rows["branch_id"].astype(str))


def _network_row(frame: pd.DataFrame) -> pd.Series:
    return frame[frame["scope"] == "network"].iloc[0]


def _current_history(inputs: ReportInputs) -> pd.DataFrame:
    return inputs.history[inputs.history["period"].astype(str) == inputs.period]


def league_table(inputs: ReportInputs, s: ReportSettings) -> dict[str, Any]:
    """Branches side by side on the league KPIs with a rank per KPI (1 = best) and the
    network value; KPIs without a better direction are shown but not ranked, and those
    the exports cannot give (no balances, no RM data, no NPS item) are left out, as the
    note under the KPI table says."""
    branches = inputs.kpis[inputs.kpis["scope"] == "branch"].copy()
    branches["branch_id"] = branches["branch_id"].astype(str)
    risk = _by_branch(inputs.branch_scores)
    attrition = _by_branch(_current_history(inputs))
    for column in ("high_risk_share", "value_at_risk_share"):
        branches[column] = branches["branch_id"].map(risk[column])
    branches["attrition_rate"] = branches["branch_id"].map(attrition["attrition_rate"])
    customer = sv.find_surveys(inputs.survey).get("customer") or {}
    nps = {b: sv.nps_figures(customer, b)["nps"] for b in branches["branch_id"]}
    branches["nps"] = branches["branch_id"].map(
        lambda b: nps[b] if isinstance(nps[b], float) else None
    )
    branches = branches.sort_values("branch_id").reset_index(drop=True)
    ranks = {}
    for k in LEAGUE:
        if k.higher_is_better is not None and k.column in branches:
            values = pd.to_numeric(branches[k.column], errors="coerce")
            ranks[k.column] = values.rank(ascending=not k.higher_is_better, method="min")
    network = _network_row(inputs.kpis).copy()
    network_risk = _network_row(inputs.branch_scores)
    network["high_risk_share"] = network_risk["high_risk_share"]
    network["value_at_risk_share"] = network_risk["value_at_risk_share"]
    network["attrition_rate"] = _network_row(_current_history(inputs))["attrition_rate"]
    nps_all = sv.nps_figures(customer, None)["nps"] if customer else None
    network["nps"] = nps_all if isinstance(nps_all, float) else None
    cov = cd.coverage(inputs.manifest, network, customer)
    shown = [
        k
        for k in LEAGUE
        if cov.reason(k.column) is None
        and k.column in branches
        and pd.to_numeric(branches[k.column], errors="coerce").notna().any()
    ]
    rows = []
    for i, row in branches.iterrows():
        cells = []
        for k in shown:
            rank = ranks.get(k.column)
            r = rank.iloc[i] if rank is not None else None
            cells.append(
                {
                    "value": kp.kpi_value(row, k.column),
                    "kind": k.kind,
                    "rank": NA if r is None or pd.isna(r) else float(r),
                }
            )
        rows.append({"branch_id": row["branch_id"], "cells": cells})
    return {
        "columns": [
            {"label": k.label, "kind": k.kind, "ranked": k.higher_is_better is not None}
            for k in shown
        ],
        "widths": column_widths([k.label for k in shown], LEAGUE_WIDTHS, LEAGUE_WIDTH),
        "rows": rows,
        "network": [{"value": kp.kpi_value(network, k.column), "kind": k.kind} for k in shown],
        "branches": len(rows),
    }


def branch_risk(inputs: ReportInputs, cov: cd.Coverage) -> dict[str, Any]:
    """The churn, value-at-risk and RM-load table: its columns (without RM data, none of
    the RM load's; none that no branch has), their widths and a row per branch
    (branch_risk_rows)."""
    rows = branch_risk_rows(inputs)
    columns = [
        {"key": k, "field": field, "kind": kind}
        for k, (field, kind, _) in BRANCH_RISK_COLUMNS.items()
        if not (cov.rm == "none" and k in RM_LOAD) and any_known(r[field] for r in rows)
    ]
    return {
        "columns": columns,
        "widths": column_widths([c["key"] for c in columns], BRANCH_RISK_WIDTHS),
        "rows": rows,
    }


def branch_risk_rows(inputs: ReportInputs) -> list[dict[str, Any]]:
    """Per branch: churn, value at risk and RM load -- active customers, high churn risk,
    attrition, value at risk and its share of CLV, high-value customers, RMs, customers
    per RM, calls this month, and customers who should have an RM and have none."""
    risk = _by_branch(inputs.branch_scores)
    kpis = _by_branch(inputs.kpis)
    attrition = _by_branch(_current_history(inputs))
    books = inputs.rm_books.assign(branch_id=inputs.rm_books["branch_id"].astype(str))
    calls = books.groupby("branch_id")["call_list"].sum()
    rows = []
    for b in inputs.branch_ids:
        unassigned = inputs.unassigned.get(b)
        r, k = risk.loc[b], kpis.loc[b]
        rows.append(
            {
                "branch_id": b,
                "active": kp.kpi_value(r, "active_customers"),
                "high_risk_share": kp.kpi_value(r, "high_risk_share"),
                "attrition_rate": kp.kpi_value(attrition.loc[b], "attrition_rate")
                if b in attrition.index
                else NA,
                "value_at_risk": kp.kpi_value(r, "value_at_risk"),
                "value_at_risk_share": kp.kpi_value(r, "value_at_risk_share"),
                "high_value_at_risk": kp.kpi_value(r, "high_value_at_risk"),
                "high_value": kp.kpi_value(r, "high_value_customers"),
                "rms": kp.kpi_value(k, "rm_count"),
                "customers_per_rm": kp.kpi_value(k, "customers_per_rm"),
                "calls": float(calls.get(b, 0)),
                "value_saved": kp.kpi_value(r, "expected_value_saved"),
                "unassigned": float(len(unassigned)) if unassigned is not None else NA,
                "unassigned_high_value": float(unassigned["high_value"].astype(bool).sum())
                if unassigned is not None
                else NA,
            }
        )
    return rows


def tier_mix_by_branch(inputs: ReportInputs, s: ReportSettings) -> list[dict[str, Any]]:
    """Per branch: the share of customers and of AUM in each tier."""
    rows = []
    branches = inputs.kpis[inputs.kpis["scope"] == "branch"].sort_values("branch_id")
    for _, row in branches.iterrows():
        table = kp.tier_table(row, s.tiers)
        rows.append(
            {
                "branch_id": str(row["branch_id"]),
                "customer_shares": [r["customer_share"] for r in table],
                "aum_shares": [r["aum_share"] for r in table],
            }
        )
    return rows


def model_appendix(model_card: dict[str, Any]) -> dict[str, Any]:
    """The network report's model appendix: the checks in words, their numbers, drift,
    and the modellers' notes as the model card writes them."""
    return {
        "metrics": sc.metric_table(model_card),
        "clv": sc.clv_validation(model_card),
        "value": sc.value_validation(model_card),
        "drift": drift_table(model_card),
        "notes": sc.model_warnings(model_card),
    }


def _coverage(inputs: ReportInputs, customer: dict[str, Any]) -> cd.Coverage:
    """What the bank's exports hold (balances, RM data, an NPS item answered)."""
    return cd.coverage(inputs.manifest, _network_row(inputs.kpis), customer or None)


def network_glance(inputs: ReportInputs, s: ReportSettings) -> dict[str, Any]:
    """The network's first-page tiles (the same KPIs and targets as a branch's)."""
    customer = sv.find_surveys(inputs.survey).get("customer") or {}
    return {
        "tiles": glance.tiles(
            network_history(inputs.history),
            network_history(inputs.score_history),
            customer.get("nps_history"),
            None,
            inputs.months,
            s.targets,
            s.locale,
            s.currency,
            _coverage(inputs, customer),
        ),
        "months": len(inputs.months),
        "first_month": inputs.months[0] if inputs.months else inputs.period,
        "horizon_months": s.churn_horizon_months,
        "contact_days": s.rm_contact_days,
        "dormant_days": s.dormant_days,
        "story": [],
    }


def network_context(
    inputs: ReportInputs, s: ReportSettings, files: dict[str | None, dict[str, str]]
) -> dict[str, Any]:
    """Everything network.html shows: aggregates per branch, no customer-level rows
    (`files`: each branch's report file name per format, for the links)."""
    network = _network_row(inputs.kpis)
    prev = None
    if inputs.previous_kpis is not None:
        p = inputs.previous_kpis[inputs.previous_kpis["scope"] == "network"]
        prev = p.iloc[0] if len(p) == 1 else None
    surveys = sv.find_surveys(inputs.survey)
    cov = cd.coverage(inputs.manifest, network, surveys.get("customer"))
    tiers = kp.tier_table(network, s.tiers)
    network_kpis = cd.masked(kp.headline_kpis(network, network, prev), cov)
    return {
        "meta": meta(
            "network", inputs.period, inputs.as_of, inputs.previous_period, prev is not None, s
        ),
        "sections": sections(NETWORK_SECTIONS),
        "data": {
            **cov.as_dict(),
            "tier_concentration": cd.tier_concentration(tiers) if cov.balances else None,
        },
        "glance": network_glance(inputs, s),
        "kpis": cd.left_out(network_kpis)[0],
        "kpis_left_out": cd.left_out(network_kpis)[1],
        "league": league_table(inputs, s),
        "branch_risk": branch_risk(inputs, cov),
        "network_risk": {
            "value_at_risk": kp.kpi_value(_network_row(inputs.branch_scores), "value_at_risk"),
            "value_at_risk_share": kp.kpi_value(
                _network_row(inputs.branch_scores), "value_at_risk_share"
            ),
        },
        "files": files,
        "tiers": tiers,
        "tier_mix": tier_mix_by_branch(inputs, s),
        "tier_names": list(s.tiers),
        "nps_by_branch": {
            b: sv.nps_figures(surveys.get("customer") or {}, b) for b in inputs.branch_ids
        },
        "surveys": [
            survey_section(surveys.get("customer"), "customer", None, s),
            survey_section(surveys.get("staff"), "staff", None, s),
        ],
        "appendix": appendix(inputs.manifest, inputs.model_card, s.locale, inputs.generation),
        "models": model_appendix(inputs.model_card),
        "effect": {
            "lists": ce.lists_figures(_network_row(inputs.branch_scores)),
            "appendix": ce.effect_appendix(inputs.model_card.get("contact_effect") or {}, s.locale),
        },
        "not_available": NA,
    }


def index_context(
    inputs: ReportInputs,
    files: dict[str | None, dict[str, str]],
    downloads: dict[str, dict[str, str]],
    s: ReportSettings,
    other_locales: list[str],
) -> dict[str, Any]:
    """The period's index in one locale: per branch its headline figures, their status
    against the targets, and links to its report and lists; the network's beside them."""
    branch_tiles = {}
    customer = sv.find_surveys(inputs.survey).get("customer") or {}
    cov = _coverage(inputs, customer)
    for b in inputs.branch_ids:
        rows = inputs.history[
            (inputs.history["scope"] == "branch") & (inputs.history["branch_id"].astype(str) == b)
        ].sort_values("period")
        scores = inputs.score_history[
            (inputs.score_history["scope"] == "branch")
            & (inputs.score_history["branch_id"].astype(str) == b)
        ].sort_values("period")
        branch_tiles[b] = glance.tiles(
            rows,
            scores,
            customer.get("nps_history"),
            b,
            inputs.months,
            s.targets,
            s.locale,
            s.currency,
            cov,
        )
    network_tiles = network_glance(inputs, s)["tiles"]
    return {
        "generation": inputs.generation,
        "meta": {
            "kind": "index",
            "title": labels(s.locale)["index_title"],
            "period": inputs.period,
            "as_of": inputs.as_of,
            "subject": "",
            "branch_id": None,
            "previous_period": "",
            "has_previous": False,
            "locale": s.locale,
        },
        "network": {"files": files[None], "tiles": network_tiles},
        "branches": [
            {
                "branch_id": b,
                "files": files[b],
                "downloads": downloads.get(b, {}),
                "tiles": branch_tiles[b],
            }
            for b in inputs.branch_ids
        ],
        "tile_heads": [
            {"label": t["label"], "target": t["target"] is not None} for t in network_tiles
        ],
        "formats": list(s.formats),
        "other_locales": other_locales,
    }
