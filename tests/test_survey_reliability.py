"""Reliability figures against hand computation: Cronbach's alpha, corrected item-total
correlation, alpha if item deleted, Feldt interval, KMO/Bartlett availability."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.survey.definition import parse_definition
from pipeline.survey.reliability import (
    cronbach_alpha,
    item_statistics,
    kmo,
    reliability,
    scale_adequacy,
)


def hand_alpha(items: np.ndarray) -> float:
    """k/(k-1) * (1 - sum of item variances / variance of the total), sample variances."""
    k = items.shape[1]
    return k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / items.sum(axis=1).var(ddof=1))


# Worked by hand: item variances 5/3, 4/3, 8/3; totals 4, 7, 10, 13 have variance 15;
# alpha = 3/2 * (1 - (17/3)/15) = 14/15.
FRAME = pd.DataFrame({"x1": [1, 2, 3, 4], "x2": [2, 2, 4, 4], "x3": [1, 3, 3, 5]})


def test_alpha_on_a_hand_worked_frame():
    alpha, lo, hi = cronbach_alpha(FRAME)
    assert alpha == pytest.approx(14 / 15, abs=1e-12)
    assert hand_alpha(FRAME.to_numpy(float)) == pytest.approx(14 / 15, abs=1e-12)
    # Feldt's interval, n=4, k=3: 1 - (1 - alpha) x the F(3, 6) quantiles, from the
    # printed F tables (upper 2.5% points): F(3, 6) = 6.5988, and F(6, 3) = 14.735, whose
    # reciprocal is F(3, 6)'s lower 2.5% point. 1 - 6.5988/15 = 0.5601, 1 - 1/(15 x 14.735) = 0.9955
    assert (lo, hi) == (0.560, 0.995)
    assert lo < alpha < hi


def test_item_total_and_alpha_if_deleted_by_hand():
    stats = item_statistics(FRAME).set_index("item")
    # x1 vs x2+x3 = 3,5,7,9: exactly linear.  x2 vs x1+x3 = 2,5,6,9: 8/sqrt(4*25).
    # x3 vs x1+x2 = 3,4,7,8: 10/sqrt(8*17).
    assert stats.loc["x1", "item_total_corr"] == pytest.approx(1.0, abs=1e-12)
    assert stats.loc["x2", "item_total_corr"] == pytest.approx(0.8, abs=1e-12)
    assert stats.loc["x3", "item_total_corr"] == pytest.approx(10 / math.sqrt(136), abs=1e-12)
    # alpha of the remaining pair = 2 * (1 - sum var / var total)
    assert stats.loc["x1", "alpha_if_deleted"] == pytest.approx(0.8, abs=1e-12)  # 2(1-4/(20/3))
    assert stats.loc["x2", "alpha_if_deleted"] == pytest.approx(24 / 25, abs=1e-12)
    assert stats.loc["x3", "alpha_if_deleted"] == pytest.approx(16 / 17, abs=1e-12)


def test_two_item_dimension_has_no_alpha_if_deleted():
    stats = item_statistics(FRAME[["x1", "x2"]])
    assert stats["alpha_if_deleted"].isna().all()
    # with two items the "rest" is the other item: r(x1, x2) = 4 / sqrt(5 * 4)
    assert stats["item_total_corr"].tolist() == pytest.approx([4 / math.sqrt(20)] * 2, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_library_alpha_matches_the_formula(data):
    n = data.draw(st.integers(5, 40))
    k = data.draw(st.integers(2, 6))
    values = np.array(
        data.draw(st.lists(st.integers(1, 7), min_size=n * k, max_size=n * k)), dtype=float
    ).reshape(n, k)
    frame = pd.DataFrame(values, columns=[f"i{j}" for j in range(k)])
    if (frame.nunique() < 2).any() or frame.sum(axis=1).nunique() < 2:
        return  # alpha undefined; the stage reports that instead (tested below)
    assert cronbach_alpha(frame)[0] == pytest.approx(hand_alpha(values), abs=1e-9)


DEFINITION = parse_definition(
    {
        "name": "mini",
        "table": "survey_responses",
        "scale": {"min": 1, "max": 5},
        "dimensions": {"speed": ["x1", "x2", "x3"], "care": ["c1", "c2"]},
    }
)


def test_reliability_flags_low_alpha_and_uses_complete_rows():
    recoded = FRAME.assign(c1=[1, 2, 3, 4], c2=[4, 3, 1, 2])  # care: opposed items
    recoded.loc[4] = [5, 5, 5, np.nan, 3]  # incomplete for care, complete for speed
    rel, items, _ = reliability(recoded, DEFINITION, alpha_threshold=0.7, min_group_size=3)
    rel = rel.set_index("dimension")
    assert rel.loc["speed", "n_complete"] == 5
    assert rel.loc["speed", "alpha"] == pytest.approx(
        hand_alpha(recoded[["x1", "x2", "x3"]].to_numpy(float)), abs=1e-12
    )
    assert not rel.loc["speed", "below_threshold"]
    assert rel.loc["care", "n_complete"] == 4
    assert rel.loc["care", "alpha"] == pytest.approx(
        hand_alpha(recoded[["c1", "c2"]].dropna().to_numpy(float)), abs=1e-12
    )
    assert rel.loc["care", "below_threshold"]
    assert list(items["item"]) == ["x1", "x2", "x3", "c1", "c2"]


def test_small_or_constant_dimensions_are_not_reported():
    recoded = FRAME.assign(c1=[3, 3, 3, 3], c2=[1, 2, 3, 4])
    rel, items, scale = reliability(recoded, DEFINITION, alpha_threshold=0.7, min_group_size=3)
    care = rel.set_index("dimension").loc["care"]
    assert math.isnan(care["alpha"]) and care["status"] == "undefined: constant item(s) c1"
    assert items.set_index("item").loc[["c1", "c2"], "item_total_corr"].isna().all()
    assert scale["kmo"] is None and scale["status"].startswith("undefined")
    rel, _, scale = reliability(recoded, DEFINITION, alpha_threshold=0.7, min_group_size=10)
    assert rel["alpha"].isna().all()
    assert set(rel["status"]) == {"suppressed: fewer complete responses than min_group_size"}


def test_kmo_and_bartlett_on_a_two_factor_scale():
    rng = np.random.default_rng(3)
    factors = rng.normal(size=(200, 2))
    values = np.repeat(factors, 3, axis=1) + rng.normal(scale=0.7, size=(200, 6))
    out = scale_adequacy(pd.DataFrame(values, columns=list("abcdef")))
    assert out["status"] == "ok" and out["n_complete"] == 200 and out["bartlett_df"] == 15
    assert 0.5 < out["kmo"] < 1
    # Bartlett: -(n - 1 - (2p + 5)/6) ln det R, by hand
    det = np.linalg.det(np.corrcoef(values, rowvar=False))
    assert out["bartlett_chi2"] == pytest.approx(-(199 - 17 / 6) * np.log(det), rel=1e-9)
    assert out["bartlett_p"] < 1e-10


def test_a_long_consistent_scale_is_not_called_singular():
    """27 items of one factor (loading 0.9): the correlation matrix's determinant is near
    1e-17, far below any fixed cut, yet it is well conditioned (about 160); KMO and
    Bartlett are computed, Bartlett from the log determinant. Two identical items are
    still singular."""
    rng = np.random.default_rng(5)
    factor = rng.normal(size=(400, 1))
    values = 0.9 * factor + np.sqrt(1 - 0.81) * rng.normal(size=(400, 27))
    r = np.corrcoef(values, rowvar=False)
    assert np.linalg.det(r) < 1e-12 and np.linalg.cond(r) < 1e3
    out = scale_adequacy(pd.DataFrame(values, columns=[f"q{i}" for i in range(27)]))
    assert out["status"] == "ok" and out["kmo"] > 0.9
    log_det = np.linalg.slogdet(r)[1]
    assert out["bartlett_chi2"] == pytest.approx(-(399 - 59 / 6) * log_det, rel=1e-9)
    twins = pd.DataFrame(values[:, :3], columns=list("abc")).assign(d=lambda f: f["a"])
    assert scale_adequacy(twins)["status"] == "undefined: singular item correlation matrix"


def test_kmo_of_two_items_is_one_half():
    # with two items the partial correlation (given no other item) is the correlation
    # itself, so KMO = r^2 / (r^2 + r^2) = 0.5 whatever the data
    rng = np.random.default_rng(5)
    x = rng.normal(size=50)
    r = np.corrcoef(np.column_stack([x, x + rng.normal(size=50)]), rowvar=False)
    assert kmo(r) == pytest.approx(0.5, abs=1e-12)


def test_kmo_of_three_items_by_hand():
    # partial correlation of items 1 and 2 given 3: (r12 - r13 r23) / sqrt((1 - r13^2)(1 - r23^2))
    rng = np.random.default_rng(6)
    values = rng.normal(size=(400, 3)) @ np.array([[1, 0.5, 0.3], [0, 1, 0.4], [0, 0, 1]])
    r = np.corrcoef(values, rowvar=False)

    def partial(i, j, k):
        return (r[i, j] - r[i, k] * r[j, k]) / np.sqrt((1 - r[i, k] ** 2) * (1 - r[j, k] ** 2))

    r2 = r[0, 1] ** 2 + r[0, 2] ** 2 + r[1, 2] ** 2
    p2 = partial(0, 1, 2) ** 2 + partial(0, 2, 1) ** 2 + partial(1, 2, 0) ** 2
    assert kmo(r) == pytest.approx(r2 / (r2 + p2), rel=1e-12)
