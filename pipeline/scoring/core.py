"""The score stage's computation: CLV, churn, value x risk, watchlists and the model card.

`score_period` runs SCORE_STEPS, which read top to bottom as the computation does:

1. the label windows: churn's (features at T-2h and T-h, labels after each) and the
   contact effect's earlier ones;
2. the contact effect: the DR-learner fitted on the stacked windows, twice;
3. CLV: the BTYD summaries at as-of and at the calibration end (one pass over the
   transactions), the fits and per-customer predictions, and their validation (none
   of these when no transactions model holds: the card says why);
4. drift: the previous month's key features (stored, or rebuilt) against this month's;
5. churn: the gradient boosting model and its baselines measured out of time, the
   model refitted on the latest window and applied at T, and why each customer is at
   risk;
6. each customer's monthly profit, and the value model's check out of time;
7. the contact effect's check out of time and each customer's effect;
8. the scores: features, CLV, churn and profit joined on customer_id, value at risk;
   the watchlists, call lists, RM books, branch figures and the model card.

Every step is a pure function of named values (pipeline.steps); the runner may run
independent ones side by side, which changes only the wall time. With workers, the
declared order is also the order ready steps start in, so the longest chain (the
contact effect's) comes first where the data flow allows.
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
from pipeline.periods import as_of_date, period_of, previous_period
from pipeline.scoring import churn
from pipeline.scoring import churn_model as cm
from pipeline.scoring.books import call_lists, rm_books, unassigned
from pipeline.scoring.calls import (
    ContactEffects,
    check_effect,
    contact_effects,
    fit_evaluation,
    fit_final,
)
from pipeline.scoring.card import SCORE_COLUMNS, build_card, value_card
from pipeline.scoring.closed_loop import closed_loop
from pipeline.scoring.clv import clv_scores
from pipeline.scoring.clv_fit import transactions_model
from pipeline.scoring.effect_data import effect_data, effect_windows, plan_effect
from pipeline.scoring.profit import MonthlyProfit, monthly_profit
from pipeline.scoring.reasons import with_silence
from pipeline.scoring.settings import ScoreSettings
from pipeline.scoring.summary import btyd_summaries, calibration_end
from pipeline.scoring.validation import validate_clv
from pipeline.scoring.value import customer_value, high_value, validate_value, value_at
from pipeline.scoring.value_risk import branch_scores, clv_deciles, quadrants, watchlists
from pipeline.steps import Skipped, Step, cores_per_worker, run_steps

# Columns of the features mart the scores carry.
CUSTOMER_COLUMNS = (
    "customer_id",
    "branch_id",
    "rm_id",
    "tier",
    "aum",
    "rfm_segment",
    "status",
    "days_since_rm_contact",
)
_ZERO_WHEN_CLOSED = ("p_alive", "expected_transactions", "btyd_clv")
BTYD_NAMES = {
    "frequency": "btyd_frequency",
    "recency": "btyd_recency",
    "T": "btyd_T",
    "clv": "btyd_clv",
}


@dataclass(frozen=True)
class ScoreResult:
    scores: pd.DataFrame
    branch_scores: pd.DataFrame
    card: dict[str, Any]
    watchlists: dict[str, pd.DataFrame]
    rm_books: pd.DataFrame
    call_lists: dict[tuple[str, str], pd.DataFrame]
    unassigned: dict[str, pd.DataFrame]


def summaries(engine: Engine, as_of: date, s: ScoreSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The BTYD summary at as_of, and the calibration one with holdout events."""
    return btyd_summaries(engine, as_of, calibration_end(as_of, s.clv.holdout_months), s.clv)


def previous_measures(
    engine: Engine, stored: pd.DataFrame | None, before: date, s: FeatureSettings, covered: bool
) -> pd.DataFrame:
    """The previous month's key features: the stored mart's, else rebuilt at `before` --
    unless the data start after it (`covered` False): no customers then (drift: nothing
    to compare with), not a month of zeros."""
    if stored is not None:
        return stored
    if not covered:
        return pd.DataFrame(columns=list(KEY_FEATURES))
    return customer_measures(engine, before, s, KEY_FEATURES)


