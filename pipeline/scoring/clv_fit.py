"""Which BTYD models describe this bank's customers: the fits, their checks, a fallback.

The transactions model is clv.model, else the first of clv.fallback_models whose fit
holds: not degenerate (pipeline.btyd: a parameter at 0 or infinity, or no maximum) and
with a finite P(alive) in [0, 1] and finite, non-negative expected events at every
month of the CLV horizon for every customer. Each model set aside is kept with its
reason, for the model card. A model whose dropout goes to 0 gives the no-dropout limit
(NBD): a legitimate answer -- nobody is seen to leave in this history -- not a failure,
so no fallback is tried (the others reach the same limit). When no model holds, the
stage goes on without one (NoTransactionsModel: what each model did and what may help):
customers are valued from the run rate of every flow, their own transactions' fees
among them, and P(alive) is null. Too few repeat customers for any model still stops it.

The value per event is Gamma-Gamma's when it holds (fitted with clv.value_penalizer on
values scaled to their mean; finite expected values for every customer), else each
customer's observed mean, and the card says why.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from pipeline import btyd
from pipeline.scoring.settings import ClvSettings
from pipeline.steps import Skipped


@dataclass(frozen=True)
class NoTransactionsModel(Skipped):
    """No transactions model holds: `reason` says what each did and what may help
    (no_model_holds); `tried` holds each model and why it was set aside, for the card."""

    tried: tuple[dict[str, Any], ...] = ()


def prediction_problem(fitted: btyd.FittedBtyd, summary: pd.DataFrame, s: ClvSettings) -> str:
    """Why the model's predictions cannot be used ("" when they can): P(alive) outside
    [0, 1] or not finite, or expected events not finite or negative at a month of the
    horizon -- checked once per unique (frequency, recency, T) row."""
    f, r, t, codes = btyd.unique_row_codes(summary["frequency"], summary["recency"], summary["T"])
    if not len(codes):
        return ""
    weight = np.bincount(codes, minlength=len(f))
    with np.errstate(all="ignore"):
        alive = btyd.p_alive(fitted, f, r, t)
        bad = ~(np.isfinite(alive) & (alive >= 0) & (alive <= 1 + 1e-12))
        month = btyd.CLV_MONTH[s.time_unit]
        for m in range(1, s.horizon_months + 1):
            expected = btyd.expected_transactions(fitted, m * month, f, r, t)
            bad |= ~(np.isfinite(expected) & (expected >= -1e-9))
    if not bad.any():
        return ""
    customers = int(weight[bad].sum())
    return (
        f"{btyd.MODEL_NAMES[fitted.model]} gave non-finite or impossible predictions "
        f"(P(alive) or expected events) for {customers} customers"
    )


def fit_transactions(summary: pd.DataFrame, s: ClvSettings) -> btyd.FittedBtyd:
    """The first model of clv.model and clv.fallback_models that holds, with the models
    set aside before it (`FittedBtyd.selection`); BtydFitError saying what each did and
    what may help when none holds (or there are too few repeat customers for any)."""
    found = transactions_model(summary, s)
    if isinstance(found, NoTransactionsModel):
        raise btyd.BtydFitError(found.reason)
    return found


def transactions_model(
    summary: pd.DataFrame, s: ClvSettings
) -> btyd.FittedBtyd | NoTransactionsModel:
    """fit_transactions, with NoTransactionsModel where it would say no model holds (the
    score stage goes on without one); too few repeat customers is still a BtydFitError."""
    tried: list[dict[str, Any]] = []
    for model in s.models:
        try:
            fitted = btyd.fit_transactions_model(
                summary, model, s.penalizer, s.min_repeat_customers
            )
        except btyd.DegenerateFit as exc:
            tried.append({"model": model, "outcome": "degenerate", "reason": str(exc)})
            continue
        problem = prediction_problem(fitted, summary, s)
        if problem:
            tried.append({"model": model, "outcome": "non_finite_predictions", "reason": problem})
            continue
        return replace(fitted, selection=tuple(tried))
    return NoTransactionsModel(no_model_holds(summary, s, tried), tuple(tried))


def no_model_holds(summary: pd.DataFrame, s: ClvSettings, tried: list[dict[str, Any]]) -> str:
    """Why there is no transactions model: what each model did, the data's shape, and
    what may help."""
    n = len(summary)
    repeat = summary["frequency"] > 0
    said = "; ".join(t["reason"] for t in tried)
    facts = (
        f"{n} customers, {int(repeat.sum())} ({repeat.mean():.0%}) with a repeat event, "
        f"median {float(summary['frequency'][repeat].median()) if repeat.any() else 0:.0f} "
        f"repeat events and {float(summary['T'].median()):.1f} {s.time_unit}s observed"
    )
    helps = []
    reasons = " ".join(t["reason"] for t in tried)
    if "same rate" in reasons or "same dropout" in reasons:
        helps.append(
            "check the source config's customer_initiated_txn_types: postings that are not "
            "the customer's doing (interest, fees, standing orders, incoming transfers) make "
            "every customer look alike"
        )
    if "0 or 1" in reasons or "no maximum" in reasons or "non-finite" in reasons:
        helps.append(
            "a later period: the models tell dropout from a slow rate by repeat events after "
            "the first and silence after the last, which more history gives"
        )
    if s.event_period == "day":
        helps.append(
            "clv.event_period: week, where customers transact most days (salary and "
            "standing-order accounts): weekly events are less regular"
        )
    missing = [m for m in btyd.DROPOUT_MODELS if m not in s.models]
    if missing:
        helps.append("adding " + ", ".join(missing) + " to clv.fallback_models (not tried here)")
    return (
        f"no BTYD model fits the customer-initiated transactions ({facts}): {said}. "
        f"What may help: {'; or '.join(helps)}."
    )


def fit_value_model(
    summary: pd.DataFrame, s: ClvSettings
) -> tuple[btyd.FittedGammaGamma | None, str | None]:
    """Gamma-Gamma when it holds, else None and why (values then fall back to observed
    means, pipeline.btyd.observed_value_per_event)."""
    f, m = summary["frequency"], summary["monetary_value"]
    try:
        gg = btyd.fit_gamma_gamma(f, m, s.value_penalizer, s.min_repeat_customers)
    except btyd.ValueModelUnusable as exc:
        return None, str(exc)
    with np.errstate(all="ignore"):
        value = btyd.expected_value_per_event(gg, f, m)
    bad = ~(np.isfinite(value) & (value >= 0))
    if bad.any():
        return None, (
            f"Gamma-Gamma gave non-finite or negative expected values for {int(bad.sum())} "
            "customers"
        )
    return gg, None


def attempts_text(fitted: btyd.FittedBtyd) -> list[str]:
    """The card's lines on how the model was chosen (empty: clv.model as asked)."""
    lines = [f"{btyd.MODEL_NAMES[t['model']]} set aside: {t['reason']}" for t in fitted.selection]
    if fitted.note:
        lines.append(fitted.note)
    return lines
