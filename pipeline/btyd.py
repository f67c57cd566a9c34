"""The one door to `lifetimes` (0.11.3): BTYD fitters with explicit time units.

Everything else in the project imports BTYD models from here, so the workarounds for
lifetimes under pandas 3 / numpy 2 / scipy 1.17 live in one place:

- Importing lifetimes sets a pandas option deprecated in pandas 3: silenced here.
- `calibration_and_holdout_data` and `plot_history_alive` break on pandas 3: not used;
  the calibration/holdout split is computed in DuckDB (pipeline.scoring.validation).
- The fitters (autograd + scipy.optimize) work. Their failure modes are turned into a
  `BtydFitError` with a clear message: lifetimes raises ConvergenceError after *printing*
  the optimiser's output (captured here), an ill-conditioned Hessian raises LinAlgError,
  and ParetoNBDFitter never checks convergence and starts from an unseeded random point,
  so it is subclassed (`_ParetoNBD`) to start from a fixed point and check success;
  the subclass also evaluates the likelihood's hypergeometric term stably (lifetimes'
  overflows for frequent customers in daily units, giving NaN p_alive).
- lifetimes.generate_data's simulators break on pandas 3: tests simulate with numpy.
- BG/NBD's conditional expectation takes log(2F1), NaN whenever 2F1 < 0 (fitted
  a + b < 1, common on a year of data); MBG/NBD's overflows: both are subclassed to a
  sign-keeping, overflow-safe evaluation of the same formula.
- lifetimes' Pareto/NBD objective divides by the *mean* weight (the others by the sum),
  so a weighted fit on unique rows would see a penalizer N/U times stronger than the
  full fit; `fit_transactions_model` rescales the penalizer so both fits are the same.
- Gamma-Gamma with q <= 1 (values too heavy-tailed: no finite mean) raises
  ValueModelUnusable; the caller may fall back to observed means (`observed_value_per_event`).
- `customer_lifetime_value` counts `time` in months of 4.345 weeks (freq "W") or 30 days
  (freq "D"), and its discount rate is monthly: `clv` takes the horizon in months and
  an annual rate and says what it did in `CLV_MONTH`.
"""

from __future__ import annotations

import contextlib
import io
import threading
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import gammaln, hyp2f1, logsumexp

from pipeline.errors import CrmError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lifetimes
    from lifetimes import (
        BetaGeoFitter,
        GammaGammaFitter,
        ModifiedBetaGeoFitter,
        ParetoNBDFitter,
    )
    from lifetimes.utils import ConvergenceError

LIFETIMES_VERSION = lifetimes.__version__

# clv.time_unit -> lifetimes' `freq` (the unit of frequency/recency/T and of periods).
LIFETIMES_FREQ = {"week": "W", "day": "D"}
# What lifetimes' customer_lifetime_value calls a month, in each unit.
CLV_MONTH = {"week": 4.345, "day": 30.0}
PARAMETER_NAMES = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    "mbgnbd": ("r", "alpha", "a", "b"),
}
MODEL_NAMES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "mbgnbd": "MBG/NBD"}


class BtydFitError(CrmError):
    """A BTYD model could not be fitted: too little data, or no convergence."""


class ValueModelUnusable(BtydFitError):
    """Gamma-Gamma converged to q <= 1: values too heavy-tailed for a finite mean."""


class _ParetoNBD(ParetoNBDFitter):
    """ParetoNBDFitter that starts from a fixed point and fails loudly.

    lifetimes draws Nelder-Mead's start from the global numpy RNG (outputs change run to
    run) and returns whatever the optimiser reached, converged or not.
    """

    def _fit(
        self,
        minimizing_function_args,
        iterative_fitting,
        initial_params,
        params_size,
        disp,
        tol=1e-6,
        fit_method="Nelder-Mead",
        maxiter=2000,
        **kwargs,
    ):
        from scipy.optimize import minimize

        x0 = np.ones(params_size) if initial_params is None else np.asarray(initial_params)
        output = minimize(
            self._negative_log_likelihood,
            method=fit_method,
            tol=tol,
            x0=x0,
            args=minimizing_function_args,
            options={"disp": disp, "maxiter": maxiter, **kwargs},
        )
        if not output.success or not np.isfinite(output.fun):
            raise ConvergenceError(f"Pareto/NBD did not converge: {output.message}")
        return output.x, output.fun

    # lifetimes' A_0 (Fader & Hardie 2005, eq. 19-20) evaluates 2F1(r+s+x, r+x; r+s+x+1; z),
    # which overflows to inf for frequent customers in daily units (NaN p_alive). Euler's
    # transformation 2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a,c-b;c;z) turns it into
    # 2F1(1, .; r+s+x+1; z), which stays small, evaluated in log space. The static
    # methods lifetimes calls by class name are overridden so the fit uses it too.
    @staticmethod
    def _log_A_0(params, freq, recency, age):
        r, alpha, s, beta = params
        if alpha < beta:
            low, high, b, c_minus_b = alpha, beta, r + np.asarray(freq, dtype=float), s + 1.0
        else:
            low, high, b, c_minus_b = beta, alpha, s + 1.0, r + np.asarray(freq, dtype=float)
        rsx = r + s + np.asarray(freq, dtype=float)
        c = rsx + 1.0

        def log_term(t):
            q = high + np.asarray(t, dtype=float)
            z = (high - low) / q
            return (
                (c - rsx - b) * np.log1p(-z)
                + np.log(hyp2f1(1.0, c_minus_b, c, z))
                - rsx * np.log(q)
            )

        first, second = np.broadcast_arrays(log_term(recency), log_term(age))
        signs = np.stack([np.ones_like(first), -np.ones_like(first)])
        return logsumexp(np.stack([first, second]), axis=0, b=signs)

    @staticmethod
    def _conditional_log_likelihood(params, freq, rec, T):
        r, alpha, s, beta = params
        x = np.asarray(freq, dtype=float)
        A_1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        log_A_0 = _ParetoNBD._log_A_0(params, x, rec, T)
        A_2 = np.logaddexp(
            -(r + x) * np.log(alpha + T) - s * np.log(beta + T),
            np.log(s) + log_A_0 - np.log(r + s + x),
        )
        return A_1 + A_2

    @staticmethod
    def _negative_log_likelihood(params, freq, rec, T, weights, penalizer_coef):
        if np.any(np.asarray(params) <= 0.0):
            return np.inf
        ll = _ParetoNBD._conditional_log_likelihood(params, freq, rec, T)
        penalizer_term = penalizer_coef * sum(np.asarray(params) ** 2)
        return -(weights * ll).sum() / weights.mean() + penalizer_term


