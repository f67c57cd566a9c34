"""Mapping and casting as SQL: text columns as read -> canonical typed columns.

Each canonical column is read from its source column(s), trimmed, passed through the
config's value map, and cast with TRY_ functions; a value that is present but does not
cast, a missing required value, or a value outside the column's closed set marks the
row with a reason, the column and the failing value (the first failure in column
order). Nothing here decides what is accepted: that is checks.py, over all files.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.errors import InputError
from pipeline.ingest.controls import CONTROL_PATTERN
from pipeline.ingest.numbers import number_sql
from pipeline.ingest.source import SourceConfig, TableSpec
from pipeline.schema import Column

SQL_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "float64": "DOUBLE",
    "int64": "BIGINT",
    "bool": "BOOLEAN",
}
UNPARSEABLE = {
    "date": "unparseable_date",
    "timestamp": "unparseable_timestamp",
    "float64": "unparseable_number",
    "int64": "unparseable_number",
    "bool": "unparseable_bool",
}
TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")
# Columns of a part besides the canonical ones: why a row failed to cast. A row's file
# and line are not stored: a part holds one file's rows in file order (readers.py).
PART_META = ("_reason", "_column", "_value", "_raw")


def lit(value: Any) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier (export headers can be Chinese, hold spaces or quotes)."""
    return '"' + str(name).replace('"', '""') + '"'


def part_columns(spec: TableSpec) -> list[Column]:
    """Canonical columns a part holds: the schema's (minus derived) and the extras."""
    return [c for c in spec.columns_out if not c.derived]


def presence_required(spec: TableSpec) -> set[str]:
    """Columns a file must have: the schema's required ones and every survey item."""
    needed = set(spec.table.required_columns)
    if spec.survey:
        needed |= set(spec.survey.items) | (
            {spec.survey.nps_item} if spec.survey.nps_item else set()
        )
    return needed


SEPARATORS = (",", ";", "\t", "|")


def _header_hint(missing: str, headers: list[str], read: dict[str, Any]) -> str:
    """What most often explains a missing column: a header in another case, or a file
    split on another separator than declared (headers are matched exactly, never guessed)."""
    same = [h for h in headers if h.casefold() == missing.casefold()]
    if same:
        return (
            f". The file has {same[0]!r}, which differs only in case: name it so in the "
            "source config's `columns:` for this table"
        )
    separator = read["separator"]
    for other in SEPARATORS if read["format"] == "csv" else ():
        if other != separator and missing in (h.strip() for h in "".join(headers).split(other)):
            return (
                f". The header is split by {json.dumps(other)}, not the declared "
                f"{json.dumps(separator)}: set `separator: {json.dumps(other)}` for this table "
                "in the source config"
            )
    return ""


def absent_optional(spec: TableSpec, headers: list[str]) -> list[str]:
    """The optional canonical columns a file's `headers` cannot fill (their source header
    is not there): empty in its rows, which quality.py says when other files have it."""
    have, required = {h.strip() for h in headers}, presence_required(spec)
    return [
        c.name
        for c in part_columns(spec)
        if c.name not in required and any(s not in have for s in spec.columns[c.name])
    ]


def _shown(name: str, most: int = 60) -> str:
    """A header name as an error message shows it: at most `most` characters (a name
    that ran on into the rows must not print them, personal data and all)."""
    return name if len(name) <= most else name[:most] + "..."


