"""BG/NBD and MBG/NBD conditional expectations: equal to lifetimes where lifetimes is
finite, and right where it is not (negative 2F1), checked by an independent integral."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate, special

from pipeline.btyd import (
    BetaGeoFitter,  # lifetimes' own classes, imported through our one door
    ModifiedBetaGeoFitter,
    fit_transactions_model,
    transactions_model_from_params,
)

with warnings.catch_warnings():  # lifetimes' import warns under pandas 3 (see pipeline.btyd)
    warnings.simplefilter("ignore")
    from lifetimes.datasets import load_cdnow_summary


def _posterior_integral(t, x, tx, T, r, alpha, a, b, modified):
    """P(alive) x E[(1 - (alpha'/(alpha'+p t))^r') / p] over p ~ Beta(a, b') (FHL 2005),
    integrated in s = p^a, which takes away the p^(a-1) spike at 0 for small a."""
    r2, alpha2 = r + x, alpha + T
    b2 = b + x + 1 if modified else b + x

    def integrand(s):
        p = s ** (1 / a)
        h = -np.expm1(-r2 * np.log1p(p * t / alpha2)) / p if p > 0 else r2 * t / alpha2
        return h * (1 - p) ** (b2 - 1)

    value = integrate.quad(integrand, 0, 1, limit=200)[0] / (a * special.beta(a, b2))
    if modified:
        odds = (a / (b + x)) * ((alpha + T) / (alpha + tx)) ** (r + x)
    else:
        odds = (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x) if x > 0 else 0.0
    return value / (1 + odds)


@pytest.mark.parametrize(
    ("model", "reference"), [("bgnbd", BetaGeoFitter), ("mbgnbd", ModifiedBetaGeoFitter)]
)
def test_equals_lifetimes_on_cdnow(model, reference) -> None:
    cdnow = load_cdnow_summary(index_col=[0])
    fitted = fit_transactions_model(cdnow.rename_axis("customer_id").reset_index(), model, 0.0, 30)
    args = (39.0, cdnow["frequency"], cdnow["recency"], cdnow["T"])
    ours = fitted.fitter.conditional_expected_number_of_purchases_up_to_time(*args)
    theirs = reference.conditional_expected_number_of_purchases_up_to_time(fitted.fitter, *args)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("modified", [False, True])
def test_negative_hypergeometric_term_is_right_where_lifetimes_gives_nan(modified) -> None:
    # a + b < 1, as fitted on a 600-customer, 8-month sample bank
    params = {"r": 1.782527, "alpha": 6.299491, "a": 0.003114, "b": 0.508029}
    fitted = transactions_model_from_params("mbgnbd" if modified else "bgnbd", params)
    x = np.array([0.0, 0.0, 3.0, 12.0])
    tx = np.array([0.0, 0.0, 20.0, 30.0])
    T = np.array([15.0, 5.0, 40.0, 35.0])
    got = fitted.fitter.conditional_expected_number_of_purchases_up_to_time(52.0, x, tx, T)
    expected = [
        _posterior_integral(52.0, *row, *params.values(), modified)
        for row in zip(x, tx, T, strict=True)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    if not modified:
        with np.errstate(invalid="ignore"):
            raw = BetaGeoFitter.conditional_expected_number_of_purchases_up_to_time(
                fitted.fitter, 52.0, x, tx, T
            )
        assert np.isnan(raw[0])  # the lifetimes bug this guards against
