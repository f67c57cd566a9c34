"""Column expressions in source configs: parsed, checked, and written out as SQL.

A source config may compute a canonical column (`{expr: "CAST(Quantity AS DOUBLE) *
CAST(Price AS DOUBLE)"}`) or leave rows out (`exclude: {cancelled: "Invoice LIKE
'C%'"}`) with one scalar SQL expression over the export's columns, as read (text). An
expression is parsed by DuckDB's own parser (json_serialize_sql) and walked node by
node: only column references, literals, CAST, CASE, arithmetic, comparisons, AND / OR /
NOT, IN lists, BETWEEN, IS [NOT] NULL, LIKE and the functions in FUNCTIONS are allowed --
the SQL that DuckDB and Spark SQL evaluate alike. No subquery, no table function (there
is no FROM), no aggregate or window function: an expression sees one row. Every CAST
becomes TRY_CAST (a value that does not convert is NULL, and the canonical column's
checks then reject the row with its file and line, rather than the run failing).
`to_sql` writes the checked tree back for DuckDB (ingest) or Spark SQL, with each column
reference replaced as the caller says (a trimmed export column, say).

Every error names the config key and the expression.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb

from pipeline.errors import ConfigError

# Scalar functions whose meaning DuckDB and Spark SQL share, by DuckDB's name, with the
# number of arguments allowed. (concat is not here: DuckDB skips NULLs, Spark returns
# NULL; || does the same in both. regexp_replace is not: DuckDB replaces the first match,
# Spark every one.)
FUNCTIONS: dict[str, tuple[int, int]] = {
    "abs": (1, 1),
    "round": (1, 2),
    "floor": (1, 1),
    "ceil": (1, 1),
    "upper": (1, 1),
    "lower": (1, 1),
    "trim": (1, 1),
    "ltrim": (1, 1),
    "rtrim": (1, 1),
    "length": (1, 1),
    "substr": (2, 3),
    "substring": (2, 3),
    "left": (2, 2),
    "right": (2, 2),
    "lpad": (3, 3),
    "rpad": (3, 3),
    "replace": (3, 3),
    "nullif": (2, 2),
    "greatest": (2, 16),
    "least": (2, 16),
}
OPERATORS = {"+", "-", "*", "/", "%", "||", "~~", "!~~"}
COMPARISONS = {
    "COMPARE_EQUAL": "=",
    "COMPARE_NOTEQUAL": "<>",
    "COMPARE_LESSTHAN": "<",
    "COMPARE_GREATERTHAN": ">",
    "COMPARE_LESSTHANOREQUALTO": "<=",
    "COMPARE_GREATERTHANOREQUALTO": ">=",
}
CAST_TYPES = {
    "VARCHAR": "STRING",
    "DOUBLE": "DOUBLE",
    "BIGINT": "BIGINT",
    "INTEGER": "INT",
    "DECIMAL": "DECIMAL",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "BOOLEAN": "BOOLEAN",
}
DIALECTS = ("duckdb", "spark")


@dataclass(frozen=True)
class Expression:
    """A checked expression: its text, where it came from, its tree and the export
    columns it reads."""

    text: str
    key: str  # the config key, e.g. "tables.transactions.columns.amount.expr"
    tree: dict
    columns: tuple[str, ...]

    def to_sql(self, column: Callable[[str], str], dialect: str = "duckdb") -> str:
        """The expression as SQL of `dialect`, each column reference as `column(name)`."""
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}")
        return _sql(self.tree, column, dialect)


def parse(text: Any, key: str, where: str) -> Expression:
    """Parse and check one expression; ConfigError naming `where`, `key` and the text."""

    def fail(problem: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: {text!r}: {problem}")

    if not isinstance(text, str) or not text.strip():
        raise fail("expected an SQL expression (text)")
    if ";" in text:
        raise fail("one expression, no ';'")
    with duckdb.connect() as con:
        raw = con.execute("SELECT json_serialize_sql(?)", ["SELECT " + text]).fetchone()[0]
    parsed = json.loads(raw)
    if parsed.get("error"):
        raise fail(f"not a valid SQL expression: {parsed.get('error_message', '')}")
    statements = parsed["statements"]
    node = statements[0]["node"] if len(statements) == 1 else {}
    if node.get("type") != "SELECT_NODE" or len(node.get("select_list", [])) != 1:
        raise fail("one expression is allowed, not a list or a query")
    extra = [
        clause
        for clause, empty in (
            ("FROM", (node.get("from_table") or {}).get("type") == "EMPTY"),
            ("WHERE", node.get("where_clause") is None),
            ("GROUP BY", not node.get("group_expressions")),
            ("HAVING", node.get("having") is None),
            ("QUALIFY", node.get("qualify") is None),
            ("ORDER BY / LIMIT", not node.get("modifiers")),
            ("WITH", not (node.get("cte_map") or {}).get("map")),
        )
        if not empty
    ]
    if extra:
        raise fail(f"an expression has no {extra[0]} (no table functions or queries)")
    tree = node["select_list"][0]
    if tree.get("alias"):
        raise fail("no alias (AS ...): the config key names the column")
    columns: list[str] = []
    _check(tree, columns, fail)
    return Expression(text, key, tree, tuple(dict.fromkeys(columns)))


def _check(node: dict, columns: list[str], fail) -> None:
    """Walk the tree; raise for anything outside the portable subset."""
    kind = node.get("class")
    if kind == "COLUMN_REF":
        names = node["column_names"]
        if len(names) != 1:
            raise fail(f"a column is named alone, not as {'.'.join(names)}")
        columns.append(names[0])
    elif kind == "CONSTANT":
        if node["literal"]["kind"] not in (
            "STRING",
            "INTEGER",
            "NUMERIC",
            "NULL_LITERAL",
            "BOOLEAN",
        ):
            raise fail(f"unsupported literal {node['literal']}")
    elif kind == "CAST":
        type_name = node["type_expr"]["type_name"].upper()
        if type_name not in CAST_TYPES:
            raise fail(f"CAST to {type_name} (allowed: {', '.join(CAST_TYPES)})")
        _check(node["child"], columns, fail)
    elif kind == "FUNCTION":
        name = node["function_name"].lower()
        args = [a["expression"] for a in node["arguments"]]
        if node.get("is_operator"):
            if name not in OPERATORS:
                raise fail(f"operator {name} is not allowed")
        elif name not in FUNCTIONS:
            raise fail(
                f"function {name}() is not allowed in a column expression (allowed: "
                f"{', '.join(sorted(FUNCTIONS))}, and CAST, CASE, COALESCE, arithmetic, "
                "comparisons, LIKE, IN, BETWEEN, IS NULL; no aggregates or windows)"
            )
        else:
            low, high = FUNCTIONS[name]
            if not low <= len(args) <= high:
                raise fail(f"{name}() takes {low} to {high} arguments, got {len(args)}")
        if node.get("distinct") or node.get("filter") or node["order_bys"]["orders"]:
            raise fail(f"{name}: no DISTINCT, FILTER or ORDER BY in a row's expression")
        for arg in args:
            _check(arg, columns, fail)
    elif kind in ("OPERATOR", "CONJUNCTION"):
        if node["type"] not in (
            "OPERATOR_IS_NULL",
            "OPERATOR_IS_NOT_NULL",
            "OPERATOR_NOT",
            "OPERATOR_COALESCE",
            "COMPARE_IN",
            "CONJUNCTION_AND",
            "CONJUNCTION_OR",
        ):
            raise fail(f"{node['type'].lower()} is not allowed")
        for child in node["children"]:
            _check(child, columns, fail)
    elif kind == "COMPARISON":
        if node["type"] not in COMPARISONS:
            raise fail(f"comparison {node['type'].lower()} is not allowed")
        _check(node["left"], columns, fail)
        _check(node["right"], columns, fail)
    elif kind == "BETWEEN":
        for part in ("input", "lower", "upper"):
            _check(node[part], columns, fail)
    elif kind == "CASE":
        for check in node["case_checks"]:
            _check(check["when_expr"], columns, fail)
            _check(check["then_expr"], columns, fail)
        _check(node["else_expr"], columns, fail)
    elif kind == "SUBQUERY":
        raise fail("no subqueries: an expression sees one row of the export")
    elif kind == "WINDOW":
        raise fail("no window functions: an expression sees one row of the export")
    else:
        raise fail(f"{str(kind).lower()} is not allowed in a column expression")


def _literal(node: dict, dialect: str) -> str:
    literal = node["literal"]
    kind, text = literal["kind"], literal["text"]
    if kind == "STRING":
        escaped = text.replace("'", "''")
        if dialect == "spark":
            escaped = escaped.replace("\\", "\\\\")
        return f"'{escaped}'"
    if kind == "NULL_LITERAL":
        return "NULL"
    if kind == "BOOLEAN":
        return "TRUE" if text.lower() == "true" else "FALSE"
    return text


def _type(node: dict, dialect: str) -> str:
    name = node["type_name"].upper()
    args = [c["literal"]["text"] for c in node.get("children", [])]
    spelled = name if dialect == "duckdb" else CAST_TYPES[name]
    return f"{spelled}({', '.join(args)})" if args else spelled


def _sql(node: dict, column: Callable[[str], str], dialect: str) -> str:
    kind = node["class"]

    def sub(child: dict) -> str:
        return _sql(child, column, dialect)

    if kind == "COLUMN_REF":
        return column(node["column_names"][0])
    if kind == "CONSTANT":
        return _literal(node, dialect)
    if kind == "CAST":
        return f"TRY_CAST({sub(node['child'])} AS {_type(node['type_expr'], dialect)})"
    if kind == "FUNCTION":
        name = node["function_name"].lower()
        args = [sub(a["expression"]) for a in node["arguments"]]
        if node.get("is_operator"):
            if len(args) == 1:
                return f"({name}{args[0]})"
            symbol = {"~~": "LIKE", "!~~": "NOT LIKE"}.get(name, name)
            return f"({args[0]} {symbol} {args[1]})"
        return f"{name}({', '.join(args)})"
    if kind == "OPERATOR":
        children = [sub(c) for c in node["children"]]
        kinds = {
            "OPERATOR_IS_NULL": lambda c: f"({c[0]} IS NULL)",
            "OPERATOR_IS_NOT_NULL": lambda c: f"({c[0]} IS NOT NULL)",
            "OPERATOR_NOT": lambda c: f"(NOT {c[0]})",
            "OPERATOR_COALESCE": lambda c: f"coalesce({', '.join(c)})",
            "COMPARE_IN": lambda c: f"({c[0]} IN ({', '.join(c[1:])}))",
        }
        return kinds[node["type"]](children)
    if kind == "CONJUNCTION":
        joiner = " AND " if node["type"] == "CONJUNCTION_AND" else " OR "
        return "(" + joiner.join(sub(c) for c in node["children"]) + ")"
    if kind == "COMPARISON":
        return f"({sub(node['left'])} {COMPARISONS[node['type']]} {sub(node['right'])})"
    if kind == "BETWEEN":
        return f"({sub(node['input'])} BETWEEN {sub(node['lower'])} AND {sub(node['upper'])})"
    if kind == "CASE":
        whens = " ".join(
            f"WHEN {sub(c['when_expr'])} THEN {sub(c['then_expr'])}" for c in node["case_checks"]
        )
        return f"(CASE {whens} ELSE {sub(node['else_expr'])} END)"
    raise ValueError(f"unchecked node {kind}")  # parse() lets none through


def quote(name: str, dialect: str = "duckdb") -> str:
    """An identifier quoted for `dialect`."""
    if dialect == "spark":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'
