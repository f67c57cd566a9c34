"""The one door to `lifetimes` (0.11.3): BTYD fits that hold, with explicit time units.

Everything else in the project imports BTYD models from here. The models' likelihoods
and predictions (lifetimes' fitter classes, mended where they overflow or lose a sign)
are pipeline.btyd_models; the optimiser that settles on real data is pipeline.btyd_mle.
What this module promises:

- A fit on weighted unique (frequency, recency, T) rows is the fit on every customer
  (the likelihood is a sum over customers), far faster; it converges wherever lifetimes
  fitted on every customer converges, to the same log-likelihood (a bounded optimiser
  that keeps going where lifetimes' BFGS loses precision near a boundary).
- A maximum on the edge of the parameter space is recognised, not reported as a
  number: where the dropout parameter goes to 0 (BG/NBD and MBG/NBD a, Pareto/NBD s)
  the data show no dropout and the answer is the no-dropout limit, the NBD model
  (`FittedBtyd.model` "nbd", P(alive) 1; the dropout model's other parameter is not
  identified, and `FittedBtyd.note` says so); any other parameter at 0 or infinity is a
  `DegenerateFit` naming it, for the caller's fallback (pipeline.scoring.clv).
- Gamma-Gamma's v is in currency: its penalizer applies to values scaled to their mean
  (so 1,000 CNY and 1,000 fen are the same fit), and q <= 1 (values too heavy-tailed for
  a finite mean) or a parameter at 0 or infinity raises ValueModelUnusable; the caller
  may fall back to observed means (`observed_value_per_event`).
- `customer_lifetime_value` counts `time` in months of 4.345 weeks (freq "W") or 30 days
  (freq "D"), and its discount rate is monthly: `clv` takes the horizon in months and
  an annual rate and says what it did in `CLV_MONTH`.

lifetimes under pandas 3 / numpy 2 / scipy 1.17: importing it sets a deprecated pandas
option (silenced in btyd_models); `calibration_and_holdout_data`, `plot_history_alive` and
the simulators break and are not used (the calibration/holdout split is DuckDB SQL,
pipeline.scoring.summary; tests simulate with numpy); its own `fit` is not called (it
prints and raises on the boundary cases above).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline import btyd_mle
from pipeline.btyd_models import (  # noqa: F401 (_ParetoNBD: tests check its A_0 term)
    DROPOUT_MODELS,
    DROPOUT_PARAMETER,
    FITTERS,
    LIFETIMES_VERSION,
    MODEL_NAMES,
    PARAMETER_NAMES,
    RIDGES,
    START,
    TIME_SCALES,
    _ParetoNBD,
    objective,
    penalty_per_customer,
)
from pipeline.errors import CrmError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import (  # noqa: F401 (lifetimes' own classes, for tests, through one door)
        BetaGeoFitter,
        GammaGammaFitter,
        ModifiedBetaGeoFitter,
        ParetoNBDFitter,
    )

# clv.time_unit -> lifetimes' `freq` (the unit of frequency/recency/T and of periods).
LIFETIMES_FREQ = {"week": "W", "day": "D"}
# What lifetimes' customer_lifetime_value calls a month, in each unit.
CLV_MONTH = {"week": 4.345, "day": 30.0}
_FITTERS = FITTERS
# A dropout model whose log-likelihood exceeds its no-dropout limit's by no more than
# this has its maximum at that limit (the optimisers' own precision; on the Online
# Retail II export a real dropout adds 0.08 or more).
NO_DROPOUT_GAIN = 1e-3


class BtydFitError(CrmError):
    """A BTYD model could not be fitted: too little data, or no convergence."""


class DegenerateFit(BtydFitError):
    """The maximum lies where parameters are 0 or infinite (other than no dropout), or the
    optimiser found no stationary point: the fit describes no population of customers."""


class ValueModelUnusable(BtydFitError):
    """Gamma-Gamma cannot give a finite mean value per event: q <= 1 (values too
    heavy-tailed), a parameter at 0 or infinity, or too few positive values."""


@dataclass(frozen=True)
class FittedBtyd:
    """A fitted transactions model plus what the model card needs about the fit.

    `note`: why the model is not the one asked for (the no-dropout limit), for the card;
    `selection`: the models tried before it and why each was set aside (set by the
    caller that tries a fallback order, pipeline.scoring.clv)."""

    model: str
    fitter: object
    params: dict[str, float]
    log_likelihood: float
    n_customers: int
    n_unique_rows: int
    note: str | None = None
    selection: tuple[dict, ...] = field(default_factory=tuple)


def unique_rows(
    summary: pd.DataFrame, columns: tuple[str, ...] = ("frequency", "recency", "T")
) -> pd.DataFrame:
    """Collapse customers to unique rows of `columns` with a `weight` count: what the
    weighted fits take (every likelihood here is a sum over customers)."""
    return summary.groupby(list(columns), sort=True).size().rename("weight").reset_index()


@dataclass(frozen=True)
class _Rows:
    """Unique rows as the objectives take them: times scaled to max(T) = 1."""

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    weight: np.ndarray
    scale: float  # 1 / max(T)

    @classmethod
    def of(cls, rows: pd.DataFrame) -> _Rows:
        t = rows["T"].to_numpy(dtype=float)
        scale = 1.0 / t.max() if len(t) and t.max() > 0 else 1.0
        return cls(
            rows["frequency"].to_numpy(dtype=float),
            rows["recency"].to_numpy(dtype=float) * scale,
            t * scale,
            rows["weight"].to_numpy(dtype=float),
            scale,
        )


def _optimum(model: str, data: _Rows, penalizer: float, customers: int) -> btyd_mle.Optimum:
    fn, autodiff = objective(model)
    coef = penalty_per_customer(model, penalizer, customers)
    args = (data.frequency, data.recency, data.T, data.weight, coef)
    x0 = np.full(len(PARAMETER_NAMES[model]), START[model])
    return btyd_mle.minimise(fn, x0, args, autodiff, RIDGES[model])


def _params(model: str, optimum: btyd_mle.Optimum, scale: float) -> dict[str, float]:
    values = dict(zip(PARAMETER_NAMES[model], np.exp(optimum.log_params), strict=True))
    return {k: float(v / scale if k in TIME_SCALES else v) for k, v in values.items()}


def _fitted(model: str, params: dict[str, float], rows: pd.DataFrame, n: int, note=None):
    fitted = transactions_model_from_params(model, params, n, len(rows))
    ll = log_likelihood(
        model, params, rows["frequency"], rows["recency"], rows["T"], rows["weight"]
    )
    if not np.isfinite(ll):
        raise DegenerateFit(f"{MODEL_NAMES[model]} fit has a non-finite log-likelihood")
    return FittedBtyd(model, fitted.fitter, fitted.params, ll, n, len(rows), note)


def _boundary(model: str, optimum: btyd_mle.Optimum) -> str:
    """What the parameters at 0 or infinity mean, in words (the most telling first)."""
    names = PARAMETER_NAMES[model]
    low = {k for k, b in zip(names, optimum.at_lower, strict=True) if b}
    high = {k for k, b in zip(names, optimum.at_upper, strict=True) if b}
    flat = [k for k in names if k in low and k in high]
    zero = [k for k in names if k in low and k not in high]
    infinite = [k for k in names if k in high and k not in low]
    said = []
    if zero:
        said.append(f"{' and '.join(zero)} went to 0")
    if infinite:
        said.append(f"{' and '.join(infinite)} ran off to infinity")
    if flat:
        said.append(f"{' and '.join(flat)} not identified (the likelihood is flat in them)")
    meaning = ""
    if {"r", "alpha"} <= high:
        meaning = ": every customer buys at the same rate (no heterogeneity to fit)"
    elif model in ("bgnbd", "mbgnbd") and {"a", "b"} <= low:
        meaning = (
            ": each customer's dropout probability is 0 or 1 (some leave after their "
            "next purchase, the rest never), which the model cannot predict from"
        )
    elif high & {"a", "b", "s", "beta"}:
        meaning = ": every customer has the same dropout (no heterogeneity to fit)"
    return f"{', '.join(said)}{meaning}"


@dataclass(frozen=True)
class Maximum:
    """Where the likelihood of `model` is highest on a summary, as the optimiser left it
    (before any judgement of what a boundary means: fit_transactions_model)."""

    model: str
    params: dict[str, float]
    log_likelihood: float  # -inf where the optimiser found no finite value
    optimum: btyd_mle.Optimum


def maximum_likelihood(summary: pd.DataFrame, model: str, penalizer: float) -> Maximum:
    """Maximise `model`'s likelihood on the summary's weighted unique rows."""
    rows = unique_rows(summary)
    data = _Rows.of(rows)
    found = _optimum(model, data, penalizer, len(summary))
    params = _params(model, found, data.scale)
    ll = (
        log_likelihood(model, params, rows["frequency"], rows["recency"], rows["T"], rows["weight"])
        if np.isfinite(found.objective)
        else -np.inf
    )
    return Maximum(model, params, ll, found)


def fit_transactions_model(
    summary: pd.DataFrame, model: str, penalizer: float, min_repeat_customers: int
) -> FittedBtyd:
    """Fit BG/NBD, Pareto/NBD or MBG/NBD on unique (frequency, recency, T) rows, weighted.

    Same parameters as fitting every customer, far faster. Where the model's dropout
    goes to 0 the result is the no-dropout limit (model "nbd", with a `note`). Too few
    repeat customers is a BtydFitError; a maximum with other parameters at 0 or
    infinity, or none the optimiser can reach, a DegenerateFit.
    """
    if model not in DROPOUT_MODELS:
        raise BtydFitError(f"clv.model: unknown model {model!r} ({', '.join(DROPOUT_MODELS)})")
    name = MODEL_NAMES[model]
    n = len(summary)
    repeaters = int((summary["frequency"] > 0).sum())
    if repeaters < min_repeat_customers:
        raise BtydFitError(
            f"too little data to fit {name}: {repeaters} customers with a repeat "
            f"transaction (of {n}); clv.min_repeat_customers is {min_repeat_customers}"
        )
    rows = unique_rows(summary)
    best = maximum_likelihood(summary, model, penalizer)
    found = best.optimum
    limit = maximum_likelihood(summary, "nbd", penalizer)
    if limit.optimum.stationary and not any(limit.optimum.at_bound):
        if not best.log_likelihood > limit.log_likelihood + NO_DROPOUT_GAIN:
            other = [k for k in PARAMETER_NAMES[model][2:] if k != DROPOUT_PARAMETER[model]]
            note = (
                f"{name}'s dropout parameter {DROPOUT_PARAMETER[model]} went to 0: no "
                "customer is seen to leave in this history, so the no-dropout limit is used "
                f"(NBD: P(alive) is 1 for every customer; {', '.join(other)} not identified)"
            )
            return _fitted("nbd", limit.params, rows, n, note)
    if any(found.at_bound):  # also where the optimiser stopped on the way there
        raise DegenerateFit(f"{name} fit is degenerate: {_boundary(model, found)}")
    if not found.stationary:
        raise DegenerateFit(
            f"{name} did not converge: the optimiser found no maximum of the likelihood "
            f"(largest gradient {found.projected_gradient:.2g})"
        )
    if not all(np.isfinite(v) and v > 0 for v in best.params.values()):
        raise DegenerateFit(f"{name} fit gave unusable parameters {best.params}")
    return _fitted(model, best.params, rows, n)


def transactions_model_from_params(
    model: str, params: dict[str, float], n_customers: int = 0, n_unique_rows: int = 0
) -> FittedBtyd:
    """A fitted transactions model rebuilt from its parameters alone (no data, no fit):
    its predictions equal the original's. Used where the fitter object cannot travel,
    e.g. to Spark executors scoring partitions."""
    if model not in _FITTERS:
        raise BtydFitError(f"clv.model: unknown model {model!r} ({', '.join(_FITTERS)})")
    fitter = _FITTERS[model]()
    names = PARAMETER_NAMES[model]
    fitter.params_ = pd.Series([float(params[k]) for k in names], index=list(names))
    fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time  # as fit() does
    values = {k: float(params[k]) for k in names}
    return FittedBtyd(model, fitter, values, float("nan"), n_customers, n_unique_rows)


def log_likelihood(
    model: str, params: dict[str, float], frequency, recency, T, weights=None
) -> float:
    """Total log-likelihood (no penalizer) of the data in its own time units.

    Evaluated as lifetimes fits: on times scaled to max(T) = 1 (Pareto/NBD's hypergeometric
    terms overflow on raw days), then moved back to the data's units: scaling time by c
    multiplies each repeat event's density by c, so LL = LL_scaled + sum(frequency) log c.
    """
    f = np.asarray(frequency, dtype=float)
    w = np.ones_like(f) if weights is None else np.asarray(weights, dtype=float)
    t = np.asarray(T, dtype=float)
    c = 1.0 / t.max()
    scaled = dict(params)
    for k in ("alpha", "beta"):
        if k in scaled:
            scaled[k] = scaled[k] * c
    values = np.array([scaled[k] for k in PARAMETER_NAMES[model]])
    args = (f, np.asarray(recency, dtype=float) * c, t * c, w, 0.0)
    fn, _ = objective(model)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        ll = -fn(np.log(values), *args) * w.sum()
    return float(ll + (w * f).sum() * np.log(c))


@dataclass(frozen=True)
class FittedGammaGamma:
    fitter: GammaGammaFitter
    params: dict[str, float]
    n_customers: int
    frequency_value_corr: float


def fit_gamma_gamma(
    frequency, monetary_value, penalizer: float, min_customers: int
) -> FittedGammaGamma:
    """Gamma-Gamma on repeat customers whose mean value per repeat event is positive.

    The caller passes all customers; those with frequency 0 or value <= 0 are left out
    of the fit (the model needs strictly positive values). The fit runs on values divided
    by their mean (p and q are unitless, v is in the values' currency: the penalizer then
    weighs the same in any currency; without one the estimates are the raw values' fit,
    v scaled back). Also returns the Pearson correlation of frequency and value among
    the customers fitted: the model assumes it is near 0. ValueModelUnusable when the
    fit cannot give a finite mean value per event.
    """
    f = pd.Series(np.asarray(frequency, dtype=float))
    m = pd.Series(np.asarray(monetary_value, dtype=float))
    keep = (f > 0) & (m > 0)
    if int(keep.sum()) < min_customers:
        raise ValueModelUnusable(
            f"too little data to fit Gamma-Gamma: {int(keep.sum())} repeat customers with a "
            f"positive value per event; clv.min_repeat_customers is {min_customers}"
        )
    # On unique (frequency, value) rows with counts as weights: the weighted
    # log-likelihood is divided by the weights' sum, so the fit is the per-customer one
    # (at 1M customers, 198k rows for 492k customers).
    rows = unique_rows(
        pd.DataFrame({"frequency": f[keep], "monetary_value": m[keep]}),
        ("frequency", "monetary_value"),
    )
    scale = float(m[keep].mean())
    args = (
        rows["frequency"].to_numpy(dtype=float),
        rows["monetary_value"].to_numpy(dtype=float) / scale,
        rows["weight"].to_numpy(dtype=float),
        penalizer,
    )
    # q and v run off together where every customer's mean value is the same
    found = btyd_mle.minimise(
        GammaGammaFitter._negative_log_likelihood, np.full(3, 0.1), args, ridges=((1, 2),)
    )
    p, q, v = np.exp(found.log_params)
    params = {"p": float(p), "q": float(q), "v": float(v * scale)}
    if not found.stationary:
        raise ValueModelUnusable(
            "Gamma-Gamma did not converge: the optimiser found no maximum of the likelihood"
        )
    if any(found.at_bound):
        names = [k for k, b in zip(("p", "q", "v"), found.at_bound, strict=True) if b]
        raise ValueModelUnusable(
            f"Gamma-Gamma fit is degenerate: {' and '.join(names)} at 0 or infinity "
            f"({', '.join(f'{k}={x:.3g}' for k, x in params.items())})"
        )
    if not all(np.isfinite(x) and x > 0 for x in params.values()):
        raise ValueModelUnusable(f"Gamma-Gamma fit gave unusable parameters {params}")
    if params["q"] <= 1:
        raise ValueModelUnusable(
            f"Gamma-Gamma fit has q={params['q']:.3f} <= 1: the population mean value per "
            "event is undefined; values are too heavy-tailed for the model"
        )
    corr = float(np.corrcoef(f[keep], m[keep])[0, 1]) if keep.sum() > 2 else float("nan")
    return FittedGammaGamma(gamma_gamma_from_params(params).fitter, params, int(keep.sum()), corr)


def gamma_gamma_from_params(params: dict[str, float]) -> FittedGammaGamma:
    """A Gamma-Gamma model rebuilt from its parameters (p, q, v) for prediction only."""
    fitter = GammaGammaFitter()
    fitter.params_ = pd.Series([float(params[k]) for k in ("p", "q", "v")], index=["p", "q", "v"])
    values = {k: float(params[k]) for k in ("p", "q", "v")}
    return FittedGammaGamma(fitter, values, 0, float("nan"))


def expected_value_per_event(gg: FittedGammaGamma, frequency, monetary_value) -> np.ndarray:
    """Gamma-Gamma's conditional expected value per event (population mean for x=0).

    Negative observed means (refunds exceeding revenue) are clipped at 0 first: the
    model's value is positive by construction.
    """
    m = np.clip(np.asarray(monetary_value, dtype=float), 0, None)
    f = np.asarray(frequency, dtype=float)
    return np.asarray(gg.fitter.conditional_expected_average_profit(f, m), dtype=float)


def unique_row_codes(frequency, recency, T) -> tuple[np.ndarray, ...]:
    """(frequency, recency, T) of each unique row, and each customer's row number.

    BTYD predictions depend on nothing else, and a bank has far fewer unique rows than
    customers (~58k for 600k at 1M customers in weeks), so predictions are computed once
    per unique row and gathered back: the same numbers, element by element.
    """
    keys = pd.DataFrame(
        {
            "f": np.asarray(frequency, dtype=float),
            "r": np.asarray(recency, dtype=float),
            "T": np.asarray(T, dtype=float),
        }
    )
    codes = keys.groupby(["f", "r", "T"], sort=False).ngroup().to_numpy()
    first = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # the first customer of each row
    unique = keys.iloc[first]
    return unique["f"].to_numpy(), unique["r"].to_numpy(), unique["T"].to_numpy(), codes


def p_alive(fitted: FittedBtyd, frequency, recency, T) -> np.ndarray:
    """P(the customer is still 'alive', i.e. has not dropped out) at T."""
    f, r, t, codes = unique_row_codes(frequency, recency, T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = fitted.fitter.conditional_probability_alive(f, r, t)
    return np.asarray(out, dtype=float)[codes]


def expected_transactions(fitted: FittedBtyd, t: float, frequency, recency, T) -> np.ndarray:
    """Expected repeat events in the next `t` time units (the summary's unit)."""
    f, r, age, codes = unique_row_codes(frequency, recency, T)
    return _expected(fitted, t, f, r, age)[codes]


def _expected(fitted: FittedBtyd, t: float, f: np.ndarray, r: np.ndarray, T: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = fitted.fitter.conditional_expected_number_of_purchases_up_to_time(t, f, r, T)
    return np.asarray(out, dtype=float)


def monthly_discount_rate(annual: float) -> float:
    """The monthly rate that compounds to `annual` over 12 months."""
    return (1.0 + annual) ** (1.0 / 12.0) - 1.0


def horizon_in_units(horizon_months: int, time_unit: str) -> float:
    """The CLV horizon in the summary's unit, as lifetimes' CLV function counts months."""
    return horizon_months * CLV_MONTH[time_unit]


def population_value_per_event(frequency, monetary_value) -> float:
    """The typical value per repeat event: the median of the repeat customers' mean values
    (negative means clipped at 0). Used when Gamma-Gamma is unusable -- values so
    heavy-tailed that their population mean is undefined (q <= 1) -- so not the mean,
    which a few large events decide (on the sample bank, 97 against a median of 0.25)."""
    f = np.asarray(frequency, dtype=float)
    m = np.clip(np.asarray(monetary_value, dtype=float), 0, None)
    repeat = f > 0
    return float(np.median(m[repeat])) if repeat.any() else 0.0


def observed_value_per_event(frequency, monetary_value, population: float | None = None):
    """Fallback when Gamma-Gamma is unusable: the customer's own mean value per repeat
    event (negative clipped at 0); customers without repeats get the typical one
    (`population`: population_value_per_event, computed here from these customers when
    None; pass it when they are one partition of the population)."""
    f = np.asarray(frequency, dtype=float)
    m = np.clip(np.asarray(monetary_value, dtype=float), 0, None)
    if population is None:
        population = population_value_per_event(f, m)
    return np.where(f > 0, m, population)


def clv(
    fitted: FittedBtyd,
    summary: pd.DataFrame,
    value_per_event,
    horizon_months: int,
    discount_rate_annual: float,
    time_unit: str,
) -> np.ndarray:
    """Discounted value over `horizon_months`, as lifetimes' customer_lifetime_value.

    This is the month loop of lifetimes.utils._customer_lifetime_value (which
    GammaGammaFitter.customer_lifetime_value calls with Gamma-Gamma's expected values),
    operation for operation, so the fallback value per event goes through the same
    arithmetic; the model is evaluated once per unique (frequency, recency, T) row.
    lifetimes steps month by month (CLV_MONTH[time_unit] units each) and discounts each
    month at the monthly rate equivalent to the annual one.
    """
    f, r, age, codes = unique_row_codes(summary["frequency"], summary["recency"], summary["T"])
    value = np.asarray(value_per_event, dtype=float)
    discount = monthly_discount_rate(discount_rate_annual)
    factor = CLV_MONTH[time_unit]
    out = np.zeros(len(codes))
    for i in np.arange(1, horizon_months + 1) * factor:
        step = _expected(fitted, i, f, r, age) - _expected(fitted, i - factor, f, r, age)
        out += (value * step[codes]) / (1 + discount) ** (i / factor)
    return out
