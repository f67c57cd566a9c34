"""The first page: what changed, the biggest risk, whom to call first, and each headline
KPI against its target with its trend.

Pure over a branch's (or the network's) history rows (features' branch_history), the
score stage's branch rows of the periods that were scored, the survey's NPS history and
the lists the branch acts on. Sentences are written here from the numbers, in the
report's locale (patterns from the message catalogs, numbers through the report's
filters), so the first page reads the same as the tables behind it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.report.context_data import Coverage
from pipeline.report.environment import (
    NA,
    format_money,
    format_month,
    format_num,
    format_pct,
)
from pipeline.report.i18n import labels, term
from pipeline.report.sparkline import sparkline

GREEN, AMBER, RED, NONE = "green", "amber", "red", "none"


@dataclass(frozen=True)
class Tile:
    """A headline KPI of the first page: where its months come from, how it is shown."""

    key: str  # history column, target key
    label: str  # label key
    kind: str  # count | money | share | points
    source: str  # history | scores | nps


TILES: tuple[Tile, ...] = (
    Tile("customers", "kpi_customers", "count", "history"),
    Tile("aum", "kpi_aum", "money", "history"),
    Tile("value_at_risk", "value_at_risk", "money", "scores"),
    Tile("rm_coverage", "kpi_rm_coverage", "share", "history"),
    Tile("rm_contact_coverage", "kpi_rm_contacted", "share", "history"),
    Tile("nps", "kpi_nps", "points", "nps"),
    Tile("attrition_rate", "kpi_attrition", "share", "history"),
    Tile("dormant_share", "kpi_dormant_share", "share", "history"),
    Tile("digital_adoption", "kpi_digital_adoption", "share", "history"),
)


def rag(value: Any, target: tuple[float, float] | None) -> str:
    """green / amber / red of a value against (green, amber) -- higher is better when
    green > amber -- or "none" without a target or a value."""
    if target is None or not isinstance(value, float) or math.isnan(value):
        return NONE
    green, amber = target
    if green > amber:
        return GREEN if value >= green else AMBER if value >= amber else RED
    return GREEN if value <= green else AMBER if value <= amber else RED


def shortfall(value: float, target: tuple[float, float]) -> float:
    """How far past the amber line a red value is, relative to the distance between the
    lines (comparable across KPIs of different units)."""
    green, amber = target
    return abs(value - amber) / abs(green - amber)


def formatted(value: Any, kind: str, locale: str, currency: str) -> str:
    """A KPI value as the report writes it (the kpis table's kinds)."""
    if kind == "count":
        return format_num(value, locale=locale)
    if kind == "money":
        return format_money(value, compact=True, locale=locale, currency=currency)
    if kind == "share":
        return format_pct(value, locale=locale)
    return format_num(value, 1, locale=locale)


def _value(v: Any) -> float | None:
    if v is None or v is pd.NA:
        return None
    v = float(v)
    return None if math.isnan(v) else v


@dataclass(frozen=True)
class Series:
    """A KPI month by month (None where there is no value), oldest first."""

    months: tuple[str, ...]
    values: tuple[float | None, ...]

    @property
    def current(self) -> float | None:
        return self.values[-1] if self.values else None

    @property
    def previous(self) -> float | None:
        return self.values[-2] if len(self.values) > 1 else None


def history_series(history: pd.DataFrame, column: str, months: Sequence[str]) -> Series:
    """One column of a scope's history rows, aligned to `months`."""
    by_month = {}
    if column in history.columns:
        by_month = {
            str(p): _value(v) for p, v in zip(history["period"], history[column], strict=True)
        }
    return Series(tuple(months), tuple(by_month.get(m) for m in months))


def nps_series(
    nps_history: dict[str, Any] | None, branch_id: str | None, months: Sequence[str]
) -> Series:
    """The survey stage's NPS by month for a branch (None: the network)."""
    if not nps_history:
        return Series(tuple(months), tuple(None for _ in months))
    values = (
        nps_history.get("network")
        if branch_id is None
        else (nps_history.get("by_branch") or {}).get(branch_id)
    ) or []
    by_month = dict(zip(nps_history.get("months") or [], values, strict=False))
    return Series(tuple(months), tuple(_value(by_month.get(m)) for m in months))


def tile_context(
    tile: Tile,
    series: Series,
    target: tuple[float, float] | None,
    locale: str,
    currency: str,
) -> dict[str, Any]:
    """A first-page tile: value, change on the previous month, status, target, sparkline."""
    current, previous = series.current, series.previous
    status = rag(current, target)
    titles = [
        f"{format_month(m, locale=locale)}: "
        + (
            labels(locale)["not_available"]
            if v is None
            else formatted(v, tile.kind, locale, currency)
        )
        for m, v in zip(series.months, series.values, strict=True)
    ]
    shown = sum(v is not None for v in series.values)
    return {
        "key": tile.key,
        "label": tile.label,
        "kind": tile.kind,
        "value": NA if current is None else current,
        "previous": NA if previous is None else previous,
        "change": NA if current is None or previous is None else current - previous,
        "status": status,
        "target": None
        if target is None
        else {"green": target[0], "amber": target[1], "higher_is_better": target[0] > target[1]},
        "spark": sparkline(series.values, titles, status, labels(locale)[tile.label]),
        "months_shown": shown,
        "months": len(series.months),
    }


def tiles(
    history: pd.DataFrame,
    score_history: pd.DataFrame,
    nps_history: dict[str, Any] | None,
    branch_id: str | None,
    months: Sequence[str],
    targets: dict[str, tuple[float, float]],
    locale: str,
    currency: str,
    coverage: Coverage | None = None,
) -> list[dict[str, Any]]:
    """Every tile of the first page, in TILES order, but those the exports cannot give
    (`coverage`: no balances, no RM data, no NPS item) -- never a zero or a red status
    for data the bank does not have."""
    out = []
    for tile in TILES:
        if coverage is not None and coverage.reason(tile.key) is not None:
            continue
        if tile.source == "history":
            series = history_series(history, tile.key, months)
        elif tile.source == "scores":
            series = history_series(score_history, tile.key, months)
        else:
            series = nps_series(nps_history, branch_id, months)
        out.append(tile_context(tile, series, targets.get(tile.key), locale, currency))
    return out


def _moved(t: dict[str, str], current: float, previous: float | None, text, delta) -> str:
    """ "rose by X to Y" / "fell by X to Y" / "held at Y" in the locale's words."""
    if previous is None:
        return t["story_is"].format(v=text(current))
    change = current - previous
    if delta(abs(change)) == delta(0.0):
        return t["story_flat"].format(v=text(current))
    key = "story_up" if change > 0 else "story_down"
    return t[key].format(d=delta(abs(change)), v=text(current))


@dataclass(frozen=True)
class StoryFacts:
    """The numbers the first page's sentences are written from (one branch or the
    network). Lists are frames in the score stage's order (most value at risk first)."""

    month: str
    previous_month: str | None
    customers: tuple[float | None, float | None]  # (now, previous month)
    aum: tuple[float | None, float | None]
    value_at_risk: tuple[float | None, float | None]
    value_at_risk_share: float | None
    high_value_at_risk: float | None
    horizon_months: int
    tiles: list[dict[str, Any]]
    unassigned: pd.DataFrame
    watchlist: pd.DataFrame
    rm_books: pd.DataFrame
    # the top reason, worded, of the watchlist's first customer with an RM (else its first)
    first_reason: str
    # when the call lists are ranked by the effect of a call: the call expected to save
    # the most (customer_id, rm_id, value_saved, top reason worded), else None
    first_call: tuple[str, str, float, str] | None = None


def story(f: StoryFacts, locale: str, currency: str) -> list[str]:
    """Three to five sentences: what changed since last month, the biggest risk, the
    KPI furthest from its target, whom to call (or assign) first, the RM to back."""
    t = labels(locale)

    def count(v: float) -> str:
        return format_num(v, locale=locale)

    def customers(v: float) -> str:
        return t["count_customers"].format(n=count(v))

    def money(v: float) -> str:
        return format_money(v, compact=True, locale=locale, currency=currency)

    def pct(v: float) -> str:
        return format_pct(v, locale=locale)

    sentences = []
    now_c, prev_c = f.customers
    now_a, prev_a = f.aum
    if now_c is not None:  # AUM beside the customers where the exports hold balances
        key = "story_change" if f.previous_month else "story_first"
        sentences.append(
            t[key if now_a is not None else f"{key}_customers"].format(
                month=format_month(f.previous_month, locale=locale) if f.previous_month else "",
                customers=_moved(t, now_c, prev_c, customers, customers),
                aum=_moved(t, now_a, prev_a, money, money) if now_a is not None else "",
            )
        )
    var, var_prev = f.value_at_risk
    if var is not None and f.value_at_risk_share is not None:
        previous = ""
        if var_prev is not None:
            previous = t["story_risk_change"].format(previous=money(var_prev))
        high_value = f.high_value_at_risk / var if var and f.high_value_at_risk else 0.0
        text = t["story_risk"].format(
            var=money(var),
            months=f.horizon_months,
            previous=previous,
            share=pct(f.value_at_risk_share),
            high_value=pct(high_value),
        )
        sentences.append(text + t["story_end"])
    reds = [
        tile
        for tile in f.tiles
        if tile["status"] == RED and isinstance(tile["value"], float) and tile["target"]
    ]
    if reds:
        worst = max(
            reds,
            key=lambda x: shortfall(x["value"], (x["target"]["green"], x["target"]["amber"])),
        )
        sentences.append(
            t["story_target"].format(
                kpi=t[worst["label"]],
                value=formatted(worst["value"], worst["kind"], locale, currency),
                target=formatted(worst["target"]["green"], worst["kind"], locale, currency),
            )
        )
    elif any(tile["target"] for tile in f.tiles):
        sentences.append(t["story_on_target"])
    high_value = (
        f.unassigned[f.unassigned["high_value"].astype(bool)] if len(f.unassigned) else f.unassigned
    )
    with_rm = f.watchlist[f.watchlist["rm_id"].notna()] if len(f.watchlist) else f.watchlist
    if len(high_value):
        first = high_value.iloc[0]
        sentences.append(
            t["story_assign"].format(
                n=customers(float(len(high_value))),
                customer=str(first["customer_id"]),
                tier=term(locale, first["tier"]),
                aum=money(float(first["aum"])),
                var=money(float(first["value_at_risk"])),
            )
        )
    if f.first_call is not None:
        customer, rm, saved, reason = f.first_call
        sentences.append(
            t["story_call_saved"].format(
                customer=customer, rm=rm, saved=money(saved), reason=reason or t["story_no_reason"]
            )
        )
    elif len(with_rm):
        first = with_rm.iloc[0]
        sentences.append(
            t["story_call"].format(
                customer=str(first["customer_id"]),
                rm=str(first["rm_id"]),
                var=money(float(first["value_at_risk"])),
                reason=f.first_reason or t["story_no_reason"],
            )
        )
    elif len(f.watchlist) and not len(high_value):  # nobody listed has an RM to call
        first = f.watchlist.iloc[0]
        sentences.append(
            t["story_first_listed"].format(
                customer=str(first["customer_id"]),
                var=money(float(first["value_at_risk"])),
                reason=f.first_reason or t["story_no_reason"],
            )
        )
    elif not len(high_value):
        sentences.append(t["story_nobody"])
    if len(f.rm_books) > 1:
        top = f.rm_books.sort_values(["value_at_risk", "rm_id"], ascending=[False, True]).iloc[0]
        sentences.append(
            t["story_rm"].format(
                rm=str(top["rm_id"]),
                var=money(float(top["value_at_risk"])),
                calls=count(float(top["call_list"])),
            )
        )
    return sentences[:5]
