"""The raw exports' columns, formatted as text (the bank's CSV layout of
configs/sources/sample.yml), and the ground-truth table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.sample import identity
from pipeline.sample import params as P
from pipeline.sample import writer as w
from pipeline.sample.activity import TXN_TYPES
from pipeline.sample.core import Chunk, Setup, stream, truth_columns
from pipeline.sample.population import ATTRITION_KINDS
from pipeline.sample.profit import true_monthly_profit
from pipeline.schema import CHANNELS, DIRECTIONS, GENDERS, PRODUCTS

CUSTOMER_COLUMNS = (
    "customer_id",
    "branch_id",
    "name",
    "national_id",
    "phone",
    "open_date",
    "birth_date",
    "gender",
    "rm_id",
    "status",
    "close_date",
    "digital_enrolled",
)
TRANSACTION_COLUMNS = (
    "txn_id",
    "customer_id",
    "txn_time",
    "amount",
    "direction",
    "channel",
    "txn_type",
    "revenue",
)
BALANCE_COLUMNS = ("customer_id", "month_end", "product", "balance")
CONTACT_COLUMNS = ("customer_id", "rm_id", "contact_date", "channel", "outcome")


def customer_ids(setup: Setup, numbers: np.ndarray) -> pa.Array:
    return w.ids("C", numbers, setup.id_width)


def unknown_ids(setup: Setup, rng: np.random.Generator):
    """A maker of customer ids that look real but are in no customer file."""

    def make(k: int) -> pa.Array:
        return customer_ids(
            setup, setup.n_customers + 1 + rng.integers(0, 9 * setup.n_customers + 999, k)
        )

    return make


def branch_ids(setup: Setup, codes: np.ndarray) -> pa.Array:
    return w.labels(codes, [b.branch_id for b in setup.branches])


def rm_ids(setup: Setup, branch: np.ndarray, rm: np.ndarray, team: bool = False) -> pa.Array:
    """ "RM" + branch number + RM number within the branch; for none, empty -- or, with
    `team`, the branch's outbound team, RM number 0 (who makes campaign calls)."""
    digits = max(3, len(str(int(setup.rm_counts.max()))))
    width = max(2, len(str(len(setup.branches)))) + digits
    text = w.ids("RM", (branch + 1) * 10**digits + rm + 1, width)
    return text if team else pc.if_else(pa.array(rm < 0), pa.scalar(""), text)


def customers(setup: Setup, chunk: Chunk, index: int) -> dict[str, pa.Array]:
    cust = chunk.customers
    n = len(cust["branch"])
    rng = stream(setup.seed, index, "identity")
    closed = cust["close_day"] != P.NO_DAY
    return {
        "customer_id": customer_ids(setup, chunk.first_number + np.arange(n)),
        "branch_id": branch_ids(setup, cust["branch"]),
        "name": pa.array(identity.names(rng, n)),
        "national_id": pa.array(identity.national_ids(rng, cust["birth_day"], cust["female"])),
        "phone": pa.array(identity.phones(rng, n)),
        "open_date": w.dates(cust["open_day"]),
        "birth_date": w.dates(cust["birth_day"]),
        "gender": w.labels(
            np.where(cust["female"], GENDERS.index("F"), GENDERS.index("M")), GENDERS
        ),
        "rm_id": rm_ids(setup, cust["branch"], chunk.rm),
        "status": w.labels(closed.astype(np.int64), ("active", "closed")),
        "close_date": w.dates(cust["close_day"]),
        "digital_enrolled": w.labels(cust["digital"].astype(np.int64), ("false", "true")),
    }


def transactions(
    setup: Setup, chunk: Chunk, rows: np.ndarray, month: int, first_seq: int
) -> dict[str, pa.Array]:
    """The chunk's transactions of one month (`rows` of chunk.transactions)."""
    t = {k: v[rows] for k, v in chunk.transactions.items()}
    stamp = setup.window.month_labels[month].replace("-", "")
    return {
        "txn_id": w.ids(f"T{stamp}", first_seq + np.arange(len(rows)), 8),
        "customer_id": customer_ids(setup, chunk.first_number + t["customer"]),
        "txn_time": w.timestamps(t["seconds"]),
        "amount": w.money(t["cents"]),
        "direction": w.labels(t["direction"], DIRECTIONS),
        "channel": w.labels(t["channel"], CHANNELS),
        "txn_type": w.labels(t["type"], TXN_TYPES),
        "revenue": w.money(t["revenue"]),
    }


