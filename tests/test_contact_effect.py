"""The contact-effect model on hand-made data: every formula worked by hand (doubly robust
scores, segment ratios and their shrinkage, gain curves and the Qini area, captured
value and its interval, the closed loop's comparison), overlap trimming, the call
lists ranked by expected value saved with "do not call", the fallback without contact
history, and no leakage: a window's treatment is the month after its start, its
features are the same whatever happens after it."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.engine import connect_frames
from pipeline.scoring import churn
from pipeline.scoring.books import CALL, DO_NOT_CALL, call_lists
from pipeline.scoring.calls import (
    RANKING_EFFECT,
    RANKING_VALUE_AT_RISK,
    ContactEffects,
    contact_effects,
    no_evidence,
)
from pipeline.scoring.closed_loop import compare, list_periods
from pipeline.scoring.effect import (
    DRLearner,
    RelativeEffects,
    average_effect,
    captured,
    captured_difference,
    dr_scores,
    effects_by,
    gain_curve,
    qini_area,
    sum_variance,
)
from pipeline.scoring.effect_data import SwitchedOff, contacted_after, plan_effect
from pipeline.scoring.settings import ScoreSettings
from pipeline.scoring.value_risk import branch_scores
from pipeline.steps import Skipped

AS_OF = date(2026, 10, 31)


@pytest.fixture(scope="module")
def settings() -> ScoreSettings:
    return ScoreSettings.from_config(load_config())


# --- the doubly robust scores -------------------------------------------------------------


def test_doubly_robust_scores_by_hand():
    # a contacted customer who stayed: mu0 - mu1 + (0 - mu1) x -1/e... worked below
    d = np.array([1, 1, 0, 0])
    y = np.array([0, 1, 0, 1])
    e = np.array([0.5, 0.25, 0.5, 0.2])
    mu0 = np.array([0.3, 0.3, 0.3, 0.3])
    mu1 = np.array([0.1, 0.1, 0.1, 0.1])
    got = dr_scores(d, y, e, mu0, mu1)
    # contacted: 0.2 - (y - 0.1) / e; not contacted: 0.2 + (y - 0.3) / (1 - e)
    expected = [0.2 + 0.1 / 0.5, 0.2 - 0.9 / 0.25, 0.2 - 0.3 / 0.5, 0.2 + 0.7 / 0.8]
    np.testing.assert_allclose(got, expected)


def test_the_mean_score_recovers_a_confounded_effect_the_difference_in_means_gets_wrong():
    """Who is called depends on x (the bank calls the risky far more); a call removes 30%
    of the chance of leaving. The difference in means says calls do harm; the doubly
    robust mean finds the true average effect within its interval."""
    rng = np.random.default_rng(3)
    n = 40_000
    x = rng.random(n)
    d = (rng.random(n) < 0.05 + 0.85 * x**2).astype(int)
    base = 0.02 + 0.6 * x**3
    y = (rng.random(n) < np.where(d == 1, 0.7 * base, base)).astype(int)
    X = pd.DataFrame({"x": x})
    learner = DRLearner(folds=2, random_state=0).fit(X, d, y, np.zeros(n, dtype=int))
    truth = float(np.mean(0.3 * base))
    naive = y[d == 0].mean() - y[d == 1].mean()
    assert naive < -0.05  # the called leave more: confounding
    estimate = average_effect(learner.scores_)
    assert estimate["ci"][0] < truth < estimate["ci"][1]
    assert abs(estimate["effect"] - truth) < 0.01
    # and the relative effect is the 30% a call removes
    assert learner.relative_.overall == pytest.approx(0.3, abs=0.08)


def test_rows_outside_the_overlap_range_are_flagged_and_left_out():
    """Customers with x = 1 are always called: no one comparable was left alone."""
    rng = np.random.default_rng(5)
    n = 6_000
    always = rng.random(n) < 0.2
    d = np.where(always, 1, (rng.random(n) < 0.3).astype(int))
    y = (rng.random(n) < 0.2).astype(int)
    X = pd.DataFrame({"always": always.astype(float)})
    learner = DRLearner(folds=2, overlap=(0.05, 0.95), random_state=0).fit(X, d, y, np.zeros(n))
    assert not learner.in_overlap_[always].any()
    assert learner.in_overlap_[~always].all()
    assert np.isnan(learner.scores_[always]).all()
    assert average_effect(learner.scores_)["customers"] == int((~always).sum())


def test_the_fit_samples_large_histories_and_is_deterministic():
    rng = np.random.default_rng(1)
    n = 5_000
    X = pd.DataFrame({"x": rng.random(n)})
    d = (rng.random(n) < 0.3).astype(int)
    y = (rng.random(n) < 0.2).astype(int)
    a = DRLearner(max_rows=3_000, random_state=4).fit(X, d, y, np.zeros(n))
    b = DRLearner(max_rows=3_000, random_state=4).fit(X, d, y, np.zeros(n))
    assert len(a.rows_) == 3_000 and np.all(np.diff(a.rows_) > 0)
    np.testing.assert_array_equal(a.rows_, b.rows_)
    np.testing.assert_array_equal(a.scores_, b.scores_)


# --- intervals count customers, not rows -------------------------------------------------


def test_the_variance_of_a_sum_counts_a_customer_once_by_hand():
    residual = np.array([1.0, -1.0, 2.0, -2.0])
    # every row its own customer: n / (n - 1) x the sum of squares
    assert sum_variance(residual, None) == (pytest.approx(4 / 3 * 10), 4)
    # customer x's rows sum to 0 and so do y's: the customers do not vary at all
    assert sum_variance(residual, np.array([7, 7, 9, 9])) == (0.0, 2)
    # x = rows 0 and 2 (sum 3), y = rows 1 and 3 (sum -3): 2 / 1 x (9 + 9)
    assert sum_variance(residual, np.array([7, 9, 7, 9])) == (pytest.approx(36.0), 2)


def test_the_average_effects_interval_by_hand_with_a_customer_in_two_windows():
    scores = np.array([0.1, 0.3, 0.2, 0.4, np.nan])
    got = average_effect(scores, np.array([5, 5, 6, 6, 7]))
    # mean 0.25; residuals -0.15, 0.05 (customer 5: -0.1) and -0.05, 0.15 (customer 6:
    # 0.1); variance of the sum 2 / 1 x 0.02; se = sqrt(0.04) / 4 rows
    assert got["effect"] == pytest.approx(0.25)
    assert got["customers"] == 2 and got["rows"] == 4  # customer 7 is outside overlap
    half = 1.959964 * 0.2 / 4
    assert got["ci"] == pytest.approx([0.25 - half, 0.25 + half])
    # each row its own customer: the textbook interval of a mean
    alone = average_effect(scores)
    half = 1.959964 * np.std(scores[:4], ddof=1) / 2
    assert alone["ci"] == pytest.approx([0.25 - half, 0.25 + half])
    assert alone["customers"] == alone["rows"] == 4


def test_stacking_a_customer_in_more_windows_does_not_narrow_the_interval():
    """Every customer twice with the same score (two windows that say the same thing):
    the interval is the one of each customer once, where counting rows would narrow it
    by the square root of two."""
    rng = np.random.default_rng(11)
    scores = rng.normal(0.01, 0.3, 500)
    once = average_effect(scores, np.arange(500))
    twice = average_effect(np.concatenate([scores, scores]), np.tile(np.arange(500), 2))
    rows = average_effect(np.concatenate([scores, scores]))
    assert twice["ci"] == pytest.approx(once["ci"])
    assert twice["customers"] == 500 and twice["rows"] == 1000
    width = once["ci"][1] - once["ci"][0]
    assert rows["ci"][1] - rows["ci"][0] == pytest.approx(width / math.sqrt(2), rel=1e-3)
    segment = np.zeros(1000, dtype=int)
    mu0 = np.full(1000, 0.1)
    rel = RelativeEffects.fit(
        segment, np.concatenate([scores, scores]), mu0, np.tile(np.arange(500), 2)
    )
    single = RelativeEffects.fit(segment[:500], scores, mu0[:500])
    assert rel.table["se"].iloc[0] == pytest.approx(single.table["se"].iloc[0])
    assert rel.table["customers"].iloc[0] == 500 and rel.table["rows"].iloc[0] == 1000


def test_evidence_of_an_effect_is_the_average_effects_interval_above_zero():
    assert no_evidence({"effect": 0.003, "ci": [0.001, 0.005], "customers": 900}) is None
    reason = no_evidence({"effect": 0.001, "ci": [-0.0005, 0.0025], "customers": 900})
    assert reason == (
        "no evidence that a contact lowers the chance of leaving: on average a contact "
        "lowers it by 0.10 points (95% interval -0.05 to 0.25)"
    )
    assert "too few customers" in no_evidence({"effect": None, "ci": None, "customers": 1})


# --- relative effects by segment -------------------------------------------------------


def test_segment_ratios_and_their_standard_errors_by_hand():
    segment = np.array(["a", "a", "a", "b", "b", "b"])
    phi = np.array([0.1, 0.2, 0.3, 0.0, 0.1, -0.1])
    mu0 = np.array([0.5, 0.5, 1.0, 0.2, 0.2, 0.6])
    rel = RelativeEffects.fit(segment, phi, mu0)
    t = rel.table.set_index("segment")
    assert t.loc["a", "raw"] == pytest.approx(0.6 / 2.0)
    assert t.loc["b", "raw"] == pytest.approx(0.0)
    # se = sqrt(n x var(phi)) / sum(mu0); var with n - 1
    assert t.loc["a", "se"] == pytest.approx(math.sqrt(3 * 0.01) / 2.0)
    assert t.loc["b", "se"] == pytest.approx(math.sqrt(3 * 0.01) / 1.0)
    # DerSimonian-Laird: w = 1/se^2, Q = sum w (raw - mean_w)^2, spread^2 = (Q - (k - 1)) /
    # (sum w - sum w^2 / sum w); then the random-effects mean, and each segment keeps
    # spread^2 / (spread^2 + se^2) of its own ratio
    se = np.array([t.loc["a", "se"], t.loc["b", "se"]])
    raw = np.array([0.3, 0.0])
    w = 1 / se**2
    mean_w = np.sum(w * raw) / w.sum()
    q = np.sum(w * (raw - mean_w) ** 2)
    tau2 = (q - 1) / (w.sum() - np.sum(w**2) / w.sum())
    assert tau2 > 0 and rel.spread == pytest.approx(math.sqrt(tau2))
    w_re = 1 / (se**2 + tau2)
    overall = np.sum(w_re * raw) / w_re.sum()
    assert rel.overall == pytest.approx(overall)
    assert rel.overall_se == pytest.approx(math.sqrt(1 / w_re.sum()))
    keep = tau2 / (tau2 + se**2)
    np.testing.assert_allclose(t["relative_effect"], keep * raw + (1 - keep) * overall)


def test_a_precise_segment_keeps_its_own_ratio_a_noisy_one_shrinks():
    rng = np.random.default_rng(0)
    big = rng.normal(0.4, 0.05, 20_000)  # relative effect 0.4, known to the last digit
    small = rng.normal(-0.4, 0.05, 20_000)
    noisy = rng.normal(0.0, 1.0, 30)
    segment = np.array(["big"] * len(big) + ["small"] * len(small) + ["noisy"] * len(noisy))
    phi = np.concatenate([big, small, noisy])
    rel = RelativeEffects.fit(segment, phi, np.ones(len(phi)))
    t = rel.table.set_index("segment")
    assert rel.spread > 0.3
    assert t.loc["big", "relative_effect"] == pytest.approx(t.loc["big", "raw"], abs=1e-3)
    gap = abs(t.loc["noisy", "relative_effect"] - rel.overall)
    assert gap < abs(t.loc["noisy", "raw"] - rel.overall)
    assert rel.harmful(np.array(["small", "big", "unseen"])).tolist() == [True, False, False]
    assert rel.of(np.array(["unseen"]))[0] == rel.overall


def test_group_effects_are_withheld_below_thirty_customers():
    groups = pd.Series(["a"] * 40 + ["b"] * 10)
    scores = np.concatenate([np.full(40, 0.1), np.full(10, 0.5)])
    d = np.array([1, 0] * 25)
    y = np.zeros(50, dtype=int)
    rows = {r["group"]: r for r in effects_by(groups, scores, d, y)}
    assert rows["a"]["effect"] == pytest.approx(0.1) and rows["a"]["customers"] == 40
    assert rows["b"]["effect"] is None and rows["b"]["customers"] == 10


# --- checks out of time --------------------------------------------------------------------


def test_gain_curve_qini_area_and_captured_value_by_hand():
    score = np.array([0.9, 0.1, 0.5, 0.3])
    gain = np.array([2.0, -1.0, 1.0, 0.0])
    curve = gain_curve(score, gain, points=4)
    # order by score: 2, 1, 0, -1 -> cumulative 2, 3, 3, 2
    assert curve == [[0.0, 0.0], [0.25, 2.0], [0.5, 3.0], [0.75, 3.0], [1.0, 2.0]]
    # above the random line (share x 2): 1.5, 2, 1.5, 0 -> trapezoids of width 0.25
    assert qini_area(curve) == pytest.approx(0.25 * (0.75 + 1.75 + 1.75 + 0.75))
    assert captured(score, gain, 0.5) == 3.0
    diff = captured_difference(score, -score, gain, 0.5)
    # top half by score {0, 2} against by -score {1, 3}: (2 + 1) - (-1 + 0) = 4
    assert diff["difference"] == 4.0
    half = 1.959964 * math.sqrt(2**2 + 1**2 + 1**2 + 0**2)
    assert diff["ci"] == pytest.approx([4 - half, 4 + half])


def test_the_closed_loop_comparison_by_hand():
    contacted = np.array([True, True, True, True, False, False])
    churned = np.array([False, False, False, True, True, False])
    got = compare(contacted, churned, np.array([0.1, 0.2, np.nan, 0.3, 0.0, 0.0]))
    assert got["contacted"] == {"customers": 4, "churned": 1, "churn_rate": 0.25}
    assert got["not_contacted"]["churn_rate"] == 0.5
    assert got["difference"] == pytest.approx(0.25)
    half = 1.959964 * math.sqrt(0.25 * 0.75 / 4 + 0.5 * 0.5 / 2)
    assert got["ci"] == pytest.approx([0.25 - half, 0.25 + half])
    assert got["expected_effect"] == pytest.approx(0.6 / 5)
    assert list_periods("2026-10", 3) == ["2026-09", "2026-07"]
    assert list_periods("2026-10", 1) == ["2026-09"]


# --- the lists ----------------------------------------------------------------------


def scores_frame() -> pd.DataFrame:
    """One RM's five active customers and one of another RM."""
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
            "branch_id": ["B1"] * 6,
            "rm_id": ["R1"] * 5 + ["R2"],
            "tier": ["wealth"] * 6,
            "aum": [1e6] * 6,
            "monthly_profit": [100.0] * 6,
            "clv": [10_000.0, 20_000.0, 5_000.0, 50_000.0, 1_000.0, 8_000.0],
            "churn_probability": [0.2, 0.05, 0.5, 0.1, 0.9, 0.3],
            "leave_probability": [0.2, 0.05, 0.5, 0.1, 0.9, 0.3],
            "value_at_risk": [2_000.0, 1_000.0, 2_500.0, 5_000.0, 900.0, 2_400.0],
            "high_value": [True] * 6,
            "status": ["active"] * 6,
            "days_since_rm_contact": [10.0] * 6,
            "reason_codes": [""] * 6,
            "contact_effect": [0.02, 0.01, 0.05, -0.01, 0.3, 0.0],
            "value_saved": [195.0, 195.0, 245.0, -505.0, 295.0, -5.0],
            "do_not_call": [False, False, False, True, False, False],
        }
    )


