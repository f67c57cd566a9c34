"""The templates' view of one branch, the network and the index: pure assembly of the
section functions' rows. Nothing here reads a file or formats a number."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.report import context_data as cd
from pipeline.report import context_kpis as kp
from pipeline.report import context_scores as sc
from pipeline.report import context_survey as sv
from pipeline.report.context_drift import drift_table
from pipeline.report.core import BranchInputs, ReportInputs
from pipeline.report.environment import NA, NO_PREVIOUS
from pipeline.report.i18n import labels, term

BRANCH_SECTIONS = (
    ("kpis", "sec_kpis"),
    ("tiers", "sec_tiers"),
    ("migration", "sec_migration"),
    ("rfm", "sec_rfm"),
    ("clv", "sec_clv"),
    ("churn", "sec_churn"),
    ("watchlist", "sec_watchlist"),
    ("rm", "sec_rm"),
    ("products", "sec_products"),
    ("digital", "sec_digital"),
    ("survey-customer", "sec_survey_customer"),
    ("survey-staff", "sec_survey_staff"),
    ("appendix-dq", "sec_appendix_dq"),
    ("appendix-model", "sec_appendix_model"),
)
NETWORK_SECTIONS = (
    ("kpis", "sec_network_kpis"),
    ("league", "sec_league"),
    ("tiers", "sec_tiers"),
    ("survey-customer", "sec_survey_customer"),
    ("survey-staff", "sec_survey_staff"),
    ("appendix-dq", "sec_appendix_dq"),
    ("appendix-model", "sec_appendix_model"),
)
# League-table columns: KPI column (or a derived one), label key, kind, higher is better.
LEAGUE: tuple[kp.Kpi, ...] = (
    kp.Kpi("kpi_customers", "customers", "count", True),
    kp.Kpi("kpi_aum", "aum", "money", True),
    kp.Kpi("kpi_dormant_share", "dormant_share", "share", False),
    kp.Kpi("kpi_top10", "top10_aum_share", "share", None),
    kp.Kpi("kpi_products_per_customer", "products_per_customer", "ratio", True),
    kp.Kpi("kpi_digital_adoption", "digital_adoption", "share", True),
    kp.Kpi("kpi_rm_coverage", "rm_coverage", "share", True),
    kp.Kpi("kpi_high_risk_share", "high_risk_share", "share", False),
    kp.Kpi("kpi_value_at_risk_share", "value_at_risk_share", "share", False),
    kp.Kpi("kpi_nps", "nps", "points", True),
)


@dataclass(frozen=True)
class ReportSettings:
    """The config values the reports use, resolved once (picklable for the workers)."""

    locale: str
    currency: str
    tiers: tuple[str, ...]
    rm_tiers: tuple[str, ...]
    segments: tuple[str, ...]
    rm_contact_days: int
    min_group_size: int
    dimension_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    formats: tuple[str, ...] = ("html", "pdf")


def settings_from_config(
    cfg: dict[str, Any], dimension_labels: dict[str, dict[str, str]]
) -> ReportSettings:
    rfm = cfg["rfm"]
    segments = [s["name"] for s in rfm["segments"]]
    for extra in (rfm.get("unmatched_segment"), rfm["inactive_segment"]):
        if extra and extra not in segments:
            segments.append(extra)
    return ReportSettings(
        locale=cfg["locale"],
        currency=cfg["currency"],
        tiers=tuple(t["name"] for t in cfg["tiers"]),
        rm_tiers=tuple(cfg["rm_tiers"]),
        segments=tuple(segments),
        rm_contact_days=int(cfg["features"]["rm_contact_days"]),
        min_group_size=int(cfg["survey"]["min_group_size"]),
        dimension_labels=dimension_labels,
        formats=tuple(cfg["report"]["formats"]),
    )


def _meta(
    kind: str,
    period: str,
    as_of: Any,
    previous_period: str,
    has_previous: bool,
    s: ReportSettings,
    branch_id: str | None = None,
) -> dict[str, Any]:
    t = labels(s.locale)
    title = t["branch_report"] if kind == "branch" else t["network_report"]
    subject = f"{t['branch']} {branch_id}" if branch_id is not None else t["network"]
    return {
        "kind": kind,
        "title": title,
        "subject": subject,
        "branch_id": branch_id,
        "period": period,
        "as_of": as_of,
        "previous_period": previous_period,
        "has_previous": has_previous,
    }


def survey_section(
    survey: dict[str, Any] | None, kind: str, branch_id: str | None, s: ReportSettings
) -> dict[str, Any]:
    """One survey's section for a branch (branch_id) or the network (None)."""
    if survey is None or survey.get("status") != "ok" or not survey.get("n_responses"):
        status = "" if survey is None else str(survey.get("status", ""))
        # not in the bank's exports at all, or no response in the period
        ingested = survey is not None and not status.startswith("not available")
        return {"kind": kind, "available": False, "status": status, "ingested": ingested}
    dim_labels = s.dimension_labels.get(kind, {})

    def terms(x: Any) -> str:
        return term(s.locale, x)

    title = survey.get("title") or {}
    return {
        "kind": kind,
        "available": True,
        "title": title.get(s.locale) or title.get("en") or survey.get("name", kind),
        "responses": float(survey["n_responses"]),
        "reliability": sv.reliability_rows(survey, dim_labels),
        "adequacy": sv.scale_adequacy(survey),
        "nps": sv.nps_figures(survey, branch_id),
        "network_nps": sv.nps_figures(survey, None),
        "has_nps": survey.get("nps_item") is not None,
        "dimensions": sv.dimension_rows(survey, branch_id, dim_labels),
        "ipa": sv.ipa_rows(survey, branch_id, dim_labels, terms),
        "linkage": sv.linkage_rows(survey, terms) if kind == "customer" else [],
        "min_group_size": s.min_group_size,
    }