def typed_select(
    spec: TableSpec,
    source: SourceConfig,
    headers: list[str],
    from_sql: str,
    label: str,
    lead: tuple[str, ...] = (),
    trim: bool = True,
    controls: bool = True,
) -> str:
    """SELECT over `from_sql` (text columns `headers`) giving typed canonical columns and
    failure info, in the input's order; `lead` columns (`_line`, `_file`) pass through.
    `trim` False: no value starts or ends with a space (padding.py), none is trimmed;
    `controls` False: none holds a control character (controls.py), none is searched."""
    lead = list(lead)
    by_stripped = {h.strip(): h for h in headers}
    needed = presence_required(spec)
    read = spec.read
    text_exprs: dict[str, str] = {}
    raw_exprs: dict[str, str] = {}
    trimmed: dict[str, str] = {}  # source header -> its trimmed value's name, computed once
    for col in part_columns(spec):
        sources = spec.columns[col.name]
        missing = [s for s in sources if s not in by_stripped]
        if missing:
            if col.name in needed:
                raise InputError(
                    f"{label}: required column {missing[0]!r} (canonical {spec.name}.{col.name}) "
                    "is missing; the file's columns are: "
                    + ", ".join(_shown(h.strip()) for h in headers)
                    + _header_hint(missing[0], list(by_stripped), read)
                )
            text_exprs[col.name] = "NULL::VARCHAR"
            continue
        parts = [trimmed.setdefault(by_stripped[s], ident(f"s_{len(trimmed)}")) for s in sources]
        raw = parts[0] if len(parts) == 1 else f"nullif(concat_ws(' ', {', '.join(parts)}), '')"
        if not col.name.endswith("_masked"):  # rejects never hold PII, not even raw
            raw_exprs[col.name] = raw
        text_exprs[col.name] = _null_values(_value_map(raw, spec.values.get(col.name, {})), read)
    inner = ", ".join(
        lead
        + [f"{expr} AS {ident('v_' + name)}" for name, expr in text_exprs.items()]
        + [f"{expr} AS {ident('r_' + name)}" for name, expr in raw_exprs.items()]
    )
    typed = {c.name: _typed(c, ident("v_" + c.name), read) for c in part_columns(spec)}
    middle = ", ".join(
        lead
        + [ident("v_" + n) for n in text_exprs]
        + [ident("r_" + n) for n in raw_exprs]
        + [f"{expr} AS {ident('t_' + name)}" for name, expr in typed.items()]
    )
    failures = _repeated_header(spec, raw_exprs) + _failures(spec, controls)
    fail, reasons, columns, values = first_failure(failures, lambda c: ident("v_" + c))
    value = f"CASE _fail {values} END" if failures else "NULL::VARCHAR"
    raw_json = "json_object(" + ", ".join(f"{lit(n)}, {ident('r_' + n)}" for n in raw_exprs) + ")"
    out_cols = []
    for c in part_columns(spec):
        expr = ident("t_" + c.name)
        if c.name.endswith("_masked"):
            expr = _mask(expr)
        out_cols.append(f"{expr} AS {ident(c.name)}")
    stripped = ", ".join(
        lead + [f"{_trim(ident(h)) if trim else ident(h)} AS {name}" for h, name in trimmed.items()]
        or ["NULL AS _none"]
    )
    texts = f"SELECT {middle} FROM (SELECT {inner} FROM (SELECT {stripped} FROM {from_sql}))"
    checked = f"SELECT *, {fail} AS _fail FROM ({texts})"
    outer = ", ".join(
        [f"{c}::BIGINT AS _line" if c == "_line" else c for c in lead]
        + out_cols
        + [
            f"list_extract({reasons}, _fail) AS _reason",
            f"list_extract({columns}, _fail) AS _column",
            f"{value} AS _value",
        ]
        + [f"CASE WHEN _fail IS NOT NULL THEN {raw_json}::VARCHAR END AS _raw"]
    )
    return f"SELECT {outer} FROM ({checked})"


def _trim(expr: str) -> str:
    """trim(), skipped for plain ASCII without a space at either end (byte length equal to
    character length): trim() removes only space characters, of which ASCII has one, and
    walking every value's characters is the costliest step of a cast."""
    return (
        f"CASE WHEN strlen({expr}) = length({expr}) AND NOT starts_with({expr}, ' ') "
        f"AND NOT ends_with({expr}, ' ') THEN {expr} ELSE trim({expr}) END"
    )


def _repeated_header(spec: TableSpec, raw_exprs: dict[str, str]) -> list[tuple[str, str, str]]:
    """A row that repeats the header (exports joined with `cat`, each with its header): the
    first three columns that each read one source column hold those columns' names.
    Checked first, so the row is named for what it is rather than for an unparseable date."""
    named = [(c, spec.columns[c][0]) for c in raw_exprs if len(spec.columns[c]) == 1][:3]
    if len(named) < 2:  # one column's name could be a value
        return []
    bom = lit("\ufeff")  # a joined file's header may keep its byte-order mark
    cond = " AND ".join(f"ltrim({ident('r_' + c)}, {bom}) = {lit(source)}" for c, source in named)
    return [(cond, "repeated_header_row", named[0][0])]