def test_call_lists_rank_by_expected_value_saved_and_mark_do_not_call():
    effects = ContactEffects(scores=pd.DataFrame(), ranking=RANKING_EFFECT, card={})
    lists = call_lists(scores_frame(), AS_OF, capacity=3, effects=effects)
    r1 = lists[("B1", "R1")]
    # to call: value saved 295 (C5), 245 (C3), 195 (C1 and C2: by customer id) -> top 3
    assert r1["customer_id"].tolist() == ["C5", "C3", "C1", "C4"]
    assert r1["action"].tolist() == [CALL, CALL, CALL, DO_NOT_CALL]
    assert r1["rank"].tolist()[:3] == [1, 2, 3] and pd.isna(r1["rank"].iloc[3])
    # C4 is among R1's top 3 by value at risk (5,000) and a call would push them away
    assert lists[("B1", "R2")].empty  # value saved below the call's cost: nobody to call
    totals = branch_scores(scores_frame().assign(
        rfm_segment="x", churn_band="low", value_risk_quadrant="protect", in_btyd=True,
        monthly_balance_margin=0.0, monthly_interchange=0.0, monthly_fees=0.0,
        monthly_cost_to_serve=0.0,
    ), "2026-10", lists)  # fmt: skip
    network = totals[totals["scope"] == "network"].iloc[0]
    assert network["call_list_customers"] == 3
    assert network["expected_value_saved"] == pytest.approx(295 + 245 + 195)
    assert network["do_not_call_customers"] == 1


