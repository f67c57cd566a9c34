"""The templates' view of one branch: pure assembly of the section functions' rows, in
the order a branch head reads them -- the story and targets, then what to do (assign an
RM, the watchlist, each RM's page), then the analysis and the appendices. The network's
and the index's views are in context_network.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.report import context_actions as ac
from pipeline.report import context_data as cd
from pipeline.report import context_effect as ce
from pipeline.report import context_kpis as kp
from pipeline.report import context_scores as sc
from pipeline.report import context_survey as sv
from pipeline.report import glance
from pipeline.report.context_drift import drift_table
from pipeline.report.core import BranchInputs
from pipeline.report.environment import NA
from pipeline.report.i18n import labels, term
from pipeline.report.reasons import ReasonWords
from pipeline.report.vocabulary import data_warning

# (anchor, label key, part): a part starts on a new page; sections within it flow on.
BRANCH_SECTIONS = (
    ("glance", "sec_glance", "glance"),
    ("assign", "sec_assign", "actions"),
    ("watchlist", "sec_watchlist", "actions"),
    ("rm-pages", "sec_rm_pages", "actions"),
    ("kpis", "sec_kpis", "analysis"),
    ("tiers", "sec_tiers", "analysis"),
    ("migration", "sec_migration", "analysis"),
    ("rfm", "sec_rfm", "analysis"),
    ("clv", "sec_clv", "analysis"),
    ("churn", "sec_churn", "analysis"),
    ("rm", "sec_rm", "analysis"),
    ("products", "sec_products", "analysis"),
    ("digital", "sec_digital", "analysis"),
    ("survey-customer", "sec_survey_customer", "survey"),
    ("survey-staff", "sec_survey_staff", "survey"),
    ("appendix-dq", "sec_appendix_dq", "appendix"),
    ("appendix-model", "sec_appendix_trust", "appendix"),
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
    targets: dict[str, tuple[float, float]] = field(default_factory=dict)
    frequency_unit: str = "day"
    rm_monthly_calls: int = 40
    churn_horizon_months: int = 3
    dormant_days: int = 180

    @property
    def words(self) -> ReasonWords:
        """How reasons are worded in this report."""
        return ReasonWords(self.locale, self.currency, self.tiers, self.frequency_unit)


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
        targets={
            kpi: (float(t["green"]), float(t["amber"]))
            for kpi, t in cfg["report"]["targets"].items()
        },
        frequency_unit=str(cfg["features"]["frequency_unit"]),
        rm_monthly_calls=int(cfg["value_risk"]["rm_monthly_calls"]),
        churn_horizon_months=int(cfg["churn"]["horizon_months"]),
        dormant_days=int(cfg["features"]["dormant_days"]),
    )


def sections(spec: tuple[tuple[str, str, str], ...]) -> list[dict[str, Any]]:
    """The contents: each section with its part, and whether it opens its part (a new
    page in print)."""
    out, seen = [], set()
    for anchor, key, part in spec:
        out.append({"id": anchor, "title": key, "part": part, "opens": part not in seen})
        seen.add(part)
    return out


def meta(
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
        "locale": s.locale,
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


def manifest_rows(manifest: dict[str, Any], locale: str) -> list[dict[str, Any]]:
    """The data-quality table: rejected rows by reason, the reasons in words."""
    rows = sc.manifest_rows(manifest)
    for row in rows:
        for reason in row["reasons"]:
            reason["label"] = sc.data_quality_label(locale, reason["reason"])
    return rows


def appendix(
    manifest: dict[str, Any], model_card: dict[str, Any], locale: str, generation: str = ""
) -> dict[str, Any]:
    """Data quality (ingest manifest, its warnings, the generation of the outputs shown)
    and what the models' checks say (model card)."""
    return {
        "generation": generation,
        "data_warnings": [data_warning(locale, f) for f in sc.data_warnings(manifest)],
        "manifest": manifest_rows(manifest, locale),
        "checks": sc.model_checks(model_card),
        "drift": drift_table(model_card),
    }


def first_call(b: BranchInputs, s: ReportSettings) -> tuple[str, str, float, str] | None:
    """The branch's call expected to save the most, when the lists are ranked by the
    effect of a call (None otherwise, or when no list holds a call)."""
    if not ce.ranking(b.model_card.get("contact_effect") or {})["by_effect"]:
        return None
    calls = [c[c["action"] == "call"] for c in b.call_lists.values() if len(c)]
    listed = pd.concat(calls) if calls else pd.DataFrame()
    if listed.empty:
        return None
    top = listed.sort_values(["value_saved", "customer_id"], ascending=[False, True]).iloc[0]
    phrases = s.words.phrases(ac._text(top.get("reason_codes")))
    return (
        str(top["customer_id"]),
        str(top["rm_id"]),
        float(top["value_saved"]),
        phrases[0] if phrases else "",
    )


