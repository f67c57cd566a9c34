"""CLV and P(alive) per customer from the BTYD summary: fit, predict, describe.

The transactions model (clv.model, else the first of clv.fallback_models that holds:
pipeline.scoring.clv_fit) is fitted on unique (frequency, recency, T) rows with
weights; Gamma-Gamma on repeat customers with positive value per event. Outputs, per
customer in the summary (those with a customer-initiated transaction up to as_of):

- p_alive: the model's probability the customer has not dropped out at as_of;
- expected_transactions: expected repeat events (active days, or active weeks, per
  clv.event_period) over the horizon of clv.horizon_months lifetimes-months;
- expected_value_per_event: Gamma-Gamma's conditional mean value per event (observed
  means, with a card warning, when Gamma-Gamma is unusable);
- clv: discounted value over the horizon (lifetimes' customer_lifetime_value), from
  transactions only: balances earn the bank nothing here.

Where no transactions model holds (clv_fit.NoTransactionsModel) no customer has these:
the card says why, and customer value (pipeline.scoring.value) takes the fees of the
customers' own transactions at their run rate, as it does for customers without any.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline import btyd
from pipeline.engine import Engine
from pipeline.scoring.clv_fit import (
    NoTransactionsModel,
    attempts_text,
    fit_transactions,
    fit_value_model,
)
from pipeline.scoring.settings import ClvSettings
from pipeline.scoring.summary import unrated_txn_types

# |corr(frequency, value)| above this is flagged: Gamma-Gamma assumes independence.
CORR_FLAG = 0.3
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")
PREDICTION_COLUMNS = ("p_alive", "expected_transactions", "expected_value_per_event", "clv")
SUMMARY_SCHEMA = pa.schema(
    [("customer_id", pa.large_string())] + [(c, pa.float64()) for c in SUMMARY_COLUMNS[1:]]
)
PREDICTION_SCHEMA = pa.schema([*SUMMARY_SCHEMA, *((c, pa.float64()) for c in PREDICTION_COLUMNS)])


def fit_models(
    summary: pd.DataFrame, s: ClvSettings
) -> tuple[btyd.FittedBtyd, btyd.FittedGammaGamma | None, str | None]:
    """Fit the transactions model (with its fallbacks) and Gamma-Gamma; BtydFitError when
    no transactions model holds.

    Gamma-Gamma unusable (q <= 1, too few positive values, a degenerate fit) is not
    fatal: the third item explains it, and values fall back to observed means.
    """
    fitted = fit_transactions(summary, s)
    gg, problem = fit_value_model(summary, s)
    return fitted, gg, problem


def clv_predictions(
    summary: pd.DataFrame,
    fitted: btyd.FittedBtyd,
    gg: btyd.FittedGammaGamma | None,
    s: ClvSettings,
    population_value: float | None = None,
) -> pd.DataFrame:
    """Per-customer p_alive, expected_transactions, expected_value_per_event and clv,
    row by row from the fitted parameters (so any slice of the customers can be
    predicted alone, given the typical value per repeat event for the fallback
    without Gamma-Gamma); non-finite values are not checked here."""
    unit = s.time_unit
    horizon = btyd.horizon_in_units(s.horizon_months, unit)
    f, r, t = summary["frequency"], summary["recency"], summary["T"]
    out = summary[list(SUMMARY_COLUMNS)].copy()
    out["p_alive"] = btyd.p_alive(fitted, f, r, t)
    out["expected_transactions"] = btyd.expected_transactions(fitted, horizon, f, r, t)
    if gg is not None:
        value = btyd.expected_value_per_event(gg, f, summary["monetary_value"])
    else:
        value = btyd.observed_value_per_event(f, summary["monetary_value"], population_value)
    out["expected_value_per_event"] = value
    out["clv"] = btyd.clv(fitted, summary, value, s.horizon_months, s.discount_rate_annual, unit)
    return out


@dataclass(frozen=True)
class ClvPredictor:
    """`clv_predictions` for a batch of BTYD summary rows (Arrow in, Arrow out), from the
    fitted parameters alone: plain values, so an engine can ship it to its workers
    (Engine.map_batches) and the fitters are rebuilt there."""

    model: str
    params: dict[str, float]
    gamma_gamma: dict[str, float] | None
    settings: ClvSettings
    population_value: float | None

    def __call__(self, batch: pa.Table) -> pa.Table:
        fitted = btyd.transactions_model_from_params(self.model, self.params)
        gg = None if self.gamma_gamma is None else btyd.gamma_gamma_from_params(self.gamma_gamma)
        summary = batch.to_pandas()
        out = clv_predictions(summary, fitted, gg, self.settings, self.population_value)
        return pa.Table.from_pandas(out, schema=PREDICTION_SCHEMA, preserve_index=False)


def predict_clv(
    engine: Engine,
    summary: pd.DataFrame,
    fitted: btyd.FittedBtyd,
    gg: btyd.FittedGammaGamma | None,
    s: ClvSettings,
) -> pd.DataFrame:
    """The summary's customers with their predictions (PREDICTION_SCHEMA's columns, in
    the summary's order), applied by the engine batch by batch."""
    population = (
        None
        if gg is not None
        else btyd.population_value_per_event(summary["frequency"], summary["monetary_value"])
    )
    predictor = ClvPredictor(
        fitted.model,
        dict(fitted.params),
        None if gg is None else dict(gg.params),
        s,
        population,
    )
    rows = pa.Table.from_pandas(
        summary[list(SUMMARY_COLUMNS)], schema=SUMMARY_SCHEMA, preserve_index=False
    )
    out = engine.map_batches(predictor, rows, PREDICTION_SCHEMA).to_pandas()
    out = out.astype({"customer_id": summary["customer_id"].dtype})
    require_finite(out, fitted)
    return out


