"""What a source config may do to an export beyond renaming: compute, exclude, aggregate,
derive. The SQL for each, and the line counts that keep read = accepted + rejected +
duplicates + lines set aside.

Per table of a source config (configs/sources/sample.yml documents the keys):
- `columns.<canonical>: {expr: "..."}` computes a canonical column with a column
  expression over the export's columns (pipeline.ingest.expressions);
  `{value: ...}` sets it to a constant. Both become *virtual* export columns
  (`__x_<canonical>`) added to the file as read, so mapping, value maps, casting and
  checks apply to them as to any column, and a row whose computed value is missing or
  does not cast is rejected with its file and line.
- `exclude: {rule: "<condition>"}` leaves out the rows for which a condition is true
  (the first rule that holds names the row's reason; a condition that is NULL excludes
  nothing, so a value that does not parse is still rejected, not hidden). Excluded rows
  stay in the typed parts, marked (`__excluded`), and are counted per rule in the
  manifest: they are the analyst's choice, not bad input.
- `aggregate: {by: [...], sum: [...], min: [...], max: [...]}` merges line items into one
  row per `by` (canonical columns): `sum` columns are summed, `min` / `max` taken, every
  other column is the first line's (file, then line order), and the row's file and line
  are its first line's. Lines that fail a cast or a check stay rows of their own (rejected
  with their line); the merged lines are counted.
- `derive_from: transactions` (customers only) builds the customers table from the
  transactions when the export has none: one customer per customer_id, opened on the
  day of their first transaction (first seen), each other column (branch_id at least) a
  constant, a transactions export column or an expression over them, taken from the
  customer's first line. Its rows point at that line.

Tables built so have the shape `all_<table>` has for any other (pipeline.ingest.staging).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from pipeline.errors import ConfigError, InputError
from pipeline.ingest import expressions
from pipeline.ingest.expressions import quote as ident


def lit(value: Any) -> str:
    """A SQL string literal (as pipeline.ingest.cast's, which imports this module's users)."""
    return "'" + str(value).replace("'", "''") + "'"


EXCLUDED = "__excluded"  # which exclude rule a row met (NULL: none)
COMPUTED = "__x_"  # virtual export column of a computed or constant canonical column
CARRIED = "__c_"  # a derived table's column, computed on its source table's rows
ORDER_KEY = "__k"  # a row's place: file, then position in the file
AGGREGATIONS = ("sum", "min", "max")


@dataclass(frozen=True)
class Computed:
    """A virtual export column: an expression over the export's columns, or a constant."""

    name: str  # the virtual column's name (COMPUTED + canonical, or CARRIED + ...)
    expression: expressions.Expression | None
    constant: str | None = None
    typed: bool = False  # the canonical column is not text (a number, date, time, flag)

    @property
    def text(self) -> str:
        return self.expression.text if self.expression is not None else f"= {self.constant!r}"


@dataclass(frozen=True)
class Aggregate:
    by: tuple[str, ...]
    sum: tuple[str, ...] = ()
    min: tuple[str, ...] = ()
    max: tuple[str, ...] = ()


def column_source(
    value: Any, canonical: str, key: str, where: str, prefix: str = COMPUTED, typed: bool = False
) -> tuple[tuple[str, ...], Computed | None]:
    """A `columns.<canonical>` entry: the export column(s) it reads and, for an
    expression or constant, the virtual column that computes it."""
    if isinstance(value, str):
        return (value,), None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value), None
    if isinstance(value, dict) and len(value) == 1 and set(value) <= {"expr", "value"}:
        name = prefix + canonical
        if "expr" in value:
            expression = expressions.parse(value["expr"], f"{key}.expr", where)
            return (name,), Computed(name, expression, typed=typed)
        constant = value["value"]
        if constant is None or isinstance(constant, dict | list):
            raise ConfigError(f"{where}: {key}.value: expected a text or number, got {constant!r}")
        return (name,), Computed(
            name, None, str(constant).lower() if isinstance(constant, bool) else str(constant)
        )
    raise ConfigError(
        f"{where}: {key}: expected an export column, a list of them (joined by a space), "
        f"{{expr: <SQL expression>}} or {{value: <constant>}}; got {value!r}"
    )


