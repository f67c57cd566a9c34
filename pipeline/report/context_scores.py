"""Numbers for the CLV, churn, watchlist, data-quality and model-validation sections.

Pure functions over the score stage's frames, its model card and the ingest manifest.
Null churn probabilities mean "no supervised model this period" (too few churners): the
section says so and shows P(alive) instead of inventing bands.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipeline.errors import InputError
from pipeline.report.environment import NA
from pipeline.report.i18n import term
from pipeline.report.vocabulary import data_quality_reason, feature_label

BAND_ORDER = ("low", "medium", "high")
# Metric keys of the model card, in display order, with labels and formats.
METRICS: tuple[tuple[str, str, int], ...] = (
    ("roc_auc", "metric_roc_auc", 3),
    ("pr_auc", "metric_pr_auc", 3),
    ("top_decile_lift", "metric_top_decile_lift", 2),
    ("ks", "metric_ks", 3),
    ("brier", "metric_brier", 4),
)


def _num(value: Any) -> Any:
    return NA if value is None or pd.isna(value) else float(value)


def active_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores of customers active at the as-of date (closed ones score 0 by definition):
    the same population as the branch KPIs."""
    if "status" not in scores.columns:
        return scores
    return scores[scores["status"] == "active"].reset_index(drop=True)


def clv_decile_table(scores: pd.DataFrame) -> list[dict[str, Any]]:
    """Customers and share of the branch's CLV per CLV decile (deciles are bank-wide:
    10 = most valuable), highest first."""
    total = float(scores["clv"].sum())
    grouped = (
        scores.dropna(subset=["clv_decile"])
        .groupby("clv_decile")
        .agg(customers=("customer_id", "size"), clv=("clv", "sum"), mean=("clv", "mean"))
    )
    return [
        {
            "decile": int(d),
            "customers": float(g["customers"]),
            "clv": float(g["clv"]),
            "mean": float(g["mean"]),
            "share": float(g["clv"]) / total if total else NA,
        }
        for d, g in grouped.sort_index(ascending=False).iterrows()
    ]


def churn_model_available(scores: pd.DataFrame) -> bool:
    """True when the supervised churn model scored this period (probabilities not null)."""
    return bool(scores["churn_probability"].notna().any())


def churn_band_table(scores: pd.DataFrame) -> list[dict[str, Any]]:
    """Customers, share, AUM-free CLV at stake and mean probability per churn band."""
    scored = scores.dropna(subset=["churn_band"])
    total = len(scored)
    rows = []
    for band in [*BAND_ORDER, *sorted(set(scored["churn_band"]) - set(BAND_ORDER))]:
        sub = scored[scored["churn_band"] == band]
        rows.append(
            {
                "band": band,
                "customers": float(len(sub)),
                "share": len(sub) / total if total else NA,
                "clv": float(sub["clv"].sum()),
                "mean_probability": _num(sub["churn_probability"].mean()) if len(sub) else NA,
            }
        )
    return rows


def quadrant_table(scores: pd.DataFrame) -> list[dict[str, Any]]:
    """Customers and CLV per value x risk quadrant."""
    scored = scores.dropna(subset=["value_risk_quadrant"])
    total = len(scored)
    grouped = scored.groupby("value_risk_quadrant").agg(
        customers=("customer_id", "size"), clv=("clv", "sum")
    )
    return [
        {
            "quadrant": q,
            "customers": float(g["customers"]),
            "share": float(g["customers"]) / total,
            "clv": float(g["clv"]),
        }
        for q, g in grouped.sort_index().iterrows()
    ]


PROFIT_COMPONENTS = (
    ("profit_balance_margin", "monthly_balance_margin", 1),
    ("profit_interchange", "monthly_interchange", 1),
    ("profit_fees", "monthly_fees", 1),
    ("profit_cost_to_serve", "monthly_cost_to_serve", -1),
    ("profit_total", "monthly_profit", 1),
)


