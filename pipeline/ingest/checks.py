"""Data contracts over all files of a table: ranges, dates, foreign keys and keys.

Every row read ends in exactly one of four states, so read = accepted + rejected +
duplicates holds by construction and is still checked before anything is written:
- rejected: a cast failure from cast.py, or the first failing check below, in order;
- conflicting_key (rejected): rows sharing a key but differing in any other value --
  none of them is trusted, all are rejected;
- exact_duplicate: a row identical (after casting) to an earlier one with the same key,
  dropped and counted; the earliest (by file, then line) is kept;
- accepted.
The bank's bounds (amounts, balances, earliest dates, ids that name files, bounds.py)
are checked beside the ranges. Only the rows that are not plainly accepted are ever
copied: `cls_<table>` holds the rows failing a cast or check and the rows sharing a key,
each with its status, found by the sorted pass over the table (accept.py); everything
else is accepted.
"""

from __future__ import annotations

from datetime import date

import duckdb

from pipeline.ingest.bounds import bound_checks
from pipeline.ingest.cast import first_failure, ident, lit, part_columns
from pipeline.ingest.source import TableSpec
from pipeline.periods import month_end, month_start
from pipeline.schema import ASSET_PRODUCTS

NPS_MIN, NPS_MAX = 0, 10
# A month with fewer transactions than this share of the busiest month's is not a month
# of data when the as-of is derived (an export cut on the 2nd holds ~3% of a month).
STRAY_SHARE = 0.01


def range_checks(spec: TableSpec, as_of: date, has_fk: bool) -> list[tuple[str, str, str]]:
    """(condition, reason, column) on typed columns, in the order they are tried."""
    checks: list[tuple[str, str, str]] = []
    cutoff = f"DATE {lit(as_of.isoformat())}"
    for c in part_columns(spec):
        if c.dtype == "date":
            checks.append((f"{ident(c.name)} > {cutoff}", "after_as_of", c.name))
        elif c.dtype == "timestamp":
            checks.append((f"{ident(c.name)}::DATE > {cutoff}", "after_as_of", c.name))
    checks += bound_checks(spec, part_columns(spec))
    name = spec.name
    if name == "customers":
        checks.append(("close_date < open_date", "close_before_open", "close_date"))
    if name == "transactions":
        checks.append(("amount <= 0", "amount_not_positive", "amount"))
    if name == "balances":
        assets = ", ".join(lit(p) for p in ASSET_PRODUCTS)
        checks.append((f"product IN ({assets}) AND balance < 0", "negative_balance", "balance"))
        checks.append(("month_end <> last_day(month_end)", "not_month_end", "month_end"))
    if spec.survey:
        lo, hi = spec.survey.scale_min, spec.survey.scale_max
        for item in spec.survey.items:
            x = ident(item)
            checks.append(
                (
                    f"{x} IS NOT NULL AND ({x} < {lo} OR {x} > {hi} OR {x} <> floor({x}))",
                    "likert_out_of_scale",
                    item,
                )
            )
        if spec.survey.nps_item:
            x = ident(spec.survey.nps_item)
            checks.append(
                (
                    f"{x} IS NOT NULL AND "
                    f"({x} < {NPS_MIN} OR {x} > {NPS_MAX} OR {x} <> floor({x}))",
                    "nps_out_of_range",
                    spec.survey.nps_item,
                )
            )
    if has_fk:
        checks.append(
            ("customer_id IS NOT NULL AND _fk IS NULL", "unknown_customer", "customer_id")
        )
    return checks