def assemble(
    features: pd.DataFrame,
    clv: pd.DataFrame,
    churned: churn.ChurnResult,
    profit: MonthlyProfit,
    s: ScoreSettings,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One row per customer of the mart, by customer_id: the customer's columns, the
    BTYD model's (null outside its summary), churn's and band, the customer's value
    (pipeline.scoring.value), CLV decile, high value and quadrant; and the value
    model's notes. Closed customers get p_alive, expected_transactions and CLV 0 (where a
    transactions model holds: else these are null for everyone) and churn_probability 1
    (observed, not modelled)."""
    base = features[list(CUSTOMER_COLUMNS)].copy()
    base["customer_id"] = base["customer_id"].astype(str)
    part = clv.rename(columns=BTYD_NAMES).drop(columns="monetary_value")
    part["customer_id"] = part["customer_id"].astype(str)
    out = join_on_key(base, part, "features and CLV")
    out = join_on_key(out, churned.scores, "features and churn")
    out.insert(out.columns.get_loc("btyd_frequency"), "in_btyd", out["btyd_frequency"].notna())
    closed = (out["status"] == "closed").to_numpy()
    if out["in_btyd"].any():  # a transactions model held
        for col in _ZERO_WHEN_CLOSED:
            out.loc[closed, col] = 0.0
    prob = out["churn_probability"].to_numpy(dtype=float)
    if np.isfinite(prob).any():
        prob = np.where(closed, 1.0, prob)
    out["churn_probability"] = prob
    out["churn_band"] = cm.bands(prob, s.churn.medium, s.churn.high)
    # where risk is 1 - P(alive) (no churn score), the BTYD silence says why
    rhythm = (out["status"] == "active").to_numpy() & np.isnan(prob) & out["in_btyd"].to_numpy()
    out["reason_codes"] = with_silence(
        out["reason_codes"],
        out["btyd_frequency"].to_numpy(dtype=float),
        out["btyd_recency"].to_numpy(dtype=float),
        out["btyd_T"].to_numpy(dtype=float),
        rhythm,
        s.clv.time_unit,
    )
    value, notes = customer_value(out, profit, s.churn.horizon_months, s.value)
    out = pd.concat([out, value], axis=1)
    out["clv_decile"] = clv_deciles(out["clv"])
    active = (out["status"] == "active").to_numpy()
    out["high_value"] = high_value(out["clv"], active, s.high_value_share)
    out["value_risk_quadrant"] = quadrants(out, s.churn.high)
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True), notes


def with_effects(scored: pd.DataFrame, effects: ContactEffects, s: ScoreSettings) -> pd.DataFrame:
    """The scores with each customer's contact effect and propensity (null when the
    effect does not rank the lists) and the value a contact saves: effect x CLV less
    contact_effect.contact_cost, for active customers with an effect."""
    if effects.scores is None:
        return scored.assign(
            contact_effect=np.nan, contact_propensity=np.nan, value_saved=np.nan, do_not_call=False
        )
    out = join_on_key(scored, effects.scores, "scores and contact effects")
    active = (out["status"] == "active").to_numpy()
    effect = np.where(active, out["contact_effect"].to_numpy(dtype=float), np.nan)
    out["contact_effect"] = effect
    out["value_saved"] = effect * out["clv"].to_numpy(dtype=float) - s.contact_effect.contact_cost
    out["do_not_call"] = out["do_not_call"].to_numpy(dtype=bool) & active
    return out


def value_at_test_start(
    profit: MonthlyProfit, test_rows: np.ndarray, model_on_test: np.ndarray, s: ScoreSettings
) -> np.ndarray:
    """The test window's customers' value as seen at its start (pipeline.scoring.value
    value_at, with the churn model trained before then)."""
    h = s.churn.horizon_months
    return value_at(profit, test_rows, model_on_test, h, h, s.value)


def scores_table(
    scored: pd.DataFrame, period: str, calls: dict[tuple[str, str], pd.DataFrame]
) -> pd.DataFrame:
    """customer_scores.parquet: the period, then SCORE_COLUMNS -- the last two from the
    call lists: call_action ("call", "do not call" or null) and call_rank."""
    listed = pd.concat(list(calls.values())) if calls else None
    if listed is None or not len(listed):
        out = scored.assign(call_action=None, call_rank=pd.array([pd.NA] * len(scored), "Int64"))
    else:
        part = listed[["customer_id", "action", "rank"]].rename(
            columns={"action": "call_action", "rank": "call_rank"}
        )
        part = part.assign(customer_id=part["customer_id"].astype(str))
        out = scored.merge(part, on="customer_id", how="left", validate="one_to_one")
    return out.assign(period=period)[["period", *SCORE_COLUMNS]]


def card(
    period: str,
    as_of: date,
    clv_card: dict[str, Any],
    validation: dict[str, Any],
    churned: churn.ChurnResult,
    scored: pd.DataFrame,
    value_notes: dict[str, Any],
    value_check: dict[str, Any],
    s: ScoreSettings,
    drift: dict[str, Any],
    effects: ContactEffects,
    loop: list[dict[str, Any]],
) -> dict[str, Any]:
    value = value_card(scored, value_notes, value_check, s)
    effect = {**effects.card, "closed_loop": loop}
    return build_card(
        period, as_of, clv_card, validation, churned.card, value, scored, s, drift, effect
    )


def profit_months(s: ScoreSettings) -> int:
    """Months of profit the value model reads: the run rate now, and for its check at
    T0 = churn.horizon_months back, the months since T0, the run rate and the last
    horizon's profit at T0."""
    h, r = s.churn.horizon_months, s.value.run_rate_months
    return max(r, h + max(h, r))