def glance_context(b: BranchInputs, s: ReportSettings) -> dict[str, Any]:
    """The first page: tiles with targets and trends, and the story -- nothing in either
    about what the bank's exports do not hold (no AUM without balances; no RM coverage
    target and no one to assign without RM data)."""
    customer = sv.find_surveys(b.survey).get("customer") or {}
    cov = cd.coverage(b.manifest, b.network_kpi, customer or None)
    tiles = glance.tiles(
        b.history,
        b.score_history,
        customer.get("nps_history"),
        b.branch_id,
        b.months,
        s.targets,
        s.locale,
        s.currency,
        cov,
    )
    by_key = {t["key"]: t for t in tiles}
    with_rm = b.watchlist[b.watchlist["rm_id"].notna()]
    named = with_rm if len(with_rm) else b.watchlist  # whom the story names first
    first_reason = ""
    if len(named):
        phrases = s.words.phrases(ac._text(named.iloc[0].get("reason_codes")))
        first_reason = phrases[0] if phrases else ""

    def pair(key: str) -> tuple[float | None, float | None]:
        if key not in by_key:  # not in the exports
            return None, None
        tile = by_key[key]
        now, prev = tile["value"], tile["previous"]
        return (now if isinstance(now, float) else None, prev if isinstance(prev, float) else None)

    facts = glance.StoryFacts(
        month=b.period,
        previous_month=b.previous_period if b.previous_kpi is not None else None,
        customers=pair("customers"),
        aum=pair("aum"),
        value_at_risk=pair("value_at_risk"),
        value_at_risk_share=glance._value(b.branch_score.get("value_at_risk_share")),
        high_value_at_risk=glance._value(b.branch_score.get("high_value_at_risk")),
        horizon_months=s.churn_horizon_months,
        tiles=tiles,
        unassigned=b.unassigned if cov.rm != "none" else b.unassigned[:0],
        watchlist=b.watchlist,
        rm_books=b.rm_books,
        first_reason=first_reason,
        first_call=first_call(b, s),
    )
    return {
        "tiles": tiles,
        "story": glance.story(facts, s.locale, s.currency),
        "months": len(b.months),
        "first_month": b.months[0] if b.months else b.period,
        "horizon_months": s.churn_horizon_months,
        "contact_days": s.rm_contact_days,
        "dormant_days": s.dormant_days,
    }


def branch_context(b: BranchInputs, s: ReportSettings) -> dict[str, Any]:
    """Everything branch.html shows for one branch, from that branch's slice only."""
    surveys = sv.find_surveys(b.survey)
    churn_available = sc.churn_model_available(b.scores)
    customer_survey = survey_section(surveys.get("customer"), "customer", b.branch_id, s)
    cov = cd.coverage(b.manifest, b.network_kpi, surveys.get("customer"))
    headline = cd.masked(kp.headline_kpis(b.kpi, b.network_kpi, b.previous_kpi), cov)
    tiers = kp.tier_table(b.kpi, s.tiers)
    rm_rows = cov.unknown_contacts(
        kp.rm_coverage_table(
            kp.rm_by_tier(b.features, s.rm_tiers, s.rm_contact_days), b.network_rm, s.rm_tiers
        )
    )
    xs, _ = sc.lorenz_curve(b.lorenz)
    words = s.words
    rm_ids = sorted(b.call_lists)
    return {
        "meta": meta(
            "branch",
            b.period,
            b.as_of,
            b.previous_period,
            b.previous_kpi is not None,
            s,
            b.branch_id,
        ),
        "sections": sections(BRANCH_SECTIONS),
        "data": {
            **cov.as_dict(),
            "tier_concentration": cd.tier_concentration(tiers) if cov.balances else None,
        },
        "glance": glance_context(b, s),
        "downloads": ac.download_names(b.branch_id, rm_ids),
        "effect": {
            "ranking": ce.ranking(b.model_card.get("contact_effect") or {}),
            "lists": ce.lists_figures(b.branch_score),
            "closed_loop": ce.closed_loop_rows(
                b.model_card.get("contact_effect") or {}, b.branch_id
            ),
        },
        "actions": {
            "unassigned": ac.unassigned_page(b.unassigned, words),
            "watchlist": ac.action_rows(b.watchlist, words),
            "rms": cov.unknown_contacts(
                ac.rm_pages(b.rm_books, b.call_lists, s.tiers, s.rm_monthly_calls, words)
            ),
            "capacity": float(s.rm_monthly_calls),
            "contact_days": s.rm_contact_days,
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
            "value": sc.value_figures(b.branch_score, b.network_score, cov.balances),
            "by_tier": sc.value_by_tier(b.scores, s.tiers),
            "deciles": sc.clv_decile_table(b.scores),
            "gini": kp.kpi_value(b.kpi, "gini_aum") if cov.balances else cd.NO_BALANCES,
            "top1": kp.kpi_value(b.kpi, "top1_aum_share") if cov.balances else cd.NO_BALANCES,
            "top10": kp.kpi_value(b.kpi, "top10_aum_share") if cov.balances else cd.NO_BALANCES,
            "lorenz_points": len(xs),
        },
        "churn": {
            "available": churn_available,
            "p_alive": sc.p_alive_coverage(b.scores, b.model_card),
            "bands": sc.churn_band_table(b.scores) if churn_available else [],
            "quadrants": sc.quadrant_table(b.scores),
            "drivers": sc.driver_rows(b.model_card, s.locale),
            "high_risk_share": kp.kpi_value(b.branch_score, "high_risk_share"),
            "scored": kp.kpi_value(b.branch_score, "scored_customers"),
            "active": kp.kpi_value(b.branch_score, "active_customers"),
        },
        "rm": {
            "rows": rm_rows,
            "rms": kp.kpi_value(b.kpi, "rm_count"),
            "customers_per_rm": kp.kpi_value(b.kpi, "customers_per_rm"),
            "network_customers_per_rm": kp.kpi_value(b.network_kpi, "customers_per_rm"),
            "contact_days": s.rm_contact_days,
            "books": cov.unknown_contacts(sc.rm_book_rows(b.rm_books)),
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
            # the KPI (features stage): digital transactions / all, over the branch's
            # active customers -- not a mean of each customer's own share
            "txn_share": kp.kpi_value(b.kpi, "digital_txn_share"),
            "transacting": kp.transacting_customers(b.features),
        },
        "surveys": [customer_survey, survey_section(surveys.get("staff"), "staff", b.branch_id, s)],
        "appendix": appendix(b.manifest, b.model_card, s.locale, b.generation),
        "not_available": NA,
    }
