"""The history the contact-effect model learns from: label windows with who was contacted.

A window starting at month end s holds the customers the churn model labels over
(s, s + churn.horizon_months] (pipeline.scoring.churn.window: features at s, churned or
not), and whether each was contacted in the month after s: a row in rm_contacts dated
in (s, end of the next month]. Features are as of s, so nothing after the contact's
month start is in them.

Windows are stacked over consecutive month starts (contact_effect.windows; fewer when a
single window already holds contact_effect.max_training_rows customers, so a large bank
pays for no extra feature marts): the evaluation fit uses the starts T - 2h, T - 2h - 1,
... (outcomes over by T - h), the final fit T - h, T - h - 1, ..., and the check out of
time compares the evaluation fit's ranking with what happened after T - h.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from pipeline.engine import Engine
from pipeline.keys import is_in
from pipeline.periods import month_end
from pipeline.scoring import churn
from pipeline.scoring.settings import ScoreSettings
from pipeline.steps import Skipped

MAX_BRANCH_CODES = 250  # gradient boosting's categorical features take at most 255 values


@dataclass(frozen=True)
class EffectPlan:
    """The window starts of the two fits, latest first."""

    evaluation_starts: tuple[date, ...]
    final_starts: tuple[date, ...]


@dataclass(frozen=True)
class EffectRows:
    """Stacked windows: X (model inputs, with has_rm and the branch's code), treated,
    churned, context (branch_id, tier, has_rm, segment), start (the window's start) and
    customer (a code per customer: their rows in several windows share it) by row."""

    X: pd.DataFrame
    treated: np.ndarray
    churned: np.ndarray
    context: pd.DataFrame
    start: np.ndarray
    customer: np.ndarray

    @property
    def contacted(self) -> int:
        return int(self.treated.sum())

    @property
    def segment(self) -> np.ndarray:
        return self.context["segment"].to_numpy()


@dataclass(frozen=True)
class EffectData:
    evaluation: EffectRows
    final: EffectRows
    test_start: date  # the final fit's latest window: the check's window
    branch_codes: tuple[str, ...]  # the categorical branch code's values (empty: not used)


class SwitchedOff(Skipped):
    """The bank switched the estimate off (contact_effect.enabled: false)."""


def plan_effect(
    engine: Engine, churn_plan: churn.ChurnPlan | Skipped, features: pd.DataFrame, s: ScoreSettings
) -> EffectPlan | Skipped:
    """The starts of both fits, or why the effect cannot be estimated (no contact
    history, or too little history for the churn windows)."""
    if not s.contact_effect.enabled:
        return SwitchedOff("switched off (contact_effect.enabled is false)")
    if isinstance(churn_plan, Skipped):
        return Skipped(f"no labelled history to learn from: {churn_plan.reason}")
    missing = [c for c in s.contact_effect.segments if c not in features.columns]
    if missing:
        return Skipped(f"contact_effect.segments: no column {missing[0]!r} in the features mart")
    if (
        not engine.has_table("rm_contacts")
        or not engine.rows("SELECT count(*) FROM rm_contacts")[0][0]
    ):
        return Skipped("no contact history: the bank's exports hold no RM contacts")
    h, c = s.churn.horizon_months, s.contact_effect
    wanted = min(c.windows, max(1, c.max_training_rows // max(len(features), 1)))
    first = churn.history_start(engine)
    starts = []
    for offset in (2 * h, h):
        candidates = [month_end(churn_plan.as_of, offset + k) for k in range(wanted)]
        starts.append(tuple(d for d in candidates if first is not None and d >= first))
    return EffectPlan(*starts)


def contacted_after(engine: Engine, start: date) -> set[str]:
    """The customers with an RM contact in the month after `start` (a month end)."""
    frame = engine.frame(
        "SELECT DISTINCT customer_id FROM rm_contacts WHERE contact_date > ? AND contact_date <= ?",
        [start, month_end(start, -1)],
    )
    return set(frame["customer_id"].astype(str))


def effect_windows(
    engine: Engine,
    plan: EffectPlan,
    churn_plan: churn.ChurnPlan,
    s: ScoreSettings,
    windows: churn.WindowSource = churn.window,
) -> dict[date, churn.Window]:
    """The windows the fits stack besides the churn model's own two (T - 2h and T - h,
    reused by effect_data), on every model input the period's mart offers: the fits
    take the usable ones later, so these feature marts -- most of the effect's data --
    need not wait for the churn windows. `windows` builds each (churn.window) or gives
    it back from an earlier run's store (pipeline.scoring.window_store)."""
    h = s.churn.horizon_months
    own = {plan.evaluation_starts[0], plan.final_starts[0]}
    starts = sorted((set(plan.evaluation_starts) | set(plan.final_starts)) - own)
    return {
        start: windows(engine, start, month_end(start, -h), _plan(churn_plan.columns, start, h), s)
        for start in starts
    }


def effect_data(
    engine: Engine,
    plan: EffectPlan,
    earlier: dict[date, churn.Window],
    train: churn.Window,
    test: churn.Window,
    columns: tuple[str, ...],
) -> EffectData:
    """Both fits' stacked windows on the churn model's usable `columns`: the churn
    model's own train and test windows (T - 2h, T - h) and the `earlier` ones
    (effect_windows)."""
    windows = {**earlier, plan.evaluation_starts[0]: train, plan.final_starts[0]: test}
    branches = sorted(set().union(*(w.context["branch_id"].unique() for w in windows.values())))
    codes = tuple(branches) if len(branches) <= MAX_BRANCH_CODES else ()

    def stack(starts: tuple[date, ...]) -> EffectRows:
        parts, treated, churned, contexts, when, ids = [], [], [], [], [], []
        for start in starts:
            w = windows[start]
            called = contacted_after(engine, start)
            parts.append(inputs(w.X[list(columns)], w.context, codes))
            treated.append(is_in(w.ids, called).astype(int))
            churned.append(np.asarray(w.y, dtype=int))
            contexts.append(w.context)
            when.append(np.full(len(w.y), np.datetime64(start, "D")))
            ids.append(w.ids)
        customer, _ = pd.factorize(pd.concat(ids, ignore_index=True))
        return EffectRows(
            pd.concat(parts, ignore_index=True),
            np.concatenate(treated),
            np.concatenate(churned),
            pd.concat(contexts, ignore_index=True),
            np.concatenate(when),
            customer,
        )

    return EffectData(
        stack(plan.evaluation_starts), stack(plan.final_starts), plan.final_starts[0], codes
    )


def _plan(columns: tuple[str, ...], start: date, h: int) -> churn.ChurnPlan:
    """A churn plan whose model inputs are `columns` (churn.window reads only those)."""
    return churn.ChurnPlan(month_end(start, h), start, month_end(start, -h), columns)


def inputs(X: pd.DataFrame, context: pd.DataFrame, codes: tuple[str, ...]) -> pd.DataFrame:
    """The effect model's inputs: the churn model's, whether an RM is assigned, and the
    branch's code (when the branches are few enough to be a categorical input)."""
    out = X.reset_index(drop=True).copy()
    out["has_rm"] = context["has_rm"].to_numpy(dtype=float)
    if codes:
        code = pd.Categorical(context["branch_id"], categories=list(codes)).codes
        out["branch_code"] = np.where(code >= 0, code, np.nan)
    return out


def categorical_columns(X: pd.DataFrame) -> list[int]:
    return [X.columns.get_loc("branch_code")] if "branch_code" in X.columns else []
