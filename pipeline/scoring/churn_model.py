"""Supervised churn: train, evaluate out of time against baselines, score, explain.

Windows for a period with as-of T and horizon h (churn.horizon_months):
- train: features at T-2h, labels on (T-2h, T-h];
- test (out of time): features at T-h, labels on (T-h, T];
- score: the model refitted on the test window (the latest labelled one), applied to
  features at T. Metrics in the card are the train-window model's on the test window.

Models: HistGradientBoostingClassifier (the scorer), a logistic-regression baseline and the
best of the simple rules a bank would use without a model (recency; AUM change over 3
months; the two combined), each rule oriented and the best chosen on the train window,
then measured on the test window like the models. A rule is not a probability: for
Brier and calibration it is mapped to the churn rate of its decile in the train window.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    auc,
    average_precision_score,
    brier_score_loss,
    roc_auc_score,
    roc_curve,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pipeline.scoring.reasons import REASONS_PER_CUSTOMER, SEPARATOR, reason_codes

IMPORTANCE_ROWS = 2000  # permutation importance on a seeded sample of the test window
IMPORTANCE_REPEATS = 3
DIRECTION_ROWS = 100_000  # risk directions from a seeded sample of the test window
TOP_DRIVERS = 10
PREDICT_ROWS = 250_000  # rows per predict call (each row's prediction is its own)
REASON_FEATURES = 6  # top reasons are chosen among this many strongest drivers
REASON_MIN_Z = 1.0  # a feature is a reason when it is this many robust SDs on the risky side
# Features whose missing value is the far end of the scale: never active (no own
# transaction), never contacted by an RM. Where longer is riskier, a missing value is a
# reason too, ranked at REASON_MIN_Z: after any feature further out of line.
NEVER_IS_LONGEST = ("recency_days", "days_since_rm_contact")


def gradient_boosting(random_state: int) -> HistGradientBoostingClassifier:
    """scikit-learn's default 100 trees at learning rate 0.1 (150 at 0.05 scored the same
    out of time on the sample bank at 1M customers, and scoring costs grow with trees);
    small leaves and some L2 keep rare churners from being memorised."""
    return HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.1,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=random_state,
    )


def logistic_baseline():
    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )


# The simple rules a bank would use without a model, and the columns each reads: the
# churn model must beat the best of them, chosen on the train window.
SIMPLE_RULES = {
    "recency": ("recency_days",),
    "aum_change_3m": ("aum_change_pct_3m",),
    "recency_and_aum_change": ("recency_days", "aum_change_pct_3m"),
}


def oriented_input(
    X: pd.DataFrame, column: str, sign: float, never_riskiest: bool = True
) -> np.ndarray:
    """A rule's input, higher = riskier once multiplied by `sign`: an AUM change with no
    earlier AUM as no change (0); recency with the never-active customers (no own
    transaction: null) at the riskiest end, or the safest when `never_riskiest` is False
    -- where they go is no matter of how long ago, so the train window decides it."""
    if column != "recency_days":
        return sign * np.nan_to_num(X[column].to_numpy(dtype=float), nan=0.0)
    r = sign * X[column].to_numpy(dtype=float)
    known = np.isfinite(r)
    if not known.any():
        return np.zeros(len(r))
    fill = r[known].max() + 1 if never_riskiest else r[known].min() - 1
    return np.where(known, r, fill)


def rule_score(X: pd.DataFrame, rule: str, choice: dict[str, Any]) -> np.ndarray:
    """Higher = riskier under `rule`, each input oriented as `choice` (choose_rule) says; a
    rule of two inputs averages their percentile ranks."""
    never = choice.get("never_active_riskiest", True)
    inputs = [oriented_input(X, c, choice["signs"][c], never) for c in SIMPLE_RULES[rule]]
    if len(inputs) == 1:
        return inputs[0]
    return np.mean([rankdata(v) / len(X) for v in inputs], axis=0)


def _sign(y: np.ndarray, values: np.ndarray) -> float:
    """+1 when churners have the higher values (ROC-AUC >= 0.5), else -1 (+1 when one
    class is missing)."""
    if len(np.unique(y)) < 2:
        return 1.0
    return 1.0 if roc_auc_score(y, values) >= 0.5 else -1.0


def choose_rule(X_train: pd.DataFrame, y_train: np.ndarray) -> dict[str, Any]:
    """The best simple rule on the train window: each input oriented the way churners
    differ there (ROC-AUC >= 0.5; recency among the customers who transacted, the
    never-active placed with the riskiest when they churned at least as often as those
    who did, else with the safest), each rule's train ROC-AUC, the highest wins (the
    first listed on a tie). Rules whose inputs the matrix lacks are left out."""
    rules = [r for r, cols in SIMPLE_RULES.items() if set(cols) <= set(X_train.columns)]
    if not rules:
        raise ValueError("no simple rule's inputs (recency_days, aum_change_pct_3m) are known")
    inputs = {c for r in rules for c in SIMPLE_RULES[r]}
    signs, never_riskiest = {}, True
    for c in sorted(inputs):
        if c == "recency_days":
            r = X_train[c].to_numpy(dtype=float)
            known = np.isfinite(r)
            signs[c] = _sign(y_train[known], r[known]) if known.any() else 1.0
            if known.any() and (~known).any():
                never_riskiest = bool(y_train[~known].mean() >= y_train[known].mean())
        else:
            signs[c] = _sign(y_train, oriented_input(X_train, c, 1.0))
    choice = {"rule": None, "signs": signs, "never_active_riskiest": never_riskiest}
    aucs = {r: float(roc_auc_score(y_train, rule_score(X_train, r, choice))) for r in rules}
    best = max(rules, key=lambda r: (aucs[r], -rules.index(r)))
    return {**choice, "rule": best, "train_roc_auc": aucs}


def recency_rates(train_score: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decile edges of the rule's score on the train window and the churn rate in each."""
    edges = np.unique(np.quantile(train_score, np.linspace(0, 1, 11)[1:-1]))
    bins = np.searchsorted(edges, train_score, side="right")
    rates = np.array(
        [y[bins == b].mean() if (bins == b).any() else y.mean() for b in range(len(edges) + 1)]
    )
    return edges, rates