def test_each_rm_list_is_ranked_on_its_own():
    # R2's customer saves the most of all: listed first network-wide, yet R1's ranks
    # still start at 1 and R2's list holds only R2's customer
    effects = ContactEffects(scores=pd.DataFrame(), ranking=RANKING_EFFECT, card={})
    frame = scores_frame()
    frame.loc[5, ["contact_effect", "value_saved"]] = [0.1, 795.0]
    lists = call_lists(frame, AS_OF, capacity=3, effects=effects)
    assert lists[("B1", "R2")]["customer_id"].tolist() == ["C6"]
    assert lists[("B1", "R2")]["rank"].tolist() == [1]
    r1 = lists[("B1", "R1")]
    assert r1["customer_id"].tolist() == ["C5", "C3", "C1", "C4"]
    assert r1["rank"].tolist()[:3] == [1, 2, 3]


def test_without_the_effect_the_lists_rank_by_value_at_risk():
    effects = ContactEffects(scores=None, ranking=RANKING_VALUE_AT_RISK, card={})
    frame = scores_frame().assign(contact_effect=np.nan, value_saved=np.nan, do_not_call=False)
    r1 = call_lists(frame, AS_OF, capacity=3, effects=effects)[("B1", "R1")]
    assert r1["customer_id"].tolist() == ["C4", "C3", "C1"]
    assert set(r1["action"]) == {CALL}


