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
    "aum": "assets under management at as_of (currency)",
    "rfm_segment": "RFM segment at as_of",
    "status": "active, or closed in the period",
    "in_btyd": "covered by the BTYD transactions model: a customer-initiated transaction up to "
    "as_of, and a model that holds (clv.status; BTYD columns null if not)",
    "btyd_frequency": "repeat events (lifetimes frequency), in time_unit periods",
    "btyd_recency": "first to last event, in time_unit",
    "btyd_T": "first event to as_of, in time_unit",
    "p_alive": "P(not dropped out) at as_of, from the transactions model; 0 if closed "
    "(null: not in_btyd)",
    "expected_transactions": "expected repeat events over the CLV horizon "
    "(unit: clv.expected_transactions_unit)",
    "expected_value_per_event": "expected value per event (currency; clv.value_model says how)",
    "churn_probability": "supervised churn probability over churn.horizon_months (null: no model)",
    "churn_band": "low / medium / high by churn.bands (null: no model)",
    "monthly_balance_margin": "expected monthly margin on balances (currency; value.margin_rates)",
    "monthly_interchange": "expected monthly interchange on card spend (currency)",
    "monthly_fees": "expected monthly fees, the customer's and the bank's own postings (currency)",
    "monthly_cost_to_serve": "expected monthly cost of the customer's transactions (currency)",
    "monthly_profit": "margin + interchange + fees - cost to serve, a month (currency)",
    "transaction_clv": "the BTYD model's discounted value of the customer's own transactions "
    "over clv.horizon_months (currency; 0 outside BTYD or if closed)",
    "clv": "discounted expected profit over clv.horizon_months while the customer stays "
    "(currency; value.method says how); 0 if closed",
    "leave_probability": "the probability of leaving within churn.horizon_months that "
    "value_at_risk is weighted with: churn_probability, else 1 - p_alive, 1 if closed "
    "(null: neither)",
    "value_at_risk": "clv x leave_probability (currency; 0 when either is missing)",
    "clv_decile": "1-10 by CLV, ties share the lowest decile",
    "high_value": "among the top value_risk.high_value_share of active customers by CLV",
    "value_risk_quadrant": "retain now / protect / win back cheaply / develop",
    "contact_effect": "by how much an RM's contact this month lowers the probability of leaving "
    "within churn.horizon_months (null: not estimated, or the customer outside overlap)",
    "contact_propensity": "the probability the bank would contact the customer this month, "
    "as it has chosen whom to contact (null: not estimated)",
    "value_saved": "expected value saved by a contact: contact_effect x clv - "
    "contact_effect.contact_cost (currency; null: not estimated)",
    "do_not_call": "a contact is estimated to raise the chance of leaving in the customer's "
    "segment, with 95% confidence",
    "call_action": "on the RM's call list this month: call, do not call, or null (not listed)",
    "call_rank": "rank on the RM's call list (null: not to call)",
    "reason_codes": "up to three features most out of line on the risky side (robust z >= 1), "
    "strongest first, each <feature>:<value>:<typical value> (na: missing), joined by ';'; "
    "where leave_probability is 1 - p_alive, first btyd_silence:<days silent>:<usual days "
    "between events> for a customer silent for two usual gaps or more; the report words them",
}


def build_card(
    period: str,
    as_of: date,
    clv_card: dict[str, Any],
    validation: dict[str, Any],
    churn: dict[str, Any],
    value: dict[str, Any],
    scores: pd.DataFrame,
    s: ScoreSettings,
    drift: dict[str, Any] | None = None,
    contact_effect: dict[str, Any] | None = None,
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
    warnings += value["warnings"]
    if contact_effect and contact_effect.get("status") == "fallback":
        warnings.append(
            "Call lists are ranked by value at risk, not by the effect of a contact: "
            + contact_effect["message"]
        )
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
        "value": value,
        "contact_effect": contact_effect,
        "value_risk": {
            "high_value_share": s.high_value_share,
            "high_risk": high_risk_rule(churn, clv_card, s),
            "watchlist_size": s.watchlist_size,
            "watchlist": "per branch, the active customers with the most value at risk",
            "rm_monthly_calls": s.rm_monthly_calls,
            "quadrant_counts": {str(k): int(v) for k, v in quadrant_counts.items()},
        },
        "columns": SCORE_COLUMNS,
        "drift": {k: v for k, v in drift.items() if k != "warnings"} if drift else None,
        "warnings": warnings,
    }


def high_risk_rule(churn: dict[str, Any], clv: dict[str, Any], s: ScoreSettings) -> str:
    """What counts as high risk in the quadrants, given which models there are."""
    if churn.get("status") == "ok":
        return "churn_band high"
    if clv.get("status") == "ok":
        return f"1 - p_alive >= {s.churn.high} (no churn model)"
    return "none: neither a churn model nor a transactions model this month"


