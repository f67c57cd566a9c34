"""The few SQL fragments where DuckDB and Spark SQL disagree, one object per engine.

The features and BTYD SQL (pipeline.features.sources / customer, pipeline.scoring.summary)
is written once in the subset both engines read the same way (CAST, CASE, FILTER,
bit_or / bool_or / bit_count, date_trunc('week'), DATE and TIMESTAMP literals, `?`
parameters). What differs goes through the connection's dialect:

- day differences: DuckDB date_diff('day', a, b); Spark datediff(b, a);
- complete months / years (tenure, age): DuckDB date_sub's rule, which counts a month end
  to a shorter month's end as a whole month, spelled out with year / month / day /
  last_day in both (Spark has no date_sub; in DuckDB the spelling costs a third of
  date_sub at a million rows, and tests check it equals date_sub day by day); the
  truncating integer division is DuckDB's `//`, Spark's DIV;
- distinct active days in the window: DuckDB counts bits of a bounded bitstring_agg
  (ten times faster there than count DISTINCT); Spark counts DISTINCT day numbers.

Every engine (pipeline.engine.Engine) says its dialect in its `dialect` attribute.
"""

from __future__ import annotations


class Dialect:
    """SQL spellings; this base class spells DuckDB's."""

    name = "duckdb"
    int_div = "//"  # integer division truncating toward zero

    def days_between(self, start: str, end: str) -> str:
        """Whole days from DATE `start` to DATE `end`."""
        return f"date_diff('day', {start}, {end})"

    def _months_forward(self, a: str, b: str) -> str:
        # date_sub's rule for a <= b: calendar months, less one when b's day of month is
        # before a's, unless b is its month's last day (Jan 31 -> Feb 28 is a month).
        return (
            f"((year({b}) - year({a})) * 12 + month({b}) - month({a})"
            f" - CASE WHEN day({b}) < day({a}) AND {b} <> last_day({b}) THEN 1 ELSE 0 END)"
        )

    def complete_months(self, start: str, end: str) -> str:
        """DuckDB's date_sub('month', start, end) for DATEs."""
        return (
            f"CASE WHEN {start} <= {end} THEN {self._months_forward(start, end)}"
            f" ELSE -{self._months_forward(end, start)} END"
        )

    def complete_years(self, start: str, end: str) -> str:
        """DuckDB's date_sub('year', start, end): complete months over 12, toward zero."""
        return f"({self.complete_months(start, end)} {self.int_div} 12)"

    def distinct_days(self, day: str, days: int, condition: str) -> str:
        """Distinct values of `day` (an integer in [0, days]) among rows meeting condition."""
        return f"bit_count(bitstring_agg({day}, 0, {days}) FILTER (WHERE {condition}))"


class SparkDialect(Dialect):
    name = "spark"
    int_div = "DIV"

    def days_between(self, start: str, end: str) -> str:
        return f"datediff({end}, {start})"

    def distinct_days(self, day: str, days: int, condition: str) -> str:
        return f"count(DISTINCT CASE WHEN {condition} THEN {day} END)"


DUCKDB = Dialect()
SPARK = SparkDialect()

