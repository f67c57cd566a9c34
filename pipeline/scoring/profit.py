"""What each customer earned the bank in each of the last months, by component.

For calendar month j (0 = the as-of month, 1 the one before, ...) and customer i:

- balance_margin: sum over products of the month's average balance x the product's
  annual margin rate (value.margin_rates) / 12. Balances are month-end snapshots, so a
  month's average balance is the mean of its opening (the previous month end) and
  closing balance; a customer with no row at a month end held 0 there. The first month
  end of the data has no opening snapshot: its closing balance stands for the month.
- interchange: the revenue of card spend (value.card_spend_txn_types);
- fees: the revenue of every other transaction;
  each kept apart by who made the transaction, `_by_customer` (customer-initiated) and
  `_by_bank` (the bank's own postings: an annual card fee, say), since the BTYD model
  carries the customer's own transactions forward, interchange and fees alike
  (pipeline.scoring.value);
- cost_to_serve: each customer-initiated transaction's cost by channel
  (value.cost_per_transaction).

A transaction's revenue is the export's revenue column (null earns nothing) when it has
one, else the configured tariff: interchange_rate x amount on card spend, fee_schedule
per transaction on the other types. monthly profit = balance_margin + interchange + fees
- cost_to_serve. Money is summed as exact decimals in the engine, so the figures do not
depend on thread scheduling (same input, same bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np
import pandas as pd

from pipeline.engine import Engine
from pipeline.periods import day_after, month_end, month_start
from pipeline.scoring.settings import ValueSettings

# Money is cast to 38 digits before it is multiplied by a rate: DuckDB multiplies two
# decimals of at most 18 digits in 64 bits and stops on overflow (a balance of a few
# billion times a rate) instead of widening.
MONEY = "DECIMAL(38,4)"
RATE = "DECIMAL(12,8)"
COMPONENTS = (
    "balance_margin",
    "interchange_by_customer",
    "interchange_by_bank",
    "fees_by_customer",
    "fees_by_bank",
    "cost_to_serve",
)
REVENUE = COMPONENTS[:-1]  # a prefix: MonthlyProfit.revenue sums a slice
# what a report shows (interchange, fees) and what the BTYD model values: the revenue of
# the customer's own transactions
KINDS = {
    "interchange": ("interchange_by_customer", "interchange_by_bank"),
    "fees": ("fees_by_customer", "fees_by_bank"),
}
OWN_REVENUE = ("interchange_by_customer", "fees_by_customer")
_TXN_PARTS = COMPONENTS[1:]


@dataclass(frozen=True)
class MonthlyProfit:
    """Per customer (`customer_id`, sorted) and month j (0 = the as-of month, counting
    back), each component's amount: `values[i, j, k]` for COMPONENTS[k]; and the monthly
    margin the balances held at each month end would earn, `closing_margin[i, j]` (j = 0:
    the as-of month end), the best estimate of the months ahead (balances are stocks);
    `months_open[i]`, the calendar months from the customer's opening month to the as-of
    month, both counted (1: opened in the as-of month; None: every customer opened
    before the months read), so that a newer customer's flows are averaged over the
    months they were a customer."""

    as_of: date
    customer_id: pd.Series
    values: np.ndarray
    closing_margin: np.ndarray
    months_open: np.ndarray | None = None

    @property
    def months(self) -> int:
        return self.values.shape[1]

    def component(self, name: str) -> np.ndarray:
        """customers x months of one component, or of a kind's two (KINDS)."""
        if name in KINDS:
            return sum(self.component(part) for part in KINDS[name])
        return self.values[:, :, COMPONENTS.index(name)]

    def revenue(self) -> np.ndarray:
        """customers x months of everything earned: balance margin, interchange, fees
        (the components before cost_to_serve: a slice, not a copy of the array)."""
        return self.values[:, :, : len(REVENUE)].sum(axis=2)

    def rows(self, customer_id: pd.Series) -> np.ndarray:
        """Each customer's row of `values` (-1: no balance or transaction in the months
        read), by customer_id."""
        return self._index.get_indexer(customer_id.astype(str))

    @cached_property
    def _index(self) -> pd.Index:
        return pd.Index(self.customer_id)  # built once: the value model looks up twice

    def profit(self) -> np.ndarray:
        """customers x months of profit: revenue less cost to serve."""
        return self.revenue() - self.component("cost_to_serve")


def _literal(value: float | str) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return f"CAST({value!r} AS {RATE})"


def _case(column: str, pairs: tuple[tuple[str, float], ...], times: str | None = None) -> str:
    """CASE column WHEN key THEN value [* times] ... ELSE 0 END, exact decimals."""
    if not pairs:
        return f"CAST(0 AS {RATE})"
    scale = f" * {times}" if times else ""
    whens = " ".join(f"WHEN {_literal(k)} THEN {_literal(v)}{scale}" for k, v in pairs)
    return f"CASE {column} {whens} ELSE CAST(0 AS {RATE}) END"


