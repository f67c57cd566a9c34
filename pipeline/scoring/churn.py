"""Churn labels and the model matrix: the bank's churn definition, by month-end windows.

A label window is (start, end], both month ends. The population is every customer open
at `start` (the features mart at start, less those already closed in start's month).

- definition `closed`: churned when close_date falls in (start, end].
- definition `silent_attrition`: churned when AUM at the end snapshot (latest balance
  month end <= end; no balance row = 0) is at most (1 - churn.aum_drop_share) x AUM at
  start, and, when churn.inactive_in_window, no customer-initiated transaction falls in
  (start, end]. A customer without AUM at start cannot lose a share of it: not labelled
  (left out of training and evaluation, still scored).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from pipeline.schema import ASSET_PRODUCTS

PARALLEL_MIN_ROWS = 50_000  # customers scored from which model fits use every core

# Money columns go in on a signed log scale (monotone: trees are unaffected, the
# logistic baseline is not thrown by heavy tails).
MONEY_PREFIXES = ("aum", "liabilities", "monetary")
BASE_FEATURES = (
    "tenure_months",
    "age",
    "digital_enrolled",
    "aum",
    "liabilities",
    "products_held",
    "recency_days",
    "frequency",
    "monetary",
    "txn_count",
    "digital_share",
    "days_since_rm_contact",
    "dormant",
    "rfm_r",
    "rfm_f",
    "rfm_m",
)


def month_end(as_of: date, months_back: int) -> date:
    return (pd.Period(as_of, freq="M") - months_back).end_time.date()


def label_window(
    con: duckdb.DuckDBPyConnection,
    features_start: pd.DataFrame,
    start: date,
    end: date,
    cfg: dict[str, Any],
) -> pd.DataFrame:
    """customer_id, churned (bool) and row (the customer's position in `features_start`)
    for the labelled population of (start, end], by customer_id."""
    c = cfg["churn"]
    ids = features_start["customer_id"].astype(str)
    rows = np.flatnonzero((features_start["status"] != "closed").to_numpy())
    # ids go to the engine in Arrow and only labels and rows come back: a million ids as
    # Python strings each way cost most of a second
    pop = pa.table(
        {
            "customer_id": _arrow(ids).take(rows),
            "aum": features_start["aum"].to_numpy(dtype="float64")[rows],
            "row": rows,
        }
    )
    con.register("_churn_pop", pop)
    try:
        if c["definition"] == "closed":
            sql = """
                SELECT coalesce(c.close_date > ? AND c.close_date <= ?, FALSE) AS churned, p.row
                FROM _churn_pop p LEFT JOIN customers c USING (customer_id)
                ORDER BY p.customer_id
            """
            out = con.execute(sql, [start, end]).df()
        else:
            assets = ", ".join(f"'{p}'" for p in ASSET_PRODUCTS)
            sql = f"""
                WITH snap AS (SELECT max(month_end) AS m FROM balances WHERE month_end <= ?),
                end_aum AS (
                    SELECT customer_id, sum(balance) AS aum_end FROM balances
                    WHERE month_end = (SELECT m FROM snap) AND product IN ({assets})
                    GROUP BY customer_id
                ),
                active AS (
                    SELECT DISTINCT customer_id FROM transactions
                    WHERE customer_initiated AND txn_time >= ? AND txn_time < ?
                )
                SELECT coalesce(e.aum_end, 0) <= (1 - ?) * p.aum
                       AND (NOT ? OR a.customer_id IS NULL) AS churned, p.row
                FROM _churn_pop p
                LEFT JOIN end_aum e USING (customer_id)
                LEFT JOIN active a USING (customer_id)
                WHERE p.aum > 0
                ORDER BY p.customer_id
            """
            params = [
                end,
                start + timedelta(days=1),
                end + timedelta(days=1),
                float(c["aum_drop_share"]),
                bool(c["inactive_in_window"]),
            ]
            out = con.execute(sql, params).df()
    finally:
        con.unregister("_churn_pop")
    row = out["row"].to_numpy(dtype="int64")
    return pd.DataFrame(
        {
            "customer_id": ids.take(row).array,
            "churned": out["churned"].to_numpy(dtype=bool),
            "row": row,
        }
    )


def history_start(con: duckdb.DuckDBPyConnection) -> date | None:
    """The earliest balance month end: AUM-based labels need a snapshot at a window start."""
    first = con.execute("SELECT min(month_end) FROM balances").fetchone()[0]
    return None if first is None else pd.Timestamp(first).date()


def feature_columns(features: pd.DataFrame) -> list[str]:
    """Model inputs present in the mart: base columns, AUM changes, product flags."""
    cols = [c for c in BASE_FEATURES if c in features.columns]
    cols += sorted(c for c in features.columns if c.startswith("aum_change_"))
    cols += sorted(c for c in features.columns if c.startswith("has_"))
    return cols + ["gender_m", "tier_rank"]


def model_matrix(
    features: pd.DataFrame,
    columns: list[str],
    tier_names: list[str],
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """Float matrix (NaN = missing) of the model inputs for `features` (or its `rows`, by
    position), indexed from 0. Filled column by column into one array: no second copy."""
    n = len(features) if rows is None else len(rows)
    matrix = np.empty((n, len(columns)), dtype="float64", order="F")

    def values(name: str) -> pd.Series:
        col = features[name]
        return col if rows is None else col.take(rows)

    for j, col in enumerate(columns):
        if col == "gender_m":
            if "gender" in features:
                male = pc.equal(_arrow(values("gender")), "M")  # null stays null: NaN
                matrix[:, j] = male.cast(pa.float64()).to_numpy(zero_copy_only=False)
            else:
                matrix[:, j] = np.nan
        elif col == "tier_rank":
            matrix[:, j] = _position(values("tier"), tier_names)
        else:
            x = values(col).to_numpy(dtype="float64", na_value=np.nan)
            if col.startswith(MONEY_PREFIXES) and "pct" not in col:
                x = np.sign(x) * np.log1p(np.abs(x))
            matrix[:, j] = x
    return pd.DataFrame(matrix, columns=columns, copy=False)


def _arrow(text: pd.Series) -> pa.Array:
    """A text column as Arrow: pandas maps and comparisons over a million strings cost ten
    times what Arrow's kernels do."""
    return pa.array(text, type=pa.large_string(), from_pandas=True)


def _position(text: pd.Series, names: list[str]) -> np.ndarray:
    """Each value's 0-based position in `names` as floats, NaN when missing or not listed."""
    found = pc.index_in(_arrow(text), value_set=pa.array(names, pa.large_string()))
    return found.cast(pa.float64()).to_numpy(zero_copy_only=False)


def labelled_matrix(
    features: pd.DataFrame, labels: pd.DataFrame, columns: list[str], tier_names: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The labelled customers' features and labels: (X, y), in the labels' order (by
    customer_id). Rows are taken by position (label_window's `row`), not joined on text."""
    rows = labels["row"].to_numpy()
    return model_matrix(features, columns, tier_names, rows), labels["churned"].to_numpy(int)


def window_matrix(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    columns: list[str],
    tier_names: list[str],
    cfg: dict[str, Any],
    features_at,
) -> tuple[pd.DataFrame, np.ndarray]:
    """(X, y) of the label window (start, end]: features at start, labels on the window.
    The mart itself is dropped on return (at ten million customers it is gigabytes)."""
    features = features_at(con, start, cfg)
    labels = label_window(con, features, start, end, cfg)
    return labelled_matrix(features, labels, columns, tier_names)


# Without a supervised model, top reasons come from these (feature, risk direction).
FALLBACK_REASONS = {
    "recency_days": 1.0,
    "frequency": -1.0,
    "aum_change_pct_3m": -1.0,
    "days_since_rm_contact": 1.0,
}


def score_churn(
    con: duckdb.DuckDBPyConnection,
    features_now: pd.DataFrame,
    as_of: date,
    cfg: dict[str, Any],
    features_at,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """churn_probability and top_reasons per customer of `features_now`, and the card section.

    `features_at(con, as_of, cfg)` builds the features mart at an earlier month end (the
    features stage's compute_customer_features). Too little history or too few churners:
    churn_probability is null, the card says why, and reasons fall back to FALLBACK_REASONS.
    """
    from pipeline.scoring import churn_model as cm

    c = cfg["churn"]
    h, rs = c["horizon_months"], c["random_state"]
    test_start, train_start = month_end(as_of, h), month_end(as_of, 2 * h)
    tiers = [t["name"] for t in cfg["tiers"]]
    columns = feature_columns(features_now)
    section: dict[str, Any] = {
        "definition": c["definition"],
        "horizon_months": h,
        "aum_drop_share": c["aum_drop_share"] if c["definition"] == "silent_attrition" else None,
        "inactive_in_window": c["inactive_in_window"]
        if c["definition"] == "silent_attrition"
        else None,
        "windows": {
            "train": {
                "features_as_of": train_start.isoformat(),
                "outcome": f"({train_start.isoformat()}, {test_start.isoformat()}]",
            },
            "test": {
                "features_as_of": test_start.isoformat(),
                "outcome": f"({test_start.isoformat()}, {as_of.isoformat()}]",
            },
            "score": {
                "features_as_of": as_of.isoformat(),
                "model": "refitted on the test window (the latest labelled one)",
            },
        },
        "bands": dict(c["bands"]),
        "features": columns,
    }

    def without_model(reason: str) -> tuple[pd.DataFrame, dict[str, Any]]:
        section.update(status="no_model", message=reason, metrics=None, top_drivers=None)
        X_now = model_matrix(features_now, columns, tiers)
        cols = [f for f in FALLBACK_REASONS if f in X_now.columns]
        reasons = cm.top_reasons(X_now, features_now, cols, FALLBACK_REASONS, cfg["locale"])
        return _out(features_now, np.full(len(features_now), np.nan), reasons), section

    first = history_start(con)
    if first is None or first > train_start:
        return without_model(
            f"too little history for a supervised churn model: balances start "
            f"{first.isoformat() if first else 'nowhere'}, training needs a snapshot at "
            f"{train_start.isoformat()} (2 x churn.horizon_months before {as_of.isoformat()})"
        )
    X_tr, y_tr = window_matrix(con, train_start, test_start, columns, tiers, cfg, features_at)
    X_te, y_te = window_matrix(con, test_start, as_of, columns, tiers, cfg, features_at)
    section["labelled"] = {
        "train": {"customers": int(len(y_tr)), "churners": int(y_tr.sum())},
        "test": {"customers": int(len(y_te)), "churners": int(y_te.sum())},
    }
    section["max_training_rows"] = int(c["max_training_rows"])  # above it: a sample, odds corrected
    for name, y in (("train", y_tr), ("test", y_te)):
        if y.sum() < c["min_churners"] or (len(y) - y.sum()) < c["min_churners"]:
            return without_model(
                f"too few churners for a supervised churn model: {int(y.sum())} of {len(y)} "
                f"customers in the {name} window (churn.min_churners is {c['min_churners']})"
            )
    # A column with no value in a window (no rm_contacts table, say) carries nothing.
    usable = [col for col in columns if X_tr[col].notna().any() and X_te[col].notna().any()]
    if usable != columns:
        X_tr, X_te = X_tr[usable], X_te[usable]
    section["features"] = usable
    # Gradient boosting uses every core (waiting passively: see pipeline/__init__.py) from
    # PARALLEL_MIN_ROWS customers; below, and for permutation importance's 2,000-row
    # predicts, waking threads costs more than they give. Its results do not depend on
    # the thread count. BLAS (the logistic baseline) stays on one thread: its sums, and
    # so the card's last digits, would.
    # The scoring model (refitted on the test window) needs nothing evaluation computes:
    # it is fitted on a thread beside it, filling what evaluation's one-core steps (the
    # logistic baseline, the metrics) leave idle. OpenMP limits are per thread, so each
    # thread sets its own.
    threads = None if len(features_now) >= PARALLEL_MIN_ROWS else 1
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="churn-final") as pool:
        final_job = pool.submit(_fit_final, X_te, y_te, rs, c["max_training_rows"], threads)
        with threadpool_limits(limits=1, user_api="blas"):
            with threadpool_limits(limits=threads, user_api="openmp"):
                metrics, hgb = cm.evaluate(X_tr, y_tr, X_te, y_te, rs, c["max_training_rows"])
        del X_tr  # at ten million customers each matrix is gigabytes
        # Explaining needs only samples of the test window: with them taken, the window
        # is freed and the scoring matrix takes its place.
        importance = cm.importance_sample(X_te, y_te, rs)
        direction = cm.direction_sample(X_te, y_te, rs)
        del X_te
        X_now = model_matrix(features_now, usable, tiers)
        # The scores are predicted on the pool's thread with every core while this one
        # explains (permutation importance, risk directions, reasons: one core each).
        predict_job = pool.submit(_predict, final_job.result(), X_now, threads)
        with threadpool_limits(limits=1, user_api="openmp"):
            drivers = cm.top_drivers(hgb, *importance, rs)
        directions = cm.risk_directions(*direction)
        reason_cols = [d["feature"] for d in drivers[: cm.REASON_FEATURES] if d["importance"] > 0]
        reasons = cm.top_reasons(X_now, features_now, reason_cols, directions, cfg["locale"])
        prob = predict_job.result()
    auc, rule_auc = metrics["gradient_boosting"]["roc_auc"], metrics["recency_rule"]["roc_auc"]
    beats = auc > rule_auc
    section.update(
        status="ok",
        message=None,
        metrics=metrics,
        top_drivers=drivers,
        risk_directions=directions,
        model_beats_recency_rule=bool(beats),
        verdict=(
            f"gradient boosting {'beats' if beats else 'does NOT beat'} the recency rule out of "
            f"time (ROC-AUC {auc:.3f} vs {rule_auc:.3f})"
        ),
        warning=None
        if beats
        else (
            "The churn model did not beat the simple recency rule out of time: "
            "rank customers by days since last activity instead"
        ),
    )
    return _out(features_now, prob, reasons), section


def _fit_final(X: pd.DataFrame, y: np.ndarray, random_state: int, max_rows: int, threads):
    """The scoring model, fitted on a thread of its own with `threads` OpenMP threads."""
    from pipeline.scoring import churn_model as cm

    with threadpool_limits(limits=threads, user_api="openmp"):
        return cm.fit_gradient_boosting(X, y, random_state, max_rows)


def _predict(model, X: pd.DataFrame, threads) -> np.ndarray:
    """P(churn) per row of `X`, on a thread of its own with `threads` OpenMP threads."""
    with threadpool_limits(limits=1, user_api="blas"):
        with threadpool_limits(limits=threads, user_api="openmp"):
            return model.predict_proba(X)[:, 1]


def _out(features_now: pd.DataFrame, prob: np.ndarray, reasons) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": features_now["customer_id"].astype(str).array,
            "churn_probability": prob.astype(float),
            "top_reasons": reasons,
        }
    )