def check_value(
    profit: MonthlyProfit,
    test_rows: np.ndarray,
    model_on_test: np.ndarray,
    train_y: np.ndarray,
    s: ScoreSettings,
) -> dict[str, Any]:
    """The value model's check out of time (pipeline.scoring.value.validate_value) on the
    churn model's test window, with the train-window model's probabilities at its start
    and the train window's retention for the naive baseline."""
    retention = 1.0 - float(np.mean(train_y))
    return validate_value(
        profit, test_rows, model_on_test, retention, s.churn.horizon_months, s.value
    )


def value_check_section(check: dict[str, Any] | Skipped) -> dict[str, Any]:
    """The card's value validation, or why it could not run (no churn model)."""
    if isinstance(check, Skipped):
        return {
            "status": "not_run",
            "verdict": None,
            "warning": f"value validation not possible without a churn model: {check.reason}",
        }
    return check


# Thread limits of the model steps (threadpoolctl): gradient boosting on `model_threads`
# OpenMP threads (a worker's share of the cores, one for a small bank); BLAS (the
# logistic baseline) on one, since its sums -- and so the card's last digits -- would
# depend on the thread count; permutation importance's small predicts on one.
MODEL = {"openmp": "model_threads"}
ONE_BLAS = {"blas": 1}
# The contact effect's two fits are ready together and run side by side on a share of the
# cores each: with every core each (oversubscribed) the pair took 10-20% longer at 1M.
SHARED_CORES = {"openmp": "pair_threads"}
# fmt: off
SCORE_STEPS = (
    # With workers, a step starts when its inputs exist and a worker is free, the earliest
    # declared first: the contact effect's chain (a year of feature marts, then two fits)
    # is the longest, so its steps come first where the data flow allows.
    # 1. the label windows: churn's two (features at T - 2h and T - h, outcomes after) and
    #    the contact effect's earlier ones (who was contacted, and what followed)
    Step("plan", churn.plan_windows, ("features", "as_of", "churn_settings")),
    Step("history", churn.check_history, ("engine", "plan")),
    Step("effect_plan", plan_effect, ("engine", "history", "features", "settings"),
         takes_skipped=True),
    Step("effect_windows", effect_windows,
         ("engine", "effect_plan", "history", "settings", "windows")),
    Step("train_window", churn.train_window, ("engine", "history", "settings", "windows")),
    Step("test_window", churn.evaluation_window, ("engine", "history", "settings", "windows")),
    Step("labelled", churn.labelled_counts, ("train_window", "test_window")),
    Step("usable", churn.usable_windows, ("train_window", "test_window", "churn_settings"),
         outputs=("train_X", "train_y", "test_X", "test_y", "test_ids", "usable_columns")),
    # 2. the effect of an RM's contact: the DR-learner fitted twice on the stacked windows
    #    (to check it out of time, and on the latest windows); its check in 7
    Step("effect_data", effect_data,
         ("engine", "effect_plan", "effect_windows", "train_window", "test_window",
          "usable_columns")),
    Step("effect_evaluation", fit_evaluation, ("effect_data", "effect_settings"),
         limits=SHARED_CORES),
    Step("effect_final", fit_final, ("effect_data", "effect_settings"), limits=SHARED_CORES),
    # 3. CLV of the customers' own transactions (BTYD) and its check on a holdout
    Step("summaries", summaries, ("engine", "as_of", "settings"),
         outputs=("btyd_summary", "calibration")),
    Step("transactions_model", transactions_model, ("btyd_summary", "clv_settings")),
    Step("clv", clv_scores,
         ("engine", "btyd_summary", "transactions_model", "as_of", "clv_settings"),
         outputs=("clv", "clv_card"), takes_skipped=True),
    Step("clv_validation", validate_clv,
         ("as_of", "clv_settings", "calibration", "transactions_model"), takes_skipped=True),
    # 4. drift of the key features since the previous month
    Step("previous_measures", previous_measures,
         ("engine", "previous_features", "previous_as_of", "feature_settings",
          "previous_covered")),
    Step("feature_drift", feature_drift, ("previous_measures", "features")),
    # 5. churn: the model against its baselines out of time, the scores, reasons
    Step("train_model", cm.fit_gradient_boosting,
         ("train_X", "train_y", "random_state", "max_training_rows"), limits=MODEL),
    Step("model_on_test", cm.predict, ("train_model", "test_X"), limits={**MODEL, **ONE_BLAS}),
    Step("baseline_on_test", cm.baseline_probabilities,
         ("train_X", "train_y", "test_X", "random_state", "max_training_rows"), limits=ONE_BLAS),
    Step("simple_rule", cm.choose_rule, ("train_X", "train_y")),
    Step("rule_on_test", cm.rule_scores, ("train_X", "train_y", "test_X", "simple_rule"),
         outputs=("rule_score", "rule_probability")),
    Step("metrics_model", cm.classification_metrics, ("test_y", "model_on_test", "model_on_test")),
    Step("metrics_baseline", cm.classification_metrics,
         ("test_y", "baseline_on_test", "baseline_on_test")),
    Step("metrics_rule", cm.classification_metrics, ("test_y", "rule_score", "rule_probability")),
    Step("metrics", churn.churn_metrics, ("metrics_model", "metrics_baseline", "metrics_rule")),
    Step("final_model", cm.fit_gradient_boosting,
         ("test_X", "test_y", "random_state", "max_training_rows"), limits=MODEL),
    Step("importance_rows", cm.importance_sample, ("test_X", "test_y", "random_state"),
         outputs=("importance_X", "importance_y")),
    Step("direction_rows", cm.direction_sample, ("test_X", "test_y", "random_state"),
         outputs=("direction_X", "direction_y")),
    Step("drivers", cm.top_drivers,
         ("train_model", "importance_X", "importance_y", "random_state"), limits={"openmp": 1}),
    Step("directions", cm.risk_directions, ("direction_X", "direction_y")),
    Step("scoring_matrix", churn.scoring_matrix, ("features", "usable_columns", "settings")),
    Step("probability", cm.predict, ("final_model", "scoring_matrix"),
         limits={**MODEL, **ONE_BLAS}),
    Step("reason_features", churn.reason_features, ("drivers",)),
    Step("reasons", cm.top_reasons,
         ("scoring_matrix", "features", "reason_features", "directions")),
    Step("churn", churn.churn_result,
         ("features", "plan", "labelled", "usable_columns", "metrics", "simple_rule", "drivers",
          "directions", "probability", "reasons", "settings"), takes_skipped=True),
    # 6. what each customer earns the bank, and the value model's check out of time
    Step("profit", monthly_profit, ("engine", "as_of", "profit_months", "value_settings")),
    # the test window's customers' rows of profit, looked up once for both checks below
    Step("test_rows", MonthlyProfit.rows, ("profit", "test_ids")),
    Step("value_check", check_value,
         ("profit", "test_rows", "model_on_test", "train_y", "settings")),
    Step("value_check_section", value_check_section, ("value_check",), takes_skipped=True),
    # 7. the contact effect's check out of time, and each customer's effect
    Step("value_at_test_start", value_at_test_start,
         ("profit", "test_rows", "model_on_test", "settings")),
    Step("effect_check", check_effect,
         ("effect_evaluation", "effect_final", "effect_data", "value_at_test_start",
          "model_on_test", "effect_settings"), limits=MODEL),
    Step("contact_effects", contact_effects,
         ("features", "effect_plan", "effect_data", "effect_evaluation", "effect_final",
          "effect_check", "usable_columns", "settings"), takes_skipped=True, limits=MODEL),
    # 8. the scores, the lists a branch acts on, branch figures and the model card
    Step("valued", assemble, ("features", "clv", "churn", "profit", "settings"),
         outputs=("valued", "value_notes")),
    Step("scored", with_effects, ("valued", "contact_effects", "settings")),
    Step("call_lists", call_lists, ("scored", "as_of", "rm_monthly_calls", "contact_effects")),
    Step("scores", scores_table, ("scored", "period", "call_lists")),
    Step("watchlists", watchlists, ("scored", "as_of", "watchlist_size")),
    Step("unassigned", unassigned, ("scored", "as_of", "rm_tiers")),
    Step("rm_books", rm_books, ("scored", "call_lists", "tier_names", "rm_contact_days", "period")),
    Step("branch_scores", branch_scores, ("scores", "period", "call_lists")),
    Step("drift", drift_section, ("previous_period", "feature_drift", "previous_scores", "scores")),
    Step("closed_loop", closed_loop, ("engine", "previous_lists", "period", "churn_settings")),
    Step("card", card,
         ("period", "as_of", "clv_card", "clv_validation", "churn", "scored", "value_notes",
          "value_check_section", "settings", "drift", "contact_effects", "closed_loop")),
)
# fmt: on