# --- history: treatment, leakage, and a bank without contacts --------------------------------


def test_the_treatment_is_a_contact_in_the_month_after_the_start():
    contacts = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D"],
            "rm_id": ["R"] * 4,
            "contact_date": pd.to_datetime(
                ["2026-07-31", "2026-08-01", "2026-08-31", "2026-09-01"]
            ),
        }
    )
    engine = connect_frames({"rm_contacts": contacts})
    assert contacted_after(engine, date(2026, 7, 31)) == {"B", "C"}


def test_a_bank_without_contact_history_falls_back_with_the_reason(settings):
    engine = connect_frames(
        {"balances": pd.DataFrame({"month_end": pd.to_datetime(["2024-01-31"])})}
    )
    plan = churn.ChurnPlan(date(2026, 4, 30), date(2026, 7, 31), AS_OF, ("aum",))
    features = pd.DataFrame({"customer_id": ["A"], "tier": ["mass"], "digital_enrolled": [True]})
    got = plan_effect(engine, plan, features, settings)
    assert isinstance(got, Skipped) and "no contact history" in got.reason
    result = contact_effects(features, got, got, got, got, got, ("aum",), settings)
    assert result.scores is None and result.ranking == RANKING_VALUE_AT_RISK
    assert (
        result.card["status"] == "not_estimated" and "no contact history" in result.card["message"]
    )
    assert result.card["assumptions"] == ["no_unmeasured_confounding", "overlap"]


