"""`crm score`: read the period's features and the canonical tables, score, and write
customer_scores.parquet, branch_scores.parquet, rm_books.parquet, model_card.json, one
watchlist-<branch>.csv and unassigned-<branch>.csv per branch and one
calls-<branch>-<rm>.csv per relationship manager, with Excel copies of the watchlists, the
call lists and the branch scores, together (io.promote_on_success)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from pipeline.catalog import BRANCH_LISTS, Catalog
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
from pipeline.names import shared_name
from pipeline.periods import as_of_date, previous_period
from pipeline.scoring.card import summary_text
from pipeline.scoring.closed_loop import LOOP_COLUMNS, list_periods
from pipeline.scoring.core import ScoreResult, score_period
from pipeline.scoring.settings import ScoreSettings
from pipeline.scoring.window_store import window_source
from pipeline.sheets import write_xlsx

WORKERS = 2  # steps run side by side (pipeline.steps): the machine's two cores
log = logging.getLogger(__name__)


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
    lists = {  # earlier call lists, for the closed loop
        earlier: _stored(catalog.customer_scores(earlier), LOOP_COLUMNS)
        for earlier in list_periods(period, settings.churn.horizon_months)
    }
    windows = window_source(cfg, catalog, settings, len(features))
    engine = connect_engine(cfg, catalog.interim_dir)  # engine: duckdb | spark
    try:
        result = score_period(
            engine,
            features,
            period,
            settings,
            previous_scores,
            previous_features,
            WORKERS,
            lists,
            windows,
            catalog.transaction_days()[0],
        )
    finally:
        engine.close()
    refuse_shared_list_names(catalog, period, result)
    with promote_on_success():
        write_parquet(result.scores, catalog.customer_scores(period))
        write_parquet(result.branch_scores, catalog.branch_scores(period))
        write_json(result.card, catalog.model_card(period))
        as_of = as_of_date(period)  # the Excel copies analysts open
        write_xlsx(
            result.branch_scores, catalog.workbook(period, "branch_scores"), "Branch scores", as_of
        )
        written = []
        for branch, frame in result.watchlists.items():
            path = write_csv(frame, catalog.watchlist(period, branch))
            sheet = f"Watchlist {branch}"
            written += [path, write_xlsx(frame, catalog.workbook(period, path.stem), sheet, as_of)]
        write_parquet(result.rm_books, catalog.rm_books(period))
        for (branch, rm), frame in result.call_lists.items():
            path = write_csv(frame, catalog.call_list(period, branch, rm))
            sheet = f"Calls {rm}"
            written += [path, write_xlsx(frame, catalog.workbook(period, path.stem), sheet, as_of)]
        for branch, frame in result.unassigned.items():
            written.append(write_csv(frame, catalog.unassigned_list(period, branch)))
        # a branch or an RM that is gone (merged, renamed, left) leaves no list of an
        # older run behind
        remove_unwritten(catalog.processed_dir(period), BRANCH_LISTS, written)
    for warning in result.card["warnings"]:
        log.warning(warning)
    return summary_text(result.card, len(result.watchlists))


def refuse_shared_list_names(catalog: Catalog, period: str, result: ScoreResult) -> None:
    """Stop before writing when two lists would be one file (names.shared_name): one
    would overwrite the other, and a branch's folder would hold another's customers."""
    named = {f"branch {b}'s watchlist": catalog.watchlist(period, b) for b in result.watchlists}
    named |= {
        f"branch {b}'s call list of RM {rm}": catalog.call_list(period, b, rm)
        for b, rm in result.call_lists
    }
    named |= {
        f"branch {b}'s unassigned list": catalog.unassigned_list(period, b)
        for b in result.unassigned
    }
    shared = shared_name({what: path.name for what, path in named.items()})
    if shared is not None:
        first, second, name = shared
        raise InputError(
            f"{first} and {second} would both be written as {name}: ids joined by '-' meet "
            "there, or differ only in case; rename one of the ids in the bank's exports (or "
            "narrow ingest.safe_id_pattern) and run ingest again"
        )
