"""The bank's bounds on values, checked at ingest where they cost a comparison.

A value that casts but cannot be true, or cannot be carried safely through the stages
after ingest, is rejected here with its reason rather than accepted to crash or mislead
later:
- out_of_bounds: a transaction amount or |revenue| above `ingest.max_amount`, |balance|
  above `ingest.max_balance` (the features mart sums money as DECIMAL(18,4): a balance of
  1e14 would stop it with a conversion error);
- before_earliest_date: a date before `ingest.earliest_date` (`earliest_customer_date`
  for customers' birth, open and close dates) -- a transaction dated 0001-01-01 makes a
  customer 105,702 weeks old and turns the BG/NBD fit over;
- unsafe_identifier: an id that names files (branch_id: watchlist-<id>.csv,
  branch-<id>.html; a customer's rm_id: calls-<branch>-<rm>.csv) that does not match
  `ingest.safe_id_pattern`, or that holds a path separator, `..`, a control character
  or more than MAX_NAME_BYTES bytes -- the last rules hold whatever the pattern says, so
  no pattern can let an id leave its folder.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from pipeline.ingest.cast import ident, lit
from pipeline.names import MAX_NAME_BYTES  # the catalog applies the same bound

if TYPE_CHECKING:
    from pipeline.ingest.source import SourceConfig, TableSpec

# Columns whose date floor is earliest_customer_date (people are older than their banks'
# systems); every other date and time uses earliest_date.
CUSTOMER_DATES = ("customers",)


@dataclass(frozen=True)
class Limits:
    """`ingest.*` bounds, as the checks use them (None: not checked)."""

    max_amount: float | None = None
    max_balance: float | None = None
    earliest_date: date | None = None
    earliest_customer_date: date | None = None
    safe_id_pattern: str | None = None

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Limits:
        from pipeline.config import config_date

        ingest = cfg["ingest"]
        return cls(
            max_amount=float(ingest["max_amount"]),
            max_balance=float(ingest["max_balance"]),
            earliest_date=config_date(cfg, "ingest.earliest_date"),
            earliest_customer_date=config_date(cfg, "ingest.earliest_customer_date"),
            safe_id_pattern=str(ingest["safe_id_pattern"]),
        )


def with_limits(source: SourceConfig, limits: Limits) -> SourceConfig:
    """The source config with every table checked against `limits`."""
    tables = {name: replace(spec, limits=limits) for name, spec in source.tables.items()}
    return replace(source, tables=tables)


def path_unsafe(x: str) -> str:
    """SQL: the text `x` could leave its folder as part of a file name (any pattern)."""
    return (
        f"(contains({x}, '/') OR contains({x}, chr(92)) OR contains({x}, '..') "
        f"OR {x} = '.' OR regexp_matches({x}, '[\\x00-\\x1f\\x7f]') "
        f"OR strlen({x}) > {MAX_NAME_BYTES})"
    )


def bound_checks(spec: TableSpec, columns: list) -> list[tuple[str, str, str]]:
    """(condition, reason, column) for the table's typed `columns`, in column order."""
    limits = spec.limits or Limits()
    floor = limits.earliest_customer_date if spec.name in CUSTOMER_DATES else limits.earliest_date
    out: list[tuple[str, str, str]] = []
    for c in columns:
        x = ident(c.name)
        if c.names_files:
            unsafe = path_unsafe(x)
            if limits.safe_id_pattern:
                unsafe = f"({unsafe} OR NOT regexp_full_match({x}, {lit(limits.safe_id_pattern)}))"
            out.append((f"{x} IS NOT NULL AND {unsafe}", "unsafe_identifier", c.name))
        if c.dtype in ("date", "timestamp") and floor is not None:
            out.append((f"{x} < DATE {lit(floor.isoformat())}", "before_earliest_date", c.name))
    money = {
        ("transactions", "amount"): limits.max_amount,
        ("transactions", "revenue"): limits.max_amount,
        ("balances", "balance"): limits.max_balance,
    }
    for c in columns:
        bound = money.get((spec.name, c.name))
        if bound is not None:
            out.append((f"abs({ident(c.name)}) > {bound!r}", "out_of_bounds", c.name))
    return out