def score_period(
    engine: Engine,
    features: pd.DataFrame,
    period: str,
    s: ScoreSettings,
    previous_scores: pd.DataFrame | None = None,
    previous_features: pd.DataFrame | None = None,
    workers: int = 1,
    previous_lists: dict[str, pd.DataFrame | None] | None = None,
    windows: churn.WindowSource = churn.window,
    first_day: date | None = None,
) -> ScoreResult:
    """Scores, model card and watchlists for `period` from its features mart.

    The card's drift section compares features with the previous period's mart
    (`previous_features`, the one its scores came from; drift's columns are enough;
    None: those columns rebuilt at the previous month end) and scores with
    `previous_scores` (None: the previous period not scored). `windows` builds the label
    windows (churn.window) or gives them back from an earlier month's run on the same
    tables (the stage edge's pipeline.scoring.window_store). `workers` > 1 runs
    independent steps side by side (the engine must then give cursors that see its
    tables: pipeline.engine's connect and connect_frames do). `first_day`: the data's
    first transaction day (None: not known), before whose month no month is compared.
    """
    before = previous_period(period)
    given = {
        "engine": engine,
        "features": features,
        "period": period,
        "as_of": as_of_date(period),
        "previous_period": before,
        "previous_as_of": as_of_date(before),
        "previous_covered": first_day is None or period_of(first_day) <= before,
        "previous_features": previous_features,
        "previous_scores": previous_scores,
        "previous_lists": previous_lists or {},
        "windows": windows,
        "settings": s,
        "clv_settings": s.clv,
        "churn_settings": s.churn,
        "feature_settings": s.features,
        "random_state": s.churn.random_state,
        "max_training_rows": s.churn.max_training_rows,
        "watchlist_size": s.watchlist_size,
        "rm_monthly_calls": s.rm_monthly_calls,
        "rm_tiers": s.rm_tiers,
        "tier_names": s.tier_names,
        "rm_contact_days": s.rm_contact_days,
        "value_settings": s.value,
        "effect_settings": s.contact_effect,
        "profit_months": profit_months(s),
        "model_threads": churn.model_threads(len(features), cores_per_worker(workers)),
        "pair_threads": cores_per_worker(workers),
    }
    keep = ("scores", "branch_scores", "card", "watchlists", "rm_books", "call_lists", "unassigned")
    out = run_steps(SCORE_STEPS, given, keep, workers)
    return ScoreResult(*(out[k] for k in keep))
