"""The effect of a relationship manager's contact on a customer's chance of leaving,
estimated from history with doubly robust scores, in a few lines of scikit-learn.

For the customers labelled over a window that starts at a month end s:
  D = 1 when contacted in the month after s, Y = 1 when they churned within the churn
  horizon (pipeline.scoring.churn), X their features at s -- strictly before the contact.
The effect tau(x) = P(Y = 1 | x, not contacted) - P(Y = 1 | x, contacted): by how much a
contact lowers the chance of leaving (positive: the call helps).

1. Cross-fitting (contact_effect.folds): gradient boosting fits the propensity
   e(x) = P(D = 1 | x) and the outcome models mu0(x), mu1(x) (on the not contacted and
   the contacted) on the other folds; every row is predicted by models that did not see it.
2. The doubly robust score of each row,
       phi = mu0 - mu1 + (1 - D)(Y - mu0) / (1 - e) - D (Y - mu1) / e,
   whose mean over a group estimates the group's average effect when either the
   propensity or the outcome models are right -- and when nothing that drives both the
   contact and leaving is missing from X (no unmeasured confounding).
3. Overlap: rows whose propensity lies outside contact_effect.overlap have no comparable
   contacted (or uncontacted) customers; they are flagged and left out of every estimate.
4. Each customer's effect = mu0(x), their chance of leaving without a contact, x the
   relative effect of a contact in their segment (contact_effect.segments, e.g. tier x
   digital enrolment): r_g = sum of phi / sum of mu0 over the segment's rows, shrunk
   towards the bank-wide r by how noisy it is (empirical Bayes). A contact can only
   change the outcome of a customer who would otherwise leave, so the effect scales
   with that risk; what differs between customers is the share of it a call removes.
   Churn is rare and contacts are few, so a flexible per-customer regression of phi
   (boosting) is mostly noise: on the sample bank it ranked no better than churn risk,
   at 20,000 as at 100,000 customers, while the segment model beats value at risk
   (README "Which calls save customers").
5. Intervals count customers, not rows: a customer stacked in several windows is one
   draw (their windows' outcomes overlap -- a churn months ahead labels several), so
   their rows' scores are summed before the variance is taken (cluster-robust by
   customer). Counting each window as a new customer would narrow every interval by up
   to the square root of the windows stacked.

Why scikit-learn and not econml or causalml: the learner is these lines on the gradient
boosting the churn model already uses -- no new dependency (econml pins older
scikit-learn releases), and its fit time at a million customers is in the README's
benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

Z95 = 1.959964
MIN_GROUP = 30  # fewer customers in overlap: a group's effect is not reported


def nuisance_model(random_state: int, categorical: list[int]) -> HistGradientBoostingClassifier:
    """The propensity and outcome models: gradient boosting with settings that need no
    tuning per bank. 50 rounds at most, at rate 0.2: the sample bank's recovery as with
    100 at 0.1, in two thirds of the time (README "Performance"). Early stopping is
    scikit-learn's default: on above 10,000 rows (a seeded 10% of the fold's rows held
    out; ten rounds without improvement end the fit), so the same rows in the same
    order give the same models."""
    return HistGradientBoostingClassifier(
        max_iter=50,
        learning_rate=0.2,
        min_samples_leaf=100,
        l2_regularization=1.0,
        categorical_features=categorical or None,
        random_state=random_state,
    )


def dr_scores(
    treated: np.ndarray, churned: np.ndarray, e: np.ndarray, mu0: np.ndarray, mu1: np.ndarray
) -> np.ndarray:
    """Each row's doubly robust score of the effect (reduction in churn) -- see the module."""
    d, y = treated.astype(float), churned.astype(float)
    return mu0 - mu1 + (1.0 - d) * (y - mu0) / (1.0 - e) - d * (y - mu1) / e


