"""The BTYD models' likelihoods and predictions, as lifetimes (0.11.3) has them, mended.

Each model is a lifetimes fitter class (predictions from its fitted `params_`) and an
objective on log-parameters for pipeline.btyd_mle: the mean negative log-likelihood per
customer over weighted unique rows plus the penalizer, on times scaled to max(T) = 1 as
lifetimes fits. Mended here:

- Pareto/NBD: the likelihood's hypergeometric term overflows for frequent customers in
  daily units (NaN p_alive); evaluated stably (`_ParetoNBD._log_A_0`). lifetimes
  normalises its objective by the *mean* weight and the others by the sum: here every
  objective is per customer, with Pareto/NBD's penalizer divided by the customers
  (`penalty_per_customer`), so a weighted fit on unique rows is lifetimes' fit on every
  customer with the same penalizer.
- BG/NBD's conditional expectation takes log(2F1), NaN whenever 2F1 < 0 (fitted
  a + b < 1, common on a year of bank data); MBG/NBD's overflows: both keep the sign.
- NBD: the limit every dropout model reaches when its dropout goes to 0 (BG/NBD and
  MBG/NBD a -> 0, Pareto/NBD s -> 0): purchases at a Gamma-distributed Poisson rate,
  nobody leaves. Its likelihood is the others' at that boundary, P(alive) is 1 and the
  conditional expectation (r + x) t / (alpha + T).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import gammaln, hyp2f1, logsumexp

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lifetimes
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

LIFETIMES_VERSION = lifetimes.__version__
PARAMETER_NAMES = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "nbd": ("r", "alpha"),
}
MODEL_NAMES = {
    "bgnbd": "BG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "mbgnbd": "MBG/NBD",
    "nbd": "NBD (no dropout)",
}
# Models a config may name (NBD is only reached as a limit, pipeline.btyd).
DROPOUT_MODELS = ("bgnbd", "pareto_nbd", "mbgnbd")
# Parameters measured in time (scaled by 1/max(T) while fitting).
TIME_SCALES = ("alpha", "beta")
# The dropout parameter whose going to 0 means nobody leaves, per model.
DROPOUT_PARAMETER = {"bgnbd": "a", "mbgnbd": "a", "pareto_nbd": "s"}
# Parameters that run off to infinity together where customers do not differ: a Gamma
# shape with its scale (every customer buys, or leaves, at the same rate), the Beta's two
# shapes (every customer has the same dropout probability, or 0 or 1).
RIDGES = {
    "bgnbd": ((0, 1), (2, 3)),
    "mbgnbd": ((0, 1), (2, 3)),
    "pareto_nbd": ((0, 1), (2, 3)),
    "nbd": ((0, 1),),
}
# Where the optimiser starts, in log-parameters: lifetimes' own starts (0.1 for the
# beta-geometric models, parameters 1 for Pareto/NBD).
START = {"bgnbd": 0.1, "mbgnbd": 0.1, "pareto_nbd": 0.0, "nbd": 0.0}


class _ParetoNBD(ParetoNBDFitter):
    """ParetoNBDFitter whose likelihood's hypergeometric term does not overflow.

    (lifetimes' own fit draws Nelder-Mead's start from the global numpy RNG and returns
    whatever the optimiser reached: pipeline.btyd fits it through pipeline.btyd_mle.)
    """

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


class _NBD:
    """No dropout: Poisson purchases at a Gamma(r, alpha) rate (the dropout models' limit)."""

    def __init__(self, penalizer_coef: float = 0.0):
        self.penalizer_coef = penalizer_coef

    @staticmethod
    def _negative_log_likelihood(log_params, freq, rec, T, weights, penalizer_coef):
        from autograd import numpy as anp
        from autograd.scipy.special import gammaln as agammaln

        params = anp.exp(log_params)
        r, alpha = params[0], params[1]
        ll = agammaln(r + freq) - agammaln(r) + r * anp.log(alpha) - (r + freq) * anp.log(alpha + T)
        return -(weights * ll).sum() / weights.sum() + penalizer_coef * anp.sum(params**2)

    def conditional_probability_alive(self, frequency, recency, T):
        return np.ones(np.broadcast(frequency, recency, T).shape)

    def conditional_expected_number_of_purchases_up_to_time(self, t, frequency, recency, T):
        r, alpha = self.params_["r"], self.params_["alpha"]
        return (r + np.asarray(frequency, dtype=float)) * t / (alpha + np.asarray(T, dtype=float))

    def expected_number_of_purchases_up_to_time(self, t):
        return self.params_["r"] * t / self.params_["alpha"]


FITTERS = {"bgnbd": _BetaGeo, "pareto_nbd": _ParetoNBD, "mbgnbd": _ModifiedBetaGeo, "nbd": _NBD}


def _pareto_objective(log_params, freq, rec, T, weights, penalizer_coef):
    params = np.exp(log_params)
    ll = _ParetoNBD._conditional_log_likelihood(params, freq, rec, T)
    return -(weights * ll).sum() / weights.sum() + penalizer_coef * np.sum(params**2)


def objective(model: str):
    """The model's objective on log-parameters (freq, rec, T, weights, penalizer) and
    whether autograd can differentiate it."""
    if model == "pareto_nbd":
        return _pareto_objective, False
    return FITTERS[model]._negative_log_likelihood, True


def penalty_per_customer(model: str, penalizer: float, customers: int) -> float:
    """The penalizer's coefficient on the per-customer objective that makes the fit
    lifetimes' fit on every customer: lifetimes' Pareto/NBD penalises its *total*
    negative log-likelihood, the others their mean."""
    return penalizer / customers if model == "pareto_nbd" else penalizer
