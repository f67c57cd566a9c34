"""What each customer is worth to the bank: CLV for every open customer, value at risk,
and the check of both against what customers went on to earn.

CLV_i = sum over months m = 1..H of  pi_i x S_i(m) / (1 + d)^m  +  BTYD_i

- pi_i, the expected monthly profit from the relationship: the margin the balances held
  at the last month end earn in a month (balances are stocks: the latest is the best
  estimate of the months ahead, and it catches balances already draining away), plus
  the mean over the last value.run_rate_months months (pipeline.scoring.profit) of the
  flows, interchange and fees, less cost to serve -- without the revenue (interchange
  and fees) of the customer's own transactions when the BTYD model covers the customer
  (it values those transactions as BTYD_i);
- S_i(m) = (1 - h_i)^m, the chance the customer is still a customer after m months,
  from a constant monthly hazard h_i = 1 - (1 - p_i)^(1 / churn.horizon_months) that
  reproduces the churn model's probability p_i of leaving within its horizon (without a
  churn model, 1 - P(alive); with neither, 0 -- 1 if closed: the card says for how many
  customers);
- d, the monthly rate compounding to clv.discount_rate_annual; H = clv.horizon_months;
- BTYD_i, the BTYD model's discounted value of the customer's own transactions over H
  (pipeline.scoring.clv), for customers it covers (in_btyd), else 0 and that revenue
  stays in pi_i (for every customer when no transactions model holds).

Closed customers are worth 0. Value at risk = CLV x churn probability (the probability
of leaving within churn.horizon_months, as above); a customer whose CLV is negative (costs
more to serve than they earn) puts nothing at risk. High value: the top
value_risk.high_value_share of active customers by CLV.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from pipeline.btyd import monthly_discount_rate
from pipeline.scoring.profit import COMPONENTS, KINDS, OWN_REVENUE, REVENUE, MonthlyProfit
from pipeline.scoring.settings import ValueSettings

# customer_scores columns: the expected monthly amounts, then CLV and what is at stake
MONTHLY = {
    "balance_margin": "monthly_balance_margin",
    "interchange": "monthly_interchange",
    "fees": "monthly_fees",
    "cost_to_serve": "monthly_cost_to_serve",
}


def monthly_hazard(p_leave: np.ndarray, horizon_months: int) -> np.ndarray:
    """The constant monthly hazard under which a customer leaves within `horizon_months`
    with probability `p_leave` (NaN stays NaN)."""
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
    p = np.clip(np.asarray(p_leave, dtype=float), 0.0, 1.0)
    return 1.0 - (1.0 - p) ** (1.0 / horizon_months)


def retention_factor(hazard: np.ndarray, months: int, monthly_discount: float) -> np.ndarray:
    """sum over m = 1..months of ((1 - hazard) / (1 + monthly_discount))^m: what one unit of
    monthly profit is worth over `months` months, kept and discounted."""
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    q = (1.0 - np.asarray(hazard, dtype=float)) / (1.0 + monthly_discount)
    # q (1 - q^n) / (1 - q), written with log q so that it stays exact as q nears 1
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.log(q)
        closed_form = q * np.expm1(months * log_q) / np.expm1(log_q)
    return np.where(log_q == 0.0, float(months), np.where(q == 0.0, 0.0, closed_form))


def run_rate(profit: MonthlyProfit, first_month: int, months: int) -> np.ndarray:
    """customers x components: what each earns in a month ahead as seen `first_month`
    months back (0: the as-of month): the balance margin at that month end's balances,
    the other components' mean over the `months` months ending then -- over the months
    since opening for a customer who opened within them (MonthlyProfit.months_open)."""
    window = profit.values[:, first_month : first_month + months, :]
    if window.shape[1] < months:
        raise ValueError(f"needs {first_month + months} months of profit, has {profit.months}")
    if profit.months_open is None:
        rate = window.mean(axis=1)
    else:
        months_a_customer = np.clip(profit.months_open - first_month, 1, months)
        rate = window.sum(axis=1) / months_a_customer[:, None]
    rate[:, COMPONENTS.index("balance_margin")] = profit.closing_margin[:, first_month]
    return rate


def run_rate_profit(profit: MonthlyProfit, first_month: int, months: int) -> np.ndarray:
    """run_rate's profit: revenue less cost to serve, per customer."""
    rate = run_rate(profit, first_month, months)
    revenue = rate[:, [COMPONENTS.index(c) for c in REVENUE]].sum(axis=1)
    return revenue - rate[:, COMPONENTS.index("cost_to_serve")]