@dataclass
class DRLearner:
    """fit(X, treated, churned, segment, customer) -> self with, per row of the fitted
    sample (rows_: positions in X), propensity_, mu0_, mu1_, scores_ (NaN outside
    overlap), in_overlap_ and customer_; the fold models; and relative_
    (RelativeEffects by segment).
    predict(X, segment) -> each customer's effect, baseline(X) -> mu0, propensity(X)."""

    folds: int = 2
    overlap: tuple[float, float] = (0.02, 0.98)
    max_rows: int = 200_000
    random_state: int = 0
    categorical: list[int] = field(default_factory=list)  # column positions in X

    def fit(
        self,
        X: pd.DataFrame,
        treated: np.ndarray,
        churned: np.ndarray,
        segment: np.ndarray,
        customer: np.ndarray | None = None,
    ) -> DRLearner:
        """`customer`: a code per row, shared by one customer's rows (None: every row a
        customer of its own) -- what the intervals count (see the module)."""
        treated, churned = np.asarray(treated, dtype=int), np.asarray(churned, dtype=int)
        rows = np.arange(len(X))
        if len(rows) > self.max_rows:  # a seeded sample, kept in X's order
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(rows, self.max_rows, replace=False))
        X, d, y = X.iloc[rows].reset_index(drop=True), treated[rows], churned[rows]
        n = len(rows)
        e, mu0, mu1 = np.empty(n), np.empty(n), np.empty(n)
        self.propensity_models_, self.baseline_models_ = [], []
        split = StratifiedKFold(self.folds, shuffle=True, random_state=self.random_state)
        for train, test in split.split(X, 2 * d + y):  # each fold keeps every (D, Y) mix
            prop = nuisance_model(self.random_state, self.categorical).fit(X.iloc[train], d[train])
            e[test] = prop.predict_proba(X.iloc[test])[:, 1]
            self.propensity_models_.append(prop)
            for arm, out in ((0, mu0), (1, mu1)):
                mine = train[d[train] == arm]
                model = nuisance_model(self.random_state, self.categorical)
                out[test] = model.fit(X.iloc[mine], y[mine]).predict_proba(X.iloc[test])[:, 1]
                if arm == 0:
                    self.baseline_models_.append(model)
        low, high = self.overlap
        self.rows_, self.treated_, self.churned_ = rows, d, y
        self.customer_ = np.arange(n) if customer is None else np.asarray(customer)[rows]
        self.propensity_, self.mu0_, self.mu1_ = e, mu0, mu1
        self.in_overlap_ = (e >= low) & (e <= high)
        scores = dr_scores(d, y, np.clip(e, low, high), mu0, mu1)
        self.scores_ = np.where(self.in_overlap_, scores, np.nan)
        self.relative_ = RelativeEffects.fit(
            np.asarray(segment)[rows], self.scores_, mu0, self.customer_
        )
        return self

    def baseline(self, X: pd.DataFrame) -> np.ndarray:
        """mu0: the chance of leaving without a contact (the fold models' mean)."""
        return np.mean([m.predict_proba(X)[:, 1] for m in self.baseline_models_], axis=0)

    def propensity(self, X: pd.DataFrame) -> np.ndarray:
        return np.mean([m.predict_proba(X)[:, 1] for m in self.propensity_models_], axis=0)

    def predict(self, X: pd.DataFrame, segment: np.ndarray) -> np.ndarray:
        return self.baseline(X) * self.relative_.of(segment)