def calibration_table(y: np.ndarray, prob: np.ndarray) -> list[dict[str, float]]:
    """Deciles of predicted probability: customers, mean predicted, observed churn rate."""
    order = np.argsort(prob, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, 10)):
        if len(idx):
            rows.append(
                {
                    "decile": i + 1,
                    "customers": int(len(idx)),
                    "mean_predicted": float(prob[idx].mean()),
                    "observed_rate": float(y[idx].mean()),
                }
            )
    return rows


def top_rate(y: np.ndarray, score: np.ndarray, n_top: int) -> float:
    """Churn rate among the `n_top` highest scores, ties going to the earlier rows (as a
    stable sort by descending score has it), without sorting a million scores."""
    cut = np.partition(score, len(score) - n_top)[len(score) - n_top]  # n_top-th largest
    above = score > cut
    tied = np.flatnonzero(score == cut)[: n_top - int(above.sum())]
    return (int(y[above].sum()) + int(y[tied].sum())) / n_top


def classification_metrics(y: np.ndarray, score: np.ndarray, prob: np.ndarray) -> dict[str, Any]:
    """ROC-AUC, PR-AUC, top-decile lift and KS on `score`; Brier and calibration on `prob`."""
    fpr, tpr, _ = roc_curve(y, score)
    n_top = max(1, int(np.ceil(len(y) * 0.1)))
    base = y.mean()
    return {
        "roc_auc": float(auc(fpr, tpr)),  # what roc_auc_score computes, from the same curve
        "pr_auc": float(average_precision_score(y, score)),
        "top_decile_lift": float(top_rate(y, score, n_top) / base) if base > 0 else None,
        "ks": float(np.max(tpr - fpr)),
        "brier": float(brier_score_loss(y, prob)),
        "calibration": calibration_table(y, prob),
    }


def training_sample(
    X: pd.DataFrame, y: np.ndarray, max_rows: int, random_state: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None]:
    """At most `max_rows` rows to fit on, with weights that stand for the whole window.

    A fit's cost grows with rows while the signal sits in the rare churners, so above
    `max_rows` every churner is kept and a seeded sample of the others stands for all of
    them (weight = their count / the sample's). When churners are not rare, a plain
    random sample with equal weights. Windows with at most `max_rows` rows are returned
    whole, unweighted (None).
    """
    n = len(y)
    if n <= max_rows:
        return X, y, None
    rng = np.random.default_rng(random_state)
    churners = np.flatnonzero(y == 1)
    if len(churners) >= max_rows // 2:
        idx = np.sort(rng.choice(n, size=max_rows, replace=False))
        return X.iloc[idx], y[idx], np.full(max_rows, n / max_rows)
    stayers = np.flatnonzero(y == 0)
    kept = rng.choice(stayers, size=max_rows - len(churners), replace=False)
    idx = np.sort(np.concatenate([churners, kept]))
    weights = np.where(y[idx] == 1, 1.0, len(stayers) / len(kept))
    return X.iloc[idx], y[idx], weights


