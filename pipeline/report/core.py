"""The report stage's computation: every input of a period's reports, held once, and
each branch's slice of it.

Customer-level frames are split by branch here, before anything reaches a template, so
a branch's report can only see its own customers; the branch slices are what the
workers render (render.py, through the contexts in context*.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.errors import InputError
from pipeline.report.context_scores import active_scores

# Columns the report reads from each input; a missing one is a broken contract.
FEATURE_COLUMNS = (
    "customer_id",
    "branch_id",
    "rm_id",
    "status",
    "tier",
    "aum",
    "products_held",
    "recency_days",
    "frequency",
    "monetary",
    "digital_share",
    "days_since_rm_contact",
    "rfm_segment",
)
SCORE_COLUMNS = (
    "customer_id",
    "branch_id",
    "rm_id",
    "status",  # the report's customers are the active ones (context_scores.active_scores)
    "tier",
    "p_alive",
    "expected_transactions",
    "monthly_profit",
    "clv",
    "value_at_risk",
    "high_value",
    "clv_decile",
    "churn_probability",
    "churn_band",
    "value_risk_quadrant",
)
KPI_COLUMNS = ("scope", "branch_id", "customers", "aum")
BRANCH_SCORE_COLUMNS = (
    "scope",
    "branch_id",
    "high_risk_share",
    "active_customers",
    "monthly_profit",
    "clv",
    "value_at_risk",
    "high_value_at_risk",
    "value_at_risk_share",
    "clv_per_customer",
    "call_list_customers",
    "expected_value_saved",
    "do_not_call_customers",
)
RM_BOOK_COLUMNS = (
    "branch_id",
    "rm_id",
    "customers",
    "high_value_customers",
    "clv",
    "value_at_risk",
    "contacted_share",
    "call_list",
)
UNASSIGNED_COLUMNS = (
    "customer_id",
    "rank",
    "tier",
    "aum",
    "clv",
    "churn_probability",
    "value_at_risk",
    "high_value",
    "reason_codes",
    "last_contact_date",
)
MIGRATION_COLUMNS = ("branch_id", "from_tier", "to_tier", "customers")
LORENZ_COLUMNS = ("branch_id", "point", "cum_customer_share", "cum_aum_share")
WATCHLIST_COLUMNS = (
    "rank",
    "customer_id",
    "rm_id",
    "tier",
    "aum",
    "monthly_profit",
    "clv",
    "churn_probability",
    "value_at_risk",
    "high_value",
    "reason_codes",
    "last_contact_date",
)
# a call list: the watchlist's columns, the effect of a call, the value it saves, and
# whether to call or not to call (pipeline.scoring.books)
CALL_LIST_COLUMNS = (*WATCHLIST_COLUMNS, "contact_effect", "value_saved", "action")
HISTORY_COLUMNS = ("scope", "branch_id", "period", "customers", "aum", "source")
# the score stage's branch figures shown as a trend (periods that were scored)
SCORE_HISTORY_COLUMNS = ("scope", "branch_id", "period", "value_at_risk", "value_at_risk_share")


@dataclass(frozen=True)
class ReportInputs:
    """Everything one period's reports show, read once in the parent process."""

    period: str
    as_of: date
    previous_period: str
    features: pd.DataFrame
    scores: pd.DataFrame
    branch_scores: pd.DataFrame
    kpis: pd.DataFrame
    history: pd.DataFrame  # branch_history: KPIs and attrition month by month
    score_history: pd.DataFrame  # branch_scores rows of the history's scored periods
    migration: pd.DataFrame
    lorenz: pd.DataFrame
    model_card: dict[str, Any]
    survey: dict[str, Any]
    manifest: dict[str, Any]
    rm_books: pd.DataFrame
    watchlists: dict[str, pd.DataFrame] = field(default_factory=dict)
    unassigned: dict[str, pd.DataFrame] = field(default_factory=dict)
    call_lists: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    generation: str = ""  # the id of the processed outputs shown (pipeline.generation)

    @functools.cached_property
    def branch_parts(self) -> BranchParts:
        """The customer-level frames split by branch: once for every branch and every
        locale of the run, on first use (while the workers still import their
        libraries)."""
        return BranchParts.of(self)

    @property
    def branch_ids(self) -> list[str]:
        ids = self.kpis.loc[self.kpis["scope"] == "branch", "branch_id"]
        return sorted(str(b) for b in ids)

    @property
    def months(self) -> list[str]:
        """The history's months, oldest first (the period last)."""
        return sorted(set(self.history["period"].astype(str)))

    @property
    def previous_kpis(self) -> pd.DataFrame | None:
        """The previous month's KPI rows (from the history: stored, or computed for a month
        never run); None when the history does not reach back a month."""
        rows = self.history[self.history["period"].astype(str) == self.previous_period]
        return rows.reset_index(drop=True) if len(rows) else None