def balances(setup: Setup, chunk: Chunk, month: int) -> dict[str, pa.Array]:
    """The chunk's balance snapshot rows at one month end, by customer and product name."""
    values = chunk.balances[:, month, :]
    order = np.argsort(np.array(PRODUCTS))  # alphabetical product order
    customer, k = np.nonzero(~np.isnan(values[:, order]))
    product = order[k]
    n = len(customer)
    return {
        "customer_id": customer_ids(setup, chunk.first_number + customer),
        "month_end": w.dates(np.full(n, setup.window.month_end_days[month])),
        "product": w.labels(product, PRODUCTS),
        "balance": w.money(np.round(values[customer, product] * 100).astype(np.int64)),
    }


def contacts(setup: Setup, chunk: Chunk) -> dict[str, pa.Array]:
    c = chunk.contacts
    return {
        "customer_id": customer_ids(setup, chunk.first_number + c["customer"]),
        "rm_id": rm_ids(setup, chunk.customers["branch"][c["customer"]], c["rm"], team=True),
        "contact_date": w.dates(c["day"]),
        "channel": w.labels(c["channel"], P.CONTACT_CHANNELS),
        "outcome": w.labels(c["outcome"], P.CONTACT_OUTCOMES),
    }


def truth(setup: Setup, chunk: Chunk) -> pa.Table:
    """The chunk's rows of customers_truth.parquet."""
    cust = chunk.customers
    t = truth_columns(setup, chunk)
    n = len(cust["branch"])
    attrited = t["attrition_day"] != P.NO_DAY
    att_dates = pa.array(
        np.where(attrited, t["attrition_day"], 0).astype(np.int32), type=pa.date32()
    )
    att_dates = pc.if_else(pa.array(attrited), att_dates, pa.scalar(None, pa.date32()))
    months = pc.if_else(
        pa.array(attrited),
        pc.utf8_slice_codeunits(pc.cast(att_dates, pa.string()), 0, 7),
        pa.scalar(None, pa.string()),
    )
    tiers = list(setup.tier_names)

    def dates(days: np.ndarray) -> pa.Array:  # NO_DAY -> null
        there = days != P.NO_DAY
        values = pa.array(np.where(there, days, 0).astype(np.int32), type=pa.date32())
        return pc.if_else(pa.array(there), values, pa.scalar(None, pa.date32()))

    return pa.table(
        {
            "customer_id": customer_ids(setup, chunk.first_number + np.arange(n)),
            "branch_id": branch_ids(setup, cust["branch"]),
            "segment": w.labels(t["segment"], P.SEGMENTS),
            "tier_start": w.labels(t["tier_start"], tiers),
            "tier_end": w.labels(t["tier_end"], tiers),
            "aum_start": pa.array(t["aum_start"]),
            "aum_end": pa.array(t["aum_end"]),
            "open_date": pa.array(cust["open_day"].astype(np.int32), type=pa.date32()),
            "digital_enrolled": pa.array(cust["digital"]),
            "has_rm": pa.array(chunk.rm >= 0),
            "lambda_week": pa.array(t["lambda_week"]),
            "mu_week": pa.array(t["mu_week"]),
            "annual_dropout_probability": pa.array(t["annual_dropout_probability"]),
            "attrition_date": att_dates,
            "attrition_month": months,
            "attrition_kind": w.labels(t["attrition_kind"], ATTRITION_KINDS),
            # a contact won the customer back: first silent dropout, and back from
            "first_attrition_date": dates(t["first_attrition_day"]),
            "winback_date": dates(t["winback_day"]),
            "dormant_at_start": pa.array(t["dormant_at_start"]),
            "drain_months": pa.array(t["drain_months"].astype(np.int64)),
            "satisfaction": pa.array(t["satisfaction"]),
        }
    )


def monthly_profit(setup: Setup, chunk: Chunk, value: dict[str, Any]) -> pa.Table:
    """The chunk's rows of monthly_profit.parquet: customer_id, then each generated
    month's true profit (a column per month, YYYY-MM) under the configured rates."""
    profit = true_monthly_profit(
        chunk.balances, chunk.transactions, value["margin_rates"], value["cost_per_transaction"]
    )
    n = profit.shape[0]
    columns = {"customer_id": customer_ids(setup, chunk.first_number + np.arange(n))}
    for m, label in enumerate(setup.window.month_labels):
        columns[label] = pa.array(profit[:, m])
    return pa.table(columns)


def contact_effect(setup: Setup, chunk: Chunk) -> pa.Table:
    """The chunk's rows of contact_effect.parquet: customer_id, then per generated month
    (YYYY-MM) by how much an RM's contact that month would lower the customer's chance
    of leaving within P.TRUTH_HORIZON_MONTHS (0: not open, or already gone)."""
    effect = chunk.true_contact_effect
    n = effect.shape[0]
    columns = {"customer_id": customer_ids(setup, chunk.first_number + np.arange(n))}
    for m, label in enumerate(setup.window.month_labels):
        columns[label] = pa.array(effect[:, m])
    return pa.table(columns)
