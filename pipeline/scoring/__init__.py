"""The score stage: CLV and P(alive) (lifetimes), supervised churn, value x risk.

`run_score(cfg, catalog, period)` reads the period's features and the canonical tables
and writes customer_scores.parquet, model_card.json and one watchlist-<branch>.csv per
branch, together (io.promote_on_success). `score_period` is the pure computation.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pipeline.catalog import Catalog
from pipeline.drift import KEY_FEATURES, SCORE_MEASURES, drift_section, feature_drift
from pipeline.errors import InputError
from pipeline.io import promote_on_success, read_parquet, write_csv, write_json, write_parquet
from pipeline.periods import as_of_date, previous_period
from pipeline.scoring.card import SCORE_COLUMNS, build_card, summary_text
from pipeline.scoring.churn import score_churn
from pipeline.scoring.summary import btyd_summaries, btyd_summary, calibration_end
from pipeline.scoring.value_risk import clv_deciles, quadrants, watchlists
from pipeline.tables import connect_engine, on_cursor

__all__ = ["run_score", "score_period", "ScoreResult", "btyd_summary"]

_ZERO_WHEN_CLOSED = ("p_alive", "expected_transactions", "clv")


@dataclass(frozen=True)
class ScoreResult:
    scores: pd.DataFrame
    card: dict[str, Any]
    watchlists: dict[str, pd.DataFrame]


def score_period(
    con: duckdb.DuckDBPyConnection,
    features: pd.DataFrame,
    period: str,
    cfg: dict[str, Any],
    features_at: Callable[[duckdb.DuckDBPyConnection, date, dict], pd.DataFrame] | None = None,
    previous_scores: pd.DataFrame | None = None,
    previous_features: pd.DataFrame | None = None,
) -> ScoreResult:
    """Scores, model card and watchlists for `period` from its features mart.

    `features_at` builds the mart at earlier month ends for churn training (default: the
    features stage's compute_customer_features). Closed customers get p_alive,
    expected_transactions and clv 0 and churn_probability 1 (observed, not modelled).
    The card's drift section compares features with the previous period's mart
    (`previous_features`, the one its scores came from, drift's columns are enough; None:
    those columns rebuilt at the previous month end) and scores with `previous_scores`
    (None: the previous period not scored).
    Some of the work runs on other threads through `con.cursor()`, so the tables must be
    ones a cursor sees (tables.connect and connect_frames make them so).
    """
    if features_at is None:
        from pipeline.features import compute_customer_features as features_at
    as_of = as_of_date(period)
    before = previous_period(period)
    # CLV with its validation, then the features' drift (rebuilding the previous month's
    # measures when not stored) and CLV joined to the customers, run on a background
    # thread (queries on a cursor of its own) beside churn: their scans and fits fill
    # the core that churn's pandas and model work leaves idle.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="score-background") as pool:
        clv_job = pool.submit(on_cursor, con, _clv_and_validation, as_of, cfg)
        drift_job = pool.submit(
            _feature_drift, con, previous_features, features, as_of_date(before), cfg
        )
        base_job = pool.submit(_with_clv, features, clv_job)
        try:
            churn_scores, churn_card = score_churn(con, features, as_of, cfg, features_at)
        finally:  # CLV's error, if any, is the one reported, as when it ran first
            _, clv_card, validation = clv_job.result()
        features_drift, s = drift_job.result(), base_job.result()

    from pipeline.scoring.churn_model import bands  # scikit-learn: loaded by churn

    # churn's columns are per customer of `features`, in its order, as `s` is
    s["churn_probability"] = churn_scores["churn_probability"].to_numpy()
    s["top_reasons"] = churn_scores["top_reasons"].array
    s.insert(s.columns.get_loc("btyd_frequency"), "in_btyd", s["btyd_frequency"].notna())
    closed = (s["status"] == "closed").to_numpy()
    for col in _ZERO_WHEN_CLOSED:
        s.loc[closed, col] = 0.0
    prob = s["churn_probability"].to_numpy(dtype=float)
    if np.isfinite(prob).any():
        prob = np.where(closed, 1.0, prob)
    s["churn_probability"] = prob
    s["churn_band"] = bands(prob, cfg["churn"]["bands"]["medium"], cfg["churn"]["bands"]["high"])
    s["clv_decile"] = clv_deciles(s["clv"])
    s["value_risk_quadrant"] = quadrants(s, cfg)
    s = s.sort_values("customer_id", kind="stable").reset_index(drop=True)
    lists = watchlists(s, as_of, cfg)
    s.insert(0, "period", period)
    scores = s[["period", *SCORE_COLUMNS]]
    drift = drift_section(before, features_drift, previous_scores, scores)
    card = build_card(period, as_of, clv_card, validation, churn_card, scores, cfg, drift)
    return ScoreResult(scores, card, lists)


def _clv_and_validation(con, as_of: date, cfg: dict[str, Any]):
    """CLV and its validation, their summaries from one pass over the transactions."""
    c = cfg["clv"]
    cal_end = calibration_end(as_of, c["holdout_months"])
    summary, calibration = btyd_summaries(con, as_of, cal_end, c["time_unit"], cfg)
    # lifetimes (half a second to import) loads here, beside churn's first scans
    from pipeline.scoring.clv import score_clv
    from pipeline.scoring.validation import validate_clv

    clv_scores, clv_card = score_clv(con, as_of, cfg, summary)
    return clv_scores, clv_card, validate_clv(as_of, cfg, calibration)


def _feature_drift(
    con, previous: pd.DataFrame | None, features: pd.DataFrame, before: date, cfg: dict[str, Any]
) -> list[dict]:
    """Drift rows of the key features; the previous month's measures rebuilt at `before`
    (the previous month end) when no stored mart was given."""
    from pipeline.features import customer_measures

    if previous is None:
        previous = on_cursor(con, customer_measures, before, cfg, KEY_FEATURES)
    return feature_drift(previous, features)


def _with_clv(features: pd.DataFrame, clv_job: Future) -> pd.DataFrame:
    """The scores' customer columns from `features`, in its order, with CLV's joined."""
    base = features[
        [
            "customer_id",
            "branch_id",
            "rm_id",
            "tier",
            "rfm_segment",
            "status",
            "days_since_rm_contact",
        ]
    ].copy()
    base["customer_id"] = base["customer_id"].astype(str)
    clv_part = (
        clv_job.result()[0]
        .rename(columns={"frequency": "btyd_frequency", "recency": "btyd_recency", "T": "btyd_T"})
        .drop(columns="monetary_value")
    )
    clv_part["customer_id"] = clv_part["customer_id"].astype(str)
    return base.merge(clv_part, on="customer_id", how="left")  # keeps the left's order


def _stored(path: Path, columns: tuple[str, ...]) -> pd.DataFrame | None:
    """The `columns` a stored period's output has (None: no such output): drift compares
    no others, and at ten million customers the whole mart is gigabytes."""
    if not path.is_file():
        return None
    names = pq.read_schema(path).names
    return read_parquet(path, columns=[c for c in columns if c in names])


def run_score(cfg: dict[str, Any], catalog: Catalog, period: str) -> str:
    """`crm score`: read features and canonical tables, write scores, card, watchlists."""
    path = catalog.customer_features(period)
    if not path.is_file():
        raise InputError(
            f"{path}: no customer features for {period}; run `crm features --period {period}` first"
        )
    features = read_parquet(path)
    before = previous_period(period)
    previous_scores = _stored(catalog.customer_scores(before), SCORE_MEASURES)
    previous_features = _stored(catalog.customer_features(before), KEY_FEATURES)
    con = connect_engine(cfg, catalog)  # engine: duckdb | spark
    try:
        result = score_period(
            con,
            features,
            period,
            cfg,
            previous_scores=previous_scores,
            previous_features=previous_features,
        )
    finally:
        con.close()
    with promote_on_success():
        write_parquet(result.scores, catalog.customer_scores(period))
        write_json(result.card, catalog.model_card(period))
        for branch, frame in result.watchlists.items():
            write_csv(frame, catalog.watchlist(period, branch))
    return summary_text(result.card, len(result.watchlists))