@dataclass(frozen=True)
class BranchInputs:
    """One branch's slice: its customers only, plus network-wide aggregates."""

    branch_id: str
    period: str
    as_of: date
    previous_period: str
    features: pd.DataFrame
    scores: pd.DataFrame
    branch_score: pd.Series
    network_score: pd.Series
    kpi: pd.Series
    network_kpi: pd.Series
    previous_kpi: pd.Series | None
    history: pd.DataFrame  # the branch's history rows, oldest first
    score_history: pd.DataFrame  # the branch's scored periods' figures
    months: list[str]
    migration: pd.DataFrame
    lorenz: pd.DataFrame
    network_lorenz: pd.DataFrame
    watchlist: pd.DataFrame
    unassigned: pd.DataFrame
    rm_books: pd.DataFrame
    call_lists: dict[str, pd.DataFrame]  # by rm_id
    network_rm: dict[str, dict[str, Any]]
    model_card: dict[str, Any]
    survey: dict[str, Any]
    manifest: dict[str, Any]
    generation: str = ""


def check_columns(frame: pd.DataFrame, columns: tuple[str, ...], source: Path | str) -> None:
    """InputError naming the file and every column the report needs but does not find."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)} needed by the report")


def _kpi_row(kpis: pd.DataFrame, branch_id: str | None, source: str) -> pd.Series:
    if branch_id is None:
        rows = kpis[kpis["scope"] == "network"]
    else:
        rows = kpis[(kpis["scope"] == "branch") & (kpis["branch_id"].astype(str) == branch_id)]
    if len(rows) != 1:
        what = "the network row" if branch_id is None else f"branch {branch_id!r}"
        raise InputError(f"{source}: expected one row for {what}, found {len(rows)}")
    return rows.iloc[0]


def _scope_rows(frame: pd.DataFrame, branch_id: str | None) -> pd.DataFrame:
    """A history frame's rows of one branch (None: the network), oldest month first."""
    if branch_id is None:
        rows = frame[frame["scope"] == "network"]
    else:
        rows = frame[(frame["scope"] == "branch") & (frame["branch_id"].astype(str) == branch_id)]
    return rows.sort_values("period").reset_index(drop=True)


def network_history(frame: pd.DataFrame) -> pd.DataFrame:
    """The network's rows of a history frame, oldest month first."""
    return _scope_rows(frame, None)


