"""The templates' view of the effect of an RM's call (pipeline.scoring.calls): how this
month's call lists are ranked and why, what they are expected to save, what earlier
lists did (the closed loop), and, for the network's model appendix, the estimate's
assumptions and diagnostics. Everything comes from the model card's `contact_effect`
section and the score stage's branch figures; nothing is recomputed here."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.report.context_kpis import kpi_value
from pipeline.report.environment import NA, NotAvailable
from pipeline.report.i18n import term
from pipeline.report.vocabulary import reasons

RANKING_EFFECT = "expected_value_saved"  # pipeline.scoring.calls.RANKING_EFFECT
STATUSES = ("ok", "fallback", "not_estimated", "switched_off")


def _num(value: Any) -> float | NotAvailable:
    return NA if value is None or (isinstance(value, float) and pd.isna(value)) else float(value)


def _interval(entry: dict[str, Any] | None) -> dict[str, Any]:
    """An estimate with its 95% interval ({effect|difference, ci}) as the report shows it."""
    entry = entry or {}
    ci = entry.get("ci") or [None, None]
    value = entry.get("effect", entry.get("difference"))
    return {"value": _num(value), "low": _num(ci[0]), "high": _num(ci[1])}


def ranking(card: dict[str, Any]) -> dict[str, Any]:
    """How this month's call lists are ranked: by expected value saved when the effect
    passed its checks, else by value at risk, with the status that says why (the
    modellers' message stays in the model card and the network appendix)."""
    status = card.get("status")
    return {
        "by_effect": card.get("ranking") == RANKING_EFFECT,
        "status": status if status in STATUSES else "not_estimated",
        "contact_cost": _num(card.get("contact_cost")),
    }


def lists_figures(branch_score: pd.Series) -> dict[str, Any]:
    """A branch's (or the network's) call lists this month: customers to call, the
    value their calls are expected to save, and customers not to call."""
    return {
        "calls": kpi_value(branch_score, "call_list_customers"),
        "expected_value_saved": kpi_value(branch_score, "expected_value_saved"),
        "do_not_call": kpi_value(branch_score, "do_not_call_customers"),
    }


def closed_loop_rows(card: dict[str, Any], branch_id: str | None) -> list[dict[str, Any]]:
    """What earlier months' call lists did, newest first: of the customers listed to call,
    the churn rate of those contacted against those not contacted, the difference (not
    contacted less contacted: positive when calls kept customers) with its 95% interval,
    and the effect the model expected. One branch's rows, or the network's (None)."""
    rows = []
    for entry in card.get("closed_loop") or []:
        part = entry.get("network") if branch_id is None else entry["by_branch"].get(branch_id)
        if part is None:
            continue
        rows.append(
            {
                "period": entry["lists_period"],
                "months": float(entry["months"]),
                "contacted": float(part["contacted"]["customers"]),
                "contacted_rate": _num(part["contacted"].get("churn_rate")),
                "not_contacted": float(part["not_contacted"]["customers"]),
                "not_contacted_rate": _num(part["not_contacted"].get("churn_rate")),
                "difference": _interval(part),
                "expected": _num(part.get("expected_effect")),
            }
        )
    return rows


def _groups(entries: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "group": str(e["group"]),
            "customers": float(e["customers"]),
            "effect": _interval(e),
            "naive": _num(e.get("naive_difference")),
        }
        for e in entries or []
    ]


def segment_words(segment: str, columns: list[str], locale: str) -> str:
    """A segment as the score stage names it ("affluent / False": the `segments` columns'
    values joined by " / ") in words: "Affluent · not enrolled in digital banking"."""
    values = segment.split(" / ")
    if len(values) != len(columns):
        return segment
    words = []
    for column, value in zip(columns, values, strict=True):
        if value in ("True", "False"):
            key = f"{column}_{'yes' if value == 'True' else 'no'}"
            words.append(reasons(locale).get(key, f"{column}: {value}"))
        else:
            words.append(term(locale, value))
    return " · ".join(words)


def effect_appendix(card: dict[str, Any], locale: str = "en") -> dict[str, Any]:
    """The network appendix on the effect of a call: the verdict and its reasons, the
    assumptions, who was contacted, the propensity and overlap, the average effect
    against the naive difference, relative effects by segment, effects by tier and
    branch, and the check out of time (gain, Qini areas, value saved by each ranking)."""
    out: dict[str, Any] = {
        **ranking(card),
        "message": card.get("message"),
        "estimated": "average_effect" in card,
        "outcome": card.get("outcome", ""),
        "overlap": card.get("overlap") or [None, None],
    }
    if not out["estimated"]:
        return out
    propensity = card["propensity"]
    relative = card["relative_effect"]
    check = card["check"]
    saved = check["value_saved"]
    out.update(
        windows=float(len(card["windows"]["final"])),
        customers=float(card["customers"]["final"]),
        contacted=float(card["contacted"]["final"]),
        quantiles=[
            {"q": float(q), "value": float(v)} for q, v in sorted(propensity["quantiles"].items())
        ],
        outside_overlap=float(propensity["outside_overlap"]),
        outside_overlap_share=float(propensity["outside_overlap_share"]),
        average=_interval(card["average_effect"]),
        naive=_num(card["naive_difference"]),
        relative={
            "overall": _num(relative["overall"]),
            "low": _num(relative["overall"] - 1.96 * relative["overall_se"]),
            "high": _num(relative["overall"] + 1.96 * relative["overall_se"]),
            "segments": list(relative["segments"]),
            "rows": [
                {
                    "segment": segment_words(str(r["segment"]), relative["segments"], locale),
                    "customers": float(r["customers"]),
                    "raw": _num(r.get("raw")),
                    "shrunk": _num(r.get("relative_effect")),
                    "shrunk_se": _num(r.get("relative_effect_se")),
                }
                for r in relative["by_segment"]
            ],
        },
        by_tier=_groups(card.get("by_tier")),
        by_branch=_groups(card.get("by_branch")),
        check={
            "window_start": check["window_start"],
            "customers": float(check["customers"]),
            "share": float(check["share"]),
            "qini": {k: _num(v) for k, v in check["qini_area"].items()},
            "top_decile": _interval(check["top_decile_effect"]),
            "average": _interval(check["average_effect"]),
            "value_saved": {k: _num(v) for k, v in saved.items()},
            "at_random": _num(check.get("value_saved_at_random")),
            "versus": _interval(check["effect_versus_value_at_risk"]),
            "worse": bool(check["effect_ranking_worse"]),
        },
        gain_curves=check["gain_curves"],
        closed_loop=closed_loop_rows(card, None),
    )
    return out