@dataclass(frozen=True)
class RelativeEffects:
    """The relative effect of a contact by segment (the share of a customer's chance of
    leaving a contact removes): each segment's raw ratio and standard error, and the
    estimate shrunk towards the segments' common mean by how noisy it is against the
    spread between segments (empirical Bayes, with the DerSimonian-Laird spread: a
    segment of a hundred customers keeps little of its own ratio, one of ten thousand
    most of it)."""

    overall: float  # the segments' common (precision-weighted, random-effects) mean
    overall_se: float
    spread: float  # the between-segment standard deviation of the relative effect
    table: pd.DataFrame  # segment, customers, raw, se, relative_effect

    @classmethod
    def fit(
        cls,
        segment: np.ndarray,
        scores: np.ndarray,
        mu0: np.ndarray,
        customer: np.ndarray | None = None,
    ) -> RelativeEffects:
        """`customer`: a code per row shared by one customer's rows (None: each row its
        own), so a segment's standard error counts customers (see the module)."""
        ok = np.isfinite(scores)
        who = np.arange(len(scores)) if customer is None else np.asarray(customer)
        frame = pd.DataFrame(
            {"segment": segment[ok], "phi": scores[ok], "mu0": mu0[ok], "customer": who[ok]}
        )
        rows = []
        for name, part in frame.groupby("segment", sort=True):
            phi, mu0_here = part["phi"].to_numpy(), part["mu0"].to_numpy()
            raw, se, customers = _ratio(phi, mu0_here, part["customer"].to_numpy())
            rows.append(
                {
                    "segment": str(name),
                    "customers": customers,
                    "rows": len(part),
                    "raw": raw,
                    "se": se,
                }
            )
        table = pd.DataFrame(rows, columns=["segment", "customers", "rows", "raw", "se"])
        known = np.isfinite(table["se"].to_numpy()) & (table["se"].to_numpy() > 0)
        raw, se = table["raw"].to_numpy()[known], table["se"].to_numpy()[known]
        if not len(raw):
            table["relative_effect"], table["relative_effect_se"] = 0.0, float("inf")
            return cls(0.0, float("inf"), 0.0, table)
        w = 1.0 / se**2
        mean = float(np.sum(w * raw) / np.sum(w))
        q = float(np.sum(w * (raw - mean) ** 2))
        scale = float(np.sum(w) - np.sum(w**2) / np.sum(w))
        tau2 = max(0.0, (q - (len(raw) - 1)) / scale) if scale > 0 else 0.0
        w_random = 1.0 / (se**2 + tau2)
        overall = float(np.sum(w_random * raw) / np.sum(w_random))
        overall_se = float(np.sqrt(1.0 / np.sum(w_random)))
        all_se = table["se"].to_numpy()
        finite = np.isfinite(all_se)
        se_known = np.where(finite, all_se, 0.0)
        # a segment keeps tau2 / (tau2 + se^2) of its own ratio (none: no spread, or no ratio)
        keep = np.where(finite, tau2 / np.maximum(tau2 + se_known**2, 1e-300), 0.0)
        keep = keep if tau2 > 0 else np.zeros(len(table))
        table["relative_effect"] = keep * table["raw"] + (1.0 - keep) * overall
        # the shrunk estimate's standard error: its own part's, and the common mean's
        own = keep * se_known**2
        table["relative_effect_se"] = np.sqrt(own + (1.0 - keep) ** 2 * overall_se**2)
        return cls(overall, overall_se, float(np.sqrt(tau2)), table)

    def of(self, segment: np.ndarray) -> np.ndarray:
        """Each customer's segment's relative effect (the common mean for a segment not
        seen in the history)."""
        return self._lookup(segment, "relative_effect", self.overall)

    def harmful(self, segment: np.ndarray) -> np.ndarray:
        """Whether a contact is estimated to raise the chance of leaving in the customer's
        segment with 95% confidence: the whole interval of its relative effect below 0."""
        upper = self.of(segment) + Z95 * self._lookup(
            segment, "relative_effect_se", self.overall_se
        )
        return upper < 0

    def _lookup(self, segment: np.ndarray, column: str, default: float) -> np.ndarray:
        lookup = dict(zip(self.table["segment"], self.table[column], strict=True))
        return np.array([lookup.get(str(g), default) for g in segment], dtype=float)


def _ratio(
    phi: np.ndarray, mu0: np.ndarray, customer: np.ndarray | None = None
) -> tuple[float, float, int]:
    """sum phi / sum mu0, its standard error (the denominator taken as known; a
    customer's rows one draw, see sum_variance) and the customers it rests on."""
    variance, customers = sum_variance(phi - phi.mean(), customer) if len(phi) else (0.0, 0)
    total = float(mu0.sum())
    if customers < 2 or total <= 0:
        return 0.0, float("inf"), customers
    return float(phi.sum()) / total, float(np.sqrt(variance)) / total, customers


def sum_variance(residual: np.ndarray, customer: np.ndarray | None) -> tuple[float, int]:
    """The estimated variance of a sum of rows' terms (`residual`: each less their mean)
    and the customers it rests on. One customer's rows (the same `customer` code) are
    summed before squaring -- the cluster-robust variance, times G / (G - 1) for G
    customers; with each row its own customer (None) that is n / (n - 1) x the sum of
    squares, the usual sample variance of the sum."""
    if customer is None:
        sums = np.asarray(residual, dtype=float)
    else:
        _, code = np.unique(np.asarray(customer), return_inverse=True)
        sums = np.bincount(code.ravel(), weights=residual)
    g = len(sums)
    if g < 2:
        return float("nan"), g
    return g / (g - 1) * float(np.sum(sums**2)), g


# --- estimates ---------------------------------------------------------------------------