def split_by_branch(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The frame's rows per branch id (as text), each in the frame's row order: one pass
    over the frame for every branch, where a mask per branch would scan it once each."""
    if frame.empty:
        return {}
    key = frame["branch_id"].astype(str)
    return {str(b): part for b, part in frame.groupby(key, sort=False, dropna=False)}


@dataclass(frozen=True)
class BranchParts:
    """The customer-level frames split by branch once, for slicing every branch."""

    features: dict[str, pd.DataFrame]
    scores: dict[str, pd.DataFrame]
    migration: dict[str, pd.DataFrame]
    lorenz: dict[str, pd.DataFrame]

    @classmethod
    def of(cls, inputs: ReportInputs) -> BranchParts:
        lorenz = inputs.lorenz
        return cls(
            features=split_by_branch(inputs.features),
            scores=split_by_branch(inputs.scores),
            migration=split_by_branch(inputs.migration),
            lorenz=split_by_branch(lorenz[lorenz["branch_id"].notna()]),
        )


def _own(parts: dict[str, pd.DataFrame], template: pd.DataFrame, branch_id: str) -> pd.DataFrame:
    part = parts.get(branch_id)
    return (template.iloc[0:0] if part is None else part).reset_index(drop=True)


def branch_slice(
    inputs: ReportInputs,
    branch_id: str,
    network_rm: dict[str, dict[str, Any]],
) -> BranchInputs:
    """The branch's own customers and rows; a foreign customer in its watchlist is an error.

    `network_rm` is the network's RM coverage by tier (an aggregate, no customer rows);
    the rows come from the inputs' split by branch, made once (ReportInputs.branch_parts).
    """
    parts = inputs.branch_parts
    features = _own(parts.features, inputs.features, branch_id)
    watchlist = inputs.watchlists.get(branch_id)
    if watchlist is None:
        raise InputError(f"watchlist-{branch_id}.csv: not read; `crm score` writes it")
    unassigned = inputs.unassigned.get(branch_id)
    if unassigned is None:
        raise InputError(f"unassigned-{branch_id}.csv: not read; `crm score` writes it")
    own = set(features["customer_id"].astype(str))
    calls = {rm: c for (b, rm), c in inputs.call_lists.items() if b == branch_id}
    lists = [(f"watchlist-{branch_id}.csv", watchlist), (f"unassigned-{branch_id}.csv", unassigned)]
    lists += [(f"calls-{branch_id}-{rm}.csv", c) for rm, c in sorted(calls.items())]
    for name, listed in lists:
        foreign = sorted(set(listed["customer_id"].astype(str)) - own)
        if foreign:
            raise InputError(
                f"{name}: {len(foreign)} customer(s) not of branch {branch_id} "
                f"(first: {foreign[0]}); the report shows a branch only its own customers"
            )
    books = inputs.rm_books[inputs.rm_books["branch_id"].astype(str) == branch_id]
    history = _scope_rows(inputs.history, branch_id)
    previous_rows = history[history["period"].astype(str) == inputs.previous_period]
    previous = previous_rows.iloc[0] if len(previous_rows) == 1 else None
    lorenz = inputs.lorenz
    own_lorenz = parts.lorenz.get(branch_id, lorenz.iloc[0:0])
    return BranchInputs(
        branch_id=branch_id,
        period=inputs.period,
        as_of=inputs.as_of,
        previous_period=inputs.previous_period,
        features=features,
        scores=active_scores(_own(parts.scores, inputs.scores, branch_id)),
        branch_score=_kpi_row(inputs.branch_scores, branch_id, "branch_scores.parquet"),
        network_score=_kpi_row(inputs.branch_scores, None, "branch_scores.parquet"),
        kpi=_kpi_row(inputs.kpis, branch_id, "branch_kpis.parquet"),
        network_kpi=_kpi_row(inputs.kpis, None, "branch_kpis.parquet"),
        previous_kpi=previous,
        history=history,
        score_history=_scope_rows(inputs.score_history, branch_id),
        months=inputs.months,
        migration=_own(parts.migration, inputs.migration, branch_id),
        lorenz=own_lorenz.sort_values("point"),
        network_lorenz=lorenz[lorenz["branch_id"].isna()].sort_values("point"),
        watchlist=watchlist.reset_index(drop=True),
        unassigned=unassigned.reset_index(drop=True),
        rm_books=books.reset_index(drop=True),
        call_lists=calls,
        network_rm=network_rm,
        model_card=inputs.model_card,
        survey=inputs.survey,
        manifest=inputs.manifest,
        generation=inputs.generation,
    )


def largest_first(inputs: ReportInputs) -> list[str]:
    """The branches by customers, most first (ties by id): the order to render them in,
    so the longest reports start first and a run does not end on one large branch while
    the other workers wait."""
    counts = inputs.features["branch_id"].astype(str).value_counts()
    return sorted(inputs.branch_ids, key=lambda b: (-int(counts.get(b, 0)), b))


def branch_slices(
    inputs: ReportInputs,
    network_rm: dict[str, dict[str, Any]],
    order: Sequence[str] | None = None,
) -> Iterator[BranchInputs]:
    """Every branch's slice in `order` (default: branch order), made one at a time as
    they are rendered."""
    for branch_id in inputs.branch_ids if order is None else order:
        yield branch_slice(inputs, branch_id, network_rm)