def _signed_log_hyp2f1(a, b, c, z) -> tuple[np.ndarray, np.ndarray]:
    """sign and log|2F1(a, b; c; z)|, by Euler's transformation where the direct value
    overflows: 2F1(a, b; c; z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        direct = hyp2f1(a, b, c, z)
        euler = hyp2f1(c - a, c - b, c, z)
        use_euler = ~np.isfinite(direct)
        sign = np.where(use_euler, np.sign(euler), np.sign(direct))
        log_abs = np.where(
            use_euler,
            np.log(np.abs(euler)) + (c - a - b) * np.log1p(-z),
            np.log(np.abs(direct)),
        )
    return sign, log_abs


def _bg_conditional_expected(t, frequency, recency, T, params, modified: bool) -> np.ndarray:
    """E[repeat events in (T, T+t]] for BG/NBD (Fader, Hardie & Lee 2005, eq. 10) or
    MBG/NBD (Batislam et al. 2007), keeping the sign of the hypergeometric term.

    lifetimes takes log(2F1), which is NaN when a + b + x - 1 < 0 makes 2F1 negative
    (a fitted a + b < 1 is common on a year of bank data: every zero-repeat customer
    then gets NaN); MBG/NBD's direct product overflows for frequent customers.
    """
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    T = np.asarray(T, dtype=float)
    if modified:
        b_post, c = b + x + 1, a + b + x
        dropout = (a / (b + x)) * ((alpha + T) / (alpha + tx)) ** (r + x)
    else:
        b_post, c = b + x, a + b + x - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            dropout = np.where(
                x > 0, (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0
            )
    sign, log_hyp = _signed_log_hyp2f1(r + x, b_post, c, t / (alpha + T + t))
    second = 1.0 - sign * np.exp(log_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))
    return (c / (a - 1.0)) * second / (1.0 + dropout)


class _BetaGeo(BetaGeoFitter):
    """BG/NBD whose conditional expectation keeps the sign of 2F1 (see above)."""

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T):
        return _bg_conditional_expected(t, frequency, recency, T, self.params_, modified=False)


class _ModifiedBetaGeo(ModifiedBetaGeoFitter):
    """MBG/NBD whose conditional expectation does not overflow (see above)."""

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T):
        return _bg_conditional_expected(t, frequency, recency, T, self.params_, modified=True)


_FITTERS = {"bgnbd": _BetaGeo, "pareto_nbd": _ParetoNBD, "mbgnbd": _ModifiedBetaGeo}


@dataclass(frozen=True)
class FittedBtyd:
    """A fitted transactions model plus what the model card needs about the fit."""

    model: str
    fitter: object
    params: dict[str, float]
    log_likelihood: float
    n_customers: int
    n_unique_rows: int


def unique_rows(
    summary: pd.DataFrame, columns: tuple[str, ...] = ("frequency", "recency", "T")
) -> pd.DataFrame:
    """Collapse customers to unique rows of `columns` with a `weight` count: what the
    weighted fits take (every likelihood here is a sum over customers)."""
    return summary.groupby(list(columns), sort=True).size().rename("weight").reset_index()


# Above this a fitted shape or scale is a runaway, not an estimate: real banks' and the
# public datasets' parameters are below 10^3 in days (CDNOW: r 0.24, alpha 4.4 weeks).
RUNAWAY_PARAMETER = 1e6


# sys.stdout is one for the process: two fits redirecting it at once on two threads
# (the score stage fits CLV and its validation side by side) would restore each other's
# capture and lose the process's output for good. One fit at a time captures it.
_STDOUT = threading.Lock()


def _quiet(call, name: str):
    """Run a lifetimes call, turning its failures into BtydFitError (its prints captured)."""
    with _STDOUT, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return call()
        except ConvergenceError:
            raise BtydFitError(
                f"{name} did not converge; try a larger clv.penalizer or more history"
            ) from None
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
            raise BtydFitError(f"{name} could not be fitted: {exc}") from None


def fit_transactions_model(
    summary: pd.DataFrame, model: str, penalizer: float, min_repeat_customers: int
) -> FittedBtyd:
    """Fit BG/NBD, Pareto/NBD or MBG/NBD on unique (frequency, recency, T) rows, weighted.

    Same parameters as fitting every customer (the likelihood is a sum over customers),
    far faster. Too few repeat customers, or no convergence, is a BtydFitError.
    """
    if model not in _FITTERS:
        raise BtydFitError(f"clv.model: unknown model {model!r} ({', '.join(_FITTERS)})")
    n = len(summary)
    repeaters = int((summary["frequency"] > 0).sum())
    if repeaters < min_repeat_customers:
        raise BtydFitError(
            f"too little data to fit {MODEL_NAMES[model]}: {repeaters} customers with a repeat "
            f"transaction (of {n}); clv.min_repeat_customers is {min_repeat_customers}"
        )
    rows = unique_rows(summary)
    # Pareto/NBD's objective is normalised by the mean weight: keep the penalizer's
    # strength that of a one-row-per-customer fit (see module docstring).
    coef = penalizer * len(rows) / n if model == "pareto_nbd" else penalizer
    fitter = _FITTERS[model](penalizer_coef=coef)
    _quiet(
        lambda: fitter.fit(rows["frequency"], rows["recency"], rows["T"], weights=rows["weight"]),
        MODEL_NAMES[model],
    )
    params = {k: float(fitter.params_[k]) for k in PARAMETER_NAMES[model]}
    if not all(np.isfinite(v) and v > 0 for v in params.values()):
        raise BtydFitError(f"{MODEL_NAMES[model]} fit gave unusable parameters {params}")
    if max(params.values()) > RUNAWAY_PARAMETER:
        # the optimiser stopped on its way to a boundary (no heterogeneity left to fit,
        # say): its "optimum" depends on where it gave up, not on the customers
        raise BtydFitError(
            f"{MODEL_NAMES[model]} did not converge: parameters ran off towards infinity "
            f"({', '.join(f'{k}={v:.3g}' for k, v in params.items())}); try a larger "
            "clv.penalizer or more history"
        )
    ll = log_likelihood(
        model, params, rows["frequency"], rows["recency"], rows["T"], rows["weight"]
    )
    if not np.isfinite(ll):
        raise BtydFitError(f"{MODEL_NAMES[model]} fit has a non-finite log-likelihood")
    return FittedBtyd(model, fitter, params, ll, n, len(rows))


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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if model == "pareto_nbd":
            ll = -_ParetoNBD._negative_log_likelihood(values, *args) * w.mean()
        else:
            ll = -_FITTERS[model]._negative_log_likelihood(np.log(values), *args) * w.sum()
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
    of the fit (the model needs strictly positive values). Also returns the Pearson
    correlation of frequency and value among them: the model assumes it is near 0.
    """
    f = pd.Series(np.asarray(frequency, dtype=float))
    m = pd.Series(np.asarray(monetary_value, dtype=float))
    keep = (f > 0) & (m > 0)
    if int(keep.sum()) < min_customers:
        raise BtydFitError(
            f"too little data to fit Gamma-Gamma: {int(keep.sum())} repeat customers with a "
            f"positive value per event; clv.min_repeat_customers is {min_customers}"
        )
    # On unique (frequency, value) rows with counts as weights: lifetimes divides the
    # weighted log-likelihood by the weights' sum, so the fit is the per-customer one
    # (at 1M customers, 198k rows for 492k customers).
    rows = unique_rows(
        pd.DataFrame({"frequency": f[keep], "monetary_value": m[keep]}),
        ("frequency", "monetary_value"),
    )
    fitter = GammaGammaFitter(penalizer_coef=penalizer)
    _quiet(
        lambda: fitter.fit(rows["frequency"], rows["monetary_value"], weights=rows["weight"]),
        "Gamma-Gamma",
    )
    params = {
        "p": float(fitter.params_["p"]),
        "q": float(fitter.params_["q"]),
        "v": float(fitter.params_["v"]),
    }
    if not all(np.isfinite(v) and v > 0 for v in params.values()):
        raise BtydFitError(f"Gamma-Gamma fit gave unusable parameters {params}")
    if params["q"] <= 1:
        raise ValueModelUnusable(
            f"Gamma-Gamma fit has q={params['q']:.3f} <= 1: the population mean value per "
            "event is undefined; values are too heavy-tailed for the model"
        )
    corr = float(np.corrcoef(f[keep], m[keep])[0, 1]) if keep.sum() > 2 else float("nan")
    return FittedGammaGamma(fitter, params, int(keep.sum()), corr)


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
