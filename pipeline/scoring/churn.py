"""Churn labels and the model matrix: the bank's churn definition, by month-end windows.

The labels of a window (start, end] are pipeline.features.attrition's `label_window`
(the definition, `closed` or `silent_attrition`, is written there once: the features
stage counts the same outcome for the branches' attrition rate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.engine import Engine
from pipeline.features.attrition import end_snapshot, label_window
from pipeline.features.core import customer_features
from pipeline.periods import month_end
from pipeline.scoring import churn_model as cm
from pipeline.scoring.settings import ChurnSettings, ScoreSettings
from pipeline.steps import Skipped

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


def history_start(engine: Engine) -> date | None:
    """The earliest balance month end: AUM-based labels need a snapshot at a window start."""
    first = engine.rows("SELECT min(month_end) FROM balances")[0][0]
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


@dataclass(frozen=True)
class Window:
    """A label window's labelled customers (ids, sorted), their model inputs X (row i is
    customer i), labels y (1 = churned) and, for who they are beyond the model inputs,
    `context`: branch_id, tier and has_rm at the window's start (row i is customer i)."""

    ids: pd.Series
    X: pd.DataFrame
    y: np.ndarray
    context: pd.DataFrame


@dataclass(frozen=True)
class ChurnPlan:
    """The three windows of a period with as-of T and horizon h: train (features at
    T-2h, outcome on (T-2h, T-h]), test (features at T-h, outcome on (T-h, T]) and score
    (features at T, the model refitted on the test window)."""

    train_start: date
    test_start: date
    as_of: date
    columns: tuple[str, ...]  # the model inputs the period's mart offers


def plan_windows(features: pd.DataFrame, as_of: date, c: ChurnSettings) -> ChurnPlan:
    h = c.horizon_months
    return ChurnPlan(
        month_end(as_of, 2 * h), month_end(as_of, h), as_of, tuple(feature_columns(features))
    )


def check_history(engine: Engine, plan: ChurnPlan) -> ChurnPlan | Skipped:
    """The plan when the balances reach back to the train window's start and hold the
    snapshots its windows end on, else why not."""
    first = history_start(engine)
    if first is None:
        return Skipped(
            "no supervised churn model: the data hold no balances, and the churn windows "
            "start from balance snapshots (silent attrition is an AUM fall)"
        )
    if first > plan.train_start:
        return Skipped(
            f"too little history for a supervised churn model: balances start "
            f"{first.isoformat() if first else 'nowhere'}, training needs a snapshot at "
            f"{plan.train_start.isoformat()} (2 x churn.horizon_months before "
            f"{plan.as_of.isoformat()})"
        )
    missing = [d for d in (plan.test_start, plan.as_of) if not end_snapshot(engine, d)]
    if missing:
        return Skipped(
            f"no supervised churn model: the balances hold no snapshot at "
            f"{missing[0].isoformat()}, where a churn window ends (labels compare AUM there; "
            "an older snapshot would show nobody leaving): is a balances export missing?"
        )
    return plan


def window(engine: Engine, start: date, end: date, plan: ChurnPlan, s: ScoreSettings) -> Window:
    """The label window (start, end]: the mart at start, its labelled customers' inputs
    and labels. The mart itself is dropped on return (at ten million customers it is
    gigabytes)."""
    features = customer_features(engine, start, s.features)
    labels = label_window(engine, features, start, end, s.churn)
    X, y = labelled_matrix(features, labels, list(plan.columns), list(s.tier_names))
    rows = labels["row"].to_numpy()
    segments = s.contact_effect.segments
    return Window(
        labels["customer_id"].reset_index(drop=True), X, y, context(features, segments, rows)
    )