def risk_of_leaving(
    churn_probability: pd.Series, p_alive: pd.Series, closed: np.ndarray
) -> tuple[np.ndarray, int]:
    """The probability of leaving within the churn horizon: the churn model's, else
    1 - P(alive), else 1 for a closed customer (observed), else NaN (no estimate); and
    how many customers had none of these."""
    p = churn_probability.astype("Float64").fillna(1 - p_alive.astype("Float64"))
    p = p.mask(p.isna() & closed, 1.0)
    unknown = int(p.isna().sum())
    return p.to_numpy(dtype=float, na_value=np.nan), unknown


def customer_value(
    scored: pd.DataFrame, profit: MonthlyProfit, churn_horizon: int, s: ValueSettings
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The value columns of customer_scores for the customers of `scored` (features,
    CLV and churn joined, by customer_id: status, in_btyd, btyd_clv, p_alive,
    churn_probability), and the card's notes on them.

    Columns: monthly_balance_margin, monthly_interchange, monthly_fees,
    monthly_cost_to_serve, monthly_profit (run rates), transaction_clv (BTYD), clv,
    leave_probability (risk_of_leaving), value_at_risk. Customers without a balance or
    transaction in the months read earn 0."""
    per_customer = pd.DataFrame(
        run_rate(profit, 0, s.run_rate_months), columns=list(COMPONENTS)
    ).assign(customer_id=profit.customer_id.to_numpy())
    rates = scored[["customer_id"]].merge(per_customer, on="customer_id", how="left")
    rates = rates.fillna({c: 0.0 for c in COMPONENTS})
    closed = (scored["status"] == "closed").to_numpy()
    in_btyd = scored["in_btyd"].to_numpy(dtype=bool)
    leave, unknown = risk_of_leaving(scored["churn_probability"], scored["p_alive"], closed)
    p_leave = np.nan_to_num(leave, nan=0.0)  # no estimate: valued as staying
    hazard = monthly_hazard(p_leave, churn_horizon)
    factor = retention_factor(
        hazard, s.horizon_months, monthly_discount_rate(s.discount_rate_annual)
    )
    kind = {name: rates[list(parts)].sum(axis=1).to_numpy() for name, parts in KINDS.items()}
    # BTYD values the customer's own transactions where it covers the customer: their
    # revenue leaves the run rate there, or it would be counted twice
    own = rates[list(OWN_REVENUE)].sum(axis=1).to_numpy()
    relationship = (
        rates["balance_margin"].to_numpy()
        + kind["interchange"]
        + kind["fees"]
        - np.where(in_btyd, own, 0.0)
        - rates["cost_to_serve"].to_numpy()
    )
    btyd_clv = scored["btyd_clv"].to_numpy(dtype=float, na_value=0.0)
    transaction_clv = np.where(in_btyd, btyd_clv, 0.0)
    clv = np.where(closed, 0.0, relationship * factor + transaction_clv)
    out = pd.DataFrame(
        {
            "monthly_balance_margin": rates["balance_margin"].to_numpy(),
            "monthly_interchange": kind["interchange"],
            "monthly_fees": kind["fees"],
            "monthly_cost_to_serve": rates["cost_to_serve"].to_numpy(),
        },
        index=scored.index,
    )
    out["monthly_profit"] = (
        out["monthly_balance_margin"]
        + out["monthly_interchange"]
        + out["monthly_fees"]
        - out["monthly_cost_to_serve"]
    )
    out["transaction_clv"] = np.where(closed, 0.0, transaction_clv)
    out["clv"] = clv
    out["leave_probability"] = leave  # what value at risk is weighted with (NaN: none)
    # a customer who costs the bank more than they earn puts nothing at risk by leaving
    out["value_at_risk"] = np.where(closed, 0.0, np.clip(clv, 0.0, None) * p_leave)
    notes = {"customers_without_risk_estimate": unknown}
    return out, notes


def high_value(clv: pd.Series, active: np.ndarray, share: float) -> np.ndarray:
    """True for the top `share` of active customers by CLV (ties at the cut all in)."""
    values = clv.to_numpy(dtype=float)
    n = int(active.sum())
    if n == 0:
        return np.zeros(len(values), dtype=bool)
    # rounded first: 0.07 x 100 is 7.000000000000001 in floating point, whose ceiling is 8
    top = max(1, int(np.ceil(round(share * n, 9))))
    cut = np.sort(values[active])[::-1][top - 1]
    return active & (values >= cut)


def value_at(
    profit: MonthlyProfit,
    rows: np.ndarray,
    p_leave: np.ndarray,
    months_back: int,
    churn_horizon: int,
    s: ValueSettings,
) -> np.ndarray:
    """What each customer (their `rows` of profit, MonthlyProfit.rows; -1, not there, is
    worth 0) was worth as seen `months_back` months before as-of: their monthly profit
    run rate then, kept with the hazard of `p_leave` over churn_horizon and discounted
    over the CLV horizon -- the CLV formula without the BTYD part, on what was known
    then."""
    rate = run_rate_profit(profit, months_back, s.run_rate_months)
    hazard = monthly_hazard(p_leave, churn_horizon)
    factor = retention_factor(
        hazard, s.horizon_months, monthly_discount_rate(s.discount_rate_annual)
    )
    return np.where(rows >= 0, rate[rows] * factor, 0.0)


# --- the check out of time --------------------------------------------------------------


def validate_value(
    profit: MonthlyProfit,
    rows: np.ndarray,
    p_leave: np.ndarray,
    retention: float,
    horizon: int,
    s: ValueSettings,
) -> dict[str, Any]:
    """At T0 = `horizon` months before as-of, each of the test window's customers
    (their `rows` of profit, MonthlyProfit.rows; their churn probability `p_leave` from
    the model trained before T0) is predicted to earn their expected monthly profit at
    T0 (run_rate) in each of the next `horizon` months while they stay; the naive
    baseline repeats their last `horizon` months' profit times the bank's `retention`
    over a horizon. Both are compared with the profit realized in those months (the same
    formulas): per-customer MAE, aggregate error and Spearman rank correlation."""
    need = horizon + max(horizon, s.run_rate_months)
    if profit.months < need:
        raise ValueError(f"value validation needs {need} months of profit, has {profit.months}")
    known = rows >= 0
    monthly = profit.profit()
    realized = np.where(known, monthly[rows, :horizon].sum(axis=1), 0.0)
    at_t0 = np.where(known, run_rate_profit(profit, horizon, s.run_rate_months)[rows], 0.0)
    before = np.where(known, monthly[rows, horizon : 2 * horizon].sum(axis=1), 0.0)
    hazard = monthly_hazard(p_leave, horizon)
    predicted = at_t0 * retention_factor(hazard, horizon, 0.0)
    baseline = before * retention
    model, naive = _accuracy(predicted, realized), _accuracy(baseline, realized)
    ranked = model["spearman"] is not None and naive["spearman"] is not None
    beats = model["mae"] < naive["mae"] and (not ranked or model["spearman"] > naive["spearman"])
    ranks = (
        f"; rank correlation {model['spearman']:.3f} vs {naive['spearman']:.3f}" if ranked else ""
    )
    verdict = (
        f"the value model {'beats' if beats else 'does NOT beat'} the naive baseline on the "
        f"next {horizon} months' profit (MAE {model['mae']:,.2f} vs {naive['mae']:,.2f}{ranks})"
    )
    return {
        "status": "ok",
        "customers": int(len(realized)),
        "months": horizon,
        "baseline": f"each customer's last {horizon} months' profit x the bank's retention "
        f"({retention:.3f})",
        "model": model,
        "naive_baseline": naive,
        "model_beats_baseline": bool(beats),
        "verdict": verdict,
        "warning": None
        if beats
        else "The value model predicted customers' next months' profit no better than "
        "their recent profit: read CLV and value at risk with caution",
    }


def _accuracy(predicted: np.ndarray, actual: np.ndarray) -> dict[str, Any]:
    total = float(actual.sum())
    rho = spearmanr(predicted, actual).statistic if len(actual) > 2 else np.nan
    return {
        "mae": float(np.abs(predicted - actual).mean()) if len(actual) else float("nan"),
        "predicted_total": float(predicted.sum()),
        "actual_total": total,
        "aggregate_pct_error": float((predicted.sum() - total) / total * 100) if total else None,
        "spearman": None if not np.isfinite(rho) else float(rho),
    }