def appendix(
    manifest: dict[str, Any], model_card: dict[str, Any], generation: str = ""
) -> dict[str, Any]:
    """Data quality (ingest manifest, its warnings, the generation of the outputs shown)
    and model validation (model card) for the appendix."""
    return {
        "generation": generation,
        "data_warnings": sc.data_warnings(manifest),
        "manifest": sc.manifest_rows(manifest),
        "metrics": sc.metric_table(model_card),
        "warnings": sc.model_warnings(model_card),
        "churn": sc.churn_model_note(model_card),
        "clv": sc.clv_validation(model_card),
        "value": sc.value_validation(model_card),
        "drift": drift_table(model_card),
    }


def branch_context(b: BranchInputs, s: ReportSettings) -> dict[str, Any]:
    """Everything branch.html shows for one branch, from that branch's slice only."""
    surveys = sv.find_surveys(b.survey)
    churn_available = sc.churn_model_available(b.scores)
    customer_survey = survey_section(surveys.get("customer"), "customer", b.branch_id, s)
    cov = cd.coverage(b.manifest, b.network_kpi, surveys.get("customer"))
    nps = customer_survey["nps"]["nps"] if customer_survey["available"] else NA
    headline = cd.masked(kp.headline_kpis(b.kpi, b.network_kpi, b.previous_kpi), cov)
    tiers = kp.tier_table(b.kpi, s.tiers)
    rm_rows = kp.rm_coverage_table(
        kp.rm_by_tier(b.features, s.rm_tiers, s.rm_contact_days), b.network_rm, s.rm_tiers
    )
    if cov.rm == "no_contacts":  # nobody can have been contacted: not 0%, not known
        rm_rows = [
            {**r, "contacted": cd.NO_RM_CONTACTS, "network_contacted": cd.NO_RM_CONTACTS}
            for r in rm_rows
        ]
    xs, ys = sc.lorenz_curve(b.lorenz)
    return {
        "meta": _meta(
            "branch",
            b.period,
            b.as_of,
            b.previous_period,
            b.previous_kpi is not None,
            s,
            b.branch_id,
        ),
        "sections": [{"id": i, "title": k} for i, k in BRANCH_SECTIONS],
        "data": {
            **cov.as_dict(),
            "tier_concentration": cd.tier_concentration(tiers) if cov.balances else None,
        },
        "cards": {
            "customers": headline[0],
            "aum": headline[1],
            "high_risk_share": kp.kpi_value(b.branch_score, "high_risk_share"),
            "nps": nps,
        },
        "kpis": cd.left_out(headline)[0],
        "kpis_left_out": cd.left_out(headline)[1],
        "tiers": tiers,
        "migration": kp.migration_matrix(b.migration, s.tiers),
        "rfm": [
            r if cov.balances else {**r, "aum": cd.NO_BALANCES}
            for r in kp.rfm_table(b.features, s.segments)
        ],
        "clv": {
            "summary": sc.clv_summary(b.scores),
            "value": sc.value_figures(b.branch_score, b.network_score),
            "by_tier": sc.value_by_tier(b.scores, s.tiers),
            "deciles": sc.clv_decile_table(b.scores),
            "gini": kp.kpi_value(b.kpi, "gini_aum") if cov.balances else cd.NO_BALANCES,
            "top1": kp.kpi_value(b.kpi, "top1_aum_share") if cov.balances else cd.NO_BALANCES,
            "top10": kp.kpi_value(b.kpi, "top10_aum_share") if cov.balances else cd.NO_BALANCES,
            "lorenz_points": len(xs),
        },
        "churn": {
            "available": churn_available,
            "p_alive": sc.p_alive_coverage(b.scores),
            "bands": sc.churn_band_table(b.scores) if churn_available else [],
            "quadrants": sc.quadrant_table(b.scores),
            "drivers": sc.driver_rows(b.model_card),
        },
        "watchlist": sc.watchlist_rows(b.watchlist),
        "rm": {
            "rows": rm_rows,
            "rms": kp.kpi_value(b.kpi, "rm_count"),
            "customers_per_rm": kp.kpi_value(b.kpi, "customers_per_rm"),
            "network_customers_per_rm": kp.kpi_value(b.network_kpi, "customers_per_rm"),
            "contact_days": s.rm_contact_days,
            "books": sc.rm_book_rows(b.rm_books),
            "unassigned": sc.unassigned_summary(b.unassigned),
        },
        "products": {
            "per_customer": kp.kpi_value(b.kpi, "products_per_customer"),
            "network_per_customer": kp.kpi_value(b.network_kpi, "products_per_customer"),
            "rows": kp.product_table(b.kpi, b.network_kpi),
            "holdings": kp.holdings_distribution(b.features),
        },
        "digital": {
            "adoption": kp.kpi_value(b.kpi, "digital_adoption"),
            "network_adoption": kp.kpi_value(b.network_kpi, "digital_adoption"),
            "rows": kp.digital_table(b.kpi, b.network_kpi, s.tiers),
            "mean_digital_share": kp.mean_digital_share(b.features),
        },
        "surveys": [customer_survey, survey_section(surveys.get("staff"), "staff", b.branch_id, s)],
        "appendix": appendix(b.manifest, b.model_card, b.generation),
    }