def value_figures(branch: pd.Series, network: pd.Series, balances: bool = True) -> dict[str, Any]:
    """The branch's value figures from the score stage's branch row (and the network's):
    monthly profit, CLV, value at risk (of it, the high-value customers'), high-value
    customers, and the customers the BTYD model covers. Without balances in the exports
    the profit components leave out the balance margin (not a margin of 0)."""

    def value(row: pd.Series, column: str) -> Any:
        return _num(row.get(column))

    return {
        "monthly_profit": value(branch, "monthly_profit"),
        "clv": value(branch, "clv"),
        "clv_per_customer": value(branch, "clv_per_customer"),
        "value_at_risk": value(branch, "value_at_risk"),
        "value_at_risk_share": value(branch, "value_at_risk_share"),
        "high_value_at_risk": value(branch, "high_value_at_risk"),
        "high_value_customers": value(branch, "high_value_customers"),
        "active_customers": value(branch, "active_customers"),
        "in_btyd_customers": value(branch, "in_btyd_customers"),
        "network_value_at_risk_share": value(network, "value_at_risk_share"),
        "components": [
            {
                "label": label,
                "branch": _signed(value(branch, column), sign),
                "network": _signed(value(network, column), sign),
                "total": label == "profit_total",
            }
            for label, column, sign in PROFIT_COMPONENTS
            if balances or label != "profit_balance_margin"
        ],
    }


def _signed(value: Any, sign: int) -> Any:
    return value * sign if isinstance(value, float) else value


