"""The score stage's computation: CLV, churn, value x risk, watchlists and the model card.

`score_period` runs SCORE_STEPS, which read top to bottom as the computation does:

1. CLV: the BTYD summaries at as-of and at the calibration end (one pass over the
   transactions), the fits and per-customer predictions, and their validation;
2. drift: the previous month's key features (stored, or rebuilt) against this month's;
3. churn: the windows (features at T-2h and T-h, labels after each), the gradient
   boosting model and its two baselines measured out of time, the model refitted on the
   latest window and applied at T, and why each customer is at risk;
4. the scores: features, CLV and churn joined on customer_id, each customer's band,
   CLV decile and value x risk quadrant; the watchlists and the model card.

Every step is a pure function of named values (pipeline.steps); the runner may run
independent ones side by side, which changes only the wall time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from pipeline.drift import KEY_FEATURES, drift_section, feature_drift
from pipeline.engine import Engine
from pipeline.features.core import customer_measures
from pipeline.features.settings import FeatureSettings
from pipeline.keys import join_on_key
from pipeline.periods import as_of_date, previous_period
from pipeline.scoring import churn
from pipeline.scoring import churn_model as cm
from pipeline.scoring.card import SCORE_COLUMNS, build_card
from pipeline.scoring.clv import score_clv
from pipeline.scoring.settings import ScoreSettings
from pipeline.scoring.summary import btyd_summaries, calibration_end
from pipeline.scoring.validation import validate_clv
from pipeline.scoring.value_risk import branch_scores, clv_deciles, quadrants, watchlists
from pipeline.steps import Step, run_steps

# Columns of the features mart the scores carry.
CUSTOMER_COLUMNS = (
    "customer_id",
    "branch_id",
    "rm_id",
    "tier",
    "rfm_segment",
    "status",
    "days_since_rm_contact",
)
_ZERO_WHEN_CLOSED = ("p_alive", "expected_transactions", "clv")
BTYD_NAMES = {"frequency": "btyd_frequency", "recency": "btyd_recency", "T": "btyd_T"}


@dataclass(frozen=True)
class ScoreResult:
    scores: pd.DataFrame
    branch_scores: pd.DataFrame
    card: dict[str, Any]
    watchlists: dict[str, pd.DataFrame]


def summaries(engine: Engine, as_of: date, s: ScoreSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The BTYD summary at as_of, and the calibration one with holdout events."""
    return btyd_summaries(engine, as_of, calibration_end(as_of, s.clv.holdout_months), s.clv)


def previous_measures(
    engine: Engine, stored: pd.DataFrame | None, before: date, s: FeatureSettings
) -> pd.DataFrame:
    """The previous month's key features: the stored mart's, else rebuilt at `before`."""
    return stored if stored is not None else customer_measures(engine, before, s, KEY_FEATURES)


def assemble(
    features: pd.DataFrame, clv: pd.DataFrame, churned: churn.ChurnResult, s: ScoreSettings
) -> pd.DataFrame:
    """One row per customer of the mart, by customer_id: the customer's columns, CLV's
    (null outside the BTYD summary), churn's, band, decile and quadrant. Closed
    customers get p_alive, expected_transactions and clv 0 and churn_probability 1
    (observed, not modelled)."""
    base = features[list(CUSTOMER_COLUMNS)].copy()
    base["customer_id"] = base["customer_id"].astype(str)
    part = clv.rename(columns=BTYD_NAMES).drop(columns="monetary_value")
    part["customer_id"] = part["customer_id"].astype(str)
    out = join_on_key(base, part, "features and CLV")
    out = join_on_key(out, churned.scores, "features and churn")
    out.insert(out.columns.get_loc("btyd_frequency"), "in_btyd", out["btyd_frequency"].notna())
    closed = (out["status"] == "closed").to_numpy()
    for col in _ZERO_WHEN_CLOSED:
        out.loc[closed, col] = 0.0
    prob = out["churn_probability"].to_numpy(dtype=float)
    if np.isfinite(prob).any():
        prob = np.where(closed, 1.0, prob)
    out["churn_probability"] = prob
    out["churn_band"] = cm.bands(prob, s.churn.medium, s.churn.high)
    out["clv_decile"] = clv_deciles(out["clv"])
    out["value_risk_quadrant"] = quadrants(out, s.high_value_decile, s.churn.high)
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def scores_table(scored: pd.DataFrame, period: str) -> pd.DataFrame:
    """customer_scores.parquet: the period, then SCORE_COLUMNS."""
    return scored.assign(period=period)[["period", *SCORE_COLUMNS]]


def card(
    period: str,
    as_of: date,
    clv_card: dict[str, Any],
    validation: dict[str, Any],
    churned: churn.ChurnResult,
    scores: pd.DataFrame,
    s: ScoreSettings,
    drift: dict[str, Any],
) -> dict[str, Any]:
    return build_card(period, as_of, clv_card, validation, churned.card, scores, s, drift)