class SampledFit:
    """A classifier fitted on `training_sample` without weights, its probabilities
    corrected back to the whole window.

    Keeping every churner but 1 in k stayers multiplies the odds of churn by k, so the
    window's odds are the sample's divided by k (prior correction: King and Zeng 2001,
    Dal Pozzolo et al. 2015). Rankings, and so ROC-AUC, are the fitted model's. Fitting
    unweighted rather than with the weights gives the same calibration at a fraction
    of the cost: scikit-learn bins weighted features with one sort per quantile.
    """

    def __init__(self, model, odds_factor: float) -> None:
        self.model, self.odds_factor = model, odds_factor

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """[P(stay), P(churn)] per row, predicted PREDICT_ROWS rows at a time: the
        models' working copies of the inputs stay small whatever the bank's size."""
        parts = [
            self.model.predict_proba(X.iloc[i : i + PREDICT_ROWS])[:, 1]
            for i in range(0, len(X), PREDICT_ROWS)
        ]
        p = np.concatenate(parts) if parts else np.empty(0)
        corrected = p * self.odds_factor / (p * self.odds_factor + (1.0 - p))
        return np.column_stack([1.0 - corrected, corrected])


def fit_on_sample(
    model, X: pd.DataFrame, y: np.ndarray, random_state: int, max_rows: int
) -> SampledFit:
    """`model` fitted on `training_sample` of the window, corrected to its churn odds."""
    Xs, ys, w = training_sample(X, y, max_rows, random_state)
    # churner weight / stayer weight: 1/k for a sample of 1 in k stayers, else equal
    odds_factor = 1.0 if w is None or w.min() == w.max() else float(w[ys == 1][0] / w[ys == 0][0])
    return SampledFit(model.fit(Xs, ys), odds_factor)


def fit_gradient_boosting(
    X: pd.DataFrame, y: np.ndarray, random_state: int, max_rows: int
) -> SampledFit:
    """The churn model fitted on `training_sample` of the window."""
    return fit_on_sample(gradient_boosting(random_state), X, y, random_state, max_rows)


def predict(fit: SampledFit, X: pd.DataFrame) -> np.ndarray:
    """P(churn) per row of `X`."""
    return fit.predict_proba(X)[:, 1]


def baseline_probabilities(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_test: pd.DataFrame,
    random_state: int,
    max_rows: int,
) -> np.ndarray:
    """The logistic baseline's P(churn) on the test window, fitted on `training_sample`
    of the train window."""
    return predict(
        fit_on_sample(logistic_baseline(), X_train, y_train, random_state, max_rows), X_test
    )


