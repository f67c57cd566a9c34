"""Source configs (configs/sources/*.yml): how one bank's exports map onto the canonical tables.

A source config is mapping and declarations, no code: file patterns, format and
encoding, column names, date/number formats, value maps, PII handling, which txn_types
are the customer's own doing, and what real exports need beyond renaming -- computed
and constant columns, rows left out by rule, line items aggregated into one row, a
customers table derived from the transactions (pipeline.ingest.shaping). It may also
say the bank's currency and its tier thresholds (applied by pipeline.config unless a
user config sets them). `load_source` checks it and resolves it into `TableSpec`s, so
the rest of ingest never reads YAML. A source that needs more than that names an
`adapter` module (Berka's birth_number), kept beside its config; its tables may still
list files of their own (a survey export beside the tables the adapter builds).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config import read_yaml, source_config_path, survey_definition_path
from pipeline.errors import ConfigError
from pipeline.ingest import expressions, shaping
from pipeline.ingest.numbers import check_separators
from pipeline.schema import PII_COLUMNS, TABLES, Column, Table

if TYPE_CHECKING:
    from pipeline.ingest.bounds import Limits

FORMATS = ("csv", "xlsx", "parquet")
# Reading options: every one can be set in `defaults:` and overridden per table.
READ_DEFAULTS: dict[str, Any] = {
    "format": "csv",
    "encoding": "utf-8",  # utf-8 (a BOM is accepted), utf-8-sig, gb18030, gbk, utf-16, ...
    "separator": ",",
    "quote": '"',
    "escape": '"',
    "header_row": 1,  # 1-based line (Excel: row) holding the column names
    "sheet": 0,  # Excel sheet name or 0-based index
    "date_format": "%Y-%m-%d",  # strptime format, or a list of them tried in order
    "timestamp_format": "%Y-%m-%d %H:%M:%S",
    "decimal": ".",
    "thousands": "",  # e.g. "," for 1,234.50
    "null_values": [],  # extra strings meaning "no value" (the empty string always does)
}
TABLE_KEYS = {
    "files",
    "absent",
    "optional",
    "allow_empty",
    "survey",
    "columns",
    "values",
    "exclude",
    "aggregate",
    "derive_from",
} | set(READ_DEFAULTS)
TOP_KEYS = {
    "name",
    "raw_dir",
    "adapter",
    "inputs",
    "as_of",
    "defaults",
    "customer_initiated_txn_types",
    "pii",
    "tables",
    "currency",  # the bank's currency (pipeline.config applies it)
    "tiers",  # its AUM tiers, and the tiers that should have an RM (likewise)
    "rm_tiers",
}
# Tables every source must give (balances may be absent: an empty table is written).
SOURCE_REQUIRED = ("customers", "transactions")
# ISO forms always accepted besides the configured ones for typed sources (Excel, Parquet).
ISO_DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S"]
ISO_TIMESTAMP_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d"]
# Order tables are ingested in: customers first, every other table checks its customer_id.
TABLE_ORDER = tuple(TABLES)


@dataclass(frozen=True)
class SurveyScale:
    items: tuple[str, ...]  # Likert items and the overall item, on [scale_min, scale_max]
    scale_min: float
    scale_max: float
    nps_item: str | None  # 0-10


@dataclass(frozen=True)
class TableSpec:
    table: Table
    files: tuple[str, ...]  # glob patterns under the raw dir (empty for adapter tables)
    read: dict[str, Any]
    columns: dict[str, tuple[str, ...]]  # canonical -> source column(s), joined by a space
    values: dict[str, dict[str, str]]  # canonical -> {source value: canonical value}
    optional: bool = False
    allow_empty: bool = False
    survey: SurveyScale | None = None
    extra_columns: tuple[Column, ...] = ()  # survey items and masked PII, after the schema's
    limits: Limits | None = None  # the bank's bounds on values (bounds.py), set by the edge
    computed: tuple[shaping.Computed, ...] = ()  # virtual columns of computed canonical ones
    exclude: tuple[tuple[str, expressions.Expression], ...] = ()  # rule -> condition
    aggregate: shaping.Aggregate | None = None  # line items -> one row per key
    carried: tuple[shaping.Computed, ...] = ()  # columns computed here for a derived table
    derive_from: str | None = None  # built from that table's rows (customers only)
    absent: tuple[str, ...] = ()  # optional columns the bank's exports do not have (no warning)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def columns_out(self) -> tuple[Column, ...]:
        return self.table.columns + self.extra_columns

    def fingerprint(self, source: SourceConfig) -> str:
        """Hash of everything that decides how one file of this table is parsed and cast."""
        blob = json.dumps(
            {
                "parser": PARSER_VERSION,
                "files": self.files,
                "read": self.read,
                "columns": self.columns,
                "values": self.values,
                "extra": [(c.name, c.dtype) for c in self.extra_columns],
                "computed": [(c.name, c.text) for c in (*self.computed, *self.carried)],
                "exclude": [(rule, e.text) for rule, e in self.exclude],
                "pii_drop": source.pii_drop,
                "pii_mask": source.pii_mask,
                "pii_safe": source.pii_safe,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


# Bump when parsing or casting changes, so cached per-file parts are rebuilt.
PARSER_VERSION = 6  # 2: parts carry `_pos`, no `_line`; 3: no `_pos` (file_row_number);
# 4: numbers only in the declared convention (numbers.py); 5: parts of shaped tables
# carry `__excluded` and carried columns; 6: control characters in text (controls.py)


@dataclass(frozen=True)
class SourceConfig:
    name: str
    path: Path
    raw_dir: str
    tables: dict[str, TableSpec]
    customer_initiated_txn_types: tuple[str, ...]
    pii_drop: tuple[str, ...]
    pii_mask: dict[str, str]  # output name (<name>_masked) -> source column
    pii_safe: tuple[str, ...] = ()  # unmapped source columns a reject's raw text may show
    adapter: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    as_of: date | None = None
    currency: str | None = None

    def built_by_adapter(self, name: str) -> bool:
        """A table the adapter builds (an adapter source's table without files)."""
        spec = self.tables[name]
        return self.adapter is not None and not spec.files and spec.derive_from is None

    def raw_path(self, raw_root: Path) -> Path:
        """The export folder: absolute (env vars and ~ expanded), or under <data>/raw/."""
        path = Path(os.path.expanduser(os.path.expandvars(self.raw_dir)))
        return path if path.is_absolute() else raw_root / path

    @property
    def pii_source_columns(self) -> set[str]:
        return set(self.pii_drop) | set(self.pii_mask.values()) | set(PII_COLUMNS)


def load_source(source: str, mask_pii: bool = True) -> SourceConfig:
    """Read and check a source config by name or path; every error names the key."""
    path = source_config_path(source)
    raw = read_yaml(path) or {}
    where = str(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    _unknown(raw, TOP_KEYS, where)
    for key in ("name", "raw_dir", "tables"):
        if key not in raw:
            raise ConfigError(f"{where}: {key}: required")
    defaults = dict(READ_DEFAULTS)
    _unknown(raw.get("defaults") or {}, set(READ_DEFAULTS), f"{where}: defaults")
    defaults.update(raw.get("defaults") or {})
    pii = raw.get("pii") or {}
    _unknown(pii, {"drop", "mask", "safe"}, f"{where}: pii")
    pii_drop = tuple(str(c) for c in pii.get("drop") or ())
    pii_safe = tuple(str(c) for c in pii.get("safe") or ())
    pii_mask = {str(k): str(v) for k, v in (pii.get("mask") or {}).items()} if mask_pii else {}
    if not mask_pii:
        pii_drop += tuple(str(v) for v in (pii.get("mask") or {}).values())
    for out in pii_mask:
        if out not in PII_COLUMNS:
            raise ConfigError(f"{where}: pii.mask.{out}: must be one of {', '.join(PII_COLUMNS)}")
    tables_raw = raw["tables"]
    if not isinstance(tables_raw, dict) or not tables_raw:
        raise ConfigError(f"{where}: tables: expected a mapping of canonical table names")
    adapter = raw.get("adapter")
    specs: dict[str, TableSpec] = {}
    for name in TABLE_ORDER:
        if name in tables_raw:
            specs[name] = _table_spec(
                name, tables_raw[name] or {}, defaults, where, adapter, pii_mask
            )
    unknown = set(tables_raw) - set(TABLES)
    if unknown:
        raise ConfigError(
            f"{where}: tables: unknown table(s) {sorted(unknown)}; known: {list(TABLES)}"
        )
    for name in SOURCE_REQUIRED:
        if name not in specs:
            raise ConfigError(f"{where}: tables.{name}: required canonical table is not mapped")
    specs = _derive(specs, tables_raw, where, adapter)
    for name, spec in specs.items():
        built = adapter is not None and not spec.files and spec.derive_from is None
        shaped = spec.exclude or spec.aggregate or spec.computed
        if built and shaped:
            raise ConfigError(
                f"{where}: tables.{name}: the adapter {adapter} builds this table; "
                "exclude, aggregate and computed columns apply to tables read from files"
            )
    pii_sources = set(pii_drop) | set(pii_mask.values()) | set(PII_COLUMNS)
    for column in pii_safe:
        if column in pii_sources:
            raise ConfigError(f"{where}: pii.safe: {column!r} is a PII column; it cannot be safe")
    for spec in specs.values():
        for canonical, sources in spec.columns.items():
            if canonical.endswith("_masked"):
                continue
            for src in sources:
                if src in pii_sources:
                    raise ConfigError(
                        f"{where}: tables.{spec.name}.columns.{canonical}: {src!r} is a PII "
                        "column; PII is never mapped onto canonical columns"
                    )
        used = [
            (c.expression.key, c.expression)
            for c in (*spec.computed, *spec.carried)
            if c.expression is not None
        ]
        used += [(e.key, e) for _, e in spec.exclude]
        for key, e in used:
            pii = [c for c in e.columns if c in pii_sources]
            if pii:
                raise ConfigError(
                    f"{where}: {key}: {e.text!r} reads {pii[0]!r}, a PII column; PII is "
                    "never read into canonical columns"
                )
    if not raw.get("customer_initiated_txn_types"):
        raise ConfigError(
            f"{where}: customer_initiated_txn_types: list the txn_types that are the customer's "
            "own doing (engagement counts only these)"
        )
    as_of = raw.get("as_of")
    if as_of is not None and not isinstance(as_of, date):
        try:
            as_of = date.fromisoformat(str(as_of))
        except ValueError:
            raise ConfigError(f"{where}: as_of: expected YYYY-MM-DD, got {as_of!r}") from None
    inputs = raw.get("inputs") or {}
    if adapter is None and inputs:
        raise ConfigError(f"{where}: inputs: only a source with an adapter declares inputs")
    currency = raw.get("currency")
    if currency is not None and (not isinstance(currency, str) or not currency.strip()):
        raise ConfigError(f"{where}: currency: expected a currency code such as CZK")
    return SourceConfig(
        name=str(raw["name"]),
        path=path,
        raw_dir=str(raw["raw_dir"]),
        tables=specs,
        customer_initiated_txn_types=tuple(
            str(t) for t in raw.get("customer_initiated_txn_types") or ()
        ),
        pii_drop=pii_drop,
        pii_mask=pii_mask,
        pii_safe=pii_safe,
        adapter=adapter,
        inputs={str(k): str(v) for k, v in inputs.items()},
        as_of=as_of,
        currency=None if currency is None else str(currency),
    )


def _absent(raw: Any, table: Any, mapped: dict, here: str) -> tuple[str, ...]:
    """`absent`: optional columns the exports do not have -- said once in the source config,
    so ingest does not warn that they are empty in every row."""
    names = [raw] if isinstance(raw, str) else list(raw or ())
    optional = {c.name for c in table.columns if not c.required and not c.derived}
    for column in names:
        if column not in optional:
            raise ConfigError(
                f"{here}.absent: {column!r} is not an optional column of {table.name} "
                f"({', '.join(sorted(optional))})"
            )
        if column in mapped:
            raise ConfigError(f"{here}.absent: {column!r} is mapped in columns too")
    return tuple(str(c) for c in names)


def _table_spec(
    name: str, raw: dict, defaults: dict, where: str, adapter: str | None, pii_mask: dict[str, str]
) -> TableSpec:
    here = f"{where}: tables.{name}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{here}: expected a mapping")
    _unknown(raw, TABLE_KEYS, here)
    table = TABLES[name]
    read = {k: raw.get(k, v) for k, v in defaults.items()}
    if read["format"] not in FORMATS:
        raise ConfigError(
            f"{here}.format: must be one of {', '.join(FORMATS)}; got {read['format']!r}"
        )
    if not isinstance(read["header_row"], int) or read["header_row"] < 1:
        raise ConfigError(f"{here}.header_row: expected a line number >= 1")
    read["decimal"], read["thousands"] = str(read["decimal"]), str(read["thousands"] or "")
    separators = check_separators(read["decimal"], read["thousands"], here)
    if separators:
        raise ConfigError(separators)
    for key in ("date_format", "timestamp_format", "null_values"):
        value = read[key]
        read[key] = [value] if isinstance(value, str) else list(value)
    if read["format"] in ("xlsx", "parquet"):
        read["date_format"] = read["date_format"] + ISO_DATE_FORMATS
        read["timestamp_format"] = read["timestamp_format"] + ISO_TIMESTAMP_FORMATS
    files = raw.get("files")
    derive_from = raw.get("derive_from")
    if derive_from is not None:
        if name != "customers" or derive_from != "transactions":
            raise ConfigError(
                f"{here}.derive_from: only the customers table can be derived, from "
                f"transactions; got {derive_from!r}"
            )
        if files:
            raise ConfigError(f"{here}: files or derive_from, not both")
        read["date_format"] = ISO_DATE_FORMATS  # first seen is written as an ISO date
    elif adapter is None and not files:
        raise ConfigError(f"{here}.files: required (a file name or glob, or a list of them)")
    files = (files,) if isinstance(files, str) else tuple(files or ())
    extra: list[Column] = []
    survey = None
    if raw.get("survey"):
        survey = _survey_scale(str(raw["survey"]), here)
        items = list(
            dict.fromkeys([*survey.items, *([survey.nps_item] if survey.nps_item else [])])
        )
        extra += [Column(item, "float64", required=False) for item in items]
    elif name in ("survey_responses", "staff_survey_responses"):
        raise ConfigError(f"{here}.survey: name the survey definition (configs/surveys/<name>.yml)")
    if name == "customers":
        extra += [Column(f"{out}_masked", "string", required=False) for out in sorted(pii_mask)]
    all_columns = [c.name for c in table.columns if not c.derived] + [c.name for c in extra]
    columns_raw = raw.get("columns") or {}
    absent = _absent(raw.get("absent"), table, columns_raw, here)
    for canonical in columns_raw:
        if canonical not in all_columns:
            raise ConfigError(
                f"{here}.columns.{canonical}: not a column of {name} ({', '.join(all_columns)})"
            )
    columns: dict[str, tuple[str, ...]] = {}
    computed: list[shaping.Computed] = []
    for col in all_columns:
        if col.endswith("_masked"):
            columns[col] = (pii_mask[col.removesuffix("_masked")],)
            continue
        if derive_from is not None:  # the derived rows carry canonical names (_derive)
            columns[col] = (col,)
            continue
        dtype = next(c.dtype for c in (*table.columns, *extra) if c.name == col)
        columns[col], virtual = shaping.column_source(
            columns_raw.get(col, col),
            col,
            f"tables.{name}.columns.{col}",
            where,
            typed=dtype != "string",
        )
        if virtual is not None:
            computed.append(virtual)
    values = raw.get("values") or {}
    for canonical, mapping in values.items():
        if canonical not in all_columns or not isinstance(mapping, dict):
            raise ConfigError(
                f"{here}.values.{canonical}: expected a map of values for a column of {name}"
            )
    return TableSpec(
        table=table,
        files=files,
        read=read,
        columns=columns,
        values={k: {str(a): str(b) for a, b in v.items()} for k, v in values.items()},
        optional=bool(raw.get("optional", False)),
        allow_empty=bool(raw.get("allow_empty", False)),
        absent=absent,
        survey=survey,
        extra_columns=tuple(extra),
        computed=tuple(computed),
        exclude=shaping.exclusions(raw.get("exclude"), f"tables.{name}.exclude", where),
        aggregate=shaping.aggregation(
            raw.get("aggregate"), f"tables.{name}.aggregate", where, table
        ),
        derive_from=derive_from,
    )


def _survey_scale(name: str, where: str) -> SurveyScale:
    """The item columns of a survey definition and their scale: every item of a
    dimension, the overall item and the SERVQUAL expectation items (the columns the
    survey stage reads; the `items:` texts are optional), and the NPS item (0-10)."""
    path = survey_definition_path(name)
    definition = read_yaml(path) or {}
    try:
        scale = definition["scale"]
        lo, hi = float(scale["min"]), float(scale["max"])
        dimensions = definition["dimensions"]
        items = [str(i) for d in dimensions.values() for i in d]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ConfigError(
            f"{where}.survey: {path} needs scale {{min, max}} and dimensions {{name: [items]}}"
        ) from None
    nps = definition.get("nps_item")
    extra = [
        definition.get("overall_item"),
        *(definition.get("expectation_perception") or {}).values(),
    ]
    items += [str(i) for i in extra if i]
    # an NPS item asked in a dimension (on 0-10) is checked as both
    return SurveyScale(tuple(dict.fromkeys(items)), lo, hi, None if nps is None else str(nps))


def _derive(
    specs: dict[str, TableSpec], tables_raw: dict, where: str, adapter: str | None
) -> dict[str, TableSpec]:
    """A derived customers table: its columns (other than customer_id) computed on the
    transactions' rows (`carried`), from the customer's first line (shaping.derived_sql)."""
    spec = specs["customers"]
    if spec.derive_from is None:
        return specs
    here = "tables.customers.columns"
    transactions = specs["transactions"]
    if adapter is not None and not transactions.files:
        raise ConfigError(
            f"{where}: tables.customers.derive_from: the transactions are built by the "
            "adapter; derive customers there"
        )
    raw = (tables_raw["customers"] or {}).get("columns") or {}
    if "branch_id" not in raw:
        raise ConfigError(
            f"{where}: {here}.branch_id: required for a derived customers table (a constant "
            "{value: ...}, a transactions export column, or {expr: ...} over them)"
        )
    if "customer_id" in raw:
        raise ConfigError(
            f"{where}: {here}.customer_id: a derived customer is the "
            "transactions' customer_id; do not map it"
        )
    carried = []
    for canonical, value in raw.items():
        key = f"{here}.{canonical}"
        if isinstance(value, str):  # a transactions export column
            value = {"expr": expressions.quote(value)}
        elif not isinstance(value, dict):
            raise ConfigError(
                f"{where}: {key}: expected a transactions export column, {{expr: ...}} or "
                f"{{value: ...}}; got {value!r}"
            )
        known = {c.name: c.dtype for c in TABLES["customers"].columns}
        if canonical not in known:
            raise ConfigError(f"{where}: {key}: not a column of customers ({', '.join(known)})")
        _, virtual = shaping.column_source(
            value, canonical, key, where, shaping.CARRIED, typed=known[canonical] != "string"
        )
        carried.append(virtual)
    return {**specs, "transactions": replace(transactions, carried=tuple(carried))}


def _unknown(raw: dict, known: set[str], where: str) -> None:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    extra = set(raw) - known
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {sorted(extra)}; known: {sorted(known)}")