def exclusions(raw: Any, key: str, where: str) -> tuple[tuple[str, expressions.Expression], ...]:
    """`exclude: {rule: condition}` in order."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{where}: {key}: expected a mapping of rule name: SQL condition")
    out = []
    for rule, condition in raw.items():
        if not isinstance(rule, str) or not rule.replace("_", "").isalnum():
            raise ConfigError(f"{where}: {key}.{rule}: rule names are letters, digits and _")
        out.append((rule, expressions.parse(condition, f"{key}.{rule}", where)))
    return tuple(out)


def aggregation(raw: Any, key: str, where: str, table) -> Aggregate | None:
    """`aggregate:` checked against the table's canonical columns."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or "by" not in raw:
        raise ConfigError(f"{where}: {key}: expected {{by: [...], sum: [...], min: [...]}}")
    unknown = set(raw) - {"by", *AGGREGATIONS}
    if unknown:
        raise ConfigError(f"{where}: {key}: unknown key(s) {sorted(unknown)}")
    names = {c.name: c for c in table.columns if not c.derived}
    lists = {}
    for part in ("by", *AGGREGATIONS):
        values = raw.get(part) or []
        if isinstance(values, str) or not isinstance(values, list):
            raise ConfigError(f"{where}: {key}.{part}: expected a list of {table.name} columns")
        for column in values:
            if column not in names:
                raise ConfigError(
                    f"{where}: {key}.{part}: {column!r} is not a column of {table.name} "
                    f"({', '.join(names)})"
                )
        lists[part] = tuple(values)
    if not lists["by"]:
        raise ConfigError(f"{where}: {key}.by: at least one column")
    missing = [k for k in table.key if k not in lists["by"]]
    if missing:
        raise ConfigError(
            f"{where}: {key}.by: must hold the table's key {list(table.key)} "
            f"(missing {', '.join(missing)}): one row per key is what aggregation makes"
        )
    for column in lists["sum"]:
        if names[column].dtype not in ("float64", "int64"):
            raise ConfigError(f"{where}: {key}.sum: {column} is not a number column")
    used = [c for part in ("by", *AGGREGATIONS) for c in lists[part]]
    if len(set(used)) != len(used):
        raise ConfigError(f"{where}: {key}: a column appears twice ({used})")
    return Aggregate(**lists)


# --- staging -------------------------------------------------------------------------
def is_shaped(spec) -> bool:
    """Whether the table's parts carry columns besides the canonical ones."""
    return bool(spec.exclude or spec.aggregate or spec.carried)


def lead_columns(spec) -> tuple[str, ...]:
    """Columns the typed parts carry through untouched, after `_line` / `_file`."""
    return ((EXCLUDED,) if spec.exclude else ()) + tuple(c.name for c in spec.carried)


def wrap(spec, headers: list[str], from_sql: str, label: str, trim: bool) -> tuple[list[str], str]:
    """The export as read plus the virtual columns (computed, carried) and the exclusion
    mark: the headers and FROM clause typed_select then reads."""
    virtual = [*spec.computed, *spec.carried]
    if not virtual and not spec.exclude:
        return headers, from_sql
    by_stripped = {h.strip(): h for h in headers}

    def column(key: str, text: str):
        def reference(name: str) -> str:
            if name not in by_stripped:
                raise InputError(
                    f"{label}: {key} {text!r}: column {name!r} is not in the file; its "
                    "columns are: " + ", ".join(h.strip() for h in headers)
                )
            # trimmed, as mapped columns are; trim also keeps DuckDB from pushing a
            # TRY_CAST into its CSV reader, which would drop a row whose value does not
            # convert as unreadable instead of rejecting it as unparseable
            return f"trim({ident(by_stripped[name])})"

        return reference

    selects = []
    for c in virtual:
        if c.expression is None:
            selects.append(f"{lit(c.constant)} AS {ident(c.name)}")
            continue
        e = c.expression
        reference = column(e.key, e.text)
        sql = f"CAST({e.to_sql(reference)} AS VARCHAR)"
        if c.typed and e.columns:
            # no value from values that are all there: one did not convert. The inputs
            # as text instead, which then fails the column's cast, so the reject says
            # "unparseable" and shows what the export held
            given = " AND ".join(f"{reference(n)} IS NOT NULL" for n in e.columns)
            inputs = " || '; ' || ".join(f"{lit(n + '=')} || {reference(n)}" for n in e.columns)
            sql = f"CASE WHEN {sql} IS NULL AND {given} THEN {inputs} ELSE {sql} END"
        selects.append(f"{sql} AS {ident(c.name)}")
    if spec.exclude:
        cases = " ".join(
            f"WHEN coalesce({e.to_sql(column(e.key, e.text))}, FALSE) THEN {lit(rule)}"
            for rule, e in spec.exclude
        )
        selects.append(f"CASE {cases} END AS {EXCLUDED}")
    return [
        *headers,
        *(c.name for c in virtual),
    ], f"(SELECT *, {', '.join(selects)} FROM {from_sql})"


def empty_parts_sql(spec, empty_select: str) -> str:
    """No rows, shaped like the table's parts (an optional table without files)."""
    extra = ", ".join(f"NULL::VARCHAR AS {ident(c)}" for c in lead_columns(spec))
    return f"SELECT *, {extra} FROM ({empty_select})" if extra else empty_select