def balance_margins_sql(month_ends: list[date], s: ValueSettings) -> str:
    """Per customer, the annual margin on the balances held at each month end
    (margin_<j> for the j-th of `month_ends`), exact decimals."""
    ends = " UNION ALL ".join(
        f"SELECT DATE '{d.isoformat()}' AS month_end, {j} AS j" for j, d in enumerate(month_ends)
    )
    margin = _case("b.product", s.margin_rates, f"CAST(b.balance AS {MONEY})")
    pivot = ", ".join(
        f"sum(margin) FILTER (WHERE j = {j}) AS margin_{j}" for j in range(len(month_ends))
    )
    return f"""
        SELECT customer_id, {pivot}
        FROM (
            SELECT b.customer_id, e.j, {margin} AS margin
            FROM balances b JOIN ({ends}) AS e ON b.month_end = e.month_end
        ) AS m
        GROUP BY customer_id
    """


def transactions_sql(
    engine: Engine, as_of: date, months: int, s: ValueSettings
) -> tuple[str, list]:
    """Per customer, each transaction component in each of the `months` months ending
    with as_of's (<component>_<j>), exact decimals; and the query's parameters."""
    starts = [month_start(as_of, j) for j in range(months)]
    month_of = " ".join(f"WHEN txn_time >= ? THEN {j}" for j in range(months))
    card = (
        f"txn_type IN ({', '.join(_literal(t) for t in s.card_spend_txn_types)})"
        if s.card_spend_txn_types
        else "FALSE"
    )
    if "revenue" in engine.columns("transactions"):
        revenue = f"coalesce(CAST(revenue AS {MONEY}), 0)"
    else:
        tariff = _case("txn_type", s.fee_schedule)
        revenue = (
            f"CASE WHEN {card} THEN CAST(amount AS {MONEY}) * {_literal(s.interchange_rate)}"
            f" ELSE {tariff} END"
        )
    cost = _case("channel", s.cost_per_transaction)
    parts = {
        "interchange_by_customer": "CASE WHEN card AND customer_initiated THEN revenue ELSE 0 END",
        "interchange_by_bank": "CASE WHEN card AND NOT customer_initiated THEN revenue ELSE 0 END",
        "fees_by_customer": "CASE WHEN NOT card AND customer_initiated THEN revenue ELSE 0 END",
        "fees_by_bank": "CASE WHEN NOT card AND NOT customer_initiated THEN revenue ELSE 0 END",
        "cost_to_serve": "CASE WHEN customer_initiated THEN cost ELSE 0 END",
    }
    pivot = ", ".join(
        f"sum({expr}) FILTER (WHERE j = {j}) AS {name}_{j}"
        for name, expr in parts.items()
        for j in range(months)
    )
    sql = f"""
        SELECT customer_id, {pivot}
        FROM (
            SELECT customer_id, customer_initiated, {card} AS card, {revenue} AS revenue,
                   {cost} AS cost, CASE {month_of} END AS j
            FROM transactions
            WHERE txn_time >= ? AND txn_time < ?
        ) AS t
        GROUP BY customer_id
    """
    return sql, [*starts, starts[-1], day_after(as_of)]


def monthly_profit(engine: Engine, as_of: date, months: int, s: ValueSettings) -> MonthlyProfit:
    """Every customer with a balance or a transaction in the `months` months ending with
    as_of's month, and what each component earned in each of them."""
    month_ends = [month_end(as_of, j) for j in range(months + 1)]  # one more: the opening
    first = engine.rows("SELECT min(CAST(month_end AS DATE)) FROM balances")[0][0]
    txns, params = transactions_sql(engine, as_of, months, s)
    names = [f"margin_{j}" for j in range(months + 1)]
    names += [f"{name}_{j}" for name in _TXN_PARTS for j in range(months)]
    # no balance, or no transaction, in a month: 0 (in SQL, so no column needs a NaN pass)
    amounts = ", ".join(f"coalesce({c}, 0) AS {c}" for c in names)
    # months from the opening month to as-of's, both counted (no open date, or no customer
    # table as in a frame of balances and transactions alone: opened long ago)
    as_of_month = as_of.year * 12 + as_of.month
    opened, customers = str(as_of_month), ""
    if engine.has_table("customers"):
        opened = (
            f"coalesce({as_of_month} - (year(c.open_date) * 12 + month(c.open_date)) + 1, {opened})"
        )
        customers = "LEFT JOIN customers c USING (customer_id)"
    columns = engine.numbers(
        f"""
        WITH bal AS ({balance_margins_sql(month_ends, s)}), tx AS ({txns})
        SELECT customer_id, {amounts}, {opened} AS months_open
        FROM bal FULL OUTER JOIN tx USING (customer_id) {customers}
        ORDER BY customer_id
        """,
        params,
    )
    ids = pd.Series(columns.pop("customer_id"), name="customer_id").astype(str)
    values = np.zeros((len(ids), months, len(COMPONENTS)))
    margin_at = [columns[f"margin_{j}"] for j in range(months + 1)]
    k = COMPONENTS.index("balance_margin")
    for j in range(months):
        has_opening = first is not None and month_ends[j + 1] >= first
        closing = margin_at[j]
        average = (closing + margin_at[j + 1]) / 2 if has_opening else closing
        values[:, j, k] = average / 12
    for name in _TXN_PARTS:
        for j in range(months):
            values[:, j, COMPONENTS.index(name)] = columns[f"{name}_{j}"]
    months_open = np.asarray(columns["months_open"], dtype=np.int64)
    return MonthlyProfit(as_of, ids, values, np.column_stack(margin_at) / 12, months_open)
