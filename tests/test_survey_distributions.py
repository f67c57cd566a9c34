"""The survey's tail figures (pipeline.survey.distributions) are scipy.stats' numbers,
bit for bit, over every argument the stage can pass and the edges around them."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2, f, norm

from pipeline.survey.distributions import chi2_sf, f_isf, norm_ppf

PROBABILITY = st.one_of(
    st.floats(0, 1), st.sampled_from([0.0, 1.0, 0.025, 0.975, -0.1, 1.1, math.nan])
)
DEGREES = st.one_of(
    st.integers(0, 100_000),
    st.floats(0, 1e6),
    st.sampled_from([-1.0, 0.5, 5e-324, math.inf, math.nan]),
)


def same(ours: float, theirs: float) -> bool:
    """Equal to the bit (0.0 and -0.0 apart), or both NaN."""
    theirs = float(np.asarray(theirs))
    if math.isnan(ours) or math.isnan(theirs):
        return math.isnan(ours) and math.isnan(theirs)
    return ours == theirs and math.copysign(1, ours) == math.copysign(1, theirs)


@given(PROBABILITY, DEGREES, DEGREES)
def test_f_isf_is_scipys(q, dfn, dfd):
    assert same(f_isf(q, dfn, dfd), f.isf(q, dfn, dfd))


@given(
    st.one_of(
        st.floats(-1e3, 1e5), st.sampled_from([0.0, -0.0, 5e-324, math.inf, -math.inf, math.nan])
    ),
    DEGREES,
)
def test_chi2_sf_is_scipys(x, df):
    assert same(chi2_sf(x, df), chi2.sf(x, df))


@given(PROBABILITY)
def test_norm_ppf_is_scipys(p):
    assert same(norm_ppf(p), norm.ppf(p))


def test_the_stages_values():
    """Feldt's interval at 95% for 50 responses to 4 items, Bartlett's p for 6 items, the
    NPS interval's z -- the figures every survey run computes."""
    assert f_isf(0.025, 49, 147) == f.isf(0.025, 49, 147)
    assert chi2_sf(41.5, 15.0) == chi2.sf(41.5, 15.0)
    assert norm_ppf(0.975) == norm.ppf(0.975) == 1.959963984540054