def all_view_sql(spec, parts: str) -> str:
    """`all_<table>` over its parts: excluded rows left out, line items aggregated."""
    drop = ", ".join(ident(c) for c in lead_columns(spec))
    kept = f"(SELECT * EXCLUDE ({drop}) FROM {parts}" + (
        f" WHERE {EXCLUDED} IS NULL)" if spec.exclude else ")"
    )
    agg = spec.aggregate
    if agg is None:
        return f"SELECT * FROM {kept}"
    order = "(_file::BIGINT << 40) + _pos"
    columns = []
    for c in spec.columns_out:
        if c.derived:
            continue
        col = ident(c.name)
        if c.name in agg.by:
            columns.append(col)
        elif c.name in agg.sum:
            columns.append(f"sum({col} ORDER BY {ORDER_KEY}) AS {col}")
        elif c.name in agg.min:
            columns.append(f"min({col}) AS {col}")
        elif c.name in agg.max:
            columns.append(f"max({col}) AS {col}")
        else:
            columns.append(f"first({col} ORDER BY {ORDER_KEY}) AS {col}")
    grouped = (
        f"SELECT first(_file ORDER BY {ORDER_KEY}) AS _file, "
        f"first(_pos ORDER BY {ORDER_KEY}) AS _pos, {', '.join(columns)}, "
        "NULL::VARCHAR AS _reason, NULL::VARCHAR AS _column, NULL::VARCHAR AS _value, "
        f"NULL::VARCHAR AS _raw FROM (SELECT *, {order} AS {ORDER_KEY} FROM {kept} "
        f"WHERE _reason IS NULL) GROUP BY {', '.join(ident(b) for b in agg.by)}"
    )
    return (
        f"SELECT * FROM {kept} WHERE _reason IS NOT NULL UNION ALL BY NAME "
        f"SELECT * FROM ({grouped}) ORDER BY _file, _pos"
    )


def line_counts(con: duckdb.DuckDBPyConnection, spec) -> dict[str, Any]:
    """Lines excluded (per rule) and merged into another line's row, of a shaped table."""
    if not is_shaped(spec):
        return {}
    name = spec.name
    out: dict[str, Any] = {}
    if spec.exclude:
        rows = con.execute(
            f"SELECT {EXCLUDED}, count(*) FROM parts_{name} WHERE {EXCLUDED} IS NOT NULL "
            "GROUP BY ALL"
        ).fetchall()
        found = dict(rows)
        out["lines_excluded"] = {rule: int(found.get(rule, 0)) for rule, _ in spec.exclude}
    if spec.aggregate is not None:
        where = f"WHERE {EXCLUDED} IS NULL" if spec.exclude else ""
        lines = con.execute(f"SELECT count(*) FROM parts_{name} {where}").fetchall()[0][0]
        rows = con.execute(f"SELECT count(*) FROM all_{name}").fetchall()[0][0]
        out["lines_merged"] = int(lines - rows)
    return out


def set_aside(counts: dict[str, Any]) -> int:
    """Lines that are no row of the table: excluded or merged into another line's row."""
    return sum(counts.get("lines_excluded", {}).values()) + counts.get("lines_merged", 0)


def derived_sql(source) -> str:
    """The derived customers of the table `source` (its spec: transactions) as text with
    `_file` (the file's name) and `_line`: one per customer_id of its kept lines, from the
    customer's first line (see the module's text)."""
    name = source.name
    where = f"{EXCLUDED} IS NULL AND " if source.exclude else ""
    carried = [c.name for c in source.carried]
    columns = [
        f"first({ident(c)} ORDER BY {ORDER_KEY}) AS {ident(c.removeprefix(CARRIED))}"
        for c in carried
    ]
    if CARRIED + "open_date" not in carried:  # first seen
        columns.append("strftime(min(CAST(txn_time AS DATE)), '%Y-%m-%d') AS open_date")
    return f"""
        WITH lines AS (
            SELECT p.*, (p._file::BIGINT << 40) + p._pos AS {ORDER_KEY},
                   fl.file AS _name, fl.base + p._pos + coalesce(sk.k, 0) AS _line_no
            FROM parts_{name} p JOIN files_{name} fl ON p._file = fl._file
            ASOF LEFT JOIN skips_{name} sk ON p._file = sk._file AND p._pos >= sk.t
            WHERE {where}p.customer_id IS NOT NULL
        )
        SELECT first(_name ORDER BY {ORDER_KEY}) AS _file,
               first(_line_no ORDER BY {ORDER_KEY})::BIGINT AS _line,
               customer_id, {", ".join(columns)}
        FROM lines GROUP BY customer_id ORDER BY customer_id
    """


def absent_table_sql(table) -> str:
    """No rows, with the table's canonical columns: a required table the source has not."""
    from pipeline.ingest.cast import SQL_TYPES

    cols = ", ".join(f"NULL::{SQL_TYPES[c.dtype]} AS {ident(c.name)}" for c in table.columns)
    return f"SELECT {cols} WHERE false"