def rule_scores(
    X_train: pd.DataFrame, y_train: np.ndarray, X_test: pd.DataFrame, choice: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """The chosen simple rule on the test window: its score, and as a probability the
    churn rate of the score's decile in the (whole) train window."""
    rule = choice["rule"]
    rule_train, rule_test = rule_score(X_train, rule, choice), rule_score(X_test, rule, choice)
    edges, rates = recency_rates(rule_train, y_train)
    return rule_test, rates[np.searchsorted(edges, rule_test, side="right")]


def importance_sample(
    X: pd.DataFrame, y: np.ndarray, random_state: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows top_drivers explains: a seeded sample of at most IMPORTANCE_ROWS of the
    test window (all of it when the sample holds one class only)."""
    rng = np.random.default_rng(random_state)
    idx = np.sort(rng.choice(len(X), size=min(len(X), IMPORTANCE_ROWS), replace=False))
    if len(np.unique(y[idx])) < 2:
        return X, y
    return X.iloc[idx], y[idx]


def top_drivers(
    fit: SampledFit, X: pd.DataFrame, y: np.ndarray, random_state: int
) -> list[dict[str, float]]:
    """Permutation importance (drop in ROC-AUC, which the odds correction leaves alone),
    seeded, on `importance_sample`'s rows."""
    result = permutation_importance(
        fit.model,
        X,
        y,
        scoring="roc_auc",
        n_repeats=IMPORTANCE_REPEATS,
        random_state=random_state,
    )
    order = np.lexsort((np.array(X.columns), -result.importances_mean))
    return [
        {
            "feature": str(X.columns[i]),
            "importance": float(result.importances_mean[i]),
            "importance_sd": float(result.importances_std[i]),
        }
        for i in order[:TOP_DRIVERS]
    ]


def direction_sample(
    X: pd.DataFrame, y: np.ndarray, random_state: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows risk_directions compares: a seeded sample of at most DIRECTION_ROWS
    (ranking a million rows per feature costs seconds and a direction is settled long
    before that), all of them when the sample holds one class only."""
    if len(X) > DIRECTION_ROWS:
        rng = np.random.default_rng(random_state)
        idx = np.sort(rng.choice(len(X), size=DIRECTION_ROWS, replace=False))
        if len(np.unique(y[idx])) == 2:
            return X.iloc[idx], y[idx]
    return X, y


def risk_directions(X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """+1 where churners sit higher on a feature than stayers (by mean rank), else -1,
    on `direction_sample`'s rows."""
    ranks = X.rank(pct=True)
    diff = ranks[y == 1].mean() - ranks[y == 0].mean()
    return {c: (1.0 if diff[c] >= 0 else -1.0) for c in X.columns}


def top_reasons(
    X: pd.DataFrame,
    raw: pd.DataFrame,
    features: list[str],
    directions: dict[str, float],
) -> pd.api.extensions.ExtensionArray:
    """Per customer, up to three features most out of line on the risky side, as codes.

    Out of line = robust z-score, (x - population median) / (IQR / 1.349), signed by the
    feature's risk direction; a feature counts when that is at least REASON_MIN_Z. A
    missing value is no reason, but for NEVER_IS_LONGEST where longer is riskier ("never
    contacted by an RM"), which counts at REASON_MIN_Z -- where some customers have the
    measure (no contact records at all: nobody is "never contacted").
    Written by pipeline.scoring.reasons as codes with the customer's value and the
    typical one, e.g. "recency_days:120:14" (the report words them in its language).
    Vectorised over customers.
    """
    n = len(X)
    if not features or n == 0:
        return pd.array([""] * n, dtype="str")
    z = np.full((n, len(features)), -np.inf)
    for j, col in enumerate(features):
        x = X[col].to_numpy(dtype=float)
        med = np.nanmedian(x) if np.isfinite(x).any() else np.nan
        q1, q3 = np.nanpercentile(x, [25, 75]) if np.isfinite(x).any() else (np.nan, np.nan)
        scale = (q3 - q1) / 1.349
        if not np.isfinite(scale) or scale <= 0:
            scale = np.nanstd(x) if np.isfinite(x).any() else np.nan
        if np.isfinite(scale) and scale > 0:
            zj = directions.get(col, 1.0) * (x - med) / scale
            z[:, j] = np.where(np.isfinite(zj), zj, -np.inf)
        if col in NEVER_IS_LONGEST and directions.get(col, 1.0) > 0 and np.isfinite(x).any():
            # "never" only where the bank has the measure: a bank without contact
            # records has everyone's days since contact missing, and knows nothing
            z[:, j] = np.where(np.isnan(x), REASON_MIN_Z, z[:, j])
    order = np.argsort(-z, axis=1, kind="stable")[:, :REASONS_PER_CUSTOMER]
    # Each customer's k-th reason as an index into the k-th list of codes (-1: none),
    # joined in Arrow: string work per customer in Python cost half a minute at 10M.
    # Reasons come strongest first, so a customer with a k-th reason has every earlier
    # one: the k-th (k > 0) is written after the separator, a missing one as "".
    texts = []
    shown: dict[str, tuple[np.ndarray, float]] = {}
    for k in range(order.shape[1]):
        j = order[:, k]
        ok = z[np.arange(n), j] >= REASON_MIN_Z
        index = np.full(n, -1, dtype=np.int64)
        codes: list[str] = []
        for jj, col in enumerate(features):
            sel = ok & (j == jj)
            if sel.any():
                if col not in shown:
                    values = _floats(raw[col]) if col in raw else X[col].to_numpy(dtype=float)
                    finite = values[np.isfinite(values)]
                    shown[col] = values, float(np.median(finite)) if len(finite) else np.nan
                values, median = shown[col]
                written, which = reason_codes(col, values[sel], median)
                index[sel] = len(codes) + which
                codes.extend((SEPARATOR if k else "") + w for w in written)
        wording = pa.array(codes, pa.large_string())
        texts.append(pc.fill_null(wording.take(pa.array(index, mask=index < 0)), ""))
    joined = pc.binary_join_element_wise(*texts, pa.scalar("", pa.large_string()))
    return pd.array(joined, dtype="str")  # stays in Arrow: no Python string per customer


def _floats(values: pd.Series) -> np.ndarray:
    """Any numeric or boolean column (nullable or not) as floats, missing as NaN."""
    return pd.to_numeric(values.astype("Float64"), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )


def bands(prob: np.ndarray, medium: float, high: float) -> np.ndarray:
    """low / medium / high by churn.bands thresholds (null probability: null band)."""
    out = np.where(prob >= high, "high", np.where(prob >= medium, "medium", "low")).astype(object)
    out[np.isnan(prob)] = None
    return out