def value_by_tier(scores: pd.DataFrame, tiers: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per tier (configured order) of the branch's active customers: customers, monthly
    profit, CLV (total and mean), value at risk and high-value customers."""
    grouped = scores.groupby("tier", sort=False).agg(
        customers=("customer_id", "size"),
        monthly_profit=("monthly_profit", "sum"),
        clv=("clv", "sum"),
        mean_clv=("clv", "mean"),
        value_at_risk=("value_at_risk", "sum"),
        high_value=("high_value", "sum"),
    )
    return [
        {"tier": tier, **{k: float(v) for k, v in grouped.loc[tier].items()}}
        for tier in tiers
        if tier in grouped.index
    ]


def transactions_model(model_card: dict[str, Any]) -> bool:
    """Whether a BTYD transactions model held this month (else no P(alive) at all)."""
    return (model_card.get("clv") or {}).get("status", "ok") == "ok"


def p_alive_coverage(scores: pd.DataFrame, model_card: dict[str, Any]) -> dict[str, Any]:
    """Mean P(alive) over the customers the BTYD model covers, and how many of how many;
    `model`: whether there is a transactions model at all."""
    covered = scores["p_alive"].dropna()
    return {
        "model": transactions_model(model_card),
        "mean": float(covered.mean()) if len(covered) else NA,
        "covered": float(len(covered)),
        "customers": float(len(scores)),
    }


def driver_rows(model_card: dict[str, Any], locale: str, limit: int = 8) -> list[dict[str, Any]]:
    """The churn model's top drivers in words (permutation importance: how much the
    model's ROC-AUC drops when the feature is shuffled)."""
    drivers = (model_card.get("churn") or {}).get("top_drivers") or []
    return [
        {
            "driver": feature_label(locale, str(d["feature"]), lambda p: term(locale, p)),
            "importance": _num(d.get("importance")),
        }
        for d in drivers[:limit]
    ]


def data_quality_label(locale: str, code: str) -> str:
    """Why ingest rejected rows, in words."""
    return data_quality_reason(locale, code)


def _status(check: dict[str, Any]) -> str:
    if check.get("status") != "ok":
        return "absent"
    return "beats" if check.get("model_beats_baseline") else "loses"


def model_checks(model_card: dict[str, Any]) -> dict[str, Any]:
    """What each model's check out of time says, as facts the report words in its
    language: whether the churn model beats the best simple rule (and by how much),
    whether the CLV and value models beat their naive baselines, why a check could not
    run, and how many measures moved since the previous period."""
    churn = model_card.get("churn") or {}
    metrics = churn.get("metrics") or {}
    model_auc = (metrics.get("gradient_boosting") or {}).get("roc_auc")
    rule_auc = (metrics.get(BASELINE) or {}).get("roc_auc")
    if churn.get("status") == "ok":
        churn_status = "beats" if churn.get("model_beats_simple_rule") else "loses"
    else:
        churn_status = "absent"
    clv = model_card.get("clv_validation") or {}
    value = (model_card.get("value") or {}).get("validation") or {}
    drift = model_card.get("drift") or {}
    measures = drift.get("measures") or []
    return {
        "churn": {
            "status": churn_status,
            "model": _num(model_auc),
            "baseline": _num(rule_auc),
            "rule": (churn.get("simple_rule") or {}).get("rule"),
            "why_absent": "too_few_churners" if churn.get("labelled") else "too_little_history",
            "p_alive": transactions_model(model_card),
        },
        "clv": {
            "status": "no_model" if not transactions_model(model_card) else _status(clv),
            "model_name": str((model_card.get("clv") or {}).get("model_name") or ""),
            "model": _num((clv.get("model") or {}).get("mae")),
            "baseline": _num((clv.get("naive_baseline") or {}).get("mae")),
        },
        "value": {
            "status": _status(value),
            "months": value.get("months"),
            "model": _num((value.get("model") or {}).get("spearman")),
            "baseline": _num((value.get("naive_baseline") or {}).get("spearman")),
        },
        "drift": {
            "available": bool(drift),
            "shifted": sum(bool(m.get("shifted")) for m in measures),
            "measures": len(measures),
            "compared": sum(m.get("psi") is not None for m in measures),
            "previous_period": str(drift.get("previous_period") or ""),
            "threshold": _num(drift.get("threshold")),
        },
        "notes": len(model_card.get("warnings") or []),
    }


def rm_book_rows(books: pd.DataFrame) -> list[dict[str, Any]]:
    """The branch's relationship managers, by value at risk held (most first)."""
    ordered = books.sort_values(["value_at_risk", "rm_id"], ascending=[False, True])
    return [
        {
            "rm_id": str(r["rm_id"]),
            "customers": float(r["customers"]),
            "high_value": float(r["high_value_customers"]),
            "clv": float(r["clv"]),
            "value_at_risk": float(r["value_at_risk"]),
            "contacted": _num(r["contacted_share"]),
            "call_list": float(r["call_list"]),
        }
        for r in ordered.to_dict("records")
    ]


def value_validation(model_card: dict[str, Any]) -> dict[str, Any]:
    """The value model's check out of time against its naive baseline."""
    check = (model_card.get("value") or {}).get("validation") or {}
    ok = check.get("status") == "ok"
    model, base = check.get("model") or {}, check.get("naive_baseline") or {}
    return {
        "available": ok,
        "rows": [
            {
                "metric": name,
                "model": _num(model.get(key)),
                "baseline": _num(base.get(key)),
                "digits": digits,
            }
            for name, key, digits in (
                ("mae", "mae", 2),
                ("spearman", "spearman", 3),
                ("aggregate_error", "aggregate_pct_error", 1),
            )
        ]
        if ok
        else [],
        "months": check.get("months"),
    }


# The model card's churn metrics: candidate models, and the best simple rule they must beat.
MODEL_ORDER = ("gradient_boosting", "logistic_regression")
BASELINE = "simple_rule"


def metric_table(model_card: dict[str, Any]) -> dict[str, Any]:
    """Churn validation metrics per model beside the best simple rule (the baseline),
    which rule that is, and the difference of the scoring model (the first) from it."""
    churn = model_card.get("churn") or {}
    metrics = churn.get("metrics") or {}
    if BASELINE not in metrics:
        return {"models": [], "rows": [], "rule": None}
    models = [m for m in MODEL_ORDER if m in metrics]
    models += sorted(m for m in metrics if m not in models and m != BASELINE)
    rows = []
    for key, label, digits in METRICS:
        values = [_num(metrics[m].get(key)) for m in models]
        baseline = _num(metrics[BASELINE].get(key))
        first = values[0] if values else NA
        both = isinstance(first, float) and isinstance(baseline, float)
        rows.append(
            {
                "metric": label,  # a label key
                "values": values,
                "baseline": baseline,
                "digits": digits,
                "difference": first - baseline if both else NA,
            }
        )
    return {"models": models, "rows": rows, "rule": (churn.get("simple_rule") or {}).get("rule")}


def clv_validation(model_card: dict[str, Any]) -> dict[str, Any]:
    """The CLV model's holdout check against the naive historical-rate baseline."""
    clv = model_card.get("clv") or {}
    val = model_card.get("clv_validation") or {}
    ok = val.get("status") == "ok"
    model, base = val.get("model") or {}, val.get("naive_baseline") or {}
    return {
        "model_name": str(clv.get("model_name") or clv.get("model") or ""),
        "available": ok,
        "no_model": not transactions_model(model_card),
        "mae": _num(model.get("mae")) if ok else NA,
        "baseline_mae": _num(base.get("mae")) if ok else NA,
        "rmse": _num(model.get("rmse")) if ok else NA,
        "baseline_rmse": _num(base.get("rmse")) if ok else NA,
        "beats_baseline": bool(val.get("model_beats_baseline")) if ok else False,
    }


def model_warnings(model_card: dict[str, Any]) -> list[str]:
    """Every warning the model card gathers at its top (e.g. a model that loses to its
    baseline), verbatim: the report must show them, not hide them."""
    return [str(w) for w in model_card.get("warnings") or [] if w]


def data_warnings(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Ingest's findings (pipeline/ingest/quality.py: codes with parameters, worded in
    the report's language by vocabulary.data_warning): a missing month or a mapping that
    reads nothing must be seen beside the figures it affects. A manifest from before
    findings had codes gives its English sentences (code "text")."""
    if "findings" in manifest:
        return list(manifest["findings"] or [])
    return [{"code": "text", "text": str(w)} for w in manifest.get("warnings") or [] if w]


MANIFEST_KEYS = ("rows_read", "accepted", "rejected", "rejected_by_reason", "duplicates_dropped")


def manifest_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Per canonical table: rows read, accepted, rejected (with reasons), duplicates dropped."""
    tables = manifest.get("tables")
    if not isinstance(tables, dict):
        raise InputError("manifest.json: no 'tables' object; `crm ingest` writes it")
    rows = []
    for name in sorted(tables):
        entry = tables[name]
        missing = [k for k in MANIFEST_KEYS if k not in entry]
        if missing:
            raise InputError(f"manifest.json: table {name!r} lacks {', '.join(missing)}")
        rows.append(
            {
                "table": name,
                "rows_read": float(entry["rows_read"]),
                "rows_accepted": float(entry["accepted"]),
                "rows_rejected": float(entry["rejected"]),
                "duplicates_dropped": float(entry["duplicates_dropped"]),
                "reasons": [
                    {"reason": str(r), "rows": float(n)}
                    for r, n in sorted(entry["rejected_by_reason"].items())
                ],
            }
        )
    return rows


def lorenz_curve(points: pd.DataFrame) -> tuple[list[float], list[float]]:
    """(cumulative customer share, cumulative AUM share) from the origin, ordered."""
    ordered = points.sort_values("point")
    xs = ordered["cum_customer_share"].to_numpy(dtype=float)
    ys = ordered["cum_aum_share"].to_numpy(dtype=float)
    if xs.size == 0 or xs[0] != 0:
        xs, ys = np.concatenate([[0.0], xs]), np.concatenate([[0.0], ys])
    return xs.tolist(), ys.tolist()