def require_finite(out: pd.DataFrame, fitted: btyd.FittedBtyd) -> None:
    """BtydFitError naming the first customer whose prediction is not a finite number.

    The fits were checked for this (clv_fit): reaching it is a fault here, not the data's."""
    bad = ~np.isfinite(
        out[["p_alive", "expected_transactions", "expected_value_per_event", "clv"]]
    ).all(axis=1)
    if bad.any():
        raise btyd.BtydFitError(
            f"{btyd.MODEL_NAMES[fitted.model]} gave non-finite predictions for {int(bad.sum())} "
            f"customers (first: {out.loc[bad, 'customer_id'].iloc[0]}) although its fit was "
            "checked for them: please report this with the model card"
        )


def _corr(summary: pd.DataFrame) -> float:
    """corr(frequency, value) among repeat customers with a positive value."""
    keep = (summary["frequency"] > 0) & (summary["monetary_value"] > 0)
    if keep.sum() < 3:
        return float("nan")
    return float(
        np.corrcoef(summary.loc[keep, "frequency"], summary.loc[keep, "monetary_value"])[0, 1]
    )


def clv_card(
    summary: pd.DataFrame,
    fitted: btyd.FittedBtyd,
    gg: btyd.FittedGammaGamma | None,
    s: ClvSettings,
    as_of: date,
    unrated: list[str],
    first_event: date | None,
    gg_problem: str | None = None,
    balances: bool = True,
) -> dict[str, Any]:
    """The CLV section of the model card: windows, choices, parameters, units, checks.
    `balances`: whether the data hold any balance up to as_of (else value is from
    transactions only, which the card says)."""
    warnings: list[str] = attempts_text(fitted)
    if not balances:
        warnings.append(
            "no balances in the data: customer value is from transactions only "
            "(P(alive), expected events and their value per event)"
        )
    no_value = not ((summary["frequency"] > 0) & (summary["monetary_value"] > 0)).any()
    if gg is None:
        warnings.append(
            f"Gamma-Gamma not usable ({gg_problem}); expected value per event is each "
            "customer's observed mean value per repeat event (the median repeat customer's for "
            "customers without repeats), without shrinkage"
            + (
                ": no customer-initiated event carries a value, so transaction CLV is 0 "
                "(map revenue in the source config, or set clv.value_source: margin_rates "
                "with clv.margin_rates by txn_type)"
                if no_value
                else ""
            )
        )
    corr = gg.frequency_value_corr if gg is not None else _corr(summary)
    corr_flag = bool(np.isfinite(corr) and abs(corr) > CORR_FLAG)
    if corr_flag:
        warnings.append(
            f"Gamma-Gamma assumes value per event independent of frequency, but their "
            f"correlation is {corr:.2f} (|r| > {CORR_FLAG}): expected values may be biased"
        )
    zero_value = int(((summary["frequency"] > 0) & (summary["monetary_value"] <= 0)).sum())
    if gg is None and no_value:
        pass  # said above: no event carries a value
    elif zero_value and gg is not None:
        warnings.append(
            f"{zero_value} repeat customers have zero or negative value per event: left out of "
            "the Gamma-Gamma fit; their expected value per event shrinks toward 0"
        )
    elif zero_value:
        warnings.append(
            f"{zero_value} repeat customers have zero or negative value per event: "
            "their expected value per event is 0"
        )
    if unrated:
        warnings.append(
            "customer-initiated txn_types without a margin rate earn 0: " + ", ".join(unrated)
        )
    return {
        "status": "ok",
        "model": fitted.model,
        "model_name": btyd.MODEL_NAMES[fitted.model],
        "model_requested": s.model,
        "fallback_models": list(s.fallback_models),
        "models_set_aside": [dict(t) for t in fitted.selection],
        "model_note": fitted.note,
        "message": None,
        **_windows(summary, s, as_of, first_event),
        "value_basis": "transactions" if balances else "transactions only: no balances",
        "unique_rows_fitted": fitted.n_unique_rows,
        "parameters": fitted.params,
        "log_likelihood": fitted.log_likelihood,
        "value_model": "gamma_gamma" if gg is not None else "observed_mean",
        "gamma_gamma": {
            "status": "ok" if gg is not None else "unusable",
            "problem": gg_problem,
            "parameters": gg.params if gg is not None else None,
            "customers_fitted": gg.n_customers if gg is not None else None,
            "frequency_value_corr": corr,
            "frequency_value_corr_flag": corr_flag,
        },
        "warnings": warnings,
    }


