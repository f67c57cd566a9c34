"""The sample bank's true monthly profit per customer: its balances and activity under
the configured rates (config `value`), before any dirt.

The same definitions as the value model (pipeline.scoring.profit), computed from the
generator's own arrays: a month's balance margin is the mean of its opening and closing
balances x the product's annual margin rate / 12 (the first generated month: its
closing balance); revenue is each transaction's revenue; cost to serve is the channel
cost of every customer-initiated transaction. Profit = margin + revenue - cost.
"""

from __future__ import annotations

import numpy as np

from pipeline.sample.activity import CUSTOMER_TYPES, T
from pipeline.schema import CHANNELS, PRODUCTS


def true_monthly_profit(
    balances: np.ndarray,
    transactions: dict[str, np.ndarray],
    margin_rates: dict[str, float],
    cost_per_transaction: dict[str, float],
) -> np.ndarray:
    """customers x months of profit, from the chunk's balances (customers x months x
    products, NaN where no row) and its transactions (customer, month, type, channel,
    revenue in cents)."""
    n, months, _ = balances.shape
    rates = np.array([margin_rates[p] for p in PRODUCTS])
    at_month_end = np.nan_to_num(balances) @ rates  # annual margin on the month-end balances
    opening = np.concatenate([at_month_end[:, :1], at_month_end[:, :-1]], axis=1)
    margin = (opening + at_month_end) / 2 / 12
    cell = transactions["customer"] * months + transactions["month"]
    revenue = np.bincount(cell, transactions["revenue"] / 100.0, minlength=n * months)
    own = np.isin(transactions["type"], [T[t] for t in CUSTOMER_TYPES])
    channel_cost = np.array([cost_per_transaction[c] for c in CHANNELS])
    cost = np.bincount(
        cell, np.where(own, channel_cost[transactions["channel"]], 0.0), minlength=n * months
    )
    return margin + (revenue - cost).reshape(n, months)
