"""What the bank's exports hold, as the reports must say it: optional parts left out in
one line rather than shown as zeros.

A bank may export no balances (a card-spend export), no relationship-manager data, no
questionnaire, or a questionnaire without an NPS item. From the ingest manifest (the
canonical tables the source does not give), the network's KPIs (any RM at all) and the
survey summary, `coverage` says which; `masked` replaces the KPIs that cannot be
computed by the reason (a `NotAvailable` the templates print in place); and
`tier_concentration` flags tiers that do not separate customers (95% or more of them in
one tier: the thresholds do not suit this bank's balances).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipeline.report.environment import NotAvailable

NO_BALANCES = NotAvailable("no_balances")
NO_RM_DATA = NotAvailable("no_rm_data")
NO_RM_CONTACTS = NotAvailable("no_rm_contacts")
NO_NPS = NotAvailable("no_nps")
# Measures (by their column in the KPI tables) that need balances, RM data, RM contacts,
# an NPS item: the headline table, the league table and the first page's tiles all ask
# by the measure, so a KPI shown in three places is left out in all three.
BALANCE_MEASURES = (
    "aum",
    "gini_aum",
    "top10_aum_share",
    "long_tail_share",
    "products_per_customer",
    "attrition_rate",  # who left is seen from balance snapshots (the churn definition)
)
RM_MEASURES = ("rm_coverage", "rm_contact_coverage", "customers_per_rm")
CONTACT_MEASURES = ("rm_contact_coverage",)
NPS_MEASURES = ("nps",)
# Fields of the RM rows (coverage by tier, books, an RM's page) that need contact records.
CONTACT_FIELDS = ("contacted", "network_contacted")
# A tier holding this share of the customers or more: the tiers do not separate them.
TIER_CONCENTRATION = 0.95


@dataclass(frozen=True)
class Coverage:
    """Which optional parts this bank's exports hold."""

    balances: bool
    rm: str  # ok | no_contacts (RM ids, no contact records) | none (no RM data at all)
    nps: bool  # a customer survey with an NPS item, answered in the period

    def reason(self, measure: str) -> NotAvailable | None:
        """Why a measure (its KPI column) cannot be shown, or None when it can."""
        if measure in BALANCE_MEASURES and not self.balances:
            return NO_BALANCES
        if measure in RM_MEASURES and self.rm == "none":
            return NO_RM_DATA
        if measure in CONTACT_MEASURES and self.rm == "no_contacts":
            return NO_RM_CONTACTS
        if measure in NPS_MEASURES and not self.nps:
            return NO_NPS
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"balances": self.balances, "rm": self.rm, "nps": self.nps}

    def unknown_contacts(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """RM rows (coverage by tier, books, an RM's page) with who was contacted replaced
        by the reason when the exports hold no contact records: not 0%, not known."""
        if self.rm == "no_contacts":
            return [{**r, **{k: NO_RM_CONTACTS for k in CONTACT_FIELDS if k in r}} for r in rows]
        return rows


def coverage(
    manifest: dict[str, Any], network_kpi: pd.Series, customer_survey: dict[str, Any] | None
) -> Coverage:
    """What the exports hold: from the ingest manifest's `not_in_source` (an older manifest
    without it: everything), whether any active customer has an RM, and the customer
    survey's summary."""
    absent = set(manifest.get("not_in_source") or ())
    rm_count = network_kpi.get("rm_count") if network_kpi is not None else None
    has_rm = rm_count is not None and not pd.isna(rm_count) and float(rm_count) > 0
    contacts = "rm_contacts" not in absent
    rm = "ok" if contacts or has_rm else "none"
    if has_rm and not contacts:
        rm = "no_contacts"
    survey = customer_survey or {}
    nps = (
        survey.get("status") == "ok"
        and bool(survey.get("n_responses"))
        and survey.get("nps_item") is not None
    )
    return Coverage(balances=holds_balances(manifest), rm=rm, nps=nps)


def holds_balances(manifest: dict[str, Any]) -> bool:
    """Whether the exports hold balance snapshots (the ingest manifest's `not_in_source`;
    an older manifest without it: they do)."""
    return "balances" not in set(manifest.get("not_in_source") or ())


def masked(rows: list[dict[str, Any]], cov: Coverage) -> list[dict[str, Any]]:
    """Headline KPI rows with every value the exports cannot give replaced by the reason."""
    out = []
    for row in rows:
        reason = cov.reason(row["measure"])
        if reason is None:
            out.append(row)
        else:
            out.append(
                {**row, "value": reason, "previous": reason, "change": reason, "network": reason}
            )
    return out


def left_out(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The KPI table's rows (those the exports can give), and what is left out, by reason:
    [{"reason": label key, "kpis": [label keys]}], said once under the table."""
    shown, out = [], {}
    for row in rows:
        value = row["value"]
        if isinstance(value, NotAvailable) and value.reason in REASONS:
            out.setdefault(value.reason, []).append(row["label"])
        else:
            shown.append(row)
    return shown, [{"reason": r, "kpis": k} for r, k in out.items()]


REASONS = {r.reason for r in (NO_BALANCES, NO_RM_DATA, NO_RM_CONTACTS, NO_NPS)}


def tier_concentration(tier_rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The tier holding TIER_CONCENTRATION or more of the customers, if one does."""
    shares = [
        (r["customer_share"], r["tier"])
        for r in tier_rows
        if not isinstance(r["customer_share"], NotAvailable)
    ]
    if not shares:
        return None
    share, tier = max(shares, key=lambda x: x[0])
    if share < TIER_CONCENTRATION:
        return None
    return {"tier": tier, "share": float(share), "threshold": TIER_CONCENTRATION}
