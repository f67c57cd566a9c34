"""Training on a sample of a large window: every churner kept, the rest sampled and the
odds corrected back, so fits stay fast at a million customers and stay calibrated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.scoring.churn_model import (
    SampledFit,
    baseline_probabilities,
    choose_rule,
    classification_metrics,
    fit_gradient_boosting,
    fit_on_sample,
    predict,
    rule_scores,
    training_sample,
)


def test_small_windows_are_used_whole_and_unweighted() -> None:
    X = pd.DataFrame({"recency_days": [1.0, 2.0, 3.0]})
    y = np.array([0, 1, 0])
    Xs, ys, w = training_sample(X, y, max_rows=3, random_state=1)
    assert Xs is X and ys is y and w is None


def test_rare_churners_are_all_kept_and_stayers_weighted_back() -> None:
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    X = pd.DataFrame({"recency_days": np.arange(10.0)})
    Xs, ys, w = training_sample(X, y, max_rows=6, random_state=1)
    assert len(ys) == 6 and ys.sum() == 2
    assert list(Xs["recency_days"].iloc[[0, -1]]) == [0.0, 9.0]  # both churners, file order
    assert list(w[ys == 1]) == [1.0, 1.0]
    assert np.allclose(w[ys == 0], 8 / 4)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(20, 400),
    churn_share=st.floats(0.0, 0.9),
    cap=st.integers(4, 300),
    seed=st.integers(0, 10),
)
def test_weights_stand_for_the_whole_window(n, churn_share, cap, seed) -> None:
    y = (np.random.default_rng(seed).random(n) < churn_share).astype(int)
    X = pd.DataFrame({"x": np.arange(n, dtype=float)})
    Xs, ys, w = training_sample(X, y, cap, seed)
    if n <= cap:
        assert w is None and len(ys) == n
        return
    assert len(ys) == cap and Xs["x"].is_monotonic_increasing and Xs["x"].is_unique
    assert w.sum() == pytest.approx(n)  # the sample stands for every customer
    if y.sum() < cap // 2:
        assert ys.sum() == y.sum()  # no churner dropped
        assert (w * ys).sum() / w.sum() == pytest.approx(y.mean())  # churn rate kept


def test_a_cap_below_the_window_still_measures_every_model() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    recency = rng.exponential(30, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(recency - 90) / 10))).astype(int)  # ~6% churn
    X = pd.DataFrame({"recency_days": recency, "noise": rng.normal(size=n)})
    X_train, y_train, X_test, y_test = X[:2000], y[:2000], X[2000:], y[2000:]
    model = fit_gradient_boosting(X_train, y_train, 7, max_rows=500)
    p_model = predict(model, X_test)
    p_baseline = baseline_probabilities(X_train, y_train, X_test, 7, max_rows=500)
    choice = choose_rule(X_train, y_train)
    assert choice["rule"] == "recency" and choice["signs"] == {"recency_days": 1.0}
    rule, p_rule = rule_scores(X_train, y_train, X_test, choice)
    assert classification_metrics(y_test, p_model, p_model)["roc_auc"] > 0.8
    assert classification_metrics(y_test, p_baseline, p_baseline)["roc_auc"] > 0.8
    assert classification_metrics(y_test, rule, p_rule)["roc_auc"] > 0.8
    # Churners are a quarter of the 500-row sample but 6% of the window; the odds
    # correction keeps predictions at the window's rate (uncorrected: near 11%).
    assert p_model.mean() == pytest.approx(y_test.mean(), abs=0.01)


class _Constant:
    """A fitted 'model' that says the same probability for everyone."""

    def __init__(self, p: float) -> None:
        self.p = p

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return np.tile([1 - self.p, self.p], (len(X), 1))


def test_odds_are_corrected_by_the_stayers_sampling_rate() -> None:
    # 1 in 4 stayers kept: a sample probability of 0.5 (odds 1) is odds 1/4 in the window
    got = SampledFit(_Constant(0.5), 0.25).predict_proba(pd.DataFrame({"x": [0.0, 1.0]}))
    np.testing.assert_allclose(got, [[0.8, 0.2], [0.8, 0.2]])
    # the factor comes from training_sample: 2 churners kept, 4 of 8 stayers (1 in 2)
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    X = pd.DataFrame({"recency_days": np.arange(10.0)})
    assert fit_on_sample(_Constant(0.5), X, y, 1, max_rows=6).odds_factor == 0.5
    assert fit_on_sample(_Constant(0.5), X, y, 1, max_rows=10).odds_factor == 1.0


def test_predictions_in_chunks_are_the_whole_matrix_predictions(monkeypatch) -> None:
    import pipeline.scoring.churn_model as cm

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(503, 4)), columns=list("abcd"))
    y = (X["a"] + rng.normal(size=503) > 1).to_numpy(dtype=int)
    fit = fit_on_sample(cm.gradient_boosting(0), X, y, 0, 200)
    whole = fit.predict_proba(X)
    monkeypatch.setattr(cm, "PREDICT_ROWS", 50)  # eleven calls, the last of three rows
    np.testing.assert_array_equal(fit.predict_proba(X), whole)
    assert fit.predict_proba(X.iloc[:0]).shape == (0, 2)
