"""Numbers for appendix B's drift table: the population stability index (PSI) of the
key features and the score distributions against the previous period, from the model
card's `drift` section (pipeline.drift). Pure functions over the card."""

from __future__ import annotations

from typing import Any

from pipeline.report.environment import NA, NotAvailable

# why a measure has no PSI (pipeline.drift reason codes) -> the label shown instead
REASON_LABELS = {
    "no_previous": "drift_no_previous",
    "not_in_both": "not_available",
    "no_previous_values": "drift_no_previous_values",
    "no_customers": "not_available",
}


def drift_rows(drift: dict[str, Any]) -> list[dict[str, Any]]:
    """Measure, kind, PSI (or why there is none) and the shifted flag, in card order."""
    rows = []
    for m in drift.get("measures") or []:
        value = m.get("psi")
        psi = (
            NotAvailable(REASON_LABELS.get(m.get("reason"), "not_available"))
            if value is None
            else float(value)
        )
        rows.append(
            {"measure": m["measure"], "kind": m["kind"], "psi": psi, "shifted": bool(m["shifted"])}
        )
    return rows


def shifted_count(rows: list[dict[str, Any]]) -> int:
    """How many measures moved by more than the threshold."""
    return sum(r["shifted"] for r in rows)


def drift_table(model_card: dict[str, Any]) -> dict[str, Any]:
    """The drift table's context; `available` False when the card has no drift section
    (a card written before drift was measured)."""
    drift = model_card.get("drift")
    if not drift:
        return {
            "available": False,
            "previous_period": NA,
            "threshold": NA,
            "rows": [],
            "shifted": 0,
        }
    rows = drift_rows(drift)
    return {
        "available": True,
        "previous_period": str(drift["previous_period"]),
        "threshold": float(drift["threshold"]),
        "rows": rows,
        "shifted": shifted_count(rows),
    }