def _windows(
    summary: pd.DataFrame, s: ClvSettings, as_of: date, first_event: date | None
) -> dict[str, Any]:
    """The card's data window, units, horizon, rates and customers: model or not."""
    unit, period = s.time_unit, s.event_period
    return {
        "lifetimes_version": btyd.LIFETIMES_VERSION,
        "as_of_date": as_of.isoformat(),
        "data_window": {
            "first_event": None if first_event is None else first_event.isoformat(),
            "last_date": as_of.isoformat(),
            "events": "customer-initiated transactions, at most one event per customer and "
            f"{period} (several in one {period} are one event, values summed)",
        },
        "event_period": period,
        "time_unit": unit,
        "clv_month_in_units": btyd.CLV_MONTH[unit],
        "horizon_months": s.horizon_months,
        "horizon_in_units": btyd.horizon_in_units(s.horizon_months, unit),
        "expected_transactions_unit": f"repeat events (active {period}s) over "
        f"{s.horizon_months} months of {btyd.CLV_MONTH[unit]} {unit}s",
        "discount_rate_annual": s.discount_rate_annual,
        "discount_rate_monthly": btyd.monthly_discount_rate(s.discount_rate_annual),
        "penalizer": s.penalizer,
        "value_penalizer": s.value_penalizer,
        "value_source": s.value_source,
        "currency": s.currency,
        "customers": int(len(summary)),
        "repeat_customers": int((summary["frequency"] > 0).sum()),
    }


NO_MODEL_WARNING = (
    "No transactions model this month (P(alive) and expected transactions are null; every "
    "customer is valued from the run rate of all their flows, their own transactions' fees "
    "among them): {reason}"
)


def no_model_card(
    summary: pd.DataFrame,
    none: NoTransactionsModel,
    s: ClvSettings,
    as_of: date,
    first_event: date | None,
    balances: bool = True,
) -> dict[str, Any]:
    """The card's CLV section without a transactions model: each model tried and why it
    was set aside, the message with what may help, and one warning saying so."""
    return {
        "status": "no_model",
        "model": None,
        "model_name": None,
        "model_requested": s.model,
        "fallback_models": list(s.fallback_models),
        "models_set_aside": [dict(t) for t in none.tried],
        "model_note": None,
        "message": none.reason,
        **_windows(summary, s, as_of, first_event),
        "value_basis": "run rate: no transactions model"
        if balances
        else "run rate: no transactions model, no balances",
        "unique_rows_fitted": None,
        "parameters": None,
        "log_likelihood": None,
        "value_model": None,
        "gamma_gamma": None,
        "warnings": [NO_MODEL_WARNING.format(reason=none.reason)],
    }


def clv_scores(
    engine: Engine,
    summary: pd.DataFrame,
    model: btyd.FittedBtyd | NoTransactionsModel,
    as_of: date,
    s: ClvSettings,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-customer predictions at as_of from the BTYD summary and the transactions model
    (clv_fit.transactions_model), with the model card's CLV section; without a model, no
    customer (PREDICTION_SCHEMA's columns, no rows) and the card says why."""
    first = engine.rows(
        "SELECT min(CAST(txn_time AS DATE)) FROM transactions WHERE customer_initiated"
    )[0][0]
    balances = engine.rows("SELECT count(*) > 0 FROM balances WHERE month_end <= ?", [as_of])[0][0]
    if isinstance(model, NoTransactionsModel):
        none = PREDICTION_SCHEMA.empty_table().to_pandas()
        none = none.astype({"customer_id": summary["customer_id"].dtype})
        return none, no_model_card(summary, model, s, as_of, first, bool(balances))
    gg, gg_problem = fit_value_model(summary, s)
    scores = predict_clv(engine, summary, model, gg, s)
    unrated = unrated_txn_types(engine, s, as_of)
    card = clv_card(summary, model, gg, s, as_of, unrated, first, gg_problem, bool(balances))
    return scores, card


def score_clv(
    engine: Engine, summary: pd.DataFrame, as_of: date, s: ClvSettings
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Fits and per-customer predictions at as_of from the BTYD summary, with the
    model card's CLV section (BtydFitError when no transactions model holds)."""
    return clv_scores(engine, summary, fit_transactions(summary, s), as_of, s)
