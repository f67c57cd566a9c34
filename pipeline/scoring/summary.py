"""The BTYD summary (frequency, recency, T, monetary_value) in DuckDB SQL.

Follows lifetimes' `summary_data_from_transaction_data` exactly: a transaction's time is
cut to its clv.event_period (day, or ISO week starting Monday); several transactions in
one period are one event whose value is their sum; times are measured in clv.time_unit
(days, or weeks of 7 days). lifetimes' freq "D" is event_period day in days, freq "W"
week in weeks, and freq "D" with freq_multiplier 7 -- the CDNOW summary Fader and
Hardie published, and the default here -- day in weeks. Per customer:

- frequency: distinct periods with a customer-initiated transaction, minus the first;
- recency: first to last such period, in units;
- T: first period to the as-of date's period, in units;
- monetary_value: mean value of the repeat events (the first excluded), 0 without any.

Only customer-initiated transactions up to the as-of date count; customers without one
have no BTYD history and are absent from the summary.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline.engine import Engine
from pipeline.errors import ConfigError
from pipeline.periods import day_after, month_end, week_start
from pipeline.scoring.settings import ClvSettings

UNIT_DAYS = {"day": 1, "week": 7}
# Values are summed as decimals: exact, so results do not depend on thread scheduling
# (and the repeat events' total is the total less the first event's value, exactly),
# and the mean is that exact sum as a double over the count: the same bits in DuckDB and
# Spark SQL (their avg of decimals rounds differently: long double vs decimal(38,12)).
EXACT = "DECIMAL(38, 8)"


def _period_sql(column: str, event_period: str) -> str:
    if event_period == "day":
        return f"CAST({column} AS DATE)"
    if event_period == "week":
        return f"CAST(date_trunc('week', {column}) AS DATE)"
    raise ConfigError(f"clv.event_period: must be day or week, got {event_period!r}")


def event_value_sql(engine: Engine, s: ClvSettings) -> tuple[str, list]:
    """SQL expression (and its parameters) for a transaction's value to the bank.

    value_source revenue: the revenue column (null counts as 0: nothing earned).
    value_source margin_rates: amount x the txn_type's rate; a txn_type without a rate
    earns 0 (listed by `unrated_txn_types`). Zero and negative values are kept in the
    events; Gamma-Gamma is fitted only on customers whose mean value is positive.
    """
    if s.value_source == "revenue":
        if "revenue" not in engine.columns("transactions"):
            raise ConfigError(
                "clv.value_source: 'revenue' but the transactions table has no revenue column; "
                "set clv.value_source: margin_rates and give clv.margin_rates by txn_type"
            )
        return "coalesce(revenue, 0.0)", []
    if not s.margin_rates:
        raise ConfigError(
            "clv.margin_rates: empty, but clv.value_source is margin_rates; "
            "give a share of amount earned per txn_type"
        )
    cases = " ".join("WHEN ? THEN CAST(? AS DOUBLE)" for _ in s.margin_rates)
    params: list = [x for k, v in s.margin_rates for x in (k, v)]
    return f"amount * (CASE txn_type {cases} ELSE 0.0 END)", params


def unrated_txn_types(engine: Engine, s: ClvSettings, as_of: date) -> list[str]:
    """Customer-initiated txn_types with no margin rate (they earn 0), for the model card."""
    if s.value_source != "margin_rates":
        return []
    rows = engine.rows(
        "SELECT DISTINCT txn_type FROM transactions WHERE customer_initiated AND txn_time < ? "
        "ORDER BY txn_type",
        [day_after(as_of)],
    )
    return [r[0] for r in rows if r[0] not in s.rated_txn_types]


def btyd_summary(engine: Engine, as_of: date, s: ClvSettings) -> pd.DataFrame:
    """One row per customer with a customer-initiated transaction up to `as_of`.

    Columns: customer_id, frequency, recency, T, monetary_value (floats, lifetimes'
    definitions, in clv.time_unit), sorted by customer_id.
    """
    period = _period_sql("txn_time", s.event_period)
    value, value_params = event_value_sql(engine, s)
    sql = f"""
        WITH events AS (
            SELECT customer_id, {period} AS p, sum(CAST({value} AS {EXACT})) AS v
            FROM transactions
            WHERE customer_initiated AND txn_time < ?
            GROUP BY customer_id, p
        )
        SELECT customer_id, {_summary_columns(engine, s, "v")}
        FROM events
        GROUP BY customer_id
        ORDER BY customer_id
    """
    params = [*value_params, day_after(as_of), as_of]
    return _typed(engine.frame(sql, params))


def btyd_summaries(
    engine: Engine, as_of: date, calibration_end: date, s: ClvSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """btyd_summary at `as_of`, and at `calibration_end` with each customer's
    holdout_events, from one pass over the transactions (the costly part of each).

    holdout_events: events (distinct periods) after the calibration end's period up to
    as_of, 0 for none. A period that straddles the calibration end belongs to
    calibration, its value there only the calibration transactions'. For daily events
    this is lifetimes' calibration/holdout split exactly; for weekly ones lifetimes also
    counts the straddling week's later transactions as a holdout event, one period more
    than the holdout's length: here the holdout counts as many periods as it lasts.
    """
    period = _period_sql("txn_time", s.event_period)
    value, value_params = event_value_sql(engine, s)
    in_calibration = "txn_time < ?"
    after = _period_sql("CAST(? AS TIMESTAMP)", s.event_period)
    calibrated = "n_cal > 0"  # an event with a calibration transaction
    sql = f"""
        WITH events AS (
            SELECT customer_id, {period} AS p, sum(CAST({value} AS {EXACT})) AS v,
                   sum(CAST({value} AS {EXACT})) FILTER (WHERE {in_calibration}) AS v_cal,
                   count(*) FILTER (WHERE {in_calibration}) AS n_cal
            FROM transactions
            WHERE customer_initiated AND txn_time < ?
            GROUP BY customer_id, p
        )
        SELECT customer_id, {_summary_columns(engine, s, "v")},
               {_summary_columns(engine, s, "v_cal", calibrated, "cal_")},
               count(*) FILTER (WHERE {calibrated}) AS cal_events,
               CAST(count(*) FILTER (WHERE p > {after}) AS DOUBLE) AS holdout_events
        FROM events
        GROUP BY customer_id
        ORDER BY customer_id
    """
    after_cal = day_after(calibration_end)
    params = [*value_params, *value_params, after_cal, after_cal, day_after(as_of)]
    params += [as_of, calibration_end, calibration_end]
    both = engine.frame(sql, params)
    cal = both[both["cal_events"].to_numpy() > 0]
    calibration = pd.DataFrame(
        {
            "customer_id": cal["customer_id"],
            **{name: cal[f"cal_{name}"] for name in SUMMARY_COLUMNS},
            "holdout_events": cal["holdout_events"],
        }
    )
    summary = both[["customer_id", *SUMMARY_COLUMNS]]
    return _typed(summary), _typed(calibration.reset_index(drop=True))


SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _summary_columns(
    engine: Engine, s: ClvSettings, value: str, within: str | None = None, prefix: str = ""
) -> str:
    """The summary's columns over the events (p, `value`): all of them, or those `within`
    holds for; T runs to the period of the date bound to its `?`."""
    only = f" FILTER (WHERE {within})" if within else ""
    n = f"count(*){only}"
    # a double on both engines: Spark reads a literal 7.0 as a decimal and would round
    # days / 7 to six places
    unit = f"CAST({float(UNIT_DAYS[s.time_unit])} AS DOUBLE)"
    days = engine.dialect.days_between
    observed = _period_sql("CAST(? AS TIMESTAMP)", s.event_period)
    return ", ".join(
        [
            f"CAST({n} - 1 AS DOUBLE) AS {prefix}frequency",
            f"CAST({days(f'min(p){only}', f'max(p){only}')} AS DOUBLE) / {unit} AS {prefix}recency",
            f"CAST({days(f'min(p){only}', observed)} AS DOUBLE) / {unit} AS {prefix}T",
            f"CASE WHEN {n} > 1 THEN CAST(sum({value}){only} - min_by({value}, p){only} AS"
            f" DOUBLE) / ({n} - 1) ELSE 0.0 END AS {prefix}monetary_value",
        ]
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({"customer_id": "string", **{c: "float64" for c in frame.columns[1:]}})


def calibration_end(as_of: date, holdout_months: int) -> date:
    """The month end `holdout_months` before as_of's month."""
    return month_end(as_of, holdout_months)


def holdout_length(
    calibration_end: date, as_of: date, time_unit: str, event_period: str | None = None
) -> float:
    """The holdout's length in `time_unit`, between the two dates' event periods (as
    lifetimes; the event period is the time unit's own when not given)."""
    period = event_period or time_unit

    def start(d: date) -> pd.Timestamp:
        return week_start(d) if period == "week" else pd.Timestamp(d)

    return (start(as_of) - start(calibration_end)).days / UNIT_DAYS[time_unit]
