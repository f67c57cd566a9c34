"""The model card (model_card.json) and the one-paragraph summary `crm score` prints."""

from __future__ import annotations

from datetime import date
from importlib.metadata import version
from typing import Any

import pandas as pd

from pipeline.scoring.settings import ScoreSettings

SCORE_COLUMNS = {
    "customer_id": "customer key",
    "branch_id": "branch",
    "rm_id": "relationship manager (null: none)",
    "tier": "AUM tier at as_of",
    "rfm_segment": "RFM segment at as_of",
    "status": "active, or closed in the period",
    "in_btyd": "has a customer-initiated transaction up to as_of (BTYD columns null if not)",
    "btyd_frequency": "repeat events (lifetimes frequency), in time_unit periods",
    "btyd_recency": "first to last event, in time_unit",
    "btyd_T": "first event to as_of, in time_unit",
    "p_alive": "P(not dropped out) at as_of, from the transactions model; 0 if closed",
    "expected_transactions": "expected repeat events over the CLV horizon "
    "(unit: clv.expected_transactions_unit)",
    "expected_value_per_event": "expected value per event (currency; clv.value_model says how)",
    "clv": "discounted value over clv.horizon_months (currency); 0 if closed",
    "clv_decile": "1-10 by CLV, ties share the lowest decile",
    "churn_probability": "supervised churn probability over churn.horizon_months (null: no model)",
    "churn_band": "low / medium / high by churn.bands (null: no model)",
    "value_risk_quadrant": "retain now / protect / win back cheaply / develop",
    "top_reasons": "features most out of line on the risky side (robust z >= 1)",
}


def build_card(
    period: str,
    as_of: date,
    clv_card: dict[str, Any],
    validation: dict[str, Any],
    churn: dict[str, Any],
    scores: pd.DataFrame,
    s: ScoreSettings,
    drift: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything a reader needs to trust (or not) the scores; warnings gathered at the top
    (a measure that shifted since the previous period among them; see pipeline.drift)."""
    warnings = list(clv_card.get("warnings", []))
    if validation.get("warning"):
        warnings.append(validation["warning"])
    if churn.get("status") != "ok":
        warnings.append(churn["message"])
    elif churn.get("warning"):
        warnings.append(churn["warning"])
    if drift:
        warnings += drift["warnings"]
    quadrant_counts = scores["value_risk_quadrant"].value_counts().sort_index()
    return {
        "period": period,
        "as_of_date": as_of.isoformat(),
        "grain": "customer_scores: one row per customer in the period's features",
        "versions": {"lifetimes": version("lifetimes"), "scikit_learn": version("scikit-learn")},
        "customers": int(len(scores)),
        "currency": clv_card.get("currency"),  # of every money value here and in the scores
        "clv": clv_card,
        "clv_validation": validation,
        "churn": churn,
        "value_risk": {
            "high_value_decile": s.high_value_decile,
            "high_risk": "churn_band high"
            if churn.get("status") == "ok"
            else f"1 - p_alive >= {s.churn.high} (no churn model)",
            "watchlist_size": s.watchlist_size,
            "quadrant_counts": {str(k): int(v) for k, v in quadrant_counts.items()},
        },
        "columns": SCORE_COLUMNS,
        "drift": {k: v for k, v in drift.items() if k != "warnings"} if drift else None,
        "warnings": warnings,
    }


def summary_text(card: dict[str, Any], n_watchlists: int) -> str:
    """The lines `crm score` prints."""
    clv = card["clv"]
    params = ", ".join(f"{k}={v:.4g}" for k, v in clv["parameters"].items())
    lines = [
        f"score {card['period']}: {card['customers']} customers; {clv['model_name']} ({params}) "
        f"in {clv['time_unit']}s on {clv['customers']} customers",
    ]
    val = card["clv_validation"]
    lines.append(f"  CLV validation: {val['verdict'] or val.get('warning')}")
    churn = card["churn"]
    lines.append(f"  churn: {churn['verdict'] if churn['status'] == 'ok' else churn['message']}")
    counts = card["value_risk"]["quadrant_counts"]
    lines.append(
        f"  retain now: {counts.get('retain now', 0)}; watchlists for {n_watchlists} branches"
    )
    for w in card["warnings"]:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)