def summary_text(card: dict[str, Any], n_watchlists: int) -> str:
    """The lines `crm score` prints."""
    clv = card["clv"]
    if clv["status"] == "ok":
        params = ", ".join(f"{k}={v:.4g}" for k, v in clv["parameters"].items())
        model = f"{clv['model_name']} ({params}) in {clv['time_unit']}s on {clv['customers']:,}"
    else:
        model = f"no transactions model (P(alive) null) for the {clv['customers']:,}"
    lines = [f"score {card['period']}: {card['customers']:,} customers; {model} customers"]
    val = card["clv_validation"]
    lines.append(f"  CLV validation: {val['verdict'] or val.get('warning') or val.get('reason')}")
    churn = card["churn"]
    lines.append(f"  churn: {churn['verdict'] if churn['status'] == 'ok' else churn['message']}")
    value = card["value"]
    m = value["monthly_totals"]
    lines.append(
        f"  value: {value['active_customers']:,} active customers earn {m['profit']:,.0f} a month "
        f"(margin {m['balance_margin']:,.0f}, interchange {m['interchange']:,.0f}, fees "
        f"{m['fees']:,.0f}, cost to serve {m['cost_to_serve']:,.0f}); CLV "
        f"{value['clv_total']:,.0f}, of it at risk {value['value_at_risk_total']:,.0f}"
    )
    check = value["validation"]
    lines.append(f"  value validation: {check['verdict'] or check.get('warning')}")
    effect = card.get("contact_effect") or {}
    if effect.get("status") == "ok":
        average = effect["average_effect"]
        low, high = average["ci"]
        lines.append(
            f"  call lists: ranked by expected value saved (a contact's effect, estimated on "
            f"{effect['customers']['final']:,} customer-months, "
            f"{effect['contacted']['final']:,} with a contact; average effect "
            f"{average['effect']:+.4f}, 95% interval {low:+.4f} to {high:+.4f})"
        )
    elif effect:
        lines.append(f"  call lists: ranked by value at risk -- {effect['message']}")
    counts = card["value_risk"]["quadrant_counts"]
    lines.append(
        f"  high value: {value['high_value_customers']:,}; retain now: "
        f"{counts.get('retain now', 0)}; watchlists for {n_watchlists} branches"
    )
    return "\n".join(lines)  # the card's warnings are logged once, by the stage


VALUE_METHOD = (
    "CLV = sum over the next clv.horizon_months months of the expected monthly profit x the "
    "chance the customer is still a customer x the discount factor, plus the BTYD model's "
    "value of the customer's own transactions where it covers the customer. Expected "
    "monthly profit: the margin the balances held at the last month end earn in a month "
    "(balance x value.margin_rates / 12), plus the mean interchange and fees of the last "
    "value.run_rate_months months (of the months since opening, for a newer customer), "
    "less cost to serve (value.cost_per_transaction); the revenue of the customer's own "
    "transactions (interchange and fees) is left to BTYD where it covers them. Staying: a "
    "constant monthly hazard that reproduces the churn model's probability of leaving "
    "within churn.horizon_months (without a model, 1 - P(alive)). Value at risk = CLV x "
    "that probability."
)


def value_card(
    scored: pd.DataFrame, notes: dict[str, Any], check: dict[str, Any], s: ScoreSettings
) -> dict[str, Any]:
    """The card's value section: the method, the assumptions it ran with (every rate and
    cost), what the active customers earn a month by component, mean CLV by tier, and
    the check out of time."""
    v = s.value
    active = scored[scored["status"] == "active"]
    monthly = {
        name: float(active[f"monthly_{name}"].sum())
        for name in ("balance_margin", "interchange", "fees", "cost_to_serve", "profit")
    }
    by_tier = active.groupby("tier", sort=False)["clv"].mean()
    warnings = []
    unknown = notes["customers_without_risk_estimate"]
    if unknown:
        warnings.append(
            f"{unknown} customers have neither a churn probability nor P(alive): their CLV "
            "assumes they stay for the whole horizon"
        )
    if check.get("warning"):
        warnings.append(check["warning"])
    return {
        "method": VALUE_METHOD,
        "assumptions": {
            "margin_rates_annual": dict(v.margin_rates),
            "card_spend_txn_types": list(v.card_spend_txn_types),
            "interchange_rate": v.interchange_rate,
            "fee_schedule": dict(v.fee_schedule),
            "cost_per_transaction": dict(v.cost_per_transaction),
            "run_rate_months": v.run_rate_months,
            "horizon_months": v.horizon_months,
            "discount_rate_annual": v.discount_rate_annual,
            "note": "illustrative assumptions unless the bank's config replaced them",
        },
        "active_customers": int(len(active)),
        "monthly_totals": monthly,
        "clv_total": float(active["clv"].sum()),
        "value_at_risk_total": float(active["value_at_risk"].sum()),
        "mean_clv_by_tier": {t: float(by_tier[t]) for t in s.tier_names if t in by_tier},
        "high_value_customers": int(scored["high_value"].sum()),
        "customers_without_risk_estimate": unknown,
        "validation": check,
        "warnings": warnings,
    }