def context(
    features: pd.DataFrame, segments: tuple[str, ...] = (), rows: np.ndarray | None = None
) -> pd.DataFrame:
    """branch_id, tier, has_rm (an RM is assigned) and segment (the values of the mart's
    `segments` columns joined by " / "; "" without any) of the mart's customers (or its
    `rows`, by position), indexed from 0."""
    part = features if rows is None else features.take(rows)
    rm = part["rm_id"]
    segment = pd.Series("", index=part.index)
    for i, name in enumerate(c for c in segments if c in part.columns):
        text = part[name].astype("string").fillna("unknown")
        segment = text if i == 0 else segment + " / " + text
    return pd.DataFrame(
        {
            "branch_id": part["branch_id"].astype(str).to_numpy(),
            "tier": part["tier"].astype(str).to_numpy(),
            "has_rm": (rm.notna() & (rm.astype(str).str.strip() != "")).to_numpy(),
            "segment": segment.astype(str).to_numpy(),
        }
    )


WindowSource = Callable[[Engine, date, date, ChurnPlan, ScoreSettings], Window]


def train_window(
    engine: Engine, plan: ChurnPlan, s: ScoreSettings, windows: WindowSource = window
) -> Window:
    """The train window; `windows` builds it (window) or gives it back from an earlier
    run's store (the score edge's pipeline.scoring.window_store)."""
    return windows(engine, plan.train_start, plan.test_start, plan, s)


def evaluation_window(
    engine: Engine, plan: ChurnPlan, s: ScoreSettings, windows: WindowSource = window
) -> Window:
    """The test window: out of time, after the train window."""
    return windows(engine, plan.test_start, plan.as_of, plan, s)


def labelled_counts(train: Window, test: Window) -> dict[str, dict[str, int]]:
    return {
        name: {"customers": int(len(w.y)), "churners": int(w.y.sum())}
        for name, w in (("train", train), ("test", test))
    }


def usable_windows(train: Window, test: Window, c: ChurnSettings) -> tuple | Skipped:
    """(train X, train y, test X, test y, test ids, columns): both windows with the
    columns that hold a value in each (no rm_contacts table, say: its column carries
    nothing); or why no model can be fitted (too few churners, or stayers, in a window)."""
    for name, w in (("train", train), ("test", test)):
        churners = int(w.y.sum())
        if churners < c.min_churners or (len(w.y) - churners) < c.min_churners:
            return Skipped(
                f"too few churners for a supervised churn model: {churners} of {len(w.y)} "
                f"customers in the {name} window (churn.min_churners is {c.min_churners})"
            )
    columns = list(train.X.columns)
    usable = [col for col in columns if train.X[col].notna().any() and test.X[col].notna().any()]
    return train.X[usable], train.y, test.X[usable], test.y, test.ids, tuple(usable)


def scoring_matrix(
    features: pd.DataFrame, columns: tuple[str, ...], s: ScoreSettings
) -> pd.DataFrame:
    """The model inputs of every customer at as-of (row i is features' row i)."""
    return model_matrix(features, list(columns), list(s.tier_names))


# Without a supervised model, top reasons come from these (feature, risk direction).
FALLBACK_REASONS = {
    "recency_days": 1.0,
    "frequency": -1.0,
    "aum_change_pct_3m": -1.0,
    "days_since_rm_contact": 1.0,
}


def model_threads(customers: int, cores: int) -> int:
    """OpenMP threads for gradient boosting's fits and predictions: the `cores` a step may
    use (its share when steps run side by side: pipeline.steps.cores_per_worker) from
    PARALLEL_MIN_ROWS customers; below, one (waking threads costs more than they give).
    With every core for each model step, it and the step beside it oversubscribed them:
    at 1M on two cores, score took 57.9 s against 55.1 s with one thread each (the means
    of six runs, alternating). Its results do not depend on the thread count."""
    return cores if customers >= PARALLEL_MIN_ROWS else 1


PARALLEL_MIN_ROWS = 50_000


RULE_NAMES = {
    "recency": "days since the last own transaction",
    "aum_change_3m": "AUM change over 3 months",
    "recency_and_aum_change": "recency and AUM change combined",
}


def reason_features(drivers: list[dict]) -> list[str]:
    """The features reasons are chosen among: the strongest drivers that matter."""
    return [d["feature"] for d in drivers[: cm.REASON_FEATURES] if d["importance"] > 0]


def churn_metrics(gb: dict, lr: dict, rule: dict) -> dict[str, dict]:
    return {"gradient_boosting": gb, "logistic_regression": lr, "simple_rule": rule}