def league_table(inputs: ReportInputs, s: ReportSettings) -> dict[str, Any]:
    """Branches side by side on the league KPIs with a rank per KPI (1 = best) and the
    network value; KPIs without a better direction are shown but not ranked."""
    branches = inputs.kpis[inputs.kpis["scope"] == "branch"].copy()
    branches["branch_id"] = branches["branch_id"].astype(str)
    risk = inputs.branch_scores[inputs.branch_scores["scope"] == "branch"]
    risk = risk.set_index(risk["branch_id"].astype(str))
    branches["high_risk_share"] = branches["branch_id"].map(risk["high_risk_share"])
    branches["value_at_risk_share"] = branches["branch_id"].map(risk["value_at_risk_share"])
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
    network = inputs.kpis[inputs.kpis["scope"] == "network"].iloc[0].copy()
    network_risk = inputs.branch_scores[inputs.branch_scores["scope"] == "network"]
    network["high_risk_share"] = network_risk["high_risk_share"].iloc[0]
    network["value_at_risk_share"] = network_risk["value_at_risk_share"].iloc[0]
    nps = sv.nps_figures(customer, None)["nps"] if customer else None
    network["nps"] = nps if isinstance(nps, float) else None
    cov = cd.coverage(inputs.manifest, network, customer)
    # NPS parts are left out without an NPS item; what the exports cannot give says why
    shown = [k for k in LEAGUE if not (k.label in cd.NPS_KPIS and not cov.nps)]

    def value(row: pd.Series, k: kp.Kpi) -> Any:
        reason = cov.reason(k.label)
        return reason if reason is not None else kp.kpi_value(row, k.column)

    rows = []
    for i, row in branches.iterrows():
        cells = []
        for k in shown:
            rank = ranks.get(k.column) if cov.reason(k.label) is None else None
            r = rank.iloc[i] if rank is not None else None
            cells.append(
                {
                    "value": value(row, k),
                    "kind": k.kind,
                    "rank": NA if r is None or pd.isna(r) else float(r),
                }
            )
        rows.append({"branch_id": row["branch_id"], "cells": cells})
    return {
        "columns": [
            {
                "label": k.label,
                "kind": k.kind,
                "ranked": k.higher_is_better is not None and cov.reason(k.label) is None,
            }
            for k in shown
        ],
        "rows": rows,
        "network": [{"value": value(network, k), "kind": k.kind} for k in shown],
        "branches": len(rows),
    }


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