# Thread limits of the model steps (threadpoolctl): gradient boosting on `model_threads`
# OpenMP threads; BLAS (the logistic baseline) on one, since its sums -- and so the
# card's last digits -- would depend on the thread count; permutation importance's
# small predicts on one.
MODEL = {"openmp": "model_threads"}
ONE_BLAS = {"blas": 1}
SCORE_STEPS = (
    # 1. CLV
    Step(
        "summaries",
        summaries,
        ("engine", "as_of", "settings"),
        outputs=("btyd_summary", "calibration"),
    ),
    Step(
        "clv",
        score_clv,
        ("engine", "btyd_summary", "as_of", "clv_settings"),
        outputs=("clv", "clv_card"),
    ),
    Step("clv_validation", validate_clv, ("as_of", "clv_settings", "calibration")),
    # 2. drift of the features
    Step(
        "previous_measures",
        previous_measures,
        ("engine", "previous_features", "previous_as_of", "feature_settings"),
    ),
    Step("feature_drift", feature_drift, ("previous_measures", "features")),
    # 3. churn
    Step("plan", churn.plan_windows, ("features", "as_of", "churn_settings")),
    Step("history", churn.check_history, ("engine", "plan")),
    Step("train_window", churn.train_window, ("engine", "history", "settings")),
    Step("test_window", churn.evaluation_window, ("engine", "history", "settings")),
    Step("labelled", churn.labelled_counts, ("train_window", "test_window")),
    Step(
        "usable",
        churn.usable_windows,
        ("train_window", "test_window", "churn_settings"),
        outputs=("train_X", "train_y", "test_X", "test_y", "usable_columns"),
    ),
    Step(
        "train_model",
        cm.fit_gradient_boosting,
        ("train_X", "train_y", "random_state", "max_training_rows"),
        limits=MODEL,
    ),
    Step("model_on_test", cm.predict, ("train_model", "test_X"), limits={**MODEL, **ONE_BLAS}),
    Step(
        "baseline_on_test",
        cm.baseline_probabilities,
        ("train_X", "train_y", "test_X", "random_state", "max_training_rows"),
        limits=ONE_BLAS,
    ),
    Step(
        "rule_on_test",
        cm.rule_scores,
        ("train_X", "train_y", "test_X"),
        outputs=("rule_score", "rule_probability"),
    ),
    Step("metrics_model", cm.classification_metrics, ("test_y", "model_on_test", "model_on_test")),
    Step(
        "metrics_baseline",
        cm.classification_metrics,
        ("test_y", "baseline_on_test", "baseline_on_test"),
    ),
    Step("metrics_rule", cm.classification_metrics, ("test_y", "rule_score", "rule_probability")),
    Step("metrics", churn.churn_metrics, ("metrics_model", "metrics_baseline", "metrics_rule")),
    Step(
        "final_model",
        cm.fit_gradient_boosting,
        ("test_X", "test_y", "random_state", "max_training_rows"),
        limits=MODEL,
    ),
    Step(
        "importance_rows",
        cm.importance_sample,
        ("test_X", "test_y", "random_state"),
        outputs=("importance_X", "importance_y"),
    ),
    Step(
        "direction_rows",
        cm.direction_sample,
        ("test_X", "test_y", "random_state"),
        outputs=("direction_X", "direction_y"),
    ),
    Step(
        "drivers",
        cm.top_drivers,
        ("train_model", "importance_X", "importance_y", "random_state"),
        limits={"openmp": 1},
    ),
    Step("directions", cm.risk_directions, ("direction_X", "direction_y")),
    Step("scoring_matrix", churn.scoring_matrix, ("features", "usable_columns", "settings")),
    Step(
        "probability", cm.predict, ("final_model", "scoring_matrix"), limits={**MODEL, **ONE_BLAS}
    ),
    Step("reason_features", churn.reason_features, ("drivers",)),
    Step(
        "reasons",
        cm.top_reasons,
        ("scoring_matrix", "features", "reason_features", "directions", "locale"),
    ),
    Step(
        "churn",
        churn.churn_result,
        (
            "features",
            "plan",
            "labelled",
            "usable_columns",
            "metrics",
            "drivers",
            "directions",
            "probability",
            "reasons",
            "settings",
        ),
        takes_skipped=True,
    ),
    # 4. scores, watchlists, card
    Step("scored", assemble, ("features", "clv", "churn", "settings")),
    Step("scores", scores_table, ("scored", "period")),
    Step("watchlists", watchlists, ("scored", "as_of", "watchlist_size")),
    Step("branch_scores", branch_scores, ("scores", "period")),
    Step("drift", drift_section, ("previous_period", "feature_drift", "previous_scores", "scores")),
    Step(
        "card",
        card,
        ("period", "as_of", "clv_card", "clv_validation", "churn", "scores", "settings", "drift"),
    ),
)


def score_period(
    engine: Engine,
    features: pd.DataFrame,
    period: str,
    s: ScoreSettings,
    previous_scores: pd.DataFrame | None = None,
    previous_features: pd.DataFrame | None = None,
    workers: int = 1,
) -> ScoreResult:
    """Scores, model card and watchlists for `period` from its features mart.

    The card's drift section compares features with the previous period's mart
    (`previous_features`, the one its scores came from; drift's columns are enough;
    None: those columns rebuilt at the previous month end) and scores with
    `previous_scores` (None: the previous period not scored). `workers` > 1 runs
    independent steps side by side (the engine must then give cursors that see its
    tables: pipeline.engine's connect and connect_frames do).
    """
    before = previous_period(period)
    given = {
        "engine": engine,
        "features": features,
        "period": period,
        "as_of": as_of_date(period),
        "previous_period": before,
        "previous_as_of": as_of_date(before),
        "previous_features": previous_features,
        "previous_scores": previous_scores,
        "settings": s,
        "clv_settings": s.clv,
        "churn_settings": s.churn,
        "feature_settings": s.features,
        "random_state": s.churn.random_state,
        "max_training_rows": s.churn.max_training_rows,
        "watchlist_size": s.watchlist_size,
        "locale": s.locale,
        "model_threads": churn.model_threads(len(features)),
    }
    keep = ("scores", "branch_scores", "card", "watchlists")
    out = run_steps(SCORE_STEPS, given, keep, workers)
    return ScoreResult(*(out[k] for k in keep))
