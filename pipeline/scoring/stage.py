"""`crm score`: read the period's features and the canonical tables, score, and write
customer_scores.parquet, branch_scores.parquet, model_card.json and one
watchlist-<branch>.csv per branch, together (io.promote_on_success)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from pipeline.catalog import Catalog
from pipeline.drift import KEY_FEATURES, SCORE_MEASURES
from pipeline.engine import connect_engine
from pipeline.errors import InputError
from pipeline.io import (
    promote_on_success,
    read_parquet,
    remove_unwritten,
    write_csv,
    write_json,
    write_parquet,
)
from pipeline.periods import previous_period
from pipeline.scoring.card import summary_text
from pipeline.scoring.core import score_period
from pipeline.scoring.settings import ScoreSettings

WORKERS = 2  # steps run side by side (pipeline.steps): the machine's two cores


def _stored(path: Path, columns: tuple[str, ...]) -> pd.DataFrame | None:
    """The `columns` a stored period's output has (None: no such output): drift compares
    no others, and at ten million customers the whole mart is gigabytes."""
    if not path.is_file():
        return None
    names = pq.read_schema(path).names
    return read_parquet(path, columns=[c for c in columns if c in names])


def run_score(cfg: dict[str, Any], catalog: Catalog, period: str) -> str:
    """Score the period and write its scores, model card and watchlists."""
    settings = ScoreSettings.from_config(cfg)
    path = catalog.customer_features(period)
    if not path.is_file():
        raise InputError(
            f"{path}: no customer features for {period}; run `crm features --period {period}` first"
        )
    features = read_parquet(path)
    before = previous_period(period)
    previous_scores = _stored(catalog.customer_scores(before), SCORE_MEASURES)
    previous_features = _stored(catalog.customer_features(before), KEY_FEATURES)
    engine = connect_engine(cfg, catalog.interim_dir)  # engine: duckdb | spark
    try:
        result = score_period(
            engine, features, period, settings, previous_scores, previous_features, WORKERS
        )
    finally:
        engine.close()
    with promote_on_success():
        write_parquet(result.scores, catalog.customer_scores(period))
        write_parquet(result.branch_scores, catalog.branch_scores(period))
        write_json(result.card, catalog.model_card(period))
        watchlists = [catalog.watchlist(period, branch) for branch in result.watchlists]
        for path, frame in zip(watchlists, result.watchlists.values(), strict=True):
            write_csv(frame, path)
        # a branch that is gone (merged, renamed) leaves no watchlist of an older run
        remove_unwritten(catalog.processed_dir(period), ("watchlist-*.csv",), watchlists)
    return summary_text(result.card, len(result.watchlists))
