"""Calibration / holdout validation of the BTYD transactions model, against a baseline.

Computed here (lifetimes' calibration_and_holdout_data breaks on pandas 3): the model is
chosen and fitted on the calibration period (events up to the month end
clv.holdout_months before as_of) as the stage chooses it at as_of (clv.model, else the
first fallback that holds: pipeline.scoring.clv_fit), and predicts each calibration
customer's repeat events in the holdout (the periods after the calibration end's
period, up to as_of). The naive baseline is the customer's historical rate,
frequency / T (0 when T is 0), times the holdout length. The model "wins" when its
per-customer mean absolute error is lower than the baseline's; otherwise the card
carries a warning the report shows. Predictions that are not finite numbers get no
verdict at all: the validation is refused and says so.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from pipeline import btyd
from pipeline.scoring.clv_fit import NoTransactionsModel, fit_transactions
from pipeline.scoring.settings import ClvSettings
from pipeline.scoring.summary import calibration_end, holdout_length

FREQUENCY_BUCKETS = 8  # calibration frequency 0..6 and "7+" in the comparison table


def accuracy(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """Per-customer MAE and RMSE, aggregate totals and % error, Pearson correlation."""
    err = predicted - actual
    total_actual = float(actual.sum())
    corr = (
        float(np.corrcoef(predicted, actual)[0, 1])
        if len(actual) > 2 and predicted.std() > 0 and actual.std() > 0
        else None
    )
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "predicted_total": float(predicted.sum()),
        "actual_total": total_actual,
        "aggregate_pct_error": float((predicted.sum() - total_actual) / total_actual * 100)
        if total_actual > 0
        else None,
        "correlation": corr,
    }


def by_frequency(
    frequency: np.ndarray, predicted: np.ndarray, baseline: np.ndarray, actual: np.ndarray
) -> list[dict[str, Any]]:
    """Mean holdout events by calibration frequency: actual, model, baseline."""
    bucket = np.minimum(frequency.astype(int), FREQUENCY_BUCKETS - 1)
    df = pd.DataFrame({"b": bucket, "actual": actual, "model": predicted, "baseline": baseline})
    g = df.groupby("b", sort=True).agg(
        customers=("actual", "size"),
        actual=("actual", "mean"),
        model=("model", "mean"),
        baseline=("baseline", "mean"),
    )
    return [
        {
            "calibration_frequency": f"{b}+" if b == FREQUENCY_BUCKETS - 1 else str(b),
            "customers": int(row.customers),
            "actual_mean": float(row.actual),
            "model_mean": float(row.model),
            "baseline_mean": float(row.baseline),
        }
        for b, row in g.iterrows()
    ]


def validate_clv(
    as_of: date,
    s: ClvSettings,
    calibration: pd.DataFrame,
    at_as_of: btyd.FittedBtyd | NoTransactionsModel | None = None,
) -> dict[str, Any]:
    """The validation section of the model card (never raises for thin data: says so),
    from the calibration summary with holdout events (summary.btyd_summaries at
    calibration_end(as_of, clv.holdout_months)). Not run when no transactions model
    holds at as_of (`at_as_of`, clv_fit.transactions_model): nothing would be checked."""
    unit = s.time_unit
    cal_end = calibration_end(as_of, s.holdout_months)
    section: dict[str, Any] = {
        "calibration_end": cal_end.isoformat(),
        "holdout_end": as_of.isoformat(),
        "holdout_months": s.holdout_months,
        "holdout_length_units": holdout_length(cal_end, as_of, unit, s.event_period),
        "time_unit": unit,
        "baseline": "historical rate: calibration frequency / T x holdout length",
    }
    if isinstance(at_as_of, NoTransactionsModel):
        section.update(
            status="no_model",
            verdict=None,
            warning=None,  # the CLV section's warning says why, once
            reason="no transactions model holds at as_of, so there is none to check "
            "(the card's clv.message says why)",
        )
        return section
    cal = calibration
    if cal.empty:  # a history no longer than the holdout: say so, not "0 of 0 customers"
        section.update(
            status="not_run",
            verdict=None,
            warning="CLV validation not possible on the calibration period: no "
            f"customer-initiated transaction on or before its end, {cal_end.isoformat()} "
            f"(clv.holdout_months = {s.holdout_months} before {as_of.isoformat()}); their "
            f"history must be longer than the {s.holdout_months} months held out",
        )
        return section
    try:
        fitted = fit_transactions(cal, s)
    except btyd.BtydFitError as exc:
        section.update(
            status="not_run",
            verdict=None,
            warning=f"CLV validation not possible on the calibration period: {exc}",
        )
        return section
    length = section["holdout_length_units"]
    actual = cal["holdout_events"].to_numpy()
    f, r, t = (cal[k].to_numpy() for k in ("frequency", "recency", "T"))
    with np.errstate(all="ignore"):
        predicted = btyd.expected_transactions(fitted, length, f, r, t)
    name = btyd.MODEL_NAMES[fitted.model]
    section.update(model_name=name, models_set_aside=[dict(x) for x in fitted.selection])
    bad = ~np.isfinite(predicted)
    if bad.any():
        section.update(
            status="refused",
            verdict=None,
            warning=f"CLV validation refused: {name} fitted on the calibration period gave "
            f"non-finite holdout predictions for {int(bad.sum())} of {len(cal)} customers",
        )
        return section
    baseline = np.divide(f, t, out=np.zeros_like(f), where=t > 0) * length
    model_acc, base_acc = accuracy(predicted, actual), accuracy(baseline, actual)
    wins = model_acc["mae"] < base_acc["mae"]
    section.update(
        status="ok",
        customers=len(cal),
        calibration_parameters=fitted.params,
        model=model_acc,
        naive_baseline=base_acc,
        model_beats_baseline=bool(wins),
        by_calibration_frequency=by_frequency(f, predicted, baseline, actual),
    )
    if wins:
        section["verdict"] = (
            f"{name} beats the naive baseline on holdout transactions per customer "
            f"(MAE {model_acc['mae']:.3f} vs {base_acc['mae']:.3f})"
        )
        section["warning"] = None
    else:
        section["verdict"] = (
            f"{name} does NOT beat the naive baseline on holdout transactions per customer "
            f"(MAE {model_acc['mae']:.3f} vs {base_acc['mae']:.3f})"
        )
        section["warning"] = (
            f"The {name} model predicted holdout transactions worse than each customer's "
            "historical rate: treat p_alive, expected transactions and CLV with caution"
        )
    return section