def average_effect(scores: np.ndarray, customer: np.ndarray | None = None) -> dict[str, Any]:
    """The mean of the doubly robust scores (NaN: outside overlap, left out) with its 95%
    interval, the customers it rests on and their rows (customer-months; `customer`:
    see sum_variance)."""
    ok = np.isfinite(scores)
    s = scores[ok]
    who = None if customer is None else np.asarray(customer)[ok]
    if len(s) < 2:
        customers = len(s) if who is None else len(np.unique(who))
        return {"effect": None, "ci": None, "customers": customers, "rows": int(len(s))}
    mean = float(s.mean())
    variance, customers = sum_variance(s - mean, who)
    if customers < 2:
        return {"effect": None, "ci": None, "customers": customers, "rows": int(len(s))}
    half = Z95 * float(np.sqrt(variance)) / len(s)
    return {
        "effect": mean,
        "ci": [mean - half, mean + half],
        "customers": customers,
        "rows": int(len(s)),
    }


def naive_difference(treated: np.ndarray, churned: np.ndarray) -> float | None:
    """The difference in means: churn of the not contacted less churn of the contacted --
    what comparing the two groups says, confounding and all."""
    d, y = np.asarray(treated, dtype=bool), np.asarray(churned, dtype=float)
    if d.all() or not d.any():
        return None
    return float(y[~d].mean() - y[d].mean())


def effects_by(
    groups: pd.Series,
    scores: np.ndarray,
    treated: np.ndarray,
    churned: np.ndarray,
    customer: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Per group (sorted): the doubly robust average effect with its interval, and the
    naive difference in means beside it; groups with fewer than MIN_GROUP customers in
    overlap get no estimate (too few to say)."""
    out = []
    values = groups.astype(str).to_numpy()
    for name in sorted(set(values)):
        mine = values == name
        who = None if customer is None else np.asarray(customer)[mine]
        row = {"group": name, **average_effect(scores[mine], who)}
        if row["customers"] < MIN_GROUP:
            row.update(effect=None, ci=None)
        row["naive_difference"] = naive_difference(treated[mine], churned[mine])
        out.append(row)
    return out


# --- checks out of time ------------------------------------------------------------------


def ranked(score: np.ndarray) -> np.ndarray:
    """Positions by score, largest first; ties in position order (deterministic)."""
    return np.lexsort((np.arange(len(score)), -np.asarray(score, dtype=float)))


def gain_curve(score: np.ndarray, gain: np.ndarray, points: int = 20) -> list[list[float]]:
    """[share targeted, cumulative gain] at `points` even shares: what contacting the top
    of a ranking by `score` brings (gain: each customer's doubly robust score, or that
    times their value). Starts at [0, 0]."""
    order = ranked(score)
    total = np.concatenate([[0.0], np.cumsum(np.nan_to_num(gain[order]))])
    n = len(order)
    return [[k / points, float(total[round(n * k / points)])] for k in range(points + 1)]


def qini_area(curve: list[list[float]]) -> float:
    """The area between a gain curve and the straight line of contacting at random
    (trapezoids over the curve's shares), in the gain's units: > 0 when the ranking
    puts the customers a contact helps first."""
    share = np.array([p[0] for p in curve])
    gain = np.array([p[1] for p in curve])
    above = gain - share * gain[-1]
    return float(np.sum((above[1:] + above[:-1]) / 2 * np.diff(share)))


def top_share(score: np.ndarray, share: float) -> np.ndarray:
    """A mask of the top `share` of customers by score (at least one)."""
    n = len(score)
    mask = np.zeros(n, dtype=bool)
    mask[ranked(score)[: max(1, int(round(share * n)))]] = True
    return mask


def captured(score: np.ndarray, gain: np.ndarray, share: float) -> float:
    """The gain the top `share` of a ranking by `score` captures."""
    return float(np.nansum(gain[top_share(score, share)]))


def captured_difference(
    score: np.ndarray, other: np.ndarray, gain: np.ndarray, share: float
) -> dict[str, Any]:
    """What the top `share` by `score` captures less what the top by `other` does, with a
    95% interval: a sum of independent per-customer terms gain x (in one top - in the
    other), so its variance is the sum of their squares."""
    diff = np.nan_to_num(gain) * (top_share(score, share).astype(float) - top_share(other, share))
    half = Z95 * float(np.sqrt(np.sum(diff**2)))
    total = float(diff.sum())
    return {"difference": total, "ci": [total - half, total + half]}