def test_a_segment_column_the_mart_lacks_is_named(settings):
    contacts = pd.DataFrame({"customer_id": ["A"], "contact_date": pd.to_datetime(["2026-08-01"])})
    engine = connect_frames({"rm_contacts": contacts})
    plan = churn.ChurnPlan(date(2026, 4, 30), date(2026, 7, 31), AS_OF, ("aum",))
    s = replace(settings, contact_effect=replace(settings.contact_effect, segments=("tier", "x")))
    got = plan_effect(engine, plan, pd.DataFrame({"customer_id": ["A"], "tier": ["mass"]}), s)
    assert isinstance(got, Skipped) and "'x'" in got.reason


def test_switched_off_nothing_is_estimated(settings):
    contacts = pd.DataFrame({"customer_id": ["A"], "contact_date": pd.to_datetime(["2026-08-01"])})
    engine = connect_frames({"rm_contacts": contacts})
    plan = churn.ChurnPlan(date(2026, 4, 30), date(2026, 7, 31), AS_OF, ("aum",))
    s = replace(settings, contact_effect=replace(settings.contact_effect, enabled=False))
    got = plan_effect(engine, plan, pd.DataFrame({"customer_id": ["A"]}), s)
    assert isinstance(got, SwitchedOff) and "contact_effect.enabled is false" in got.reason