def _failures(spec: TableSpec, controls: bool = True) -> list[tuple[str, str, str]]:
    """(condition, reason, column) in column order; the first true one names the row's
    fault. An id or a code holding a control character is what a quote left open in one
    row and closed in the next makes of two rows (controls.py): control_character (ids
    that name files are checked for control characters and more: bounds.py)."""
    ids_and_codes = {
        c.name
        for c in spec.table.columns
        if c.dtype == "string" and not c.free_text and not c.names_files
    }
    out = []
    for c in part_columns(spec):
        if c.name.endswith("_masked"):
            continue
        v, t = ident("v_" + c.name), ident("t_" + c.name)
        if c.dtype != "string":
            out.append((f"{v} IS NOT NULL AND {t} IS NULL", UNPARSEABLE[c.dtype], c.name))
        if c.required:
            out.append((f"{v} IS NULL", "missing_value", c.name))
        if controls and c.name in ids_and_codes:
            pattern = f"regexp_matches({t}, {lit(CONTROL_PATTERN)})"
            out.append((f"{t} IS NOT NULL AND {pattern}", "control_character", c.name))
        if c.allowed:
            allowed = ", ".join(lit(a) for a in c.allowed)
            out.append((f"{t} IS NOT NULL AND {t} NOT IN ({allowed})", "invalid_value", c.name))
    return out


def _value_map(expr: str, mapping: dict[str, str]) -> str:
    if not mapping:
        return expr
    cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in sorted(mapping.items()))
    return f"CASE {expr} {cases} ELSE {expr} END"


def _null_values(expr: str, read: dict[str, Any]) -> str:
    nulls = ", ".join(lit(v) for v in ["", *read["null_values"]])
    return f"CASE WHEN {expr} IN ({nulls}) THEN NULL ELSE {expr} END"


def _formats(formats: list[str]) -> str:
    return lit(formats[0]) if len(formats) == 1 else "[" + ", ".join(lit(f) for f in formats) + "]"


def _typed(col: Column, v: str, read: dict[str, Any]) -> str:
    if col.dtype == "string":
        return v
    if col.dtype == "date":
        return f"try_strptime({v}, {_formats(read['date_format'])})::DATE"
    if col.dtype == "timestamp":
        return f"try_strptime({v}, {_formats(read['timestamp_format'])})"
    if col.dtype in ("float64", "int64"):
        return number_sql(v, col.dtype, read["decimal"], read["thousands"])
    if col.dtype == "bool":
        trues = ", ".join(lit(w) for w in TRUE_WORDS)
        falses = ", ".join(lit(w) for w in FALSE_WORDS)
        return (
            f"(CASE WHEN lower({v}) IN ({trues}) THEN true "
            f"WHEN lower({v}) IN ({falses}) THEN false END)"
        )
    raise ValueError(f"unknown dtype {col.dtype}")


def _mask(expr: str) -> str:
    """Keep at most the last 4 characters and at most a third of the value; star the rest."""
    keep = f"least(4, length({expr}) // 3)"
    stars = f"repeat('*', length({expr}) - {keep})"
    return f"CASE WHEN {expr} IS NULL THEN NULL ELSE {stars} || right({expr}, {keep}) END"


def empty_part_select(spec: TableSpec) -> str:
    """No rows, shaped like a table's `all_` view (an optional table whose files are absent)."""
    cols = ", ".join(f"NULL::{SQL_TYPES[c.dtype]} AS {ident(c.name)}" for c in part_columns(spec))
    return (
        f"SELECT NULL::INTEGER AS _file, NULL::BIGINT AS _pos, {cols}, "
        "NULL::VARCHAR AS _reason, NULL::VARCHAR AS _column, NULL::VARCHAR AS _value, "
        "NULL::VARCHAR AS _raw WHERE false"
    )


def first_failure(checks, value_of) -> tuple[str, str, str, str]:
    """SQL for the first of `checks` (condition, reason, column) a row fails, computed once:
    its 1-based index (NULL when none), the reasons and columns as lists that index picks
    from, and the `WHEN i THEN value` branches that give the failing value."""
    fail = (
        "CASE "
        + " ".join(f"WHEN {cond} THEN {i}" for i, (cond, _, _) in enumerate(checks, 1))
        + " END"
        if checks
        else "NULL::INTEGER"
    )
    reasons = "[" + ", ".join(lit(r) for _, r, _ in checks) + "]::VARCHAR[]"
    columns = "[" + ", ".join(lit(c) for _, _, c in checks) + "]::VARCHAR[]"
    values = " ".join(f"WHEN {i} THEN {value_of(c)}" for i, (_, _, c) in enumerate(checks, 1))
    return fail, reasons, columns, values