def network_context(
    inputs: ReportInputs, s: ReportSettings, files: dict[str | None, dict[str, str]]
) -> dict[str, Any]:
    """Everything network.html shows: aggregates per branch, no customer-level rows
    (`files`: each branch's report file name per format, for the links)."""
    network = inputs.kpis[inputs.kpis["scope"] == "network"].iloc[0]
    prev = None
    if inputs.previous_kpis is not None:
        p = inputs.previous_kpis[inputs.previous_kpis["scope"] == "network"]
        prev = p.iloc[0] if len(p) == 1 else None
    surveys = sv.find_surveys(inputs.survey)
    cov = cd.coverage(inputs.manifest, network, surveys.get("customer"))
    tiers = kp.tier_table(network, s.tiers)
    network_kpis = cd.masked(kp.headline_kpis(network, network, prev), cov)
    return {
        "meta": _meta(
            "network", inputs.period, inputs.as_of, inputs.previous_period, prev is not None, s
        ),
        "sections": [{"id": i, "title": k} for i, k in NETWORK_SECTIONS],
        "data": {
            **cov.as_dict(),
            "tier_concentration": cd.tier_concentration(tiers) if cov.balances else None,
        },
        "kpis": cd.left_out(network_kpis)[0],
        "kpis_left_out": cd.left_out(network_kpis)[1],
        "league": league_table(inputs, s),
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
        "appendix": appendix(inputs.manifest, inputs.model_card, inputs.generation),
    }


def index_context(
    period: str,
    as_of: Any,
    branch_ids: list[str],
    files: dict[str | None, dict[str, str]],
    s: ReportSettings,
    generation: str = "",
) -> dict[str, Any]:
    """The period's index: a link to every report file written (`files`: per branch id,
    None for the network, the file name of each format) and the generation shown."""
    return {
        "generation": generation,
        "meta": {
            "kind": "index",
            "title": labels(s.locale)["index_title"],
            "period": period,
            "as_of": as_of,
            "subject": "",
            "branch_id": None,
            "previous_period": "",
            "has_previous": False,
        },
        "network": files[None],
        "branches": [{"branch_id": b, "files": files[b]} for b in branch_ids],
        "formats": list(s.formats),
        "no_previous": NO_PREVIOUS,
    }