def name_rejected_customers(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """A row whose customer is in the customer file but had its own row rejected says so
    (customer_rejected), not unknown_customer: the fix is that customer's row, and these
    rows come back with it. Only rejects are relabelled; no row changes status."""
    con.execute(
        f"""
        UPDATE cls_{name} SET _rsn = 'customer_rejected'
        WHERE _rsn = 'unknown_customer' AND _rval IN (
            SELECT CAST(customer_id AS VARCHAR) FROM cls_customers
            WHERE _status = 'rejected' AND customer_id IS NOT NULL
        )
        """
    )


def has_fk(spec: TableSpec, customers_table: str | None) -> bool:
    """Whether the table's customer_id is checked against the accepted customers."""
    return customers_table is not None and "customer_id" in spec.table.foreign_keys


def with_customer(name: str, customers_table: str | None, where: str = "") -> str:
    """The rows of `all_<name>` (those matching `where`) with `_fk`, the customer's rank
    in `customers_table` (customer_id, _rank): NULL for no such accepted customer."""
    rows = f"(SELECT * FROM all_{name} WHERE {where})" if where else f"all_{name}"
    if customers_table is None:
        return rows
    return (
        f"(SELECT a.*, f._rank AS _fk FROM {rows} a "
        f"LEFT JOIN {customers_table} f ON a.customer_id = f.customer_id)"
    )


def flag_sql(spec: TableSpec, as_of: date, fk: bool) -> str:
    """`_flag` of a row: NULL when it passes, 0 when it failed to cast, else the 1-based
    index of the first range check (range_checks) it fails."""
    fail, _, _, _ = first_failure(range_checks(spec, as_of, fk), str)
    return f"CASE WHEN _reason IS NOT NULL THEN 0 ELSE {fail} END"


def key_candidates(con: duckdb.DuckDBPyConnection, spec: TableSpec, table: str) -> int:
    """Create `table`: hashes of the keys held by more than one castable row (one hash
    aggregate; a superset of the repeated keys, compared exactly later); how many."""
    key_hash = f"hash({', '.join(ident(k) for k in spec.table.key)})"
    con.execute(
        f"CREATE TABLE {table} AS SELECT {key_hash} AS _h FROM all_{spec.name} "
        "WHERE _reason IS NULL GROUP BY ALL HAVING count(*) > 1"
    )
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


def candidate_marks(
    con, spec: TableSpec, as_of: date, customers_table: str | None, cand: str, table: str
) -> None:
    """Create `table` (_file, _pos, _flag): the castable rows whose key hash is in `cand`."""
    key_hash = f"hash({', '.join(ident(k) for k in spec.table.key)})"
    fk = has_fk(spec, customers_table)
    rows = with_customer(
        spec.name,
        customers_table if fk else None,
        f"_reason IS NULL AND {key_hash} IN (SELECT _h FROM {cand})",
    )
    con.execute(
        f"CREATE TABLE {table} AS SELECT _file, _pos, {flag_sql(spec, as_of, fk)} AS _flag "
        f"FROM {rows}"
    )


def classify(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    as_of: date,
    fk: bool,
    marks: str,
    target: str,
    explicit_lines: bool = False,
) -> None:
    """Create `target` (the shape of `cls_<table>`): the rows of `all_<table>` named in
    `marks` (_file, _pos, _flag: see flag_sql) with file, line, reason, column, value and
    status. Marked rows that pass every check are the rows sharing a key: compared
    exactly, ranked by file and line. `explicit_lines`: `all_<table>` has `_line`."""
    name = spec.name
    cols = [ident(c.name) for c in part_columns(spec)]
    checks = range_checks(spec, as_of, fk)
    _, names, columns, values = first_failure(checks, lambda c: f"CAST({ident(c)} AS VARCHAR)")
    reason = f"coalesce(s._reason, list_extract({names}, m._flag))"
    column = (
        f"CASE WHEN s._reason IS NOT NULL THEN s._column ELSE list_extract({columns}, m._flag) END"
    )
    value = (
        f"CASE WHEN s._reason IS NOT NULL THEN s._value ELSE CASE m._flag {values} END END"
        if checks
        else "s._value"
    )
    key = [ident(k) for k in spec.table.key]
    row = "struct_pack(" + ", ".join(f"{c} := {c}" for c in cols) + ")"
    key_text = " || ', ' || ".join(f"coalesce(CAST({k} AS VARCHAR), '')" for k in key)
    selected = ", ".join("s." + c for c in cols)
    # 1) the marked rows, with why they failed (NULL: they share a key)
    con.execute(
        f"""
        CREATE TABLE flag_{name} AS
        SELECT s._file, s._pos, {"s._line, " if explicit_lines else ""}{selected},
               s._raw, {reason} AS _rsn, {column} AS _rcol, {value} AS _rval
        FROM all_{name} s JOIN {marks} m ON s._file = m._file AND s._pos = m._pos
        """
    )
    if not explicit_lines:  # a row's line: its file's first line, its position, skipped lines
        con.execute(
            f"""
            CREATE TABLE flagl_{name} AS
            SELECT f.*, fl.base + f._pos + coalesce(sk.k, 0) AS _line
            FROM flag_{name} f JOIN files_{name} fl ON f._file = fl._file
            ASOF LEFT JOIN skips_{name} sk ON f._file = sk._file AND f._pos >= sk.t
            """
        )
        con.execute(f"DROP TABLE flag_{name}; ALTER TABLE flagl_{name} RENAME TO flag_{name}")
    # 2) rows passing every check that share a key: compared exactly, ranked by file, line
    con.execute(
        f"""
        CREATE TABLE {target} AS
        WITH ranked AS (
            SELECT _file, _pos,
                   min({row}) OVER w IS DISTINCT FROM max({row}) OVER w AS _conflict,
                   row_number() OVER (w ORDER BY _file, _line, _pos) AS _rn
            FROM flag_{name} WHERE _rsn IS NULL
            WINDOW w AS (PARTITION BY {", ".join(key)})
        )
        SELECT c._file, c._pos, c._line, {", ".join("c." + col for col in cols)}, c._raw,
            CASE WHEN c._rsn IS NOT NULL THEN c._rsn
                 WHEN m._conflict THEN 'conflicting_key'
                 WHEN m._rn > 1 THEN 'exact_duplicate' END AS _rsn,
            CASE WHEN c._rsn IS NOT NULL THEN c._rcol
                 WHEN m._conflict OR m._rn > 1 THEN {lit(", ".join(spec.table.key))} END AS _rcol,
            CASE WHEN c._rsn IS NOT NULL THEN c._rval
                 WHEN m._conflict OR m._rn > 1 THEN {key_text} END
                 AS _rval,
            CASE WHEN c._rsn IS NOT NULL OR m._conflict THEN 'rejected'
                 WHEN m._rn > 1 THEN 'duplicate' ELSE 'accepted' END AS _status
        FROM flag_{name} c LEFT JOIN ranked m ON c._file = m._file AND c._pos = m._pos
        """
    )
    con.execute(f"DROP TABLE flag_{name}")


def not_accepted(name: str) -> str:
    """(_file, _pos) of the rows of `all_<name>` that are not accepted."""
    return f"(SELECT _file, _pos FROM cls_{name} WHERE _status <> 'accepted')"


def accepted_rows(name: str) -> str:
    """The accepted rows of `all_<name>`: every row not rejected or dropped, in place."""
    return (
        f"(SELECT a.* FROM all_{name} a ANTI JOIN {not_accepted(name)} n "
        "ON a._file = n._file AND a._pos = n._pos)"
    )


def counts(con: duckdb.DuckDBPyConnection, name: str) -> dict:
    """Rows read, accepted, rejected (by reason) and duplicates dropped of a table."""
    rows = con.execute(
        f"SELECT _status, _rsn, count(*) FROM cls_{name} WHERE _status <> 'accepted' "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    parsed, malformed = con.execute(
        f"SELECT (SELECT count(*) FROM all_{name}), (SELECT count(*) FROM bad_{name})"
    ).fetchall()[0]
    by_reason = {r: n for s, r, n in rows if s == "rejected"}
    if malformed:
        by_reason["malformed_row"] = by_reason.get("malformed_row", 0) + malformed
    duplicates = sum(n for s, _, n in rows if s == "duplicate")
    rejected = sum(by_reason.values())
    accepted = parsed - sum(n for _, _, n in rows)
    return {
        "rows_read": accepted + rejected + duplicates,
        "accepted": accepted,
        "rejected": rejected,
        "rejected_by_reason": dict(sorted(by_reason.items())),
        "duplicates_dropped": duplicates,
    }


def derive_as_of(con: duckdb.DuckDBPyConnection, transactions_table: str) -> date | None:
    """The last day of the data's last month, where a lone far-off date cannot stretch it.

    Start at the month holding most transactions and walk forward while the next
    calendar month also holds transactions -- at least STRAY_SHARE of the busiest
    month's; the as-of is the end of the last month reached. A stray '2099-01-01' sits
    after a gap, and a stray row early in the next month is too few to be a month of
    data, so either lands after the as-of and is rejected instead of moving it.
    """
    months = con.execute(
        f"SELECT date_trunc('month', txn_time)::DATE AS m, count(*) AS n FROM {transactions_table} "
        "WHERE _reason IS NULL GROUP BY m ORDER BY m"
    ).fetchall()
    if not months:
        return None
    busiest = max(months, key=lambda mn: (mn[1], -mn[0].toordinal()))
    present = {m for m, n in months if n >= STRAY_SHARE * busiest[1]}
    current = busiest[0]
    while (nxt := month_start(current, months_back=-1)) in present:  # the next month
        current = nxt
    return month_end(current)