@dataclass(frozen=True)
class ChurnResult:
    """churn_probability and reason_codes per customer (keyed by customer_id) and the
    model card's churn section."""

    scores: pd.DataFrame
    card: dict


def churn_result(
    features: pd.DataFrame,
    plan: ChurnPlan,
    labelled: dict | Skipped,
    usable: tuple[str, ...] | Skipped,
    metrics: dict | Skipped,
    rule: dict | Skipped,
    drivers: list[dict] | Skipped,
    directions: dict[str, float] | Skipped,
    probability: np.ndarray | Skipped,
    reasons: pd.api.extensions.ExtensionArray | Skipped,
    s: ScoreSettings,
) -> ChurnResult:
    """The churn scores and card section; without a model (the windows or the churners
    fell short: `usable` is Skipped), null probabilities, the reason in the card, and top
    reasons from FALLBACK_REASONS."""
    c = s.churn
    section = churn_section(plan, c)
    if not isinstance(labelled, Skipped):
        section["labelled"] = labelled
        section["max_training_rows"] = c.max_training_rows
    if isinstance(usable, Skipped):
        section.update(status="no_model", message=usable.reason, metrics=None, top_drivers=None)
        X_now = scoring_matrix(features, plan.columns, s)
        cols = [f for f in FALLBACK_REASONS if f in X_now.columns]
        fallback = cm.top_reasons(X_now, features, cols, FALLBACK_REASONS)
        return ChurnResult(_scores(features, np.full(len(features), np.nan), fallback), section)
    auc, rule_auc = metrics["gradient_boosting"]["roc_auc"], metrics["simple_rule"]["roc_auc"]
    beats = auc > rule_auc
    name = RULE_NAMES[rule["rule"]]
    section.update(
        features=list(usable),
        status="ok",
        message=None,
        metrics=metrics,
        simple_rule={
            "rule": rule["rule"],
            "orientation": {
                c: "higher is riskier" if sign > 0 else "lower is riskier"
                for c, sign in rule["signs"].items()
            },
            # where recency puts customers who never transacted (the train window's choice)
            "never_active": "with the riskiest"
            if rule["never_active_riskiest"]
            else "with the safest",
            "train_roc_auc": rule["train_roc_auc"],
            "chosen_on": "train window",
        },
        top_drivers=drivers,
        risk_directions=directions,
        model_beats_simple_rule=bool(beats),
        verdict=(
            f"gradient boosting {'beats' if beats else 'does NOT beat'} the best simple rule "
            f"({name}) out of time (ROC-AUC {auc:.3f} vs {rule_auc:.3f})"
        ),
        warning=None
        if beats
        else (
            f"The churn model did not beat the best simple rule ({name}) out of time: "
            "rank customers by that rule instead"
        ),
    )
    return ChurnResult(_scores(features, probability, reasons), section)


def churn_section(plan: ChurnPlan, c: ChurnSettings) -> dict:
    """The card's description of the definition and windows, model or not."""
    train, test, as_of = plan.train_start, plan.test_start, plan.as_of
    silent = c.definition == "silent_attrition"
    return {
        "definition": c.definition,
        "horizon_months": c.horizon_months,
        "aum_drop_share": c.aum_drop_share if silent else None,
        "inactive_in_window": c.inactive_in_window if silent else None,
        "windows": {
            "train": {
                "features_as_of": train.isoformat(),
                "outcome": f"({train.isoformat()}, {test.isoformat()}]",
            },
            "test": {
                "features_as_of": test.isoformat(),
                "outcome": f"({test.isoformat()}, {as_of.isoformat()}]",
            },
            "score": {
                "features_as_of": as_of.isoformat(),
                "model": "refitted on the test window (the latest labelled one)",
            },
        },
        "bands": c.bands,
        "features": list(plan.columns),
    }


def _scores(features: pd.DataFrame, prob: np.ndarray, reasons) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": features["customer_id"].astype(str).array,
            "churn_probability": np.asarray(prob, dtype=float),
            "reason_codes": reasons,
        }
    )
